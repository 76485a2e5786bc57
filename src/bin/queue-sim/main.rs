//! `queue-sim`: run a producer-consumer simulation and print its statistics.
//!
//! The binary is the simulator's user interface: the flags ([`cli`]), the
//! progress bar ([`progress`]), signals, output errors and the exit statuses
//! ([`exit`]). The simulation itself is the `queue_sim` library.

mod broker;
mod cli;
mod exit;
mod progress;

use std::fmt::Display;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use clap::error::ErrorKind;

use queue_sim::observe::Observer;
use queue_sim::trace::{self, Trace};
use queue_sim::{
    Record, Report, RunError, RunOptions, SimulatedJob, StopReason, StopSignal, output, run_with,
};

use crate::cli::{Cli, Command, Format};
use crate::exit::Exit;
use crate::progress::ProgressBar;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Exit::Done.into();
        }
        Err(e) => return fail(cli::one_line(&e), Exit::BadInput),
    };
    if let Some(Command::Worker {
        broker: url,
        run_id,
        consumers,
    }) = &cli.command
    {
        let stop = StopSignal::new();
        stop_on_signals(&stop);
        return match broker::work(url, run_id, *consumers, &stop) {
            Ok(json) => finish(&json, stop.reason() == Some(StopReason::Interrupted)),
            Err((message, exit)) => fail(message, exit),
        };
    }
    let config = cli.to_config();
    if let Err(e) = config.validate() {
        return fail(format_args!("error: {e}"), Exit::BadInput);
    }
    if let Some(url) = &cli.broker {
        let stop = StopSignal::new();
        stop_on_signals(&stop);
        return match broker::run(&cli, url, &config, &stop) {
            Ok(report) => {
                if report.stats.unprocessed > 0 && !report.interrupted {
                    say(format_args!(
                        "warning: every worker left before the run ended; {} item(s) were never settled and are reported unprocessed",
                        report.stats.unprocessed
                    ));
                }
                let text = match cli.format {
                    Format::Json => serde_json::to_string_pretty(&report)
                        .expect("a broker report always serializes"),
                    Format::Text => broker::to_text(&report),
                };
                finish(&text, report.interrupted)
            }
            Err((message, exit)) => fail(message, exit),
        };
    }
    if cli.trace.is_some() && config.items > trace::MAX_ITEMS {
        return fail(
            format_args!(
                "error: --trace keeps every item's result: --items must be at most {} with it (got {})",
                trace::MAX_ITEMS,
                config.items
            ),
            Exit::BadInput,
        );
    }
    // Opened before the run, so a path that cannot be written is bad input
    // refused at once, not a failure found after a long run.
    let trace_file = match cli.trace.as_deref().map(create_trace).transpose() {
        Ok(file) => file,
        Err(message) => return fail(message, Exit::BadInput),
    };

    let stop = StopSignal::new();
    stop_on_signals(&stop);
    let bar = ProgressBar;
    let options = RunOptions {
        stop,
        record: if trace_file.is_some() {
            Record::Trace
        } else {
            Record::Sample
        },
        observer: (!cli.no_progress && progress::stderr_is_terminal())
            .then_some(&bar as &dyn Observer),
    };
    let report = match run_with(&config, &SimulatedJob::new(&config), options) {
        Ok(report) => report,
        Err(e @ RunError::Config(_)) => return fail(format_args!("error: {e}"), Exit::BadInput),
        Err(e) => return fail(format_args!("error: {e}"), Exit::Failed),
    };

    let text = match cli.format {
        Format::Json => output::to_json(&report),
        Format::Text => output::to_text(&report),
    };
    match print(&text) {
        // A reader that stopped reading (`queue-sim | head -1`) is not an error.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            return fail(
                format_args!("error: could not write the report to stdout: {e}"),
                Exit::Failed,
            );
        }
        _ => {}
    }
    if let (Some(file), Some(path)) = (trace_file, &cli.trace)
        && let Err(e) = write_trace(&report, file)
    {
        return fail(
            format_args!(
                "error: could not write the trace to {}: {e}",
                path.display()
            ),
            Exit::Failed,
        );
    }
    if report.interrupted {
        Exit::Interrupted.into()
    } else {
        Exit::Done.into()
    }
}

/// First SIGINT, SIGTERM or SIGHUP: stop producing, finish the items in hand,
/// print what happened. A second one means "now": exit at once.
fn stop_on_signals(stop: &StopSignal) {
    static SIGNALLED: AtomicBool = AtomicBool::new(false);
    let stop = stop.clone();
    let installed = ctrlc::set_handler(move || {
        if second_signal(&SIGNALLED, &stop) {
            std::process::exit(i32::from(Exit::Interrupted.code()));
        }
    });
    if let Err(e) = installed {
        say(format_args!(
            "warning: Ctrl-C will end the run without statistics ({e})"
        ));
    }
}

/// Handles one signal: the first raises an interrupt; `true` for any later one.
/// Signals are counted here, not read back from `stop`, so a second one ends
/// the process whatever else (idle consumers, say) had stopped the run first.
fn second_signal(signalled: &AtomicBool, stop: &StopSignal) -> bool {
    stop.raise(StopReason::Interrupted);
    signalled.swap(true, Ordering::SeqCst)
}

fn create_trace(path: &Path) -> Result<File, String> {
    File::create(path).map_err(|e| {
        format!(
            "error: --trace {}: the file cannot be written: {e}",
            path.display()
        )
    })
}

fn write_trace(report: &Report, file: File) -> io::Result<()> {
    let trace = Trace::of(report).expect("a run with Record::Trace keeps its trace");
    let mut out = BufWriter::new(file);
    trace.write_to(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Prints a report and ends: 130 for an interrupted run, 0 otherwise.
fn finish(text: &str, interrupted: bool) -> ExitCode {
    match print(text) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => fail(
            format_args!("error: could not write the report to stdout: {e}"),
            Exit::Failed,
        ),
        _ if interrupted => Exit::Interrupted.into(),
        _ => Exit::Done.into(),
    }
}

fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", text.trim_end())?;
    stdout.flush()
}

/// One line on stderr. A stderr that cannot be written (full, or a closed
/// pipe) loses the line but never turns an exit status into a panic.
fn say(message: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{message}");
}

fn fail(message: impl Display, exit: Exit) -> ExitCode {
    say(message);
    exit.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_signal_ends_the_run_whatever_stopped_it_first() {
        let (signalled, stop) = (AtomicBool::new(false), StopSignal::new());
        stop.raise(StopReason::ConsumersGone);
        assert!(
            !second_signal(&signalled, &stop),
            "the first one only stops"
        );
        assert_eq!(stop.reason(), Some(StopReason::Interrupted));
        assert!(second_signal(&signalled, &stop), "the second one exits");
    }
}
