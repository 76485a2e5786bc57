//! # Lesson 03 — Backpressure: bounded queues
//!
//! A producer faster than its consumers fills whatever queue sits between them.
//! Unbounded, the backlog grows until memory runs out; bounded, a full queue
//! makes the producer wait — backpressure. Read the book's chapter
//! "03 · Backpressure" (`book/src/lessons/03-backpressure.md`), replace each
//! `todo!()`, and run `cargo test -p lesson-03` until it is green.

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
    match capacity {
        Some(capacity) => bounded(capacity),
        None => unbounded(),
    }
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
        self.sender.send(item)?;
        // Measured at every put, right after it: a peak comes and goes between
        // two looks, so a look at the end of the run would miss it.
        self.max_depth = self.max_depth.max(self.sender.len());
        Ok(())
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
    let started = Instant::now();
    let (sender, receiver) = work_queue(capacity);
    let workers: Vec<_> = (0..consumers)
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
    let mut sender = DepthTrackingSender::new(sender);
    for item in 0..items {
        sender
            .send(item)
            .expect("the consumers hold the queue open");
    }
    let producer_done = started.elapsed();
    let max_depth = sender.max_depth();
    drop(sender); // closes the queue: consumers finish what is left, then stop
    let per_consumer = workers
        .into_iter()
        .map(|w| w.join().expect("a consumer panicked"))
        .collect();
    Observation {
        max_depth,
        per_consumer,
        producer_done,
        all_done: started.elapsed(),
    }
}
// ANCHOR_END: fast_producer
