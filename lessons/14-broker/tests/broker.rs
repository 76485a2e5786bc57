//! Lesson 14 — a work queue in a Redis stream: a group that sees every item,
//! a producer that waits instead of trimming, reads that are acknowledged only
//! once the work is done, a dead consumer's items reclaimed (and only a dead
//! one's), dead letters by delivery count, and counts that stay exact when an
//! item is processed twice.
//!
//! Every test starts a `redis-server` of its own (lesson_support's
//! `BrokerProcess`, in a temporary folder, killed when the test ends) and
//! looks at the broker through a connection of its own, with plain Redis
//! commands — so what it checks is what the broker holds, not what your code
//! says it did.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then properties: the same check over many drawn
//! broker states — entries waiting, pending at live and dead consumers,
//! delivered once or thousands of times, idle for microseconds or for months;
//! counts, capacities and batches of 1, equal to, one below and one past each
//! other; item numbers up to `u64::MAX` — against an answer that does not
//! depend on your code. A man in the middle (lesson_support's `Interposer`)
//! sits between your code and the broker: it lets another producer or worker
//! step in between two of your commands, or cuts your connection there (your
//! process dying), and the outcome must be one that some order of whole
//! operations allows. Last, `stall`: every wait meets a peer that goes quiet
//! for seconds, and every function meets a broker that hangs (SIGSTOP) for
//! longer than REPLY_TIMEOUT before it comes back — which must be an error,
//! never a hang, a retry or an empty answer.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lesson_14::{
    DeadLetter, Delivery, ITEM_FIELD, REPLY_TIMEOUT, Settings, Settled, Streams, WorkerReport,
    acknowledge, close, connect, create_group, dead_letters, delivery_count, is_finished, produce,
    read_new, reclaim, settle, work,
};
use lesson_support::adversary::{self, Gate, STALL, STALL_BUDGET};
use lesson_support::broker::BrokerProcess;
use lesson_support::interpose::{Interposer, Step};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    BUDGET, Log, assert_each_exactly_once, check_each_exactly_once, finishes, finishes_within,
    panic_message, preview,
};
use redis::{Connection, RedisResult, Value};

// ---------------------------------------------------------------------------
// The test's own view of the broker.
// ---------------------------------------------------------------------------

/// A broker of the test's own, the run's names, and two connections: `raw` for
/// the test's own commands, `learner` lent to the code under test.
struct Lab {
    broker: BrokerProcess,
    streams: Streams,
    raw: Connection,
    learner: Option<Connection>,
}

/// One entry as the test sees it: (entry id, item).
type Entry = (String, u64);

impl Lab {
    #[track_caller]
    fn new() -> Lab {
        let broker = broker();
        let raw = open(broker.url());
        let learner = Some(open(broker.url()));
        Lab {
            streams: Streams::for_run("test"),
            broker,
            raw,
            learner,
        }
    }

    fn url(&self) -> String {
        self.broker.url().to_string()
    }

    /// Runs `call` on the learner's connection under a watchdog; a Redis error
    /// fails the test, naming the call.
    #[track_caller]
    fn call<T: Send + 'static>(
        &mut self,
        what: &str,
        hint: &str,
        call: impl FnOnce(&mut Connection, &Streams) -> RedisResult<T> + Send + 'static,
    ) -> T {
        let mut con = self
            .learner
            .take()
            .expect("the learner's connection was lost to an earlier hang");
        let streams = self.streams.clone();
        let (con, result) = finishes(what, hint, move || {
            let result = call(&mut con, &streams);
            (con, result)
        });
        self.learner = Some(con);
        result.unwrap_or_else(|e| panic!("{what} returned an error: {e}"))
    }

    fn command<T: redis::FromRedisValue>(&mut self, cmd: &mut redis::Cmd) -> T {
        cmd.query(&mut self.raw)
            .unwrap_or_else(|e| panic!("the test's own Redis command failed: {e}"))
    }

    /// Creates the group at the start of the stream (and the stream).
    fn group(&mut self) {
        let streams = self.streams.clone();
        make_group(&mut self.raw, &streams);
    }

    /// Adds `items` to the stream; returns their entry ids.
    fn add(&mut self, items: Range<u64>) -> Vec<String> {
        let streams = self.streams.clone();
        add_items(&mut self.raw, &streams, &items.collect::<Vec<_>>())
    }

    fn close(&mut self) {
        let key = self.streams.closed.clone();
        let _: () = self.command(redis::cmd("SET").arg(&key).arg(1));
    }

    /// Reads up to `count` new entries as `consumer` (which then holds them
    /// pending), waiting up to `block_ms` for them.
    fn take(&mut self, consumer: &str, count: usize, block_ms: u64) -> Vec<Entry> {
        let streams = self.streams.clone();
        take_new(&mut self.raw, &streams, consumer, count, block_ms)
    }

    /// Gives `entries` to `consumer` as a new delivery (XCLAIM, which counts
    /// one) — or, with `justid`, without counting one.
    fn claim(&mut self, consumer: &str, entries: &[String], justid: bool) {
        let s = self.streams.clone();
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(&s.items)
            .arg(&s.group)
            .arg(consumer)
            .arg(0)
            .arg(entries);
        if justid {
            cmd.arg("JUSTID");
        }
        let _: Value = self.command(&mut cmd);
    }

    /// Makes `entries`, pending at `owner`, look untouched for `idle_ms` (XCLAIM
    /// to the same owner with IDLE, JUSTID: no delivery counted): a consumer
    /// that died that long ago, without the test having to wait.
    fn age(&mut self, owner: &str, entries: &[String], idle_ms: u64) {
        let streams = self.streams.clone();
        age_entries(&mut self.raw, &streams, owner, entries, idle_ms);
    }

    /// Acknowledges and deletes `entry`, as a consumer finishing it would.
    fn finish(&mut self, entry: &str) {
        let streams = self.streams.clone();
        settle_entry(&mut self.raw, &streams, entry);
    }

    /// The stream's length, read with XINFO so that the server's count of XLEN
    /// calls is the code under test's alone. 0 while there is no stream.
    fn xlen(&mut self) -> u64 {
        let streams = self.streams.clone();
        stream_length(&mut self.raw, &streams)
    }

    /// Every pending entry: (entry, owner, deliveries).
    fn pending(&mut self) -> Vec<(String, String, u64)> {
        let streams = self.streams.clone();
        pending_entries(&mut self.raw, &streams)
            .into_iter()
            .map(|p| (p.entry, p.owner, p.count))
            .collect()
    }

    /// "6 pending (6 at 'crashed')", or "none pending".
    fn pending_summary(&mut self) -> String {
        let streams = self.streams.clone();
        pending_summary(&mut self.raw, &streams)
    }

    /// What the broker holds, for a failure message.
    fn state(&mut self) -> String {
        let streams = self.streams.clone();
        describe(&mut self.raw, &streams)
    }

    fn dead(&mut self) -> Vec<DeadLetter> {
        let streams = self.streams.clone();
        dead_letters(&mut self.raw, &streams).expect("the dead-letter stream can be read")
    }

    /// How many times the server has run `command` since the last reset.
    fn calls(&mut self, command: &str) -> u64 {
        let info: String = self.command(redis::cmd("INFO").arg("commandstats"));
        let prefix = format!("cmdstat_{}:calls=", command.to_lowercase());
        info.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    fn reset_calls(&mut self) {
        let _: () = self.command(redis::cmd("CONFIG").arg("RESETSTAT"));
    }
}

fn open(url: &str) -> Connection {
    try_open(url).unwrap_or_else(|e| panic!("cannot connect to the test's broker at {url}: {e}"))
}

/// A broker of the test's own, started (and killed when dropped), checking
/// blocked clients' timeouts every 10 ms instead of every 100: Redis ends a
/// blocking read only when it next looks (`hz`, 10 by default), so a read
/// with BLOCK 1 would take up to 100 ms and every run's end would wait that.
#[track_caller]
fn broker() -> BrokerProcess {
    let broker = BrokerProcess::started();
    let _: () = q(
        &mut open(broker.url()),
        redis::cmd("CONFIG").arg("SET").arg("hz").arg(100),
    );
    broker
}

/// A connection of the test's own (not through the lesson's `connect`).
fn try_open(url: &str) -> RedisResult<Connection> {
    let con = redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))?;
    con.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(con)
}

/// A connection for the code under test, made by the lesson's own `connect`
/// (with its CONNECT_TIMEOUT and REPLY_TIMEOUT).
#[track_caller]
fn learner_connection(url: &str) -> Connection {
    connect(url).unwrap_or_else(|e| panic!("connect({url}) failed: {e}"))
}

/// Runs one of the test's own commands: a failure here is the test's (or the
/// broker's), never the code under test's.
#[track_caller]
fn q<T: redis::FromRedisValue>(con: &mut Connection, cmd: &redis::Cmd) -> T {
    cmd.query(con)
        .unwrap_or_else(|e| panic!("the test's own Redis command failed: {e}"))
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("not zero")
}

fn delivery(entry: &str, item: u64, deliveries: u64) -> Delivery {
    Delivery {
        entry: entry.to_string(),
        item,
        deliveries,
    }
}

fn items_of(deliveries: &[Delivery]) -> Vec<u64> {
    deliveries.iter().map(|d| d.item).collect()
}

/// Creates the run's group at the start of the stream (and the stream).
fn make_group(con: &mut Connection, s: &Streams) {
    let _: () = q(
        con,
        redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&s.items)
            .arg(&s.group)
            .arg("0")
            .arg("MKSTREAM"),
    );
}

/// Adds `items` to the stream in one round trip; returns their entry ids.
fn add_items(con: &mut Connection, s: &Streams, items: &[u64]) -> Vec<String> {
    if items.is_empty() {
        return Vec::new();
    }
    let mut pipe = redis::pipe();
    for item in items {
        pipe.cmd("XADD")
            .arg(&s.items)
            .arg("*")
            .arg(ITEM_FIELD)
            .arg(*item);
    }
    pipe.query(con)
        .unwrap_or_else(|e| panic!("the test's own XADD failed: {e}"))
}

/// Reads up to `count` new entries as `consumer` (which then holds them).
fn take_new(
    con: &mut Connection,
    s: &Streams,
    consumer: &str,
    count: usize,
    block_ms: u64,
) -> Vec<Entry> {
    let reply: Value = q(
        con,
        redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&s.group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&s.items)
            .arg(">"),
    );
    let reply: Option<redis::streams::StreamReadReply> =
        redis::from_redis_value(reply).expect("an XREADGROUP reply");
    reply
        .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.id.clone(),
                e.get::<u64>(ITEM_FIELD).expect("an item field"),
            )
        })
        .collect()
}

/// Makes `entries`, pending at `owner`, look untouched for `idle_ms` without
/// counting a delivery.
fn age_entries(con: &mut Connection, s: &Streams, owner: &str, entries: &[String], idle_ms: u64) {
    if entries.is_empty() {
        return;
    }
    let _: Value = q(
        con,
        redis::cmd("XCLAIM")
            .arg(&s.items)
            .arg(&s.group)
            .arg(owner)
            .arg(0)
            .arg(entries)
            .arg("IDLE")
            .arg(idle_ms)
            .arg("JUSTID"),
    );
}

/// Acknowledges and deletes `entry` in one transaction, as a consumer
/// finishing it would; returns what XACK answered (1: this settled it).
fn settle_entry(con: &mut Connection, s: &Streams, entry: &str) -> u64 {
    let (acked, _deleted): (u64, u64) = redis::pipe()
        .atomic()
        .cmd("XACK")
        .arg(&s.items)
        .arg(&s.group)
        .arg(entry)
        .cmd("XDEL")
        .arg(&s.items)
        .arg(entry)
        .query(con)
        .unwrap_or_else(|e| panic!("the test's own XACK + XDEL failed: {e}"));
    acked
}

/// The stream's length, read with XINFO (so the server's count of XLEN calls
/// is the code under test's alone); 0 while there is no stream.
fn stream_length(con: &mut Connection, s: &Streams) -> u64 {
    redis::cmd("XINFO")
        .arg("STREAM")
        .arg(&s.items)
        .query::<redis::streams::StreamInfoStreamReply>(con)
        .map_or(0, |info| info.length as u64)
}

/// One pending entry as XPENDING shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingEntry {
    entry: String,
    owner: String,
    idle_ms: u64,
    count: u64,
}

/// Every pending entry of the run's group, in id order (none without a group).
fn pending_entries(con: &mut Connection, s: &Streams) -> Vec<PendingEntry> {
    redis::cmd("XPENDING")
        .arg(&s.items)
        .arg(&s.group)
        .arg("-")
        .arg("+")
        .arg(100_000)
        .query::<redis::streams::StreamPendingCountReply>(con)
        .map(|reply| {
            reply
                .ids
                .into_iter()
                .map(|p| PendingEntry {
                    entry: p.id,
                    owner: p.consumer,
                    idle_ms: p.last_delivered_ms as u64,
                    count: p.times_delivered as u64,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// "6 pending (6 at 'crashed')", or "none pending".
fn pending_summary(con: &mut Connection, s: &Streams) -> String {
    let pending = pending_entries(con, s);
    if pending.is_empty() {
        return "none pending".into();
    }
    let mut owners: Vec<(String, usize)> = Vec::new();
    for p in &pending {
        match owners.iter_mut().find(|(o, _)| *o == p.owner) {
            Some((_, n)) => *n += 1,
            None => owners.push((p.owner.clone(), 1)),
        }
    }
    let owners: Vec<String> = owners
        .iter()
        .map(|(owner, n)| format!("{n} at '{owner}'"))
        .collect();
    format!("{} pending ({})", pending.len(), owners.join(", "))
}

/// Every entry of the stream, in order: (id, the raw `item` field if any).
fn stream_entries(con: &mut Connection, s: &Streams) -> Vec<(String, Option<String>)> {
    let reply: redis::streams::StreamRangeReply =
        q(con, redis::cmd("XRANGE").arg(&s.items).arg("-").arg("+"));
    reply
        .ids
        .into_iter()
        .map(|e| {
            let item = e.get::<String>(ITEM_FIELD);
            (e.id, item)
        })
        .collect()
}

/// The run's group's last-delivered id; `None` when there is no such group.
fn group_position(con: &mut Connection, s: &Streams) -> Option<String> {
    redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(&s.items)
        .query::<redis::streams::StreamInfoGroupsReply>(con)
        .ok()?
        .groups
        .into_iter()
        .find(|g| g.name == s.group)
        .map(|g| g.last_delivered_id)
}

fn is_closed(con: &mut Connection, s: &Streams) -> bool {
    q(con, redis::cmd("EXISTS").arg(&s.closed))
}

/// What the broker holds for a run, for a failure message: how many entries,
/// which are pending where, which were never delivered, which were
/// acknowledged but left in the stream, and whether the run is closed.
fn describe(con: &mut Connection, s: &Streams) -> String {
    let xlen = stream_length(con, s);
    let pending = pending_entries(con, s);
    let summary = pending_summary(con, s);
    let closed = is_closed(con, s);
    let delivered_up_to = group_position(con, s).unwrap_or_else(|| "0-0".to_string());
    let delivered: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&s.items)
        .arg("-")
        .arg(&delivered_up_to)
        .query(con)
        .unwrap_or_default();
    let delivered = delivered.ids.len() as u64;
    let mut parts = vec![summary];
    if xlen > delivered {
        parts.push(format!("{} never delivered", xlen - delivered));
    }
    if delivered > pending.len() as u64 {
        parts.push(format!(
            "{} delivered and acknowledged but never deleted (XDEL)",
            delivered - pending.len() as u64
        ));
    }
    format!(
        "the stream holds {xlen} entries: {}; the run is {}",
        parts.join(", "),
        if closed { "closed" } else { "not closed" }
    )
}

/// What a run's keys hold, compared before and after a call that must leave
/// some of it alone.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    /// (id, raw item field), in order.
    entries: Vec<(String, Option<String>)>,
    /// (id, owner, deliveries), in id order.
    pending: Vec<(String, String, u64)>,
    /// The group's last-delivered id (None: no group).
    group: Option<String>,
    closed: bool,
    dead: usize,
}

fn snapshot(con: &mut Connection, s: &Streams) -> Snapshot {
    let dead: u64 = q(con, redis::cmd("XLEN").arg(&s.dead));
    Snapshot {
        entries: stream_entries(con, s),
        pending: pending_entries(con, s)
            .into_iter()
            .map(|p| (p.entry, p.owner, p.count))
            .collect(),
        group: group_position(con, s),
        closed: is_closed(con, s),
        dead: dead as usize,
    }
}

/// Nothing a run needs may expire while the run is live: a worker that starts
/// later, or a run that lasts longer than the expiry, would find it gone (a
/// "closed" that vanishes leaves the workers waiting for ever; a stream that
/// vanishes takes its group and its pending entries with it).
fn check_lifetimes(con: &mut Connection, s: &Streams, after: &str) -> Result<(), String> {
    let pattern = s.items.trim_end_matches("items").to_string() + "*";
    let mut keys: Vec<String> = q(con, redis::cmd("KEYS").arg(&pattern));
    keys.extend([s.items.clone(), s.closed.clone(), s.dead.clone()]);
    keys.sort();
    keys.dedup();
    for key in keys {
        let ttl: i64 = q(con, redis::cmd("PTTL").arg(&key));
        if ttl >= 0 {
            return Err(format!(
                "after {after}, the key `{key}` expires in {ttl} ms (PTTL): nothing a run needs \
                 may expire while the run is live — a worker that starts later, or a run that \
                 lasts longer, would find it gone. Set keys without EX/PX/EXPIRE"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Legal broker states, built directly by the test.
// ---------------------------------------------------------------------------

/// Where one delivered entry stands when a property's case begins.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    /// Acknowledged and deleted: gone from the stream.
    Settled,
    /// Pending at `owner`, delivered `count` times, untouched for `idle_ms`.
    Pending {
        owner: String,
        count: u64,
        idle_ms: u64,
    },
}

/// A state a run can be in: the first entries delivered (each since settled,
/// or pending somewhere), the rest waiting for their first delivery, and the
/// run closed or not. Items are any `u64`.
#[derive(Debug, Clone, Default)]
struct Setup {
    delivered: Vec<(u64, Held)>,
    waiting: Vec<u64>,
    closed: bool,
}

/// The entry ids a [`Setup`] got: delivered ones, then waiting ones.
#[derive(Debug, Clone)]
struct Built {
    delivered: Vec<String>,
    waiting: Vec<String>,
}

/// Builds `setup` for run `s` (which must not exist yet): group, entries,
/// deliveries (XREADGROUP), then each delivered entry settled or moved to its
/// owner with its delivery count and idle time (XCLAIM … IDLE … RETRYCOUNT …
/// JUSTID, which sets both without counting a delivery).
fn build(con: &mut Connection, s: &Streams, setup: &Setup) -> Built {
    make_group(con, s);
    let all: Vec<u64> = setup
        .delivered
        .iter()
        .map(|(item, _)| *item)
        .chain(setup.waiting.iter().copied())
        .collect();
    let ids = add_items(con, s, &all);
    let (delivered, waiting) = ids.split_at(setup.delivered.len());
    if !delivered.is_empty() {
        let taken = take_new(con, s, "setup", delivered.len(), 0);
        assert_eq!(taken.len(), delivered.len(), "the test's setup read");
        let mut pipe = redis::pipe();
        for (id, (_, held)) in delivered.iter().zip(&setup.delivered) {
            match held {
                Held::Settled => {
                    pipe.cmd("XACK")
                        .arg(&s.items)
                        .arg(&s.group)
                        .arg(id)
                        .ignore()
                        .cmd("XDEL")
                        .arg(&s.items)
                        .arg(id)
                        .ignore();
                }
                Held::Pending {
                    owner,
                    count,
                    idle_ms,
                } => {
                    pipe.cmd("XCLAIM")
                        .arg(&s.items)
                        .arg(&s.group)
                        .arg(owner)
                        .arg(0)
                        .arg(id)
                        .arg("IDLE")
                        .arg(*idle_ms)
                        .arg("RETRYCOUNT")
                        .arg(*count)
                        .arg("JUSTID")
                        .ignore();
                }
            }
        }
        pipe.cmd("XGROUP")
            .arg("DELCONSUMER")
            .arg(&s.items)
            .arg(&s.group)
            .arg("setup")
            .ignore();
        pipe.query::<()>(con)
            .unwrap_or_else(|e| panic!("the test's setup failed: {e}"));
    }
    if setup.closed {
        let _: () = q(con, redis::cmd("SET").arg(&s.closed).arg(1));
    }
    Built {
        delivered: delivered.to_vec(),
        waiting: waiting.to_vec(),
    }
}

// ---------------------------------------------------------------------------
// The man in the middle: another client's step between two of yours.
// ---------------------------------------------------------------------------

/// One of the learner's commands, as the man in the middle saw it just
/// before passing it on.
#[derive(Debug, Clone)]
struct Sent {
    name: String,
    at: Instant,
}

/// What the peer does before one of the learner's commands: it is given the
/// learner's commands so far (the last one is about to go) and the test's own
/// connection, and says whether the command goes on or the connection is cut.
type Peer = Box<dyn FnMut(&[Sent], &mut Connection) -> Step + Send>;

struct MiddleState {
    armed: bool,
    sent: Vec<Sent>,
    peer: Peer,
    raw: Connection,
}

/// An interposer with a peer the test can change between calls.
struct Middle {
    interposer: Interposer,
    state: Arc<Mutex<MiddleState>>,
}

impl Middle {
    fn start(broker: &BrokerProcess) -> Middle {
        let state = Arc::new(Mutex::new(MiddleState {
            armed: false,
            sent: Vec::new(),
            peer: Box::new(|_, _| Step::Forward),
            raw: open(broker.url()),
        }));
        let hook_state = Arc::clone(&state);
        let interposer = Interposer::start(
            broker,
            Box::new(move |command| {
                let mut state = hook_state.lock().unwrap_or_else(PoisonError::into_inner);
                if !state.armed {
                    return Step::Forward;
                }
                state.sent.push(Sent {
                    name: command.name(),
                    at: Instant::now(),
                });
                let MiddleState {
                    sent, peer, raw, ..
                } = &mut *state;
                peer(sent, raw)
            }),
        )
        .expect("the test could not start its interposer");
        Middle { interposer, state }
    }

    /// A connection for the code under test, through the middle, made with the
    /// lesson's `connect` (its setup commands pass before the peer is armed).
    fn learner(&self) -> Connection {
        learner_connection(self.interposer.url())
    }

    /// From now on, `peer` runs before each command the learner sends.
    fn arm(&self, peer: impl FnMut(&[Sent], &mut Connection) -> Step + Send + 'static) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.sent.clear();
        state.peer = Box::new(peer);
        state.armed = true;
    }

    /// The commands the learner has sent since the peer was armed.
    fn sent(&self) -> Vec<Sent> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sent
            .clone()
    }

    /// Stops the peer; returns the commands the learner sent while it was armed.
    fn disarm(&self) -> Vec<Sent> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.armed = false;
        state.peer = Box::new(|_, _| Step::Forward);
        std::mem::take(&mut state.sent)
    }
}

/// "XLEN, XADD, XADD" — for messages.
fn names(sent: &[Sent]) -> String {
    let names: Vec<&str> = sent.iter().map(|s| s.name.as_str()).collect();
    if names.is_empty() {
        "no command".into()
    } else {
        names.join(", ")
    }
}

// ---------------------------------------------------------------------------
// Properties: one broker per property, a run of its own per case.
// ---------------------------------------------------------------------------

/// A broker, the test's connection and a man in the middle, shared by the
/// cases of one property; each case gets a run (its own keys) of its own.
struct Bench {
    broker: BrokerProcess,
    raw: Connection,
    middle: Middle,
    runs: u64,
}

impl Bench {
    #[track_caller]
    fn new() -> Bench {
        let broker = broker();
        let raw = open(broker.url());
        let middle = Middle::start(&broker);
        Bench {
            broker,
            raw,
            middle,
            runs: 0,
        }
    }

    fn url(&self) -> String {
        self.broker.url().to_string()
    }

    /// The names of a new run. They vary in shape — spaces, colons, non-ASCII
    /// — and every function must use the names it is given.
    fn run(&mut self) -> Streams {
        self.runs += 1;
        let n = self.runs;
        Streams::for_run(&match n % 4 {
            0 => format!("p{n}"),
            1 => format!("run {n}"),
            2 => format!("ünï·{n}"),
            _ => format!("x:{n}:y"),
        })
    }

    /// A direct connection for the code under test, made with `connect`.
    fn learner(&self) -> Connection {
        learner_connection(self.broker.url())
    }
}

/// Calls learner code on `con` under the watchdog; returns its result.
#[track_caller]
fn watched<T: Send + 'static>(
    what: &str,
    hint: &str,
    con: Connection,
    streams: &Streams,
    call: impl FnOnce(&mut Connection, &Streams) -> T + Send + 'static,
) -> T {
    let streams = streams.clone();
    let named = what.to_string();
    finishes(what, hint, move || {
        let mut con = con;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&mut con, &streams))) {
            Ok(answer) => answer,
            // The learner's own panic (a todo!() too), saying which call it was.
            Err(panic) => panic!("{named} panicked: {}", panic_message(panic.as_ref())),
        }
    })
}

/// A start for a run's item numbers: 0, small, anywhere, or so high that the
/// last items are `u64::MAX - 1` and near it.
fn item_start(room: u64) -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        Just(0),
        0u64..1_000,
        Just(u64::MAX - room),
        (0..u64::MAX - room),
    ]
}

/// How many times an entry was delivered: 1, a few, or past `u32::MAX`.
fn delivery_counts() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        3 => Just(1u64),
        2 => 2u64..=4,
        1 => Just(17u64),
        1 => Just(u64::from(u32::MAX) + 2),
        1 => Just(i64::MAX as u64),
    ]
}

const OWNERS: [&str; 3] = ["dead-a", "dead b", "другой"];

// ---------------------------------------------------------------------------
// Workers on threads, each with a connection of its own.
// ---------------------------------------------------------------------------

/// One processing of a delivery: which worker, which item, which delivery,
/// when (since the test's start), and whether the job succeeded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Processed {
    worker: String,
    item: u64,
    deliveries: u64,
    at: Duration,
    ok: bool,
}

type JobFn = Box<dyn Fn(&Delivery) -> Result<(), String> + Send>;

/// A job that is told which worker runs it.
type NamedJob = Box<dyn Fn(&str, &Delivery) -> Result<(), String> + Send>;

/// How a worker's `work` ended: its result, and — when it returned `Ok` —
/// what the broker held at that moment if the run was not finished then.
struct Ended {
    result: RedisResult<WorkerReport>,
    unfinished: Option<String>,
}

struct Worker {
    name: String,
    thread: JoinHandle<Ended>,
}

/// Starts `work` for consumer `name` of run "test" on a thread of its own.
fn start_worker(
    url: &str,
    name: &str,
    settings: Settings,
    log: &Log<Processed>,
    started: Instant,
    behaviour: JobFn,
) -> Worker {
    start_worker_on(
        url,
        &Streams::for_run("test"),
        name,
        settings,
        log,
        started,
        Box::new(move |_, d| behaviour(d)),
    )
}

/// Starts `work` for consumer `name` of run `streams` on a thread of its own,
/// on a connection made with the lesson's `connect`. Every delivery the job
/// finishes is logged; `behaviour` decides its outcome. When `work` returns
/// `Ok`, the thread looks at the broker at once: the run must be finished.
fn start_worker_on(
    url: &str,
    streams: &Streams,
    name: &str,
    settings: Settings,
    log: &Log<Processed>,
    started: Instant,
    behaviour: NamedJob,
) -> Worker {
    let url = url.to_string();
    let log = log.clone();
    let streams = streams.clone();
    let worker = name.to_string();
    let thread = thread::Builder::new()
        .name(format!("worker {name}"))
        .spawn(move || {
            // An error, not a panic: a test that failed early drops its broker
            // while its workers may still be starting.
            let mut con = match connect(&url) {
                Ok(con) => con,
                Err(e) => {
                    return Ended {
                        result: Err(e),
                        unfinished: None,
                    };
                }
            };
            let job = |d: &Delivery| {
                let result = behaviour(&worker, d);
                log.push(Processed {
                    worker: worker.clone(),
                    item: d.item,
                    deliveries: d.deliveries,
                    at: started.elapsed(),
                    ok: result.is_ok(),
                });
                result
            };
            let result = work(&mut con, &streams, &worker, &settings, &job);
            let unfinished = match (&result, try_open(&url)) {
                (Ok(_), Ok(mut raw)) => {
                    let closed = is_closed(&mut raw, &streams);
                    let xlen = stream_length(&mut raw, &streams);
                    (!closed || xlen > 0).then(|| describe(&mut raw, &streams))
                }
                _ => None,
            };
            Ended { result, unfinished }
        })
        .expect("a worker thread");
    Worker {
        name: name.to_string(),
        thread,
    }
}

/// Waits for every worker to return Ok, within the budget, calling `tick`
/// every few milliseconds meanwhile (for a test's own moves during the run).
/// Any error, panic, hang, or a worker that returned while the run was not
/// finished is an `Err` saying so, with what the broker holds and `hint`.
fn join_workers_checked(
    con: &mut Connection,
    streams: &Streams,
    workers: Vec<Worker>,
    hint: &str,
    mut tick: impl FnMut(&mut Connection) -> Result<(), String>,
) -> Result<Vec<(String, WorkerReport)>, String> {
    let deadline = Instant::now() + BUDGET;
    let names: Vec<String> = workers.iter().map(|w| w.name.clone()).collect();
    let mut running: Vec<Option<Worker>> = workers.into_iter().map(Some).collect();
    let mut reports: Vec<Option<WorkerReport>> = vec![None; running.len()];
    loop {
        for (slot, report) in running.iter_mut().zip(&mut reports) {
            if slot.as_ref().is_some_and(|w| w.thread.is_finished()) {
                let w = slot.take().expect("checked just above");
                // A panic or an error is reported as soon as it is seen: the
                // other workers may never finish without this one.
                let ended = w.thread.join().map_err(|panic| {
                    format!(
                        "worker '{}' panicked: {}",
                        w.name,
                        panic_message(panic.as_ref())
                    )
                })?;
                let r = ended.result.map_err(|e| {
                    let hint = if e.code() == Some("NOGROUP") {
                        "the group did not exist when the worker read: work joins the group \
                         itself (create_group) as it starts — it may be the first process of \
                         the run"
                    } else {
                        "only a broker that is gone or broken is an error"
                    };
                    format!(
                        "worker '{}' returned an error: {e} — {hint}; {}",
                        w.name,
                        describe(con, streams)
                    )
                })?;
                if let Some(state) = ended.unfinished {
                    return Err(format!(
                        "worker '{}' returned Ok({r:?}) while the run was not finished — {state}. \
                         work may return only once is_finished says so: the run closed AND \
                         nothing left in the stream (waiting, pending at a consumer, or left \
                         for a retry). A read that brings nothing, or a while of quiet, is not \
                         the end of the run",
                        w.name
                    ));
                }
                *report = Some(r);
            }
        }
        if reports.iter().all(Option::is_some) {
            return Ok(names
                .into_iter()
                .zip(reports.into_iter().flatten())
                .collect());
        }
        tick(con)?;
        if Instant::now() >= deadline {
            let still: Vec<&String> = names
                .iter()
                .zip(&reports)
                .filter(|(_, r)| r.is_none())
                .map(|(n, _)| n)
                .collect();
            return Err(format!(
                "workers {still:?} were still running after {BUDGET:?}; {}.\n  Likely cause: {hint}",
                describe(con, streams)
            ));
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits for every worker of run "test" to return, within the budget; a hang,
/// an error, or a worker that returned before the run was finished fails the
/// test with what the broker still holds and `hint`.
#[track_caller]
fn join_workers(lab: &mut Lab, workers: Vec<Worker>, hint: &str) -> Vec<WorkerReport> {
    let streams = lab.streams.clone();
    join_workers_checked(&mut lab.raw, &streams, workers, hint, |_| Ok(()))
        .unwrap_or_else(|message| panic!("{message}"))
        .into_iter()
        .map(|(_, report)| report)
        .collect()
}

fn total(reports: &[WorkerReport], field: impl Fn(&WorkerReport) -> u64) -> u64 {
    reports.iter().map(field).sum()
}

fn settings(batch: usize, claim_idle_ms: u64, max_deliveries: u64) -> Settings {
    Settings {
        batch,
        block: Duration::from_millis(20),
        claim_idle: Duration::from_millis(claim_idle_ms),
        max_deliveries,
    }
}

fn succeed() -> JobFn {
    Box::new(|_| Ok(()))
}

/// After a run: nothing may be left in the stream or pending.
#[track_caller]
fn assert_all_settled(lab: &mut Lab, context: &str) {
    let (xlen, pending) = (lab.xlen(), lab.pending_summary());
    assert!(
        xlen == 0,
        "{context}: the workers returned, but the stream still holds {xlen} entries ({pending}). \
         A worker may stop only when the run is closed AND the stream is empty — items waiting \
         for a retry or held by a dead consumer are still in it"
    );
}

const HUNG_WORKERS: &str = "a worker never saw the run finished. It is finished when the \
     producer has closed it and the stream is empty; entries stay in the stream until they \
     are acknowledged and deleted (acknowledge: XACK + XDEL), and a dead consumer's entries \
     only leave once another worker reclaims and settles them";

/// Makes a pending `entry` look idle for `idle_ms` — time passing, for a
/// failed delivery waiting for its retry — if it is still pending (one step
/// on the server; its owner and delivery count stay as they are).
fn age_if_pending(con: &mut Connection, s: &Streams, entry: &str, idle_ms: u64) {
    const AGE: &str = "\
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) \
        if p[1] == nil then return 0 end \
        redis.call('XCLAIM', KEYS[1], ARGV[1], p[1][2], 0, ARGV[2], 'IDLE', ARGV[3], 'JUSTID') \
        return 1";
    let _: u64 = q(
        con,
        redis::cmd("EVAL")
            .arg(AGE)
            .arg(1)
            .arg(&s.items)
            .arg(&s.group)
            .arg(entry)
            .arg(idle_ms),
    );
}

/// A legal run state with up to `delivered` delivered entries (each settled,
/// or pending at one of [`OWNERS`] with any delivery count and an idle time
/// from nothing to a day) and up to `waiting` entries never delivered.
fn setups(delivered: usize, waiting: usize) -> impl Strategy<Value = Setup> {
    let held = prop_oneof![
        1 => Just(None),
        3 => (
            0..OWNERS.len(),
            delivery_counts(),
            proptest::sample::select(vec![0u64, 5, 2_000, 86_400_000]),
        )
            .prop_map(Some),
    ];
    (
        item_start(64),
        proptest::collection::vec(held, 0..=delivered),
        0..=waiting,
        any::<bool>(),
    )
        .prop_map(|(start, held, waiting, closed)| {
            let n = held.len() as u64;
            Setup {
                delivered: held
                    .into_iter()
                    .enumerate()
                    .map(|(i, held)| {
                        let held = match held {
                            None => Held::Settled,
                            Some((owner, count, idle_ms)) => Held::Pending {
                                owner: OWNERS[owner].to_string(),
                                count,
                                idle_ms,
                            },
                        };
                        (start + i as u64, held)
                    })
                    .collect(),
                waiting: (n..n + waiting as u64).map(|i| start + i).collect(),
                closed,
            }
        })
}

/// The chapter's section "One stream, one group".
mod s1_one_stream_one_group {
    use super::*;

    #[test]
    fn a_group_created_after_items_were_added_hands_out_those_items_too() {
        let mut lab = Lab::new();
        let ids = lab.add(0..10);
        lab.call(
            "create_group (the stream already holds 10 items)",
            "XGROUP CREATE … MKSTREAM returns at once",
            create_group,
        );
        let key = lab.streams.items.clone();
        let groups: redis::streams::StreamInfoGroupsReply =
            lab.command(redis::cmd("XINFO").arg("GROUPS").arg(&key));
        let starts_at: Vec<String> = groups
            .groups
            .iter()
            .map(|g| g.last_delivered_id.clone())
            .collect();
        assert!(
            starts_at == ["0-0"],
            "after create_group the stream's groups start at {starts_at:?}, not [\"0-0\"]: a group \
             created at `$` (or at any id) starts after that entry and never hands out the earlier \
             ones — create it at `0`"
        );
        let first = lab.call(
            "read_new(count 4)",
            "with 10 entries waiting, XREADGROUP returns at once",
            |con, s| read_new(con, s, "w1", 4, Duration::from_millis(100)),
        );
        assert!(
            !first.is_empty(),
            "read_new got none of the 10 items waiting for the group: read with the id `>` (entries \
             never delivered to the group) — any other id re-reads this consumer's own pending \
             entries, and a new consumer has none"
        );
        assert_eq!(
            items_of(&first),
            [0, 1, 2, 3],
            "read_new(count 4) must return the first 4 items, in order"
        );
        assert_eq!(
            first[0],
            delivery(&ids[0], 0, 1),
            "a Delivery carries the entry's id, its item and 1 for a first delivery"
        );
        // A second worker starting up creates the group again.
        lab.call(
            "create_group (the group exists already)",
            "XGROUP CREATE returns at once",
            create_group,
        );
        let rest = lab.call(
            "read_new(count 10)",
            "with 6 entries waiting, XREADGROUP returns at once",
            |con, s| read_new(con, s, "w2", 10, Duration::from_millis(100)),
        );
        assert_eq!(
            items_of(&rest),
            [4, 5, 6, 7, 8, 9],
            "after 4 items were handed out, creating the group again must change nothing: the \
             next read gets the other 6. (A BUSYGROUP error means the group is already there — \
             that is fine; destroying or resetting it hands items out twice)"
        );
        assert!(
            rest.iter().all(|d| d.deliveries == 1),
            "{rest:?}: first deliveries"
        );
        // Any error other than "the group is there already" is a real one.
        let _: () = lab.command(
            redis::cmd("SET")
                .arg("lab14:typo:items")
                .arg("not a stream"),
        );
        let outcome = lab.call(
            "create_group on a key that holds a string",
            "XGROUP CREATE fails at once",
            |con, _| Ok(create_group(con, &Streams::for_run("typo")).map_err(|e| e.to_string())),
        );
        assert!(
            outcome.is_err(),
            "create_group returned Ok for a key that is not a stream: only BUSYGROUP (the group \
             exists) means all is well — return any other error, or the worker carries on and \
             fails later, far from the cause"
        );
    }

    /// What the run's key held before `create_group`.
    #[derive(Debug, Clone)]
    enum Before {
        /// Nothing: a worker that starts before the producer.
        Nothing,
        /// A stream of this many entries and no group: the producer started first.
        Stream(usize),
        /// The group too, with entries delivered, pending and settled: another
        /// worker started first.
        Group(Setup),
        /// A key that is not a stream (a typo, another program's key).
        NotAStream,
    }

    #[test]
    fn create_group_leaves_every_entry_to_the_group_whatever_was_there() {
        let bench = RefCell::new(Bench::new());
        let befores = prop_oneof![
            Just(Before::Nothing),
            (1usize..=4).prop_map(Before::Stream),
            setups(4, 3).prop_map(Before::Group),
            Just(Before::NotAStream),
        ];
        oracle::check(24, (befores, 1usize..=3), |(before, calls)| {
            let mut bench = bench.borrow_mut();
            let s = bench.run();
            let raw = &mut bench.raw;
            match &before {
                Before::Nothing => {}
                Before::Stream(n) => {
                    add_items(raw, &s, &(0..*n as u64).collect::<Vec<_>>());
                }
                Before::Group(setup) => {
                    build(raw, &s, setup);
                }
                Before::NotAStream => {
                    let _: () = q(raw, redis::cmd("SET").arg(&s.items).arg("not a stream"));
                }
            }
            let was = match before {
                Before::NotAStream => None,
                _ => Some(snapshot(raw, &s)),
            };
            for call in 1..=calls {
                let con = bench.learner();
                let outcome = watched(
                    "create_group",
                    "XGROUP CREATE … MKSTREAM returns at once",
                    con,
                    &s,
                    |con, s| create_group(con, s).map_err(|e| e.to_string()),
                );
                let raw = &mut bench.raw;
                match (&before, outcome) {
                    (Before::NotAStream, Err(_)) => {}
                    (Before::NotAStream, Ok(())) => {
                        return Err(format!(
                            "create_group returned Ok for a key that holds a string, not a stream \
                             (call {call}): only BUSYGROUP (the group exists already) means all \
                             is well — return any other error, or the worker carries on and fails \
                             later, far from the cause"
                        ));
                    }
                    (_, Err(e)) => {
                        return Err(format!(
                            "create_group returned an error on call {call} of {calls}, with \
                             {before:?} before the first: {e}. Create the stream with the group \
                             (MKSTREAM: a worker may start before the producer), and treat \
                             BUSYGROUP — the group is there already, as every worker after the \
                             first finds — as success"
                        ));
                    }
                    (_, Ok(())) => {}
                }
                let _ = raw;
            }
            let raw = &mut bench.raw;
            if let Before::NotAStream = before {
                let kind: String = q(raw, redis::cmd("TYPE").arg(&s.items));
                return if kind == "string" {
                    Ok(())
                } else {
                    Err(format!(
                        "create_group replaced a key that was not a stream (it is now a {kind}): \
                         an error must change nothing"
                    ))
                };
            }
            let was = was.expect("a stream was there, or none");
            let now = snapshot(raw, &s);
            let groups: redis::streams::StreamInfoGroupsReply =
                q(raw, redis::cmd("XINFO").arg("GROUPS").arg(&s.items));
            let names: Vec<String> = groups.groups.iter().map(|g| g.name.clone()).collect();
            if names != [s.group.clone()] {
                return Err(format!(
                    "after create_group the stream `{}` has the groups {names:?}: it must have \
                     exactly the run's group, `{}` (Streams::group) — use the names you are given",
                    s.items, s.group
                ));
            }
            if now.entries != was.entries {
                return Err(format!(
                    "create_group changed the stream's entries (before {} entries, after {}): it \
                     must only create the group (and an empty stream when there is none)",
                    was.entries.len(),
                    now.entries.len()
                ));
            }
            match &before {
                Before::Group(_) => {
                    if (&now.group, &now.pending) != (&was.group, &was.pending) {
                        return Err(format!(
                            "create_group on a group that already existed changed it: its \
                             position went from {:?} to {:?}, its pending entries from {} to {}. \
                             Every worker calls create_group as it starts; destroying or \
                             resetting the group hands items out twice and forgets who holds \
                             what — BUSYGROUP means \"already there\": leave it alone",
                            was.group,
                            now.group,
                            was.pending.len(),
                            now.pending.len()
                        ));
                    }
                }
                _ => {
                    if now.group.as_deref() != Some("0-0") {
                        return Err(format!(
                            "after create_group on {before:?}, the group starts after {:?}, not \
                             at \"0-0\": created at `$` (or any id but 0), it never hands out the \
                             entries already in the stream — create it at `0`",
                            now.group
                        ));
                    }
                }
            }
            check_lifetimes(raw, &s, "create_group")
        });
    }
}

/// The chapter's section "A producer that waits".
mod s2_a_producer_that_waits {
    use super::*;

    #[test]
    fn the_producer_waits_for_room_instead_of_trimming() {
        let mut lab = Lab::new();
        lab.group();
        let (capacity, poll) = (4, Duration::from_millis(20));
        lab.reset_calls();
        let url = lab.url();
        let producer = thread::spawn(move || {
            let mut con = open(&url);
            let started = Instant::now();
            let produced = produce(
                &mut con,
                &Streams::for_run("test"),
                0..12,
                nz(capacity),
                poll,
            );
            (produced, started.elapsed())
        });
        let full_by = Instant::now() + BUDGET;
        while lab.xlen() < 4 && !producer.is_finished() && Instant::now() < full_by {
            thread::sleep(Duration::from_millis(1));
        }
        let window_start = lab.calls("xlen");
        thread::sleep(Duration::from_millis(300));
        let looks = lab.calls("xlen") - window_start;
        let (added, xlen) = (lab.calls("xadd"), lab.xlen());
        if producer.is_finished() {
            let (produced, _) = producer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            let produced = produced.unwrap_or_else(|e| panic!("produce returned an error: {e}"));
            panic!(
                "produce returned ({produced:?}) while nothing consumed: {added} entries were added \
                 and the stream holds {xlen}{}. The producer must wait while XLEN ≥ capacity (4) and \
                 add the rest as room appears",
                if added > xlen {
                    format!(
                        " — {} unread items were trimmed away. MAXLEN is a length cap that deletes \
                         the oldest entries, read or not: it is not backpressure",
                        added - xlen
                    )
                } else {
                    String::new()
                }
            );
        }
        assert!(
            xlen <= 4,
            "the stream holds {xlen} entries with capacity 4: add only while XLEN < capacity"
        );
        assert_eq!(
            xlen, 4,
            "with nobody consuming, the producer must fill the stream up to its capacity (4)"
        );
        assert!(
            looks <= 300 / 20 + 6,
            "while the stream was full the producer asked XLEN {looks} times in 300 ms: sleep \
             `poll` (20 ms) between looks, or it hammers the broker"
        );
        assert!(
            looks >= 3,
            "while the stream was full the producer asked XLEN only {looks} times in 300 ms with \
             poll 20 ms: look again after each `poll`"
        );
        // Now consume, one at a time: room appears and the rest arrive, in order.
        let mut seen = Vec::new();
        let mut most = xlen;
        while seen.len() < 12 {
            let Some((entry, item)) = lab.take("test", 1, 3000).pop() else {
                panic!(
                    "after {} items were consumed, no new item came within 3 s; {}: once there is \
                     room the producer must add the next items",
                    seen.len(),
                    lab.state()
                );
            };
            seen.push(item);
            lab.finish(&entry);
            most = most.max(lab.xlen());
        }
        assert_eq!(seen, (0..12).collect::<Vec<u64>>(), "the items, in order");
        assert!(
            most <= 4,
            "the stream held {most} entries at one point, with capacity 4"
        );
        let deadline = Instant::now() + BUDGET;
        while !producer.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        assert!(
            producer.is_finished(),
            "produce still running after every item was added and consumed"
        );
        let (produced, took) = producer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let produced = produced.unwrap_or_else(|e| panic!("produce returned an error: {e}"));
        assert_eq!(produced.items, 12, "{produced:?}: 12 items added");
        let most_waits = took.as_millis() as u64 / 20 + 2;
        assert!(
            (3..=most_waits).contains(&produced.waits),
            "{produced:?}: the producer ran {took:?} with poll 20 ms and found the stream full for \
             at least 300 ms: `waits` counts each time it found the stream full and slept (between \
             3 and {most_waits} here)"
        );
        let looks = lab.calls("xlen");
        assert!(
            produced.waits <= looks && looks <= produced.waits + 12,
            "{produced:?}, and the producer asked XLEN {looks} times: `waits` counts the looks that \
             found the stream full (each one followed by a sleep) — one per look, not one per item \
             that had to wait"
        );
    }

    /// One case of the producer's property.
    #[derive(Debug, Clone)]
    pub(super) struct ProduceCase {
        pub(super) capacity: usize,
        pub(super) ids: Range<u64>,
        /// Entries in the stream before produce starts: (waiting, pending at a
        /// consumer) — another producer's items, some in consumers' hands.
        pub(super) before: (usize, usize),
        pub(super) poll: Duration,
        /// How many looks in a row the consumer lets find the stream full
        /// before it makes room.
        pub(super) patience: u32,
        /// How many entries (oldest first) it settles when it makes room.
        pub(super) burst: usize,
        /// How many it settles at the looks that find room, in turn.
        pub(super) eager: Vec<usize>,
    }

    /// Capacities of 1 to 6 (and 2^40, and `usize::MAX`); item counts of 0,
    /// 1, one below, equal to and one past the capacity, and several times
    /// it; item numbers up to `u64::MAX`; a backlog already there of 0, 1, up
    /// to one past the capacity (pending entries count too); polls from none
    /// to 2 ms; a consumer that makes room at once, or only after the
    /// producer has looked at a full stream a few times.
    fn produce_cases() -> impl Strategy<Value = ProduceCase> {
        (
            prop_oneof![6 => 1usize..=6, 1 => Just(1usize << 40), 1 => Just(usize::MAX)],
            (0usize..8, 0u64..=20),
            (0usize..6, 0usize..=6),
            prop_oneof![Just(0u64), 0u64..1_000, Just(u64::MAX), any::<u64>()],
            proptest::sample::select(vec![
                Duration::ZERO,
                Duration::from_nanos(1),
                Duration::from_micros(300),
                Duration::from_micros(800),
                Duration::from_millis(1),
                Duration::from_millis(2),
            ]),
            (
                0u32..=3,
                0usize..4,
                proptest::collection::vec(0usize..=2, 1..4),
            ),
        )
            .prop_map(
                |(
                    capacity,
                    (len_pick, len_any),
                    (backlog_pick, pending),
                    start,
                    poll,
                    (patience, burst_pick, eager),
                )| {
                    let small = capacity.min(6) as u64;
                    let len = if capacity > 6 {
                        len_any % 6
                    } else {
                        [
                            0,
                            1,
                            small - 1,
                            small,
                            small + 1,
                            2 * small + 1,
                            3 * small,
                            len_any,
                        ][len_pick]
                    };
                    let start = start.min(u64::MAX - len);
                    let mut backlog = if capacity > 6 {
                        backlog_pick % 4
                    } else {
                        [0, 1, capacity - 1, capacity, capacity + 1, 2][backlog_pick]
                    };
                    if len == 0 && backlog >= capacity {
                        backlog = capacity - 1;
                    }
                    let pending = pending.min(backlog);
                    ProduceCase {
                        capacity,
                        ids: start..start + len,
                        before: (backlog - pending, pending),
                        poll,
                        patience,
                        burst: [1, 2, capacity.min(64), 64][burst_pick],
                        eager,
                    }
                },
            )
    }

    /// What the consumer beside produce saw and did.
    #[derive(Debug, Default)]
    pub(super) struct Seen {
        /// Each look of produce's (any command but XADD, MULTI, EXEC): its
        /// place among produce's commands (1-based), when, and whether the
        /// stream was full for it.
        pub(super) looks: Vec<(usize, Instant, bool)>,
        /// produce's entries the consumer settled, in order: (id, item field).
        pub(super) settled: Vec<(String, Option<String>)>,
        /// Entries that were there before produce, which the consumer settled.
        pub(super) settled_before: BTreeSet<String>,
        /// The first moment the stream held more than capacity entries with
        /// some of produce's among them.
        pub(super) over: Option<String>,
        pub(super) full_in_a_row: u32,
    }

    fn note_overflow(
        over: &mut Option<String>,
        entries: &[(String, Option<String>)],
        before: &BTreeSet<String>,
        capacity: usize,
        when: String,
    ) {
        let added = entries
            .iter()
            .filter(|(id, _)| !before.contains(id))
            .count();
        if over.is_none() && added > 0 && entries.len() > capacity {
            *over = Some(format!(
                "{when} the stream held {} entries, {added} of them added by produce, with \
                 capacity {capacity}",
                entries.len()
            ));
        }
    }

    /// A consumer that steps in before each of produce's looks: it notes what
    /// the stream holds, then settles the oldest entries as the case says —
    /// letting produce find the stream full `patience` times in a row, then
    /// making room.
    pub(super) fn consumer_beside(
        s: Streams,
        case: ProduceCase,
        before: BTreeSet<String>,
        seen: Arc<Mutex<Seen>>,
    ) -> impl FnMut(&[Sent], &mut Connection) -> Step + Send + 'static {
        move |sent, raw| {
            let name = sent.last().map_or("", |c| c.name.as_str());
            if matches!(name, "XADD" | "MULTI" | "EXEC" | "DISCARD") {
                return Step::Forward;
            }
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            let entries = stream_entries(raw, &s);
            let when = format!(
                "after produce's commands {},",
                names(&sent[..sent.len() - 1])
            );
            note_overflow(&mut seen.over, &entries, &before, case.capacity, when);
            let len = entries.len();
            let settle = if len >= case.capacity {
                if seen.full_in_a_row >= case.patience {
                    seen.full_in_a_row = 0;
                    case.burst
                } else {
                    seen.full_in_a_row += 1;
                    0
                }
            } else {
                seen.full_in_a_row = 0;
                case.eager[seen.looks.len() % case.eager.len()]
            };
            for (id, item) in entries.iter().take(settle) {
                settle_entry(raw, &s, id);
                if before.contains(id) {
                    seen.settled_before.insert(id.clone());
                } else {
                    seen.settled.push((id.clone(), item.clone()));
                }
            }
            let left = len - settle.min(len);
            seen.looks
                .push((sent.len(), Instant::now(), left >= case.capacity));
            Step::Forward
        }
    }

    #[test]
    fn produce_adds_every_item_in_order_and_never_past_capacity() {
        let bench = RefCell::new(Bench::new());
        oracle::check(32, produce_cases(), |case| {
            let mut bench = bench.borrow_mut();
            let s = bench.run();
            let (waiting, pending) = case.before;
            let setup = Setup {
                delivered: (0..pending as u64)
                    .map(|i| {
                        let held = Held::Pending {
                            owner: "busy".into(),
                            count: 1,
                            idle_ms: 0,
                        };
                        (7_000_000 + i, held)
                    })
                    .collect(),
                waiting: (0..waiting as u64).map(|i| 8_000_000 + i).collect(),
                closed: false,
            };
            let built = build(&mut bench.raw, &s, &setup);
            let before: BTreeSet<String> = built
                .delivered
                .iter()
                .chain(&built.waiting)
                .cloned()
                .collect();
            let seen = Arc::new(Mutex::new(Seen::default()));
            let con = bench.middle.learner();
            bench.middle.arm(consumer_beside(
                s.clone(),
                case.clone(),
                before.clone(),
                Arc::clone(&seen),
            ));
            let (ids, capacity, poll) = (case.ids.clone(), nz(case.capacity), case.poll);
            let what = format!(
                "produce({ids:?}, capacity {capacity}, poll {poll:?}) with {} entries already \
                 in the stream",
                waiting + pending
            );
            let result = watched(
                &what,
                &format!(
                    "produce waits only while the stream holds `capacity` entries; a consumer \
                     here makes room after produce has looked at a full stream {} time(s) — look \
                     again (XLEN) after each `poll`",
                    case.patience
                ),
                con,
                &s,
                move |con, s| produce(con, s, ids, capacity, poll),
            );
            let sent = bench.middle.disarm();
            let produced = result.map_err(|e| format!("{what} returned an error: {e}"))?;
            let raw = &mut bench.raw;
            let entries = stream_entries(raw, &s);
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            note_overflow(
                &mut seen.over,
                &entries,
                &before,
                case.capacity,
                "when produce returned,".into(),
            );
            if let Some(over) = &seen.over {
                return Err(format!(
                    "{what}: {over}. produce must never let more than `capacity` entries stand \
                     in the stream: add only as many as there is room for (capacity − XLEN), \
                     and none while XLEN ≥ capacity — entries pending at consumers count, they \
                     are backlog too. (XADD … MAXLEN is no bound: it trims unread items)"
                ));
            }
            let gone: Vec<&String> = before
                .iter()
                .filter(|id| {
                    !seen.settled_before.contains(*id) && !entries.iter().any(|(e, _)| e == *id)
                })
                .collect();
            if !gone.is_empty() {
                return Err(format!(
                    "{what}: {} entries that were in the stream before produce started are gone, \
                     and no consumer settled them ({}): produce must never delete or trim — \
                     MAXLEN and XTRIM throw unread items away",
                    gone.len(),
                    preview(&gone)
                ));
            }
            let mut got: Vec<Option<String>> =
                seen.settled.iter().map(|(_, item)| item.clone()).collect();
            got.extend(
                entries
                    .iter()
                    .filter(|(id, _)| !before.contains(id))
                    .map(|(_, item)| item.clone()),
            );
            let expected: Vec<Option<String>> =
                case.ids.clone().map(|i| Some(i.to_string())).collect();
            lesson_support::check_sequence(
                &expected,
                &got,
                &format!(
                    "{what}: the `{ITEM_FIELD}` fields of the entries produce added, in stream \
                     order (a consumer settled {} of them meanwhile) — each item once, in order, \
                     in the field ITEM_FIELD",
                    seen.settled.len()
                ),
            )?;
            if produced.items != case.ids.end - case.ids.start {
                return Err(format!(
                    "{what} returned {produced:?}: `items` counts the items added ({})",
                    case.ids.end - case.ids.start
                ));
            }
            let waits: Vec<(usize, Instant)> = seen
                .looks
                .iter()
                .filter(|(n, _, full)| *full && *n < sent.len())
                .map(|(n, at, _)| (*n, *at))
                .collect();
            if produced.waits != waits.len() as u64 {
                return Err(format!(
                    "{what} returned {produced:?}, but it found the stream full and looked again \
                     {} time(s) (its commands: {}): `waits` counts each time produce found the \
                     stream full and slept `poll` before looking again — not items, not batches, \
                     not looks that found room",
                    waits.len(),
                    names(&sent)
                ));
            }
            for (n, at) in waits {
                let gap = sent[n].at.duration_since(at);
                if gap < case.poll {
                    return Err(format!(
                        "{what}: after finding the stream full, produce looked again {gap:?} \
                         later: sleep `poll` ({:?}) between looks — the whole Duration \
                         (thread::sleep(poll)), not a unit taken from it",
                        case.poll
                    ));
                }
            }
            if is_closed(raw, &s) {
                return Err(format!(
                    "{what} set the run's closed key: closing is `close`'s job, once every \
                     producer is done — a run may have more than one producer"
                ));
            }
            check_lifetimes(raw, &s, &what)
        });
    }
}

/// The chapter's section "The end of a run".
mod s3_the_end_of_a_run {
    use super::*;

    #[test]
    fn is_finished_needs_the_close_and_an_empty_stream() {
        let mut lab = Lab::new();
        lab.group();
        let finished =
            |lab: &mut Lab| lab.call("is_finished", "EXISTS and XLEN return at once", is_finished);
        assert!(
            !finished(&mut lab),
            "an empty stream of a run not closed: not finished (the producer may not have started)"
        );
        let ids = lab.add(0..2);
        lab.call("close", "SET returns at once", close);
        let key = lab.streams.closed.clone();
        let closed: bool = lab.command(redis::cmd("EXISTS").arg(&key));
        assert!(closed, "close must set the key streams.closed");
        assert!(
            !finished(&mut lab),
            "closed, but 2 items are still waiting: not finished"
        );
        lab.take("w", 2, 100);
        assert!(
            !finished(&mut lab),
            "closed, nothing waiting, but 2 items are pending at a consumer (which may yet fail or \
             die): not finished — the stream's length counts them, the number waiting does not"
        );
        lab.finish(&ids[0]);
        lab.finish(&ids[1]);
        assert!(
            finished(&mut lab),
            "closed and every item settled (the stream is empty): finished"
        );
    }

    /// Another client's whole step, run between two of the learner's commands.
    #[derive(Debug, Clone)]
    enum Move {
        /// The producer adds its last items and closes, in one transaction.
        AddAndClose(u64),
        /// The producer closes.
        Close,
        /// A worker settles the first pending entry.
        SettleOne,
        /// The workers settle everything left, in one step.
        SettleAll,
    }

    /// Does `mv` on the test's connection; says what it did.
    fn apply(raw: &mut Connection, s: &Streams, mv: &Move) -> String {
        match mv {
            Move::AddAndClose(n) => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for item in 0..*n {
                    pipe.cmd("XADD")
                        .arg(&s.items)
                        .arg("*")
                        .arg(ITEM_FIELD)
                        .arg(900 + item)
                        .ignore();
                }
                pipe.cmd("SET").arg(&s.closed).arg(1).ignore();
                let () = pipe.query(raw).expect("the producer's step");
                format!("the producer added its last {n} item(s) and closed the run")
            }
            Move::Close => {
                let _: () = q(raw, redis::cmd("SET").arg(&s.closed).arg(1));
                "the producer closed the run".into()
            }
            Move::SettleOne => match pending_entries(raw, s).first() {
                Some(p) => {
                    settle_entry(raw, s, &p.entry);
                    format!("a worker settled {}", p.entry)
                }
                None => "nothing (no entry was pending)".into(),
            },
            Move::SettleAll => {
                const ALL: &str = "\
                    local entries = redis.call('XRANGE', KEYS[1], '-', '+') \
                    for _, e in ipairs(entries) do \
                      redis.call('XACK', KEYS[1], ARGV[1], e[1]) \
                      redis.call('XDEL', KEYS[1], e[1]) \
                    end \
                    return #entries";
                let n: u64 = q(
                    raw,
                    redis::cmd("EVAL")
                        .arg(ALL)
                        .arg(1)
                        .arg(&s.items)
                        .arg(&s.group),
                );
                format!("the workers settled all {n} entries left")
            }
        }
    }

    fn finished_now(raw: &mut Connection, s: &Streams) -> bool {
        is_closed(raw, s) && stream_length(raw, s) == 0
    }

    fn word(finished: bool) -> &'static str {
        if finished { "finished" } else { "not finished" }
    }

    const FINISHED_HINT: &str = "EXISTS and XLEN return at once";

    #[test]
    fn is_finished_answers_for_one_moment_and_close_only_closes() {
        let bench = RefCell::new(Bench::new());
        let moves = prop_oneof![
            (1u64..=2).prop_map(Move::AddAndClose),
            Just(Move::Close),
            Just(Move::SettleOne),
            Just(Move::SettleAll),
        ];
        let cases = (setups(3, 2), any::<bool>(), moves, 0usize..8);
        oracle::check(32, cases, |(setup, bare, mv, at)| {
            let mut bench = bench.borrow_mut();
            let s = bench.run();
            let raw = &mut bench.raw;
            // No stream at all: a run whose producer has not started.
            let bare = bare && setup.delivered.is_empty() && setup.waiting.is_empty();
            if bare {
                if setup.closed {
                    let _: () = q(raw, redis::cmd("SET").arg(&s.closed).arg(1));
                }
            } else {
                build(raw, &s, &setup);
            }
            // Only moves the contract allows: nothing is added after the close.
            let mv = match mv {
                Move::AddAndClose(_) | Move::Close if setup.closed => Move::SettleAll,
                mv => mv,
            };
            let finished = finished_now(raw, &s);
            let was = snapshot(raw, &s);
            let state = describe(raw, &s);

            let con = bench.middle.learner();
            bench.middle.arm(|_, _| Step::Forward);
            let alone = watched("is_finished", FINISHED_HINT, con, &s, |con, s| {
                is_finished(con, s)
            });
            let sent = bench.middle.disarm();
            let alone = alone.map_err(|e| format!("is_finished returned an error: {e}"))?;
            if alone != finished {
                return Err(format!(
                    "is_finished returned {alone} when {state}: the run is finished exactly when \
                     it is closed (the key Streams::closed exists) AND nothing is left in the \
                     stream (XLEN 0) — entries waiting and entries pending at consumers both \
                     count, and a run not closed may still get items"
                ));
            }
            if snapshot(&mut bench.raw, &s) != was {
                return Err("is_finished changed what the broker holds: it must only read".into());
            }

            // Again, with another client's step just before command k.
            let k = at % sent.len().max(1) + 1;
            let stepped: Arc<Mutex<Option<(bool, Snapshot, String)>>> = Arc::default();
            let con = bench.middle.learner();
            {
                let (s, mv, stepped) = (s.clone(), mv.clone(), Arc::clone(&stepped));
                bench.middle.arm(move |sent, raw| {
                    if sent.len() == k {
                        let what = apply(raw, &s, &mv);
                        let after = (finished_now(raw, &s), snapshot(raw, &s), what);
                        *stepped.lock().unwrap_or_else(PoisonError::into_inner) = Some(after);
                    }
                    Step::Forward
                });
            }
            let result = watched("is_finished", FINISHED_HINT, con, &s, |con, s| {
                is_finished(con, s)
            });
            let sent = bench.middle.disarm();
            let result = result.map_err(|e| format!("is_finished returned an error: {e}"))?;
            let stepped = stepped
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let raw = &mut bench.raw;
            if let Some((then, snap, what)) = stepped {
                if result != finished && result != then {
                    return Err(format!(
                        "is_finished returned {result}, but the run was {} before another \
                         client's step and {} after it — {what}, just before your command {k} of \
                         {} ({}). An answer that fits neither moment mixes two of them: read the \
                         close and the stream's length in one transaction (MULTI … EXEC, \
                         `redis::pipe().atomic()`)",
                        word(finished),
                        word(then),
                        sent.len(),
                        names(&sent)
                    ));
                }
                if snapshot(raw, &s) != snap {
                    return Err(
                        "is_finished changed what the broker holds: it must only read".into(),
                    );
                }
            }

            // close: the key exists (for good), nothing else changes, twice is fine.
            let was = snapshot(raw, &s);
            for call in 1..=2 {
                let con = bench.learner();
                watched("close", "SET returns at once", con, &s, close)
                    .map_err(|e| format!("close (call {call}) returned an error: {e}"))?;
            }
            let raw = &mut bench.raw;
            let now = snapshot(raw, &s);
            if !now.closed {
                return Err(format!(
                    "after close, the key `{}` (Streams::closed) does not exist: close sets it",
                    s.closed
                ));
            }
            if (now.entries, now.pending, now.group) != (was.entries, was.pending, was.group) {
                return Err(
                    "close changed the stream or its group: it only sets the closed key".into(),
                );
            }
            check_lifetimes(raw, &s, "close")
        });
    }
}

/// The chapter's section "Read, process, acknowledge".
mod s4_read_process_acknowledge {
    use super::*;

    #[test]
    fn read_new_waits_up_to_block_then_returns_what_came() {
        let mut lab = Lab::new();
        lab.group();
        let started = Instant::now();
        let none = lab.call(
            "read_new on an empty stream (block 150 ms)",
            "BLOCK takes milliseconds; BLOCK 0 means wait for ever",
            |con, s| read_new(con, s, "w1", 5, Duration::from_millis(150)),
        );
        let waited = started.elapsed();
        assert!(none.is_empty(), "nothing was added, got {none:?}");
        assert!(
            waited >= Duration::from_millis(140),
            "read_new returned after {waited:?} on an empty stream with block 150 ms: it must wait \
             (XREADGROUP … BLOCK ms) — a worker whose read does not wait spins, asking the broker \
             thousands of times a second"
        );
        // An item added while a read waits ends the wait.
        let url = lab.url();
        let adder = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            let mut con = open(&url);
            let s = Streams::for_run("test");
            let id: String = redis::cmd("XADD")
                .arg(&s.items)
                .arg("*")
                .arg("item")
                .arg(42)
                .query(&mut con)
                .expect("XADD");
            id
        });
        let started = Instant::now();
        let got = lab.call(
            "read_new (block 3 s) while an item is added after 100 ms",
            "a blocking read returns as soon as an entry arrives",
            |con, s| read_new(con, s, "w1", 5, Duration::from_secs(3)),
        );
        let id = adder.join().expect("the adder");
        assert_eq!(
            got,
            [delivery(&id, 42, 1)],
            "the item added during the wait"
        );
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "read_new took {:?}: a read should return when an item arrives, not wait out block",
            started.elapsed()
        );
    }

    #[test]
    fn acknowledge_settles_an_entry_once_and_deletes_it() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..2);
        let taken = lab.take("w1", 2, 100);
        let (first, second) = (taken[0].0.clone(), taken[1].0.clone());
        let removed = lab.call(
            "acknowledge(the first entry)",
            "XACK and XDEL return at once",
            {
                let first = first.clone();
                move |con, s| acknowledge(con, s, &first)
            },
        );
        assert!(removed, "acknowledging a pending entry must return true");
        let pending: Vec<String> = lab.pending().into_iter().map(|p| p.0).collect();
        assert_eq!(
            pending,
            std::slice::from_ref(&second),
            "after acknowledging the first entry, only the second may be pending (XACK removes an \
             entry from the group's pending list)"
        );
        assert_eq!(
            lab.xlen(),
            1,
            "an acknowledged entry must also leave the stream (XDEL): the stream's length is the \
             backlog the producer and is_finished read, and an acknowledged entry is not backlog"
        );
        let again = lab.call(
            "acknowledge(the same entry again)",
            "XACK returns at once",
            {
                let first = first.clone();
                move |con, s| acknowledge(con, s, &first)
            },
        );
        assert!(
            !again,
            "acknowledging an entry that is already settled must return false — XACK says how \
             many entries it removed (0 here) — or an item processed twice is counted twice"
        );
        assert!(lab.call(
            "acknowledge(the second entry)",
            "XACK returns at once",
            move |con, s| acknowledge(con, s, &second)
        ));
        assert_eq!(lab.xlen(), 0);
    }

    /// An entry that carries no item number `item_of` can read.
    #[derive(Debug, Clone)]
    enum Bad {
        NoItemField,
        NotANumber,
        PastU64,
        Negative,
    }

    /// Blocks for a read that finds nothing: none, under a millisecond, a
    /// millisecond, a few.
    fn short_blocks() -> impl Strategy<Value = Duration> + Clone {
        proptest::sample::select(vec![
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(400),
            Duration::from_nanos(999_999),
            Duration::from_millis(1),
            Duration::from_millis(3),
            Duration::from_micros(12_500),
        ])
    }

    #[test]
    fn read_new_hands_out_the_next_entries_nobody_had_and_holds_them_pending() {
        let bench = RefCell::new(Bench::new());
        let bad = prop_oneof![
            3 => Just(None),
            1 => proptest::sample::select(vec![
                Bad::NoItemField,
                Bad::NotANumber,
                Bad::PastU64,
                Bad::Negative,
            ])
            .prop_map(Some),
        ];
        let cases = (
            setups(3, 5),
            proptest::sample::select(vec!["dead-a", "w1", "worker 2"]),
            (0usize..6, 1usize..=8),
            prop_oneof![short_blocks(), oracle::draw::duration()],
            short_blocks(),
            bad,
        );
        oracle::check(
            40,
            cases,
            |(setup, consumer, (count_pick, count_any), block_if_any, block_if_none, bad)| {
                let mut bench = bench.borrow_mut();
                let s = bench.run();
                let raw = &mut bench.raw;
                let built = build(raw, &s, &setup);
                let mut waiting: Vec<(String, Option<u64>)> = built
                    .waiting
                    .iter()
                    .cloned()
                    .zip(setup.waiting.iter().map(|i| Some(*i)))
                    .collect();
                if let Some(bad) = &bad {
                    let mut cmd = redis::cmd("XADD");
                    cmd.arg(&s.items).arg("*");
                    match bad {
                        Bad::NoItemField => cmd.arg("other").arg(5),
                        Bad::NotANumber => cmd.arg(ITEM_FIELD).arg("twelve"),
                        Bad::PastU64 => cmd.arg(ITEM_FIELD).arg("18446744073709551616"),
                        Bad::Negative => cmd.arg(ITEM_FIELD).arg(-3),
                    };
                    waiting.push((q(raw, &cmd), None));
                }
                let w = waiting.len();
                let count = [
                    1,
                    w.saturating_sub(1).max(1),
                    w.max(1),
                    w + 1,
                    1_000,
                    count_any,
                ][count_pick];
                let block = if w == 0 { block_if_none } else { block_if_any };
                let was = snapshot(raw, &s);
                let what = format!(
                    "read_new(consumer {consumer:?}, count {count}, block {block:?}) with {w} \
                     entries never delivered"
                );
                let con = bench.learner();
                let began = Instant::now();
                let result = watched(
                    &what,
                    "XREADGROUP … BLOCK ms waits at most `block`; BLOCK 0 waits for ever, so a \
                     block under a millisecond must still be at least 1",
                    con,
                    &s,
                    move |con, s| read_new(con, s, consumer, count, block),
                );
                let took = began.elapsed();
                let handed = &waiting[..count.min(w)];
                if handed.iter().any(|(_, item)| item.is_none()) {
                    return match result {
                        Err(_) => Ok(()),
                        Ok(got) => Err(format!(
                            "{what}: one of the entries it read has no item number ({bad:?}), and \
                             read_new returned Ok with items {:?}: an entry without a readable \
                             `{ITEM_FIELD}` is an error (item_of says which entry) — inventing a \
                             number or skipping it loses the item in silence",
                            items_of(&got)
                        )),
                    };
                }
                let got = result.map_err(|e| format!("{what} returned an error: {e}"))?;
                let expected: Vec<Delivery> = handed
                    .iter()
                    .map(|(id, item)| delivery(id, item.expect("checked above"), 1))
                    .collect();
                if got != expected {
                    return Err(format!(
                        "{what} returned {got:?}; expected {expected:?}: the first min(count, \
                         {w}) entries no consumer of the group has had yet, in stream order, each \
                         with its entry id, its item and 1 delivery. Read with the id `>` (an id \
                         re-reads this consumer's own pending entries) and COUNT count"
                    ));
                }
                if got.is_empty() && block >= Duration::from_millis(3) {
                    let least = block - Duration::from_micros(1_500);
                    if took < least {
                        return Err(format!(
                            "{what} returned nothing after {took:?}: with nothing to read it \
                             waits `block` (XREADGROUP … BLOCK in milliseconds) before giving up"
                        ));
                    }
                }
                let raw = &mut bench.raw;
                let now = snapshot(raw, &s);
                let mut pending = was.pending.clone();
                pending.extend(
                    got.iter()
                        .map(|d| (d.entry.clone(), consumer.to_string(), 1)),
                );
                pending.sort_by(|a, b| entry_order(&a.0, &b.0));
                if now.pending != pending {
                    return Err(format!(
                        "{what}: after the read the group's pending entries are {:?}, expected \
                         {pending:?}: each entry read is pending at the reader, delivered once, \
                         until it is acknowledged — and nothing else changes (no NOACK, no \
                         acknowledging here)",
                        now.pending
                    ));
                }
                if now.entries != was.entries {
                    return Err(format!(
                        "{what} changed the stream's entries: reading must not delete or add"
                    ));
                }
                check_lifetimes(raw, &s, &what)
            },
        );
    }

    /// A stream entry id's (milliseconds, sequence), for ordering.
    fn entry_key(id: &str) -> (u64, u64) {
        let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
        (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
    }

    fn entry_order(a: &str, b: &str) -> std::cmp::Ordering {
        entry_key(a).cmp(&entry_key(b))
    }

    /// What another client does while acknowledge (or settle) runs.
    #[derive(Debug, Clone)]
    pub(super) enum Other {
        /// Another consumer, which processed the same entry too, settles it.
        SettlesTheSame,
        /// Another consumer settles a different pending entry.
        SettlesAnother,
        /// The caller's process dies: its connection is cut there.
        Cut,
    }

    pub(super) fn others() -> impl Strategy<Value = Other> + Clone {
        prop_oneof![
            Just(Other::SettlesTheSame),
            Just(Other::SettlesAnother),
            Just(Other::Cut),
        ]
    }

    /// Where `entry` stands: pending (owner, count) and/or in the stream.
    pub(super) fn standing(snap: &Snapshot, entry: &str) -> (Option<(String, u64)>, bool) {
        let pending = snap
            .pending
            .iter()
            .find(|p| p.0 == entry)
            .map(|p| (p.1.clone(), p.2));
        let in_stream = snap.entries.iter().any(|e| e.0 == entry);
        (pending, in_stream)
    }

    /// `snap` without `entries`, as the test expects it after they are settled.
    pub(super) fn without(snap: &Snapshot, entries: &[&str]) -> Snapshot {
        let mut snap = snap.clone();
        snap.entries.retain(|e| !entries.contains(&e.0.as_str()));
        snap.pending.retain(|p| !entries.contains(&p.0.as_str()));
        snap
    }

    #[test]
    fn acknowledge_settles_once_whoever_steps_in_and_wherever_it_is_cut() {
        let bench = RefCell::new(Bench::new());
        let cases = (setups(5, 2), 0usize..8, others(), 0usize..8);
        oracle::check(32, cases, |(setup, target, other, at)| {
            let mut bench = bench.borrow_mut();
            // The target: a delivered entry (pending, or settled already), or
            // an id the stream never had.
            let pick = |built: &Built| -> (String, bool) {
                match setup.delivered.get(target) {
                    Some((_, held)) => (
                        built.delivered[target].clone(),
                        matches!(held, Held::Pending { .. }),
                    ),
                    None => ("1-1".to_string(), false),
                }
            };
            // Alone.
            let s = bench.run();
            let built = build(&mut bench.raw, &s, &setup);
            let (entry, was_pending) = pick(&built);
            let was = snapshot(&mut bench.raw, &s);
            let what = format!(
                "acknowledge({entry}) of an entry {}",
                if was_pending {
                    "pending at a consumer"
                } else {
                    "already settled (or never there)"
                }
            );
            let con = bench.middle.learner();
            bench.middle.arm(|_, _| Step::Forward);
            let hint = "XACK and XDEL return at once";
            let e = entry.clone();
            let alone = watched(&what, hint, con, &s, move |con, s| acknowledge(con, s, &e));
            let sent = bench.middle.disarm();
            let alone = alone.map_err(|e| format!("{what} returned an error: {e}"))?;
            if alone != was_pending {
                return Err(format!(
                    "{what} returned {alone}: acknowledge returns whether THIS acknowledgement \
                     removed the entry from the pending list — XACK's answer (1 or 0), not \
                     XDEL's, not always true"
                ));
            }
            let now = snapshot(&mut bench.raw, &s);
            if now != without(&was, &[&entry]) {
                let (p, in_stream) = standing(&now, &entry);
                return Err(format!(
                    "after {what}: the entry is {} and {} the stream; everything else must be as \
                     before. acknowledge settles for good: XACK (off the pending list) and XDEL \
                     (out of the stream, which is the backlog), together",
                    if p.is_some() {
                        "still pending"
                    } else {
                        "not pending"
                    },
                    if in_stream { "still in" } else { "gone from" }
                ));
            }
            check_lifetimes(&mut bench.raw, &s, &what)?;

            // Again on a fresh copy of the state, with another client's step (or
            // a cut) just before command k.
            let k = at % sent.len().max(1) + 1;
            let s = bench.run();
            let built = build(&mut bench.raw, &s, &setup);
            let (entry, _) = pick(&built);
            let another = setup
                .delivered
                .iter()
                .zip(&built.delivered)
                .find(|((_, held), id)| matches!(held, Held::Pending { .. }) && **id != entry)
                .map(|(_, id)| id.clone());
            let was = snapshot(&mut bench.raw, &s);
            let peer_acked: Arc<Mutex<Option<u64>>> = Arc::default();
            let con = bench.middle.learner();
            {
                let (s, entry, other, another, peer_acked) = (
                    s.clone(),
                    entry.clone(),
                    other.clone(),
                    another.clone(),
                    Arc::clone(&peer_acked),
                );
                bench.middle.arm(move |sent, raw| {
                    if sent.len() != k {
                        return Step::Forward;
                    }
                    match (&other, &another) {
                        (Other::Cut, _) => return Step::Cut,
                        (Other::SettlesTheSame, _) => {
                            let acked = settle_entry(raw, &s, &entry);
                            *peer_acked.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some(acked);
                        }
                        (Other::SettlesAnother, Some(another)) => {
                            settle_entry(raw, &s, another);
                        }
                        (Other::SettlesAnother, None) => {}
                    }
                    Step::Forward
                });
            }
            let e = entry.clone();
            let result = watched(&what, hint, con, &s, move |con, s| acknowledge(con, s, &e));
            let sent = bench.middle.disarm();
            let now = snapshot(&mut bench.raw, &s);
            let peer_acked = *peer_acked.lock().unwrap_or_else(PoisonError::into_inner);
            let place = format!(
                "just before your command {k} of {} ({})",
                sent.len(),
                names(&sent)
            );
            match other {
                Other::Cut => {
                    if let Ok(answer) = result {
                        return Err(format!(
                            "{what}: the connection was cut {place}, and acknowledge returned \
                             Ok({answer}): a command that got no answer is an error — return it"
                        ));
                    }
                    let (p, in_stream) = standing(&now, &entry);
                    let (p0, in0) = standing(&was, &entry);
                    if !((p == p0 && in_stream == in0) || (p.is_none() && !in_stream)) {
                        return Err(format!(
                            "{what}: the connection was cut {place} (the process died there), and \
                             the entry is left {} and {} the stream. A crash must leave it either \
                             untouched (pending, to be reclaimed) or settled for good — never \
                             acknowledged but still in the stream (the run would never finish) \
                             nor deleted but still pending: send XACK and XDEL in one \
                             transaction (MULTI … EXEC, `redis::pipe().atomic()`)",
                            if p.is_some() {
                                "pending"
                            } else {
                                "not pending"
                            },
                            if in_stream { "still in" } else { "gone from" }
                        ));
                    }
                }
                Other::SettlesTheSame => {
                    let answer = result.map_err(|e| format!("{what} returned an error: {e}"))?;
                    let peer = peer_acked == Some(1);
                    if was_pending && answer == peer {
                        return Err(format!(
                            "{what}: another consumer that had processed it too settled it \
                             {place}, and its XACK answered {peer_acked:?}; yours returned \
                             {answer}. Exactly one of the two acknowledgements removes it: \
                             return what XACK answered (1: this one did), nothing read before it"
                        ));
                    }
                    if !was_pending && answer {
                        return Err(format!(
                            "{what} returned true for an entry that was not pending: only an \
                             XACK that answers 1 settles"
                        ));
                    }
                    if now != without(&was, &[&entry]) {
                        return Err(format!(
                            "{what}, with another consumer settling it {place}: afterwards it \
                             must be gone from the stream and the pending list, and nothing \
                             else changed"
                        ));
                    }
                }
                Other::SettlesAnother => {
                    let answer = result.map_err(|e| format!("{what} returned an error: {e}"))?;
                    if answer != was_pending {
                        return Err(format!(
                            "{what} returned {answer} while another consumer settled a different \
                             entry {place}: the answer is about this entry only"
                        ));
                    }
                    let mut gone = vec![entry.as_str()];
                    if let Some(a) = &another {
                        gone.push(a);
                    }
                    if now != without(&was, &gone) {
                        return Err(format!(
                            "{what}, while another consumer settled a different entry {place}: \
                             afterwards both must be gone, and nothing else changed"
                        ));
                    }
                }
            }
            Ok(())
        });
    }
}

/// The chapter's section "A consumer that died".
mod s5_a_consumer_that_died {
    use super::*;

    #[test]
    fn delivery_count_is_the_brokers_count_from_xpending() {
        let mut lab = Lab::new();
        lab.group();
        let ids = lab.add(0..2);
        let entry = lab.take("w1", 1, 100)[0].0.clone();
        let count = |lab: &mut Lab, entry: &str| {
            let entry = entry.to_string();
            lab.call(
                "delivery_count",
                "XPENDING key group start end count returns at once",
                move |con, s| delivery_count(con, s, &entry),
            )
        };
        assert_eq!(count(&mut lab, &entry), Some(1), "delivered once");
        lab.claim("w2", std::slice::from_ref(&entry), false);
        lab.claim("w3", std::slice::from_ref(&entry), false);
        assert_eq!(
            count(&mut lab, &entry),
            Some(3),
            "delivered once, then claimed twice: every claim is a delivery, and only the broker \
             knows how many there were (XPENDING's fourth field) — not a counter in one process"
        );
        lab.claim("w4", std::slice::from_ref(&entry), true);
        assert_eq!(
            count(&mut lab, &entry),
            Some(3),
            "a JUSTID claim does not count a delivery"
        );
        assert_eq!(
            count(&mut lab, &ids[1]),
            None,
            "an entry never delivered is not pending: None"
        );
        lab.finish(&entry);
        assert_eq!(
            count(&mut lab, &entry),
            None,
            "a settled entry is not pending: None"
        );
    }

    #[test]
    fn reclaim_takes_entries_idle_past_min_idle_and_leaves_live_ones() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..6);
        let crashed = lab.take("crashed", 3, 100);
        let crashed_ids: Vec<String> = crashed.iter().map(|e| e.0.clone()).collect();
        lab.age("crashed", &crashed_ids, 60_000);
        let live = lab.take("alive", 3, 100);
        let claimed = lab.call(
            "reclaim(min_idle 30 s)",
            "XAUTOCLAIM returns at once; follow its cursor until it is 0-0",
            |con, s| reclaim(con, s, "rescuer", Duration::from_secs(30), 10),
        );
        let claimed_items = items_of(&claimed);
        let stolen: Vec<u64> = live
            .iter()
            .map(|e| e.1)
            .filter(|i| claimed_items.contains(i))
            .collect();
        assert!(
            stolen.is_empty(),
            "reclaim took items {stolen:?}, delivered to a live consumer moments ago: pass \
             min_idle to XAUTOCLAIM (in ms) — with no idle time, work a live consumer is doing is \
             taken away and done twice"
        );
        let expected: Vec<Delivery> = crashed
            .iter()
            .map(|(entry, item)| delivery(entry, *item, 2))
            .collect();
        assert_eq!(
            claimed, expected,
            "reclaim must return the 3 entries idle for a minute, each on its 2nd delivery (the \
             count comes from XPENDING after the claim)"
        );
        let owners: Vec<(String, String)> = lab.pending().into_iter().map(|p| (p.0, p.1)).collect();
        for (entry, _) in &crashed {
            assert!(
                owners.contains(&(entry.clone(), "rescuer".into())),
                "{entry} must now be pending at 'rescuer': {owners:?}"
            );
        }
        let again = lab.call(
            "reclaim right after",
            "XAUTOCLAIM returns at once",
            |con, s| reclaim(con, s, "other", Duration::from_secs(30), 10),
        );
        assert!(
            again.is_empty(),
            "entries claimed a moment ago are not idle: {again:?}"
        );
    }

    #[test]
    fn reclaim_follows_the_cursor_past_a_long_run_of_live_entries() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..125);
        let all = lab.take("crashed", 125, 100);
        assert_eq!(all.len(), 125);
        // The first 120 were delivered just now; the last 5 a minute ago.
        let idle: Vec<String> = all[120..].iter().map(|e| e.0.clone()).collect();
        lab.age("crashed", &idle, 60_000);
        lab.reset_calls();
        let claimed = lab.call(
            "reclaim(min_idle 30 s, count 10) over 120 live then 5 idle entries",
            "XAUTOCLAIM returns at once, and its cursor moves forward until it comes back as 0-0",
            |con, s| reclaim(con, s, "rescuer", Duration::from_secs(30), 10),
        );
        assert_eq!(
            items_of(&claimed),
            [120, 121, 122, 123, 124],
            "5 entries had been idle for a minute, behind 120 live ones. One XAUTOCLAIM call looks \
             at no more than 10 × COUNT pending entries and answers with a cursor: call it again \
             from that cursor until the cursor is 0-0 — even when a call claimed nothing"
        );
        let calls = lab.calls("xautoclaim");
        assert!(
            calls >= 2,
            "reclaim made {calls} XAUTOCLAIM call(s) with count 10 over 125 pending entries: ask \
             for `count` entries per call (COUNT), and follow the cursor"
        );
    }

    #[test]
    fn delivery_count_is_the_count_the_broker_keeps_for_that_entry() {
        let bench = RefCell::new(Bench::new());
        let cases = (setups(6, 2), 0usize..10);
        oracle::check(32, cases, |(setup, target)| {
            let mut bench = bench.borrow_mut();
            let s = bench.run();
            let raw = &mut bench.raw;
            let built = build(raw, &s, &setup);
            // Every entry delivered (pending or settled), then the waiting ones,
            // then ids the stream never had (before and after all of them).
            let mut candidates: Vec<(String, Option<u64>, &str)> = Vec::new();
            for (id, (_, held)) in built.delivered.iter().zip(&setup.delivered) {
                candidates.push(match held {
                    Held::Pending { count, .. } => (id.clone(), Some(*count), "pending"),
                    Held::Settled => (id.clone(), None, "settled already"),
                });
            }
            for id in &built.waiting {
                candidates.push((id.clone(), None, "never delivered"));
            }
            candidates.push(("0-1".into(), None, "never in the stream"));
            candidates.push(("18446744073709551615-0".into(), None, "never in the stream"));
            let (entry, expected, kind) = candidates[target % candidates.len()].clone();
            let was = snapshot(raw, &s);
            let what = format!("delivery_count({entry}) of an entry {kind}");
            let con = bench.learner();
            let e = entry.clone();
            let got = watched(
                &what,
                "XPENDING key group start end count returns at once",
                con,
                &s,
                move |con, s| delivery_count(con, s, &e),
            )
            .map_err(|e| format!("{what} returned an error: {e}"))?;
            if got != expected {
                return Err(format!(
                    "{what} returned {got:?}, expected {expected:?}: the count is XPENDING's \
                     fourth field for exactly this entry — ask for the range from this id to \
                     this id (XPENDING key group ID ID 1), or an open range answers with the \
                     next pending entry's count; None when it is not pending. (Counts can be \
                     large: read them whole, as u64)"
                ));
            }
            if snapshot(&mut bench.raw, &s) != was {
                return Err(format!(
                    "{what} changed what the broker holds (a claim counts a delivery): it must \
                     only read"
                ));
            }
            Ok(())
        });
    }

    /// One pending entry of a reclaim case: its owner, its delivery count,
    /// and whether it has been idle past `min_idle` (else a little under it).
    #[derive(Debug, Clone)]
    struct Held5 {
        owner: usize,
        count: u64,
        old: bool,
    }

    /// What another client does during reclaim.
    #[derive(Debug, Clone)]
    enum During {
        /// An idle entry's owner was only slow: it settles it now.
        OwnerSettles,
        /// Another worker reclaims an idle entry first (XCLAIM with min_idle).
        RivalClaims,
    }

    #[derive(Debug, Clone)]
    struct ReclaimCase {
        min_idle: Duration,
        /// Live entries first (so one XAUTOCLAIM call may see only them), then
        /// a mix; `None` is an entry settled already.
        fresh_first: usize,
        slots: Vec<Option<Held5>>,
        waiting: usize,
        count: usize,
        during: Option<(During, usize, usize)>,
        start: u64,
    }

    /// The consumer that reclaims, and the owners entries may have (itself too).
    const RECLAIMER: &str = "rescuer";
    const HOLDERS: [&str; 4] = ["dead-a", "live b", "другой", RECLAIMER];

    fn reclaim_cases() -> impl Strategy<Value = ReclaimCase> {
        let slot = prop_oneof![
            1 => Just(None),
            4 => (0..HOLDERS.len(), delivery_counts(), any::<bool>())
                .prop_map(|(owner, count, old)| Some(Held5 { owner, count, old })),
        ];
        let during = prop_oneof![
            1 => Just(None),
            1 => (
                prop_oneof![Just(During::OwnerSettles), Just(During::RivalClaims)],
                0usize..8,
                0usize..12,
            )
                .prop_map(Some),
        ];
        (
            proptest::sample::select(vec![
                Duration::ZERO,
                Duration::from_nanos(1),
                Duration::from_nanos(999_999),
                Duration::from_millis(1),
                Duration::from_millis(40),
                Duration::from_millis(250),
                Duration::from_millis(1_500),
                Duration::from_millis(2_900),
                Duration::from_secs(60),
                Duration::from_secs(3_600),
                Duration::from_secs(50 * 86_400),
                Duration::from_secs(400 * 86_400),
            ]),
            prop_oneof![2 => Just(0usize), 1 => 1usize..=25],
            proptest::collection::vec(slot, 0..=8),
            0usize..=2,
            prop_oneof![
                Just(1usize),
                Just(2usize),
                Just(3usize),
                Just(8usize),
                Just(100usize)
            ],
            during,
            item_start(64),
        )
            .prop_map(
                |(min_idle, fresh_first, slots, waiting, count, during, start)| ReclaimCase {
                    min_idle,
                    fresh_first,
                    slots,
                    waiting,
                    count,
                    during,
                    start,
                },
            )
    }

    /// The case's state: the live head, then the slots; idle times set from
    /// `min_idle`: past it by a little, or under it by 300 ms (or by half).
    fn reclaim_setup(case: &ReclaimCase) -> Setup {
        let m = case.min_idle.as_millis() as u64;
        let under = if m >= 1_000 { m - 300 } else { m / 2 };
        let head = (0..case.fresh_first).map(|_| {
            Some(Held5 {
                owner: 1,
                count: 1,
                old: false,
            })
        });
        let delivered: Vec<(u64, Held)> = head
            .chain(case.slots.iter().cloned())
            .enumerate()
            .map(|(i, slot)| {
                let held = match slot {
                    None => Held::Settled,
                    Some(h) => Held::Pending {
                        owner: HOLDERS[h.owner].to_string(),
                        count: h.count,
                        idle_ms: if h.old { m + 5 } else { under },
                    },
                };
                (case.start + i as u64, held)
            })
            .collect();
        let n = delivered.len() as u64;
        Setup {
            delivered,
            waiting: (n..n + case.waiting as u64)
                .map(|i| case.start + i)
                .collect(),
            closed: false,
        }
    }

    #[test]
    fn reclaim_takes_exactly_the_entries_idle_past_min_idle_with_their_new_count() {
        let bench = RefCell::new(Bench::new());
        oracle::check(40, reclaim_cases(), |case| {
            let mut bench = bench.borrow_mut();
            let setup = reclaim_setup(&case);
            let s = bench.run();
            let built = build(&mut bench.raw, &s, &setup);
            let item_of_entry: BTreeMap<String, u64> = built
                .delivered
                .iter()
                .cloned()
                .zip(setup.delivered.iter().map(|(item, _)| *item))
                .collect();
            let m_ms = case.min_idle.as_secs_f64() * 1_000.0;
            let what = format!(
                "reclaim(min_idle {:?}, count {}) over {} pending entries",
                case.min_idle,
                case.count,
                pending_entries(&mut bench.raw, &s).len()
            );
            let hint = "XAUTOCLAIM returns at once; follow its cursor until it is 0-0";
            let (min_idle, count) = (case.min_idle, case.count);

            // The peer's target: an entry idle past min_idle (never one owned by
            // the reclaimer, so a rival's claim is a real steal).
            let old: Vec<String> = setup
                .delivered
                .iter()
                .zip(&built.delivered)
                .filter(|((_, held), _)| {
                    matches!(held, Held::Pending { idle_ms, owner, .. }
                        if (*idle_ms as f64) >= m_ms && owner != RECLAIMER)
                })
                .map(|(_, id)| id.clone())
                .collect();
            let during = match &case.during {
                Some((d, target, at)) if !old.is_empty() && m_ms >= 200.0 => {
                    Some((d.clone(), old[target % old.len()].clone(), *at))
                }
                _ => None,
            };
            // How many commands reclaim sends: counted on a copy of the state.
            let k = match &during {
                None => 0,
                Some((_, _, at)) => {
                    let copy = bench.run();
                    build(&mut bench.raw, &copy, &setup);
                    let con = bench.middle.learner();
                    bench.middle.arm(|_, _| Step::Forward);
                    let dry = watched(&what, hint, con, &copy, move |con, s| {
                        reclaim(con, s, RECLAIMER, min_idle, count)
                    });
                    let sent = bench.middle.disarm();
                    dry.map_err(|e| format!("{what} returned an error: {e}"))?;
                    at % sent.len().max(1) + 1
                }
            };
            let rival_got: Arc<Mutex<Option<bool>>> = Arc::default();
            let con = bench.middle.learner();
            {
                let (s, during, rival_got) = (s.clone(), during.clone(), Arc::clone(&rival_got));
                let m = case.min_idle.as_millis() as u64;
                bench.middle.arm(move |sent, raw| {
                    match &during {
                        Some((During::OwnerSettles, entry, _)) if sent.len() == k => {
                            settle_entry(raw, &s, entry);
                        }
                        Some((During::RivalClaims, entry, _)) if sent.len() == k => {
                            // A claim with min_idle succeeds only if the entry is still idle.
                            let got: Value = q(
                                raw,
                                redis::cmd("XCLAIM")
                                    .arg(&s.items)
                                    .arg(&s.group)
                                    .arg("rival")
                                    .arg(m)
                                    .arg(entry),
                            );
                            let got = matches!(got, Value::Array(ref v) if !v.is_empty());
                            *rival_got.lock().unwrap_or_else(PoisonError::into_inner) = Some(got);
                        }
                        _ => {}
                    }
                    Step::Forward
                });
            }
            let began = Instant::now();
            let before = pending_entries(&mut bench.raw, &s);
            let position = group_position(&mut bench.raw, &s);
            let result = watched(&what, hint, con, &s, move |con, s| {
                reclaim(con, s, RECLAIMER, min_idle, count)
            });
            let elapsed_ms = began.elapsed().as_secs_f64() * 1_000.0;
            let sent = bench.middle.disarm();
            let got = result.map_err(|e| {
                format!(
                    "{what} returned an error: {e}{}",
                    match &during {
                        Some((During::OwnerSettles, entry, _)) => format!(
                            " — while its old owner settled {entry} just before your command {k} \
                             ({}): an entry settled between the claim and XPENDING is simply \
                             not pending any more (delivery_count answers None): skip it",
                            names(&sent)
                        ),
                        _ => String::new(),
                    }
                )
            })?;
            let raw = &mut bench.raw;
            let after = pending_entries(raw, &s);
            let touched: Option<&String> = during.as_ref().map(|(_, e, _)| e);
            let rival_got = rival_got
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .unwrap_or(false);
            let context = match &during {
                None => String::new(),
                Some((d, e, _)) => format!(
                    " (while {} {e} just before your command {k}: {})",
                    match d {
                        During::OwnerSettles => "its old owner settled",
                        During::RivalClaims => "another worker reclaimed",
                    },
                    names(&sent)
                ),
            };
            let mut returned = BTreeMap::new();
            for d in &got {
                if returned.insert(d.entry.clone(), d.clone()).is_some() {
                    return Err(format!("{what}{context} returned {} twice", d.entry));
                }
            }
            for p in &before {
                let now = after.iter().find(|a| a.entry == p.entry);
                let is_touched = touched == Some(&p.entry);
                let claimed_now =
                    now.is_some_and(|a| a.owner == RECLAIMER && a.count == p.count + 1);
                let must_take = (p.idle_ms as f64) >= m_ms.ceil() && !is_touched;
                // XPENDING's idle is in whole milliseconds: 2 ms of slack.
                let must_not = (p.idle_ms as f64) + elapsed_ms + 2.0 < m_ms;
                let item = item_of_entry[&p.entry];
                match returned.get(&p.entry) {
                    Some(d) => {
                        if must_not {
                            return Err(format!(
                                "{what}{context} took {} (item {item}, at '{}'), idle only {} ms — \
                                 under min_idle. Pass min_idle to XAUTOCLAIM in milliseconds, \
                                 whole (as_millis, not as_secs or subsec_millis, not truncated \
                                 to 32 bits): a consumer that is merely slow would lose its work",
                                p.entry, p.owner, p.idle_ms
                            ));
                        }
                        if is_touched && rival_got {
                            return Err(format!(
                                "{what}{context}: the rival's claim took {} first, and reclaim \
                                 returned it too — it had just been delivered, so it was not idle: \
                                 claim only entries idle past min_idle, in the claim itself \
                                 (XAUTOCLAIM's min-idle-time), never by a claim with no idle time",
                                p.entry
                            ));
                        }
                        let want = delivery(&p.entry, item, p.count + 1);
                        if *d != want {
                            return Err(format!(
                                "{what}{context} returned {d:?} for an entry that was delivered \
                                 {} times before; expected {want:?}: the claim is one more \
                                 delivery, and its count is what XPENDING says after the claim \
                                 (not 2, not the count before it)",
                                p.count
                            ));
                        }
                        if !claimed_now && !is_touched {
                            return Err(format!(
                                "{what}{context} returned {} but the broker does not show it \
                                 claimed by '{RECLAIMER}' with one more delivery (it shows {now:?}): \
                                 claim it with XAUTOCLAIM for this consumer, without JUSTID (which \
                                 counts no delivery)",
                                p.entry
                            ));
                        }
                    }
                    None => {
                        if must_take {
                            return Err(format!(
                                "{what}{context} did not return {} (item {item}, pending at '{}' \
                                 and idle {} ms ≥ min_idle): every idle entry, from other \
                                 consumers and from itself. One XAUTOCLAIM call looks at no more \
                                 than 10 × COUNT pending entries: call it again from the cursor it \
                                 returns until the cursor is 0-0, even after a call that claimed \
                                 nothing",
                                p.entry, p.owner, p.idle_ms
                            ));
                        }
                        if is_touched
                            && !rival_got
                            && matches!(during, Some((During::RivalClaims, ..)))
                        {
                            return Err(format!(
                                "{what}{context}: neither the rival nor reclaim got {}, which was \
                                 idle past min_idle",
                                p.entry
                            ));
                        }
                        let unchanged =
                            now.is_some_and(|a| a.owner == p.owner && a.count == p.count);
                        if !is_touched && !unchanged {
                            return Err(format!(
                                "{what}{context} did not return {} yet changed it: before \
                                 ('{}', {} deliveries), after {now:?} — an entry claimed must be \
                                 returned, to be processed",
                                p.entry, p.owner, p.count
                            ));
                        }
                    }
                }
            }
            if let Some(extra) = returned
                .keys()
                .find(|e| !before.iter().any(|p| p.entry == **e))
            {
                return Err(format!(
                    "{what}{context} returned {extra}, which was not pending"
                ));
            }
            if group_position(raw, &s) != position {
                return Err(format!(
                    "{what}{context} handed out entries never delivered: reclaim claims pending \
                     entries only"
                ));
            }
            check_lifetimes(raw, &s, &what)
        });
    }
}

/// The chapter's section "Settling a delivery".
mod s6_settling_a_delivery {
    use super::s4_read_process_acknowledge::{Other, others, standing, without};
    use super::*;

    #[test]
    fn settle_acknowledges_a_success_retries_a_failure_and_dead_letters_the_last() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..3);
        let taken = lab.take("w", 3, 100);
        let (e0, e1, e2) = (taken[0].0.clone(), taken[1].0.clone(), taken[2].0.clone());
        // Make the broker's counts match: e1 on its 2nd delivery, e2 on its 3rd.
        lab.claim("w", std::slice::from_ref(&e1), false);
        lab.claim("w", std::slice::from_ref(&e2), false);
        lab.claim("w", std::slice::from_ref(&e2), false);
        let settle_one = |lab: &mut Lab, d: Delivery, result: Result<(), String>| {
            lab.call(
                "settle (max_deliveries 3)",
                "XACK, XDEL and the dead-letter script return at once",
                move |con, s| settle(con, s, &d, result, 3),
            )
        };

        assert_eq!(
            settle_one(&mut lab, delivery(&e0, 0, 1), Ok(())),
            Settled::Consumed,
            "a success is acknowledged: Consumed"
        );
        assert_eq!(
            settle_one(&mut lab, delivery(&e0, 0, 1), Ok(())),
            Settled::AlreadySettled,
            "the same item succeeding a second time (processed twice) is not consumed again: \
             acknowledge returned false, so it is AlreadySettled"
        );
        assert_eq!(
            settle_one(&mut lab, delivery(&e1, 1, 2), Err("flaky".into())),
            Settled::LeftForRetry,
            "a failure on delivery 2 of 3 is left pending, for a reclaim to retry"
        );
        let pending: Vec<String> = lab.pending().into_iter().map(|p| p.0).collect();
        assert!(
            pending.contains(&e1),
            "an item left for a retry must stay pending (not acknowledged): pending is {pending:?}"
        );
        assert_eq!(
            settle_one(&mut lab, delivery(&e2, 2, 3), Err("disk full".into())),
            Settled::DeadLettered,
            "a failure on delivery 3 of max_deliveries 3 is the last one: DeadLettered"
        );
        assert_eq!(
            lab.dead(),
            [DeadLetter {
                item: 2,
                deliveries: 3,
                error: "disk full".into()
            }],
            "the dead letter keeps the item, its deliveries and the error (use dead_letter)"
        );
        assert_eq!(
            settle_one(&mut lab, delivery(&e2, 2, 3), Err("disk full".into())),
            Settled::AlreadySettled,
            "an item already dead-lettered is not dead-lettered twice"
        );
        assert_eq!(lab.dead().len(), 1, "one dead letter, not two");
        assert_eq!(
            lab.xlen(),
            1,
            "only the item left for a retry is still in the stream"
        );
    }

    #[derive(Debug, Clone)]
    struct SettleCase {
        max: u64,
        deliveries: u64,
        result: Result<(), String>,
        /// Another consumer had settled the entry before this call.
        settled_before: bool,
        other: Other,
        at: usize,
        item: u64,
    }

    /// max_deliveries of 1, 2, 3, 10 and `u64::MAX`; deliveries one below,
    /// at and one past it (and 1); successes and failures with any message.
    fn settle_cases() -> impl Strategy<Value = SettleCase> {
        (
            proptest::sample::select(vec![1u64, 2, 3, 10, u64::MAX]),
            0usize..4,
            prop_oneof![
                Just(Ok(())),
                proptest::sample::select(vec![
                    String::new(),
                    "x".to_string(),
                    "disk full: 100% — ünïcødé".to_string(),
                    "line 1\nline 2".to_string(),
                    "e".repeat(300),
                ])
                .prop_map(Err),
            ],
            any::<bool>(),
            (others(), 0usize..8),
            item_start(1),
        )
            .prop_map(|(max, pick, result, settled_before, (other, at), item)| {
                let deliveries = [1, max.saturating_sub(1), max, max.saturating_add(1)][pick]
                    .clamp(1, i64::MAX as u64);
                // A failure with deliveries to spare on an entry settled
                // already: the contract does not say which answer — left out.
                let settled_before = settled_before && !(result.is_err() && deliveries < max);
                SettleCase {
                    max,
                    deliveries,
                    result,
                    settled_before,
                    other,
                    at,
                    item,
                }
            })
    }

    /// The case's state: the target (pending at 'w' after `deliveries`
    /// deliveries, or settled), an entry pending elsewhere, one waiting.
    fn settle_setup(case: &SettleCase) -> Setup {
        let target = if case.settled_before {
            Held::Settled
        } else {
            Held::Pending {
                owner: "w".into(),
                count: case.deliveries,
                idle_ms: 40,
            }
        };
        let neighbour = Held::Pending {
            owner: "other".into(),
            count: 2,
            idle_ms: 5,
        };
        Setup {
            delivered: vec![(case.item, target), (5, neighbour)],
            waiting: vec![6],
            closed: true,
        }
    }

    #[test]
    fn settle_decides_by_the_result_and_the_delivery_count_and_settles_once() {
        let bench = RefCell::new(Bench::new());
        oracle::check(40, settle_cases(), |case| {
            let mut bench = bench.borrow_mut();
            let pending = !case.settled_before;
            let failed = case.result.is_err();
            let last = case.deliveries >= case.max;
            let expected = match (failed, last, pending) {
                (false, _, true) => Settled::Consumed,
                (true, false, _) => Settled::LeftForRetry,
                (true, true, true) => Settled::DeadLettered,
                (_, _, false) => Settled::AlreadySettled,
            };
            let what = format!(
                "settle(delivery {} of item {}, {:?}, max_deliveries {}) of an entry {}",
                case.deliveries,
                case.item,
                case.result,
                case.max,
                if pending {
                    "pending"
                } else {
                    "another consumer had settled already"
                }
            );
            let hint = "XACK, XDEL and the dead-letter script return at once";
            let call = |bench: &mut Bench, s: &Streams, entry: &str| {
                let (d, result, max) = (
                    delivery(entry, case.item, case.deliveries),
                    case.result.clone(),
                    case.max,
                );
                (
                    bench.middle.learner(),
                    move |con: &mut Connection, s: &Streams| settle(con, s, &d, result, max),
                    s.clone(),
                )
            };

            // Alone.
            let s = bench.run();
            let built = build(&mut bench.raw, &s, &settle_setup(&case));
            let entry = built.delivered[0].clone();
            let was = snapshot(&mut bench.raw, &s);
            let began = Instant::now();
            let idle_before = pending_entries(&mut bench.raw, &s)
                .into_iter()
                .find(|p| p.entry == entry)
                .map(|p| p.idle_ms);
            let (con, f, s) = call(&mut bench, &s, &entry);
            bench.middle.arm(|_, _| Step::Forward);
            let alone = watched(&what, hint, con, &s, f);
            let sent = bench.middle.disarm();
            let alone = alone.map_err(|e| format!("{what} returned an error: {e}"))?;
            if alone != expected {
                return Err(format!(
                    "{what} returned {alone:?}, expected {expected:?}: a success is acknowledged \
                     (Consumed, or AlreadySettled when acknowledge says another consumer removed \
                     it first); a failure with deliveries to spare (deliveries < max_deliveries) \
                     is left pending for a retry; a failure on the max_deliveries-th delivery \
                     (or later) goes to the dead letters (dead_letter: DeadLettered, or \
                     AlreadySettled when it answers false)"
                ));
            }
            let raw = &mut bench.raw;
            let now = snapshot(raw, &s);
            let dead_now = dead_letters(raw, &s).expect("the dead letters");
            let want_dead = match expected {
                Settled::DeadLettered => vec![DeadLetter {
                    item: case.item,
                    deliveries: case.deliveries,
                    error: case.result.clone().err().unwrap_or_default(),
                }],
                _ => Vec::new(),
            };
            if dead_now != want_dead {
                return Err(format!(
                    "after {what} the dead letters are {dead_now:?}, expected {want_dead:?}: \
                     only a failure on its last allowed delivery is dead-lettered, once, with \
                     its item, its delivery count and its error (use dead_letter)"
                ));
            }
            let want = match expected {
                Settled::Consumed | Settled::DeadLettered => without(&was, &[&entry]),
                _ => Snapshot {
                    dead: was.dead,
                    ..was.clone()
                },
            };
            if (Snapshot {
                dead: 0,
                ..now.clone()
            }) != (Snapshot { dead: 0, ..want })
            {
                let (p, in_stream) = standing(&now, &entry);
                return Err(format!(
                    "after {what} (→ {alone:?}) the entry is {} and {} the stream: Consumed and \
                     DeadLettered settle it for good (off the pending list and out of the \
                     stream); LeftForRetry leaves it exactly as it was — pending, same owner, \
                     same delivery count — for a reclaim to deliver again once it has been idle \
                     for the claim time; nothing else may change",
                    match p {
                        Some((owner, count)) =>
                            format!("pending at '{owner}' ({count} deliveries)"),
                        None => "not pending".into(),
                    },
                    if in_stream { "in" } else { "gone from" }
                ));
            }
            if expected == Settled::LeftForRetry {
                let idle_after = pending_entries(raw, &s)
                    .into_iter()
                    .find(|p| p.entry == entry)
                    .map(|p| p.idle_ms);
                if let (Some(before), Some(after)) = (idle_before, idle_after)
                    && after > before + began.elapsed().as_millis() as u64 + 2
                {
                    return Err(format!(
                        "after {what} the entry looks idle for {after} ms, though it was idle \
                         {before} ms a moment before: a failure waits the claim time for its \
                         retry (the claim time doubles as the retry delay) — do not age it"
                    ));
                }
            }
            check_lifetimes(raw, &s, &what)?;
            if sent.is_empty() {
                return Ok(());
            }

            // Again on a copy, with another client's step (or a cut) just
            // before command k.
            let k = case.at % sent.len() + 1;
            let s = bench.run();
            let built = build(&mut bench.raw, &s, &settle_setup(&case));
            let entry = built.delivered[0].clone();
            let another = built.delivered[1].clone();
            let was = snapshot(&mut bench.raw, &s);
            let peer_acked: Arc<Mutex<Option<u64>>> = Arc::default();
            let (con, f, s) = call(&mut bench, &s, &entry);
            {
                let (s, entry, other, peer_acked) = (
                    s.clone(),
                    entry.clone(),
                    case.other.clone(),
                    Arc::clone(&peer_acked),
                );
                let another = another.clone();
                bench.middle.arm(move |sent, raw| {
                    if sent.len() != k {
                        return Step::Forward;
                    }
                    match other {
                        Other::Cut => return Step::Cut,
                        Other::SettlesTheSame => {
                            let acked = settle_entry(raw, &s, &entry);
                            *peer_acked.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some(acked);
                        }
                        Other::SettlesAnother => {
                            settle_entry(raw, &s, &another);
                        }
                    }
                    Step::Forward
                });
            }
            let result = watched(&what, hint, con, &s, f);
            let sent = bench.middle.disarm();
            let raw = &mut bench.raw;
            let now = snapshot(raw, &s);
            let dead = dead_letters(raw, &s).expect("the dead letters").len();
            let place = format!(
                "just before your command {k} of {} ({})",
                sent.len(),
                names(&sent)
            );
            let (p, in_stream) = standing(&now, &entry);
            let settled_now = p.is_none() && !in_stream;
            match case.other {
                Other::Cut => {
                    if let Ok(answer) = result {
                        return Err(format!(
                            "{what}: the connection was cut {place}, and settle returned \
                             Ok({answer:?}): a command that got no answer is an error — return it"
                        ));
                    }
                    let untouched = standing(&now, &entry) == standing(&was, &entry) && dead == 0;
                    let done =
                        settled_now && dead == usize::from(expected == Settled::DeadLettered);
                    if !untouched && !done {
                        return Err(format!(
                            "{what}: the connection was cut {place} (the process died there), and \
                             the broker is left with the entry {} and {dead} dead letter(s). A \
                             crash must leave the delivery either untouched (pending, to be \
                             reclaimed) or settled for good — never acknowledged but left in the \
                             stream, never settled without its dead letter, never dead-lettered \
                             and still pending: each settlement is one transaction or one script",
                            match (&p, in_stream) {
                                (Some(_), true) => "pending, in the stream",
                                (Some(_), false) => "pending but deleted",
                                (None, true) => "acknowledged but still in the stream",
                                (None, false) => "settled",
                            }
                        ));
                    }
                }
                Other::SettlesTheSame => {
                    let answer = result.map_err(|e| format!("{what} returned an error: {e}"))?;
                    let peer = peer_acked
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .unwrap_or(0);
                    if pending && matches!(expected, Settled::Consumed | Settled::DeadLettered) {
                        let mine = answer == expected;
                        if mine == (peer == 1) || !(mine || answer == Settled::AlreadySettled) {
                            return Err(format!(
                                "{what}: another consumer that had processed it too settled it \
                                 {place} (its XACK answered {peer}), and settle returned \
                                 {answer:?}. Exactly one of the two settles it: {expected:?} if \
                                 yours did, AlreadySettled if the other did — from what XACK (or \
                                 dead_letter) answers, nothing read before it"
                            ));
                        }
                        let want_dead = usize::from(answer == Settled::DeadLettered);
                        if dead != want_dead {
                            return Err(format!(
                                "{what}, with another consumer settling it {place}: {dead} dead \
                                 letters, expected {want_dead} — dead-letter only what this call \
                                 settled (dead_letter does both in one step)"
                            ));
                        }
                    }
                    if !settled_now && expected != Settled::LeftForRetry {
                        return Err(format!(
                            "{what}, with another consumer settling it {place}: the entry must \
                             end settled (off the pending list and out of the stream)"
                        ));
                    }
                }
                Other::SettlesAnother => {
                    let answer = result.map_err(|e| format!("{what} returned an error: {e}"))?;
                    if answer != expected {
                        return Err(format!(
                            "{what} returned {answer:?} while another consumer settled a \
                             different entry {place}; expected {expected:?}"
                        ));
                    }
                    let mut gone = vec![another.as_str()];
                    if matches!(expected, Settled::Consumed | Settled::DeadLettered) {
                        gone.push(&entry);
                    }
                    let want = without(&was, &gone);
                    if (Snapshot { dead: 0, ..now }) != (Snapshot { dead: 0, ..want }) {
                        return Err(format!(
                            "{what}, while another consumer settled a different entry {place}: \
                             only the two settled entries may be gone, nothing else changed"
                        ));
                    }
                }
            }
            Ok(())
        });
    }
}

/// The chapter's section "The worker".
mod s7_the_worker {
    use super::*;

    #[test]
    fn workers_started_before_the_producer_consume_every_item_exactly_once() {
        let mut lab = Lab::new();
        let log = Log::new();
        let started = Instant::now();
        let s = settings(5, 2000, 3);
        let workers = vec![
            start_worker(&lab.url(), "w1", s, &log, started, succeed()),
            start_worker(&lab.url(), "w2", s, &log, started, succeed()),
        ];
        thread::sleep(Duration::from_millis(150));
        if let Some(quitter) = workers.iter().find(|w| w.thread.is_finished()) {
            let name = quitter.name.clone();
            let report = join_workers(&mut lab, workers, "-");
            panic!(
                "worker '{name}' returned before anything was produced ({report:?}): an empty stream \
                 is not the end of the run until the producer has closed it"
            );
        }
        lab.add(0..60);
        lab.close();
        let reports = join_workers(&mut lab, workers, HUNG_WORKERS);
        assert_all_settled(&mut lab, "60 items, 2 workers");
        let processed: Vec<u64> = log.entries().iter().map(|p| p.item).collect();
        assert_each_exactly_once(
            0..60,
            processed,
            "items processed by the 2 workers (nothing failed or crashed, and claim_idle is 2 s: \
             no item may be delivered twice)",
        );
        assert_eq!(
            total(&reports, |r| r.consumed),
            60,
            "{reports:?}: consumed must add up to the 60 items"
        );
        for r in &reports {
            assert_eq!(
                r.processed, r.consumed,
                "{r:?}: with no failures, every processed item is consumed"
            );
            assert_eq!(
                (
                    r.failed,
                    r.dead_lettered,
                    r.redelivered,
                    r.reclaimed,
                    r.already_settled
                ),
                (0, 0, 0, 0, 0),
                "{r:?}: no failures, no crash: nothing failed, dead, redelivered, reclaimed or \
                 settled twice"
            );
        }
        assert!(lab.dead().is_empty(), "no dead letters");
    }

    /// A scenario of the `stall` test: a worker whose read would wait a whole
    /// stall finds entries to reclaim on its first round, and nothing new.
    /// A round does one or the other — it reads new entries only when it
    /// reclaimed none — so the reclaimed ones are run at once, not after a
    /// read that blocks for `block` with them held.
    pub(super) fn reclaimed_entries_are_run_without_waiting_for_a_read() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..4);
        let crashed = lab.take("crashed", 4, 100);
        assert_eq!(crashed.len(), 4, "the test's consumer took the 4 entries");
        // Idle past the claim time before the worker starts.
        thread::sleep(Duration::from_millis(300));
        let log = Log::new();
        let s = Settings {
            batch: 4,
            block: STALL,
            claim_idle: Duration::from_millis(200),
            max_deliveries: 3,
        };
        let started = Instant::now();
        let worker = start_worker(&lab.url(), "w1", s, &log, started, succeed());
        lesson_support::wait_until("the worker to run the 4 items it could reclaim", || {
            log.entries().len() >= 4
        });
        lab.close();
        join_workers(
            &mut lab,
            vec![worker],
            "after its read of `block` the worker sees the run finished and returns",
        );
        for p in log.entries() {
            assert!(
                p.at < Duration::from_millis(1500),
                "item {} was idle past claim_idle when the worker started, and nothing new was in \
                 the stream, yet it ran {:?} after the start, with block {STALL:?}: a round \
                 reclaims idle entries *or else* reads new ones — read_new only when reclaim gave \
                 nothing, or the reclaimed entries wait out a read that blocks for `block`",
                p.item,
                p.at
            );
        }
        assert_all_settled(&mut lab, "4 items of a crashed consumer, reclaimed");
    }

    /// A scenario of the `stall` test: it waits out a real claim time.
    pub(super) fn a_crashed_consumers_items_are_reclaimed_after_claim_idle() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..20);
        lab.close();
        let started = Instant::now();
        let crashed = lab.take("crashed", 6, 100);
        let crashed_items: Vec<u64> = crashed.iter().map(|e| e.1).collect();
        let log = Log::new();
        let s = settings(4, 500, 3);
        let workers = vec![
            start_worker(&lab.url(), "w1", s, &log, started, succeed()),
            start_worker(&lab.url(), "w2", s, &log, started, succeed()),
        ];
        let reports = join_workers(
            &mut lab,
            workers,
            "the 6 items a crashed consumer took are pending at it for ever unless a worker \
             reclaims them: call reclaim (XAUTOCLAIM with claim_idle) in the worker's loop",
        );
        assert_all_settled(&mut lab, "20 items, 6 of them held by a crashed consumer");
        let entries = log.entries();
        for p in entries.iter().filter(|p| crashed_items.contains(&p.item)) {
            assert!(
                p.at >= Duration::from_millis(480),
                "item {} was taken from the crashed consumer {:?} after it got it, with claim_idle \
                 500 ms: reclaim only entries idle at least claim_idle — a consumer that is merely \
                 slow would lose its work",
                p.item,
                p.at
            );
            assert_eq!(
                p.deliveries, 2,
                "{p:?}: a reclaimed item is on its 2nd delivery"
            );
            assert!(
                p.at < Duration::from_millis(2500),
                "item {} of the crashed consumer was processed only {:?} after the crash, with \
                 claim_idle 500 ms: reclaim with the claim time the worker is given",
                p.item,
                p.at
            );
        }
        let processed: Vec<u64> = entries.iter().map(|p| p.item).collect();
        assert_each_exactly_once(
            0..20,
            processed,
            "items processed (the crashed consumer ran none; claim_idle 500 ms is far longer than \
             any item takes, so no live worker's item may be reclaimed)",
        );
        assert_eq!(
            total(&reports, |r| r.reclaimed),
            6,
            "{reports:?}: 6 reclaimed"
        );
        assert_eq!(
            total(&reports, |r| r.redelivered),
            6,
            "{reports:?}: 6 deliveries were not an item's first"
        );
        assert_eq!(
            total(&reports, |r| r.consumed),
            20,
            "{reports:?}: consumed must add up to the 20 items"
        );
    }

    /// A scenario of the `stall` test: it waits out a real claim time.
    pub(super) fn a_slow_consumers_item_is_processed_twice_and_counted_once() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..10);
        lab.close();
        let started = Instant::now();
        let log: Log<Processed> = Log::new();
        let (release, released) = mpsc::channel::<()>();
        let released = std::sync::Mutex::new(released);
        let slow_started = Arc::new(AtomicBool::new(false));
        let slow_job: JobFn = {
            let slow_started = Arc::clone(&slow_started);
            Box::new(move |d: &Delivery| {
                if d.item == 0 && d.deliveries == 1 {
                    slow_started.store(true, Ordering::SeqCst);
                    // Alive, but slow: back when the test says so.
                    let _ = released.lock().expect("one slow job").recv_timeout(BUDGET);
                }
                Ok(())
            })
        };
        let slow = start_worker(
            &lab.url(),
            "slow",
            settings(1, 30_000, 3),
            &log,
            started,
            slow_job,
        );
        let deadline = Instant::now() + BUDGET;
        while !slow_started.load(Ordering::SeqCst) {
            if slow.thread.is_finished() || Instant::now() > deadline {
                join_workers(&mut lab, vec![slow], HUNG_WORKERS);
                panic!("worker 'slow' never started processing item 0");
            }
            thread::sleep(Duration::from_millis(1));
        }
        let quick = start_worker(
            &lab.url(),
            "quick",
            settings(5, 600, 3),
            &log,
            started,
            succeed(),
        );
        // Wait until 'quick' has taken item 0 over and processed it.
        let deadline = Instant::now() + BUDGET;
        while !log
            .entries()
            .iter()
            .any(|p| p.worker == "quick" && p.item == 0)
        {
            if quick.thread.is_finished() {
                let _ = release.send(());
                let state = lab.state();
                let report = join_workers(&mut lab, vec![quick], HUNG_WORKERS);
                panic!(
                    "'quick' finished ({report:?}) without ever getting item 0, which 'slow' was \
                     still processing; {state}. The broker no longer held item 0: was it \
                     acknowledged before its processing finished? Had 'slow' died, item 0 would be \
                     lost"
                );
            }
            if Instant::now() > deadline {
                let _ = release.send(());
                panic!(
                    "'slow' has held item 0 for {BUDGET:?}, with claim_idle 600 ms, and 'quick' \
                     never took it over; {}. A worker must reclaim entries idle past claim_idle — \
                     a consumer that is slow looks exactly like one that died",
                    lab.state()
                );
            }
            thread::sleep(Duration::from_millis(1));
        }
        // 'quick' logs item 0 when its job returns, before it settles it: wait
        // until item 0 (the one entry delivered twice) is no longer pending,
        // so that 'slow' comes back to an item already settled, however
        // slowly 'quick' was scheduled (a busy machine let 'slow' settle first).
        let deadline = Instant::now() + BUDGET;
        while lab
            .pending()
            .iter()
            .any(|(_, _, deliveries)| *deliveries >= 2)
        {
            if quick.thread.is_finished() || Instant::now() > deadline {
                break; // the checks below say what went wrong
            }
            thread::sleep(Duration::from_millis(1));
        }
        let _ = release.send(());
        let reports = join_workers(&mut lab, vec![slow, quick], HUNG_WORKERS);
        assert_all_settled(&mut lab, "10 items, one processed twice");
        let (slow, quick) = (reports[0], reports[1]);
        let consumed = slow.consumed + quick.consumed;
        assert!(
            consumed == 10,
            "{consumed} items counted consumed (slow {slow:?}, quick {quick:?}) but 10 were \
             produced: item 0 was processed twice, by 'slow' and by 'quick', and only the \
             acknowledgement that removed it may count it — the other one gets false from \
             acknowledge (XACK answered 0)"
        );
        assert_eq!(
            (slow.processed, slow.consumed, slow.already_settled),
            (1, 0, 1),
            "slow: {slow:?} — it processed item 0, and 'quick' had settled it first"
        );
        assert_eq!(
            (
                quick.processed,
                quick.consumed,
                quick.reclaimed,
                quick.redelivered
            ),
            (10, 10, 1, 1),
            "quick: {quick:?} — items 1–9 read new, item 0 reclaimed on its 2nd delivery"
        );
        let zero: Vec<(String, u64)> = log
            .entries()
            .into_iter()
            .filter(|p| p.item == 0)
            .map(|p| (p.worker, p.deliveries))
            .collect();
        assert_eq!(
            zero,
            [("quick".to_string(), 2), ("slow".to_string(), 1)],
            "item 0: delivery 2 processed by 'quick' while delivery 1 was still at 'slow'"
        );
    }

    #[test]
    fn a_failed_item_is_retried_and_a_poison_item_dead_lettered_after_max_deliveries() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..12);
        lab.close();
        let started = Instant::now();
        let log = Log::new();
        let job: JobFn = Box::new(|d: &Delivery| match d.item {
            2 if d.deliveries == 1 => Err("flaky".to_string()),
            7 => Err(format!("poison: delivery {}", d.deliveries)),
            _ => Ok(()),
        });
        let worker = start_worker(&lab.url(), "w1", settings(4, 100, 3), &log, started, job);
        let report = join_workers(
            &mut lab,
            vec![worker],
            "item 7 always fails. A failed item stays pending and is reclaimed after claim_idle \
             for another delivery, until its max_deliveries-th delivery fails: then it goes to the \
             dead letters. Is the delivery count read from the broker and compared with \
             max_deliveries?",
        )[0];
        assert_all_settled(&mut lab, "12 items, one flaky and one poison");
        let attempts = |item: u64| -> Vec<u64> {
            log.entries()
                .iter()
                .filter(|p| p.item == item)
                .map(|p| p.deliveries)
                .collect()
        };
        assert_eq!(
            attempts(2),
            [1, 2],
            "item 2 failed its 1st delivery: it must be delivered again (and then succeed)"
        );
        assert_eq!(
            attempts(7),
            [1, 2, 3],
            "item 7 always fails and max_deliveries is 3: processed on deliveries 1, 2 and 3, \
             then dead-lettered — not a 4th time"
        );
        assert_eq!(
            lab.dead(),
            [DeadLetter {
                item: 7,
                deliveries: 3,
                error: "poison: delivery 3".into()
            }],
            "the dead letters: item 7 after 3 deliveries, with its last error"
        );
        assert_eq!(
            report,
            WorkerReport {
                processed: 15,
                consumed: 11,
                failed: 4,
                dead_lettered: 1,
                redelivered: 3,
                reclaimed: 3,
                already_settled: 0,
            },
            "12 items: 15 processings (item 2 twice, item 7 three times), 4 of them failed; 11 \
             consumed + 1 dead = 12; 3 deliveries that were not an item's first, all by reclaim"
        );
    }

    #[test]
    fn an_item_its_consumers_died_on_goes_to_the_dead_letters_unprocessed() {
        let mut lab = Lab::new();
        lab.group();
        lab.add(0..5);
        lab.close();
        // Item 0 was delivered three times, and each consumer died holding it.
        let entry = lab.take("died-1", 1, 100)[0].0.clone();
        lab.claim("died-2", std::slice::from_ref(&entry), false);
        lab.claim("died-3", std::slice::from_ref(&entry), false);
        let started = Instant::now();
        let log = Log::new();
        let worker = start_worker(
            &lab.url(),
            "w1",
            settings(5, 100, 3),
            &log,
            started,
            succeed(),
        );
        let report = join_workers(&mut lab, vec![worker], HUNG_WORKERS)[0];
        assert_all_settled(&mut lab, "5 items, one that killed 3 consumers");
        let processed: Vec<u64> = log.entries().iter().map(|p| p.item).collect();
        assert!(
            !processed.contains(&0),
            "item 0 had been delivered 3 times (max_deliveries 3) and every consumer died holding \
             it; on its 4th delivery it must go to the dead letters without being processed — \
             it may be what kills them. Read the count the broker keeps (XPENDING): a counter in \
             your process dies with the process"
        );
        let dead = lab.dead();
        assert_eq!(
            dead.iter()
                .map(|d| (d.item, d.deliveries))
                .collect::<Vec<_>>(),
            [(0, 4)],
            "dead letters {dead:?}: item 0, on its 4th delivery"
        );
        assert_eq!(
            (
                report.processed,
                report.consumed,
                report.dead_lettered,
                report.reclaimed,
                report.redelivered
            ),
            (4, 4, 1, 1, 1),
            "{report:?}: items 1–4 processed and consumed; item 0 reclaimed, redelivered, dead"
        );
    }

    #[test]
    fn the_producer_and_two_workers_keep_the_backlog_within_capacity() {
        let mut lab = Lab::new();
        let started = Instant::now();
        let log = Log::new();
        let job: JobFn = Box::new(|_| {
            thread::sleep(Duration::from_millis(1));
            Ok(())
        });
        let s = settings(3, 2000, 3);
        let mut workers = vec![start_worker(&lab.url(), "w1", s, &log, started, job)];
        workers.push(start_worker(&lab.url(), "w2", s, &log, started, succeed()));
        let most = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let monitor = {
            let (url, most, stop) = (lab.url(), Arc::clone(&most), Arc::clone(&stop));
            thread::spawn(move || {
                let Ok(mut con) = try_open(&url) else { return };
                let key = Streams::for_run("test").items;
                while !stop.load(Ordering::Relaxed) {
                    // An error: the test has ended and taken its broker with it.
                    let Ok(len) = redis::cmd("XLEN").arg(&key).query::<u64>(&mut con) else {
                        return;
                    };
                    most.fetch_max(len, Ordering::Relaxed);
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        let produced = lab.call(
            "produce(80 items, capacity 5) then close, with 2 workers consuming",
            "the producer waits only while the stream holds `capacity` entries; the workers settle \
             entries (XACK + XDEL), which makes room",
            |con, s| {
                let produced = produce(con, s, 0..80, nz(5), Duration::from_millis(2))?;
                close(con, s)?;
                Ok(produced)
            },
        );
        let reports = join_workers(&mut lab, workers, HUNG_WORKERS);
        stop.store(true, Ordering::Relaxed);
        monitor.join().expect("the monitor");
        assert_all_settled(&mut lab, "80 items through capacity 5");
        assert_eq!(produced.items, 80, "{produced:?}");
        let processed: Vec<u64> = log.entries().iter().map(|p| p.item).collect();
        assert_each_exactly_once(0..80, processed.clone(), "items processed");
        assert_eq!(total(&reports, |r| r.consumed), 80, "{reports:?}");
        let most = most.load(Ordering::Relaxed);
        assert!(
            most <= 5,
            "the stream held {most} entries at one point with capacity 5 ({})",
            preview(&processed)
        );
    }

    #[test]
    fn a_worker_ends_with_an_error_when_the_broker_goes_away() {
        let mut lab = Lab::new();
        let log = Log::new();
        // A long block: the worker spends nearly all its time inside one read, so
        // the broker dies under that read, not under the check that follows it
        // (a worker that retries only its reads must be caught in every run).
        let worker = start_worker(
            &lab.url(),
            "w1",
            Settings {
                block: Duration::from_secs(2),
                ..settings(5, 1000, 3)
            },
            &log,
            Instant::now(),
            succeed(),
        );
        // Wait until it is blocked in XREADGROUP, then kill the broker under it.
        let waiting = Instant::now();
        loop {
            if worker.thread.is_finished() {
                join_workers(&mut lab, vec![worker], "-");
                panic!("the worker returned on an empty stream of a run nobody closed");
            }
            let clients: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query(&mut lab.raw)
                .expect("the test reads the broker's client list");
            if clients
                .lines()
                .any(|c| c.contains("cmd=xreadgroup") && c.contains("flags=b"))
            {
                break;
            }
            assert!(
                waiting.elapsed() < BUDGET,
                "work() never waited for new items (XREADGROUP … BLOCK) on an empty stream"
            );
            thread::sleep(Duration::from_millis(2));
        }
        lab.broker.stop();
        let killed = Instant::now();
        while !worker.thread.is_finished() {
            assert!(
                killed.elapsed() < BUDGET,
                "the broker was killed {BUDGET:?} ago and work() is still running: a Redis error \
                 (the connection is gone) must end the worker — return it with `?` instead of \
                 trying again for ever"
            );
            thread::sleep(Duration::from_millis(5));
        }
        let result = worker
            .thread
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
            .result;
        assert!(
            result.is_err(),
            "work() returned {result:?} after its broker was killed: that is an error, not a \
             finished run"
        );
        let url = lab.url();
        let tried = Instant::now();
        let again = finishes(
            "connect() to a broker that is down",
            "connect uses a connection timeout",
            move || connect(&url).map(|_| ()),
        );
        assert!(again.is_err(), "connecting to a killed broker must fail");
        assert!(tried.elapsed() < Duration::from_secs(3), "and fail fast");
    }

    #[test]
    fn a_broken_stream_ends_the_worker_with_an_error() {
        let mut lab = Lab::new();
        let url = lab.url();
        // The run's key holds something that is not a stream.
        let _: () = lab.command(redis::cmd("SET").arg(lab.streams.items.clone()).arg("x"));
        let s = lab.streams.clone();
        let result = finishes(
            "work on a run whose key is not a stream",
            "an error from Redis ends the worker: return it with `?`",
            move || {
                let mut con = learner_connection(&url);
                work(&mut con, &s, "w1", &settings(2, 10_000, 3), &|_| Ok(()))
            },
        );
        assert!(
            result.is_err(),
            "work returned {result:?} on a run whose stream key holds a string: a Redis error \
             (here WRONGTYPE, from XGROUP CREATE or XREADGROUP) ends the worker with that error — \
             don't ignore it or retry it"
        );
        // An entry that carries no item number: an error, not a hang, not an
        // item invented or skipped.
        let mut lab = Lab::new();
        let url = lab.url();
        lab.group();
        lab.add(0..2);
        let key = lab.streams.items.clone();
        let _: String = lab.command(redis::cmd("XADD").arg(&key).arg("*").arg("other").arg(1));
        lab.add(2..4);
        lab.close();
        let log = Log::new();
        let s = lab.streams.clone();
        let job_log = log.clone();
        let result = finishes(
            "work on a run with an entry that has no item number",
            "item_of returns an error for such an entry: return it (`?`); skipping it leaves it \
             pending for ever, and the run never finishes",
            move || {
                let mut con = learner_connection(&url);
                let job = move |d: &Delivery| {
                    job_log.push(d.item);
                    Ok(())
                };
                work(&mut con, &s, "w1", &settings(1, 10_000, 3), &job)
            },
        );
        assert!(
            result.is_err(),
            "work returned {result:?} (items processed: {:?}) on a run with an entry that has no \
             `{ITEM_FIELD}` field: an entry the worker cannot read is an error that ends it — not \
             item 0, not skipped",
            log.entries()
        );
    }

    /// One case of the whole-run property.
    #[derive(Debug, Clone)]
    struct RunCase {
        workers: usize,
        batch: usize,
        block: Duration,
        claim_idle: Duration,
        max: u64,
        first: u64,
        items: u64,
        /// Delivery counts of the items dead consumers held (the first items).
        dead: Vec<u64>,
        /// How many items a live, slow consumer holds (the next ones).
        live: usize,
        /// Per item, in turn: the job fails on every delivery up to this one.
        fails: Vec<u64>,
        /// The workers start first; the items arrive afterwards, in two parts.
        later: bool,
    }

    /// 1 to 3 workers; 0 to 10 items; batches of 1, 2, one below, equal to
    /// and one past the items, and 50; blocks from none to 15 ms; claim times
    /// from 10 s to 50 days (never reached in real time: the test ages a
    /// failed delivery itself, as time passing would); max_deliveries 1 to 4;
    /// items dead consumers died on after 1, max − 1, max and max + 1
    /// deliveries; items a live consumer is still working on; jobs that fail
    /// never, once, up to the last delivery, or always.
    fn run_cases() -> impl Strategy<Value = RunCase> {
        (
            prop_oneof![2 => Just(1usize), 1 => Just(2usize), 1 => Just(3usize)],
            oracle::draw::count(10),
            0usize..6,
            proptest::sample::select(vec![
                Duration::ZERO,
                Duration::from_nanos(1),
                Duration::from_micros(500),
                Duration::from_millis(1),
                Duration::from_millis(5),
                Duration::from_millis(15),
            ]),
            proptest::sample::select(vec![
                Duration::from_secs(10),
                Duration::from_millis(45_500),
                Duration::from_secs(3_600),
                Duration::from_secs(50 * 86_400),
            ]),
            1u64..=4,
            item_start(16),
            (
                proptest::collection::vec(0usize..4, 0..=3),
                0usize..=2,
                proptest::collection::vec(0usize..5, 1..=4),
                prop_oneof![3 => Just(false), 1 => Just(true)],
            ),
        )
            .prop_map(
                |(
                    workers,
                    items,
                    batch_pick,
                    block,
                    claim_idle,
                    max,
                    first,
                    (dead, live, fails, later),
                )| {
                    let n = items as usize;
                    let batch = [1, 2, n.saturating_sub(1).max(1), n.max(1), n + 1, 50][batch_pick];
                    let around = |pick: usize| [1, max - 1, max, max + 1][pick].max(1);
                    let (dead, live) = if later {
                        (Vec::new(), 0)
                    } else {
                        let dead: Vec<u64> = dead.into_iter().take(n).map(around).collect();
                        let live = live.min(n - dead.len());
                        (dead, live)
                    };
                    RunCase {
                        workers,
                        batch,
                        block,
                        claim_idle,
                        max,
                        first,
                        items,
                        dead,
                        live,
                        fails: fails
                            .into_iter()
                            .map(|pick| [0, 1, max - 1, max, 99][pick])
                            .collect(),
                        later,
                    }
                },
            )
    }

    /// What a run must come to, computed without the code under test.
    struct Expected {
        /// Every processing: (item, delivery, ok).
        log: Vec<(u64, u64, bool)>,
        /// For one worker, the processings round by round.
        rounds: Vec<Vec<(u64, u64, bool)>>,
        /// (item, deliveries, error if it was processed).
        dead: Vec<(u64, u64, Option<String>)>,
        totals: WorkerReport,
    }

    fn failure(item: u64, deliveries: u64) -> String {
        format!("item {item} failed on delivery {deliveries}")
    }

    /// The model: each round, every entry idle past the claim time is
    /// reclaimed (a failed delivery is aged at once by the test), or else up
    /// to `batch` new ones are read; each is dead-lettered unprocessed when
    /// its delivery count is past max_deliveries, else processed: a success
    /// is consumed, a failure retried until its max_deliveries-th delivery
    /// fails, which is dead-lettered.
    fn expect(case: &RunCase) -> Expected {
        let n = case.items as usize;
        let fail_until = |i: usize| case.fails[i % case.fails.len()];
        let item = |i: usize| case.first + i as u64;
        // (index, deliveries so far), in entry order.
        let mut idle: Vec<(usize, u64)> = case.dead.iter().copied().enumerate().collect();
        let mut new: std::collections::VecDeque<usize> = (case.dead.len() + case.live..n).collect();
        let mut e = Expected {
            log: Vec::new(),
            rounds: Vec::new(),
            dead: Vec::new(),
            totals: WorkerReport::default(),
        };
        loop {
            let round: Vec<(usize, u64)> = if !idle.is_empty() {
                idle.sort();
                std::mem::take(&mut idle)
                    .into_iter()
                    .map(|(i, c)| (i, c + 1))
                    .collect()
            } else if !new.is_empty() {
                let k = case.batch.min(new.len());
                new.drain(..k).map(|i| (i, 1)).collect()
            } else {
                break;
            };
            let mut processed = Vec::new();
            for (i, d) in round {
                if d > 1 {
                    e.totals.redelivered += 1;
                    e.totals.reclaimed += 1;
                }
                if d > case.max {
                    e.dead.push((item(i), d, None));
                    e.totals.dead_lettered += 1;
                    continue;
                }
                let ok = d > fail_until(i);
                processed.push((item(i), d, ok));
                e.totals.processed += 1;
                if ok {
                    e.totals.consumed += 1;
                } else {
                    e.totals.failed += 1;
                    if d >= case.max {
                        e.dead.push((item(i), d, Some(failure(item(i), d))));
                        e.totals.dead_lettered += 1;
                    } else {
                        idle.push((i, d));
                    }
                }
            }
            e.log.extend(processed.iter().cloned());
            if !processed.is_empty() {
                e.rounds.push(processed);
            }
        }
        e.log.sort();
        e.dead.sort();
        e
    }

    /// "item 7: deliveries [1 failed, 2 ok]" for each item whose processings
    /// differ, a few at most.
    fn differences(expected: &[(u64, u64, bool)], got: &[(u64, u64, bool)]) -> String {
        let by_item = |log: &[(u64, u64, bool)]| {
            let mut map: BTreeMap<u64, Vec<String>> = BTreeMap::new();
            for (item, d, ok) in log {
                map.entry(*item)
                    .or_default()
                    .push(format!("{d} {}", if *ok { "ok" } else { "failed" }));
            }
            map
        };
        let (want, have) = (by_item(expected), by_item(got));
        let items: BTreeSet<u64> = want.keys().chain(have.keys()).copied().collect();
        let lines: Vec<String> = items
            .into_iter()
            .filter(|i| want.get(i) != have.get(i))
            .take(4)
            .map(|i| {
                format!(
                    "item {i}: expected deliveries {:?}, got {:?}",
                    want.get(&i).cloned().unwrap_or_default(),
                    have.get(&i).cloned().unwrap_or_default()
                )
            })
            .collect();
        lines.join("; ")
    }

    /// A job that fails as the case says; a failure with deliveries left is
    /// aged at once (time passing), so its retry comes in the next round
    /// instead of after the claim time.
    fn scripted_job(url: &str, s: &Streams, case: &RunCase) -> NamedJob {
        let aging = Mutex::new(open(url));
        let (s, fails, first, max) = (s.clone(), case.fails.clone(), case.first, case.max);
        let idle = case.claim_idle.as_millis() as u64 + 1_000;
        Box::new(move |_, d| {
            let i = d.item.wrapping_sub(first) as usize;
            if d.deliveries <= fails[i % fails.len()] {
                if d.deliveries < max {
                    let mut con = aging.lock().unwrap_or_else(PoisonError::into_inner);
                    age_if_pending(&mut con, &s, &d.entry, idle);
                }
                Err(failure(d.item, d.deliveries))
            } else {
                Ok(())
            }
        })
    }

    fn check_run(bench: &mut Bench, case: &RunCase) -> Result<(), String> {
        let s = bench.run();
        let url = bench.url();
        let n = case.items as usize;
        let items: Vec<u64> = (0..case.items).map(|i| case.first + i).collect();
        let live_ids: Vec<String> = if case.later {
            Vec::new()
        } else {
            let claim_ms = case.claim_idle.as_millis() as u64;
            let mut delivered: Vec<(u64, Held)> = Vec::new();
            for (i, count) in case.dead.iter().enumerate() {
                let held = Held::Pending {
                    owner: OWNERS[i % OWNERS.len()].into(),
                    count: *count,
                    idle_ms: claim_ms + 1_000,
                };
                delivered.push((items[i], held));
            }
            for item in items.iter().skip(case.dead.len()).take(case.live) {
                let held = Held::Pending {
                    owner: "slow".into(),
                    count: 1,
                    idle_ms: claim_ms - 4_000,
                };
                delivered.push((*item, held));
            }
            let setup = Setup {
                delivered,
                waiting: items[case.dead.len() + case.live..].to_vec(),
                closed: true,
            };
            let built = build(&mut bench.raw, &s, &setup);
            built.delivered[case.dead.len()..].to_vec()
        };
        let settings = Settings {
            batch: case.batch,
            block: case.block,
            claim_idle: case.claim_idle,
            max_deliveries: case.max,
        };
        let log = Log::new();
        let started = Instant::now();
        let names = ["w1", "w 2", "w·3"];
        let workers: Vec<Worker> = names[..case.workers]
            .iter()
            .map(|name| {
                let job = scripted_job(&url, &s, case);
                start_worker_on(&url, &s, name, settings, &log, started, job)
            })
            .collect();
        let producer = case.later.then(|| {
            let (url, s, items) = (url.clone(), s.clone(), items.clone());
            thread::spawn(move || {
                let mut con = open(&url);
                thread::sleep(Duration::from_millis(3));
                let (a, b) = items.split_at(items.len() / 2);
                add_items(&mut con, &s, a);
                thread::sleep(Duration::from_millis(5));
                add_items(&mut con, &s, b);
                let _: () = q(&mut con, redis::cmd("SET").arg(&s.closed).arg(1));
            })
        });
        // The live consumer finishes its items once everything else is settled.
        let mut live_acks: Option<Vec<u64>> = None;
        let live = case.live as u64;
        let result = join_workers_checked(&mut bench.raw, &s, workers, HUNG_WORKERS, |raw| {
            if live > 0 && live_acks.is_none() && stream_length(raw, &s) <= live {
                live_acks = Some(
                    live_ids
                        .iter()
                        .map(|id| settle_entry(raw, &s, id))
                        .collect(),
                );
            }
            Ok(())
        });
        if let Some(producer) = producer {
            producer.join().expect("the test's producer");
        }
        let context = format!(
            "{} worker(s), {n} items, batch {}, block {:?}, claim_idle {:?}, max_deliveries {}, \
             {} item(s) held by dead consumers after {:?} deliveries, {} by a live one{}",
            case.workers,
            case.batch,
            case.block,
            case.claim_idle,
            case.max,
            case.dead.len(),
            case.dead,
            case.live,
            if case.later {
                ", the items produced after the workers started"
            } else {
                ""
            }
        );
        let reports = result.map_err(|e| format!("{context}: {e}"))?;
        let expected = expect(case);
        let entries = log.entries();
        let mut got: Vec<(u64, u64, bool)> = entries
            .iter()
            .map(|p| (p.item, p.deliveries, p.ok))
            .collect();
        if let Some(acks) = &live_acks
            && acks.iter().any(|a| *a != 1)
        {
            return Err(format!(
                "{context}: a worker took an item from the live consumer, which had held it for \
                 {:?} less than claim_idle: reclaim only entries idle at least claim_idle (the \
                 Settings' own, in full) — a slow consumer is not a dead one",
                Duration::from_secs(4)
            ));
        }
        if case.workers == 1 && !case.later {
            // One worker: round by round, as the model says.
            let mut at = 0;
            for (r, round) in expected.rounds.iter().enumerate() {
                let end = (at + round.len()).min(got.len());
                let mut slice = got[at..end].to_vec();
                let mut want = round.clone();
                slice.sort();
                want.sort();
                if slice != want {
                    return Err(format!(
                        "{context}: the worker's round {} processed (item, delivery, ok) {slice:?}; \
                         expected {want:?}. Each round reclaims first — every entry idle past \
                         claim_idle (a dead consumer's, or a failure waiting for its retry), \
                         following the cursor — and only when that brings nothing reads up to \
                         `batch` new entries; then it processes and settles each. (Whole run: {})",
                        r + 1,
                        differences(&expected.log, &{
                            let mut g = got.clone();
                            g.sort();
                            g
                        })
                    ));
                }
                at = end;
            }
        }
        got.sort();
        if got != expected.log {
            return Err(format!(
                "{context}: the deliveries the job ran on differ from what the broker's counts \
                 allow: {}. An item is processed on delivery 1, and after each failure again \
                 (reclaimed, one delivery more) until its max_deliveries-th delivery fails; an \
                 item delivered more than max_deliveries times (its consumers died on it) goes to \
                 the dead letters unprocessed — counts from the broker (XPENDING), not the worker",
                differences(&expected.log, &got)
            ));
        }
        let raw = &mut bench.raw;
        let mut dead: Vec<DeadLetter> = dead_letters(raw, &s).expect("the dead letters");
        dead.sort();
        let dead_keys: Vec<(u64, u64)> = dead.iter().map(|d| (d.item, d.deliveries)).collect();
        let want_keys: Vec<(u64, u64)> = expected.dead.iter().map(|d| (d.0, d.1)).collect();
        if dead_keys != want_keys {
            return Err(format!(
                "{context}: the dead letters hold (item, deliveries) {dead_keys:?}, expected \
                 {want_keys:?}: a failure on the max_deliveries-th delivery is dead-lettered with \
                 that count; an item already past it, with its new count, unprocessed — each once"
            ));
        }
        for (letter, want) in dead.iter().zip(&expected.dead) {
            if let Some(error) = &want.2
                && letter.error != *error
            {
                return Err(format!(
                    "{context}: the dead letter of item {} says {:?}; expected the job's own \
                     error, {error:?}",
                    letter.item, letter.error
                ));
            }
        }
        let sum = reports
            .iter()
            .fold(WorkerReport::default(), |mut t, (_, r)| {
                t.processed += r.processed;
                t.consumed += r.consumed;
                t.failed += r.failed;
                t.dead_lettered += r.dead_lettered;
                t.redelivered += r.redelivered;
                t.reclaimed += r.reclaimed;
                t.already_settled += r.already_settled;
                t
            });
        if sum != expected.totals {
            return Err(format!(
                "{context}: the workers' reports add up to {sum:?}; expected {:?}. processed: \
                 deliveries the job ran on; consumed: successes this worker's acknowledgement \
                 settled; failed: deliveries the job failed; dead_lettered: items this worker \
                 moved to the dead letters (processed or not); redelivered: deliveries that \
                 were not an item's first (processed or not); reclaimed: entries this worker \
                 claimed; already_settled: processings another consumer had settled first",
                expected.totals
            ));
        }
        for (name, r) in &reports {
            let mine: Vec<&Processed> = entries.iter().filter(|p| p.worker == *name).collect();
            let ok = mine.iter().filter(|p| p.ok).count() as u64;
            let seen = (mine.len() as u64, ok, mine.len() as u64 - ok);
            if (r.processed, r.consumed, r.failed) != seen {
                return Err(format!(
                    "{context}: worker '{name}' reported {r:?}, but its job ran {} time(s), {} \
                     succeeded and {} failed: each worker counts its own",
                    seen.0, seen.1, seen.2
                ));
            }
        }
        let (xlen, pending) = (stream_length(raw, &s), pending_entries(raw, &s).len());
        if xlen != 0 || pending != 0 || !is_closed(raw, &s) {
            return Err(format!(
                "{context}: after every worker returned, {}",
                describe(raw, &s)
            ));
        }
        check_lifetimes(raw, &s, "the run")
    }

    #[test]
    fn every_item_ends_once_as_the_brokers_counts_say_whatever_the_run() {
        let bench = RefCell::new(Bench::new());
        oracle::check(28, run_cases(), |case| {
            check_run(&mut bench.borrow_mut(), &case)
        });
    }

    /// How the first worker dies.
    #[derive(Debug, Clone)]
    enum Death {
        /// Its connection is cut just before its k-th command: the process
        /// died between two commands.
        Cut(usize),
        /// The job panics on this item's first delivery: the process died in
        /// the middle of processing it.
        Panic(usize),
    }

    #[derive(Debug, Clone)]
    struct CrashCase {
        items: u64,
        batch: usize,
        max: u64,
        survivors: usize,
        death: Death,
    }

    fn crash_cases() -> impl Strategy<Value = CrashCase> {
        (
            3u64..=9,
            proptest::sample::select(vec![1usize, 2, 4]),
            1u64..=3,
            1usize..=2,
            prop_oneof![
                (1usize..=40).prop_map(Death::Cut),
                (0usize..9).prop_map(Death::Panic),
            ],
        )
            .prop_map(|(items, batch, max, survivors, death)| {
                let death = match death {
                    Death::Panic(i) => Death::Panic(i % items as usize),
                    cut => cut,
                };
                CrashCase {
                    items,
                    batch,
                    max,
                    survivors,
                    death,
                }
            })
    }

    fn check_crash(bench: &mut Bench, case: &CrashCase) -> Result<(), String> {
        let s = bench.run();
        let url = bench.url();
        let first = 500;
        let items: Vec<u64> = (first..first + case.items).collect();
        let built = build(
            &mut bench.raw,
            &s,
            &Setup {
                delivered: Vec::new(),
                waiting: items.clone(),
                closed: true,
            },
        );
        let item_of: BTreeMap<String, u64> = built
            .waiting
            .iter()
            .cloned()
            .zip(items.iter().copied())
            .collect();
        let claim_idle = Duration::from_secs(20);
        let settings = Settings {
            batch: case.batch,
            block: Duration::from_millis(2),
            claim_idle,
            max_deliveries: case.max,
        };
        let cut_at = Arc::new(Mutex::new(None::<String>));
        {
            let (death, cut_at) = (case.death.clone(), Arc::clone(&cut_at));
            let mut counted = 0;
            bench.middle.arm(move |sent, _| {
                let Some(command) = sent.last() else {
                    return Step::Forward;
                };
                // The connection's own setup is not the worker's.
                if command.name == "CLIENT" {
                    return Step::Forward;
                }
                counted += 1;
                match death {
                    Death::Cut(k) if counted == k => {
                        *cut_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(format!(
                            "just before its command {k} ({}: after {})",
                            command.name,
                            names(&sent[..sent.len() - 1])
                        ));
                        Step::Cut
                    }
                    _ => Step::Forward,
                }
            });
        }
        let log = Log::new();
        let started = Instant::now();
        let victim_item = match case.death {
            Death::Panic(i) => Some(items[i]),
            Death::Cut(_) => None,
        };
        let victim = start_worker_on(
            bench.middle.interposer.url(),
            &s,
            "victim",
            settings,
            &log,
            started,
            Box::new(move |_, d| {
                if Some(d.item) == victim_item && d.deliveries == 1 {
                    adversary::injected_panic(&format!("the job on item {}", d.item));
                }
                Ok(())
            }),
        );
        let deadline = Instant::now() + BUDGET;
        while !victim.thread.is_finished() {
            if Instant::now() > deadline {
                bench.middle.disarm();
                return Err(format!(
                    "the first worker ({case:?}) was still running after {BUDGET:?}; {}",
                    describe(&mut bench.raw, &s)
                ));
            }
            thread::sleep(Duration::from_millis(1));
        }
        bench.middle.disarm();
        let cut = cut_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let raw = &mut bench.raw;
        let outcome = victim.thread.join();
        let context = format!(
            "{} items, batch {}, max_deliveries {}: the first worker {}",
            case.items,
            case.batch,
            case.max,
            match (&case.death, &cut) {
                (Death::Cut(_), Some(place)) => format!("died {place}"),
                (Death::Cut(_), None) => "finished before the cut".to_string(),
                (Death::Panic(i), _) => format!("died processing item {}", items[*i]),
            }
        );
        match (&case.death, &cut, outcome) {
            (Death::Cut(_), Some(_), Ok(ended)) => {
                if let Ok(report) = ended.result {
                    return Err(format!(
                        "{context}, and work returned Ok({report:?}): its connection was gone — \
                         a Redis error ends the worker with that error (`?`), it does not \
                         end the run"
                    ));
                }
            }
            (Death::Cut(_), Some(_), Err(panic)) => {
                return Err(format!(
                    "{context}, and work panicked ({}): a Redis error ends the worker with that \
                     error — return it, don't unwrap it",
                    panic_message(panic.as_ref())
                ));
            }
            (_, _, Ok(ended)) => {
                if let Some(state) = ended.unfinished {
                    return Err(format!(
                        "{context}; it returned while the run was not finished: {state}"
                    ));
                }
            }
            (Death::Panic(_), _, Err(panic)) => {
                let message = panic_message(panic.as_ref());
                if !adversary::is_injected(&message) {
                    return Err(format!("{context}, and work panicked: {message}"));
                }
            }
            (Death::Cut(_), None, Err(panic)) => {
                return Err(format!(
                    "{context}, yet work panicked: {}",
                    panic_message(panic.as_ref())
                ));
            }
        }
        // Time passes: the dead worker's entries become idle past the claim time.
        let held: Vec<PendingEntry> = pending_entries(raw, &s)
            .into_iter()
            .filter(|p| p.owner == "victim")
            .collect();
        let held_ids: Vec<String> = held.iter().map(|p| p.entry.clone()).collect();
        age_entries(
            raw,
            &s,
            "victim",
            &held_ids,
            claim_idle.as_millis() as u64 + 1_000,
        );
        let backlog = stream_length(raw, &s);
        let survivors: Vec<Worker> = ["s1", "s 2"][..case.survivors]
            .iter()
            .map(|name| {
                start_worker_on(
                    &url,
                    &s,
                    name,
                    settings,
                    &log,
                    started,
                    Box::new(|_, _| Ok(())),
                )
            })
            .collect();
        let hint = "the first worker died: its pending entries wait until a survivor reclaims \
                    them; an entry acknowledged but not deleted (XACK without its XDEL) is in the \
                    stream and pending nowhere — nobody can settle it, and the run never finishes";
        let reports = join_workers_checked(raw, &s, survivors, hint, |_| Ok(()))
            .map_err(|e| format!("{context}; then: {e}"))?;
        let (xlen, pending) = (stream_length(raw, &s), pending_entries(raw, &s).len());
        if xlen != 0 || pending != 0 {
            return Err(format!(
                "{context}; after the survivors returned, {}",
                describe(raw, &s)
            ));
        }
        let dead = dead_letters(raw, &s).expect("the dead letters");
        let entries = log.entries();
        for item in &items {
            let ok = entries.iter().any(|p| p.item == *item && p.ok);
            let letters = dead.iter().filter(|d| d.item == *item).count();
            if !ok && letters == 0 {
                return Err(format!(
                    "{context}; item {item} was settled, yet never processed to the end and never \
                     dead-lettered: it is lost. Acknowledge an item only after its job has \
                     finished — a process that dies in between (a crash, a kill, a panic) leaves \
                     it acknowledged and undone"
                ));
            }
            if letters > 1 {
                return Err(format!(
                    "{context}; item {item} ended {letters} times in the dead letters: every item \
                     is settled exactly once"
                ));
            }
        }
        let settled: u64 = reports
            .iter()
            .map(|(_, r)| r.consumed + r.dead_lettered)
            .sum();
        if settled != backlog {
            return Err(format!(
                "{context}; {backlog} entries were left in the stream, and the survivors' \
                 reports count {settled} settled (consumed + dead_lettered): {reports:?} — an \
                 item is counted where the acknowledgement that removed it was made"
            ));
        }
        let reclaimed: u64 = reports.iter().map(|(_, r)| r.reclaimed).sum();
        if reclaimed != held.len() as u64 {
            return Err(format!(
                "{context}, holding {} entries; the survivors reclaimed {reclaimed}: {reports:?}",
                held.len()
            ));
        }
        for p in &held {
            let item = item_of[&p.entry];
            let again = entries
                .iter()
                .filter(|e| e.worker != "victim" && e.item == item)
                .map(|e| e.deliveries)
                .collect::<Vec<_>>();
            let lettered = dead
                .iter()
                .any(|d| d.item == item && d.deliveries == p.count + 1);
            if again != [p.count + 1] && !(again.is_empty() && lettered) {
                return Err(format!(
                    "{context} holding item {item} after {} deliveries; the survivors processed \
                     it on deliveries {again:?}: once, on delivery {} (or, past max_deliveries, \
                     dead-lettered unprocessed)",
                    p.count,
                    p.count + 1
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn a_worker_that_dies_anywhere_loses_nothing_and_the_others_finish_its_items() {
        let bench = RefCell::new(Bench::new());
        oracle::check(24, crash_cases(), |case| {
            check_crash(&mut bench.borrow_mut(), &case)
        });
    }

    #[test]
    fn a_held_worker_does_not_hold_up_the_others() {
        let bench = RefCell::new(Bench::new());
        let cases = (3u64..=9, 2usize..=3, 1usize..=3, 0usize..9);
        oracle::check(12, cases, |(n, workers, batch, held)| {
            let mut bench = bench.borrow_mut();
            let s = bench.run();
            let url = bench.url();
            let items: Vec<u64> = (0..n).collect();
            let held = items[held % items.len()];
            let built = build(
                &mut bench.raw,
                &s,
                &Setup {
                    delivered: Vec::new(),
                    waiting: items.clone(),
                    closed: true,
                },
            );
            let item_of: BTreeMap<String, u64> = built
                .waiting
                .iter()
                .cloned()
                .zip(items.iter().copied())
                .collect();
            let gate = Gate::new();
            let holder: Arc<Mutex<Option<String>>> = Arc::default();
            let settings = Settings {
                batch,
                block: Duration::from_millis(2),
                claim_idle: Duration::from_secs(20),
                max_deliveries: 3,
            };
            let log = Log::new();
            let started = Instant::now();
            let names = ["w1", "w2", "w3"];
            let running: Vec<Worker> = names[..workers]
                .iter()
                .map(|name| {
                    let (gate, holder) = (gate.clone(), Arc::clone(&holder));
                    start_worker_on(
                        &url,
                        &s,
                        name,
                        settings,
                        &log,
                        started,
                        Box::new(move |worker, d| {
                            if d.item == held {
                                *holder.lock().unwrap_or_else(PoisonError::into_inner) =
                                    Some(worker.to_string());
                                gate.pass();
                            }
                            Ok(())
                        }),
                    )
                })
                .collect();
            let context = format!(
                "{workers} workers, {n} items, batch {batch}, claim_idle 20 s, item {held}'s job \
                 held until the test lets it go"
            );
            // Wait until the held job is running, then until every item not in
            // the holder's hands has been processed by the others.
            let deadline = Instant::now() + BUDGET;
            let mut waited = String::new();
            let outcome = loop {
                let raw = &mut bench.raw;
                if running.iter().any(|w| w.thread.is_finished()) {
                    // A worker that ended now: joining says how (a panic, an
                    // error, or a return while the held item is unfinished).
                    break Ok(());
                }
                let who = holder
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Some(who) = who {
                    let in_hand: Vec<u64> = pending_entries(raw, &s)
                        .into_iter()
                        .filter(|p| p.owner == who)
                        .filter_map(|p| item_of.get(&p.entry).copied())
                        .collect();
                    if in_hand.len() > batch {
                        break Err(format!(
                            "{context}: worker '{who}' holds {} entries pending ({in_hand:?}) \
                             with batch {batch}: read (and claim) at most `batch` at a time — \
                             the rest belong to the other workers",
                            in_hand.len()
                        ));
                    }
                    let done: BTreeSet<u64> = log.entries().iter().map(|p| p.item).collect();
                    let missing: Vec<u64> = items
                        .iter()
                        .copied()
                        .filter(|i| !in_hand.contains(i) && !done.contains(i))
                        .collect();
                    if missing.is_empty() {
                        break Ok(());
                    }
                    waited = format!(
                        "while '{who}' was held on item {held} (holding {in_hand:?}), the other \
                         workers never processed items {missing:?}"
                    );
                }
                if Instant::now() > deadline {
                    break Err(format!(
                        "{context}: {}; {}. A free worker takes whatever waits in the stream; \
                         one busy worker must not stop the others",
                        if waited.is_empty() {
                            "item {held}'s job never started".to_string()
                        } else {
                            waited.clone()
                        },
                        describe(raw, &s)
                    ));
                }
                thread::sleep(Duration::from_millis(1));
            };
            gate.open();
            let joined =
                join_workers_checked(&mut bench.raw, &s, running, HUNG_WORKERS, |_| Ok(()))
                    .map_err(|e| format!("{context}: {e}"));
            outcome?;
            let reports = joined?;
            check_each_exactly_once(
                items.iter().copied(),
                log.entries().iter().map(|p| p.item),
                &format!(
                    "{context}: items processed (claim_idle 20 s is far longer than the hold: \
                     nobody may take the held item)"
                ),
            )?;
            let consumed: u64 = reports.iter().map(|(_, r)| r.consumed).sum();
            if consumed != n {
                return Err(format!(
                    "{context}: {reports:?} count {consumed} consumed of {n}"
                ));
            }
            Ok(())
        });
    }
}

/// Every wait meets a peer that goes quiet for longer than any "safety"
/// timeout, and every function meets a broker that hangs — all at once, so
/// the lesson pays for the stall and for REPLY_TIMEOUT once.
mod stall {
    use super::s2_a_producer_that_waits::{ProduceCase, Seen, consumer_beside};
    use super::s7_the_worker;
    use super::*;

    /// How long the broker stays frozen after the first command the code
    /// under test sends into it (or after the freeze, when a reply was
    /// already awaited): longer than REPLY_TIMEOUT, so every reply it waits
    /// for is overdue — then the broker comes back, and code that retried, or
    /// lifted the timeout, would go on as if nothing had happened.
    const FROZEN: Duration = REPLY_TIMEOUT.saturating_add(Duration::from_millis(300));

    /// How long after the broker came back the call may take to return its error.
    const AFTER_BACK: Duration = Duration::from_secs(2);

    const GIVES_UP: &str = "a wait that gives up after a while (a timeout, a retry count, a \
        \"nothing came for a second\") stops while the run is still live: a slow peer is not a \
        finished one";

    /// A broker of its own for one scenario, its test connection, and a run.
    fn own_broker(run: &str) -> (BrokerProcess, Connection, Streams) {
        let broker = broker();
        let raw = open(broker.url());
        (broker, raw, Streams::for_run(run))
    }

    /// Whether some client is blocked in XREADGROUP now.
    fn blocked_in_a_read(raw: &mut Connection) -> bool {
        let clients: String = q(raw, redis::cmd("CLIENT").arg("LIST"));
        clients
            .lines()
            .any(|c| c.contains("cmd=xreadgroup") && c.contains("flags=b"))
    }

    /// When to freeze the broker (None: before the call).
    type Ready = Box<dyn FnMut(&mut Connection) -> bool + Send>;

    /// Runs `call` on a connection of its own (made with `connect`) while the
    /// broker is frozen (SIGSTOP: its socket open, nothing answered) for
    /// longer than REPLY_TIMEOUT — from before the call, or from the moment
    /// `ready` says so — then lets it run again. The call must end with an
    /// error: a reply that did not come within REPLY_TIMEOUT is one. Never a
    /// hang, never Ok.
    fn hung_broker<T: std::fmt::Debug + Send + 'static>(
        name: &str,
        run: &str,
        prepare: impl FnOnce(&mut Connection, &Streams),
        ready: Option<Ready>,
        call: impl FnOnce(&mut Connection, &Streams) -> RedisResult<T> + Send + 'static,
    ) {
        let (mut broker, mut raw, s) = own_broker(run);
        prepare(&mut raw, &s);
        // Through a man in the middle that only watches: it says when the
        // call sent each command, so the freeze outlasts REPLY_TIMEOUT from
        // the first one it sent into the frozen broker, however late.
        let middle = Middle::start(&broker);
        let con = middle.learner();
        middle.arm(|_, _| Step::Forward);
        let start = |con: Connection| {
            let s = s.clone();
            thread::spawn(move || {
                let mut con = con;
                call(&mut con, &s)
            })
        };
        let thread = match ready {
            None => {
                broker.pause();
                start(con)
            }
            Some(mut ready) => {
                let thread = start(con);
                let deadline = Instant::now() + BUDGET;
                while !ready(&mut raw) {
                    assert!(
                        !thread.is_finished(),
                        "{name} returned before the test could freeze the broker: {:?}",
                        thread.join()
                    );
                    assert!(
                        Instant::now() < deadline,
                        "{name}: waited {BUDGET:?} for it to reach the point where the broker \
                         freezes"
                    );
                    thread::sleep(Duration::from_millis(1));
                }
                broker.pause();
                thread
            }
        };
        let frozen = Instant::now();
        let mut back: Option<Instant> = None;
        while !thread.is_finished() {
            if back.is_none() {
                let first_after = middle
                    .sent()
                    .into_iter()
                    .map(|c| c.at)
                    .find(|at| *at >= frozen);
                if first_after.unwrap_or(frozen).elapsed() >= FROZEN {
                    broker.resume();
                    back = Some(Instant::now());
                }
            }
            assert!(
                back.is_none_or(|back| back.elapsed() < AFTER_BACK),
                "{name}: the broker stopped answering for more than REPLY_TIMEOUT \
                 ({REPLY_TIMEOUT:?}; frozen, its socket open), came back, and {:?} after the \
                 freeze the call is still running. A broker that stops answering is an error, \
                 never a hang and never something to wait out: keep the connection's \
                 REPLY_TIMEOUT (set by `connect`; never lift it for a long blocking read) and \
                 return the error it gives (`?`) — no retrying, no taking it for an empty read",
                frozen.elapsed()
            );
            thread::sleep(Duration::from_millis(5));
        }
        let result = thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert!(
            result.is_err(),
            "{name} returned {result:?}, though the broker stopped answering for more than \
             REPLY_TIMEOUT ({REPLY_TIMEOUT:?}) before it came back: a reply that did not come \
             within REPLY_TIMEOUT is an error — return it; do not retry until the broker is back, \
             lift the timeout, or take it for \"nothing new\" or \"not finished\""
        );
    }

    fn with_entries(raw: &mut Connection, s: &Streams) {
        build(
            raw,
            s,
            &Setup {
                delivered: vec![(
                    1,
                    Held::Pending {
                        owner: "w".into(),
                        count: 1,
                        idle_ms: 60_000,
                    },
                )],
                waiting: vec![2, 3],
                closed: false,
            },
        );
    }

    fn first_pending(raw: &mut Connection, s: &Streams) -> String {
        pending_entries(raw, s)
            .first()
            .map(|p| p.entry.clone())
            .expect("a pending entry")
    }

    /// read_new with a block of seconds and a fraction, whose item comes after
    /// the stall: it must still be waiting for it.
    fn a_long_block() {
        let (_broker, mut raw, s) = own_broker("block");
        make_group(&mut raw, &s);
        let url = _broker.url().to_string();
        let block = Duration::from_millis(2_950);
        let adder = {
            let (url, s) = (url.clone(), s.clone());
            thread::spawn(move || {
                thread::sleep(STALL);
                add_items(&mut open(&url), &s, &[41])
            })
        };
        let con = learner_connection(&url);
        let got = finishes_within(
            STALL_BUDGET,
            "read_new(block 2.95 s)",
            "XREADGROUP … BLOCK 2950 returns when an entry arrives",
            move || {
                let mut con = con;
                read_new(&mut con, &s, "w1", 5, block)
            },
        );
        let id = adder.join().expect("the adder").remove(0);
        let got = got.unwrap_or_else(|e| panic!("read_new(block 2.95 s) returned an error: {e}"));
        assert_eq!(
            got,
            [delivery(&id, 41, 1)],
            "read_new(block 2.95 s) on an empty stream; an item arrived {STALL:?} after it began: \
             it must still have been waiting — `block` is the whole Duration, in milliseconds \
             (as_millis: not as_secs, which drops the 0.95 s, nor subsec_millis, which drops \
             the 2 s), and never cut short"
        );
    }

    /// produce facing a full stream for the whole stall.
    fn a_consumer_that_goes_quiet() {
        let (_broker, mut raw, s) = own_broker("quiet consumer");
        make_group(&mut raw, &s);
        let url = _broker.url().to_string();
        let con = learner_connection(&url);
        let producer = {
            let s = s.clone();
            thread::spawn(move || {
                let mut con = con;
                produce(&mut con, &s, 0..6, nz(2), Duration::from_millis(20))
            })
        };
        thread::sleep(STALL);
        let mut seen = Vec::new();
        let deadline = Instant::now() + BUDGET;
        while seen.len() < 6 && Instant::now() < deadline {
            for (entry, item) in take_new(&mut raw, &s, "test", 1, 50) {
                seen.push(item);
                settle_entry(&mut raw, &s, &entry);
            }
            if producer.is_finished() && stream_length(&mut raw, &s) == 0 {
                break;
            }
        }
        while !producer.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
        assert!(
            producer.is_finished(),
            "produce(0..6, capacity 2) still running after its consumer came back and took \
             everything; {}",
            describe(&mut raw, &s)
        );
        let produced = producer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
            .unwrap_or_else(|e| {
                panic!("produce returned an error while its consumer was quiet: {e}")
            });
        assert_eq!(
            (produced.items, seen),
            (6, (0..6).collect::<Vec<u64>>()),
            "produce(0..6, capacity 2, poll 20 ms) whose consumer took nothing for {STALL:?}: it \
             must wait for room and add every item, in order — {GIVES_UP}"
        );
        assert!(
            produced.waits > 0,
            "{produced:?}: the stream was full for {STALL:?}"
        );
    }

    /// produce with a poll of a second and a fraction.
    fn a_poll_of_seconds() {
        let (broker, mut raw, s) = own_broker("slow poll");
        make_group(&mut raw, &s);
        let middle = Middle::start(&broker);
        let case = ProduceCase {
            capacity: 1,
            ids: 0..2,
            before: (0, 0),
            poll: Duration::from_millis(1_300),
            patience: 1,
            burst: 1,
            eager: vec![0],
        };
        let seen = Arc::new(Mutex::new(Seen::default()));
        let con = middle.learner();
        middle.arm(consumer_beside(
            s.clone(),
            case.clone(),
            BTreeSet::new(),
            Arc::clone(&seen),
        ));
        let produced = finishes_within(
            STALL_BUDGET,
            "produce(0..2, capacity 1, poll 1.3 s)",
            "produce sleeps `poll` between looks at a full stream",
            move || {
                let mut con = con;
                produce(&mut con, &s, 0..2, nz(1), Duration::from_millis(1_300))
            },
        );
        let sent = middle.disarm();
        produced.unwrap_or_else(|e| panic!("produce returned an error: {e}"));
        let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let full = seen
            .looks
            .iter()
            .find(|(n, _, full)| *full && *n < sent.len())
            .unwrap_or_else(|| {
                panic!(
                    "produce(0..2, capacity 1) never looked at the full stream again (its \
                     commands: {}): with one item in the stream it must wait for room",
                    names(&sent)
                )
            });
        let gap = sent[full.0].at.duration_since(full.1);
        assert!(
            gap >= case.poll,
            "produce(…, poll 1.3 s) found the stream full and looked again {gap:?} later: sleep \
             the whole `poll` (thread::sleep(poll)) — as_secs drops the 0.3 s, subsec_millis \
             drops the second"
        );
    }

    /// Workers whose producer goes quiet in the middle of the run.
    fn a_producer_that_goes_quiet() {
        let (broker, mut raw, s) = own_broker("test");
        let url = broker.url().to_string();
        let log = Log::new();
        let started = Instant::now();
        let s_ = settings(2, 10_000, 3);
        let workers = vec![
            start_worker(&url, "w1", s_, &log, started, succeed()),
            start_worker(&url, "w2", s_, &log, started, succeed()),
        ];
        thread::sleep(Duration::from_millis(20));
        add_items(&mut raw, &s, &[0, 1, 2]);
        thread::sleep(STALL);
        add_items(&mut raw, &s, &[3, 4, 5]);
        let _: () = q(&mut raw, redis::cmd("SET").arg(&s.closed).arg(1));
        let reports = join_workers_checked(&mut raw, &s, workers, HUNG_WORKERS, |_| Ok(()))
            .unwrap_or_else(|e| {
                panic!(
                    "the producer added 3 items, went quiet for {STALL:?}, then added 3 more and \
                     closed: {e} — {GIVES_UP}"
                )
            });
        assert_each_exactly_once(
            0..6,
            log.entries().iter().map(|p| p.item),
            "items processed by 2 workers whose producer went quiet for a while",
        );
        assert_eq!(
            reports.iter().map(|(_, r)| r.consumed).sum::<u64>(),
            6,
            "{reports:?}"
        );
    }

    /// A job that takes the whole stall, with a claim time longer still.
    fn a_slow_job() {
        let (broker, mut raw, s) = own_broker("test");
        let url = broker.url().to_string();
        make_group(&mut raw, &s);
        add_items(&mut raw, &s, &(0..6).collect::<Vec<_>>());
        let _: () = q(&mut raw, redis::cmd("SET").arg(&s.closed).arg(1));
        let log = Log::new();
        let started = Instant::now();
        let s_ = settings(1, 4_000, 3);
        let slow: JobFn = Box::new(|d: &Delivery| {
            if d.item == 0 {
                thread::sleep(STALL);
            }
            Ok(())
        });
        let workers = vec![
            start_worker(&url, "w1", s_, &log, started, slow),
            start_worker(&url, "w2", s_, &log, started, succeed()),
        ];
        let reports = join_workers_checked(&mut raw, &s, workers, HUNG_WORKERS, |_| Ok(()))
            .unwrap_or_else(|e| {
                panic!(
                    "item 0's job took {STALL:?}, with claim_idle 4 s: {e} — the other worker \
                     must take the rest and then wait for the run to finish; {GIVES_UP}"
                )
            });
        assert_each_exactly_once(
            0..6,
            log.entries().iter().map(|p| p.item),
            "items processed, item 0's job taking 2.6 s with claim_idle 4 s (nobody may take it \
             from a consumer that has held it for less than claim_idle)",
        );
        assert_eq!(
            reports.iter().map(|(_, r)| r.consumed).sum::<u64>(),
            6,
            "{reports:?}"
        );
    }

    #[test]
    fn every_wait_outlasts_a_long_stall_and_a_hung_broker_is_an_error() {
        let mut scenarios: Vec<adversary::Scenario<'_>> = vec![
            ("read_new with a block of 2.95 s", Box::new(a_long_block)),
            (
                "produce whose consumer goes quiet",
                Box::new(a_consumer_that_goes_quiet),
            ),
            ("produce with a poll of 1.3 s", Box::new(a_poll_of_seconds)),
            (
                "work whose producer goes quiet",
                Box::new(a_producer_that_goes_quiet),
            ),
            ("work with a job that takes 2.6 s", Box::new(a_slow_job)),
            (
                "a crashed consumer's items wait out the claim time",
                Box::new(s7_the_worker::a_crashed_consumers_items_are_reclaimed_after_claim_idle),
            ),
            (
                "reclaimed entries are run without waiting for a read of 2.6 s",
                Box::new(s7_the_worker::reclaimed_entries_are_run_without_waiting_for_a_read),
            ),
            (
                "a slow consumer's item is taken over after the claim time",
                Box::new(s7_the_worker::a_slow_consumers_item_is_processed_twice_and_counted_once),
            ),
        ];
        let hung: Vec<adversary::Scenario<'_>> = vec![
            (
                "create_group on a hung broker",
                Box::new(|| hung_broker("create_group", "h1", |_, _| {}, None, create_group)),
            ),
            (
                "close on a hung broker",
                Box::new(|| hung_broker("close", "h2", |_, _| {}, None, close)),
            ),
            (
                "is_finished on a hung broker",
                Box::new(|| hung_broker("is_finished", "h3", with_entries, None, is_finished)),
            ),
            (
                "produce waiting on a full stream when the broker hangs",
                Box::new(|| {
                    let s = Streams::for_run("h4");
                    hung_broker(
                        "produce(0..10, capacity 3)",
                        "h4",
                        make_group,
                        Some(Box::new(move |raw| stream_length(raw, &s) >= 3)),
                        |con, s| produce(con, s, 0..10, nz(3), Duration::from_millis(5)),
                    )
                }),
            ),
            (
                "read_new blocked when the broker hangs",
                Box::new(|| {
                    hung_broker(
                        "read_new(block 1 s)",
                        "h5",
                        make_group,
                        Some(Box::new(blocked_in_a_read)),
                        |con, s| read_new(con, s, "w1", 5, Duration::from_secs(1)),
                    )
                }),
            ),
            (
                "acknowledge on a hung broker",
                Box::new(|| {
                    let entry = Arc::new(Mutex::new(String::new()));
                    let e = Arc::clone(&entry);
                    hung_broker(
                        "acknowledge",
                        "h6",
                        move |raw, s| {
                            with_entries(raw, s);
                            *e.lock().unwrap() = first_pending(raw, s);
                        },
                        None,
                        move |con, s| acknowledge(con, s, &entry.lock().unwrap().clone()),
                    )
                }),
            ),
            (
                "delivery_count on a hung broker",
                Box::new(|| {
                    let entry = Arc::new(Mutex::new(String::new()));
                    let e = Arc::clone(&entry);
                    hung_broker(
                        "delivery_count",
                        "h7",
                        move |raw, s| {
                            with_entries(raw, s);
                            *e.lock().unwrap() = first_pending(raw, s);
                        },
                        None,
                        move |con, s| delivery_count(con, s, &entry.lock().unwrap().clone()),
                    )
                }),
            ),
            (
                "reclaim on a hung broker",
                Box::new(|| {
                    hung_broker("reclaim", "h8", with_entries, None, |con, s| {
                        reclaim(con, s, "r", Duration::from_secs(1), 10)
                    })
                }),
            ),
            (
                "settle on a hung broker",
                Box::new(|| {
                    let entry = Arc::new(Mutex::new(String::new()));
                    let e = Arc::clone(&entry);
                    hung_broker(
                        "settle(a success)",
                        "h9",
                        move |raw, s| {
                            with_entries(raw, s);
                            *e.lock().unwrap() = first_pending(raw, s);
                        },
                        None,
                        move |con, s| {
                            let d = delivery(&entry.lock().unwrap(), 1, 1);
                            settle(con, s, &d, Ok(()), 3)
                        },
                    )
                }),
            ),
            (
                "work idle in a read when the broker hangs",
                Box::new(|| {
                    hung_broker(
                        "work (waiting for items)",
                        "h10",
                        |_, _| {},
                        Some(Box::new(blocked_in_a_read)),
                        |con, s| work(con, s, "w1", &settings(2, 10_000, 3), &|_| Ok(())),
                    )
                }),
            ),
            (
                "work in the middle of a job when the broker hangs",
                Box::new(|| {
                    let busy = Arc::new(AtomicBool::new(false));
                    let flag = Arc::clone(&busy);
                    hung_broker(
                        "work (processing an item)",
                        "h11",
                        |raw, s| {
                            make_group(raw, s);
                            add_items(raw, s, &[0, 1, 2, 3]);
                        },
                        Some(Box::new(move |_| busy.load(Ordering::SeqCst))),
                        move |con, s| {
                            let job = |d: &Delivery| {
                                if d.item == 1 {
                                    flag.store(true, Ordering::SeqCst);
                                    thread::sleep(Duration::from_millis(50));
                                }
                                Ok(())
                            };
                            work(con, s, "w1", &settings(1, 10_000, 3), &job)
                        },
                    )
                }),
            ),
        ];
        scenarios.extend(hung);
        adversary::concurrently(scenarios);
    }
}
