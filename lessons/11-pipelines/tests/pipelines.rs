//! Lesson 11 — a three-stage pipeline: nothing lost, nothing overtaken, every
//! hand-off bounded, and statistics that name the slowest stage.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::bounded;
use lesson_11::{PipelineReport, StageStats, run_pipeline, stage};
use lesson_support::finishes;

const HUNG_PIPELINE: &str = "the pipeline never finished: the outputs are collected until the last \
     stage closes its output, so some stage's Sender is still alive. Does each stage return (and \
     so drop its output) once its input is closed, and does run_pipeline keep no Sender of its own?";

fn pause(ms: u64) {
    thread::sleep(Duration::from_millis(ms));
}

fn stage_named<'a>(report: &'a PipelineReport<impl Sized>, name: &str) -> &'a StageStats {
    report
        .stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no statistics for the stage named {name:?}"))
}

#[test]
fn a_stage_works_every_item_in_order_then_closes_its_output() {
    let (feed, input) = bounded(4);
    let (output, results) = bounded(4);
    let worker = stage("double", input, output, |n: u32| n * 2);
    let results = finishes(
        "a stage fed 20 items, then closed",
        "the stage must return once its input is closed and empty — returning drops its output \
         Sender, which is how the next stage learns it is done",
        move || {
            let feeder = thread::spawn(move || {
                for n in 0..20 {
                    // A stage that quit early is reported by the checks below.
                    if feed.send(n).is_err() {
                        break;
                    }
                }
            });
            let results: Vec<u32> = results.iter().collect();
            feeder.join().expect("feeder");
            results
        },
    );
    assert_eq!(
        results,
        (0..20).map(|n| n * 2).collect::<Vec<_>>(),
        "every item, worked, in the order it came"
    );
    let stats = worker.join().expect("the stage thread panicked");
    assert_eq!(stats.name, "double", "the stage keeps its name");
    assert_eq!(stats.items, 20, "the stage counts the items it passed on");
}

#[test]
fn every_item_comes_out_once_in_order_through_three_types() {
    let inputs: Vec<u32> = (0..500).collect();
    let report = finishes("run_pipeline(500 items, capacity 4)", HUNG_PIPELINE, || {
        run_pipeline(
            inputs,
            4,
            |n: u32| format!("part-{n}"),
            |part: String| (part.len(), part),
            |(len, part): (usize, String)| format!("{part} ({len} chars) ok"),
        )
    });
    let expected: Vec<String> = (0..500)
        .map(|n| {
            let part = format!("part-{n}");
            format!("{part} ({} chars) ok", part.len())
        })
        .collect();
    assert_eq!(
        report.outputs.len(),
        500,
        "500 items went in, {} came out",
        report.outputs.len()
    );
    assert_eq!(
        report.outputs, expected,
        "each item passes prepare, assemble and inspect once, and one thread per stage keeps the order"
    );
}

#[test]
fn shutdown_never_overtakes_the_last_items() {
    // `prepare` is slow, so `assemble` often finds its input empty. Empty is
    // not closed: a stage that stops at the first empty moment loses items.
    let inputs: Vec<u32> = (0..60).collect();
    let report = finishes(
        "run_pipeline(60 items, a slow first stage)",
        HUNG_PIPELINE,
        || {
            run_pipeline(
                inputs,
                2,
                |n: u32| {
                    pause(1);
                    n
                },
                |n| n,
                |n| n,
            )
        },
    );
    assert_eq!(
        report.outputs,
        (0..60).collect::<Vec<_>>(),
        "items went missing: a stage stopped before its input was closed *and* empty — wait with \
         recv(), which returns Err only then, not try_recv() or a stop flag that can arrive before \
         the last items"
    );
}

#[test]
fn a_pipeline_with_nothing_to_do_ends() {
    let report = finishes("run_pipeline(no items)", HUNG_PIPELINE, || {
        run_pipeline(Vec::<u8>::new(), 1, |n| n, |n| n, |n| n)
    });
    assert!(report.outputs.is_empty());
    assert!(
        report.stages.iter().all(|s| s.items == 0),
        "no stage saw an item"
    );
}

#[test]
fn each_stage_reports_its_name_and_every_item() {
    let report = finishes("run_pipeline(100 items)", HUNG_PIPELINE, || {
        run_pipeline((0..100).collect::<Vec<u64>>(), 3, |n| n, |n| n, |n| n)
    });
    let names: Vec<&str> = report.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["prepare", "assemble", "inspect"],
        "one StageStats per stage, in pipeline order"
    );
    for stats in &report.stages {
        assert_eq!(
            stats.items, 100,
            "stage {} counted {} items of 100",
            stats.name, stats.items
        );
    }
}

#[test]
fn every_hand_off_is_bounded() {
    let capacity: u64 = 2;
    let prepared = Arc::new(AtomicU64::new(0));
    let report = finishes(
        "run_pipeline(200 items, capacity 2, a slow last stage)",
        HUNG_PIPELINE,
        move || {
            let counter = Arc::clone(&prepared);
            let mut started = 0;
            run_pipeline(
                (0..200).collect::<Vec<u64>>(),
                capacity as usize,
                move |n| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    n
                },
                |n| n,
                move |_| {
                    // Items past `prepare` that `inspect` has not started yet.
                    let ahead = prepared.load(Ordering::SeqCst) - started;
                    started += 1;
                    pause(2);
                    ahead
                },
            )
        },
    );
    // Counted when `inspect` starts an item: that item itself, the second
    // channel, `assemble`'s hand, the first channel, and `prepare`'s hand
    // (an item worked but waiting for room): 2 x capacity + 3 at most.
    let limit = 2 * capacity + 3;
    let widest = report.outputs.iter().copied().max().unwrap_or(0);
    assert!(
        widest <= limit,
        "{widest} items had left `prepare` but not reached `inspect`; bounded hand-offs of \
         capacity {capacity} allow at most {limit}. Is every channel between stages \
         bounded(capacity), or did an unbounded() hand-off let the fast stage run ahead?"
    );
}

#[test]
fn the_slowest_stage_sets_the_pace_and_the_statistics_show_it() {
    let report = finishes(
        "run_pipeline(30 items: 2 ms, 10 ms and 2 ms stages)",
        HUNG_PIPELINE,
        || {
            run_pipeline(
                (0..30).collect::<Vec<u32>>(),
                2,
                |n| {
                    pause(2);
                    n
                },
                |n| {
                    pause(10);
                    n
                },
                |n| {
                    pause(2);
                    n
                },
            )
        },
    );
    let (prepare, assemble, inspect) = (
        stage_named(&report, "prepare"),
        stage_named(&report, "assemble"),
        stage_named(&report, "inspect"),
    );
    assert!(
        assemble.busy >= Duration::from_millis(300),
        "assemble sleeps 10 ms on each of 30 items, yet reports busy {:?}: time the work \
         function only",
        assemble.busy
    );
    // One item at a time would take the sum of the three; overlapped, the run
    // takes about as long as the slowest stage alone.
    let one_at_a_time = prepare.busy + assemble.busy + inspect.busy;
    assert!(
        report.elapsed < one_at_a_time.mul_f64(0.9),
        "the run took {:?}, no faster than one item at a time ({one_at_a_time:?}): do the \
         stages run on threads of their own, at the same time?",
        report.elapsed
    );
    assert!(
        prepare.blocked > prepare.busy,
        "prepare (2 ms an item) should spend most of its time waiting for room behind \
         assemble (10 ms): blocked {:?}, busy {:?}. Is the wait for send() counted as blocked, \
         and is the channel bounded?",
        prepare.blocked,
        prepare.busy
    );
    assert!(
        inspect.starved > inspect.busy,
        "inspect (2 ms an item) should spend most of its time waiting for assemble: starved \
         {:?}, busy {:?}. Is the wait for recv() counted as starved, not busy?",
        inspect.starved,
        inspect.busy
    );
    assert!(
        assemble.starved + assemble.blocked < assemble.busy / 4,
        "assemble is the bottleneck and should hardly ever wait: starved {:?}, blocked {:?}, \
         busy {:?}",
        assemble.starved,
        assemble.blocked,
        assemble.busy
    );
}
