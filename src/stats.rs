//! Counting outcomes without sharing: every thread keeps its own `Recorder`,
//! and the recorders are merged once the threads have been joined.
//!
//! No counter is touched by two threads, so there is no lock on the hot path and
//! no lost update — the race the Python seed warns about cannot happen, and the
//! compiler would reject the racy version anyway.

use std::collections::BinaryHeap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::item::{TaskId, TaskStatus, WorkItem, WorkResult, WorkerId};

/// How much of a run the report keeps beyond its counts and its sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Record {
    /// The counts and `results_sample` only: memory stays flat however many
    /// items run.
    #[default]
    Sample,
    /// Also every item's final result, in [`Report::all_results`](crate::Report::all_results) — for tests;
    /// memory grows with the number of items.
    AllResults,
    /// Every result and the queue's depth after every put: what a
    /// [`Trace`](crate::trace::Trace) writes. Memory grows with the number of items.
    Trace,
}

impl Record {
    /// Whether every item's final result is kept.
    pub(crate) fn keeps_all_results(self) -> bool {
        self != Record::Sample
    }

    /// Whether the depth after every put is kept.
    pub(crate) fn keeps_depth(self) -> bool {
        self == Record::Trace
    }
}

/// Final outcomes counted by one thread, plus the results it keeps.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    pub(crate) tally: Tally,
    sample: Sample,
    all: Option<Vec<WorkResult>>,
}

/// How many items ended which way, and related sums.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Tally {
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) dead_lettered: u64,
    pub(crate) unprocessed: u64,
    pub(crate) retried: u64,
    /// Summed duration of the successful attempts, for `avg_processing_ms`.
    pub(crate) completed_time: Duration,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.completed += other.completed;
        self.failed += other.failed;
        self.dead_lettered += other.dead_lettered;
        self.unprocessed += other.unprocessed;
        self.retried += other.retried;
        self.completed_time += other.completed_time;
    }
}

impl Recorder {
    /// A recorder keeping a sample of `sample_size` results, and every result if
    /// `record` asks for them.
    pub(crate) fn new(sample_size: usize, record: Record) -> Self {
        Recorder {
            tally: Tally::default(),
            sample: Sample::new(sample_size),
            all: record.keeps_all_results().then(Vec::new),
        }
    }

    /// Records an item's final result.
    pub(crate) fn finish(&mut self, result: WorkResult) {
        self.finish_with(result.status, result.task_id, || result);
    }

    /// Records an item's final status; `result` is built only if it is kept.
    ///
    /// Most results are only counted: building a full [`WorkResult`] for each of
    /// millions of items would cost more than the queue itself.
    pub(crate) fn finish_with(
        &mut self,
        status: TaskStatus,
        id: TaskId,
        result: impl FnOnce() -> WorkResult,
    ) {
        let tally = &mut self.tally;
        match status {
            TaskStatus::Completed => tally.completed += 1,
            TaskStatus::Failed => tally.failed += 1,
            TaskStatus::DeadLettered => tally.dead_lettered += 1,
            TaskStatus::Unprocessed => tally.unprocessed += 1,
        }
        let sampled = status != TaskStatus::Unprocessed && self.sample.wants(id);
        if !sampled && self.all.is_none() {
            return;
        }
        let result = result();
        if let Some(all) = &mut self.all {
            all.push(result.clone());
        }
        if sampled {
            self.sample.offer(result);
        }
    }

    /// Records an item that never reached an end.
    pub(crate) fn unprocessed(&mut self, item: &WorkItem) {
        if self.all.is_some() {
            self.finish(WorkResult::unprocessed(item));
        } else {
            // Cheap path: unprocessed items are never shown in the sample.
            self.tally.unprocessed += 1;
        }
    }

    /// Records `count` items that never reached an end. `items` makes them,
    /// one by one, only if every result is kept; otherwise this is O(1).
    pub(crate) fn unprocessed_many<I: Iterator<Item = WorkItem>>(
        &mut self,
        count: u64,
        items: impl FnOnce() -> I,
    ) {
        if self.all.is_some() {
            items().for_each(|item| self.finish(WorkResult::unprocessed(&item)));
        } else {
            self.tally.unprocessed += count;
        }
    }

    /// Folds another thread's recorder into this one.
    pub(crate) fn merge(&mut self, other: Recorder) {
        self.tally.add(&other.tally);
        for result in other.sample.heap {
            self.sample.offer(result.0);
        }
        if let (Some(all), Some(other)) = (&mut self.all, other.all) {
            all.extend(other);
        }
    }

    /// The sample, lowest task id first, and every result if they were kept.
    pub(crate) fn into_results(self) -> (Vec<WorkResult>, Option<Vec<WorkResult>>) {
        let mut sample: Vec<WorkResult> = self.sample.heap.into_iter().map(|r| r.0).collect();
        sample.sort_by_key(|r| r.task_id);
        (sample, self.all)
    }
}

/// Keeps the finished results with the lowest task ids, at most `size` of them.
///
/// The lowest ids, not the first to finish: which items finish first depends on
/// scheduling, while the lowest ids make the sample the same on every run with
/// the same seed. Memory stays at `size` results however many items run.
#[derive(Debug, Default)]
struct Sample {
    size: usize,
    heap: BinaryHeap<ByTaskId>,
}

#[derive(Debug)]
struct ByTaskId(WorkResult);

impl PartialEq for ByTaskId {
    fn eq(&self, other: &Self) -> bool {
        self.0.task_id == other.0.task_id
    }
}
impl Eq for ByTaskId {}
impl PartialOrd for ByTaskId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByTaskId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.task_id.cmp(&other.0.task_id)
    }
}

impl Sample {
    fn new(size: usize) -> Self {
        Sample {
            size,
            heap: BinaryHeap::with_capacity(size.min(1024)),
        }
    }

    /// Whether a result for `id` would be kept.
    fn wants(&self, id: TaskId) -> bool {
        // The heap's top is the highest id kept.
        self.heap.len() < self.size || self.heap.peek().is_some_and(|top| id < top.0.task_id)
    }

    fn offer(&mut self, result: WorkResult) {
        if result.status == TaskStatus::Unprocessed || !self.wants(result.task_id) {
            return;
        }
        if self.heap.len() == self.size {
            self.heap.pop();
        }
        self.heap.push(ByTaskId(result));
    }
}

/// How a consumer's loop ended; serialized by its [`name`](Self::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerExit {
    /// The queue closed and was empty: the normal end.
    Finished,
    /// No item arrived within `--timeout`.
    IdleTimeout,
    /// The run was interrupted; the worker finished its item in hand and left.
    Interrupted,
}

/// One consumer's statistics, an entry of the report's `workers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// The worker.
    pub id: WorkerId,
    /// Attempts it ran, successful or not.
    pub processed: u64,
    /// Of those, attempts that failed.
    pub failed: u64,
    /// Mean duration of its attempts, in milliseconds (0 if it ran none).
    pub avg_processing_ms: f64,
    /// Time spent running attempts, in milliseconds — not waiting for items.
    pub busy_ms: f64,
    /// How its loop ended.
    pub exit: WorkerExit,
}

/// Per-attempt bookkeeping of one consumer.
#[derive(Debug)]
pub(crate) struct WorkerClock {
    pub(crate) processed: u64,
    pub(crate) failed: u64,
    pub(crate) busy: Duration,
}

impl WorkerClock {
    pub(crate) fn new() -> Self {
        WorkerClock {
            processed: 0,
            failed: 0,
            busy: Duration::ZERO,
        }
    }

    pub(crate) fn attempt(&mut self, took: Duration, ok: bool) {
        self.processed += 1;
        self.failed += u64::from(!ok);
        self.busy += took;
    }

    pub(crate) fn into_stats(self, id: WorkerId, exit: WorkerExit) -> WorkerStats {
        WorkerStats {
            id,
            processed: self.processed,
            failed: self.failed,
            avg_processing_ms: mean_ms(self.busy, self.processed),
            busy_ms: ms(self.busy),
            exit,
        }
    }
}

/// The run's totals: the report's `stats`.
///
/// The **accounting identity** holds for every run:
/// `produced == consumed + failed + dead_lettered + unprocessed`.
/// And every attempt is counted once: the workers' `processed` add up to
/// `consumed + failed + dead_lettered + retried`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationStats {
    /// Items the producers made: all of `num_items` unless the run was interrupted.
    pub produced: u64,
    /// Items processed successfully.
    pub consumed: u64,
    /// Items whose attempt failed with no retry left to make (`--retries 0`), or whose job panicked.
    pub failed: u64,
    /// Re-queued attempts: how many times a failed item was given another try.
    pub retried: u64,
    /// Items that failed all `1 + retries` attempts (only with `--retries` > 0).
    pub dead_lettered: u64,
    /// Items that never reached an end: refused or left queued when every consumer
    /// timed out, or left behind by an interrupt.
    pub unprocessed: u64,
    /// Mean duration of successful attempts, in milliseconds (0 if there were none).
    pub avg_processing_ms: f64,
    /// Sleeping work: how much longer than `processing_time_s` an attempt lasted,
    /// on average, in milliseconds — the host's timer and scheduler waking the
    /// sleeper late, not the queue. `null` for spin work (its time is CPU time,
    /// counted exactly), zero processing time, or no attempt.
    pub oversleep_ms: Option<f64>,
    /// Most items waiting in the queue at once, measured at every put; never above the capacity.
    pub max_queue_depth: usize,
    /// Wall-clock time of the run, from the first thread started to the last joined.
    pub elapsed_ms: f64,
    /// Items that reached an end (consumed, failed or dead-lettered) per second.
    pub throughput_per_s: f64,
    /// What queueing theory predicts for this configuration; `null` when nothing
    /// limits it (zero processing time and no `--rate`).
    pub ideal_throughput_per_s: Option<f64>,
    /// How close the run came to its ideal, as a share: `throughput_per_s` over
    /// the ideal for attempts as long as they really lasted (for sleeping work,
    /// `processing_time_s` plus `oversleep_ms`), so that it measures queueing,
    /// not the host's timer. `null` when there is no ideal, no item was produced
    /// (`--items 0`), or the ratio is too large to be a number (an ideal next to
    /// zero, such as `--rate 5e-324`).
    pub efficiency: Option<f64>,
    /// Cores this machine offers: what limits spinning (CPU-bound) consumers.
    pub available_cores: usize,
    /// Consumers that exited because no item came within `--timeout`.
    pub consumers_timed_out: usize,
}

impl WorkerExit {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            WorkerExit::Finished => "finished",
            WorkerExit::IdleTimeout => "idle_timeout",
            WorkerExit::Interrupted => "interrupted",
        }
    }
}

impl Serialize for WorkerExit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for WorkerExit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        [
            WorkerExit::Finished,
            WorkerExit::IdleTimeout,
            WorkerExit::Interrupted,
        ]
        .into_iter()
        .find(|exit| exit.name() == name)
        .ok_or_else(|| serde::de::Error::custom(format!("no worker exit is named {name:?}")))
    }
}

impl SimulationStats {
    /// The first accounting identity: every produced item is accounted for
    /// exactly once — `produced == consumed + failed + dead_lettered + unprocessed`.
    pub fn accounting_holds(&self) -> bool {
        self.produced == self.consumed + self.failed + self.dead_lettered + self.unprocessed
    }

    /// The second: every attempt is counted once, by the worker that ran it —
    /// the `workers`' `processed` add up to `consumed + failed + dead_lettered + retried`.
    pub fn attempts_add_up(&self, workers: &[WorkerStats]) -> bool {
        let attempts: u64 = workers.iter().map(|w| w.processed).sum();
        attempts == self.consumed + self.failed + self.dead_lettered + self.retried
    }
}

/// Milliseconds, for reports, to the microsecond.
pub(crate) fn ms(duration: Duration) -> f64 {
    round_to(duration.as_secs_f64() * 1e3, 3)
}

/// `value` rounded to `decimals` places: reports show what is meaningful, not
/// floating-point noise.
pub(crate) fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// A rate for reports: to the hundredth, but never rounded away entirely — a
/// rate below one keeps three significant digits (`--rate 1e-19` reads
/// `1e-19`, not `0.0`).
pub(crate) fn round_rate(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() || value.abs() >= 1.0 {
        return round_to(value, 2);
    }
    let digits = 3 - value.abs().log10().ceil() as i32;
    // 10^digits overflows for the smallest subnormals: there, the value is its own rounding.
    let rounded = round_to(value, digits);
    if rounded.is_finite() { rounded } else { value }
}

/// Mean of `total` over `count`, in milliseconds; 0 for no count rather than NaN.
pub(crate) fn mean_ms(total: Duration, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        round_to(total.as_secs_f64() * 1e3 / count as f64, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: u64, status: TaskStatus) -> WorkResult {
        WorkResult {
            task_id: TaskId(id),
            priority: 0,
            status,
            worker: Some(WorkerId(0)),
            attempts: 1,
            started_ms: 0.0,
            duration_ms: 1.0,
            error: None,
        }
    }

    #[test]
    fn the_sample_keeps_the_lowest_ids_whatever_the_order() {
        let mut recorder = Recorder::new(3, Record::Sample);
        for id in [9, 4, 7, 1, 8, 2, 6] {
            recorder.finish(result(id, TaskStatus::Completed));
        }
        let (sample, all) = recorder.into_results();
        let ids: Vec<u64> = sample.iter().map(|r| r.task_id.0).collect();
        assert_eq!(ids, [1, 2, 4]);
        assert!(all.is_none());
    }

    #[test]
    fn merging_adds_tallies_and_keeps_the_lowest_ids_of_both() {
        let mut a = Recorder::new(2, Record::AllResults);
        let mut b = Recorder::new(2, Record::AllResults);
        a.finish(result(5, TaskStatus::Completed));
        a.finish(result(3, TaskStatus::Failed));
        b.finish(result(1, TaskStatus::DeadLettered));
        b.unprocessed(&WorkItem::new(0, 0));
        a.merge(b);
        assert_eq!(
            (
                a.tally.completed,
                a.tally.failed,
                a.tally.dead_lettered,
                a.tally.unprocessed
            ),
            (1, 1, 1, 1)
        );
        let (sample, all) = a.into_results();
        assert_eq!(
            sample.iter().map(|r| r.task_id.0).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(all.map(|all| all.len()), Some(4));
    }

    #[test]
    fn a_zero_sample_keeps_nothing() {
        let mut recorder = Recorder::new(0, Record::Sample);
        recorder.finish(result(1, TaskStatus::Completed));
        assert!(recorder.into_results().0.is_empty());
    }

    #[test]
    fn rates_keep_what_is_meaningful_and_never_round_to_zero() {
        assert_eq!(round_rate(228.571_428), 228.57);
        assert_eq!(round_rate(0.0), 0.0);
        assert_eq!(round_rate(0.004_567_8), 0.004_57);
        assert_eq!(round_rate(1.234e-19), 1.23e-19);
        assert!(round_rate(5e-324) > 0.0);
    }

    #[test]
    fn averages_of_nothing_are_zero_not_nan() {
        assert_eq!(mean_ms(Duration::ZERO, 0), 0.0);
        let stats = WorkerClock::new().into_stats(WorkerId(0), WorkerExit::Finished);
        assert_eq!(stats.avg_processing_ms, 0.0);
    }

    #[test]
    fn a_worker_averages_over_its_attempts() {
        let mut clock = WorkerClock::new();
        clock.attempt(Duration::from_millis(10), true);
        clock.attempt(Duration::from_millis(30), false);
        let stats = clock.into_stats(WorkerId(1), WorkerExit::Finished);
        assert_eq!((stats.processed, stats.failed), (2, 1));
        assert!((stats.avg_processing_ms - 20.0).abs() < 1e-9);
        assert!((stats.busy_ms - 40.0).abs() < 1e-9);
    }
}
