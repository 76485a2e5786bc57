//! A run's trace: the queue's depth after every put and every item's final
//! result, written as JSON for plotting (`cargo xtask figures` draws the book's
//! pictures from it).
//!
//! Tracing keeps one sample per put and one result per item, so its memory
//! grows with `--items`: it is meant for runs of thousands of items, not millions.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::config::SimConfig;
use crate::item::WorkResult;
use crate::report::{DepthSample, Report};
use crate::stats::SimulationStats;

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

    /// Writes the trace as JSON to `path`.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut file = io::BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer(&mut file, self)?;
        file.flush()
    }
}
