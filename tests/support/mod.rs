//! Shared by the integration tests: a watchdog, so a hang fails a test with a
//! message instead of freezing the suite.

#![allow(dead_code)] // each test file uses its own part of this module

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long one simulation in a test may take before it counts as hung.
pub const WATCHDOG: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread; fails the test if it has not returned within
/// [`WATCHDOG`]. A panic inside `f` fails the test with `f`'s own message.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = done.send(f());
    });
    match result.recv_timeout(WATCHDOG) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker returned without sending"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!(
                "{what} still running after {WATCHDOG:?}: the simulator hung (a consumer never told to stop, or a producer blocked on a queue nobody drains?)"
            )
        }
    }
}
