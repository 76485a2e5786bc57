//! # queue-sim — the Concurrency Queue Lab's reference simulator
//!
//! Producers put work items into a bounded queue; consumer threads process them
//! with a processing time and a failure rate; statistics come out. Every idea the
//! lessons teach lives here in its final form:
//!
//! | idea | where |
//! |---|---|
//! | work items, results, statistics | [`item`], [`stats`], [`report`] |
//! | settings, validated before any thread starts | [`config`], [`Choice`] ([`QueueKind`], [`WorkKind`]) |
//! | bounded queues and backpressure; three backends behind one trait | [`queue`] |
//! | shutdown by dropping senders, not sentinels | [`run`](mod@run), `producer` |
//! | failures, panics caught per item, retries, dead letters | [`job`], `consumer` |
//! | per-worker statistics merged at join | [`stats`] |
//! | idle timeouts and what happens to the items left | [`run`](mod@run), [`stop`] |
//! | what queueing theory predicts | [`theory`] |
//! | watching a run without slowing it | [`observe`] |
//! | the queue in a broker: acknowledgements, reclaimed items, counted once (feature `broker`) | `broker` |
//!
//! The command line, its progress bar and its exit statuses belong to the
//! `queue-sim` binary (`src/bin/queue-sim/`), not to this library.
//!
//! ```
//! let config = queue_sim::SimConfig { items: 100, processing_time_s: 0.0, seed: 7, ..Default::default() };
//! let report = queue_sim::run(&config).unwrap();
//! assert!(report.accounting_holds());
//! assert_eq!(report.stats.produced, 100);
//! ```

#[cfg(feature = "broker")]
pub mod broker;
pub mod chance;
mod choice;
pub mod config;
mod consumer;
pub mod item;
pub mod job;
pub mod observe;
mod producer;
pub mod queue;
pub mod report;
pub mod run;
pub mod stats;
pub mod stop;
mod summary;
mod sync;
pub mod theory;
#[cfg(feature = "throughput")]
pub mod throughput;
pub mod trace;

pub use choice::{Choice, QueueKind, WorkKind};
pub use config::{ConfigError, SimConfig};
pub use item::{TaskStatus, WorkItem, WorkResult};
pub use job::{Job, SimulatedJob};
pub use report::Report;
pub use run::{RunError, RunOptions, run, run_with};
pub use stats::{Record, SimulationStats};
pub use stop::{StopReason, StopSignal};
