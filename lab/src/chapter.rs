//! A lesson's book chapter, read for what the learner's tools show: its
//! sections (where to read about a failing test) and its hints.
//!
//! The book is the one source: a hint is written once, in the chapter's
//! `## Hints` section, as `<details><summary>Hint K …</summary> … </details>`.

use std::path::Path;

use anyhow::{Context as _, Result};

/// A chapter's headings and hints.
#[derive(Debug, Default)]
pub struct Chapter {
    /// The `## ` headings, in order.
    pub sections: Vec<String>,
    /// The hints, gentlest first: (title, text).
    pub hints: Vec<(String, String)>,
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

impl Chapter {
    /// Reads the chapter at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the chapter {}", path.display()))?;
        Ok(Self::parse(&text))
    }

    /// The chapter in `text` (Markdown).
    pub fn parse(text: &str) -> Self {
        let mut chapter = Chapter::default();
        let mut in_hints = false;
        let mut hint: Option<(String, String)> = None;
        for line in text.lines() {
            if let Some(heading) = line.strip_prefix("## ") {
                in_hints = heading.trim() == "Hints";
                chapter.sections.push(heading.trim().to_string());
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
                    chapter.hints.push((title, body.trim().to_string()));
                }
            } else if let Some((_, body)) = hint.as_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        chapter
    }

    /// The section to read about a failing test: the one its message names
    /// (`book chapter NN, "Section"`, as the starters' `todo!`s do), else the
    /// lesson section whose heading shares the most words with the test's name.
    pub fn section_for(&self, test: &str, message: &str) -> Option<String> {
        if let Some(named) = named_section(message)
            && self.sections.iter().any(|s| s.eq_ignore_ascii_case(&named))
        {
            return Some(named);
        }
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
}

/// `Measuring depth` from `… book chapter 03, "Measuring depth"`.
fn named_section(message: &str) -> Option<String> {
    let after = message.split("book chapter ").nth(1)?;
    let quoted = after.split('"').nth(1)?;
    Some(quoted.to_string())
}

/// The meaningful words of a heading or a test name, lowercased, with a
/// plural `s` dropped: `a_bounded_queue_refuses` → `bounded`, `queue`, `refuse`.
fn words(text: &str) -> Vec<String> {
    const SMALL: [&str; 14] = [
        "a", "an", "the", "of", "to", "and", "or", "is", "it", "in", "on", "its", "with", "at",
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

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: &str = "# 03 · Backpressure\n\n## Focus\n\ntext\n\n## Bounded and unbounded\n\n## Measuring depth\n\n## A fast producer\n\n## Hints\n\n<details>\n<summary>Hint 1</summary>\n\nFirst, gently.\n\n</details>\n\n<details>\n<summary>Hint 2 — more</summary>\n\nSecond,\nin two lines.\n\n</details>\n";

    #[test]
    fn hints_are_read_in_order_with_their_text() {
        let chapter = Chapter::parse(CHAPTER);
        assert_eq!(
            chapter.hints,
            vec![
                ("Hint 1".to_string(), "First, gently.".to_string()),
                (
                    "Hint 2 — more".to_string(),
                    "Second,\nin two lines.".to_string()
                ),
            ]
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
        assert_eq!(chapter.section_for("backpressure::zzz", ""), None);
    }
}
