//! loom models of your update steps, `record_shared` and `AtomicTotals::record`:
//! tiny scenarios, every interleaving. Run for you by
//! `every_interleaving_of_the_shared_updates_is_right` in tests/worker_stats.rs
//! (a nested build with `--cfg loom`).
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use lesson_06::{AtomicTotals, Totals, record_shared};
use lesson_support::models::{check, thread};
use lesson_support::sync::std::Mutex;

/// Three workers' items, told apart by their times: worker 1's took 1 ns,
/// worker 2's 10 ns, worker 3's 100 ns — so the busy total says whose were lost.
const TOOK: [u64; 3] = [1, 10, 100];

/// Whose items a busy total is missing, when each took a time from [`TOOK`].
fn missing(busy: Duration) -> String {
    let busy = busy.as_nanos() as u64;
    let lost: Vec<String> = TOOK
        .iter()
        .enumerate()
        .filter(|(_, took)| busy % (**took * 10) / **took == 0)
        .map(|(worker, _)| format!("worker {}'s", worker + 1))
        .collect();
    match lost.len() {
        0 => "no item is missing from the time, yet the totals are wrong".to_string(),
        1 => format!("{} item was lost", lost[0]),
        _ => format!("{} items were lost", lost.join(" and ")),
    }
}

/// Runs `record(took)` for the first two workers on loom threads and the
/// third on the model's main thread, all at once; returns what was recorded.
fn three_workers<S: Send + Sync + 'static>(
    shared: Arc<S>,
    record: fn(&S, Duration),
    read: fn(&S) -> Totals,
) -> Totals {
    let workers: Vec<_> = TOOK[..2]
        .iter()
        .map(|&took| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || record(&shared, Duration::from_nanos(took)))
        })
        .collect();
    record(&shared, Duration::from_nanos(TOOK[2]));
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    read(&shared)
}

#[test]
fn three_workers_record_into_the_shared_totals() {
    check(
        "three workers each call record_shared once, at the same time (items of 1, 10 and 100 ns)",
        "record_shared must not wait for anything but the lock itself",
        || {
            let totals = three_workers(
                Arc::new(Mutex::new(Totals::default())),
                record_shared,
                |totals| totals.lock().expect("nobody panicked").clone(),
            );
            assert!(
                totals.processed == 3 && totals.busy == Duration::from_nanos(111),
                "after all three, the totals say processed {}, busy {:?} — {}.\n\
                 In this interleaving one worker read the totals, another updated them, and the \
                 first then wrote back what it had read plus its own item, over the other's \
                 update (or gave up when the lock was busy). Read, add and write under ONE \
                 lock(), held until both fields are updated.",
                totals.processed,
                totals.busy,
                missing(totals.busy)
            );
        },
    );
}

#[test]
fn a_reader_never_sees_half_an_update() {
    check(
        "one worker calls record_shared(7 ns) while another thread locks the totals to read them",
        "record_shared must not wait for anything but the lock itself",
        || {
            let totals = Arc::new(Mutex::new(Totals::default()));
            let worker = {
                let totals = Arc::clone(&totals);
                thread::spawn(move || record_shared(&totals, Duration::from_nanos(7)))
            };
            let seen = totals.lock().expect("nobody panicked").clone();
            worker.join().expect("the worker panicked");
            let before = Totals::default();
            let after = Totals {
                processed: 1,
                busy: Duration::from_nanos(7),
            };
            assert!(
                seen == before || seen == after,
                "a reader saw processed {}, busy {:?}: half an update. In this interleaving the \
                 count was changed under one lock() and the time under another, and the reader \
                 came in between — its average would be wrong. That is what the Mutex is for: \
                 update both fields under the same lock().",
                seen.processed,
                seen.busy
            );
        },
    );
}

#[test]
fn three_workers_record_into_the_atomic_totals() {
    check(
        "three workers each call AtomicTotals::record once, at the same time (items of 1, 10 and 100 ns)",
        "AtomicTotals::record must not wait for anything",
        || {
            let totals = three_workers(
                Arc::new(AtomicTotals::new()),
                AtomicTotals::record,
                AtomicTotals::totals,
            );
            assert!(
                totals.processed == 3 && totals.busy == Duration::from_nanos(111),
                "after all three, the totals say processed {}, busy {:?} — {}.\n\
                 In this interleaving one worker loaded a counter, another added to it, and the \
                 first then stored what it had loaded plus its own item, over the other's \
                 addition. Each atomic operation is indivisible, a load followed by a store is \
                 not: use fetch_add (or a compare_exchange loop that retries).",
                totals.processed,
                totals.busy,
                missing(totals.busy)
            );
        },
    );
}
