//! Building a lesson's tests and running each one in its own process, under a
//! hard time limit.
//!
//! One process per test costs a few milliseconds and buys three things a single
//! `cargo test` run cannot give: the outcome of every test even when one hangs,
//! each test's own duration, and a kill that always works (a hung thread cannot
//! be stopped from inside its process; a hung process can).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::kit::{self, Lesson};

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exited successfully.
    Passed,
    /// Exited with a failure (an assertion, a panic, a watchdog's verdict).
    Failed,
    /// Still running at the hard limit, and killed.
    TimedOut,
}

/// One test's run.
#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    /// `binary::test_name`.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// Wall-clock time until it exited or was killed.
    #[serde(serialize_with = "seconds")]
    pub duration: Duration,
    /// What it printed (libtest prints a failing test's output and panic message).
    #[serde(skip)]
    pub output: String,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((duration.as_secs_f64() * 1e3).round() / 1e3)
}

/// A test executable and the name of its target (`shutdown` for `tests/shutdown.rs`).
#[derive(Debug, Clone)]
pub struct TestBinary {
    target: String,
    path: PathBuf,
}

/// A scratch copy of a kit, where starters, solutions and mistakes are laid out
/// in turn without touching the real files.
pub struct Scratch {
    kit_root: PathBuf,
    root: PathBuf,
    target_dir: PathBuf,
}

impl Scratch {
    /// Copies the kit at `kit_root` to `base/kit` (replacing what was there);
    /// builds go to `base/target`.
    ///
    /// Every scratch copy needs a target dir of its own. Cargo names a workspace
    /// member's artifacts by its path *relative to the workspace root*, so two
    /// copies of the kit (or a copy and the kit itself) sharing a target dir
    /// share artifact names, and cargo calls one copy's build fresh for the other.
    pub fn create(kit_root: &Path, base: &Path) -> std::io::Result<Self> {
        let root = base.join("kit");
        if root.exists() {
            std::fs::remove_dir_all(&root)?;
        }
        kit::copy_tree(kit_root, &root)?;
        Ok(Scratch {
            kit_root: kit_root.to_path_buf(),
            root,
            target_dir: base.join("target"),
        })
    }

    /// The scratch copy's `Cargo.toml` (its workspace manifest).
    pub fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// Where the scratch copy builds.
    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// `lesson`'s folder in the scratch copy.
    pub fn lesson_dir(&self, lesson: &Lesson) -> PathBuf {
        let relative = lesson
            .dir
            .strip_prefix(&self.kit_root)
            .unwrap_or(&lesson.dir);
        self.root.join(relative)
    }

    /// Resets `lesson`'s `src/` to the kit's starter, lays `overlays` over it in
    /// order (each a folder holding `src/…`), then applies `patch`, if any.
    pub fn prepare(
        &self,
        lesson: &Lesson,
        overlays: &[&Path],
        patch: Option<&Path>,
    ) -> Result<(), String> {
        let relative = lesson
            .dir
            .strip_prefix(&self.kit_root)
            .unwrap_or(&lesson.dir);
        let lesson_dir = self.root.join(relative);
        let src = lesson_dir.join("src");
        let io = |e: std::io::Error| e.to_string();
        if src.exists() {
            std::fs::remove_dir_all(&src).map_err(io)?;
        }
        kit::copy_tree(&lesson.dir.join("src"), &src).map_err(io)?;
        for overlay in overlays {
            kit::lay_over(overlay, &lesson_dir).map_err(io)?;
        }
        match patch {
            Some(patch) => kit::apply_patch(patch, &lesson_dir),
            None => Ok(()),
        }
    }

    /// Builds `package`'s tests in the scratch copy.
    pub fn build(&self, package: &str) -> Result<Vec<TestBinary>, String> {
        build_tests(&self.root.join("Cargo.toml"), package, &self.target_dir)
    }

    /// Builds and runs `package`'s example `name` in the scratch copy (debug
    /// profile: it must work, not measure well), killed after `limit`.
    pub fn run_example(
        &self,
        package: &str,
        name: &str,
        limit: Duration,
    ) -> Result<TestRun, String> {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command
            .args(["run", "--quiet", "--package", package, "--example", name])
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_TERM_COLOR", "never");
        run_limited(command, format!("example {name}"), limit)
    }
}

/// Builds the tests of `package` in the workspace of `manifest`; returns its
/// test executables, or the compiler's messages.
pub fn build_tests(
    manifest: &Path,
    package: &str,
    target_dir: &Path,
) -> Result<Vec<TestBinary>, String> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "test",
            "--no-run",
            "--quiet",
            "--message-format=json-render-diagnostics",
            "--package",
            package,
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.trim().to_string());
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_test = message["profile"]["test"].as_bool() == Some(true);
        if let (true, Some(path)) = (
            is_test && message["reason"] == "compiler-artifact",
            message["executable"].as_str(),
        ) {
            binaries.push(TestBinary {
                target: message["target"]["name"]
                    .as_str()
                    .unwrap_or("?")
                    .replace('-', "_"),
                path: PathBuf::from(path),
            });
        }
    }
    binaries.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(binaries)
}

/// The tests in `binary`, by name.
pub fn list_tests(binary: &TestBinary) -> Result<Vec<String>, String> {
    let output = Command::new(&binary.path)
        .args(["--list", "--format", "terse"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not list the tests of {}: {e}", binary.path.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

/// Runs every test of `binaries`, one process each, each killed at `limit`.
/// With `until_first_failure`, stops at the first test that does not pass.
pub fn run_all(
    binaries: &[TestBinary],
    limit: Duration,
    until_first_failure: bool,
) -> Result<Vec<TestRun>, String> {
    let mut runs = Vec::new();
    for binary in binaries {
        for name in list_tests(binary)? {
            let run = run_one(binary, &name, limit)?;
            let stop = until_first_failure && run.status != Status::Passed;
            runs.push(run);
            if stop {
                return Ok(runs);
            }
        }
    }
    Ok(runs)
}

/// Runs test `name` of `binary` alone, killed at `limit`.
pub fn run_test(binary: &TestBinary, name: &str, limit: Duration) -> Result<TestRun, String> {
    run_one(binary, name, limit)
}

fn run_one(binary: &TestBinary, name: &str, limit: Duration) -> Result<TestRun, String> {
    let mut command = Command::new(&binary.path);
    command.args([name, "--exact", "--test-threads=1"]);
    run_limited(command, format!("{}::{name}", binary.target), limit)
}

/// Runs `command` to the end or until `limit`, keeping what it printed.
fn run_limited(mut command: Command, name: String, limit: Duration) -> Result<TestRun, String> {
    let started = Instant::now();
    let mut child = command
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {name}: {e}"))?;
    // Read both pipes while it runs, or a chatty program would block on a full pipe.
    let readers = [drain(child.stdout.take()), drain(child.stderr.take())];
    let status = wait_or_kill(&mut child, limit);
    let duration = started.elapsed();
    let output: String = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect();
    Ok(TestRun {
        name,
        status,
        duration,
        output,
    })
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

fn wait_or_kill(child: &mut Child, limit: Duration) -> Status {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Status::Passed,
            Ok(Some(_)) => return Status::Failed,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Status::TimedOut;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(_) => return Status::Failed,
        }
    }
}

/// The line of a failing test's output that says why, shortened: the message of
/// the *last* panic, which is the test's own verdict (earlier ones may be panics
/// the test provoked on purpose, caught and reported); with no panic, the last
/// line it printed.
pub fn why(run: &TestRun) -> String {
    let lines: Vec<&str> = run.output.lines().collect();
    let reason = lines
        .iter()
        .rposition(|line| line.contains("panicked at"))
        .and_then(|at| lines.get(at + 1))
        .or_else(|| lines.iter().rev().find(|line| !line.trim().is_empty()))
        .map_or("(no output)", |line| line.trim());
    let mut short: String = reason.chars().take(160).collect();
    if reason.chars().count() > 160 {
        short.push('…');
    }
    short
}
