//! A run's summary: its threads' recorders merged ([`RunTotals`]), and its
//! derived statistics — throughput, the ideal, efficiency, oversleep,
//! averages — computed from its counts by one function, whichever queue ran:
//! the in-process run feeds it its merged recorders, a broker run the counts
//! the broker kept. So the same flags mean the same numbers with and without
//! `--broker`.

use std::time::Duration;

use crate::choice::WorkKind;
use crate::config::SimConfig;
use crate::item::WorkResult;
use crate::stats::{
    Recorder, SimulationStats, WorkerExit, WorkerStats, mean_ms, ms, round_rate, round_to,
};
use crate::theory;

/// A run's recorders, merged as its threads are joined, and what only the
/// producers know.
#[derive(Debug)]
pub(crate) struct RunTotals {
    recorder: Recorder,
    produced: u64,
    max_queue_depth: usize,
}

impl RunTotals {
    /// Totals starting from `leftovers`: the items the run itself found unprocessed.
    pub(crate) fn new(leftovers: Recorder) -> Self {
        RunTotals {
            recorder: leftovers,
            produced: 0,
            max_queue_depth: 0,
        }
    }

    /// Folds in one producer: what it made, the deepest queue it saw, and the
    /// items it could not deliver.
    pub(crate) fn add_producer(&mut self, produced: u64, max_depth: usize, recorder: Recorder) {
        self.produced += produced;
        self.max_queue_depth = self.max_queue_depth.max(max_depth);
        self.recorder.merge(recorder);
    }

    /// Folds in one consumer's outcomes.
    pub(crate) fn add_consumer(&mut self, recorder: Recorder) {
        self.recorder.merge(recorder);
    }

    /// The statistics of a run of `config` that took `elapsed`, with the
    /// sample and, if they were kept, every result.
    pub(crate) fn summarize(
        self,
        config: &SimConfig,
        elapsed: Duration,
        workers: &[WorkerStats],
    ) -> (SimulationStats, Vec<WorkResult>, Option<Vec<WorkResult>>) {
        let tally = self.recorder.tally;
        let counts = RunCounts {
            produced: self.produced,
            consumed: tally.completed,
            failed: tally.failed,
            retried: tally.retried,
            dead_lettered: tally.dead_lettered,
            unprocessed: tally.unprocessed,
            consumed_time: tally.completed_time,
            attempts: workers.iter().map(|w| w.processed).sum(),
            busy: workers
                .iter()
                .map(|w| Duration::from_secs_f64(w.busy_ms / 1e3))
                .sum(),
            max_queue_depth: self.max_queue_depth,
            consumers_timed_out: workers
                .iter()
                .filter(|w| w.exit == WorkerExit::IdleTimeout)
                .count(),
        };
        let stats = summarize(&counts, config, config.consumers, elapsed);
        debug_assert!(
            stats.accounting_holds() && stats.attempts_add_up(workers),
            "accounting identity broken: {stats:?}"
        );
        let (sample, all) = self.recorder.into_results();
        (stats, sample, all)
    }
}

/// What a run counted: everything its derived statistics are computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct RunCounts {
    /// Items the producers made.
    pub(crate) produced: u64,
    /// Items processed successfully.
    pub(crate) consumed: u64,
    /// Items that failed with no retry left, or whose job panicked.
    pub(crate) failed: u64,
    /// Failed attempts given another try.
    pub(crate) retried: u64,
    /// Items that failed every allowed attempt.
    pub(crate) dead_lettered: u64,
    /// Items that never reached an end.
    pub(crate) unprocessed: u64,
    /// Summed duration of the successful attempts counted in `consumed`.
    pub(crate) consumed_time: Duration,
    /// Attempts run, successful or not.
    pub(crate) attempts: u64,
    /// Summed duration of those attempts.
    pub(crate) busy: Duration,
    /// Most items waiting in the queue at once.
    pub(crate) max_queue_depth: usize,
    /// Consumers that left because no item came within `--timeout`.
    pub(crate) consumers_timed_out: usize,
}

/// The statistics of a run of `config` with `consumers` consumers in all
/// (for a broker run, threads times worker processes) that counted `counts`
/// and took `elapsed`.
pub(crate) fn summarize(
    counts: &RunCounts,
    config: &SimConfig,
    consumers: usize,
    elapsed: Duration,
) -> SimulationStats {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let config = SimConfig {
        consumers,
        ..config.clone()
    };
    let ended = counts.consumed + counts.failed + counts.dead_lettered;
    let elapsed_s = elapsed.as_secs_f64();
    let throughput_per_s = if elapsed_s > 0.0 {
        ended as f64 / elapsed_s
    } else {
        0.0
    };
    let ideal_throughput_per_s = theory::ideal_throughput_per_s(&config, cores);
    let oversleep_s = oversleep_s(&config, counts);
    // Measured against the attempts as the host really timed them, so the
    // timer's oversleep does not pass for a queueing loss.
    let ideal_as_timed = match oversleep_s {
        Some(oversleep_s) => {
            theory::ideal_with_attempts_of(&config, cores, config.processing_time_s + oversleep_s)
        }
        None => ideal_throughput_per_s,
    };
    SimulationStats {
        produced: counts.produced,
        consumed: counts.consumed,
        failed: counts.failed,
        retried: counts.retried,
        dead_lettered: counts.dead_lettered,
        unprocessed: counts.unprocessed,
        avg_processing_ms: mean_ms(counts.consumed_time, counts.consumed),
        oversleep_ms: oversleep_s.map(|s| round_to(s * 1e3, 3)),
        max_queue_depth: counts.max_queue_depth,
        elapsed_ms: ms(elapsed),
        throughput_per_s: round_rate(throughput_per_s),
        ideal_throughput_per_s: ideal_throughput_per_s.map(round_rate),
        // With no item made there is nothing to compare with the ideal; an
        // ideal next to nothing (`--rate 5e-324`) makes no finite ratio.
        efficiency: ideal_as_timed
            .filter(|_| counts.produced > 0)
            .map(|ideal| round_to(throughput_per_s / ideal, 4))
            .filter(|efficiency| efficiency.is_finite()),
        available_cores: cores,
        consumers_timed_out: counts.consumers_timed_out,
    }
}

/// The mean time a sleeping attempt lasted beyond the processing time, in
/// seconds; `None` where that means nothing (see `oversleep_ms`).
fn oversleep_s(config: &SimConfig, counts: &RunCounts) -> Option<f64> {
    if config.work != WorkKind::Sleep || config.processing_time_s == 0.0 || counts.attempts == 0 {
        return None;
    }
    let per_attempt_s = counts.busy.as_secs_f64() / counts.attempts as f64;
    // Sleep never wakes early; the max guards against rounding.
    Some((per_attempt_s - config.processing_time_s).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sleeping(consumers: usize, processing_time_s: f64) -> SimConfig {
        SimConfig {
            consumers,
            processing_time_s,
            work: WorkKind::Sleep,
            failure_rate: 0.0,
            ..SimConfig::default()
        }
    }

    #[test]
    fn oversleep_is_per_attempt_failed_ones_included() {
        let counts = RunCounts {
            produced: 2,
            consumed: 1,
            failed: 1,
            attempts: 2,
            // The failed attempt took 14 ms, the successful one 10 ms.
            consumed_time: Duration::from_millis(10),
            busy: Duration::from_millis(24),
            ..RunCounts::default()
        };
        let stats = summarize(&counts, &sleeping(1, 0.01), 1, Duration::from_secs(1));
        assert_eq!(stats.oversleep_ms, Some(2.0));
        assert_eq!(stats.avg_processing_ms, 10.0);
    }

    #[test]
    fn efficiency_is_against_the_ideal_for_attempts_as_timed() {
        // 2 consumers of 10 ms attempts that took 12.5 ms: 160 items/s as timed.
        let counts = RunCounts {
            produced: 160,
            consumed: 160,
            attempts: 160,
            consumed_time: Duration::from_millis(2000),
            busy: Duration::from_millis(2000),
            ..RunCounts::default()
        };
        let stats = summarize(&counts, &sleeping(1, 0.01), 2, Duration::from_secs(1));
        assert_eq!(stats.ideal_throughput_per_s, Some(200.0));
        assert_eq!(stats.throughput_per_s, 160.0);
        assert_eq!(stats.efficiency, Some(1.0));
    }

    #[test]
    fn figures_are_rounded_as_reports_show_them() {
        let counts = RunCounts {
            produced: 3,
            consumed: 3,
            attempts: 3,
            consumed_time: Duration::from_nanos(10_000_001),
            busy: Duration::from_nanos(10_000_001),
            ..RunCounts::default()
        };
        let stats = summarize(
            &counts,
            &sleeping(1, 0.0),
            1,
            Duration::from_nanos(7_000_123_456),
        );
        assert_eq!(stats.elapsed_ms, 7000.123);
        assert_eq!(stats.throughput_per_s, 0.429);
        assert_eq!(stats.avg_processing_ms, 3.333);
        assert_eq!(
            stats.oversleep_ms, None,
            "no processing time: nothing to oversleep"
        );
    }
}
