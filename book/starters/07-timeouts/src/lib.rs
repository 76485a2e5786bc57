//! # Lesson 07 — Idle timeouts and put timeouts
//!
//! Waiting forever is sometimes wrong. A consumer may give up after a while with
//! nothing to do; a producer may give up on a queue that stays full. Either way,
//! every item must still be accounted for: an item the producer could not hand
//! over is reported, never silently dropped. Read the book's chapter
//! "07 · Timeouts" (`book/src/lessons/07-timeouts.md`), replace each `todo!()`,
//! and run `cargo test -p lesson-07` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

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
/// empty) or the consumer has waited `idle` with nothing to do. Returns the
/// items processed, in order, and why it stopped.
///
/// The idle clock starts afresh each time the consumer starts waiting — after
/// it has processed the item before. `Duration::ZERO` takes what is already
/// queued and leaves; `Duration::MAX` never gives up, so only a close ends it.
/// It blocks while it waits: no polling.
pub fn consume(queue: &Receiver<u64>, idle: Duration, process: &dyn Fn(u64)) -> (Vec<u64>, Exit) {
    todo!(
        "recv_timeout in a loop; tell Timeout from Disconnected — book chapter 07, \"Idle consumers\""
    )
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
/// Offers items `0..items`, in order, each waiting at most `patience` for
/// room: `Duration::ZERO` gives up at once on a full queue, `Duration::MAX`
/// waits as long as it takes. An item that cannot be enqueued — the queue
/// stayed full, or no consumer is left (which needs no waiting) — is recorded
/// as refused, never silently dropped, and the next item gets its own chance.
pub fn produce(queue: &Sender<u64>, items: u64, patience: Duration) -> Delivery {
    todo!("send_timeout, and keep what it hands back — book chapter 07, \"Impatient producers\"")
}
// ANCHOR_END: produce
