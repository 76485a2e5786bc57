//! Lesson 05 — failures that are reproducible, contained and counted once.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use lesson_05::{Job, Report, fails, flaky_job, run_one, run_pool};
use lesson_support::{Overlap, finishes};

const DEAD_WORKER: &str = "a worker whose job panicked died, and nobody took the rest of the items: \
     catch the panic in run_one (std::panic::catch_unwind) so the worker goes on";

/// The ids among `ids` that `fails` says fail, asked under the watchdog.
#[track_caller]
fn failing_ids(
    seed: u64,
    rate: f64,
    ids: impl Iterator<Item = u64> + Send + 'static,
) -> BTreeSet<u64> {
    finishes(
        &format!("fails(seed {seed}, …, rate {rate})"),
        "fails only draws one number: it has nothing to wait for (a lock held elsewhere?)",
        move || ids.filter(|&id| fails(seed, id, rate)).collect(),
    )
}

/// `run_one(job, id)` under the watchdog; a panic that escapes it is reported
/// as such.
#[track_caller]
fn run_one_watched(job: Job, id: u64) -> Result<(), String> {
    let outcome = finishes("run_one", "run_one runs one job once", move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&job, id)))
    });
    outcome.unwrap_or_else(|_| {
        panic!("the job's panic escaped run_one: catch it with std::panic::catch_unwind")
    })
}

/// `run_pool(items, consumers, job)` under the watchdog.
#[track_caller]
fn pool(items: u64, consumers: usize, job: Job) -> Report {
    finishes(
        &format!("run_pool({items} items, {consumers} consumers)"),
        DEAD_WORKER,
        move || run_pool(items, consumers, job),
    )
}

#[test]
fn the_same_seed_fails_the_same_items_in_any_order_and_thread() {
    let forwards = failing_ids(7, 0.3, 0..500);
    let backwards = failing_ids(7, 0.3, (0..500).rev());
    let elsewhere = failing_ids(7, 0.3, 0..500);
    assert!(
        !forwards.is_empty(),
        "at rate 0.3 some of 500 items must fail"
    );
    assert_eq!(
        forwards, backwards,
        "asking in another order changed which items fail: is the answer drawn from one shared stream?"
    );
    assert_eq!(
        forwards, elsewhere,
        "asking from another thread changed which items fail: is the generator seeded from (seed, id)?"
    );
}

#[test]
fn another_seed_fails_other_items() {
    assert_ne!(
        failing_ids(1, 0.3, 0..500),
        failing_ids(2, 0.3, 0..500),
        "the seed must matter"
    );
}

#[test]
fn neighbouring_seeds_fail_unrelated_items() {
    // `seed + id` makes seed 2 fail what seed 1 fails one id later; `seed ^ id`
    // makes it fail what seed 1 fails at id ^ 3. Either way two "different"
    // runs fail nearly the same items.
    let one = failing_ids(1, 0.3, 0..600);
    let two = failing_ids(2, 0.3, 0..500);
    let shifted: BTreeSet<u64> = one
        .iter()
        .filter(|&&id| id >= 1)
        .map(|id| id - 1)
        .filter(|&id| id < 500)
        .collect();
    let swapped: BTreeSet<u64> = one.iter().map(|id| id ^ 3).filter(|&id| id < 500).collect();
    for (relation, related) in [("one id later", &shifted), ("at id ^ 3", &swapped)] {
        let shared = two.intersection(related).count();
        assert!(
            shared * 2 < two.len(),
            "seed 2 fails {shared} of its {} items exactly where seed 1 fails {relation}: seed and id are \
             combined so that one seed is the other moved over. Mix the id first (multiply it by a large odd \
             constant) and then combine it with the seed",
            two.len()
        );
    }
    // `seed | id` makes seeds 0 and 1 agree on every odd id.
    let zero = failing_ids(0, 0.3, 0..500);
    let one = failing_ids(1, 0.3, 0..500);
    let shared = zero.intersection(&one).count();
    assert!(
        shared * 2 < zero.len(),
        "seeds 0 and 1 fail {shared} of seed 0's {} items at the very same ids: the seed barely changes the \
         generator's seed (is it combined with | or &?)",
        zero.len()
    );
}

#[test]
fn the_number_of_failures_follows_the_rate() {
    // Binomial(10000, 0.1): mean 1000, standard deviation 30. Allow 5 of them.
    // Seed 0 included: `seed * id` makes every id of seed 0 draw the same number.
    for seed in [0, 42] {
        let failed = failing_ids(seed, 0.1, 0..10_000).len();
        assert!(
            (850..=1150).contains(&failed),
            "with seed {seed}, {failed} of 10000 items failed at rate 0.1; expected about 1000"
        );
    }
}

#[test]
fn rates_of_zero_and_one_are_never_and_always() {
    assert!(
        failing_ids(3, 0.0, 0..1000).is_empty(),
        "rate 0 must never fail"
    );
    assert_eq!(
        failing_ids(3, 1.0, 0..1000).len(),
        1000,
        "rate 1 must always fail"
    );
}

#[test]
fn an_error_comes_back_as_it_is() {
    let job: Job = Arc::new(|_| Err("disk full".to_string()));
    assert_eq!(
        run_one_watched(job, 1),
        Err("disk full".to_string()),
        "a job's own error comes back unchanged"
    );
    let ok: Job = Arc::new(|_| Ok(()));
    assert_eq!(run_one_watched(ok, 1), Ok(()));
}

#[test]
fn a_panic_becomes_an_error_with_its_message() {
    // panic!("… {id}") carries a String; panic!("a literal") carries a &str.
    let job: Job = Arc::new(|id| panic!("cannot handle item {id}"));
    assert_eq!(
        run_one_watched(job, 4),
        Err("panicked: cannot handle item 4".to_string()),
        "a panic with a formatted message (a String payload)"
    );
    let job: Job = Arc::new(|_| panic!("out of paper"));
    assert_eq!(
        run_one_watched(job, 4),
        Err("panicked: out of paper".to_string()),
        "a panic with a literal message carries a &'static str, not a String: read both"
    );
}

#[test]
fn run_one_runs_the_job_once() {
    for outcome in ["ok", "error", "panic"] {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        let job: Job = Arc::new(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            match outcome {
                "ok" => Ok(()),
                "error" => Err("no".to_string()),
                _ => panic!("no"),
            }
        });
        let _ = run_one_watched(job, 0);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "run_one ran a job that ends with {outcome:?} more than once: call it once, inside catch_unwind, \
             and use that one result — a job may send an email or charge a card"
        );
    }
}

#[test]
fn a_panicking_job_does_not_stop_its_worker() {
    // One worker: if it dies, nobody takes the remaining items.
    let job: Job = Arc::new(|id| {
        if id % 10 == 3 {
            panic!("item {id} is cursed")
        } else {
            Ok(())
        }
    });
    let report = pool(100, 1, job);
    assert_eq!(
        (report.completed, report.failed),
        (90, 10),
        "90 items succeed and 10 panic"
    );
}

#[test]
fn completed_plus_failed_equals_produced() {
    let report = pool(500, 4, flaky_job(11, 0.3));
    let expected = failing_ids(11, 0.3, 0..500).len() as u64;
    assert_eq!(
        report.failed, expected,
        "the seed says {expected} items fail; each failure is counted once"
    );
    assert_eq!(
        report.completed + report.failed,
        500,
        "every produced item is completed or failed, once"
    );
}

#[test]
fn each_failure_names_its_item_and_reason() {
    let report = pool(200, 3, flaky_job(5, 0.2));
    let ids: Vec<u64> = report.errors.iter().map(|(id, _)| *id).collect();
    let expected: Vec<u64> = failing_ids(5, 0.2, 0..200).into_iter().collect();
    assert_eq!(
        ids, expected,
        "errors lists every failed item once, sorted by item"
    );
    assert!(
        report
            .errors
            .iter()
            .all(|(id, why)| why == &format!("item {id} failed")),
        "each error keeps the job's message"
    );
}

#[test]
fn every_consumer_asked_for_runs_jobs_at_the_same_time() {
    // The first 3 jobs wait (up to 3 s) until 3 are running at once (lesson_support::Overlap).
    const CONSUMERS: usize = 3;
    let overlap = Arc::new(Overlap::new(CONSUMERS));
    let inside = Arc::clone(&overlap);
    let job: Job = Arc::new(move |_| {
        inside.work();
        Ok(())
    });
    let report = pool(10, CONSUMERS, job);
    let most = overlap.most();
    assert_eq!(
        most, CONSUMERS,
        "at most {most} jobs ran at once with {CONSUMERS} consumers asked for: start exactly `consumers` \
         threads, all taking from the one queue"
    );
    assert_eq!((report.completed, report.failed), (10, 0));
}

#[test]
fn every_workers_failures_are_merged_and_sorted_by_item() {
    // Items 0, 3, 6, 9 and 12 fail (6 by panicking). The worker that takes
    // item 0 holds it until the other has done 7 items (3 and 6 among them);
    // then the other waits at its next item from 8 on until the first has
    // failed 9 or 12. So each worker ends with failures below and above the
    // other's: merged worker by worker, the list is out of order whichever
    // worker is joined first — in every run.
    #[derive(Default)]
    struct Turns {
        first: Option<ThreadId>,
        done_by_other: u64,
        first_failed_late: bool,
    }
    let turns = Arc::new((Mutex::new(Turns::default()), Condvar::new()));
    let job: Job = Arc::new(move |id| {
        let (state, changed) = &*turns;
        let me = thread::current().id();
        let mut state = state.lock().unwrap();
        if id == 0 {
            state.first = Some(me);
            state = changed
                .wait_timeout_while(state, Duration::from_secs(3), |s| s.done_by_other < 7)
                .unwrap()
                .0;
        } else if id >= 8 && state.first != Some(me) {
            state = changed
                .wait_timeout_while(state, Duration::from_secs(3), |s| !s.first_failed_late)
                .unwrap()
                .0;
        }
        if state.first == Some(me) {
            state.first_failed_late |= id >= 9 && id % 3 == 0;
        } else {
            state.done_by_other += 1;
        }
        changed.notify_all();
        drop(state); // a panic below must not poison the lock
        match id {
            6 => panic!("item 6 jammed"),
            _ if id % 3 == 0 => Err(format!("item {id} is a multiple of 3")),
            _ => Ok(()),
        }
    });
    let report = pool(14, 2, job);
    let expected: Vec<(u64, String)> = (0..14)
        .filter(|id| id % 3 == 0)
        .map(|id| {
            let why = if id == 6 {
                "panicked: item 6 jammed".to_string()
            } else {
                format!("item {id} is a multiple of 3")
            };
            (id, why)
        })
        .collect();
    assert_eq!(
        report.errors, expected,
        "errors lists every failed item once — from every worker, a panic as \"panicked: …\" — sorted by item \
         after merging"
    );
    assert_eq!(
        (report.completed, report.failed),
        (9, 5),
        "9 items succeed, 4 fail with an error and 1 panics: each counted once"
    );
}
