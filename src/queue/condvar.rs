//! The hand-made FIFO queue.

use super::blocking::{self, BlockingReceiver, BlockingSender, Buffer};
use super::{QueueKind, WorkQueue};
use std::collections::VecDeque;

/// A bounded FIFO queue built from a `parking_lot` mutex and two condvars.
#[derive(Debug)]
pub struct CondvarQueue;

/// First in, first out.
pub struct Fifo<T>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T: Send> Buffer<T> for Fifo<T> {
    fn put(&mut self, item: T) {
        self.0.push_back(item);
    }

    fn get(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Send + 'static> WorkQueue<T> for CondvarQueue {
    type Sender = BlockingSender<T, Fifo<T>>;
    type Receiver = BlockingReceiver<T, Fifo<T>>;
    const KIND: QueueKind = QueueKind::Condvar;

    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        blocking::bounded(capacity)
    }
}
