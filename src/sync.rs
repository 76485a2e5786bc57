//! The few synchronization primitives the hand-made queues use, behind one
//! std-shaped interface.
//!
//! Normally they are `parking_lot`'s (smaller, faster, no poisoning, no spurious
//! wake-ups). Keeping them behind this module lets a model checker substitute its
//! own primitives without touching the queue code.

use std::time::Instant;

/// A mutex; `lock` never fails (no poisoning).
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

/// The guard of a locked [`Mutex`].
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(parking_lot::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock()
    }
}

/// A condition variable, with std's guard-by-value shape.
#[derive(Debug, Default)]
pub(crate) struct Condvar(parking_lot::Condvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar(parking_lot::Condvar::new())
    }

    /// Unlocks, sleeps until notified, relocks. Callers re-check their condition
    /// in a `while` loop all the same: that is what makes the code correct on
    /// any condvar, including std's, which may wake spuriously.
    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(&mut guard);
        guard
    }

    /// Like [`wait`](Self::wait), but wakes at `deadline` at the latest.
    pub(crate) fn wait_until<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        deadline: Instant,
    ) -> MutexGuard<'a, T> {
        self.0.wait_until(&mut guard, deadline);
        guard
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}
