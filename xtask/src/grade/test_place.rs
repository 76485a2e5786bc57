//! Where one lesson's tests run: the copy's tree read-only, fresh tmpfs of a
//! fixed size to write to, and — for the test that runs a lesson's loom
//! models — a copy of the template's warm nested build to start from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};

use super::confine::{BUILD_ENV, Runner};
use crate::compile::TestBinary;
use crate::sandbox::Mount;

/// Where, inside the sandbox, a models test finds the template's warm
/// nested build to start from.
pub const WARM: &str = "/tmp/xtask-grade/warm";

/// One test binary's tests, as libtest lists them.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Every test.
    pub all: Vec<String>,
    /// The `#[ignore]`d ones (when asked for).
    pub ignored: BTreeSet<String>,
}

/// Where one lesson's tests run: the tree read-only, fresh tmpfs to write to.
#[derive(Debug, Clone)]
pub struct TestPlace {
    runner: Runner,
    mounts: Vec<Mount>,
    /// Unsandboxed: the working directory.
    cwd: Option<PathBuf>,
    /// The nested build a models test starts from, and the scratch folder
    /// it is copied to (both as the test sees them).
    warm: Option<(PathBuf, PathBuf)>,
}

impl TestPlace {
    /// A place seeing `mounts` (in order); unsandboxed, working in `cwd`;
    /// `warm`: the warm nested build and the scratch folder a models test
    /// copies it to, as the test sees them.
    pub fn new(
        runner: &Runner,
        mounts: Vec<Mount>,
        cwd: Option<PathBuf>,
        warm: Option<(PathBuf, PathBuf)>,
    ) -> Self {
        TestPlace {
            runner: runner.clone(),
            mounts,
            cwd,
            warm,
        }
    }

    /// The runner this place's commands go through.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// A command running `program` here; a models test (`models`) first gets a
    /// copy of the warm nested build in its scratch folder.
    pub fn command(&self, program: &Path, env: &[(String, String)], models: bool) -> Command {
        // Nested builds (the loom models) build as the template's did, so
        // that its warm build is fresh for them.
        let mut env = env.to_vec();
        env.extend(
            BUILD_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let sandbox = &self.runner.sandbox;
        let mut command = match (&self.warm, models) {
            (Some((warm, scratch)), true) => {
                let mut command = sandbox.command(Path::new("/bin/sh"), &self.mounts, &env);
                command.args([
                    "-c",
                    "cp -a \"$1/.\" \"$2/\" && shift 2 && exec \"$@\"",
                    "sh",
                ]);
                command.arg(warm).arg(scratch).arg(program);
                command
            }
            _ => sandbox.command(program, &self.mounts, &env),
        };
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
    }

    /// Each binary's tests, and (when `ignored`) its `#[ignore]`d ones, as
    /// libtest lists them (no test runs; only a load-time constructor of the
    /// learner's could, and that is flagged for review). One process for all.
    pub fn list(
        &self,
        binaries: &[TestBinary],
        ignored: bool,
    ) -> Result<BTreeMap<String, Listing>> {
        let mut script = String::new();
        for i in 0..binaries.len() {
            let n = i + 1;
            script.push_str(&format!(
                "echo '#all {i}'; \"${{{n}}}\" --list --format terse || exit 1; "
            ));
            if ignored {
                script.push_str(&format!(
                    "echo '#ignored {i}'; \"${{{n}}}\" --list --ignored --format terse || exit 1; "
                ));
            }
        }
        let mut command = self.command(Path::new("/bin/sh"), &[], false);
        command.args(["-c", &script, "sh"]);
        command.args(binaries.iter().map(|b| &b.path));
        let ended = self.runner.run(
            command,
            Duration::from_secs(120),
            Duration::from_secs(120),
            true,
            "list",
        )?;
        let finished = ended.finished;
        if !finished.status.is_some_and(|s| s.success()) {
            bail!(
                "could not list the tests: {}",
                finished.stderr.text().trim()
            );
        }
        let mut listed: BTreeMap<String, Listing> = BTreeMap::new();
        let mut current: Option<(usize, bool)> = None;
        for line in finished.stdout.text().lines() {
            if let Some(rest) = line.strip_prefix("#all ") {
                current = rest.parse().ok().map(|i| (i, false));
            } else if let Some(rest) = line.strip_prefix("#ignored ") {
                current = rest.parse().ok().map(|i| (i, true));
            } else if let (Some((i, ignored)), Some(name)) = (current, line.strip_suffix(": test"))
            {
                let Some(binary) = binaries.get(i) else {
                    continue;
                };
                let entry = listed.entry(binary.target.clone()).or_default();
                if ignored {
                    entry.ignored.insert(name.to_string());
                } else {
                    entry.all.push(name.to_string());
                }
            }
        }
        Ok(listed)
    }
}
