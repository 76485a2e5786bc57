//! # Lesson 12 — Thread pools, I/O-bound vs CPU-bound
//!
//! Starting a thread per task is wasteful and unbounded; a *pool* starts a
//! fixed number of threads once and feeds them tasks through a channel.
//! `submit` hands back a [`TaskHandle`] that later yields the task's value —
//! or its panic, as an error, while the worker goes on. Dropping the pool
//! finishes the queued tasks and joins the threads. Then you measure: sleeping
//! (I/O-like) jobs speed up with more threads almost without limit; spinning
//! (CPU-bound) jobs speed up until the cores run out — in Rust there is no GIL,
//! so threads are the answer to both. Read the book's chapter
//! "12 · Thread pools" (`book/src/lessons/12-thread-pools.md`), replace each
//! `todo!()`, and run `cargo test -p lesson-12` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

/// A task as the workers see it: run once, on some worker thread.
type Task = Box<dyn FnOnce() + Send + 'static>;

/// Why a task gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskError {
    /// The task panicked with this message; its worker went on.
    Panicked(String),
    /// The task's worker died before it reported: a bug in the pool.
    Lost,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(message) => write!(f, "the task panicked: {message}"),
            TaskError::Lost => write!(f, "the task's worker died before it reported"),
        }
    }
}

impl std::error::Error for TaskError {}

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

// ANCHOR: handle
/// The result of a submitted task, to be collected later.
#[derive(Debug)]
pub struct TaskHandle<T> {
    result: Receiver<Result<T, TaskError>>,
}

impl<T> TaskHandle<T> {
    /// Blocks until the task has run; gives its value, or why there is none.
    pub fn join(self) -> Result<T, TaskError> {
        todo!(
            "wait for the one result; a closed channel means the task was lost — book chapter 12, \"Submitting a task\""
        )
    }
}
// ANCHOR_END: handle

/// A fixed number of worker threads taking tasks from one queue.
#[derive(Debug)]
pub struct ThreadPool {
    /// `Some` until the pool is dropped; dropping it closes the queue.
    queue: Option<Sender<Task>>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    // ANCHOR: new
    /// Starts `size` worker threads, each running tasks from the shared queue
    /// until the queue is closed.
    ///
    /// # Panics
    ///
    /// If `size` is 0, with "a ThreadPool needs at least one thread": such a
    /// pool would accept tasks and never run them.
    pub fn new(size: usize) -> ThreadPool {
        todo!(
            "start size workers sharing one task queue — book chapter 12, \"Starting the workers\""
        )
    }
    // ANCHOR_END: new

    /// How many worker threads the pool runs.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    // ANCHOR: submit
    /// Queues `task` to run on one of the pool's threads and returns a handle
    /// to its result, without waiting: however busy the pool, the queue takes
    /// the task. A panic inside the task becomes [`TaskError::Panicked`] with
    /// its message on the handle; the worker survives it.
    pub fn submit<T, F>(&self, task: F) -> TaskHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        todo!(
            "wrap the task so its value or its panic goes to a result channel; queue it — book chapter 12, \"Submitting a task\""
        )
    }
    // ANCHOR_END: submit
}

// ANCHOR: drop
impl Drop for ThreadPool {
    /// Closes the queue, lets the workers finish every task already queued, and
    /// joins them: when `drop` returns, every submitted task has run.
    fn drop(&mut self) {
        todo!(
            "close the queue, then join every worker — book chapter 12, \"Shutting down on drop\""
        )
    }
}
// ANCHOR_END: drop

// ANCHOR: run_all
/// Runs every job on `pool` and returns their results in the order given.
pub fn run_all<T, F>(pool: &ThreadPool, jobs: Vec<F>) -> Vec<Result<T, TaskError>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    todo!("submit every job, then join every handle — book chapter 12, \"Waiting for many\"")
}
// ANCHOR_END: run_all

// ANCHOR: map_chunked
/// Applies `f` to every input on `pool`, `chunk` inputs to a task, and returns
/// the outputs in input order — or the error of the earliest chunk, in input
/// order, that failed (whichever failed first in time). Tiny jobs cost less as
/// a few big tasks than as many small ones: each task pays for a channel send,
/// a wake-up and a result.
///
/// # Panics
///
/// If `chunk` is 0, with "map_chunked needs a chunk size of at least 1".
pub fn map_chunked<I, O, F>(
    pool: &ThreadPool,
    inputs: Vec<I>,
    chunk: usize,
    f: F,
) -> Result<Vec<O>, TaskError>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> O + Send + Sync + 'static,
{
    todo!("one task per chunk of inputs; join in order — book chapter 12, \"Waiting for many\"")
}
// ANCHOR_END: map_chunked
