//! Building a lesson's tests and running each one in its own process, under a
//! hard time limit (the build itself: see [`crate::compile`]).
//!
//! One process per test costs a few milliseconds and buys three things a single
//! `cargo test` run cannot give: the outcome of every test even when one hangs,
//! each test's own duration, and a kill that always works (a hung thread cannot
//! be stopped from inside its process; a hung process can). A test passes only
//! when libtest itself says so (see [`crate::libtest`]).

use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::compile::TestBinary;
use crate::libtest::{self, Verdict};
use crate::place::Place;
use host::process;

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// libtest ran it and reported it passed.
    Passed,
    /// It failed (an assertion, a panic, a watchdog's verdict), or the process
    /// ended without libtest's verdict on it.
    Failed,
    /// Still running at the hard limit, and killed.
    TimedOut,
}

/// One test's run.
#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    /// `binary::test_name`.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// Wall-clock time until it exited or was killed.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// Why it did not pass, when the runner knows better than the output
    /// (killed at the limit, no verdict from the harness).
    #[serde(skip)]
    pub reason: Option<String>,
    /// What it printed, bounded (libtest prints a failing test's output and
    /// panic message).
    #[serde(skip)]
    pub output: String,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1e3).round() / 1e3)
}

/// The tests in `binary`, by name, as libtest lists them in `place`.
pub fn list_tests(place: &Place, binary: &TestBinary) -> Result<Vec<String>> {
    let mut command = place.command(&binary.path);
    command.args(["--list", "--format", "terse"]);
    let finished = process::run_limited(command, Duration::from_secs(60), Duration::MAX, || ())?;
    if !finished.status.is_some_and(|s| s.success()) {
        bail!(
            "could not list the tests of {}: {}",
            binary.path.display(),
            finished.stderr.text().trim()
        );
    }
    Ok(finished
        .stdout
        .text()
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

/// One test to run: where, which binary, which test.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// Where its process runs.
    pub place: &'a Place,
    /// The test executable.
    pub binary: &'a TestBinary,
    /// The test's name, as libtest lists it.
    pub name: &'a str,
}

/// Runs `jobs`, `parallel` at a time, each test in its own process killed at
/// `limit` (or at `deadline`, if sooner); calls `each` as each one ends.
/// Returns the runs in the order of `jobs`; `None` for a test not started
/// because the deadline had passed.
pub fn run_tests(
    jobs: &[Job<'_>],
    limit: Duration,
    deadline: Option<Instant>,
    parallel: usize,
    each: impl Fn(&TestRun) + Sync,
) -> Result<Vec<Option<TestRun>>> {
    let next = Mutex::new(0..jobs.len());
    let runs: Mutex<Vec<Option<Result<TestRun>>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let Some(i) = next.lock().unwrap_or_else(PoisonError::into_inner).next() else {
                        break;
                    };
                    let limit = match deadline {
                        Some(deadline) => {
                            limit.min(deadline.saturating_duration_since(Instant::now()))
                        }
                        None => limit,
                    };
                    if limit.is_zero() {
                        continue;
                    }
                    let job = jobs[i];
                    let run = run_test(job.place, job.binary, job.name, limit);
                    if let Ok(run) = &run {
                        each(run);
                    }
                    runs.lock().unwrap_or_else(PoisonError::into_inner)[i] = Some(run);
                }
            });
        }
    });
    runs.into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .map(Option::transpose)
        .collect()
}

/// Runs test `name` of `binary` alone in `place`, killed at `limit`.
pub fn run_test(
    place: &Place,
    binary: &TestBinary,
    name: &str,
    limit: Duration,
) -> Result<TestRun> {
    let mut command = place.command(&binary.path);
    command.args([name, "--exact", "--test-threads=1", "--color", "never"]);
    let finished = process::run_limited(command, limit, Duration::MAX, || ())?;
    let stdout = finished.stdout.text();
    let output = stdout.clone() + &finished.stderr.text();
    let (status, reason) = match finished.status {
        None => (
            Status::TimedOut,
            Some(format!("killed at the time limit ({limit:?})")),
        ),
        Some(exit) => match libtest::verdict(name, &stdout, exit.success()) {
            Verdict::Passed => (Status::Passed, None),
            Verdict::Failed => (Status::Failed, None),
            Verdict::Missing => (
                Status::Failed,
                Some(libtest::missing_verdict(&exit.to_string())),
            ),
        },
    };
    Ok(TestRun {
        name: format!("{}::{name}", binary.target),
        status,
        duration: finished.duration,
        reason,
        output,
    })
}

/// The line of a failing test's output that says why, shortened: the message of
/// the *last* panic, which is the test's own verdict (earlier ones may be panics
/// the test provoked on purpose, caught and reported); with no panic, the last
/// line it printed.
pub fn why(run: &TestRun) -> String {
    if let Some(reason) = &run.reason {
        return reason.clone();
    }
    let lines: Vec<&str> = run.output.lines().collect();
    let reason = lines
        .iter()
        .rposition(|line| line.contains("panicked at"))
        .and_then(|at| lines.get(at + 1))
        .or_else(|| lines.iter().rev().find(|line| !line.trim().is_empty()))
        .map_or("(no output)", |line| line.trim());
    let mut short: String = reason.chars().take(160).collect();
    if reason.chars().count() > 160 {
        short.push('…');
    }
    short
}

/// The whole message of a failing test's last panic (every line of it), for a
/// learner reading one failure in full.
pub fn panic_message(run: &TestRun) -> String {
    if let Some(reason) = &run.reason {
        return reason.clone();
    }
    let lines: Vec<&str> = run.output.lines().collect();
    let Some(at) = lines.iter().rposition(|line| line.contains("panicked at")) else {
        return why(run);
    };
    lines[at + 1..]
        .iter()
        .take_while(|line| {
            !line.starts_with("note: ")
                && !line.starts_with("stack backtrace:")
                && !line.starts_with("failures:")
                && !line.starts_with("---- ")
        })
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// Where the last panic happened: `lessons/03-backpressure/tests/backpressure.rs:61:5`.
pub fn panic_location(run: &TestRun) -> Option<String> {
    let line = run
        .output
        .lines()
        .rfind(|line| line.contains("panicked at "))?;
    let at = line.split("panicked at ").nth(1)?;
    Some(at.trim_end_matches(':').to_string())
}
