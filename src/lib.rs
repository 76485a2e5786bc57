//! # queue-sim — the Concurrency Queue Lab's reference simulator
//!
//! Producers put work items into a bounded queue; consumer threads process them
//! with a processing time and a failure rate; statistics come out. Every idea the
//! lessons teach lives here in its final form:
//!
//! | idea | where |
//! |---|---|
//! | work items, results, statistics | [`item`], [`stats`] |
//! | validation before any thread starts | [`config`] |
//! | bounded queues and backpressure; three backends behind one trait | [`queue`] |
//! | shutdown by dropping senders, not sentinels | [`run`], [`producer`](crate::run) |
//! | failures, panics caught per item, retries, dead letters | [`job`], `consumer` |
//! | per-worker statistics merged at join | [`stats`] |
//! | idle timeouts and what happens to the items left | [`run`] |
//! | what queueing theory predicts | [`theory`] |
//!
//! ```
//! let config = queue_sim::SimConfig { items: 100, processing_time_s: 0.0, seed: 7, ..Default::default() };
//! let report = queue_sim::run(&config).unwrap();
//! assert!(report.stats.accounting_holds());
//! assert_eq!(report.stats.produced, 100);
//! ```

pub mod chance;
pub mod cli;
pub mod config;
mod consumer;
pub mod item;
pub mod job;
pub mod output;
mod producer;
pub mod progress;
pub mod queue;
pub mod run;
pub mod stats;
pub mod stop;
mod sync;
pub mod theory;
pub mod throughput;
pub mod trace;

pub use config::{ConfigError, QueueKind, SimConfig, WorkKind};
pub use item::{TaskStatus, WorkItem, WorkResult};
pub use job::{Job, SimulatedJob};
pub use run::{Report, RunError, RunOptions, run, run_with};
pub use stats::SimulationStats;
pub use stop::{StopReason, StopSignal};
