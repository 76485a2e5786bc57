//! A first look at one lesson of a copy, before anything is built: missing,
//! refused, not started (the starter's files, as the kit gave them), or to
//! grade — with what in it to review and how far it is from the solution.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use similar::{ChangeTag, TextDiff};

use super::report::{FileDistance, Row, State};
use super::review;
use super::workspace::Template;
use crate::kit::{self, Lesson};
use crate::submission::{LessonFiles, Submission};

/// The row as far as reading the copy tells — missing, refused, not started,
/// or to grade — and whether its files are the solution's.
pub fn first_look(lesson: &Lesson, submission: &Submission, template: &Template) -> (Row, bool) {
    let files = submission.lessons.get(&lesson.slug);
    let mut row = Row {
        learner: submission.learner.clone(),
        lesson: lesson.slug.clone(),
        state: State::Missing,
        passed: 0,
        held: 0,
        failed: 0,
        timed_out: 0,
        total: template.tests.get(&lesson.slug).map_or(0, Vec::len),
        note: None,
        review: Vec::new(),
        tests: Vec::new(),
        files: Vec::new(),
    };
    let mut same_as_solution = false;
    match files {
        Some(LessonFiles::Files(files)) if same_files(files, &lesson.dir) => {
            row.state = State::NotStarted;
        }
        Some(LessonFiles::Files(files)) => {
            row.state = State::Graded;
            row.review = review::review(files);
            row.files = distances(lesson, files);
            same_as_solution = same_files(files, &lesson.solution);
        }
        Some(LessonFiles::Refused(why)) => {
            row.state = State::Refused;
            row.note = Some(why.clone());
        }
        Some(LessonFiles::Missing) | None => {}
    }
    (row, same_as_solution)
}

/// Whether `files` are exactly the files under `dir/src` (line endings aside).
fn same_files(files: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) -> bool {
    let Ok(theirs) = kit::files_under(dir, Path::new("src")) else {
        return false;
    };
    let normal = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    theirs.len() == files.len()
        && theirs.iter().all(|path| {
            files.get(path).is_some_and(|mine| {
                std::fs::read(dir.join(path)).is_ok_and(|other| normal(mine) == normal(&other))
            })
        })
}

fn distances(lesson: &Lesson, files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<FileDistance> {
    let mut names: BTreeSet<PathBuf> = lesson
        .learner_files()
        .unwrap_or_default()
        .into_iter()
        .collect();
    names.extend(files.keys().cloned());
    names
        .into_iter()
        .map(|file| {
            let solution = std::fs::read_to_string(lesson.solution.join(&file)).unwrap_or_default();
            let lines_changed = files.get(&file).map(|learner| {
                TextDiff::from_lines(&*String::from_utf8_lossy(learner), solution.as_str())
                    .iter_all_changes()
                    .filter(|change| change.tag() != ChangeTag::Equal)
                    .count()
            });
            FileDistance {
                file,
                lines_changed,
            }
        })
        .collect()
}
