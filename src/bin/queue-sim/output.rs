//! Writing a [`Report`] for scripts (JSON) or for people (text): the
//! binary's output; the library hands out the report itself.

use std::fmt::Write as _;

use queue_sim::{Report, SimulationStats, WorkKind, WorkerStats};

/// The report as pretty-printed JSON.
pub fn to_json(report: &Report) -> String {
    // Every field is a plain number, string, bool or null: this cannot fail.
    serde_json::to_string_pretty(report).expect("a report always serializes")
}

/// The report as a short summary for people.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    setting(&mut out, report);
    counts(&mut out, report);
    timing(&mut out, &report.stats);
    workers(&mut out, &report.workers);
    out
}

/// The run's settings, in one line, and whether it was interrupted.
fn setting(out: &mut String, report: &Report) {
    let config = &report.config;
    let work = match config.work {
        WorkKind::Sleep => "sleeping",
        WorkKind::Spin => "spinning",
    };
    let _ = writeln!(
        out,
        "{} items: {} producer(s) -> {} queue (capacity {}) -> {} consumer(s), {work} {} ms per attempt, failure rate {}, seed {}",
        config.items,
        config.producers,
        config.queue,
        config.capacity,
        config.consumers,
        config.processing_time_s * 1e3,
        config.failure_rate,
        config.seed,
    );
    if report.interrupted {
        let _ = writeln!(out, "INTERRUPTED: partial statistics");
    }
    let _ = writeln!(out);
}

/// How the items ended, and whether the accounting identity holds.
fn counts(out: &mut String, report: &Report) {
    let stats = &report.stats;
    let rows = [
        ("produced", stats.produced),
        ("consumed", stats.consumed),
        ("failed", stats.failed),
        ("retried", stats.retried),
        ("dead-lettered", stats.dead_lettered),
        ("unprocessed", stats.unprocessed),
    ];
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<14}{value:>10}");
    }
    let verdict = if report.accounting_holds() {
        "holds"
    } else {
        "BROKEN"
    };
    let _ = writeln!(
        out,
        "  accounting    produced = consumed + failed + dead-lettered + unprocessed: {verdict}"
    );
    let _ = writeln!(out);
}

/// Time, throughput against the ideal, and consumers that timed out.
fn timing(out: &mut String, stats: &SimulationStats) {
    let _ = write!(
        out,
        "  elapsed {:.1} ms, avg processing {:.2} ms",
        stats.elapsed_ms, stats.avg_processing_ms
    );
    if let Some(oversleep) = stats.oversleep_ms {
        let _ = write!(out, " ({oversleep:.3} ms oversleep per attempt)");
    }
    let _ = writeln!(out, ", max queue depth {}", stats.max_queue_depth);
    let _ = write!(out, "  throughput {:.1} items/s", stats.throughput_per_s);
    match (stats.ideal_throughput_per_s, stats.efficiency) {
        (Some(ideal), Some(efficiency)) => {
            let _ = writeln!(
                out,
                " (ideal {ideal:.1}, efficiency {:.0}%)",
                efficiency * 100.0
            );
        }
        _ => {
            let _ = writeln!(out, " (no ideal: nothing limits zero-time work)");
        }
    }
    if stats.consumers_timed_out > 0 {
        let _ = writeln!(
            out,
            "  {} consumer(s) left after idling past --timeout",
            stats.consumers_timed_out
        );
    }
}

/// One line per consumer.
fn workers(out: &mut String, workers: &[WorkerStats]) {
    let _ = writeln!(out, "\nworkers:");
    for worker in workers {
        let _ = writeln!(
            out,
            "  {:<10} processed {:>6}  failed {:>5}  avg {:>8.2} ms  busy {:>9.1} ms  {}",
            worker.id.to_string(),
            worker.processed,
            worker.failed,
            worker.avg_processing_ms,
            worker.busy_ms,
            worker.exit.name(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue_sim::SimConfig;

    fn report(interrupted: bool) -> Report {
        let config = SimConfig {
            items: 12,
            processing_time_s: 0.0,
            seed: 1,
            ..SimConfig::default()
        };
        let mut report = queue_sim::run(&config).unwrap();
        report.interrupted = interrupted;
        report
    }

    #[test]
    fn json_has_the_four_sections_and_round_trips() {
        // The sections' key names are the point here, so the raw JSON is read.
        let json: serde_json::Value = serde_json::from_str(&to_json(&report(false))).unwrap();
        for key in ["config", "stats", "workers", "results_sample"] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["stats"]["produced"], 12);
    }

    #[test]
    fn the_report_types_read_back_what_they_wrote() {
        let report = report(false);
        let read: Report = serde_json::from_str(&to_json(&report)).unwrap();
        assert_eq!(read.config, report.config);
        assert_eq!(read.stats, report.stats);
        assert_eq!(read.workers, report.workers);
        assert_eq!(read.results_sample, report.results_sample);
    }

    #[test]
    fn text_states_the_accounting_and_each_worker() {
        let text = to_text(&report(false));
        assert!(text.contains("accounting"), "{text}");
        assert!(text.contains("holds"), "{text}");
        assert!(text.contains("worker-2"), "{text}");
        assert!(!text.contains("INTERRUPTED"), "{text}");
    }

    #[test]
    fn text_flags_an_interrupted_run() {
        assert!(to_text(&report(true)).contains("INTERRUPTED"));
    }
}
