//! Warming a lesson's loom models before their tests are timed.
//!
//! A lesson that model-checks the learner's code has a test that builds
//! `tests/model.rs` with `--cfg loom` in a nested cargo build
//! (`lesson_support::run_models!`). The first such build compiles loom and the
//! lesson's dependencies in release mode, far longer than any one test may
//! take; after it, a rebuild for changed code takes seconds. So the tools run
//! that same build (the very command lesson-support runs, so cargo then finds
//! it fresh), under the build's own limit rather than a test's:
//!
//! - [`warm`], right before a lesson's tests run (`progress`, `watch`,
//!   `verify`, `mutants`);
//! - [`warm_ahead`], in the background at the lowest priority, for the lessons
//!   after the one in progress (`watch`, `progress`): by the time the learner
//!   reaches them, their first `cargo test` takes seconds.
//!
//! Every build holds lesson-support's [`BuildLock`] for its target dir, as
//! the lessons' own tests do: two builds of the same models never run at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use host::process;
use lesson_support::models::{BUILD_LIMIT, BuildLock, ModelCrate, build_command};

use crate::kit::Lesson;

/// Builds the models of `lesson` as laid out in `lesson_dir` (the kit's own
/// folder, or a scratch copy of it) for tests built into `target_dir`; calls
/// `when_slow` if that takes more than a couple of seconds, or must first wait
/// for another build of them. Returns how long it took, or `None` when the
/// lesson has no models. A build that fails is not an error here: the models
/// test reports it to the learner, in its own words.
pub fn warm(
    lesson: &Lesson,
    lesson_dir: &Path,
    target_dir: &Path,
    when_slow: impl FnOnce(),
) -> Result<Option<Duration>> {
    if !lesson.has_models() {
        return Ok(None);
    }
    let krate = model_crate(lesson, lesson_dir, target_dir);
    let mut when_slow = Some(when_slow);
    let _lock = BuildLock::acquire(Path::new(krate.scratch_dir), || {
        if let Some(tell) = when_slow.take() {
            tell();
        }
    })
    .context("cannot take the loom models' build lock")?;
    let finished = process::run_limited(
        build_command(&krate),
        BUILD_LIMIT,
        Duration::from_secs(2),
        || {
            if let Some(tell) = when_slow.take() {
                tell();
            }
        },
    )?;
    if finished.status.is_none() {
        bail!("the loom models' build ran past {BUILD_LIMIT:?} and was stopped");
    }
    Ok(Some(finished.duration))
}

/// Where `lesson`'s models are, for a build of the tests into `target_dir`.
fn model_crate(lesson: &Lesson, lesson_dir: &Path, target_dir: &Path) -> ModelCrate {
    ModelCrate {
        manifest_dir: leak(lesson_dir),
        package: leak(Path::new(&lesson.package)),
        target: "model",
        // What cargo gives the tests built into `target_dir` as CARGO_TARGET_TMPDIR.
        scratch_dir: leak(&target_dir.join("tmp")),
    }
}

/// `ModelCrate` holds `&'static str`s (it is made from `env!` in a test);
/// a handful per run of a short-lived tool.
fn leak(path: &Path) -> &'static str {
    Box::leak(path.to_string_lossy().into_owned().into_boxed_str())
}

/// The models of the lessons ahead, being built in the background.
#[derive(Debug, Clone)]
pub struct Ahead {
    state: Arc<Mutex<State>>,
    lessons: Vec<String>,
}

#[derive(Debug, Clone)]
enum State {
    Waiting,
    Building { number: String, since: Instant },
    Ready { took: Duration },
    Failed(String),
}

/// Starts building, one after the other in a background thread at the lowest
/// priority, the models of every lesson in `lessons` that has some, each laid
/// out where the kit has it and built for tests in `target_dir`. `None` when
/// none of them has models. The builds end with the process (its interrupt
/// handler, or [`process::kill_all`] on the way out); cargo keeps every crate
/// a stopped build had finished.
pub fn warm_ahead(lessons: &[Lesson], target_dir: &Path) -> Option<Ahead> {
    let lessons: Vec<Lesson> = lessons.iter().filter(|l| l.has_models()).cloned().collect();
    if lessons.is_empty() {
        return None;
    }
    let ahead = Ahead {
        state: Arc::new(Mutex::new(State::Waiting)),
        lessons: lessons.iter().map(|l| l.number.clone()).collect(),
    };
    let state = Arc::clone(&ahead.state);
    let target_dir: PathBuf = target_dir.to_path_buf();
    thread::spawn(move || {
        let started = Instant::now();
        for lesson in &lessons {
            let set = |new: State| *state.lock().unwrap_or_else(PoisonError::into_inner) = new;
            set(State::Building {
                number: lesson.number.clone(),
                since: Instant::now(),
            });
            if let Err(e) = build_quietly(lesson, &target_dir) {
                set(State::Failed(format!("{e:#}")));
                return;
            }
        }
        *state.lock().unwrap_or_else(PoisonError::into_inner) = State::Ready {
            took: started.elapsed(),
        };
    });
    Some(ahead)
}

/// One lesson's models at the lowest priority, waiting for the lock if
/// someone else is building them.
fn build_quietly(lesson: &Lesson, target_dir: &Path) -> Result<()> {
    let krate = model_crate(lesson, &lesson.dir, target_dir);
    let _lock = BuildLock::acquire(Path::new(krate.scratch_dir), || ())
        .context("cannot take the loom models' build lock")?;
    let mut command = build_command(&krate);
    process::lower_priority(&mut command);
    let finished = process::run_limited(command, BUILD_LIMIT, Duration::MAX, || ())?;
    match finished.status {
        None => bail!("ran past {BUILD_LIMIT:?}"),
        // The learner's half-written code may not compile yet; loom and the
        // dependencies were built all the same, which is the point.
        Some(_) => Ok(()),
    }
}

impl Ahead {
    /// A line on how the background builds stand.
    pub fn describe(&self) -> String {
        let which = self.lessons.join(", ");
        match &*self.state.lock().unwrap_or_else(PoisonError::into_inner) {
            State::Waiting => {
                format!("The loom models of lessons {which} will build in the background.")
            }
            State::Building { number, since } => format!(
                "Meanwhile, the loom models of lessons {which} build in the background, at low \
                 priority, so their first run takes seconds: lesson {number}'s now ({} s).",
                since.elapsed().as_secs()
            ),
            State::Ready { took } => format!(
                "The loom models of lessons {which} are built ({} s in the background).",
                took.as_secs()
            ),
            State::Failed(why) => format!("The loom models could not be built ahead: {why}"),
        }
    }

    /// Whether every build has ended.
    pub fn done(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(PoisonError::into_inner),
            State::Ready { .. } | State::Failed(_)
        )
    }
}
