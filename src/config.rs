//! The simulation's settings and their validation.
//!
//! Everything is checked *before* a single thread starts: a configuration that
//! could hang (no consumer to drain the queue), overflow (a capacity that cannot
//! be allocated) or make no sense (a failure rate of NaN) is refused with a
//! [`ConfigError`] that names the flag and the reason.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::choice::{QueueKind, WorkKind};

/// Most producer or consumer threads a run may start.
pub const MAX_THREADS: usize = 1024;
/// Largest queue capacity: the channel backend allocates its whole buffer up front.
pub const MAX_CAPACITY: usize = 1 << 20;
/// Longest processing time per attempt, in seconds.
pub const MAX_PROCESSING_TIME_S: f64 = 3600.0;
/// Shortest idle timeout, in seconds: one tick of the clock, which counts whole
/// nanoseconds. A positive timeout shorter than that would be no wait at all.
pub const MIN_TIMEOUT_S: f64 = 1e-9;
/// Longest idle timeout, in seconds.
pub const MAX_TIMEOUT_S: f64 = 86_400.0;
/// Highest producer rate, in items per second; beyond it pacing means nothing.
pub const MAX_RATE_PER_S: f64 = 1e9;
/// Most priority levels.
pub const MAX_PRIORITIES: u32 = 256;
/// Most retries of one item.
pub const MAX_RETRIES: u32 = 100;
/// Largest `results_sample`.
pub const MAX_SAMPLE: usize = 100_000;

/// Every setting of one simulation run.
///
/// [`SimConfig::DEFAULT`] holds the seed project's defaults (`--items 20
/// --consumers 3 --capacity 10 --processing-time 0.01 --failure-rate 0.1`), and
/// the command line's defaults are read from it. Serialized as the `config`
/// object of the JSON report, keeping the seed's key names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Work items the producers create together.
    #[serde(rename = "num_items")]
    pub items: u64,
    /// Producer threads.
    #[serde(rename = "num_producers")]
    pub producers: usize,
    /// Consumer threads.
    #[serde(rename = "num_consumers")]
    pub consumers: usize,
    /// Items the queue holds before a producer blocks; 0 is a rendezvous hand-off.
    #[serde(rename = "queue_capacity")]
    pub capacity: usize,
    /// Seconds one processing attempt takes.
    pub processing_time_s: f64,
    /// Probability in [0, 1] that an attempt fails.
    pub failure_rate: f64,
    /// Items per second the producers offer together; `None` = as fast as the queue takes them.
    pub rate_per_s: Option<f64>,
    /// Priority levels; 1 means plain FIFO.
    pub priorities: u32,
    /// Seconds a consumer waits for a new item before it exits; `None` = until the queue closes.
    pub timeout_s: Option<f64>,
    /// Times a failed item is re-queued before it is dead-lettered.
    pub retries: u32,
    /// The queue backend.
    pub queue: QueueKind,
    /// Sleep (I/O-bound) or spin (CPU-bound) processing.
    pub work: WorkKind,
    /// Seed for failures and priorities: the same seed, the same outcomes.
    pub seed: u64,
    /// How many results `results_sample` keeps (those of the lowest task ids).
    #[serde(rename = "sample_size")]
    pub sample: usize,
}

impl SimConfig {
    /// The seed project's defaults: the one place each default is written.
    pub const DEFAULT: SimConfig = SimConfig {
        items: 20,
        producers: 1,
        consumers: 3,
        capacity: 10,
        processing_time_s: 0.01,
        failure_rate: 0.1,
        rate_per_s: None,
        priorities: 1,
        timeout_s: None,
        retries: 0,
        queue: QueueKind::Channel,
        work: WorkKind::Sleep,
        seed: 0,
        sample: 10,
    };
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig::DEFAULT
    }
}

/// A setting of [`SimConfig`] that can be refused, named as its command-line
/// flag in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the flag of the same name
pub enum Setting {
    Items,
    Producers,
    Consumers,
    Capacity,
    ProcessingTime,
    FailureRate,
    Rate,
    Priorities,
    Timeout,
    Retries,
    Queue,
    Sample,
}

impl Setting {
    /// The name of the setting's command-line flag, without the leading `--`:
    /// the command line is declared with these, so the two cannot drift apart.
    pub const fn long(self) -> &'static str {
        match self {
            Setting::Items => "items",
            Setting::Producers => "producers",
            Setting::Consumers => "consumers",
            Setting::Capacity => "capacity",
            Setting::ProcessingTime => "processing-time",
            Setting::FailureRate => "failure-rate",
            Setting::Rate => "rate",
            Setting::Priorities => "priorities",
            Setting::Timeout => "timeout",
            Setting::Retries => "retries",
            Setting::Queue => "queue",
            Setting::Sample => "sample",
        }
    }

    /// The smallest and largest count a counted setting accepts.
    fn counts(self) -> (u64, u64) {
        match self {
            Setting::Producers | Setting::Consumers => (1, MAX_THREADS as u64),
            Setting::Capacity => (0, MAX_CAPACITY as u64),
            Setting::Priorities => (1, u64::from(MAX_PRIORITIES)),
            Setting::Retries => (0, u64::from(MAX_RETRIES)),
            Setting::Sample => (0, MAX_SAMPLE as u64),
            _ => (0, u64::MAX),
        }
    }

    /// The values a real-valued setting accepts.
    fn range(self) -> Range {
        let seconds = " seconds";
        match self {
            Setting::ProcessingTime => Range::between(0.0, MAX_PROCESSING_TIME_S, seconds),
            Setting::FailureRate => Range::between(0.0, 1.0, ""),
            Setting::Rate => Range::above_zero(MAX_RATE_PER_S, " items per second"),
            Setting::Timeout => Range::between(MIN_TIMEOUT_S, MAX_TIMEOUT_S, seconds),
            _ => Range::between(f64::MIN, f64::MAX, ""),
        }
    }
}

impl fmt::Display for Setting {
    /// The flag as typed: `--processing-time`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--{}", self.long())
    }
}

/// The values a real-valued setting accepts, as people write them
/// ("between 0 and 1", "greater than 0 and at most 86400 seconds").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The lower bound.
    pub min: f64,
    /// Whether `min` itself is accepted.
    pub min_included: bool,
    /// The upper bound, always accepted.
    pub max: f64,
    /// What the numbers count, with a leading space (" seconds"), or "".
    pub unit: &'static str,
}

impl Range {
    const fn between(min: f64, max: f64, unit: &'static str) -> Self {
        Range {
            min,
            min_included: true,
            max,
            unit,
        }
    }

    const fn above_zero(max: f64, unit: &'static str) -> Self {
        Range {
            min: 0.0,
            min_included: false,
            max,
            unit,
        }
    }

    /// Whether `value` is accepted; never NaN.
    pub fn contains(&self, value: f64) -> bool {
        let above_min = if self.min_included {
            value >= self.min
        } else {
            value > self.min
        };
        above_min && value <= self.max
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (min, max, unit) = (Number(self.min), Number(self.max), self.unit);
        if self.min_included {
            write!(f, "between {min} and {max}{unit}")
        } else {
            write!(f, "greater than {min} and at most {max}{unit}")
        }
    }
}

/// A limit as people write it: `3600`, `1e9`, `1e-9`.
struct Number(f64);

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.0.abs();
        if magnitude != 0.0 && !(1e-3..1e6).contains(&magnitude) {
            write!(f, "{:e}", self.0)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Why a [`SimConfig`] was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// A count below its minimum.
    TooFew {
        /// The offending setting.
        setting: Setting,
        /// Smallest accepted value.
        min: u64,
        /// The value given.
        got: u64,
    },
    /// A count above its maximum.
    TooMany {
        /// The offending setting.
        setting: Setting,
        /// Largest accepted value.
        max: u64,
        /// The value given.
        got: u64,
    },
    /// A number that is NaN or infinite.
    NotFinite {
        /// The offending setting.
        setting: Setting,
        /// The value given.
        got: f64,
    },
    /// A finite number outside its range.
    OutOfRange {
        /// The offending setting.
        setting: Setting,
        /// The accepted range.
        range: Range,
        /// The value given.
        got: f64,
    },
    /// Two settings that cannot be combined.
    Conflict {
        /// The setting the message is about.
        setting: Setting,
        /// The setting it conflicts with.
        with: Setting,
        /// Why they conflict.
        reason: &'static str,
    },
}

impl ConfigError {
    /// The setting this error is about.
    pub fn setting(&self) -> Setting {
        match self {
            ConfigError::TooFew { setting, .. }
            | ConfigError::TooMany { setting, .. }
            | ConfigError::NotFinite { setting, .. }
            | ConfigError::OutOfRange { setting, .. }
            | ConfigError::Conflict { setting, .. } => *setting,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::TooFew { setting, min, got } => {
                write!(f, "{setting} must be at least {min} (got {got})")?;
                match setting {
                    Setting::Consumers => {
                        f.write_str(": with no consumer nothing drains the queue, and the producer would block forever")
                    }
                    Setting::Producers => f.write_str(": with no producer no item is ever made"),
                    _ => Ok(()),
                }
            }
            ConfigError::TooMany { setting, max, got } => {
                write!(f, "{setting} must be at most {max} (got {got})")
            }
            ConfigError::NotFinite { setting, got } => {
                write!(f, "{setting} must be a finite number (got {got})")
            }
            ConfigError::OutOfRange {
                setting,
                range,
                got,
            } => write!(f, "{setting} must be {range} (got {got})"),
            ConfigError::Conflict {
                setting,
                with,
                reason,
            } => write!(f, "{setting} cannot be combined with {with}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl SimConfig {
    /// Checks every setting; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        count(Setting::Producers, self.producers as u64)?;
        count(Setting::Consumers, self.consumers as u64)?;
        count(Setting::Capacity, self.capacity as u64)?;
        real(Setting::ProcessingTime, self.processing_time_s)?;
        real(Setting::FailureRate, self.failure_rate)?;
        if let Some(rate) = self.rate_per_s {
            real(Setting::Rate, rate)?;
        }
        count(Setting::Priorities, u64::from(self.priorities))?;
        if let Some(timeout) = self.timeout_s {
            real(Setting::Timeout, timeout)?;
        }
        count(Setting::Retries, u64::from(self.retries))?;
        count(Setting::Sample, self.sample as u64)?;
        if self.priorities > 1 && self.queue != QueueKind::Priority {
            return Err(ConfigError::Conflict {
                setting: Setting::Priorities,
                with: Setting::Queue,
                reason: "only the priority queue orders items by priority (leave --queue out, or use --queue priority)",
            });
        }
        Ok(())
    }

    /// The settings as a run uses them, and as its report echoes them: times in
    /// whole nanoseconds, the clock's resolution (`--processing-time 5e-324`
    /// is 0), and no negative zero (`-0` is 0). Only meaningful on a validated config.
    pub fn normalized(&self) -> SimConfig {
        SimConfig {
            processing_time_s: self.processing_time().as_secs_f64(),
            // IEEE 754: -0 + 0 is +0, and every other value is unchanged.
            failure_rate: self.failure_rate + 0.0,
            timeout_s: self.timeout().map(|timeout| timeout.as_secs_f64()),
            ..self.clone()
        }
    }

    /// The processing time of one attempt. Only meaningful on a validated config.
    pub fn processing_time(&self) -> Duration {
        Duration::from_secs_f64(self.processing_time_s)
    }

    /// The idle timeout of consumers, if any. Only meaningful on a validated config.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_s.map(Duration::from_secs_f64)
    }
}

fn count(setting: Setting, got: u64) -> Result<(), ConfigError> {
    let (min, max) = setting.counts();
    if got < min {
        Err(ConfigError::TooFew { setting, min, got })
    } else if got > max {
        Err(ConfigError::TooMany { setting, max, got })
    } else {
        Ok(())
    }
}

fn real(setting: Setting, got: f64) -> Result<(), ConfigError> {
    let range = setting.range();
    if !got.is_finite() {
        Err(ConfigError::NotFinite { setting, got })
    } else if !range.contains(got) {
        Err(ConfigError::OutOfRange {
            setting,
            range,
            got,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut SimConfig)) -> Result<(), ConfigError> {
        let mut config = SimConfig::default();
        change(&mut config);
        config.validate()
    }

    #[test]
    fn the_seed_defaults_are_valid() {
        assert_eq!(SimConfig::default().validate(), Ok(()));
    }

    #[test]
    fn zero_consumers_is_refused_with_the_reason() {
        let err = with(|c| c.consumers = 0).unwrap_err();
        assert_eq!(err.setting(), Setting::Consumers);
        let message = err.to_string();
        assert!(
            message.starts_with("--consumers must be at least 1 (got 0)"),
            "{message}"
        );
        assert!(message.contains("block forever"), "{message}");
    }

    #[test]
    fn zero_producers_is_refused() {
        assert_eq!(
            with(|c| c.producers = 0).unwrap_err().setting(),
            Setting::Producers
        );
    }

    #[test]
    fn failure_rate_must_be_a_probability() {
        for bad in [-0.1, 1.01, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = with(|c| c.failure_rate = bad).unwrap_err();
            assert_eq!(err.setting(), Setting::FailureRate, "{bad}");
        }
        for good in [0.0, 0.5, 1.0] {
            assert_eq!(with(|c| c.failure_rate = good), Ok(()), "{good}");
        }
    }

    #[test]
    fn times_must_be_finite_and_not_negative() {
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert_eq!(
                with(|c| c.processing_time_s = bad).unwrap_err().setting(),
                Setting::ProcessingTime
            );
            assert_eq!(
                with(|c| c.timeout_s = Some(bad)).unwrap_err().setting(),
                Setting::Timeout
            );
            assert_eq!(
                with(|c| c.rate_per_s = Some(bad)).unwrap_err().setting(),
                Setting::Rate
            );
        }
        assert_eq!(with(|c| c.processing_time_s = 0.0), Ok(()));
        assert_eq!(
            with(|c| c.timeout_s = Some(0.0)).unwrap_err().setting(),
            Setting::Timeout
        );
        assert_eq!(
            with(|c| c.rate_per_s = Some(0.0)).unwrap_err().setting(),
            Setting::Rate
        );
    }

    #[test]
    fn a_timeout_below_one_nanosecond_is_refused() {
        for bad in [5e-324, 1e-10, -0.0] {
            assert_eq!(
                with(|c| c.timeout_s = Some(bad)).unwrap_err().setting(),
                Setting::Timeout,
                "{bad}"
            );
        }
        assert_eq!(with(|c| c.timeout_s = Some(MIN_TIMEOUT_S)), Ok(()));
    }

    #[test]
    fn normalized_times_are_whole_nanoseconds_and_never_negative_zero() {
        let config = SimConfig {
            processing_time_s: 5e-324,
            failure_rate: -0.0,
            timeout_s: Some(0.25),
            ..SimConfig::default()
        }
        .normalized();
        assert_eq!(config.processing_time_s.to_bits(), 0.0f64.to_bits());
        assert_eq!(config.failure_rate.to_bits(), 0.0f64.to_bits());
        assert_eq!(config.timeout_s, Some(0.25));
        let minus_zero = SimConfig {
            processing_time_s: -0.0,
            ..SimConfig::default()
        };
        assert_eq!(minus_zero.validate(), Ok(()));
        assert_eq!(minus_zero.normalized().processing_time_s.to_bits(), 0);
        for decimal in [0.001, 0.01, 0.3, 1.5, 3600.0] {
            let config = SimConfig {
                processing_time_s: decimal,
                ..SimConfig::default()
            };
            assert_eq!(
                config.normalized().processing_time_s,
                decimal,
                "echoed as given"
            );
        }
    }

    #[test]
    fn capacity_zero_is_a_rendezvous_and_allowed() {
        assert_eq!(with(|c| c.capacity = 0), Ok(()));
        assert_eq!(
            with(|c| c.capacity = MAX_CAPACITY + 1)
                .unwrap_err()
                .setting(),
            Setting::Capacity
        );
    }

    #[test]
    fn priorities_need_the_priority_queue() {
        let err = with(|c| c.priorities = 3).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Conflict {
                    with: Setting::Queue,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            with(|c| {
                c.priorities = 3;
                c.queue = QueueKind::Priority;
            }),
            Ok(())
        );
        assert_eq!(
            with(|c| c.priorities = 0).unwrap_err().setting(),
            Setting::Priorities
        );
    }

    #[test]
    fn limits_in_messages_are_formatted_from_the_constants() {
        let message = |change: fn(&mut SimConfig)| with(change).unwrap_err().to_string();
        assert_eq!(
            message(|c| c.processing_time_s = -1.0),
            "--processing-time must be between 0 and 3600 seconds (got -1)"
        );
        assert_eq!(
            message(|c| c.rate_per_s = Some(2e9)),
            "--rate must be greater than 0 and at most 1e9 items per second (got 2000000000)"
        );
        assert_eq!(
            message(|c| c.timeout_s = Some(0.0)),
            "--timeout must be between 1e-9 and 86400 seconds (got 0)"
        );
        assert_eq!(
            message(|c| c.retries = 101),
            "--retries must be at most 100 (got 101)"
        );
    }

    #[test]
    fn oversized_counts_are_refused() {
        assert_eq!(
            with(|c| c.consumers = MAX_THREADS + 1)
                .unwrap_err()
                .setting(),
            Setting::Consumers
        );
        assert_eq!(
            with(|c| c.retries = MAX_RETRIES + 1).unwrap_err().setting(),
            Setting::Retries
        );
        assert_eq!(
            with(|c| c.sample = MAX_SAMPLE + 1).unwrap_err().setting(),
            Setting::Sample
        );
    }
}
