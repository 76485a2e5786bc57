//! # Lesson 01 — Work items, results and statistics
//!
//! Before any thread starts, decide what travels through the queue and what
//! comes back. Read the book's chapter "01 · Work items"
//! (`book/src/lessons/01-work-items.md`), then replace each `todo!()` below and
//! run `cargo test -p lesson-01` until it is green.

// The starter only (the solution has no such line): while the bodies are
// todo!(), their parameters, imports and fields go unused.
#![allow(unused_variables, unused_imports, unused_mut, dead_code)]

use serde::Serialize;

/// One unit of work a producer hands to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// Readable id such as `task-0007`.
    pub task_id: String,
    /// What to work on; here simply the item's number.
    pub payload: u64,
}

// ANCHOR: work_item_new
impl WorkItem {
    /// Item number `index`: its id is `task-` and the number padded to four
    /// digits (`task-0007`, `task-0123`, `task-12345`); its payload is `index`.
    pub fn new(index: u64) -> Self {
        todo!("build the id with format! — book chapter 01, \"Work items\"")
    }
}
// ANCHOR_END: work_item_new

/// How a work item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Processed successfully.
    Completed,
    /// Processing failed.
    Failed,
}

/// What a consumer reports for one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkResult {
    /// The item's id.
    pub task_id: String,
    /// How it ended.
    pub status: TaskStatus,
    /// How long processing took, in milliseconds.
    pub duration_ms: f64,
    /// Which consumer processed it, e.g. `worker-2`.
    pub worker_id: String,
    /// Why it failed; `None` for a completed item (and then left out of the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

// ANCHOR: work_result
impl WorkResult {
    /// The result of `item`, processed successfully by `worker_id` in `duration_ms`.
    pub fn completed(item: &WorkItem, worker_id: &str, duration_ms: f64) -> Self {
        todo!("fill every field; a completed item has no error — book chapter 01, \"Results\"")
    }

    /// The result of `item`, failed with `error` after `duration_ms`.
    pub fn failed(item: &WorkItem, worker_id: &str, duration_ms: f64, error: &str) -> Self {
        todo!("like completed(), but Failed and with the error kept — book chapter 01, \"Results\"")
    }
}
// ANCHOR_END: work_result

/// Running totals of a simulation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulationStats {
    /// Items the producer put into the queue.
    pub produced: u64,
    /// Items processed successfully.
    pub consumed: u64,
    /// Items whose processing failed.
    pub failed: u64,
    /// Summed processing time of the *completed* items, in milliseconds.
    pub total_processing_ms: f64,
    /// The most items ever waiting in the queue at once.
    pub max_queue_depth: usize,
}

// ANCHOR: stats
impl SimulationStats {
    /// Counts one produced item; `queue_depth` is the queue's length just after the put.
    pub fn record_produced(&mut self, queue_depth: usize) {
        todo!("count it, and keep the deepest queue seen — book chapter 01, \"Statistics\"")
    }

    /// Counts one result: completed or failed.
    pub fn record(&mut self, result: &WorkResult) {
        todo!(
            "count by status; which durations belong in the total? — book chapter 01, \"Statistics\""
        )
    }

    /// Mean processing time of the completed items, in milliseconds; 0 when there are none.
    pub fn avg_processing_ms(&self) -> f64 {
        todo!("mind the empty case — book chapter 01, \"Averages\"")
    }

    /// The statistics as the simulator's JSON: `produced`, `consumed`, `failed`,
    /// `avg_processing_ms` and `max_queue_depth`, named exactly so.
    pub fn to_json(&self) -> serde_json::Value {
        todo!("serde_json::json! or a #[derive(Serialize)] struct — book chapter 01, \"JSON\"")
    }
}
// ANCHOR_END: stats
