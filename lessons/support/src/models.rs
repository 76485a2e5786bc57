//! Model checking a lesson's own synchronization code with loom, from the same
//! `cargo test -p lesson-NN` a learner types.
//!
//! Real threads show a race only when the scheduler happens to produce it: an
//! `if` where a `while` belongs passes a thousand runs and fails the next. loom
//! runs a small scenario (two takers and a putter, say) under every
//! interleaving within a bound, so such a bug fails *every* time.
//!
//! A lesson keeps its models in `tests/model.rs`, compiled only under
//! `--cfg loom`, each one a `check` (defined under `--cfg loom` only). Its main test file has one ordinary test
//! that calls [`run_models!`](crate::run_models): that builds the models in a
//! target dir of their own (`<target>/tmp/loom`: loom needs other compiler
//! flags, so they cannot share the normal build) and runs them, both under hard
//! time limits. The first build compiles loom and the lesson's dependencies in
//! release mode ([`COLD_BUILD_TAKES`]); after an edit, a few seconds. The
//! learner's tools run that first build ahead, in the background, while the
//! earlier lessons are worked on; a [`BuildLock`] keeps two builds of the
//! same models from running at once.

use std::fs::{self, File, TryLockError};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::process::{self, Finished};
use crate::watchdog::TimingSection;

/// Where a lesson's models are: filled in by [`run_models!`](crate::run_models)
/// from the calling test's compile-time environment.
#[derive(Debug, Clone, Copy)]
pub struct ModelCrate {
    /// The lesson's folder (`CARGO_MANIFEST_DIR`).
    pub manifest_dir: &'static str,
    /// The lesson's package, `lesson-09`.
    pub package: &'static str,
    /// The test target holding the models: `model` for `tests/model.rs`.
    pub target: &'static str,
    /// A scratch folder in the target dir (`CARGO_TARGET_TMPDIR`).
    pub scratch_dir: &'static str,
}

/// The most a model build may take: a cold one compiles loom and the lesson's
/// dependencies in release mode (the chapters give the time it took, dated by
/// the command that measured it; a slow laptop takes several times longer).
pub const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// What the first build of the models costs, as the kit's learner benchmark
/// measured it (`lab/bench-learner.sh`; the README has the figures and the
/// date): told to the learner who waits for it.
pub const COLD_BUILD_TAKES: &str =
    "about 40 s on a quiet 2-core machine, 1 to 3 minutes on a busy one";

/// The most the models may take to run, all together. Correct code needs a
/// second or two; the limit leaves a loaded machine room, and stays inside
/// `cargo xtask verify`'s 20 s per test, so a model that sleeps or spins is
/// reported by name instead of as a hung test.
pub const RUN_LIMIT: Duration = Duration::from_secs(15);

/// How many times loom may preempt a thread in one interleaving (unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise): 2 is the least that catches the
/// classic condvar bugs; 3 still runs in about a second.
pub const PREEMPTIONS: usize = 3;

/// Runs the calling lesson's loom models (`tests/model.rs`) and fails the test,
/// in the learner's terms, if any of them went wrong. Call it from the lesson's
/// main test file, so a learner's `cargo test -p lesson-NN` runs it.
#[macro_export]
macro_rules! run_models {
    () => {
        $crate::models::run(&$crate::models::ModelCrate {
            manifest_dir: env!("CARGO_MANIFEST_DIR"),
            package: env!("CARGO_PKG_NAME"),
            target: "model",
            scratch_dir: env!("CARGO_TARGET_TMPDIR"),
        })
    };
}

/// The loom build's target dir for a lesson built into `scratch_dir`.
pub fn target_dir(scratch_dir: &Path) -> PathBuf {
    scratch_dir.join("loom")
}

/// The right to build the models in one target dir, held until dropped: a
/// test's own build and a tool's warm-up (or two tools) never build the same
/// models at once, and whoever waits can say why.
#[derive(Debug)]
pub struct BuildLock(#[allow(dead_code)] File);

impl BuildLock {
    /// Takes the lock for the models built under `scratch_dir` (see
    /// [`ModelCrate::scratch_dir`]), waiting while another build holds it;
    /// `when_waiting` is called first if it must wait.
    pub fn acquire(scratch_dir: &Path, when_waiting: impl FnOnce()) -> io::Result<Self> {
        let file = lock_file(scratch_dir)?;
        match file.try_lock() {
            Ok(()) => return Ok(BuildLock(file)),
            Err(TryLockError::WouldBlock) => when_waiting(),
            Err(TryLockError::Error(e)) => return Err(e),
        }
        file.lock()?;
        Ok(BuildLock(file))
    }

    /// Takes the lock only if nobody holds it.
    pub fn try_acquire(scratch_dir: &Path) -> io::Result<Option<Self>> {
        let file = lock_file(scratch_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(BuildLock(file))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

fn lock_file(scratch_dir: &Path) -> io::Result<File> {
    let dir = target_dir(scratch_dir);
    fs::create_dir_all(&dir)?;
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("kit-build.lock"))
}

/// The command that builds a lesson's models (without running them): what
/// [`run`] does first, and what a tool can run ahead to warm the build.
pub fn build_command(krate: &ModelCrate) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut rustflags = std::env::var("RUSTFLAGS").unwrap_or_default();
    if !rustflags.split_whitespace().any(|flag| flag == "loom") {
        rustflags.push_str(" --cfg loom");
    }
    let mut command = Command::new(cargo);
    command
        .args(["test", "--release", "--no-run"])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(Path::new(krate.manifest_dir).join("Cargo.toml"))
        .args(["--package", krate.package, "--test", krate.target])
        .env("RUSTFLAGS", rustflags.trim())
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", target_dir(Path::new(krate.scratch_dir)))
        .env("CARGO_TERM_COLOR", "never");
    command
}

/// Builds and runs the models; panics with what went wrong. See [`run_models!`](crate::run_models).
#[track_caller]
pub fn run(krate: &ModelCrate) {
    // The nested build takes both cores for a while: keep it away from tests
    // of this process that measure time.
    let _alone = TimingSection::enter();
    let models = match build(krate) {
        Ok(models) => models,
        Err(why) => panic!("{why}"),
    };
    let names = model_names(&models);
    let mut command = Command::new(&models);
    command
        .arg("--test-threads=2")
        .env("LOOM_LOCATION", "1")
        .env("RUST_BACKTRACE", "0");
    let finished = match process::run_limited(command, RUN_LIMIT, RUN_LIMIT, || ()) {
        Ok(finished) => finished,
        Err(e) => panic!("could not run the models ({}): {e}", models.display()),
    };
    if let Some(verdict) = verdict(krate, &names, &finished) {
        panic!("{verdict}");
    }
}

fn build(krate: &ModelCrate) -> Result<PathBuf, String> {
    let scratch = Path::new(krate.scratch_dir);
    let _lock = BuildLock::acquire(scratch, || {
        tell(
            "(waiting for the build of the loom models that a kit tool — `cargo xtask watch` \
             or `progress` — is running in the background; the two never build at once)",
        );
    })
    .map_err(|e| format!("could not take the models' build lock: {e}"))?;
    let started = Instant::now();
    let (done, ended) = mpsc::channel::<()>();
    // std's threads by their full name: under --cfg loom, `thread` here is loom's.
    let finished = std::thread::scope(|scope| {
        // A cold build outlasts libtest's patience: say what is going on, and
        // keep saying it, so its "running for over 60 seconds" is no surprise.
        scope.spawn(move || {
            let still = |wait| matches!(ended.recv_timeout(wait), Err(RecvTimeoutError::Timeout));
            if !still(Duration::from_secs(3)) {
                return;
            }
            tell(&format!(
                "(building {}'s loom models: a few seconds after an edit; the first time, \
                 {COLD_BUILD_TAKES})",
                krate.package
            ));
            if !still(Duration::from_secs(20)) {
                return;
            }
            tell(
                "(a first build compiles loom and the lesson in release mode, once; libtest may \
                 say this test has been running for over 60 seconds: it is this build. `cargo \
                 xtask watch` builds the models in the background while you work on the earlier \
                 lessons, so that this wait never comes.)",
            );
            while still(Duration::from_secs(30)) {
                tell(&format!(
                    "(still building the loom models: {} s so far)",
                    started.elapsed().as_secs()
                ));
            }
        });
        let finished =
            process::run_limited(build_command(krate), BUILD_LIMIT, Duration::MAX, || ());
        drop(done);
        finished
    })
    .map_err(|e| format!("could not run cargo to build the models: {e}"))?;
    if finished.duration > Duration::from_secs(3) {
        tell(&format!(
            "(the loom models took {} s to build)",
            finished.duration.as_secs()
        ));
    }
    match finished.status {
        None => {
            return Err(format!(
                "building the models took longer than {BUILD_LIMIT:?}; try `cargo test -p {}` again",
                krate.package
            ));
        }
        Some(status) if !status.success() => {
            let first_error = finished
                .stderr
                .text()
                .lines()
                .skip_while(|line| !line.starts_with("error"))
                .take(12)
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!(
                "the models (tests/{}.rs, built with --cfg loom) do not compile:\n{first_error}",
                krate.target
            ));
        }
        Some(_) => {}
    }
    finished
        .stdout
        .text()
        .lines()
        .filter(|line| line.contains("\"compiler-artifact\"") && line.contains("\"test\":true"))
        .find_map(executable_of)
        .map(PathBuf::from)
        .ok_or_else(|| "cargo built the models but named no test executable".to_string())
}

/// A line on the terminal, past libtest's capture of the test's output.
fn tell(text: &str) {
    let _ = writeln!(io::stderr(), "\n  {text}");
}

/// The `"executable"` path of one line of cargo's JSON messages.
fn executable_of(line: &str) -> Option<String> {
    let start = line.find("\"executable\":\"")? + "\"executable\":\"".len();
    let mut path = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(path),
            '\\' => path.push(chars.next()?),
            c => path.push(c),
        }
    }
    None
}

/// `None` when every model passed; otherwise what to tell the learner.
fn verdict(krate: &ModelCrate, names: &[String], finished: &Finished) -> Option<String> {
    let out = &finished.stdout.text();
    let Some(status) = finished.status else {
        let running = unfinished(names, out);
        return Some(format!(
            "the models were still running after {RUN_LIMIT:?} and were stopped{}.\n  \
             Likely cause: something in them that never returns — a real sleep (loom's \
             timed waits stand in for sleeping), or a loop that spins on a condition or a \
             passed deadline instead of blocking on the condvar.",
            if running.is_empty() {
                String::new()
            } else {
                format!(" (still running: {})", running.join(", "))
            }
        ));
    };
    let failed = failures(out);
    if status.success() {
        let ran = out.contains("test result: ok") && !out.contains("running 0 tests");
        return (!ran).then(|| {
            format!(
                "{} has no models in tests/{}.rs (the kit's fault, not yours)",
                krate.package, krate.target
            )
        });
    }
    if failed.is_empty() {
        let stderr = finished.stderr.text();
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Some(format!(
            "the model checker stopped abnormally ({status}):\n{}",
            tail.join("\n")
        ));
    }
    let total = out
        .lines()
        .find_map(|line| line.strip_prefix("running ")?.strip_suffix(" tests"))
        .unwrap_or("?");
    let mut text = format!(
        "loom ran your code through every interleaving of {total} small scenarios; {} went wrong:\n",
        failed.len()
    );
    for (model, message) in &failed {
        text.push_str(&format!("\n  ✗ {model}:\n"));
        for line in message.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text.push_str(&format!(
        "\n  (These scenarios are in lessons/…/tests/{}.rs. Each one fails the same way on every run: \
         loom tries every order in which the threads can take turns.)",
        krate.target
    ));
    Some(text)
}

/// The models in the `models` executable, by name.
fn model_names(models: &Path) -> Vec<String> {
    let listed = Command::new(models)
        .args(["--list", "--format", "terse"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    listed
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// The models in `names` that libtest's output gives no verdict for.
fn unfinished(names: &[String], out: &str) -> Vec<String> {
    names
        .iter()
        .filter(|name| {
            !out.lines()
                .filter_map(|line| line.strip_prefix("test "))
                .any(|rest| rest.starts_with(&format!("{name} ... ")))
        })
        .cloned()
        .collect()
}

/// (model name, its last panic message) for each failed model in libtest's output.
fn failures(out: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = out.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        else {
            continue;
        };
        let mut section = Vec::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("---- ") || *next == "failures:" {
                break;
            }
            section.push(lines.next().unwrap_or_default());
        }
        found.push((name.to_string(), last_panic(&section)));
    }
    found
}

fn last_panic(section: &[&str]) -> String {
    let Some(at) = section
        .iter()
        .rposition(|line| line.contains("panicked at"))
    else {
        return section.join("\n").trim().to_string();
    };
    section[at + 1..]
        .iter()
        .take_while(|line| !line.starts_with("note: ") && !line.starts_with("stack backtrace"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Runs `model` under every interleaving loom explores (see [`PREEMPTIONS`]).
/// `scenario` says in a line what the model does ("two takers wait, one putter
/// puts one item"); `deadlock_hint` says what usually leaves every thread asleep
/// in it. A model's own assertions say what went wrong in the learner's terms.
#[cfg(loom)]
#[track_caller]
pub fn check(scenario: &str, deadlock_hint: &str, model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(PREEMPTIONS);
    }
    builder.location = true;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| builder.check(model)));
    let Err(payload) = outcome else { return };
    let message = crate::panic_message(payload.as_ref());
    if message.starts_with("deadlock") {
        panic!(
            "Scenario: {scenario}\n\
             In one interleaving every thread ended up asleep, waiting for a wake-up nobody would send.\n\
             {}Likely cause: {deadlock_hint}",
            where_blocked(&message)
        );
    }
    if message.contains("maximum number of branches") {
        panic!(
            "Scenario: {scenario}\n\
             A thread kept looping without ever blocking, so the model never finishes.\n\
             Likely cause: a loop that re-checks instead of waiting (polling, or a passed deadline \
             that is never treated as a timeout)."
        );
    }
    panic!("Scenario: {scenario}\n{message}");
}

/// loom's threads, for models to start the scenario's threads with
/// (`lesson_support::models::thread::spawn`), so a lesson needs no loom line of
/// its own in Cargo.toml.
#[cfg(loom)]
pub use loom::thread;

#[cfg(any(loom, test))]
/// Where each thread of a loom deadlock report was blocked, one line each:
/// "thread 1 (spawned by the model) waits at src/lib.rs:88". loom names the
/// lines when its locations are on, which [`check`] turns on.
fn where_blocked(report: &str) -> String {
    let mut lines = String::new();
    for part in report.split("(Id(").skip(1) {
        let Some((id, rest)) = part.split_once(')') else {
            continue;
        };
        let Some(place) = rest.split_once("file: \"").and_then(|(_, after)| {
            let (file, after) = after.split_once('"')?;
            let line = after.split_once("line: ")?.1;
            let line: String = line.chars().take_while(char::is_ascii_digit).collect();
            Some(format!("{file}:{line}"))
        }) else {
            continue;
        };
        let who = if id == "0" {
            "the model's main thread".to_string()
        } else {
            format!("thread {id}")
        };
        lines.push_str(&format!("  {who} waits at {place}\n"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadlock_report_names_where_each_thread_waits() {
        let report = r#"deadlock; threads = [(Id(0), Blocked(Location(Some(Location { file: "tests/model.rs", line: 40, column: 9 })))), (Id(1), Blocked(Location(Some(Location { file: "src/lib.rs", line: 131, column: 30 })))), (Id(2), Terminated)]"#;
        assert_eq!(
            where_blocked(report),
            "  the model's main thread waits at tests/model.rs:40\n  thread 1 waits at src/lib.rs:131\n"
        );
    }

    #[test]
    fn two_builds_of_the_same_models_never_hold_the_lock_at_once() {
        let scratch = std::env::temp_dir().join(format!("models-lock-{}", std::process::id()));
        let first = BuildLock::acquire(&scratch, || panic!("nobody holds it yet")).unwrap();
        assert!(BuildLock::try_acquire(&scratch).unwrap().is_none());
        let (waited, saw) = mpsc::channel();
        let second = std::thread::spawn({
            let scratch = scratch.clone();
            move || {
                BuildLock::acquire(&scratch, || waited.send(()).unwrap()).unwrap();
            }
        });
        saw.recv_timeout(Duration::from_secs(5))
            .expect("the second build says it waits");
        drop(first);
        second.join().unwrap();
        assert!(BuildLock::try_acquire(&scratch).unwrap().is_some());
        let _ = fs::remove_dir_all(&scratch);
    }

    #[test]
    fn models_without_a_verdict_are_named() {
        let names = ["a", "b", "c"].map(String::from);
        let out = "running 3 tests\ntest a ... ok\ntest c ... FAILED\n";
        assert_eq!(unfinished(&names, out), ["b"]);
    }

    #[test]
    fn the_executable_is_read_from_cargo_s_message() {
        let line = r#"{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/a \"b\"\\c","fresh":true}"#;
        assert_eq!(executable_of(line).as_deref(), Some(r#"/t/a "b"\c"#));
    }

    #[test]
    fn each_failed_model_keeps_its_last_panic_message() {
        let out = "running 2 tests\n\
                   test a ... ok\n\
                   test b ... FAILED\n\n\
                   failures:\n\n\
                   ---- b stdout ----\n\
                   thread 'main' panicked at src/lib.rs:1:1:\n\
                   loom's own noise\n\
                   thread 'b' panicked at tests/model.rs:9:5:\n\
                   Scenario: two takers\n\
                   taker 1 got None\n\
                   note: run with `RUST_BACKTRACE=1`\n\n\
                   failures:\n    b\n";
        assert_eq!(
            failures(out),
            [(
                "b".to_string(),
                "Scenario: two takers\ntaker 1 got None".to_string()
            )]
        );
    }
}
