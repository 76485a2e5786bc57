//! The build trees grading works in.
//!
//! - The **template**: the kit with every solution laid over its lesson, built
//!   once, and without `solutions/` (nothing a learner's build or test sees
//!   holds it). Its test binaries name the kit's tests (the learner cannot add
//!   or hide one), and its warm target dir is where each copy's build starts.
//! - The **slot**: where one learner's copy is laid out (the template with the
//!   learner's `src/` files over the lessons graded, the starter over every
//!   other lesson), built, and its tests run. Files equal to the solution's
//!   keep the template's times, so cargo rebuilds only the lessons a learner
//!   changed.
//!
//! With bubblewrap, every build and test of a copy runs sandboxed (see
//! [`crate::sandbox`]) and held to its [limits](crate::grade::limits), with
//! the tree at fixed paths ([`sandbox::KIT`], [`sandbox::TARGET`]): a build
//! writes only to the target dir; a test sees the kit and the build read-only
//! and writes only to tmpfs of a fixed size. Without bubblewrap, the slot is
//! rebuilt from scratch for every copy, and nothing stops the learner's code
//! from writing anywhere the grader can.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::build_failure;
use super::confine::{BUILD_ENV, Runner};
use super::limits::Usage;
use super::test_place::{TestPlace, WARM};
use crate::compile::{self, Built, TestBinary};
use crate::kit::{self, Lesson};
use crate::sandbox::{self, Mount};
use crate::submission::LessonFiles;
use crate::tree;
use host::process;

/// The longest the template's build may take (cold: every dependency, loom).
const TEMPLATE_BUILD_LIMIT: Duration = Duration::from_secs(1800);

/// What the kit's root holds that no build needs, and `solutions/`, which
/// no learner's build or test may see.
const NOT_BUILT: [&str; 5] = [".git", "target", "book", "node_modules", "solutions"];

/// A kit tree and its target dir.
struct Tree {
    kit: PathBuf,
    target: PathBuf,
}

impl Tree {
    fn at(dir: &Path) -> Self {
        Tree {
            kit: dir.join("kit"),
            target: dir.join("target"),
        }
    }
}

/// Where `tree` is seen by the commands `runner` makes.
fn seen(runner: &Runner, tree: &Tree) -> (PathBuf, PathBuf) {
    if runner.sandbox.sandboxed() {
        (PathBuf::from(sandbox::KIT), PathBuf::from(sandbox::TARGET))
    } else {
        (tree.kit.clone(), tree.target.clone())
    }
}

impl Tree {
    /// Builds the tests of `lessons` here, one package's failure not
    /// stopping the others.
    fn build(
        &self,
        runner: &Runner,
        lessons: &[&Lesson],
        limit: Duration,
        held: bool,
    ) -> Result<Build> {
        fs::create_dir_all(&self.target)?;
        let (kit, target) = seen(runner, self);
        let mounts = [
            Mount::ReadOnly {
                outside: self.kit.clone(),
                inside: kit.clone(),
            },
            Mount::Writable {
                outside: self.target.clone(),
                inside: target.clone(),
            },
        ];
        let env = build_env(&target);
        let mut command = runner
            .sandbox
            .command(&runner.sandbox.cargo(), &mounts, &env);
        if !runner.sandbox.sandboxed() {
            command.current_dir(&self.kit);
        }
        command
            .args(["build", "--keep-going", "--locked", "--test", "*"])
            .arg("--manifest-path")
            .arg(kit.join("Cargo.toml"))
            .arg("--message-format=json");
        for lesson in lessons {
            command.args(["--package", &lesson.package]);
        }
        let cpu = if held { runner.limits.build_cpu } else { limit };
        let ended = runner.run(command, limit, cpu, held, "build")?;
        let built = compile::read_build(&ended.finished);
        Ok(Build {
            stopped: ended.finished.status.is_none(),
            usage: ended.usage,
            built,
        })
    }
}

/// One cargo build, as grading reads it.
struct Build {
    /// Stopped at its wall-clock limit.
    stopped: bool,
    usage: Usage,
    built: Built,
}

fn build_env(target: &Path) -> Vec<(String, String)> {
    BUILD_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("CARGO_TARGET_DIR".to_string(), target.display().to_string())])
        .collect()
}

/// One kit test: its binary's target name and its name, as libtest lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KitTest {
    /// The test target (`shutdown` for `tests/shutdown.rs`).
    pub target: String,
    /// The test's name.
    pub name: String,
}

/// The kit with its solutions, built: see the module's documentation.
pub struct Template {
    tree: Tree,
    /// Each lesson's tests, by lesson folder name (`#[ignore]`d ones left out).
    pub tests: BTreeMap<String, Vec<KitTest>>,
    /// The tests that run a lesson's loom models (they start from the warm
    /// nested build), by lesson folder name.
    pub model_tests: BTreeMap<String, BTreeSet<String>>,
    /// The bytes of the warm nested builds the models tests start from.
    warm_bytes: u64,
    /// Each lesson's test binaries, by lesson folder name.
    pub binaries: BTreeMap<String, Vec<TestBinary>>,
    /// Where the template's own tests run.
    pub place: TestPlace,
}

impl Template {
    /// Lays out and builds the template for `lessons` of the kit at `kit_root`
    /// in `dir`, lists each lesson's tests, and runs once the tests of lessons
    /// with loom models so that their nested builds are warm.
    pub fn prepare(
        kit_root: &Path,
        lessons: &[Lesson],
        dir: &Path,
        runner: &Runner,
        limit: Duration,
    ) -> Result<Self> {
        let tree = Tree::at(dir);
        tree::mirror(kit_root, &tree.kit, &NOT_BUILT)
            .with_context(|| format!("cannot copy the kit to {}", tree.kit.display()))?;
        // mirror() leaves what it skips alone: an older template's copy goes.
        for skipped in NOT_BUILT {
            tree::remove(&tree.kit.join(skipped))?;
        }
        for lesson in lessons {
            let src = tree.kit.join("lessons").join(&lesson.slug).join("src");
            tree::mirror(&lesson.solution.join("src"), &src, &[])
                .with_context(|| format!("cannot lay out the solution of {}", lesson.slug))?;
        }
        fetch(&tree.kit)?;
        let all: Vec<&Lesson> = lessons.iter().collect();
        // The kit's own code: built without the limits meant for learners'.
        let build = tree.build(runner, &all, TEMPLATE_BUILD_LIMIT, false)?;
        let built = build.built;
        if let Some((slug, error)) = built.errors.iter().next() {
            bail!(
                "the kit's own solution of {slug} does not compile:\n{}",
                compile::first_error(error)
            );
        }
        if !built.succeeded || build.stopped {
            bail!("cannot build the kit's solutions:\n{}", built.cargo_said);
        }
        let warm = tree.target.join("tmp");
        fs::create_dir_all(&warm)?;
        let place = template_place(runner, &tree);
        let mut tests = BTreeMap::new();
        let mut model_tests = BTreeMap::new();
        for lesson in lessons {
            let binaries = built
                .binaries
                .get(&lesson.slug)
                .cloned()
                .unwrap_or_default();
            let listed = place.list(&binaries, true)?;
            let mut names = Vec::new();
            for binary in &binaries {
                let listing = listed.get(&binary.target).cloned().unwrap_or_default();
                names.extend(
                    listing
                        .all
                        .into_iter()
                        .filter(|name| !listing.ignored.contains(name))
                        .map(|name| KitTest {
                            target: binary.target.clone(),
                            name,
                        }),
                );
            }
            model_tests.insert(lesson.slug.clone(), models_tests(lesson));
            tests.insert(lesson.slug.clone(), names);
        }
        let mut template = Template {
            tree,
            tests,
            model_tests,
            warm_bytes: 0,
            binaries: built.binaries.clone(),
            place: place.clone(),
        };
        template.warm_models(lessons, &built, &place, limit)?;
        template.warm_bytes = size_of(&warm);
        Ok(template)
    }

    /// Runs the solution's models tests of each lesson with loom models, so
    /// that the models' nested release build (loom and all) is done once, here.
    fn warm_models(
        &self,
        lessons: &[Lesson],
        built: &Built,
        place: &TestPlace,
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
            let runs = &self.model_tests[&lesson.slug];
            if runs.is_empty() {
                // Its models test would then build loom cold inside a test's
                // time limit, and time out even on the solution.
                eprintln!(
                    "  warning: {} has tests/model.rs but no test calling run_models! was found",
                    lesson.slug
                );
            }
            for test in self.tests[&lesson.slug]
                .iter()
                .filter(|t| runs.contains(last_part(&t.name)))
            {
                let Some(binary) = binaries.iter().find(|b| b.target == test.target) else {
                    continue;
                };
                let mut command = place.command(&binary.path, &[], false);
                command.args([test.name.as_str(), "--exact", "--test-threads=1"]);
                let cold = limit.max(Duration::from_secs(600));
                let finished = process::run_limited(command, cold, Duration::MAX, || ())?;
                if !finished.status.is_some_and(|s| s.success()) {
                    eprintln!(
                        "  warning: the kit's solution fails {}::{}: check it with `cargo xtask verify {}`",
                        test.target, test.name, lesson.number
                    );
                }
            }
        }
        Ok(())
    }
}

/// Where the template's own tests run: the kit's solutions warm the nested
/// builds in its target dir's scratch folder, on disk.
fn template_place(runner: &Runner, tree: &Tree) -> TestPlace {
    let (kit, target) = seen(runner, tree);
    let mounts = vec![
        Mount::ReadOnly {
            outside: tree.kit.clone(),
            inside: kit,
        },
        Mount::ReadOnly {
            outside: tree.target.clone(),
            inside: target.clone(),
        },
        Mount::Writable {
            outside: tree.target.join("tmp"),
            inside: target.join("tmp"),
        },
    ];
    TestPlace::new(runner, mounts, Some(tree.kit.clone()), None)
}

/// The last part of a test's name (`tests::x` → `x`).
pub fn last_part(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// The kit's tests of `lesson` that run its loom models: the functions of its
/// `tests/*.rs` that call `run_models!`, at the top or in a module (the
/// lessons put each section's tests in a module of their own).
fn models_tests(lesson: &Lesson) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if !lesson.has_models() {
        return names;
    }
    let Ok(entries) = fs::read_dir(lesson.dir.join("tests")) else {
        return names;
    };
    for entry in entries.flatten() {
        let Ok(text) = fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(file) = syn::parse_file(&text) else {
            continue;
        };
        calling_run_models(&file.items, &mut names);
    }
    names
}

/// Adds to `names` the functions among `items`, and in their inline modules,
/// whose bodies call `run_models!`.
fn calling_run_models(items: &[syn::Item], names: &mut BTreeSet<String>) {
    for item in items {
        match item {
            syn::Item::Fn(function) => {
                let body = quote::ToTokens::to_token_stream(&function.block).to_string();
                if body.contains("run_models") {
                    names.insert(function.sig.ident.to_string());
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, items)) = &module.content {
                    calling_run_models(items, names);
                }
            }
            _ => {}
        }
    }
}

fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => size_of(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Makes sure what the kit's `Cargo.lock` names is downloaded (writing the
/// lock file in the template if the kit has none): the builds then run
/// offline, as the sandbox has no network. Tries without the network first.
fn fetch(kit: &Path) -> Result<()> {
    let fetch = |offline: bool| {
        let mut command = Command::new(kit::cargo());
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

/// What a copy's build gave each lesson: test binaries, or why none.
#[derive(Default)]
struct Compiled {
    binaries: BTreeMap<String, Vec<TestBinary>>,
    failures: BTreeMap<String, String>,
}

/// One learner's copy, built: what each lesson has to run, or why not.
pub struct Prepared {
    /// The test binaries of each lesson that built, by lesson folder name.
    pub binaries: BTreeMap<String, Vec<TestBinary>>,
    /// Why a lesson has no test binaries (cargo's or the compiler's own
    /// error first), by lesson folder name.
    pub failures: BTreeMap<String, String>,
    /// Each lesson's place to run tests, by lesson folder name.
    pub places: BTreeMap<String, TestPlace>,
}

impl Slot {
    /// A slot in `dir`.
    pub fn new(dir: &Path) -> Self {
        Slot {
            dir: dir.to_path_buf(),
            tree: Tree::at(dir),
        }
    }

    /// Lays out the template with `files` (the learner's, by lesson folder
    /// name) over the lessons in `graded` and the starter over every other
    /// lesson of `all`, builds the lessons in `graded`, and makes each one's
    /// place to run tests. A lesson cargo cannot load is given back its
    /// starter and reported; the others are built again.
    pub fn prepare(
        &self,
        template: &Template,
        runner: &Runner,
        files: &BTreeMap<String, LessonFiles>,
        all: &[Lesson],
        graded: &[&Lesson],
        deadline: Option<Instant>,
    ) -> Result<Prepared> {
        let sandboxed = runner.sandbox.sandboxed();
        let lay_out = |from: &Path, to: &Path, skip: &[&str]| {
            if sandboxed {
                // Nothing a test ran could have written here: mirror, keeping times.
                tree::mirror(from, to, skip)
            } else {
                tree::remove(to).and_then(|()| tree::mirror(from, to, skip))
            }
        };
        lay_out(&template.tree.kit, &self.tree.kit, &[]).context("cannot lay out the copy")?;
        for lesson in all {
            let learners = graded
                .iter()
                .any(|g| g.slug == lesson.slug)
                .then(|| files.get(&lesson.slug))
                .flatten();
            let src = self.tree.kit.join("lessons").join(&lesson.slug).join("src");
            match learners {
                // Without fixed paths, every lesson is rebuilt for its own paths.
                Some(LessonFiles::Files(files)) => lay_over(&src, files, !sandboxed),
                _ => starter_over(&src, lesson),
            }
            .with_context(|| format!("cannot lay out {}", lesson.slug))?;
        }
        lay_out(&template.tree.target, &self.tree.target, &["tmp"])
            .context("cannot lay out the copy's build")?;
        fs::create_dir_all(self.tree.target.join("tmp"))?;

        let compiled = self.build(runner, graded, deadline)?;
        let places = self.places(template, runner, graded)?;
        Ok(Prepared {
            binaries: compiled.binaries,
            failures: compiled.failures,
            places,
        })
    }

    /// Builds `graded`, attributing each lesson's failure; see [`Slot::prepare`].
    fn build(
        &self,
        runner: &Runner,
        graded: &[&Lesson],
        deadline: Option<Instant>,
    ) -> Result<Compiled> {
        let limit = || {
            let wall = runner.limits.build_wall();
            deadline.map_or(wall, |d| {
                wall.min(d.saturating_duration_since(Instant::now()))
            })
        };
        let mut compiled = Compiled::default();
        let mut left: Vec<&Lesson> = graded.to_vec();
        // One build for the copy; a lesson cargo cannot load costs one more.
        for _ in 0..=graded.len() {
            if left.is_empty() {
                break;
            }
            let build = self.tree.build(runner, &left, limit(), true)?;
            if build.stopped {
                // One lesson's compiler that does not end: build them one by
                // one, so that it costs only its own lesson.
                return self.build_each(runner, &left, compiled, limit);
            }
            let unloadable: Vec<&Lesson> = left
                .iter()
                .copied()
                .filter(|l| build_failure::cannot_load(&build.built.cargo_said, l))
                .collect();
            if !unloadable.is_empty() && build.built.binaries.is_empty() {
                for lesson in unloadable {
                    compiled.failures.insert(
                        lesson.slug.clone(),
                        build_failure::cargo_error(&build.built.cargo_said, lesson),
                    );
                    let src = self.tree.kit.join("lessons").join(&lesson.slug).join("src");
                    starter_over(&src, lesson)?;
                    left.retain(|l| l.slug != lesson.slug);
                }
                continue;
            }
            attribute(&build, &left, runner, &mut compiled);
            return Ok(compiled);
        }
        Ok(compiled)
    }

    fn build_each(
        &self,
        runner: &Runner,
        lessons: &[&Lesson],
        mut compiled: Compiled,
        limit: impl Fn() -> Duration,
    ) -> Result<Compiled> {
        for lesson in lessons {
            let wall = limit();
            if wall.is_zero() {
                compiled.failures.insert(
                    lesson.slug.clone(),
                    "not built: the whole grading's time limit was reached".into(),
                );
                continue;
            }
            let build = self.tree.build(runner, &[lesson], wall, true)?;
            if build.stopped {
                compiled.failures.insert(
                    lesson.slug.clone(),
                    format!(
                        "the build was stopped at its time limit ({} s): something in it does not finish compiling (a `const` evaluated for ever?)",
                        wall.as_secs()
                    ),
                );
                continue;
            }
            attribute(&build, &[lesson], runner, &mut compiled);
        }
        Ok(compiled)
    }

    /// Each graded lesson's place to run its tests.
    fn places(
        &self,
        template: &Template,
        runner: &Runner,
        graded: &[&Lesson],
    ) -> Result<BTreeMap<String, TestPlace>> {
        let sandboxed = runner.sandbox.sandboxed();
        let warm = template.tree.target.join("tmp");
        let shared_tmp = self.tree.target.join("tmp");
        if !sandboxed {
            // One tmp for the copy: CARGO_TARGET_TMPDIR was compiled in.
            if graded.iter().any(|l| l.has_models()) {
                tree::fresh_copy(&warm, &shared_tmp)?;
            } else {
                tree::empty_dir(&shared_tmp)?;
            }
        }
        let mut places = BTreeMap::new();
        for lesson in graded {
            let place = if sandboxed {
                let target = PathBuf::from(sandbox::TARGET);
                let disk = runner.limits.disk;
                let scratch_bytes = if lesson.has_models() {
                    disk + template.warm_bytes
                } else {
                    disk
                };
                let mut mounts = vec![
                    Mount::ReadOnly {
                        outside: self.tree.kit.clone(),
                        inside: PathBuf::from(sandbox::KIT),
                    },
                    Mount::ReadOnly {
                        outside: self.tree.target.clone(),
                        inside: target.clone(),
                    },
                    Mount::Tmpfs {
                        inside: target.join("tmp"),
                        bytes: scratch_bytes,
                    },
                ];
                let warm_place = lesson.has_models().then(|| {
                    mounts.push(Mount::ReadOnly {
                        outside: warm.clone(),
                        inside: PathBuf::from(WARM),
                    });
                    (PathBuf::from(WARM), target.join("tmp"))
                });
                TestPlace::new(runner, mounts, None, warm_place)
            } else {
                let work = self.dir.join("work").join(&lesson.slug);
                tree::empty_dir(&work)?;
                TestPlace::new(runner, Vec::new(), Some(work), None)
            };
            places.insert(lesson.slug.clone(), place);
        }
        Ok(places)
    }
}

/// Files each built lesson's binaries, and each lesson with none under the
/// reason: the compiler's first error, else cargo's own, with what the
/// limits say about it.
fn attribute(build: &Build, lessons: &[&Lesson], runner: &Runner, compiled: &mut Compiled) {
    let (binaries, failures) = (&mut compiled.binaries, &mut compiled.failures);
    for lesson in lessons {
        if let Some(errors) = build.built.errors.get(&lesson.slug) {
            failures.insert(lesson.slug.clone(), compile::first_error(errors));
            continue;
        }
        match build.built.binaries.get(&lesson.slug) {
            Some(found) if !build_failure::cargo_failed(&build.built.cargo_said, lesson) => {
                binaries.insert(lesson.slug.clone(), found.clone());
            }
            _ => {
                let why = build_failure::reason(
                    &build.built.cargo_said,
                    &build.usage,
                    &runner.limits,
                    lesson,
                );
                failures.insert(lesson.slug.clone(), why);
            }
        }
    }
}

/// Makes `src` hold the starter of `lesson` (the kit's `lessons/NN/src`).
fn starter_over(src: &Path, lesson: &Lesson) -> Result<()> {
    let mut files = BTreeMap::new();
    for relative in lesson.learner_files()? {
        files.insert(relative.clone(), fs::read(lesson.dir.join(&relative))?);
    }
    lay_over(src, &files, false)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_models_test_is_found_at_the_top_and_in_a_sections_module() {
        let file: syn::File = syn::parse_str(
            "#[test] fn top() { lesson_support::run_models!(); }
             mod s6_every_interleaving {
                 #[test] fn every_interleaving() { lesson_support::run_models!(); }
                 #[test] fn not_a_model() { assert!(true); }
             }
             #[test] fn other() {}",
        )
        .unwrap();
        let mut names = BTreeSet::new();
        calling_run_models(&file.items, &mut names);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["every_interleaving", "top"]
        );
    }
}
