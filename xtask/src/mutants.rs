//! `cargo xtask mutants [NN …]`: mutation testing of each lesson's tests.
//!
//! cargo-mutants changes the solution one small way at a time (a body
//! replaced by a default value, `<` turned into `<=`, a `!` deleted) and runs
//! the lesson's tests against each change. A mutant no test fails on is
//! *missed*: either a test is missing, or the change does not alter what the
//! code does (an equivalent mutant). Every missed mutant must be caught by a
//! test or listed, with the reason it is equivalent, in
//! `solutions/NN-slug/mutants-allowed.txt` (format in [`allowed`]).
//!
//! Each lesson runs in a scratch copy of the kit with the solution laid over
//! the starter (never in the real tree), in place, one mutant at a time: the
//! build is warmed first (tests and loom models), so each mutant rebuilds only
//! the lesson. `--check-allowed` only lists the mutants (no build) and checks
//! that every allow-list names real mutants of the current solution.

pub mod allowed;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use self::allowed::{Allowed, MutantName};
use crate::compile;
use crate::kit::{self, Lesson};
use crate::models;
use crate::scratch::Scratch;

/// What `mutants` is asked to do.
pub struct Options<'a> {
    /// The kit.
    pub root: &'a Path,
    /// Lesson numbers; empty means all.
    pub only: &'a [String],
    /// A folder of its own, for the scratch copy, its build and cargo-mutants' output.
    pub work_dir: &'a Path,
    /// The least time one run of a lesson's tests gets before the mutant is
    /// called a timeout (cargo-mutants allows more when the unmutated tests
    /// take longer).
    pub limit: Duration,
    /// Only check that the allow-lists name real mutants; test none.
    pub check_allowed: bool,
}

/// One lesson's mutants.
#[derive(Debug, Default)]
pub struct LessonMutants {
    /// `09-blocking-queue`.
    pub slug: String,
    /// Mutants cargo-mutants made of the solution.
    pub total: usize,
    /// Mutants some test failed on.
    pub caught: usize,
    /// Mutants every test passed on.
    pub missed: Vec<MutantName>,
    /// Missed mutants the allow-list explains.
    pub allowed: usize,
    /// Mutants that did not compile (nothing to test).
    pub unviable: usize,
    /// Mutants whose tests ran past the time limit (a test without a watchdog?).
    pub timed_out: Vec<MutantName>,
    /// Entries in the allow-list.
    pub entries: usize,
    /// What fails the command, one sentence each.
    pub problems: Vec<String>,
    /// Wall-clock time for the lesson.
    pub took: Duration,
}

/// Runs (or, with `check_allowed`, lists) the mutants of each lesson.
pub fn mutants(options: &Options<'_>) -> Result<Vec<LessonMutants>> {
    require_cargo_mutants()?;
    let lessons = kit::lessons(options.root, options.only).context("cannot read the lessons")?;
    if lessons.is_empty() {
        bail!(
            "no lessons found under {}",
            options.root.join("lessons").display()
        );
    }
    let scratch = Scratch::create(options.root, options.work_dir)
        .with_context(|| format!("cannot copy the kit to {}", options.work_dir.display()))?;
    let mut reports = Vec::new();
    for lesson in &lessons {
        let started = Instant::now();
        eprintln!("  {} …", lesson.slug);
        let mut report = LessonMutants {
            slug: lesson.slug.clone(),
            ..LessonMutants::default()
        };
        if let Err(e) = lesson_mutants(&scratch, lesson, options, &mut report) {
            report.problems.push(format!("{e:#}"));
        }
        report.took = started.elapsed();
        reports.push(report);
    }
    Ok(reports)
}

fn require_cargo_mutants() -> Result<()> {
    let found = Command::new(kit::cargo())
        .args(["mutants", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !found.is_ok_and(|s| s.success()) {
        bail!("cargo-mutants is not installed: cargo install --locked cargo-mutants");
    }
    Ok(())
}

/// The steps for one lesson: lay out the solution, read its allow-list, then
/// either check the list against the mutants or run them all and judge.
fn lesson_mutants(
    scratch: &Scratch,
    lesson: &Lesson,
    options: &Options<'_>,
    report: &mut LessonMutants,
) -> Result<()> {
    scratch
        .prepare(lesson, &[&lesson.solution], None)
        .map_err(anyhow::Error::msg)
        .context("cannot lay the solution over the starter")?;
    let (entries, shown) = read_allow_list(lesson, report)?;
    report.entries = entries.len();
    if options.check_allowed {
        let current = list_mutants(scratch, lesson)?;
        report.total = current.len();
        report
            .problems
            .extend(allowed::check_against(&shown, &entries, &current));
        return Ok(());
    }
    warm(scratch, lesson)?;
    let out = options.work_dir.join(&lesson.slug);
    let outcomes = run_cargo_mutants(scratch, lesson, options.limit, &out)?;
    judge(&outcomes, &entries, &shown, report);
    Ok(())
}

/// The lesson's allow-list (empty when it has none), and how to name it.
fn read_allow_list(lesson: &Lesson, report: &mut LessonMutants) -> Result<(Vec<Allowed>, String)> {
    let path = lesson.solution.join(allowed::FILE_NAME);
    let shown = format!("solutions/{}/{}", lesson.slug, allowed::FILE_NAME);
    if !path.is_file() {
        return Ok((Vec::new(), shown));
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {shown}"))?;
    let (entries, problems) = allowed::parse(&shown, &text);
    report.problems.extend(problems);
    Ok((entries, shown))
}

/// The mutants cargo-mutants would make of the lesson as laid out (no build).
fn list_mutants(scratch: &Scratch, lesson: &Lesson) -> Result<Vec<MutantName>> {
    #[derive(Deserialize)]
    struct Listed {
        name: String,
    }
    let output = Command::new(kit::cargo())
        .args([
            "mutants",
            "--list",
            "--json",
            "--colors",
            "never",
            "--package",
        ])
        .arg(&lesson.package)
        .arg("--dir")
        .arg(
            scratch
                .manifest()
                .parent()
                .expect("a manifest is in a folder"),
        )
        .stdin(Stdio::null())
        .output()
        .context("could not run cargo mutants --list")?;
    if !output.status.success() {
        bail!(
            "cargo mutants --list failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let listed: Vec<Listed> = serde_json::from_slice(&output.stdout)
        .context("cargo mutants --list printed no JSON list")?;
    Ok(listed
        .iter()
        .filter_map(|m| MutantName::parse(&m.name))
        .collect())
}

/// Builds the solution's tests and loom models once, so no mutant's time
/// limit pays for a cold build.
fn warm(scratch: &Scratch, lesson: &Lesson) -> Result<()> {
    scratch
        .build(&lesson.package, compile::Targets::Every)
        .map_err(anyhow::Error::msg)
        .context("the solution does not build")?;
    models::warm(
        lesson,
        &scratch.lesson_dir(lesson),
        scratch.target_dir(),
        || (),
    )?;
    Ok(())
}

/// The part of cargo-mutants' `outcomes.json` read here.
#[derive(Debug, Deserialize)]
struct Outcomes {
    outcomes: Vec<Outcome>,
}

#[derive(Debug, Deserialize)]
struct Outcome {
    scenario: Scenario,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
enum Scenario {
    Baseline,
    Mutant { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Summary {
    Success,
    CaughtMutant,
    MissedMutant,
    Unviable,
    Timeout,
    #[serde(other)]
    Failure,
}

/// Runs cargo-mutants in place in the scratch copy; its output goes to `out`.
fn run_cargo_mutants(
    scratch: &Scratch,
    lesson: &Lesson,
    limit: Duration,
    out: &Path,
) -> Result<Outcomes> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let output = Command::new(kit::cargo())
        // In place, one mutant at a time, in the scratch copy: each mutant
        // rebuilds only the lesson in the warm target dir.
        .args(["mutants", "--in-place", "--no-shuffle", "--colors", "never"])
        .args(["--package", &lesson.package])
        .arg("--dir")
        .arg(
            scratch
                .manifest()
                .parent()
                .expect("a manifest is in a folder"),
        )
        .arg("--output")
        .arg(out)
        // The unmutated run sets the limit (five times its time), never below
        // this: a mutant's run also rebuilds the lesson for its models.
        .args(["--minimum-test-timeout", &limit.as_secs().to_string()])
        .env("CARGO_TARGET_DIR", scratch.target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .context("could not run cargo mutants")?;
    let path = out.join("mutants.out").join("outcomes.json");
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "cargo mutants wrote no {} ({}):\n{}",
            path.display(),
            output.status,
            tail(&String::from_utf8_lossy(&output.stderr), 15)
        )
    })?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{} is not cargo-mutants' outcomes", path.display()))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sorts the outcomes into the report and holds the missed ones to the allow-list.
fn judge(outcomes: &Outcomes, entries: &[Allowed], shown: &str, report: &mut LessonMutants) {
    let mut all = Vec::new();
    for outcome in &outcomes.outcomes {
        let name = match &outcome.scenario {
            Scenario::Baseline => {
                if outcome.summary != Summary::Success {
                    report.problems.push(
                        "the solution's tests fail before any mutation: run `cargo xtask verify` first".into(),
                    );
                }
                continue;
            }
            Scenario::Mutant { name } => name,
        };
        let Some(mutant) = MutantName::parse(name) else {
            report
                .problems
                .push(format!("cargo-mutants named a mutant unreadably: {name}"));
            continue;
        };
        report.total += 1;
        match outcome.summary {
            Summary::CaughtMutant => report.caught += 1,
            Summary::MissedMutant => report.missed.push(mutant.clone()),
            Summary::Unviable => report.unviable += 1,
            Summary::Timeout => report.timed_out.push(mutant.clone()),
            Summary::Success | Summary::Failure => report.problems.push(format!(
                "{mutant}: cargo-mutants could not test it ({:?})",
                outcome.summary
            )),
        }
        all.push((mutant, outcome.summary));
    }
    for missed in &report.missed {
        if entries.iter().any(|entry| entry.mutant.matches(missed)) {
            report.allowed += 1;
        } else {
            report.problems.push(format!(
                "missed, and not in {shown}: {missed} — write a test that catches it, or list it with the reason it is equivalent"
            ));
        }
    }
    let names: Vec<MutantName> = all.iter().map(|(m, _)| m.clone()).collect();
    report
        .problems
        .extend(allowed::check_against(shown, entries, &names));
    for entry in entries {
        let caught = all
            .iter()
            .any(|(m, summary)| entry.mutant.matches(m) && *summary != Summary::MissedMutant);
        if caught {
            report.problems.push(format!(
                "{shown}:{}: \"{}\" is not missed any more: remove the line",
                entry.line, entry.mutant
            ));
        }
    }
}

/// The table, then what fails and what to look at.
pub fn render(reports: &[LessonMutants], check_allowed: bool) -> String {
    let mut out = String::new();
    if check_allowed {
        let _ = writeln!(out, "{:<22} {:>7}  {:>7}", "lesson", "mutants", "allowed");
        for r in reports {
            let _ = writeln!(out, "{:<22} {:>7}  {:>7}", r.slug, r.total, r.entries);
        }
    } else {
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>8}",
            "lesson", "mutants", "caught", "missed", "allowed", "unviable", "timeout", "time"
        );
        for r in reports {
            let _ = writeln!(
                out,
                "{:<22} {:>7} {:>7} {:>7} {:>8} {:>9} {:>8} {:>7.0}s",
                r.slug,
                r.total,
                r.caught,
                r.missed.len(),
                r.allowed,
                r.unviable,
                r.timed_out.len(),
                r.took.as_secs_f64()
            );
        }
        let total: Duration = reports.iter().map(|r| r.took).sum();
        let _ = writeln!(out, "{:<22} {:>63.0}s", "all", total.as_secs_f64());
        for r in reports {
            for mutant in &r.timed_out {
                let _ = writeln!(
                    out,
                    "  note {}: the tests ran past the limit on {mutant} (caught, but does a test lack a watchdog?)",
                    r.slug
                );
            }
        }
    }
    let problems: Vec<String> = reports
        .iter()
        .flat_map(|r| r.problems.iter().map(move |p| format!("  {}: {p}", r.slug)))
        .collect();
    if problems.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            if check_allowed {
                "every allow-list names real mutants of its solution, with reasons"
            } else {
                "every missed mutant is explained"
            }
        );
    } else {
        let _ = writeln!(
            out,
            "\n{} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    out
}
