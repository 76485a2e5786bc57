//! The `queue-sim` command line, run as a user runs it.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;
use queue_sim::trace::Trace;
use queue_sim::{QueueKind, Report, SimConfig, TaskId, TaskStatus, WorkKind, WorkerExit};
use serde_json::Value;

fn queue_sim() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(cargo_bin("queue-sim"));
    cmd.timeout(support::WATCHDOG);
    cmd
}

/// Runs with `args`, expects success, and returns what it printed.
fn stdout(args: &[&str]) -> Vec<u8> {
    queue_sim()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// Runs with `args`, expects success, and reads the JSON report.
fn report(args: &[&str]) -> Report {
    parse(&stdout(args), &format!("{args:?}"))
}

/// `json` read as a [`Report`]; a failure names `what` and shows the output.
fn parse(json: &[u8], what: &str) -> Report {
    serde_json::from_slice(json).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not a report ({e}):\n{}",
            String::from_utf8_lossy(json)
        )
    })
}

/// Fails naming the first of `keys` that `value` lacks (`where_` says which object).
fn assert_keys(value: &Value, where_: &str, keys: &[&str]) {
    for key in keys {
        assert!(value.get(key).is_some(), "{where_}{key} missing");
    }
}

fn assert_accounting(report: &Report) {
    let stats = &report.stats;
    assert_eq!(
        stats.produced,
        stats.consumed + stats.failed + stats.dead_lettered + stats.unprocessed,
        "produced = consumed + failed + dead_lettered + unprocessed broke:\n{stats:#?}"
    );
}

#[test]
fn the_readme_command_prints_the_documented_json() {
    let args = [
        "--items",
        "20",
        "--consumers",
        "3",
        "--capacity",
        "10",
        "--failure-rate",
        "0.1",
    ];
    let printed = stdout(&args);
    // The key names are this test's point, so they are read from the raw JSON.
    let json: Value = serde_json::from_slice(&printed).expect("stdout is JSON");
    for key in [
        "config",
        "interrupted",
        "stats",
        "workers",
        "results_sample",
    ] {
        assert!(json.get(key).is_some(), "top-level `{key}` missing");
    }
    assert_keys(
        &json["config"],
        "config.",
        &[
            "num_items",
            "num_producers",
            "num_consumers",
            "queue_capacity",
            "processing_time_s",
            "failure_rate",
            "rate_per_s",
            "priorities",
            "timeout_s",
            "retries",
            "queue",
            "work",
            "seed",
            "sample_size",
        ],
    );
    assert_keys(
        &json["stats"],
        "stats.",
        &[
            "produced",
            "consumed",
            "failed",
            "retried",
            "dead_lettered",
            "unprocessed",
            "avg_processing_ms",
            "oversleep_ms",
            "max_queue_depth",
            "elapsed_ms",
            "throughput_per_s",
            "ideal_throughput_per_s",
            "efficiency",
            "available_cores",
            "consumers_timed_out",
        ],
    );
    assert_keys(
        &json["workers"][0],
        "workers[].",
        &[
            "id",
            "processed",
            "failed",
            "avg_processing_ms",
            "busy_ms",
            "exit",
        ],
    );
    assert_keys(
        &json["results_sample"][0],
        "results_sample[].",
        &[
            "task_id",
            "priority",
            "status",
            "worker",
            "attempts",
            "started_ms",
            "duration_ms",
        ],
    );
    assert_eq!(json["results_sample"][0]["task_id"], "task-0000");

    let report = parse(&printed, &format!("{args:?}"));
    assert_eq!(report.workers.len(), 3, "one entry per consumer");
    assert_eq!(report.results_sample.len(), 10, "the default sample");
    assert_eq!(report.stats.produced, 20);
    assert_accounting(&report);
}

#[test]
fn every_flag_shows_up_in_the_config() {
    let report = report(&[
        "--items",
        "30",
        "--producers",
        "2",
        "--consumers",
        "4",
        "--capacity",
        "7",
        "--processing-time",
        "0.001",
        "--failure-rate",
        "0.2",
        "--rate",
        "5000",
        "--priorities",
        "3",
        "--timeout",
        "5",
        "--retries",
        "1",
        "--work",
        "spin",
        "--seed",
        "99",
        "--sample",
        "4",
    ]);
    // Every field written out: a flag that stops reaching the config fails here.
    let expected = SimConfig {
        items: 30,
        producers: 2,
        consumers: 4,
        capacity: 7,
        processing_time_s: 0.001,
        failure_rate: 0.2,
        rate_per_s: Some(5000.0),
        priorities: 3,
        timeout_s: Some(5.0),
        retries: 1,
        queue: QueueKind::Priority,
        work: WorkKind::Spin,
        seed: 99,
        sample: 4,
    };
    assert_eq!(report.config, expected);
    assert_eq!(report.results_sample.len(), 4);
    assert_accounting(&report);
}

#[test]
fn the_same_seed_gives_the_same_outcomes() {
    let args = [
        "--items",
        "200",
        "--processing-time",
        "0",
        "--failure-rate",
        "0.3",
        "--priorities",
        "4",
        "--seed",
        "5",
        "--sample",
        "200",
    ];
    let outcomes = |report: &Report| -> Vec<(TaskId, u32, TaskStatus)> {
        let mut v: Vec<_> = report
            .results_sample
            .iter()
            .map(|r| (r.task_id, r.priority, r.status))
            .collect();
        v.sort_by_key(|&(id, ..)| id);
        v
    };
    let first = report(&args);
    let second = report(&args);
    assert_eq!(outcomes(&first), outcomes(&second));
    assert_eq!(first.stats.failed, second.stats.failed);
    let mut other_seed = args;
    other_seed[9] = "6";
    assert_ne!(outcomes(&first), outcomes(&report(&other_seed)));
}

#[test]
fn without_a_seed_the_random_one_is_reported_and_replays_the_run() {
    let first = report(&[
        "--items",
        "100",
        "--processing-time",
        "0",
        "--failure-rate",
        "0.5",
    ]);
    let seed = first.config.seed.to_string();
    let replay = report(&[
        "--items",
        "100",
        "--processing-time",
        "0",
        "--failure-rate",
        "0.5",
        "--seed",
        &seed,
    ]);
    assert_eq!(
        first.stats.failed, replay.stats.failed,
        "--seed {seed} replays the run"
    );
}

#[test]
fn accounting_holds_and_depth_stays_within_capacity_on_a_grid() {
    for queue in ["channel", "condvar"] {
        for capacity in ["0", "1", "10"] {
            for (producers, consumers) in [("1", "1"), ("2", "5")] {
                for retries in ["0", "2"] {
                    let report = report(&[
                        "--items",
                        "150",
                        "--processing-time",
                        "0",
                        "--failure-rate",
                        "0.3",
                        "--queue",
                        queue,
                        "--capacity",
                        capacity,
                        "--producers",
                        producers,
                        "--consumers",
                        consumers,
                        "--retries",
                        retries,
                        "--seed",
                        "3",
                    ]);
                    assert_accounting(&report);
                    assert_eq!(report.stats.produced, 150);
                    let depth = report.stats.max_queue_depth;
                    assert!(
                        depth <= capacity.parse().unwrap(),
                        "{queue} capacity {capacity}: max_queue_depth {depth}"
                    );
                }
            }
        }
    }
}

#[test]
fn both_fifo_backends_give_the_same_outcomes() {
    let run = |queue| {
        report(&[
            "--items",
            "300",
            "--processing-time",
            "0",
            "--failure-rate",
            "0.2",
            "--queue",
            queue,
            "--seed",
            "11",
        ])
    };
    let (channel, condvar) = (run("channel"), run("condvar"));
    assert_eq!(channel.config.queue, QueueKind::Channel);
    assert_eq!(condvar.config.queue, QueueKind::Condvar);
    let (a, b) = (&channel.stats, &condvar.stats);
    assert_eq!(a.produced, b.produced, "produced");
    assert_eq!(a.consumed, b.consumed, "consumed");
    assert_eq!(a.failed, b.failed, "failed");
}

#[test]
fn one_consumer_serves_items_in_priority_order() {
    // The queue holds every item; the producer fills it (in microseconds) while
    // the one consumer works on its first item (20 ms), so every later item
    // comes out strictly by priority. The first two are left out of the check.
    let report = report(&[
        "--items",
        "30",
        "--consumers",
        "1",
        "--capacity",
        "100",
        "--priorities",
        "4",
        "--processing-time",
        "0.02",
        "--failure-rate",
        "0",
        "--sample",
        "30",
        "--seed",
        "2",
    ]);
    let mut served: Vec<(f64, u32, u64)> = report
        .results_sample
        .iter()
        .map(|r| (r.started_ms, r.priority, r.task_id.0))
        .collect();
    served.sort_by(|a, b| a.0.total_cmp(&b.0));
    for pair in served[2..].windows(2) {
        let ((_, p1, id1), (_, p2, id2)) = (pair[0], pair[1]);
        assert!(
            p1 > p2 || (p1 == p2 && id1 < id2),
            "task-{id1:04} (priority {p1}) was served before task-{id2:04} (priority {p2})"
        );
    }
}

#[test]
fn consumers_that_idle_past_the_timeout_end_the_run() {
    let started = Instant::now();
    let report = report(&[
        "--items",
        "500",
        "--rate",
        "4",
        "--timeout",
        "0.05",
        "--processing-time",
        "0",
        "--consumers",
        "2",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.stats.consumers_timed_out, 2);
    assert!(
        report.stats.unprocessed >= 490,
        "at most a few items were due before the timeout: {:#?}",
        report.stats
    );
    assert_eq!(report.workers[0].exit, WorkerExit::IdleTimeout);
    assert_accounting(&report);
}

#[test]
fn retries_then_dead_letters() {
    let report = report(&[
        "--items",
        "40",
        "--failure-rate",
        "1",
        "--retries",
        "2",
        "--processing-time",
        "0",
    ]);
    assert_eq!(report.stats.dead_lettered, 40);
    assert_eq!(report.stats.retried, 80);
    let first = &report.results_sample[0];
    assert_eq!(first.status, TaskStatus::DeadLettered);
    assert_eq!(first.attempts, 3);
    assert!(
        first
            .error
            .as_deref()
            .is_some_and(|e| e.contains("simulated failure")),
        "{first:?}"
    );
}

#[test]
fn a_rate_paces_the_producers() {
    // 20 items at 200/s: the last is due 95 ms after the start.
    let report = report(&[
        "--items",
        "20",
        "--rate",
        "200",
        "--processing-time",
        "0",
        "--producers",
        "2",
    ]);
    assert!(report.stats.elapsed_ms >= 90.0, "{:#?}", report.stats);
    assert_eq!(report.stats.ideal_throughput_per_s, Some(200.0));
}

#[test]
fn spinning_work_cannot_beat_the_cores() {
    let report = report(&[
        "--items",
        "60",
        "--work",
        "spin",
        "--processing-time",
        "0.002",
        "--consumers",
        "4",
        "--failure-rate",
        "0",
    ]);
    let cores = report.stats.available_cores.min(4) as f64;
    assert_eq!(report.stats.ideal_throughput_per_s, Some(cores / 0.002));
    let efficiency = report
        .stats
        .efficiency
        .expect("spinning work has an efficiency");
    assert!(
        efficiency <= 1.1,
        "spinning consumers beat their cores: efficiency {efficiency}"
    );
}

#[test]
fn zero_time_work_has_no_ideal_throughput() {
    let report = report(&["--items", "10", "--processing-time", "0"]);
    assert_eq!(report.stats.ideal_throughput_per_s, None);
    assert_eq!(report.stats.efficiency, None);
}

#[test]
fn the_text_format_is_a_summary_for_people() {
    queue_sim()
        .args([
            "--items",
            "30",
            "--format",
            "text",
            "--seed",
            "1",
            "--processing-time",
            "0",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("produced"))
        .stdout(predicate::str::contains("accounting"))
        .stdout(predicate::str::contains("holds"))
        .stdout(predicate::str::contains("worker-0"))
        .stdout(predicate::str::starts_with("{").not());
}

#[test]
fn help_explains_capacity_zero_unlike_python() {
    queue_sim()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("rendezvous"))
        .stdout(predicate::str::contains("maxsize=0"));
}

/// Runs with `args` and checks the refusal every kind of bad input gets: exit
/// code 2, nothing on stdout, one line on stderr naming `flag`, no panic, and
/// all of it well under a second.
fn assert_refused(args: &[&str], flag: &str) {
    let started = Instant::now();
    let output = queue_sim().args(args).output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: exit code; stderr: {stderr}"
    );
    assert!(output.stdout.is_empty(), "{args:?}: stdout must be empty");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: one line on stderr, got:\n{stderr}"
    );
    assert!(
        stderr.contains(flag),
        "{args:?}: the message must name {flag}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(
        took < Duration::from_secs(1),
        "{args:?}: refused only after {took:?}"
    );
}

/// Every way to get the input wrong: exit code 2, one line naming the flag, empty stdout.
#[test]
fn bad_input_is_refused_with_one_clear_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["--consumers", "0"], "--consumers"),
        (&["--producers", "0"], "--producers"),
        (&["--consumers", "-1"], "--consumers"),
        (&["--consumers", "100000"], "--consumers"),
        (&["--items", "lots"], "--items"),
        (&["--items", "-5"], "--items"),
        (&["--items", "99999999999999999999999"], "--items"),
        (&["--capacity", "1e3"], "--capacity"),
        (&["--capacity", "99999999"], "--capacity"),
        (&["--failure-rate", "1.5"], "--failure-rate"),
        (&["--failure-rate", "-0.1"], "--failure-rate"),
        (&["--failure-rate", "nan"], "--failure-rate"),
        (&["--processing-time", "-1"], "--processing-time"),
        (&["--processing-time", "inf"], "--processing-time"),
        (&["--processing-time", "1e400"], "--processing-time"),
        (&["--rate", "0"], "--rate"),
        (&["--rate", "NaN"], "--rate"),
        (&["--timeout", "0"], "--timeout"),
        (&["--timeout", "-3"], "--timeout"),
        // Shorter than the clock's nanosecond: no wait at all, so refused.
        (&["--timeout", "5e-324"], "--timeout"),
        (&["--timeout", "1e-10"], "--timeout"),
        // A trace keeps every item, so it has a limit; and its file is opened first.
        (
            &[
                "--items",
                "1000001",
                "--trace",
                "queue-sim-never-written.json",
            ],
            "--trace",
        ),
        (&["--trace", "/nonexistent-dir/trace.json"], "--trace"),
        (&["--priorities", "0"], "--priorities"),
        (&["--priorities", "3", "--queue", "channel"], "--priorities"),
        (&["--retries", "1000"], "--retries"),
        (&["--sample", "-1"], "--sample"),
        (&["--queue", "stack"], "--queue"),
        (&["--work", "nap"], "--work"),
        (&["--format", "xml"], "--format"),
        (&["--seed", "x"], "--seed"),
        (&["--items", "1", "--items", "2"], "--items"),
        (&["--frobnicate"], "--frobnicate"),
        (&["--items"], "--items"),
    ];
    for (args, flag) in cases {
        assert_refused(args, flag);
    }
}

/// Starts `queue-sim` with `args`, sends it `signals` (as `kill` names them)
/// `gap` apart after the first `gap`, and waits for it (10 s at most).
#[cfg(unix)]
fn signalled(args: &[&str], signals: &[&str], gap: Duration) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(cargo_bin("queue-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for signal in signals {
        std::thread::sleep(gap);
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("queue-sim {args:?} still running 10 s after {signals:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    (child.wait_with_output().unwrap(), took)
}

/// A run that would take hours.
const ENDLESS: [&str; 8] = [
    "--items",
    "1000000",
    "--processing-time",
    "0.01",
    "--consumers",
    "2",
    "--failure-rate",
    "0",
];

#[cfg(unix)]
fn assert_interrupted_with_partial_statistics(output: &std::process::Output) {
    assert_eq!(
        output.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = parse(&output.stdout, "partial statistics");
    assert!(report.interrupted, "the report says it was interrupted");
    assert!(report.stats.produced < 1_000_000);
    assert_accounting(&report);
}

#[cfg(unix)]
#[test]
fn ctrl_c_prints_partial_statistics_and_exits_130() {
    let (output, _) = signalled(&ENDLESS, &["INT"], Duration::from_millis(300));
    assert_interrupted_with_partial_statistics(&output);
}

#[cfg(unix)]
#[test]
fn sigterm_is_handled_like_ctrl_c() {
    let (output, _) = signalled(&ENDLESS, &["TERM"], Duration::from_millis(300));
    assert_interrupted_with_partial_statistics(&output);
}

#[cfg(unix)]
#[test]
fn a_second_ctrl_c_ends_the_run_at_once() {
    // The one consumer holds a 5 s item: the first Ctrl-C waits for it, the second does not.
    let args = ["--items", "3", "--processing-time", "5", "--consumers", "1"];
    let (output, took) = signalled(&args, &["INT", "INT"], Duration::from_millis(300));
    assert_eq!(output.status.code(), Some(130));
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[cfg(unix)]
#[test]
fn a_producer_waiting_for_an_item_never_due_stops_on_ctrl_c() {
    let args = ["--items", "5", "--rate", "1e-20", "--processing-time", "0"];
    let (output, _) = signalled(&args, &["INT"], Duration::from_millis(300));
    assert_eq!(output.status.code(), Some(130));
    let report = parse(&output.stdout, "partial statistics");
    assert!(report.interrupted, "the report says it was interrupted");
    assert_eq!(
        report.stats.produced, 1,
        "item 0 was due at once, item 1 never"
    );
    assert_accounting(&report);
}

#[test]
fn rates_too_slow_for_the_clock_end_by_the_timeout_without_a_panic() {
    // Item 1 would be due in 10^19 s or more: later than a Duration can hold.
    for rate in ["1e-19", "1e-20", "5e-324"] {
        let report = report(&[
            "--items",
            "3",
            "--rate",
            rate,
            "--timeout",
            "0.2",
            "--processing-time",
            "0",
            "--failure-rate",
            "0",
        ]);
        assert_eq!(report.stats.produced, 3, "--rate {rate}");
        assert_eq!(
            report.stats.consumed, 1,
            "--rate {rate}: item 0 is due at once"
        );
        assert_eq!(report.stats.unprocessed, 2, "--rate {rate}");
        assert_accounting(&report);
        let ideal = report.stats.ideal_throughput_per_s;
        assert!(
            ideal.is_some_and(|ideal| ideal > 0.0),
            "--rate {rate}: {ideal:?}"
        );
    }
}

#[test]
fn the_rest_of_a_huge_run_is_accounted_for_at_once() {
    let started = Instant::now();
    let report = report(&[
        "--items",
        "18446744073709551615",
        "--rate",
        "1",
        "--timeout",
        "0.1",
        "--processing-time",
        "0",
        "--producers",
        "3",
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.stats.produced, u64::MAX);
    assert_eq!(report.stats.consumers_timed_out, 3);
    assert_accounting(&report);
}

#[test]
fn the_report_to_a_full_disk_fails_with_one_line() {
    let full = std::fs::File::create("/dev/full");
    let Ok(full) = full else {
        return; // no /dev/full on this system
    };
    let output = Command::new(cargo_bin("queue-sim"))
        .args(["--items", "5", "--processing-time", "0"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("could not write the report"), "{stderr}");
}

#[test]
fn a_stderr_that_cannot_be_written_never_turns_bad_input_into_a_panic() {
    let Ok(full) = std::fs::File::create("/dev/full") else {
        return;
    };
    let status = Command::new(cargo_bin("queue-sim"))
        .args(["--consumers", "0"])
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    // A pipe nobody reads from any more.
    let mut child = Command::new(cargo_bin("queue-sim"))
        .args(["--consumers", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

#[test]
fn a_closed_stdout_pipe_stays_quiet() {
    let mut child = Command::new(cargo_bin("queue-sim"))
        .args([
            "--items",
            "2000",
            "--processing-time",
            "0",
            "--sample",
            "2000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn help_lists_every_exit_status() {
    let help = queue_sim()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(help).unwrap();
    for status in ["0 ", "1 ", "2 ", "130 "] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(status)),
            "exit status {status}missing from --help:\n{help}"
        );
    }
    assert!(help.contains("SIGTERM"), "{help}");
}

#[test]
fn a_processing_time_below_a_nanosecond_is_zero_with_no_ideal() {
    let report = report(&["--items", "10", "--processing-time", "5e-324"]);
    assert_eq!(report.config.processing_time_s, 0.0);
    assert_eq!(report.stats.ideal_throughput_per_s, None);
    assert_eq!(report.stats.efficiency, None);
}

#[test]
fn negative_zero_is_echoed_as_zero() {
    let output = queue_sim()
        .args([
            "--items",
            "5",
            "--processing-time",
            "-0",
            "--failure-rate",
            "-0",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(!text.contains("-0.0"), "{text}");
    let report = parse(text.as_bytes(), "--processing-time -0");
    assert_eq!(report.stats.ideal_throughput_per_s, None);
}

#[test]
fn zero_items_have_an_ideal_but_no_efficiency() {
    let report = report(&["--items", "0"]);
    assert_eq!(report.stats.produced, 0);
    assert_eq!(report.stats.throughput_per_s, 0.0);
    assert_eq!(report.stats.ideal_throughput_per_s, Some(300.0));
    assert_eq!(report.stats.efficiency, None);
}

/// A run long enough for the progress bar (over half a second).
const LONG_RUN: [&str; 10] = [
    "--items",
    "120",
    "--processing-time",
    "0.01",
    "--consumers",
    "2",
    "--failure-rate",
    "0",
    "--seed",
    "1",
];

#[test]
fn no_progress_bar_when_stderr_is_piped() {
    queue_sim()
        .args(LONG_RUN)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[cfg(target_os = "linux")]
#[test]
fn a_progress_bar_on_a_terminal_and_never_in_the_json() {
    // util-linux's `script` runs the command on a pseudo-terminal; stdout goes to a file.
    let json = std::env::temp_dir().join(format!("queue-sim-progress-{}.json", std::process::id()));
    let command = format!(
        "{} {} > {}",
        cargo_bin("queue-sim").display(),
        LONG_RUN.join(" "),
        json.display()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(
        terminal.contains("/120 items"),
        "no progress bar on the terminal: {terminal:?}"
    );
    let report = parse(&std::fs::read(&json).unwrap(), "stdout holds only the JSON");
    std::fs::remove_file(&json).ok();
    assert_eq!(report.stats.consumed, 120);

    let quiet = format!(
        "{} {} --no-progress > /dev/null",
        cargo_bin("queue-sim").display(),
        LONG_RUN.join(" ")
    );
    let output = Command::new("script")
        .args(["-qec", &quiet, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("items"),
        "--no-progress still drew a bar"
    );
}

/// A small, quick run, leaving out `flag` (a flag may be given only once).
fn base_args(flag: &str) -> Vec<&'static str> {
    [("--items", "5"), ("--processing-time", "0")]
        .into_iter()
        .filter(|(name, _)| *name != flag)
        .flat_map(|(name, value)| [name, value])
        .collect()
}

/// Every numeric flag given zero, a negative, NaN, infinity, an overflowing value
/// and a non-number. Each is refused — exit 2, one line naming the flag, empty
/// stdout, in well under a second — except the zeros that mean something.
#[test]
fn every_numeric_flag_refuses_every_kind_of_nonsense() {
    // (flag, zero is valid)
    let flags = [
        ("--items", true),
        ("--producers", false),
        ("--consumers", false),
        ("--capacity", true),
        ("--processing-time", true),
        ("--failure-rate", true),
        ("--rate", false),
        ("--priorities", false),
        ("--timeout", false),
        ("--retries", true),
        ("--seed", true),
        ("--sample", true),
    ];
    let nonsense = [
        "-1",
        "NaN",
        "inf",
        "-inf",
        "1e400",
        "99999999999999999999999",
        "ten",
        "",
        "0x10",
    ];
    for (flag, zero_is_valid) in flags {
        let mut values: Vec<&str> = nonsense.to_vec();
        if !zero_is_valid {
            values.push("0");
        }
        for value in values {
            let args: Vec<&str> = base_args(flag).into_iter().chain([flag, value]).collect();
            assert_refused(&args, flag);
        }
        if zero_is_valid {
            queue_sim()
                .args(base_args(flag))
                .args([flag, "0"])
                .assert()
                .success();
        }
    }
}

#[test]
fn a_trace_records_every_put_and_every_item() {
    let dir = std::env::temp_dir().join(format!("queue-sim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("trace.json");
    let path_arg = path.to_str().expect("utf-8 temp path");
    let printed = report(&[
        "--items",
        "60",
        "--producers",
        "2",
        "--consumers",
        "3",
        "--capacity",
        "4",
        "--processing-time",
        "0.001",
        "--failure-rate",
        "0.2",
        "--seed",
        "5",
        "--trace",
        path_arg,
    ]);
    // Reading it as a `Trace` checks its sections and every result's fields.
    let trace: Trace<'static> =
        serde_json::from_slice(&std::fs::read(&path).expect("the trace file"))
            .unwrap_or_else(|e| panic!("the trace is not a Trace: {e}"));
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        trace.stats.produced, printed.stats.produced,
        "one run, one set of totals"
    );

    assert_eq!(trace.depth.len(), 60, "one depth sample per put");
    assert!(
        trace.depth.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "samples are in time order"
    );
    assert!(
        trace.depth.iter().all(|s| s.depth <= 4),
        // Not 1..=4: a consumer may take the item between the put and the
        // reading of the depth, so 0 is a fair sample on a busy machine.
        "a put never leaves more than the capacity waiting"
    );

    assert_eq!(trace.results.len(), 60, "one result per item, none lost");
    assert!(
        trace.results.iter().all(|r| r.worker.is_some()),
        "no timeout, no interrupt: every item ran, and its result names its worker"
    );
    let failed = trace
        .results
        .iter()
        .filter(|r| r.status == TaskStatus::Failed)
        .count() as u64;
    assert_eq!(
        failed, printed.stats.failed,
        "the trace agrees with the statistics"
    );
}

#[test]
fn an_unwritable_trace_is_refused_before_the_run_starts() {
    queue_sim()
        .args([
            "--items",
            "5",
            "--processing-time",
            "0",
            "--trace",
            "/nonexistent-dir/trace.json",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "--trace /nonexistent-dir/trace.json",
        ));
}
