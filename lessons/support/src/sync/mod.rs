//! The locks, condition variables and atomics a learner's own synchronization
//! code uses — the real ones normally, loom's under the model checker.
//!
//! A lesson where you write Mutex / Condvar / atomic code imports them from here
//! instead of from `std::sync` or `parking_lot`, with one changed `use` line:
//!
//! ```text
//! use std::sync::{Condvar, Mutex};              // becomes
//! use lesson_support::sync::std::{Condvar, Mutex};
//!
//! use parking_lot::{Condvar, Mutex};            // becomes
//! use lesson_support::sync::parking_lot::{Condvar, Mutex};
//! ```
//!
//! In a normal build these *are* the std and parking_lot types (re-exported, so
//! your code runs at full speed and their documentation applies). Built with
//! `RUSTFLAGS="--cfg loom"` — which `run_models!` does for you in a build of its
//! own — they are wrappers over loom's instrumented types with the same API, so
//! loom can explore every interleaving of your code.
//!
//! What the model cannot see: loom has no clock. A timed wait whose deadline is
//! still ahead waits like an untimed one (models use timeouts of an hour), and
//! one whose deadline has passed releases the lock, lets other threads run once,
//! re-takes the lock and reports a timeout (models use timeouts of zero). Real
//! timing is tested with real threads. `Arc` is not shimmed: use `std::sync::Arc`.
//! Code that spawns `std::thread`s cannot run inside a model; models call your
//! functions from loom's threads instead.

pub mod parking_lot;
pub mod std;

/// Under the model: which thread holds each mutex, and since which line, so
/// that a thread locking a mutex it already holds fails at once with both
/// lines named, instead of as an anonymous deadlock.
#[cfg(loom)]
mod holder {
    use ::std::panic::Location;
    use ::std::sync::{Mutex, PoisonError};

    type Held = Option<(loom::thread::ThreadId, &'static Location<'static>)>;

    #[derive(Debug, Default)]
    pub(crate) struct Holder(Mutex<Held>);

    impl Holder {
        fn held(&self) -> ::std::sync::MutexGuard<'_, Held> {
            // loom runs one model thread at a time: this lock never waits.
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Fails if the calling model thread already holds this mutex.
        #[track_caller]
        pub(crate) fn before_lock(&self) {
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
        pub(crate) fn locked(&self) {
            *self.held() = Some((loom::thread::current().id(), Location::caller()));
        }

        /// Records that nobody holds the mutex.
        pub(crate) fn unlocked(&self) {
            *self.held() = None;
        }
    }
}
