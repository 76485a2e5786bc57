//! Work items, their final status and their results.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One unit of work, as it travels through the queue.
///
/// Small and `Copy` on purpose: producers create items lazily, one at a time, so
/// a run's memory does not grow with `--items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkItem {
    /// Unique id, 0-based; shown as `task-0007`.
    pub id: u64,
    /// Higher is served first by the priority queue; 0 when priorities are off.
    pub priority: u32,
    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub attempt: u32,
}

impl WorkItem {
    /// A fresh item on its first attempt.
    pub fn new(id: u64, priority: u32) -> Self {
        WorkItem {
            id,
            priority,
            attempt: 1,
        }
    }

    /// The same item, set up for its next attempt.
    pub fn retry(self) -> Self {
        WorkItem {
            attempt: self.attempt + 1,
            ..self
        }
    }

    /// The id as people read it.
    pub fn task_id(&self) -> TaskId {
        TaskId(self.id)
    }
}

/// An item id, displayed and serialized as `task-0007`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task-{:04}", self.0)
    }
}

impl Serialize for TaskId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TaskId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        numbered(deserializer, "task-").map(TaskId)
    }
}

/// A consumer's id, displayed and serialized as `worker-2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(pub usize);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker-{}", self.0)
    }
}

impl Serialize for WorkerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WorkerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        numbered(deserializer, "worker-").map(WorkerId)
    }
}

/// The number in an id written as `PREFIX` and a number (`task-0007`).
fn numbered<'de, D: Deserializer<'de>, N: std::str::FromStr>(
    deserializer: D,
    prefix: &str,
) -> Result<N, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.strip_prefix(prefix)
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not {prefix}NUMBER")))
}

/// How an item's life ended. Every produced item ends in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Processed successfully.
    Completed,
    /// Its last attempt failed and it was not retried: `--retries 0`, or the job panicked.
    Failed,
    /// It failed on every one of its `1 + retries` attempts and went to the dead-letter queue.
    DeadLettered,
    /// Never finished: still queued, or refused, when the run stopped early
    /// (every consumer timed out, or the run was interrupted).
    Unprocessed,
}

/// The final result of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkResult {
    /// Which item.
    pub task_id: TaskId,
    /// Its priority.
    pub priority: u32,
    /// How it ended.
    pub status: TaskStatus,
    /// The worker that ran its last attempt; `None` if it never ran.
    pub worker: Option<WorkerId>,
    /// Attempts made (0 if it never ran).
    pub attempts: u32,
    /// When its last attempt started, in milliseconds since the run started.
    pub started_ms: f64,
    /// Duration of its last attempt, in milliseconds.
    pub duration_ms: f64,
    /// Why its last attempt failed, if it did (a panic's message for a panicking job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl WorkResult {
    /// The result of an item that never ran to an end.
    pub fn unprocessed(item: &WorkItem) -> Self {
        WorkResult {
            task_id: item.task_id(),
            priority: item.priority,
            status: TaskStatus::Unprocessed,
            worker: None,
            attempts: item.attempt - 1,
            started_ms: 0.0,
            duration_ms: 0.0,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_like_the_seed_project() {
        assert_eq!(TaskId(7).to_string(), "task-0007");
        assert_eq!(TaskId(123_456).to_string(), "task-123456");
        assert_eq!(WorkerId(2).to_string(), "worker-2");
    }

    #[test]
    fn a_retry_is_the_same_item_one_attempt_later() {
        let item = WorkItem::new(3, 1).retry();
        assert_eq!((item.id, item.priority, item.attempt), (3, 1, 2));
    }

    #[test]
    fn results_serialize_with_readable_ids_and_snake_case_status() {
        let result = WorkResult {
            task_id: TaskId(1),
            priority: 0,
            status: TaskStatus::DeadLettered,
            worker: Some(WorkerId(0)),
            attempts: 3,
            started_ms: 0.25,
            duration_ms: 1.5,
            error: Some("simulated failure".into()),
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["task_id"], "task-0001");
        assert_eq!(json["status"], "dead_lettered");
        assert_eq!(json["worker"], "worker-0");
        assert_eq!(json["attempts"], 3);
        let unprocessed =
            serde_json::to_value(WorkResult::unprocessed(&WorkItem::new(9, 0))).unwrap();
        assert_eq!(unprocessed["worker"], serde_json::Value::Null);
        assert!(unprocessed.get("error").is_none());
    }
}
