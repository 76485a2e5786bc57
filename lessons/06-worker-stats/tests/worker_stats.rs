//! Lesson 06 — per-worker statistics, timing the work, and sharing without races.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use lesson_06::{Work, WorkerStats, consume, run, run_with_atomic_totals, run_with_shared_totals};
use lesson_support::finishes;

const STUCK: &str = "close the queue (drop the Sender) before joining the workers";

fn sleeping(ms: u64) -> Work {
    Arc::new(move |_| thread::sleep(Duration::from_millis(ms)))
}

#[test]
fn record_counts_items_and_adds_their_time() {
    let mut stats = WorkerStats::default();
    stats.record(Duration::from_millis(10));
    stats.record(Duration::from_millis(30));
    assert_eq!(
        (stats.processed, stats.busy),
        (2, Duration::from_millis(40))
    );
    assert_eq!(stats.average(), Duration::from_millis(20));
}

#[test]
fn the_average_of_a_worker_that_did_nothing_is_zero() {
    let idle = WorkerStats {
        worker: 3,
        ..WorkerStats::default()
    };
    let average = finishes("average() of an idle worker", "none expected", move || {
        std::panic::catch_unwind(|| idle.average())
    });
    assert_eq!(
        average.ok(),
        Some(Duration::ZERO),
        "a worker can finish without a single item: its average is zero, not a division by zero"
    );
}

#[test]
fn only_the_work_is_timed_not_the_wait() {
    // Items arrive every 40 ms; each takes 2 ms of work.
    let (queue, inbox) = unbounded();
    let producer = thread::spawn(move || {
        for item in 0..5 {
            thread::sleep(Duration::from_millis(40));
            queue.send(item).unwrap();
        }
    });
    let work = sleeping(2);
    let stats = finishes("consume()", STUCK, move || consume(0, &inbox, &work));
    producer.join().unwrap();
    assert_eq!(stats.processed, 5);
    assert!(
        stats.busy >= Duration::from_millis(10),
        "5 items of 2 ms each: busy {:?} is too little",
        stats.busy
    );
    assert!(
        stats.busy < Duration::from_millis(100),
        "busy {:?} for 5 items of 2 ms: the 40 ms waits for each item were counted as work — start the clock once the item is in hand",
        stats.busy
    );
}

#[test]
fn every_worker_reports_its_own_statistics() {
    let stats = finishes("run(100 items, 4 workers)", STUCK, || {
        run(100, 4, sleeping(1))
    });
    assert_eq!(stats.len(), 4, "one entry per worker");
    let ids: Vec<usize> = stats.iter().map(|s| s.worker).collect();
    assert_eq!(ids, [0, 1, 2, 3], "in worker order");
    let processed: u64 = stats.iter().map(|s| s.processed).sum();
    assert_eq!(
        processed, 100,
        "the workers' counts must add up to the items: a worker's statistics were lost"
    );
}

#[test]
fn each_worker_averages_its_own_work() {
    let stats = finishes("run(60 items, 3 workers)", STUCK, || {
        run(60, 3, sleeping(3))
    });
    let busy: Vec<&WorkerStats> = stats.iter().filter(|s| s.processed > 0).collect();
    assert!(
        busy.len() >= 2,
        "only {} of 3 workers processed anything",
        busy.len()
    );
    for worker in busy {
        let average = worker.average();
        assert!(
            average >= Duration::from_millis(3) && average < Duration::from_millis(50),
            "worker {} averaged {average:?} on 3 ms items",
            worker.worker
        );
    }
}

#[test]
fn shared_totals_count_every_item() {
    let totals = finishes(
        "run_with_shared_totals(100 items, 4 workers)",
        STUCK,
        || run_with_shared_totals(100, 4, sleeping(1)),
    );
    assert_eq!(totals.processed, 100);
    assert!(
        totals.busy >= Duration::from_millis(100),
        "100 items of 1 ms: busy {:?}",
        totals.busy
    );
}

#[test]
fn the_lock_is_not_held_while_working() {
    // 80 items of 5 ms on 4 workers: about 100 ms in parallel, 400 ms if the
    // lock makes them take turns. Sleeping work needs no CPU, so this holds on
    // a busy machine too.
    let started = Instant::now();
    let totals = finishes("run_with_shared_totals(80 items, 4 workers)", STUCK, || {
        run_with_shared_totals(80, 4, sleeping(5))
    });
    let took = started.elapsed();
    assert_eq!(totals.processed, 80);
    assert!(
        took < Duration::from_millis(300),
        "took {took:?}: the workers took turns — is the lock held while the work runs? Lock only for the update"
    );
}

#[test]
fn atomic_totals_count_every_item() {
    let totals = finishes(
        "run_with_atomic_totals(100 items, 4 workers)",
        STUCK,
        || run_with_atomic_totals(100, 4, sleeping(1)),
    );
    assert_eq!(
        totals.processed, 100,
        "every item adds 1 to the processed counter, once"
    );
    assert!(
        totals.busy >= Duration::from_millis(100),
        "100 items of 1 ms: busy {:?}",
        totals.busy
    );
}

#[test]
fn atomic_totals_keep_time_shorter_than_a_millisecond() {
    // 200 items of 300 µs: a sleep never ends early, so at least 60 ms in all.
    let work: Work = Arc::new(|_| thread::sleep(Duration::from_micros(300)));
    let totals = finishes(
        "run_with_atomic_totals(200 items, 2 workers)",
        STUCK,
        || run_with_atomic_totals(200, 2, work),
    );
    assert_eq!(totals.processed, 200);
    assert!(
        totals.busy >= Duration::from_millis(60),
        "200 items of 300 µs each added up to a busy time of {:?}: is each item's time \
         rounded down before it is added (as_millis of 300 µs is 0)? Count in nanoseconds",
        totals.busy
    );
}
