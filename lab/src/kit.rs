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

/// The part of a `Cargo.toml` the kit reads.
#[derive(Deserialize)]
struct Manifest {
    package: Option<ManifestPackage>,
}

#[derive(Deserialize)]
struct ManifestPackage {
    name: String,
}

/// The package name declared in the `Cargo.toml` at `manifest`.
pub fn package_name(manifest: &Path) -> Result<String> {
    let text = fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let parsed: Manifest = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    match parsed.package {
        Some(package) => Ok(package.name),
        None => bail!("{} declares no [package]", manifest.display()),
    }
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

/// Copies the directory tree `from` to `to`, leaving out build output and VCS
/// data. Symbolic links are not followed (the kit has none).
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if [".git", "target", "book", "node_modules"]
            .iter()
            .any(|skip| name == *skip)
        {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_file() {
            fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Applies the unified diff in `patch` to the files under `lesson_dir`. A patch
/// may change several files; each part starts with its own `---`/`+++` header.
pub fn apply_patch(patch: &Path, lesson_dir: &Path) -> Result<()> {
    let text =
        fs::read_to_string(patch).with_context(|| format!("cannot read {}", patch.display()))?;
    let mut parts: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with("--- ") || parts.is_empty() {
            parts.push(String::new());
        }
        parts
            .last_mut()
            .expect("a part was just pushed")
            .push_str(line);
    }
    for part in parts.iter().filter(|p| p.starts_with("--- ")) {
        let diff = diffy::Patch::from_str(part)
            .with_context(|| format!("{} is not a unified diff", patch.display()))?;
        let target = diff
            .modified()
            .map(|name| name.trim_start_matches("b/").to_string())
            .with_context(|| format!("{} names no file", patch.display()))?;
        let path = lesson_dir.join(&target);
        let original =
            fs::read_to_string(&path).with_context(|| format!("cannot read {target}"))?;
        let changed = diffy::apply(&original, &diff).with_context(|| {
            format!(
                "{} no longer applies to the solution's {target}: regenerate it",
                patch.display()
            )
        })?;
        fs::write(&path, changed).with_context(|| format!("cannot write {target}"))?;
    }
    Ok(())
}

/// Lays every file of `overlay` (a folder holding `src/…`) over `lesson_dir`.
pub fn lay_over(overlay: &Path, lesson_dir: &Path) -> io::Result<()> {
    for relative in files_under(overlay, Path::new("src"))? {
        let target = lesson_dir.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(overlay.join(&relative), target)?;
    }
    Ok(())
}
