//! Warming a lesson's loom models before its tests are timed.
//!
//! A lesson that model-checks the learner's code has a test that builds
//! `tests/model.rs` with `--cfg loom` in a nested cargo build
//! (`lesson_support::run_models!`). The first such build compiles loom and the
//! lesson's dependencies in release mode, far longer than any one test may
//! take; after it, a rebuild for changed code takes seconds. So `progress`,
//! `watch`, `verify` and `mutants` run that same build (the very command
//! lesson-support runs, so cargo then finds it fresh) before the tests, under
//! the build's own limit rather than a test's.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use lesson_support::models::{BUILD_LIMIT, ModelCrate, build_command};

use crate::kit::Lesson;
use lesson_support::process;

/// Builds the models of `lesson` as laid out in `lesson_dir` (the kit's own
/// folder, or a scratch copy of it) for tests built into `target_dir`; calls
/// `when_slow` if that takes more than a couple of seconds. Returns how long it
/// took, or `None` when the lesson has no models. A build that fails is not an
/// error here: the models test reports it to the learner, in its own words.
pub fn warm(
    lesson: &Lesson,
    lesson_dir: &Path,
    target_dir: &Path,
    when_slow: impl FnOnce(),
) -> Result<Option<Duration>> {
    if !lesson.has_models() {
        return Ok(None);
    }
    let krate = ModelCrate {
        manifest_dir: leak(lesson_dir),
        package: leak(Path::new(&lesson.package)),
        target: "model",
        // What cargo gives the tests built into `target_dir` as CARGO_TARGET_TMPDIR.
        scratch_dir: leak(&target_dir.join("tmp")),
    };
    let finished = process::run_limited(
        build_command(&krate),
        BUILD_LIMIT,
        Duration::from_secs(2),
        when_slow,
    )?;
    if finished.status.is_none() {
        bail!("the loom models' build ran past {BUILD_LIMIT:?} and was stopped");
    }
    Ok(Some(finished.duration))
}

/// `ModelCrate` holds `&'static str`s (it is made from `env!` in a test);
/// a handful per run of a short-lived tool.
fn leak(path: &Path) -> &'static str {
    Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
}
