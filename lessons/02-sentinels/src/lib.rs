//! # Lesson 02 — One producer, N consumers, clean shutdown
//!
//! A consumer loops forever, taking work from a queue. How does it know that
//! no more work will come? Part 1 answers the way the Python seed does, with a
//! shutdown message ("sentinel"); part 2 answers the Rust way, by closing the
//! channel. Read the book's chapter "02 · Sentinels" (`book/src/lessons/02-sentinels.md`),
//! replace each `todo!()`, and run `cargo test -p lesson-02` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, bounded};

/// The work done on one item, shared by every consumer.
pub type Process = Arc<dyn Fn(u64) + Send + Sync>;

/// How many items the queue holds before the producer waits.
pub const CAPACITY: usize = 10;

/// What travels through the queue in part 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// An item to process.
    Work(u64),
    /// "Stop": no more work will come for the consumer that takes this.
    Shutdown,
}

// ANCHOR: consume_until_shutdown
/// Part 1. One consumer: process every `Work` item it takes, in order, until it
/// takes a `Shutdown`; return the items it processed.
pub fn consume_until_shutdown(queue: &Receiver<Message>, process: &Process) -> Vec<u64> {
    todo!(
        "take messages until a Shutdown — book chapter 02, \"A consumer that knows when to stop\""
    )
}
// ANCHOR_END: consume_until_shutdown

// ANCHOR: run_with_sentinels
/// Part 1. Start `consumers` threads running [`consume_until_shutdown`] on one
/// queue of [`CAPACITY`]; send the items `items` gives (`0..100`, a `Vec`, …),
/// in its order, taking each only when the one before is sent; tell every
/// consumer to stop; wait for all of them. Returns what each consumer
/// processed, by consumer.
pub fn run_with_sentinels(
    items: impl IntoIterator<Item = u64>,
    consumers: usize,
    process: Process,
) -> Vec<Vec<u64>> {
    todo!("spawn, send, one Shutdown per consumer, join — book chapter 02, \"Sentinels\"")
}
// ANCHOR_END: run_with_sentinels

// ANCHOR: consume_until_closed
/// Part 2. One consumer: process items in order until the channel is closed
/// (every sender dropped) and empty; return the items it processed.
pub fn consume_until_closed(queue: &Receiver<u64>, process: &Process) -> Vec<u64> {
    todo!("loop until the channel is closed and empty — book chapter 02, \"Closing the channel\"")
}
// ANCHOR_END: consume_until_closed

// ANCHOR: run_closing_channel
/// Part 2. Like [`run_with_sentinels`], with no sentinel: the queue carries only
/// items, and the consumers stop because the channel closes.
pub fn run_closing_channel(
    items: impl IntoIterator<Item = u64>,
    consumers: usize,
    process: Process,
) -> Vec<Vec<u64>> {
    todo!("like run_with_sentinels, but drop the Sender — book chapter 02, \"Closing the channel\"")
}
// ANCHOR_END: run_closing_channel
