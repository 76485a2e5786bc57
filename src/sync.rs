//! The synchronization primitives the hand-made queues use, behind one
//! std-shaped interface (guards passed by value to `wait`).
//!
//! Normally they are `parking_lot`'s (smaller, faster, no poisoning) and
//! crossbeam's `Backoff` for the brief spin before sleeping. Built with
//! `RUSTFLAGS="--cfg loom"`, they are loom's instrumented ones, so the loom tests
//! explore every interleaving of the real queue code — and spinning is switched
//! off: it is an optimisation, not part of correctness, and would only multiply
//! the interleavings to explore.

#[cfg(not(loom))]
pub(crate) use self::parking::*;

#[cfg(loom)]
pub(crate) use self::model::*;

#[cfg(not(loom))]
mod parking {
    use std::time::Instant;

    pub(crate) use crossbeam_utils::Backoff;
    pub(crate) use std::sync::Arc;

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

    /// A condition variable.
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(parking_lot::Condvar::new())
        }

        /// Unlocks, sleeps until notified, relocks. Callers re-check their
        /// condition in a `while` loop all the same: that is what makes the code
        /// correct on any condvar, including std's, which may wake spuriously.
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
}

#[cfg(loom)]
mod model {
    use std::time::Instant;

    pub(crate) use loom::sync::{Arc, MutexGuard};

    /// loom's mutex, with the same panic-free `lock` as the normal build.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0
                .lock()
                .expect("no model thread panics while holding the lock")
        }
    }

    /// loom's condition variable.
    #[derive(Debug)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0
                .wait(guard)
                .expect("no model thread panics while holding the lock")
        }

        /// loom has no clock: its `wait_timeout` ignores the duration. Timeouts
        /// are tested with real time instead (`queue::contract_tests`).
        pub(crate) fn wait_until<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            deadline: Instant,
        ) -> MutexGuard<'a, T> {
            let timeout = deadline.saturating_duration_since(Instant::now());
            self.0
                .wait_timeout(guard, timeout)
                .expect("no model thread panics while holding the lock")
                .0
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// No spinning under the model checker: go straight to the condvar.
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }

        pub(crate) fn is_completed(&self) -> bool {
            true
        }

        pub(crate) fn snooze(&self) {}
    }
}
