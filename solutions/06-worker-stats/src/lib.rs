//! # Lesson 06 — Per-worker timing without races
//!
//! The Python original warns that two threads doing `stats.consumed += 1` can
//! lose updates. In Rust that code does not compile: a `&mut` to shared
//! statistics cannot reach two threads. The answers that do compile: give each
//! worker its own statistics and merge them at join (no sharing at all), or
//! share them behind a `Mutex` and hold the lock only for the update, or keep
//! the totals in atomics — no lock at all, but only for values that fit in one
//! integer each. Read the book's chapter "06 · Worker statistics"
//! (`book/src/lessons/06-worker-stats.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-06` until it is green.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
// std's Mutex and atomics — or loom's, when the lesson's models check every interleaving.
use lesson_support::sync::std::Mutex;
use lesson_support::sync::std::atomic::{AtomicU64, Ordering};

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
            // Integer nanoseconds, divided as u128: no rounding to whole
            // milliseconds on the way, and no count cut to 32 bits (`busy / n`
            // takes a u32: `processed as u32` wraps past 4 294 967 295 items).
            let nanos = self.busy.as_nanos() / u128::from(self.processed);
            // No more than `busy`, so its whole seconds fit in a u64.
            Duration::new(
                (nanos / 1_000_000_000) as u64,
                (nanos % 1_000_000_000) as u32,
            )
        }
    }
}
// ANCHOR_END: worker_stats

// ANCHOR: consume
/// One worker: takes items until the queue is closed and drained, runs `work`
/// on each, and times only the work — the wait for the next item is not busy
/// time.
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
/// Thread-local, then merged: `consumers` workers take items from `queue`
/// until it is closed, each keeping its own [`WorkerStats`] and handing them
/// back through `join`. Returns one entry per worker, in worker order.
pub fn run(queue: Receiver<u64>, consumers: usize, work: Work) -> Vec<WorkerStats> {
    // Every worker starts before any is joined: joined one by one as they
    // start, they would work one at a time.
    let workers: Vec<_> = (0..consumers)
        .map(|worker| {
            let (queue, work) = (queue.clone(), Arc::clone(&work));
            thread::spawn(move || consume(worker, &queue, &work))
        })
        .collect();
    // join hands each worker's statistics back: nothing was shared, nothing raced.
    workers
        .into_iter()
        .map(|w| w.join().expect("a worker panicked"))
        .collect()
}
// ANCHOR_END: run

/// Totals over every worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Items processed by all workers.
    pub processed: u64,
    /// Their summed busy time.
    pub busy: Duration,
}

// ANCHOR: record_shared
/// The update step of [`run_with_shared_totals`]: counts one item that took
/// `took` into totals every worker shares. Any number of threads may call it
/// at once; no update may be lost, and nobody who locks `totals` may see the
/// count changed without the time.
pub fn record_shared(totals: &Mutex<Totals>, took: Duration) {
    // One lock for the whole update: read, add and write while no other thread
    // can, and change both fields before anyone can look.
    let mut totals = totals.lock().expect("no worker panics holding the lock");
    totals.processed += 1;
    totals.busy += took;
}
// ANCHOR_END: record_shared

// ANCHOR: run_shared
/// The second answer: one [`Totals`] behind a `Mutex`, which `consumers`
/// workers update with [`record_shared`] after each item they take from
/// `queue`. Returns the totals once every worker has finished.
pub fn run_with_shared_totals(queue: Receiver<u64>, consumers: usize, work: Work) -> Totals {
    let totals = Arc::new(Mutex::new(Totals::default()));
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let (queue, work, totals) = (queue.clone(), Arc::clone(&work), Arc::clone(&totals));
            thread::spawn(move || {
                for item in queue {
                    let started = Instant::now();
                    work(item);
                    // The lock is taken after the work, for the update only:
                    // held across `work`, it would let one worker work at a time.
                    record_shared(&totals, started.elapsed());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    // Every worker has been joined: these totals are final.
    totals.lock().expect("every worker has finished").clone()
}
// ANCHOR_END: run_shared

// ANCHOR: atomic_totals
/// The totals as two atomic counters: items, and busy time in nanoseconds.
/// Each counter is right on its own; read together mid-run, they may be one
/// update apart.
#[derive(Debug, Default)]
pub struct AtomicTotals {
    processed: AtomicU64,
    // There is no AtomicDuration: pick a unit fine enough that nothing rounds away.
    busy_nanos: AtomicU64,
}

impl AtomicTotals {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one item that took `took`. Any number of threads may call it at
    /// once, and no update may be lost.
    pub fn record(&self, took: Duration) {
        // fetch_add is one indivisible read-add-write. Relaxed is enough: the
        // counters order nothing else, and join publishes them.
        self.processed.fetch_add(1, Ordering::Relaxed);
        self.busy_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn totals(&self) -> Totals {
        Totals {
            processed: self.processed.load(Ordering::Relaxed),
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
        }
    }
}
// ANCHOR_END: atomic_totals

// ANCHOR: run_atomic
/// The third answer: one [`AtomicTotals`] that `consumers` workers add to after
/// each item they take from `queue`. Returns the totals once every worker has
/// finished.
pub fn run_with_atomic_totals(queue: Receiver<u64>, consumers: usize, work: Work) -> Totals {
    let totals = Arc::new(AtomicTotals::new());
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let (queue, work, totals) = (queue.clone(), Arc::clone(&work), Arc::clone(&totals));
            thread::spawn(move || {
                for item in queue {
                    let started = Instant::now();
                    work(item);
                    totals.record(started.elapsed());
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    totals.totals()
}
// ANCHOR_END: run_atomic
