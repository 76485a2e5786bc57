//! # Lesson 09 — Build your own bounded blocking queue
//!
//! What `queue.Queue` and crossbeam's channels do for you, done by hand: a
//! `parking_lot` `Mutex` around a `VecDeque`, one `Condvar` for takers waiting
//! for an item and one for putters waiting for room, timeouts, and a close that
//! wakes everyone. One trait, [`BlockingQueue`], lets the same producer and
//! consumer code run over your queue and over crossbeam. Read the book's chapter
//! "09 · Your own blocking queue" (`book/src/lessons/09-blocking-queue.md`),
//! replace each `todo!()`, and run `cargo test -p lesson-09` until it is green.
//! Then `cargo run --release -p lesson-09 --example notify_cost`.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Select, Sender, TrySendError};
// ANCHOR: sync
// parking_lot's Mutex and Condvar — or loom's, when the lesson's models check every interleaving.
use lesson_support::sync::parking_lot::{Condvar, Mutex};
// ANCHOR_END: sync

/// Why a put did not happen; the item is handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutError<T> {
    /// Still full when the timeout ran out.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

/// Why a get returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetError {
    /// Still empty when the timeout ran out.
    Empty,
    /// Closed and empty: no item will ever come.
    Closed,
}

// ANCHOR: trait
/// A bounded, blocking, closable multi-producer multi-consumer queue.
pub trait BlockingQueue<T>: Send + Sync {
    /// Adds `item`, waiting while the queue is full.
    fn put(&self, item: T) -> Result<(), PutError<T>>;
    /// Adds `item`, waiting at most `timeout` for room.
    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>>;
    /// Takes the oldest item, waiting while the queue is empty; `None` once closed and empty.
    fn get(&self) -> Option<T>;
    /// Takes the oldest item, waiting at most `timeout`.
    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError>;
    /// No more puts; takers drain what is left. Wakes every waiting thread.
    fn close(&self);
}
// ANCHOR_END: trait

// ANCHOR: notify
/// When the hand-made queue signals a waiting thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// After every put and every get: the textbook version. Costs a wake-up (a
    /// system call) whenever anyone waits, which with busy consumers is always.
    Always,
    /// Only when a thread of the other side is actually waiting.
    WhenWaiting,
}
// ANCHOR_END: notify

// ANCHOR: state
#[derive(Debug)]
struct State<T> {
    items: VecDeque<T>,
    closed: bool,
    waiting_takers: usize,
    waiting_putters: usize,
}
// ANCHOR_END: state

/// The hand-made queue: a `Mutex<VecDeque>` and two `Condvar`s.
#[derive(Debug)]
pub struct CondvarQueue<T> {
    state: Mutex<State<T>>,
    not_empty: Condvar,
    not_full: Condvar,
    capacity: usize,
    notify: Notify,
}

impl<T> CondvarQueue<T> {
    /// A queue of `capacity` (at least 1) that notifies only when someone waits.
    pub fn new(capacity: usize) -> Self {
        Self::with_notify(capacity, Notify::WhenWaiting)
    }

    /// A queue of `capacity` (at least 1) with the given notification policy.
    pub fn with_notify(capacity: usize, notify: Notify) -> Self {
        assert!(
            capacity >= 1,
            "a blocking queue needs room for at least one item"
        );
        CondvarQueue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity),
                closed: false,
                waiting_takers: 0,
                waiting_putters: 0,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity,
            notify,
        }
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.state.lock().items.len()
    }

    /// Whether no item is waiting now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // ANCHOR: put_until
    /// Puts, waiting until `deadline` at the latest (`None`: for as long as it takes).
    fn put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), PutError<T>> {
        todo!(
            "wait in a while loop while full and open, counting yourself as a waiting putter; push; wake a taker if the policy says so — book chapter 09, \"put\""
        )
    }
    // ANCHOR_END: put_until

    // ANCHOR: get_until
    /// Gets, waiting until `deadline` at the latest (`None`: for as long as it takes).
    fn get_until(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        todo!(
            "pop if you can; else Closed, or Empty past the deadline, or wait as a counted taker — book chapter 09, \"get\""
        )
    }
    // ANCHOR_END: get_until
}

// ANCHOR: blocking_queue_for_condvar_queue
impl<T: Send> BlockingQueue<T> for CondvarQueue<T> {
    fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_until(item, None)
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_until(item, Instant::now().checked_add(timeout))
    }

    fn get(&self) -> Option<T> {
        self.get_until(None).ok()
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_until(Instant::now().checked_add(timeout))
    }

    fn close(&self) {
        todo!("mark closed; wake every waiter on both condvars — book chapter 09, \"close\"")
    }
}
// ANCHOR_END: blocking_queue_for_condvar_queue

/// crossbeam-channel behind the same trait. A channel closes when its last
/// sender is dropped, so the queue keeps its sender in an `Option` and `close`
/// drops it: takers then drain what is left and see the end — a plain `recv`.
/// A put borrows a clone of the sender for as long as it runs; one that waits
/// for room also watches a second channel, never sent on, whose sender `close`
/// drops too, so a waiting put wakes and hands its item back.
#[derive(Debug)]
pub struct ChannelQueue<T> {
    open: Mutex<Option<Senders<T>>>,
    inbox: Receiver<T>,
    closed: Receiver<()>,
}

/// The senders a [`ChannelQueue`] drops to close.
#[derive(Debug)]
struct Senders<T> {
    items: Sender<T>,
    // Never sent on: held only so that dropping it wakes a put waiting for room.
    _closing: Sender<()>,
}

impl<T> ChannelQueue<T> {
    /// A channel of `capacity`.
    pub fn new(capacity: usize) -> Self {
        let (items, inbox) = crossbeam_channel::bounded(capacity);
        let (closing, closed) = crossbeam_channel::bounded(0);
        ChannelQueue {
            open: Mutex::new(Some(Senders {
                items,
                _closing: closing,
            })),
            inbox,
            closed,
        }
    }
}

impl<T: Send> BlockingQueue<T> for ChannelQueue<T> {
    fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_timeout(item, Duration::MAX)
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        // A clone, so the lock is not held while the put waits.
        let Some(sender) = self.open.lock().as_ref().map(|open| open.items.clone()) else {
            return Err(PutError::Closed(item));
        };
        let item = match sender.try_send(item) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(item) | TrySendError::Disconnected(item)) => item,
        };
        // Full: wait for room or for the close. `Select`, not `select!`: the
        // item is sent only once the send has been chosen, so on a timeout or a
        // close it is still ours to hand back.
        let mut select = Select::new();
        let send = select.send(&sender);
        select.recv(&self.closed);
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(far_future);
        let Ok(operation) = select.select_deadline(deadline) else {
            return Err(PutError::Full(item));
        };
        if operation.index() == send {
            operation
                .send(&sender, item)
                .map_err(|e| PutError::Closed(e.into_inner()))
        } else {
            let _ = operation.recv(&self.closed);
            Err(PutError::Closed(item))
        }
    }

    fn get(&self) -> Option<T> {
        // Err only once every sender is gone (closed) and the channel is empty.
        self.inbox.recv().ok()
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.inbox.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => GetError::Empty,
            RecvTimeoutError::Disconnected => GetError::Closed,
        })
    }

    fn close(&self) {
        self.open.lock().take();
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

// ANCHOR: run_all
/// The same producer and consumer code for any [`BlockingQueue`]: `producers`
/// threads put items `0..items` between them (producer `p` puts `p`, `p +
/// producers`, …); `consumers` threads get until the queue is closed. Closes the
/// queue once every producer is done. Returns what each consumer got, in order.
pub fn run_all<Q>(queue: Arc<Q>, producers: u64, consumers: usize, items: u64) -> Vec<Vec<u64>>
where
    Q: BlockingQueue<u64> + 'static,
{
    todo!(
        "consumers get until None; producers put their share; close after every producer is joined — book chapter 09, \"One trait, two queues\""
    )
}
// ANCHOR_END: run_all
