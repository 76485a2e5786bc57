//! Consumers: take items until the queue closes, run each attempt, retry or
//! dead-letter failures, and keep their own statistics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::config::SimConfig;
use crate::item::{TaskStatus, WorkItem, WorkResult, WorkerId};
use crate::job::{self, Job};
use crate::queue::{GetError, QueueReceiver};
use crate::stats::{Record, Recorder, WorkerClock, WorkerExit, WorkerStats, ms};
use crate::stop::{StopReason, StopSignal};

/// What every consumer shares.
pub(crate) struct ConsumerSetup<'a, J: ?Sized> {
    /// How much each consumer's recorder keeps.
    pub(crate) record: Record,
    /// Results kept in the sample.
    pub(crate) sample: usize,
    pub(crate) job: &'a J,
    pub(crate) retries: u32,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stop: &'a StopSignal,
    /// Failed items waiting for another attempt; see [`RetryLane`].
    pub(crate) retry_lane: RetryLane,
    /// Times attempts. Two clock reads per item are a consumer's biggest fixed cost
    /// at zero processing time: quanta's raw reads take the CPU's time-stamp
    /// counter instead of making a `clock_gettime` call (the README's Performance
    /// section has both costs, measured).
    pub(crate) clock: quanta::Clock,
    /// `clock.raw()` when the run started.
    pub(crate) run_started: u64,
}

// ANCHOR: retry_lane
/// Where failed items wait for another attempt.
///
/// Why not put them back into the main queue? A consumer that held a sender of
/// the queue it reads would keep it open forever (it never closes while a sender
/// lives), and with a full bounded queue every consumer could block putting while
/// nobody gets: a deadlock. The lane is unbounded but cannot grow past the number
/// of consumers: each consumer checks it before the main queue, so a consumer
/// that puts an item in takes one out on its very next turn.
#[derive(Clone)]
pub(crate) struct RetryLane {
    pub(crate) sender: Sender<WorkItem>,
    pub(crate) receiver: Receiver<WorkItem>,
}
// ANCHOR_END: retry_lane

impl RetryLane {
    pub(crate) fn new() -> Self {
        let (sender, receiver) = crossbeam_channel::unbounded();
        RetryLane { sender, receiver }
    }

    /// Hands every item still waiting for another attempt to `leftover`.
    pub(crate) fn drain(&self, mut leftover: impl FnMut(WorkItem)) {
        while let Ok(item) = self.receiver.try_recv() {
            leftover(item);
        }
    }
}

impl<'a, J: Job + ?Sized> ConsumerSetup<'a, J> {
    /// What the consumers of a run of `config` share.
    pub(crate) fn new(
        config: &SimConfig,
        job: &'a J,
        stop: &'a StopSignal,
        record: Record,
    ) -> Self {
        let clock = quanta::Clock::new();
        ConsumerSetup {
            record,
            sample: config.sample,
            job,
            retries: config.retries,
            idle_timeout: config.timeout(),
            stop,
            retry_lane: RetryLane::new(),
            run_started: clock.raw(),
            clock,
        }
    }
}

/// What one consumer did.
pub(crate) struct ConsumerReport {
    pub(crate) stats: WorkerStats,
    pub(crate) recorder: Recorder,
}

/// Runs one consumer until the queue closes, it idles past the timeout, or the
/// run is interrupted. `finished` counts its finished items for the progress bar.
pub(crate) fn consume<R, J>(
    setup: &ConsumerSetup<'_, J>,
    worker: WorkerId,
    queue: R,
    finished: &AtomicU64,
) -> ConsumerReport
where
    R: QueueReceiver<WorkItem>,
    J: Job + ?Sized,
{
    let mut clock = WorkerClock::new();
    let mut recorder = Recorder::new(setup.sample, setup.record);
    let exit = loop {
        if setup.stop.reason() == Some(StopReason::Interrupted) {
            break WorkerExit::Interrupted;
        }
        let item = match next_item(setup, &queue) {
            Ok(item) => item,
            Err(exit) => break exit,
        };
        let started = setup.clock.raw();
        let outcome = job::attempt(setup.job, &item);
        let took = Duration::from_nanos(setup.clock.delta_as_nanos(started, setup.clock.raw()));
        clock.attempt(took, outcome.is_ok());
        let (status, error) = match judge(setup, &item, outcome) {
            Judged::Retry => {
                recorder.tally.retried += 1;
                if setup.retry_lane.sender.send(item.retry()).is_err() {
                    unreachable!(
                        "the run holds a retry-lane receiver until every consumer is joined"
                    );
                }
                continue;
            }
            Judged::Finished(status, error) => (status, error),
        };
        if status == TaskStatus::Completed {
            recorder.tally.completed_time += took;
        }
        recorder.finish_with(status, item.task_id(), || WorkResult {
            task_id: item.task_id(),
            priority: item.priority,
            status,
            worker: Some(worker),
            attempts: item.attempt,
            started_ms: ms(Duration::from_nanos(
                setup.clock.delta_as_nanos(setup.run_started, started),
            )),
            duration_ms: ms(took),
            error,
        });
        // Only this thread writes its counter, so a plain store is enough.
        finished.store(finished.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    };
    ConsumerReport {
        stats: clock.into_stats(worker, exit),
        recorder,
    }
}

/// What an attempt's outcome makes of its item.
enum Judged {
    /// It is done, with this status and, unless completed, its error.
    Finished(TaskStatus, Option<String>),
    /// It goes back to the retry lane for another attempt.
    Retry,
}

/// Whether an attempt leaves its item finished (and how) or to be retried:
/// the retry rule in one place.
fn judge<J: Job + ?Sized>(
    setup: &ConsumerSetup<'_, J>,
    item: &WorkItem,
    outcome: Result<(), job::AttemptError>,
) -> Judged {
    match outcome {
        Ok(()) => Judged::Finished(TaskStatus::Completed, None),
        // A panic is a bug, not a passing fault: retrying would panic again.
        Err(e) if !e.panicked && item.attempt <= setup.retries => Judged::Retry,
        Err(e) if e.panicked || setup.retries == 0 => {
            Judged::Finished(TaskStatus::Failed, Some(e.message))
        }
        Err(e) => Judged::Finished(TaskStatus::DeadLettered, Some(e.message)),
    }
}

/// The next item: a retry first, otherwise the main queue.
fn next_item<R, J>(setup: &ConsumerSetup<'_, J>, queue: &R) -> Result<WorkItem, WorkerExit>
where
    R: QueueReceiver<WorkItem>,
    J: Job + ?Sized,
{
    if setup.retries > 0
        && let Ok(item) = setup.retry_lane.receiver.try_recv()
    {
        return Ok(item);
    }
    match setup.idle_timeout {
        None => queue.get().ok_or(WorkerExit::Finished),
        Some(timeout) => queue.get_timeout(timeout).map_err(|e| match e {
            GetError::Empty => WorkerExit::IdleTimeout,
            GetError::Closed => WorkerExit::Finished,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{ChannelQueue, QueueSender, WorkQueue};

    fn setup<'a>(
        job: &'a (dyn Job + 'a),
        retries: u32,
        idle_timeout: Option<Duration>,
        stop: &'a StopSignal,
    ) -> ConsumerSetup<'a, dyn Job + 'a> {
        let config = SimConfig {
            retries,
            timeout_s: idle_timeout.map(|t| t.as_secs_f64()),
            sample: 10,
            ..SimConfig::default()
        };
        ConsumerSetup::new(&config, job, stop, Record::Sample)
    }

    fn queue_of(ids: std::ops::Range<u64>) -> <ChannelQueue as WorkQueue<WorkItem>>::Receiver {
        let (tx, rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(64);
        for id in ids {
            tx.put(WorkItem::new(id, 0)).unwrap();
        }
        rx // `tx` is dropped: the queue is closed behind the items
    }

    #[test]
    fn a_retried_item_comes_back_through_the_lane_and_the_lane_ends_empty() {
        let fails_first_time = |item: &WorkItem| {
            if item.attempt == 1 {
                Err("flaky".to_string())
            } else {
                Ok(())
            }
        };
        let stop = StopSignal::new();
        let setup = setup(&fails_first_time, 1, None, &stop);
        let report = consume(&setup, WorkerId(0), queue_of(0..10), &AtomicU64::new(0));
        assert_eq!(report.recorder.tally.completed, 10);
        assert_eq!(report.recorder.tally.retried, 10);
        assert_eq!((report.stats.processed, report.stats.failed), (20, 10));
        assert!(setup.retry_lane.receiver.is_empty());
        let (sample, _) = report.recorder.into_results();
        assert!(sample.iter().all(|r| r.attempts == 2));
    }

    #[test]
    fn an_idle_consumer_leaves_after_the_timeout() {
        let (_tx, rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(4);
        let ok = |_: &WorkItem| Ok(());
        let stop = StopSignal::new();
        let setup = setup(&ok, 0, Some(Duration::from_millis(20)), &stop);
        let report = consume(&setup, WorkerId(3), rx, &AtomicU64::new(0));
        assert_eq!(report.stats.exit, WorkerExit::IdleTimeout);
    }

    #[test]
    fn an_interrupted_consumer_takes_no_more_items() {
        let ok = |_: &WorkItem| Ok(());
        let stop = StopSignal::new();
        stop.raise(StopReason::Interrupted);
        let setup = setup(&ok, 0, None, &stop);
        let report = consume(&setup, WorkerId(0), queue_of(0..5), &AtomicU64::new(0));
        assert_eq!(report.stats.exit, WorkerExit::Interrupted);
        assert_eq!(report.stats.processed, 0);
    }

    #[test]
    fn the_progress_counter_counts_finished_items() {
        let ok = |_: &WorkItem| Ok(());
        let stop = StopSignal::new();
        let finished = AtomicU64::new(0);
        consume(
            &setup(&ok, 0, None, &stop),
            WorkerId(0),
            queue_of(0..7),
            &finished,
        );
        assert_eq!(finished.load(Ordering::Relaxed), 7);
    }
}
