//! Watchdogs: learner code that could block runs where a test can give up on it.
//!
//! A hung thread cannot be killed from inside a process; it is left behind and
//! dies when the test binary exits. What the test can do is stop waiting, and
//! say why: the likely cause, and — first, because it usually *is* the cause —
//! any panic of the same test's threads while it waited (whose panic is whose:
//! see [`crate::attribution`]).

use std::panic;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::attribution::Watch;

/// How long learner code may run before a test calls it hung. Generous: these
/// machines are small and shared, and a correct solution needs milliseconds.
pub const BUDGET: Duration = Duration::from_secs(5);

/// Runs `work` on its own thread and returns its result, or fails the test if it
/// has not finished within `budget`.
///
/// `what` says what was running ("run_with_sentinels(20 items, 4 consumers)");
/// `hint` says what usually causes a hang there. A panic inside `work` (such as
/// a `todo!()` not yet written) fails the test with its own message; a panic on
/// another of the test's threads while `work` runs is named first when the
/// budget runs out.
#[track_caller]
pub fn finishes_within<T, F>(budget: Duration, what: &str, hint: &str, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let watch = Watch::start();
    let (done, result) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let _ = done.send(work());
        })
        .expect("the watchdog could not start a thread");
    watch.watches(worker.thread().id());
    match result.recv_timeout(budget) {
        Ok(value) => value,
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            // Re-raise the learner's own panic, message and all.
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("the watched thread ended without a result"),
        },
        Err(RecvTimeoutError::Timeout) => panic!(
            "{}{what} was still running after {budget:?}.\n  Likely cause: {hint}",
            watch.panics_so_far()
        ),
    }
}

/// [`finishes_within`] with the standard [`BUDGET`].
#[track_caller]
pub fn finishes<T, F>(what: &str, hint: &str, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    finishes_within(BUDGET, what, hint, work)
}

/// Joins `threads` (say, consumers) within [`BUDGET`] in all, or fails the test
/// naming how many were still running: "expected 4 consumers to finish; 3 still
/// running after 5s — did each get its own shutdown signal?". A thread that
/// panicked fails the test with its own panic as soon as it is seen.
#[track_caller]
pub fn join_all<T>(threads: Vec<JoinHandle<T>>, role: &str, hint: &str) -> Vec<T> {
    join_all_within(BUDGET, threads, role, hint)
}

/// [`join_all`] with a budget of your choice.
#[track_caller]
pub fn join_all_within<T>(
    budget: Duration,
    threads: Vec<JoinHandle<T>>,
    role: &str,
    hint: &str,
) -> Vec<T> {
    let watch = Watch::start();
    for thread in &threads {
        watch.watches(thread.thread().id());
    }
    let deadline = Instant::now() + budget;
    let expected = threads.len();
    let mut running: Vec<Option<JoinHandle<T>>> = threads.into_iter().map(Some).collect();
    let mut results: Vec<Option<T>> = running.iter().map(|_| None).collect();
    loop {
        for (slot, result) in running.iter_mut().zip(&mut results) {
            if slot.as_ref().is_some_and(JoinHandle::is_finished) {
                let thread = slot.take().expect("checked just above");
                *result = Some(
                    thread
                        .join()
                        .unwrap_or_else(|payload| panic::resume_unwind(payload)),
                );
            }
        }
        let still = running.iter().filter(|slot| slot.is_some()).count();
        if still == 0 {
            return results.into_iter().flatten().collect();
        }
        if Instant::now() >= deadline {
            panic!(
                "{}expected {expected} {role} to finish; {still} still running after {budget:?}.\n  Likely cause: {hint}",
                watch.panics_so_far()
            );
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until `condition` holds, checking every millisecond; fails the test
/// after [`BUDGET`] with `what`. For tests that must see a state before acting.
#[track_caller]
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let watch = Watch::start();
    let deadline = Instant::now() + BUDGET;
    while !condition() {
        if Instant::now() >= deadline {
            panic!(
                "{}waited {BUDGET:?} for {what}, and it never happened",
                watch.panics_so_far()
            );
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `condition` holds or `thread` has finished, whichever is first;
/// returns whether the thread finished. A thread that panicked (a `todo!()`
/// included) re-raises its panic when joined with [`join_finished`].
#[track_caller]
pub fn wait_for_or_exit<T>(
    thread: &JoinHandle<T>,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let watch = Watch::start();
    watch.watches(thread.thread().id());
    let deadline = Instant::now() + BUDGET;
    loop {
        if condition() {
            return false;
        }
        if thread.is_finished() {
            return true;
        }
        if Instant::now() >= deadline {
            panic!(
                "{}waited {BUDGET:?} for {what}, and it never happened",
                watch.panics_so_far()
            );
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// How [`wait_briefly`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// The condition held.
    Met,
    /// The thread finished first (join it to see its panic, if any).
    Exited,
    /// Neither, within the patience given.
    GaveUp,
}

/// Waits up to `patience` for `condition`, or for `thread` to finish, and
/// says which came first — for a test that reports each outcome in its own
/// words (where [`wait_for_or_exit`] fails the test after [`BUDGET`]).
pub fn wait_briefly<T>(
    thread: &JoinHandle<T>,
    patience: Duration,
    mut condition: impl FnMut() -> bool,
) -> Waited {
    let deadline = Instant::now() + patience;
    loop {
        if condition() {
            return Waited::Met;
        }
        if thread.is_finished() {
            return Waited::Exited;
        }
        if Instant::now() >= deadline {
            return Waited::GaveUp;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Joins a thread that has finished, re-raising its panic if it had one.
#[track_caller]
pub fn join_finished<T>(thread: JoinHandle<T>) -> T {
    thread
        .join()
        .unwrap_or_else(|payload| panic::resume_unwind(payload))
}

/// While held, the kit's own background work in this test process — the nested
/// build and run of a lesson's loom models — waits, and vice versa. A test that
/// asserts how long something took holds one, so a build on both cores does
/// not make a correct solution look slow.
#[derive(Debug)]
pub struct TimingSection(#[allow(dead_code)] MutexGuard<'static, ()>);

impl TimingSection {
    /// Waits for the section to be free, then holds it until dropped.
    pub fn enter() -> Self {
        static SECTION: Mutex<()> = Mutex::new(());
        TimingSection(SECTION.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every test here runs alone: which panics a verdict quotes depends on
    /// the watches running beside it, and some tests run such watches on purpose.
    fn alone() -> MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[test]
    fn a_quick_job_returns_its_value() {
        let _alone = alone();
        assert_eq!(finishes("addition", "none", || 2 + 2), 4);
    }

    #[test]
    #[should_panic(expected = "was still running after")]
    fn a_hung_job_fails_with_the_hint() {
        let _alone = alone();
        finishes_within(Duration::from_millis(50), "a sleeper", "it sleeps", || {
            thread::sleep(Duration::from_secs(60))
        });
    }

    #[test]
    #[should_panic(expected = "not yet implemented: write me")]
    fn a_panic_inside_keeps_its_message() {
        let _alone = alone();
        finishes("a todo", "none", || -> u32 { todo!("write me") });
    }

    #[test]
    #[should_panic(expected = "1 still running")]
    fn join_all_names_the_stragglers() {
        let _alone = alone();
        let quick = thread::spawn(|| ());
        let stuck = thread::spawn(|| thread::sleep(Duration::from_secs(60)));
        join_all_within(
            Duration::from_millis(50),
            vec![quick, stuck],
            "consumers",
            "test",
        );
    }

    #[test]
    #[should_panic(expected = "the consumer's own panic")]
    fn join_all_reports_a_panic_before_waiting_for_the_others() {
        let _alone = alone();
        let stuck = thread::spawn(|| thread::sleep(Duration::from_secs(60)));
        let broken = thread::spawn(|| panic!("the consumer's own panic"));
        join_all(vec![stuck, broken], "consumers", "test");
    }

    /// The message of the panic `hang` fails with.
    fn verdict(hang: impl FnOnce() + panic::UnwindSafe) -> String {
        let outcome = panic::catch_unwind(hang);
        crate::panic_message(outcome.expect_err("the waiter hangs").as_ref())
    }

    #[test]
    fn a_panic_of_the_same_test_comes_first_in_a_hang_report() {
        let _alone = alone();
        let message = verdict(|| {
            finishes_within(Duration::from_millis(300), "a waiter", "the hint", || {
                let (_keep, never) = mpsc::channel::<()>();
                thread::spawn(|| panic!("helper thread gave up: index 7 out of range"));
                let _ = never.recv();
            })
        });
        let panic_at = message.find("index 7 out of range").expect(&message);
        let hint_at = message.find("the hint").expect(&message);
        assert!(panic_at < hint_at, "{message}");
    }

    /// Another "test": a thread named like one, running a watch of its own
    /// for `budget`, whose watched work panics.
    fn other_test_watching(budget: Duration) -> JoinHandle<()> {
        thread::Builder::new()
            .name("other_test::fails_on_its_own".into())
            .spawn(move || {
                let _ = panic::catch_unwind(|| {
                    finishes_within(budget, "the other test's work", "none", move || {
                        thread::sleep(budget / 3);
                        panic!("the other test's own failure");
                    })
                });
            })
            .unwrap()
    }

    #[test]
    fn another_test_s_panic_is_never_named() {
        let _alone = alone();
        let other = other_test_watching(Duration::from_millis(900));
        let message = verdict(|| {
            finishes_within(Duration::from_millis(600), "a waiter", "the hint", || {
                thread::sleep(Duration::from_secs(60))
            })
        });
        let _ = other.join();
        assert!(
            !message.contains("the other test's own failure"),
            "{message}"
        );
        assert!(message.contains("the hint"), "{message}");
    }

    #[test]
    fn an_unnamed_thread_s_panic_beside_another_watching_test_is_not_named() {
        let _alone = alone();
        let other = other_test_watching(Duration::from_millis(900));
        let message = verdict(|| {
            finishes_within(Duration::from_millis(600), "a waiter", "the hint", || {
                thread::sleep(Duration::from_millis(100));
                thread::spawn(|| panic!("whose is this?"));
                thread::sleep(Duration::from_secs(60))
            })
        });
        let _ = other.join();
        assert!(!message.contains("whose is this"), "{message}");
        assert!(
            !message.contains("the other test's own failure"),
            "{message}"
        );
        assert!(
            message.contains("its message is in this test's output"),
            "{message}"
        );
    }

    #[test]
    fn a_verdict_quoted_in_another_is_not_nested() {
        let _alone = alone();
        let message = verdict(|| {
            finishes_within(
                Duration::from_millis(600),
                "the outer waiter",
                "outer",
                || {
                    let inner = thread::spawn(|| {
                        finishes_within(
                            Duration::from_millis(100),
                            "the inner waiter",
                            "inner",
                            || {
                                thread::spawn(|| panic!("the first cause"));
                                thread::sleep(Duration::from_secs(60))
                            },
                        )
                    });
                    let _ = inner.join();
                    thread::sleep(Duration::from_secs(60))
                },
            )
        });
        assert_eq!(
            message.matches("most likely the cause").count(),
            1,
            "{message}"
        );
    }

    #[test]
    #[should_panic(expected = "not yet implemented")]
    fn waiting_on_a_panicked_thread_re_raises_its_panic() {
        let _alone = alone();
        let worker = thread::spawn(|| -> u32 { todo!() });
        if wait_for_or_exit(&worker, "never", || false) {
            join_finished(worker);
        }
    }
}
