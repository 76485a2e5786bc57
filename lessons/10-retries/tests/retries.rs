//! Lesson 10 — retries that end, dead letters that keep their error, and a wait
//! that returns when, and only when, every item is settled.
//!
//! Every call into your code runs under a watchdog, also the ones made right
//! here on the test's own thread: a wait that never returns fails within
//! seconds with a hint. The last test runs the loom models in tests/model.rs,
//! which try `Pending` and `settle` under *every* interleaving of a few
//! threads — a `notify_one`, an `if` around a wait or a retry counted out and
//! back in fails every time, not one run in fifty.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use lesson_10::{
    DeadLetter, Item, Job, Pending, Report, Settled, fails, flaky_job, run_with_retries, settle,
};
use lesson_support::{Log, Overlap, TimingSection, assert_each_exactly_once, finishes, join_all};

const HUNG_RUN: &str = "the run never ended. Either an item is retried for ever (is the number of \
     attempts bounded by max_retries, and counted?), or the count never reaches zero (is every \
     item done() once it is completed or dead, and a retry neither done() nor add()ed?), or the \
     workers never see the queue close (does the run drop its Sender once Pending::wait \
     returns?), or a Pending method locks the count while it already holds it";
const NO_WAIT: &str = "this call has nothing to wait for: is the lock taken twice, or a wait \
     entered while the count is already zero?";
const WAKE_ALL: &str = "when done() brings the count to zero, wake every waiter: notify_all, not \
     notify_one";

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

/// Compares a run's report with the one the seed predicts, field by field,
/// saying what each difference usually means.
#[track_caller]
fn assert_report(got: &Report, expected: &Report, run: &str) {
    assert_eq!(
        got.produced, expected.produced,
        "{run}: produced counts items, once each — a retry is the same item again, not a new one"
    );
    assert_eq!(
        got.completed + got.dead_letters.len() as u64,
        expected.produced,
        "{run}: completed {} + dead {} must equal the {} produced: an item was lost or counted twice",
        got.completed,
        got.dead_letters.len(),
        expected.produced
    );
    assert_eq!(
        got.completed, expected.completed,
        "{run}: the seed says {} items succeed on some attempt",
        expected.completed
    );
    assert_eq!(
        got.attempts, expected.attempts,
        "{run}: the seed says {} attempts in all ({} first tries + the retries): is each \
         attempt counted once, in the worker that made it?",
        expected.attempts, expected.produced
    );
    let got_ids: Vec<u64> = got.dead_letters.iter().map(|d| d.id).collect();
    let expected_ids: Vec<u64> = expected.dead_letters.iter().map(|d| d.id).collect();
    lesson_support::assert_sequence(
        &expected_ids,
        &got_ids,
        &format!(
            "{run}: the dead letters (by id) must be exactly the items that failed every \
             allowed attempt, sorted by id"
        ),
    );
    for (got, expected) in got.dead_letters.iter().zip(&expected.dead_letters) {
        assert_eq!(
            got, expected,
            "{run}: a dead letter keeps the item's id, the attempts made on it and the error of \
             its last attempt"
        );
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

// --- Waiting for all -----------------------------------------------------------

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
        "count() after new(), after add(3) and add(2), and after two done()s: add(n) adds n, \
         done() takes one away"
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
        "{returned} of 3 waiters returned with 1 item still pending: wait must loop until the \
         count is zero (`while *count > 0`), not return after the first wake-up or at once"
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
        "wait_timeout must give up at its deadline: wait_until(&mut count, deadline), and once \
         it has passed return false instead of waiting again",
        || {
            let pending = Pending::new();
            pending.add(1);
            let started = Instant::now();
            (
                !pending.wait_timeout(Duration::from_millis(60)),
                started.elapsed(),
            )
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
            move || {
                let started = Instant::now();
                (
                    pending.wait_timeout(Duration::from_secs(3)),
                    started.elapsed(),
                )
            }
        },
    );
    join_all(vec![doer], "threads calling done()", NO_WAIT);
    assert!(
        done,
        "wait_timeout returned false although the item was done 300 ms into its 3 s"
    );
    assert!(
        took < Duration::from_millis(1500),
        "wait_timeout took {took:?} to notice an item done after 300 ms. The last done() must \
         wake a thread in wait_timeout as it wakes one in wait() (if you count waiters, count \
         them on both paths), and wait_timeout must wait on the condvar, not sleep out its time"
    );
}

#[test]
fn wait_timeout_counts_from_the_call_not_from_each_wake_up() {
    let _alone = TimingSection::enter();
    // 1000 items pending; another thread finishes one every 10 ms for 1.5 s,
    // so the count never reaches zero while wait_timeout(100 ms) waits.
    let pending = Arc::new(Pending::new());
    pending.add(1000);
    let doer = {
        let pending = Arc::clone(&pending);
        thread::spawn(move || {
            for _ in 0..150 {
                thread::sleep(Duration::from_millis(10));
                pending.done();
            }
        })
    };
    let (all_done, took) = finishes(
        "wait_timeout(100 ms) while other threads call done() every 10 ms",
        "the deadline is computed once, before the loop: a timeout restarted at each wake-up \
         never runs out while done() keeps waking you",
        {
            let pending = Arc::clone(&pending);
            move || {
                let started = Instant::now();
                (
                    pending.wait_timeout(Duration::from_millis(100)),
                    started.elapsed(),
                )
            }
        },
    );
    join_all(vec![doer], "threads calling done()", NO_WAIT);
    assert!(!all_done, "wait_timeout returned true with items pending");
    assert!(
        took < Duration::from_secs(1),
        "wait_timeout(100 ms) took {took:?} while done() was called every 10 ms: compute the \
         deadline once, before the loop, and wait until it — a timeout restarted at each \
         wake-up never runs out"
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
            "wait_timeout(Duration::MAX) panicked: `Instant::now() + Duration::MAX` overflows. \
             A timeout that long has no deadline — it is no limit at all: \
             `Instant::now().checked_add(timeout)`, and when that is None, wait as wait() does"
        );
    };
    assert!(
        done,
        "wait_timeout(Duration::MAX) returns true once the item is done"
    );
}

// --- Settling an attempt ----------------------------------------------------------

/// What `settle` did with one attempt: its answer, the count after it, and what
/// it sent to the retry lane and the dead letters.
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
        "settle sends on unbounded channels and calls done() at most once: nothing in it waits \
         — unless a Pending method locks the count while it already holds it (count() inside \
         done(), say)",
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
                "attempt {attempts} failed with max_retries {max_retries} — {} allowed attempts \
                 in all (1 try + {max_retries} retries). {}",
                max_retries + 1,
                if attempts <= max_retries {
                    "Attempts are left: send the item, unchanged, to the retry lane; it stays \
                     pending (count 1), and nothing is dead"
                } else {
                    "That was the last one: a dead letter with the item's id, its attempts and \
                     this attempt's error, and done() (count 0); no retry"
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
            "attempt {attempts} succeeded (max_retries {max_retries}): the item is completed \
             and done() — count 0, no retry, no dead letter"
        );
    }
}

#[test]
fn a_retry_keeps_its_item_pending_while_it_is_in_flight() {
    let pending = Arc::new(Pending::new());
    pending.add(1);
    // A rendezvous retry lane: the send completes only when this test's thread
    // takes the retry, so it sees the count exactly as it is while the retry is
    // in flight.
    let (retries, retry_lane) = bounded::<Item>(0);
    let (dead, dead_letters) = unbounded::<DeadLetter>();
    let watcher = {
        let pending = Arc::clone(&pending);
        thread::spawn(move || {
            let retry = retry_lane.recv_timeout(lesson_support::BUDGET);
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
        "while the retry was in flight the count was 0, so a wait() could have returned with \
         work still to do: a retried item stays pending — do not call done() for it"
    );
    assert!(
        count_in_flight == 1,
        "while the retry was in flight the count was {count_in_flight}, not 1: the item was \
         counted again, so the count never gets back to zero and wait() never returns — the \
         retry keeps the item's one place in the count; do not add() for it"
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
    // A rendezvous dead-letter channel: the send completes only when this test
    // takes the letter, so until then the item must still be pending.
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
        "the item was done before its dead letter was sent: a wait() could return and the run \
         read the dead letters with this one still missing. Send the dead letter first, then \
         done()"
    );
    let letter = dead_letters.recv_timeout(lesson_support::BUDGET);
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

// --- The run ------------------------------------------------------------------

#[test]
fn every_item_is_completed_or_dead_exactly_as_the_seed_says() {
    let (seed, rate, max_retries) = (0, 0.5, 2);
    let expected = expected_report(seed, 401, rate, max_retries);
    // The scenario is what it says: at a failure rate of 0.5 about one item in
    // eight fails all 3 attempts (50 of 401, give or take 4 standard
    // deviations), and about 1.75 attempts are made per item.
    let dead = expected.dead_letters.len();
    assert!(
        (24..=76).contains(&dead) && (600..=800).contains(&expected.attempts),
        "the kit's `fails` no longer fails at the rate it is given: {dead} of 401 items would die \
         after {} attempts (the kit's fault, not yours)",
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
    // 8 items that fail 6 times (2 ms each) and succeed on their 7th attempt:
    // most attempts are retries, made long after the producer is done.
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
        "with 3 workers, 3 items should be tried at the same time, but at most {} were: start \
         `workers` threads — no more, no fewer — before producing",
        overlap.most()
    );
}

#[test]
fn every_item_is_counted_before_a_worker_can_finish_it() {
    // Instant jobs and many items: a worker finishes an item as soon as it is
    // sent. Counted only after the send, it is done before it was added.
    let report = finishes(
        "run_with_retries(3000 items, 2 workers, an instant job)",
        HUNG_RUN,
        || run_with_retries(3000, 2, 1, Arc::new(|_| Ok(()))),
    );
    assert_eq!(report.completed, 3000, "3000 instant successes");
}

#[test]
fn every_interleaving_of_pending_is_right() {
    // The scenarios are in tests/model.rs; loom tries each one under every
    // order in which its threads can take turns.
    lesson_support::run_models!();
}
