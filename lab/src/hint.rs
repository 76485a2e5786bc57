//! `cargo xtask hint NN [K]`: a hint for lesson NN, read from its chapter's
//! `## Hints` section (the book is the one source), with the code it includes.
//!
//! `hint NN K` is hint K, gentlest first. `hint NN` runs the lesson's tests
//! and starts at the hint for the section of the first failing one in the
//! chapter's order (see [`Chapter::first_hint_for`]); when the failures match
//! a known mistake ([`crate::known`]), the chapter's "Break it" bullet for it
//! comes first.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::chapter::Chapter;
use crate::kit::{self, Lesson};
use crate::known::KnownMistakes;
use crate::progress::{self, Standing};
use crate::term::Waiting;

/// The text to show for hint `k` (1-based) of lesson `number`; with no `k`,
/// the hint for the section of the lesson's first failing test, which takes
/// building and running the tests (each under `limit`).
pub fn hint(root: &Path, number: &str, k: Option<usize>, limit: Duration) -> Result<String> {
    let lessons = kit::lessons(root, &[number.to_string()])?;
    let Some(lesson) = lessons.first() else {
        bail!("there is no lesson {number} (lessons are numbered 01, 02, …)");
    };
    let chapter = Chapter::read(&lesson.chapter)?;
    let total = chapter.hints.len();
    if total == 0 {
        bail!(
            "chapter {} has no hints (a `## Hints` section with <details> blocks)",
            lesson.slug
        );
    }
    let (k, why) = match k {
        Some(k) if k == 0 || k > total => bail!("lesson {} has hints 1 to {total}", lesson.number),
        Some(k) => (k, String::new()),
        None => for_the_first_failure(root, lesson, &chapter, limit)?,
    };
    let hint = &chapter.hints[k - 1];
    let mut out = format!("Lesson {} · {} (of {total})\n", lesson.slug, hint.title);
    let _ = writeln!(out, "{why}");
    for line in hint.text.lines() {
        let _ = writeln!(out, "  {line}");
    }
    if k < total {
        let _ = writeln!(
            out,
            "\nStill stuck? `cargo xtask hint {} {}` says more.",
            lesson.number,
            k + 1
        );
    } else {
        let _ = writeln!(
            out,
            "\nThat was the last hint. The solution is in solutions/{}/ when you want to compare.",
            lesson.slug
        );
    }
    if k > 1 && why.contains("first failing") {
        let _ = writeln!(
            out,
            "Earlier hints, for the sections before: `cargo xtask hint {} 1` to {}.",
            lesson.number,
            k - 1
        );
    }
    Ok(out)
}

/// Which hint to start with, and what to say before it: the known mistake
/// the lesson's failures look like, if the match is unambiguous (its "Break
/// it" bullet), and a line saying the hint is the one for the section of the
/// first failing test in the chapter's order. Runs every test: the match
/// needs all the failures, not only the first.
fn for_the_first_failure(
    root: &Path,
    lesson: &Lesson,
    chapter: &Chapter,
    limit: Duration,
) -> Result<(usize, String)> {
    let target_dir = progress::target_dir(root)?;
    let waiting = Waiting::start(&format!(
        "building lesson {} to find its failing tests",
        lesson.number
    ));
    let built = progress::build(root, &target_dir, std::slice::from_ref(lesson))?;
    waiting.step(&format!("running lesson {}'s tests", lesson.number));
    let standing = progress::test_lesson(
        lesson,
        &built,
        &target_dir,
        limit,
        || waiting.step(&progress::building_models(lesson)),
        |_| (),
    )?;
    drop(waiting);
    if let Standing::DoesNotCompile(_) = standing {
        return Ok((
            1,
            "(Your code does not compile yet — `cargo test` shows why; here is the first hint.)\n"
                .to_string(),
        ));
    }
    let failures = progress::in_chapter_order(standing.failures(), Some(chapter));
    let Some(first) = failures.first() else {
        return Ok((
            1,
            "(Every test passes: nothing to be stuck on. Here is the first hint anyway.)\n"
                .to_string(),
        ));
    };
    let mut why = KnownMistakes::load(lesson)
        .ok()
        .flatten()
        .and_then(|known| Some(known.hint_text(&known.identify_runs(&failures)?) + "\n"))
        .unwrap_or_default();
    let k = match chapter.section_of(&first.name) {
        Some(section) => {
            why += &format!(
                "(For your first failing test, {}, of section \"{}\".)\n",
                first.name, chapter.lesson_sections[section]
            );
            chapter.first_hint_for(section)
        }
        None => {
            why += &format!("(Your first failing test is {}.)\n", first.name);
            1
        }
    };
    Ok((k, why))
}
