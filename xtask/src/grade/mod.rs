//! `cargo xtask grade DIR…`: an instructor's view of learners' copies of the kit.
//!
//! Each learner's `src/` files are run against *this* kit's tests (a learner may
//! have edited theirs), each test alone in its own process, sandboxed and held
//! to [limits] (see [`crate::sandbox`], [`workspace`]). A test passes
//! only on the kit's own verdict, sent on a channel the code under test does
//! not share ([`lesson_support::verdict`]), never on what the test printed;
//! code that reaches for the harness has its passes held for [review]. The
//! learner's own `#[test]`s are never built. One row per learner and lesson,
//! one line per learner, written to the report folder before the first copy
//! and after every copy.

mod build_failure;
#[cfg(target_os = "linux")]
mod channel;
mod confine;
pub mod limits;
mod look;
mod record;
pub mod report;
mod review;
mod test_place;
mod trial;
mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use crate::kit::{self, Lesson};
use crate::sandbox::Sandbox;
use crate::submission::{self, Submission};
use confine::Runner;
use limits::{Cgroups, Limits};
use look::first_look;
use record::{Record, copy_fingerprint, kit_fingerprint};
use report::{Class, LimitsReport, Row, State};
use trial::{Job, Status, TestResult};
use workspace::{Slot, Template};

pub use report::{render, render_csv};

/// What to grade, and how.
pub struct Options<'a> {
    /// The instructor's kit, whose tests grade.
    pub kit_root: &'a Path,
    /// The learners' copies.
    pub copies: &'a [PathBuf],
    /// Lesson numbers to grade; empty means all.
    pub only: &'a [String],
    /// A folder of grade's own, for its build trees.
    pub work_dir: &'a Path,
    /// Where the report files go.
    pub out: &'a Path,
    /// Hard limit for one run of one test.
    pub limit: Duration,
    /// Hard limit for the whole grading; what is not graded by then says so.
    pub total_limit: Option<Duration>,
    /// Test processes run at once.
    pub jobs: usize,
    /// Whether to use bubblewrap when the machine has it.
    pub sandbox: bool,
    /// What each build and test may use.
    pub limits: Limits,
    /// Runs of each test of a lesson that differs from the solution.
    pub runs: u32,
    /// Keep the grades of copies finished in an earlier grading (same files,
    /// same kit, same options) instead of grading them again.
    pub resume: bool,
}

/// Grades every copy; see the module's documentation.
pub fn grade(options: &Options<'_>) -> Result<Class> {
    let started = Instant::now();
    let deadline = options.total_limit.map(|limit| started + limit);
    let lessons =
        kit::lessons(options.kit_root, options.only).context("cannot read the lessons")?;
    anyhow::ensure!(
        !lessons.is_empty(),
        "no lessons found under {}",
        options.kit_root.join("lessons").display()
    );
    let slugs: Vec<String> = lessons.iter().map(|l| l.slug.clone()).collect();
    let submissions = read_all(options.copies, &slugs)?;
    let runner = runner(options)?;
    let record = Record::at(options.out)?;
    eprintln!(
        "  reports go to {} (written now and after each copy)",
        record.dir().display()
    );
    eprintln!("  building the kit's solutions (the template every copy starts from)");
    let template = Template::prepare(
        options.kit_root,
        &lessons,
        &options.work_dir.join("template"),
        &runner,
        options.limit,
    )?;
    check_channel(&template)?;
    let slot = Slot::new(&options.work_dir.join("slot"));
    let kit_print = kit_fingerprint(options, &lessons, &template)?;
    // Every report written lists every copy, those not reached yet as
    // not_graded: an interrupt before the first copy is done still leaves one.
    let not_reached = |from: usize| -> Vec<Row> {
        let mut rows: Vec<Row> = submissions[from..]
            .iter()
            .flat_map(|submission| {
                lessons
                    .iter()
                    .map(|lesson| first_look(lesson, submission, &template).0)
            })
            .collect();
        mark_not_graded(&mut rows, NOT_REACHED);
        rows
    };
    record.write(&class(options, &runner, not_reached(0), started, false))?;
    let mut rows = Vec::new();
    let mut cut_short = false;
    for (i, submission) in submissions.iter().enumerate() {
        let print = copy_fingerprint(&kit_print, submission);
        if options.resume
            && let Some(kept) = record.finished(&submission.learner, &print)
        {
            eprintln!("  {}: graded before, kept", submission.learner);
            rows.extend(kept);
            continue;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            cut_short = true;
            let mut copy_rows: Vec<Row> = lessons
                .iter()
                .map(|lesson| first_look(lesson, submission, &template).0)
                .collect();
            mark_not_graded(&mut copy_rows, "the whole grading's time limit was reached");
            rows.extend(copy_rows);
            continue;
        }
        let copy_started = Instant::now();
        eprint!(
            "  grading {} ({}/{}) …",
            submission.learner,
            i + 1,
            submissions.len()
        );
        let copy_rows = grade_copy(
            options, &lessons, &template, &slot, &runner, submission, deadline,
        )
        .unwrap_or_else(|error| {
            let mut rows: Vec<Row> = lessons
                .iter()
                .map(|lesson| first_look(lesson, submission, &template).0)
                .collect();
            mark_not_graded(
                &mut rows,
                &trial::bounded(&format!("this copy could not be graded: {error:#}")),
            );
            rows
        });
        eprintln!(" {:.1} s", copy_started.elapsed().as_secs_f64());
        let finished_in_time = deadline.is_none_or(|d| Instant::now() < d);
        if finished_in_time {
            record.keep(&submission.learner, &print, &copy_rows)?;
        } else {
            cut_short = true;
        }
        rows.extend(copy_rows);
        let mut shown = rows.clone();
        shown.extend(not_reached(i + 1));
        record.write(&class(options, &runner, shown, started, cut_short))?;
    }
    if let Some(cgroups) = &runner.cgroups {
        cgroups.clear();
    }
    let class = class(options, &runner, rows, started, cut_short);
    record.write(&class)?;
    Ok(class)
}

/// Why a copy's lessons are not graded in a report written before the
/// grading reached it.
const NOT_REACHED: &str =
    "not graded: the grading had not reached this copy when this report was written";

/// Fails unless every test binary of the kit carries the kit's side of the
/// verdict channel: without it, no test of that binary could pass.
fn check_channel(template: &Template) -> Result<()> {
    for (slug, binaries) in &template.binaries {
        let tests = &template.tests[slug];
        // A binary with no test to grade (tests/model.rs outside loom) needs none.
        for binary in binaries
            .iter()
            .filter(|b| tests.iter().any(|t| t.target == b.target))
        {
            if !trial::carries_channel(&template.place, binary)? {
                anyhow::bail!(
                    "the kit's test binary {} of {slug} does not carry the grader's verdict channel: \
                     tests/{}.rs must use lesson-support (`use lesson_support as _;` is enough), \
                     or no test in it can pass when graded",
                    binary.target,
                    binary.target
                );
            }
        }
    }
    Ok(())
}

/// The sandbox, the limits and the cgroups holding them; says on stderr
/// what this machine cannot give.
fn runner(options: &Options<'_>) -> Result<Runner> {
    let cargo = PathBuf::from(kit::cargo());
    let bwrap = if options.sandbox {
        Sandbox::bubblewrap(&cargo, options.limits.disk)?
    } else {
        None
    };
    let sandbox = match bwrap {
        Some(sandbox) => sandbox,
        None => {
            eprintln!(
                "WARNING: bubblewrap (bwrap) is not available: the learners' code runs NOT sandboxed, \
                 with your permissions. Grade untrusted copies on a machine with bubblewrap \
                 (Debian/Ubuntu: apt-get install bubblewrap)."
            );
            Sandbox::none(&cargo)?
        }
    };
    let cgroups = Cgroups::detect();
    match &cgroups {
        Some(cgroups) => limits::sweep(cgroups),
        None => eprintln!(
            "WARNING: no cgroup this grader may write: memory is limited per process (address \
             space), not per test, and the number of processes is not limited. See the \
             instructors' appendix."
        ),
    }
    Ok(Runner {
        sandbox,
        limits: options.limits,
        cgroups,
    })
}

fn class(
    options: &Options<'_>,
    runner: &Runner,
    rows: Vec<Row>,
    started: Instant,
    cut_short: bool,
) -> Class {
    let limits = &runner.limits;
    Class {
        sandboxed: runner.sandbox.sandboxed(),
        verdicts: if cfg!(all(target_os = "linux", target_env = "gnu")) {
            "channel"
        } else {
            "output"
        }
        .to_string(),
        limits: LimitsReport {
            test_seconds: options.limit.as_secs(),
            build_cpu_seconds: limits.build_cpu.as_secs(),
            memory_mib: limits.memory >> 20,
            processes: limits.processes,
            disk_mib: limits.disk >> 20,
            enforced_by: runner
                .cgroups
                .as_ref()
                .map_or("rlimits", Cgroups::version)
                .to_string(),
            runs: options.runs,
        },
        seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        cut_short,
        learners: report::summaries(&rows),
        rows,
    }
}

/// Reads every copy, naming each learner by the copy's folder (with its parent
/// too when two copies share a name).
fn read_all(copies: &[PathBuf], slugs: &[String]) -> Result<Vec<Submission>> {
    let name = |path: &Path, parents: usize| -> String {
        let parts: Vec<String> = path
            .components()
            .rev()
            .take(parents + 1)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.into_iter().rev().collect::<Vec<_>>().join("/")
    };
    let mut names: Vec<String> = copies.iter().map(|c| name(c, 0)).collect();
    for (i, copy) in copies.iter().enumerate() {
        if names.iter().filter(|n| **n == names[i]).count() > 1 {
            names[i] = name(copy, 1);
        }
    }
    copies
        .iter()
        .zip(names)
        .map(|(copy, learner)| submission::read(copy, learner, slugs))
        .collect()
}

fn grade_copy(
    options: &Options<'_>,
    lessons: &[Lesson],
    template: &Template,
    slot: &Slot,
    runner: &Runner,
    submission: &Submission,
    deadline: Option<Instant>,
) -> Result<Vec<Row>> {
    let mut identical = BTreeSet::new();
    let mut rows = Vec::new();
    for lesson in lessons {
        let (row, same) = first_look(lesson, submission, template);
        if same {
            identical.insert(lesson.slug.clone());
        }
        rows.push(row);
    }
    let graded: Vec<&Lesson> = lessons
        .iter()
        .zip(&rows)
        .filter(|(_, row)| row.state == State::Graded)
        .map(|(lesson, _)| lesson)
        .collect();
    if graded.is_empty() {
        return Ok(rows);
    }
    let prepared = slot.prepare(
        template,
        runner,
        &submission.lessons,
        lessons,
        &graded,
        deadline,
    )?;
    for (slug, why) in &prepared.failures {
        let row = row_of(&mut rows, slug);
        row.state = if why.starts_with("not built: the whole grading") {
            State::NotGraded
        } else {
            State::DoesNotCompile
        };
        row.note = Some(trial::bounded(why));
    }
    let unlisted = check_lists(template, &prepared, &graded)?;

    let mut jobs = Vec::new();
    let mut owners = Vec::new();
    for lesson in &graded {
        let (Some(binaries), Some(place)) = (
            prepared.binaries.get(&lesson.slug),
            prepared.places.get(&lesson.slug),
        ) else {
            continue;
        };
        let runs = if identical.contains(&lesson.slug) {
            1
        } else {
            options.runs
        };
        let models = &template.model_tests[&lesson.slug];
        for test in &template.tests[&lesson.slug] {
            let binary = binaries.iter().find(|b| b.target == test.target);
            let missing = binary.is_none() || unlisted.contains(&test.target);
            let (Some(binary), false) = (binary, missing) else {
                row_of(&mut rows, &lesson.slug).tests.push(not_run(
                    test,
                    "the kit's test binary built with this copy does not list the kit's tests",
                ));
                continue;
            };
            jobs.push(Job {
                place,
                binary,
                name: &test.name,
                models: models.contains(workspace::last_part(&test.name)),
                runs,
            });
            owners.push(lesson.slug.clone());
        }
    }
    // The tests that run loom models go after the others, among themselves:
    // their nested builds would take the cores from tests that measure time.
    let mut results: Vec<Option<TestResult>> = jobs.iter().map(|_| None).collect();
    for models in [false, true] {
        let batch: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].models == models)
            .collect();
        let batch_jobs: Vec<Job<'_>> = batch.iter().map(|&i| jobs[i]).collect();
        let ran = trial::run_all(&batch_jobs, options.limit, deadline, options.jobs)?;
        for (i, result) in batch.into_iter().zip(ran) {
            results[i] = result;
        }
    }
    for (owner, result) in owners.iter().zip(results) {
        let row = row_of(&mut rows, owner);
        match result {
            Some(result) => row.tests.push(result),
            None => {
                row.note =
                    Some("the whole grading's time limit was reached before every test ran".into())
            }
        }
    }
    for row in rows.iter_mut().filter(|r| r.state == State::Graded) {
        row.count();
        if row.tests.is_empty() && row.note.is_some() {
            row.state = State::NotGraded;
        }
    }
    Ok(rows)
}

/// The test binaries (by target) that do not list exactly the kit's tests:
/// `--exact` on a name a binary lacks runs nothing and exits 0.
fn check_lists(
    template: &Template,
    prepared: &workspace::Prepared,
    graded: &[&Lesson],
) -> Result<BTreeSet<String>> {
    let mut unlisted = BTreeSet::new();
    let Some(place) = graded.iter().find_map(|l| prepared.places.get(&l.slug)) else {
        return Ok(unlisted);
    };
    let binaries: Vec<_> = graded
        .iter()
        .filter_map(|l| prepared.binaries.get(&l.slug))
        .flatten()
        .cloned()
        .collect();
    if binaries.is_empty() {
        return Ok(unlisted);
    }
    let listed = place.list(&binaries, false)?;
    for lesson in graded {
        let mut expected: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for test in &template.tests[&lesson.slug] {
            expected.entry(&test.target).or_default().insert(&test.name);
        }
        for (target, names) in expected {
            let listing = listed.get(target).cloned().unwrap_or_default();
            let found: BTreeSet<&str> = listing.all.iter().map(String::as_str).collect();
            if !names.is_subset(&found) {
                unlisted.insert(target.to_string());
            }
        }
    }
    Ok(unlisted)
}

fn not_run(test: &workspace::KitTest, why: &str) -> TestResult {
    TestResult {
        name: format!("{}::{}", test.target, test.name),
        status: Status::Failed,
        runs: 0,
        failures: 0,
        seconds: 0.0,
        message: Some(why.to_string()),
    }
}

fn row_of<'a>(rows: &'a mut [Row], slug: &str) -> &'a mut Row {
    rows.iter_mut()
        .find(|r| r.lesson == slug)
        .expect("a row per lesson")
}

fn mark_not_graded(rows: &mut [Row], why: &str) {
    for row in rows.iter_mut().filter(|r| r.state == State::Graded) {
        row.state = State::NotGraded;
        row.note = Some(why.to_string());
    }
}
