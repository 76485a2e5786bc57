//! Lesson 10 — retries that end, dead letters that keep their error, and a wait
//! that returns when, and only when, every item is settled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use lesson_10::{
    DeadLetter, Item, Job, Pending, Settled, fails, flaky_job, run_with_retries, settle,
};
use lesson_support::{Log, assert_each_exactly_once, finishes};

const HUNG_RUN: &str = "the run never ended. Either an item is retried for ever (is the number of \
     attempts bounded by max_retries?), or the workers never see the queue close (does the run \
     wait for Pending to reach zero and then drop its Sender, and does anything else still hold one?)";

/// What the seed says becomes of item `id`: `(attempts, dead)`.
fn fate(seed: u64, id: u64, rate: f64, max_retries: u32) -> (u32, bool) {
    for attempt in 1..=max_retries + 1 {
        if !fails(seed, id, attempt, rate) {
            return (attempt, false);
        }
    }
    (max_retries + 1, true)
}

#[test]
fn waiting_with_nothing_pending_returns_at_once() {
    finishes(
        "Pending::new().wait()",
        "wait must not block when the count is already zero: check the count before waiting",
        || Pending::new().wait(),
    );
}

#[test]
fn wait_blocks_until_every_item_is_done_then_wakes_every_waiter() {
    let pending = Arc::new(Pending::new());
    pending.add(3);
    assert_eq!(pending.count(), 3, "add(3) makes three pending");
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pending = Arc::clone(&pending);
            thread::spawn(move || pending.wait())
        })
        .collect();
    pending.done();
    pending.done();
    thread::sleep(Duration::from_millis(50));
    assert!(
        waiters.iter().all(|w| !w.is_finished()),
        "wait returned with 1 item still pending: it must loop until the count is zero \
         (`while *count > 0`), not return after the first wake-up"
    );
    pending.done();
    let waited = Instant::now();
    while waiters.iter().any(|w| !w.is_finished()) {
        let asleep = waiters.iter().filter(|w| !w.is_finished()).count();
        assert!(
            waited.elapsed() < lesson_support::BUDGET,
            "{asleep} of 3 waiters still asleep after the last done(): when the count reaches \
             zero, wake every waiter (notify_all), not one"
        );
        thread::sleep(Duration::from_millis(1));
    }
    for waiter in waiters {
        waiter.join().expect("a waiter panicked");
    }
    assert_eq!(pending.count(), 0);
}

#[test]
#[should_panic(expected = "Pending::done called more often than add")]
fn done_without_add_is_a_bug_and_says_so() {
    Pending::new().done();
}

#[test]
fn wait_timeout_gives_up_and_says_so() {
    let pending = Pending::new();
    pending.add(1);
    let started = Instant::now();
    assert!(
        !pending.wait_timeout(Duration::from_millis(50)),
        "wait_timeout returned true with an item still pending"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "wait_timeout gave up after {:?}, before its 50 ms",
        started.elapsed()
    );
    pending.done();
    assert!(
        pending.wait_timeout(Duration::from_millis(50)),
        "wait_timeout returned false with nothing pending"
    );
}

#[test]
fn a_retry_keeps_its_item_pending_until_it_is_settled() {
    let pending = Arc::new(Pending::new());
    pending.add(1);
    // A rendezvous retry lane: the send completes only when this test's thread
    // takes the retry, so it sees the count exactly as it is while the retry is
    // in flight.
    let (retries, retry_inbox) = bounded::<Item>(0);
    let (dead, dead_inbox) = unbounded::<DeadLetter>();
    let watcher = {
        let pending = Arc::clone(&pending);
        thread::spawn(move || {
            let retry = retry_inbox.recv_timeout(lesson_support::BUDGET);
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
    let (retry, count_in_flight) = watcher.join().expect("the watcher panicked");
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
    assert_eq!(pending.count(), 1, "the retried item is still pending");
    assert!(dead_inbox.try_recv().is_err(), "a retried item is not dead");
}

#[test]
fn success_is_done_and_the_last_failure_is_a_dead_letter() {
    let pending = Pending::new();
    pending.add(2);
    let (retries, retry_inbox) = unbounded::<Item>();
    let (dead, dead_inbox) = unbounded::<DeadLetter>();
    let ok = Item { id: 1, attempts: 2 };
    assert_eq!(
        settle(ok, Ok(()), 2, &pending, &retries, &dead),
        Settled::Completed
    );
    assert_eq!(pending.count(), 1, "a completed item is done");
    let last = Item { id: 2, attempts: 3 };
    assert_eq!(
        settle(last, Err("disk full".into()), 2, &pending, &retries, &dead),
        Settled::DeadLettered,
        "attempt 3 is the last one max_retries 2 allows (1 try + 2 retries)"
    );
    assert_eq!(pending.count(), 0, "a dead-lettered item is done too");
    assert_eq!(
        dead_inbox.try_recv().ok(),
        Some(DeadLetter {
            id: 2,
            attempts: 3,
            error: "disk full".into()
        }),
        "the dead letter keeps the item, its attempts and its last error"
    );
    assert!(
        retry_inbox.try_recv().is_err(),
        "nothing is retried past max_retries"
    );
}

#[test]
fn every_item_is_completed_or_dead_exactly_as_the_seed_says() {
    let (seed, rate, max_retries) = (21, 0.5, 2);
    let report = finishes(
        "run_with_retries(400 items, 4 workers, 2 retries, failure rate 0.5)",
        HUNG_RUN,
        move || run_with_retries(400, 4, max_retries, flaky_job(seed, rate)),
    );
    let fates: Vec<(u32, bool)> = (0..400)
        .map(|id| fate(seed, id, rate, max_retries))
        .collect();
    let dead: Vec<u64> = (0..400).filter(|&id| fates[id as usize].1).collect();
    let attempts: u64 = fates.iter().map(|(a, _)| u64::from(*a)).sum();
    assert_eq!(
        report.produced, 400,
        "produced counts items, once each: a retry is not a new item"
    );
    assert_eq!(
        report.completed + report.dead_letters.len() as u64,
        400,
        "completed {} + dead {} must equal the 400 produced: an item was lost or counted twice",
        report.completed,
        report.dead_letters.len()
    );
    let dead_ids: Vec<u64> = report.dead_letters.iter().map(|d| d.id).collect();
    assert_eq!(
        dead_ids, dead,
        "the dead letters are exactly the items whose 3 attempts all failed, sorted by id"
    );
    assert!(
        report
            .dead_letters
            .iter()
            .all(|d| d.attempts == 3 && d.error == format!("item {} failed on attempt 3", d.id)),
        "each dead letter has made 3 attempts and keeps its last error"
    );
    assert_eq!(
        report.attempts, attempts,
        "the seed says {attempts} attempts in all (400 first tries + the retries)"
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
        "run_with_retries(300 items, 3 workers, 5 retries, failure rate 0.3)",
        HUNG_RUN,
        move || run_with_retries(300, 3, 5, job),
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
    assert_eq!(report.completed, succeeded.len() as u64);
}

#[test]
fn a_job_that_always_fails_fills_the_dead_letters_and_the_run_still_ends() {
    let calls = Arc::new(AtomicU64::new(0));
    let job: Job = {
        let calls = Arc::clone(&calls);
        Arc::new(move |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            Err("always".into())
        })
    };
    let report = finishes(
        "run_with_retries(50 items, 2 workers, 3 retries, a job that always fails)",
        HUNG_RUN,
        move || run_with_retries(50, 2, 3, job),
    );
    assert_eq!(report.completed, 0);
    assert_eq!(
        report.dead_letters.len(),
        50,
        "every item must end in the dead letters"
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        200,
        "50 items x (1 try + 3 retries) = 200 attempts, no more"
    );
}
