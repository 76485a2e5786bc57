//! `cargo xtask verify`: proves the lesson contract for every lesson.
//!
//! For each lesson, without building anything ([`layout`]): the starter has
//! `todo!()`s and equals its solution outside the learner's function bodies,
//! the lesson takes the kit's lints, every `#[should_panic]` names what it
//! expects, every "Break it" bullet of its chapter names an existing mistake
//! patch, and its mutants allow-list reads. Then, in a scratch copy of the
//! kit, each variant of the code is built once (and its loom models warmed,
//! outside any test's time limit) and its tests are run one process each:
//!
//! - the starter: every test fails, none hangs;
//! - the solution: every test passes on every one of `--repeat` runs, within
//!   the limit; its examples run to their end; clippy finds nothing;
//! - each known mistake (`mistakes/*.patch` applied to the solution): some
//!   test fails on every one of `--repeat` runs, and none hangs.
//!
//! Lessons are spread over `--jobs` lanes, each a scratch copy with a target
//! dir of its own, so one lane's build overlaps another's tests.
//!
//! What keeps it fast: a mistake's recorded catchers ([`signatures`]) run
//! first, so most mistakes cost one build and one test; the loom models are
//! built only when a variant's models test is about to run; a failing property
//! test of a mistake does not shrink (only the solution's and the learner's
//! failures need the smallest input); and the scratch builds carry no debug
//! info, which nothing here reads.

mod layout;
mod report;
mod signatures;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

pub use self::report::{LessonReport, render, render_catches};
use crate::compile;
use crate::compile::{Targets, TestBinary};
use crate::kit::{self, Lesson, Mistake};
use crate::models;
use crate::place::Place;
use crate::runner::{self, Status, TestRun};
use crate::scratch::Scratch;

/// An example may build and run this many times as long as one test: it is a
/// whole program (the lesson's measurements), built on first use.
pub const EXAMPLE_LIMIT_FACTOR: u32 = 12;

/// What `verify` is asked to do.
pub struct Options<'a> {
    /// The kit to verify.
    pub root: &'a Path,
    /// Lesson numbers to verify; empty means all.
    pub only: &'a [String],
    /// A folder of verify's own, for its scratch copies of the kit and their builds.
    pub work_dir: &'a Path,
    /// Hard limit for one test (and, times [`EXAMPLE_LIMIT_FACTOR`], for one example).
    pub limit: Duration,
    /// Which mistakes run every test (to list all that catch it and record
    /// their signatures), rather than stopping at the first failure.
    pub record: Record,
    /// How many times to run the solution's tests and each mistake's.
    pub repeat: u32,
    /// How many lessons to verify at once, each in a scratch copy of its own.
    pub jobs: usize,
    /// Whether to build and check each known mistake (`false` leaves the
    /// contract's starter and solution only).
    pub mistakes: bool,
}

/// Which mistakes' signatures a run records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// None: each mistake runs until a test fails, and its record must be current.
    Nothing,
    /// Every mistake's (`--catches`): every test runs against each one and
    /// the lesson's record is rewritten.
    Everything,
    /// Only those of mistakes with no record yet (`--record-new`): a mistake
    /// just added costs every test, the others one; the rest of the record
    /// is kept as it was.
    New,
}

/// Verifies the lessons; returns a report per lesson, in lesson order.
pub fn verify(options: &Options<'_>) -> Result<Vec<LessonReport>> {
    let lessons = kit::lessons(options.root, options.only).context("cannot read the lessons")?;
    if lessons.is_empty() {
        bail!(
            "no lessons found under {}",
            options.root.join("lessons").display()
        );
    }
    // The lessons with the most mistakes (the most builds) first, so that no
    // lane is left with a long lesson while the other has finished.
    let mut order: Vec<&Lesson> = lessons.iter().collect();
    order.sort_by_key(|lesson| std::cmp::Reverse(lesson.mistakes().map_or(0, |m| m.len())));
    let pending = Mutex::new(order.into_iter().collect::<VecDeque<&Lesson>>());
    let reports = Mutex::new(Vec::new());
    let lanes = options.jobs.clamp(1, lessons.len());
    thread::scope(|scope| {
        let lanes: Vec<_> = (0..lanes)
            .map(|lane| {
                let (pending, reports) = (&pending, &reports);
                scope.spawn(move || run_lane(lane, options, pending, reports))
            })
            .collect();
        lanes
            .into_iter()
            .try_for_each(|lane| lane.join().expect("a verify lane panicked"))
    })?;
    let mut reports = reports.into_inner().unwrap_or_else(PoisonError::into_inner);
    reports.sort_by(|a: &LessonReport, b| a.slug.cmp(&b.slug));
    Ok(reports)
}

/// One lane: a scratch copy of the kit that verifies lessons from `pending`
/// until none is left.
fn run_lane(
    lane: usize,
    options: &Options<'_>,
    pending: &Mutex<VecDeque<&Lesson>>,
    reports: &Mutex<Vec<LessonReport>>,
) -> Result<()> {
    let base = options.work_dir.join(format!("lane-{lane}"));
    let scratch = Scratch::create(options.root, &base)
        .with_context(|| format!("cannot copy the kit to {}", base.display()))?;
    loop {
        let next = pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let Some(lesson) = next else {
            return Ok(());
        };
        let started = Instant::now();
        let mut report = verify_lesson(&scratch, lesson, options);
        report.took = started.elapsed();
        eprintln!(
            "  {:<22} {:<6} {:>6.1}s",
            report.slug,
            if report.breaches.is_empty() {
                "ok"
            } else {
                "BREACH"
            },
            report.took.as_secs_f64()
        );
        reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(report);
    }
}

/// The steps for one lesson, in order; a step that cannot go on says why in
/// the report and the steps that need it are skipped.
fn verify_lesson(scratch: &Scratch, lesson: &Lesson, options: &Options<'_>) -> LessonReport {
    let mut report = LessonReport::new(&lesson.slug, options.repeat);
    report.mistakes_checked = options.mistakes;
    layout::check(options.root, lesson, &mut report.breaches);
    let Some(tests) = check_starter(scratch, lesson, options.limit, &mut report) else {
        return report;
    };
    if !lesson.solution.join("src").is_dir() {
        report
            .breaches
            .push(format!("no solution at {}", lesson.solution.display()));
        return report;
    }
    if check_solution(scratch, lesson, options, tests, &mut report) {
        // Still laid out with the solution: the examples and clippy need finished code.
        run_examples(
            scratch,
            lesson,
            options.limit * EXAMPLE_LIMIT_FACTOR,
            &mut report,
        );
        run_clippy(scratch, lesson, &mut report);
    }
    if options.mistakes {
        check_mistakes(scratch, lesson, options, &mut report);
    }
    report
}

/// One version of a lesson's `src/`: the starter, with overlays laid over it and
/// a patch applied.
struct Variant<'a> {
    /// How breaches name it: "the starter", "mistake one-sentinel-for-all".
    what: &'a str,
    overlays: &'a [&'a Path],
    patch: Option<&'a Path>,
    /// What to build: all a learner's `cargo test` builds, or only the tests.
    targets: Targets,
}

/// One test of a built variant.
#[derive(Debug, Clone)]
struct Test {
    binary: TestBinary,
    name: String,
}

/// Lays out `variant` and builds its tests; returns them, or `None` (with a
/// breach saying why). Its loom models are built later, by [`Models`], only
/// if its models test runs.
fn build_variant(
    scratch: &Scratch,
    lesson: &Lesson,
    variant: &Variant<'_>,
    report: &mut LessonReport,
) -> Option<Vec<Test>> {
    let what = variant.what;
    if let Err(e) = scratch.prepare(lesson, variant.overlays, variant.patch) {
        report
            .breaches
            .push(format!("cannot lay out {what}: {e:#}"));
        return None;
    }
    let started = Instant::now();
    let built = scratch.build(&lesson.package, variant.targets);
    report.spent.building += started.elapsed();
    let binaries = match built {
        Ok(binaries) => binaries,
        Err(e) => {
            let first_error = match e.downcast_ref::<compile::CompileError>() {
                Some(failed) => compile::first_error(&failed.messages)
                    .lines()
                    .next()
                    .unwrap_or("(see cargo's output)")
                    .to_string(),
                None => format!("{e:#}"),
            };
            report
                .breaches
                .push(format!("{what} does not compile: {first_error}"));
            return None;
        }
    };
    let mut tests = Vec::new();
    for binary in binaries {
        match runner::list_tests(&Place::here(), &binary) {
            Ok(names) => tests.extend(names.into_iter().map(|name| Test {
                binary: binary.clone(),
                name,
            })),
            Err(e) => {
                report
                    .breaches
                    .push(format!("cannot list the tests of {what}: {e}"));
                return None;
            }
        }
    }
    Some(tests)
}

/// Whether a failing property test shrinks its input (the solution's and
/// the starter's runs, and `--catches`, whose messages are read) or stops at
/// the first failing case (a mistake's runs: only "caught" counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shrink {
    Yes,
    No,
}

/// Runs one test; a failure to start it at all is a breach and no run.
fn run(test: &Test, limit: Duration, shrink: Shrink, report: &mut LessonReport) -> Option<TestRun> {
    let place = match shrink {
        Shrink::Yes => Place::here(),
        // proptest's own setting, which lesson-support's oracles honour.
        Shrink::No => Place::here().with_env("PROPTEST_MAX_SHRINK_ITERS", "0"),
    };
    let started = Instant::now();
    let ran = runner::run_test(&place, &test.binary, &test.name, limit);
    report.spent.testing += started.elapsed();
    match ran {
        Ok(run) => Some(run),
        Err(e) => {
            report
                .breaches
                .push(format!("cannot run {}: {e}", test.name));
            None
        }
    }
}

/// A built variant's loom models, built on first need: just before its
/// models test runs (a test named `every_interleaving_…`, which calls
/// `lesson_support::run_models!`), outside that test's time limit.
struct Models<'a> {
    scratch: &'a Scratch,
    lesson: &'a Lesson,
    warm: bool,
}

impl<'a> Models<'a> {
    fn new(scratch: &'a Scratch, lesson: &'a Lesson) -> Self {
        Models {
            scratch,
            lesson,
            warm: false,
        }
    }

    /// Builds the models if `test` is the one that runs them and they are not built yet.
    fn before(&mut self, test: &Test, what: &str, report: &mut LessonReport) {
        if self.warm || !is_models_test(&test.name) {
            return;
        }
        self.warm = true;
        let started = Instant::now();
        let warmed = models::warm(
            self.lesson,
            &self.scratch.lesson_dir(self.lesson),
            self.scratch.target_dir(),
            || (),
        );
        report.spent.models += started.elapsed();
        match warmed {
            Ok(Some(took)) => {
                report.models_built.get_or_insert(took);
            }
            Ok(None) => {}
            Err(e) => report
                .breaches
                .push(format!("cannot build the loom models of {what}: {e:#}")),
        }
    }
}

/// Whether `name` (`binary::module::test`) is a lesson's models test.
fn is_models_test(name: &str) -> bool {
    name.rsplit("::")
        .next()
        .is_some_and(|test| test.starts_with("every_interleaving"))
}

/// The starter compiles, and every test fails on it: none passes, none hangs.
/// Returns how many tests the lesson has.
fn check_starter(
    scratch: &Scratch,
    lesson: &Lesson,
    limit: Duration,
    report: &mut LessonReport,
) -> Option<usize> {
    let variant = Variant {
        what: "the starter",
        overlays: &[],
        patch: None,
        targets: Targets::Every,
    };
    let tests = build_variant(scratch, lesson, &variant, report)?;
    report.tests = tests.len();
    if tests.is_empty() {
        report.breaches.push("the lesson has no tests".into());
    }
    if lesson.has_models() && !tests.iter().any(|t| is_models_test(&t.name)) {
        report.breaches.push(
            "the lesson has loom models (tests/model.rs) but no test named every_interleaving_… to run \
             them (verify builds the models just before that test)"
                .into(),
        );
    }
    let mut models = Models::new(scratch, lesson);
    for test in &tests {
        models.before(test, variant.what, report);
        let Some(run) = run(test, limit, Shrink::Yes, report) else {
            continue;
        };
        match run.status {
            Status::Failed => report.starter_failing += 1,
            Status::Passed => report.breaches.push(format!(
                "{} passes on the starter: it tests nothing the learner writes",
                run.name
            )),
            Status::TimedOut => report.breaches.push(format!(
                "{} hangs on the starter (killed after {limit:?})",
                run.name
            )),
        }
    }
    Some(tests.len())
}

/// How one test fared over the repeated runs of the solution.
#[derive(Default)]
struct Tally {
    /// `binary::test`, as the runs name it.
    shown: String,
    passed: u32,
    timed_out: u32,
    first_failure: Option<String>,
}

/// Every test passes with the solution, within the limit, on every run.
/// Returns whether the solution built (the examples and clippy need it).
fn check_solution(
    scratch: &Scratch,
    lesson: &Lesson,
    options: &Options<'_>,
    starter_tests: usize,
    report: &mut LessonReport,
) -> bool {
    let overlay = [lesson.solution.as_path()];
    let variant = Variant {
        what: "the solution",
        overlays: &overlay,
        patch: None,
        targets: Targets::Every,
    };
    let Some(tests) = build_variant(scratch, lesson, &variant, report) else {
        return false;
    };
    let mut tallies: Vec<Tally> = tests.iter().map(|_| Tally::default()).collect();
    let mut models = Models::new(scratch, lesson);
    for _ in 0..options.repeat {
        for (test, tally) in tests.iter().zip(&mut tallies) {
            models.before(test, variant.what, report);
            let Some(run) = run(test, options.limit, Shrink::Yes, report) else {
                continue;
            };
            tally.shown.clone_from(&run.name);
            if report
                .slowest
                .as_ref()
                .is_none_or(|(_, d)| run.duration > *d)
            {
                report.slowest = Some((run.name.clone(), run.duration));
            }
            match run.status {
                Status::Passed => tally.passed += 1,
                Status::Failed => {
                    tally.first_failure.get_or_insert_with(|| runner::why(&run));
                }
                Status::TimedOut => tally.timed_out += 1,
            }
        }
    }
    let (repeat, limit) = (options.repeat, options.limit);
    for (test, tally) in tests.iter().zip(&tallies) {
        let name = if tally.shown.is_empty() {
            &test.name
        } else {
            &tally.shown
        };
        if tally.passed == repeat {
            report.solution_passing += 1;
            continue;
        }
        let runs = if repeat > 1 {
            format!(" in {} of {repeat} runs", repeat - tally.passed)
        } else {
            String::new()
        };
        if let Some(why) = &tally.first_failure {
            report
                .breaches
                .push(format!("{name} fails with the solution{runs}: {why}"));
        }
        if tally.timed_out > 0 {
            report.breaches.push(format!(
                "{name} hangs with the solution (killed after {limit:?}){}",
                if repeat > 1 {
                    format!(" in {} of {repeat} runs", tally.timed_out)
                } else {
                    String::new()
                }
            ));
        }
        if repeat > 1 && tally.passed > 0 {
            report.flaky.push(format!(
                "{name}: passed {} of {repeat} runs with the solution",
                tally.passed
            ));
        }
    }
    if tests.len() != starter_tests {
        report.breaches.push(format!(
            "{starter_tests} tests on the starter but {} with the solution",
            tests.len()
        ));
    }
    true
}

/// Every example of the lesson must run to its end over the solution: a learner
/// runs them once their code is done, and an example that panics or hangs then
/// would be the kit's fault, not theirs.
fn run_examples(scratch: &Scratch, lesson: &Lesson, limit: Duration, report: &mut LessonReport) {
    let examples = match lesson.examples() {
        Ok(examples) => examples,
        Err(e) => {
            report
                .breaches
                .push(format!("cannot list the examples: {e}"));
            return;
        }
    };
    report.examples = examples.len();
    for example in &examples {
        match scratch.run_example(&lesson.package, example, limit) {
            Ok(run) => match run.status {
                Status::Passed => report.examples_ok += 1,
                Status::Failed => report.breaches.push(format!(
                    "example {example} fails with the solution: {}",
                    runner::why(&run)
                )),
                Status::TimedOut => report.breaches.push(format!(
                    "example {example} runs past {limit:?} with the solution"
                )),
            },
            Err(e) => report
                .breaches
                .push(format!("cannot run example {example}: {e}")),
        }
    }
}

/// Clippy, warnings denied, on the solution laid over the lesson: the
/// workspace's clippy sees only the starters, whose bodies are `todo!()`.
fn run_clippy(scratch: &Scratch, lesson: &Lesson, report: &mut LessonReport) {
    let output = Command::new(kit::cargo())
        .args([
            "clippy",
            "--quiet",
            "--all-targets",
            "--message-format=short",
        ])
        .args(["--package", &lesson.package])
        .arg("--manifest-path")
        .arg(scratch.manifest())
        .args(["--", "-D", "warnings"])
        .env("CARGO_TARGET_DIR", scratch.target_dir())
        .env("CARGO_TERM_COLOR", "never")
        .stdin(Stdio::null())
        .output();
    match output {
        Ok(output) if output.status.success() => report.clippy_clean = Some(true),
        Ok(output) => {
            report.clippy_clean = Some(false);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let findings: Vec<&str> = stderr
                .lines()
                .filter(|line| line.contains("error") || line.contains("warning"))
                .filter(|line| !line.starts_with("error: could not compile"))
                .take(3)
                .collect();
            report.breaches.push(format!(
                "clippy (-D warnings) on the solution: {}",
                if findings.is_empty() {
                    stderr.trim().lines().last().unwrap_or("failed").to_string()
                } else {
                    findings.join(" | ")
                }
            ));
        }
        Err(e) => report
            .breaches
            .push(format!("could not run cargo clippy: {e}")),
    }
}

/// Each known mistake: some test fails on every run, and none hangs; its
/// recorded signature is current (and, with `--catches`, rewritten).
fn check_mistakes(
    scratch: &Scratch,
    lesson: &Lesson,
    options: &Options<'_>,
    report: &mut LessonReport,
) {
    let mistakes = lesson.mistakes().unwrap_or_default();
    report.mistakes = mistakes.len();
    if mistakes.is_empty() {
        report.breaches.push(
            "no known mistakes kept in mistakes/*.patch: nothing shows the tests catch anything"
                .into(),
        );
    }
    let recorded = match signatures::read(&lesson.solution) {
        Ok(recorded) => recorded,
        Err(e) => {
            report.breaches.push(format!("{e:#}"));
            None
        }
    };
    // With --catches the record is rewritten from the mistakes there are: a
    // name left over from a removed one goes with it.
    if let Some(recorded) = recorded
        .as_ref()
        .filter(|_| options.record != Record::Everything)
    {
        for name in recorded.keys() {
            if !mistakes.iter().any(|m| m.name == *name) {
                report.breaches.push(format!(
                    "{} names a mistake that is not in mistakes/: {name} (run `cargo xtask verify {} --catches`)",
                    signatures::FILE,
                    lesson.number
                ));
            }
        }
    }
    let mut found = signatures::Signatures::new();
    let overlay = [lesson.solution.as_path()];
    for mistake in &mistakes {
        let started = Instant::now();
        let what = format!("mistake {}", mistake.name);
        let variant = Variant {
            what: &what,
            overlays: &overlay,
            patch: Some(&mistake.patch),
            // Only the tests catch a mistake; the solution's build has
            // already shown that the examples compile.
            targets: Targets::IntegrationTests,
        };
        let Some(tests) = build_variant(scratch, lesson, &variant, report) else {
            continue;
        };
        let signature = recorded.as_ref().and_then(|r| r.get(&mistake.name));
        let every_test = match options.record {
            Record::Nothing => false,
            Record::Everything => true,
            Record::New => signature.is_none(),
        };
        if recorded.is_some() && signature.is_none() && options.record == Record::Nothing {
            report.breaches.push(format!(
                "mistake {} has no recorded signature in {}: run `cargo xtask verify {} --catches`",
                mistake.name,
                signatures::FILE,
                lesson.number
            ));
        }
        let mut models = Models::new(scratch, lesson);
        let caught = check_mistake(
            mistake,
            &tests,
            signature,
            every_test,
            &mut models,
            options,
            report,
        );
        report
            .spent
            .mistakes
            .push((mistake.name.clone(), started.elapsed()));
        if !every_test {
            // Only the first catcher ran: the record keeps what it had.
            if let Some(signature) = signature {
                found.insert(mistake.name.clone(), signature.clone());
            }
            continue;
        }
        found.insert(
            mistake.name.clone(),
            signatures::Signature {
                fails: caught.iter().map(|(name, _)| name.clone()).collect(),
                messages: caught
                    .into_iter()
                    .map(|(name, why)| (name, signatures::fingerprint(&why)))
                    .collect(),
            },
        );
    }
    if options.record != Record::Nothing
        && let Err(e) = signatures::write(&lesson.solution, &found)
    {
        report.breaches.push(format!("{e:#}"));
    }
}

/// Runs the tests against one built mistake, `repeat` times. Each run tries
/// first the tests that caught it before (its recorded signature, then this
/// run's), and stops at the first that fails (unless every catcher is
/// wanted). Returns the tests that caught it, in test order, each with its
/// first failure message.
fn check_mistake(
    mistake: &Mistake,
    tests: &[Test],
    signature: Option<&signatures::Signature>,
    every_test: bool,
    models: &mut Models<'_>,
    options: &Options<'_>,
    report: &mut LessonReport,
) -> Vec<(String, String)> {
    let what = format!("mistake {}", mistake.name);
    let (repeat, limit) = (options.repeat, options.limit);
    // Shrinking only makes a message smaller; --catches keeps the messages.
    let shrink = if every_test { Shrink::Yes } else { Shrink::No };
    // test index -> (times it caught the mistake, how it is shown, its first message)
    let mut catchers: BTreeMap<usize, (u32, String, String)> = BTreeMap::new();
    let mut hung: Vec<String> = Vec::new();
    let mut caught_runs = 0;
    let recorded_order = signatures::order(signature, tests.len(), |i| tests[i].name.clone());
    for _ in 0..repeat {
        let mut order = recorded_order.clone();
        // A stable sort keeps the recorded order among tests that caught it
        // equally often in this run.
        order.sort_by_key(|i| std::cmp::Reverse(catchers.get(i).map_or(0, |c| c.0)));
        let mut caught = false;
        for index in order {
            models.before(&tests[index], &what, report);
            let Some(run) = run(&tests[index], limit, shrink, report) else {
                continue;
            };
            match run.status {
                Status::Passed => continue,
                Status::TimedOut => {
                    if !hung.contains(&run.name) {
                        hung.push(run.name.clone());
                    }
                    continue;
                }
                Status::Failed => {
                    caught = true;
                    let entry = catchers.entry(index).or_insert_with(|| {
                        let why = runner::why(&run);
                        (0, format!("{} — {why}", run.name), why)
                    });
                    entry.0 += 1;
                    if !every_test {
                        break;
                    }
                }
            }
        }
        caught_runs += u32::from(caught);
    }
    for name in hung {
        report.breaches.push(format!(
            "{what} makes {name} hang past {limit:?}: that test needs a watchdog"
        ));
    }
    if caught_runs == repeat {
        report.caught += 1;
    } else if caught_runs == 0 {
        report.breaches.push(format!("{what} is caught by no test"));
    } else {
        report.breaches.push(format!(
            "{what} is caught in only {caught_runs} of {repeat} runs (flaky)"
        ));
        report
            .flaky
            .push(format!("{what}: caught in {caught_runs} of {repeat} runs"));
    }
    // Is the record still current? (`signatures::stale` says when not, and why.)
    if !every_test
        && caught_runs > 0
        && let Some(signature) = signature.filter(|s| !s.fails.is_empty())
    {
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        let caught_by: Vec<&str> = catchers.keys().map(|&i| tests[i].name.as_str()).collect();
        let stale = signatures::stale(signature, &names, &caught_by);
        if let Some(why) = stale {
            report.breaches.push(format!(
                "{what}: its recorded signature {why}: run `cargo xtask verify {} --catches` \
                 to record what catches it now",
                models.lesson.number
            ));
        }
    }
    for (times, first, _) in catchers.values() {
        let runs = if repeat > 1 {
            format!(" ({times}/{repeat} runs)")
        } else {
            String::new()
        };
        report
            .caught_by
            .push((mistake.name.clone(), format!("{first}{runs}")));
    }
    catchers
        .into_iter()
        .map(|(i, (_, _, why))| (tests[i].name.clone(), why))
        .collect()
}
