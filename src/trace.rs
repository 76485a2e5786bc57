//! A run's trace: the queue's depth after every put and every item's final
//! result, written as JSON for plotting (`cargo xtask figures` draws the book's
//! pictures from it).
//!
//! Tracing keeps one sample per put and one result per item, so its memory
//! grows with `--items`: it is meant for runs of thousands of items, and refused
//! above [`MAX_ITEMS`].

use std::io::{self, Write};

use serde::Serialize;

use crate::config::SimConfig;
use crate::item::WorkResult;
use crate::report::{DepthSample, Report};
use crate::stats::SimulationStats;

/// Most items a traced run may have: a trace keeps every item's result and a
/// depth sample per put, about a hundred bytes each in memory and more on disk.
pub const MAX_ITEMS: u64 = 1_000_000;

/// What `--trace FILE` writes.
#[derive(Debug, Serialize)]
pub struct Trace<'a> {
    /// The run's settings.
    pub config: &'a SimConfig,
    /// Its totals.
    pub stats: &'a SimulationStats,
    /// Depth after every put, in time order.
    pub depth: &'a [DepthSample],
    /// Every item's final result (worker, start, duration, status), by task id.
    pub results: &'a [WorkResult],
}

impl<'a> Trace<'a> {
    /// The trace of `report`, or `None` if the run did not keep one
    /// ([`Record::Trace`](crate::Record::Trace)).
    pub fn of(report: &'a Report) -> Option<Self> {
        Some(Trace {
            config: &report.config,
            stats: &report.stats,
            depth: report.depth_trace.as_deref()?,
            results: report.all_results.as_deref()?,
        })
    }

    /// Writes the trace as JSON to `out`.
    pub fn write_to(&self, out: impl Write) -> io::Result<()> {
        serde_json::to_writer(out, self).map_err(io::Error::from)
    }
}
