//! # Lesson 10 — Retries, dead letters, waiting for all
//!
//! A failed item deserves another try, but not an endless one: after a few
//! attempts it goes to a *dead-letter* channel, with its last error, for a
//! person or a later run to look at. Retries also break the shutdown you learned
//! in lesson 02: workers that put retries back are producers too, so "close the
//! channel when the producer is done" no longer says "all work is done". You
//! need a count of unfinished work and a way to wait for it to reach zero —
//! Rust's answer to Python's `queue.join()`. Read the book's chapter
//! "10 · Retries" (`book/src/lessons/10-retries.md`), replace each `todo!()`,
//! and run `cargo test -p lesson-10` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded, select, unbounded};
// parking_lot's Mutex and Condvar — or loom's, when the lesson's models check every interleaving.
use lesson_support::sync::parking_lot::{Condvar, Mutex};

/// One piece of work and the number of attempts made on it so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Which item: `0..items`.
    pub id: u64,
    /// Attempts made so far, the current one included once it has run.
    pub attempts: u32,
}

/// An item that failed every attempt it was allowed, with its last error.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeadLetter {
    /// Which item.
    pub id: u64,
    /// How many times it was tried.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub error: String,
}

/// The work done on one attempt: `Err` with a message when it fails.
pub type Job = Arc<dyn Fn(Item) -> Result<(), String> + Send + Sync>;

/// Whether attempt `attempt` on item `id` fails, at failure rate `rate`, for
/// this `seed`: the same arguments give the same answer in any thread, in any
/// order, so a test can work out every outcome in advance.
pub fn fails(seed: u64, id: u64, attempt: u32, rate: f64) -> bool {
    // SplitMix64 of the three inputs: a well-mixed 64-bit number per attempt.
    let mut z = seed
        .wrapping_add(id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(u64::from(attempt).wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// A job whose attempts fail where [`fails`] says so.
pub fn flaky_job(seed: u64, rate: f64) -> Job {
    Arc::new(move |item: Item| {
        if fails(seed, item.id, item.attempts, rate) {
            Err(format!(
                "item {} failed on attempt {}",
                item.id, item.attempts
            ))
        } else {
            Ok(())
        }
    })
}

// ANCHOR: pending
/// A count of unfinished work, and a way to wait until it reaches zero.
///
/// Call [`add`](Pending::add) before the work can be picked up and
/// [`done`](Pending::done) once it is finished for good; [`wait`](Pending::wait)
/// returns when every added item is done — that is, when the count is zero,
/// however many threads wait.
#[derive(Debug, Default)]
pub struct Pending {
    count: Mutex<u64>,
    zero: Condvar,
}

impl Pending {
    /// Nothing pending yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` items of unfinished work.
    pub fn add(&self, n: u64) {
        todo!("count n more items of unfinished work — book chapter 10, \"Waiting for all\"")
    }

    /// Marks one item finished for good, waking the waiters if it was the last.
    ///
    /// # Panics
    ///
    /// If nothing is pending: a `done` without its `add` is a bug that would
    /// otherwise let `wait` return while work is still going on.
    pub fn done(&self) {
        todo!(
            "one item finished: panic if none was pending, wake the waiters at zero — book chapter 10, \"Waiting for all\""
        )
    }

    /// Items added and not yet done.
    pub fn count(&self) -> u64 {
        todo!("read the count — book chapter 10, \"Waiting for all\"")
    }

    /// Blocks until nothing is pending.
    pub fn wait(&self) {
        todo!("block while the count is above zero — book chapter 10, \"Waiting for all\"")
    }

    /// Blocks until nothing is pending or `timeout` has passed; returns whether
    /// nothing is pending.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        todo!("wait, but not past a deadline — book chapter 10, \"Waiting for all\"")
    }
}
// ANCHOR_END: pending

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It succeeded; the item is done.
    Completed,
    /// It failed with attempts left; the item went back for another try.
    Retried,
    /// It failed its last allowed attempt; the item went to the dead letters.
    DeadLettered,
}

// ANCHOR: settle
/// Decides what happens to `item` after an attempt that gave `result`: done
/// when it succeeded, sent to `retries` when it failed and has retries left
/// (at most `max_retries` after the first attempt), otherwise sent to `dead`
/// as a [`DeadLetter`]. Keeps `pending` right: the item stays pending for as
/// long as any attempt on it is still to come, and until its dead letter has
/// been sent — once `wait` returns, every dead letter is in `dead`.
pub fn settle(
    item: Item,
    result: Result<(), String>,
    max_retries: u32,
    pending: &Pending,
    retries: &Sender<Item>,
    dead: &Sender<DeadLetter>,
) -> Settled {
    todo!("done, retry or dead letter — book chapter 10, \"Settling an attempt\"")
}
// ANCHOR_END: settle

/// What a run with retries did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Items the producer made: each once, however often it was tried.
    pub produced: u64,
    /// Items that succeeded on some attempt.
    pub completed: u64,
    /// Attempts made on all items: `produced` plus every retry.
    pub attempts: u64,
    /// Items that used up their attempts, sorted by id.
    pub dead_letters: Vec<DeadLetter>,
}

/// What one worker did.
#[derive(Debug, Default)]
struct WorkerTally {
    completed: u64,
    attempts: u64,
    /// The first panic of a job this worker ran, to hand on at the end.
    panicked: Option<Box<dyn Any + Send>>,
}

// ANCHOR: run
/// Sends items `0..items` through a bounded queue to `workers` threads. Each
/// attempt runs `job`; [`settle`] sends a failed item to an unbounded retry
/// lane the workers also read, or to the dead letters. The run waits with
/// [`Pending`] until every item is completed or dead, then closes the queue so
/// the workers end, joins them and reports.
///
/// A panic in `job` is a bug, not a failed attempt: it is not retried, it
/// does not stop the run from ending (its item no longer waits for anything),
/// and it comes out of `run_with_retries` with its own message once every
/// worker is joined (one of them, if several jobs panicked).
pub fn run_with_retries(items: u64, workers: usize, max_retries: u32, job: Job) -> Report {
    todo!(
        "workers reading the queue and a retry lane; wait for Pending, then close — book chapter 10, \"The run\""
    )
}
// ANCHOR_END: run
