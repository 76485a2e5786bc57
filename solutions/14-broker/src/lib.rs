//! # Lesson 14 — Beyond one machine: a real broker
//!
//! Every lesson so far kept producers and consumers in one process, where a
//! channel closes when its last sender drops and a crashed thread takes the
//! whole program with it. Real systems (Celery, Sidekiq, Kafka consumers) put
//! the queue in a *broker*, a server of its own, and run producers and
//! consumers as separate processes, often on separate machines. The pattern is
//! the same; what changes is what the queue can know: it cannot see a consumer
//! die, so a consumer must *acknowledge* each item when it is done, the broker
//! keeps every unacknowledged item *pending*, and someone must *reclaim* the
//! items of a consumer that went silent — which means an item can be processed
//! twice, and the counting must still come out exact.
//!
//! Here the broker is Redis, the queue a stream, and the consumers one consumer
//! group. Read the book's chapter "14 · A real broker"
//! (`book/src/lessons/14-broker.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-14` until it is green. The tests start a Redis of
//! their own: `redis-server` must be installed.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::thread;
use std::time::Duration;

use redis::streams::{StreamAutoClaimOptions, StreamId, StreamReadOptions};
use redis::{Connection, ErrorKind, RedisError, RedisResult, TypedCommands};

/// How long [`connect`] waits for the broker to accept a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long any one command may wait for its reply before it fails. A blocking
/// read ([`read_new`]'s `block`) must stay well under it.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The field of a stream entry that holds the item's number.
pub const ITEM_FIELD: &str = "item";

/// The names, in Redis, of everything one run uses. Each run has its own, so
/// runs never see each other's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streams {
    /// The stream of work items: entries not yet settled (waiting or pending).
    pub items: String,
    /// The consumer group every worker of the run reads through.
    pub group: String,
    /// The dead-letter stream: items that failed every delivery allowed.
    pub dead: String,
    /// A key the producer sets once every item is in the stream: the run's "close".
    pub closed: String,
}

impl Streams {
    /// The names for run `run`: `lab14:RUN:items` and so on.
    pub fn for_run(run: &str) -> Self {
        let name = |what: &str| format!("lab14:{run}:{what}");
        Streams {
            items: name("items"),
            group: name("workers"),
            dead: name("dead"),
            closed: name("closed"),
        }
    }
}

/// Connects to the broker at `url` (`redis://HOST:PORT` or
/// `redis+unix:///PATH`), with [`CONNECT_TIMEOUT`] and [`REPLY_TIMEOUT`]: a
/// broker that is down or stops answering is an error, never a hang.
pub fn connect(url: &str) -> RedisResult<Connection> {
    let connection = redis::Client::open(url)?.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    connection.set_read_timeout(Some(REPLY_TIMEOUT))?;
    connection.set_write_timeout(Some(REPLY_TIMEOUT))?;
    Ok(connection)
}

/// One delivery of an item to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The stream entry's id (`1718000000000-0`): what XACK and XPENDING take.
    pub entry: String,
    /// The item's number, from the entry's [`ITEM_FIELD`].
    pub item: u64,
    /// How many times the broker has delivered this entry, this time included:
    /// 1 for a first delivery, more once it has been reclaimed.
    pub deliveries: u64,
}

/// The item number an entry carries, or an error naming the entry.
pub fn item_of(entry: &StreamId) -> RedisResult<u64> {
    entry.get::<u64>(ITEM_FIELD).ok_or_else(|| {
        RedisError::from((
            ErrorKind::Client,
            "a stream entry without an item number",
            format!("entry {} has no numeric `{ITEM_FIELD}` field", entry.id),
        ))
    })
}

// ANCHOR: create_group
/// Creates the run's consumer group, and the stream with it if it does not
/// exist yet, so that the group hands out *every* entry of the stream —
/// including those added before the group existed. Creating a group that
/// already exists is not an error: every worker calls this as it starts.
pub fn create_group(con: &mut Connection, streams: &Streams) -> RedisResult<()> {
    // Id `0`: the group starts before the first entry. `$` would start it
    // after the last one, and items already in the stream would never be read.
    match con.xgroup_create_mkstream(&streams.items, &streams.group, "0") {
        Ok(()) => Ok(()),
        Err(error) if error.code() == Some("BUSYGROUP") => Ok(()),
        Err(error) => Err(error),
    }
}
// ANCHOR_END: create_group

/// What a producer did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Produced {
    /// Items added to the stream.
    pub items: u64,
    /// Times the producer found the stream full and slept before looking again.
    pub waits: u64,
}

// ANCHOR: produce
/// Adds items `ids` to the stream, in order, never letting more than
/// `capacity` entries stand in it: when it is full, sleeps `poll` and looks
/// again. Settled entries are deleted (see [`acknowledge`]), so the stream's
/// length (XLEN) is the backlog: items waiting plus items in consumers' hands.
pub fn produce(
    con: &mut Connection,
    streams: &Streams,
    ids: Range<u64>,
    capacity: NonZeroUsize,
    poll: Duration,
) -> RedisResult<Produced> {
    let mut produced = Produced::default();
    let mut next = ids.start;
    while next < ids.end {
        let backlog = con.xlen(&streams.items)?;
        let room = capacity.get().saturating_sub(backlog) as u64;
        if room == 0 {
            // Full: wait for consumers to settle something. No MAXLEN: a cap
            // on the stream's length deletes the oldest entries, read or not.
            produced.waits += 1;
            thread::sleep(poll);
            continue;
        }
        // As many as there is room for, in one round trip. Exact for one
        // producer; two could both see the same room (see the chapter).
        let batch = next..next.saturating_add(room).min(ids.end);
        let mut pipe = redis::pipe();
        for item in batch.clone() {
            pipe.xadd(&streams.items, "*", &[(ITEM_FIELD, item)])
                .ignore();
        }
        pipe.query::<()>(con)?;
        produced.items += batch.end - batch.start;
        next = batch.end;
    }
    Ok(produced)
}
// ANCHOR_END: produce

// ANCHOR: close
/// Tells the workers that every item is in the stream: once they have settled
/// what is there, the run is over. Across processes there is no sender to drop.
pub fn close(con: &mut Connection, streams: &Streams) -> RedisResult<()> {
    con.set(&streams.closed, 1)
}

/// Whether the run is over: closed by the producer, and nothing left in the
/// stream — no item waiting, none pending in any consumer's hands.
pub fn is_finished(con: &mut Connection, streams: &Streams) -> RedisResult<bool> {
    // Both read in one transaction: read apart, the producer could add its
    // last items and close in between, and an empty stream read first would
    // look finished.
    let (closed, backlog): (bool, u64) = redis::pipe()
        .atomic()
        .exists(&streams.closed)
        .xlen(&streams.items)
        .query(con)?;
    Ok(closed && backlog == 0)
}
// ANCHOR_END: close

// ANCHOR: read_new
/// Reads up to `count` entries that no consumer of the group has had yet,
/// as consumer `consumer`, waiting up to `block` (at least a millisecond) for
/// some to arrive; none when none came. Each is now pending at `consumer`.
pub fn read_new(
    con: &mut Connection,
    streams: &Streams,
    consumer: &str,
    count: usize,
    block: Duration,
) -> RedisResult<Vec<Delivery>> {
    // BLOCK 0 would wait for ever: never less than a millisecond.
    let block_ms = block.as_millis().clamp(1, u128::from(u32::MAX)) as usize;
    let options = StreamReadOptions::default()
        .group(&streams.group, consumer)
        .count(count)
        .block(block_ms);
    // `>`: entries never delivered to this group. (An id instead re-reads this
    // consumer's own pending entries.)
    let Some(reply) = con.xread_options(&[&streams.items], &[">"], &options)? else {
        return Ok(Vec::new());
    };
    let mut deliveries = Vec::new();
    for entry in reply.keys.into_iter().flat_map(|key| key.ids) {
        deliveries.push(Delivery {
            item: item_of(&entry)?,
            entry: entry.id,
            deliveries: 1,
        });
    }
    Ok(deliveries)
}
// ANCHOR_END: read_new

// ANCHOR: acknowledge
/// Settles `entry` for good: acknowledges it (XACK, which takes it off the
/// pending list) and deletes it from the stream (XDEL), in one transaction.
/// Returns whether *this* acknowledgement removed it — false when another
/// consumer settled it first, after processing it too.
pub fn acknowledge(con: &mut Connection, streams: &Streams, entry: &str) -> RedisResult<bool> {
    // One transaction: a crash between the two would leave an acknowledged
    // entry in the stream, and the run would never look finished.
    let (acknowledged, _deleted): (u64, u64) = redis::pipe()
        .atomic()
        .xack(&streams.items, &streams.group, &[entry])
        .xdel(&streams.items, &[entry])
        .query(con)?;
    Ok(acknowledged == 1)
}
// ANCHOR_END: acknowledge

// ANCHOR: reclaim
/// How many times the broker has delivered `entry`, if it is pending (read
/// from XPENDING: no other command tells); `None` when it is not pending —
/// settled already, or never delivered.
pub fn delivery_count(
    con: &mut Connection,
    streams: &Streams,
    entry: &str,
) -> RedisResult<Option<u64>> {
    let pending = con.xpending_count(&streams.items, &streams.group, entry, entry, 1)?;
    Ok(pending.ids.first().map(|p| p.times_delivered as u64))
}

/// Claims for `consumer` every pending entry that no consumer has touched for
/// at least `min_idle` — the items of consumers that crashed or hung — asking
/// XAUTOCLAIM for up to `count` at a time and following its cursor through the
/// whole pending list. Each claim is a new delivery; each comes back with its
/// delivery count.
pub fn reclaim(
    con: &mut Connection,
    streams: &Streams,
    consumer: &str,
    min_idle: Duration,
    count: usize,
) -> RedisResult<Vec<Delivery>> {
    let min_idle_ms = min_idle.as_millis() as u64;
    let mut claimed = Vec::new();
    let mut cursor = String::from("0-0");
    loop {
        let reply = con.xautoclaim_options(
            &streams.items,
            &streams.group,
            consumer,
            min_idle_ms,
            &cursor,
            StreamAutoClaimOptions::default().count(count),
        )?;
        for entry in reply.claimed {
            // The claim counted a delivery, but XAUTOCLAIM does not say how
            // many there have been. None: settled by its old owner just now.
            let Some(deliveries) = delivery_count(con, streams, &entry.id)? else {
                continue;
            };
            claimed.push(Delivery {
                item: item_of(&entry)?,
                entry: entry.id,
                deliveries,
            });
        }
        // One call looks at a limited part of the pending list (in Redis 7,
        // 10 × count entries) and says where to go on; "0-0" means the end.
        cursor = reply.next_stream_id;
        if cursor == "0-0" {
            return Ok(claimed);
        }
    }
}
// ANCHOR_END: reclaim

/// An item that used up its deliveries, as kept in the dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeadLetter {
    /// Which item.
    pub item: u64,
    /// How many times it had been delivered.
    pub deliveries: u64,
    /// Why it was given up.
    pub error: String,
}

/// Moves `delivery` to the dead-letter stream and settles it, all on the
/// server in one step; returns whether this call settled it (false: another
/// consumer already had, and nothing was written).
///
/// One step, because in two a crash between them would either lose the item
/// (settled, never dead-lettered) or dead-letter it twice (written, then
/// reclaimed and written again). A transaction cannot make the write depend
/// on the acknowledgement's answer; a script can.
pub fn dead_letter(
    con: &mut Connection,
    streams: &Streams,
    delivery: &Delivery,
    error: &str,
) -> RedisResult<bool> {
    const SCRIPT: &str = "\
        if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end \
        redis.call('XADD', KEYS[2], '*', 'item', ARGV[3], 'deliveries', ARGV[4], 'error', ARGV[5]) \
        redis.call('XDEL', KEYS[1], ARGV[2]) \
        return 1";
    let settled: u64 = redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(2)
        .arg(&streams.items)
        .arg(&streams.dead)
        .arg(&streams.group)
        .arg(&delivery.entry)
        .arg(delivery.item)
        .arg(delivery.deliveries)
        .arg(error)
        .query(con)?;
    Ok(settled == 1)
}

/// The dead-letter stream's contents, oldest first.
pub fn dead_letters(con: &mut Connection, streams: &Streams) -> RedisResult<Vec<DeadLetter>> {
    let entries = con.xrange_all(&streams.dead)?;
    entries
        .ids
        .iter()
        .map(|entry| {
            Ok(DeadLetter {
                item: item_of(entry)?,
                deliveries: entry.get("deliveries").unwrap_or(0),
                error: entry.get("error").unwrap_or_default(),
            })
        })
        .collect()
}

/// What became of one delivery once it was processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It succeeded, and this consumer's acknowledgement settled it.
    Consumed,
    /// It failed with deliveries left: it stays pending, to be reclaimed and
    /// tried again once it has been idle long enough.
    LeftForRetry,
    /// It failed its last allowed delivery, and went to the dead letters.
    DeadLettered,
    /// Another consumer had settled it already (it was processed twice).
    AlreadySettled,
}

// ANCHOR: settle
/// Settles one processed delivery: acknowledged when `result` is `Ok`; left
/// pending for a retry when it failed with deliveries to spare; dead-lettered
/// (with its error) when it failed its `max_deliveries`-th delivery.
pub fn settle(
    con: &mut Connection,
    streams: &Streams,
    delivery: &Delivery,
    result: Result<(), String>,
    max_deliveries: u64,
) -> RedisResult<Settled> {
    let settled_here = match result {
        Ok(()) => acknowledge(con, streams, &delivery.entry)?.then_some(Settled::Consumed),
        Err(error) if delivery.deliveries >= max_deliveries => {
            dead_letter(con, streams, delivery, &error)?.then_some(Settled::DeadLettered)
        }
        // Not acknowledged: the broker keeps it pending, and once it has been
        // idle for the claim time a reclaim delivers it again.
        Err(_) => Some(Settled::LeftForRetry),
    };
    Ok(settled_here.unwrap_or(Settled::AlreadySettled))
}
// ANCHOR_END: settle

/// How a worker behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Entries asked for per read and per claim.
    pub batch: usize,
    /// How long one read waits for new entries before the worker looks around
    /// (reclaims, checks whether the run is over). Well under [`REPLY_TIMEOUT`].
    pub block: Duration,
    /// How long an entry must have been idle before it is reclaimed: longer
    /// than any item takes to process, or live work is taken away.
    pub claim_idle: Duration,
    /// Deliveries an item gets before it is dead-lettered: 1 + retries.
    pub max_deliveries: u64,
}

/// What one worker did. Across all workers of a run,
/// `consumed + dead_lettered` is the number of items produced: every item is
/// settled exactly once, however often it was processed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Deliveries the job ran on.
    pub processed: u64,
    /// Items this worker's acknowledgement settled after the job succeeded.
    pub consumed: u64,
    /// Deliveries on which the job failed.
    pub failed: u64,
    /// Items this worker moved to the dead letters.
    pub dead_lettered: u64,
    /// Deliveries this worker got that were not an item's first.
    pub redelivered: u64,
    /// Entries this worker claimed from other consumers (or from itself).
    pub reclaimed: u64,
    /// Processed deliveries another consumer had settled first.
    pub already_settled: u64,
}

/// The work done on one delivery: `Err` with a message when it fails.
pub type Job<'a> = &'a dyn Fn(&Delivery) -> Result<(), String>;

// ANCHOR: work
/// One worker: joins the group as `consumer` and, until the run is finished,
/// reclaims idle entries (or else reads new ones), runs `job` on each and
/// settles it. An item delivered more than `max_deliveries` times — its
/// consumers died on it every time — goes to the dead letters unprocessed.
/// A Redis error ends the worker with that error.
pub fn work(
    con: &mut Connection,
    streams: &Streams,
    consumer: &str,
    settings: &Settings,
    job: Job<'_>,
) -> RedisResult<WorkerReport> {
    create_group(con, streams)?;
    let mut report = WorkerReport::default();
    loop {
        // Dead consumers' items first: they have waited longest.
        let mut deliveries = reclaim(con, streams, consumer, settings.claim_idle, settings.batch)?;
        report.reclaimed += deliveries.len() as u64;
        if deliveries.is_empty() {
            deliveries = read_new(con, streams, consumer, settings.batch, settings.block)?;
        }
        if deliveries.is_empty() {
            if is_finished(con, streams)? {
                return Ok(report);
            }
            continue;
        }
        for delivery in &deliveries {
            if delivery.deliveries > 1 {
                report.redelivered += 1;
            }
            if delivery.deliveries > settings.max_deliveries {
                let error = format!(
                    "delivered {} times and never settled: its consumers died on it",
                    delivery.deliveries
                );
                if dead_letter(con, streams, delivery, &error)? {
                    report.dead_lettered += 1;
                }
                continue;
            }
            report.processed += 1;
            let result = job(delivery);
            if result.is_err() {
                report.failed += 1;
            }
            match settle(con, streams, delivery, result, settings.max_deliveries)? {
                Settled::Consumed => report.consumed += 1,
                Settled::DeadLettered => report.dead_lettered += 1,
                Settled::AlreadySettled => report.already_settled += 1,
                Settled::LeftForRetry => {}
            }
        }
    }
}
// ANCHOR_END: work
