//! Bounded multi-producer, multi-consumer queues behind one interface.
//!
//! A queue is split into a [`QueueSender`] and a [`QueueReceiver`] handle, both
//! cheap to clone, exactly like a channel. It closes the Rust way: when the last
//! sender is dropped, receivers drain what is left and then get [`Closed`] — no
//! sentinel values. When the last receiver is dropped, a push hands its item back
//! ([`Disconnected`]) instead of blocking forever.
//!
//! Three backends implement [`WorkQueue`]:
//! - [`ChannelQueue`]: crossbeam-channel's bounded channel, the library answer;
//! - [`CondvarQueue`]: a hand-made FIFO queue, a mutex and two condition variables;
//! - [`PriorityQueue`]: the same hand-made core over a binary heap.

mod blocking;
mod channel;
mod condvar;
mod priority;

use std::fmt;
use std::time::Duration;

pub use channel::ChannelQueue;
pub use condvar::CondvarQueue;
pub use priority::{Prioritized, PriorityQueue};

/// A queue backend: makes a bounded queue and hands out its two ends.
pub trait WorkQueue<T: Send>: 'static {
    /// The producing end.
    type Sender: QueueSender<T>;
    /// The consuming end.
    type Receiver: QueueReceiver<T>;
    /// Short name used in reports (`channel`, `condvar`, `priority`).
    const NAME: &'static str;

    /// A queue that holds at most `capacity` items; `0` makes every push wait
    /// until a consumer has taken the item (a rendezvous).
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);
}

/// The producing end of a queue.
pub trait QueueSender<T>: Clone + Send {
    /// Adds an item, blocking while the queue is full (backpressure).
    ///
    /// Returns the number of items waiting in the queue just after this push —
    /// measured at each put, which is the only way to see the true peak depth.
    fn push(&self, item: T) -> Result<usize, Disconnected<T>>;
}

/// The consuming end of a queue.
pub trait QueueReceiver<T>: Clone + Send {
    /// Takes the next item, blocking while the queue is empty; [`Closed`] once
    /// every sender is gone and nothing is left.
    fn pop(&self) -> Result<T, Closed>;

    /// Like [`pop`](Self::pop), but gives up after `timeout`.
    fn pop_timeout(&self, timeout: Duration) -> Result<T, PopTimeoutError>;
}

/// A push found no receiver left; the item is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected<T>(pub T);

impl<T> fmt::Display for Disconnected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pushing into a queue whose receivers are all gone")
    }
}

impl<T: fmt::Debug> std::error::Error for Disconnected<T> {}

/// A pop found the queue empty and every sender gone: no item will ever come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is closed and empty")
    }
}

impl std::error::Error for Closed {}

/// Why a [`QueueReceiver::pop_timeout`] returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopTimeoutError {
    /// Nothing arrived within the timeout; the queue may still get items.
    TimedOut,
    /// The queue is closed and empty.
    Closed,
}

impl fmt::Display for PopTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopTimeoutError::TimedOut => f.write_str("no item arrived before the timeout"),
            PopTimeoutError::Closed => Closed.fmt(f),
        }
    }
}

impl std::error::Error for PopTimeoutError {}

#[cfg(test)]
mod contract_tests;
