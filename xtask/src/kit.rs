//! The kit on disk: where its lessons, solutions and mistakes are.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One lesson: `lessons/NN-slug` with its solution beside it.
#[derive(Debug, Clone)]
pub struct Lesson {
    /// `"03-backpressure"`.
    pub slug: String,
    /// `"lesson-03"`.
    pub package: String,
    /// `lessons/03-backpressure`.
    pub dir: PathBuf,
    /// `solutions/03-backpressure`.
    pub solution: PathBuf,
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

/// The lessons of the kit at `root`, in order; `only` keeps those numbered so.
pub fn lessons(root: &Path, only: &[String]) -> io::Result<Vec<Lesson>> {
    let mut lessons = Vec::new();
    let dir = root.join("lessons");
    if !dir.is_dir() {
        return Ok(lessons);
    }
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let slug = entry.file_name().to_string_lossy().into_owned();
        let number: String = slug.chars().take_while(char::is_ascii_digit).collect();
        if number.len() != 2
            || !slug[2..].starts_with('-')
            || !entry.path().join("Cargo.toml").is_file()
        {
            continue; // `lessons/support` and other helpers are not lessons
        }
        if !only.is_empty()
            && !only
                .iter()
                .any(|n| n.trim_start_matches('0') == number.trim_start_matches('0'))
        {
            continue;
        }
        lessons.push(Lesson {
            package: format!("lesson-{number}"),
            solution: root.join("solutions").join(&slug),
            dir: entry.path(),
            slug,
        });
    }
    lessons.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(lessons)
}

/// Every file under `base/sub`, as paths relative to `base`, sorted.
pub fn files_under(base: &Path, sub: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![base.join(sub)];
    while let Some(dir) = pending.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(base) {
                found.push(relative.to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Copies the directory tree `from` to `to`, leaving out build output and VCS data.
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
        if entry.file_type()?.is_dir() {
            copy_tree(&source, &target)?;
        } else {
            fs::copy(&source, &target)?;
        }
    }
    Ok(())
}

/// Applies the unified diff in `patch` to the files under `lesson_dir`. A patch
/// may change several files; each part starts with its own `---`/`+++` header.
pub fn apply_patch(patch: &Path, lesson_dir: &Path) -> Result<(), String> {
    let text =
        fs::read_to_string(patch).map_err(|e| format!("cannot read {}: {e}", patch.display()))?;
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
            .map_err(|e| format!("{} is not a unified diff: {e}", patch.display()))?;
        let target = diff
            .modified()
            .map(|name| name.trim_start_matches("b/").to_string())
            .ok_or_else(|| format!("{} names no file", patch.display()))?;
        let path = lesson_dir.join(&target);
        let original =
            fs::read_to_string(&path).map_err(|e| format!("cannot read {target}: {e}"))?;
        let changed = diffy::apply(&original, &diff).map_err(|e| {
            format!(
                "{} no longer applies to the solution's {target} ({e}): regenerate it",
                patch.display()
            )
        })?;
        fs::write(&path, changed).map_err(|e| format!("cannot write {target}: {e}"))?;
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
