//! A lesson's known mistakes as the learner's tools name them: the recorded
//! signatures ([`crate::signature`]) matched by [`crate::matcher`], each
//! mistake told in the chapter's words — a one-line description, the section
//! to read, and the "Break it" bullet that names its patch.
//!
//! The mistakes one bullet names are one group for the matcher: a learner
//! whose failures match any of them is shown that bullet, which covers them
//! all. A mistake no bullet names is a group of its own, described by its
//! patch's name (`if-instead-of-while-in-get` → "if instead of while in
//! get"), which is named after the mistake. Nothing here reads a patch.
//!
//! `grade` calls this too: [`KnownMistakes::load`] once per lesson, then
//! [`KnownMistakes::identify`] per learner.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};

use crate::break_it::{self, Bullet};
use crate::chapter::Chapter;
use crate::kit::Lesson;
use crate::matcher::{Catalogue, Failure};
use crate::runner::{self, Status, TestRun};
use crate::signature::{self, Signatures};

/// A lesson's known mistakes, ready to match.
#[derive(Debug)]
pub struct KnownMistakes {
    number: String,
    signatures: Signatures,
    chapter: Chapter,
    bullets: Vec<Bullet>,
    catalogue: Catalogue,
}

/// A known mistake a run's failures matched, told as the learner reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The matching mistakes' names (patch names without `.patch`): one, or
    /// several of one group that fail the same tests with the same messages.
    pub mistakes: Vec<String>,
    /// One line: what the mistake is.
    pub description: String,
    /// The chapter section of its earliest failing test, in the chapter's order.
    pub section: Option<String>,
    /// The "Break it" bullet naming it, as the chapter has it (continuation
    /// lines joined), if one does.
    pub bullet: Option<String>,
}

impl KnownMistakes {
    /// The known mistakes of `lesson`: its recorded signatures and its
    /// chapter; `None` when the lesson has no signatures recorded.
    pub fn load(lesson: &Lesson) -> Result<Option<Self>> {
        let Some(signatures) = signature::read(&lesson.solution)? else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(&lesson.chapter)
            .with_context(|| format!("cannot read the chapter {}", lesson.chapter.display()))?;
        Ok(Some(Self::new(&lesson.number, signatures, &text)))
    }

    /// The known mistakes of lesson `number`, from its `signatures` and its
    /// chapter's Markdown `chapter`.
    pub fn new(number: &str, signatures: Signatures, chapter: &str) -> Self {
        let bullets = break_it::bullets(chapter).unwrap_or_default();
        let catalogue = Catalogue::new(&signatures, |name| group_of(&bullets, name));
        KnownMistakes {
            number: number.to_string(),
            signatures,
            chapter: Chapter::parse(chapter),
            bullets,
            catalogue,
        }
    }

    /// The matcher's catalogue of these mistakes (for leave-one-out).
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The recorded signatures, by mistake name.
    pub fn signatures(&self) -> &Signatures {
        &self.signatures
    }

    /// The known mistake `failures` look like, if the match is unambiguous.
    pub fn identify(&self, failures: &[Failure<'_>]) -> Option<Known> {
        let matched = self.catalogue.identify(failures)?;
        Some(self.tell(&matched.mistakes))
    }

    /// The known mistake a lesson's test runs look like (`runs`: all of
    /// them, or only the ones that did not pass), if the match is unambiguous.
    pub fn identify_runs(&self, runs: &[&TestRun]) -> Option<Known> {
        let whys: Vec<(&str, Option<String>)> = runs
            .iter()
            .filter(|run| run.status != Status::Passed)
            .map(|run| {
                let why = (run.status == Status::Failed).then(|| runner::why(run));
                (without_binary(&run.name), why)
            })
            .collect();
        let failures: Vec<Failure<'_>> = whys
            .iter()
            .map(|(test, why)| Failure {
                test,
                message: why.as_deref(),
            })
            .collect();
        self.identify(&failures)
    }

    /// How mistakes `names` (one group) are told to the learner.
    pub fn tell(&self, names: &[String]) -> Known {
        let description = names
            .iter()
            .map(|name| name.replace('-', " "))
            .collect::<Vec<_>>()
            .join(", or ");
        let section = names
            .iter()
            .filter_map(|name| self.signatures.get(name))
            .flat_map(|s| &s.fails)
            .filter_map(|test| self.chapter.section_of(test))
            .min()
            .map(|i| self.chapter.lesson_sections[i].clone());
        let bullet = names
            .iter()
            .find_map(|name| self.bullets.iter().find(|b| b.patches.contains(name)))
            .map(|b| b.text.clone());
        Known {
            mistakes: names.to_vec(),
            description,
            section,
            bullet,
        }
    }

    /// The one line the learner's tools print for `known`.
    pub fn learner_line(&self, known: &Known) -> String {
        let place = match &known.section {
            Some(section) => format!("chapter {}, \"{section}\"", self.number),
            None => format!("chapter {}", self.number),
        };
        format!(
            "this looks like a known mistake: {} ({place}; `cargo xtask hint {}` for a nudge)",
            known.description, self.number
        )
    }

    /// What `hint` shows first for `known`: the chapter's Break-it bullet
    /// for it (or, with none, its description and section).
    pub fn hint_text(&self, known: &Known) -> String {
        let mut out = String::from("Your failures look like a known mistake");
        match &known.bullet {
            Some(bullet) => {
                let _ = writeln!(
                    out,
                    " — the chapter's \"Break it\" lists it (chapter {}):",
                    self.number
                );
                for line in wrap(bullet, 76) {
                    let _ = writeln!(out, "  {line}");
                }
            }
            None => {
                let _ = writeln!(out, ": {}.", known.description);
            }
        }
        if let Some(section) = &known.section {
            let _ = writeln!(
                out,
                "Read the section \"{section}\" again with that in mind."
            );
        }
        out
    }
}

/// The group of mistake `name`: the first bullet that names it (by its
/// line), or the mistake alone.
fn group_of(bullets: &[Bullet], name: &str) -> String {
    bullets
        .iter()
        .find(|b| b.patches.iter().any(|p| p == name))
        .map_or_else(|| name.to_string(), |b| format!("bullet@{}", b.line))
}

/// A test run's name as signatures record it: without the test binary
/// (`work_items::s1_x::y` → `s1_x::y`; the runner names runs `binary::test`).
pub fn without_binary(run_name: &str) -> &str {
    run_name.split_once("::").map_or(run_name, |(_, test)| test)
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::signature::Signature;

    const CHAPTER: &str = "\
# 09 · A blocking queue

## Run

## Putting and getting

Text.

## Closing

Text.

## Alter it

## Break it

- Replace `while` with `if` around the wait in `get`:
  `mistakes/if-instead-of-while-in-get.patch` — and in `put`:
  `mistakes/if-instead-of-while-in-put.patch`.
- In `close`, `notify_one` instead of `notify_all`:
  `mistakes/close-strands-waiters.patch`.

## Fix it
";

    fn signatures() -> Signatures {
        let sig = |fails: &[&str], message: &str| Signature {
            fails: fails.iter().map(|t| t.to_string()).collect(),
            messages: fails
                .iter()
                .map(|t| (t.to_string(), message.to_string()))
                .collect(),
        };
        Signatures::from([
            (
                "if-instead-of-while-in-get".to_string(),
                sig(&["s2_closing::a", "s1_putting_and_getting::b"], "got None"),
            ),
            (
                "if-instead-of-while-in-put".to_string(),
                sig(&["s1_putting_and_getting::c"], "held # items"),
            ),
            (
                "close-strands-waiters".to_string(),
                sig(&["s2_closing::d"], "waiter # stranded"),
            ),
            (
                "close-clears-the-queue".to_string(),
                sig(&["s2_closing::e"], "lost # items"),
            ),
        ])
    }

    fn run(name: &str, status: Status, output: &str) -> TestRun {
        TestRun {
            name: name.to_string(),
            status,
            duration: Duration::ZERO,
            reason: None,
            output: output.to_string(),
        }
    }

    fn panicked(message: &str) -> String {
        format!("thread 'x' panicked at tests/q.rs:1:1:\n{message}\nnote: run with …\n")
    }

    #[test]
    fn a_matching_run_gets_one_line_naming_the_mistake_and_the_section() {
        let known = KnownMistakes::new("09", signatures(), CHAPTER);
        let runs = [
            run(
                "queue::s1_putting_and_getting::b",
                Status::Failed,
                &panicked("got None"),
            ),
            run("queue::s1_putting_and_getting::c", Status::Passed, ""),
            run(
                "queue::s2_closing::a",
                Status::Failed,
                &panicked("got None"),
            ),
        ];
        let found = known
            .identify_runs(&runs.iter().collect::<Vec<_>>())
            .expect("a match");
        assert_eq!(
            known.learner_line(&found),
            "this looks like a known mistake: if instead of while in get (chapter 09, \
             \"Putting and getting\"; `cargo xtask hint 09` for a nudge)"
        );
        assert!(
            found
                .bullet
                .as_deref()
                .unwrap()
                .starts_with("Replace `while` with `if`")
        );
    }

    #[test]
    fn the_hint_starts_with_the_bullet_and_never_shows_a_patch() {
        let known = KnownMistakes::new("09", signatures(), CHAPTER);
        let found = known.tell(&["close-strands-waiters".to_string()]);
        let text = known.hint_text(&found);
        assert!(
            text.contains("In `close`, `notify_one` instead of `notify_all`"),
            "{text}"
        );
        assert!(text.contains("Read the section \"Closing\""), "{text}");
        assert!(!text.contains("@@") && !text.contains("--- a/"), "{text}");
    }

    #[test]
    fn a_mistake_no_bullet_names_is_told_by_its_name() {
        let known = KnownMistakes::new("09", signatures(), CHAPTER);
        let found = known.tell(&["close-clears-the-queue".to_string()]);
        assert_eq!(found.bullet, None);
        assert_eq!(found.description, "close clears the queue");
        assert!(
            known
                .hint_text(&found)
                .contains(": close clears the queue.")
        );
    }

    #[test]
    fn the_same_tests_failing_for_another_reason_get_no_line() {
        let known = KnownMistakes::new("09", signatures(), CHAPTER);
        let runs = [run(
            "queue::s2_closing::d",
            Status::Failed,
            &panicked("the queue is empty"),
        )];
        assert_eq!(known.identify_runs(&runs.iter().collect::<Vec<_>>()), None);
    }

    #[test]
    fn a_timed_out_test_counts_as_failing_with_no_message_to_compare() {
        let known = KnownMistakes::new("09", signatures(), CHAPTER);
        let runs = [run("queue::s2_closing::d", Status::TimedOut, "")];
        let found = known.identify_runs(&runs.iter().collect::<Vec<_>>());
        assert_eq!(
            found.map(|k| k.mistakes),
            Some(vec!["close-strands-waiters".to_string()])
        );
    }

    #[test]
    fn a_run_name_loses_its_binary_only() {
        assert_eq!(without_binary("queue::s2_closing::d"), "s2_closing::d");
        assert_eq!(without_binary("alone"), "alone");
    }

    #[test]
    fn long_text_wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
    }
}
