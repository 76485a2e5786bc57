//! # Lesson 08 — A bounded blocking priority queue
//!
//! crossbeam's channels are FIFO. To serve urgent work first you build the queue
//! yourself: a `BinaryHeap` for the order, a `Mutex` around it, and two
//! `Condvar`s — one for consumers waiting for an item, one for producers waiting
//! for room. Read the book's chapter "08 · Priority" (`book/src/lessons/08-priority.md`),
//! replace each `todo!()`, and run `cargo test -p lesson-08` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use std::cmp::Ordering;
use std::collections::BinaryHeap;

// ANCHOR: sync
// std's Mutex and Condvar — or loom's, when the lesson's models check every interleaving.
use lesson_support::sync::std::{Condvar, Mutex, MutexGuard, PoisonError};
// ANCHOR_END: sync

/// Why a put did not happen; the item is handed back. (Lesson 09's queue adds
/// `Full(item)`, for a put that gives up waiting for room.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue is closed.
    Closed(T),
}

/// An item in the heap, with what decides its turn.
#[derive(Debug)]
struct Entry<T> {
    priority: u32,
    /// Arrival number: among equal priorities, the lower goes first.
    arrival: u64,
    item: T,
}

// ANCHOR: entry_ord
impl<T> Ord for Entry<T> {
    /// `BinaryHeap` pops the *greatest* entry: the highest priority and, among
    /// equal priorities, the earliest arrival.
    fn cmp(&self, other: &Self) -> Ordering {
        todo!(
            "priority first, then arrival — which way round? — book chapter 08, \"Ordering the heap\""
        )
    }
}
// ANCHOR_END: entry_ord

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

/// What the mutex protects.
#[derive(Debug)]
struct State<T> {
    heap: BinaryHeap<Entry<T>>,
    arrivals: u64,
    closed: bool,
}

/// A bounded, blocking priority queue: higher priority first, FIFO among equals.
/// Share it between threads with an `Arc`.
#[derive(Debug)]
pub struct PriorityQueue<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives (or the queue closes).
    not_empty: Condvar,
    /// Signalled when room appears (or the queue closes).
    not_full: Condvar,
    capacity: usize,
}

impl<T> PriorityQueue<T> {
    /// An empty queue holding at most `capacity` items (at least 1).
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity >= 1,
            "a priority queue needs room for at least one item"
        );
        PriorityQueue {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                arrivals: 0,
                closed: false,
            }),
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
            capacity,
        }
    }

    /// Items waiting now.
    pub fn len(&self) -> usize {
        self.lock().heap.len()
    }

    /// Whether no item is waiting now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lock; a thread that panicked while holding it left the heap intact.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ANCHOR: put
    /// Adds `item` with `priority`, waiting while the queue is full. Fails,
    /// handing the item back, if the queue is (or becomes) closed.
    pub fn put(&self, priority: u32, item: T) -> Result<(), PutError<T>> {
        todo!(
            "wait while full and open (a while loop), push with the next arrival number, wake a taker — book chapter 08, \"Put and get\""
        )
    }
    // ANCHOR_END: put

    // ANCHOR: get
    /// Takes the most urgent item, waiting while the queue is empty. `None` once
    /// the queue is closed and empty.
    pub fn get(&self) -> Option<T> {
        todo!(
            "wait while empty and open (a while loop), pop, wake a producer — book chapter 08, \"Put and get\""
        )
    }
    // ANCHOR_END: get

    // ANCHOR: close
    /// Closes the queue: no more puts; takers drain what is left, then get
    /// `None`. Every waiting thread, producer or consumer, wakes up.
    pub fn close(&self) {
        todo!(
            "mark closed under the lock, then wake every waiter on both condvars — book chapter 08, \"Closing\""
        )
    }
    // ANCHOR_END: close
}
