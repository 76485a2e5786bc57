//! Lesson 05 — failures that are reproducible, contained and counted once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;

use lesson_05::{Job, fails, flaky_job, run_one, run_pool};
use lesson_support::finishes;

const DEAD_WORKER: &str = "a worker whose job panicked died, and nobody took the rest of the items: \
     catch the panic in run_one (std::panic::catch_unwind) so the worker goes on";

fn failing_ids(seed: u64, rate: f64, ids: impl Iterator<Item = u64>) -> BTreeSet<u64> {
    ids.filter(|&id| fails(seed, id, rate)).collect()
}

#[test]
fn the_same_seed_fails_the_same_items_in_any_order_and_thread() {
    let forwards = failing_ids(7, 0.3, 0..500);
    let backwards = failing_ids(7, 0.3, (0..500).rev());
    let elsewhere = thread::spawn(|| failing_ids(7, 0.3, 0..500))
        .join()
        .unwrap();
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
fn the_number_of_failures_follows_the_rate() {
    // Binomial(10000, 0.1): mean 1000, standard deviation 30. Allow 5 of them.
    let failed = failing_ids(42, 0.1, 0..10_000).len();
    assert!(
        (850..=1150).contains(&failed),
        "{failed} of 10000 items failed at rate 0.1; expected about 1000"
    );
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
    assert_eq!(run_one(&job, 1), Err("disk full".to_string()));
    let ok: Job = Arc::new(|_| Ok(()));
    assert_eq!(run_one(&ok, 1), Ok(()));
}

#[test]
fn a_panic_becomes_an_error_with_its_message() {
    let job: Job = Arc::new(|id| panic!("cannot handle item {id}"));
    let outcome = finishes("run_one with a panicking job", "none expected", move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&job, 4)))
    });
    match outcome {
        Ok(result) => assert_eq!(result, Err("panicked: cannot handle item 4".to_string())),
        Err(_) => panic!("the job's panic escaped run_one: catch it with std::panic::catch_unwind"),
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
    let report = finishes(
        "run_pool(100 items, 1 consumer) with panicking jobs",
        DEAD_WORKER,
        move || run_pool(100, 1, job),
    );
    assert_eq!(
        (report.completed, report.failed),
        (90, 10),
        "90 items succeed and 10 panic"
    );
}

#[test]
fn completed_plus_failed_equals_produced() {
    let report = finishes("run_pool(500 items, 4 consumers)", DEAD_WORKER, || {
        run_pool(500, 4, flaky_job(11, 0.3))
    });
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
    let report = finishes("run_pool(200 items, 3 consumers)", DEAD_WORKER, || {
        run_pool(200, 3, flaky_job(5, 0.2))
    });
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
