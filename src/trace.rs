//! A run's trace: the queue's depth after every put and every item's final
//! result, written as JSON for plotting (`cargo xtask figures` draws the book's
//! pictures from it).
//!
//! Tracing keeps one sample per put and one result per item, so its memory
//! grows with `--items`: it is meant for runs of thousands of items, and refused
//! above [`MAX_ITEMS`].

use std::borrow::Cow;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::config::SimConfig;
use crate::item::WorkResult;
use crate::report::{DepthSample, Report};
use crate::stats::SimulationStats;

/// Most items a traced run may have: a trace keeps every item's result and a
/// depth sample per put, about a hundred bytes each in memory and more on disk.
pub const MAX_ITEMS: u64 = 1_000_000;

/// What `--trace FILE` writes: borrowed from a [`Report`] when written
/// ([`Trace::of`]), owned when read back (`Trace<'static>`, as
/// `cargo xtask figures` does).
#[derive(Debug, Serialize, Deserialize)]
pub struct Trace<'a> {
    /// The run's settings.
    pub config: Cow<'a, SimConfig>,
    /// Its totals.
    pub stats: Cow<'a, SimulationStats>,
    /// Depth after every put, in time order.
    pub depth: Cow<'a, [DepthSample]>,
    /// Every item's final result (worker, start, duration, status), by task id.
    pub results: Cow<'a, [WorkResult]>,
}

impl<'a> Trace<'a> {
    /// The trace of `report`, or `None` if the run did not keep one
    /// ([`Record::Trace`](crate::Record::Trace)).
    pub fn of(report: &'a Report) -> Option<Self> {
        Some(Trace {
            config: Cow::Borrowed(&report.config),
            stats: Cow::Borrowed(&report.stats),
            depth: Cow::Borrowed(report.depth_trace.as_deref()?),
            results: Cow::Borrowed(report.all_results.as_deref()?),
        })
    }

    /// Writes the trace as JSON to `out`.
    pub fn write_to(&self, out: impl Write) -> io::Result<()> {
        serde_json::to_writer(out, self).map_err(io::Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Record, RunOptions, SimConfig, SimulatedJob};

    #[test]
    fn a_trace_reads_back_as_it_was_written() {
        let config = SimConfig {
            items: 15,
            processing_time_s: 0.0,
            failure_rate: 0.3,
            ..SimConfig::default()
        };
        let options = RunOptions {
            record: Record::Trace,
            ..RunOptions::default()
        };
        let report = crate::run_with(&config, &SimulatedJob::new(&config), options).unwrap();
        let mut written = Vec::new();
        Trace::of(&report).unwrap().write_to(&mut written).unwrap();
        let read: Trace<'static> = serde_json::from_slice(&written).unwrap();
        assert_eq!(*read.config, config);
        assert_eq!(read.results.len(), 15);
        assert_eq!(&*read.results, report.all_results.as_deref().unwrap());
        assert_eq!(&*read.depth, report.depth_trace.as_deref().unwrap());
    }
}
