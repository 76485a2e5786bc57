//! The grades, and the three ways they are written: a table for people, CSV
//! for a spreadsheet, JSON for scripts (the types below, serialized; the
//! same types read a finished copy back when grading resumes).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::trial::{Status, TestResult};

/// Every learner's grades.
#[derive(Debug, Serialize, Deserialize)]
pub struct Class {
    /// Whether the learners' code ran inside bubblewrap.
    pub sandboxed: bool,
    /// Where each test's verdict came from: `channel` (the kit's verdict
    /// channel) or `output` (libtest's lines, on a platform without it).
    pub verdicts: String,
    /// What each build and test could use, and how that was enforced.
    pub limits: LimitsReport,
    /// Wall-clock time of the whole grading, in seconds.
    pub seconds: f64,
    /// Whether the grading stopped before the end (`--total-limit`).
    pub cut_short: bool,
    /// One line per learner.
    pub learners: Vec<Summary>,
    /// One row per learner and lesson.
    pub rows: Vec<Row>,
    /// Per lesson: which known mistakes the failing copies look like, and
    /// how many learners each.
    #[serde(default)]
    pub known_mistakes: Vec<LessonMistakes>,
}

/// The limits as the report states them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LimitsReport {
    /// Seconds one test run may take.
    pub test_seconds: u64,
    /// CPU seconds of each compiler process.
    pub build_cpu_seconds: u64,
    /// MiB of memory for one build or test, tmpfs included.
    pub memory_mib: u64,
    /// Processes and threads of one build or test.
    pub processes: u64,
    /// MiB of each writable area of a test.
    pub disk_mib: u64,
    /// How memory and processes are held: `cgroup v1`, `cgroup v2`, or
    /// `rlimits` (address space only; no process limit).
    pub enforced_by: String,
    /// Runs of each test of a lesson that differs from the solution.
    pub runs: u32,
}

/// One learner at a glance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    /// The copy's name.
    pub learner: String,
    /// Lessons with every test passed (and nothing held).
    pub lessons_complete: usize,
    /// Lessons graded in this run.
    pub lessons: usize,
    /// Tests passed and counted, over the lessons graded.
    pub tests_passed: usize,
    /// The kit's tests of those lessons.
    pub tests_total: usize,
    /// Passes held for review.
    pub held: usize,
    /// Lessons left as the kit gave them.
    pub not_started: usize,
}

/// One learner's grade for one lesson.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The copy's folder name.
    pub learner: String,
    /// `03-backpressure`.
    pub lesson: String,
    /// Whether and how it was graded.
    pub state: State,
    /// The kit's tests that passed every run, counted.
    pub passed: usize,
    /// Passes held for review (code that reaches for the harness): not
    /// counted until an instructor has looked.
    pub held: usize,
    /// Tests that failed (in any run), or ended with no verdict.
    pub failed: usize,
    /// Tests killed at the time limit.
    pub timed_out: usize,
    /// The kit's tests for the lesson.
    pub total: usize,
    /// Why it was not graded, or not fully (refused, does not compile —
    /// cargo's or the compiler's error first —, out of time).
    pub note: Option<String>,
    /// Lines of the learner's code that reach for the test harness.
    pub review: Vec<String>,
    /// Every test's result.
    pub tests: Vec<TestResult>,
    /// How far each learner file is from the solution (none when not started).
    pub files: Vec<FileDistance>,
    /// The known mistake its failures look like, when one matches
    /// unambiguously (none when it passes, or for a row kept before this
    /// field existed).
    #[serde(default)]
    pub known: Option<Named>,
}

/// Whether and how a lesson was graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Its tests ran.
    Graded,
    /// Its files are the starter's, as the kit gave them: not run.
    NotStarted,
    /// The copy has no such lesson.
    Missing,
    /// Its `src/` was refused (a link leaving the copy, a loop, a FIFO, too big).
    Refused,
    /// It does not compile, or cargo cannot load it.
    DoesNotCompile,
    /// Not graded: the whole grading's time limit, or the copy could not be
    /// graded at all (the note says why).
    NotGraded,
}

impl State {
    /// The name used in every report.
    pub fn name(self) -> &'static str {
        match self {
            State::Graded => "graded",
            State::NotStarted => "not_started",
            State::Missing => "missing",
            State::Refused => "refused",
            State::DoesNotCompile => "does_not_compile",
            State::NotGraded => "not_graded",
        }
    }
}

/// How far one learner file is from the solution's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileDistance {
    /// Relative to the lesson, e.g. `src/lib.rs`.
    pub file: PathBuf,
    /// Lines added plus lines removed to turn the learner's file into the
    /// solution's; `None` when the learner has no such file.
    pub lines_changed: Option<usize>,
}

impl FileDistance {
    fn shown(&self) -> String {
        match self.lines_changed {
            Some(n) => format!("{} {n} lines", self.file.display()),
            None => format!("{} missing", self.file.display()),
        }
    }
}

impl Row {
    /// Whether every kit test passed and nothing is held.
    pub fn complete(&self) -> bool {
        self.state == State::Graded && self.total > 0 && self.passed == self.total
    }

    /// Counts the tests' results: passes are held when there is code to review.
    pub fn count(&mut self) {
        let passes = self
            .tests
            .iter()
            .filter(|t| t.status == Status::Passed)
            .count();
        if self.review.is_empty() {
            self.passed = passes;
        } else {
            self.held = passes;
        }
        self.failed = self
            .tests
            .iter()
            .filter(|t| t.status == Status::Failed)
            .count();
        self.timed_out = self
            .tests
            .iter()
            .filter(|t| t.status == Status::TimedOut)
            .count();
    }
}

/// One summary per learner, in the order of the rows.
pub fn summaries(rows: &[Row]) -> Vec<Summary> {
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<&str, Summary> = BTreeMap::new();
    for row in rows {
        let summary = by.entry(&row.learner).or_insert_with(|| {
            order.push(&row.learner);
            Summary {
                learner: row.learner.clone(),
                lessons_complete: 0,
                lessons: 0,
                tests_passed: 0,
                tests_total: 0,
                held: 0,
                not_started: 0,
            }
        });
        summary.lessons += 1;
        summary.lessons_complete += usize::from(row.complete());
        summary.tests_passed += row.passed;
        summary.tests_total += row.total;
        summary.held += row.held;
        summary.not_started += usize::from(row.state == State::NotStarted);
    }
    order.into_iter().filter_map(|l| by.remove(l)).collect()
}

impl Summary {
    /// `ada: 3 of 14 lessons complete, 40 of 180 tests passed (9 not started)`.
    pub fn line(&self) -> String {
        let mut extra = Vec::new();
        if self.not_started > 0 {
            extra.push(format!("{} not started", self.not_started));
        }
        if self.held > 0 {
            extra.push(format!("{} passes held for review", self.held));
        }
        format!(
            "{}: {} of {} lessons complete, {} of {} tests passed{}",
            self.learner,
            self.lessons_complete,
            self.lessons,
            self.tests_passed,
            self.tests_total,
            if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join(", "))
            }
        )
    }
}

/// A message's lines, each indented by `indent`.
fn indented(text: &str, indent: &str) -> String {
    text.lines()
        .map(|line| format!("{indent}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `fails 3 of 12 runs` or `failed`, or `timed out`.
fn how(test: &TestResult) -> String {
    match test.status {
        Status::TimedOut => "timed out".to_string(),
        _ if test.varied() => format!("failed (fails {} of {} runs)", test.failures, test.runs),
        _ => "failed".to_string(),
    }
}

/// The grades as a table for people: a line per learner, a row per learner
/// and lesson, each failing test with its whole (bounded) message under it.
pub fn render(class: &Class) -> String {
    let mut out = String::new();
    for summary in &class.learners {
        let _ = writeln!(out, "{}", summary.line());
    }
    let _ = writeln!(
        out,
        "\n{:<16} {:<22} {:<17} {:>7} {:>5} {:>6} {:>9}  distance from the solution",
        "learner", "lesson", "state", "passed", "held", "failed", "timed out"
    );
    for row in &class.rows {
        let files: Vec<String> = row.files.iter().map(FileDistance::shown).collect();
        let _ = writeln!(
            out,
            "{:<16} {:<22} {:<17} {:>7} {:>5} {:>6} {:>9}  {}",
            row.learner,
            row.lesson,
            row.state.name(),
            format!("{}/{}", row.passed, row.total),
            row.held,
            row.failed,
            row.timed_out,
            files.join(", ")
        );
        if let Some(note) = &row.note {
            let _ = writeln!(out, "{}", indented(note, "    "));
        }
        // A test that stops at a todo!() says only "not written yet": one line for all of them.
        let unwritten = row.tests.iter().filter(|t| t.unwritten()).count();
        if unwritten > 0 {
            let _ = writeln!(
                out,
                "    {unwritten} test(s) stop at a todo!() not written yet"
            );
        }
        for test in row
            .tests
            .iter()
            .filter(|t| t.status != Status::Passed && !t.unwritten())
        {
            let _ = writeln!(out, "    {} {}:", how(test), test.name);
            let message = test.message.as_deref().unwrap_or("(no message)");
            let _ = writeln!(out, "{}", indented(message, "        "));
        }
        for line in &row.review {
            let _ = writeln!(out, "    review: {line}");
        }
        if row.held > 0 {
            let _ = writeln!(
                out,
                "    {} pass(es) held for review: not counted until you have read the lines above",
                row.held
            );
        }
        if let Some(known) = &row.known {
            let _ = writeln!(out, "    looks like a known mistake: {}", told(known));
        }
    }
    render_known(&mut out, &class.known_mistakes);
    let learners = class.learners.len();
    let _ = writeln!(
        out,
        "\n{} cop{} graded in {:.1} s{}; {}; verdicts {}.",
        learners,
        if learners == 1 { "y" } else { "ies" },
        class.seconds,
        if class.cut_short {
            " (stopped at the total limit)"
        } else {
            ""
        },
        if class.sandboxed {
            "each build and test sandboxed with bubblewrap"
        } else {
            "NOT sandboxed (bubblewrap is not available): the learners' code ran with your permissions"
        },
        if class.verdicts == "channel" {
            "from the kit's verdict channel"
        } else {
            "read from the tests' output (no verdict channel on this platform): forgeable"
        }
    );
    let l = &class.limits;
    let _ = writeln!(
        out,
        "Limits: {} s per test run, {} run(s) of each test of a lesson that differs from the solution, \
         {} s of CPU per compiler, {} MiB of memory and {} processes per build or test ({}), \
         {} MiB per writable area.",
        l.test_seconds,
        l.runs,
        l.build_cpu_seconds,
        l.memory_mib,
        l.processes,
        l.enforced_by,
        l.disk_mib
    );
    out
}

/// `if instead of while in get (read "Putting and getting")`.
fn told(known: &Named) -> String {
    match &known.section {
        Some(section) => format!("{} (read \"{section}\")", known.description),
        None => known.description.clone(),
    }
}

/// The table's section on known mistakes: per lesson with failing copies,
/// which known mistakes they look like and how many learners each.
fn render_known(out: &mut String, lessons: &[LessonMistakes]) {
    let failing: Vec<&LessonMistakes> = lessons.iter().filter(|l| l.failing > 0).collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nKnown mistakes the failing copies look like (a likely diagnosis, not a verdict):"
    );
    for lesson in failing {
        let _ = writeln!(
            out,
            "  {}: {} failing cop{}",
            lesson.lesson,
            lesson.failing,
            if lesson.failing == 1 { "y" } else { "ies" }
        );
        for mistake in &lesson.named {
            let _ = writeln!(
                out,
                "    {:>3}  {}: {}",
                mistake.count,
                told(&mistake.named),
                mistake.learners.join(", ")
            );
        }
        if lesson.not_named > 0 {
            let why = if lesson.signatures {
                "like no known mistake, or not unambiguously"
            } else {
                "no known mistakes are recorded for this lesson"
            };
            let _ = writeln!(out, "    {:>3}  not named ({why})", lesson.not_named);
        }
    }
}

/// The grades as CSV: a row per learner and lesson.
pub fn render_csv(class: &Class) -> Result<String> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "learner",
        "lesson",
        "state",
        "passed",
        "held",
        "failed",
        "timed_out",
        "total",
        "not_passing",
        "messages",
        "distance",
        "note",
        "review",
        "sandboxed",
        "known_mistake",
        "known_section",
    ])?;
    for row in &class.rows {
        let not_passing: Vec<&TestResult> = row
            .tests
            .iter()
            .filter(|t| t.status != Status::Passed)
            .collect();
        let names: Vec<&str> = not_passing.iter().map(|t| t.name.as_str()).collect();
        let messages: Vec<String> = not_passing
            .iter()
            .map(|t| {
                format!(
                    "{} {}: {}",
                    t.name,
                    how(t),
                    t.message.as_deref().unwrap_or("(no message)")
                )
            })
            .collect();
        let distance: Vec<String> = row.files.iter().map(FileDistance::shown).collect();
        csv.write_record([
            row.learner.as_str(),
            row.lesson.as_str(),
            row.state.name(),
            &row.passed.to_string(),
            &row.held.to_string(),
            &row.failed.to_string(),
            &row.timed_out.to_string(),
            &row.total.to_string(),
            &names.join("; "),
            &messages.join("\n"),
            &distance.join("; "),
            row.note.as_deref().unwrap_or(""),
            &row.review.join("\n"),
            if class.sandboxed { "true" } else { "false" },
            &row.known
                .as_ref()
                .map_or_else(String::new, |k| k.mistakes.join("; ")),
            row.known
                .as_ref()
                .and_then(|k| k.section.as_deref())
                .unwrap_or(""),
        ])?;
    }
    Ok(String::from_utf8(csv.into_inner()?)?)
}

/// Per lesson, the known mistakes the failing copies look like, as CSV: a
/// row per lesson and mistake, and one for the failing copies not named.
pub fn render_mistakes_csv(class: &Class) -> Result<String> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "lesson",
        "known_mistake",
        "description",
        "section",
        "learners",
        "names",
    ])?;
    for lesson in &class.known_mistakes {
        for mistake in &lesson.named {
            csv.write_record([
                lesson.lesson.as_str(),
                &mistake.named.mistakes.join("; "),
                &mistake.named.description,
                mistake.named.section.as_deref().unwrap_or(""),
                &mistake.count.to_string(),
                &mistake.learners.join("; "),
            ])?;
        }
        if lesson.not_named > 0 {
            csv.write_record([
                lesson.lesson.as_str(),
                "",
                "not named",
                "",
                &lesson.not_named.to_string(),
                "",
            ])?;
        }
    }
    Ok(String::from_utf8(csv.into_inner()?)?)
}

// ------------------------------------------- the known mistakes named --
// (worked out by `named`; kept here, with the rest of the report's schema)

/// The known mistake a lesson's failures look like, as the chapter tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// The matching mistakes' names (patch names without `.patch`): one, or
    /// several of one group.
    pub mistakes: Vec<String>,
    /// One line: what the mistake is.
    pub description: String,
    /// The chapter section to read again, if known.
    pub section: Option<String>,
    /// The chapter's "Break it" bullet naming it, if one does.
    pub bullet: Option<String>,
}

/// One known mistake and the learners whose copies look like it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MistakeCount {
    /// The mistake.
    #[serde(flatten)]
    pub named: Named,
    /// How many learners: `learners.len()`.
    pub count: usize,
    /// The learners, in the report's order.
    pub learners: Vec<String>,
}

/// What one lesson's failing copies look like, over the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonMistakes {
    /// `03-backpressure`.
    pub lesson: String,
    /// Whether the kit records known mistakes for it (without them nothing
    /// can be named).
    pub signatures: bool,
    /// Learners whose lesson was graded and failed a test (or timed out).
    pub failing: usize,
    /// The known mistakes those copies look like, most learners first.
    pub named: Vec<MistakeCount>,
    /// Failing copies that look like no known mistake, or like none
    /// unambiguously (and those not every test of which ran).
    pub not_named: usize,
}
