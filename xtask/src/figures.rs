//! `cargo xtask figures`: the book's pictures, drawn from real runs of the
//! reference simulator (`queue-sim --trace`) and written as SVG to
//! `book/src/figures/`. Run it again after changing the simulator; the figures
//! show whatever machine ran it, so their captions in the book say "on the
//! machine that drew them".
//! How they look (size, fonts, axes) is [`crate::chart`]'s.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use plotters::prelude::*;
use queue_sim::trace::Trace;
use queue_sim::{Choice as _, Report, TaskStatus, WorkKind};

use crate::broker_figure;
use crate::chart::{FONT, HEIGHT, TEXT_FONT, TITLE_FONT, WIDTH, axes, drawing, finish};
use crate::measure::build_release;

/// Where the figures go, relative to the kit's root.
pub const FIGURE_DIR: &str = "book/src/figures";

/// Runs the simulator for every figure (or those named in `only`) and writes
/// them; returns what it wrote.
pub fn figures(root: &Path, only: &[String]) -> Result<String> {
    let release = build_release(root, &["--bin", "queue-sim"])?;
    let sim = Simulator {
        binary: release.join("queue-sim"),
        scratch: release.join("figures-traces"),
    };
    std::fs::create_dir_all(&sim.scratch).context("cannot create the scratch dir for traces")?;
    let out = root.join(FIGURE_DIR);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;

    type Draw = fn(&Simulator, &Path) -> Result<String>;
    let mut written = String::new();
    for (name, draw) in [
        ("queue-depth.svg", queue_depth as Draw),
        ("throughput-vs-consumers.svg", throughput_vs_consumers),
        ("worker-timeline.svg", worker_timeline),
        ("broker-reclaim.svg", |sim, path| {
            broker_figure::broker_reclaim(&sim.binary, path)
        }),
    ] {
        if !only.is_empty() && !only.iter().any(|wanted| wanted == name) {
            continue;
        }
        eprintln!("drawing {name} …");
        let summary = draw(&sim, &out.join(name)).with_context(|| format!("drawing {name}"))?;
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
    report: Report,
    trace: Trace<'static>,
}

impl Simulator {
    fn run(&self, args: &str) -> Result<Run> {
        let trace_path = self.scratch.join("trace.json");
        let output = Command::new(&self.binary)
            .args(args.split_whitespace())
            .args(["--no-progress", "--trace"])
            .arg(&trace_path)
            .output()
            .with_context(|| format!("could not run {}", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "queue-sim {args} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let report = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("queue-sim {args}: its report is not the JSON expected"))?;
        let text = std::fs::read(&trace_path).context("reading the trace")?;
        let trace = serde_json::from_slice(&text)
            .with_context(|| format!("queue-sim {args}: its trace is not the JSON expected"))?;
        Ok(Run { report, trace })
    }
}

/// Items waiting over time. At each put the trace says how many wait; between
/// puts, each item a worker starts on has left the queue. (The samples alone
/// cannot show the queue draining after the last put.)
fn depth_over_time(trace: &Trace) -> Vec<(f64, f64)> {
    // (time, Some(measured depth)) for a put, (time, None) for a start of work.
    let mut events: Vec<(f64, Option<f64>)> = trace
        .depth
        .iter()
        .map(|sample| (sample.at_ms, Some(sample.depth as f64)))
        .chain(
            trace
                .results
                .iter()
                .filter(|result| result.worker.is_some())
                .map(|result| (result.started_ms, None)),
        )
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut depth: f64 = 0.0;
    let mut points = vec![(0.0, 0.0)];
    for (at, measured) in events {
        points.push((at, depth)); // a step, not a slope
        depth = measured.unwrap_or((depth - 1.0).max(0.0));
        points.push((at, depth));
    }
    points
}

/// A producer twice as fast as its consumers, into a bounded and a practically
/// unbounded queue.
fn queue_depth(sim: &Simulator, path: &Path) -> Result<String> {
    let common = "--items 400 --rate 1000 --consumers 2 --processing-time 0.004 --seed 1";
    let mut lines = Vec::new();
    for (capacity, label) in [("10", "capacity 10"), ("400", "capacity 400 (never full)")] {
        let run = sim.run(&format!("{common} --capacity {capacity}"))?;
        lines.push((
            label,
            depth_over_time(&run.trace),
            run.report.stats.elapsed_ms,
        ));
    }
    let x_max = lines.iter().map(|l| l.2).fold(1.0, f64::max);
    let peak = |points: &[(f64, f64)]| points.iter().map(|p| p.1).fold(0.0, f64::max);
    let y_max = lines.iter().map(|l| peak(&l.1)).fold(1.0, f64::max);

    let area = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    let mut chart = axes(
        &area,
        "Items waiting: producer 1000/s, consumers 500/s",
        // Headroom above the peak for the legend.
        (0.0..x_max * 1.02, 0.0..y_max * 1.45),
        ("ms since the start", "items waiting"),
    )?;
    for ((label, points, _), color) in lines.iter().zip([BLUE, RED]) {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(3),
            ))
            .map_err(drawing)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(3)));
    }
    // Upper right: the backlog climbs on the left and has drained by the end.
    finish(&area, &mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(format!(
        "peak depth {} (capacity 10) vs {} (capacity 400)",
        peak(&lines[0].1),
        peak(&lines[1].1)
    ))
}

/// Measured and ideal throughput for sleeping and spinning work, 1 to 8 consumers.
fn throughput_vs_consumers(sim: &Simulator, path: &Path) -> Result<String> {
    const CONSUMERS: [u32; 6] = [1, 2, 3, 4, 6, 8];
    let mut series = Vec::new();
    let mut cores = 0;
    for work in WorkKind::ALL.iter().map(|work| work.name()) {
        let mut measured = Vec::new();
        let mut ideal = Vec::new();
        for consumers in CONSUMERS {
            let run = sim.run(&format!(
                "--items 300 --consumers {consumers} --processing-time 0.002 --work {work} \
                 --capacity 20 --seed 1"
            ))?;
            let stats = &run.report.stats;
            cores = stats.available_cores;
            let x = f64::from(consumers);
            measured.push((x, stats.throughput_per_s));
            ideal.push((
                x,
                stats
                    .ideal_throughput_per_s
                    .context("a run with a processing time has an ideal throughput")?,
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
        &format!("Throughput, 2 ms items, {cores} cores"),
        (0.5..8.5, 0.0..y_max * 1.1),
        ("consumers", "items per second"),
    )?;
    for ((work, measured, ideal), color) in series.iter().zip([BLUE, RED]) {
        chart
            .draw_series(LineSeries::new(
                measured.iter().copied(),
                color.stroke_width(3),
            ))
            .map_err(drawing)?
            .label(format!("{work}, measured"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(3)));
        chart
            .draw_series(PointSeries::of_element(
                measured.iter().copied(),
                5,
                color.filled(),
                &|c, s, st| Circle::new(c, s, st),
            ))
            .map_err(drawing)?;
        chart
            .draw_series(DashedLineSeries::new(
                ideal.iter().copied(),
                6,
                4,
                color.stroke_width(2),
            ))
            .map_err(drawing)?
            .label(format!("{work}, ideal"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    finish(&area, &mut chart, SeriesLabelPosition::UpperLeft)?;
    let at = |work: usize, consumers: f64| {
        series[work]
            .1
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

/// One item's bar on the timeline.
struct Span {
    worker: usize,
    start: f64,
    end: f64,
    failed: bool,
}

/// Which worker ran which item when: one row per worker.
fn worker_timeline(sim: &Simulator, path: &Path) -> Result<String> {
    const WORKERS: usize = 4;
    let run = sim.run(
        "--items 40 --consumers 4 --capacity 5 --processing-time 0.01 --failure-rate 0.15 --seed 3",
    )?;
    let spans = run
        .trace
        .results
        .iter()
        .map(|result| {
            let worker = result.worker.context("a result without a worker")?;
            Ok(Span {
                worker: worker.0,
                start: result.started_ms,
                end: result.started_ms + result.duration_ms,
                failed: result.status != TaskStatus::Completed,
            })
        })
        .collect::<Result<Vec<Span>>>()?;
    let x_max = spans.iter().map(|s| s.end).fold(1.0, f64::max);

    let area = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    area.fill(&WHITE).map_err(drawing)?;
    let mut chart = ChartBuilder::on(&area)
        .caption(
            "40 items of 10 ms, 4 workers, 15% failing",
            (FONT, TITLE_FONT),
        )
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(100)
        // Room on the right for the legend.
        .build_cartesian_2d(0.0..x_max * 1.3, -0.5..(WORKERS as f64 - 0.5))
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(WORKERS)
        .y_label_formatter(&|y| format!("worker-{}", y.round() as i64))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc("ms since the start")
        .label_style((FONT, TEXT_FONT))
        .axis_desc_style((FONT, TEXT_FONT))
        .draw()
        .map_err(drawing)?;
    let green = RGBColor(46, 139, 87);
    for (failed, color, label) in [(false, green, "completed"), (true, RED, "failed")] {
        chart
            .draw_series(spans.iter().filter(|s| s.failed == failed).map(|s| {
                let y = s.worker as f64;
                Rectangle::new([(s.start, y - 0.35), (s.end, y + 0.35)], color.filled())
            }))
            .map_err(drawing)?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.filled()));
    }
    // A thin white edge around each item, so back-to-back items stay apart.
    chart
        .draw_series(spans.iter().map(|s| {
            let y = s.worker as f64;
            Rectangle::new(
                [(s.start, y - 0.35), (s.end, y + 0.35)],
                WHITE.stroke_width(1),
            )
        }))
        .map_err(drawing)?;
    finish(&area, &mut chart, SeriesLabelPosition::LowerRight)?;
    let failed = spans.iter().filter(|s| s.failed).count();
    Ok(format!(
        "{} items over {WORKERS} workers, {failed} failed, {x_max:.0} ms",
        spans.len()
    ))
}
