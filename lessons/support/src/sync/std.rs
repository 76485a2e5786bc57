//! Shaped like `std::sync`: `lock()` returns a `LockResult`, `Condvar::wait`
//! takes the guard by value and hands it back. See the [module above](super).

#[cfg(not(loom))]
pub use ::std::sync::{
    Condvar, LockResult, Mutex, MutexGuard, PoisonError, TryLockError, TryLockResult,
    WaitTimeoutResult,
};

#[cfg(loom)]
pub use self::model::*;

/// Atomic integers and booleans, shaped like `std::sync::atomic`.
pub mod atomic {
    #[cfg(not(loom))]
    pub use ::std::sync::atomic::{
        AtomicBool, AtomicI32, AtomicI64, AtomicIsize, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        fence,
    };

    #[cfg(loom)]
    pub use ::std::sync::atomic::Ordering;
    #[cfg(loom)]
    pub use loom::sync::atomic::{
        AtomicBool, AtomicI32, AtomicI64, AtomicIsize, AtomicU32, AtomicU64, AtomicUsize, fence,
    };
}

#[cfg(loom)]
mod model {
    use ::std::fmt;
    use ::std::ops::{Deref, DerefMut};
    use ::std::time::Duration;

    pub use ::std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

    /// loom's mutex behind `std::sync::Mutex`'s API.
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
        pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            self.holder.before_lock();
            match self.inner.lock() {
                Ok(inner) => Ok(self.guard(inner)),
                Err(poisoned) => Err(PoisonError::new(self.guard(poisoned.into_inner()))),
            }
        }

        /// Locks if the lock is free now.
        #[track_caller]
        pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
            match self.inner.try_lock() {
                Ok(inner) => Ok(self.guard(inner)),
                Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
                Err(TryLockError::Poisoned(poisoned)) => Err(TryLockError::Poisoned(
                    PoisonError::new(self.guard(poisoned.into_inner())),
                )),
            }
        }

        /// The value, taking the mutex apart.
        pub fn into_inner(self) -> LockResult<T> {
            self.inner.into_inner()
        }

        #[track_caller]
        fn guard<'a>(&'a self, inner: loom::sync::MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.holder.locked();
            MutexGuard {
                mutex: self,
                inner: Some(inner),
            }
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

    /// loom's condition variable behind `std::sync::Condvar`'s API.
    #[derive(Debug, Default)]
    pub struct Condvar(loom::sync::Condvar);

    impl Condvar {
        /// A condition variable nobody waits on yet.
        pub fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        /// Unlocks, sleeps until notified, relocks.
        #[track_caller]
        pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
            Ok(self.sleep(guard))
        }

        /// The wait itself. A model thread that panics ends the model, so
        /// there is no poisoned lock to report.
        #[track_caller]
        fn sleep<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            let inner = guard.inner.take().expect("the guard holds the lock");
            guard.mutex.holder.unlocked();
            let inner = self.0.wait(inner).unwrap_or_else(PoisonError::into_inner);
            guard.mutex.holder.locked();
            guard.inner = Some(inner);
            guard
        }

        /// Waits while `condition` holds.
        #[track_caller]
        pub fn wait_while<'a, T, F>(
            &self,
            mut guard: MutexGuard<'a, T>,
            mut condition: F,
        ) -> LockResult<MutexGuard<'a, T>>
        where
            F: FnMut(&mut T) -> bool,
        {
            while condition(&mut guard) {
                guard = self.sleep(guard);
            }
            Ok(guard)
        }

        /// A wait of at most `timeout`. Under the model a zero timeout has
        /// passed at once, and any other lasts until a notification.
        #[track_caller]
        pub fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            timeout: Duration,
        ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
            if timeout.is_zero() {
                Ok((let_others_run(guard), WaitTimeoutResult(true)))
            } else {
                Ok((self.sleep(guard), WaitTimeoutResult(false)))
            }
        }

        /// Waits while `condition` holds, at most `timeout`.
        #[track_caller]
        pub fn wait_timeout_while<'a, T, F>(
            &self,
            mut guard: MutexGuard<'a, T>,
            timeout: Duration,
            mut condition: F,
        ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
        where
            F: FnMut(&mut T) -> bool,
        {
            loop {
                if !condition(&mut guard) {
                    return Ok((guard, WaitTimeoutResult(false)));
                }
                if timeout.is_zero() {
                    let mut guard = let_others_run(guard);
                    let timed_out = condition(&mut guard);
                    return Ok((guard, WaitTimeoutResult(timed_out)));
                }
                guard = self.sleep(guard);
            }
        }

        /// Wakes one waiting thread, if any.
        #[track_caller]
        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        /// Wakes every waiting thread.
        #[track_caller]
        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// What a timed wait does once its deadline has passed: release the lock,
    /// let the other threads run, take the lock back.
    #[track_caller]
    fn let_others_run<T>(guard: MutexGuard<'_, T>) -> MutexGuard<'_, T> {
        let mutex = guard.mutex;
        drop(guard);
        loom::thread::yield_now();
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
