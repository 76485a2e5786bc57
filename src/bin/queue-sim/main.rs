//! `queue-sim`: run a producer-consumer simulation and print its statistics.
//!
//! The binary is the simulator's user interface: the flags ([`cli`]), the
//! progress bar ([`progress`]), signals, output errors and the exit statuses
//! ([`exit`]). The simulation itself is the `queue_sim` library.

mod broker;
mod cli;
mod exit;
mod output;
mod progress;

use std::fmt::Display;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use clap::error::ErrorKind;

use queue_sim::trace::{self, Trace};
use queue_sim::{
    Observer, Record, Report, RunError, RunOptions, SimConfig, SimulatedJob, StopReason,
    StopSignal, run_with,
};

use crate::cli::{Cli, Command, Format};
use crate::exit::{Exit, Failure};
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
    let stop = StopSignal::new();
    stop_on_signals(&stop);
    let outcome = match (&cli.command, &cli.broker) {
        (
            Some(Command::Worker {
                broker: url,
                run_id,
                consumers,
            }),
            _,
        ) => work(url, run_id, *consumers, &stop),
        (None, Some(url)) => {
            config(&cli).and_then(|config| run_on_broker(&cli, url, &config, &stop))
        }
        (None, None) => config(&cli).and_then(|config| run_here(&cli, &config, stop)),
    };
    match outcome {
        Ok(exit) => exit.into(),
        Err((message, exit)) => fail(message, exit),
    }
}

/// What a command ends with: its exit status once its output is written, or
/// one line for stderr and the status it means.
type Outcome = Result<Exit, Failure>;

/// The run's settings from the flags, validated before anything runs.
fn config(cli: &Cli) -> Result<SimConfig, Failure> {
    let config = cli.to_config();
    match config.validate() {
        Ok(()) => Ok(config),
        Err(e) => Err((format!("error: {e}"), Exit::BadInput)),
    }
}

/// `queue-sim worker`: joins a broker run and prints what this process did.
fn work(url: &str, run_id: &str, consumers: usize, stop: &StopSignal) -> Outcome {
    let json = broker::work(url, run_id, consumers, stop)?;
    finish(&json, stop.reason() == Some(StopReason::Interrupted))
}

/// `--broker`: the run with its queue in a Redis stream.
fn run_on_broker(cli: &Cli, url: &str, config: &SimConfig, stop: &StopSignal) -> Outcome {
    let report = broker::run(cli, url, config, stop)?;
    if report.stats.unprocessed > 0 && !report.interrupted {
        say(format_args!(
            "warning: every worker left before the run ended; {} item(s) were never settled and are reported unprocessed",
            report.stats.unprocessed
        ));
    }
    let text = match cli.format {
        Format::Json => {
            serde_json::to_string_pretty(&report).expect("a broker report always serializes")
        }
        Format::Text => broker::to_text(&report),
    };
    finish(&text, report.interrupted)
}

/// The run in this process, with its progress bar and, with `--trace`, its trace.
fn run_here(cli: &Cli, config: &SimConfig, stop: StopSignal) -> Outcome {
    let trace_file = open_trace(cli, config)?;
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
    let report = match run_with(config, &SimulatedJob::new(config), options) {
        Ok(report) => report,
        Err(e @ RunError::Config(_)) => return Err((format!("error: {e}"), Exit::BadInput)),
        Err(e) => return Err((format!("error: {e}"), Exit::Failed)),
    };
    let text = match cli.format {
        Format::Json => output::to_json(&report),
        Format::Text => output::to_text(&report),
    };
    let exit = finish(&text, report.interrupted)?;
    if let (Some(file), Some(path)) = (trace_file, &cli.trace) {
        write_trace(&report, file).map_err(|e| {
            let message = format!(
                "error: could not write the trace to {}: {e}",
                path.display()
            );
            (message, Exit::Failed)
        })?;
    }
    Ok(exit)
}

/// The `--trace` file, opened before the run, so a path that cannot be
/// written is bad input refused at once, not a failure found after a long run.
fn open_trace(cli: &Cli, config: &SimConfig) -> Result<Option<File>, Failure> {
    let Some(path) = cli.trace.as_deref() else {
        return Ok(None);
    };
    if config.items > trace::MAX_ITEMS {
        return Err((
            format!(
                "error: --trace keeps every item's result: --items must be at most {} with it (got {})",
                trace::MAX_ITEMS,
                config.items
            ),
            Exit::BadInput,
        ));
    }
    create_trace(path)
        .map(Some)
        .map_err(|message| (message, Exit::BadInput))
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

/// Prints a report: [`Exit::Interrupted`] for an interrupted run,
/// [`Exit::Done`] otherwise.
fn finish(text: &str, interrupted: bool) -> Outcome {
    match print(text) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err((
            format!("error: could not write the report to stdout: {e}"),
            Exit::Failed,
        )),
        // A reader that stopped reading (`queue-sim | head -1`) is not an error.
        _ if interrupted => Ok(Exit::Interrupted),
        _ => Ok(Exit::Done),
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
