//! Lesson 01 — each test names one behaviour; read the failing one's message.
//!
//! The numbers are chosen so that the plausible wrong formulas give different
//! answers: averages that are not whole numbers, more items produced than
//! finished, a queue that peaked below the number of items.

use lesson_01::{SimulationStats, TaskStatus, WorkItem, WorkResult};
use lesson_support::finishes;
use serde_json::json;

/// Runs a call into the lesson under the watchdog: nothing here waits, so a
/// call that does not return at once is a loop that never ends.
#[track_caller]
fn call<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    finishes(
        what,
        "nothing in this lesson waits: look for a loop that never ends",
        work,
    )
}

#[track_caller]
fn item(index: u64) -> WorkItem {
    call("WorkItem::new", move || WorkItem::new(index))
}

#[track_caller]
fn completed(index: u64, worker: &'static str, ms: f64) -> WorkResult {
    call("WorkResult::completed", move || {
        WorkResult::completed(&WorkItem::new(index), worker, ms)
    })
}

#[track_caller]
fn failed(index: u64, worker: &'static str, ms: f64, error: &'static str) -> WorkResult {
    call("WorkResult::failed", move || {
        WorkResult::failed(&WorkItem::new(index), worker, ms, error)
    })
}

/// Statistics after producing items at `depths` and recording `results`.
#[track_caller]
fn stats_after(depths: &[usize], results: &[WorkResult]) -> SimulationStats {
    let (depths, results) = (depths.to_vec(), results.to_vec());
    call("record_produced / record", move || {
        let mut stats = SimulationStats::default();
        for depth in depths {
            stats.record_produced(depth);
        }
        for result in &results {
            stats.record(result);
        }
        stats
    })
}

#[track_caller]
fn average(stats: &SimulationStats) -> f64 {
    let stats = stats.clone();
    call("avg_processing_ms", move || stats.avg_processing_ms())
}

#[track_caller]
fn json_of(stats: &SimulationStats) -> serde_json::Value {
    let stats = stats.clone();
    call("to_json", move || stats.to_json())
}

#[test]
fn task_ids_are_padded_to_four_digits() {
    assert_eq!(
        item(7).task_id,
        "task-0007",
        "ids pad to four digits with zeros, so they sort as text"
    );
    assert_eq!(item(123).task_id, "task-0123");
    assert_eq!(item(0).task_id, "task-0000");
    assert_eq!(
        item(12_345).task_id,
        "task-12345",
        "longer numbers are not cut"
    );
    assert_eq!(item(7).payload, 7, "the payload is the item's number");
}

#[test]
fn a_completed_result_has_no_error() {
    let result = completed(3, "worker-2", 12.5);
    let expected = WorkResult {
        task_id: "task-0003".into(),
        status: TaskStatus::Completed,
        duration_ms: 12.5,
        worker_id: "worker-2".into(),
        error: None,
    };
    assert_eq!(
        result, expected,
        "every field from the arguments; a completed item has error None (not Some(\"\"))"
    );
}

#[test]
fn a_failed_result_keeps_its_error() {
    let result = failed(2, "worker-1", 4.25, "disk full");
    let expected = WorkResult {
        task_id: "task-0002".into(),
        status: TaskStatus::Failed,
        duration_ms: 4.25,
        worker_id: "worker-1".into(),
        error: Some("disk full".into()),
    };
    assert_eq!(
        result, expected,
        "a failed result is Failed, keeps its reason — what an operator needs most — and every other field"
    );
}

#[test]
fn results_serialize_as_the_report_shows_them() {
    assert_eq!(
        serde_json::to_value(failed(2, "worker-1", 4.0, "disk full")).unwrap(),
        json!({"task_id": "task-0002", "status": "failed", "duration_ms": 4.0, "worker_id": "worker-1", "error": "disk full"})
    );
    let ok = serde_json::to_value(completed(1, "worker-0", 1.0)).unwrap();
    assert!(
        ok.get("error").is_none(),
        "a completed result has no \"error\" key: {ok}"
    );
}

#[test]
fn record_counts_completed_and_failed_apart() {
    let stats = stats_after(
        &[],
        &[
            completed(1, "worker-0", 1.0),
            failed(2, "worker-1", 1.0, "disk full"),
            completed(3, "worker-0", 1.0),
        ],
    );
    assert_eq!(
        (stats.consumed, stats.failed),
        (2, 1),
        "2 completed and 1 failed were recorded: a failure is not consumed"
    );
    assert_eq!(stats.produced, 0, "record() counts results, not production");
}

#[test]
fn produced_items_raise_the_peak_queue_depth() {
    let stats = stats_after(&[1, 4, 2, 0, 3], &[]);
    assert_eq!(stats.produced, 5, "five record_produced calls");
    assert_eq!(
        stats.max_queue_depth, 4,
        "the depths after each put were 1, 4, 2, 0, 3: keep the peak — not the last depth, not the number produced"
    );
}

#[test]
fn the_total_and_average_count_only_completed_items() {
    let stats = stats_after(
        &[],
        &[
            completed(1, "worker-0", 10.25),
            failed(2, "worker-1", 1_000.0, "timeout"),
            completed(3, "worker-1", 20.5),
            completed(4, "worker-0", 13.0),
        ],
    );
    assert_eq!(
        stats.total_processing_ms, 43.75,
        "three items completed in 10.25, 20.5 and 13 ms: the total is theirs alone, to the fraction — the \
         failure's 1000 ms does not count, and nothing is rounded"
    );
    let avg = average(&stats);
    assert!(
        (avg - 43.75 / 3.0).abs() < 1e-9,
        "the average of 10.25, 20.5 and 13 ms is 14.583…; got {avg}. Divide the completed items' total by \
         the number completed, in floating point (not by the failures too, not in whole milliseconds)"
    );
}

#[test]
fn an_empty_average_is_zero_not_nan() {
    let avg = average(&SimulationStats::default());
    assert_eq!(
        avg, 0.0,
        "nothing completed yet: 0/0 is NaN in floating point, and NaN is not valid JSON — got {avg}"
    );
    let only_failures = stats_after(&[1, 1], &[failed(2, "worker-1", 5.0, "disk full")]);
    let avg = average(&only_failures);
    assert_eq!(
        avg, 0.0,
        "items were produced and one failed, but none completed: still no average — got {avg}"
    );
}

#[test]
fn json_uses_the_documented_field_names() {
    // 6 produced, 2 completed, 1 failed (3 still in flight); the queue peaked at 3.
    let stats = stats_after(
        &[1, 3, 2, 2, 1, 0],
        &[
            completed(1, "worker-0", 2.5),
            failed(2, "worker-1", 9.0, "disk full"),
            completed(3, "worker-1", 4.0),
        ],
    );
    assert_eq!(
        json_of(&stats),
        json!({"produced": 6, "consumed": 2, "failed": 1, "avg_processing_ms": 3.25, "max_queue_depth": 3}),
        "scripts read these exact names; each value is its own field — produced is counted, not \
         consumed + failed; avg_processing_ms is the average (3.25), not the total (6.5), not rounded"
    );
}

#[test]
fn empty_statistics_are_valid_json() {
    assert_eq!(
        json_of(&SimulationStats::default()),
        json!({"produced": 0, "consumed": 0, "failed": 0, "avg_processing_ms": 0.0, "max_queue_depth": 0}),
        "with nothing recorded every field is 0 — and the average 0.0, not NaN (which JSON cannot hold)"
    );
}
