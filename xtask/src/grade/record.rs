//! The report files, written as grading goes, and what `--resume` reads back.
//!
//! After each copy the table, the CSV and the JSON of everything graded so
//! far are written to the report folder (each through a temporary file and a
//! rename, so a reader never sees half a file): a total limit, a Ctrl-C or a
//! crash leaves the grades of every copy finished before it. Each finished
//! copy also leaves `copies/NAME.json`: its rows and a fingerprint of what
//! they were graded from (the copy's files, the kit's lessons and tests, the
//! options that change a grade). `--resume` keeps a copy whose fingerprint
//! is unchanged instead of grading it again.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use super::Options;
use super::report::{self, Class, Row};
use super::workspace::Template;
use crate::kit::{self, Lesson};
use crate::submission::{LessonFiles, Submission};

/// The report folder's files.
pub const TABLE: &str = "grades.txt";
/// The CSV file.
pub const CSV: &str = "grades.csv";
/// The JSON file.
pub const JSON: &str = "grades.json";

/// One finished copy, as kept for `--resume`.
#[derive(Debug, Serialize, Deserialize)]
struct Finished {
    fingerprint: String,
    rows: Vec<Row>,
}

/// The report folder.
pub struct Record {
    dir: PathBuf,
}

impl Record {
    /// The report folder at `dir`, made if missing.
    pub fn at(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir.join("copies"))
            .with_context(|| format!("cannot make the report folder {}", dir.display()))?;
        Ok(Record {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the reports are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn copy_file(&self, learner: &str) -> PathBuf {
        let name: String = learner
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join("copies").join(format!("{name}.json"))
    }

    /// The rows of `learner`'s copy from an earlier grading, if they were
    /// graded from what `fingerprint` describes.
    pub fn finished(&self, learner: &str, fingerprint: &str) -> Option<Vec<Row>> {
        let text = fs::read_to_string(self.copy_file(learner)).ok()?;
        let finished: Finished = serde_json::from_str(&text).ok()?;
        (finished.fingerprint == fingerprint).then_some(finished.rows)
    }

    /// Keeps `learner`'s finished rows for a later `--resume`.
    pub fn keep(&self, learner: &str, fingerprint: &str, rows: &[Row]) -> Result<()> {
        let finished = Finished {
            fingerprint: fingerprint.to_string(),
            rows: rows.to_vec(),
        };
        write(&self.copy_file(learner), &serde_json::to_string(&finished)?)
    }

    /// Writes the table, the CSV and the JSON of `class`.
    pub fn write(&self, class: &Class) -> Result<()> {
        write(&self.dir.join(TABLE), &report::render(class))?;
        write(&self.dir.join(CSV), &report::render_csv(class)?)?;
        write(
            &self.dir.join(JSON),
            &(serde_json::to_string_pretty(class)? + "\n"),
        )
    }
}

/// Writes `text` to `path` through a temporary file and a rename.
fn write(path: &Path, text: &str) -> Result<()> {
    let partial = path.with_extension("partial");
    fs::write(&partial, text).with_context(|| format!("cannot write {}", partial.display()))?;
    fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))
}

/// A fingerprint of `parts`: FNV-1a, 64 bits, in hex. Stable across runs and
/// builds of xtask (std's hashers promise neither).
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in (part.len() as u64).to_le_bytes().iter().chain(part) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// What a copy's grades depend on besides its own files: the kit's lessons
/// (starters, tests, support), the tests listed, and every option that
/// changes a grade.
pub fn kit_fingerprint(
    options: &Options<'_>,
    lessons: &[Lesson],
    template: &Template,
) -> Result<String> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let lessons_dir = options.kit_root.join("lessons");
    for file in kit::files_under(&lessons_dir, Path::new("."))? {
        if file.components().any(|c| c.as_os_str() == "target") {
            continue;
        }
        parts.push(file.to_string_lossy().as_bytes().to_vec());
        parts.push(std::fs::read(lessons_dir.join(&file)).unwrap_or_default());
    }
    for lesson in lessons {
        for test in &template.tests[&lesson.slug] {
            parts.push(format!("{}::{}", test.target, test.name).into_bytes());
        }
    }
    let l = &options.limits;
    parts.push(
        format!(
            "limit {:?} runs {} memory {} processes {} disk {} build {:?} sandbox {}",
            options.limit,
            options.runs,
            l.memory,
            l.processes,
            l.disk,
            l.build_cpu,
            options.sandbox
        )
        .into_bytes(),
    );
    Ok(fingerprint(parts.iter().map(Vec::as_slice)))
}

pub fn copy_fingerprint(kit_print: &str, submission: &Submission) -> String {
    let mut parts: Vec<Vec<u8>> = vec![kit_print.as_bytes().to_vec()];
    for (slug, files) in &submission.lessons {
        parts.push(slug.as_bytes().to_vec());
        match files {
            LessonFiles::Files(files) => {
                for (path, bytes) in files {
                    parts.push(path.to_string_lossy().as_bytes().to_vec());
                    parts.push(bytes.clone());
                }
            }
            LessonFiles::Refused(why) => parts.push(why.as_bytes().to_vec()),
            LessonFiles::Missing => parts.push(b"missing".to_vec()),
        }
    }
    fingerprint(parts.iter().map(Vec::as_slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_the_parts_apart() {
        let ab = fingerprint([b"a".as_slice(), b"b"]);
        assert_eq!(ab, fingerprint([b"a".as_slice(), b"b"]));
        assert_ne!(ab, fingerprint([b"ab".as_slice()]));
        assert_ne!(ab, fingerprint([b"b".as_slice(), b"a"]));
    }
}
