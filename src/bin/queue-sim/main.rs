//! `queue-sim`: run a producer-consumer simulation and print its statistics.
//!
//! The binary is the simulator's user interface: the flags ([`cli`]), the
//! progress bar ([`progress`]), Ctrl-C, and the exit statuses ([`exit`]). The
//! simulation itself is the `queue_sim` library.

mod cli;
mod exit;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use queue_sim::trace::Trace;
use queue_sim::{
    Record, RunError, RunOptions, SimulatedJob, StopReason, StopSignal, output, run_with,
};

use crate::cli::{Cli, Format};
use crate::exit::Exit;
use crate::progress::ProgressBar;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Exit::Done.into();
        }
        Err(e) => return fail(&cli::one_line(&e), Exit::BadInput),
    };
    let config = cli.to_config();
    if let Err(e) = config.validate() {
        return fail(&format!("error: {e}"), Exit::BadInput);
    }

    let stop = StopSignal::new();
    let handler_stop = stop.clone();
    // First Ctrl-C: stop producing, finish the items in hand, print what happened.
    // A second one means "now": exit at once.
    let installed = ctrlc::set_handler(move || {
        if handler_stop.reason() == Some(StopReason::Interrupted) {
            std::process::exit(i32::from(Exit::Interrupted.code()));
        }
        handler_stop.raise(StopReason::Interrupted);
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will end the run without statistics ({e})");
    }

    let bar = ProgressBar;
    let options = RunOptions {
        stop,
        record: if cli.trace.is_some() {
            Record::Trace
        } else {
            Record::Sample
        },
        observer: (!cli.no_progress && progress::stderr_is_terminal())
            .then_some(&bar as &dyn queue_sim::observe::Observer),
    };
    let report = match run_with(&config, &SimulatedJob::new(&config), options) {
        Ok(report) => report,
        Err(e @ RunError::Config(_)) => return fail(&format!("error: {e}"), Exit::BadInput),
        Err(e) => return fail(&format!("error: {e}"), Exit::Failed),
    };
    let text = match cli.format {
        Format::Json => output::to_json(&report),
        Format::Text => output::to_text(&report),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`queue-sim | head -1`) is not worth a panic.
    let _ = writeln!(stdout, "{}", text.trim_end()).and_then(|()| stdout.flush());
    // Written after the statistics, so a bad path costs the trace, not the run's report.
    if let Some(path) = &cli.trace {
        let written = Trace::of(&report).map(|trace| trace.write(path));
        if let Some(Err(e)) = written {
            return fail(
                &format!(
                    "error: could not write the trace to {}: {e}",
                    path.display()
                ),
                Exit::Failed,
            );
        }
    }
    if report.interrupted {
        Exit::Interrupted.into()
    } else {
        Exit::Done.into()
    }
}

fn fail(message: &str, exit: Exit) -> ExitCode {
    eprintln!("{message}");
    exit.into()
}
