//! The broker row of `cargo xtask bench`: items per second through
//! `queue-sim --broker` against the limit — a bare redis-crate pipeline of the
//! same shape (one producer adding batches of 100, two consumers reading and
//! acknowledging batches of 100), measured on the same private Redis in the
//! same run.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use anyhow::{Context as _, Result};
use lesson_support::broker::{BrokerError, BrokerProcess};
use queue_sim::broker::BrokerReport;
use redis::Commands as _;

use crate::measure::{Simulator, human, median, verdict};

/// Items per measured run: long enough to dwarf the start-up, short enough
/// that the section takes seconds.
const ITEMS: u64 = 50_000;

/// The goal: the simulator at this share of the bare pipeline, or better.
const TARGET: f64 = 0.8;

/// Entries per XADD pipeline and per XREADGROUP: the simulator's.
const BATCH: u64 = queue_sim::broker::BATCH as u64;

/// Measures both, interleaved, three times each; writes the row to `out`.
pub fn broker_row(simulator: &Simulator, out: &mut String, misses: &mut Vec<String>) -> Result<()> {
    let _ = writeln!(
        out,
        "\nBroker: {ITEMS} items, 1 producer, 2 consumers, processing time 0, through a private redis-server (unix socket), median of 3 interleaved runs\n"
    );
    let broker = match BrokerProcess::start() {
        Ok(broker) => broker,
        Err(BrokerError::NotInstalled) => {
            let _ = writeln!(out, "  skipped: redis-server not installed");
            return Ok(());
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")).context("could not start redis-server"),
    };
    let items = ITEMS.to_string();
    let args = [
        "--broker",
        broker.url(),
        "--items",
        &items,
        "--consumers",
        "2",
        "--capacity",
        "1000",
        "--processing-time",
        "0",
        "--failure-rate",
        "0",
    ];
    let (mut bare, mut simulated) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        bare.push(bare_pipeline(broker.url(), ITEMS)?);
        let report: BrokerReport = simulator.run_as(&args)?;
        simulated.push(report.stats.throughput_per_s);
    }
    let (bare, simulated) = (median(bare), median(simulated));
    let ratio = simulated / bare;
    let _ = writeln!(out, "  bare pipeline   {} items/s   the limit", human(bare));
    let _ = writeln!(
        out,
        "  queue-sim       {} items/s   {ratio:.2}× the bare pipeline   target ≥ {TARGET}×: {}",
        human(simulated),
        verdict(ratio >= TARGET)
    );
    if ratio < TARGET {
        misses.push(format!(
            "queue-sim --broker at {ratio:.2}× the bare pipeline (target {TARGET}×)"
        ));
    }
    Ok(())
}

/// One producer and two consumers with nothing but the protocol: XADD in
/// pipelines of [`BATCH`], XREADGROUP of [`BATCH`], XACK + XDEL per batch.
fn bare_pipeline(url: &str, items: u64) -> Result<f64> {
    let stream = format!("bench:{}:items", std::process::id());
    let group = "bench";
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection()?;
    let _: () = con.del(&stream)?;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM")
        .query(&mut con)?;
    let settled = AtomicU64::new(0);
    let started = Instant::now();
    thread::scope(|scope| -> Result<()> {
        let producer = scope.spawn(|| -> Result<()> {
            let mut con = client.get_connection()?;
            let mut next = 0;
            while next < items {
                let mut pipe = redis::pipe();
                for item in next..(next + BATCH).min(items) {
                    pipe.cmd("XADD")
                        .arg(&stream)
                        .arg("*")
                        .arg("item")
                        .arg(item)
                        .ignore();
                }
                pipe.query::<()>(&mut con)?;
                next += BATCH;
            }
            Ok(())
        });
        let consumers: Vec<_> = (0..2)
            .map(|index| {
                let (client, stream, settled) = (&client, &stream, &settled);
                scope.spawn(move || -> Result<()> {
                    let mut con = client.get_connection()?;
                    let name = format!("c{index}");
                    while settled.load(Ordering::Relaxed) < items {
                        let reply: Option<redis::streams::StreamReadReply> =
                            redis::cmd("XREADGROUP")
                                .arg("GROUP")
                                .arg(group)
                                .arg(&name)
                                .arg("COUNT")
                                .arg(BATCH)
                                .arg("BLOCK")
                                .arg(100)
                                .arg("STREAMS")
                                .arg(stream)
                                .arg(">")
                                .query(&mut con)?;
                        let ids: Vec<String> = reply
                            .into_iter()
                            .flat_map(|r| r.keys)
                            .flat_map(|k| k.ids)
                            .map(|id| id.id)
                            .collect();
                        if ids.is_empty() {
                            continue;
                        }
                        redis::pipe()
                            .cmd("XACK")
                            .arg(stream)
                            .arg(group)
                            .arg(&ids)
                            .ignore()
                            .cmd("XDEL")
                            .arg(stream)
                            .arg(&ids)
                            .ignore()
                            .query::<()>(&mut con)?;
                        settled.fetch_add(ids.len() as u64, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        producer.join().expect("the producer does not panic")?;
        for consumer in consumers {
            consumer.join().expect("a consumer does not panic")?;
        }
        Ok(())
    })?;
    let elapsed = started.elapsed();
    let _: () = con.del(&stream)?;
    Ok(items as f64 / elapsed.as_secs_f64())
}
