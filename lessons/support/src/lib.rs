//! What every lesson's tests share.
//!
//! Concurrency bugs tend to hang rather than crash. A hung test teaches nothing:
//! the terminal freezes and the learner is left guessing. So every piece of
//! learner code that could block runs under a watchdog that gives up after a
//! budget and fails the test with the likely cause.
//!
//! A hung thread cannot be killed from inside a process; it is left behind and
//! dies when the test binary exits.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::panic;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long learner code may run before a test calls it hung. Generous: these
/// machines are small and shared, and a correct solution needs milliseconds.
pub const BUDGET: Duration = Duration::from_secs(5);

/// Runs `work` on its own thread and returns its result, or fails the test if it
/// has not finished within `budget`.
///
/// `what` says what was running ("run_with_sentinels(20 items, 4 consumers)");
/// `hint` says what usually causes a hang there. A panic inside `work` (such as
/// a `todo!()` not yet written) fails the test with its own message.
pub fn finishes_within<T, F>(budget: Duration, what: &str, hint: &str, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(format!("watched: {what}"))
        .spawn(move || {
            let _ = done.send(work());
        })
        .expect("the watchdog could not start a thread");
    match result.recv_timeout(budget) {
        Ok(value) => value,
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            // Re-raise the learner's own panic, message and all.
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("the watched thread ended without a result"),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what} was still running after {budget:?}.\n  Likely cause: {hint}")
        }
    }
}

/// [`finishes_within`] with the standard [`BUDGET`].
pub fn finishes<T, F>(what: &str, hint: &str, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    finishes_within(BUDGET, what, hint, work)
}

/// Joins `threads` (say, consumers) within [`BUDGET`] in all, or fails the test
/// naming how many were still running: "expected 4 consumers to finish; 3 still
/// running after 5s — did each get its own shutdown signal?".
pub fn join_all<T>(threads: Vec<JoinHandle<T>>, role: &str, hint: &str) -> Vec<T> {
    join_all_within(BUDGET, threads, role, hint)
}

/// [`join_all`] with a budget of your choice.
pub fn join_all_within<T>(
    budget: Duration,
    threads: Vec<JoinHandle<T>>,
    role: &str,
    hint: &str,
) -> Vec<T> {
    let deadline = Instant::now() + budget;
    while threads.iter().any(|t| !t.is_finished()) {
        if Instant::now() >= deadline {
            let running = threads.iter().filter(|t| !t.is_finished()).count();
            panic!(
                "expected {} {role} to finish; {running} still running after {budget:?}.\n  Likely cause: {hint}",
                threads.len()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
    threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|payload| panic::resume_unwind(payload))
        })
        .collect()
}

/// Waits until `condition` holds, checking every millisecond; fails the test
/// after [`BUDGET`] with `what`. For tests that must see a state before acting.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + BUDGET;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "waited {BUDGET:?} for {what}, and it never happened"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Checks that every expected item was seen exactly once: none lost, none
/// processed twice, none invented. The message names the offending items.
pub fn assert_each_exactly_once<T: Ord + Debug + Clone>(
    expected: impl IntoIterator<Item = T>,
    seen: impl IntoIterator<Item = T>,
    context: &str,
) {
    let mut counts: BTreeMap<T, i64> = expected.into_iter().map(|item| (item, 0)).collect();
    let mut invented = Vec::new();
    for item in seen {
        match counts.get_mut(&item) {
            Some(count) => *count += 1,
            None => invented.push(item),
        }
    }
    let lost: Vec<&T> = counts
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(item, _)| item)
        .collect();
    let repeated: Vec<(&T, &i64)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let mut problems = Vec::new();
    if !lost.is_empty() {
        problems.push(format!(
            "{} never processed (lost): {}",
            lost.len(),
            preview(&lost)
        ));
    }
    if !repeated.is_empty() {
        problems.push(format!(
            "{} processed more than once (item, times): {}",
            repeated.len(),
            preview(&repeated)
        ));
    }
    if !invented.is_empty() {
        problems.push(format!(
            "{} processed that were never produced: {}",
            invented.len(),
            preview(&invented)
        ));
    }
    assert!(problems.is_empty(), "{context}: {}", problems.join("; "));
}

/// A log that many threads append to, for tests to read afterwards: what was
/// processed, in which order. Clones share one log.
#[derive(Debug)]
pub struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(Arc::clone(&self.0))
    }
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry.
    pub fn push(&self, entry: T) {
        // A panic elsewhere must not hide what was logged: ignore poisoning.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Waits until `condition` holds or `thread` has finished, whichever is first;
/// returns whether the thread finished. A thread that panicked (a `todo!()`
/// included) re-raises its panic here, message and all.
pub fn wait_for_or_exit<T>(
    thread: &JoinHandle<T>,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + BUDGET;
    loop {
        if condition() {
            return false;
        }
        if thread.is_finished() {
            return true;
        }
        assert!(
            Instant::now() < deadline,
            "waited {BUDGET:?} for {what}, and it never happened"
        );
        thread::sleep(Duration::from_millis(1));
    }
}

/// Joins a thread that has finished, re-raising its panic if it had one.
pub fn join_finished<T>(thread: JoinHandle<T>) -> T {
    thread
        .join()
        .unwrap_or_else(|payload| panic::resume_unwind(payload))
}

/// CPU time the calling thread has used so far. Blocking costs none; a loop
/// that polls while it waits burns it. `None` where no per-thread clock exists.
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec; the call only writes it.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        (status == 0).then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How many times this process's threads have gone to sleep so far: the
/// kernel's count of *voluntary* context switches (`getrusage`), which grows
/// each time a thread blocks — on a condvar, a mutex, a channel — and is
/// switched out. Subtract two readings to count the sleeps in between.
/// `None` where the count is not available.
pub fn times_slept() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: rusage is plain data for which all zeroes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage; the call only writes it.
        let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        (status == 0).then_some(usage.ru_nvcsw as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

fn preview<T: Debug>(items: &[T]) -> String {
    const SHOWN: usize = 8;
    let shown: Vec<String> = items.iter().take(SHOWN).map(|i| format!("{i:?}")).collect();
    let more = items.len().saturating_sub(SHOWN);
    if more > 0 {
        format!("{} … and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_job_returns_its_value() {
        assert_eq!(finishes("addition", "none", || 2 + 2), 4);
    }

    #[test]
    #[should_panic(expected = "was still running after")]
    fn a_hung_job_fails_with_the_hint() {
        finishes_within(Duration::from_millis(50), "a sleeper", "it sleeps", || {
            thread::sleep(Duration::from_secs(60))
        });
    }

    #[test]
    #[should_panic(expected = "not yet implemented: write me")]
    fn a_panic_inside_keeps_its_message() {
        finishes("a todo", "none", || -> u32 { todo!("write me") });
    }

    #[test]
    #[should_panic(expected = "1 still running")]
    fn join_all_names_the_stragglers() {
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
    #[cfg(unix)]
    fn a_blocked_thread_counts_as_a_sleep() {
        let before = times_slept().expect("getrusage works on unix");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            drop(tx);
        });
        // Blocks until the sender's thread drops `tx`: at least one sleep.
        assert!(rx.recv().is_err());
        sender.join().unwrap();
        let after = times_slept().unwrap();
        assert!(
            after > before,
            "blocking on a channel for 20 ms was not counted: {before} before, {after} after"
        );
    }

    #[test]
    fn a_log_collects_from_every_clone() {
        let log = Log::new();
        let other = log.clone();
        thread::spawn(move || other.push(1)).join().unwrap();
        log.push(2);
        assert_eq!(log.entries(), [1, 2]);
    }

    #[test]
    #[should_panic(expected = "not yet implemented")]
    fn waiting_on_a_panicked_thread_re_raises_its_panic() {
        let worker = thread::spawn(|| -> u32 { todo!() });
        if wait_for_or_exit(&worker, "never", || false) {
            join_finished(worker);
        }
    }

    #[test]
    fn sleeping_costs_no_cpu_time_and_spinning_does() {
        let before = thread_cpu_time().unwrap();
        thread::sleep(Duration::from_millis(50));
        let slept = thread_cpu_time().unwrap() - before;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            std::hint::spin_loop();
        }
        let spun = thread_cpu_time().unwrap() - before - slept;
        assert!(slept < Duration::from_millis(20), "{slept:?}");
        assert!(spun > Duration::from_millis(20), "{spun:?}");
    }

    #[test]
    fn exactly_once_accepts_any_order() {
        assert_each_exactly_once([1, 2, 3], [3, 1, 2], "ok");
    }

    #[test]
    #[should_panic(
        expected = "1 never processed (lost): 2; 1 processed more than once (item, times): (3, 2)"
    )]
    fn exactly_once_names_lost_and_repeated_items() {
        assert_each_exactly_once([1, 2, 3], [1, 3, 3], "run");
    }
}
