//! One simulation run: start consumers and producers, shut down cleanly, account
//! for every item, and report.
//!
//! # Shutdown, in order
//!
//! 1. Producers finish their share and drop their senders; the queue closes when
//!    the last one is gone. No sentinels: a closed, drained queue tells each
//!    consumer — however many there are — to leave.
//! 2. The run joins every consumer.
//! 3. Only then can producers still be running: every consumer left early (idle
//!    timeout) or the user interrupted. The stop signal tells them to stop, and
//!    the run drains what is still queued as *unprocessed* until the last sender
//!    is dropped — so a producer blocked on a full queue is freed, never stuck.
//! 4. What is left in the retry lane is unprocessed too.

use std::panic;
use std::sync::atomic::AtomicU64;
use std::thread::{self, ScopedJoinHandle};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use serde::Serialize;

use crate::config::{ConfigError, QueueKind, SimConfig};
use crate::consumer::{self, ConsumerReport, ConsumerSetup, RetryLane};
use crate::item::{WorkItem, WorkResult, WorkerId};
use crate::job::{Job, SimulatedJob};
use crate::producer::{self, ProducerPlan, ProducerReport};
use crate::progress::Progress;
use crate::queue::{ChannelQueue, CondvarQueue, PriorityQueue, QueueReceiver, WorkQueue};
use crate::stats::{Recorder, SimulationStats, WorkerExit, WorkerStats, mean_ms, ms, round_to};
use crate::stop::{StopReason, StopSignal};
use crate::theory;
use crate::trace::DepthSample;

/// Options of a run that are not part of its configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Raise it (e.g. from a Ctrl-C handler) to stop the run early.
    pub stop: StopSignal,
    /// Keep every item's final result in [`Report::all_results`]; for tests — it
    /// makes memory grow with the number of items.
    pub keep_all_results: bool,
    /// Draw a progress bar on stderr for long runs.
    pub progress: bool,
    /// Record the queue's depth after every put in [`Report::depth_trace`];
    /// with `keep_all_results`, what [`Trace`](crate::trace::Trace) writes.
    /// Memory grows with the number of items.
    pub trace: bool,
}

/// Everything a run reports; serialized as the simulator's JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every effective setting.
    pub config: SimConfig,
    /// The run was stopped by an interrupt before it finished.
    pub interrupted: bool,
    /// The totals.
    pub stats: SimulationStats,
    /// One entry per consumer.
    pub workers: Vec<WorkerStats>,
    /// The final results of the lowest task ids, at most `sample_size` of them.
    pub results_sample: Vec<WorkResult>,
    /// Every item's final result, unprocessed ones included, if asked for.
    #[serde(skip)]
    pub all_results: Option<Vec<WorkResult>>,
    /// The queue's depth after every put, in time order, if asked for.
    #[serde(skip)]
    pub depth_trace: Option<Vec<DepthSample>>,
}

/// Why a run could not take place.
#[derive(Debug)]
pub enum RunError {
    /// The configuration was refused; no thread was started.
    Config(ConfigError),
    /// The operating system refused a thread; the threads already started were
    /// stopped and joined.
    Spawn(std::io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(e) => e.fmt(f),
            RunError::Spawn(e) => write!(f, "could not start a thread: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<ConfigError> for RunError {
    fn from(e: ConfigError) -> Self {
        RunError::Config(e)
    }
}

/// Runs the simulated job described by `config`.
pub fn run(config: &SimConfig) -> Result<Report, RunError> {
    run_with(config, &SimulatedJob::new(config), RunOptions::default())
}

/// Runs `job` on every item, with `config`'s queue, threads and retry policy.
pub fn run_with<J: Job + ?Sized>(
    config: &SimConfig,
    job: &J,
    options: RunOptions,
) -> Result<Report, RunError> {
    config.validate()?;
    match config.queue {
        QueueKind::Channel => drive::<ChannelQueue, J>(config, job, options),
        QueueKind::Condvar => drive::<CondvarQueue, J>(config, job, options),
        QueueKind::Priority => drive::<PriorityQueue, J>(config, job, options),
    }
}

/// What the threads of one run hand back.
struct Outcome {
    consumers: Vec<ConsumerReport>,
    producers: Vec<ProducerReport>,
    leftovers: Recorder,
    spawn_error: Option<std::io::Error>,
}

fn drive<Q, J>(config: &SimConfig, job: &J, options: RunOptions) -> Result<Report, RunError>
where
    Q: WorkQueue<WorkItem>,
    J: Job + ?Sized,
{
    let stop = options.stop;
    let new_recorder = || Recorder::new(config.sample, options.keep_all_results);
    let (sender, receiver) = Q::bounded(config.capacity);
    let (retry_sender, retry_receiver) = crossbeam_channel::unbounded();
    let clock = quanta::Clock::new();
    let setup = ConsumerSetup {
        job,
        retries: config.retries,
        idle_timeout: config.timeout(),
        stop: &stop,
        retry_lane: RetryLane {
            sender: retry_sender,
            receiver: retry_receiver.clone(),
        },
        run_started: clock.raw(),
        clock,
    };
    let finished: Vec<CachePadded<AtomicU64>> = (0..config.consumers)
        .map(|_| CachePadded::new(AtomicU64::new(0)))
        .collect();
    let started = Instant::now();

    let outcome = thread::scope(|scope| {
        let progress = options
            .progress
            .then(|| Progress::start(scope, config.items, &finished));
        let mut spawn_error = None;

        let mut consumer_threads: Vec<ScopedJoinHandle<'_, ConsumerReport>> = Vec::new();
        for (index, counter) in finished.iter().enumerate() {
            let (setup, queue, recorder) = (&setup, receiver.clone(), new_recorder());
            let spawned = thread::Builder::new()
                .name(format!("worker-{index}"))
                .spawn_scoped(scope, move || {
                    consumer::consume(setup, WorkerId(index), queue, recorder, counter)
                });
            match spawned {
                Ok(handle) => consumer_threads.push(handle),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
        }

        let mut producer_threads: Vec<ScopedJoinHandle<'_, ProducerReport>> = Vec::new();
        if spawn_error.is_none() {
            for index in 0..config.producers {
                let plan = ProducerPlan {
                    first: index as u64,
                    stride: config.producers as u64,
                    items: config.items,
                    rate_per_s: config.rate_per_s,
                    priorities: config.priorities,
                    seed: config.seed,
                    started,
                    trace: options.trace,
                };
                let (queue, stop, recorder) = (sender.clone(), &stop, new_recorder());
                let spawned = thread::Builder::new()
                    .name(format!("producer-{index}"))
                    .spawn_scoped(scope, move || {
                        producer::produce(&plan, queue, stop, recorder)
                    });
                match spawned {
                    Ok(handle) => producer_threads.push(handle),
                    Err(e) => {
                        spawn_error = Some(e);
                        break;
                    }
                }
            }
        }
        if spawn_error.is_some() {
            stop.raise(StopReason::Interrupted);
        }
        // ANCHOR: shutdown
        // The run's own sender must go, or the queue could never close.
        drop(sender);

        let (consumers, consumer_panic) = join_all(consumer_threads);
        // Every consumer has left; producers still at work have nobody to serve.
        stop.raise(StopReason::ConsumersGone);
        let mut leftovers = new_recorder();
        while let Some(item) = receiver.get() {
            leftovers.unprocessed(&item);
        }
        let (producers, producer_panic) = join_all(producer_threads);
        // ANCHOR_END: shutdown
        while let Ok(item) = retry_receiver.try_recv() {
            leftovers.unprocessed(&item);
        }
        if let Some(progress) = progress {
            progress.finish();
        }
        // A panic outside a job is a bug in the simulator: shut down first, then report it.
        if let Some(payload) = consumer_panic.or(producer_panic) {
            panic::resume_unwind(payload);
        }
        Outcome {
            consumers,
            producers,
            leftovers,
            spawn_error,
        }
    });
    let elapsed = started.elapsed();

    if let Some(e) = outcome.spawn_error {
        return Err(RunError::Spawn(e));
    }
    let interrupted = stop.reason() == Some(StopReason::Interrupted);
    Ok(build_report(config, outcome, elapsed, interrupted))
}

/// Joins every thread, even after one has panicked, and hands back the first panic.
fn join_all<T>(
    handles: Vec<ScopedJoinHandle<'_, T>>,
) -> (Vec<T>, Option<Box<dyn std::any::Any + Send>>) {
    let mut done = Vec::with_capacity(handles.len());
    let mut first_panic = None;
    for handle in handles {
        match handle.join() {
            Ok(value) => done.push(value),
            Err(payload) => {
                first_panic.get_or_insert(payload);
            }
        }
    }
    (done, first_panic)
}

fn build_report(
    config: &SimConfig,
    outcome: Outcome,
    elapsed: std::time::Duration,
    interrupted: bool,
) -> Report {
    let mut totals = outcome.leftovers;
    let mut produced = 0;
    let mut max_queue_depth = 0;
    let mut depth_trace: Option<Vec<DepthSample>> = None;
    for report in outcome.producers {
        produced += report.produced;
        max_queue_depth = max_queue_depth.max(report.max_depth);
        if let Some(samples) = report.depth_trace {
            depth_trace.get_or_insert_with(Vec::new).extend(samples);
        }
        totals.merge(report.recorder);
    }
    let mut workers = Vec::with_capacity(outcome.consumers.len());
    for report in outcome.consumers {
        workers.push(report.stats);
        totals.merge(report.recorder);
    }
    let tally = totals.tally;
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let ended = tally.completed + tally.failed + tally.dead_lettered;
    let elapsed_s = elapsed.as_secs_f64();
    let throughput_per_s = if elapsed_s > 0.0 {
        ended as f64 / elapsed_s
    } else {
        0.0
    };
    let ideal_throughput_per_s = theory::ideal_throughput_per_s(config, cores);
    let stats = SimulationStats {
        produced,
        consumed: tally.completed,
        failed: tally.failed,
        retried: tally.retried,
        dead_lettered: tally.dead_lettered,
        unprocessed: tally.unprocessed,
        avg_processing_ms: mean_ms(tally.completed_time, tally.completed),
        max_queue_depth,
        elapsed_ms: ms(elapsed),
        throughput_per_s: round_to(throughput_per_s, 2),
        ideal_throughput_per_s: ideal_throughput_per_s.map(|ideal| round_to(ideal, 2)),
        efficiency: ideal_throughput_per_s.map(|ideal| round_to(throughput_per_s / ideal, 4)),
        available_cores: cores,
        consumers_timed_out: workers
            .iter()
            .filter(|w| w.exit == WorkerExit::IdleTimeout)
            .count(),
    };
    debug_assert!(
        stats.accounting_holds(),
        "accounting identity broken: {stats:?}"
    );
    let (results_sample, all_results) = totals.into_results();
    Report {
        config: config.clone(),
        interrupted,
        stats,
        workers,
        results_sample,
        all_results,
        depth_trace: depth_trace.map(|mut samples| {
            // Each producer's samples are in order; together they interleave.
            samples.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
            samples
        }),
    }
}
