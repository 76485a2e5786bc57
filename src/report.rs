//! What a run reports: the simulator's JSON output.

use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::item::WorkResult;
#[cfg(doc)]
use crate::stats::Record;
use crate::stats::{SimulationStats, WorkerStats};

/// Everything a run reports; serialized as the simulator's JSON output, and
/// read back from it by every reader in the workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Every effective setting.
    pub config: SimConfig,
    /// The run was stopped by an interrupt before it finished.
    pub interrupted: bool,
    /// The totals.
    pub stats: SimulationStats,
    /// One entry per consumer.
    pub workers: Vec<WorkerStats>,
    /// The final results of the lowest task ids, at most `sample_size` of them.
    pub results_sample: Vec<WorkResult>,
    /// Every item's final result, unprocessed ones included, with
    /// [`Record::AllResults`] or [`Record::Trace`].
    #[serde(skip)]
    pub all_results: Option<Vec<WorkResult>>,
    /// The queue's depth after every put, in time order, with [`Record::Trace`].
    #[serde(skip)]
    pub depth_trace: Option<Vec<DepthSample>>,
}

impl Report {
    /// Whether both accounting identities hold: every produced item ended once
    /// ([`SimulationStats::accounting_holds`]), and every attempt was counted
    /// once, by the worker that ran it ([`SimulationStats::attempts_add_up`]).
    pub fn accounting_holds(&self) -> bool {
        self.stats.accounting_holds() && self.stats.attempts_add_up(&self.workers)
    }
}

/// The queue's depth just after one put.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DepthSample {
    /// When, in milliseconds since the run started.
    pub at_ms: f64,
    /// Items waiting in the queue just after the put. A consumer may take the
    /// item before the depth is read, so 0 is a possible sample.
    pub depth: usize,
}
