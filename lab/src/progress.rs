//! `cargo xtask progress [NN]`: the learner's view. Builds and runs every
//! lesson's tests on the learner's own files, just now — nothing is stored, so
//! it cannot go stale — and says which lesson is in progress (the first one not
//! green), which of its tests fail and why, and what to read.
//!
//! Failures are listed in the chapter's order (see [`in_chapter_order`]), and
//! the lesson in progress points to the section of its earliest failure.
//!
//! The builds go to the target dir of the copy being reported on (see
//! [`target_dir`]): never to one another copy of the kit has filled, whose
//! artefacts cargo could take for this copy's.

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use lesson_support::models::COLD_BUILD_TAKES;

use crate::chapter::Chapter;
use crate::compile::{self, Built, TestBinary};
use crate::kit::{self, Lesson};
use crate::known::KnownMistakes;
use crate::models;
use crate::place::Place;
use crate::runner::{self, Job, Status, TestRun};
use crate::term::Waiting;

/// Tests run at once: the cores (two on the kit's machines).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Where one lesson stands.
#[derive(Debug)]
pub enum Standing {
    /// Its tests ran.
    Tested(Vec<TestRun>),
    /// It does not compile: the compiler's first error.
    DoesNotCompile(String),
}

impl Standing {
    /// (passed, total); `None` when it does not compile.
    pub fn score(&self) -> Option<(usize, usize)> {
        match self {
            Standing::Tested(runs) => Some((
                runs.iter().filter(|r| r.status == Status::Passed).count(),
                runs.len(),
            )),
            Standing::DoesNotCompile(_) => None,
        }
    }

    /// Every test ran and passed.
    pub fn green(&self) -> bool {
        self.score()
            .is_some_and(|(passed, total)| passed == total && total > 0)
    }

    /// Not one test passes yet.
    fn untouched(&self) -> bool {
        self.score().is_some_and(|(passed, _)| passed == 0)
    }

    /// The tests that did not pass, in libtest's order.
    pub fn failures(&self) -> Vec<&TestRun> {
        match self {
            Standing::Tested(runs) => runs.iter().filter(|r| r.status != Status::Passed).collect(),
            Standing::DoesNotCompile(_) => Vec::new(),
        }
    }
}

/// `runs` in the order of the chapter's sections: each test's section (see
/// [`Chapter::section_of`]: its `sN_` module, or the words of its name), then
/// libtest's order (by name) within a section; tests of no known section last.
/// With the tests named `sN_…`, that is libtest's own order.
pub fn in_chapter_order<'a>(
    mut runs: Vec<&'a TestRun>,
    chapter: Option<&Chapter>,
) -> Vec<&'a TestRun> {
    if let Some(chapter) = chapter {
        runs.sort_by_key(|run| chapter.section_of(&run.name).unwrap_or(usize::MAX));
    }
    runs
}

/// The target dir for the copy of the kit at `root`: cargo's own for it when
/// that lies inside the copy (the usual `root/target`, shared with the
/// learner's `cargo test`); otherwise a folder of its own under it, named after
/// the copy, so two copies never share artefacts.
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    let cargo_s = kit::target_dir(root)?;
    let root = root
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", root.display()))?;
    if cargo_s.starts_with(&root) {
        return Ok(cargo_s);
    }
    let mut hasher = DefaultHasher::new();
    root.hash(&mut hasher);
    let name = root
        .file_name()
        .map_or_else(|| "kit".into(), |n| n.to_string_lossy().into_owned());
    Ok(cargo_s
        .join("xtask")
        .join("progress")
        .join(format!("{name}-{:016x}", hasher.finish())))
}

/// Builds `lessons` of the kit at `root` in one cargo run (one lesson that does
/// not compile does not stop the others).
pub fn build(root: &Path, target_dir: &Path, lessons: &[Lesson]) -> Result<Built> {
    let mut command = Place::here().command(kit::cargo());
    command
        .args(["build", "--keep-going", "--test", "*"])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    for lesson in lessons {
        command.args(["--package", &lesson.package]);
    }
    compile::build(command, Duration::MAX)
}

/// What the learner is told while a lesson's loom models build before its tests.
pub fn building_models(lesson: &Lesson) -> String {
    format!(
        "building lesson {}'s loom models (once: the first time takes {COLD_BUILD_TAKES})",
        lesson.number
    )
}

/// Runs `lesson`'s tests, built in `built`, each in its own process killed at
/// `limit`, in the lesson's folder (as `cargo test` does); calls `warming` if
/// its loom models take a while to build first, and `each` as each test ends.
/// Lessons with loom models run one test at a time: the models' nested build
/// would take the cores from tests that measure time.
pub fn test_lesson(
    lesson: &Lesson,
    built: &Built,
    target_dir: &Path,
    limit: Duration,
    warming: impl FnOnce(),
    each: impl Fn(&TestRun) + Sync,
) -> Result<Standing> {
    if let Some(errors) = built.errors.get(&lesson.slug) {
        return Ok(Standing::DoesNotCompile(compile::first_error(errors)));
    }
    let place = Place::in_dir(&lesson.dir);
    warm_models(lesson, target_dir, warming);
    let names = listed(lesson, built, &place)?;
    let jobs: Vec<Job<'_>> = names
        .iter()
        .map(|(binary, name)| Job {
            place: &place,
            binary,
            name,
        })
        .collect();
    let parallel = if lesson.has_models() { 1 } else { cores() };
    let runs = runner::run_tests(&jobs, limit, None, parallel, each)?;
    Ok(Standing::Tested(runs.into_iter().flatten().collect()))
}

/// Builds `lesson`'s loom models, if it has any, ahead of its tests, so no
/// test's limit includes a cold nested build; a build that fails is left for
/// the models test to report, in the learner's terms.
fn warm_models(lesson: &Lesson, target_dir: &Path, warming: impl FnOnce()) {
    if lesson.has_models() {
        let _ = models::warm(lesson, &lesson.dir, target_dir, warming);
    }
}

/// Each test of `lesson` built in `built`, with its executable, as libtest lists them.
fn listed(lesson: &Lesson, built: &Built, place: &Place) -> Result<Vec<(TestBinary, String)>> {
    let mut names = Vec::new();
    for binary in built.binaries.get(&lesson.slug).into_iter().flatten() {
        for name in runner::list_tests(place, binary)? {
            names.push((binary.clone(), name));
        }
    }
    Ok(names)
}

/// Builds and tests the kit at `root` (only lesson `only`, if given); returns
/// the text to show.
pub fn progress(root: &Path, only: Option<&str>, limit: Duration) -> Result<String> {
    let only: Vec<String> = only.map(str::to_string).into_iter().collect();
    let lessons = kit::lessons(root, &only)?;
    anyhow::ensure!(
        !lessons.is_empty(),
        "no lesson {} under {}",
        only.join(""),
        root.join("lessons").display()
    );
    let target_dir = target_dir(root)?;
    // The loom models' first build is the longest wait of all: start it now,
    // at low priority, beside the lessons' own build and tests.
    let _ahead = only
        .is_empty()
        .then(|| models::warm_ahead(&lessons, &target_dir));
    let waiting = Waiting::start(&format!(
        "building {} lesson(s) — the first time takes a few minutes, later a few seconds",
        lessons.len()
    ));
    let built = build(root, &target_dir, &lessons)?;
    let mut rows = Vec::new();
    for (i, lesson) in lessons.iter().enumerate() {
        let ended = AtomicUsize::new(0);
        let testing = format!(
            "testing lesson {} of {}: {}",
            i + 1,
            lessons.len(),
            lesson.slug
        );
        waiting.step(&testing);
        let standing = test_lesson(
            lesson,
            &built,
            &target_dir,
            limit,
            || waiting.step(&building_models(lesson)),
            |_| {
                let ended = ended.fetch_add(1, Ordering::Relaxed) + 1;
                waiting.update(&format!("{testing} ({ended} tests run)"));
            },
        )?;
        rows.push((lesson, standing));
    }
    drop(waiting);
    Ok(render(root, &rows, only.is_empty()))
}

/// The table, the lesson in progress with its failures, and what to do next.
fn render(root: &Path, rows: &[(&Lesson, Standing)], all: bool) -> String {
    let mut out = String::from(if all {
        "Your progress (every lesson's tests, run just now):\n\n"
    } else {
        "Your progress (this lesson's tests, run just now):\n\n"
    });
    let current = rows.iter().position(|(_, standing)| !standing.green());
    for (i, (lesson, standing)) in rows.iter().enumerate() {
        let _ = match standing.score() {
            Some((passed, total)) if standing.green() => {
                writeln!(out, "  {:<22} {passed:>3}/{total:<3} done", lesson.slug)
            }
            Some((passed, total)) => {
                let filled = (passed * 10).checked_div(total).unwrap_or(0);
                writeln!(
                    out,
                    "  {:<22} {passed:>3}/{total:<3} {}{}{}",
                    lesson.slug,
                    "#".repeat(filled),
                    ".".repeat(10 - filled),
                    if standing.untouched() {
                        "  not started"
                    } else {
                        ""
                    }
                )
            }
            None => writeln!(out, "  {:<22} does not compile", lesson.slug),
        };
        // Failures are listed for the lesson in progress and for any lesson
        // begun but not finished; lessons not started would only be noise.
        if Some(i) == current || !all || !standing.untouched() {
            write_failures(&mut out, lesson, standing);
        }
    }
    match current {
        Some(i) => {
            let (lesson, standing) = &rows[i];
            let _ = write!(out, "\nIn progress: lesson {}", lesson.slug);
            let read = what_to_read(root, lesson, standing);
            let _ = write!(
                out,
                " — {read}\n  cargo xtask watch {}    re-runs it on every save\n  cargo xtask hint {}     a hint, gentlest first\n  cargo test -p {}\n",
                lesson.number, lesson.number, lesson.package
            );
        }
        None if all => {
            let _ = write!(
                out,
                "\nEvery lesson is green. The capstone: read how queue-sim does it all (book, last chapter).\n"
            );
        }
        None => {
            let _ = writeln!(out, "\nThis lesson is green.");
        }
    }
    out
}

/// Each failing and timed-out test, by name, with the first line of its
/// message, in the chapter's order.
fn write_failures(out: &mut String, lesson: &Lesson, standing: &Standing) {
    match standing {
        Standing::DoesNotCompile(error) => {
            for line in error.lines().take(12) {
                let _ = writeln!(out, "      {line}");
            }
        }
        Standing::Tested(_) => {
            let chapter = Chapter::read(&lesson.chapter).ok();
            let failures = in_chapter_order(standing.failures(), chapter.as_ref());
            for run in &failures {
                let mark = if run.status == Status::TimedOut {
                    "timed out"
                } else {
                    "failed"
                };
                let _ = writeln!(out, "      {mark:<9} {}: {}", run.name, runner::why(run));
            }
            let known = KnownMistakes::load(lesson).ok().flatten();
            if let Some((known, found)) = known
                .as_ref()
                .and_then(|k| Some((k, k.identify_runs(&failures)?)))
            {
                let _ = writeln!(out, "      {}", known.learner_line(&found));
            }
        }
    }
}

/// "read book/src/lessons/03-backpressure.md, section "Measuring depth"": the
/// section of the earliest failure in the chapter's order.
pub fn what_to_read(root: &Path, lesson: &Lesson, standing: &Standing) -> String {
    let shown = lesson.chapter.strip_prefix(root).unwrap_or(&lesson.chapter);
    let Ok(chapter) = Chapter::read(&lesson.chapter) else {
        return "read its book chapter".to_string();
    };
    let section = in_chapter_order(standing.failures(), Some(&chapter))
        .first()
        .and_then(|run| chapter.section_for(&run.name, &runner::why(run)));
    match section {
        Some(section) => format!("read {}, section \"{section}\"", shown.display()),
        None => format!("read {}", shown.display()),
    }
}
