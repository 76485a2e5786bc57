//! `cargo xtask watch [NN]`: re-runs the lesson in progress on every save and
//! keeps one screen up to date — tests passed of total, the first failing
//! test's message (in the chapter's order), the chapter section to read — like
//! rustlings' watch mode.
//!
//! The tests run as `progress` runs them: each in its own process under the
//! hard limit, so hanging code costs one limit, never a frozen terminal; a save
//! that does not compile shows the compiler's first error.
//!
//! It starts fast: the lesson in progress is found without building every
//! lesson (see [`lesson_in_progress`]), its result is the first thing shown,
//! and only then do the loom models of the lessons ahead start building in the
//! background. Saves are noticed by polling the lesson's files' times.

use std::fmt::Write as _;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, bail};

use crate::chapter::Chapter;
use crate::kit::{self, Lesson};
use crate::known::KnownMistakes;
use crate::models::{self, Ahead};
use crate::progress::{self, Standing};
use crate::runner::{self, Status, TestRun};
use crate::term::Waiting;

/// How often the lesson's files are looked at: a few `stat`s, ten times a
/// second, cost nothing a learner could notice.
const POLL: Duration = Duration::from_millis(100);

/// How long the files must stay unchanged before a run starts: an editor's
/// save is often several writes (a temporary file, a rename, a touch), all
/// within milliseconds.
const SETTLE: Duration = Duration::from_millis(100);

/// Watches lesson `only` (or the one in progress) of the kit at `root` until
/// the learner quits.
pub fn watch(root: &Path, only: Option<&str>, limit: Duration) -> Result<ExitCode> {
    let lessons = kit::lessons(root, &[])?;
    let target_dir = progress::target_dir(root)?;
    let mut index = match only {
        Some(number) => lessons
            .iter()
            .position(|l| kit::same_number(number, &l.number))
            .with_context(|| format!("there is no lesson {number}"))?,
        None => lesson_in_progress(root, &target_dir, &lessons, limit)?,
    };
    let typed = read_typed_lines();
    let mut ahead: Option<Ahead> = None;
    let mut told_ready = false;
    loop {
        let lesson = &lessons[index];
        let mut seen = fingerprint(lesson);
        let mut green = run_and_show(root, &target_dir, lesson, &lessons, limit, ahead.as_ref())?;
        if ahead.is_none() {
            // The first result is on screen: now the long builds ahead may start.
            ahead = models::warm_ahead(&lessons[index + 1..], &target_dir);
            if let Some(ahead) = &ahead {
                println!("\n{}", ahead.describe());
            }
        }
        loop {
            let mut words: Vec<String> = Vec::new();
            match typed.recv_timeout(POLL) {
                Ok(line) => words.push(line.trim().to_lowercase()),
                Err(RecvTimeoutError::Timeout) => {}
                // stdin closed (no terminal): only saves wake us from now on.
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
            }
            while let Ok(line) = typed.try_recv() {
                words.push(line.trim().to_lowercase());
            }
            if words.iter().any(|w| w == "q") {
                return Ok(ExitCode::SUCCESS);
            }
            if words.iter().any(|w| w == "n") && green && index + 1 < lessons.len() {
                index += 1;
                break;
            }
            if let Some(ahead) = &ahead
                && !told_ready
                && ahead.done()
            {
                // Said once, under the screen as it stands.
                println!("{}", ahead.describe());
                told_ready = true;
            }
            let now = fingerprint(lesson);
            if now == seen && words.is_empty() {
                continue;
            }
            seen = settled(lesson, now);
            green = run_and_show(root, &target_dir, lesson, &lessons, limit, ahead.as_ref())?;
        }
    }
}

/// The lesson in progress, found cheaply: the first lesson that still has a
/// `todo!(` in its code (certainly not done: no build needed to know it) —
/// unless the lesson before it is not green yet (its `todo!`s written, its
/// tests still failing), which is then the one. Only that lesson before is
/// built and tested; `progress` checks every lesson. With no `todo!` left
/// anywhere, the last lesson unless it is green.
pub fn lesson_in_progress(
    root: &Path,
    target_dir: &Path,
    lessons: &[Lesson],
    limit: Duration,
) -> Result<usize> {
    let first_with_todo = lessons.iter().position(|l| l.has_todo());
    let Some(before) = first_with_todo.map_or(lessons.len().checked_sub(1), |i| i.checked_sub(1))
    else {
        return match first_with_todo {
            Some(i) => Ok(i),
            None => bail!("the kit has no lessons"),
        };
    };
    let lesson = &lessons[before];
    let waiting = Waiting::start(&format!(
        "checking lesson {}: its todo!s are written — are its tests green?",
        lesson.slug
    ));
    let built = progress::build(root, target_dir, std::slice::from_ref(lesson))?;
    let standing = progress::test_lesson(
        lesson,
        &built,
        target_dir,
        limit,
        || waiting.step(&progress::building_models(lesson)),
        |_| (),
    )?;
    drop(waiting);
    match first_with_todo {
        _ if !standing.green() => Ok(before),
        Some(i) => Ok(i),
        None => bail!(
            "every lesson has its todo!s written and the last one is green: `cargo xtask progress` \
             checks them all; `cargo xtask watch NN` watches lesson NN"
        ),
    }
}

/// The learner's typed lines, for as long as there are any: `n` (next
/// lesson), `q` (quit), or empty (re-run).
fn read_typed_lines() -> Receiver<String> {
    let (lines, typed) = mpsc::channel();
    std::thread::spawn(move || forward_lines(&lines));
    typed
}

fn forward_lines(lines: &Sender<String>) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if lines.send(line).is_err() {
            break;
        }
    }
}

/// What the lesson's sources look like now: each Rust file and manifest under
/// its `src/` and `tests/` (an editor's swap files do not count), with its
/// size and time.
fn fingerprint(lesson: &Lesson) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut files = Vec::new();
    for folder in ["src", "tests"] {
        for relative in kit::files_under(&lesson.dir, Path::new(folder)).unwrap_or_default() {
            if !relative
                .extension()
                .is_some_and(|e| e == "rs" || e == "toml")
            {
                continue;
            }
            let meta = std::fs::metadata(lesson.dir.join(&relative)).ok();
            files.push((
                relative,
                meta.as_ref().map_or(0, |m| m.len()),
                meta.and_then(|m| m.modified().ok()),
            ));
        }
    }
    files.push((
        PathBuf::from("Cargo.toml"),
        0,
        std::fs::metadata(lesson.dir.join("Cargo.toml"))
            .and_then(|m| m.modified())
            .ok(),
    ));
    files
}

/// Waits until the lesson's files have stayed as they are for [`SETTLE`];
/// returns how they are then.
fn settled(
    lesson: &Lesson,
    mut now: Vec<(PathBuf, u64, Option<SystemTime>)>,
) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    loop {
        std::thread::sleep(SETTLE);
        let again = fingerprint(lesson);
        if again == now {
            return now;
        }
        now = again;
    }
}

/// Builds and tests `lesson`, showing what it does meanwhile, then draws the
/// screen; returns whether the lesson is green.
fn run_and_show(
    root: &Path,
    target_dir: &Path,
    lesson: &Lesson,
    lessons: &[Lesson],
    limit: Duration,
    ahead: Option<&Ahead>,
) -> Result<bool> {
    let started = Instant::now();
    draw(&format!("Lesson {} · building…\n", lesson.slug));
    let waiting = Waiting::start(&format!("building lesson {}", lesson.number));
    let built = progress::build(root, target_dir, std::slice::from_ref(lesson))?;
    let testing = format!("running lesson {}'s tests", lesson.number);
    waiting.step(&testing);
    let ended: Mutex<usize> = Mutex::new(0);
    let standing = progress::test_lesson(
        lesson,
        &built,
        target_dir,
        limit,
        || waiting.step(&progress::building_models(lesson)),
        |_| {
            let mut ended = ended
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *ended += 1;
            waiting.update(&format!("{testing}: {} done", *ended));
        },
    )?;
    drop(waiting);
    let next = lessons
        .iter()
        .position(|l| l.slug == lesson.slug)
        .and_then(|i| lessons.get(i + 1));
    let mut text = screen(root, lesson, &standing, next, started.elapsed());
    if let Some(ahead) = ahead {
        let _ = writeln!(text, "\n{}", ahead.describe());
    }
    draw(&text);
    Ok(standing.green())
}

/// Clears the terminal (when stdout is one) and shows `text`.
fn draw(text: &str) {
    let mut out = std::io::stdout().lock();
    if std::io::stdout().is_terminal() {
        let _ = write!(out, "\x1b[2J\x1b[H");
    } else {
        // A log: keep each screen apart.
        let _ = writeln!(out);
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
        Standing::Tested(_) => {
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
            let chapter = Chapter::read(&lesson.chapter).ok();
            let failures = progress::in_chapter_order(standing.failures(), chapter.as_ref());
            write_first_failure(&mut out, failures.first().copied());
            if let Some(line) = known_mistake_line(lesson, &failures) {
                let _ = writeln!(out, "\n  {line}");
            }
            let _ = writeln!(
                out,
                "\n  Read: {}",
                progress::what_to_read(root, lesson, standing).trim_start_matches("read ")
            );
            let others: Vec<&str> = failures
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

/// The line naming the known mistake `failures` look like, if the match is
/// unambiguous; nothing when the lesson has no signatures or they cannot be read.
fn known_mistake_line(lesson: &Lesson, failures: &[&TestRun]) -> Option<String> {
    let known = KnownMistakes::load(lesson).ok()??;
    let found = known.identify_runs(failures)?;
    Some(known.learner_line(&found))
}

fn write_first_failure(out: &mut String, first: Option<&TestRun>) {
    let Some(first) = first else {
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
