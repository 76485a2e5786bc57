//! `cargo xtask book`: checks that the book and the code agree, then builds the
//! book with mdBook and checks the output.
//!
//! - every lesson has a chapter, listed in `SUMMARY.md`;
//! - (every "Break it" bullet names its mistake patch: `cargo xtask verify`
//!   checks that, beside proving the patch is caught);
//! - every `{{#include file:anchor}}` names a file that exists and an anchor
//!   that encloses some code (never line numbers, which drift), and none
//!   names the learner's files (`lessons/NN-slug/src/`, which they edit): the
//!   chapters show the starter as shipped, from its copy in `book/starters/`;
//! - every file in `book/starters/NN-slug/` is the lesson's file as shipped;
//! - every hint's `<!-- section: … -->` names one of its chapter's lesson sections;
//! - every `todo!("… book chapter NN, \"Section\"")` names a heading of chapter NN;
//! - every `cargo test -p lesson-NN` in the book names a real package;
//! - lesson 06's racy example is still rejected by the compiler (E0499);
//! - `mdbook build` succeeds, leaves no `{{#include` unresolved, and every
//!   internal link, anchor and image in the HTML resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use regex::Regex;

use crate::chapter::{self, Chapter};
use crate::kit::{self, Lesson};

/// Where the book keeps the starters as shipped, relative to the kit's root.
pub const STARTERS: &str = "book/starters";

/// Runs every check; builds the HTML into `out`. Returns a summary, or every
/// problem found.
pub fn check(root: &Path, out: &Path) -> Result<String> {
    let book = root.join("book");
    let mut problems = Vec::new();
    let chapters = markdown_files(&book.join("src")).context("cannot list book/src")?;
    let texts: BTreeMap<PathBuf, String> = chapters
        .iter()
        .map(|path| Ok((path.clone(), read(path)?)))
        .collect::<Result<_>>()?;

    let lessons = kit::lessons(root, &[]).context("cannot read the lessons")?;
    check_chapters_exist(&book, &lessons, &mut problems)?;
    let includes = check_includes(&texts, &mut problems);
    check_starters(root, &lessons, &mut problems)?;
    check_hint_sections(&lessons, &mut problems);
    check_todo_sections(&lessons, &mut problems)?;
    check_packages(root, &lessons, &texts, &mut problems);
    check_racy_example(root, out, &mut problems);

    let html = out.join("html");
    build(&book, &html)?;
    let pages = check_html(&html, &mut problems)?;

    if problems.is_empty() {
        Ok(format!(
            "book ok: {} chapters, {} lessons, {includes} includes, {pages} HTML pages checked; built into {}\n",
            texts.len(),
            lessons.len(),
            html.display()
        ))
    } else {
        bail!(
            "the book has {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn markdown_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(kit::files_under(dir, Path::new(""))?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| dir.join(p))
        .collect())
}

fn check_chapters_exist(book: &Path, lessons: &[Lesson], problems: &mut Vec<String>) -> Result<()> {
    let summary = read(&book.join("src/SUMMARY.md"))?;
    for lesson in lessons {
        let chapter = format!("lessons/{}.md", lesson.slug);
        if !book.join("src").join(&chapter).is_file() {
            problems.push(format!(
                "lesson {} has no chapter book/src/{chapter}",
                lesson.slug
            ));
        } else if !summary.contains(&format!("({chapter})")) {
            problems.push(format!("book/src/{chapter} is not listed in SUMMARY.md"));
        }
    }
    Ok(())
}

/// Checks every include; returns how many there are.
fn check_includes(texts: &BTreeMap<PathBuf, String>, problems: &mut Vec<String>) -> usize {
    let include = Regex::new(r"\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}").expect("regex");
    let mut count = 0;
    for (chapter, text) in texts {
        let dir = chapter.parent().expect("a chapter is in a folder");
        for found in include.captures_iter(text) {
            count += 1;
            let spec = &found[2];
            let (file, anchor) = spec.split_once(':').unwrap_or((spec, ""));
            let shown = format!("{}: {{{{#include {spec}}}}}", chapter.display());
            if let Some(slug) = learners_lesson(file) {
                problems.push(format!(
                    "{shown}: the learner edits lessons/{slug}/src, so the book would show their \
                     code; include {STARTERS}/{slug}/src/… (the starter as shipped) or \
                     solutions/{slug}/src/…"
                ));
            }
            let Ok(source) = std::fs::read_to_string(dir.join(file)) else {
                problems.push(format!("{shown}: no such file"));
                continue;
            };
            if anchor.is_empty() {
                continue;
            }
            if anchor.starts_with(|c: char| c.is_ascii_digit()) {
                problems.push(format!("{shown}: include by anchor, not by line numbers"));
                continue;
            }
            match anchored(&source, anchor) {
                None => problems.push(format!(
                    "{shown}: no ANCHOR: {anchor} … ANCHOR_END: {anchor}"
                )),
                Some(0) => problems.push(format!("{shown}: the anchor encloses nothing")),
                Some(_) => {}
            }
        }
    }
    count
}

/// How many lines mdBook includes for anchor `name`, if it is there.
fn anchored(source: &str, name: &str) -> Option<usize> {
    chapter::anchored_lines(source, name).map(|lines| lines.len())
}

/// `03-backpressure` when `file` (as an include names it) is in the learner's
/// `lessons/03-backpressure/src/`.
fn learners_lesson(file: &str) -> Option<&str> {
    let parts: Vec<&str> = file.split('/').filter(|p| *p != "..").collect();
    match parts.as_slice() {
        ["lessons", slug, "src", ..] if slug.starts_with(|c: char| c.is_ascii_digit()) => {
            Some(slug)
        }
        _ => None,
    }
}

/// Every file under `book/starters/NN-slug/` is the lesson's own file as
/// shipped, byte for byte.
fn check_starters(root: &Path, lessons: &[Lesson], problems: &mut Vec<String>) -> Result<()> {
    let starters = root.join(STARTERS);
    for relative in kit::files_under(&starters, Path::new(""))
        .with_context(|| format!("cannot list {STARTERS}"))?
    {
        let mut parts = relative.components();
        let slug = parts
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let inside = parts.as_path();
        let shown = format!("{STARTERS}/{}", relative.display());
        if !lessons.iter().any(|l| l.slug == slug) {
            problems.push(format!("{shown}: there is no lesson {slug}"));
            continue;
        }
        let lesson_file = Path::new("lessons").join(&slug).join(inside);
        let copy = std::fs::read(starters.join(&relative))?;
        match std::fs::read(root.join(&lesson_file)) {
            Ok(shipped) if shipped == copy => {}
            Ok(_) => problems.push(format!(
                "{shown} differs from {}: after changing the starter, copy it here \
                 (cp {} {shown}); in a learner's copy of the kit, the learner's edits are why",
                lesson_file.display(),
                lesson_file.display()
            )),
            Err(_) => problems.push(format!("{shown}: {} does not exist", lesson_file.display())),
        }
    }
    Ok(())
}

/// Every hint's section mark names one of its chapter's lesson sections.
fn check_hint_sections(lessons: &[Lesson], problems: &mut Vec<String>) {
    let mark = Regex::new(r"<!--\s*section:\s*(.*?)\s*-->").expect("regex");
    for lesson in lessons {
        let Ok(text) = std::fs::read_to_string(&lesson.chapter) else {
            continue;
        };
        let sections = Chapter::parse(&text).lesson_sections;
        for found in mark.captures_iter(&text) {
            if !sections.iter().any(|s| s.eq_ignore_ascii_case(&found[1])) {
                problems.push(format!(
                    "book/src/lessons/{}.md: a hint names section \"{}\", which is not one of \
                     the lesson's sections (between Run and Alter it)",
                    lesson.slug, &found[1]
                ));
            }
        }
    }
}

/// The headings of a markdown text, without their `#`s.
fn headings(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix('#'))
        .map(|rest| rest.trim_start_matches('#').trim().to_string())
        .collect()
}

fn check_todo_sections(lessons: &[Lesson], problems: &mut Vec<String>) -> Result<()> {
    let pointer = Regex::new(r#"book chapter (\d\d), \\"([^"\\]+)\\""#).expect("regex");
    for lesson in lessons {
        let slug = &lesson.slug;
        let sections = headings(&std::fs::read_to_string(&lesson.chapter).unwrap_or_default());
        let src = lesson.dir.join("src");
        for file in kit::files_under(&src, Path::new(""))
            .with_context(|| format!("cannot list {}", src.display()))?
        {
            let text = read(&src.join(&file))?;
            for found in pointer.captures_iter(&text) {
                let (number, section) = (&found[1], &found[2]);
                if !slug.starts_with(number) {
                    problems.push(format!(
                        "lessons/{slug}/src/{}: todo! points to chapter {number}, not {}",
                        file.display(),
                        &slug[..2]
                    ));
                } else if !sections.contains(section) {
                    problems.push(format!(
                        "lessons/{slug}/src/{}: todo! points to section \"{section}\", which book/src/lessons/{slug}.md has no heading for",
                        file.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every `-p lesson-…` the book mentions names a lesson's package (or
/// `lesson-support`'s).
fn check_packages(
    root: &Path,
    lessons: &[Lesson],
    texts: &BTreeMap<PathBuf, String>,
    problems: &mut Vec<String>,
) {
    let mut packages: BTreeSet<String> = lessons.iter().map(|l| l.package.clone()).collect();
    if let Ok(support) = kit::package_name(&root.join("lessons/support/Cargo.toml")) {
        packages.insert(support);
    }
    let mention = Regex::new(r"(?:-p|--package)\s+(lesson-[0-9a-z-]+)").expect("regex");
    for (chapter, text) in texts {
        for found in mention.captures_iter(text) {
            if !packages.contains(&found[1]) {
                problems.push(format!(
                    "{}: `-p {}` names no package in lessons/",
                    chapter.display(),
                    &found[1]
                ));
            }
        }
    }
}

/// The book says the compiler rejects this file with E0499; hold it to that.
fn check_racy_example(root: &Path, out: &Path, problems: &mut Vec<String>) {
    let racy = root.join("lessons/06-worker-stats/racy/racy.rs");
    let _ = std::fs::create_dir_all(out);
    let compiled = Command::new("rustc")
        .args([
            "--edition",
            "2024",
            "--emit",
            "metadata",
            "--crate-type",
            "bin",
            "-o",
        ])
        .arg(out.join("racy.rmeta"))
        .arg(&racy)
        .output();
    match compiled {
        Ok(output) if output.status.success() => problems.push(format!(
            "{} compiles, but the book (chapter 06) says the compiler rejects it",
            racy.display()
        )),
        Ok(output) if !String::from_utf8_lossy(&output.stderr).contains("E0499") => {
            problems.push(format!(
                "{} is rejected, but not with the E0499 the book explains:\n{}",
                racy.display(),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("could not run rustc: {e}")),
    }
}

/// The `mdbook` to use: on PATH, or where `cargo install` puts it.
pub fn mdbook() -> Result<PathBuf> {
    let on_path = Command::new("mdbook").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return Ok(PathBuf::from("mdbook"));
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin/mdbook"))
        .filter(|path| path.is_file())
        .context("mdbook is not installed: cargo install --locked mdbook")
}

fn build(book: &Path, html: &Path) -> Result<()> {
    let output = Command::new(mdbook()?)
        .arg("build")
        .arg(book)
        .arg("--dest-dir")
        .arg(html)
        .output()
        .context("could not run mdbook")?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("mdbook build failed:\n{log}");
    }
    // mdBook reports a missing include or anchor as a warning and goes on.
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    if !warnings.is_empty() {
        bail!("mdbook build warned:\n{}", warnings.join("\n"));
    }
    Ok(())
}

/// Checks every HTML page; returns how many there are.
fn check_html(html: &Path, problems: &mut Vec<String>) -> Result<usize> {
    let pages: Vec<PathBuf> = kit::files_under(html, Path::new(""))
        .with_context(|| format!("cannot list {}", html.display()))?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    let link = Regex::new(r#"(?:href|src)="([^"]*)""#).expect("regex");
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let id = Regex::new(r#"\bid="([^"]+)""#).expect("regex");
    let mut ids_of = |page: &Path| -> BTreeSet<String> {
        ids.entry(page.to_path_buf())
            .or_insert_with(|| {
                let text = std::fs::read_to_string(page).unwrap_or_default();
                id.captures_iter(&text).map(|c| c[1].to_string()).collect()
            })
            .clone()
    };
    for page in &pages {
        let path = html.join(page);
        let text = read(&path)?;
        if text.contains("{{#") {
            problems.push(format!(
                "{}: an unresolved {{{{#…}}}} directive",
                page.display()
            ));
        }
        for found in link.captures_iter(&text) {
            let target = &found[1];
            if target.is_empty()
                || target.contains("://")
                || target.starts_with("mailto:")
                || target.starts_with("javascript:")
            {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
            let file = file.split('?').next().unwrap_or(file);
            let resolved = if file.is_empty() {
                path.clone()
            } else if let Some(from_root) = file.strip_prefix('/') {
                // mdBook's site-url, "/" unless book.toml sets another.
                html.join(from_root)
            } else {
                path.parent().expect("a page is in a folder").join(file)
            };
            let resolved = if resolved.is_dir() {
                resolved.join("index.html")
            } else {
                resolved
            };
            if !resolved.is_file() {
                problems.push(format!(
                    "{}: link to {target}: no such file",
                    page.display()
                ));
            } else if !fragment.is_empty()
                && resolved.extension().is_some_and(|e| e == "html")
                && !ids_of(&resolved).contains(fragment)
            {
                problems.push(format!(
                    "{}: link to {target}: no such anchor",
                    page.display()
                ));
            }
        }
    }
    Ok(pages.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_include_of_the_learner_s_files_is_told_apart() {
        assert_eq!(
            learners_lesson("../../../lessons/03-backpressure/src/lib.rs"),
            Some("03-backpressure")
        );
        assert_eq!(
            learners_lesson("../../lessons/02-sentinels/tests/shutdown.rs"),
            None,
            "the tests are the kit's"
        );
        assert_eq!(
            learners_lesson("../../starters/03-backpressure/src/lib.rs"),
            None
        );
        assert_eq!(learners_lesson("../../../lessons/support/src/lib.rs"), None);
    }
}
