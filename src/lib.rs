//! # queue-sim — the Concurrency Queue Lab's reference simulator
//!
//! Producers put work items into a bounded queue; consumer threads process them
//! with a processing time and a failure rate; statistics come out. Every idea the
//! lessons teach lives here in its final form:
//!
//! | idea | where |
//! |---|---|
//! | work items, results, statistics | [`WorkItem`], [`WorkResult`], [`SimulationStats`], [`Report`] |
//! | settings, validated before any thread starts | [`SimConfig`], [`ConfigError`], [`Choice`] ([`QueueKind`], [`WorkKind`]) |
//! | bounded queues and backpressure; three backends behind one trait | [`queue`] |
//! | shutdown by dropping senders, not sentinels | [`run`], `producer` |
//! | failures, panics caught per item, retries, dead letters | [`Job`], [`SimulatedJob`], `consumer` |
//! | per-worker statistics merged at join | [`WorkerStats`], `stats` |
//! | idle timeouts and what happens to the items left | [`run`], [`StopSignal`] |
//! | what queueing theory predicts | [`theory`] |
//! | watching a run without slowing it | [`Observer`] |
//! | the queue in a broker: acknowledgements, reclaimed items, counted once (feature `broker`) | `broker` |
//!
//! (`producer`, `consumer` and `stats` are private modules: read them in `src/`.)
//!
//! ## One path per item
//!
//! Every public item has exactly one path, so that code, docs and the book
//! name it the same way:
//!
//! - **At the root**, what a run needs and gives back: [`run`], [`run_with`],
//!   [`RunOptions`], [`RunError`]; the settings ([`SimConfig`], [`ConfigError`],
//!   [`Setting`], [`Range`], the `MAX_*` limits, [`Choice`], [`QueueKind`],
//!   [`WorkKind`]); the work ([`Job`], [`SimulatedJob`], [`WorkItem`],
//!   [`TaskId`], [`WorkerId`]); the report ([`Report`], [`SimulationStats`],
//!   [`WorkerStats`], [`WorkerExit`], [`WorkResult`], [`TaskStatus`],
//!   [`DepthSample`], [`Record`]); stopping and watching ([`StopSignal`],
//!   [`StopReason`], [`Observer`], [`Progress`]). Their modules are private.
//! - **Namespaces**, public modules whose items are not repeated at the root,
//!   because they read best with the module's name: [`queue`] (the trait and
//!   its backends), [`trace`] (the `--trace` file), [`theory`] (predicted
//!   throughput), [`chance`] (seeded decisions), `broker` (feature `broker`)
//!   and `throughput` (feature `throughput`, for benches and examples).
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
mod config;
mod consumer;
mod item;
mod job;
mod observe;
mod producer;
pub mod queue;
mod report;
mod run;
mod stats;
mod stop;
mod summary;
mod sync;
pub mod theory;
#[cfg(feature = "throughput")]
pub mod throughput;
pub mod trace;

pub use choice::{Choice, QueueKind, WorkKind};
pub use config::{
    ConfigError, MAX_CAPACITY, MAX_PRIORITIES, MAX_PROCESSING_TIME_S, MAX_RATE_PER_S, MAX_RETRIES,
    MAX_SAMPLE, MAX_THREADS, MAX_TIMEOUT_S, MIN_TIMEOUT_S, Range, Setting, SimConfig,
};
pub use item::{TaskId, TaskStatus, WorkItem, WorkResult, WorkerId};
pub use job::{Job, SimulatedJob};
pub use observe::{Observer, Progress};
pub use report::{DepthSample, Report};
pub use run::{RunError, RunOptions, run, run_with};
pub use stats::{Record, SimulationStats, WorkerExit, WorkerStats};
pub use stop::{StopReason, StopSignal};
