//! # Lesson 07 — Idle timeouts and put timeouts
//!
//! Waiting forever is sometimes wrong. A consumer may give up after a while with
//! nothing to do; a producer may give up on a queue that stays full. Either way,
//! every item must still be accounted for: an item the producer could not hand
//! over is reported, never silently dropped. Read the book's chapter
//! "07 · Timeouts" (`book/src/lessons/07-timeouts.md`), replace each `todo!()`,
//! and run `cargo test -p lesson-07` until it is green.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};

/// Why a consumer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The queue was closed and empty: no more work will ever come.
    Closed,
    /// No item arrived within the idle timeout.
    Idle,
}

// ANCHOR: consume
/// Takes items and runs `process` on each, until the queue is closed (and
/// empty) or no item arrives for `idle`. Returns the items processed and why it
/// stopped. Blocks while it waits — it does not poll.
pub fn consume(queue: &Receiver<u64>, idle: Duration, process: &dyn Fn(u64)) -> (Vec<u64>, Exit) {
    let mut done = Vec::new();
    loop {
        // A fresh timeout for every wait: "idle" means idle since the last item,
        // not since the start.
        match queue.recv_timeout(idle) {
            Ok(item) => {
                process(item);
                done.push(item);
            }
            Err(RecvTimeoutError::Timeout) => return (done, Exit::Idle),
            Err(RecvTimeoutError::Disconnected) => return (done, Exit::Closed),
        }
    }
}
// ANCHOR_END: consume

/// What a producer managed to hand over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Items now in the queue (or already taken from it), in order.
    pub delivered: Vec<u64>,
    /// Items the queue did not take: full for longer than the patience, or no
    /// consumer left at all. In order.
    pub refused: Vec<u64>,
}

// ANCHOR: produce
/// Offers items `0..items`, each waiting at most `patience` for room. An item
/// that cannot be enqueued is recorded as refused — never silently dropped.
pub fn produce(queue: &Sender<u64>, items: u64, patience: Duration) -> Delivery {
    let mut delivery = Delivery::default();
    for item in 0..items {
        match queue.send_timeout(item, patience) {
            Ok(()) => delivery.delivered.push(item),
            // Full for too long, or nobody left to take it (that one fails at
            // once, without waiting): either way the item comes back to us.
            Err(SendTimeoutError::Timeout(item) | SendTimeoutError::Disconnected(item)) => {
                delivery.refused.push(item);
            }
        }
    }
    delivery
}
// ANCHOR_END: produce
