//! `cargo xtask grade DIR…`: an instructor's view of learners' copies of the kit.
//!
//! Each learner's `src/` files are run against *this* kit's tests (a learner may
//! have edited theirs), each test alone in its own process under a hard limit,
//! in a sandbox when the machine has bubblewrap (see [`crate::workspace`]). A
//! test counts as passed only when libtest says so for that test by name; the
//! learner's own `#[test]`s are never built. One row per learner and lesson.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::compile;
use crate::kit::{self, Lesson};
use crate::runner::{self, Status, TestRun};
use crate::sandbox;
use crate::submission::{self, LessonFiles, Submission};
use crate::workspace::{self, Slot, Template};

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
    /// Hard limit for one test.
    pub limit: Duration,
    /// Hard limit for the whole grading; what is not graded by then says so.
    pub total_limit: Option<Duration>,
    /// Tests run at once.
    pub jobs: usize,
    /// Whether to use bubblewrap when the machine has it.
    pub sandbox: bool,
}

/// Every learner's grades.
#[derive(Debug, Serialize)]
pub struct Class {
    /// Whether the learners' code ran inside bubblewrap.
    pub sandboxed: bool,
    /// Wall-clock time of the whole grading, in seconds.
    pub seconds: f64,
    /// One row per learner and lesson.
    pub rows: Vec<Row>,
}

/// One learner's grade for one lesson.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The copy's folder name.
    pub learner: String,
    /// `03-backpressure`.
    pub lesson: String,
    /// Whether and how it was graded.
    pub state: State,
    /// The kit's tests that libtest reported passed.
    pub passed: usize,
    /// Tests that failed, or ended with no verdict.
    pub failed: usize,
    /// Tests killed at the time limit.
    pub timed_out: usize,
    /// The kit's tests for the lesson.
    pub total: usize,
    /// Why it was not graded (refused, does not compile, out of time).
    pub note: Option<String>,
    /// Lines of the learner's code worth an instructor's look (code that ends
    /// the process, runs before `main`, …): never counted, but listed.
    pub review: Vec<String>,
    /// Every test's outcome.
    pub tests: Vec<TestRun>,
    /// How far each learner file is from the solution.
    pub files: Vec<FileDistance>,
}

/// Whether and how a lesson was graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Its tests ran.
    Graded,
    /// The copy has no such lesson.
    Missing,
    /// Its `src/` was refused (a link leaving the copy, a loop, a FIFO, too big).
    Refused,
    /// It does not compile.
    DoesNotCompile,
    /// The whole grading's time limit came first.
    NotGraded,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Graded => "graded",
            State::Missing => "missing",
            State::Refused => "refused",
            State::DoesNotCompile => "does_not_compile",
            State::NotGraded => "not_graded",
        }
    }
}

/// How far one learner file is from the solution's.
#[derive(Debug, Serialize)]
pub struct FileDistance {
    /// Relative to the lesson, e.g. `src/lib.rs`.
    pub file: PathBuf,
    /// Lines added plus lines removed to turn the learner's file into the
    /// solution's; `None` when the learner has no such file.
    pub lines_changed: Option<usize>,
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

    let bwrap = if options.sandbox {
        sandbox::bubblewrap()
    } else {
        None
    };
    if bwrap.is_none() {
        eprintln!(
            "WARNING: bubblewrap (bwrap) is not available: the learners' code runs NOT sandboxed, \
             with your permissions. Grade untrusted copies on a machine with bubblewrap \
             (Debian/Ubuntu: apt-get install bubblewrap)."
        );
    }
    eprintln!("  building the kit's solutions (the template every copy starts from)");
    let template = Template::prepare(
        options.kit_root,
        &lessons,
        &options.work_dir.join("template"),
        bwrap.clone(),
        options.limit,
    )?;
    let slot = Slot::new(&options.work_dir.join("slot"), bwrap.clone());
    let mut rows = Vec::new();
    for (i, submission) in submissions.iter().enumerate() {
        let copy_started = Instant::now();
        eprint!(
            "  grading {} ({}/{}) …",
            submission.learner,
            i + 1,
            submissions.len()
        );
        rows.extend(grade_copy(
            options, &lessons, &template, &slot, submission, deadline,
        )?);
        eprintln!(" {:.1} s", copy_started.elapsed().as_secs_f64());
    }
    Ok(Class {
        sandboxed: bwrap.is_some(),
        seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        rows,
    })
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
    submission: &Submission,
    deadline: Option<Instant>,
) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = lessons
        .iter()
        .map(|lesson| first_look(lesson, submission, template))
        .collect();
    let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
    let graded: Vec<&Lesson> = lessons
        .iter()
        .zip(&rows)
        .filter(|(_, row)| row.state == State::Graded)
        .map(|(lesson, _)| lesson)
        .collect();
    if graded.is_empty() {
        return Ok(rows);
    }
    if out_of_time() {
        mark_not_graded(&mut rows);
        return Ok(rows);
    }
    let prepared = slot
        .prepare(template, &submission.lessons, &graded, deadline)
        .with_context(|| format!("cannot build the copy of {}", submission.learner))?;

    // The tests of lessons with loom models run alone, after the others: their
    // nested build would take the cores from tests that measure time.
    let mut binaries = BTreeMap::new();
    for lesson in &graded {
        if let Some(errors) = prepared.built.errors.get(&lesson.slug) {
            let row = row_of(&mut rows, &lesson.slug);
            row.state = State::DoesNotCompile;
            row.note = Some(
                compile::first_error(errors)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
            continue;
        }
        binaries.insert(
            lesson.slug.clone(),
            prepared
                .built
                .binaries
                .get(&lesson.slug)
                .cloned()
                .unwrap_or_default(),
        );
    }
    for alone in [false, true] {
        let mut jobs = Vec::new();
        let mut owners = Vec::new();
        for lesson in graded.iter().filter(|l| l.has_models() == alone) {
            let (Some(binaries), Some(place)) = (
                binaries.get(&lesson.slug),
                prepared.places.get(&lesson.slug),
            ) else {
                continue;
            };
            for job in workspace::jobs_for(&template.tests[&lesson.slug], binaries, place) {
                jobs.push(job);
                owners.push(lesson.slug.clone());
            }
        }
        let parallel = if alone { 1 } else { options.jobs };
        let mut runs = runner::run_tests(&jobs, options.limit, deadline, parallel, |_| ())?;
        if parallel > 1 {
            retry_alone(&jobs, &mut runs, options.limit, deadline)?;
        }
        for (owner, run) in owners.iter().zip(runs) {
            let row = row_of(&mut rows, owner);
            match run {
                Some(run) => row.tests.push(run),
                None => row.note = Some("the whole grading's time limit was reached".into()),
            }
        }
    }
    for row in rows.iter_mut().filter(|r| r.state == State::Graded) {
        count(row);
    }
    Ok(rows)
}

/// Runs each test that failed beside others once more, alone: some lesson
/// tests measure time (a pipeline's stages overlapping, a worker's busy time),
/// and two tests at once on a small machine can fail a correct solution. A
/// `todo!()` not written fails alone too, and is not re-run. The row says
/// which tests were re-run (`retried_alone`).
fn retry_alone(
    jobs: &[runner::Job<'_>],
    runs: &mut [Option<TestRun>],
    limit: Duration,
    deadline: Option<Instant>,
) -> Result<()> {
    for (job, run) in jobs.iter().zip(runs.iter_mut()) {
        let Some(first) = run else { continue };
        if first.status != Status::Failed || runner::why(first).starts_with("not yet implemented") {
            continue;
        }
        if let Some(mut again) = runner::run_tests(&[*job], limit, deadline, 1, |_| ())?
            .pop()
            .flatten()
        {
            again.retried_alone = true;
            *run = Some(again);
        }
    }
    Ok(())
}

/// The row as far as reading the copy tells: missing, refused, or to grade.
fn first_look(lesson: &Lesson, submission: &Submission, template: &Template) -> Row {
    let files = submission.lessons.get(&lesson.slug);
    let (state, note) = match files {
        Some(LessonFiles::Files(_)) => (State::Graded, None),
        Some(LessonFiles::Refused(why)) => (State::Refused, Some(why.clone())),
        Some(LessonFiles::Missing) | None => (State::Missing, None),
    };
    let (review, files) = match files {
        Some(LessonFiles::Files(files)) => {
            (submission::worth_a_look(files), distances(lesson, files))
        }
        _ => (Vec::new(), Vec::new()),
    };
    Row {
        learner: submission.learner.clone(),
        lesson: lesson.slug.clone(),
        state,
        passed: 0,
        failed: 0,
        timed_out: 0,
        total: template.tests.get(&lesson.slug).map_or(0, Vec::len),
        note,
        review,
        tests: Vec::new(),
        files,
    }
}

fn row_of<'a>(rows: &'a mut [Row], slug: &str) -> &'a mut Row {
    rows.iter_mut()
        .find(|r| r.lesson == slug)
        .expect("a row per lesson")
}

fn mark_not_graded(rows: &mut [Row]) {
    for row in rows.iter_mut().filter(|r| r.state == State::Graded) {
        row.state = State::NotGraded;
        row.note = Some("the whole grading's time limit was reached".into());
    }
}

/// Counts a graded row's outcomes; a kit test that did not run (its binary
/// missing, or out of time) counts as not passed.
fn count(row: &mut Row) {
    for run in &row.tests {
        match run.status {
            Status::Passed => row.passed += 1,
            Status::Failed => row.failed += 1,
            Status::TimedOut => row.timed_out += 1,
        }
    }
    if row.tests.is_empty() && row.note.is_some() {
        row.state = State::NotGraded;
    }
}

fn distances(lesson: &Lesson, files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<FileDistance> {
    lesson
        .learner_files()
        .unwrap_or_default()
        .into_iter()
        .map(|file| {
            let solution = std::fs::read_to_string(lesson.solution.join(&file)).unwrap_or_default();
            let lines_changed = files.get(&file).map(|learner| {
                TextDiff::from_lines(&*String::from_utf8_lossy(learner), solution.as_str())
                    .iter_all_changes()
                    .filter(|change| change.tag() != ChangeTag::Equal)
                    .count()
            });
            FileDistance {
                file,
                lines_changed,
            }
        })
        .collect()
}

/// The grades as a table for people: a row per learner and lesson, each
/// failing test and its reason under it, and whether grading was sandboxed.
pub fn render(class: &Class) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<22} {:<17} {:>6} {:>6} {:>9}  distance from the solution",
        "learner", "lesson", "state", "passed", "failed", "timed out"
    );
    for row in &class.rows {
        let files: Vec<String> = row
            .files
            .iter()
            .map(|f| match f.lines_changed {
                Some(n) => format!("{} {n} lines", f.file.display()),
                None => format!("{} missing", f.file.display()),
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<16} {:<22} {:<17} {:>6} {:>6} {:>9}  {}",
            row.learner,
            row.lesson,
            row.state.name(),
            format!("{}/{}", row.passed, row.total),
            row.failed,
            row.timed_out,
            files.join(", ")
        );
        if let Some(note) = &row.note {
            let _ = writeln!(out, "    {note}");
        }
        // A test that stops at a todo!() says only "not written yet": one line for all of them.
        let (unwritten, failures): (Vec<&TestRun>, Vec<&TestRun>) = row
            .tests
            .iter()
            .filter(|r| r.status != Status::Passed)
            .partition(|r| {
                r.status == Status::Failed && runner::why(r).starts_with("not yet implemented")
            });
        if !unwritten.is_empty() {
            let _ = writeln!(
                out,
                "    {} test(s) stop at a todo!() not written yet",
                unwritten.len()
            );
        }
        for run in failures {
            let _ = writeln!(
                out,
                "    {:?} {}: {}",
                run.status,
                run.name,
                runner::why(run)
            );
        }
        let flaky: Vec<&str> = row
            .tests
            .iter()
            .filter(|r| r.retried_alone && r.status == Status::Passed)
            .map(|r| r.name.as_str())
            .collect();
        if !flaky.is_empty() {
            let _ = writeln!(
                out,
                "    passed when re-run alone, after failing beside other tests: {}",
                flaky.join(", ")
            );
        }
        for line in &row.review {
            let _ = writeln!(out, "    review: {line}");
        }
    }
    let learners = class
        .rows
        .iter()
        .map(|r| &r.learner)
        .collect::<std::collections::BTreeSet<_>>();
    let _ = writeln!(
        out,
        "\n{} cop{} graded in {:.1} s, {}",
        learners.len(),
        if learners.len() == 1 { "y" } else { "ies" },
        class.seconds,
        if class.sandboxed {
            "each test sandboxed with bubblewrap"
        } else {
            "NOT sandboxed (bubblewrap is not available): the learners' code ran with your permissions"
        }
    );
    out
}

/// The grades as CSV: a row per learner and lesson.
pub fn render_csv(class: &Class) -> Result<String> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "learner",
        "lesson",
        "state",
        "passed",
        "failed",
        "timed_out",
        "total",
        "not_passing",
        "note",
        "review",
        "sandboxed",
    ])?;
    for row in &class.rows {
        let not_passing: Vec<&str> = row
            .tests
            .iter()
            .filter(|r| r.status != Status::Passed)
            .map(|r| r.name.as_str())
            .collect();
        csv.write_record([
            row.learner.as_str(),
            row.lesson.as_str(),
            row.state.name(),
            &row.passed.to_string(),
            &row.failed.to_string(),
            &row.timed_out.to_string(),
            &row.total.to_string(),
            &not_passing.join("; "),
            row.note.as_deref().unwrap_or(""),
            &row.review.join("; "),
            if class.sandboxed { "true" } else { "false" },
        ])?;
    }
    Ok(String::from_utf8(csv.into_inner()?)?)
}
