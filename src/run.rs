//! One simulation run: start consumers and producers, shut down cleanly, and
//! hand what every thread did to the report.
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

use std::any::Any;
use std::panic;
use std::thread::{self, Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use crate::choice::QueueKind;
use crate::config::{ConfigError, SimConfig};
use crate::consumer::{self, ConsumerReport, ConsumerSetup};
use crate::item::{WorkItem, WorkerId};
use crate::job::{Job, SimulatedJob};
use crate::observe::{Counters, Observer, Watching};
use crate::producer::{self, ProducerPlan, ProducerReport};
use crate::queue::{
    ChannelQueue, CondvarQueue, PriorityQueue, QueueReceiver, QueueSender, WorkQueue,
};
use crate::report::Report;
use crate::stats::{Record, Recorder};
use crate::stop::{StopReason, StopSignal};
use crate::summary::RunTotals;

/// Options of a run that are not part of its configuration.
#[derive(Clone, Default)]
pub struct RunOptions<'a> {
    /// Raise it (e.g. from a Ctrl-C handler) to stop the run early.
    pub stop: StopSignal,
    /// How much the report keeps beyond its counts and sample.
    pub record: Record,
    /// Watches the run while it goes on (the binary's progress bar is one).
    pub observer: Option<&'a dyn Observer>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("stop", &self.stop)
            .field("record", &self.record)
            .field("observer", &self.observer.is_some())
            .finish()
    }
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
    options: RunOptions<'_>,
) -> Result<Report, RunError> {
    config.validate()?;
    let config = &config.normalized();
    match config.queue {
        QueueKind::Channel => drive::<ChannelQueue, J>(config, job, &options),
        QueueKind::Condvar => drive::<CondvarQueue, J>(config, job, &options),
        QueueKind::Priority => drive::<PriorityQueue, J>(config, job, &options),
    }
}

/// The threads of one run, as they were started.
struct Threads<'scope> {
    consumers: Vec<ScopedJoinHandle<'scope, ConsumerReport>>,
    producers: Vec<ScopedJoinHandle<'scope, ProducerReport>>,
    /// The operating system refused a thread; no more were started.
    refused: Option<std::io::Error>,
}

/// What the threads of one run hand back.
struct Outcome {
    consumers: Vec<ConsumerReport>,
    producers: Vec<ProducerReport>,
    leftovers: Recorder,
    elapsed: Duration,
}

fn drive<Q, J>(config: &SimConfig, job: &J, options: &RunOptions<'_>) -> Result<Report, RunError>
where
    Q: WorkQueue<WorkItem>,
    J: Job + ?Sized,
{
    let stop = &options.stop;
    let (sender, receiver) = Q::bounded(config.capacity);
    let setup = ConsumerSetup::new(config, job, stop, options.record);
    let ended = Counters::new(config.consumers);
    let started = Instant::now();
    let (outcome, refused) = thread::scope(|scope| {
        let watching = options
            .observer
            .map(|observer| Watching::start(scope, observer, config.items, &ended));
        let mut threads = start_consumers(scope, &setup, &receiver, &ended);
        if threads.refused.is_none() {
            start_producers(
                scope,
                &mut threads,
                config,
                &sender,
                stop,
                started,
                options.record,
            );
        }
        if threads.refused.is_some() {
            stop.raise(StopReason::Interrupted);
        }
        let refused = threads.refused.take();
        let outcome = shut_down::<Q, J>(threads, sender, &receiver, &setup, started);
        if let Some(watching) = watching {
            watching.finish();
        }
        (outcome, refused)
    });
    if let Some(e) = refused {
        return Err(RunError::Spawn(e));
    }
    // A panic outside a job is a bug in the simulator: shut down first, then report it.
    let outcome = outcome.unwrap_or_else(|payload| panic::resume_unwind(payload));
    Ok(report(config, stop, outcome))
}

/// Starts one consumer per `config.consumers`, each counting its ended items in
/// its own counter of `ended`.
fn start_consumers<'scope, 'env, R, J>(
    scope: &'scope Scope<'scope, 'env>,
    setup: &'env ConsumerSetup<'env, J>,
    receiver: &R,
    ended: &'env Counters,
) -> Threads<'scope>
where
    R: QueueReceiver<WorkItem> + 'env,
    J: Job + ?Sized,
{
    let mut threads = Threads {
        consumers: Vec::new(),
        producers: Vec::new(),
        refused: None,
    };
    for index in 0..ended.len() {
        let queue = receiver.clone();
        let spawned = thread::Builder::new()
            .name(WorkerId(index).to_string())
            .spawn_scoped(scope, move || {
                consumer::consume(setup, WorkerId(index), queue, ended.of(index))
            });
        match spawned {
            Ok(handle) => threads.consumers.push(handle),
            Err(e) => {
                threads.refused = Some(e);
                break;
            }
        }
    }
    threads
}

/// Starts `config.producers` producers, each with its share of the items.
fn start_producers<'scope, 'env, S>(
    scope: &'scope Scope<'scope, 'env>,
    threads: &mut Threads<'scope>,
    config: &SimConfig,
    sender: &S,
    stop: &'env StopSignal,
    started: Instant,
    record: Record,
) where
    S: QueueSender<WorkItem> + 'env,
{
    for index in 0..config.producers {
        let plan = ProducerPlan::new(config, index, started, record);
        let queue = sender.clone();
        let spawned = thread::Builder::new()
            .name(format!("producer-{index}"))
            .spawn_scoped(scope, move || producer::produce(&plan, queue, stop));
        match spawned {
            Ok(handle) => threads.producers.push(handle),
            Err(e) => {
                threads.refused = Some(e);
                break;
            }
        }
    }
}

// ANCHOR: shutdown
/// Shuts the run down in the order the module's documentation gives, joining
/// every thread even after one has panicked; hands back the first panic.
fn shut_down<Q, J>(
    threads: Threads<'_>,
    sender: Q::Sender,
    receiver: &Q::Receiver,
    setup: &ConsumerSetup<'_, J>,
    started: Instant,
) -> Result<Outcome, Box<dyn Any + Send>>
where
    Q: WorkQueue<WorkItem>,
    J: Job + ?Sized,
{
    // The run's own sender must go, or the queue could never close.
    drop(sender);

    let (consumers, consumer_panic) = join_all(threads.consumers);
    // Every consumer has left; producers still at work have nobody to serve.
    setup.stop.raise(StopReason::ConsumersGone);
    let mut leftovers = Recorder::new(setup.sample, setup.record);
    while let Some(item) = receiver.get() {
        leftovers.unprocessed(&item);
    }
    let (producers, producer_panic) = join_all(threads.producers);
    setup.retry_lane.drain(|item| leftovers.unprocessed(&item));
    let elapsed = started.elapsed();
    match consumer_panic.or(producer_panic) {
        Some(payload) => Err(payload),
        None => Ok(Outcome {
            consumers,
            producers,
            leftovers,
            elapsed,
        }),
    }
}
// ANCHOR_END: shutdown

/// Joins every thread, even after one has panicked, and hands back the first panic.
fn join_all<T>(handles: Vec<ScopedJoinHandle<'_, T>>) -> (Vec<T>, Option<Box<dyn Any + Send>>) {
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

/// Merges what every thread recorded into the run's report.
fn report(config: &SimConfig, stop: &StopSignal, outcome: Outcome) -> Report {
    let mut totals = RunTotals::new(outcome.leftovers);
    let mut depth_trace = None;
    for producer in outcome.producers {
        totals.add_producer(producer.produced, producer.max_depth, producer.recorder);
        if let Some(samples) = producer.depth_trace {
            depth_trace.get_or_insert_with(Vec::new).extend(samples);
        }
    }
    let workers: Vec<_> = outcome
        .consumers
        .into_iter()
        .map(|consumer| {
            totals.add_consumer(consumer.recorder);
            consumer.stats
        })
        .collect();
    let (stats, results_sample, all_results) = totals.summarize(config, outcome.elapsed, &workers);
    Report {
        config: config.clone(),
        interrupted: stop.reason() == Some(StopReason::Interrupted),
        stats,
        workers,
        results_sample,
        all_results,
        depth_trace: depth_trace.map(|mut samples: Vec<_>| {
            // Each producer's samples are in order; together they interleave.
            samples.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
            samples
        }),
    }
}
