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

use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lesson_14::{
    DeadLetter, Delivery, Settings, Settled, Streams, WorkerReport, acknowledge, close, connect,
    create_group, dead_letters, delivery_count, is_finished, produce, read_new, reclaim, settle,
    work,
};
use lesson_support::broker::BrokerProcess;
use lesson_support::{BUDGET, Log, assert_each_exactly_once, finishes, preview};
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
        let broker = BrokerProcess::started();
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
        let _: () = self.command(
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&streams.items)
                .arg(&streams.group)
                .arg("0")
                .arg("MKSTREAM"),
        );
    }

    /// Adds `items` to the stream; returns their entry ids.
    fn add(&mut self, items: Range<u64>) -> Vec<String> {
        let key = self.streams.items.clone();
        items
            .map(|item| self.command(redis::cmd("XADD").arg(&key).arg("*").arg("item").arg(item)))
            .collect()
    }

    fn close(&mut self) {
        let key = self.streams.closed.clone();
        let _: () = self.command(redis::cmd("SET").arg(&key).arg(1));
    }

    /// Reads up to `count` new entries as `consumer` (which then holds them
    /// pending), waiting up to `block_ms` for them.
    fn take(&mut self, consumer: &str, count: usize, block_ms: u64) -> Vec<Entry> {
        let s = self.streams.clone();
        let reply: Value = self.command(
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
            .map(|e| (e.id.clone(), e.get::<u64>("item").expect("an item field")))
            .collect()
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
        let s = self.streams.clone();
        let _: Value = self.command(
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

    /// Acknowledges and deletes `entry`, as a consumer finishing it would.
    fn finish(&mut self, entry: &str) {
        let s = self.streams.clone();
        let _: u64 = self.command(redis::cmd("XACK").arg(&s.items).arg(&s.group).arg(entry));
        let _: u64 = self.command(redis::cmd("XDEL").arg(&s.items).arg(entry));
    }

    /// The stream's length, read with XINFO so that the server's count of XLEN
    /// calls is the code under test's alone. 0 while there is no stream.
    fn xlen(&mut self) -> u64 {
        let key = self.streams.items.clone();
        redis::cmd("XINFO")
            .arg("STREAM")
            .arg(&key)
            .query::<redis::streams::StreamInfoStreamReply>(&mut self.raw)
            .map_or(0, |info| info.length as u64)
    }

    /// Every pending entry: (entry, owner, deliveries).
    fn pending(&mut self) -> Vec<(String, String, u64)> {
        let s = self.streams.clone();
        let reply: redis::streams::StreamPendingCountReply = self.command(
            redis::cmd("XPENDING")
                .arg(&s.items)
                .arg(&s.group)
                .arg("-")
                .arg("+")
                .arg(100_000),
        );
        reply
            .ids
            .into_iter()
            .map(|p| (p.id, p.consumer, p.times_delivered as u64))
            .collect()
    }

    /// "6 pending (6 at 'crashed')", or "none pending".
    fn pending_summary(&mut self) -> String {
        let pending = self.pending();
        if pending.is_empty() {
            return "none pending".into();
        }
        let mut owners: Vec<(String, usize)> = Vec::new();
        for (_, owner, _) in &pending {
            match owners.iter_mut().find(|(o, _)| o == owner) {
                Some((_, n)) => *n += 1,
                None => owners.push((owner.clone(), 1)),
            }
        }
        let owners: Vec<String> = owners
            .iter()
            .map(|(owner, n)| format!("{n} at '{owner}'"))
            .collect();
        format!("{} pending ({})", pending.len(), owners.join(", "))
    }

    /// What the broker holds, for a failure message: how many entries, which
    /// are pending where, which were never delivered, and which were
    /// acknowledged but left in the stream.
    fn state(&mut self) -> String {
        let s = self.streams.clone();
        let xlen = self.xlen();
        let pending = self.pending_summary();
        let closed: bool = self.command(redis::cmd("EXISTS").arg(&s.closed));
        let groups: redis::streams::StreamInfoGroupsReply =
            self.command(redis::cmd("XINFO").arg("GROUPS").arg(&s.items));
        let delivered_up_to = groups
            .groups
            .iter()
            .find(|g| g.name == s.group)
            .map_or_else(|| "0-0".to_string(), |g| g.last_delivered_id.clone());
        let delivered: redis::streams::StreamRangeReply = self.command(
            redis::cmd("XRANGE")
                .arg(&s.items)
                .arg("-")
                .arg(&delivered_up_to),
        );
        let delivered = delivered.ids.len() as u64;
        let pending_count = self.pending().len() as u64;
        let mut parts = vec![pending];
        if xlen > delivered {
            parts.push(format!("{} never delivered", xlen - delivered));
        }
        if delivered > pending_count {
            parts.push(format!(
                "{} delivered and acknowledged but never deleted (XDEL)",
                delivered - pending_count
            ));
        }
        format!(
            "the stream holds {xlen} entries: {}; the run is {}",
            parts.join(", "),
            if closed { "closed" } else { "not closed" }
        )
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

/// A connection of the test's own (not through the lesson's `connect`).
fn try_open(url: &str) -> RedisResult<Connection> {
    let con = redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))?;
    con.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(con)
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

struct Worker {
    name: &'static str,
    thread: JoinHandle<RedisResult<WorkerReport>>,
}

/// Starts `work` for consumer `name` on a thread of its own. Every delivery
/// the job sees is logged; `behaviour` decides its outcome.
fn start_worker(
    url: &str,
    name: &'static str,
    settings: Settings,
    log: &Log<Processed>,
    started: Instant,
    behaviour: JobFn,
) -> Worker {
    let url = url.to_string();
    let log = log.clone();
    let thread = thread::Builder::new()
        .name(format!("worker {name}"))
        .spawn(move || {
            // An error, not a panic: a test that failed early drops its broker
            // while its workers may still be starting.
            let mut con = try_open(&url)?;
            let job = move |d: &Delivery| {
                let result = behaviour(d);
                log.push(Processed {
                    worker: name.to_string(),
                    item: d.item,
                    deliveries: d.deliveries,
                    at: started.elapsed(),
                    ok: result.is_ok(),
                });
                result
            };
            work(&mut con, &Streams::for_run("test"), name, &settings, &job)
        })
        .expect("a worker thread");
    Worker { name, thread }
}

/// Waits for every worker to return, within the budget; a hang or an error
/// fails the test with what the broker still holds and `hint`.
#[track_caller]
fn join_workers(lab: &mut Lab, workers: Vec<Worker>, hint: &str) -> Vec<WorkerReport> {
    let deadline = Instant::now() + BUDGET;
    let names: Vec<&str> = workers.iter().map(|w| w.name).collect();
    let mut running: Vec<Option<Worker>> = workers.into_iter().map(Some).collect();
    let mut reports: Vec<Option<WorkerReport>> = vec![None; running.len()];
    loop {
        for (slot, report) in running.iter_mut().zip(&mut reports) {
            if slot.as_ref().is_some_and(|w| w.thread.is_finished()) {
                let w = slot.take().expect("checked just above");
                // A panic or an error is reported as soon as it is seen: the
                // other workers may never finish without this one.
                let result = w
                    .thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                *report = Some(
                    result.unwrap_or_else(|e| panic!("worker '{}' returned an error: {e}", w.name)),
                );
            }
        }
        if reports.iter().all(Option::is_some) {
            return reports.into_iter().flatten().collect();
        }
        if Instant::now() >= deadline {
            let still: Vec<&str> = names
                .iter()
                .zip(&reports)
                .filter(|(_, r)| r.is_none())
                .map(|(n, _)| *n)
                .collect();
            panic!(
                "workers {still:?} were still running after {BUDGET:?}; {}.\n  Likely cause: {hint}",
                lab.state()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
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

// ---------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------

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
        let name = quitter.name;
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

#[test]
fn a_crashed_consumers_items_are_reclaimed_after_claim_idle() {
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

#[test]
fn a_slow_consumers_item_is_processed_twice_and_counted_once() {
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
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
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
