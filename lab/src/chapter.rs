//! A lesson's book chapter, read for what the learner's tools show: its
//! sections (where to read about a failing test, in chapter order) and its
//! hints (with the code they include, and the section each one helps with).
//!
//! The book is the one source: a hint is written once, in the chapter's
//! `## Hints` section, as `<details><summary>Hint K …</summary> … </details>`.
//!
//! A test belongs to a section by its module, `sN_<section>` for the chapter's
//! N-th lesson section (the `##` headings between "Run" and "Alter it"); a
//! test without one, by the words its name shares with a heading. A hint
//! belongs to the section an HTML comment in it names (`<!-- section: put
//! -->`), or else to the one whose text shares the most code names with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, Result};

/// A chapter's headings and hints.
#[derive(Debug, Default)]
pub struct Chapter {
    /// The `## ` headings, in order.
    pub sections: Vec<String>,
    /// The lesson's own sections, in order: the headings between "Run" and
    /// "Alter it", which the tests' `sN_` modules number from 1.
    pub lesson_sections: Vec<String>,
    /// The hints, gentlest first.
    pub hints: Vec<Hint>,
}

/// One hint of a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// Its `<summary>`: "Hint 2 — failed results".
    pub title: String,
    /// Its text, Markdown, with every `{{#include …}}` replaced by the code it names.
    pub text: String,
    /// The lesson section it helps with (an index into
    /// [`Chapter::lesson_sections`]), when that can be told.
    pub section: Option<usize>,
}

/// The sections a chapter has around the lesson's own ones, which never say
/// where a particular test's subject is taught.
const FRAME: [&str; 9] = [
    "Focus",
    "Why it exists",
    "Run",
    "Alter it",
    "Break it",
    "Fix it",
    "Explain it",
    "Mastery check",
    "Hints",
];

/// The comment that ties a hint to a section: `<!-- section: Heading -->`.
const SECTION_MARK: &str = "<!-- section:";

impl Chapter {
    /// Reads the chapter at `path`; its includes are read relative to its folder.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the chapter {}", path.display()))?;
        Ok(Self::parse_in(&text, path.parent()))
    }

    /// The chapter in `text` (Markdown), its includes left as they are.
    pub fn parse(text: &str) -> Self {
        Self::parse_in(text, None)
    }

    /// The chapter in `text`, with includes read relative to `dir`.
    fn parse_in(text: &str, dir: Option<&Path>) -> Self {
        let text = match dir {
            Some(dir) => expand_includes(text, dir),
            None => text.to_string(),
        };
        let mut chapter = Chapter::default();
        let mut bodies: Vec<String> = Vec::new();
        let mut in_lesson = false;
        let mut in_hints = false;
        let mut hint: Option<(String, String)> = None;
        for line in text.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                let heading = heading.trim();
                in_hints = heading == "Hints";
                if heading == "Alter it" {
                    in_lesson = false;
                }
                if in_lesson {
                    chapter.lesson_sections.push(heading.to_string());
                    bodies.push(String::new());
                }
                if heading == "Run" {
                    in_lesson = true;
                }
                chapter.sections.push(heading.to_string());
                continue;
            }
            if in_lesson {
                if let Some(body) = bodies.last_mut() {
                    body.push_str(line);
                    body.push('\n');
                }
                continue;
            }
            if !in_hints {
                continue;
            }
            let trimmed = line.trim();
            if let Some(title) = trimmed
                .strip_prefix("<summary>")
                .and_then(|rest| rest.strip_suffix("</summary>"))
            {
                hint = Some((title.trim().to_string(), String::new()));
            } else if trimmed == "</details>" {
                if let Some((title, body)) = hint.take() {
                    chapter.hints.push(Hint {
                        title,
                        text: body.trim().to_string(),
                        section: None,
                    });
                }
            } else if let Some((_, body)) = hint.as_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        chapter.place_hints(&bodies);
        chapter
    }

    /// Ties each hint to a lesson section: the one its mark names, else the
    /// one sharing the most (rarest) code names with it; strips the marks.
    fn place_hints(&mut self, bodies: &[String]) {
        let names: Vec<BTreeSet<String>> = self
            .lesson_sections
            .iter()
            .zip(bodies)
            .map(|(heading, body)| {
                let mut names = code_names(body);
                names.extend(words(heading));
                names
            })
            .collect();
        let headings: Vec<Vec<String>> = self.lesson_sections.iter().map(|h| words(h)).collect();
        let mut sections_with: BTreeMap<&str, usize> = BTreeMap::new();
        for name in names.iter().flatten() {
            *sections_with.entry(name).or_default() += 1;
        }
        for hint in &mut self.hints {
            let (marked, text) = take_mark(&hint.text);
            hint.text = text;
            if let Some(heading) = marked {
                hint.section = self
                    .lesson_sections
                    .iter()
                    .position(|s| s.eq_ignore_ascii_case(&heading));
                continue;
            }
            let title = words(hint.title.split_once('—').map_or("", |(_, t)| t));
            let mut theirs = code_names(&hint.text);
            theirs.extend(title.iter().cloned());
            // Shared code names count by how rare they are; a word of the
            // hint's title in a heading counts most.
            let score = |names: &BTreeSet<String>, heading: &[String]| -> f64 {
                let shared: f64 = names
                    .intersection(&theirs)
                    .map(|n| 1.0 / sections_with[n.as_str()] as f64)
                    .sum();
                shared + 3.0 * title.iter().filter(|w| heading.contains(w)).count() as f64
            };
            let mut best: Option<(usize, f64)> = None;
            for (i, names) in names.iter().enumerate() {
                let here = score(names, &headings[i]);
                if here > 0.0 && best.is_none_or(|(_, top)| here > top) {
                    best = Some((i, here));
                }
            }
            hint.section = best.map(|(i, _)| i);
        }
    }

    /// Where test `test` (`binary::sN_section::name`) belongs: an index into
    /// [`Chapter::lesson_sections`]. Its `sN_` module says it exactly; a test
    /// without one, the lesson section whose heading shares the most words
    /// with its name.
    pub fn section_of(&self, test: &str) -> Option<usize> {
        if let Some(n) = test.split("::").find_map(numbered_module) {
            return (1..=self.lesson_sections.len()).contains(&n).then(|| n - 1);
        }
        let name = self.by_words(test)?;
        self.lesson_sections.iter().position(|s| *s == name)
    }

    /// The section to read about a failing test: the one its message names
    /// (`book chapter NN, "Section"`, as the starters' `todo!`s do), else the
    /// test's own section (see [`Chapter::section_of`]).
    pub fn section_for(&self, test: &str, message: &str) -> Option<String> {
        if let Some(named) = named_section(message)
            && self.sections.iter().any(|s| s.eq_ignore_ascii_case(&named))
        {
            return Some(named);
        }
        if test.split("::").any(|part| numbered_module(part).is_some()) {
            return self
                .section_of(test)
                .map(|i| self.lesson_sections[i].clone());
        }
        self.by_words(test)
    }

    /// The heading (other than the frame's) that shares the most words with
    /// the test's own name.
    fn by_words(&self, test: &str) -> Option<String> {
        let test_words = words(test.rsplit("::").next().unwrap_or(test));
        self.sections
            .iter()
            .filter(|s| !FRAME.contains(&s.as_str()))
            .map(|s| {
                (
                    words(s).iter().filter(|w| test_words.contains(w)).count(),
                    s,
                )
            })
            .filter(|(shared, _)| *shared > 0)
            .max_by_key(|(shared, _)| *shared)
            .map(|(_, s)| s.clone())
    }

    /// The hint to start with for a learner stuck in lesson section
    /// `section`: the first hint of the latest section, up to that one, that
    /// has hints (hints are gentlest first, and follow the chapter). 1-based.
    pub fn first_hint_for(&self, section: usize) -> usize {
        let latest = self
            .hints
            .iter()
            .filter_map(|h| h.section)
            .filter(|s| *s <= section)
            .max();
        latest
            .and_then(|latest| self.hints.iter().position(|h| h.section == Some(latest)))
            .map_or(1, |i| i + 1)
    }
}

/// `N` for a test module named `sN_…`.
fn numbered_module(part: &str) -> Option<usize> {
    let rest = part.strip_prefix('s')?;
    let (digits, name) = rest.split_once('_')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
        .then(|| digits.parse().ok())
        .flatten()
}

/// `Measuring depth` from `… book chapter 03, "Measuring depth"`.
fn named_section(message: &str) -> Option<String> {
    let after = message.split("book chapter ").nth(1)?;
    let quoted = after.split('"').nth(1)?;
    Some(quoted.to_string())
}

/// A hint's section mark, if any, and its text without it.
fn take_mark(text: &str) -> (Option<String>, String) {
    let Some(start) = text.find(SECTION_MARK) else {
        return (None, text.to_string());
    };
    let after = &text[start + SECTION_MARK.len()..];
    let Some(end) = after.find("-->") else {
        return (None, text.to_string());
    };
    let heading = after[..end].trim().to_string();
    let rest = format!("{}{}", &text[..start], &after[end + 3..]);
    (Some(heading), rest.trim().to_string())
}

/// The names a text gives in code: every word inside backticks and code
/// blocks, and the names of the anchors it includes, as [`words`] gives them.
fn code_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            names.extend(words(line));
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 {
                names.extend(words(span));
            }
        }
    }
    names
}

/// The meaningful words of a heading, a test name or code, lowercased, with
/// a plural `s` dropped: `a_bounded_queue_refuses` → `bounded`, `queue`, `refuse`.
fn words(text: &str) -> Vec<String> {
    const SMALL: [&str; 30] = [
        "a", "an", "the", "of", "to", "and", "or", "is", "it", "in", "on", "its", "with", "at",
        "fn", "pub", "let", "mut", "self", "ok", "err", "some", "none", "use", "for", "if", "else",
        "match", "return", "impl",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() > 1 && !SMALL.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() > 3 => stem.to_string(),
            _ => w,
        })
        .collect()
}

/// `text` with each `{{#include FILE}}` and `{{#include FILE:ANCHOR}}` (and
/// `rustdoc_include`) replaced by what mdBook would put there: the file, or
/// its lines between `ANCHOR: name` and `ANCHOR_END: name` without any anchor
/// lines. `FILE` is relative to `dir`. An include that cannot be read stays
/// as it is (`cargo xtask book` reports it).
pub fn expand_includes(text: &str, dir: &Path) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{#") {
        let Some(length) = rest[start..].find("}}") else {
            break;
        };
        let directive = &rest[start + 3..start + length];
        out.push_str(&rest[..start]);
        match include_spec(directive).and_then(|spec| included(spec, dir)) {
            Some(code) => out.push_str(code.trim_end_matches('\n')),
            None => out.push_str(&rest[start..start + length + 2]),
        }
        rest = &rest[start + length + 2..];
    }
    out.push_str(rest);
    out
}

/// `FILE:ANCHOR` from `include FILE:ANCHOR`.
fn include_spec(directive: &str) -> Option<&str> {
    let (kind, spec) = directive.trim().split_once(char::is_whitespace)?;
    matches!(kind, "include" | "rustdoc_include").then(|| spec.trim())
}

fn included(spec: &str, dir: &Path) -> Option<String> {
    let (file, anchor) = spec.split_once(':').unwrap_or((spec, ""));
    let source = std::fs::read_to_string(dir.join(file)).ok()?;
    if anchor.is_empty() {
        return Some(source);
    }
    let lines = anchored_lines(&source, anchor)?;
    Some(lines.join("\n") + "\n")
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, if both are
/// there, without any line naming an anchor (nested ones included), as mdBook
/// includes them.
pub fn anchored_lines<'a>(source: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let is = |line: &str, tag: &str| {
        line.split_once(tag)
            .is_some_and(|(_, rest)| rest.trim() == name)
    };
    let lines: Vec<&str> = source.lines().collect();
    let start = lines.iter().position(|l| is(l, "ANCHOR:"))?;
    let end = lines.iter().position(|l| is(l, "ANCHOR_END:"))?;
    (end > start).then(|| {
        lines[start + 1..end]
            .iter()
            .filter(|l| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"))
            .copied()
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: &str = "# 03 · Backpressure\n\n## Focus\n\ntext\n\n## Run\n\n`cargo test`\n\n## Bounded and unbounded\n\nA `bounded` channel, made by `work_queue`.\n\n## Measuring depth\n\n`Sender::len` after each `send`.\n\n## A fast producer\n\n`fast_producer` starts consumers.\n\n## Alter it\n\n## Hints\n\n<details>\n<summary>Hint 1</summary>\n\nFirst, gently: `work_queue` picks `bounded`.\n\n</details>\n\n<details>\n<summary>Hint 2 — more</summary>\n\nSecond,\nin two lines.\n<!-- section: A fast producer -->\n\n</details>\n\n<details>\n<summary>Hint 3 — depth</summary>\n\nCall `len` after `send`.\n\n</details>\n";

    #[test]
    fn hints_are_read_in_order_with_their_text() {
        let chapter = Chapter::parse(CHAPTER);
        let hints: Vec<(&str, &str)> = chapter
            .hints
            .iter()
            .map(|h| (h.title.as_str(), h.text.as_str()))
            .collect();
        assert_eq!(
            hints,
            [
                ("Hint 1", "First, gently: `work_queue` picks `bounded`."),
                ("Hint 2 — more", "Second,\nin two lines."),
                ("Hint 3 — depth", "Call `len` after `send`."),
            ]
        );
    }

    #[test]
    fn the_lesson_sections_are_those_between_run_and_alter_it() {
        let chapter = Chapter::parse(CHAPTER);
        assert_eq!(
            chapter.lesson_sections,
            [
                "Bounded and unbounded",
                "Measuring depth",
                "A fast producer"
            ]
        );
    }

    #[test]
    fn a_hint_belongs_to_the_section_it_names_or_shares_code_names_with() {
        let chapter = Chapter::parse(CHAPTER);
        let sections: Vec<Option<usize>> = chapter.hints.iter().map(|h| h.section).collect();
        assert_eq!(sections, [Some(0), Some(2), Some(1)]);
    }

    #[test]
    fn the_first_hint_is_the_latest_section_s_up_to_the_failing_one() {
        let chapter = Chapter::parse(CHAPTER);
        // Hints: section 0 (hint 1), 2 (hint 2), 1 (hint 3).
        assert_eq!(chapter.first_hint_for(0), 1);
        assert_eq!(chapter.first_hint_for(1), 3);
        assert_eq!(chapter.first_hint_for(2), 2);
        assert_eq!(Chapter::parse("## Hints\n").first_hint_for(4), 1);
    }

    #[test]
    fn a_test_s_numbered_module_names_its_section_exactly() {
        let chapter = Chapter::parse(CHAPTER);
        assert_eq!(
            chapter.section_of("backpressure::s3_a_fast_producer::anything"),
            Some(2)
        );
        assert_eq!(
            chapter.section_of("backpressure::s1_whatever::a_fast_producer_finishes"),
            Some(0),
            "the module wins over the words"
        );
        assert_eq!(chapter.section_of("backpressure::s9_nothing::x"), None);
        assert_eq!(
            chapter
                .section_for("backpressure::s2_measuring_depth::x", "")
                .as_deref(),
            Some("Measuring depth")
        );
    }

    #[test]
    fn a_section_named_by_the_message_wins() {
        let chapter = Chapter::parse(CHAPTER);
        let message = "not yet implemented: send — book chapter 03, \"Measuring depth\"";
        assert_eq!(
            chapter
                .section_for("backpressure::anything", message)
                .as_deref(),
            Some("Measuring depth")
        );
    }

    #[test]
    fn otherwise_the_section_sharing_words_with_the_test() {
        let chapter = Chapter::parse(CHAPTER);
        assert_eq!(
            chapter
                .section_for("backpressure::a_bounded_queue_refuses_the_item", "")
                .as_deref(),
            Some("Bounded and unbounded")
        );
        assert_eq!(
            chapter
                .section_for("backpressure::fast_producer_finishes_early", "")
                .as_deref(),
            Some("A fast producer")
        );
        assert_eq!(
            chapter.section_of("backpressure::fast_producer_finishes_early"),
            Some(2)
        );
        assert_eq!(chapter.section_for("backpressure::zzz", ""), None);
    }

    #[test]
    fn includes_are_replaced_by_the_anchored_code_without_anchor_lines() {
        let dir = std::env::temp_dir().join(format!("chapter-includes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("lib.rs"),
            "// ANCHOR: all\nfn before() {}\n// ANCHOR: one\nfn one() {}\n// ANCHOR_END: one\n// ANCHOR_END: all\n",
        )
        .unwrap();
        let text = "```rust\n{{#include lib.rs:one}}\n```\n\n{{#include lib.rs:all}}\n{{#include missing.rs:x}}\n";
        assert_eq!(
            expand_includes(text, &dir),
            "```rust\nfn one() {}\n```\n\nfn before() {}\nfn one() {}\n{{#include missing.rs:x}}\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
