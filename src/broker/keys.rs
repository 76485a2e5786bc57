//! The names, in Redis, of everything one run uses. Each run has its own, so
//! runs never see each other's items, and the run deletes them all at its end.

use serde::Serialize;

/// The keys of run `run_id`, all under `queue-sim:RUN:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
        let key = |what: &str| format!("queue-sim:{run_id}:{what}");
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
