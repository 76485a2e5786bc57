//! # Lesson 10 — Retries, dead letters, waiting for all
//!
//! A failed item deserves another try, but not an endless one: after a few
//! attempts it goes to a *dead-letter* channel, with its last error, for a
//! person or a later run to look at. Retries also break the shutdown you learned
//! in lesson 02: workers that put retries back are producers too, so "close the
//! channel when the producer is done" no longer says "all work is done". You
//! need a count of unfinished work and a way to wait for it to reach zero —
//! Rust's answer to Python's `queue.join()`. Read the book's chapter
//! "10 · Retries" (`book/src/lessons/10-retries.md`), replace each `todo!()`,
//! and run `cargo test -p lesson-10` until it is green.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded, select, unbounded};
// parking_lot's Mutex and Condvar — or loom's, when the lesson's models check every interleaving.
use lesson_support::sync::parking_lot::{Condvar, Mutex};

/// One piece of work and the number of attempts made on it so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Which item: `0..items`.
    pub id: u64,
    /// Attempts made so far, the current one included once it has run.
    pub attempts: u32,
}

/// An item that failed every attempt it was allowed, with its last error.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeadLetter {
    /// Which item.
    pub id: u64,
    /// How many times it was tried.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub error: String,
}

/// The work done on one attempt: `Err` with a message when it fails.
pub type Job = Arc<dyn Fn(Item) -> Result<(), String> + Send + Sync>;

/// Whether attempt `attempt` on item `id` fails, at failure rate `rate`, for
/// this `seed`: the same arguments give the same answer in any thread, in any
/// order, so a test can work out every outcome in advance.
pub fn fails(seed: u64, id: u64, attempt: u32, rate: f64) -> bool {
    // SplitMix64 of the three inputs: a well-mixed 64-bit number per attempt.
    let mut z = seed
        .wrapping_add(id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(u64::from(attempt).wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// A job whose attempts fail where [`fails`] says so.
pub fn flaky_job(seed: u64, rate: f64) -> Job {
    Arc::new(move |item: Item| {
        if fails(seed, item.id, item.attempts, rate) {
            Err(format!(
                "item {} failed on attempt {}",
                item.id, item.attempts
            ))
        } else {
            Ok(())
        }
    })
}

// ANCHOR: pending
/// A count of unfinished work, and a way to wait until it reaches zero.
///
/// Call [`add`](Pending::add) before the work can be picked up and
/// [`done`](Pending::done) once it is finished for good; [`wait`](Pending::wait)
/// returns when every added item is done — that is, when the count is zero,
/// however many threads wait.
#[derive(Debug, Default)]
pub struct Pending {
    count: Mutex<u64>,
    zero: Condvar,
}

impl Pending {
    /// Nothing pending yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `n` items of unfinished work.
    pub fn add(&self, n: u64) {
        *self.count.lock() += n;
    }

    /// Marks one item finished for good, waking the waiters if it was the last.
    ///
    /// # Panics
    ///
    /// If nothing is pending: a `done` without its `add` is a bug that would
    /// otherwise let `wait` return while work is still going on.
    pub fn done(&self) {
        let mut count = self.count.lock();
        assert!(*count > 0, "Pending::done called more often than add");
        *count -= 1;
        // Only the last `done` changes what a waiter sees: wake them then, not
        // on every item (lesson 09's lesson on the cost of notifying).
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    /// Items added and not yet done.
    pub fn count(&self) -> u64 {
        *self.count.lock()
    }

    /// Blocks until nothing is pending.
    pub fn wait(&self) {
        let mut count = self.count.lock();
        // A loop, not an `if`: work may be added again between the last `done`
        // and this thread waking up.
        while *count > 0 {
            self.zero.wait(&mut count);
        }
    }

    /// Blocks until nothing is pending or `timeout` has passed; returns whether
    /// nothing is pending.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        // A timeout too long to have a deadline (Duration::MAX, say) is no limit.
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            self.wait();
            return true;
        };
        let mut count = self.count.lock();
        while *count > 0 {
            if self.zero.wait_until(&mut count, deadline).timed_out() {
                return *count == 0;
            }
        }
        true
    }
}
// ANCHOR_END: pending

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It succeeded; the item is done.
    Completed,
    /// It failed with attempts left; the item went back for another try.
    Retried,
    /// It failed its last allowed attempt; the item went to the dead letters.
    DeadLettered,
}

// ANCHOR: settle
/// Decides what happens to `item` after an attempt that gave `result`: done
/// when it succeeded, sent to `retries` when it failed and has retries left
/// (at most `max_retries` after the first attempt), otherwise sent to `dead`
/// as a [`DeadLetter`]. Keeps `pending` right: the item stays pending for as
/// long as any attempt on it is still to come, and until its dead letter has
/// been sent — once `wait` returns, every dead letter is in `dead`.
pub fn settle(
    item: Item,
    result: Result<(), String>,
    max_retries: u32,
    pending: &Pending,
    retries: &Sender<Item>,
    dead: &Sender<DeadLetter>,
) -> Settled {
    match result {
        Ok(()) => {
            pending.done();
            Settled::Completed
        }
        Err(_) if item.attempts <= max_retries => {
            // Not `done`: the retry carries the item's place in the count, so
            // the count cannot touch zero while the retry is in flight.
            retries
                .send(item)
                .expect("the worker holds the retry lane open");
            Settled::Retried
        }
        Err(error) => {
            dead.send(DeadLetter {
                id: item.id,
                attempts: item.attempts,
                error,
            })
            .expect("the run holds the dead-letter channel open");
            pending.done();
            Settled::DeadLettered
        }
    }
}
// ANCHOR_END: settle

/// What a run with retries did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Items the producer made: each once, however often it was tried.
    pub produced: u64,
    /// Items that succeeded on some attempt.
    pub completed: u64,
    /// Attempts made on all items: `produced` plus every retry.
    pub attempts: u64,
    /// Items that used up their attempts, sorted by id.
    pub dead_letters: Vec<DeadLetter>,
}

/// What one worker did.
#[derive(Debug, Default)]
struct WorkerTally {
    completed: u64,
    attempts: u64,
    /// The first panic of a job this worker ran, to hand on at the end.
    panicked: Option<Box<dyn Any + Send>>,
}

// ANCHOR: run
/// Sends items `0..items` through a bounded queue to `workers` threads. Each
/// attempt runs `job`; [`settle`] sends a failed item to an unbounded retry
/// lane the workers also read, or to the dead letters. The run waits with
/// [`Pending`] until every item is completed or dead, then closes the queue so
/// the workers end, joins them and reports.
///
/// A panic in `job` is a bug, not a failed attempt: it is not retried, it
/// does not stop the run from ending (its item no longer waits for anything),
/// and it comes out of `run_with_retries` with its own message once every
/// worker is joined (one of them, if several jobs panicked).
pub fn run_with_retries(items: u64, workers: usize, max_retries: u32, job: Job) -> Report {
    let pending = Arc::new(Pending::new());
    let (queue, inbox) = bounded::<Item>(16);
    // Unbounded on purpose: a worker must never block handing a retry back,
    // or every worker could wait for room that only a worker can make.
    let (retry, retry_inbox) = unbounded::<Item>();
    let (dead, dead_letters) = unbounded::<DeadLetter>();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let (inbox, retry, retry_inbox, dead) = (
                inbox.clone(),
                retry.clone(),
                retry_inbox.clone(),
                dead.clone(),
            );
            let (pending, job) = (Arc::clone(&pending), Arc::clone(&job));
            thread::spawn(move || {
                let mut tally = WorkerTally::default();
                loop {
                    let mut item = select! {
                        recv(retry_inbox) -> item => item.expect("this worker holds a retry sender"),
                        recv(inbox) -> item => match item {
                            Ok(item) => item,
                            // Closed: the run saw every item settled.
                            Err(_) => break,
                        },
                    };
                    item.attempts += 1;
                    tally.attempts += 1;
                    // A job's panic must not kill this worker with its item
                    // unsettled: `wait` below would never return. Caught, the
                    // item is done with (no retry: a panic is a bug), and the
                    // panic goes back to the caller at the end.
                    let result = match panic::catch_unwind(AssertUnwindSafe(|| job(item))) {
                        Ok(result) => result,
                        Err(payload) => {
                            pending.done();
                            tally.panicked.get_or_insert(payload);
                            continue;
                        }
                    };
                    let settled = settle(item, result, max_retries, &pending, &retry, &dead);
                    if settled == Settled::Completed {
                        tally.completed += 1;
                    }
                }
                tally
            })
        })
        .collect();
    // The workers hold the clones they need; these would keep channels open.
    drop((inbox, retry, retry_inbox, dead));

    let mut report = Report::default();
    for id in 0..items {
        // Count it before anyone can take it: a worker that finished it first
        // would call `done` on a count that never had it.
        pending.add(1);
        queue
            .send(Item { id, attempts: 0 })
            .expect("the workers hold the queue open");
        report.produced += 1;
    }
    // Closing the queue is not enough: workers still hand retries to each other.
    pending.wait();
    drop(queue);
    let mut panicked = None;
    for handle in handles {
        // A worker's own panic (in `settle`, say) is re-raised here as it is.
        let tally = handle
            .join()
            .unwrap_or_else(|panic| panic::resume_unwind(panic));
        report.completed += tally.completed;
        report.attempts += tally.attempts;
        panicked = panicked.or(tally.panicked);
    }
    // Every worker is joined: a job's panic goes back to the caller now.
    if let Some(payload) = panicked {
        panic::resume_unwind(payload);
    }
    report.dead_letters = dead_letters.try_iter().collect();
    report.dead_letters.sort();
    report
}
// ANCHOR_END: run
