//! # Lesson 04 — Validation: refuse bad input before anything starts
//!
//! Zero consumers does not crash a producer–consumer program: it hangs it, with
//! the producer blocked forever on a full queue. A failure rate of NaN does not
//! crash it either: it quietly means "never fails". Check every setting before
//! the first thread exists. Read the book's chapter "04 · Validation"
//! (`book/src/lessons/04-validation.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-04` until it is green.

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
        if self.consumers == 0 {
            return Err(ConfigError::NoConsumers);
        }
        // Written as "inside the range", because every comparison with NaN is
        // false: `rate < 0.0 || rate > 1.0` would wave NaN through.
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(ConfigError::FailureRateOutOfRange(self.failure_rate));
        }
        if !(self.processing_time_s.is_finite() && self.processing_time_s >= 0.0) {
            return Err(ConfigError::InvalidProcessingTime(self.processing_time_s));
        }
        Ok(())
    }
}
// ANCHOR_END: validate

// ANCHOR: make_queue
/// The run's queue. Capacity 0 is a rendezvous: each send waits until a consumer
/// takes the item. (In Python, `queue.Queue(maxsize=0)` means the opposite —
/// unbounded.)
pub fn make_queue(capacity: usize) -> (Sender<u64>, Receiver<u64>) {
    bounded(capacity)
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
    // First, before any thread exists: an error now leaves nothing to clean up.
    config.validate()?;
    let (sender, receiver) = make_queue(config.capacity);
    let workers: Vec<_> = (0..config.consumers)
        .map(|_| {
            let (receiver, process) = (receiver.clone(), Arc::clone(&process));
            thread::spawn(move || {
                let mut processed = 0;
                for item in receiver {
                    process(item);
                    processed += 1;
                }
                processed
            })
        })
        .collect();
    for item in 0..config.items {
        sender
            .send(item)
            .expect("the consumers hold the queue open");
    }
    drop(sender);
    Ok(workers
        .into_iter()
        .map(|w| w.join().expect("a consumer panicked"))
        .sum())
}
// ANCHOR_END: run

/// [`run_on`] with the queue [`make_queue`](fn@make_queue) builds.
pub fn run(config: &SimConfig, process: Process) -> Result<u64, ConfigError> {
    run_on(config, make_queue, process)
}
