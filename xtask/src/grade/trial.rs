//! Running the kit's tests on one learner's build: each test alone in its own
//! process, sandboxed and limited, its verdict read from the kit's channel
//! (never from what it printed), as many times as the grading asks.
//!
//! A test passes only when every run of it passed. A test whose runs
//! disagree is reported as failing k of n runs and counted failed: a
//! concurrency bug that shows once is a bug, and no failure gets a second
//! chance.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::test_place::TestPlace;
use crate::compile::TestBinary;
use crate::libtest;
use lesson_support::verdict::Verdict;

#[cfg(target_os = "linux")]
use super::channel::{self, Channel};

/// The most characters of a failure message kept.
pub const MESSAGE_CHARS: usize = 1500;

/// How a test ended, over all its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every run passed, by the kit's verdict.
    Passed,
    /// A run failed: an assertion, a panic, a watchdog's verdict, or no
    /// verdict at all.
    Failed,
    /// A run was still going at the time limit, and was killed.
    TimedOut,
}

/// One kit test's result for one learner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    /// `binary::test_name`.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// Runs made.
    pub runs: u32,
    /// Runs that did not pass.
    pub failures: u32,
    /// The longest run, in seconds.
    pub seconds: f64,
    /// Why it did not pass: the first failing run's message, bounded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl TestResult {
    /// Whether its runs disagreed (some passed, some did not).
    pub fn varied(&self) -> bool {
        self.failures > 0 && self.failures < self.runs
    }

    /// Whether it stopped at a `todo!()` the learner has not written.
    pub fn unwritten(&self) -> bool {
        self.message
            .as_deref()
            .is_some_and(|m| m.starts_with("not yet implemented"))
    }
}

/// One test to run: where, which binary, which test, how many times.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// Where its process runs.
    pub place: &'a TestPlace,
    /// The test executable.
    pub binary: &'a TestBinary,
    /// The test's name, as libtest lists it.
    pub name: &'a str,
    /// Whether it runs the lesson's loom models (and needs their warm build).
    pub models: bool,
    /// How many times to run it.
    pub runs: u32,
}

/// One run of one test.
struct Attempt {
    status: Status,
    duration: Duration,
    message: Option<String>,
}

/// Runs every job, `parallel` processes at a time, each run killed at
/// `limit` (or at `deadline`); the first run of every test before any second.
/// `None` for a test the deadline left unrun.
pub fn run_all(
    jobs: &[Job<'_>],
    limit: Duration,
    deadline: Option<Instant>,
    parallel: usize,
) -> Result<Vec<Option<TestResult>>> {
    let most = jobs.iter().map(|j| j.runs).max().unwrap_or(0);
    let order: Vec<(usize, u32)> = (0..most)
        .flat_map(|run| {
            jobs.iter()
                .enumerate()
                .filter(move |(_, job)| run < job.runs)
                .map(move |(i, _)| (i, run))
        })
        .collect();
    let next = Mutex::new(order.into_iter());
    let attempts: Mutex<Vec<Vec<Attempt>>> = Mutex::new(jobs.iter().map(|_| Vec::new()).collect());
    // A test that timed out, or stopped at a todo!(), is not run again: more
    // runs would cost time and say nothing new.
    let settled: Vec<AtomicBool> = jobs.iter().map(|_| AtomicBool::new(false)).collect();
    let error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let Some((i, _)) = next.lock().unwrap_or_else(PoisonError::into_inner).next()
                    else {
                        break;
                    };
                    if settled[i].load(Ordering::SeqCst) {
                        continue;
                    }
                    let limit = deadline.map_or(limit, |d| {
                        limit.min(d.saturating_duration_since(Instant::now()))
                    });
                    if limit.is_zero() {
                        continue;
                    }
                    match attempt(&jobs[i], limit) {
                        Ok(attempt) => {
                            let ends = attempt.status == Status::TimedOut
                                || attempt
                                    .message
                                    .as_deref()
                                    .is_some_and(|m| m.starts_with("not yet implemented"));
                            if ends {
                                settled[i].store(true, Ordering::SeqCst);
                            }
                            attempts.lock().unwrap_or_else(PoisonError::into_inner)[i]
                                .push(attempt);
                        }
                        Err(e) => {
                            settled[i].store(true, Ordering::SeqCst);
                            error
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(error) = error.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(error);
    }
    let attempts = attempts
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    Ok(jobs
        .iter()
        .zip(attempts)
        .map(|(job, attempts)| summarise(job, attempts))
        .collect())
}

fn summarise(job: &Job<'_>, attempts: Vec<Attempt>) -> Option<TestResult> {
    if attempts.is_empty() {
        return None;
    }
    let failures = attempts
        .iter()
        .filter(|a| a.status != Status::Passed)
        .count() as u32;
    let status = if attempts.iter().any(|a| a.status == Status::TimedOut) {
        Status::TimedOut
    } else if failures > 0 {
        Status::Failed
    } else {
        Status::Passed
    };
    let slowest = attempts
        .iter()
        .map(|a| a.duration)
        .max()
        .unwrap_or_default();
    Some(TestResult {
        name: format!("{}::{}", job.binary.target, job.name),
        status,
        runs: attempts.len() as u32,
        failures,
        seconds: (slowest.as_secs_f64() * 1e3).round() / 1e3,
        message: attempts.into_iter().find_map(|a| a.message),
    })
}

/// Runs the test of `job` once, killed at `limit`.
fn attempt(job: &Job<'_>, limit: Duration) -> Result<Attempt> {
    #[cfg(target_os = "linux")]
    let channel = if channel::AVAILABLE {
        Some(Channel::open()?)
    } else {
        None
    };
    #[cfg(target_os = "linux")]
    let env: Vec<(String, String)> = channel.iter().map(Channel::env).collect();
    #[cfg(not(target_os = "linux"))]
    let env: Vec<(String, String)> = Vec::new();

    let mut command = job.place.command(&job.binary.path, &env, job.models);
    command.args([job.name, "--exact", "--test-threads=1", "--color", "never"]);
    #[cfg(target_os = "linux")]
    if let Some(channel) = &channel {
        channel.hand_over(&mut command);
    }
    let runner = job.place.runner();
    let cores = thread::available_parallelism().map_or(2, usize::from) as u32;
    let ended = runner.run(
        command,
        limit,
        limit * cores + Duration::from_secs(5),
        true,
        "test",
    )?;
    let finished = &ended.finished;
    #[cfg(target_os = "linux")]
    let verdict = channel.map(|c| c.verdict(Duration::from_millis(300)));
    #[cfg(not(target_os = "linux"))]
    let verdict: Option<Verdict> = None;

    let output = finished.stdout.text() + &finished.stderr.text();
    let limits = &runner.limits;
    let mut status = Status::Failed;
    let mut message = match finished.status {
        None => {
            status = Status::TimedOut;
            let memory = if ended.usage.out_of_memory {
                format!(
                    "; it had run out of memory (the limit is {} MiB) and lost a process to it",
                    limits.memory >> 20
                )
            } else {
                String::new()
            };
            Some(format!(
                "killed at the time limit ({} s){memory}",
                limit.as_secs()
            ))
        }
        Some(_) if ended.usage.out_of_memory => Some(format!(
            "killed: out of memory (the limit is {} MiB for a test and everything it starts)",
            limits.memory >> 20
        )),
        Some(exit) => match (exit.success(), verdict) {
            (true, Some(Verdict::MainExit(0))) => {
                status = Status::Passed;
                None
            }
            (_, Some(Verdict::Forged)) => Some(
                "something other than the test harness wrote on its verdict channel: \
                 the code reached for the harness (see the lines to review)"
                    .to_string(),
            ),
            (true, Some(_)) => Some(format!(
                "the process ended with status 0 but without the test harness's verdict: \
                 the code ended it itself (exit from a thread of its own, or before the \
                 harness started){}",
                panic_or_nothing(&output)
            )),
            (true, None) => {
                // No channel on this platform: libtest's own lines decide.
                match libtest::verdict(job.name, &finished.stdout.text(), true) {
                    libtest::Verdict::Passed => {
                        status = Status::Passed;
                        None
                    }
                    _ => Some(libtest::missing_verdict(&exit.to_string())),
                }
            }
            (false, _) => Some(failure_message(&output, &exit.to_string())),
        },
    };
    if ended.usage.out_of_processes {
        let note = format!(
            "it could not start more processes and threads (the limit is {})",
            limits.processes
        );
        message = Some(match message {
            Some(m) => format!("{m} — {note}"),
            None => note,
        });
    }
    Ok(Attempt {
        status,
        duration: finished.duration,
        message: message.map(|m| bounded(&m)),
    })
}

/// Whether `binary` carries the kit's side of the verdict channel (it links
/// lesson-support): listing its tests must end with the channel's line.
/// Always true where the platform has no channel.
pub fn carries_channel(place: &TestPlace, binary: &TestBinary) -> Result<bool> {
    #[cfg(target_os = "linux")]
    if channel::AVAILABLE {
        let channel = Channel::open()?;
        let mut command = place.command(&binary.path, &[channel.env()], false);
        command.arg("--list");
        channel.hand_over(&mut command);
        let limit = Duration::from_secs(60);
        let ended = place.runner().run(command, limit, limit, true, "list")?;
        let verdict = channel.verdict(Duration::from_millis(300));
        return Ok(
            ended.finished.status.is_some_and(|s| s.success()) && verdict == Verdict::MainExit(0)
        );
    }
    let _ = (place, binary);
    Ok(true)
}

fn panic_or_nothing(output: &str) -> String {
    match last_panic(output) {
        Some(panic) => format!("; it had panicked: {panic}"),
        None => String::new(),
    }
}

/// Why a test that exited with a failure failed: its last panic's message
/// (the test's own verdict; earlier panics may be ones it provoked), else
/// the last line it printed, else how it ended.
fn failure_message(output: &str, exit: &str) -> String {
    if let Some(panic) = last_panic(output) {
        return panic;
    }
    match output.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) if !line.starts_with("test result:") => format!("{} ({exit})", line.trim()),
        _ => format!("the test process ended with {exit} and no message"),
    }
}

/// The whole message of the last panic in `output`.
fn last_panic(output: &str) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    let at = lines
        .iter()
        .rposition(|line| line.contains("panicked at"))?;
    let message: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|line| {
            !line.starts_with("note: ")
                && !line.starts_with("stack backtrace:")
                && !line.starts_with("failures:")
                && !line.starts_with("---- ")
                && !line.starts_with("test result:")
        })
        .copied()
        .collect();
    let message = message.join("\n").trim().to_string();
    Some(if message.is_empty() {
        lines[at].trim().to_string()
    } else {
        message
    })
}

/// `text` without control characters (terminal escapes), at most
/// [`MESSAGE_CHARS`] characters, saying how many were left out.
pub fn bounded(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    let total = clean.chars().count();
    if total <= MESSAGE_CHARS {
        return clean;
    }
    let kept: String = clean.chars().take(MESSAGE_CHARS).collect();
    format!("{kept} [… {} more characters]", total - MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_bounded_and_has_no_escapes() {
        let long = format!("\x1b[31mred{}", "x".repeat(5000));
        let kept = bounded(&long);
        assert!(!kept.contains('\x1b'));
        assert!(kept.starts_with("[31mred"));
        assert!(kept.ends_with("more characters]"), "{kept}");
        assert!(kept.chars().count() < MESSAGE_CHARS + 40);
    }

    #[test]
    fn the_last_panic_is_the_message() {
        let output = "running 1 test\nthread 'x' panicked at src/lib.rs:1:1:\nfirst\nthread 'x' panicked at tests/a.rs:3:5:\nthe answer is 42\n  left: 7\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            failure_message(output, "exit status: 101"),
            "the answer is 42\n  left: 7"
        );
    }
}
