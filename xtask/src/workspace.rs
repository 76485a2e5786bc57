//! The build trees grading works in.
//!
//! - The **template**: the kit with every solution laid over its lesson, built
//!   once. Its test binaries name the kit's tests (the learner cannot add or
//!   hide one), and its warm target dir is where each copy's build starts.
//! - The **slot**: where one learner's copy is laid out (the template with the
//!   learner's `src/` files laid over it), built, and its tests run. Files equal
//!   to the solution's keep the template's times, so cargo rebuilds only the
//!   lessons a learner changed.
//!
//! With bubblewrap, every build and test runs sandboxed with the tree mounted at
//! the same fixed paths ([`sandbox::KIT`], [`sandbox::TARGET`]): a test process
//! sees the kit and the build read-only, and writes only to a `tmp` folder made
//! fresh for its lesson. Without bubblewrap, the slot is rebuilt from scratch
//! for every copy, and nothing stops the learner's code from writing anywhere
//! the grader can.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::compile::TestBinary;
use crate::compile::{self, Built};
use crate::kit::{self, Lesson};
use crate::place::Place;
use crate::runner::{self, Job};
use crate::sandbox::{self, Bubblewrap, Mount, Sandboxed};
use crate::submission::LessonFiles;
use crate::tree;

/// The longest one copy's build may take (a `const` evaluated forever, say).
pub const BUILD_LIMIT: Duration = Duration::from_secs(600);

/// What the kit's root holds that no build needs.
const NOT_BUILT: [&str; 4] = [".git", "target", "book", "node_modules"];

/// Settings for every grading build and the builds nested in tests (the loom
/// models): no debug info and no incremental data, which grading never uses
/// and which triple the size of what each copy's build starts from.
const BUILD_ENV: [(&str, &str); 4] = [
    ("CARGO_INCREMENTAL", "0"),
    ("CARGO_PROFILE_DEV_DEBUG", "0"),
    ("CARGO_PROFILE_TEST_DEBUG", "0"),
    ("CARGO_NET_OFFLINE", "true"),
];

/// A kit tree and its target dir, as a build sees them.
struct Tree {
    kit: PathBuf,
    target: PathBuf,
    bwrap: Option<Bubblewrap>,
}

impl Tree {
    fn at(dir: &Path, bwrap: Option<Bubblewrap>) -> Self {
        Tree {
            kit: dir.join("kit"),
            target: dir.join("target"),
            bwrap,
        }
    }

    /// Where builds and tests see the kit and the target dir.
    fn seen(&self) -> (PathBuf, PathBuf) {
        match self.bwrap {
            Some(_) => (PathBuf::from(sandbox::KIT), PathBuf::from(sandbox::TARGET)),
            None => (self.kit.clone(), self.target.clone()),
        }
    }

    fn place(&self, mounts: Vec<Mount>, work: &Path) -> Place {
        let place = match &self.bwrap {
            Some(bwrap) => Place::wrapped(Sandboxed::new(bwrap, mounts)),
            None => Place::in_dir(work),
        };
        BUILD_ENV
            .iter()
            .fold(place, |place, (key, value)| place.with_env(key, value))
            .with_env("CARGO", &kit::cargo().to_string_lossy())
    }

    /// Builds the tests of `lessons`, one package's failure not stopping the others.
    fn build(&self, lessons: &[&Lesson], limit: Duration) -> Result<Built> {
        fs::create_dir_all(&self.target)?;
        let (kit, target) = self.seen();
        let place = self.place(
            vec![
                Mount::read_only(&self.kit, sandbox::KIT),
                Mount::writable(&self.target, sandbox::TARGET),
            ],
            &self.kit,
        );
        let mut command = place.command(kit::cargo());
        command
            .args(["build", "--keep-going", "--locked", "--test", "*"])
            .arg("--manifest-path")
            .arg(kit.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target);
        for lesson in lessons {
            command.args(["--package", &lesson.package]);
        }
        compile::build(command, limit)
    }

    /// Where `lesson`'s tests run: the tree read-only, `tmp` writable.
    fn test_place(&self, tmp: &Path, work: &Path) -> Place {
        self.place(
            vec![
                Mount::read_only(&self.kit, sandbox::KIT),
                Mount::read_only(&self.target, sandbox::TARGET),
                Mount::writable(tmp, format!("{}/tmp", sandbox::TARGET)),
            ],
            work,
        )
    }
}

/// The kit with its solutions, built: see the module's documentation.
pub struct Template {
    tree: Tree,
    /// Each lesson's tests, by lesson folder name: (test target, test name).
    pub tests: BTreeMap<String, Vec<(String, String)>>,
}

impl Template {
    /// Lays out and builds the template for `lessons` of the kit at `kit_root`
    /// in `dir`, lists each lesson's tests, and runs once the tests of lessons
    /// with loom models so that their nested builds are warm.
    pub fn prepare(
        kit_root: &Path,
        lessons: &[Lesson],
        dir: &Path,
        bwrap: Option<Bubblewrap>,
        limit: Duration,
    ) -> Result<Self> {
        let tree = Tree::at(dir, bwrap);
        tree::mirror(kit_root, &tree.kit, &NOT_BUILT)
            .with_context(|| format!("cannot copy the kit to {}", tree.kit.display()))?;
        for lesson in lessons {
            let src = tree.kit.join("lessons").join(&lesson.slug).join("src");
            tree::mirror(&lesson.solution.join("src"), &src, &[])
                .with_context(|| format!("cannot lay out the solution of {}", lesson.slug))?;
        }
        fetch(&tree.kit)?;
        let all: Vec<&Lesson> = lessons.iter().collect();
        let built = tree.build(&all, BUILD_LIMIT)?;
        if let Some((slug, error)) = built.errors.iter().next() {
            bail!(
                "the kit's own solution of {slug} does not compile:\n{}",
                compile::first_error(error)
            );
        }
        if !built.succeeded {
            bail!("cannot build the kit's solutions:\n{}", built.cargo_said);
        }
        let tmp = tree.target.join("tmp");
        fs::create_dir_all(&tmp)?;
        let place = tree.test_place(&tmp, &tree.kit);
        let mut tests = BTreeMap::new();
        for lesson in lessons {
            let mut names = Vec::new();
            for binary in built.binaries.get(&lesson.slug).into_iter().flatten() {
                for name in runner::list_tests(&place, binary)? {
                    names.push((binary.target.clone(), name));
                }
            }
            tests.insert(lesson.slug.clone(), names);
        }
        let template = Template { tree, tests };
        template.warm_models(lessons, &built, &place, limit)?;
        Ok(template)
    }

    /// Runs the solution's tests of each lesson with loom models, so that the
    /// models' nested release build (loom and all) is done once, here.
    fn warm_models(
        &self,
        lessons: &[Lesson],
        built: &Built,
        place: &Place,
        limit: Duration,
    ) -> Result<()> {
        for lesson in lessons.iter().filter(|l| l.has_models()) {
            eprintln!(
                "  building the loom models of {} once ({})",
                lesson.slug,
                lesson_support::models::COLD_BUILD_TAKES
            );
            let binaries = built
                .binaries
                .get(&lesson.slug)
                .cloned()
                .unwrap_or_default();
            let jobs = jobs_for(&self.tests[&lesson.slug], &binaries, place);
            let cold = limit.max(Duration::from_secs(300));
            let runs = runner::run_tests(&jobs, cold, None, 1, |_| ())?;
            for run in runs.iter().flatten() {
                if run.status != runner::Status::Passed {
                    eprintln!(
                        "  warning: the kit's solution fails {} ({}): check it with `cargo xtask verify {}`",
                        run.name,
                        runner::why(run),
                        lesson.number
                    );
                }
            }
        }
        Ok(())
    }
}

/// The jobs running `tests` with `binaries` in `place`; a test whose binary is
/// missing is left out (the caller counts it as not passed).
pub fn jobs_for<'a>(
    tests: &'a [(String, String)],
    binaries: &'a [TestBinary],
    place: &'a Place,
) -> Vec<Job<'a>> {
    tests
        .iter()
        .filter_map(|(target, name)| {
            let binary = binaries.iter().find(|b| &b.target == target)?;
            Some(Job {
                place,
                binary,
                name,
            })
        })
        .collect()
}

/// Makes sure what the kit's `Cargo.lock` names is downloaded (writing the
/// lock file in the template if the kit has none): the builds then run
/// offline, as the sandbox has no network. Tries without the network first.
fn fetch(kit: &Path) -> Result<()> {
    let fetch = |offline: bool| {
        let mut command = std::process::Command::new(kit::cargo());
        command
            .args(["fetch", "--quiet", "--manifest-path"])
            .arg(kit.join("Cargo.toml"));
        if offline {
            command.arg("--offline");
        }
        command.output().context("could not run cargo fetch")
    };
    if fetch(true)?.status.success() {
        return Ok(());
    }
    let output = fetch(false)?;
    if !output.status.success() {
        bail!(
            "cannot download the kit's dependencies:\n{}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Where one learner's copy is built and tested, laid out anew for each copy.
pub struct Slot {
    dir: PathBuf,
    tree: Tree,
}

/// One learner's copy, built: where each lesson's tests run.
pub struct Prepared {
    /// What the build made and which lessons did not compile.
    pub built: Built,
    /// Each graded lesson's place to run tests, by lesson folder name.
    pub places: BTreeMap<String, Place>,
}

impl Slot {
    /// A slot in `dir`.
    pub fn new(dir: &Path, bwrap: Option<Bubblewrap>) -> Self {
        Slot {
            dir: dir.to_path_buf(),
            tree: Tree::at(dir, bwrap),
        }
    }

    /// Lays out the template with `files` (the learner's, by lesson folder name)
    /// over it, builds the lessons in `graded`, and makes each one's fresh
    /// writable `tmp`.
    pub fn prepare(
        &self,
        template: &Template,
        files: &BTreeMap<String, LessonFiles>,
        graded: &[&Lesson],
        deadline: Option<Instant>,
    ) -> Result<Prepared> {
        let sandboxed = self.tree.bwrap.is_some();
        let lay_out = |from: &Path, to: &Path, skip: &[&str]| {
            if sandboxed {
                // Nothing a test ran could have written here: mirror, keeping times.
                tree::mirror(from, to, skip)
            } else {
                tree::remove(to).and_then(|()| tree::mirror(from, to, skip))
            }
        };
        lay_out(&template.tree.kit, &self.tree.kit, &[]).context("cannot lay out the copy")?;
        for lesson in graded {
            if let Some(LessonFiles::Files(files)) = files.get(&lesson.slug) {
                let src = self.tree.kit.join("lessons").join(&lesson.slug).join("src");
                // Without fixed paths, every lesson is rebuilt for its own paths.
                lay_over(&src, files, !sandboxed)
                    .with_context(|| format!("cannot lay out {}", lesson.slug))?;
            }
        }
        lay_out(&template.tree.target, &self.tree.target, &["tmp"])
            .context("cannot lay out the copy's build")?;
        let limit = deadline.map_or(BUILD_LIMIT, |d| {
            BUILD_LIMIT.min(d.saturating_duration_since(Instant::now()))
        });
        let built = self.tree.build(graded, limit)?;
        let warm = template.tree.target.join("tmp");
        let shared_tmp = self.tree.target.join("tmp");
        fs::create_dir_all(&shared_tmp)?;
        if !sandboxed {
            // One tmp for the copy: CARGO_TARGET_TMPDIR was compiled in.
            let models = graded.iter().any(|l| l.has_models());
            if models {
                tree::fresh_copy(&warm, &shared_tmp)?;
            } else {
                tree::empty_dir(&shared_tmp)?;
            }
        }
        let mut places = BTreeMap::new();
        for lesson in graded {
            let work = self.dir.join("work").join(&lesson.slug);
            tree::empty_dir(&work)?;
            let tmp = if sandboxed {
                // Never reused: the learner's code may have written anything there.
                let tmp = self.dir.join("tmp").join(&lesson.slug);
                if lesson.has_models() {
                    tree::fresh_copy(&warm, &tmp)
                } else {
                    tree::empty_dir(&tmp)
                }
                .with_context(|| format!("cannot make {}", tmp.display()))?;
                tmp
            } else {
                shared_tmp.clone()
            };
            places.insert(lesson.slug.clone(), self.tree.test_place(&tmp, &work));
        }
        Ok(Prepared { built, places })
    }
}

/// Makes the folder `src` hold exactly `files` (paths relative to the lesson,
/// `src/…`). A file equal to the one there keeps its time unless `touch_all`.
fn lay_over(src: &Path, files: &BTreeMap<PathBuf, Vec<u8>>, touch_all: bool) -> Result<()> {
    let lesson = src.parent().context("src/ has a lesson around it")?;
    for existing in kit::files_under(lesson, Path::new("src"))? {
        if !files.contains_key(&existing) {
            tree::remove(&lesson.join(&existing))?;
        }
    }
    for (relative, bytes) in files {
        let path = lesson.join(relative);
        if !touch_all && fs::read(&path).is_ok_and(|there| &there == bytes) {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        tree::remove(&path)?;
        fs::write(&path, bytes)?;
    }
    Ok(())
}
