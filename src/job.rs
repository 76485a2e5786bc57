//! What a consumer does with an item, and how a panic becomes a failed item.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use host::panic_message;

use crate::chance;
use crate::choice::WorkKind;
use crate::config::SimConfig;
use crate::item::WorkItem;

/// The work a consumer performs on one attempt of an item.
///
/// `Err` is an ordinary, retryable failure. A job may also panic: the consumer
/// catches it, records the item as failed with the panic's message, and goes on.
pub trait Job: Sync {
    /// Processes one attempt of `item`.
    fn run(&self, item: &WorkItem) -> Result<(), String>;
}

impl<F> Job for F
where
    F: Fn(&WorkItem) -> Result<(), String> + Sync,
{
    fn run(&self, item: &WorkItem) -> Result<(), String> {
        self(item)
    }
}

/// The simulator's job: takes the processing time (sleeping or spinning), then
/// fails with the configured probability, decided by the seed.
#[derive(Debug, Clone)]
pub struct SimulatedJob {
    work: WorkKind,
    processing_time: Duration,
    failure_rate: f64,
    seed: u64,
}

impl SimulatedJob {
    /// The job a validated configuration describes.
    pub fn new(config: &SimConfig) -> Self {
        SimulatedJob {
            work: config.work,
            processing_time: config.processing_time(),
            failure_rate: config.failure_rate,
            seed: config.seed,
        }
    }
}

impl Job for SimulatedJob {
    fn run(&self, item: &WorkItem) -> Result<(), String> {
        // A zero duration skips the call entirely: even `sleep(0)` is a system call.
        if !self.processing_time.is_zero() {
            match self.work {
                WorkKind::Sleep => std::thread::sleep(self.processing_time),
                WorkKind::Spin => spin_for(self.processing_time),
            }
        }
        if chance::attempt_fails(self.seed, item.id, item.attempt, self.failure_rate) {
            Err(format!(
                "simulated failure of {} on attempt {}",
                item.task_id(),
                item.attempt
            ))
        } else {
            Ok(())
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptError {
    /// The error, or the panic's message.
    pub message: String,
    /// The job panicked: a bug, not a transient fault, so it is not retried.
    pub panicked: bool,
}

// ANCHOR: attempt
/// Runs one attempt, turning a panic into an [`AttemptError`] instead of a dead worker.
pub(crate) fn attempt<J: Job + ?Sized>(job: &J, item: &WorkItem) -> Result<(), AttemptError> {
    // AssertUnwindSafe: after a panic the consumer only reads the item (a Copy
    // value) and the job's message; no state half-updated by the job is reused.
    match panic::catch_unwind(AssertUnwindSafe(|| job.run(item))) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(message)) => Err(AttemptError {
            message,
            panicked: false,
        }),
        Err(payload) => Err(AttemptError {
            message: format!("job panicked: {}", panic_message(payload.as_ref())),
            panicked: true,
        }),
    }
}
// ANCHOR_END: attempt

/// Burns this thread's own CPU time for `duration`.
///
/// Counting CPU time rather than wall-clock time matters: with more spinning
/// threads than cores, each gets only part of a core, so its work must take
/// longer in wall-clock time — as real CPU-bound work would.
fn spin_for(duration: Duration) {
    let start = thread_cpu_time();
    while thread_cpu_time().saturating_sub(start) < duration {
        for _ in 0..256 {
            std::hint::spin_loop();
        }
    }
}

/// This thread's CPU time so far (the host crate's clock, which the lessons'
/// tests use too).
fn thread_cpu_time() -> Duration {
    host::thread_cpu_time().unwrap_or_else(wall_clock_fallback)
}

/// Where no per-thread CPU clock exists, wall-clock time stands in.
fn wall_clock_fallback() -> Duration {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_a_retryable_failure() {
        let job = |_: &WorkItem| Err("disk full".to_string());
        let err = attempt(&job, &WorkItem::new(1, 0)).unwrap_err();
        assert_eq!(
            err,
            AttemptError {
                message: "disk full".into(),
                panicked: false
            }
        );
    }

    #[test]
    fn a_panic_becomes_a_failure_with_its_message() {
        let job = |item: &WorkItem| -> Result<(), String> { panic!("bad item {}", item.id) };
        let err = attempt(&job, &WorkItem::new(4, 0)).unwrap_err();
        assert!(err.panicked);
        assert_eq!(err.message, "job panicked: bad item 4");
    }

    #[test]
    fn a_panic_with_a_non_text_payload_still_has_a_message() {
        let payload = std::panic::catch_unwind(|| std::panic::panic_any(42u8)).unwrap_err();
        assert_eq!(
            panic_message(payload.as_ref()),
            "a panic with a non-text payload"
        );
    }

    #[test]
    fn spinning_takes_at_least_the_cpu_time_asked_for() {
        let started = Instant::now();
        spin_for(Duration::from_millis(20));
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn the_simulated_job_fails_as_the_seed_says() {
        let config = SimConfig {
            processing_time_s: 0.0,
            failure_rate: 0.5,
            seed: 11,
            ..SimConfig::default()
        };
        let job = SimulatedJob::new(&config);
        for id in 0..50 {
            let item = WorkItem::new(id, 0);
            assert_eq!(
                job.run(&item).is_err(),
                chance::attempt_fails(11, id, 1, 0.5)
            );
        }
    }
}
