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

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

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
        todo!("count it and add its time — book chapter 06, \"A worker's statistics\"")
    }

    /// Mean time per item; zero when there was none.
    pub fn average(&self) -> Duration {
        todo!("mind the worker that processed nothing — book chapter 06, \"A worker's statistics\"")
    }
}
// ANCHOR_END: worker_stats

// ANCHOR: consume
/// One worker: takes items until the queue is closed, runs `work` on each, and
/// times only the work — the wait for the next item is not busy time.
pub fn consume(worker: usize, queue: &Receiver<u64>, work: &Work) -> WorkerStats {
    todo!("time the work, not the wait — book chapter 06, \"Timing the work\"")
}
// ANCHOR_END: consume

// ANCHOR: run
/// Thread-local, then merged: each of `consumers` workers keeps its own
/// [`WorkerStats`] and hands them back through `join`. Returns one entry per
/// worker, in worker order.
pub fn run(items: u64, consumers: usize, work: Work) -> Vec<WorkerStats> {
    todo!("each worker returns its stats through join — book chapter 06, \"Merge at join\"")
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
    todo!("a Mutex<Totals>, locked only for the update — book chapter 06, \"Sharing with a Mutex\"")
}
// ANCHOR_END: run_shared

// ANCHOR: run_atomic
/// The lock-free answer: the totals as two atomic counters — items, and busy
/// time in nanoseconds — that every worker adds to after each item. Returns the
/// totals.
pub fn run_with_atomic_totals(items: u64, consumers: usize, work: Work) -> Totals {
    todo!("two AtomicU64 counters and fetch_add — book chapter 06, \"Sharing with atomics\"")
}
// ANCHOR_END: run_atomic
