//! `cargo xtask progress`: the learner's view. Runs every lesson's tests on the
//! learner's own files, just now — nothing is stored, so it cannot go stale.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::kit;
use crate::runner::{self, Status};

/// Where one lesson stands.
enum Standing {
    Passed { passed: usize, total: usize },
    DoesNotCompile,
}

/// Runs every lesson's tests in the kit at `root`; returns the text to show.
pub fn progress(root: &Path, target_dir: &Path, limit: Duration) -> anyhow::Result<String> {
    let lessons = kit::lessons(root, &[])?;
    let mut rows = Vec::new();
    for lesson in &lessons {
        eprint!("\r  testing {} …   ", lesson.slug);
        let standing =
            match runner::build_tests(&root.join("Cargo.toml"), &lesson.package, target_dir) {
                Err(_) => Standing::DoesNotCompile,
                Ok(binaries) => {
                    let runs = runner::run_all(&binaries, limit, false)?;
                    Standing::Passed {
                        passed: runs.iter().filter(|r| r.status == Status::Passed).count(),
                        total: runs.len(),
                    }
                }
            };
        rows.push((lesson, standing));
    }
    eprint!("\r{:40}\r", "");

    let mut out = String::from("Your progress (every lesson's tests, run just now):\n\n");
    for (lesson, standing) in &rows {
        let _ = match standing {
            Standing::Passed { passed, total } if passed == total && *total > 0 => {
                writeln!(out, "  {:<22} {passed:>3}/{total:<3} done", lesson.slug)
            }
            Standing::Passed { passed, total } => {
                let filled = if *total == 0 { 0 } else { passed * 10 / total };
                writeln!(
                    out,
                    "  {:<22} {passed:>3}/{total:<3} {}{}",
                    lesson.slug,
                    "#".repeat(filled),
                    ".".repeat(10 - filled)
                )
            }
            Standing::DoesNotCompile => writeln!(out, "  {:<22} does not compile yet", lesson.slug),
        };
    }
    let next = rows.iter().find(
        |(_, s)| !matches!(s, Standing::Passed { passed, total } if passed == total && *total > 0),
    );
    match next {
        Some((lesson, standing)) => {
            let why = if matches!(standing, Standing::DoesNotCompile) {
                " (the compiler says why)"
            } else {
                ""
            };
            let chapter = lesson.chapter.strip_prefix(root).unwrap_or(&lesson.chapter);
            let read = if lesson.chapter.is_file() {
                format!("read {}, then run{why}", chapter.display())
            } else {
                format!("read its book chapter, then run{why}")
            };
            let _ = write!(
                out,
                "\nNext: lesson {} — {read}\n  cargo test -p {}\n",
                lesson.slug, lesson.package
            );
        }
        None if !rows.is_empty() => {
            let _ = write!(
                out,
                "\nEvery lesson is green. The capstone: read how queue-sim does it all (book, last chapter).\n"
            );
        }
        None => {}
    }
    Ok(out)
}
