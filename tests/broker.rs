//! `queue-sim --broker`: the queue in a Redis stream, with workers in other
//! processes that crash, pause and fail — and every item still ends exactly once.
//!
//! Each test starts a redis-server of its own (lesson-support's
//! `BrokerProcess`). Without redis-server installed the tests say they skipped
//! and pass — except under `CI=true`, where a missing broker fails them.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use lesson_support::broker::{BrokerError, BrokerProcess};
use queue_sim::broker::{BrokerReport, Keys};
use queue_sim::{Report, SimConfig, SimulationStats};
use redis::Commands;
use serde::de::DeserializeOwned;

/// A broker of the test's own, or `None` (said on stderr) when redis-server
/// is not installed and this is not CI.
fn broker() -> Option<BrokerProcess> {
    match BrokerProcess::start() {
        Ok(broker) => Some(broker),
        Err(BrokerError::NotInstalled) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: redis-server not installed (apt-get install redis-server)");
            None
        }
        Err(e) => panic!("could not start a broker for the test: {e}"),
    }
}

/// `"--items 5 --consumers 2"` as the words a command line takes.
fn flags(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// `--broker URL` and then `line`'s flags.
fn with_broker<'a>(broker: &'a BrokerProcess, line: &'a str) -> Vec<&'a str> {
    [vec!["--broker", broker.url()], flags(line)].concat()
}

fn queue_sim() -> Command {
    Command::new(cargo_bin("queue-sim"))
}

/// Waits for `child` within the watchdog's time, killing it if it overruns.
fn finish(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + support::WATCHDOG;
    while child
        .try_wait()
        .expect("the child can be waited on")
        .is_none()
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "{what} still running after {:?}: a worker that never sees the run end?",
                support::WATCHDOG
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("its output can be read")
}

/// Runs `queue-sim --broker` with `args` to its end; reads its report.
fn run(args: &[&str]) -> BrokerReport {
    run_as(args)
}

/// Runs `queue-sim` with `args` to its end; reads its report as an `R`: a
/// [`BrokerReport`] with `--broker`, a [`Report`] without.
fn run_as<R: DeserializeOwned>(args: &[&str]) -> R {
    let child = queue_sim()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("queue-sim starts");
    report_of(finish(child, "queue-sim"))
}

/// The report of a run that succeeded.
fn report_of<R: DeserializeOwned>(output: Output) -> R {
    assert!(
        output.status.success(),
        "queue-sim failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    parse(&output.stdout)
}

/// `stdout` read as a report; a failure says why and shows what was printed.
fn parse<R: DeserializeOwned>(stdout: &[u8]) -> R {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a {} ({e}): {}",
            std::any::type_name::<R>(),
            String::from_utf8_lossy(stdout)
        )
    })
}

/// Every produced item ended exactly once.
fn assert_accounted(report: &BrokerReport) {
    let stats = &report.stats;
    assert_eq!(
        stats.produced,
        stats.consumed + stats.failed + stats.dead_lettered + stats.unprocessed,
        "produced = consumed + failed + dead_lettered + unprocessed broke in {stats:#?}"
    );
}

fn connection(broker: &BrokerProcess) -> redis::Connection {
    redis::Client::open(broker.url())
        .and_then(|client| client.get_connection())
        .expect("the test connects to its broker")
}

/// Waits until run `run`'s consumer `prefix…` holds at least one
/// unacknowledged entry; returns how many it holds.
fn wait_until_holding(con: &mut redis::Connection, run: &str, prefix: &str) -> u64 {
    let Keys { items, group, .. } = Keys::for_run(run);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pending: redis::RedisResult<redis::streams::StreamPendingReply> =
            con.xpending(&items, &group);
        if let Ok(redis::streams::StreamPendingReply::Data(data)) = pending {
            let held: u64 = data
                .consumers
                .iter()
                .filter(|c| c.name.starts_with(prefix))
                .map(|c| c.pending as u64)
                .sum();
            if held > 0 {
                return held;
            }
        }
        assert!(
            Instant::now() < deadline,
            "worker {prefix}… of run {run} never held an item"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Starts the run (its own consumer threads in this process) and waits until
/// it has created its keys, so that a worker can join it.
fn start_run(broker: &BrokerProcess, run: &str, args: &[&str]) -> Child {
    let child = queue_sim()
        .args(["--broker", broker.url(), "--run", run])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("queue-sim starts");
    let mut con = connection(broker);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !con
        .exists::<_, bool>(Keys::for_run(run).settings)
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "run {run} never started");
        thread::sleep(Duration::from_millis(5));
    }
    child
}

fn join(broker: &BrokerProcess, run: &str) -> Child {
    queue_sim()
        .args(["worker", "--broker", broker.url(), "--run", run])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("queue-sim worker starts")
}

#[test]
fn every_item_ends_once_and_the_run_cleans_up_its_keys() {
    let Some(broker) = broker() else { return };
    let report = run(&with_broker(
        &broker,
        "--run tidy --items 300 --consumers 3 --processing-time 0 --failure-rate 0.3 --retries 1 --seed 0",
    ));
    assert_accounted(&report);
    let stats = &report.stats;
    assert_eq!(stats.produced, 300);
    assert_eq!(stats.unprocessed, 0);
    assert!(
        stats.dead_lettered > 0 && stats.retried > 0,
        "failure rate 0.3 with one retry: some items retried, some dead-lettered: {stats:#?}"
    );
    assert_eq!(
        report.broker.attempts,
        stats.consumed + stats.dead_lettered + stats.retried,
        "every attempt is an item's end or a retry"
    );
    assert_eq!(report.broker.streams.items, Keys::for_run("tidy").items);
    let keys: Vec<String> = connection(&broker)
        .keys(Keys::for_run("tidy").pattern())
        .unwrap();
    assert!(keys.is_empty(), "the run left keys behind: {keys:?}");
}

/// Whether `value` shows at most `decimals` decimal places.
fn rounded_to(value: f64, decimals: i32) -> bool {
    let scaled = value * 10f64.powi(decimals);
    (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
}

/// Checks what every derived figure of a report of sleeping work (no
/// `--rate`) means, from the report's own counts (`stats`) and `config`.
fn assert_derived_figures_mean_what_they_say(
    config: &SimConfig,
    stats: &SimulationStats,
    mode: &str,
) {
    let elapsed_ms = stats.elapsed_ms;
    let throughput = stats.throughput_per_s;
    let ideal = stats
        .ideal_throughput_per_s
        .unwrap_or_else(|| panic!("{mode}: sleeping work has an ideal"));
    let efficiency = stats
        .efficiency
        .unwrap_or_else(|| panic!("{mode}: a run with items has an efficiency"));
    let oversleep_ms = stats
        .oversleep_ms
        .unwrap_or_else(|| panic!("{mode}: sleeping work has an oversleep"));
    let avg_ms = stats.avg_processing_ms;
    let processing_ms = config.processing_time_s * 1e3;
    for (name, value, decimals) in [
        ("elapsed_ms", elapsed_ms, 3),
        ("avg_processing_ms", avg_ms, 3),
        ("oversleep_ms", oversleep_ms, 3),
        ("throughput_per_s", throughput, 2),
        ("ideal_throughput_per_s", ideal, 2),
        ("efficiency", efficiency, 4),
    ] {
        assert!(
            rounded_to(value, decimals),
            "{mode}: {name} {value} is not rounded to {decimals} places"
        );
    }
    let ended = stats.consumed + stats.failed + stats.dead_lettered;
    let measured = ended as f64 / (elapsed_ms / 1e3);
    assert!(
        (throughput - measured).abs() <= 0.01 + measured * 1e-6,
        "{mode}: throughput_per_s {throughput} is not items ended ({ended}) per second of elapsed_ms ({elapsed_ms})"
    );
    // Per attempt, as the host timed it: the ideal for attempts of the
    // processing time plus the oversleep is the one efficiency is against.
    let ideal_as_timed = ideal * processing_ms / (processing_ms + oversleep_ms);
    assert!(
        (efficiency - throughput / ideal_as_timed).abs() < 2e-3,
        "{mode}: efficiency {efficiency} is not throughput {throughput} over the ideal for attempts as timed ({ideal_as_timed:.2})"
    );
    assert!(oversleep_ms >= 0.0, "{mode}: sleep never wakes early");
    assert!(
        avg_ms >= processing_ms,
        "{mode}: avg_processing_ms {avg_ms} is a mean of successful attempts, each at least {processing_ms} ms"
    );
}

#[test]
fn the_same_seed_gives_the_same_outcomes_and_figures_that_mean_the_same_with_and_without_the_broker()
 {
    let Some(broker) = broker() else { return };
    let line = "--items 150 --consumers 3 --capacity 20 --processing-time 0.002 --failure-rate 0.2 --retries 1 --seed 11";
    let local: Report = run_as(&flags(line));
    let on_broker = run(&with_broker(&broker, line));
    let (here, there) = (&local.stats, &on_broker.stats);
    for (field, here, there) in [
        ("produced", here.produced, there.produced),
        ("consumed", here.consumed, there.consumed),
        ("failed", here.failed, there.failed),
        ("dead_lettered", here.dead_lettered, there.dead_lettered),
        ("retried", here.retried, there.retried),
        ("unprocessed", here.unprocessed, there.unprocessed),
    ] {
        assert_eq!(
            there, here,
            "{field}: failures are decided by seed, item and attempt, wherever the queue is"
        );
    }
    assert_eq!(
        there.ideal_throughput_per_s, here.ideal_throughput_per_s,
        "the same consumers, processing time and failures: the same ideal"
    );
    assert_derived_figures_mean_what_they_say(&local.config, here, "in process");
    assert_derived_figures_mean_what_they_say(&on_broker.config, there, "--broker");
}

#[test]
fn the_backlog_never_passes_the_capacity() {
    let Some(broker) = broker() else { return };
    let report = run(&with_broker(
        &broker,
        "--items 400 --producers 3 --consumers 2 --capacity 7 --processing-time 0.0005 --failure-rate 0",
    ));
    assert_accounted(&report);
    let depth = report.stats.max_queue_depth;
    assert!(
        (1..=7).contains(&depth),
        "three producers, capacity 7: the stream held {depth} at most (MAXLEN is not backpressure; the check and the add are one script)"
    );
}

#[test]
fn a_poison_item_is_dead_lettered_after_one_plus_retries_deliveries() {
    let Some(broker) = broker() else { return };
    let report = run(&with_broker(
        &broker,
        "--items 5 --consumers 2 --processing-time 0 --failure-rate 1 --retries 2",
    ));
    assert_accounted(&report);
    assert_eq!(report.stats.dead_lettered, 5, "{:#?}", report.stats);
    assert_eq!(report.stats.retried, 10, "two retries per item");
    assert_eq!(report.broker.attempts, 15, "1 + retries deliveries each");
    let dead = &report.broker.dead_letters;
    assert_eq!(dead.len(), 5);
    for letter in dead {
        assert_eq!(letter.deliveries, 3, "{letter:?}");
        assert!(letter.error.contains("simulated failure"), "{letter:?}");
    }
}

#[test]
fn a_killed_workers_items_are_reclaimed_and_counted_once() {
    let Some(broker) = broker() else { return };
    let run_child = start_run(
        &broker,
        "crash",
        &flags(
            "--items 60 --consumers 1 --capacity 20 --processing-time 0.02 --failure-rate 0 --retries 2 --claim-idle 0.5",
        ),
    );
    let victim = join(&broker, "crash");
    let held = wait_until_holding(
        &mut connection(&broker),
        "crash",
        &format!("pid{}-", victim.id()),
    );
    // SIGKILL: no chance to acknowledge or hand anything back.
    let mut victim = victim;
    victim.kill().expect("the worker can be killed");
    let _ = victim.wait();
    let report: BrokerReport = report_of(finish(run_child, "the run after a worker was killed"));
    assert_accounted(&report);
    assert_eq!(report.stats.consumed, 60, "{report:#?}");
    assert!(
        report.broker.reclaimed >= 1,
        "the killed worker held {held} item(s); none was reclaimed: {report:#?}"
    );
    assert!(report.broker.redelivered >= 1, "{report:#?}");
}

#[cfg(unix)]
#[test]
fn a_paused_workers_item_processed_twice_is_counted_once() {
    let Some(broker) = broker() else { return };
    let run_child = start_run(
        &broker,
        "slow",
        &flags(
            "--items 100 --consumers 1 --capacity 20 --processing-time 0.03 --failure-rate 0 --retries 2 --claim-idle 0.3",
        ),
    );
    let slow = join(&broker, "slow");
    wait_until_holding(
        &mut connection(&broker),
        "slow",
        &format!("pid{}-", slow.id()),
    );
    let signal = |name: &str| {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &slow.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name} failed");
    };
    // Alive but silent past the claim time: its items are reclaimed and
    // processed by the run's own worker; then it wakes and finishes them too.
    signal("STOP");
    thread::sleep(Duration::from_millis(900));
    signal("CONT");
    let report: BrokerReport = report_of(finish(run_child, "the run after a worker was paused"));
    let _ = finish(slow, "the paused worker");
    assert_accounted(&report);
    assert_eq!(report.stats.consumed, 100, "{report:#?}");
    assert!(report.broker.reclaimed >= 1, "{report:#?}");
    assert!(
        report.broker.processed_twice >= 1 && report.broker.attempts > 100,
        "the woken worker finished an item already reclaimed and settled: processed twice, counted once: {report:#?}"
    );
}

#[test]
fn a_broker_that_is_down_is_one_line_and_a_failure_at_once() {
    // A port nobody listens on: connection refused.
    let started = Instant::now();
    let output = queue_sim()
        .args(["--broker", "redis://127.0.0.1:1", "--items", "5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("redis://127.0.0.1:1"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn what_a_stream_cannot_do_is_refused_before_anything_runs() {
    for (args, says) in [
        (&["--capacity", "0"][..], "--capacity 0"),
        (&["--timeout", "1"][..], "--timeout"),
        (&["--priorities", "3"][..], "--priorities"),
        (
            &["--processing-time", "2", "--claim-idle", "1"][..],
            "--claim-idle",
        ),
        (&["--claim-idle", "0"][..], "--claim-idle"),
    ] {
        let output = queue_sim()
            .args(["--broker", "redis://127.0.0.1:1"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(says) && stderr.trim().lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
    let output = queue_sim().args(["--run", "x"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--broker"));
}

#[test]
fn worker_processes_started_by_the_run_share_its_items() {
    let Some(broker) = broker() else { return };
    let report = run(&with_broker(
        &broker,
        "--items 200 --consumers 2 --consumer-processes 2 --processing-time 0.001 --failure-rate 0.1 --seed 3",
    ));
    assert_accounted(&report);
    assert_eq!(report.broker.consumer_processes, 2);
    let names: Vec<&str> = report.workers.iter().map(|w| w.name.as_str()).collect();
    let processes: std::collections::BTreeSet<&str> =
        names.iter().map(|n| n.split('-').next().unwrap()).collect();
    assert!(
        processes.len() >= 2 && processes.iter().all(|p| p.starts_with("pid")),
        "{names:?}"
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_gives_partial_statistics_that_still_add_up() {
    let Some(broker) = broker() else { return };
    let child = start_run(
        &broker,
        "interrupted",
        &flags("--items 1000 --consumers 2 --processing-time 0.01 --failure-rate 0"),
    );
    wait_until_holding(&mut connection(&broker), "interrupted", "queue-sim-");
    thread::sleep(Duration::from_millis(200));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let output = finish(child, "an interrupted broker run");
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: BrokerReport = parse(&output.stdout);
    assert!(report.interrupted, "the report says it was interrupted");
    assert_accounted(&report);
    assert!(
        report.stats.produced < 1000,
        "the producer stops at Ctrl-C; the workers finish the items in hand: {:#?}",
        report.stats
    );
    let keys: Vec<String> = connection(&broker)
        .keys(Keys::for_run("interrupted").pattern())
        .unwrap();
    assert!(
        keys.is_empty(),
        "an interrupted run left keys behind: {keys:?}"
    );
}

#[test]
fn a_worker_for_a_run_that_does_not_exist_says_so_in_one_line() {
    let Some(broker) = broker() else { return };
    let output = queue_sim()
        .args(["worker", "--broker", broker.url(), "--run", "nobody"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.trim().lines().count() == 1 && stderr.contains("no run nobody"),
        "{stderr}"
    );
}

#[test]
fn the_text_summary_names_the_stream_and_the_broker_counts() {
    let Some(broker) = broker() else { return };
    let output = queue_sim()
        .args(with_broker(
            &broker,
            "--run texty --items 30 --processing-time 0 --failure-rate 0 --format text",
        ))
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let stream = Keys::for_run("texty").items;
    for expected in [
        "30 items through",
        &stream,
        "consumed 30, failed 0, dead-lettered 0, unprocessed 0",
        "reclaimed 0",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_run_whose_every_worker_process_dies_ends_with_the_rest_unprocessed() {
    let Some(broker) = broker() else { return };
    let child = start_run(
        &broker,
        "orphaned",
        &flags(
            "--items 200 --consumers 1 --consumer-processes 1 --capacity 5 \
             --processing-time 0.05 --failure-rate 0 --retries 2",
        ),
    );
    wait_until_holding(&mut connection(&broker), "orphaned", "pid");
    // The run's only worker process, found by its command line (a regular
    // expression: the URL's `+` would not match itself).
    let pattern = "worker --broker .* --run orphaned".to_string();
    let killed = Command::new("pkill")
        .args(["-9", "-f", &pattern])
        .status()
        .expect("pkill runs");
    assert!(killed.success(), "no worker process matched {pattern:?}");
    let output = finish(child, "a run whose workers all died");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report: BrokerReport = report_of(output);
    assert_accounted(&report);
    assert!(
        report.stats.unprocessed > 0 && report.stats.produced < 200,
        "the producer must stop once no worker is left, not wait for room for ever: {:#?}",
        report.stats
    );
    assert!(stderr.contains("every worker left"), "{stderr}");
}
