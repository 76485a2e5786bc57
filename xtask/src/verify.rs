//! `cargo xtask verify`: proves the lesson contract for every lesson.
//!
//! For each lesson: the starter compiles and has `todo!()`s; every test fails on
//! the starter; every test passes with the solution laid over it; no test runs
//! past the time limit; every known mistake (`mistakes/*.patch`, applied to the
//! solution) fails at least one test; every example (`examples/*.rs`) runs to
//! its end with the solution; and no `#[should_panic]` goes without
//! `expected = "…"`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::kit::{self, Lesson};
use crate::runner::{self, Scratch, Status, TestRun};

/// An example may build and run this many times as long as one test: it is a
/// whole program (the lesson's measurements), built on first use.
pub const EXAMPLE_LIMIT_FACTOR: u32 = 12;

/// What `verify` is asked to do.
pub struct Options<'a> {
    /// The kit to verify.
    pub root: &'a Path,
    /// Lesson numbers to verify; empty means all.
    pub only: &'a [String],
    /// A folder of verify's own, for its scratch copy of the kit and its builds.
    pub work_dir: &'a Path,
    /// Hard limit for one test (and, times [`EXAMPLE_LIMIT_FACTOR`], for one example).
    pub limit: Duration,
    /// Run every test against each mistake (to list all that catch it), not
    /// just until the first failure.
    pub all_catches: bool,
}

/// One lesson's verdict.
#[derive(Debug, Default)]
pub struct LessonReport {
    /// `03-backpressure`.
    pub slug: String,
    /// Tests in the lesson.
    pub tests: usize,
    /// Tests that failed on the starter, as they must.
    pub starter_failing: usize,
    /// Tests that passed with the solution, as they must.
    pub solution_passing: usize,
    /// Known mistakes, and how many of them some test caught.
    pub mistakes: usize,
    /// Mistakes caught.
    pub caught: usize,
    /// The lesson's examples (`examples/*.rs`).
    pub examples: usize,
    /// Examples that ran to their end with the solution.
    pub examples_ok: usize,
    /// The slowest test with the solution.
    pub slowest: Option<(String, Duration)>,
    /// Everything that breaks the contract, one sentence each.
    pub breaches: Vec<String>,
    /// Which test caught each mistake.
    pub caught_by: Vec<(String, String)>,
    /// Wall-clock time for the lesson.
    pub took: Duration,
}

/// Verifies the lessons; returns a report per lesson.
pub fn verify(options: &Options<'_>) -> Result<Vec<LessonReport>, String> {
    let lessons = kit::lessons(options.root, options.only)
        .map_err(|e| format!("cannot read the lessons: {e}"))?;
    if lessons.is_empty() {
        return Err(format!(
            "no lessons found under {}",
            options.root.join("lessons").display()
        ));
    }
    let scratch = Scratch::create(options.root, options.work_dir)
        .map_err(|e| format!("cannot copy the kit to {}: {e}", options.work_dir.display()))?;
    let mut reports = Vec::new();
    for lesson in &lessons {
        let started = Instant::now();
        let mut report = verify_lesson(&scratch, lesson, options);
        report.took = started.elapsed();
        eprintln!(
            "  {:<22} {}",
            report.slug,
            if report.breaches.is_empty() {
                "ok"
            } else {
                "BREACH"
            }
        );
        reports.push(report);
    }
    Ok(reports)
}

fn verify_lesson(scratch: &Scratch, lesson: &Lesson, options: &Options<'_>) -> LessonReport {
    let limit = options.limit;
    let mut report = LessonReport {
        slug: lesson.slug.clone(),
        ..LessonReport::default()
    };
    check_layout(lesson, &mut report.breaches);

    // The starter: compiles, and every test fails — none passes, none hangs.
    let starter_variant = Variant {
        what: "the starter",
        overlays: &[],
        patch: None,
    };
    let Some(starter) = build_and_run(
        scratch,
        lesson,
        &starter_variant,
        limit,
        false,
        &mut report.breaches,
    ) else {
        return report;
    };
    report.tests = starter.len();
    if starter.is_empty() {
        report.breaches.push("the lesson has no tests".into());
    }
    for run in &starter {
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

    // The solution: every test passes, within the limit.
    if !lesson.solution.join("src").is_dir() {
        report
            .breaches
            .push(format!("no solution at {}", lesson.solution.display()));
        return report;
    }
    let solution_overlay = [lesson.solution.as_path()];
    let solution_variant = Variant {
        what: "the solution",
        overlays: &solution_overlay,
        patch: None,
    };
    if let Some(solved) = build_and_run(
        scratch,
        lesson,
        &solution_variant,
        limit,
        false,
        &mut report.breaches,
    ) {
        for run in &solved {
            match run.status {
                Status::Passed => report.solution_passing += 1,
                Status::Failed => report.breaches.push(format!(
                    "{} fails with the solution: {}",
                    run.name,
                    runner::why(run)
                )),
                Status::TimedOut => report.breaches.push(format!(
                    "{} hangs with the solution (killed after {limit:?})",
                    run.name
                )),
            }
        }
        if solved.len() != starter.len() {
            report.breaches.push(format!(
                "{} tests on the starter but {} with the solution",
                starter.len(),
                solved.len()
            ));
        }
        report.slowest = solved
            .iter()
            .max_by_key(|r| r.duration)
            .map(|r| (r.name.clone(), r.duration));
        // Still laid out with the solution: the examples need finished code.
        run_examples(scratch, lesson, limit * EXAMPLE_LIMIT_FACTOR, &mut report);
    }

    // Each known mistake: some test must fail, and none may hang.
    let mistakes = lesson.mistakes().unwrap_or_default();
    report.mistakes = mistakes.len();
    if mistakes.is_empty() {
        report.breaches.push(
            "no known mistakes kept in mistakes/*.patch: nothing shows the tests catch anything"
                .into(),
        );
    }
    for mistake in &mistakes {
        let what = format!("mistake {}", mistake.name);
        let variant = Variant {
            what: &what,
            overlays: &solution_overlay,
            patch: Some(&mistake.patch),
        };
        let until_first_failure = !options.all_catches;
        let Some(runs) = build_and_run(
            scratch,
            lesson,
            &variant,
            limit,
            until_first_failure,
            &mut report.breaches,
        ) else {
            continue;
        };
        for run in runs.iter().filter(|r| r.status == Status::TimedOut) {
            report.breaches.push(format!(
                "{what} makes {} hang past {limit:?}: that test needs a watchdog",
                run.name
            ));
        }
        let catchers: Vec<&TestRun> = runs.iter().filter(|r| r.status == Status::Failed).collect();
        if catchers.is_empty() {
            report.breaches.push(format!("{what} is caught by no test"));
        } else {
            report.caught += 1;
        }
        for run in catchers {
            report.caught_by.push((
                mistake.name.clone(),
                format!("{} — {}", run.name, runner::why(run)),
            ));
        }
    }
    report
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

/// One version of a lesson's `src/`: the starter, with overlays laid over it and
/// a patch applied.
struct Variant<'a> {
    /// How breaches name it: "the starter", "mistake one-sentinel-for-all".
    what: &'a str,
    overlays: &'a [&'a Path],
    patch: Option<&'a Path>,
}

fn build_and_run(
    scratch: &Scratch,
    lesson: &Lesson,
    variant: &Variant<'_>,
    limit: Duration,
    until_first_failure: bool,
    breaches: &mut Vec<String>,
) -> Option<Vec<TestRun>> {
    let what = variant.what;
    if let Err(e) = scratch.prepare(lesson, variant.overlays, variant.patch) {
        breaches.push(format!("cannot lay out {what}: {e}"));
        return None;
    }
    let binaries = match scratch.build(&lesson.package) {
        Ok(binaries) => binaries,
        Err(messages) => {
            let messages = messages.to_string();
            let first_error = messages
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("(see cargo's output)");
            breaches.push(format!("{what} does not compile: {first_error}"));
            return None;
        }
    };
    match runner::run_all(&binaries, limit, until_first_failure) {
        Ok(runs) => Some(runs),
        Err(e) => {
            breaches.push(format!("cannot run the tests of {what}: {e}"));
            None
        }
    }
}

/// Checks that need no build: `todo!()`s in the starter, a solution mirroring
/// its files, and every `#[should_panic]` naming what it expects.
fn check_layout(lesson: &Lesson, breaches: &mut Vec<String>) {
    let starter_files = lesson.learner_files().unwrap_or_default();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    if !starter_files
        .iter()
        .any(|f| read(&lesson.dir.join(f)).contains("todo!("))
    {
        breaches.push("the starter has no todo!(\"…\") marking the learner's work".into());
    }
    let solution_files = kit::files_under(&lesson.solution, Path::new("src")).unwrap_or_default();
    if lesson.solution.is_dir() && solution_files != starter_files {
        breaches.push(format!(
            "solutions/{}/src does not mirror the starter's files ({} vs {})",
            lesson.slug,
            names(&solution_files),
            names(&starter_files)
        ));
    }
    for file in kit::files_under(&lesson.dir, Path::new("tests")).unwrap_or_default() {
        for (number, line) in read(&lesson.dir.join(&file)).lines().enumerate() {
            if line.contains("#[should_panic") && !line.contains("expected") {
                breaches.push(format!(
                    "{}:{}: #[should_panic] without expected = \"…\"",
                    file.display(),
                    number + 1
                ));
            }
        }
    }
}

fn names(files: &[std::path::PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary table, then every breach.
pub fn render(reports: &[LessonReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:>5}  {:<14} {:<14} {:<14} {:<9} {:<10} {:>7}",
        "lesson",
        "tests",
        "starter fails",
        "solution ok",
        "mistakes",
        "examples",
        "slowest",
        "time"
    );
    for r in reports {
        let mark = |ok: bool| if ok { "ok" } else { "NO" };
        let slowest = r
            .slowest
            .as_ref()
            .map_or("-".to_string(), |(_, d)| format!("{:.2}s", d.as_secs_f64()));
        let _ = writeln!(
            out,
            "{:<22} {:>5}  {:<14} {:<14} {:<14} {:<9} {:<10} {:>6.1}s",
            r.slug,
            r.tests,
            format!(
                "{}/{} {}",
                r.starter_failing,
                r.tests,
                mark(r.starter_failing == r.tests && r.tests > 0)
            ),
            format!(
                "{}/{} {}",
                r.solution_passing,
                r.tests,
                mark(r.solution_passing == r.tests && r.tests > 0)
            ),
            format!(
                "{}/{} caught {}",
                r.caught,
                r.mistakes,
                mark(r.caught == r.mistakes && r.mistakes > 0)
            ),
            if r.examples == 0 {
                "-".to_string()
            } else {
                format!(
                    "{}/{} {}",
                    r.examples_ok,
                    r.examples,
                    mark(r.examples_ok == r.examples)
                )
            },
            slowest,
            r.took.as_secs_f64(),
        );
    }
    let breaches: Vec<String> = reports
        .iter()
        .flat_map(|r| r.breaches.iter().map(move |b| format!("  {}: {b}", r.slug)))
        .collect();
    if breaches.is_empty() {
        let _ = writeln!(out, "\nevery lesson keeps the contract");
    } else {
        let _ = writeln!(
            out,
            "\n{} breach(es) of the lesson contract:\n{}",
            breaches.len(),
            breaches.join("\n")
        );
    }
    out
}

/// Which test caught which mistake, for the instructors' guide and the closing note.
pub fn render_catches(reports: &[LessonReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for (mistake, test) in &r.caught_by {
            let _ = writeln!(out, "  {:<22} {:<34} caught by {test}", r.slug, mistake);
        }
    }
    out
}
