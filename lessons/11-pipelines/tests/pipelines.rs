//! Lesson 11 — a three-stage pipeline: nothing lost, nothing overtaken, every
//! hand-off bounded by its capacity, statistics that name the slowest stage,
//! and a stage's panic that comes out of the run with its own message.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, bounded};
use lesson_11::{PipelineReport, StageStats, run_pipeline, stage};
use lesson_support::{BUDGET, Log, assert_sequence, finishes, join_all, panic_message};

const HUNG_PIPELINE: &str = "the pipeline never finished: the outputs are collected until the last \
     stage closes its output, so some stage's Sender is still alive. Does each stage return (and \
     so drop its output) once its input is closed, and does run_pipeline keep no Sender of its \
     own? And does it collect until that close — a stage left waiting in send() waits for ever?";

const HUNG_STAGE: &str = "a stage must return once its input is closed and empty — returning drops \
     its output Sender, which is how the next stage learns it is done";

const STOPPED_EARLY: &str = "the stage dropped its input before the input was closed: it stopped \
     too early — an empty channel is not a closed one";

const STARTS_A_THREAD: &str = "stage() must start the stage on a thread of its own and return its \
     JoinHandle at once, before any item has come";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pause(n: u64) {
    thread::sleep(ms(n));
}

fn sleep_until(at: Instant) {
    thread::sleep(at.saturating_duration_since(Instant::now()));
}

fn stage_named<'a>(report: &'a PipelineReport<impl Sized>, name: &str) -> &'a StageStats {
    report
        .stages
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no statistics for the stage named {name:?}"))
}

// ------------------------------------------------------------ one stage --

#[test]
fn a_stage_works_every_item_in_order_then_closes_its_output() {
    let (feed, input) = bounded(4);
    let (output, results) = bounded(4);
    let worker = finishes("stage(\"double\", …)", STARTS_A_THREAD, move || {
        stage("double", input, output, |n: u32| n * 2)
    });
    let results = finishes("a stage fed 20 items, then closed", HUNG_STAGE, move || {
        let feeder = thread::spawn(move || {
            for n in 0..20 {
                // A stage that quit early is reported by the checks below.
                if feed.send(n).is_err() {
                    break;
                }
            }
        });
        let results: Vec<u32> = results.iter().collect();
        join_all(vec![feeder], "feeder", "it sends 20 items");
        results
    });
    assert_sequence(
        &(0..20).map(|n| n * 2).collect::<Vec<_>>(),
        &results,
        "what came out of the stage (every item, worked, in the order it came)",
    );
    let stats = join_all(vec![worker], "stage", HUNG_STAGE)
        .pop()
        .expect("one stage");
    assert_eq!(stats.name, "double", "the stage keeps its name");
    assert_eq!(stats.items, 20, "the stage counts the items it passed on");
}

#[test]
fn a_stage_times_its_waits_and_its_work_apart() {
    // A ping (item 0) goes through first, so the stage's thread is up and
    // waiting. Then, in ms from there: the stage waits 400 for item 1
    // (starved), works 150 on it and on item 2 (busy 300), and item 1 waits in
    // send() until this test takes it at 750 (blocked 200): the output is a
    // rendezvous channel. The work function times itself, so busy can be
    // checked against what the work really took.
    let (feed, input) = bounded(4);
    let (output, results) = bounded(0);
    let worked = Log::new();
    let worker = finishes("stage(\"timed\", …)", STARTS_A_THREAD, {
        let worked = worked.clone();
        move || {
            stage("timed", input, output, move |n: u32| {
                let began = Instant::now();
                if n > 0 {
                    pause(150);
                }
                worked.push(began.elapsed());
                n
            })
        }
    });
    // Taken on this thread with a time limit: a thread started now could
    // itself start late on a busy machine, and blur the timeline.
    let take = |what: &str| match results.recv_timeout(BUDGET) {
        Ok(item) => item,
        Err(RecvTimeoutError::Timeout) => {
            panic!(
                "{what} never came out of the stage within {BUDGET:?}.\n  Likely cause: {HUNG_STAGE}"
            )
        }
        Err(RecvTimeoutError::Disconnected) => {
            panic!("the stage closed its output before {what} came out: it stopped too early")
        }
    };
    feed.send(0).expect(STOPPED_EARLY);
    assert_eq!(take("the ping (item 0)"), 0);
    let ready = Instant::now();
    sleep_until(ready + ms(400));
    for n in [1, 2] {
        feed.send(n).expect(STOPPED_EARLY);
    }
    drop(feed);
    sleep_until(ready + ms(750));
    assert_eq!(take("item 1"), 1);
    assert_eq!(take("item 2"), 2);
    let stats = join_all(vec![worker], "stage", HUNG_STAGE)
        .pop()
        .expect("one stage");
    assert_eq!(stats.items, 3, "the stage passed on 3 items");
    let work: Duration = worked.entries().iter().sum();
    let all_three = format!(
        "All three: busy {:?}, starved {:?}, blocked {:?}",
        stats.busy, stats.starved, stats.blocked
    );
    assert!(
        stats.busy >= work && stats.busy <= work + ms(100),
        "busy = {:?}, but the work function itself took {work:?}: busy is the time inside the \
         work function, added up over every item — not the waits around it. {all_three}",
        stats.busy
    );
    assert!(
        (ms(280)..=ms(700)).contains(&stats.starved),
        "starved = {:?}, expected about 400 ms: the time the stage waited in recv() for its \
         input, added up over every item. {all_three}",
        stats.starved
    );
    assert!(
        (ms(100)..=ms(390)).contains(&stats.blocked),
        "blocked = {:?}, expected about 200 ms: the time the stage waited in send() for room \
         downstream, added up over every item. {all_three}",
        stats.blocked
    );
}

#[test]
fn a_stage_counts_only_the_items_it_passed_on() {
    // The next stage is gone before anything arrives: nothing can be passed on.
    let (feed, input) = bounded(3);
    let (output, results) = bounded::<u32>(1);
    drop(results);
    for n in 0..3 {
        feed.send(n).unwrap();
    }
    drop(feed);
    let worker = finishes("stage(\"orphan\", …)", STARTS_A_THREAD, move || {
        stage("orphan", input, output, |n: u32| n)
    });
    let joined = finishes("a stage whose next stage is gone", HUNG_STAGE, move || {
        worker.join()
    });
    let stats = joined.unwrap_or_else(|payload| {
        panic!(
            "the stage panicked when its next stage was gone ({}). A failed send means nobody \
             downstream will ever take an item — which happens when that stage panicked, and \
             run_pipeline reports that panic. Stop the loop; do not unwrap the send.",
            panic_message(payload.as_ref())
        )
    });
    assert_eq!(
        stats.items, 0,
        "no item could be passed on — the next stage was gone — yet the stage counted {}: count \
         an item once its send has succeeded",
        stats.items
    );
}

// --------------------------------------------------------- the pipeline --

#[test]
fn every_item_comes_out_once_in_order_through_three_types() {
    let inputs: Vec<u32> = (0..100).collect();
    let report = finishes("run_pipeline(100 items, capacity 4)", HUNG_PIPELINE, || {
        run_pipeline(
            inputs,
            4,
            |n: u32| format!("part-{n}"),
            |part: String| (part.len(), part),
            |(len, part): (usize, String)| format!("{part} ({len} chars) ok"),
        )
    });
    let expected: Vec<String> = (0..100)
        .map(|n| {
            let part = format!("part-{n}");
            format!("{part} ({} chars) ok", part.len())
        })
        .collect();
    assert_sequence(
        &expected,
        &report.outputs,
        "the outputs (each item passes prepare, assemble and inspect once, and one thread per \
         stage keeps the order)",
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
    assert_sequence(
        &(0..60).collect::<Vec<_>>(),
        &report.outputs,
        "the outputs — items went missing if they stop short: a stage stopped before its input \
         was closed *and* empty. Wait with recv(), which returns Err only then, not try_recv()",
    );
}

#[test]
fn a_long_pause_upstream_is_not_a_shutdown() {
    // `prepare` takes 1.5 s over item 2. Everything downstream waits that
    // long with nothing to do — and must go on waiting: only a closed input
    // means the end. (The Python original reads with a one-second timeout; a
    // stage or collector that takes a quiet spell for the end loses items.)
    let report = finishes_within_seconds(
        8,
        "run_pipeline(5 items, prepare pausing 1.5 s on item 2)",
        || {
            run_pipeline(
                (0..5).collect::<Vec<u32>>(),
                2,
                |n: u32| {
                    if n == 2 {
                        pause(1500);
                    }
                    n
                },
                |n| n,
                |n| n,
            )
        },
    );
    assert_sequence(
        &[0, 1, 2, 3, 4],
        &report.outputs,
        "the outputs after a 1.5 s pause in prepare: a stage (or the collector) took a quiet \
         spell for the end. Only a closed input ends a stage — wait with recv(), not \
         recv_timeout()",
    );
    for stats in &report.stages {
        assert_eq!(
            stats.items, 5,
            "stage {} passed on {} of 5 items",
            stats.name, stats.items
        );
    }
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
fn every_hand_off_holds_capacity_items_no_more_no_fewer() {
    // `inspect` waits on its first item until the line behind it is full. The
    // items past `prepare` that `inspect` has not started then are: that
    // item, a full channel, `assemble`'s hand, another full channel and
    // `prepare`'s hand (an item worked, waiting for room): 2 x capacity + 3.
    // A line that fills no further than that after a long look is bounded
    // right; one that never gets there is bounded too tight.
    for capacity in [0_u64, 1, 3] {
        let full = 2 * capacity + 3;
        let prepared = Arc::new(AtomicU64::new(0));
        let report = finishes(
            &format!("run_pipeline(20 items, capacity {capacity}, a slow last stage)"),
            HUNG_PIPELINE,
            move || {
                let counter = Arc::clone(&prepared);
                let mut started = 0;
                run_pipeline(
                    (0..20).collect::<Vec<u64>>(),
                    capacity as usize,
                    move |n| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        n
                    },
                    |n| n,
                    move |_| {
                        if started == 0 {
                            let filling = Instant::now();
                            while prepared.load(Ordering::SeqCst) < full
                                && filling.elapsed() < Duration::from_secs(2)
                            {
                                pause(1);
                            }
                            pause(100); // would it fill further?
                        }
                        let ahead = prepared.load(Ordering::SeqCst) - started;
                        started += 1;
                        ahead
                    },
                )
            },
        );
        let most = report.outputs.iter().copied().max().unwrap_or(0);
        assert!(
            most <= full,
            "capacity {capacity}: {most} items had left `prepare` but not reached `inspect`; \
             hand-offs of capacity {capacity} hold at most {full}. Is every channel between \
             stages bounded(capacity) — not unbounded(), not a size of your own?"
        );
        assert!(
            most >= full,
            "capacity {capacity}: at most {most} items were ever between `prepare` and \
             `inspect`, though `inspect` waited 2 s for the line to fill; hand-offs of capacity \
             {capacity} hold {full}. Is every channel bounded(capacity) — capacity as given, 0 \
             included (a rendezvous)?"
        );
    }
}

#[test]
fn the_slowest_stage_sets_the_pace_and_the_statistics_show_it() {
    // Stages of 10, 50 and 10 ms an item: the middle one sets the pace.
    let report = finishes(
        "run_pipeline(12 items: 10 ms, 50 ms and 10 ms stages)",
        HUNG_PIPELINE,
        || {
            run_pipeline(
                (0..12).collect::<Vec<u32>>(),
                2,
                |n| {
                    pause(10);
                    n
                },
                |n| {
                    pause(50);
                    n
                },
                |n| {
                    pause(10);
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
        assemble.busy >= ms(600),
        "assemble sleeps 50 ms on each of 12 items, yet reports busy {:?}: time the work \
         function, and add up every item",
        assemble.busy
    );
    assert!(
        report.elapsed >= ms(600),
        "the report says the run took {:?}, but assemble alone needs 600 ms: elapsed runs from \
         the first item in to the last item out — stop the clock after collecting",
        report.elapsed
    );
    // One item at a time, the run would take the three stages' busy times
    // added up. Overlapped, it takes assemble's, plus the first item's
    // prepare and the last item's inspect. Halfway between is the line.
    let one_at_a_time = prepare.busy + assemble.busy + inspect.busy;
    let halfway = one_at_a_time - (prepare.busy + inspect.busy) / 2;
    assert!(
        report.elapsed < halfway,
        "the run took {:?}, about as long as one item at a time ({one_at_a_time:?}): do the \
         stages run on threads of their own, at the same time?",
        report.elapsed
    );
    assert!(
        prepare.blocked > prepare.busy,
        "prepare (10 ms an item) should spend most of its time waiting for room behind \
         assemble (50 ms): blocked {:?}, busy {:?}. Is the wait for send() counted as blocked, \
         and is the channel bounded?",
        prepare.blocked,
        prepare.busy
    );
    assert!(
        inspect.starved > inspect.busy,
        "inspect (10 ms an item) should spend most of its time waiting for assemble: starved \
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

#[test]
fn a_panicking_stage_fails_the_run_with_its_own_message() {
    // `assemble` panics on item 3 of 100. Upstream, the feeder and `prepare`
    // find nobody to send to; downstream, `inspect` sees its input close.
    // None of that is a second failure: the run must end with assemble's own
    // panic, not a SendError or a bare "a stage panicked".
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        finishes(
            "run_pipeline(100 items, assemble panicking on item 3)",
            HUNG_PIPELINE,
            || {
                run_pipeline(
                    (0..100).collect::<Vec<u32>>(),
                    2,
                    |n: u32| n,
                    |n: u32| {
                        assert!(n != 3, "assemble cannot handle item {n}");
                        n
                    },
                    |n| n,
                )
            },
        )
    }));
    let Err(payload) = outcome else {
        panic!(
            "assemble panicked on item 3, yet run_pipeline returned as if nothing happened: \
             re-raise a stage's panic when you join it (std::panic::resume_unwind)"
        );
    };
    let message = panic_message(payload.as_ref());
    if message.contains("still running after") {
        panic::resume_unwind(payload); // the watchdog's verdict, as it is
    }
    assert!(
        message.contains("assemble cannot handle item 3"),
        "run_pipeline failed with {message:?} instead of assemble's own panic. When a stage \
         panics, the threads next to it see a closed channel: the feeder and the stages before \
         it must stop quietly (a failed send is no reason to panic), and the join must hand \
         the stage's panic on unchanged — std::panic::resume_unwind(payload), not unwrap() or \
         expect()"
    );
}

/// [`finishes`] with a longer budget, for a test that pauses on purpose.
fn finishes_within_seconds<T: Send + 'static>(
    seconds: u64,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    lesson_support::finishes_within(Duration::from_secs(seconds), what, HUNG_PIPELINE, work)
}
