//! Bounded multi-producer, multi-consumer queues behind one interface.
//!
//! A queue is split into a [`QueueSender`] and a [`QueueReceiver`] handle, both
//! cheap to clone, exactly like a channel. The verbs are Python's `queue.Queue`
//! words, as in the lessons: **put**, **get**, **close**. A queue closes the Rust
//! way: when the last sender is dropped. Receivers then drain what is left, and
//! a get on a closed, drained queue reports [`GetError::Closed`] (the blocking
//! [`get`](QueueReceiver::get) returns `None`) — no sentinel values. When the
//! last receiver is dropped nobody will ever get an item again, so a put is
//! refused with [`PutError::Closed`], the item handed back, instead of blocking
//! forever.
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

use crate::choice::QueueKind;
pub use channel::ChannelQueue;
pub use condvar::CondvarQueue;
pub use priority::{Prioritized, PriorityQueue};

/// A queue backend: makes a bounded queue and hands out its two ends.
pub trait WorkQueue<T: Send>: 'static {
    /// The producing end.
    type Sender: QueueSender<T>;
    /// The consuming end.
    type Receiver: QueueReceiver<T>;
    /// Which backend this is; its name in flags and reports is `KIND.name()`.
    const KIND: QueueKind;

    /// A queue that holds at most `capacity` items; `0` makes every put wait
    /// until a consumer has taken the item (a rendezvous).
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);
}

/// The producing end of a queue. Dropping the last one closes the queue.
pub trait QueueSender<T>: Clone + Send {
    /// Adds an item, blocking while the queue is full (backpressure).
    ///
    /// Returns the number of items waiting in the queue just after this put —
    /// measured at each put, which is the only way to see the true peak depth.
    fn put(&self, item: T) -> Result<usize, PutError<T>>;

    /// Like [`put`](Self::put), but gives up after `timeout` with
    /// [`PutError::Full`], handing the item back.
    fn put_timeout(&self, item: T, timeout: Duration) -> Result<usize, PutError<T>>;
}

/// The consuming end of a queue.
pub trait QueueReceiver<T>: Clone + Send {
    /// Takes the next item, blocking while the queue is empty; `None` once the
    /// queue is closed and drained: no item will ever come.
    fn get(&self) -> Option<T>;

    /// Like [`get`](Self::get), but gives up after `timeout` with [`GetError::Empty`].
    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError>;
}

/// Why a put did not add its item; the item is handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// A timed put found no room before its timeout.
    Full(T),
    /// Every receiver is gone: nobody will ever get the item.
    Closed(T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(item) | PutError::Closed(item) => item,
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("the queue stayed full until the timeout"),
            PutError::Closed(_) => f.write_str("the queue is closed: every receiver is gone"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for PutError<T> {}

/// Why a timed get returned no item. "Closed" never means merely "empty".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetError {
    /// Nothing arrived within the timeout; the queue may still get items.
    Empty,
    /// The queue is closed and drained: no item will ever come.
    Closed,
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::Empty => f.write_str("no item arrived before the timeout"),
            GetError::Closed => f.write_str("the queue is closed and drained"),
        }
    }
}

impl std::error::Error for GetError {}

#[cfg(test)]
mod contract_tests;
