//! Shaped like `parking_lot`: `lock()` returns the guard itself (no poisoning),
//! and `Condvar::wait` borrows the guard (`wait(&mut guard)`) instead of taking
//! it by value as std's does. See the [module above](super).

#[cfg(not(loom))]
pub use ::parking_lot::{Condvar, Mutex, MutexGuard, WaitTimeoutResult};

#[cfg(loom)]
pub use self::model::*;

#[cfg(loom)]
mod model {
    use ::std::fmt;
    use ::std::time::{Duration, Instant};

    use crate::sync::model::{Cvar, Lock};
    pub use crate::sync::model::{MutexGuard, WaitTimeoutResult};

    /// loom's mutex behind `parking_lot::Mutex`'s API.
    pub struct Mutex<T>(Lock<T>);

    impl<T> Mutex<T> {
        /// A new mutex holding `value`.
        pub fn new(value: T) -> Self {
            Mutex(Lock::new(value))
        }

        /// Locks, waiting for the lock if another thread holds it.
        #[track_caller]
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }

        /// Locks if the lock is free now.
        #[track_caller]
        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock()
        }

        /// The value, taking the mutex apart.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    impl<T> fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Mutex { .. }")
        }
    }

    /// loom's condition variable behind `parking_lot::Condvar`'s API.
    #[derive(Debug, Default)]
    pub struct Condvar(Cvar);

    impl Condvar {
        /// A condition variable nobody waits on yet.
        pub fn new() -> Self {
            Condvar::default()
        }

        /// Unlocks, sleeps until notified, relocks.
        #[track_caller]
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            self.0.sleep(guard);
        }

        /// Waits while `condition` holds.
        #[track_caller]
        pub fn wait_while<T, F>(&self, guard: &mut MutexGuard<'_, T>, mut condition: F)
        where
            F: FnMut(&mut T) -> bool,
        {
            while condition(guard) {
                self.wait(guard);
            }
        }

        /// Waits until notified or until `deadline`. Under the model a deadline
        /// that has passed ends the wait at once; one ahead never arrives.
        #[track_caller]
        pub fn wait_until<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            deadline: Instant,
        ) -> WaitTimeoutResult {
            if Instant::now() >= deadline {
                Cvar::let_others_run(guard);
                WaitTimeoutResult(true)
            } else {
                self.wait(guard);
                WaitTimeoutResult(false)
            }
        }

        /// Waits until notified or for at most `timeout`.
        #[track_caller]
        pub fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            timeout: Duration,
        ) -> WaitTimeoutResult {
            if timeout.is_zero() {
                Cvar::let_others_run(guard);
                WaitTimeoutResult(true)
            } else {
                self.wait(guard);
                WaitTimeoutResult(false)
            }
        }

        /// Waits while `condition` holds, until `deadline` at the latest.
        #[track_caller]
        pub fn wait_while_until<T, F>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            mut condition: F,
            deadline: Instant,
        ) -> WaitTimeoutResult
        where
            F: FnMut(&mut T) -> bool,
        {
            while condition(guard) {
                if self.wait_until(guard, deadline).timed_out() {
                    return WaitTimeoutResult(condition(guard));
                }
            }
            WaitTimeoutResult(false)
        }

        /// Waits while `condition` holds, for at most `timeout`.
        #[track_caller]
        pub fn wait_while_for<T, F>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            condition: F,
            timeout: Duration,
        ) -> WaitTimeoutResult
        where
            F: FnMut(&mut T) -> bool,
        {
            if timeout.is_zero() {
                return self.wait_while_until(guard, condition, Instant::now());
            }
            self.wait_while(guard, condition);
            WaitTimeoutResult(false)
        }

        /// Wakes one waiting thread, if any. (parking_lot says whether one
        /// woke; loom does not tell, so this always answers `false`.)
        #[track_caller]
        pub fn notify_one(&self) -> bool {
            self.0.notify_one();
            false
        }

        /// Wakes every waiting thread. (parking_lot says how many; loom does
        /// not tell, so this always answers 0.)
        #[track_caller]
        pub fn notify_all(&self) -> usize {
            self.0.notify_all();
            0
        }
    }
}
