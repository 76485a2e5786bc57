//! Lesson 10 — retries that end, dead letters that keep their error, and a wait
//! that returns when, and only when, every item is settled.
//!
//! Every call into your code runs under a watchdog, also the ones made right
//! here on the test's own thread: a wait that never returns fails within
//! seconds with a hint. The tests come in the chapter's order (`s1_…` is its
//! first section). Each section has examples, then properties: the same check
//! over many drawn inputs — counts from none to more than the workers, retries
//! from 0 to `u32::MAX`, failure rates that are not round, timeouts from
//! nanoseconds to `Duration::MAX` — against an answer worked out from the
//! inputs alone (the seed says what every attempt does). `s4_…` runs the loom
//! models in tests/model.rs, which try `Pending` and `settle` under *every*
//! interleaving of a few threads. Last, `stall`: every wait meets a peer that
//! goes quiet for seconds, longer than any "safety" timeout.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded, unbounded};
use lesson_10::{
    DeadLetter, Item, Job, Pending, Report, Settled, fails, flaky_job, run_with_retries, settle,
};
use lesson_support::adversary::{self, Act, Gate, STALL, STALL_BUDGET};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    BUDGET, Log, Overlap, TimingSection, assert_each_exactly_once, check_each_exactly_once,
    check_sequence, finishes, finishes_within, join_all, join_all_within, join_finished,
    panic_message, preview, thread_cpu_time, wait_for_or_exit,
};

const HUNG_RUN: &str = "the run never ended. Either an item is retried for ever (is the number of \
     attempts bounded by max_retries, and counted?), or the count never reaches zero (is every \
     item done() once it is completed or dead, and a retry neither done() nor add()ed?), or the \
     workers never see the queue close (does the run drop its Sender once Pending::wait \
     returns?), or a Pending method locks the count while it already holds it";
const NO_WAIT: &str = "this call has nothing to wait for: is the lock taken twice, or a wait \
     entered while the count is already zero?";
const WAKE_ALL: &str = "when done() brings the count to zero, wake every waiter: notify_all, not \
     notify_one";
const PANICKED_JOB: &str = "A job's panic must end the run with that panic: catch it \
     where the worker calls the job (std::panic::catch_unwind), count its item done — otherwise \
     Pending never reaches zero, or a dead worker leaves the rest of the items to nobody — and \
     hand it on with std::panic::resume_unwind once every worker is joined";
const GIVES_UP: &str = "a wait that gives up after a while (a timeout \"so it can never hang\", \
     recv_timeout, send_timeout, a retry count) stops while work is still going on: a slow peer \
     is not a finished one";

/// What the seed says becomes of item `id`: `(attempts, dead)`.
fn fate(seed: u64, id: u64, rate: f64, max_retries: u32) -> (u32, bool) {
    for attempt in 1..=max_retries + 1 {
        if !fails(seed, id, attempt, rate) {
            return (attempt, false);
        }
    }
    (max_retries + 1, true)
}

/// The report a run of `items` must give, worked out from the seed.
fn expected_report(seed: u64, items: u64, rate: f64, max_retries: u32) -> Report {
    let fates: Vec<(u64, u32, bool)> = (0..items)
        .map(|id| {
            let (attempts, dead) = fate(seed, id, rate, max_retries);
            (id, attempts, dead)
        })
        .collect();
    Report {
        produced: items,
        completed: fates.iter().filter(|(_, _, dead)| !dead).count() as u64,
        attempts: fates.iter().map(|(_, a, _)| u64::from(*a)).sum(),
        dead_letters: fates
            .iter()
            .filter(|(_, _, dead)| *dead)
            .map(|&(id, attempts, _)| DeadLetter {
                id,
                attempts,
                error: format!("item {id} failed on attempt {attempts}"),
            })
            .collect(),
    }
}

/// Compares a run's report with the one the inputs predict, field by field,
/// saying what each difference usually means.
fn check_report(got: &Report, expected: &Report, run: &str) -> Result<(), String> {
    if got.produced != expected.produced {
        return Err(format!(
            "{run}: produced = {}, expected {}: produced counts items, once each — a retry is \
             the same item again, not a new one",
            got.produced, expected.produced
        ));
    }
    if got.completed + got.dead_letters.len() as u64 != expected.produced {
        return Err(format!(
            "{run}: completed {} + dead {} must equal the {} produced: an item was lost or \
             counted twice",
            got.completed,
            got.dead_letters.len(),
            expected.produced
        ));
    }
    if got.completed != expected.completed {
        return Err(format!(
            "{run}: completed = {}, but the job succeeded on {} items (each once, on some \
             attempt)",
            got.completed, expected.completed
        ));
    }
    if got.attempts != expected.attempts {
        return Err(format!(
            "{run}: attempts = {}, but the job was to be called {} times ({} first tries + the \
             retries): is each attempt counted once, in the worker that made it?",
            got.attempts, expected.attempts, expected.produced
        ));
    }
    let got_ids: Vec<u64> = got.dead_letters.iter().map(|d| d.id).collect();
    let expected_ids: Vec<u64> = expected.dead_letters.iter().map(|d| d.id).collect();
    check_sequence(
        &expected_ids,
        &got_ids,
        &format!(
            "{run}: the dead letters (by id) must be exactly the items that failed every \
             allowed attempt, sorted by id"
        ),
    )?;
    for (got, expected) in got.dead_letters.iter().zip(&expected.dead_letters) {
        if got != expected {
            return Err(format!(
                "{run}: dead letter {got:?}, expected {expected:?}: a dead letter keeps the \
                 item's id, the attempts made on it and the error of its last attempt, as the \
                 job returned it"
            ));
        }
    }
    Ok(())
}

/// [`check_report`] for a test outside a property.
#[track_caller]
fn assert_report(got: &Report, expected: &Report, run: &str) {
    if let Err(message) = check_report(got, expected, run) {
        panic!("{message}");
    }
}

/// A job that counts how many workers run it at once (see [`Overlap`]):
/// `want` workers always get there; fewer never do, and more go past it.
/// Every attempt succeeds.
fn overlapping(overlap: &Arc<Overlap>) -> Job {
    let overlap = Arc::clone(overlap);
    Arc::new(move |_| {
        overlap.work();
        Ok(())
    })
}

/// Starts `count` threads that each `wait()` on `pending`.
fn waiters(pending: &Arc<Pending>, count: usize) -> Vec<thread::JoinHandle<()>> {
    (0..count)
        .map(|_| {
            let pending = Arc::clone(pending);
            thread::spawn(move || pending.wait())
        })
        .collect()
}

/// Runs `work` and says how long it took.
fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = work();
    (value, started.elapsed())
}

/// What the test's job answers for attempt `attempt` on item `id`: the
/// oracle's own copy of the decision, so the expected report needs no run.
type Decide = Arc<dyn Fn(u64, u32) -> Result<(), String> + Send + Sync>;

/// Fails where [`fails`] says so, with an error that names the attempt.
fn seeded(seed: u64, rate: f64) -> Decide {
    Arc::new(move |id, attempt| {
        if fails(seed, id, attempt, rate) {
            Err(format!(
                "seed {seed:#x}: item {id} failed on attempt {attempt}"
            ))
        } else {
            Ok(())
        }
    })
}

/// Each item's fate as `decide` has it — the attempts made on it, and its last
/// error if it used them all up — or `None` past `cap` attempts in all.
fn fates(items: u64, max_retries: u32, decide: &Decide, cap: u64) -> Option<Vec<Fate>> {
    let mut made = 0;
    let mut fates = Vec::new();
    for id in 0..items {
        let mut attempt = 1u32;
        loop {
            made += 1;
            if made > cap {
                return None;
            }
            match decide(id, attempt) {
                Ok(()) => {
                    fates.push(Fate {
                        attempts: attempt,
                        error: None,
                    });
                    break;
                }
                Err(error) if attempt > max_retries => {
                    fates.push(Fate {
                        attempts: attempt,
                        error: Some(error),
                    });
                    break;
                }
                Err(_) => attempt += 1,
            }
        }
    }
    Some(fates)
}

/// What becomes of one item.
#[derive(Debug, Clone)]
struct Fate {
    attempts: u32,
    error: Option<String>,
}

/// The report those fates add up to.
fn report_of(fates: &[Fate]) -> Report {
    Report {
        produced: fates.len() as u64,
        completed: fates.iter().filter(|f| f.error.is_none()).count() as u64,
        attempts: fates.iter().map(|f| u64::from(f.attempts)).sum(),
        dead_letters: fates
            .iter()
            .enumerate()
            .filter_map(|(id, f)| {
                f.error.as_ref().map(|error| DeadLetter {
                    id: id as u64,
                    attempts: f.attempts,
                    error: error.clone(),
                })
            })
            .collect(),
    }
}

/// What the test's job saw during a run: every attempt as it began and as it
/// ended, the thread that made it, and attempts that began while the same
/// item was still in another attempt.
#[derive(Debug, Clone, Default)]
struct Watch {
    began: Log<(u64, u32)>,
    ended: Log<(u64, u32)>,
    threads: Log<thread::ThreadId>,
    in_flight: Arc<Mutex<BTreeSet<u64>>>,
    doubled: Log<(u64, u32)>,
}

/// A job that records what it is given in `watch`, does `acts` at the listed
/// `(id, attempt)`s (pause, stall, wait at a gate), and answers as `decide`.
fn watched(decide: &Decide, acts: BTreeMap<(u64, u32), Act>, watch: &Watch) -> Job {
    let (decide, watch) = (Arc::clone(decide), watch.clone());
    Arc::new(move |item: Item| {
        let key = (item.id, item.attempts);
        watch.began.push(key);
        watch.threads.push(thread::current().id());
        let fresh = watch
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(item.id);
        if !fresh {
            watch.doubled.push(key);
        }
        if let Some(act) = acts.get(&key) {
            act.perform(&format!(
                "the job on item {} (attempt {})",
                item.id, item.attempts
            ));
        }
        let result = decide(item.id, item.attempts);
        watch
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&item.id);
        watch.ended.push(key);
        result
    })
}

/// One run and its oracle: the inputs, and what the job does.
#[derive(Clone)]
struct Scenario {
    items: u64,
    workers: usize,
    max_retries: u32,
    decide: Decide,
    acts: BTreeMap<(u64, u32), Act>,
}

impl Scenario {
    fn name(&self) -> String {
        format!(
            "run_with_retries({} items, {} workers, max_retries {})",
            self.items, self.workers, self.max_retries
        )
    }

    /// Runs it under a watchdog (`budget`) and checks everything the oracle
    /// knows: each attempt made once, in order, one at a time per item, on
    /// the run's own worker threads, all before the run returned — and the
    /// report, field by field.
    fn check(&self, budget: Duration, hint: &str) -> Result<(), String> {
        let name = self.name();
        let fates = fates(self.items, self.max_retries, &self.decide, u64::MAX)
            .expect("no cap, so every fate is known");
        let watch = Watch::default();
        let job = watched(&self.decide, self.acts.clone(), &watch);
        let (items, workers, max_retries) = (self.items, self.workers, self.max_retries);
        let (report, caller) = finishes_within(budget, &name, hint, move || {
            let caller = thread::current().id();
            (run_with_retries(items, workers, max_retries, job), caller)
        });
        check_watch(&name, &fates, workers, caller, &watch)?;
        check_report(&report, &report_of(&fates), &name)
    }
}

/// What the job saw, against the fates: every attempt `1..=attempts` of every
/// item began and ended exactly once before the run returned, in order, never
/// two at once on one item, on at most `workers` threads other than the caller's.
fn check_watch(
    name: &str,
    fates: &[Fate],
    workers: usize,
    caller: thread::ThreadId,
    watch: &Watch,
) -> Result<(), String> {
    let doubled = watch.doubled.entries();
    if !doubled.is_empty() {
        return Err(format!(
            "{name}: the job was called on an item that was already in another attempt \
             ((item, attempt): {}): an item is in one place at a time — retried once its \
             attempt failed, never sent twice",
            preview(&doubled)
        ));
    }
    let expected: Vec<(u64, u32)> = fates
        .iter()
        .enumerate()
        .flat_map(|(id, f)| (1..=f.attempts).map(move |attempt| (id as u64, attempt)))
        .collect();
    let began = watch.began.entries();
    check_each_exactly_once(
        expected.iter().copied(),
        began.iter().copied(),
        &format!(
            "{name}: attempts (item, attempt number) the job was given — attempt numbers count \
             from 1, and each item gets attempts until one succeeds or max_retries + 1 were made"
        ),
    )?;
    check_each_exactly_once(
        expected.iter().copied(),
        watch.ended.entries(),
        &format!(
            "{name}: attempts that had finished when the run returned — the run waits until \
             every item is completed or dead, then joins its workers"
        ),
    )?;
    let mut last: BTreeMap<u64, u32> = BTreeMap::new();
    for &(id, attempt) in &began {
        let before = last.insert(id, attempt).unwrap_or(0);
        if attempt != before + 1 {
            return Err(format!(
                "{name}: item {id} was given attempt {attempt} right after attempt {before}: \
                 attempts on an item are made one after another, 1, 2, 3, …"
            ));
        }
    }
    let threads: std::collections::HashSet<thread::ThreadId> =
        watch.threads.entries().into_iter().collect();
    if threads.contains(&caller) {
        return Err(format!(
            "{name}: the job ran on the thread that called run_with_retries: the attempts \
             belong on the worker threads, and the caller produces, waits and reports"
        ));
    }
    if threads.len() > workers {
        return Err(format!(
            "{name}: the job ran on {} different threads with {workers} workers asked for: \
             start exactly `workers` threads, and let them make every attempt",
            threads.len()
        ));
    }
    Ok(())
}

/// The chapter's section "Waiting for all".
mod s1_waiting_for_all {
    use super::*;

    #[test]
    fn waiting_with_nothing_pending_returns_at_once() {
        let timed = finishes(
            "Pending::new().wait(), then wait_timeout(1 hour)",
            "wait must not block when the count is already zero: check the count before waiting",
            || {
                let pending = Pending::new();
                pending.wait();
                pending.wait_timeout(Duration::from_secs(3600))
            },
        );
        assert!(timed, "wait_timeout with nothing pending returns true");
    }

    #[test]
    fn add_and_done_keep_the_count() {
        let counts = finishes("add(3), add(2), done() twice", NO_WAIT, || {
            let pending = Pending::new();
            let mut counts = vec![pending.count()];
            pending.add(3);
            pending.add(2);
            counts.push(pending.count());
            pending.done();
            pending.done();
            counts.push(pending.count());
            counts
        });
        assert_eq!(
            counts,
            [0, 5, 3],
            "count() after new(), after add(3) and add(2), and after two done()s: add(n) adds \
             n, done() takes one away"
        );
    }

    #[test]
    #[should_panic(expected = "Pending::done called more often than add")]
    fn done_without_add_is_a_bug_and_says_so() {
        finishes("add(1), done(), done()", NO_WAIT, || {
            let pending = Pending::new();
            pending.add(1);
            pending.done();
            pending.done();
        });
    }

    #[test]
    fn wait_blocks_until_every_item_is_done_then_wakes_every_waiter() {
        let pending = Arc::new(Pending::new());
        finishes("add(3)", NO_WAIT, {
            let pending = Arc::clone(&pending);
            move || pending.add(3)
        });
        let waiting = waiters(&pending, 3);
        finishes("done() twice", NO_WAIT, {
            let pending = Arc::clone(&pending);
            move || {
                pending.done();
                pending.done();
            }
        });
        thread::sleep(Duration::from_millis(50));
        let returned = waiting.iter().filter(|w| w.is_finished()).count();
        assert_eq!(
            returned, 0,
            "{returned} of 3 waiters returned with 1 item still pending: wait must loop until \
             the count is zero (`while *count > 0`), not return after the first wake-up or at \
             once"
        );
        finishes("the last done()", NO_WAIT, {
            let pending = Arc::clone(&pending);
            move || pending.done()
        });
        join_all(waiting, "waiters", WAKE_ALL);
    }

    #[test]
    fn wait_timeout_gives_up_at_its_deadline() {
        let _alone = TimingSection::enter();
        let (gave_up, took) = finishes(
            "wait_timeout(60 ms) with an item pending",
            "wait_timeout must give up at its deadline: wait_until(&mut count, deadline), and \
             once it has passed return false instead of waiting again",
            || {
                let pending = Pending::new();
                pending.add(1);
                let (done, took) = timed(|| pending.wait_timeout(Duration::from_millis(60)));
                (!done, took)
            },
        );
        assert!(
            gave_up,
            "wait_timeout returned true with an item still pending"
        );
        assert!(
            took >= Duration::from_millis(60),
            "wait_timeout gave up after {took:?}, before its 60 ms"
        );
        assert!(
            took < Duration::from_secs(1),
            "wait_timeout(60 ms) took {took:?}: it waited far past its timeout"
        );
    }

    #[test]
    fn wait_timeout_returns_as_soon_as_the_work_is_done() {
        let _alone = TimingSection::enter();
        let pending = Arc::new(Pending::new());
        pending.add(1);
        // Late enough that the waiter is asleep in wait_timeout by then.
        let doer = {
            let pending = Arc::clone(&pending);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(300));
                pending.done();
            })
        };
        let (done, took) = finishes(
            "wait_timeout(3 s) while another thread finishes the item after 300 ms",
            WAKE_ALL,
            {
                let pending = Arc::clone(&pending);
                move || timed(|| pending.wait_timeout(Duration::from_secs(3)))
            },
        );
        join_all(vec![doer], "threads calling done()", NO_WAIT);
        assert!(
            done,
            "wait_timeout returned false although the item was done 300 ms into its 3 s"
        );
        assert!(
            took < Duration::from_millis(1500),
            "wait_timeout took {took:?} to notice an item done after 300 ms. The last done() \
             must wake a thread in wait_timeout as it wakes one in wait() (if you count \
             waiters, count them on both paths), and wait_timeout must wait on the condvar, \
             not sleep out its time"
        );
    }

    #[test]
    fn wait_timeout_counts_from_the_call_not_from_each_wake_up() {
        let _alone = TimingSection::enter();
        // 1000 items pending; another thread finishes one every 10 ms for up
        // to 1.5 s (until the waiter returns), so the count never reaches zero
        // while wait_timeout(100 ms) waits.
        let pending = Arc::new(Pending::new());
        pending.add(1000);
        let returned = Arc::new(AtomicU64::new(0));
        let doer = {
            let (pending, returned) = (Arc::clone(&pending), Arc::clone(&returned));
            thread::spawn(move || {
                for _ in 0..150 {
                    if returned.load(Ordering::SeqCst) == 1 {
                        break;
                    }
                    thread::sleep(Duration::from_millis(10));
                    pending.done();
                }
            })
        };
        let (all_done, took) = finishes(
            "wait_timeout(100 ms) while other threads call done() every 10 ms",
            "the deadline is computed once, before the loop: a timeout restarted at each \
             wake-up never runs out while done() keeps waking you",
            {
                let pending = Arc::clone(&pending);
                move || timed(|| pending.wait_timeout(Duration::from_millis(100)))
            },
        );
        returned.store(1, Ordering::SeqCst);
        join_all(vec![doer], "threads calling done()", NO_WAIT);
        assert!(!all_done, "wait_timeout returned true with items pending");
        assert!(
            took < Duration::from_secs(1),
            "wait_timeout(100 ms) took {took:?} while done() was called every 10 ms: compute \
             the deadline once, before the loop, and wait until it — a timeout restarted at \
             each wake-up never runs out"
        );
    }

    #[test]
    fn a_timeout_too_long_for_a_deadline_is_no_limit() {
        let pending = Arc::new(Pending::new());
        pending.add(1);
        let doer = {
            let pending = Arc::clone(&pending);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                pending.done();
            })
        };
        let outcome = finishes(
            "wait_timeout(Duration::MAX) while another thread finishes the item after 20 ms",
            WAKE_ALL,
            {
                let pending = Arc::clone(&pending);
                move || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                        pending.wait_timeout(Duration::MAX)
                    }))
                }
            },
        );
        join_all(vec![doer], "threads calling done()", NO_WAIT);
        let Ok(done) = outcome else {
            panic!(
                "wait_timeout(Duration::MAX) panicked: `Instant::now() + Duration::MAX` \
                 overflows. A timeout that long has no deadline — it is no limit at all: \
                 `Instant::now().checked_add(timeout)`, and when that is None, wait as wait() \
                 does"
            );
        };
        assert!(
            done,
            "wait_timeout(Duration::MAX) returns true once the item is done"
        );
    }

    /// One call on a `Pending`, for the single-threaded model.
    #[derive(Debug, Clone)]
    enum Op {
        Add(u64),
        Done,
        /// done() once for each item pending, when that is a handful: back
        /// to zero, so that a script lives through several rounds of work
        /// (a Pending is used again after it was once empty).
        DoneAll,
        Count,
        /// Only while nothing is pending (it would wait for ever otherwise).
        Wait,
        /// Waited out in full only when short; a long one only while nothing
        /// is pending.
        WaitTimeout(Duration),
    }

    /// How much `add` adds: none, a few, and counts past `u32::MAX`.
    fn amount() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0),
            Just(1),
            2u64..=5,
            Just(u64::from(u32::MAX)),
            Just(1 << 32),
            (1u64 << 33)..(1u64 << 56),
        ]
    }

    /// A timeout short enough to wait out in a test: zero, nanoseconds,
    /// microseconds, a few milliseconds.
    fn short_timeout() -> impl Strategy<Value = Duration> + Clone {
        prop_oneof![
            Just(Duration::ZERO),
            (1u64..1_000).prop_map(Duration::from_nanos),
            (1_000u64..1_000_000).prop_map(Duration::from_nanos),
            (1u64..=12).prop_map(Duration::from_millis),
        ]
    }

    /// A timeout nobody waits out: seconds, an hour, centuries, the largest
    /// there is (no deadline can be computed for some of these).
    fn long_timeout() -> impl Strategy<Value = Duration> + Clone {
        prop_oneof![
            Just(Duration::from_nanos(1_000_000_001)),
            Just(Duration::new(2, 500_000_000)),
            Just(Duration::from_secs(3600)),
            Just(Duration::new(1 << 40, 5)),
            Just(Duration::from_secs(i64::MAX as u64)),
            Just(Duration::from_secs(u64::MAX)),
            Just(Duration::MAX),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => amount().prop_map(Op::Add),
            4 => Just(Op::Done),
            2 => Just(Op::DoneAll),
            2 => Just(Op::Count),
            1 => Just(Op::Wait),
            2 => short_timeout().prop_map(Op::WaitTimeout),
            1 => long_timeout().prop_map(Op::WaitTimeout),
        ]
    }

    /// Plays `ops` on one `Pending` and compares each answer with a plain
    /// number kept by the test.
    fn play(ops: Vec<Op>) -> Result<(), String> {
        let pending = Pending::new();
        let mut model: u64 = 0;
        let mut done_so_far: Vec<String> = Vec::new();
        let so_far = |ops: &[String]| {
            if ops.is_empty() {
                "on a new Pending".to_string()
            } else {
                format!("after {}", ops.join(", "))
            }
        };
        for op in ops {
            match op {
                Op::Add(n) => {
                    pending.add(n);
                    model += n;
                    done_so_far.push(format!("add({n})"));
                }
                Op::Done if model == 0 => {
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        pending.done();
                    }));
                    return match outcome {
                        Ok(()) => Err(format!(
                            "{}, done() was called with nothing pending and returned: it must \
                             panic (\"Pending::done called more often than add\") — a done() \
                             without its add() would let wait() return while work goes on",
                            so_far(&done_so_far)
                        )),
                        Err(payload) if panic_message(payload.as_ref()).contains("not yet") => {
                            std::panic::resume_unwind(payload)
                        }
                        // What a Pending is after that panic is not said: stop here.
                        Err(_) => Ok(()),
                    };
                }
                Op::Done => {
                    pending.done();
                    model -= 1;
                    done_so_far.push("done()".to_string());
                }
                Op::DoneAll if model > 16 => {}
                Op::DoneAll => {
                    for _ in 0..model {
                        pending.done();
                    }
                    done_so_far.push(format!("done() × {model}"));
                    model = 0;
                }
                Op::Count => {
                    let count = pending.count();
                    if count != model {
                        return Err(format!(
                            "{}, count() returned {count}, expected {model}: count() is every \
                             n added minus every done()",
                            so_far(&done_so_far)
                        ));
                    }
                }
                Op::Wait if model > 0 => {}
                Op::Wait => {
                    let ((), took) = timed(|| pending.wait());
                    if took > Duration::from_secs(1) {
                        return Err(format!(
                            "{}, nothing was pending, yet wait() took {took:?}: with a count of \
                             zero it returns at once",
                            so_far(&done_so_far)
                        ));
                    }
                }
                Op::WaitTimeout(timeout) if model > 0 && timeout > Duration::from_millis(50) => {}
                Op::WaitTimeout(timeout) => {
                    let (answer, took) = timed(|| pending.wait_timeout(timeout));
                    let call = format!("wait_timeout({timeout:?})");
                    if model == 0 && !answer {
                        return Err(format!(
                            "{}, nothing was pending, yet {call} returned false: it answers \
                             whether nothing is pending",
                            so_far(&done_so_far)
                        ));
                    }
                    if model == 0 && took > Duration::from_secs(1) {
                        return Err(format!(
                            "{}, nothing was pending, yet {call} took {took:?}: with a count of \
                             zero it returns true at once, however long its timeout",
                            so_far(&done_so_far)
                        ));
                    }
                    if model > 0 && answer {
                        return Err(format!(
                            "{}, {model} items were pending and nobody else was there to finish \
                             them, yet {call} returned true: it answers whether nothing is \
                             pending (not whether it timed out)",
                            so_far(&done_so_far)
                        ));
                    }
                    if model > 0 && took < timeout {
                        return Err(format!(
                            "{}, {call} gave up after {took:?}, before its timeout: wait until \
                             `Instant::now() + timeout`, computed once — the whole duration, \
                             not its milli- or nanosecond part",
                            so_far(&done_so_far)
                        ));
                    }
                    if model > 0 && took > timeout + Duration::from_secs(1) {
                        return Err(format!(
                            "{}, {call} took {took:?} with items pending: it waited far past \
                             its timeout (is the duration read in the right unit?)",
                            so_far(&done_so_far)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn count_follows_every_add_and_done() {
        // Any sequence of calls on one thread: count() is the model's number,
        // a done() at zero panics, and waits answer as the count says —
        // timeouts from zero to Duration::MAX, amounts past u32::MAX.
        oracle::check(
            64,
            proptest::collection::vec(op(), 0..20),
            |ops: Vec<Op>| {
                let shown = format!("{ops:?}");
                finishes(
                    &format!(
                        "these calls on one Pending: {}",
                        lesson_support::shorten(&shown, 300)
                    ),
                    "a wait with nothing pending returns at once, and a timed wait gives up at \
                     its deadline; does a method lock the count while it already holds it?",
                    move || play(ops),
                )
            },
        );
    }

    #[test]
    fn a_pending_serves_round_after_round() {
        // Not left to a draw: one Pending through several rounds of work,
        // each round adding, asking, finishing everything and asking again —
        // what it answers must not depend on what earlier rounds did.
        let rounds: Vec<Op> = (1..=4u64)
            .flat_map(|n| {
                [
                    Op::Add(n),
                    Op::Count,
                    Op::WaitTimeout(Duration::ZERO),
                    Op::WaitTimeout(Duration::from_millis(2)),
                    Op::DoneAll,
                    Op::Count,
                    Op::WaitTimeout(Duration::ZERO),
                    Op::Wait,
                ]
            })
            .collect();
        let shown = format!("{rounds:?}");
        let outcome = finishes(
            &format!(
                "four rounds of add, wait, done on one Pending: {}",
                lesson_support::shorten(&shown, 300)
            ),
            "a wait with nothing pending returns at once, and a timed wait gives up at its \
             deadline; does a method lock the count while it already holds it?",
            move || play(rounds),
        );
        if let Err(message) = outcome {
            panic!(
                "{message} — a Pending is used again once it was empty: wait and wait_timeout \
                 look at the count as it is now, never at a flag left from an earlier round"
            );
        }
    }

    /// Threads waiting on one `Pending` while others finish its work.
    #[derive(Debug, Clone)]
    struct Crowd {
        /// How many items are pending at the start.
        items: u64,
        /// How many threads call done() (item `i` by thread `i % doers`).
        doers: usize,
        /// Before finishing item `i`, its thread adds and finishes this many
        /// more — work added while work is pending.
        more: Vec<u64>,
        /// Before finishing item `i`, its thread pauses this long.
        pauses: Vec<Duration>,
        /// Each waiter: `wait()` (None) or `wait_timeout` of a long timeout.
        waiters: Vec<Option<Duration>>,
    }

    fn crowds() -> impl Strategy<Value = Crowd> {
        (1u64..=6, 1usize..=3, 0usize..=4).prop_flat_map(|(items, doers, waiters)| {
            let n = items as usize;
            (
                proptest::collection::vec(prop_oneof![Just(0u64), 1u64..=3, 20u64..=60], n),
                proptest::collection::vec(
                    prop_oneof![Just(0u64), 1u64..=4].prop_map(Duration::from_millis),
                    n,
                ),
                proptest::collection::vec(proptest::option::of(long_timeout()), waiters),
            )
                .prop_map(move |(more, pauses, waiters)| Crowd {
                    items,
                    doers,
                    more,
                    pauses,
                    waiters,
                })
        })
    }

    #[test]
    fn waiters_return_when_and_only_when_the_count_reaches_zero() {
        // Waiters (wait(), and wait_timeout with timeouts too long to run out)
        // while 1–3 threads finish the items, adding and finishing more work
        // on the way. The test keeps its own count of the done() calls not yet
        // begun; a waiter that finds it above zero returned with work pending.
        oracle::check(32, crowds(), |crowd: Crowd| {
            let pending = Arc::new(Pending::new());
            finishes(&format!("add({})", crowd.items), NO_WAIT, {
                let (pending, items) = (Arc::clone(&pending), crowd.items);
                move || pending.add(items)
            });
            let to_begin = Arc::new(AtomicU64::new(crowd.items));
            let waiting: Vec<_> = crowd
                .waiters
                .iter()
                .map(|&timeout| {
                    let (pending, to_begin) = (Arc::clone(&pending), Arc::clone(&to_begin));
                    thread::spawn(move || {
                        let answer = match timeout {
                            None => {
                                pending.wait();
                                true
                            }
                            Some(timeout) => pending.wait_timeout(timeout),
                        };
                        (timeout, answer, to_begin.load(Ordering::SeqCst))
                    })
                })
                .collect();
            let doers: Vec<_> = (0..crowd.doers)
                .map(|doer| {
                    let (pending, to_begin, crowd) =
                        (Arc::clone(&pending), Arc::clone(&to_begin), crowd.clone());
                    thread::spawn(move || {
                        for item in (doer..crowd.items as usize).step_by(crowd.doers) {
                            for _ in 0..crowd.more[item] {
                                pending.add(1);
                                to_begin.fetch_add(1, Ordering::SeqCst);
                                to_begin.fetch_sub(1, Ordering::SeqCst);
                                pending.done();
                            }
                            thread::sleep(crowd.pauses[item]);
                            to_begin.fetch_sub(1, Ordering::SeqCst);
                            pending.done();
                        }
                    })
                })
                .collect();
            join_all(
                doers,
                "threads calling add() and done()",
                "add() and done() only lock, change the count and maybe notify: a waiter that \
                 keeps the lock while it sleeps (or a lock taken twice) stops them",
            );
            let answers = join_all(waiting, "waiters", WAKE_ALL);
            for (timeout, answer, left) in answers {
                let call = timeout
                    .map_or_else(|| "wait()".to_string(), |t| format!("wait_timeout({t:?})"));
                if left > 0 {
                    return Err(format!(
                        "{call} returned while {left} done() calls had not even begun, so the \
                         count was above zero: a waiter returns only at zero — loop on the \
                         count (`while *count > 0`), wake at zero, and check under the lock \
                         you wait with"
                    ));
                }
                if !answer {
                    return Err(format!(
                        "{call} returned false, though every item was done within \
                         milliseconds: a timeout that long never runs out (with \
                         `checked_add`, one too long for a deadline is no limit at all)"
                    ));
                }
            }
            let left = finishes("count() at the end", NO_WAIT, move || pending.count());
            if left != 0 {
                return Err(format!(
                    "every add() was matched by a done(), from several threads at once, yet \
                     count() ends at {left}: each add and done must change the count under \
                     the lock, in one step"
                ));
            }
            Ok(())
        });
    }

    #[test]
    fn a_timed_wait_gives_up_at_its_deadline_and_not_before() {
        // One item stays pending while timed waiters run out their timeouts
        // (zero to a few milliseconds) beside waiters that must go on waiting;
        // then the item is done and those return true.
        let cases = (
            proptest::collection::vec(short_timeout(), 1..=4),
            proptest::collection::vec(proptest::option::of(long_timeout()), 0..=2),
        );
        oracle::check(16, cases, |(short, patient)| {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let start = |timeout: Option<Duration>| {
                let pending = Arc::clone(&pending);
                thread::spawn(move || {
                    timed(|| match timeout {
                        None => {
                            pending.wait();
                            true
                        }
                        Some(timeout) => pending.wait_timeout(timeout),
                    })
                })
            };
            let staying: Vec<_> = patient.iter().map(|&t| start(t)).collect();
            let giving_up: Vec<_> = short.iter().map(|&t| start(Some(t))).collect();
            let gave_up = join_all(
                giving_up,
                "waiters with short timeouts",
                "wait_timeout must give up at its deadline: wait_until(&mut count, deadline), \
                 and once it has passed return the answer instead of waiting again",
            );
            for (timeout, (answer, took)) in short.iter().zip(gave_up) {
                let call = format!("wait_timeout({timeout:?}) with an item pending");
                if answer {
                    return Err(format!(
                        "{call} returned true: it answers whether nothing is pending, and one \
                         item still was"
                    ));
                }
                if took < *timeout {
                    return Err(format!(
                        "{call} returned after {took:?}, before its timeout ran out"
                    ));
                }
                if took > *timeout + Duration::from_secs(1) {
                    return Err(format!(
                        "{call} took {took:?}: it waited far past its timeout"
                    ));
                }
            }
            if let Some(early) = staying.iter().position(|w| w.is_finished()) {
                let call = patient[early]
                    .map_or_else(|| "wait()".to_string(), |t| format!("wait_timeout({t:?})"));
                return Err(format!(
                    "{call} returned while an item was still pending (the timed waiters beside \
                     it had just given up): a waiter returns only at zero, or at its own \
                     deadline"
                ));
            }
            finishes("done()", NO_WAIT, {
                let pending = Arc::clone(&pending);
                move || pending.done()
            });
            let answers = join_all(staying, "waiters", WAKE_ALL);
            for (timeout, (answer, _)) in patient.iter().zip(answers) {
                if !answer {
                    return Err(format!(
                        "wait_timeout({:?}) returned false once the item was done: it answers \
                         whether nothing is pending",
                        timeout.unwrap_or_default()
                    ));
                }
            }
            Ok(())
        });
    }
}

/// The chapter's section "Settling an attempt".
mod s2_settling_an_attempt {
    use super::*;

    /// What `settle` did with one attempt: its answer, the count after it, and
    /// what it sent to the retry lane and the dead letters.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        settled: Settled,
        count: u64,
        retried: Vec<Item>,
        dead: Vec<DeadLetter>,
    }

    /// Settles one attempt on an item that is the only one pending.
    fn settle_one(item: Item, result: Result<(), String>, max_retries: u32) -> Outcome {
        finishes(
            &format!(
                "settle(attempt {} of item {}, max_retries {max_retries})",
                item.attempts, item.id
            ),
            "settle sends on unbounded channels and calls done() at most once: nothing in it \
             waits — unless a Pending method locks the count while it already holds it \
             (count() inside done(), say)",
            move || {
                let pending = Pending::new();
                pending.add(1);
                let (retries, retry_lane) = unbounded();
                let (dead, dead_letters) = unbounded();
                let settled = settle(item, result, max_retries, &pending, &retries, &dead);
                Outcome {
                    settled,
                    count: pending.count(),
                    retried: retry_lane.try_iter().collect(),
                    dead: dead_letters.try_iter().collect(),
                }
            },
        )
    }

    #[test]
    fn a_failure_is_retried_until_the_last_allowed_attempt_then_dead() {
        for max_retries in [0, 1, 3] {
            for attempts in 1..=max_retries + 1 {
                let item = Item { id: 42, attempts };
                let error = format!("error on attempt {attempts}");
                let outcome = settle_one(item, Err(error.clone()), max_retries);
                let expected = if attempts <= max_retries {
                    Outcome {
                        settled: Settled::Retried,
                        count: 1,
                        retried: vec![item],
                        dead: vec![],
                    }
                } else {
                    Outcome {
                        settled: Settled::DeadLettered,
                        count: 0,
                        retried: vec![],
                        dead: vec![DeadLetter {
                            id: 42,
                            attempts,
                            error,
                        }],
                    }
                };
                assert_eq!(
                    outcome,
                    expected,
                    "attempt {attempts} failed with max_retries {max_retries} — {} allowed \
                     attempts in all (1 try + {max_retries} retries). {}",
                    max_retries + 1,
                    if attempts <= max_retries {
                        "Attempts are left: send the item, unchanged, to the retry lane; it \
                         stays pending (count 1), and nothing is dead"
                    } else {
                        "That was the last one: a dead letter with the item's id, its attempts \
                         and this attempt's error, and done() (count 0); no retry"
                    }
                );
            }
        }
    }

    #[test]
    fn a_success_is_done_on_any_attempt() {
        for (attempts, max_retries) in [(1, 0), (1, 2), (3, 2)] {
            let outcome = settle_one(Item { id: 5, attempts }, Ok(()), max_retries);
            assert_eq!(
                outcome,
                Outcome {
                    settled: Settled::Completed,
                    count: 0,
                    retried: vec![],
                    dead: vec![],
                },
                "attempt {attempts} succeeded (max_retries {max_retries}): the item is \
                 completed and done() — count 0, no retry, no dead letter"
            );
        }
    }

    #[test]
    fn a_retry_keeps_its_item_pending_while_it_is_in_flight() {
        let pending = Arc::new(Pending::new());
        pending.add(1);
        // A rendezvous retry lane: the send completes only when this test's
        // thread takes the retry, so it sees the count exactly as it is while
        // the retry is in flight.
        let (retries, retry_lane) = bounded::<Item>(0);
        let (dead, dead_letters) = unbounded::<DeadLetter>();
        let watcher = {
            let pending = Arc::clone(&pending);
            thread::spawn(move || {
                let retry = retry_lane.recv_timeout(BUDGET);
                (retry, pending.count())
            })
        };
        let item = Item { id: 7, attempts: 1 };
        let settled = finishes(
            "settle(a failed first attempt, max_retries 2)",
            "a retry is sent on the retry lane; nothing else blocks",
            {
                let pending = Arc::clone(&pending);
                move || settle(item, Err("flaky".into()), 2, &pending, &retries, &dead)
            },
        );
        let (retry, count_in_flight) = join_all(vec![watcher], "the watcher", NO_WAIT)
            .pop()
            .expect("one watcher");
        assert_eq!(settled, Settled::Retried, "attempt 1 of 3 failed: retry it");
        assert_eq!(
            retry.ok(),
            Some(item),
            "the retry lane must receive the item as it is"
        );
        assert!(
            count_in_flight != 0,
            "while the retry was in flight the count was 0, so a wait() could have returned \
             with work still to do: a retried item stays pending — do not call done() for it"
        );
        assert!(
            count_in_flight == 1,
            "while the retry was in flight the count was {count_in_flight}, not 1: the item \
             was counted again, so the count never gets back to zero and wait() never returns \
             — the retry keeps the item's one place in the count; do not add() for it"
        );
        assert!(
            dead_letters.try_recv().is_err(),
            "a retried item is not dead"
        );
    }

    #[test]
    fn a_dead_letter_is_sent_before_its_item_is_done() {
        let pending = Arc::new(Pending::new());
        pending.add(1);
        // A rendezvous dead-letter channel: the send completes only when this
        // test takes the letter, so until then the item must still be pending.
        let (dead, dead_letters) = bounded::<DeadLetter>(0);
        let (retries, _retry_lane) = unbounded::<Item>();
        let settler = {
            let pending = Arc::clone(&pending);
            thread::spawn(move || {
                settle(
                    Item { id: 3, attempts: 2 },
                    Err("no route".into()),
                    1,
                    &pending,
                    &retries,
                    &dead,
                )
            })
        };
        let finished_early = finishes(
            "wait_timeout(500 ms) while settle sends a dead letter nobody has taken yet",
            NO_WAIT,
            {
                let pending = Arc::clone(&pending);
                move || pending.wait_timeout(Duration::from_millis(500))
            },
        );
        assert!(
            !finished_early,
            "the item was done before its dead letter was sent: a wait() could return and the \
             run read the dead letters with this one still missing. Send the dead letter \
             first, then done()"
        );
        let letter = dead_letters.recv_timeout(BUDGET);
        let settled = join_all(vec![settler], "the thread calling settle", NO_WAIT);
        assert_eq!(
            settled,
            [Settled::DeadLettered],
            "attempt 2 of 2 failed: dead"
        );
        assert_eq!(
            letter.ok(),
            Some(DeadLetter {
                id: 3,
                attempts: 2,
                error: "no route".into()
            }),
            "the dead letter keeps the item's id, its attempts and its last error"
        );
        assert_eq!(
            finishes("count() after the dead letter", NO_WAIT, move || pending
                .count()),
            0,
            "once its dead letter is sent, the item is done"
        );
    }

    /// One call of `settle`, drawn over its whole domain.
    #[derive(Debug, Clone)]
    struct Attempt {
        item: Item,
        max_retries: u32,
        result: Result<(), String>,
        /// Other items pending beside this one.
        others: u64,
        /// Whether the lane settle must send on is a rendezvous, so the test
        /// sees the count while the send is in flight.
        rendezvous: bool,
    }

    /// `max_retries` from 0 to `u32::MAX`, the edges common.
    fn max_retries() -> impl Strategy<Value = u32> + Clone {
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(2),
            3u32..=10,
            Just(u32::MAX - 1),
            Just(u32::MAX),
            any::<u32>(),
        ]
    }

    fn attempts() -> impl Strategy<Value = Attempt> {
        max_retries().prop_flat_map(|max_retries| {
            let attempts = prop_oneof![
                Just(1u32),
                Just(max_retries.max(1)),
                Just(max_retries.saturating_add(1)),
                Just(max_retries.saturating_add(2)),
                Just(u32::MAX),
                1u32..=u32::MAX,
            ];
            let result = prop_oneof![
                Just(Ok(())),
                Just(Err(String::new())),
                "[a-zé →0-9]{1,24}".prop_map(Err),
            ];
            let others = prop_oneof![Just(0u64), 1u64..=3, Just(1u64 << 40)];
            (any::<u64>(), attempts, result, others, any::<bool>()).prop_map(
                move |(id, attempts, result, others, rendezvous)| Attempt {
                    item: Item { id, attempts },
                    max_retries,
                    result,
                    others,
                    rendezvous,
                },
            )
        })
    }

    /// Takes what `settle` sends on `lane` until it has returned.
    fn take_until_settled<T>(lane: &Receiver<T>, settler: &thread::JoinHandle<Settled>) -> Vec<T> {
        let mut taken = Vec::new();
        let deadline = Instant::now() + BUDGET;
        while Instant::now() < deadline {
            match lane.recv_timeout(Duration::from_millis(2)) {
                Ok(message) => taken.push(message),
                Err(_) if settler.is_finished() => break,
                Err(_) => {}
            }
        }
        taken
    }

    #[test]
    fn settle_does_what_the_attempt_and_max_retries_say() {
        // Any item, attempt number and max_retries (0 to u32::MAX), success or
        // any error, other items pending or not: the answer, what was sent
        // where, and the count — before the send completes and after — follow
        // from the contract alone.
        oracle::check(96, attempts(), |attempt: Attempt| {
            let Attempt {
                item,
                max_retries,
                result,
                others,
                rendezvous,
            } = attempt.clone();
            let before = others + 1;
            let expected = match &result {
                Ok(()) => Settled::Completed,
                Err(_) if item.attempts <= max_retries => Settled::Retried,
                Err(_) => Settled::DeadLettered,
            };
            let call = format!(
                "settle(attempt {} on item {}, {}, max_retries {max_retries}) with {before} \
                 pending",
                item.attempts,
                item.id,
                match &result {
                    Ok(()) => "Ok".to_string(),
                    Err(e) => format!("Err({e:?})"),
                }
            );
            let pending = Arc::new(Pending::new());
            pending.add(before);
            let slow_retry = rendezvous && expected == Settled::Retried;
            let slow_dead = rendezvous && expected == Settled::DeadLettered;
            let (retries, retry_lane) = if slow_retry { bounded(0) } else { unbounded() };
            let (dead, dead_letters) = if slow_dead { bounded(0) } else { unbounded() };
            let settler = {
                let (pending, result) = (Arc::clone(&pending), result.clone());
                thread::spawn(move || settle(item, result, max_retries, &pending, &retries, &dead))
            };
            let mut in_flight = None;
            let mut retried = Vec::new();
            let mut letters = Vec::new();
            if slow_retry || slow_dead {
                // settle is now (or soon) in a send nobody has taken: the
                // count must not have moved yet.
                thread::sleep(Duration::from_millis(3));
                let pending = Arc::clone(&pending);
                in_flight = Some(finishes("count()", NO_WAIT, move || pending.count()));
                if slow_retry {
                    retried = take_until_settled(&retry_lane, &settler);
                } else {
                    letters = take_until_settled(&dead_letters, &settler);
                }
            }
            let settled = join_all(
                vec![settler],
                "the thread calling settle",
                "settle sends at most one message and calls done() at most once: with nobody \
                 taking from the other lane, did it send there?",
            )
            .remove(0);
            retried.extend(retry_lane.try_iter());
            letters.extend(dead_letters.try_iter());
            let after = finishes("count()", NO_WAIT, move || pending.count());
            if settled != expected {
                return Err(format!(
                    "{call} answered {settled:?}, expected {expected:?}: {} allowed attempts \
                     (1 try + max_retries retries) — a failure with attempts <= max_retries is \
                     retried, the one after is dead",
                    u64::from(max_retries) + 1
                ));
            }
            let (want_retried, want_letters, want_after) = match (&result, expected) {
                (_, Settled::Completed) => (vec![], vec![], before - 1),
                (_, Settled::Retried) => (vec![item], vec![], before),
                (Err(error), Settled::DeadLettered) => (
                    vec![],
                    vec![DeadLetter {
                        id: item.id,
                        attempts: item.attempts,
                        error: error.clone(),
                    }],
                    before - 1,
                ),
                (Ok(()), Settled::DeadLettered) => unreachable!("a success is never dead"),
            };
            if retried != want_retried {
                return Err(format!(
                    "{call} sent {retried:?} to the retry lane, expected {want_retried:?}: a \
                     retry is the item as it is (its attempts are counted by the worker that \
                     makes the next one)"
                ));
            }
            if letters != want_letters {
                return Err(format!(
                    "{call} sent {letters:?} to the dead letters, expected {want_letters:?}: \
                     one dead letter, with the item's id, its attempts and this attempt's \
                     error"
                ));
            }
            if let Some(count) = in_flight
                && count != before
            {
                return Err(format!(
                    "{call}: while its {} was in flight (sent, not yet taken) the count was \
                     {count}, not {before}. {}",
                    if slow_retry { "retry" } else { "dead letter" },
                    if slow_retry {
                        "A retried item keeps its one place in the count: neither done() nor \
                         add() for it"
                    } else {
                        "Send the dead letter first, then done(): once wait() returns, every \
                         dead letter must be in the channel"
                    }
                ));
            }
            if after != want_after {
                return Err(format!(
                    "{call}: the count went from {before} to {after}, expected {want_after}: \
                     done() once for a completed or dead item, nothing for a retry"
                ));
            }
            Ok(())
        });
    }
}

/// The chapter's section "The run".
mod s3_the_run {
    use super::*;

    #[test]
    fn every_item_is_completed_or_dead_exactly_as_the_seed_says() {
        let (seed, rate, max_retries) = (0, 0.5, 2);
        let expected = expected_report(seed, 401, rate, max_retries);
        // The scenario is what it says: at a failure rate of 0.5 about one
        // item in eight fails all 3 attempts (50 of 401, give or take 4
        // standard deviations), and about 1.75 attempts are made per item.
        let dead = expected.dead_letters.len();
        assert!(
            (24..=76).contains(&dead) && (600..=800).contains(&expected.attempts),
            "the kit's `fails` no longer fails at the rate it is given: {dead} of 401 items \
             would die after {} attempts (the kit's fault, not yours)",
            expected.attempts
        );
        let report = finishes(
            "run_with_retries(401 items, 3 workers, 2 retries, failure rate 0.5, seed 0)",
            HUNG_RUN,
            move || run_with_retries(401, 3, max_retries, flaky_job(seed, rate)),
        );
        assert_report(&report, &expected, "401 items, 2 retries");
    }

    #[test]
    fn with_no_retries_each_item_gets_one_attempt() {
        let (seed, rate) = (11, 0.3);
        let report = finishes(
            "run_with_retries(97 items, 2 workers, 0 retries, failure rate 0.3)",
            HUNG_RUN,
            move || run_with_retries(97, 2, 0, flaky_job(seed, rate)),
        );
        assert_report(
            &report,
            &expected_report(seed, 97, rate, 0),
            "97 items, max_retries 0 (one attempt each, no retry)",
        );
    }

    #[test]
    fn each_item_succeeds_once_and_no_attempt_repeats() {
        let succeeded = Log::new();
        let tried = Log::new();
        let job: Job = {
            let (succeeded, tried) = (succeeded.clone(), tried.clone());
            let flaky = flaky_job(3, 0.3);
            Arc::new(move |item: Item| {
                tried.push((item.id, item.attempts));
                let result = flaky(item);
                if result.is_ok() {
                    succeeded.push(item.id);
                }
                result
            })
        };
        let report = finishes(
            "run_with_retries(300 items, 4 workers, 5 retries, failure rate 0.3)",
            HUNG_RUN,
            move || run_with_retries(300, 4, 5, job),
        );
        let expected_tries: Vec<(u64, u32)> = (0..300)
            .flat_map(|id| (1..=fate(3, id, 0.3, 5).0).map(move |attempt| (id, attempt)))
            .collect();
        assert_each_exactly_once(
            expected_tries,
            tried.entries(),
            "attempts (item, attempt number) made on the way",
        );
        let completed: Vec<u64> = (0..300).filter(|&id| !fate(3, id, 0.3, 5).1).collect();
        assert_each_exactly_once(completed, succeeded.entries(), "items that succeeded");
        assert_report(
            &report,
            &expected_report(3, 300, 0.3, 5),
            "300 items, 5 retries",
        );
    }

    #[test]
    fn a_job_that_always_fails_fills_the_dead_letters_and_the_run_still_ends() {
        let calls = Arc::new(AtomicU64::new(0));
        let job: Job = {
            let calls = Arc::clone(&calls);
            Arc::new(move |item: Item| {
                calls.fetch_add(1, Ordering::Relaxed);
                Err(format!(
                    "item {} failed on attempt {}",
                    item.id, item.attempts
                ))
            })
        };
        let report = finishes(
            "run_with_retries(50 items, 2 workers, 3 retries, a job that always fails)",
            HUNG_RUN,
            move || run_with_retries(50, 2, 3, job),
        );
        assert_eq!(
            calls.load(Ordering::Relaxed),
            200,
            "50 items x (1 try + 3 retries) = 200 attempts, no more"
        );
        assert_report(
            &report,
            &expected_report(0, 50, 1.0, 3),
            "50 items that always fail, 3 retries",
        );
    }

    #[test]
    fn the_dead_letters_are_sorted_by_id_whatever_order_they_died_in() {
        // Item 0 takes 200 ms to fail; the others fail at once, so item 0 dies last.
        let job: Job = Arc::new(|item: Item| {
            if item.id == 0 {
                thread::sleep(Duration::from_millis(200));
            }
            Err(format!(
                "item {} failed on attempt {}",
                item.id, item.attempts
            ))
        });
        let report = finishes(
            "run_with_retries(6 items, 2 workers, 0 retries, a job that always fails)",
            HUNG_RUN,
            move || run_with_retries(6, 2, 0, job),
        );
        assert_report(
            &report,
            &expected_report(0, 6, 1.0, 0),
            "6 items that always fail, item 0 slowest",
        );
    }

    #[test]
    fn every_retry_is_settled_before_the_run_ends() {
        // 8 items that fail 6 times (2 ms each) and succeed on their 7th
        // attempt: most attempts are retries, made long after the producer is
        // done.
        let job: Job = Arc::new(|item: Item| {
            thread::sleep(Duration::from_millis(2));
            if item.attempts < 7 {
                Err(format!(
                    "item {} failed on attempt {}",
                    item.id, item.attempts
                ))
            } else {
                Ok(())
            }
        });
        let report = finishes(
            "run_with_retries(8 items, 2 workers, 6 retries, 6 failures before each success)",
            HUNG_RUN,
            move || run_with_retries(8, 2, 6, job),
        );
        assert_eq!(
            (report.completed, report.attempts),
            (8, 56),
            "every item succeeds on its 7th attempt: 8 completed after 56 attempts. Fewer means \
             the run ended with retries still to make: wait for Pending to reach zero before \
             closing the queue — the producer being done does not mean the work is"
        );
        assert_report(
            &report,
            &Report {
                produced: 8,
                completed: 8,
                attempts: 56,
                dead_letters: vec![],
            },
            "8 items, 6 failures each before success",
        );
    }

    #[test]
    fn a_panic_in_a_job_comes_back_out_of_the_run() {
        // A job that panics on one attempt of one item — or of two items —
        // among others that fail now and then, with one worker or several and
        // any number of retries. Whatever the workers do meanwhile, the run
        // must end (the panicked item leaves nothing pending), must not try
        // that item again (a panic is not a failure to retry), and must panic
        // with the job's own message: not return a report, not hang, not die
        // of a closed channel or a bare join error.
        let cases = (
            prop_oneof![Just(1u64), Just(2), 1u64..=40],
            prop_oneof![Just(1usize), 1usize..=4],
            0u32..=3,
        )
            .prop_flat_map(|(items, workers, max_retries)| {
                let at = (0..items, 1..=max_retries + 1);
                (
                    Just(items),
                    Just(workers),
                    Just(max_retries),
                    at.clone(),
                    proptest::option::of(at),
                )
            });
        oracle::check(24, cases, |(items, workers, max_retries, first, second)| {
            // Two panics are on two different items.
            let panics: Vec<(u64, u32)> = std::iter::once(first)
                .chain(second.filter(|at| at.0 != first.0))
                .collect();
            let shown = panics
                .iter()
                .map(|(id, attempt)| format!("item {id} attempt {attempt}"))
                .collect::<Vec<_>>()
                .join(" and ");
            let what = format!(
                "run_with_retries({items} items, {workers} workers, {max_retries} retries) \
                     with a job that panics on {shown}"
            );
            let tried = Log::new();
            let job: Job = {
                let (tried, panics) = (tried.clone(), panics.clone());
                Arc::new(move |item: Item| {
                    tried.push((item.id, item.attempts));
                    match panics.iter().find(|(id, _)| *id == item.id) {
                        Some(&(_, at)) if item.attempts == at => adversary::injected_panic(
                            &format!("job(item {}, attempt {at})", item.id),
                        ),
                        // Failed until its panic, so that it gets there.
                        Some(_) => Err(format!("item {} fails first", item.id)),
                        None if fails(5, item.id, item.attempts, 0.3) => {
                            Err(format!("item {} failed", item.id))
                        }
                        None => Ok(()),
                    }
                })
            };
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                finishes(&what, PANICKED_JOB, move || {
                    run_with_retries(items, workers, max_retries, job)
                })
            }));
            let message = match outcome {
                Ok(report) => {
                    return Err(format!(
                        "{what}: the run returned a report ({} completed, {} dead) as if \
                             nothing had happened — the panic was lost. {PANICKED_JOB}",
                        report.completed,
                        report.dead_letters.len()
                    ));
                }
                Err(payload) => panic_message(payload.as_ref()),
            };
            if message.contains("not yet implemented") {
                panic!("{message}");
            }
            if message.contains("still running after") {
                return Err(message);
            }
            if !adversary::is_injected(&message) {
                return Err(format!(
                    "{what}: the run failed with {:?}, not with the job's own panic. \
                         {PANICKED_JOB}",
                    lesson_support::shorten(&message, 300)
                ));
            }
            let again: Vec<(u64, u32)> = tried
                .entries()
                .into_iter()
                .filter(|&(id, attempt)| panics.iter().any(|&(p, at)| p == id && attempt > at))
                .collect();
            if !again.is_empty() {
                return Err(format!(
                    "{what}: after its panic the item was tried again ({}, as (item, \
                         attempt)): a panic is a bug in the job, not a failed attempt — do not \
                         hand it to settle() as an Err to retry",
                    preview(&again)
                ));
            }
            Ok(())
        });
    }

    #[test]
    fn the_run_uses_exactly_the_workers_asked_for() {
        let _alone = TimingSection::enter();
        let overlap = Arc::new(Overlap::new(3));
        let job = overlapping(&overlap);
        let report = finishes(
            "run_with_retries(5 items, 3 workers, a job that waits for the others)",
            HUNG_RUN,
            move || run_with_retries(5, 3, 1, job),
        );
        assert_eq!(report.completed, 5, "5 items, every attempt succeeds");
        assert_eq!(
            overlap.most(),
            3,
            "with 3 workers, 3 items should be tried at the same time, but at most {} were: \
             start `workers` threads — no more, no fewer — before producing",
            overlap.most()
        );
    }

    #[test]
    fn every_item_is_counted_before_a_worker_can_finish_it() {
        // Instant jobs and many items: a worker finishes an item as soon as it
        // is sent. Counted only after the send, it is done before it was added.
        let report = finishes(
            "run_with_retries(3000 items, 2 workers, an instant job)",
            HUNG_RUN,
            || run_with_retries(3000, 2, 1, Arc::new(|_| Ok(()))),
        );
        assert_eq!(report.completed, 3000, "3000 instant successes");
    }

    /// Runs drawn over the whole domain.
    #[derive(Clone)]
    struct Drawn {
        seed: u64,
        rate: f64,
        items: u64,
        workers: usize,
        max_retries: u32,
        pauses: Vec<((u64, u32), u64)>,
    }

    impl std::fmt::Debug for Drawn {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "{} items, {} workers, max_retries {}, failure rate {}, seed {:#x}, pauses \
                 (item, attempt, ms) {:?}",
                self.items, self.workers, self.max_retries, self.rate, self.seed, self.pauses
            )
        }
    }

    impl Drawn {
        fn scenario(&self) -> Scenario {
            Scenario {
                items: self.items,
                workers: self.workers,
                max_retries: self.max_retries,
                decide: seeded(self.seed, self.rate),
                acts: self
                    .pauses
                    .iter()
                    .map(|&(key, ms)| (key, Act::Pause(Duration::from_millis(ms))))
                    .collect(),
            }
        }
    }

    /// Items from none to 40 (the edges and 15–17 common), workers from one
    /// to past the items (none when there are no items), retries from 0 to
    /// `u32::MAX`, any seed, failure rates from 0 to 1 that are not round, and
    /// a few attempts that pause so the workers meet empty queues and retries
    /// come late. Runs of more than 600 attempts are drawn again.
    fn drawn_runs() -> impl Strategy<Value = Drawn> {
        let items = prop_oneof![
            3 => oracle::draw::count(40),
            1 => 15u64..=17,
        ];
        let max_retries = prop_oneof![
            Just(0u32),
            Just(1),
            Just(2),
            3u32..=8,
            Just(40),
            Just(u32::MAX),
        ];
        let seed = prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()];
        (items, max_retries, seed, oracle::draw::probability())
            .prop_flat_map(|(items, max_retries, seed, rate)| {
                let workers = if items == 0 {
                    (0usize..=3).boxed()
                } else {
                    prop_oneof![
                        oracle::draw::size(1, 6),
                        oracle::draw::around(items as usize, 1),
                    ]
                    .boxed()
                };
                let pauses =
                    proptest::collection::vec(((0..items.max(1), 1u32..=3), 1u64..=6), 0..=3);
                (Just((items, max_retries, seed, rate)), workers, pauses)
            })
            .prop_map(
                |((items, max_retries, seed, rate), workers, pauses)| Drawn {
                    seed,
                    rate,
                    items,
                    workers,
                    max_retries,
                    pauses,
                },
            )
            .prop_filter("a run of at most 600 attempts", |drawn| {
                fates(
                    drawn.items,
                    drawn.max_retries,
                    &seeded(drawn.seed, drawn.rate),
                    600,
                )
                .is_some()
            })
    }

    #[test]
    fn every_item_ends_as_its_job_decided_whatever_the_counts() {
        oracle::check(56, drawn_runs(), |drawn: Drawn| {
            drawn.scenario().check(BUDGET, HUNG_RUN)
        });
    }

    #[test]
    fn exactly_the_workers_asked_for_take_work_at_once() {
        // 1 to 5 workers and as many items, one more, or twice as many: that
        // many attempts are inside the job at once — never more, never fewer.
        let cases = (1usize..=5).prop_flat_map(|workers| {
            (
                Just(workers),
                prop_oneof![
                    Just(workers as u64),
                    Just(workers as u64 + 1),
                    Just(2 * workers as u64 + 1)
                ],
            )
        });
        let _alone = TimingSection::enter();
        oracle::check(6, cases, |(workers, items)| {
            let overlap = Arc::new(Overlap::new(workers));
            let job = overlapping(&overlap);
            let report = finishes(
                &format!("run_with_retries({items} items, {workers} workers)"),
                HUNG_RUN,
                move || run_with_retries(items, workers, 1, job),
            );
            check_report(
                &report,
                &Report {
                    produced: items,
                    completed: items,
                    attempts: items,
                    dead_letters: vec![],
                },
                &format!("{items} items, every attempt a success"),
            )?;
            if overlap.most() != workers {
                return Err(format!(
                    "run_with_retries({items} items, {workers} workers): at most {} attempts \
                     were in the job at once, while the job waited for {workers}: start \
                     exactly `workers` threads, each taking from the one queue",
                    overlap.most()
                ));
            }
            Ok(())
        });
    }

    #[test]
    fn a_held_worker_does_not_hold_up_the_others() {
        // Item 0's first attempt waits at a gate. The other workers must make
        // every attempt on every other item meanwhile — retries included —
        // from the one queue and the one retry lane they all read.
        let cases = (
            2usize..=4,
            1u64..=20,
            0u32..=3,
            any::<u64>(),
            oracle::draw::probability(),
        );
        oracle::check(8, cases, |(workers, more, max_retries, seed, rate)| {
            let items = workers as u64 + more;
            let decide = seeded(seed, rate);
            let fates = fates(items, max_retries, &decide, u64::MAX).expect("no cap");
            let others: Vec<(u64, u32)> = fates
                .iter()
                .enumerate()
                .skip(1)
                .flat_map(|(id, f)| (1..=f.attempts).map(move |a| (id as u64, a)))
                .collect();
            let gate = Gate::new();
            let watch = Watch::default();
            let job = watched(
                &decide,
                BTreeMap::from([((0, 1), Act::Hold(gate.clone()))]),
                &watch,
            );
            let running = thread::spawn(move || run_with_retries(items, workers, max_retries, job));
            let name = format!(
                "run_with_retries({items} items, {workers} workers, max_retries {max_retries}) \
                 with item 0's first attempt held"
            );
            let returned = wait_for_or_exit(
                &running,
                "the other workers to make every attempt on every other item",
                || {
                    let ended = watch.ended.entries();
                    others.iter().all(|key| ended.contains(key))
                },
            );
            let while_held = watch.ended.entries();
            gate.open();
            if returned {
                join_finished(running);
                return Err(format!(
                    "{name}: the run returned while item 0's first attempt was still in the \
                     job — wait until every item is completed or dead"
                ));
            }
            let report = join_all(vec![running], "the run", HUNG_RUN).remove(0);
            check_each_exactly_once(
                others.iter().copied(),
                while_held.into_iter().filter(|(id, _)| *id != 0),
                &format!(
                    "{name}: attempts on the other items made while item 0 was held — a free \
                     worker takes whatever waits in the one queue or the retry lane, not items \
                     dealt out in advance"
                ),
            )?;
            check_report(&report, &report_of(&fates), &name)
        });
    }
}

/// The chapter's section "The model check".
mod s4_the_model_check {
    #[test]
    fn every_interleaving_of_pending_is_right() {
        // The scenarios are in tests/model.rs; loom tries each one under every
        // order in which its threads can take turns.
        lesson_support::run_models!();
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall.
mod stall {
    use super::*;

    /// Waiters of every kind while the last `done()` comes a stall late: each
    /// must keep waiting (without burning a core), then return true.
    fn waiters_outlast_a_quiet_doer() {
        let pending = Arc::new(Pending::new());
        pending.add(2);
        let last_begun = Arc::new(AtomicU64::new(0));
        let kinds = [
            None,
            Some(Duration::from_secs(3600)),
            Some(Duration::MAX),
            Some(Duration::from_secs(u64::MAX)),
            Some(STALL * 3),
        ];
        let waiting: Vec<_> = kinds
            .iter()
            .map(|&timeout| {
                let (pending, last_begun) = (Arc::clone(&pending), Arc::clone(&last_begun));
                thread::spawn(move || {
                    let cpu = thread_cpu_time();
                    let answer = match timeout {
                        None => {
                            pending.wait();
                            true
                        }
                        Some(timeout) => pending.wait_timeout(timeout),
                    };
                    let burned = cpu.zip(thread_cpu_time()).map(|(a, b)| b.saturating_sub(a));
                    (answer, last_begun.load(Ordering::SeqCst), burned)
                })
            })
            .collect();
        finishes("done()", NO_WAIT, {
            let pending = Arc::clone(&pending);
            move || pending.done()
        });
        thread::sleep(STALL);
        last_begun.store(1, Ordering::SeqCst);
        finishes("the last done()", NO_WAIT, {
            let pending = Arc::clone(&pending);
            move || pending.done()
        });
        let answers = join_all(waiting, "waiters", WAKE_ALL);
        for (timeout, (answer, begun, burned)) in kinds.iter().zip(answers) {
            let call =
                timeout.map_or_else(|| "wait()".to_string(), |t| format!("wait_timeout({t:?})"));
            assert!(
                begun == 1 && answer,
                "{call}, with one item pending whose done() came {STALL:?} late, {}: {GIVES_UP}",
                if begun == 0 {
                    "returned before that done()"
                } else {
                    "returned false"
                }
            );
            if let Some(burned) = burned {
                assert!(
                    burned < STALL / 5,
                    "{call} used {burned:?} of processor time while it waited {STALL:?}: it \
                     polled instead of sleeping on the condvar until the last done() wakes it"
                );
            }
        }
    }

    /// Timeouts of a second and more, and around one second, run out in full.
    fn timeouts_of_seconds_run_out_in_full() {
        let pending = Arc::new(Pending::new());
        pending.add(1);
        let timeouts = [
            Duration::from_nanos(999_999_999),
            Duration::from_nanos(1_000_000_001),
            Duration::new(1, 700_000_000),
            Duration::from_secs(2),
            Duration::new(2, 400_000_001),
        ];
        let waiting: Vec<_> = timeouts
            .iter()
            .map(|&timeout| {
                let pending = Arc::clone(&pending);
                thread::spawn(move || timed(|| pending.wait_timeout(timeout)))
            })
            .collect();
        let answers = join_all_within(
            STALL_BUDGET,
            waiting,
            "waiters with timeouts of seconds",
            "a timed wait gives up at its deadline: Instant::now() + timeout, computed once",
        );
        for (timeout, (answer, took)) in timeouts.iter().zip(answers) {
            assert!(
                !answer,
                "wait_timeout({timeout:?}) returned true with an item pending"
            );
            assert!(
                took >= *timeout,
                "wait_timeout({timeout:?}) gave up after {took:?}: the whole duration counts, \
                 seconds and fraction — not `subsec_millis()`, not `as_secs()` alone"
            );
            assert!(
                took < *timeout + Duration::from_secs(1),
                "wait_timeout({timeout:?}) took {took:?}: far past its timeout"
            );
        }
    }

    /// A run in which one attempt takes a stall and fails, and retries follow.
    fn a_run_outlasts_a_long_attempt() {
        let rest = seeded(0x5ee, 0.4);
        let decide: Decide = Arc::new(move |id, attempt| {
            if id == 0 {
                if attempt < 4 {
                    Err(format!("item 0 failed on attempt {attempt}"))
                } else {
                    Ok(())
                }
            } else {
                rest(id, attempt)
            }
        });
        let scenario = Scenario {
            items: 7,
            workers: 2,
            max_retries: 5,
            decide,
            acts: BTreeMap::from([((0, 1), Act::Stall)]),
        };
        if let Err(message) = scenario.check(
            STALL_BUDGET,
            &format!("the run must wait while an attempt takes {STALL:?}: {GIVES_UP}"),
        ) {
            panic!(
                "item 0's first attempt took {STALL:?}, then failed, and its retries followed \
                 — {message}. {GIVES_UP}"
            );
        }
    }

    /// Every worker is in a long attempt while the producer has many items
    /// left: it must wait for room, however long.
    fn the_producer_waits_for_room() {
        let scenario = Scenario {
            items: 60,
            workers: 2,
            max_retries: 1,
            decide: seeded(7, 0.2),
            acts: BTreeMap::from([((0, 1), Act::Stall), ((1, 1), Act::Stall)]),
        };
        if let Err(message) = scenario.check(
            STALL_BUDGET,
            &format!("the producer must wait for room while the workers take {STALL:?}"),
        ) {
            panic!(
                "both workers spent {STALL:?} on their first items while 58 more were to be \
                 produced — {message}. {GIVES_UP}"
            );
        }
    }

    /// settle over lanes whose reader is slow: it must deliver, not drop.
    fn settle_waits_for_a_slow_reader(retry: bool) {
        let pending = Arc::new(Pending::new());
        pending.add(1);
        let (retries, retry_lane) = if retry { bounded(0) } else { unbounded() };
        let (dead, dead_letters) = if retry { unbounded() } else { bounded(0) };
        let reader = thread::spawn(move || {
            thread::sleep(STALL);
            if retry {
                (retry_lane.recv_timeout(BUDGET).ok(), None)
            } else {
                (None, dead_letters.recv_timeout(BUDGET).ok())
            }
        });
        let item = Item {
            id: 11,
            attempts: 2,
        };
        let max_retries = if retry { 2 } else { 1 };
        let settled = finishes_within(
            STALL_BUDGET,
            "settle, whose lane's reader takes a stall to come",
            GIVES_UP,
            {
                let pending = Arc::clone(&pending);
                move || {
                    settle(
                        item,
                        Err("slow".into()),
                        max_retries,
                        &pending,
                        &retries,
                        &dead,
                    )
                }
            },
        );
        let (retried, letter) =
            join_all_within(STALL_BUDGET, vec![reader], "the reader", NO_WAIT).remove(0);
        let count = finishes("count()", NO_WAIT, move || pending.count());
        if retry {
            assert_eq!(
                (settled, retried, count),
                (Settled::Retried, Some(item), 1),
                "settle retried attempt 2 of 3 on a lane whose reader came {STALL:?} late: the \
                 retry must arrive (a send waits for room; it is not given up) and the item \
                 stays pending — {GIVES_UP}"
            );
        } else {
            assert_eq!(
                (settled, letter, count),
                (
                    Settled::DeadLettered,
                    Some(DeadLetter {
                        id: 11,
                        attempts: 2,
                        error: "slow".into()
                    }),
                    0
                ),
                "settle dead-lettered attempt 2 of 2 on a channel whose reader came {STALL:?} \
                 late: the letter must arrive, then the item is done — {GIVES_UP}"
            );
        }
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "waiters, whose last done() comes late",
                Box::new(waiters_outlast_a_quiet_doer),
            ),
            (
                "wait_timeout of a second and more",
                Box::new(timeouts_of_seconds_run_out_in_full),
            ),
            (
                "run_with_retries, one of whose attempts is long",
                Box::new(a_run_outlasts_a_long_attempt),
            ),
            (
                "run_with_retries, whose workers are all in long attempts",
                Box::new(the_producer_waits_for_room),
            ),
            (
                "settle, whose retry lane's reader is slow",
                Box::new(|| settle_waits_for_a_slow_reader(true)),
            ),
            (
                "settle, whose dead letters' reader is slow",
                Box::new(|| settle_waits_for_a_slow_reader(false)),
            ),
        ]);
    }
}
