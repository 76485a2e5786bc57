//! Work crossing a process boundary, and a consumer killed mid-run.
//!
//! Starts a Redis of its own, three worker *processes* (this same program,
//! run as `crash worker URL NAME`) and a producer; kills one worker with
//! SIGKILL while it holds items; prints what the broker holds every 100 ms —
//! the backlog, and the items pending at each consumer — until the run is
//! over; then adds up what every worker said it did.
//!
//! `cargo run -p lesson-14 --example crash` once your lesson is done (it needs
//! `redis-server`, as the tests do).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::num::NonZeroUsize;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use lesson_14::{
    Delivery, Settings, Streams, WorkerReport, close, connect, create_group, dead_letters, produce,
    work,
};
use lesson_support::broker::{BrokerProcess, spawn_tied};
use redis::{Connection, RedisResult, TypedCommands};

const RUN: &str = "demo";
const ITEMS: u64 = 300;
const WORKERS: [&str; 3] = ["w1", "w2", "w3"];
/// The worker that is killed.
const VICTIM: &str = "w1";
const SETTINGS: Settings = Settings {
    batch: 5,
    block: Duration::from_millis(50),
    claim_idle: Duration::from_millis(500),
    max_deliveries: 3,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, url, name] = args.as_slice()
        && role == "worker"
    {
        return run_worker(url, name);
    }
    let broker = BrokerProcess::start()?;
    println!(
        "broker: {} (pid {}, ready in {:?})",
        broker.url(),
        broker.pid(),
        broker.started_in()
    );
    let streams = Streams::for_run(RUN);
    let mut con = connect(broker.url())?;
    create_group(&mut con, &streams)?;
    let mut workers: BTreeMap<&str, Child> = BTreeMap::new();
    for name in WORKERS {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["worker", broker.url(), name])
            .stdout(Stdio::piped());
        workers.insert(name, spawn_tied(command)?);
    }
    let producer = {
        let url = broker.url().to_string();
        thread::spawn(move || -> RedisResult<u64> {
            let mut con = connect(&url)?;
            let streams = Streams::for_run(RUN);
            let produced = produce(
                &mut con,
                &streams,
                0..ITEMS,
                NonZeroUsize::new(30).expect("not zero"),
                Duration::from_millis(2),
            )?;
            close(&mut con, &streams)?;
            Ok(produced.items)
        })
    };

    let started = Instant::now();
    let mut killed = false;
    println!("\n  time  backlog  pending at each consumer");
    loop {
        let (backlog, pending) = look(&mut con, &streams)?;
        let held = pending.get(VICTIM).copied().unwrap_or(0);
        println!(
            "{:>5.1}s {backlog:>8}  {}",
            started.elapsed().as_secs_f64(),
            show(&pending)
        );
        if !killed && held > 0 && started.elapsed() > Duration::from_millis(300) {
            let victim = workers.get_mut(VICTIM).expect("the victim");
            victim.kill()?;
            victim.wait()?;
            killed = true;
            println!("        {VICTIM} killed (SIGKILL) holding {held} unacknowledged items");
        }
        if producer.is_finished() && backlog == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the run did not finish within 60 s".into());
        }
        thread::sleep(Duration::from_millis(100));
    }
    let produced = producer.join().expect("the producer thread")?;

    println!("\nworker  processed consumed reclaimed redelivered already-settled");
    let (mut consumed, mut dead) = (0, 0);
    for (name, child) in workers {
        let Some(report) = report_of(child) else {
            println!("{name:<7} killed: its own tally died with it");
            continue;
        };
        println!(
            "{name:<7} {:>9} {:>8} {:>9} {:>11} {:>15}",
            report.processed,
            report.consumed,
            report.reclaimed,
            report.redelivered,
            report.already_settled
        );
        consumed += report.consumed;
        dead += report.dead_lettered;
    }
    // The broker is what knows: an item leaves the stream only when it is
    // settled, and dead letters are a stream of their own.
    let (left, _) = look(&mut con, &streams)?;
    let dead_letters = dead_letters(&mut con, &streams)?.len();
    println!(
        "\nthe broker: {left} items left in the stream, {dead_letters} dead letters: all {produced} \
         settled"
    );
    println!(
        "the survivors settled {}; the other {} were settled by {VICTIM} before it died",
        consumed + dead,
        produced.saturating_sub(left as u64 + consumed + dead)
    );
    Ok(())
}

/// A worker process: work until the run is over, then print its report on
/// one line for the parent to read.
fn run_worker(url: &str, name: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut con = connect(url)?;
    let job = |_: &Delivery| {
        thread::sleep(Duration::from_millis(5));
        Ok(())
    };
    let r = work(&mut con, &Streams::for_run(RUN), name, &SETTINGS, &job)?;
    println!(
        "report {} {} {} {} {} {} {}",
        r.processed,
        r.consumed,
        r.failed,
        r.dead_lettered,
        r.redelivered,
        r.reclaimed,
        r.already_settled
    );
    Ok(())
}

/// The report a worker printed as it ended; `None` for one that was killed.
fn report_of(mut child: Child) -> Option<WorkerReport> {
    let stdout = child.stdout.take()?;
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("report "))?;
    let _ = child.wait();
    let n: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let [
        processed,
        consumed,
        failed,
        dead_lettered,
        redelivered,
        reclaimed,
        already_settled,
    ] = n[..]
    else {
        return None;
    };
    Some(WorkerReport {
        processed,
        consumed,
        failed,
        dead_lettered,
        redelivered,
        reclaimed,
        already_settled,
    })
}

/// The backlog (XLEN) and the number of items pending at each consumer.
fn look(con: &mut Connection, streams: &Streams) -> RedisResult<(usize, BTreeMap<String, usize>)> {
    let backlog = con.xlen(&streams.items)?;
    let mut pending = BTreeMap::new();
    if let redis::streams::StreamPendingReply::Data(data) =
        con.xpending(&streams.items, &streams.group)?
    {
        for consumer in data.consumers {
            pending.insert(consumer.name, consumer.pending);
        }
    }
    Ok((backlog, pending))
}

fn show(pending: &BTreeMap<String, usize>) -> String {
    WORKERS
        .iter()
        .map(|name| format!("{name} {:>2}", pending.get(*name).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join("   ")
}
