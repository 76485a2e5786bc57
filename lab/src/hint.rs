//! `cargo xtask hint NN [K]`: the K-th hint of a lesson, gentlest first, read
//! from its chapter's `## Hints` section (the book is the one source).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};

use crate::chapter::Chapter;
use crate::kit;

/// The text to show for hint `k` (1-based; the first when `None`) of lesson `number`.
pub fn hint(root: &Path, number: &str, k: Option<usize>) -> Result<String> {
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
    let k = k.unwrap_or(1);
    if k == 0 || k > total {
        bail!("lesson {} has hints 1 to {total}", lesson.number);
    }
    let (title, text) = &chapter.hints[k - 1];
    let mut out = format!("Lesson {} · {title} (of {total})\n\n", lesson.slug);
    for line in text.lines() {
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
    Ok(out)
}
