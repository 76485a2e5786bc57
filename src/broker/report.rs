//! What a run on a broker reports: the simulator's usual `config` and `stats`,
//! plus what only a broker has — deliveries after the first, reclaimed
//! entries, the dead letters, and where the run lived.

use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::stats::SimulationStats;

use super::keys::Keys;

/// The report of [`BrokerRun::drive`](super::BrokerRun::drive).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerReport {
    /// The run's settings.
    pub config: SimConfig,
    /// The run was stopped early by the user; `stats` covers what was done.
    pub interrupted: bool,
    /// The run's totals, counted by the broker as items were settled.
    pub stats: SimulationStats,
    /// What only a broker run has.
    pub broker: BrokerInfo,
    /// Each worker's settled items, as the broker counted them.
    pub workers: Vec<BrokerStats>,
}

impl BrokerReport {
    /// The accounting identity: every produced item ended exactly once.
    pub fn accounting_holds(&self) -> bool {
        self.stats.accounting_holds()
    }
}

/// Where a run lived, and what crossing a process boundary added.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrokerInfo {
    /// The broker's URL.
    pub url: String,
    /// The run's id and the names of its stream, group and dead-letter stream
    /// (deleted when the run ends).
    pub streams: Keys,
    /// Worker processes the run started (0: its workers were threads).
    pub consumer_processes: usize,
    /// Seconds an entry had to stay idle before another worker reclaimed it.
    pub claim_idle_s: f64,
    /// Attempts run, over all workers: an item processed twice counts twice.
    pub attempts: u64,
    /// Deliveries that were not an item's first: retries and reclaims.
    pub redelivered: u64,
    /// Entries reclaimed from a worker that held them past the claim time
    /// (crashed, hung or slow).
    pub reclaimed: u64,
    /// Items whose settle found another worker had settled them first: they
    /// were processed twice and counted once.
    pub processed_twice: u64,
    /// The dead-letter stream's entries (at most [`MAX_DEAD_LETTERS`] shown).
    pub dead_letters: Vec<DeadLetter>,
}

/// The most dead letters a report lists; `stats` counts them all.
pub const MAX_DEAD_LETTERS: usize = 100;

/// An item that ended in the dead-letter stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The item's id.
    pub item: u64,
    /// Deliveries it had.
    pub deliveries: u64,
    /// The error of its last attempt.
    pub error: String,
}

/// One worker's settled items, as the broker counted them (a killed worker's
/// counts survive it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerStats {
    /// The worker's name in the consumer group (`PROCESS-THREAD`).
    pub name: String,
    /// Items it settled as consumed.
    pub consumed: u64,
    /// Items it settled as failed.
    pub failed: u64,
    /// Items it moved to the dead letters.
    pub dead_lettered: u64,
}
