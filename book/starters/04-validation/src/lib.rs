//! # Lesson 04 — Validation: refuse bad input before anything starts
//!
//! Zero consumers does not crash a producer–consumer program: it hangs it, with
//! the producer blocked forever on a full queue. A failure rate of NaN does not
//! crash it either: it quietly means "never fails". Check every setting before
//! the first thread exists. Read the book's chapter "04 · Validation"
//! (`book/src/lessons/04-validation.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-04` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::fmt;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};

/// The work done on one item, shared by every consumer.
pub type Process = Arc<dyn Fn(u64) + Send + Sync>;

/// The settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Items to produce.
    pub items: u64,
    /// Consumer threads; at least 1.
    pub consumers: usize,
    /// Items the queue holds before the producer waits; 0 is a rendezvous.
    pub capacity: usize,
    /// Seconds one item takes; finite and not negative.
    pub processing_time_s: f64,
    /// Probability that an item fails; from 0 to 1.
    pub failure_rate: f64,
}

// ANCHOR: config_error
/// Why a [`SimConfig`] was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// `consumers` was 0: nothing would drain the queue.
    NoConsumers,
    /// `failure_rate` was outside [0, 1], or NaN.
    FailureRateOutOfRange(f64),
    /// `processing_time_s` was negative, infinite or NaN.
    InvalidProcessingTime(f64),
}
// ANCHOR_END: config_error

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoConsumers => f.write_str(
                "--consumers must be at least 1: with none, the producer would wait forever",
            ),
            ConfigError::FailureRateOutOfRange(rate) => {
                write!(f, "--failure-rate must be between 0 and 1 (got {rate})")
            }
            ConfigError::InvalidProcessingTime(time) => {
                write!(
                    f,
                    "--processing-time must be a finite number of seconds, 0 or more (got {time})"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

// ANCHOR: validate
impl SimConfig {
    /// Checks every setting — the consumers, then the failure rate, then the
    /// processing time — and returns the first problem found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        todo!(
            "consumers, failure rate, processing time — mind NaN — book chapter 04, \"Validate first\""
        )
    }
}
// ANCHOR_END: validate

// ANCHOR: make_queue
/// The run's queue. Capacity 0 is a rendezvous: each send waits until a consumer
/// takes the item. (In Python, `queue.Queue(maxsize=0)` means the opposite —
/// unbounded.)
pub fn make_queue(capacity: usize) -> (Sender<u64>, Receiver<u64>) {
    todo!("what does capacity 0 mean for crossbeam? — book chapter 04, \"Capacity zero\"")
}
// ANCHOR_END: make_queue

// ANCHOR: run
/// Validates `config`, and only then runs it: builds the queue with
/// `make_queue(config.capacity)`, one producer sends `0..items` through it,
/// and `consumers` threads take items from it until it is closed, calling
/// `process` on each. Returns how many items were processed. A panic in
/// `process` is not swallowed: it comes back out of `run_on` once the
/// consumers are joined.
///
/// The queue's maker is a parameter so that a test can see which capacity
/// `run_on` asks for (the capacity changes nothing else a test could see), and
/// feed the queue as a second producer would: [`run`] passes the real
/// [`make_queue`].
pub fn run_on(
    config: &SimConfig,
    make_queue: impl FnOnce(usize) -> (Sender<u64>, Receiver<u64>),
    process: Process,
) -> Result<u64, ConfigError> {
    todo!("validate, then run on make_queue(config.capacity) — book chapter 04, \"Validate first\"")
}
// ANCHOR_END: run

/// [`run_on`] with the queue [`make_queue`](fn@make_queue) builds.
pub fn run(config: &SimConfig, process: Process) -> Result<u64, ConfigError> {
    run_on(config, make_queue, process)
}
