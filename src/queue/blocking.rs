//! The hand-made bounded blocking queue: one mutex, two condition variables.
//!
//! The queueing discipline (FIFO or priority) is a [`Buffer`]; everything about
//! blocking, waking and closing lives here once.
//!
//! # Why it is not slow
//!
//! The textbook version calls `notify_one` after every put and every get. With
//! one producer and four consumers on two cores, the consumers drain the queue
//! faster than it fills, so they are nearly always asleep: every put then pays
//! a futex wake-up, a context switch, and a fight for the mutex with the thread
//! it just woke. Lesson 09's `notify_cost` example measures what that costs
//! (`cargo run --release -p lesson-09 --example notify_cost`; the README's
//! Performance section and chapter 09 give the figures). Two changes remove
//! the difference:
//!
//! 1. **Spin briefly before sleeping.** An item usually arrives within a
//!    microsecond; a short back-off (a few spins, then `yield_now`) catches it
//!    without going to sleep, so there is rarely a sleeper to wake. This is what
//!    crossbeam-channel does too, and it is the change that matters.
//! 2. **Notify only when somebody waits.** Each side counts its sleepers under the
//!    lock and skips the call when there are none. With `parking_lot` that saves
//!    little (its `notify_one` with no waiter is one atomic read), but it keeps
//!    the queue cheap on a condvar whose notify is always a system call, such as
//!    std's.
//!
//! Waking after releasing the lock (rather than while holding it) saves the woken
//! thread from blocking straight away on the mutex.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use super::{GetError, PutError, QueueReceiver, QueueSender};
use crate::sync::{Arc, Backoff, Condvar, Mutex, MutexGuard};

/// The order in which a blocking queue hands out its items.
///
/// Public only so it can appear in the queues' types; this module is private,
/// so no code outside the crate can implement it.
pub trait Buffer<T>: Default + Send {
    fn put(&mut self, item: T);
    fn get(&mut self) -> Option<T>;
    fn len(&self) -> usize;
}

struct State<B> {
    buffer: B,
    capacity: usize,
    senders: usize,
    receivers: usize,
    sleeping_consumers: usize,
    sleeping_producers: usize,
    /// Items taken so far: a rendezvous put waits until its own item is taken.
    taken: u64,
}

struct Shared<B> {
    state: Mutex<State<B>>,
    not_empty: Condvar,
    not_full: Condvar,
}

/// Producing end of a hand-made queue.
pub struct BlockingSender<T, B: Buffer<T>> {
    shared: Arc<Shared<B>>,
    _items: PhantomData<fn(T)>,
}

/// Consuming end of a hand-made queue.
pub struct BlockingReceiver<T, B: Buffer<T>> {
    shared: Arc<Shared<B>>,
    _items: PhantomData<fn() -> T>,
}

pub(crate) fn bounded<T, B: Buffer<T>>(
    capacity: usize,
) -> (BlockingSender<T, B>, BlockingReceiver<T, B>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buffer: B::default(),
            capacity,
            senders: 1,
            receivers: 1,
            sleeping_consumers: 0,
            sleeping_producers: 0,
            taken: 0,
        }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
    });
    (
        BlockingSender {
            shared: Arc::clone(&shared),
            _items: PhantomData,
        },
        BlockingReceiver {
            shared,
            _items: PhantomData,
        },
    )
}

impl<T, B: Buffer<T>> BlockingSender<T, B> {
    /// Puts `item`, waiting for room (and, at capacity 0, for a taker) until
    /// `deadline`, or for as long as it takes without one.
    pub(crate) fn put_until(
        &self,
        item: T,
        deadline: Option<Instant>,
    ) -> Result<usize, PutError<T>> {
        let shared = &*self.shared;
        let (mut state, timed_out) = shared.wait_for_room::<T>(shared.state.lock(), deadline);
        if timed_out {
            return Err(PutError::Full(item));
        }
        if state.receivers == 0 {
            return Err(PutError::Closed(item));
        }
        state.buffer.put(item);
        let ticket = state.taken + state.buffer.len() as u64;
        let wake_consumer = state.sleeping_consumers > 0;
        if state.capacity > 0 {
            let depth = state.buffer.len();
            drop(state);
            if wake_consumer {
                shared.not_empty.notify_one();
            }
            return Ok(depth);
        }
        // Rendezvous: the put completes when a consumer has taken the item.
        if wake_consumer {
            shared.not_empty.notify_one();
        }
        shared.wait_for_taker(state, ticket, deadline).map(|()| 0)
    }
}

impl<B> Shared<B> {
    /// Waits until the queue has room or has no receiver left, spinning
    /// briefly before sleeping; `true` with the guard if `deadline` passed first.
    fn wait_for_room<'a, T>(
        &'a self,
        mut state: MutexGuard<'a, State<B>>,
        deadline: Option<Instant>,
    ) -> (MutexGuard<'a, State<B>>, bool)
    where
        B: Buffer<T>,
    {
        // Capacity 0 still needs one slot to hand the item over in.
        let room = |state: &State<B>| state.buffer.len() < state.capacity.max(1);
        let backoff = Backoff::new();
        while !room(&state) && state.receivers > 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return (state, true);
            }
            if backoff.is_completed() {
                state.sleeping_producers += 1;
                state = match deadline {
                    Some(deadline) => self.not_full.wait_until(state, deadline),
                    None => self.not_full.wait(state),
                };
                state.sleeping_producers -= 1;
            } else {
                drop(state);
                backoff.snooze();
                state = self.state.lock();
            }
        }
        (state, false)
    }

    /// A rendezvous put's second half: waits until the item put as `ticket`
    /// has been taken, or takes it back if the receivers are gone or
    /// `deadline` passes.
    fn wait_for_taker<T>(
        &self,
        mut state: MutexGuard<'_, State<B>>,
        ticket: u64,
        deadline: Option<Instant>,
    ) -> Result<(), PutError<T>>
    where
        B: Buffer<T>,
    {
        // Ours is the only item a rendezvous queue holds while we wait.
        let take_back = |state: &mut State<B>| {
            state
                .buffer
                .get()
                .expect("a rendezvous queue holds the waiting item")
        };
        while state.taken < ticket {
            if state.receivers == 0 {
                return Err(PutError::Closed(take_back(&mut state)));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let item = take_back(&mut state);
                drop(state);
                // Another putter may be waiting for the slot we just freed.
                self.not_full.notify_all();
                return Err(PutError::Full(item));
            }
            state.sleeping_producers += 1;
            state = match deadline {
                Some(deadline) => self.not_full.wait_until(state, deadline),
                None => self.not_full.wait(state),
            };
            state.sleeping_producers -= 1;
        }
        Ok(())
    }
}

impl<T, B: Buffer<T>> BlockingReceiver<T, B> {
    // ANCHOR: get_until
    /// Gets the next item, waiting until `deadline`, or for as long as it takes
    /// without one.
    pub(crate) fn get_until(&self, deadline: Option<Instant>) -> Result<T, GetError> {
        let shared = &*self.shared;
        let mut state = shared.state.lock();
        let backoff = Backoff::new();
        loop {
            if let Some(item) = state.buffer.get() {
                state.taken += 1;
                let rendezvous = state.capacity == 0;
                let wake_producer = state.sleeping_producers > 0;
                drop(state);
                if rendezvous {
                    // Hand-off waiters and space waiters share the condvar: wake all
                    // so the producer whose item this was is among them.
                    shared.not_full.notify_all();
                } else if wake_producer {
                    shared.not_full.notify_one();
                }
                return Ok(item);
            }
            if state.senders == 0 {
                return Err(GetError::Closed);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(GetError::Empty);
            }
            if !backoff.is_completed() {
                drop(state);
                backoff.snooze();
                state = shared.state.lock();
                continue;
            }
            state.sleeping_consumers += 1;
            state = match deadline {
                Some(deadline) => shared.not_empty.wait_until(state, deadline),
                None => shared.not_empty.wait(state),
            };
            state.sleeping_consumers -= 1;
        }
    }
    // ANCHOR_END: get_until
}

/// A timeout too large to add to "now" is no timeout at all.
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T: Send, B: Buffer<T>> QueueSender<T> for BlockingSender<T, B> {
    fn put(&self, item: T) -> Result<usize, PutError<T>> {
        self.put_until(item, None)
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<usize, PutError<T>> {
        self.put_until(item, deadline_after(timeout))
    }
}

impl<T: Send, B: Buffer<T>> QueueReceiver<T> for BlockingReceiver<T, B> {
    fn get(&self) -> Option<T> {
        self.get_until(None).ok()
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_until(deadline_after(timeout))
    }
}

impl<T, B: Buffer<T>> Clone for BlockingSender<T, B> {
    fn clone(&self) -> Self {
        self.shared.state.lock().senders += 1;
        BlockingSender {
            shared: Arc::clone(&self.shared),
            _items: PhantomData,
        }
    }
}

impl<T, B: Buffer<T>> Clone for BlockingReceiver<T, B> {
    fn clone(&self) -> Self {
        self.shared.state.lock().receivers += 1;
        BlockingReceiver {
            shared: Arc::clone(&self.shared),
            _items: PhantomData,
        }
    }
}

impl<T, B: Buffer<T>> Drop for BlockingSender<T, B> {
    fn drop(&mut self) {
        let mut state: MutexGuard<'_, State<B>> = self.shared.state.lock();
        state.senders -= 1;
        let closed = state.senders == 0;
        drop(state);
        if closed {
            // Every sleeping consumer must wake to see that the queue is closed;
            // `notify_one` here would strand all but one of them.
            self.shared.not_empty.notify_all();
        }
    }
}

impl<T, B: Buffer<T>> Drop for BlockingReceiver<T, B> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        state.receivers -= 1;
        let disconnected = state.receivers == 0;
        drop(state);
        if disconnected {
            self.shared.not_full.notify_all();
        }
    }
}
