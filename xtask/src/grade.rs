//! `cargo xtask grade PATH`: the instructor's view of a learner's copy of the kit.
//!
//! The learner's `src/` files are run against *this* kit's tests (a learner may
//! have edited theirs), in a scratch copy, one process per test under a hard
//! limit: a hanging implementation cannot hang the grader.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::kit::{self, Lesson};
use crate::runner::{self, Scratch, Status, TestRun};

/// The grade of one lesson.
#[derive(Debug, Serialize)]
pub struct LessonGrade {
    /// `03-backpressure`.
    pub lesson: String,
    /// `graded`, `missing` (no such lesson in the learner's copy) or `does_not_compile`.
    pub state: &'static str,
    /// Tests passed.
    pub passed: usize,
    /// Tests failed.
    pub failed: usize,
    /// Tests killed at the time limit.
    pub timed_out: usize,
    /// Every test's outcome.
    pub tests: Vec<TestRun>,
    /// How far each learner file is from the solution.
    pub files: Vec<FileDistance>,
}

/// How far one learner file is from the solution's.
#[derive(Debug, Serialize)]
pub struct FileDistance {
    /// Relative to the lesson, e.g. `src/lib.rs`.
    pub file: PathBuf,
    /// Lines added plus lines removed to turn the learner's file into the solution's.
    pub lines_changed: Option<usize>,
}

/// Grades the learner's kit at `learner_root` against the kit at `kit_root`,
/// working in `work_dir` (a folder of its own: see `runner::Scratch::create`).
pub fn grade(
    kit_root: &Path,
    learner_root: &Path,
    work_dir: &Path,
    limit: Duration,
) -> Result<Vec<LessonGrade>, String> {
    if !learner_root.join("lessons").is_dir() {
        return Err(format!(
            "{} has no lessons/ folder: is it a copy of the kit?",
            learner_root.display()
        ));
    }
    let lessons =
        kit::lessons(kit_root, &[]).map_err(|e| format!("cannot read the lessons: {e}"))?;
    let scratch = Scratch::create(kit_root, work_dir)
        .map_err(|e| format!("cannot make a scratch copy of the kit: {e}"))?;
    let mut grades = Vec::new();
    for lesson in &lessons {
        eprint!("\r  grading {} …   ", lesson.slug);
        grades.push(grade_lesson(&scratch, lesson, learner_root, limit)?);
    }
    eprint!("\r{:40}\r", "");
    Ok(grades)
}

fn grade_lesson(
    scratch: &Scratch,
    lesson: &Lesson,
    learner_root: &Path,
    limit: Duration,
) -> Result<LessonGrade, String> {
    let learner_lesson = learner_root.join("lessons").join(&lesson.slug);
    let mut grade = LessonGrade {
        lesson: lesson.slug.clone(),
        state: "graded",
        passed: 0,
        failed: 0,
        timed_out: 0,
        tests: Vec::new(),
        files: distances(lesson, &learner_lesson),
    };
    if !learner_lesson.join("src").is_dir() {
        grade.state = "missing";
        return Ok(grade);
    }
    scratch
        .prepare(lesson, &[&learner_lesson], None)
        .map_err(|e| format!("cannot lay out {}: {e}", lesson.slug))?;
    let Ok(binaries) = scratch.build(&lesson.package) else {
        grade.state = "does_not_compile";
        return Ok(grade);
    };
    grade.tests = runner::run_all(&binaries, limit, false)?;
    for run in &grade.tests {
        match run.status {
            Status::Passed => grade.passed += 1,
            Status::Failed => grade.failed += 1,
            Status::TimedOut => grade.timed_out += 1,
        }
    }
    Ok(grade)
}

fn distances(lesson: &Lesson, learner_lesson: &Path) -> Vec<FileDistance> {
    lesson
        .learner_files()
        .unwrap_or_default()
        .into_iter()
        .map(|file| {
            let learner = std::fs::read_to_string(learner_lesson.join(&file)).ok();
            let solution = std::fs::read_to_string(lesson.solution.join(&file)).unwrap_or_default();
            let lines_changed = learner.map(|learner| {
                TextDiff::from_lines(&learner, &solution)
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

/// The grades as a table, with each failing test and its reason.
pub fn render(grades: &[LessonGrade]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<18} {:>6} {:>6} {:>9}  distance from the solution",
        "lesson", "state", "passed", "failed", "timed out"
    );
    for g in grades {
        let files: Vec<String> = g
            .files
            .iter()
            .map(|f| match f.lines_changed {
                Some(n) => format!("{} {n} lines", f.file.display()),
                None => format!("{} missing", f.file.display()),
            })
            .collect();
        let _ = writeln!(
            out,
            "{:<22} {:<18} {:>6} {:>6} {:>9}  {}",
            g.lesson,
            g.state,
            g.passed,
            g.failed,
            g.timed_out,
            files.join(", ")
        );
        // A test that stops at a todo!() says only "not written yet": one line for all of them.
        let (unwritten, failures): (Vec<&TestRun>, Vec<&TestRun>) = g
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
            let reason = if run.status == Status::TimedOut {
                "killed at the time limit".to_string()
            } else {
                runner::why(run)
            };
            let _ = writeln!(out, "    {:?} {}: {reason}", run.status, run.name);
        }
    }
    out
}
