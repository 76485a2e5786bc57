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

use super::report::{self, Class, Row};

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
