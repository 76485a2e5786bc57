//! # Lesson 13 — The same pattern with async tasks
//!
//! Everything so far, once more with `tokio`: worker *tasks* instead of
//! threads, a bounded `tokio::sync::mpsc` channel as the queue, shutdown by
//! dropping the sender, waiting for all by awaiting every worker's
//! `JoinHandle`, and a failing or panicking job that does not end the pool.
//! Tasks are cheap because they share a few threads — which is also their
//! trap: a task that blocks (`std::thread::sleep`, a blocking read) stalls
//! every task on its thread. Read the book's chapter "13 · Async"
//! (`book/src/lessons/13-async.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-13` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};

/// What a job does when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Finishes normally.
    Succeed,
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
}

/// One piece of work: it takes `duration` of waiting, then behaves so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Which job.
    pub id: u64,
    /// How long it waits (an I/O call, say) before it is done.
    pub duration: Duration,
    /// How it ends.
    pub behaviour: Behaviour,
}

// ANCHOR: process
/// Runs one job: waits `job.duration` without blocking the thread, then
/// succeeds, fails with `"job {id} failed"`, or panics with
/// `"job {id} panicked"`.
pub async fn process(job: Job) -> Result<(), String> {
    todo!(
        "wait job.duration without blocking the thread, then behave — book chapter 13, \"Waiting without blocking\""
    )
}
// ANCHOR_END: process

/// What one worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs it completed.
    pub completed: u64,
    /// Jobs that failed or panicked, with why.
    pub failed: Vec<(u64, String)>,
}

/// The text of a panic's payload: what `panic!` was given, a `&str` or a
/// `String`. Any other payload (`std::panic::panic_any(7)`) reads "a panic
/// with a non-text payload".
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

// ANCHOR: worker
/// Takes jobs from the shared receiver until the channel is closed and empty,
/// running each with [`process`] in a task of its own, so that a panicking job
/// fails that job — as `"panicked: {message}"` — and not the worker.
pub async fn worker(jobs: Arc<Mutex<mpsc::Receiver<Job>>>) -> WorkerReport {
    todo!(
        "take jobs until the channel is closed; run each in a task of its own — book chapter 13, \"A worker task\""
    )
}
// ANCHOR_END: worker

/// What a run of the pool did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Jobs completed, by all workers.
    pub completed: u64,
    /// Jobs that failed or panicked, with why, sorted by job.
    pub failed: Vec<(u64, String)>,
    /// Jobs each worker took (completed or failed), in the order the workers
    /// were started.
    pub per_worker: Vec<u64>,
}

// ANCHOR: run_pool
/// Starts `workers` worker tasks on a channel of `capacity` (at least 1),
/// sends every job, closes the channel, waits for every worker and merges
/// their reports.
///
/// `jobs` may be a `Vec` or any other source. Each job is taken from it only
/// once the one before has gone into the channel, so a lazy source is read at
/// the pool's pace: `capacity` jobs waiting in the channel, and one more in
/// the producer's hand, at most.
pub async fn run_pool(
    jobs: impl IntoIterator<Item = Job>,
    workers: usize,
    capacity: usize,
) -> Report {
    todo!(
        "channel, workers, send, drop the sender, await every worker — book chapter 13, \"Running the pool\""
    )
}
// ANCHOR_END: run_pool
