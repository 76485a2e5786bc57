//! One run on a broker: set it up, start producers and workers, wait until
//! every item has settled (or the user stops it), report, clean up.

use std::collections::BTreeMap;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

use redis::Commands;

use crate::config::SimConfig;
use crate::job::SimulatedJob;
use crate::stop::{StopReason, StopSignal};
use crate::summary::{self, RunCounts};

use super::connection::{Broker, BrokerError, check_url};
use super::keys::Keys;
use super::keys::entry::{DELIVERIES, ERROR, ITEM};
use super::keys::fields::{
    ATTEMPTS, BUSY_US, CONSUMED, DEAD_LETTERED, FAILED, FAILED_ATTEMPTS, PROCESSING_MS, RECLAIMED,
    REDELIVERED, RETRIED,
};
use super::produce::{self, Produced};
use super::report::{BrokerInfo, BrokerReport, BrokerStats, DeadLetter, MAX_DEAD_LETTERS};
use super::settings::{BrokerSettings, WorkerSettings};
use super::work::run_workers;

/// How often the run looks at its worker processes.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// A run set up on the broker, ready to be driven.
pub struct BrokerRun {
    broker: Broker,
    keys: Keys,
    config: SimConfig,
    settings: BrokerSettings,
    workers: WorkerSettings,
}

impl BrokerRun {
    /// Checks the settings, connects, and creates the run's keys: its settings
    /// (for workers joining from elsewhere) and the consumer group, at id 0 so
    /// that it hands out every entry, also those added before a worker joined.
    pub fn open(config: &SimConfig, settings: &BrokerSettings) -> Result<Self, BrokerError> {
        let config = config.normalized();
        refuse_what_a_broker_cannot_do(&config, settings)?;
        check_url(&settings.url)?;
        let run_id = settings.run_id.clone().unwrap_or_else(new_run_id);
        let keys = Keys::for_run(&run_id);
        let workers = WorkerSettings::for_run(&config, settings);
        let mut broker = Broker::open(&settings.url)?;
        // HSETNX on the first field: two runs given the same id must not mix.
        let fresh: bool = broker
            .con
            .hset_nx(&keys.settings, "run_id", &run_id)
            .map_err(broker.failed("creating the run"))?;
        if !fresh {
            return Err(BrokerError::Refused(format!(
                "--run {run_id}: a run with this id is already on the broker (keys {}*); \
                 choose another id, or leave --run out",
                keys.prefix()
            )));
        }
        let created: redis::RedisResult<()> = redis::pipe()
            .hset_multiple(&keys.settings, &workers.to_store(&config))
            .ignore()
            .cmd("XGROUP")
            .arg("CREATE")
            .arg(&keys.items)
            .arg(&keys.group)
            .arg("0")
            .arg("MKSTREAM")
            .ignore()
            .query(&mut broker.con);
        if let Err(e) = created {
            let _ = clean_up(&mut broker, &keys);
            return Err(broker.failed("creating the run's stream and group")(e));
        }
        Ok(BrokerRun {
            broker,
            keys,
            config,
            settings: settings.clone(),
            workers,
        })
    }

    /// The run's keys (its id and stream names).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Runs the simulation: `config.producers` producer threads add the items;
    /// the workers are `config.consumers` threads here, or the processes
    /// `start_process` starts (`settings.consumer_processes` of them), which
    /// join the run from outside. Returns once every item has settled, the
    /// user stopped the run, or no worker is left; the run's keys are deleted
    /// in every case.
    pub fn drive(
        mut self,
        stop: &StopSignal,
        mut start_process: impl FnMut(&Keys) -> std::io::Result<Child>,
    ) -> Result<BrokerReport, BrokerError> {
        let started = Instant::now();
        let mut processes = Vec::new();
        for _ in 0..self.settings.consumer_processes {
            match start_process(&self.keys) {
                Ok(child) => processes.push(child),
                Err(e) => {
                    end_processes(&mut processes);
                    let _ = clean_up(&mut self.broker, &self.keys);
                    return Err(BrokerError::Spawn(e));
                }
            }
        }
        let outcome = self.produce_and_work(stop, &mut processes);
        end_processes(&mut processes);
        let elapsed = started.elapsed();
        let report = outcome.and_then(|produced| self.report(stop, &produced, elapsed));
        let cleaned = clean_up(&mut self.broker, &self.keys);
        let report = report?;
        cleaned?;
        Ok(report)
    }

    /// The producers and the in-process workers, under one scope; waits for
    /// the worker processes too.
    fn produce_and_work(
        &mut self,
        stop: &StopSignal,
        processes: &mut [Child],
    ) -> Result<Vec<Produced>, BrokerError> {
        let (url, keys, config) = (&self.settings.url, &self.keys, &self.config);
        let (workers, broker) = (&self.workers, &mut self.broker);
        let job = SimulatedJob::new(config);
        let in_process = if processes.is_empty() {
            config.consumers
        } else {
            0
        };
        thread::scope(|scope| {
            let watcher = scope.spawn(move || watch_processes(processes, stop));
            let worker_threads =
                scope.spawn(|| run_workers(url, keys, None, in_process, workers, &job, stop));
            let producers: Vec<_> = (0..config.producers)
                .map(|index| {
                    scope.spawn(move || {
                        let mut broker = Broker::open(url)?;
                        let ids = (index as u64..config.items).step_by(config.producers);
                        produce::produce(&mut broker, keys, ids, config.capacity, stop)
                    })
                })
                .collect();
            let produced: Result<Vec<Produced>, BrokerError> = producers
                .into_iter()
                .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect();
            let closed = match &produced {
                Ok(_) => close(broker, keys),
                Err(_) => {
                    stop.raise(StopReason::Interrupted);
                    Ok(())
                }
            };
            if closed.is_err() {
                stop.raise(StopReason::Interrupted);
            }
            watcher
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            let threads = worker_threads
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            let produced = produced?;
            closed?;
            threads?;
            Ok(produced)
        })
    }

    /// Reads the broker's counts and dead letters into the report.
    fn report(
        &mut self,
        stop: &StopSignal,
        produced: &[Produced],
        elapsed: Duration,
    ) -> Result<BrokerReport, BrokerError> {
        let counts = self.read_counts()?;
        let run_counts = run_counts(&counts, produced);
        let stats = summary::summarize(&run_counts, &self.config, self.workers_in_all(), elapsed);
        let attempts = counts.get(ATTEMPTS);
        let broker = BrokerInfo {
            url: self.settings.url.clone(),
            streams: self.keys.clone(),
            consumer_processes: self.settings.consumer_processes,
            claim_idle_s: self.settings.claim_idle.as_secs_f64(),
            attempts,
            redelivered: counts.get(REDELIVERED),
            reclaimed: counts.get(RECLAIMED),
            processed_twice: attempts
                .saturating_sub(counts.get(FAILED_ATTEMPTS))
                .saturating_sub(run_counts.consumed),
            dead_letters: self.read_dead_letters()?,
        };
        Ok(BrokerReport {
            config: self.config.clone(),
            interrupted: stop.reason() == Some(StopReason::Interrupted),
            stats,
            broker,
            workers: self.read_worker_counts()?,
        })
    }

    /// The run's counts, as the settle and count scripts kept them.
    fn read_counts(&mut self) -> Result<Counts, BrokerError> {
        let counts: BTreeMap<String, f64> = self
            .broker
            .con
            .hgetall(&self.keys.stats)
            .map_err(self.broker.failed("reading the run's counts"))?;
        Ok(Counts(counts))
    }

    /// Each worker's settled items, from the `NAME:OUTCOME` fields of the
    /// workers' counts.
    fn read_worker_counts(&mut self) -> Result<Vec<BrokerStats>, BrokerError> {
        let per_worker: BTreeMap<String, u64> = self
            .broker
            .con
            .hgetall(&self.keys.workers)
            .map_err(self.broker.failed("reading the workers' counts"))?;
        let mut workers: BTreeMap<String, BrokerStats> = BTreeMap::new();
        for (key, value) in per_worker {
            let Some((name, outcome)) = key.rsplit_once(':') else {
                continue;
            };
            let entry = workers
                .entry(name.to_string())
                .or_insert_with(|| BrokerStats {
                    name: name.to_string(),
                    ..BrokerStats::default()
                });
            match outcome {
                CONSUMED => entry.consumed = value,
                FAILED => entry.failed = value,
                _ => entry.dead_lettered = value,
            }
        }
        Ok(workers.into_values().collect())
    }

    /// The first [`MAX_DEAD_LETTERS`] entries of the dead-letter stream.
    fn read_dead_letters(&mut self) -> Result<Vec<DeadLetter>, BrokerError> {
        let dead: redis::streams::StreamRangeReply = self
            .broker
            .con
            .xrange_count(&self.keys.dead, "-", "+", MAX_DEAD_LETTERS)
            .map_err(self.broker.failed("reading the dead letters"))?;
        Ok(dead
            .ids
            .iter()
            .map(|entry| DeadLetter {
                item: entry.get(ITEM).unwrap_or(0),
                deliveries: entry.get(DELIVERIES).unwrap_or(0),
                error: entry.get(ERROR).unwrap_or_default(),
            })
            .collect())
    }

    /// Workers in all: threads here, or threads in each worker process.
    fn workers_in_all(&self) -> usize {
        self.config.consumers * self.settings.consumer_processes.max(1)
    }
}

/// What a stream cannot do that a queue of this process can, refused with the reason.
fn refuse_what_a_broker_cannot_do(
    config: &SimConfig,
    settings: &BrokerSettings,
) -> Result<(), BrokerError> {
    let refuse = |why: String| Err(BrokerError::Refused(why));
    if config.capacity == 0 {
        return refuse(
            "--capacity 0 (a rendezvous) has no broker equivalent: a stream holds what is \
             added until it is read; use --capacity 1 or more with --broker"
                .into(),
        );
    }
    if config.priorities > 1 {
        return refuse(
            "--priorities: a stream is served in order; leave it out with --broker".into(),
        );
    }
    if config.rate_per_s.is_some() {
        return refuse(
            "--rate is not supported with --broker: producers add as fast as the capacity allows"
                .into(),
        );
    }
    if config.timeout_s.is_some() {
        return refuse(
            "--timeout is not supported with --broker: a worker waits until the run is closed \
             and drained, and a silent one's items are reclaimed after --claim-idle"
                .into(),
        );
    }
    if settings.claim_idle <= config.processing_time() {
        return refuse(format!(
            "--claim-idle ({} s) must be longer than --processing-time ({} s): an entry idle \
             for less than one attempt takes would be taken from a worker still processing it",
            settings.claim_idle.as_secs_f64(),
            config.processing_time_s
        ));
    }
    Ok(())
}

/// A run id unlikely to meet another: this process's id and the time.
fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// Watches the worker processes until every one has exited, ending them all
/// when `stop` is raised. A process that fails is not an error of the run: the
/// others reclaim its entries. But once the last one has gone nobody is left to
/// take items, and a producer would wait for room for ever: then it raises
/// `stop`, and what was not settled is reported unprocessed.
fn watch_processes(processes: &mut [Child], stop: &StopSignal) {
    if processes.is_empty() {
        return;
    }
    loop {
        let mut running = 0;
        for child in processes.iter_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                running += 1;
            }
        }
        if running == 0 {
            stop.raise(StopReason::ConsumersGone);
            return;
        }
        if stop.reason().is_some() {
            end_processes(processes);
            return;
        }
        stop.sleep(WATCH_EVERY);
    }
}

/// Ends every worker process still running: its settled items are counted
/// in the broker already; what it held stays unprocessed.
fn end_processes(processes: &mut [Child]) {
    for child in processes.iter_mut() {
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Tells the workers every item is in: once they settle what is there, the
/// run is over. Across processes there is no sender to drop.
fn close(broker: &mut Broker, keys: &Keys) -> Result<(), BrokerError> {
    broker
        .con
        .set(&keys.closed, 1)
        .map_err(broker.failed("closing the run"))
}

/// Deletes every key of the run (the group goes with its stream).
fn clean_up(broker: &mut Broker, keys: &Keys) -> Result<(), BrokerError> {
    broker
        .con
        .del::<_, ()>(keys.all().to_vec())
        .map_err(broker.failed("deleting the run's keys"))
}

/// The run's counts hash: a missing field is a count of zero.
struct Counts(BTreeMap<String, f64>);

impl Counts {
    fn get(&self, field: &str) -> u64 {
        self.0.get(field).copied().unwrap_or(0.0) as u64
    }

    fn ms(&self, field: &str) -> Duration {
        Duration::from_secs_f64(self.0.get(field).copied().unwrap_or(0.0).max(0.0) / 1e3)
    }
}

/// What the broker counted, as the simulator's derived statistics take it.
/// An item produced and never settled is unprocessed; the queue's depth is
/// what the producers saw.
fn run_counts(counts: &Counts, produced: &[Produced]) -> RunCounts {
    let produced_items: u64 = produced.iter().map(|p| p.items).sum();
    let (consumed, failed, dead_lettered) = (
        counts.get(CONSUMED),
        counts.get(FAILED),
        counts.get(DEAD_LETTERED),
    );
    RunCounts {
        produced: produced_items,
        consumed,
        failed,
        retried: counts.get(RETRIED),
        dead_lettered,
        unprocessed: produced_items.saturating_sub(consumed + failed + dead_lettered),
        consumed_time: counts.ms(PROCESSING_MS),
        attempts: counts.get(ATTEMPTS),
        busy: Duration::from_micros(counts.get(BUSY_US)),
        max_queue_depth: produced.iter().map(|p| p.max_depth).max().unwrap_or(0) as usize,
        // A broker's worker waits until the run is closed: it never times out.
        consumers_timed_out: 0,
    }
}
