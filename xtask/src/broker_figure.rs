//! Chapter 14's figure: a broker run in which a worker is killed. The run (two
//! worker threads of its own) and two `queue-sim worker` processes share a
//! private Redis; the figure samples
//! the broker every 25 ms (the stream's length, and each worker's pending
//! entries from XPENDING), kills one worker with SIGKILL while it holds items,
//! and draws what follows: its entries stay pending, untouched, until the
//! claim time has passed, and then another worker reclaims them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use lesson_support::broker::BrokerProcess;
use plotters::prelude::*;
use queue_sim::broker::{BrokerReport, Keys, worker_name};
use redis::Commands as _;

use crate::chart::{HEIGHT, WIDTH, axes, drawing, finish};

const RUN: &str = "figure";
const RUN_FLAGS: &str = "--items 200 --consumers 2 --capacity 12 --processing-time 0.02 \
                         --failure-rate 0 --retries 2 --claim-idle 0.6 --seed 1 --no-progress";
/// When the victim is killed (once it holds entries).
const KILL_AFTER: Duration = Duration::from_millis(700);
const SAMPLE_EVERY: Duration = Duration::from_millis(25);

/// One look at the broker.
struct Sample {
    at_ms: f64,
    length: f64,
    pending: BTreeMap<String, f64>,
}

/// Draws the figure into `path`; returns a summary line.
pub fn broker_reclaim(queue_sim: &Path, path: &Path) -> Result<String> {
    let broker = BrokerProcess::start().map_err(|e| anyhow!("{e}"))?;
    let url = broker.url();
    let mut run = Command::new(queue_sim)
        .args(["--broker", url, "--run", RUN])
        .args(RUN_FLAGS.split_whitespace())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("could not start queue-sim --broker")?;
    let mut con = redis::Client::open(url)?.get_connection()?;
    let keys = Keys::for_run(RUN);
    let started = Instant::now();
    while !con.exists::<_, bool>(&keys.settings)? {
        if started.elapsed() > Duration::from_secs(10) {
            bail!("the run never started");
        }
        thread::sleep(Duration::from_millis(5));
    }
    let workers: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(queue_sim)
                .args(["worker", "--broker", url, "--run", RUN])
                .stdout(Stdio::null())
                .spawn()
                .context("could not start queue-sim worker")
        })
        .collect::<Result<_>>()?;
    let victim = worker_name(Some(workers[0].id()), 0);
    let mut workers = workers;
    let (items, group) = (&keys.items, &keys.group);
    let mut samples = Vec::new();
    let mut killed_ms = None;
    while run.try_wait()?.is_none() {
        let at_ms = started.elapsed().as_secs_f64() * 1e3;
        let length = con.xlen::<_, u64>(items).unwrap_or(0) as f64;
        let mut pending = BTreeMap::new();
        if let Ok(redis::streams::StreamPendingReply::Data(data)) = con.xpending(items, group) {
            for consumer in data.consumers {
                pending.insert(consumer.name, consumer.pending as f64);
            }
        }
        if killed_ms.is_none()
            && started.elapsed() >= KILL_AFTER
            && pending.get(&victim).is_some_and(|held| *held > 0.0)
        {
            workers[0].kill().context("could not kill the worker")?;
            let _ = workers[0].wait();
            killed_ms = Some(at_ms);
        }
        samples.push(Sample {
            at_ms,
            length,
            pending,
        });
        if started.elapsed() > Duration::from_secs(60) {
            let _ = run.kill();
            bail!("the run did not end within a minute");
        }
        thread::sleep(SAMPLE_EVERY);
    }
    for worker in &mut workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    let output = run.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "the run failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let report: BrokerReport = serde_json::from_slice(&output.stdout)
        .context("the broker run's report is not the JSON expected")?;
    let killed_ms = killed_ms.context("the worker to kill never held an item")?;
    let held_at_kill = samples
        .iter()
        .find(|s| s.at_ms >= killed_ms)
        .and_then(|s| s.pending.get(&victim).copied())
        .unwrap_or(0.0);
    let reclaimed_ms = samples
        .iter()
        .find(|s| s.at_ms > killed_ms && s.pending.get(&victim).copied().unwrap_or(0.0) == 0.0)
        .map(|s| s.at_ms)
        .context("the killed worker's entries were never reclaimed")?;
    draw(path, &samples, &victim, killed_ms)?;
    Ok(format!(
        "killed at {killed_ms:.0} ms holding {held_at_kill} entries, reclaimed by {reclaimed_ms:.0} ms; \
         {} consumed, {} reclaimed, {} processed twice",
        report.stats.consumed, report.broker.reclaimed, report.broker.processed_twice
    ))
}

/// A labelled series and its colour.
type Line<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

fn draw(path: &Path, samples: &[Sample], victim: &str, killed_ms: f64) -> Result<()> {
    let x_max = samples.last().map_or(1.0, |s| s.at_ms);
    let y_max = samples.iter().map(|s| s.length).fold(1.0, f64::max);
    let area = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    let mut chart = axes(
        &area,
        "A worker killed holding items",
        (0.0..x_max * 1.02, 0.0..y_max * 1.9),
        ("ms since the start", "entries"),
    )?;
    let held_by = |mine: bool| -> Vec<(f64, f64)> {
        samples
            .iter()
            .map(|s| {
                let held = s
                    .pending
                    .iter()
                    .filter(|(name, _)| (name.as_str() == victim) == mine)
                    .map(|(_, held)| held)
                    .sum();
                (s.at_ms, held)
            })
            .collect()
    };
    // The other consumers, counted from what the broker showed rather than
    // assumed from the flags: every one that held an entry at some point.
    let others: BTreeSet<&str> = samples
        .iter()
        .flat_map(|s| s.pending.keys())
        .map(String::as_str)
        .filter(|name| *name != victim)
        .collect();
    let others_label = match others.len() {
        1 => "pending: the other consumer".to_string(),
        n => format!("pending: the {n} other consumers"),
    };
    // The killed worker's line last, on top: it is the one to follow.
    let lines: [Line<'_>; 3] = [
        (
            "in the stream",
            samples.iter().map(|s| (s.at_ms, s.length)).collect(),
            RGBColor(150, 150, 150),
        ),
        (&others_label, held_by(false), BLUE),
        ("pending: killed worker", held_by(true), RED),
    ];
    for (label, points, color) in lines {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(3)))
            .map_err(drawing)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(3)));
    }
    chart
        .draw_series(LineSeries::new(
            [(killed_ms, 0.0), (killed_ms, y_max * 1.1)],
            BLACK.stroke_width(2),
        ))
        .map_err(drawing)?
        .label("SIGKILL")
        .legend(|(x, y)| PathElement::new([(x + 9, y - 8), (x + 9, y + 8)], BLACK.stroke_width(2)));
    finish(&area, &mut chart, SeriesLabelPosition::UpperRight)
}
