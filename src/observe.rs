//! Watching a run while it goes on — to draw a progress bar, say — without
//! slowing it down.
//!
//! Consumers never call the observer: each bumps its own cache-padded counter,
//! and the observer, on a thread of its own, reads their sum when it likes. The
//! library draws nothing itself; the `queue-sim` binary's progress bar is one
//! [`Observer`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use crossbeam_utils::CachePadded;

/// Watches a run from beside it.
pub trait Observer: Sync {
    /// Called on a thread of its own once the run's threads start; return once
    /// [`Progress::wait`] says the run is over.
    fn watch(&self, run: &Progress<'_>);
}

/// What an [`Observer`] can see of a run in progress.
#[derive(Debug)]
pub struct Progress<'a> {
    total: u64,
    counters: &'a Counters,
    over: Receiver<()>,
}

impl Progress<'_> {
    /// Items the run sets out to produce.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Items that have reached an end so far (consumed, failed or dead-lettered).
    pub fn ended(&self) -> u64 {
        self.counters.sum()
    }

    /// Waits up to `timeout`; `true` once the run is over.
    pub fn wait(&self, timeout: Duration) -> bool {
        !matches!(
            self.over.recv_timeout(timeout),
            Err(RecvTimeoutError::Timeout)
        )
    }
}

/// One ended-items counter per consumer, each on its own cache line so that
/// counting does not make cores fight over one line.
#[derive(Debug)]
pub(crate) struct Counters(Box<[CachePadded<AtomicU64>]>);

impl Counters {
    pub(crate) fn new(consumers: usize) -> Self {
        Counters((0..consumers).map(|_| CachePadded::default()).collect())
    }

    /// How many consumers count.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Consumer `index`'s own counter: only that consumer writes it.
    pub(crate) fn of(&self, index: usize) -> &AtomicU64 {
        &self.0[index]
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// An observer at work on its own thread; [`finish`](Self::finish) tells it the
/// run is over and waits for it.
pub(crate) struct Watching<'scope> {
    over: Sender<()>,
    thread: ScopedJoinHandle<'scope, ()>,
}

impl<'scope> Watching<'scope> {
    pub(crate) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        observer: &'env dyn Observer,
        total: u64,
        counters: &'env Counters,
    ) -> Self {
        let (over, is_over) = crossbeam_channel::bounded(0);
        let thread = scope.spawn(move || {
            observer.watch(&Progress {
                total,
                counters,
                over: is_over,
            });
        });
        Watching { over, thread }
    }

    pub(crate) fn finish(self) {
        drop(self.over);
        // An observer that panicked only loses its own output.
        let _ = self.thread.join();
    }
}
