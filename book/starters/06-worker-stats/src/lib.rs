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

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

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
        todo!("count it and add its time — book chapter 06, \"A worker's statistics\"")
    }

    /// Mean time per item; zero when there was none.
    pub fn average(&self) -> Duration {
        todo!("mind the worker that processed nothing — book chapter 06, \"A worker's statistics\"")
    }
}
// ANCHOR_END: worker_stats

// ANCHOR: consume
/// One worker: takes items until the queue is closed and drained, runs `work`
/// on each, and times only the work — the wait for the next item is not busy
/// time.
pub fn consume(worker: usize, queue: &Receiver<u64>, work: &Work) -> WorkerStats {
    todo!("time the work, not the wait — book chapter 06, \"Timing the work\"")
}
// ANCHOR_END: consume

// ANCHOR: run
/// Thread-local, then merged: `consumers` workers take items from `queue`
/// until it is closed, each keeping its own [`WorkerStats`] and handing them
/// back through `join`. Returns one entry per worker, in worker order.
pub fn run(queue: Receiver<u64>, consumers: usize, work: Work) -> Vec<WorkerStats> {
    todo!("each worker returns its stats through join — book chapter 06, \"Merge at join\"")
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
    todo!("one lock for the whole update — book chapter 06, \"Sharing with a Mutex\"")
}
// ANCHOR_END: record_shared

// ANCHOR: run_shared
/// The second answer: one [`Totals`] behind a `Mutex`, which `consumers`
/// workers update with [`record_shared`] after each item they take from
/// `queue`. Returns the totals once every worker has finished.
pub fn run_with_shared_totals(queue: Receiver<u64>, consumers: usize, work: Work) -> Totals {
    todo!("record_shared after the work, not around it — book chapter 06, \"Sharing with a Mutex\"")
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
        todo!("one fetch_add per counter — book chapter 06, \"Sharing with atomics\"")
    }

    /// The totals so far.
    pub fn totals(&self) -> Totals {
        todo!("load both counters — book chapter 06, \"Sharing with atomics\"")
    }
}
// ANCHOR_END: atomic_totals

// ANCHOR: run_atomic
/// The third answer: one [`AtomicTotals`] that `consumers` workers add to after
/// each item they take from `queue`. Returns the totals once every worker has
/// finished.
pub fn run_with_atomic_totals(queue: Receiver<u64>, consumers: usize, work: Work) -> Totals {
    todo!("share one AtomicTotals — book chapter 06, \"Sharing with atomics\"")
}
// ANCHOR_END: run_atomic
