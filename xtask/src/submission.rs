//! A learner's copy of the kit, read as untrusted input: only the files under
//! each lesson's `src/`, and only regular files that stay inside the copy.
//!
//! A lesson whose `src/` holds a link leaving the copy, a link loop, a FIFO or
//! a device, or more than [`MAX_LESSON_BYTES`], is refused — that lesson only,
//! with one line saying why; the rest of the copy is graded as usual.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// The most a lesson's `src/` may hold, in bytes (the solutions hold a few KiB).
pub const MAX_LESSON_BYTES: u64 = 4 << 20;

/// The most files a lesson's `src/` may hold.
pub const MAX_LESSON_FILES: usize = 200;

/// A learner's copy of the kit.
#[derive(Debug)]
pub struct Submission {
    /// Who it is: the copy's folder name (made unique among the copies graded).
    pub learner: String,
    /// Each lesson's files, by lesson folder name (`03-backpressure`).
    pub lessons: BTreeMap<String, LessonFiles>,
}

/// What a copy holds for one lesson.
#[derive(Debug)]
pub enum LessonFiles {
    /// No `lessons/NN-slug/src` in the copy.
    Missing,
    /// Not graded, and why (one line).
    Refused(String),
    /// The files under `src/`, by path relative to the lesson (`src/lib.rs`).
    Files(BTreeMap<PathBuf, Vec<u8>>),
}

/// Reads the copy at `root`: the `src/` of each lesson in `slugs`.
pub fn read(root: &Path, learner: String, slugs: &[String]) -> Result<Submission> {
    if !root.join("lessons").is_dir() {
        bail!(
            "{} has no lessons/ folder: is it a copy of the kit?",
            root.display()
        );
    }
    let inside = root
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", root.display()))?;
    let lessons = slugs
        .iter()
        .map(|slug| (slug.clone(), read_lesson(&inside, slug)))
        .collect();
    Ok(Submission { learner, lessons })
}

fn read_lesson(copy: &Path, slug: &str) -> LessonFiles {
    let src = copy.join("lessons").join(slug).join("src");
    if fs::symlink_metadata(&src).is_err() {
        return LessonFiles::Missing;
    }
    let mut reader = Reader {
        copy,
        files: BTreeMap::new(),
        bytes: 0,
        visited: BTreeSet::new(),
    };
    match reader.walk(&src, Path::new("src")) {
        Ok(()) => LessonFiles::Files(reader.files),
        Err(why) => LessonFiles::Refused(why),
    }
}

struct Reader<'a> {
    copy: &'a Path,
    files: BTreeMap<PathBuf, Vec<u8>>,
    bytes: u64,
    visited: BTreeSet<PathBuf>,
}

impl Reader<'_> {
    /// Reads everything at `path` (shown to the learner as `shown`).
    fn walk(&mut self, path: &Path, shown: &Path) -> Result<(), String> {
        let real = self.resolve(path, shown)?;
        let metadata = fs::metadata(&real)
            .map_err(|e| format!("{}: cannot read it ({e})", shown.display()))?;
        if metadata.is_dir() {
            if !self.visited.insert(real.clone()) {
                return Err(format!(
                    "{}: a symbolic link loop (it leads back to a folder already read)",
                    shown.display()
                ));
            }
            let entries = fs::read_dir(&real)
                .map_err(|e| format!("{}: cannot list it ({e})", shown.display()))?;
            let mut names: Vec<_> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for name in names {
                self.walk(&real.join(&name), &shown.join(&name))?;
            }
            Ok(())
        } else if metadata.is_file() {
            self.bytes += metadata.len();
            if self.bytes > MAX_LESSON_BYTES || self.files.len() >= MAX_LESSON_FILES {
                return Err(format!(
                    "src/ holds more than {} files or {} MiB: not a lesson's work",
                    MAX_LESSON_FILES,
                    MAX_LESSON_BYTES >> 20
                ));
            }
            let bytes = fs::read(&real)
                .map_err(|e| format!("{}: cannot read it ({e})", shown.display()))?;
            self.files.insert(shown.to_path_buf(), bytes);
            Ok(())
        } else {
            Err(format!(
                "{}: not a regular file (a FIFO, socket or device)",
                shown.display()
            ))
        }
    }

    /// Where `path` really is, refusing links that loop or leave the copy.
    fn resolve(&self, path: &Path, shown: &Path) -> Result<PathBuf, String> {
        let real = path.canonicalize().map_err(|e| {
            if e.raw_os_error() == Some(40) {
                format!("{}: a symbolic link loop", shown.display())
            } else {
                format!(
                    "{}: a link to nothing, or unreadable ({e})",
                    shown.display()
                )
            }
        })?;
        if !real.starts_with(self.copy) {
            return Err(format!(
                "{}: a link leaving the copy (to {}): refused",
                shown.display(),
                real.display()
            ));
        }
        Ok(real)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn copy_with(make: impl FnOnce(&Path)) -> (PathBuf, LessonFiles) {
        let base = std::env::temp_dir().join(format!(
            "xtask-submission-{}-{}",
            std::process::id(),
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "-")
        ));
        let _ = fs::remove_dir_all(&base);
        let src = base.join("lessons/01-x/src");
        fs::create_dir_all(&src).unwrap();
        make(&src);
        let read = read(&base, "me".into(), &["01-x".into()]).unwrap();
        let files = read.lessons.into_values().next().unwrap();
        (base, files)
    }

    fn refused(files: &LessonFiles) -> &str {
        match files {
            LessonFiles::Refused(why) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_link_leaving_the_copy_is_refused() {
        let (_, files) = copy_with(|src| symlink("/etc/hostname", src.join("lib.rs")).unwrap());
        assert!(refused(&files).contains("leaving the copy"), "{files:?}");
    }

    #[test]
    fn a_link_loop_is_refused() {
        let (_, files) = copy_with(|src| {
            symlink(src.join("b.rs"), src.join("a.rs")).unwrap();
            symlink(src.join("a.rs"), src.join("b.rs")).unwrap();
        });
        assert!(refused(&files).contains("loop"), "{files:?}");
    }

    #[test]
    fn a_folder_linked_to_its_parent_is_refused() {
        let (_, files) = copy_with(|src| symlink("..", src.join("up")).unwrap());
        assert!(refused(&files).contains("loop"), "{files:?}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let (_, files) = copy_with(|src| {
            let made = std::process::Command::new("mkfifo")
                .arg(src.join("lib.rs"))
                .status()
                .unwrap();
            assert!(made.success());
        });
        assert!(refused(&files).contains("not a regular file"), "{files:?}");
    }

    #[test]
    fn plain_files_are_read() {
        let (_, files) = copy_with(|src| fs::write(src.join("lib.rs"), "pub fn f() {}").unwrap());
        let LessonFiles::Files(files) = files else {
            panic!("{files:?}")
        };
        assert_eq!(files[Path::new("src/lib.rs")], b"pub fn f() {}");
    }
}
