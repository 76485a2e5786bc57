//! The kit's own tooling, run as `cargo xtask <command>`.
//!
//! - `verify [NN …]` — prove the lesson contract (maintainers, CI);
//! - `mutants [NN …]` — mutation testing of the lesson tests (cargo-mutants);
//! - `progress` — a learner's progress through the lessons;
//! - `grade PATH [--json]` — an instructor's view of a learner's copy of the kit;
//! - `bench` — the queues and the simulator against their speed targets;
//! - `figures` — the book's pictures, drawn from traced simulator runs;
//! - `book` — the book agrees with the code, builds, and its links resolve;
//! - `browser` — the built book tried in headless Chromium, with screenshots.

mod bench;
mod book;
mod break_it;
mod browser;
mod figures;
mod grade;
mod kit;
mod models;
mod mutants;
mod progress;
mod runner;
mod skeleton;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "The Concurrency Queue Lab's own tooling"
)]
struct Cli {
    /// The kit to work on [default: this workspace]
    #[arg(long, global = true, value_name = "PATH")]
    root: Option<PathBuf>,
    /// Hard limit for one test, in seconds: a test still running then is killed
    #[arg(long, global = true, value_name = "SECS", default_value_t = 20)]
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
    /// Show how far you are: each lesson's tests passed, and what to do next
    Progress,
    /// Measure the queues and the simulator against their targets (about a minute)
    Bench,
    /// Draw the book's figures from traced simulator runs into book/src/figures (about 15 s)
    Figures,
    /// Check the book against the code, build it with mdBook, check its links
    Book,
    /// Build the book, then read it in headless Chromium at 390 px and 1280 px:
    /// no sideways scrolling, readable figures, search; screenshots in
    /// target/xtask/browser (skipped, saying so, without Chromium)
    Browser,
    /// Grade a learner's copy of the kit: tests per lesson, distance from the solution
    Grade {
        /// The learner's copy of the kit
        path: PathBuf,
        /// Print JSON for scripts
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.clone().unwrap_or_else(workspace_root);
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    // Each scratch copy of the kit builds in a folder of its own (see
    // `runner::Scratch::create`); kept between runs, so dependencies build once.
    let work_dir = |command: &str| target_dir.join("xtask").join(command);
    let limit = Duration::from_secs(cli.limit.max(1));
    let result = match cli.command {
        Command::Verify {
            lessons,
            catches,
            repeat,
            jobs,
        } => run_verify(&verify::Options {
            root: &root,
            only: &lessons,
            work_dir: &work_dir("verify"),
            limit,
            all_catches: catches,
            repeat,
            jobs,
        }),
        Command::Mutants {
            lessons,
            check_allowed,
        } => run_mutants(&mutants::Options {
            root: &root,
            only: &lessons,
            work_dir: &work_dir("mutants"),
            limit,
            check_allowed,
        }),
        Command::Bench => bench::bench(&root)
            .map_err(|e| format!("{e:#}"))
            .map(|text| {
                print!("{text}");
                ExitCode::SUCCESS
            }),
        Command::Figures => figures::figures(&root)
            .map_err(|e| format!("{e:#}"))
            .map(|text| {
                print!("{text}");
                ExitCode::SUCCESS
            }),
        Command::Book => book::check(&root, &work_dir("book"))
            .map_err(|e| format!("{e:#}"))
            .map(|text| {
                print!("{text}");
                ExitCode::SUCCESS
            }),
        Command::Browser => run_browser(&root, &work_dir("book"), &work_dir("browser")),
        Command::Progress => progress::progress(&root, &target_dir, limit).map(|text| {
            print!("{text}");
            ExitCode::SUCCESS
        }),
        Command::Grade { path, json } => {
            grade::grade(&root, &path, &work_dir("grade"), limit).map(|grades| {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&grades).expect("grades serialize")
                    );
                } else {
                    print!("{}", grade::render(&grades));
                }
                ExitCode::SUCCESS
            })
        }
    };
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

fn run_verify(options: &verify::Options<'_>) -> Result<ExitCode, String> {
    let reports = verify::verify(options).map_err(|e| format!("{e:#}"))?;
    print!("{}", verify::render(&reports));
    if options.all_catches {
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

fn run_browser(root: &Path, book_dir: &Path, shots: &Path) -> Result<ExitCode, String> {
    if !browser::available() {
        println!(
            "browser test skipped: {} or {} is missing (Debian packages chromium and chromium-driver)",
            browser::CHROMIUM,
            browser::CHROMEDRIVER
        );
        return Ok(ExitCode::SUCCESS);
    }
    let checked = book::check(root, book_dir)
        .and_then(|_| browser::browse(&root.join("book"), &book_dir.join("html"), shots));
    let text = checked.map_err(|e| format!("{e:#}"))?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn run_mutants(options: &mutants::Options<'_>) -> Result<ExitCode, String> {
    let reports = mutants::mutants(options).map_err(|e| format!("{e:#}"))?;
    print!("{}", mutants::render(&reports, options.check_allowed));
    let clean = reports.iter().all(|r| r.problems.is_empty());
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The workspace this xtask belongs to: the parent of its own manifest's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}
