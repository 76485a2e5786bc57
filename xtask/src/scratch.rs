//! A scratch copy of a kit, where `verify` and `mutants` lay out starters,
//! solutions and known mistakes in turn without touching the real files.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use host::process;

use crate::compile::{self, TestBinary};
use crate::kit::{self, Lesson};
use crate::place::Place;
use crate::runner::{Status, TestRun};

/// A scratch copy of a kit, where starters, solutions and mistakes are laid out
/// in turn without touching the real files.
pub struct Scratch {
    kit_root: PathBuf,
    root: PathBuf,
    target_dir: PathBuf,
}

impl Scratch {
    /// Copies the kit at `kit_root` to `base/kit` (replacing what was there);
    /// builds go to `base/target`.
    ///
    /// Every scratch copy needs a target dir of its own. Cargo names a workspace
    /// member's artifacts by its path *relative to the workspace root*, so two
    /// copies of the kit (or a copy and the kit itself) sharing a target dir
    /// share artifact names, and cargo calls one copy's build fresh for the other.
    pub fn create(kit_root: &Path, base: &Path) -> Result<Self> {
        let root = base.join("kit");
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("cannot remove {}", root.display()))?;
        }
        copy_tree(kit_root, &root)
            .with_context(|| format!("cannot copy the kit to {}", root.display()))?;
        Ok(Scratch {
            kit_root: kit_root.to_path_buf(),
            root,
            target_dir: base.join("target"),
        })
    }

    /// The scratch copy's `Cargo.toml` (its workspace manifest).
    pub fn manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// Where the scratch copy builds.
    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// `lesson`'s folder in the scratch copy.
    pub fn lesson_dir(&self, lesson: &Lesson) -> PathBuf {
        let relative = lesson
            .dir
            .strip_prefix(&self.kit_root)
            .unwrap_or(&lesson.dir);
        self.root.join(relative)
    }

    /// Resets `lesson`'s `src/` to the kit's starter, lays `overlays` over it in
    /// order (each a folder holding `src/…`), then applies `patch`, if any.
    pub fn prepare(&self, lesson: &Lesson, overlays: &[&Path], patch: Option<&Path>) -> Result<()> {
        let relative = lesson
            .dir
            .strip_prefix(&self.kit_root)
            .unwrap_or(&lesson.dir);
        let lesson_dir = self.root.join(relative);
        let src = lesson_dir.join("src");
        if src.exists() {
            std::fs::remove_dir_all(&src)
                .with_context(|| format!("cannot remove {}", src.display()))?;
        }
        copy_tree(&lesson.dir.join("src"), &src).context("cannot copy the starter")?;
        for overlay in overlays {
            lay_over(overlay, &lesson_dir)
                .with_context(|| format!("cannot lay {} over the starter", overlay.display()))?;
        }
        match patch {
            Some(patch) => apply_patch(patch, &lesson_dir),
            None => Ok(()),
        }
    }

    /// Builds `package`'s tests in the scratch copy.
    pub fn build(&self, package: &str, targets: compile::Targets) -> Result<Vec<TestBinary>> {
        compile::build_tests(
            &self.root.join("Cargo.toml"),
            package,
            &self.target_dir,
            targets,
        )
    }

    /// Builds and runs `package`'s example `name` in the scratch copy (debug
    /// profile: it must work, not measure well), killed after `limit`.
    pub fn run_example(&self, package: &str, name: &str, limit: Duration) -> Result<TestRun> {
        let mut command = Place::here().command(kit::cargo());
        command
            .args(["run", "--quiet", "--package", package, "--example", name])
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_PROFILE_DEV_DEBUG", compile::SCRATCH_DEBUG);
        let finished = process::run_limited(command, limit, Duration::MAX, || ())?;
        let status = match finished.status {
            None => Status::TimedOut,
            Some(status) if status.success() => Status::Passed,
            Some(_) => Status::Failed,
        };
        Ok(TestRun {
            name: format!("example {name}"),
            status,
            duration: finished.duration,
            reason: None,
            output: finished.stdout.text() + &finished.stderr.text(),
        })
    }
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
    for relative in kit::files_under(overlay, Path::new("src"))? {
        let target = lesson_dir.join(&relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(overlay.join(&relative), target)?;
    }
    Ok(())
}
