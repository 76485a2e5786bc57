//! Lesson 06 — per-worker statistics, timing the work, and sharing without races.
//!
//! Every call into your code runs under a watchdog, also the ones made right
//! here on the test's own thread. The tests are the producer: they fill or pace
//! the queue each run reads, so waiting for an item can be told apart from
//! working on it. The last test runs the loom models in tests/model.rs, which
//! call your update steps from several threads under *every* interleaving — a
//! lost update fails every time, not one run in fifty.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use lesson_06::{
    AtomicTotals, Totals, Work, WorkerStats, consume, record_shared, run, run_with_atomic_totals,
    run_with_shared_totals,
};
use lesson_support::sync::std::Mutex;
use lesson_support::{
    Log, Overlap, TimingSection, assert_each_exactly_once, finishes, join_finished,
};

const STUCK: &str = "the workers never stopped. A worker's loop must end when the queue is \
     closed and empty (`for item in queue`, or stop when recv() returns Err), every worker must \
     be started before any is joined, and no update may lock a mutex it already holds";
const QUICK: &str = "this call has nothing to wait for: is a lock taken twice, or a loop that \
     never ends?";

/// A queue already holding items `0..items`, and closed: the workers drain it and stop.
fn closed_queue(items: u64) -> Receiver<u64> {
    let (queue, inbox) = unbounded();
    for item in 0..items {
        queue.send(item).expect("the test holds the receiver");
    }
    inbox
}

/// A queue that gets item `0..items` one every `gap`, then closes: a worker
/// spends most of its time waiting for the next item.
fn paced_queue(items: u64, gap: Duration) -> (Receiver<u64>, JoinHandle<()>) {
    let (queue, inbox) = unbounded();
    let producer = thread::spawn(move || {
        for item in 0..items {
            thread::sleep(gap);
            if queue.send(item).is_err() {
                return;
            }
        }
    });
    (inbox, producer)
}

/// Work that sleeps `micros` on each item and logs which item it was given.
fn logged_sleep(micros: u64, log: &Log<u64>) -> Work {
    let log = log.clone();
    Arc::new(move |item| {
        thread::sleep(Duration::from_micros(micros));
        log.push(item);
    })
}

fn nothing() -> Work {
    Arc::new(|_| ())
}

/// Work that counts how many workers are inside `work(item)` at once (see
/// [`Overlap`]): a pool of three always gets three there; one that works one
/// at a time — a lock held across the work, workers joined as they are
/// started, a count ignored — never does, and one with extra workers goes past.
fn overlapping(overlap: &Arc<Overlap>) -> Work {
    let overlap = Arc::clone(overlap);
    Arc::new(move |_| overlap.work())
}

/// The two runs that share their totals, for tests that hold for both.
type TotalsRun = fn(Receiver<u64>, usize, Work) -> Totals;

// --- A worker's statistics ---------------------------------------------------

#[test]
fn record_counts_items_and_adds_their_time() {
    let stats = finishes("WorkerStats::record (three items)", QUICK, || {
        let mut stats = WorkerStats {
            worker: 2,
            ..WorkerStats::default()
        };
        for ms in [10, 25, 5] {
            stats.record(Duration::from_millis(ms));
        }
        stats
    });
    assert_eq!(
        stats,
        WorkerStats {
            worker: 2,
            processed: 3,
            busy: Duration::from_millis(40)
        },
        "three items of 10, 25 and 5 ms: processed 3, busy 40 ms (each item's time added to \
         busy, not put in its place), and `worker` left as it was"
    );
}

#[test]
fn the_average_keeps_fractions_of_a_millisecond() {
    let busy = Duration::from_millis(40);
    let average = finishes(
        "WorkerStats::average (40 ms over 3 items)",
        QUICK,
        move || {
            WorkerStats {
                worker: 0,
                processed: 3,
                busy,
            }
            .average()
        },
    );
    let exact = Duration::from_nanos(13_333_333);
    let diagnosis = if average == busy {
        "that is the total, not the mean: divide by `processed`"
    } else if average == Duration::from_millis(13) {
        "it was rounded to whole milliseconds: divide the Duration itself (`busy / n`)"
    } else if average == busy / 4 || average == busy / 2 {
        "the division is off by one: divide by `processed`"
    } else {
        "the mean is busy / processed"
    };
    assert!(
        average.abs_diff(exact) <= Duration::from_micros(1),
        "40 ms over 3 items averages 13.333 ms; got {average:?}: {diagnosis}"
    );
    let one = finishes("WorkerStats::average (one item)", QUICK, || {
        WorkerStats {
            worker: 0,
            processed: 1,
            busy: Duration::from_micros(1_750),
        }
        .average()
    });
    assert_eq!(
        one,
        Duration::from_micros(1_750),
        "one item of 1.75 ms averages 1.75 ms"
    );
}

#[test]
fn the_average_of_a_worker_that_did_nothing_is_zero() {
    let idle = WorkerStats {
        worker: 3,
        ..WorkerStats::default()
    };
    let average = finishes("average() of an idle worker", QUICK, move || {
        std::panic::catch_unwind(|| idle.average())
    });
    assert_eq!(
        average.ok(),
        Some(Duration::ZERO),
        "a worker can finish without a single item: its average is zero, not a division by zero"
    );
}

// --- Timing the work ---------------------------------------------------------

#[test]
fn consume_counts_each_item_once_under_its_own_worker_number() {
    let log = Log::new();
    let work = logged_sleep(300, &log);
    let inbox = closed_queue(7);
    let stats = finishes("consume(worker 5, 7 items)", STUCK, move || {
        consume(5, &inbox, &work)
    });
    assert_each_exactly_once(0..7, log.entries(), "items given to work()");
    assert_eq!(
        stats.worker, 5,
        "consume(5, …) returns the statistics of worker 5: fill in `worker` from its argument"
    );
    assert_eq!(stats.processed, 7, "7 items in the queue: processed 7");
    assert!(
        stats.busy >= Duration::from_micros(7 * 300),
        "7 items of at least 300 µs each add up to at least 2.1 ms, but busy is {:?}: is each \
         item's time rounded (as_millis of 300 µs is 0) or left out?",
        stats.busy
    );
}

#[test]
fn consume_times_the_work_not_the_wait() {
    let _alone = TimingSection::enter();
    // An item every 50 ms; the work itself takes next to nothing.
    let (inbox, producer) = paced_queue(4, Duration::from_millis(50));
    let stats = finishes("consume(worker 0, 4 items 50 ms apart)", STUCK, move || {
        consume(0, &inbox, &nothing())
    });
    producer.join().expect("the producer panicked");
    assert_eq!(
        stats.processed, 4,
        "4 items came, 50 ms apart, before the queue closed: a worker waits for the next item \
         until the queue is closed (blocking recv, not try_recv or a timeout)"
    );
    assert!(
        stats.busy < Duration::from_millis(50),
        "busy {:?} for 4 items whose work takes microseconds: the 50 ms waits for each item were \
         counted as work — start the clock once the item is in hand",
        stats.busy
    );
}

// --- Merge at join -----------------------------------------------------------

#[test]
fn run_reports_every_worker_in_worker_order() {
    // 101 items do not divide evenly among 4 workers.
    let log = Log::new();
    let work = logged_sleep(200, &log);
    let stats = finishes("run(101 items, 4 workers)", STUCK, move || {
        run(closed_queue(101), 4, work)
    });
    assert_each_exactly_once(0..101, log.entries(), "items given to work()");
    assert_eq!(stats.len(), 4, "run(…, 4, …) returns one entry per worker");
    let ids: Vec<usize> = stats.iter().map(|s| s.worker).collect();
    assert_eq!(
        ids,
        [0, 1, 2, 3],
        "one entry per worker, numbered from 0, in worker order"
    );
    let processed: u64 = stats.iter().map(|s| s.processed).sum();
    assert_eq!(
        processed, 101,
        "the workers' counts must add up to the 101 items: a worker's statistics were lost \
         (is every worker's join() result kept?)"
    );
    for worker in &stats {
        assert!(
            worker.busy >= Duration::from_micros(200) * worker.processed as u32,
            "worker {} processed {} items of at least 200 µs, but its busy time is {:?}",
            worker.worker,
            worker.processed,
            worker.busy
        );
    }
}

#[test]
fn run_starts_exactly_the_workers_asked_for() {
    let _alone = TimingSection::enter();
    let overlap = Arc::new(Overlap::new(3));
    let work = overlapping(&overlap);
    let stats = finishes("run(5 items, 3 workers)", STUCK, move || {
        run(closed_queue(5), 3, work)
    });
    assert_eq!(stats.len(), 3, "run(…, 3, …) returns one entry per worker");
    assert_eq!(
        overlap.most(),
        3,
        "with 3 workers, 3 items should be worked on at the same time, but at most {} were: \
         every worker must be started (spawned) before any is joined, and `consumers` says how \
         many",
        overlap.most()
    );
    let alone = finishes("run(9 items, 1 worker)", STUCK, || {
        run(closed_queue(9), 1, nothing())
    });
    assert_eq!(
        alone
            .iter()
            .map(|s| (s.worker, s.processed))
            .collect::<Vec<_>>(),
        [(0, 9)],
        "one worker does all 9 items"
    );
}

#[test]
fn run_times_the_work_not_the_wait() {
    let _alone = TimingSection::enter();
    let (inbox, producer) = paced_queue(5, Duration::from_millis(30));
    let stats = finishes("run(5 items 30 ms apart, 2 workers)", STUCK, move || {
        run(inbox, 2, nothing())
    });
    producer.join().expect("the producer panicked");
    let busy: Duration = stats.iter().map(|s| s.busy).sum();
    assert!(
        busy < Duration::from_millis(60),
        "the workers' busy time adds up to {busy:?} for 5 items whose work takes microseconds: \
         the waits for each item were counted as work — start the clock once the item is in hand"
    );
}

// --- The update steps, called directly ---------------------------------------

#[test]
fn record_shared_counts_and_adds_the_exact_time() {
    let totals = finishes("record_shared (two items)", QUICK, || {
        let totals = Mutex::new(Totals::default());
        record_shared(&totals, Duration::from_nanos(1_234_567));
        record_shared(&totals, Duration::from_millis(2));
        totals
            .into_inner()
            .expect("nobody panicked holding the lock")
    });
    assert_eq!(
        totals,
        Totals {
            processed: 2,
            busy: Duration::from_nanos(3_234_567)
        },
        "two items of 1.234567 ms and 2 ms: processed 2, busy 3.234567 ms"
    );
}

#[test]
fn atomic_totals_count_and_add_the_exact_time() {
    let totals = finishes("AtomicTotals::record (three items)", QUICK, || {
        let totals = AtomicTotals::new();
        let before = totals.totals();
        totals.record(Duration::from_nanos(1_234_567));
        totals.record(Duration::from_micros(300));
        totals.record(Duration::from_nanos(999));
        (before, totals.totals())
    });
    assert_eq!(
        totals.0,
        Totals::default(),
        "a new AtomicTotals has counted nothing"
    );
    assert_eq!(
        totals.1,
        Totals {
            processed: 3,
            busy: Duration::from_nanos(1_535_566)
        },
        "items of 1 234 567 ns, 300 000 ns and 999 ns add up to 1 535 566 ns: count in \
         nanoseconds (as_nanos) when you add and when you read back (from_nanos), add with \
         fetch_add rather than store"
    );
}

/// How long each of the four threads keeps recording in the many-threads tests:
/// long enough that on any machine they overlap, and some find the others in
/// the middle of an update.
const HAMMER: Duration = Duration::from_millis(40);

/// Four threads, started together, each record items of 3 ns with `record`
/// for [`HAMMER`]; returns the totals they must add up to.
fn four_threads_record(record: impl Fn(Duration) + Send + Sync + 'static) -> Totals {
    let record = Arc::new(record);
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (record, start) = (Arc::clone(&record), Arc::clone(&start));
            thread::spawn(move || {
                // All at once: a thread started late would find the others done.
                start.wait();
                let started = Instant::now();
                let mut calls = 0u32;
                while calls < 1_000 || started.elapsed() < HAMMER {
                    record(Duration::from_nanos(3));
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let calls: u32 = threads.into_iter().map(join_finished).sum();
    Totals {
        processed: u64::from(calls),
        busy: Duration::from_nanos(3) * calls,
    }
}

#[test]
fn record_shared_loses_no_update_when_many_threads_call_it() {
    let totals = finishes(
        "record_shared from 4 threads at once for 40 ms",
        QUICK,
        || {
            let totals = Arc::new(Mutex::new(Totals::default()));
            let shared = Arc::clone(&totals);
            let expected = four_threads_record(move |took| record_shared(&shared, took));
            (totals.lock().expect("nobody panicked").clone(), expected)
        },
    );
    assert_eq!(
        totals.0, totals.1,
        "4 threads recorded items of 3 ns each at once, {} in all; updates were lost. Read, add and write \
         under ONE lock(), and wait for it (lock, not try_lock): between two lock()s another \
         thread's update slips in and is overwritten",
        totals.1.processed
    );
}

#[test]
fn atomic_totals_lose_no_update_when_many_threads_call_them() {
    let totals = finishes(
        "AtomicTotals::record from 4 threads at once for 40 ms",
        QUICK,
        || {
            let totals = Arc::new(AtomicTotals::new());
            let shared = Arc::clone(&totals);
            let expected = four_threads_record(move |took| shared.record(took));
            (totals.totals(), expected)
        },
    );
    assert_eq!(
        totals.0, totals.1,
        "4 threads recorded items of 3 ns each at once, {} in all; updates were lost. A load followed by a \
         store is two steps another thread can come between: fetch_add is one",
        totals.1.processed
    );
}

// --- The shared runs -----------------------------------------------------------

/// Every item once, its time added, and the totals read only after the last
/// worker finished: the last item's work is the slowest.
fn counts_every_item_and_waits_for_the_last(name: &str, run: TotalsRun) {
    let log = Log::new();
    let finished = Arc::new(AtomicU64::new(0));
    let work: Work = {
        let (log, finished) = (log.clone(), Arc::clone(&finished));
        Arc::new(move |item| {
            let ms = if item == 19 { 120 } else { 1 };
            thread::sleep(Duration::from_millis(ms));
            log.push(item);
            finished.fetch_add(1, Ordering::SeqCst);
        })
    };
    let (totals, finished_at_return) =
        finishes(&format!("{name}(20 items, 3 workers)"), STUCK, move || {
            let totals = run(closed_queue(20), 3, work);
            (totals, finished.load(Ordering::SeqCst))
        });
    assert_eq!(
        finished_at_return,
        20,
        "{name} returned while {} of 20 items were still being worked on: join every worker \
         before reading the totals",
        20 - finished_at_return
    );
    assert_each_exactly_once(0..20, log.entries(), "items given to work()");
    assert_eq!(
        totals.processed, 20,
        "20 items were processed; the totals say {}: did every worker add to the same totals \
         (one Arc, cloned for each worker — not a new one each)?",
        totals.processed
    );
    assert!(
        totals.busy >= Duration::from_millis(19 + 120),
        "19 items of 1 ms and one of 120 ms add up to at least 139 ms, but busy is {:?}",
        totals.busy
    );
}

fn workers_work_side_by_side(name: &str, run: TotalsRun) {
    let _alone = TimingSection::enter();
    let overlap = Arc::new(Overlap::new(3));
    let work = overlapping(&overlap);
    let totals = finishes(&format!("{name}(5 items, 3 workers)"), STUCK, move || {
        run(closed_queue(5), 3, work)
    });
    assert_eq!(totals.processed, 5, "5 items were processed");
    assert_eq!(
        overlap.most(),
        3,
        "with 3 workers, 3 items should be worked on at the same time, but at most {} were. \
         Fewer: the workers took turns — is a lock held while the work runs (lock for the update \
         only, after the work), or are the workers joined one by one as they start? More: \
         `consumers` says how many workers to start",
        overlap.most()
    );
}

fn times_the_work_not_the_wait(name: &str, run: TotalsRun) {
    let _alone = TimingSection::enter();
    let (inbox, producer) = paced_queue(5, Duration::from_millis(30));
    let totals = finishes(
        &format!("{name}(5 items 30 ms apart, 2 workers)"),
        STUCK,
        move || run(inbox, 2, nothing()),
    );
    producer.join().expect("the producer panicked");
    assert_eq!(totals.processed, 5, "5 items were processed");
    assert!(
        totals.busy < Duration::from_millis(60),
        "busy {:?} for 5 items whose work takes microseconds: the waits for each item were \
         counted as work — start the clock once the item is in hand",
        totals.busy
    );
}

#[test]
fn shared_totals_count_every_item_once_every_worker_finished() {
    counts_every_item_and_waits_for_the_last("run_with_shared_totals", run_with_shared_totals);
}

#[test]
fn shared_totals_let_the_workers_work_side_by_side() {
    workers_work_side_by_side("run_with_shared_totals", run_with_shared_totals);
}

#[test]
fn shared_totals_time_the_work_not_the_wait() {
    times_the_work_not_the_wait("run_with_shared_totals", run_with_shared_totals);
}

#[test]
fn atomic_totals_count_every_item_once_every_worker_finished() {
    counts_every_item_and_waits_for_the_last("run_with_atomic_totals", run_with_atomic_totals);
}

#[test]
fn atomic_totals_let_the_workers_work_side_by_side() {
    workers_work_side_by_side("run_with_atomic_totals", run_with_atomic_totals);
}

#[test]
fn atomic_totals_time_the_work_not_the_wait() {
    times_the_work_not_the_wait("run_with_atomic_totals", run_with_atomic_totals);
}

#[test]
fn every_interleaving_of_the_shared_updates_is_right() {
    // The scenarios are in tests/model.rs; loom tries each one under every
    // order in which its threads can take turns.
    lesson_support::run_models!();
}
