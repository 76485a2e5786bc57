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

use crate::compile::{self, Built, TestBinary};
use crate::grade::limits::{self, Cgroups, Limits, Usage};
use crate::kit::{self, Lesson};
use crate::sandbox::{self, Mount, Sandbox};
use crate::submission::LessonFiles;
use crate::tree;
use lesson_support::process;

/// The longest the template's build may take (cold: every dependency, loom).
const TEMPLATE_BUILD_LIMIT: Duration = Duration::from_secs(1800);

/// What the kit's root holds that no build needs, and `solutions/`, which
/// no learner's build or test may see.
const NOT_BUILT: [&str; 5] = [".git", "target", "book", "node_modules", "solutions"];

/// Settings for every grading build and the builds nested in tests (the loom
/// models): no debug info and no incremental data, which grading never uses
/// and which triple the size of what each copy's build starts from.
const BUILD_ENV: [(&str, &str); 3] = [
    ("CARGO_INCREMENTAL", "0"),
    ("CARGO_PROFILE_DEV_DEBUG", "0"),
    ("CARGO_PROFILE_TEST_DEBUG", "0"),
];

/// How cargo names the signal a process gets at its CPU-time limit
/// (`signal: 24` on Linux; cargo does not always add `SIGXCPU`).
fn cpu_signal() -> String {
    #[cfg(unix)]
    return format!("signal: {}", libc::SIGXCPU);
    #[cfg(not(unix))]
    return "SIGXCPU".to_string();
}

/// Where, inside the sandbox, a models test finds the template's warm
/// nested build to start from.
const WARM: &str = "/tmp/xtask-grade/warm";

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

/// How grading runs things: the sandbox (or none), its limits, and the
/// cgroups that hold them (or none).
#[derive(Debug, Clone)]
pub struct Runner {
    /// Where commands run.
    pub sandbox: Sandbox,
    /// What each build and test may use.
    pub limits: Limits,
    /// The cgroups the limits use, if the machine lets the grader make them.
    pub cgroups: Option<Cgroups>,
}

/// How a limited command ended, with what its cgroup saw.
pub struct Ended {
    /// The process's end (`status: None`: killed at the time limit).
    pub finished: process::Finished,
    /// What it ran into.
    pub usage: Usage,
}

impl Runner {
    /// Where `tree` is seen by the commands this runner makes.
    fn seen(&self, tree: &Tree) -> (PathBuf, PathBuf) {
        if self.sandbox.sandboxed() {
            (PathBuf::from(sandbox::KIT), PathBuf::from(sandbox::TARGET))
        } else {
            (tree.kit.clone(), tree.target.clone())
        }
    }

    /// Runs `command` to its end or `limit`, held to the limits when `held`
    /// (each process gets `cpu` of CPU time); `what` names its cgroup.
    pub fn run(
        &self,
        mut command: Command,
        limit: Duration,
        cpu: Duration,
        held: bool,
        what: &str,
    ) -> Result<Ended> {
        let enclosure = match (&self.cgroups, held) {
            (Some(cgroups), true) => Some(
                cgroups
                    .enclose(&self.limits)
                    .with_context(|| format!("cannot make a cgroup for the sandbox of a {what}"))?,
            ),
            _ => None,
        };
        if held {
            let space = enclosure.is_none().then_some(self.limits.memory * 2);
            limits::set_rlimits(&mut command, cpu, space);
        }
        if let Some(enclosure) = &enclosure {
            enclosure.hold(&mut command);
        }
        let finished = process::run_limited(command, limit, Duration::MAX, || ());
        let usage = match (&self.cgroups, enclosure) {
            (Some(cgroups), Some(enclosure)) => cgroups.release(enclosure),
            _ => Usage::default(),
        };
        Ok(Ended {
            finished: finished?,
            usage,
        })
    }

    /// Builds the tests of `lessons` in `tree`, one package's failure not
    /// stopping the others.
    fn build(
        &self,
        tree: &Tree,
        lessons: &[&Lesson],
        limit: Duration,
        held: bool,
    ) -> Result<Build> {
        fs::create_dir_all(&tree.target)?;
        let (kit, target) = self.seen(tree);
        let mounts = [
            Mount::ReadOnly {
                outside: tree.kit.clone(),
                inside: kit.clone(),
            },
            Mount::Writable {
                outside: tree.target.clone(),
                inside: target.clone(),
            },
        ];
        let env = build_env(&target);
        let mut command = self.sandbox.command(&self.sandbox.cargo(), &mounts, &env);
        if !self.sandbox.sandboxed() {
            command.current_dir(&tree.kit);
        }
        command
            .args(["build", "--keep-going", "--locked", "--test", "*"])
            .arg("--manifest-path")
            .arg(kit.join("Cargo.toml"))
            .arg("--message-format=json");
        for lesson in lessons {
            command.args(["--package", &lesson.package]);
        }
        let cpu = if held { self.limits.build_cpu } else { limit };
        let ended = self.run(command, limit, cpu, held, "build")?;
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
        let build = runner.build(&tree, &all, TEMPLATE_BUILD_LIMIT, false)?;
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
        let place = TestPlace::for_template(runner, &tree);
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
                let (all, ignored) = listed.get(&binary.target).cloned().unwrap_or_default();
                names.extend(
                    all.into_iter()
                        .filter(|name| !ignored.contains(name))
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
                "  building the loom models of {} once (about 30 s the first time)",
                lesson.slug
            );
            let binaries = built
                .binaries
                .get(&lesson.slug)
                .cloned()
                .unwrap_or_default();
            let runs = &self.model_tests[&lesson.slug];
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

/// The last part of a test's name (`tests::x` → `x`).
pub fn last_part(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// The kit's tests of `lesson` that run its loom models: the functions of its
/// `tests/*.rs` that call `run_models!`.
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
        for item in file.items {
            if let syn::Item::Fn(function) = item {
                let body = quote::ToTokens::to_token_stream(&function.block).to_string();
                if body.contains("run_models") {
                    names.insert(function.sig.ident.to_string());
                }
            }
        }
    }
    names
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

/// Where one lesson's tests run: the tree read-only, fresh tmpfs to write to.
#[derive(Debug, Clone)]
pub struct TestPlace {
    runner: Runner,
    mounts: Vec<Mount>,
    /// Unsandboxed: the working directory.
    cwd: Option<PathBuf>,
    /// The nested build a models test starts from, and the scratch folder
    /// it is copied to (both as the test sees them).
    warm: Option<(PathBuf, PathBuf)>,
}

impl TestPlace {
    fn for_template(runner: &Runner, tree: &Tree) -> Self {
        let (kit, target) = runner.seen(tree);
        TestPlace {
            runner: runner.clone(),
            mounts: vec![
                Mount::ReadOnly {
                    outside: tree.kit.clone(),
                    inside: kit,
                },
                Mount::ReadOnly {
                    outside: tree.target.clone(),
                    inside: target.clone(),
                },
                // The kit's own solutions warm the nested builds here.
                Mount::Writable {
                    outside: tree.target.join("tmp"),
                    inside: target.join("tmp"),
                },
            ],
            cwd: Some(tree.kit.clone()),
            warm: None,
        }
    }

    /// The runner this place's commands go through.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// A command running `program` here; a models test (`models`) first gets a
    /// copy of the warm nested build in its scratch folder.
    pub fn command(&self, program: &Path, env: &[(String, String)], models: bool) -> Command {
        // Nested builds (the loom models) build as the template's did, so
        // that its warm build is fresh for them.
        let mut env = env.to_vec();
        env.extend(
            BUILD_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let sandbox = &self.runner.sandbox;
        let mut command = match (&self.warm, models) {
            (Some((warm, scratch)), true) => {
                let mut command = sandbox.command(Path::new("/bin/sh"), &self.mounts, &env);
                command.args([
                    "-c",
                    "cp -a \"$1/.\" \"$2/\" && shift 2 && exec \"$@\"",
                    "sh",
                ]);
                command.arg(warm).arg(scratch).arg(program);
                command
            }
            _ => sandbox.command(program, &self.mounts, &env),
        };
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
    }

    /// Each binary's tests, and (when `ignored`) its `#[ignore]`d ones, as
    /// libtest lists them (no test runs; only a load-time constructor of the
    /// learner's could, and that is flagged for review). One process for all.
    pub fn list(
        &self,
        binaries: &[TestBinary],
        ignored: bool,
    ) -> Result<BTreeMap<String, (Vec<String>, BTreeSet<String>)>> {
        let mut script = String::new();
        for i in 0..binaries.len() {
            let n = i + 1;
            script.push_str(&format!(
                "echo '#all {i}'; \"${{{n}}}\" --list --format terse || exit 1; "
            ));
            if ignored {
                script.push_str(&format!(
                    "echo '#ignored {i}'; \"${{{n}}}\" --list --ignored --format terse || exit 1; "
                ));
            }
        }
        let mut command = self.command(Path::new("/bin/sh"), &[], false);
        command.args(["-c", &script, "sh"]);
        command.args(binaries.iter().map(|b| &b.path));
        let ended = self.runner.run(
            command,
            Duration::from_secs(120),
            Duration::from_secs(120),
            true,
            "list",
        )?;
        let finished = ended.finished;
        if !finished.status.is_some_and(|s| s.success()) {
            bail!(
                "could not list the tests: {}",
                finished.stderr.text().trim()
            );
        }
        let mut listed: BTreeMap<String, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
        let mut current: Option<(usize, bool)> = None;
        for line in finished.stdout.text().lines() {
            if let Some(rest) = line.strip_prefix("#all ") {
                current = rest.parse().ok().map(|i| (i, false));
            } else if let Some(rest) = line.strip_prefix("#ignored ") {
                current = rest.parse().ok().map(|i| (i, true));
            } else if let (Some((i, ignored)), Some(name)) = (current, line.strip_suffix(": test"))
            {
                let Some(binary) = binaries.get(i) else {
                    continue;
                };
                let entry = listed.entry(binary.target.clone()).or_default();
                if ignored {
                    entry.1.insert(name.to_string());
                } else {
                    entry.0.push(name.to_string());
                }
            }
        }
        Ok(listed)
    }
}

/// Where one learner's copy is built and tested, laid out anew for each copy.
pub struct Slot {
    dir: PathBuf,
    tree: Tree,
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

        let (binaries, failures) = self.build(runner, graded, deadline)?;
        let places = self.places(template, runner, graded)?;
        Ok(Prepared {
            binaries,
            failures,
            places,
        })
    }

    /// Builds `graded`, attributing each lesson's failure; see [`Slot::prepare`].
    #[allow(clippy::type_complexity)]
    fn build(
        &self,
        runner: &Runner,
        graded: &[&Lesson],
        deadline: Option<Instant>,
    ) -> Result<(BTreeMap<String, Vec<TestBinary>>, BTreeMap<String, String>)> {
        let limit = || {
            let wall = runner.limits.build_wall();
            deadline.map_or(wall, |d| {
                wall.min(d.saturating_duration_since(Instant::now()))
            })
        };
        let mut failures = BTreeMap::new();
        let mut left: Vec<&Lesson> = graded.to_vec();
        let mut binaries = BTreeMap::new();
        // One build for the copy; a lesson cargo cannot load costs one more.
        for _ in 0..=graded.len() {
            if left.is_empty() {
                break;
            }
            let build = runner.build(&self.tree, &left, limit(), true)?;
            if build.stopped {
                // One lesson's compiler that does not end: build them one by
                // one, so that it costs only its own lesson.
                return self.build_each(runner, &left, failures, limit);
            }
            let unloadable: Vec<&Lesson> = left
                .iter()
                .copied()
                .filter(|l| cannot_load(&build.built.cargo_said, l))
                .collect();
            if !unloadable.is_empty() && build.built.binaries.is_empty() {
                for lesson in unloadable {
                    failures.insert(
                        lesson.slug.clone(),
                        cargo_error(&build.built.cargo_said, lesson),
                    );
                    let src = self.tree.kit.join("lessons").join(&lesson.slug).join("src");
                    starter_over(&src, lesson)?;
                    left.retain(|l| l.slug != lesson.slug);
                }
                continue;
            }
            attribute(&build, &left, runner, &mut binaries, &mut failures);
            return Ok((binaries, failures));
        }
        Ok((binaries, failures))
    }

    #[allow(clippy::type_complexity)]
    fn build_each(
        &self,
        runner: &Runner,
        lessons: &[&Lesson],
        mut failures: BTreeMap<String, String>,
        limit: impl Fn() -> Duration,
    ) -> Result<(BTreeMap<String, Vec<TestBinary>>, BTreeMap<String, String>)> {
        let mut binaries = BTreeMap::new();
        for lesson in lessons {
            let wall = limit();
            if wall.is_zero() {
                failures.insert(
                    lesson.slug.clone(),
                    "not built: the whole grading's time limit was reached".into(),
                );
                continue;
            }
            let build = runner.build(&self.tree, &[lesson], wall, true)?;
            if build.stopped {
                failures.insert(
                    lesson.slug.clone(),
                    format!(
                        "the build was stopped at its time limit ({} s): something in it does not finish compiling (a `const` evaluated for ever?)",
                        wall.as_secs()
                    ),
                );
                continue;
            }
            attribute(&build, &[lesson], runner, &mut binaries, &mut failures);
        }
        Ok((binaries, failures))
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
                TestPlace {
                    runner: runner.clone(),
                    mounts,
                    cwd: None,
                    warm: warm_place,
                }
            } else {
                let work = self.dir.join("work").join(&lesson.slug);
                tree::empty_dir(&work)?;
                TestPlace {
                    runner: runner.clone(),
                    mounts: Vec::new(),
                    cwd: Some(work),
                    warm: None,
                }
            };
            places.insert(lesson.slug.clone(), place);
        }
        Ok(places)
    }
}

/// Files each built lesson's binaries, and each lesson with none under the
/// reason: the compiler's first error, else cargo's own, with what the
/// limits say about it.
fn attribute(
    build: &Build,
    lessons: &[&Lesson],
    runner: &Runner,
    binaries: &mut BTreeMap<String, Vec<TestBinary>>,
    failures: &mut BTreeMap<String, String>,
) {
    for lesson in lessons {
        if let Some(errors) = build.built.errors.get(&lesson.slug) {
            failures.insert(lesson.slug.clone(), compile::first_error(errors));
            continue;
        }
        match build.built.binaries.get(&lesson.slug) {
            Some(found) if !cargo_failed(&build.built.cargo_said, lesson) => {
                binaries.insert(lesson.slug.clone(), found.clone());
            }
            _ => {
                let mut why = cargo_error(&build.built.cargo_said, lesson);
                if build.usage.out_of_memory {
                    why = format!(
                        "the build ran out of memory (the limit is {} MiB) and the compiler was killed — {why}",
                        runner.limits.memory >> 20
                    );
                } else if why.contains("SIGXCPU") || why.contains(&cpu_signal()) {
                    why = format!(
                        "the compiler reached its limit of {} s of CPU time and was stopped (a `const` evaluated for ever?) — {why}",
                        runner.limits.build_cpu.as_secs()
                    );
                } else if build.usage.out_of_processes {
                    why = format!(
                        "the build could not start more processes (the limit is {}) — {why}",
                        runner.limits.processes
                    );
                }
                failures.insert(lesson.slug.clone(), why);
            }
        }
    }
}

/// Whether cargo says the workspace cannot be loaded because of `lesson`'s manifest.
fn cannot_load(cargo_said: &str, lesson: &Lesson) -> bool {
    let at = format!("lessons/{}", lesson.slug);
    cargo_said.lines().any(|line| {
        (line.contains("failed to load manifest") || line.contains("failed to parse manifest"))
            && line.contains(&at)
    })
}

/// Whether cargo says compiling `lesson`'s package failed.
fn cargo_failed(cargo_said: &str, lesson: &Lesson) -> bool {
    let named = format!("`{}`", lesson.package);
    cargo_said
        .lines()
        .any(|line| line.starts_with("error") && line.contains(&named))
}

/// cargo's own error about `lesson` (its package or its folder), bounded,
/// with the compiler's command line left out; else cargo's first error.
fn cargo_error(cargo_said: &str, lesson: &Lesson) -> String {
    let named = format!("`{}`", lesson.package);
    let at = format!("lessons/{}", lesson.slug);
    let lines: Vec<&str> = cargo_said.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("error") && (line.contains(&named) || line.contains(&at)))
        .or_else(|| lines.iter().position(|line| line.starts_with("error")));
    let Some(start) = start else {
        return format!(
            "cargo built no test binaries for it and said: {}",
            shorten_command(
                lines
                    .iter()
                    .rev()
                    .take(5)
                    .rev()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        );
    };
    let mut kept = vec![lines[start].to_string()];
    for line in &lines[start + 1..] {
        if line.starts_with("error") || line.starts_with("warning") {
            break;
        }
        if !line.trim().is_empty() {
            kept.push(shorten_command(line.trim().to_string()));
        }
    }
    kept.truncate(12);
    kept.join(" ")
}

/// `process didn't exit successfully: `rustc …` (signal: 9…)` without the
/// command line, which is long and says nothing to an instructor.
fn shorten_command(line: String) -> String {
    let Some(open) = line.find(": `") else {
        return line;
    };
    let Some(close) = line[open + 3..].find("` (") else {
        return line;
    };
    format!(
        "{}: the compiler{}",
        &line[..open],
        &line[open + 3 + close + 1..]
    )
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
    fn a_compiler_command_line_is_left_out() {
        let line = "process didn't exit successfully: `/x/rustc --crate-name lesson_01 --edition=2024 …` (signal: 24, SIGXCPU: CPU time limit exceeded)".to_string();
        assert_eq!(
            shorten_command(line),
            "process didn't exit successfully: the compiler (signal: 24, SIGXCPU: CPU time limit exceeded)"
        );
    }
}
