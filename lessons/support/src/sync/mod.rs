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

/// Under the model: the mutex, guard and condition-variable mechanics both
/// shapes share; [`std`] and [`parking_lot`] only give them their APIs.
#[cfg(loom)]
mod model;
