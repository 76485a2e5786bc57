//! `--broker` and `queue-sim worker`: a run whose queue is a Redis stream (the
//! library's [`queue_sim::broker`]), with this program's flags, output and exit
//! statuses.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use queue_sim::broker::{self, BrokerError, BrokerReport, BrokerRun, BrokerSettings, Keys};
use queue_sim::{SimConfig, StopSignal};

use crate::cli::Cli;
use crate::exit::{Exit, Failure};

/// Runs `config` on the broker `url` named by the flags.
pub fn run(
    cli: &Cli,
    url: &str,
    config: &SimConfig,
    stop: &StopSignal,
) -> Result<BrokerReport, Failure> {
    if cli.trace.is_some() {
        return Err((
            "error: --trace is not supported with --broker (the broker run reports its own counts)"
                .into(),
            Exit::BadInput,
        ));
    }
    if !(cli.claim_idle.is_finite() && cli.claim_idle > 0.0 && cli.claim_idle <= 86_400.0) {
        return Err((
            format!(
                "error: --claim-idle must be a number of seconds above 0, at most a day (got {})",
                cli.claim_idle
            ),
            Exit::BadInput,
        ));
    }
    let settings = BrokerSettings {
        url: url.to_string(),
        run_id: cli.run_id.clone(),
        claim_idle: Duration::from_secs_f64(cli.claim_idle),
        consumer_processes: cli.consumer_processes,
    };
    let run = BrokerRun::open(config, &settings).map_err(failure)?;
    let threads = config.consumers;
    run.drive(stop, |keys| start_worker(url, keys, threads))
        .map_err(failure)
}

/// `queue-sim worker`: joins run `run_id` and prints what this process did.
pub fn work(
    url: &str,
    run_id: &str,
    consumers: usize,
    stop: &StopSignal,
) -> Result<String, Failure> {
    if consumers == 0 {
        return Err((
            "error: --consumers must be at least 1 (got 0)".into(),
            Exit::BadInput,
        ));
    }
    let joined = broker::join_run(url, run_id, consumers, stop).map_err(failure)?;
    Ok(serde_json::to_string_pretty(&joined).expect("a worker's report always serializes"))
}

/// The report as a short summary for people.
pub fn to_text(report: &BrokerReport) -> String {
    let (stats, info) = (&report.stats, &report.broker);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} items through {} (stream {}, group {})",
        report.config.items, info.url, info.streams.items, info.streams.group
    );
    let _ = writeln!(
        out,
        "consumed {}, failed {}, dead-lettered {}, unprocessed {} (retried {})",
        stats.consumed, stats.failed, stats.dead_lettered, stats.unprocessed, stats.retried
    );
    let _ = writeln!(
        out,
        "attempts {}, redelivered {}, reclaimed {}, processed twice {}",
        info.attempts, info.redelivered, info.reclaimed, info.processed_twice
    );
    let _ = writeln!(
        out,
        "{:.0} items/s over {:.0} ms{}",
        stats.throughput_per_s,
        stats.elapsed_ms,
        if report.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    );
    out
}

/// Starts one worker process of this program on run `keys`, tied to this
/// process so that it cannot outlive it.
fn start_worker(url: &str, keys: &Keys, threads: usize) -> std::io::Result<Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["worker", "--broker", url, "--run", &keys.run_id])
        .args(["--consumers", &threads.to_string()])
        .stdin(Stdio::null())
        // Its own report is the broker's counts already; its errors show.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    host::process::spawn_tied(command)
}

fn failure(error: BrokerError) -> Failure {
    let exit = match error {
        BrokerError::Url(_) | BrokerError::Refused(_) => Exit::BadInput,
        BrokerError::Redis { .. } | BrokerError::Spawn(_) => Exit::Failed,
    };
    (format!("error: {error}"), exit)
}
