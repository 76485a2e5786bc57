//! Running one command of grading — a build, a test, a listing — in the
//! sandbox and held to the limits: a cgroup of its own (memory, processes),
//! CPU time per process, a wall-clock limit, bounded output.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};

use super::limits::{self, Cgroups, Limits, Usage};
use crate::sandbox::Sandbox;
use host::process;

/// Settings for every grading build and the builds nested in tests (the loom
/// models): no debug info and no incremental data, which grading never uses
/// and which triple the size of what each copy's build starts from.
pub const BUILD_ENV: [(&str, &str); 3] = [
    ("CARGO_INCREMENTAL", "0"),
    ("CARGO_PROFILE_DEV_DEBUG", "0"),
    ("CARGO_PROFILE_TEST_DEBUG", "0"),
];

/// How grading runs things: the sandbox (or none), its limits, and the
/// cgroups that hold them (or none).
#[derive(Debug, Clone)]
pub struct Runner {
    /// Where commands run.
    pub sandbox: Sandbox,
    /// What each build and test may use.
    pub limits: Limits,
    /// The cgroups the limits use, if the machine lets the grader make them.
    pub cgroups: Option<Cgroups>,
}

/// How a limited command ended, with what its cgroup saw.
pub struct Ended {
    /// The process's end (`status: None`: killed at the time limit).
    pub finished: process::Finished,
    /// What it ran into.
    pub usage: Usage,
}

impl Runner {
    /// Runs `command` to its end or `limit`, held to the limits when `held`
    /// (each process gets `cpu` of CPU time); `what` names its cgroup.
    pub fn run(
        &self,
        mut command: Command,
        limit: Duration,
        cpu: Duration,
        held: bool,
        what: &str,
    ) -> Result<Ended> {
        let enclosure = match (&self.cgroups, held) {
            (Some(cgroups), true) => Some(
                cgroups
                    .enclose(&self.limits)
                    .with_context(|| format!("cannot make a cgroup for the sandbox of a {what}"))?,
            ),
            _ => None,
        };
        if held {
            let space = enclosure.is_none().then_some(self.limits.memory * 2);
            limits::set_rlimits(&mut command, cpu, space);
        }
        if let Some(enclosure) = &enclosure {
            enclosure.hold(&mut command);
        }
        let finished = process::run_limited(command, limit, Duration::MAX, || ());
        let usage = match (&self.cgroups, enclosure) {
            (Some(cgroups), Some(enclosure)) => cgroups.release(enclosure),
            _ => Usage::default(),
        };
        Ok(Ended {
            finished: finished?,
            usage,
        })
    }
}
