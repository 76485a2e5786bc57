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
    use ::std::ops::{Deref, DerefMut};
    use ::std::sync::PoisonError;
    use ::std::time::{Duration, Instant};

    /// loom's mutex behind `parking_lot::Mutex`'s API.
    pub struct Mutex<T> {
        inner: loom::sync::Mutex<T>,
        holder: crate::sync::holder::Holder,
    }

    /// The guard of a locked [`Mutex`]. It remembers its mutex, so a timed wait
    /// whose deadline has passed can unlock and relock it.
    pub struct MutexGuard<'a, T> {
        mutex: &'a Mutex<T>,
        // `None` only while a condvar holds the lock on this guard's behalf.
        inner: Option<loom::sync::MutexGuard<'a, T>>,
    }

    impl<T> Mutex<T> {
        /// A new mutex holding `value`.
        pub fn new(value: T) -> Self {
            Mutex {
                inner: loom::sync::Mutex::new(value),
                holder: Default::default(),
            }
        }

        /// Locks, waiting for the lock if another thread holds it.
        #[track_caller]
        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.holder.before_lock();
            let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            self.holder.locked();
            MutexGuard {
                mutex: self,
                inner: Some(inner),
            }
        }

        /// Locks if the lock is free now.
        #[track_caller]
        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            let inner = self.inner.try_lock().ok()?;
            self.holder.locked();
            Some(MutexGuard {
                mutex: self,
                inner: Some(inner),
            })
        }

        /// The value, taking the mutex apart.
        pub fn into_inner(self) -> T {
            self.inner
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)
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

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.inner.as_ref().expect("the guard holds the lock")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.inner.as_mut().expect("the guard holds the lock")
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            if self.inner.is_some() {
                self.mutex.holder.unlocked();
            }
        }
    }

    impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&**self, f)
        }
    }

    /// Whether a timed wait ended because its time ran out.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        /// True when the wait ended because its time ran out.
        pub fn timed_out(&self) -> bool {
            self.0
        }
    }

    /// loom's condition variable behind `parking_lot::Condvar`'s API.
    #[derive(Debug, Default)]
    pub struct Condvar(loom::sync::Condvar);

    impl Condvar {
        /// A condition variable nobody waits on yet.
        pub fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        /// Unlocks, sleeps until notified, relocks.
        #[track_caller]
        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.inner.take().expect("the guard holds the lock");
            guard.mutex.holder.unlocked();
            let inner = self.0.wait(inner).unwrap_or_else(PoisonError::into_inner);
            guard.mutex.holder.locked();
            guard.inner = Some(inner);
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
                let_others_run(guard);
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
                let_others_run(guard);
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

    /// What a timed wait does once its deadline has passed: release the lock,
    /// let the other threads run, take the lock back.
    #[track_caller]
    fn let_others_run<T>(guard: &mut MutexGuard<'_, T>) {
        drop(guard.inner.take());
        guard.mutex.holder.unlocked();
        loom::thread::yield_now();
        let inner = guard
            .mutex
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        guard.mutex.holder.locked();
        guard.inner = Some(inner);
    }
}
