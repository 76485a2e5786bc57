//! What `verify` found for each lesson, and the table it prints.

use std::fmt::Write as _;
use std::time::Duration;

/// One lesson's verdict.
#[derive(Debug, Default)]
pub struct LessonReport {
    /// `03-backpressure`.
    pub slug: String,
    /// How many times the solution's tests and each mistake's were run.
    pub repeat: u32,
    /// Tests in the lesson.
    pub tests: usize,
    /// Tests that failed on the starter, as they must.
    pub starter_failing: usize,
    /// Tests that passed with the solution on every run, as they must.
    pub solution_passing: usize,
    /// Whether the known mistakes were checked (`verify --no-mistakes` leaves them out).
    pub mistakes_checked: bool,
    /// Known mistakes kept as patches.
    pub mistakes: usize,
    /// Mistakes some test caught on every run.
    pub caught: usize,
    /// The lesson's examples (`examples/*.rs`).
    pub examples: usize,
    /// Examples that ran to their end with the solution.
    pub examples_ok: usize,
    /// Whether clippy found nothing in the solution; `None` when it did not run.
    pub clippy_clean: Option<bool>,
    /// How long the first build of the lesson's loom models took (the starter's);
    /// `None` for a lesson without models.
    pub models_built: Option<Duration>,
    /// The slowest test run with the solution.
    pub slowest: Option<(String, Duration)>,
    /// Tests and mistakes whose outcome changed from run to run, one line each.
    pub flaky: Vec<String>,
    /// Everything that breaks the contract, one sentence each.
    pub breaches: Vec<String>,
    /// Which test caught each mistake.
    pub caught_by: Vec<(String, String)>,
    /// Wall-clock time for the lesson.
    pub took: Duration,
    /// Where that time went.
    pub spent: Spent,
}

/// Where a lesson's time went: what to shorten when `verify` is too slow.
#[derive(Debug, Default)]
pub struct Spent {
    /// Building every variant's tests (starter, solution, each mistake).
    pub building: Duration,
    /// Building the loom models (every variant that ran its models test).
    pub models: Duration,
    /// Running tests.
    pub testing: Duration,
    /// Each mistake's whole time (its build, models and tests), by name.
    pub mistakes: Vec<(String, Duration)>,
}

impl Spent {
    /// "build 41s, models 9s, tests 60s; slowest mistakes: a 9.1s, b 7.0s, c 6.2s".
    pub fn describe(&self) -> String {
        let mut slowest: Vec<&(String, Duration)> = self.mistakes.iter().collect();
        slowest.sort_by_key(|(_, took)| std::cmp::Reverse(*took));
        let slowest: Vec<String> = slowest
            .iter()
            .take(3)
            .map(|(name, took)| format!("{name} {:.1}s", took.as_secs_f64()))
            .collect();
        let mut text = format!(
            "build {:.0}s, models {:.0}s, tests {:.0}s",
            self.building.as_secs_f64(),
            self.models.as_secs_f64(),
            self.testing.as_secs_f64()
        );
        if !slowest.is_empty() {
            let _ = write!(text, "; slowest mistakes: {}", slowest.join(", "));
        }
        text
    }
}

impl LessonReport {
    /// An empty report for the lesson `slug`, run `repeat` times.
    pub fn new(slug: &str, repeat: u32) -> Self {
        LessonReport {
            slug: slug.to_string(),
            repeat,
            ..LessonReport::default()
        }
    }
}

fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "NO" }
}

/// "12/12 ok".
fn fraction(good: usize, of: usize, ok: bool) -> String {
    format!("{good}/{of} {}", mark(ok))
}

fn seconds(duration: Option<Duration>) -> String {
    duration.map_or("-".to_string(), |d| format!("{:.1}s", d.as_secs_f64()))
}

/// The summary table, then every flaky test or mistake and every breach.
pub fn render(reports: &[LessonReport]) -> String {
    let mut out = String::new();
    let repeat = reports.first().map_or(1, |r| r.repeat);
    if repeat > 1 {
        let _ = writeln!(
            out,
            "the solution's tests and each mistake run {repeat} times; \"ok\" means on every run\n"
        );
    }
    let _ = writeln!(
        out,
        "{:<22} {:>5}  {:<13} {:<12} {:<15} {:<9} {:<7} {:<7} {:<8} {:>7}",
        "lesson",
        "tests",
        "starter fails",
        "solution ok",
        "mistakes",
        "examples",
        "clippy",
        "models",
        "slowest",
        "time"
    );
    for r in reports {
        let examples = if r.examples == 0 {
            "-".to_string()
        } else {
            fraction(r.examples_ok, r.examples, r.examples_ok == r.examples)
        };
        let clippy = r.clippy_clean.map_or("-", mark);
        let _ = writeln!(
            out,
            "{:<22} {:>5}  {:<13} {:<12} {:<15} {:<9} {:<7} {:<7} {:<8} {:>6.1}s",
            r.slug,
            r.tests,
            fraction(
                r.starter_failing,
                r.tests,
                r.starter_failing == r.tests && r.tests > 0
            ),
            fraction(
                r.solution_passing,
                r.tests,
                r.solution_passing == r.tests && r.tests > 0
            ),
            if r.mistakes_checked {
                format!(
                    "{}/{} caught {}",
                    r.caught,
                    r.mistakes,
                    mark(r.caught == r.mistakes && r.mistakes > 0)
                )
            } else {
                "not checked".to_string()
            },
            examples,
            clippy,
            seconds(r.models_built),
            seconds(r.slowest.as_ref().map(|s| s.1)),
            r.took.as_secs_f64(),
        );
    }
    let total: Duration = reports.iter().map(|r| r.took).sum();
    let _ = writeln!(
        out,
        "{:<22} {:>105.1}s (lessons added up; lanes overlap)",
        "all",
        total.as_secs_f64()
    );
    let _ = writeln!(out, "\nwhere the time went:");
    for r in reports {
        let _ = writeln!(out, "  {:<22} {}", r.slug, r.spent.describe());
    }
    let flaky: Vec<String> = reports
        .iter()
        .flat_map(|r| r.flaky.iter().map(move |f| format!("  {}: {f}", r.slug)))
        .collect();
    if !flaky.is_empty() {
        let _ = writeln!(out, "\nflaky ({}):\n{}", flaky.len(), flaky.join("\n"));
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
