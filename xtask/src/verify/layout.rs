//! The checks that need no build: what a lesson's files must look like.

use std::path::{Path, PathBuf};

use crate::break_it;
use crate::kit::{self, Lesson};
use crate::mutants::allowed;
use crate::skeleton::{self, STARTER_MAY_ALLOW};

/// Runs every build-free check of `lesson` (in the kit at `root`), adding a
/// breach for each thing wrong.
pub fn check(root: &Path, lesson: &Lesson, breaches: &mut Vec<String>) {
    let starter_files = lesson.learner_files().unwrap_or_default();
    starter_marks_the_work(lesson, &starter_files, breaches);
    solution_mirrors_starter(lesson, &starter_files, breaches);
    should_panic_names_its_panic(lesson, breaches);
    takes_the_kits_lints(root, lesson, breaches);
    break_it_names_its_patches(lesson, breaches);
    allow_list_reads(lesson, breaches);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The starter has `todo!()`s marking the learner's work.
fn starter_marks_the_work(lesson: &Lesson, files: &[PathBuf], breaches: &mut Vec<String>) {
    if !files
        .iter()
        .any(|f| read(&lesson.dir.join(f)).contains("todo!("))
    {
        breaches.push("the starter has no todo!(\"…\") marking the learner's work".into());
    }
}

/// The solution has the starter's files, and each equals its starter outside
/// the learner's function bodies (see [`skeleton`]).
fn solution_mirrors_starter(
    lesson: &Lesson,
    starter_files: &[PathBuf],
    breaches: &mut Vec<String>,
) {
    if !lesson.solution.is_dir() {
        return;
    }
    let solution_files = kit::files_under(&lesson.solution, Path::new("src")).unwrap_or_default();
    if solution_files != starter_files {
        breaches.push(format!(
            "solutions/{}/src does not mirror the starter's files ({} vs {})",
            lesson.slug,
            names(&solution_files),
            names(starter_files)
        ));
    }
    for file in starter_files.iter().filter(|f| solution_files.contains(f)) {
        let (starter, solution) = (
            read(&lesson.dir.join(file)),
            read(&lesson.solution.join(file)),
        );
        let shown = file.display();
        if file.extension().is_none_or(|e| e != "rs") {
            if starter != solution {
                breaches.push(format!(
                    "{shown}: the starter's copy differs from the solution's"
                ));
            }
            continue;
        }
        match skeleton::differences(&starter, &solution) {
            Ok(found) => breaches.extend(found.into_iter().map(|difference| {
                format!("{shown}: the starter differs from the solution outside the learner's bodies: {difference}")
            })),
            Err(e) => breaches.push(format!("{shown}: {e:#}")),
        }
    }
}

fn names(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every `#[should_panic]` says which panic it expects: a bare one passes on
/// the `todo!()` panic too.
fn should_panic_names_its_panic(lesson: &Lesson, breaches: &mut Vec<String>) {
    for file in kit::files_under(&lesson.dir, Path::new("tests")).unwrap_or_default() {
        for (number, line) in read(&lesson.dir.join(&file)).lines().enumerate() {
            if line.contains("#[should_panic") && !line.contains("expected") {
                breaches.push(format!(
                    "{}:{}: #[should_panic] without expected = \"…\"",
                    file.display(),
                    number + 1
                ));
            }
        }
    }
}

/// When the kit has workspace lints, the lesson takes them (`[lints]
/// workspace = true`). The older layout, a lesson's own `[lints.rust]` block
/// that only allows what a starter needs, is accepted too.
fn takes_the_kits_lints(root: &Path, lesson: &Lesson, breaches: &mut Vec<String>) {
    let Ok(workspace) = read(&root.join("Cargo.toml")).parse::<toml::Table>() else {
        return;
    };
    let has_lints = workspace
        .get("workspace")
        .and_then(|w| w.get("lints"))
        .is_some();
    if !has_lints {
        return;
    }
    let shown = format!("lessons/{}/Cargo.toml", lesson.slug);
    let manifest = match read(&lesson.dir.join("Cargo.toml")).parse::<toml::Table>() {
        Ok(manifest) => manifest,
        Err(e) => {
            breaches.push(format!("{shown} is not valid TOML: {e}"));
            return;
        }
    };
    let lints = manifest.get("lints");
    let takes_workspace = lints
        .and_then(|l| l.get("workspace"))
        .and_then(toml::Value::as_bool)
        == Some(true);
    let only_starter_allowances = lints.and_then(toml::Value::as_table).is_some_and(|tools| {
        tools.iter().all(|(tool, table)| {
            tool == "rust"
                && table.as_table().is_some_and(|rust| {
                    rust.iter().all(|(lint, level)| {
                        STARTER_MAY_ALLOW.contains(&lint.as_str())
                            && level.as_str() == Some("allow")
                    })
                })
        })
    });
    if !takes_workspace && !only_starter_allowances {
        breaches.push(format!(
            "{shown}: take the kit's lints with `[lints] workspace = true` (what a starter needs while its bodies are todo!() goes in one #![allow({})] in its src/lib.rs)",
            STARTER_MAY_ALLOW.join(", ")
        ));
    }
}

/// Every "Break it" bullet of the lesson's chapter names a mistake patch the
/// lesson has. A missing chapter is `cargo xtask book`'s to report.
fn break_it_names_its_patches(lesson: &Lesson, breaches: &mut Vec<String>) {
    let Ok(text) = std::fs::read_to_string(&lesson.chapter) else {
        return;
    };
    let mistakes: Vec<String> = lesson
        .mistakes()
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.name)
        .collect();
    let shown = format!("book/src/lessons/{}.md", lesson.slug);
    breaches.extend(break_it::problems(&shown, &text, &mistakes));
}

/// The mutants allow-list, if the lesson has one, reads: a mutant's name and
/// a reason on every line (`cargo xtask mutants` checks the names are real).
fn allow_list_reads(lesson: &Lesson, breaches: &mut Vec<String>) {
    let path = lesson.solution.join(allowed::FILE_NAME);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let shown = format!("solutions/{}/{}", lesson.slug, allowed::FILE_NAME);
    breaches.extend(allowed::parse(&shown, &text).1);
}
