//! # Lesson 01 — Work items, results and statistics
//!
//! Before any thread starts, decide what travels through the queue and what
//! comes back. Read the book's chapter "01 · Work items"
//! (`book/src/lessons/01-work-items.md`), then replace each `todo!()` below and
//! run `cargo test -p lesson-01` until it is green.

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
        WorkItem {
            task_id: format!("task-{index:04}"),
            payload: index,
        }
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
        WorkResult {
            task_id: item.task_id.clone(),
            status: TaskStatus::Completed,
            duration_ms,
            worker_id: worker_id.to_string(),
            error: None,
        }
    }

    /// The result of `item`, failed with `error` after `duration_ms`.
    pub fn failed(item: &WorkItem, worker_id: &str, duration_ms: f64, error: &str) -> Self {
        WorkResult {
            status: TaskStatus::Failed,
            error: Some(error.to_string()),
            ..WorkResult::completed(item, worker_id, duration_ms)
        }
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
        self.produced += 1;
        self.max_queue_depth = queue_depth;
    }

    /// Counts one result: completed or failed.
    pub fn record(&mut self, result: &WorkResult) {
        match result.status {
            TaskStatus::Completed => {
                self.consumed += 1;
                // Only completed work goes into the average: a failure may have
                // stopped early (or hung for ages) and says nothing about the work.
                self.total_processing_ms += result.duration_ms;
            }
            TaskStatus::Failed => self.failed += 1,
        }
    }

    /// Mean processing time of the completed items, in milliseconds; 0 when there are none.
    pub fn avg_processing_ms(&self) -> f64 {
        if self.consumed == 0 {
            0.0
        } else {
            self.total_processing_ms / self.consumed as f64
        }
    }

    /// The statistics as the simulator's JSON: `produced`, `consumed`, `failed`,
    /// `avg_processing_ms` and `max_queue_depth`, named exactly so.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "produced": self.produced,
            "consumed": self.consumed,
            "failed": self.failed,
            "avg_processing_ms": self.avg_processing_ms(),
            "max_queue_depth": self.max_queue_depth,
        })
    }
}
// ANCHOR_END: stats
