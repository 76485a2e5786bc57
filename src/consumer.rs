//! Consumers: take items until the queue closes, run each attempt, retry or
//! dead-letter failures, and keep their own statistics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::item::{TaskStatus, WorkItem, WorkResult, WorkerId};
use crate::job::{self, Job};
use crate::queue::{PopTimeoutError, QueueReceiver};
use crate::stats::{Recorder, WorkerClock, WorkerExit, WorkerStats, ms};
use crate::stop::{StopReason, StopSignal};

/// What every consumer shares.
pub(crate) struct ConsumerSetup<'a, J: ?Sized> {
    pub(crate) job: &'a J,
    pub(crate) retries: u32,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) stop: &'a StopSignal,
    /// Failed items waiting for another attempt; see [`RetryLane`].
    pub(crate) retry_lane: RetryLane,
    /// Times attempts. Two clock reads per item are a consumer's biggest fixed cost
    /// at zero processing time: quanta's raw reads take the CPU's time-stamp
    /// counter (a few ns) instead of calling `clock_gettime` (about 35 ns here).
    pub(crate) clock: quanta::Clock,
    /// `clock.raw()` when the run started.
    pub(crate) run_started: u64,
}

/// Where failed items wait for another attempt.
///
/// Why not push them back into the main queue? A consumer that held a sender of
/// the queue it reads would keep it open forever (it never closes while a sender
/// lives), and with a full bounded queue every consumer could block pushing while
/// nobody pops: a deadlock. The lane is unbounded but cannot grow past the number
/// of consumers: each consumer checks it before the main queue, so a consumer
/// that puts an item in takes one out on its very next turn.
#[derive(Clone)]
pub(crate) struct RetryLane {
    pub(crate) sender: Sender<WorkItem>,
    pub(crate) receiver: Receiver<WorkItem>,
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
    mut recorder: Recorder,
    finished: &AtomicU64,
) -> ConsumerReport
where
    R: QueueReceiver<WorkItem>,
    J: Job + ?Sized,
{
    let mut clock = WorkerClock::new();
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
        let (status, error) = match outcome {
            Ok(()) => {
                recorder.tally.completed_time += took;
                (TaskStatus::Completed, None)
            }
            // A panic is a bug, not a passing fault: retrying would panic again.
            Err(e) if !e.panicked && item.attempt <= setup.retries => {
                recorder.tally.retried += 1;
                if setup.retry_lane.sender.send(item.retry()).is_err() {
                    unreachable!(
                        "the run holds a retry-lane receiver until every consumer is joined"
                    );
                }
                continue;
            }
            Err(e) if e.panicked || setup.retries == 0 => (TaskStatus::Failed, Some(e.message)),
            Err(e) => (TaskStatus::DeadLettered, Some(e.message)),
        };
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
        None => queue.pop().map_err(|_| WorkerExit::Finished),
        Some(timeout) => queue.pop_timeout(timeout).map_err(|e| match e {
            PopTimeoutError::TimedOut => WorkerExit::IdleTimeout,
            PopTimeoutError::Closed => WorkerExit::Finished,
        }),
    }
}
