//! The kit on disk: where its lessons, solutions, mistakes and chapters are,
//! which cargo builds it and where its builds go.
//!
//! Lesson discovery lives here and only here: every command (and `book`) asks
//! [`lessons`] rather than reading `lessons/` itself.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

/// One lesson: `lessons/NN-slug` with its solution and chapter beside it.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// `"03"`: the two digits the folder starts with.
    pub number: String,
    /// `"03-backpressure"`.
    pub slug: String,
    /// `"lesson-03"`: the package name in the lesson's own `Cargo.toml`.
    pub package: String,
    /// `lessons/03-backpressure`.
    pub dir: PathBuf,
    /// `solutions/03-backpressure`.
    pub solution: PathBuf,
    /// `book/src/lessons/03-backpressure.md`.
    pub chapter: PathBuf,
}

/// A known mistake: a unified diff that turns the solution into a plausible
/// wrong version (`solutions/NN-slug/mistakes/NAME.patch`).
#[derive(Debug, Clone)]
pub struct Mistake {
    /// The file's name without `.patch`, e.g. `one-sentinel-for-all`.
    pub name: String,
    /// The patch, with paths relative to the lesson (`a/src/lib.rs`).
    pub patch: PathBuf,
}

impl Lesson {
    /// The known mistakes kept beside the solution, by name.
    pub fn mistakes(&self) -> io::Result<Vec<Mistake>> {
        let patches = named_files(&self.solution.join("mistakes"), "patch")?;
        Ok(patches
            .into_iter()
            .map(|(name, patch)| Mistake { name, patch })
            .collect())
    }

    /// The lesson's examples (`examples/NAME.rs`), by name.
    pub fn examples(&self) -> io::Result<Vec<String>> {
        let examples = named_files(&self.dir.join("examples"), "rs")?;
        Ok(examples.into_iter().map(|(name, _)| name).collect())
    }

    /// The learner's files: every file under the starter's `src/`, relative to the lesson.
    pub fn learner_files(&self) -> io::Result<Vec<PathBuf>> {
        files_under(&self.dir, Path::new("src"))
    }

    /// Whether the learner's code still has a `todo!(` outside comments: then
    /// the lesson is certainly not done (the starter's `todo!`s are what its
    /// tests fail on), and nothing needs building to know it.
    pub fn has_todo(&self) -> bool {
        self.learner_files().unwrap_or_default().iter().any(|file| {
            fs::read_to_string(self.dir.join(file)).is_ok_and(|text| {
                text.lines()
                    .map(|line| line.split("//").next().unwrap_or(""))
                    .any(|code| code.contains("todo!("))
            })
        })
    }

    /// Whether the lesson's tests model-check the learner's code with loom
    /// (`tests/model.rs`, run by `lesson_support::run_models!` in a nested build).
    pub fn has_models(&self) -> bool {
        self.dir.join("tests").join("model.rs").is_file()
    }
}

/// The files in `dir` (not below it) ending in `.extension`, as (name without
/// the extension, path), sorted by name; none when `dir` does not exist.
fn named_files(dir: &Path, extension: &str) -> io::Result<Vec<(String, PathBuf)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<(String, PathBuf)> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .filter_map(|path| Some((path.file_stem()?.to_string_lossy().into_owned(), path)))
        .collect();
    files.sort();
    Ok(files)
}

/// The package name declared in the `Cargo.toml` at `manifest`.
pub fn package_name(manifest: &Path) -> Result<String> {
    let text = fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    match declared_name(&text) {
        Some(name) => Ok(name),
        None => bail!(
            "{} declares no [package] with a name = \"…\"",
            manifest.display()
        ),
    }
}

/// The `name` of the `[package]` table of a manifest. Read by hand, not with
/// a TOML parser the learner's tools would have to build: a package name is
/// letters, digits, `-` and `_`, quoted on one line (`name = "lesson-03"`,
/// single quotes too), perhaps with a comment after it; nothing else is
/// accepted.
fn declared_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            in_package = line.trim_start_matches('[').trim_end_matches(']').trim() == "package";
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if !in_package || key.trim() != "name" {
            continue;
        }
        let value = value.trim();
        let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let name = value.strip_prefix(quote)?.strip_suffix(quote)?;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        return valid.then(|| name.to_string());
    }
    None
}

/// The lessons of the kit at `root`, in order: every `lessons/NN-slug` folder
/// with a `Cargo.toml` (`lessons/support` and other helpers are not lessons).
/// `only` keeps those numbered so (`3`, `03`).
pub fn lessons(root: &Path, only: &[String]) -> Result<Vec<Lesson>> {
    let dir = root.join("lessons");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut lessons = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let slug = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = lesson_number(&slug) else {
            continue;
        };
        let manifest = entry.path().join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        if !only.is_empty() && !only.iter().any(|n| same_number(n, number)) {
            continue;
        }
        lessons.push(Lesson {
            number: number.to_string(),
            package: package_name(&manifest)?,
            solution: root.join("solutions").join(&slug),
            chapter: root.join("book/src/lessons").join(format!("{slug}.md")),
            dir: entry.path(),
            slug,
        });
    }
    lessons.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(lessons)
}

/// `"03"` for `"03-backpressure"`; `None` for a folder that is not a lesson.
fn lesson_number(slug: &str) -> Option<&str> {
    let number = slug.get(..2)?;
    let rest = slug.get(2..)?;
    (number.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with('-')).then_some(number)
}

/// Whether a lesson number as typed (`3`, `03`) names the lesson numbered `number`.
pub fn same_number(typed: &str, number: &str) -> bool {
    typed.trim_start_matches('0') == number.trim_start_matches('0')
}

/// The cargo that runs this xtask (`$CARGO`), or `cargo` on the `PATH`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The part of `cargo metadata` the kit reads.
#[derive(Deserialize)]
struct Metadata {
    target_directory: PathBuf,
}

/// The target dir cargo uses for the workspace at `root`: `root/target`, or
/// what `CARGO_TARGET_DIR` or a cargo config says.
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed for {}:\n{}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let metadata: Metadata =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no target dir")?;
    Ok(metadata.target_directory)
}

/// Every file under `base/sub`, as paths relative to `base`, sorted. Symbolic
/// links are listed, never followed, so a link loop cannot make this run forever.
pub fn files_under(base: &Path, sub: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![base.join(sub)];
    while let Some(dir) = pending.pop() {
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(base) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_name_is_read_from_the_package_table_only() {
        let manifest = "# name = \"comment\"\n[workspace]\nname = \"not-this\"\n\n[package]\nversion = \"0.1.0\"\n  name = 'lesson-03'  # the lesson\n[dependencies]\nname = \"nor-this\"\n";
        assert_eq!(declared_name(manifest).as_deref(), Some("lesson-03"));
    }

    #[test]
    fn a_name_that_is_not_a_package_name_is_refused() {
        assert_eq!(declared_name("[package]\nname = \"a b\"\n"), None);
        assert_eq!(declared_name("[package]\nname = \"unclosed\n"), None);
        assert_eq!(declared_name("[package]\nname.workspace = true\n"), None);
        assert_eq!(declared_name("[dependencies]\nname = \"x\"\n"), None);
    }
}
