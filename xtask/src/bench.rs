//! `cargo xtask bench`: a quick measurement (about a minute) of the queues and
//! the simulator against their targets, printed as one table.
//!
//! Everything is measured in the same run, and queues are reported as ratios to
//! crossbeam-channel measured alongside them: on a small shared machine the
//! absolute figures move from run to run, the ratios much less.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};
use queue_sim::{Choice as _, QueueKind, WorkKind};
use serde::Deserialize;

use crate::bench_broker;
use crate::measure::{Simulator, build_release, human, median, verdict};

/// The simulator's flags for the throughput target.
const SATURATED: [&str; 10] = [
    "--processing-time",
    "0",
    "--failure-rate",
    "0",
    "--consumers",
    "4",
    "--capacity",
    "100",
    "--items",
    "1000000",
];

/// The queue backends and each one's target (their names are the simulator's:
/// `QueueKind::name`, written once in `src/choice.rs`).
const BACKENDS: [(QueueKind, Target); 3] = [
    (QueueKind::Channel, Target::AtLeast(3e6)),
    (QueueKind::Condvar, Target::RatioToChannel(0.5)),
    (QueueKind::Priority, Target::RatioToChannel(0.25)),
];

/// What a backend must reach.
#[derive(Clone, Copy)]
enum Target {
    /// Items per second.
    AtLeast(f64),
    /// A share of the channel backend's throughput in the same run.
    RatioToChannel(f64),
}

/// One line of `examples/throughput`'s output.
#[derive(Debug, Deserialize)]
struct QueueSample {
    way: String,
    producers: u32,
    consumers: u32,
    capacity: u32,
    per_second: f64,
}

/// Builds in release mode, measures, and returns the report.
pub fn bench(root: &Path) -> Result<String> {
    let release = build_release(root, &["--bin", "queue-sim", "--example", "throughput"])?;
    let simulator = Simulator(release.join("queue-sim"));

    // The simulator goes first: right after the queue measurements (both cores
    // hammered by one-slot ping-pong) its channel backend was seen to run at half
    // speed for a while, in every sample.
    let mut misses = Vec::new();
    let mut simulator_part = String::new();
    eprintln!("measuring the simulator …");
    simulator_figures(&simulator, &mut simulator_part, &mut misses)?;
    let mut out = String::new();
    eprintln!("measuring the queues …");
    queues(&release.join("examples").join("throughput"), &mut out)?;
    out.push_str(&simulator_part);
    eprintln!("measuring the broker …");
    bench_broker::broker_row(&simulator, &mut out, &mut misses)?;
    if misses.is_empty() {
        let _ = writeln!(out, "\nevery target met in this run");
    } else {
        let _ = writeln!(
            out,
            "\ntargets missed in this run:\n  {}",
            misses.join("\n  ")
        );
    }
    Ok(out)
}

fn queues(example: &Path, out: &mut String) -> Result<()> {
    let output = Command::new(example)
        .arg("200000")
        .output()
        .with_context(|| format!("could not run {}", example.display()))?;
    let rows = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str::<QueueSample>(line)
                .with_context(|| format!("the throughput example printed {line:?}"))
        })
        .collect::<Result<Vec<_>>>()?;
    // shape -> way -> items per second
    let mut table: BTreeMap<String, BTreeMap<&str, f64>> = BTreeMap::new();
    for row in &rows {
        let shape = format!(
            "{}p{}c cap {:>3}",
            row.producers, row.consumers, row.capacity
        );
        table
            .entry(shape)
            .or_default()
            .insert(&row.way, row.per_second);
    }
    // The ways in the order the example measures them (`throughput::every_way`):
    // the reference, crossbeam itself, first.
    let mut ways: Vec<&str> = Vec::new();
    for row in &rows {
        if !ways.contains(&row.way.as_str()) {
            ways.push(&row.way);
        }
    }
    let reference_way = *ways
        .first()
        .context("the throughput example printed nothing")?;
    let _ = writeln!(
        out,
        "Queues: items/s (ratio to crossbeam in the same run), median of 3 runs of 200,000 items\n"
    );
    let _ = write!(out, "{:<14}", "shape");
    for way in &ways {
        let _ = write!(out, " {way:>18}");
    }
    let _ = writeln!(out);
    for (shape, figures) in &table {
        let reference = figures.get(reference_way).copied().unwrap_or(f64::NAN);
        let _ = write!(out, "{shape:<14}");
        for way in &ways {
            let value = figures.get(way).copied().unwrap_or(f64::NAN);
            let _ = write!(
                out,
                " {:>18}",
                format!("{} ({:.2})", human(value), value / reference)
            );
        }
        let _ = writeln!(out);
    }
    Ok(())
}

/// The simulator's part: each step measures one target and writes its lines.
fn simulator_figures(
    simulator: &Simulator,
    out: &mut String,
    misses: &mut Vec<String>,
) -> Result<()> {
    saturated_backends(simulator, out, misses)?;
    sleep_efficiency(simulator, out, misses)?;
    spin_scaling(simulator, out)?;
    peak_memory(simulator, out, misses)
}

/// Each backend's throughput, saturated; the median of three interleaved rounds.
fn saturated_backends(
    simulator: &Simulator,
    out: &mut String,
    misses: &mut Vec<String>,
) -> Result<()> {
    let _ = writeln!(
        out,
        "\nSimulator: {}, median of 3 interleaved runs\n",
        SATURATED.join(" ")
    );
    // Three rounds, the backends interleaved within each, and the median per
    // backend: one sample on a small shared machine can be far off either way.
    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _round in 0..3 {
        for (queue, _) in BACKENDS {
            let queue = queue.name();
            let report = simulator.run(&[&SATURATED[..], &["--queue", queue]].concat())?;
            samples
                .entry(queue)
                .or_default()
                .push(report.stats.throughput_per_s);
        }
    }
    let median_of = |queue: &str| median(samples[queue].clone());
    let channel = median_of(QueueKind::Channel.name());
    for (queue, target) in BACKENDS {
        let queue = queue.name();
        let value = median_of(queue);
        let ratio = value / channel;
        let (wanted, met) = match target {
            Target::AtLeast(floor) => (format!("≥ {} items/s", human(floor)), value >= floor),
            Target::RatioToChannel(share) => (format!("≥ {share}× channel"), ratio >= share),
        };
        let _ = writeln!(
            out,
            "  {queue:<9} {:>10} items/s  {ratio:>5.2}× channel   target {wanted}: {}",
            human(value),
            verdict(met)
        );
        if !met {
            misses.push(format!(
                "{queue} backend: {} items/s, {ratio:.2}× channel (target {wanted})",
                human(value)
            ));
        }
    }
    Ok(())
}

/// Sleeping consumers reach their ideal throughput.
fn sleep_efficiency(
    simulator: &Simulator,
    out: &mut String,
    misses: &mut Vec<String>,
) -> Result<()> {
    const ARGS: &str = "--processing-time 0.001 --consumers 8 --items 8000 --failure-rate 0";
    const TARGET: f64 = 0.9;
    let stats = simulator
        .run(&ARGS.split_whitespace().collect::<Vec<_>>())?
        .stats;
    let efficiency = stats
        .efficiency
        .context("a sleeping run has an efficiency")?;
    let _ = writeln!(
        out,
        "\nSleep work, {ARGS}: {} items/s of an ideal {}, efficiency {efficiency:.3}   target ≥ {TARGET}: {}",
        human(stats.throughput_per_s),
        human(stats.ideal_throughput_per_s.unwrap_or(f64::NAN)),
        verdict(efficiency >= TARGET)
    );
    if efficiency < TARGET {
        misses.push(format!(
            "sleep-work efficiency {efficiency:.3} (target {TARGET})"
        ));
    }
    Ok(())
}

/// Spinning consumers: the speed-up stops at the number of cores (no target).
fn spin_scaling(simulator: &Simulator, out: &mut String) -> Result<()> {
    let _ = writeln!(
        out,
        "\nSpin work (CPU-bound), --processing-time 0.001 --items 400:"
    );
    let mut one = None;
    for consumers in ["1", "2", "4"] {
        let stats = simulator
            .run(&[
                "--work",
                WorkKind::Spin.name(),
                "--processing-time",
                "0.001",
                "--consumers",
                consumers,
                "--items",
                "400",
                "--failure-rate",
                "0",
            ])?
            .stats;
        let speedup = stats.throughput_per_s / *one.get_or_insert(stats.throughput_per_s);
        let _ = writeln!(
            out,
            "  {consumers} consumer(s): {:>8} items/s, {speedup:.2}× one consumer, efficiency {:.3} (ideal counts min(consumers, {} cores))",
            human(stats.throughput_per_s),
            stats.efficiency.unwrap_or(f64::NAN),
            stats.available_cores
        );
    }
    Ok(())
}

/// Memory does not grow with the number of items (the statistics are streamed).
fn peak_memory(simulator: &Simulator, out: &mut String, misses: &mut Vec<String>) -> Result<()> {
    const TARGET: f64 = 1.5;
    let _ = writeln!(
        out,
        "\nPeak memory (RSS), the saturated configuration at two sizes:"
    );
    let of_items = |items| {
        let mut args = SATURATED.to_vec();
        *args.last_mut().expect("SATURATED ends with the item count") = items;
        simulator.peak_rss_kib(&args)
    };
    let small = of_items("100000")?;
    let large = of_items("10000000")?;
    let ratio = large as f64 / small as f64;
    let _ = writeln!(
        out,
        "  100,000 items: {small} KiB   10,000,000 items: {large} KiB   ratio {ratio:.2}   target ≤ {TARGET}: {}",
        verdict(ratio <= TARGET)
    );
    if ratio > TARGET {
        misses.push(format!(
            "peak memory grows {ratio:.2}× from 100,000 to 10,000,000 items"
        ));
    }
    Ok(())
}
