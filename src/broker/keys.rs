//! The names, in Redis, of everything one run uses. Each run has its own, so
//! runs never see each other's items, and the run deletes them all at its end.

use serde::{Deserialize, Serialize};

/// The keys of run `run_id`, all under `queue-sim:RUN:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// The run's id.
    pub run_id: String,
    /// The stream of work items: entries not yet settled (waiting or pending).
    pub items: String,
    /// The consumer group every worker of the run reads through.
    pub group: String,
    /// The dead-letter stream: items that failed their last allowed delivery.
    pub dead: String,
    /// Set once every item is in the stream: the run's "close".
    #[serde(skip)]
    pub closed: String,
    /// The run's settings, for workers that join from another process.
    #[serde(skip)]
    pub settings: String,
    /// Counts kept by the broker: items settled each way, attempts, claims.
    #[serde(skip)]
    pub stats: String,
    /// The same counts per worker (`NAME:consumed` and so on).
    #[serde(skip)]
    pub workers: String,
}

impl Keys {
    /// The keys of run `run_id`.
    pub fn for_run(run_id: &str) -> Self {
        let prefix = Keys::prefix_of(run_id);
        let key = |what: &str| format!("{prefix}{what}");
        Keys {
            run_id: run_id.to_string(),
            items: key("items"),
            group: key("workers-group"),
            dead: key("dead"),
            closed: key("closed"),
            settings: key("settings"),
            stats: key("stats"),
            workers: key("workers"),
        }
    }

    /// A pattern (for KEYS or SCAN) matching every key under the run's
    /// prefix, the ones [`all`](Self::all) names and any other.
    pub fn pattern(&self) -> String {
        format!("{}*", self.prefix())
    }

    /// `queue-sim:RUN:`, the prefix of every key of the run.
    pub fn prefix(&self) -> String {
        Keys::prefix_of(&self.run_id)
    }

    fn prefix_of(run_id: &str) -> String {
        format!("queue-sim:{run_id}:")
    }

    /// Every key the run may have made, for cleaning up.
    pub fn all(&self) -> [&str; 6] {
        [
            &self.items,
            &self.dead,
            &self.closed,
            &self.settings,
            &self.stats,
            &self.workers,
        ]
    }
}

/// A worker's name in the run's consumer group: `queue-sim-N` for thread N
/// of the run's own process, `pidP-N` for thread N of worker process P
/// (`queue-sim worker`, or a process the run started).
pub fn worker_name(process: Option<u32>, thread: usize) -> String {
    match process {
        None => format!("queue-sim-{thread}"),
        Some(pid) => format!("pid{pid}-{thread}"),
    }
}

/// The fields of a run's counts (the `stats` key, a hash), written by the
/// workers — the settle script counts each item's end, the count script what
/// only a worker sees — and read by the run for its report. The Lua scripts'
/// own spellings are checked against these by a test of `scripts`.
pub mod fields {
    /// Items settled as consumed; also an outcome in the workers' counts.
    pub const CONSUMED: &str = "consumed";
    /// Items settled as failed (no retries, or a panic); also an outcome.
    pub const FAILED: &str = "failed";
    /// Items moved to the dead letters; also an outcome.
    pub const DEAD_LETTERED: &str = "dead_lettered";
    /// Milliseconds the successful attempts of consumed items took, summed.
    pub const PROCESSING_MS: &str = "processing_ms";
    /// Attempts run, over all workers.
    pub const ATTEMPTS: &str = "attempts";
    /// Of those, attempts that failed.
    pub const FAILED_ATTEMPTS: &str = "failed_attempts";
    /// Microseconds all attempts took, summed: the run's oversleep per attempt.
    pub const BUSY_US: &str = "busy_us";
    /// Failed deliveries claimed again for another try.
    pub const RETRIED: &str = "retried";
    /// Deliveries that were not an item's first.
    pub const REDELIVERED: &str = "redelivered";
    /// Entries reclaimed from a worker that held them too long.
    pub const RECLAIMED: &str = "reclaimed";

    /// The field of worker `name`'s count of `outcome` in the workers' hash.
    pub fn of_worker(name: &str, outcome: &str) -> String {
        format!("{name}:{outcome}")
    }
}

/// The fields of a stream entry: an item's number in the run's stream; in
/// the dead-letter stream, also its deliveries and its last error.
pub mod entry {
    /// The item's number.
    pub const ITEM: &str = "item";
    /// Deliveries the dead-lettered item had.
    pub const DELIVERIES: &str = "deliveries";
    /// The error of its last attempt.
    pub const ERROR: &str = "error";
}
