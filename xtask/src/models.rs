//! Warming a lesson's loom models before its tests are timed.
//!
//! A lesson that model-checks the learner's code has a test that builds
//! `tests/model.rs` with `--cfg loom` in a nested cargo build
//! (`lesson_support::run_models!`). The first such build compiles loom and the
//! lesson's dependencies in release mode, far longer than any one test may
//! take; after it, a rebuild for changed code takes seconds. So `verify` and
//! `mutants` run that same build (the very command lesson-support runs, so
//! cargo finds it fresh) once per variant of the code, outside the per-test
//! limit.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use lesson_support::models::{ModelCrate, build_command};

use crate::kit::Lesson;
use crate::runner::Scratch;

/// The test target holding a lesson's models (`tests/model.rs`).
const MODEL_TARGET: &str = "model";

/// Whether `lesson` model-checks the learner's code.
pub fn has_models(lesson: &Lesson) -> bool {
    lesson
        .dir
        .join("tests")
        .join(format!("{MODEL_TARGET}.rs"))
        .is_file()
}

/// Builds the models of `lesson` as laid out in `scratch`, as its models test
/// will; returns how long that took, or `None` when the lesson has no models.
/// A build that fails is not an error here: the models test reports it to
/// the learner, in its own words.
pub fn warm(scratch: &Scratch, lesson: &Lesson) -> Result<Option<Duration>> {
    if !has_models(lesson) {
        return Ok(None);
    }
    let krate = ModelCrate {
        manifest_dir: leak(&scratch.lesson_dir(lesson)),
        package: leak(Path::new(&lesson.package)),
        target: MODEL_TARGET,
        // What cargo gives the scratch build's tests as CARGO_TARGET_TMPDIR.
        scratch_dir: leak(&scratch.target_dir().join("tmp")),
    };
    let started = Instant::now();
    let status = build_command(&krate)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("could not run cargo to build the loom models")?;
    if status.code().is_none() {
        bail!("the loom models' build was killed ({status})");
    }
    Ok(Some(started.elapsed()))
}

/// `ModelCrate` holds `&'static str`s (it is made from `env!` in a test);
/// a handful per run of a short-lived tool.
fn leak(path: &Path) -> &'static str {
    Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
}
