//! # Lesson 06 — Per-worker timing without races
//!
//! The Python seed warns that two threads doing `stats.consumed += 1` can lose
//! updates. In Rust that code does not compile: a `&mut` to shared statistics
//! cannot reach two threads. The two answers that do compile: give each worker
//! its own statistics and merge them at join (no sharing at all), or share them
//! behind a `Mutex` and hold the lock only for the update. A third answer keeps
//! the totals in atomics: no lock at all, but only for values that fit in one
//! integer each. Read the book's chapter
//! "06 · Worker statistics" (`book/src/lessons/06-worker-stats.md`), replace each
//! `todo!()`, and run `cargo test -p lesson-06` until it is green.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};

/// The work done on one item, shared by every worker.
pub type Work = Arc<dyn Fn(u64) + Send + Sync>;

/// One worker's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Which worker, 0-based.
    pub worker: usize,
    /// Items it processed.
    pub processed: u64,
    /// Time spent working on them (not waiting for them).
    pub busy: Duration,
}

// ANCHOR: worker_stats
impl WorkerStats {
    /// Counts one item that took `took` to process.
    pub fn record(&mut self, took: Duration) {
        self.processed += 1;
        self.busy += took;
    }

    /// Mean time per item; zero when there was none.
    pub fn average(&self) -> Duration {
        if self.processed == 0 {
            Duration::ZERO
        } else {
            self.busy / self.processed as u32
        }
    }
}
// ANCHOR_END: worker_stats

// ANCHOR: consume
/// One worker: takes items until the queue is closed, runs `work` on each, and
/// times only the work — the wait for the next item is not busy time.
pub fn consume(worker: usize, queue: &Receiver<u64>, work: &Work) -> WorkerStats {
    let mut stats = WorkerStats {
        worker,
        ..WorkerStats::default()
    };
    for item in queue {
        // The clock starts once the item is in hand: time spent blocked in the
        // queue would make a starved worker look busy.
        let started = Instant::now();
        work(item);
        stats.record(started.elapsed());
    }
    stats
}
// ANCHOR_END: consume

// ANCHOR: run
/// Thread-local, then merged: each of `consumers` workers keeps its own
/// [`WorkerStats`] and hands them back through `join`. Returns one entry per
/// worker, in worker order.
pub fn run(items: u64, consumers: usize, work: Work) -> Vec<WorkerStats> {
    let (queue, inbox) = bounded(16);
    let workers: Vec<_> = (0..consumers)
        .map(|worker| {
            let (inbox, work) = (inbox.clone(), Arc::clone(&work));
            thread::spawn(move || consume(worker, &inbox, &work))
        })
        .collect();
    for item in 0..items {
        queue.send(item).expect("the workers hold the queue open");
    }
    drop(queue);
    // join hands each worker's statistics back: nothing was shared, nothing raced.
    workers
        .into_iter()
        .map(|w| w.join().expect("a worker panicked"))
        .collect()
}
// ANCHOR_END: run

/// Totals shared by every worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Items processed by all workers.
    pub processed: u64,
    /// Their summed busy time.
    pub busy: Duration,
}

// ANCHOR: run_shared
/// The other answer: one [`Totals`] behind a `Mutex`, updated by every worker
/// after each item. Returns the totals.
pub fn run_with_shared_totals(items: u64, consumers: usize, work: Work) -> Totals {
    let totals = Arc::new(Mutex::new(Totals::default()));
    let (queue, inbox) = bounded(16);
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let (inbox, work, totals) = (inbox.clone(), Arc::clone(&work), Arc::clone(&totals));
            thread::spawn(move || {
                for item in inbox {
                    let started = Instant::now();
                    work(item);
                    let took = started.elapsed();
                    // Lock for the update only: held across `work`, it would let
                    // one worker work at a time.
                    let mut totals = totals.lock().expect("no worker panics holding the lock");
                    totals.processed += 1;
                    totals.busy += took;
                }
            })
        })
        .collect();
    for item in 0..items {
        queue.send(item).expect("the workers hold the queue open");
    }
    drop(queue);
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    totals.lock().expect("every worker has finished").clone()
}
// ANCHOR_END: run_shared

// ANCHOR: run_atomic
/// The lock-free answer: the totals as two atomic counters — items, and busy
/// time in nanoseconds — that every worker adds to after each item. Returns the
/// totals.
pub fn run_with_atomic_totals(items: u64, consumers: usize, work: Work) -> Totals {
    let processed = Arc::new(AtomicU64::new(0));
    // There is no AtomicDuration: pick a unit fine enough that nothing rounds away.
    let busy_nanos = Arc::new(AtomicU64::new(0));
    let (queue, inbox) = bounded(16);
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let (inbox, work) = (inbox.clone(), Arc::clone(&work));
            let (processed, busy_nanos) = (Arc::clone(&processed), Arc::clone(&busy_nanos));
            thread::spawn(move || {
                for item in inbox {
                    let started = Instant::now();
                    work(item);
                    let took = started.elapsed();
                    // fetch_add is one indivisible read-add-write. Relaxed is enough:
                    // the counters order nothing else, and join publishes them.
                    processed.fetch_add(1, Ordering::Relaxed);
                    busy_nanos.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for item in 0..items {
        queue.send(item).expect("the workers hold the queue open");
    }
    drop(queue);
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    Totals {
        processed: processed.load(Ordering::Relaxed),
        busy: Duration::from_nanos(busy_nanos.load(Ordering::Relaxed)),
    }
}
// ANCHOR_END: run_atomic
