//! Shared by the integration tests: the kit's watchdog around every run, a run
//! that keeps every result, and the check that every item ended exactly once —
//! written here once for every test file.

#![allow(dead_code)] // each test file uses its own part of this module

use std::collections::HashMap;
use std::fmt::Display;
use std::time::Duration;

use queue_sim::{Job, Record, Report, RunOptions, SimConfig, SimulatedJob, TaskStatus, run_with};

/// How long one simulation in a test may take before it counts as hung.
pub const WATCHDOG: Duration = Duration::from_secs(30);

/// Runs `f` under lesson-support's watchdog with [`WATCHDOG`]: a hang fails
/// the test with a message; a panic inside `f` fails it with `f`'s own message.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    lesson_support::finishes_within(
        WATCHDOG,
        what,
        "the simulator hung: a consumer never told to stop, or a producer blocked on a queue nobody drains?",
        f,
    )
}

/// Runs the simulated job of `config` under the watchdog, keeping every result.
pub fn run_keeping_all(config: &SimConfig) -> Report {
    run_job_keeping_all(config, SimulatedJob::new(config))
}

/// Runs `job` with `config` under the watchdog, keeping every result.
pub fn run_job_keeping_all<J: Job + Send + 'static>(config: &SimConfig, job: J) -> Report {
    let config = config.clone();
    within("a simulation run", move || {
        let options = RunOptions {
            record: Record::AllResults,
            ..RunOptions::default()
        };
        run_with(&config, &job, options).expect("a valid configuration runs")
    })
}

/// Every id in `0..produced` has exactly one final result, the counts match
/// them, and both accounting identities hold. `what` names the run in messages.
pub fn assert_every_item_ends_once(report: &Report, what: impl Display) {
    let stats = &report.stats;
    assert!(
        stats.accounting_holds(),
        "{what}: accounting identity broken: {stats:#?}"
    );
    let all = report
        .all_results
        .as_ref()
        .expect("run with Record::AllResults");
    let mut seen: HashMap<u64, TaskStatus> = HashMap::new();
    for result in all {
        if let Some(earlier) = seen.insert(result.task_id.0, result.status) {
            panic!(
                "{what}: {} ended twice: {earlier:?} and {:?}",
                result.task_id, result.status
            );
        }
    }
    assert_eq!(
        seen.len() as u64,
        stats.produced,
        "{what}: every produced item has one result"
    );
    assert!(
        seen.keys().all(|&id| id < report.config.items),
        "{what}: no result for an id that was never made"
    );
    let count = |status| seen.values().filter(|&&s| s == status).count() as u64;
    assert_eq!(
        count(TaskStatus::Completed),
        stats.consumed,
        "{what}: consumed"
    );
    assert_eq!(count(TaskStatus::Failed), stats.failed, "{what}: failed");
    assert_eq!(
        count(TaskStatus::DeadLettered),
        stats.dead_lettered,
        "{what}: dead_lettered"
    );
    assert_eq!(
        count(TaskStatus::Unprocessed),
        stats.unprocessed,
        "{what}: unprocessed"
    );
    assert!(
        stats.attempts_add_up(&report.workers),
        "{what}: every attempt is counted once by the worker that ran it: {stats:#?}\n{:#?}",
        report.workers
    );
}
