//! # Lesson 03 — Backpressure: bounded queues
//!
//! A producer faster than its consumers fills whatever queue sits between them.
//! Unbounded, the backlog grows until memory runs out; bounded, a full queue
//! makes the producer wait — backpressure. Read the book's chapter
//! "03 · Backpressure" (`book/src/lessons/03-backpressure.md`), replace each
//! `todo!()`, and run `cargo test -p lesson-03` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendError, Sender, bounded, unbounded};

/// The work a consumer does on one item, shared by every consumer.
pub type Process = Arc<dyn Fn(u64) + Send + Sync>;

// ANCHOR: work_queue
/// A queue that holds at most `capacity` items, or any number with `None`.
/// When a bounded queue is full, `send` waits until a consumer makes room.
/// `Some(0)` holds none: each `send` waits until a consumer takes the item.
pub fn work_queue(capacity: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
    todo!(
        "bounded or unbounded, from crossbeam_channel — book chapter 03, \"Bounded and unbounded\""
    )
}
// ANCHOR_END: work_queue

/// A sender that remembers the deepest its queue has been.
#[derive(Debug)]
pub struct DepthTrackingSender {
    sender: Sender<u64>,
    max_depth: usize,
}

// ANCHOR: depth_tracking_send
impl DepthTrackingSender {
    /// Wraps `sender`; no depth seen yet.
    pub fn new(sender: Sender<u64>) -> Self {
        DepthTrackingSender {
            sender,
            max_depth: 0,
        }
    }

    /// Sends `item`, waiting while the queue is full, then notes how many items
    /// are waiting in the queue.
    pub fn send(&mut self, item: u64) -> Result<(), SendError<u64>> {
        todo!("send, then look at the depth — book chapter 03, \"Measuring depth\"")
    }

    /// The deepest the queue has been just after a send.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }
}
// ANCHOR_END: depth_tracking_send

/// What [`fast_producer`] saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The deepest the queue was, measured at each put.
    pub max_depth: usize,
    /// How many items each consumer processed: one entry per consumer.
    pub per_consumer: Vec<u64>,
    /// When the producer had sent its last item, since the start.
    pub producer_done: Duration,
    /// When the last consumer finished, since the start.
    pub all_done: Duration,
}

// ANCHOR: fast_producer
/// One producer sends items `0..items` as fast as the queue takes them, through
/// a [`DepthTrackingSender`], to `consumers` threads that each call `process`
/// on every item they take. Closes the queue when done, joins every consumer,
/// and reports. A consumer whose `process` panicked is not swallowed: its
/// join fails, and so does `fast_producer`.
pub fn fast_producer(
    items: u64,
    capacity: Option<usize>,
    consumers: usize,
    process: Process,
) -> Observation {
    todo!(
        "spawn consumers, send through a DepthTrackingSender, close, join — book chapter 03, \"A fast producer\""
    )
}
// ANCHOR_END: fast_producer
