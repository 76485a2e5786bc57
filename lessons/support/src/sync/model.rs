//! What both shapes of the shim share under the model: a loom mutex that knows
//! its holder, the guard over it, and the two ways a condition variable's wait
//! can end. [`std`](super::std) and [`parking_lot`](super::parking_lot) wrap
//! these in their own APIs (what `lock()` returns, whether `wait` takes the
//! guard by value or borrows it); the mechanics live here once.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{Mutex as StdMutex, MutexGuard as StdMutexGuard, PoisonError};

/// A loom mutex that remembers which model thread holds it, so that locking it
/// again from the same thread fails at once with both lines named.
pub(crate) struct Lock<T> {
    inner: loom::sync::Mutex<T>,
    holder: Holder,
}

impl<T> Lock<T> {
    pub(crate) fn new(value: T) -> Self {
        Lock {
            inner: loom::sync::Mutex::new(value),
            holder: Holder::default(),
        }
    }

    /// Locks, waiting if another thread holds it. A model thread that panics
    /// ends the model, so there is never a poisoned lock to report.
    #[track_caller]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.holder.before_lock();
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        self.guard(inner)
    }

    /// Locks if the lock is free now.
    #[track_caller]
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let inner = self.inner.try_lock().ok()?;
        Some(self.guard(inner))
    }

    pub(crate) fn into_inner(self) -> T {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[track_caller]
    fn guard<'a>(&'a self, inner: loom::sync::MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.holder.locked();
        MutexGuard {
            lock: self,
            inner: Some(inner),
        }
    }
}

/// The guard of a locked mutex. It remembers its lock, so a timed wait whose
/// deadline has passed can unlock and relock it.
pub struct MutexGuard<'a, T> {
    lock: &'a Lock<T>,
    // `None` only while a condvar holds the lock on this guard's behalf.
    inner: Option<loom::sync::MutexGuard<'a, T>>,
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
            self.lock.holder.unlocked();
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
pub struct WaitTimeoutResult(pub(crate) bool);

impl WaitTimeoutResult {
    /// True when the wait ended because its time ran out.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A loom condition variable's two ways for a wait to end.
#[derive(Debug, Default)]
pub(crate) struct Cvar(loom::sync::Condvar);

impl Cvar {
    /// Unlocks, sleeps until notified, relocks.
    #[track_caller]
    pub(crate) fn sleep<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let inner = guard.inner.take().expect("the guard holds the lock");
        guard.lock.holder.unlocked();
        let inner = self.0.wait(inner).unwrap_or_else(PoisonError::into_inner);
        guard.lock.holder.locked();
        guard.inner = Some(inner);
    }

    /// What a timed wait does once its deadline has passed (loom has no clock):
    /// release the lock, let the other threads run, take the lock back.
    #[track_caller]
    pub(crate) fn let_others_run<T>(guard: &mut MutexGuard<'_, T>) {
        drop(guard.inner.take());
        guard.lock.holder.unlocked();
        loom::thread::yield_now();
        let inner = guard
            .lock
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        guard.lock.holder.locked();
        guard.inner = Some(inner);
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Who holds a mutex under the model, and since which line of theirs.
type Held = Option<(loom::thread::ThreadId, &'static Location<'static>)>;

/// Which model thread holds one mutex, so that a thread locking a mutex it
/// already holds fails at once with both lines named, instead of as an
/// anonymous deadlock.
#[derive(Debug, Default)]
struct Holder(StdMutex<Held>);

impl Holder {
    fn held(&self) -> StdMutexGuard<'_, Held> {
        // loom runs one model thread at a time: this lock never waits.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fails if the calling model thread already holds this mutex.
    #[track_caller]
    fn before_lock(&self) {
        let me = loom::thread::current().id();
        if let Some((holder, since)) = *self.held()
            && holder == me
        {
            panic!(
                "a thread locked a mutex it already holds: first at {since}, again at {}. \
                 The lock is not re-entrant, so the second lock() waits for ever for the \
                 first guard to be dropped. Drop that guard first, or pass it along \
                 instead of locking again.",
                Location::caller()
            );
        }
    }

    /// Records that the calling model thread now holds the mutex.
    #[track_caller]
    fn locked(&self) {
        *self.held() = Some((loom::thread::current().id(), Location::caller()));
    }

    /// Records that nobody holds the mutex.
    fn unlocked(&self) {
        *self.held() = None;
    }
}
