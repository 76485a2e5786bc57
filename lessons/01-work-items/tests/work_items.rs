//! Lesson 01 — each test names one behaviour; read the failing one's message.

use lesson_01::{SimulationStats, TaskStatus, WorkItem, WorkResult};
use serde_json::json;

fn completed(ms: f64) -> WorkResult {
    WorkResult::completed(&WorkItem::new(1), "worker-0", ms)
}

fn failed(ms: f64) -> WorkResult {
    WorkResult::failed(&WorkItem::new(2), "worker-1", ms, "disk full")
}

#[test]
fn task_ids_are_padded_to_four_digits() {
    assert_eq!(
        WorkItem::new(7).task_id,
        "task-0007",
        "ids pad to four digits so they sort as text"
    );
    assert_eq!(WorkItem::new(123).task_id, "task-0123");
    assert_eq!(
        WorkItem::new(12_345).task_id,
        "task-12345",
        "longer numbers are not cut"
    );
    assert_eq!(
        WorkItem::new(7).payload,
        7,
        "the payload is the item's number"
    );
}

#[test]
fn a_completed_result_has_no_error() {
    let result = WorkResult::completed(&WorkItem::new(3), "worker-2", 12.5);
    let expected = WorkResult {
        task_id: "task-0003".into(),
        status: TaskStatus::Completed,
        duration_ms: 12.5,
        worker_id: "worker-2".into(),
        error: None,
    };
    assert_eq!(result, expected);
}

#[test]
fn a_failed_result_keeps_its_error() {
    let result = failed(4.0);
    assert_eq!(result.status, TaskStatus::Failed);
    assert_eq!(
        result.error.as_deref(),
        Some("disk full"),
        "the reason is what an operator needs most"
    );
    assert_eq!(
        (
            result.task_id.as_str(),
            result.worker_id.as_str(),
            result.duration_ms
        ),
        ("task-0002", "worker-1", 4.0)
    );
}

#[test]
fn results_serialize_as_the_report_shows_them() {
    assert_eq!(
        serde_json::to_value(failed(4.0)).unwrap(),
        json!({"task_id": "task-0002", "status": "failed", "duration_ms": 4.0, "worker_id": "worker-1", "error": "disk full"})
    );
    let ok = serde_json::to_value(completed(1.0)).unwrap();
    assert!(
        ok.get("error").is_none(),
        "a completed result has no \"error\" key: {ok}"
    );
}

#[test]
fn record_counts_completed_and_failed_apart() {
    let mut stats = SimulationStats::default();
    for result in [completed(1.0), failed(1.0), completed(1.0)] {
        stats.record(&result);
    }
    assert_eq!(
        (stats.consumed, stats.failed),
        (2, 1),
        "2 completed and 1 failed were recorded"
    );
}

#[test]
fn produced_items_raise_the_peak_queue_depth() {
    let mut stats = SimulationStats::default();
    for depth in [1, 4, 2] {
        stats.record_produced(depth);
    }
    assert_eq!(stats.produced, 3);
    assert_eq!(
        stats.max_queue_depth, 4,
        "the peak, not the last depth seen"
    );
}

#[test]
fn the_average_counts_only_completed_items() {
    let mut stats = SimulationStats::default();
    stats.record(&completed(10.0));
    stats.record(&completed(20.0));
    stats.record(&failed(1_000.0));
    assert_eq!(
        stats.avg_processing_ms(),
        15.0,
        "two items completed in 10 and 20 ms: the failure's 1000 ms must not count towards the total or the divisor"
    );
}

#[test]
fn an_empty_average_is_zero_not_nan() {
    let avg = SimulationStats::default().avg_processing_ms();
    assert_eq!(
        avg, 0.0,
        "nothing completed yet: 0/0 is NaN in floating point, and NaN is not valid JSON — got {avg}"
    );
    let mut only_failures = SimulationStats::default();
    only_failures.record(&failed(5.0));
    assert_eq!(
        only_failures.avg_processing_ms(),
        0.0,
        "failures alone give no average"
    );
}

#[test]
fn json_uses_the_documented_field_names() {
    let mut stats = SimulationStats::default();
    stats.record_produced(2);
    stats.record_produced(1);
    stats.record(&completed(3.0));
    stats.record(&failed(9.0));
    assert_eq!(
        stats.to_json(),
        json!({"produced": 2, "consumed": 1, "failed": 1, "avg_processing_ms": 3.0, "max_queue_depth": 2}),
        "scripts read these exact names"
    );
}
