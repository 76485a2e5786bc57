//! `cargo xtask figures`: the book's pictures, drawn from real runs of the
//! reference simulator (`queue-sim --trace`) and written as SVG to
//! `book/src/figures/`. Run it again after changing the simulator; the figures
//! show whatever machine ran it, so their captions in the book say "on the
//! machine that drew them".

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::Command;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde_json::Value;

use crate::bench::build_release;

/// Where the figures go, relative to the kit's root.
pub const FIGURE_DIR: &str = "book/src/figures";

const WIDTH: u32 = 760;
const HEIGHT: u32 = 380;
const FONT: &str = "sans-serif";

/// Runs the simulator for every figure and writes them; returns what it wrote.
pub fn figures(root: &Path) -> Result<String, String> {
    let release = build_release(root, &["--bin", "queue-sim"])?;
    let sim = Simulator {
        binary: release.join("queue-sim"),
        scratch: release.join("figures-traces"),
    };
    std::fs::create_dir_all(&sim.scratch).map_err(|e| format!("scratch dir: {e}"))?;
    let out = root.join(FIGURE_DIR);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;

    let mut written = String::new();
    for (name, draw) in [
        (
            "queue-depth.svg",
            queue_depth as fn(&Simulator, &Path) -> Result<String, String>,
        ),
        ("throughput-vs-consumers.svg", throughput_vs_consumers),
        ("worker-timeline.svg", worker_timeline),
    ] {
        eprintln!("drawing {name} …");
        let summary = draw(&sim, &out.join(name))?;
        written.push_str(&format!("{FIGURE_DIR}/{name}: {summary}\n"));
    }
    Ok(written)
}

/// The release binary, and a folder for its traces.
struct Simulator {
    binary: PathBuf,
    scratch: PathBuf,
}

/// One traced run: the printed report and the trace file.
struct Run {
    report: Value,
    trace: Value,
}

impl Simulator {
    fn run(&self, args: &[&str]) -> Result<Run, String> {
        let trace_path = self.scratch.join("trace.json");
        let output = Command::new(&self.binary)
            .args(args)
            .args(["--no-progress", "--trace"])
            .arg(&trace_path)
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.binary.display()))?;
        if !output.status.success() {
            return Err(format!(
                "queue-sim {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let report = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("queue-sim's report is not JSON: {e}"))?;
        let text = std::fs::read(&trace_path).map_err(|e| format!("reading the trace: {e}"))?;
        let trace = serde_json::from_slice(&text).map_err(|e| format!("the trace: {e}"))?;
        Ok(Run { report, trace })
    }
}

fn number(value: &Value, what: &str) -> Result<f64, String> {
    value
        .as_f64()
        .ok_or_else(|| format!("{what} missing or not a number"))
}

fn drawing<E: Display>(e: E) -> String {
    format!("drawing failed: {e}")
}

/// Items waiting over time. At each put the trace says how many wait; between
/// puts, each item a worker starts on has left the queue. (The samples alone
/// cannot show the queue draining after the last put.)
fn depth_over_time(trace: &Value) -> Result<Vec<(f64, f64)>, String> {
    // (time, Some(measured depth)) for a put, (time, None) for a start of work.
    let mut events: Vec<(f64, Option<f64>)> = Vec::new();
    for sample in trace["depth"].as_array().ok_or("trace.depth missing")? {
        let depth = number(&sample["depth"], "depth")?;
        events.push((number(&sample["at_ms"], "at_ms")?, Some(depth)));
    }
    for result in trace["results"].as_array().ok_or("trace.results missing")? {
        if result["worker"].is_string() {
            events.push((number(&result["started_ms"], "started_ms")?, None));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut depth: f64 = 0.0;
    let mut points = vec![(0.0, 0.0)];
    for (at, measured) in events {
        points.push((at, depth)); // a step, not a slope
        depth = measured.unwrap_or((depth - 1.0).max(0.0));
        points.push((at, depth));
    }
    Ok(points)
}

/// The arguments of a command line written as one string.
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// A producer twice as fast as its consumers, into a bounded and a practically
/// unbounded queue.
fn queue_depth(sim: &Simulator, path: &Path) -> Result<String, String> {
    let common = "--items 400 --rate 1000 --consumers 2 --processing-time 0.004 --seed 1";
    let mut lines = Vec::new();
    for (capacity, label) in [
        ("10", "capacity 10: the producer is held back"),
        ("400", "capacity 400 (never full): the backlog grows"),
    ] {
        let run = sim.run(&words(&format!("{common} --capacity {capacity}")))?;
        let points = depth_over_time(&run.trace)?;
        let elapsed = number(&run.report["stats"]["elapsed_ms"], "elapsed_ms")?;
        lines.push((label, points, elapsed));
    }
    let x_max = lines.iter().map(|l| l.2).fold(1.0, f64::max);
    let y_max = lines
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.1))
        .fold(1.0, f64::max);

    let area = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    let mut chart = axes(
        &area,
        "Items waiting: a producer at 1000/s, 2 consumers of 4 ms (500/s)",
        (0.0..x_max * 1.02, 0.0..y_max * 1.1),
        ("time since the start (ms)", "items waiting"),
    )?;
    for ((label, points, _), color) in lines.iter().zip([BLUE, RED]) {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(drawing)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    finish(&area, &mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(format!(
        "peak depth {} (capacity 10) vs {} (capacity 400)",
        lines[0].1.iter().map(|p| p.1).fold(0.0, f64::max),
        lines[1].1.iter().map(|p| p.1).fold(0.0, f64::max)
    ))
}

/// Measured and ideal throughput for sleeping and spinning work, 1 to 8 consumers.
fn throughput_vs_consumers(sim: &Simulator, path: &Path) -> Result<String, String> {
    const CONSUMERS: [u32; 6] = [1, 2, 3, 4, 6, 8];
    let mut series = Vec::new();
    let mut cores = 0.0;
    for work in ["sleep", "spin"] {
        let mut measured = Vec::new();
        let mut ideal = Vec::new();
        for consumers in CONSUMERS {
            let run = sim.run(&words(&format!(
                "--items 300 --consumers {consumers} --processing-time 0.002 --work {work} \
                 --capacity 20 --seed 1"
            )))?;
            let stats = &run.report["stats"];
            cores = number(&stats["available_cores"], "available_cores")?;
            measured.push((
                f64::from(consumers),
                number(&stats["throughput_per_s"], "throughput_per_s")?,
            ));
            ideal.push((
                f64::from(consumers),
                number(&stats["ideal_throughput_per_s"], "ideal_throughput_per_s")?,
            ));
        }
        series.push((work, measured, ideal));
    }
    let y_max = series
        .iter()
        .flat_map(|s| s.1.iter().chain(&s.2).map(|p| p.1))
        .fold(1.0, f64::max);

    let area = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    let mut chart = axes(
        &area,
        &format!("Throughput against consumers, 2 ms items, {cores} cores"),
        (0.5..8.5, 0.0..y_max * 1.1),
        ("consumers", "items per second"),
    )?;
    for ((work, measured, ideal), color) in series.iter().zip([BLUE, RED]) {
        let label = match *work {
            "sleep" => "sleep (I/O-like) measured",
            _ => "spin (CPU-bound) measured",
        };
        chart
            .draw_series(LineSeries::new(
                measured.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(drawing)?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        chart
            .draw_series(PointSeries::of_element(
                measured.iter().copied(),
                4,
                color.filled(),
                &|c, s, st| Circle::new(c, s, st),
            ))
            .map_err(drawing)?;
        chart
            .draw_series(DashedLineSeries::new(
                ideal.iter().copied(),
                6,
                4,
                color.into(),
            ))
            .map_err(drawing)?
            .label(format!("{work}: ideal_throughput_per_s"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color));
    }
    finish(&area, &mut chart, SeriesLabelPosition::UpperLeft)?;
    let at = |work: usize, consumers: f64| {
        let measured = &series[work].1;
        measured
            .iter()
            .find(|p| p.0 == consumers)
            .map_or(0.0, |p| p.1)
    };
    Ok(format!(
        "sleep 1→8 consumers: {:.0}→{:.0}/s ({:.1}x); spin: {:.0}→{:.0}/s ({:.1}x)",
        at(0, 1.0),
        at(0, 8.0),
        at(0, 8.0) / at(0, 1.0),
        at(1, 1.0),
        at(1, 8.0),
        at(1, 8.0) / at(1, 1.0),
    ))
}

/// Which worker ran which item when: one row per worker.
fn worker_timeline(sim: &Simulator, path: &Path) -> Result<String, String> {
    const WORKERS: usize = 4;
    let run = sim.run(&words(
        "--items 40 --consumers 4 --capacity 5 --processing-time 0.01 --failure-rate 0.15 --seed 3",
    ))?;
    let mut spans = Vec::new();
    for result in run.trace["results"]
        .as_array()
        .ok_or("trace.results missing")?
    {
        let worker: usize = result["worker"]
            .as_str()
            .and_then(|w| w.strip_prefix("worker-"))
            .and_then(|n| n.parse().ok())
            .ok_or("a result without a worker")?;
        let start = number(&result["started_ms"], "started_ms")?;
        let end = start + number(&result["duration_ms"], "duration_ms")?;
        let failed = result["status"] != "completed";
        spans.push((worker, start, end, failed));
    }
    let x_max = spans.iter().map(|s| s.2).fold(1.0, f64::max);

    let area = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    area.fill(&WHITE).map_err(drawing)?;
    let mut chart = ChartBuilder::on(&area)
        .caption(
            "Who did what, when: 40 items of 10 ms, 4 workers, 15% failures",
            (FONT, 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        // Room on the right for the legend.
        .build_cartesian_2d(0.0..x_max * 1.22, -0.5..(WORKERS as f64 - 0.5))
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(WORKERS)
        .y_label_formatter(&|y| format!("worker-{}", y.round() as i64))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("time since the start (ms)")
        .draw()
        .map_err(drawing)?;
    let green = RGBColor(46, 139, 87);
    for (failed, color, label) in [(false, green, "completed"), (true, RED, "failed")] {
        chart
            .draw_series(
                spans
                    .iter()
                    .filter(|s| s.3 == failed)
                    .map(|&(w, start, end, _)| {
                        let y = w as f64;
                        Rectangle::new([(start, y - 0.35), (end, y + 0.35)], color.filled())
                    }),
            )
            .map_err(drawing)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
    }
    // A thin white edge around each item, so back-to-back items stay apart.
    chart
        .draw_series(spans.iter().map(|&(w, start, end, _)| {
            let y = w as f64;
            Rectangle::new([(start, y - 0.35), (end, y + 0.35)], WHITE.stroke_width(1))
        }))
        .map_err(drawing)?;
    finish(&area, &mut chart, SeriesLabelPosition::LowerRight)?;
    let failed = spans.iter().filter(|s| s.3).count();
    Ok(format!(
        "{} items over {WORKERS} workers, {failed} failed, {x_max:.0} ms",
        spans.len()
    ))
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A white chart with a caption, axes over `ranges` and their descriptions `names`.
fn axes<'a, 'b>(
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    caption: &str,
    ranges: (std::ops::Range<f64>, std::ops::Range<f64>),
    names: (&str, &str),
) -> Result<Chart<'a, 'b>, String> {
    area.fill(&WHITE).map_err(drawing)?;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(ranges.0, ranges.1)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc(names.0)
        .y_desc(names.1)
        .draw()
        .map_err(drawing)?;
    Ok(chart)
}

/// Draws the legend at `position` and writes the file.
fn finish<'a, 'b: 'a>(
    area: &DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(drawing)?;
    area.present().map_err(drawing)
}
