//! Making one folder a copy of another, cheaply when it nearly is one already.
//!
//! Cargo decides what to rebuild by comparing files' modification times with
//! its last build. [`mirror`] copies a file only when its size or time differs,
//! and gives the copy the original's time, so a build tree mirrored from a
//! built one is as fresh as the original: only what then changes is rebuilt.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// Makes `to` hold exactly what `from` holds (files and folders; links are not
/// followed and not copied), copying only files whose size or modification time
/// differ, and leaving out top-level entries named in `skip`.
pub fn mirror(from: &Path, to: &Path, skip: &[&str]) -> io::Result<()> {
    fs::create_dir_all(to)?;
    let mut wanted = Vec::new();
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry.file_type()?;
        let (source, target) = (entry.path(), to.join(&name));
        if kind.is_dir() {
            if fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
                fs::remove_file(&target)?;
            }
            mirror(&source, &target, &[])?;
        } else if kind.is_file() {
            copy_if_changed(&source, &target)?;
        } else {
            continue;
        }
        wanted.push(name);
    }
    for entry in fs::read_dir(to)? {
        let entry = entry?;
        let name = entry.file_name();
        if wanted.contains(&name) || skip.iter().any(|s| name == *s) {
            continue;
        }
        remove(&entry.path())?;
    }
    Ok(())
}

fn copy_if_changed(source: &Path, target: &Path) -> io::Result<()> {
    let original = fs::metadata(source)?;
    if let Ok(copy) = fs::symlink_metadata(target) {
        if copy.is_file()
            && copy.len() == original.len()
            && copy.modified().ok() == original.modified().ok()
        {
            return Ok(());
        }
        remove(target)?;
    }
    fs::copy(source, target)?;
    File::options()
        .write(true)
        .open(target)?
        .set_modified(original.modified()?)?;
    Ok(())
}

/// Removes whatever is at `path`: a file, a link (not what it points to) or a folder.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Makes `to` a fresh copy of `from`, whatever was at `to` before: nothing of
/// it is trusted.
pub fn fresh_copy(from: &Path, to: &Path) -> io::Result<()> {
    remove(to)?;
    mirror(from, to, &[])
}

/// Makes `to` an empty folder, whatever was there before.
pub fn empty_dir(to: &Path) -> io::Result<()> {
    remove(to)?;
    fs::create_dir_all(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-tree-{}-{name}", std::process::id()));
        let _ = remove(&dir);
        dir
    }

    #[test]
    fn a_mirror_keeps_times_and_drops_what_the_original_lacks() {
        let (from, to) = (scratch("from"), scratch("to"));
        fs::create_dir_all(from.join("a")).unwrap();
        fs::write(from.join("a/one"), "1").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(from.join("a/one"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        fs::create_dir_all(to.join("extra")).unwrap();
        fs::write(to.join("stray"), "x").unwrap();

        mirror(&from, &to, &[]).unwrap();
        assert_eq!(fs::read_to_string(to.join("a/one")).unwrap(), "1");
        assert_eq!(
            fs::metadata(to.join("a/one")).unwrap().modified().unwrap(),
            old
        );
        assert!(!to.join("extra").exists() && !to.join("stray").exists());

        fs::write(to.join("a/one"), "2").unwrap();
        mirror(&from, &to, &[]).unwrap();
        assert_eq!(
            fs::read_to_string(to.join("a/one")).unwrap(),
            "1",
            "a changed file is restored"
        );
    }
}
