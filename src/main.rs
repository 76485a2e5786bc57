//! `queue-sim`: run a producer-consumer simulation and print its statistics.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use queue_sim::cli::{self, Cli, Format};
use queue_sim::trace::Trace;
use queue_sim::{
    RunError, RunOptions, SimulatedJob, StopReason, StopSignal, output, progress, run_with,
};

/// Bad input: the flags could not be parsed or the configuration was refused.
const EXIT_USAGE: u8 = 2;
/// Interrupted by SIGINT, as shells expect (128 + 2).
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&cli::one_line(&e), EXIT_USAGE),
    };
    let config = cli.to_config();
    if let Err(e) = config.validate() {
        return fail(&format!("error: {e}"), EXIT_USAGE);
    }

    let stop = StopSignal::new();
    let handler_stop = stop.clone();
    // First Ctrl-C: stop producing, finish the items in hand, print what happened.
    // A second one means "now": exit at once.
    let installed = ctrlc::set_handler(move || {
        if handler_stop.reason() == Some(StopReason::Interrupted) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        handler_stop.raise(StopReason::Interrupted);
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will end the run without statistics ({e})");
    }

    let options = RunOptions {
        stop,
        // A trace needs every result and every depth sample.
        keep_all_results: cli.trace.is_some(),
        progress: !cli.no_progress && progress::stderr_is_terminal(),
        trace: cli.trace.is_some(),
    };
    let report = match run_with(&config, &SimulatedJob::new(&config), options) {
        Ok(report) => report,
        Err(e @ RunError::Config(_)) => return fail(&format!("error: {e}"), EXIT_USAGE),
        Err(e) => return fail(&format!("error: {e}"), 1),
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
                1,
            );
        }
    }
    if report.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(code)
}
