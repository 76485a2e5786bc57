//! A worker: reads items from the run's consumer group, processes them with the
//! simulator's job, and settles each — the same loop whether it runs as a
//! thread of the run or as a `queue-sim worker` process elsewhere.

use std::collections::VecDeque;
use std::time::Instant;

use redis::streams::{StreamAutoClaimReply, StreamClaimReply, StreamId, StreamReadReply};
use redis::{Commands, cmd};
use serde::{Deserialize, Serialize};

use crate::item::WorkItem;
use crate::job::{self, Job, SimulatedJob};
use crate::stop::StopSignal;

use super::connection::{Broker, BrokerError};
use super::keys::entry::ITEM;
use super::keys::fields::{
    ATTEMPTS, BUSY_US, CONSUMED, DEAD_LETTERED, FAILED, FAILED_ATTEMPTS, RECLAIMED, REDELIVERED,
    RETRIED,
};
use super::keys::{Keys, worker_name};
use super::scripts::{COUNT, SETTLE};
use super::settings::{WorkerSettings, stored_settings};

/// What one worker did, as it saw it. The run's totals come from the broker's
/// own counts, which a killed worker cannot take with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerTally {
    /// The worker's name in the consumer group.
    pub name: String,
    /// Attempts it ran.
    pub processed: u64,
    /// Of those, attempts that failed.
    pub failed_attempts: u64,
    /// Items its settle counted as consumed.
    pub consumed: u64,
    /// Items its settle counted as failed (no retries, or a panic).
    pub failed: u64,
    /// Items its settle moved to the dead letters.
    pub dead_lettered: u64,
    /// Failed deliveries it claimed again for another try.
    pub retried: u64,
    /// Deliveries it got that were not an item's first (retries and reclaims).
    pub redelivered: u64,
    /// Entries it claimed from workers that had held them too long.
    pub reclaimed: u64,
    /// Processed deliveries that another worker had settled first: the item was
    /// processed twice, and counted once.
    pub already_settled: u64,
    /// Time spent in attempts, in milliseconds.
    pub busy_ms: f64,
}

/// One delivery of an item to this worker.
#[derive(Debug, Clone)]
struct Delivery {
    entry: String,
    item: u64,
    /// This one included: 1 for a first delivery.
    deliveries: u64,
}

/// How a processed delivery is to be settled.
enum Outcome {
    Consumed {
        ms: f64,
    },
    Ended {
        outcome: &'static str,
        error: String,
    },
    Retry,
}

/// Runs worker `name` until the run is finished (closed, and nothing left in
/// the stream) or `stop` is raised.
pub(crate) fn work<J: Job + ?Sized>(
    broker: &mut Broker,
    keys: &Keys,
    name: &str,
    settings: &WorkerSettings,
    job: &J,
    stop: &StopSignal,
) -> Result<WorkerTally, BrokerError> {
    let mut worker = Worker {
        broker,
        keys,
        name,
        settings,
        tally: WorkerTally {
            name: name.to_string(),
            ..WorkerTally::default()
        },
        again: VecDeque::new(),
        cursor: String::from("0-0"),
        last_reclaim: Instant::now(),
    };
    while stop.reason().is_none() {
        match worker.step(job) {
            Ok(Step::Go) => {}
            Ok(Step::Finished) => break,
            // The run ended and its keys were deleted while this worker was
            // between calls (slow, or paused): nothing is left to do.
            Err(BrokerError::Redis { error, .. }) if error.code() == Some("NOGROUP") => break,
            Err(e) => return Err(e),
        }
    }
    Ok(worker.tally)
}

/// One worker's connection and what it keeps between rounds.
struct Worker<'a> {
    broker: &'a mut Broker,
    keys: &'a Keys,
    name: &'a str,
    settings: &'a WorkerSettings,
    tally: WorkerTally,
    /// Items this worker claimed again after a failure: tried before new ones.
    again: VecDeque<Delivery>,
    /// Where the next XAUTOCLAIM goes on in the pending list.
    cursor: String,
    last_reclaim: Instant,
}

/// What one round of a worker's loop found.
enum Step {
    Go,
    Finished,
}

impl Worker<'_> {
    /// One round: take deliveries (claimed again, reclaimed, or new), process
    /// them, settle them.
    fn step<J: Job + ?Sized>(&mut self, job: &J) -> Result<Step, BrokerError> {
        let (keys, name, settings) = (self.keys, self.name, self.settings);
        let before = self.tally.clone();
        let mut deliveries: Vec<Delivery> = self.again.drain(..).collect();
        // Other workers' stale entries, now and then: a claim is a round trip,
        // and an entry cannot become claimable faster than the claim time.
        if deliveries.is_empty() && self.last_reclaim.elapsed() >= settings.claim_idle / 4 {
            deliveries = reclaim(self.broker, keys, name, settings, &mut self.cursor)?;
            self.tally.reclaimed += deliveries.len() as u64;
            self.last_reclaim = Instant::now();
        }
        if deliveries.is_empty() {
            deliveries = read_new(self.broker, keys, name, settings)?;
        }
        if deliveries.is_empty() {
            return Ok(if is_finished(self.broker, keys)? {
                Step::Finished
            } else {
                Step::Go
            });
        }
        let outcomes: Vec<Outcome> = deliveries
            .iter()
            .map(|delivery| process(delivery, settings, job, &mut self.tally))
            .collect();
        self.again = settle_all(
            self.broker,
            keys,
            name,
            &deliveries,
            &outcomes,
            &before,
            &mut self.tally,
        )?;
        Ok(Step::Go)
    }
}

/// Runs the job on one delivery; says how to settle it.
fn process<J: Job + ?Sized>(
    delivery: &Delivery,
    settings: &WorkerSettings,
    job: &J,
    tally: &mut WorkerTally,
) -> Outcome {
    if delivery.deliveries > 1 {
        tally.redelivered += 1;
    }
    let ending = if settings.retries {
        DEAD_LETTERED
    } else {
        FAILED
    };
    if delivery.deliveries > settings.max_deliveries {
        // Its workers died on it every time: stop handing it out.
        return Outcome::Ended {
            outcome: ending,
            error: format!(
                "delivered {} times and never settled: its workers died on it",
                delivery.deliveries
            ),
        };
    }
    let attempt = u32::try_from(delivery.deliveries).unwrap_or(u32::MAX);
    let item = WorkItem {
        id: delivery.item,
        priority: 0,
        attempt,
    };
    let started = Instant::now();
    let result = job::attempt(job, &item);
    let took = started.elapsed().as_secs_f64() * 1e3;
    tally.processed += 1;
    tally.busy_ms += took;
    match result {
        Ok(()) => Outcome::Consumed { ms: took },
        Err(error) => {
            tally.failed_attempts += 1;
            if error.panicked {
                // A bug, not a transient fault: retrying would panic again.
                Outcome::Ended {
                    outcome: FAILED,
                    error: error.message,
                }
            } else if delivery.deliveries >= settings.max_deliveries {
                Outcome::Ended {
                    outcome: ending,
                    error: error.message,
                }
            } else {
                Outcome::Retry
            }
        }
    }
}

/// Settles every processed delivery in one round trip (a pipeline), and adds
/// this batch's attempts and claims to the run's counts; returns the
/// deliveries claimed again for a retry.
fn settle_all(
    broker: &mut Broker,
    keys: &Keys,
    name: &str,
    deliveries: &[Delivery],
    outcomes: &[Outcome],
    before: &WorkerTally,
    tally: &mut WorkerTally,
) -> Result<VecDeque<Delivery>, BrokerError> {
    let mut pipe = settle_pipeline(keys, name, deliveries, outcomes);
    pipe.add_command(worker_counts(keys, before, tally))
        .ignore();
    let replies: Vec<redis::Value> = pipe
        .query(&mut broker.con)
        .map_err(broker.failed("settling items"))?;
    let again = read_settled(deliveries, outcomes, &replies, tally);
    if tally.retried > before.retried {
        let _: u64 = COUNT
            .eval(&[&keys.settings, &keys.stats])
            .arg(RETRIED)
            .arg(tally.retried - before.retried)
            .query(&mut broker.con)
            .map_err(broker.failed("counting retries"))?;
    }
    Ok(again)
}

/// One command per processed delivery: the settle script for an item that
/// ended, XCLAIM for one to retry.
fn settle_pipeline(
    keys: &Keys,
    name: &str,
    deliveries: &[Delivery],
    outcomes: &[Outcome],
) -> redis::Pipeline {
    let settle_keys = [
        keys.items.as_str(),
        keys.stats.as_str(),
        keys.workers.as_str(),
        keys.dead.as_str(),
    ];
    let mut pipe = redis::pipe();
    for (delivery, outcome) in deliveries.iter().zip(outcomes) {
        let (what, ms, error) = match outcome {
            Outcome::Consumed { ms } => (CONSUMED, *ms, ""),
            Outcome::Ended { outcome, error } => (*outcome, 0.0, error.as_str()),
            Outcome::Retry => {
                // Claimed again at once, by this worker: a claim counts a
                // delivery, so the count stays the broker's, and the retry
                // does not wait out the claim time.
                pipe.cmd("XCLAIM")
                    .arg(&keys.items)
                    .arg(&keys.group)
                    .arg(name)
                    .arg(0)
                    .arg(&delivery.entry);
                continue;
            }
        };
        pipe.add_command(
            SETTLE
                .eval(&settle_keys)
                .arg(&keys.group)
                .arg(&delivery.entry)
                .arg(name)
                .arg(what)
                .arg(ms)
                .arg(delivery.item)
                .arg(delivery.deliveries)
                .arg(error)
                .clone(),
        );
    }
    pipe
}

/// What only a worker sees (attempts, their time, claims) since `before`, as
/// one count script; the items' ends are counted by the settle script, and
/// exactness does not rest on these.
fn worker_counts(keys: &Keys, before: &WorkerTally, tally: &WorkerTally) -> redis::Cmd {
    let mut counts = COUNT.eval(&[&keys.settings, &keys.stats]);
    for (field, now, then) in [
        (ATTEMPTS, tally.processed, before.processed),
        (
            FAILED_ATTEMPTS,
            tally.failed_attempts,
            before.failed_attempts,
        ),
        (REDELIVERED, tally.redelivered, before.redelivered),
        (RECLAIMED, tally.reclaimed, before.reclaimed),
    ] {
        counts.arg(field).arg(now - then);
    }
    // Whole microseconds: the count script adds integers.
    let busy_us = ((tally.busy_ms - before.busy_ms) * 1e3).round().max(0.0) as u64;
    counts.arg(BUSY_US).arg(busy_us);
    counts
}

/// Counts what each settle reply says in `tally`; returns the deliveries
/// claimed again for a retry.
fn read_settled(
    deliveries: &[Delivery],
    outcomes: &[Outcome],
    replies: &[redis::Value],
    tally: &mut WorkerTally,
) -> VecDeque<Delivery> {
    let mut again = VecDeque::new();
    for ((delivery, outcome), reply) in deliveries.iter().zip(outcomes).zip(replies) {
        match outcome {
            Outcome::Retry => {
                let claimed: StreamClaimReply =
                    redis::from_redis_value_ref(reply).unwrap_or_default();
                // Empty: another worker settled it in the meantime.
                if !claimed.ids.is_empty() {
                    tally.retried += 1;
                    again.push_back(Delivery {
                        deliveries: delivery.deliveries + 1,
                        ..delivery.clone()
                    });
                }
            }
            Outcome::Consumed { .. } | Outcome::Ended { .. } => {
                let settled: u64 = redis::from_redis_value_ref(reply).unwrap_or(0);
                match (settled, outcome) {
                    (0, _) => tally.already_settled += 1,
                    (_, Outcome::Consumed { .. }) => tally.consumed += 1,
                    (_, Outcome::Ended { outcome, .. }) if *outcome == FAILED => tally.failed += 1,
                    _ => tally.dead_lettered += 1,
                }
            }
        }
    }
    again
}

/// Reads up to a batch of entries no worker of the group has had yet.
fn read_new(
    broker: &mut Broker,
    keys: &Keys,
    name: &str,
    settings: &WorkerSettings,
) -> Result<Vec<Delivery>, BrokerError> {
    // BLOCK 0 would wait for ever: never less than a millisecond.
    let block_ms = settings.block.as_millis().clamp(1, 60_000) as u64;
    let reply: Option<StreamReadReply> = cmd("XREADGROUP")
        .arg("GROUP")
        .arg(&keys.group)
        .arg(name)
        .arg("COUNT")
        .arg(settings.batch)
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(&keys.items)
        // `>`: entries never delivered to this group.
        .arg(">")
        .query(&mut broker.con)
        .map_err(broker.failed("reading new items"))?;
    let entries = reply
        .into_iter()
        .flat_map(|reply| reply.keys)
        .flat_map(|key| key.ids);
    entries.map(|entry| delivery(&entry, 1)).collect()
}

/// Claims entries idle for at least the claim time, following XAUTOCLAIM's
/// cursor across calls (one call looks at a limited stretch of the pending
/// list); each comes back with its delivery count, which XAUTOCLAIM does not
/// report, read with XPENDING.
fn reclaim(
    broker: &mut Broker,
    keys: &Keys,
    name: &str,
    settings: &WorkerSettings,
    cursor: &mut String,
) -> Result<Vec<Delivery>, BrokerError> {
    let reply: StreamAutoClaimReply = cmd("XAUTOCLAIM")
        .arg(&keys.items)
        .arg(&keys.group)
        .arg(name)
        .arg(settings.claim_idle.as_millis() as u64)
        .arg(cursor.as_str())
        .arg("COUNT")
        .arg(settings.batch)
        .query(&mut broker.con)
        .map_err(broker.failed("reclaiming idle items"))?;
    *cursor = reply.next_stream_id;
    let mut claimed = Vec::new();
    for entry in reply.claimed {
        let pending: redis::streams::StreamPendingCountReply = broker
            .con
            .xpending_count(&keys.items, &keys.group, &entry.id, &entry.id, 1)
            .map_err(broker.failed("reading a delivery count"))?;
        // Not pending any more: its old holder settled it just now.
        let Some(count) = pending.ids.first().map(|p| p.times_delivered as u64) else {
            continue;
        };
        claimed.push(delivery(&entry, count)?);
    }
    Ok(claimed)
}

fn delivery(entry: &StreamId, deliveries: u64) -> Result<Delivery, BrokerError> {
    let item = entry.get::<u64>(ITEM).ok_or_else(|| {
        BrokerError::Refused(format!(
            "stream entry {} has no item number: is another program writing to this run's stream?",
            entry.id
        ))
    })?;
    Ok(Delivery {
        entry: entry.id.clone(),
        item,
        deliveries,
    })
}

/// Whether the run is over: closed, and nothing left in the stream (no item
/// waiting, none pending) — or its keys already cleaned up.
fn is_finished(broker: &mut Broker, keys: &Keys) -> Result<bool, BrokerError> {
    // One transaction: read apart, the producer could add its last items and
    // close in between, and an empty stream read first would look finished.
    let (closed, backlog, exists): (bool, u64, bool) = redis::pipe()
        .atomic()
        .exists(&keys.closed)
        .xlen(&keys.items)
        .exists(&keys.settings)
        .query(&mut broker.con)
        .map_err(broker.failed("checking whether the run is over"))?;
    Ok((closed && backlog == 0) || !exists)
}

/// A worker process that joined a run: what it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinedWorker {
    /// The run it joined.
    pub run_id: String,
    /// What each of its worker threads did.
    pub workers: Vec<WorkerTally>,
}

/// Joins run `run_id` at `url` with `threads` worker threads, named after this
/// process, and works until the run is finished or `stop` is raised. The job's
/// settings are the run's, read from the broker.
pub fn join_run(
    url: &str,
    run_id: &str,
    threads: usize,
    stop: &StopSignal,
) -> Result<JoinedWorker, BrokerError> {
    let keys = Keys::for_run(run_id);
    let mut broker = Broker::open(url)?;
    let (config, settings) = stored_settings(&mut broker, &keys)?;
    let job = SimulatedJob::new(&config);
    let process = Some(std::process::id());
    let workers = run_workers(url, &keys, process, threads, &settings, &job, stop)?;
    Ok(JoinedWorker {
        run_id: run_id.to_string(),
        workers,
    })
}

/// Runs `threads` workers of `process` (`None`: the run's own; see
/// [`worker_name`]), each on its own connection.
pub(crate) fn run_workers<J: Job + ?Sized>(
    url: &str,
    keys: &Keys,
    process: Option<u32>,
    threads: usize,
    settings: &WorkerSettings,
    job: &J,
    stop: &StopSignal,
) -> Result<Vec<WorkerTally>, BrokerError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                scope.spawn(move || {
                    let mut broker = Broker::open(url)?;
                    let name = worker_name(process, index);
                    work(&mut broker, keys, &name, settings, job, stop)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
            })
            .collect()
    })
}
