//! `cargo xtask bench`: a quick measurement (about a minute) of the queues and
//! the simulator against their targets, printed as one table.
//!
//! Everything is measured in the same run, and queues are reported as ratios to
//! crossbeam-channel measured alongside them: on a small shared machine the
//! absolute figures move from run to run, the ratios much less.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

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

/// Builds in release mode, measures, and returns the report.
pub fn bench(root: &Path) -> Result<String, String> {
    let release = build_release(root, &["--bin", "queue-sim", "--example", "throughput"])?;
    let simulator = release.join("queue-sim");

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

fn queues(example: &Path, out: &mut String) -> Result<(), String> {
    let output = Command::new(example)
        .arg("200000")
        .output()
        .map_err(|e| format!("could not run {}: {e}", example.display()))?;
    let rows: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // shape -> way -> items per second
    let mut table: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for row in &rows {
        let shape = format!(
            "{}p{}c cap {:>3}",
            row["producers"], row["consumers"], row["capacity"]
        );
        let way = row["way"].as_str().unwrap_or("?").to_string();
        table
            .entry(shape)
            .or_default()
            .insert(way, row["per_second"].as_f64().unwrap_or(0.0));
    }
    let ways = [
        "crossbeam",
        "std_sync_channel",
        "channel",
        "condvar",
        "priority",
    ];
    let _ = writeln!(
        out,
        "Queues: items/s (ratio to crossbeam in the same run), median of 3 runs of 200,000 items\n"
    );
    let _ = write!(out, "{:<14}", "shape");
    for way in ways {
        let _ = write!(out, " {way:>18}");
    }
    let _ = writeln!(out);
    for (shape, figures) in &table {
        let reference = figures.get("crossbeam").copied().unwrap_or(f64::NAN);
        let _ = write!(out, "{shape:<14}");
        for way in ways {
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

fn simulator_figures(
    simulator: &Path,
    out: &mut String,
    misses: &mut Vec<String>,
) -> Result<(), String> {
    let _ = writeln!(
        out,
        "\nSimulator: --processing-time 0 --failure-rate 0 --consumers 4 --capacity 100 --items 1000000, median of 3 interleaved runs\n"
    );
    // Three rounds, the backends interleaved within each, and the median per
    // backend: one sample on a small shared machine can be far off either way.
    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _round in 0..3 {
        for queue in ["channel", "condvar", "priority"] {
            let report = run(simulator, &[&SATURATED[..], &["--queue", queue]].concat())?;
            samples
                .entry(queue)
                .or_default()
                .push(report["stats"]["throughput_per_s"].as_f64().unwrap_or(0.0));
        }
    }
    let per_backend: BTreeMap<&str, f64> = samples
        .into_iter()
        .map(|(queue, mut values)| {
            values.sort_by(f64::total_cmp);
            (queue, values[values.len() / 2])
        })
        .collect();
    let channel = per_backend["channel"];
    for (queue, value) in &per_backend {
        let ratio = value / channel;
        let (target, met) = match *queue {
            "channel" => ("≥ 3,000,000 items/s", *value >= 3e6),
            "condvar" => ("≥ 0.5× channel", ratio >= 0.5),
            _ => ("≥ 0.25× channel", ratio >= 0.25),
        };
        let _ = writeln!(
            out,
            "  {queue:<9} {:>10} items/s  {ratio:>5.2}× channel   target {target}: {}",
            human(*value),
            verdict(met)
        );
        if !met {
            misses.push(format!(
                "{queue} backend: {} items/s, {ratio:.2}× channel (target {target})",
                human(*value)
            ));
        }
    }

    let sleep = run(
        simulator,
        &[
            "--processing-time",
            "0.001",
            "--consumers",
            "8",
            "--items",
            "8000",
            "--failure-rate",
            "0",
        ],
    )?;
    let efficiency = sleep["stats"]["efficiency"].as_f64().unwrap_or(0.0);
    let _ = writeln!(
        out,
        "\nSleep work, --processing-time 0.001 --consumers 8 --items 8000: {} items/s of an ideal {}, efficiency {efficiency:.3}   target ≥ 0.9: {}",
        human(sleep["stats"]["throughput_per_s"].as_f64().unwrap_or(0.0)),
        human(
            sleep["stats"]["ideal_throughput_per_s"]
                .as_f64()
                .unwrap_or(0.0)
        ),
        verdict(efficiency >= 0.9)
    );
    if efficiency < 0.9 {
        misses.push(format!(
            "sleep-work efficiency {efficiency:.3} (target 0.9)"
        ));
    }

    let _ = writeln!(
        out,
        "\nSpin work (CPU-bound), --processing-time 0.001 --items 400:"
    );
    let mut one = None;
    for consumers in ["1", "2", "4"] {
        let spin = run(
            simulator,
            &[
                "--work",
                "spin",
                "--processing-time",
                "0.001",
                "--consumers",
                consumers,
                "--items",
                "400",
                "--failure-rate",
                "0",
            ],
        )?;
        let value = spin["stats"]["throughput_per_s"].as_f64().unwrap_or(0.0);
        let speedup = value / *one.get_or_insert(value);
        let _ = writeln!(
            out,
            "  {consumers} consumer(s): {:>8} items/s, {speedup:.2}× one consumer, efficiency {:.3} (ideal counts min(consumers, {} cores))",
            human(value),
            spin["stats"]["efficiency"].as_f64().unwrap_or(0.0),
            spin["stats"]["available_cores"]
        );
    }

    let _ = writeln!(
        out,
        "\nPeak memory (RSS), the saturated configuration at two sizes:"
    );
    let small = peak_rss_kib(simulator, "100000")?;
    let large = peak_rss_kib(simulator, "10000000")?;
    let ratio = large as f64 / small as f64;
    let _ = writeln!(
        out,
        "  100,000 items: {small} KiB   10,000,000 items: {large} KiB   ratio {ratio:.2}   target ≤ 1.5: {}",
        verdict(ratio <= 1.5)
    );
    if ratio > 1.5 {
        misses.push(format!(
            "peak memory grows {ratio:.2}× from 100,000 to 10,000,000 items"
        ));
    }
    Ok(())
}

fn run(simulator: &Path, args: &[&str]) -> Result<Value, String> {
    let output = Command::new(simulator)
        .args(args)
        .arg("--no-progress")
        .output()
        .map_err(|e| format!("could not run the simulator: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "queue-sim {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("queue-sim printed no JSON: {e}"))
}

/// The peak resident memory of one simulator run, from `wait4`.
#[cfg(unix)]
fn peak_rss_kib(simulator: &Path, items: &str) -> Result<i64, String> {
    let mut args = SATURATED.to_vec();
    *args.last_mut().expect("SATURATED ends with the item count") = items;
    let child = Command::new(simulator)
        .args(&args)
        .arg("--no-progress")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not run the simulator: {e}"))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: `usage` is a valid, writable rusage and `status` a valid int; wait4
    // writes only into them. `child` is not waited on elsewhere.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        return Err("wait4 failed".into());
    }
    Ok(usage.ru_maxrss)
}

#[cfg(not(unix))]
fn peak_rss_kib(_simulator: &Path, _items: &str) -> Result<i64, String> {
    Err("peak memory is measured on Unix only".into())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// 3.20M, 415k, 1.98k, 980.
fn human(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value >= 1e3 {
        format!("{:.2}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Builds `targets` (cargo's `--bin NAME`, `--example NAME` arguments) of
/// queue-sim in release mode; returns the folder the binaries are in.
pub fn build_release(root: &Path, targets: &[&str]) -> Result<std::path::PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = Command::new(&cargo)
        .args(["build", "--release", "--quiet", "--package", "queue-sim"])
        .args(targets)
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !built.success() {
        return Err("the release build failed".into());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    Ok(target.join("release"))
}
