//! Building tests with cargo, and reading what it says: the test executables
//! it made and the compiler's errors, per package, through typed JSON messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::kit;
use crate::place::Place;
use host::process;

/// A test executable and the name of its target (`shutdown` for `tests/shutdown.rs`).
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// The target's name, as libtest prefixes its tests.
    pub target: String,
    /// The executable, as the [`Place`] that runs it sees it.
    pub path: PathBuf,
}

/// A build that failed because the code does not compile: what the compiler said.
#[derive(Debug)]
pub struct CompileError {
    /// The compiler's messages, rendered as a person reads them.
    pub messages: String,
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.messages)
    }
}

impl std::error::Error for CompileError {}

/// The first compiler error in `messages`: its lines up to the next blank one.
pub fn first_error(messages: &str) -> String {
    let error: Vec<&str> = messages
        .lines()
        .skip_while(|line| !line.starts_with("error"))
        .take_while(|line| !line.trim().is_empty())
        .take(30)
        .collect();
    if error.is_empty() {
        messages.lines().take(10).collect::<Vec<_>>().join("\n")
    } else {
        error.join("\n")
    }
}

/// Which of a package's targets a test build compiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// What a learner's `cargo test -p lesson-NN` builds: the library's own
    /// test harness and the examples too, which must compile as shipped.
    Every,
    /// The integration tests (`tests/*.rs`) and what they need: the kit's
    /// tests are all there, and leaving out the examples and the library's
    /// empty test harness takes about a third off a rebuild's CPU time.
    IntegrationTests,
}

/// Builds the tests of `package` in the workspace of `manifest`; returns its
/// test executables, or a [`CompileError`] with the compiler's messages.
pub fn build_tests(
    manifest: &Path,
    package: &str,
    target_dir: &Path,
    targets: Targets,
) -> Result<Vec<TestBinary>> {
    let mut command = Place::here().command(kit::cargo());
    command.args(["test", "--no-run", "--quiet", "--package", package]);
    if targets == Targets::IntegrationTests {
        command.args(["--test", "*"]);
    }
    command
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        // Nothing reads a scratch build's debug info; without it a rebuild
        // for the next variant compiles and links faster.
        .env("CARGO_PROFILE_DEV_DEBUG", SCRATCH_DEBUG);
    let built = build(command, Duration::MAX)?;
    if let Some(messages) = built.errors.into_values().next() {
        return Err(CompileError { messages }.into());
    }
    if !built.succeeded {
        return Err(CompileError {
            messages: built.cargo_said,
        }
        .into());
    }
    Ok(built.binaries.into_values().flatten().collect())
}

/// The debug info of every build in a scratch copy of the kit (tests and
/// examples alike, so they share their dependencies' artifacts).
pub const SCRATCH_DEBUG: &str = "0";

/// What one cargo build made, by lesson folder name (`03-backpressure`).
#[derive(Debug, Default)]
pub struct Built {
    /// Whether cargo finished without an error.
    pub succeeded: bool,
    /// The test executables of each package built.
    pub binaries: BTreeMap<String, Vec<TestBinary>>,
    /// The compiler errors of each package that does not compile.
    pub errors: BTreeMap<String, String>,
    /// What cargo itself printed (its own errors, such as a bad manifest).
    pub cargo_said: String,
}

/// The parts of cargo's JSON messages a build reads.
#[derive(Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum CargoMessage {
    CompilerArtifact {
        manifest_path: PathBuf,
        target: ArtifactTarget,
        profile: ArtifactProfile,
        executable: Option<PathBuf>,
    },
    CompilerMessage {
        manifest_path: PathBuf,
        message: Diagnostic,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct ArtifactTarget {
    name: String,
}

#[derive(Deserialize)]
struct ArtifactProfile {
    test: bool,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
}

/// Runs a cargo build `command` (`cargo test --no-run …` or `cargo build
/// --tests …`) with JSON messages, killed at `limit`; collects test executables
/// and compiler errors by package folder.
pub fn build(mut command: Command, limit: Duration) -> Result<Built> {
    command.arg("--message-format=json");
    let finished = process::run_limited(command, limit, Duration::MAX, || ())?;
    if finished.status.is_none() {
        bail!("the build was still running after {limit:?} and was stopped");
    }
    Ok(read_build(&finished))
}

/// What a cargo build run with `--message-format=json` made, from its output.
pub fn read_build(finished: &process::Finished) -> Built {
    let mut built = Built {
        succeeded: finished.status.is_some_and(|s| s.success()),
        cargo_said: finished.stderr.text().trim().to_string(),
        ..Built::default()
    };
    for line in finished.stdout.text().lines() {
        let Ok(message) = serde_json::from_str::<CargoMessage>(line) else {
            continue;
        };
        match message {
            CargoMessage::CompilerArtifact {
                manifest_path,
                target,
                profile,
                executable: Some(path),
            } if profile.test => {
                built
                    .binaries
                    .entry(package_dir(&manifest_path))
                    .or_default()
                    .push(TestBinary {
                        target: target.name.replace('-', "_"),
                        path,
                    });
            }
            CargoMessage::CompilerMessage {
                manifest_path,
                message,
            } if message.level == "error" => {
                let errors = built.errors.entry(package_dir(&manifest_path)).or_default();
                errors.push_str(message.rendered.as_deref().unwrap_or("error"));
                errors.push('\n');
            }
            _ => {}
        }
    }
    for binaries in built.binaries.values_mut() {
        binaries.sort_by(|a, b| a.target.cmp(&b.target));
    }
    built
}

/// `03-backpressure` for `…/lessons/03-backpressure/Cargo.toml`.
fn package_dir(manifest: &Path) -> String {
    manifest
        .parent()
        .and_then(Path::file_name)
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}
