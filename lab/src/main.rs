//! `cargo xtask COMMAND` (or `cargo lab COMMAND`): the learner's commands —
//! watch, hint, progress — run here; every other command is handed, as typed,
//! to the maintainer's and instructor's tools in the xtask crate.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use host::process;
use lab::cli::{self, Invocation, Learner, Options};
use lab::{handoff, hint, progress, watch};

fn main() -> ExitCode {
    // The builds and tests run in process groups of their own, which Ctrl-C
    // does not reach: end them with us.
    process::end_children_on_interrupt();
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = match cli::parse(&args) {
        Ok(Invocation::Maintainer) => handoff::to_xtask(&args),
        Ok(Invocation::Help) => {
            print!("{}", cli::help());
            ExitCode::SUCCESS
        }
        Ok(Invocation::Learner(options, command)) => match run(&options, command) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        },
        Err(why) => {
            eprintln!("error: {why}");
            ExitCode::from(2)
        }
    };
    // Background builds (the loom models ahead) end with the command; cargo
    // keeps what they had finished.
    process::kill_all();
    code
}

fn run(options: &Options, command: Learner) -> Result<ExitCode> {
    let root = options.root.clone().unwrap_or_else(handoff::workspace_root);
    let root = Path::new(&root);
    let printed = |text: String| {
        print!("{text}");
        ExitCode::SUCCESS
    };
    Ok(match command {
        Learner::Watch(lesson) => watch::watch(root, lesson.as_deref(), options.limit)?,
        Learner::Hint(lesson, k) => printed(hint::hint(root, &lesson, k, options.limit)?),
        Learner::Progress(lesson) => {
            printed(progress::progress(root, lesson.as_deref(), options.limit)?)
        }
    })
}
