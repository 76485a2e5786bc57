//! `cargo xtask watch [NN]`: re-runs the lesson in progress on every save and
//! keeps one screen up to date — tests passed of total, the first failing
//! test's message, the chapter section to read — like rustlings' watch mode.
//!
//! The tests run as `progress` runs them: each in its own process under the
//! hard limit, so hanging code costs one limit, never a frozen terminal; a save
//! that does not compile shows the compiler's first error.

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::kit::{self, Lesson};
use crate::progress::{self, Standing};
use crate::runner::{self, Status, TestRun};

/// How long after the last change a run starts: an editor's save is often
/// several writes (a temporary file, a rename, a touch).
const DEBOUNCE: Duration = Duration::from_millis(150);

/// What wakes the watcher.
enum Event {
    /// A file of the lesson changed.
    Saved,
    /// The learner typed a line: `n` (next lesson), `q` (quit), or empty (re-run).
    Typed(String),
}

/// Watches lesson `only` (or the first not green) of the kit at `root` until
/// the learner quits.
pub fn watch(root: &Path, only: Option<&str>, limit: Duration) -> Result<ExitCode> {
    let lessons = kit::lessons(root, &[])?;
    let target_dir = progress::target_dir(root)?;
    let mut index = match only {
        Some(number) => lessons
            .iter()
            .position(|l| kit::same_number(number, &l.number))
            .with_context(|| format!("there is no lesson {number}"))?,
        None => first_not_green(root, &target_dir, &lessons, limit)?,
    };
    let (events, wake) = mpsc::channel();
    read_typed_lines(events.clone());
    loop {
        let lesson = &lessons[index];
        let mut watcher = notify::recommended_watcher({
            let events = events.clone();
            move |result: notify::Result<notify::Event>| {
                // Only writes count: the compiler opening a file to read it
                // is an event too, and would re-run the lesson forever.
                if let Ok(event) = result
                    && matches!(
                        event.kind,
                        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
                    )
                    && event.paths.iter().any(|p| is_source(p))
                {
                    let _ = events.send(Event::Saved);
                }
            }
        })
        .context("cannot watch the lesson's files")?;
        for folder in ["src", "tests"] {
            let dir = lesson.dir.join(folder);
            if dir.is_dir() {
                watcher
                    .watch(&dir, RecursiveMode::Recursive)
                    .with_context(|| format!("cannot watch {}", dir.display()))?;
            }
        }
        let mut green = run_and_show(root, &target_dir, lesson, &lessons, limit)?;
        loop {
            let Ok(event) = wake.recv() else {
                return Ok(ExitCode::SUCCESS);
            };
            // A save is often several writes (a temporary file, a rename):
            // wait until the files are quiet, then run once for all of them.
            let mut typed: Vec<String> = Vec::new();
            let mut next = Some(event);
            while let Some(event) = next {
                if let Event::Typed(line) = event {
                    typed.push(line.trim().to_lowercase());
                }
                next = wake.recv_timeout(DEBOUNCE).ok();
            }
            if typed.iter().any(|t| t == "q") {
                return Ok(ExitCode::SUCCESS);
            }
            if typed.iter().any(|t| t == "n") && index + 1 < lessons.len() && green {
                index += 1;
                break;
            }
            green = run_and_show(root, &target_dir, lesson, &lessons, limit)?;
        }
    }
}

/// The lesson in progress: the first whose tests are not all green.
fn first_not_green(
    root: &Path,
    target_dir: &Path,
    lessons: &[Lesson],
    limit: Duration,
) -> Result<usize> {
    eprintln!(
        "Looking for the lesson in progress (building the lessons: the first time takes a minute or two)…"
    );
    let built = progress::build(root, target_dir, lessons)?;
    for (i, lesson) in lessons.iter().enumerate() {
        eprintln!("  checking {}", lesson.slug);
        if !progress::test_lesson(lesson, &built, target_dir, limit, |_| ())?.green() {
            return Ok(i);
        }
    }
    bail!("every lesson is green: name one to watch, e.g. `cargo xtask watch 09`")
}

/// Reads the learner's typed lines into `events`, for as long as there are any.
fn read_typed_lines(events: Sender<Event>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if events.send(Event::Typed(line)).is_err() {
                break;
            }
        }
    });
}

/// A change worth a re-run: a Rust file or a manifest, not an editor's swap file.
fn is_source(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs" || e == "toml")
}

/// Builds and tests `lesson`, redrawing the screen as tests end; returns
/// whether it is green.
fn run_and_show(
    root: &Path,
    target_dir: &Path,
    lesson: &Lesson,
    lessons: &[Lesson],
    limit: Duration,
) -> Result<bool> {
    let started = Instant::now();
    draw(&format!("Lesson {} · building…\n", lesson.slug));
    let built = progress::build(root, target_dir, std::slice::from_ref(lesson))?;
    let ended: Mutex<Vec<TestRun>> = Mutex::new(Vec::new());
    let standing = progress::test_lesson(lesson, &built, target_dir, limit, |run| {
        let mut ended = ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ended.push(run.clone());
        draw(&format!(
            "Lesson {} · running the tests… {} done\n",
            lesson.slug,
            ended.len()
        ));
    })?;
    let next = lessons
        .iter()
        .position(|l| l.slug == lesson.slug)
        .and_then(|i| lessons.get(i + 1));
    draw(&screen(root, lesson, &standing, next, started.elapsed()));
    Ok(standing.green())
}

/// Clears the terminal (when stdout is one) and shows `text`.
fn draw(text: &str) {
    let mut out = std::io::stdout().lock();
    if std::io::stdout().is_terminal() {
        let _ = write!(out, "\x1b[2J\x1b[H");
    }
    let _ = write!(out, "{text}");
    let _ = out.flush();
}

/// The one-screen summary.
fn screen(
    root: &Path,
    lesson: &Lesson,
    standing: &Standing,
    next: Option<&Lesson>,
    took: Duration,
) -> String {
    let mut out = String::new();
    let when = format!("{:.1} s", took.as_secs_f64());
    match standing {
        Standing::DoesNotCompile(error) => {
            let _ = writeln!(
                out,
                "Lesson {} · does not compile yet   ({when})\n",
                lesson.slug
            );
            for line in error.lines().take(20) {
                let _ = writeln!(out, "  {line}");
            }
        }
        Standing::Tested(runs) => {
            let (passed, total) = standing.score().unwrap_or((0, 0));
            let filled = (passed * 20).checked_div(total).unwrap_or(0);
            let _ = writeln!(
                out,
                "Lesson {} · {passed} of {total} tests pass   [{}{}]   ({when})\n",
                lesson.slug,
                "#".repeat(filled),
                ".".repeat(20 - filled)
            );
            if standing.green() {
                let _ = writeln!(out, "  Green: every test passes. Well done!\n");
                match next {
                    Some(next) => {
                        let _ = writeln!(
                            out,
                            "  Next: lesson {}. Type n and Enter to go on (or q and Enter to stop).",
                            next.slug
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "  That was the last lesson. The capstone: read how queue-sim does it all (book, last chapter)."
                        );
                    }
                }
                return out;
            }
            write_first_failure(&mut out, runs);
            let _ = writeln!(
                out,
                "\n  Read: {}",
                progress::what_to_read(root, lesson, standing).trim_start_matches("read ")
            );
            let others: Vec<&str> = standing
                .failures()
                .iter()
                .skip(1)
                .map(|r| r.name.rsplit("::").next().unwrap_or(&r.name))
                .collect();
            if !others.is_empty() {
                let shown: Vec<&str> = others.iter().take(3).copied().collect();
                let _ = writeln!(
                    out,
                    "  Also not passing ({}): {}{}",
                    others.len(),
                    shown.join(", "),
                    if others.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                );
            }
            let _ = writeln!(out, "  Stuck? cargo xtask hint {}", lesson.number);
        }
    }
    let _ = writeln!(
        out,
        "\nWatching lessons/{}/ — save a file to re-run · Enter re-runs · q and Enter quits",
        lesson.slug
    );
    out
}

fn write_first_failure(out: &mut String, runs: &[TestRun]) {
    let Some(first) = runs.iter().find(|r| r.status != Status::Passed) else {
        return;
    };
    let _ = writeln!(out, "  First failing test: {}", first.name);
    if let Some(at) = runner::panic_location(first) {
        let _ = writeln!(out, "  at {at}");
    }
    let message = if first.status == Status::TimedOut {
        format!(
            "still running at the time limit, and stopped: does some code wait forever \
             (a join, a recv, a lock) or loop without end?\n{}",
            runner::why(first)
        )
    } else {
        runner::panic_message(first)
    };
    let _ = writeln!(out);
    for line in message.lines().take(14) {
        let _ = writeln!(out, "    {line}");
    }
}
