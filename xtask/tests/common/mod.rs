//! What the xtask integration tests share: the fixtures, a scratch folder per
//! test, and running the xtask binary with builds of the test's own.

#![allow(dead_code)] // each test file uses its own part of this

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `xtask/tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// The target dir the tests' own builds go under.
fn target_base() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        )
        .join("xtask-fixtures")
}

/// An empty folder for the test tagged `tag`, made anew on every run.
pub fn scratch(tag: &str) -> PathBuf {
    let dir = target_base().join("scratch").join(tag);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// The xtask binary working on the kit at `root`, with its builds in a target
/// dir of this test's own (`tag`), so tests running side by side share nothing.
pub fn xtask_command(tag: &str, root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .arg("--root")
        .arg(root)
        .args(["--limit", "3"])
        .args(args)
        .env("CARGO_TARGET_DIR", target_base().join(tag));
    command
}

/// Runs xtask on the fixture kit (see [`xtask_command`]).
pub fn xtask(tag: &str, args: &[&str]) -> Output {
    xtask_command(tag, &fixtures().join("kit"), args)
        .output()
        .expect("the xtask binary runs")
}

/// Makes a learner's copy of the fixture kit at `dir`: each lesson named in
/// `lessons` gets `src/lib.rs` from the given file of `fixtures/`.
pub fn learner_copy(dir: &Path, lessons: &[(&str, &str)]) -> PathBuf {
    for (slug, source) in lessons {
        let src = dir.join("lessons").join(slug).join("src");
        fs::create_dir_all(&src).expect("a lesson folder");
        fs::copy(fixtures().join(source), src.join("lib.rs")).expect("a fixture file");
    }
    fs::create_dir_all(dir.join("lessons")).expect("a lessons folder");
    dir.to_path_buf()
}

/// Copies the folder `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("a folder");
    for entry in fs::read_dir(from).expect("a fixture folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

/// The row of `learner`'s `lesson` in `grade --json` output.
pub fn row<'a>(
    grades: &'a serde_json::Value,
    learner: &str,
    lesson: &str,
) -> &'a serde_json::Value {
    grades["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["learner"] == learner && r["lesson"] == lesson)
        .unwrap_or_else(|| panic!("no row for {learner} {lesson} in {grades:#}"))
}

/// (passed, total) of a row.
pub fn score(row: &serde_json::Value) -> (u64, u64) {
    (
        row["passed"].as_u64().expect("passed"),
        row["total"].as_u64().expect("total"),
    )
}

/// stdout and stderr, for failure messages.
pub fn said(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
