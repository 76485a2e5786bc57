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
    use ::std::time::Duration;

    pub use ::std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

    use crate::sync::model::{Cvar, Lock};
    pub use crate::sync::model::{MutexGuard, WaitTimeoutResult};

    /// loom's mutex behind `std::sync::Mutex`'s API. A model thread that
    /// panics ends the model, so no lock is ever reported poisoned.
    pub struct Mutex<T>(Lock<T>);

    impl<T> Mutex<T> {
        /// A new mutex holding `value`.
        pub fn new(value: T) -> Self {
            Mutex(Lock::new(value))
        }

        /// Locks, waiting for the lock if another thread holds it.
        #[track_caller]
        pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            Ok(self.0.lock())
        }

        /// Locks if the lock is free now.
        #[track_caller]
        pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
            self.0.try_lock().ok_or(TryLockError::WouldBlock)
        }

        /// The value, taking the mutex apart.
        pub fn into_inner(self) -> LockResult<T> {
            Ok(self.0.into_inner())
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

    /// loom's condition variable behind `std::sync::Condvar`'s API.
    #[derive(Debug, Default)]
    pub struct Condvar(Cvar);

    impl Condvar {
        /// A condition variable nobody waits on yet.
        pub fn new() -> Self {
            Condvar::default()
        }

        /// Unlocks, sleeps until notified, relocks.
        #[track_caller]
        pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
            Ok(self.sleep(guard))
        }

        #[track_caller]
        fn sleep<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.sleep(&mut guard);
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

    /// What a timed wait does once its deadline has passed.
    #[track_caller]
    fn let_others_run<T>(mut guard: MutexGuard<'_, T>) -> MutexGuard<'_, T> {
        Cvar::let_others_run(&mut guard);
        guard
    }
}
