//! The hand-made priority queue.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::blocking::{self, BlockingReceiver, BlockingSender, Buffer};
use super::{QueueKind, WorkQueue};
use crate::item::WorkItem;

/// Something with a priority: higher is served first.
pub trait Prioritized {
    /// This item's priority.
    fn priority(&self) -> u32;
}

impl Prioritized for WorkItem {
    fn priority(&self) -> u32 {
        self.priority
    }
}

/// A bounded priority queue built on the same blocking core as [`CondvarQueue`](super::CondvarQueue).
///
/// Higher priority first; among equal priorities, first in, first out — a plain
/// `BinaryHeap` gives no such promise, so every entry carries its arrival number.
#[derive(Debug)]
pub struct PriorityQueue;

struct Entry<T> {
    priority: u32,
    arrival: Reverse<u64>,
    item: T,
}

impl<T> Entry<T> {
    fn key(&self) -> (u32, Reverse<u64>) {
        (self.priority, self.arrival)
    }
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Highest priority first, FIFO among equals.
pub struct ByPriority<T> {
    heap: BinaryHeap<Entry<T>>,
    arrivals: u64,
}

impl<T> Default for ByPriority<T> {
    fn default() -> Self {
        ByPriority {
            heap: BinaryHeap::new(),
            arrivals: 0,
        }
    }
}

impl<T: Prioritized + Send> Buffer<T> for ByPriority<T> {
    fn put(&mut self, item: T) {
        self.arrivals += 1;
        self.heap.push(Entry {
            priority: item.priority(),
            arrival: Reverse(self.arrivals),
            item,
        });
    }

    fn get(&mut self) -> Option<T> {
        self.heap.pop().map(|entry| entry.item)
    }

    fn len(&self) -> usize {
        self.heap.len()
    }
}

impl<T: Prioritized + Send + 'static> WorkQueue<T> for PriorityQueue {
    type Sender = BlockingSender<T, ByPriority<T>>;
    type Receiver = BlockingReceiver<T, ByPriority<T>>;
    const KIND: QueueKind = QueueKind::Priority;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        blocking::bounded(capacity)
    }
}
