//! The kit's tooling for maintainers and instructors, run as `cargo xtask
//! <command>`: the learner's `cargo xtask watch | hint | progress` are the
//! small `lab` crate, which hands every other command to this one (so this is
//! built only when one of these is first used):
//!
//! - `verify [NN …]` — prove the lesson contract (maintainers, CI);
//! - `mutants [NN …]` — mutation testing of the lesson tests (cargo-mutants);
//! - `grade DIR… [--json | --csv]` — an instructor's view of learners' copies;
//! - `signatures [NN …]` — how often a known mistake is named right from its failures;
//! - `bench` — the queues and the simulator against their speed targets;
//! - `figures` — the book's pictures, drawn from traced simulator runs;
//! - `book` — the book agrees with the code, builds, and its links resolve;
//! - `browser` — the built book tried in headless Chromium, with screenshots.

mod bench;
mod bench_broker;
mod book;
mod break_it;
mod broker_figure;
mod browser;
mod chart;
mod figures;
mod grade;
mod measure;
mod mutants;
mod naming;
mod sandbox;
mod scratch;
mod skeleton;
mod submission;
mod tree;
mod verify;

// What the learner's tools share with these, written once in `lab`.
use lab::{chapter, compile, kit, libtest, models, place, runner};

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

/// The longest `--limit` (one test) and `--total-limit` (a whole grading) accepted.
const MAX_LIMIT_SECS: u64 = lab::cli::MAX_LIMIT_SECS;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "The Concurrency Queue Lab's tools for maintainers and instructors \
             (the learner's watch, hint and progress: `cargo xtask --help`)"
)]
struct Cli {
    /// The kit to work on [default: this workspace]
    #[arg(long, global = true, value_name = "PATH")]
    root: Option<PathBuf>,
    /// Hard limit for one test, in seconds: a test still running then is killed
    #[arg(long, global = true, value_name = "SECS", default_value_t = lab::cli::DEFAULT_LIMIT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=MAX_LIMIT_SECS))]
    limit: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prove the lesson contract: starters fail every test, solutions pass them
    /// all, nothing hangs, every known mistake is caught
    Verify {
        /// Lesson numbers (e.g. 02 03); all when none given
        lessons: Vec<String>,
        /// Run every test against each mistake and list all that catch it
        #[arg(long)]
        catches: bool,
        /// Run the solution's tests and each mistake's this many times: every
        /// test must pass and every mistake be caught on every run
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        repeat: u32,
        /// Lessons verified at once, each in a scratch copy with its own build
        #[arg(long, value_name = "N", default_value_t = 2)]
        jobs: usize,
        /// Leave the known mistakes out (most of verify's time): the starter
        /// and the solution only, e.g. to look for flaky tests with --repeat
        #[arg(long, conflicts_with_all = ["catches", "record_new"])]
        no_mistakes: bool,
        /// Record the signatures of the mistakes that have none yet (just
        /// added), keeping the others' as they are: --catches for new ones only
        #[arg(long, conflicts_with = "catches")]
        record_new: bool,
    },
    /// Mutation testing: cargo-mutants over each solution; every missed mutant
    /// must be listed, with its reason, in solutions/NN-slug/mutants-allowed.txt
    Mutants {
        /// Lesson numbers (e.g. 02 03); all when none given
        lessons: Vec<String>,
        /// Only check that the allow-lists name real mutants (no tests run; seconds)
        #[arg(long)]
        check_allowed: bool,
    },
    /// How often the learner's tools name a known mistake right, say nothing,
    /// or name a wrong one: each mistake's recorded signature matched with and
    /// without it in the catalogue (leave-one-out); nothing is run
    Signatures {
        /// Lesson numbers (e.g. 02 03); all when none given
        lessons: Vec<String>,
        /// A folder of NN-slug/*.patch: its patches that are in the catalogue
        /// are also counted apart, left out (a hidden set's figure)
        #[arg(long, value_name = "DIR")]
        hidden: Option<PathBuf>,
    },
    /// Measure the queues and the simulator against their targets (about a minute)
    Bench,
    /// Draw the book's figures from traced simulator runs into book/src/figures
    Figures {
        /// Only these figures (file names, e.g. broker-reclaim.svg); all when none given
        only: Vec<String>,
    },
    /// Check the book against the code, build it with mdBook, check its links
    Book,
    /// Build the book, then read it in headless Chromium at 390 px and 1280 px:
    /// no sideways scrolling, readable figures, search; screenshots in
    /// target/xtask/browser (skipped, saying so, without Chromium)
    Browser,
    /// Grade learners' copies of the kit: one row per learner and lesson, each
    /// kit test run alone in a sandbox (bubblewrap) under hard limits, its
    /// verdict from the kit's own channel
    Grade {
        /// The learners' copies of the kit (one folder each)
        #[arg(required = true, value_name = "DIR")]
        copies: Vec<PathBuf>,
        /// Grade only these lessons (e.g. --lesson 03 --lesson 09)
        #[arg(long = "lesson", value_name = "NN")]
        lessons: Vec<String>,
        /// Print JSON for scripts
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV for a spreadsheet: one row per learner and lesson
        #[arg(long)]
        csv: bool,
        /// Test processes run at once [default: twice the cores, at most 8]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
        jobs: Option<u64>,
        /// Hard limit for the whole grading, in seconds: what is not graded by
        /// then is reported as not_graded, and the reports are still written
        #[arg(long, value_name = "SECS",
              value_parser = clap::value_parser!(u64).range(1..=MAX_LIMIT_SECS))]
        total_limit: Option<u64>,
        /// Runs of each test of a lesson whose files differ from the
        /// solution; a test passes only if every run passes
        #[arg(long, value_name = "N", default_value_t = 3,
              value_parser = clap::value_parser!(u32).range(1..=100))]
        runs: u32,
        /// CPU seconds each compiler process may use; a copy's whole build is
        /// stopped at twice this plus 30 s
        #[arg(long, value_name = "SECS", default_value_t = 300,
              value_parser = clap::value_parser!(u64).range(1..=MAX_LIMIT_SECS))]
        build_limit: u64,
        /// Memory, in MiB, of one build or one test with everything it starts
        /// (what it writes to its tmpfs included)
        #[arg(long, value_name = "MIB", default_value_t = 2048,
              value_parser = clap::value_parser!(u64).range(64..=1 << 20))]
        memory: u64,
        /// Processes and threads of one build or one test at once
        #[arg(long, value_name = "N", default_value_t = 512,
              value_parser = clap::value_parser!(u64).range(16..=1 << 20))]
        processes: u64,
        /// Size, in MiB, of each writable area of a test (its /tmp, its
        /// target dir's scratch folder)
        #[arg(long, value_name = "MIB", default_value_t = 512,
              value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
        disk: u64,
        /// Where the table, CSVs, JSON and HTML page are written after each copy
        /// [default: target/xtask/grade/report]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Also write the HTML page (it is always in the report folder, as
        /// grades.html) to this file
        #[arg(long, value_name = "PATH")]
        html: Option<PathBuf>,
        /// Keep the grades of copies finished by an earlier grading into the
        /// same --out (same files, same kit, same options) instead of grading
        /// them again
        #[arg(long)]
        resume: bool,
        /// Run the learners' code without bubblewrap even where it is
        /// available: the code then runs with your permissions
        #[arg(long)]
        no_sandbox: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The tests and builds run in process groups of their own, which Ctrl-C
    // does not reach: end them with us.
    host::process::end_children_on_interrupt();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = cli.root.clone().unwrap_or_else(workspace_root);
    // The kit's tooling keeps its scratch work in the target dir of the
    // workspace it belongs to, one folder per command.
    let xtask_dir = kit::target_dir(&workspace_root())?.join("xtask");
    let work_dir = |command: &str| xtask_dir.join(command);
    let limit = Duration::from_secs(cli.limit);
    let printed = |text: String| {
        print!("{text}");
        ExitCode::SUCCESS
    };
    Ok(match cli.command {
        Command::Verify {
            lessons,
            catches,
            repeat,
            jobs,
            no_mistakes,
            record_new,
        } => run_verify(&verify::Options {
            root: &root,
            only: &lessons,
            work_dir: &work_dir("verify"),
            limit,
            record: if catches {
                verify::Record::Everything
            } else if record_new {
                verify::Record::New
            } else {
                verify::Record::Nothing
            },
            repeat,
            jobs,
            mistakes: !no_mistakes,
        })?,
        Command::Mutants {
            lessons,
            check_allowed,
        } => run_mutants(&mutants::Options {
            root: &root,
            only: &lessons,
            work_dir: &work_dir("mutants"),
            limit,
            check_allowed,
        })?,
        Command::Signatures { lessons, hidden } => {
            let (report, sound) = naming::measure(&root, &lessons, hidden.as_deref())?;
            print!("{report}");
            if sound {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Bench => printed(bench::bench(&root)?),
        Command::Figures { only } => printed(figures::figures(&root, &only)?),
        Command::Book => printed(book::check(&root, &work_dir("book"))?),
        Command::Browser => run_browser(&root, &work_dir("book"), &work_dir("browser"))?,
        Command::Grade {
            copies,
            lessons,
            json,
            csv,
            jobs,
            total_limit,
            runs,
            build_limit,
            memory,
            processes,
            disk,
            out,
            html,
            resume,
            no_sandbox,
        } => {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            let out = out.unwrap_or_else(|| work_dir("grade").join("report"));
            let options = grade::Options {
                kit_root: &root,
                copies: &copies,
                only: &lessons,
                work_dir: &work_dir("grade"),
                out: &out,
                html: html.as_deref(),
                limit,
                total_limit: total_limit.map(Duration::from_secs),
                // Twice the cores: most of a test's time is spent waiting (the
                // stall tests sleep), and the kit's tests hold at 4 on 2 cores
                // (verify --repeat 20 beside a grading at --jobs 4 and two CPU
                // hogs: no flaky test once lesson 11's margins were widened).
                jobs: jobs.map_or((2 * cores).min(8), |j| j as usize),
                sandbox: !no_sandbox,
                limits: grade::limits::Limits {
                    memory: memory << 20,
                    processes,
                    disk: disk << 20,
                    build_cpu: Duration::from_secs(build_limit),
                },
                runs,
                resume,
            };
            let class = grade::grade(&options)?;
            if json {
                printed(serde_json::to_string_pretty(&class).context("grades serialize")? + "\n")
            } else if csv {
                printed(grade::render_csv(&class)?)
            } else {
                printed(grade::render(&class))
            }
        }
    })
}

fn run_verify(options: &verify::Options<'_>) -> Result<ExitCode> {
    let reports = verify::verify(options)?;
    print!("{}", verify::render(&reports));
    if options.record != verify::Record::Nothing {
        print!(
            "\nwhich test caught each mistake:\n{}",
            verify::render_catches(&reports)
        );
    }
    let clean = reports.iter().all(|r| r.breaches.is_empty());
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_mutants(options: &mutants::Options<'_>) -> Result<ExitCode> {
    let reports = mutants::mutants(options)?;
    print!("{}", mutants::render(&reports, options.check_allowed));
    let clean = reports.iter().all(|r| r.problems.is_empty());
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_browser(root: &Path, book_dir: &Path, shots: &Path) -> Result<ExitCode> {
    if !browser::available() {
        println!(
            "browser test skipped: {} or {} is missing (Debian packages chromium and chromium-driver)",
            browser::CHROMIUM,
            browser::CHROMEDRIVER
        );
        return Ok(ExitCode::SUCCESS);
    }
    book::check(root, book_dir)?;
    print!("{}", browser::browse(&root.join("book"), shots)?);
    Ok(ExitCode::SUCCESS)
}

/// The workspace this xtask belongs to (the one lab belongs to).
fn workspace_root() -> PathBuf {
    lab::handoff::workspace_root()
}
