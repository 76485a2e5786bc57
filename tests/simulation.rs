//! The simulator's promises, through its library API: every item accounted for,
//! panics contained, timeouts that end the run, retries that add up.

mod support;

use std::time::{Duration, Instant};

use queue_sim::{QueueKind, RunOptions, SimConfig, SimulatedJob, TaskStatus, WorkItem, run_with};
use support::{assert_every_item_ends_once, run_job_keeping_all, run_keeping_all, within};

fn config(items: u64) -> SimConfig {
    SimConfig {
        items,
        processing_time_s: 0.0,
        failure_rate: 0.0,
        seed: 7,
        ..SimConfig::default()
    }
}

#[test]
fn accounting_holds_on_a_grid_of_configurations() {
    for queue in [QueueKind::Channel, QueueKind::Condvar, QueueKind::Priority] {
        for (producers, consumers) in [(1, 1), (1, 4), (3, 2)] {
            for capacity in [0, 1, 16] {
                for (failure_rate, retries) in [(0.0, 0), (0.4, 0), (0.4, 2), (1.0, 1)] {
                    let config = SimConfig {
                        producers,
                        consumers,
                        capacity,
                        failure_rate,
                        retries,
                        queue,
                        priorities: if queue == QueueKind::Priority { 3 } else { 1 },
                        ..config(300)
                    };
                    let report = run_keeping_all(&config);
                    assert_eq!(report.stats.produced, 300, "{config:?}");
                    assert_eq!(
                        report.stats.unprocessed, 0,
                        "nothing is left behind without a timeout: {config:?}"
                    );
                    assert_every_item_ends_once(&report, format!("{config:?}"));
                    assert!(
                        report.stats.max_queue_depth <= capacity,
                        "{config:?}: depth {}",
                        report.stats.max_queue_depth
                    );
                }
            }
        }
    }
}

#[test]
fn zero_items_is_an_empty_run_not_a_division_by_zero() {
    let report = run_keeping_all(&config(0));
    assert_eq!(report.stats.produced, 0);
    assert_eq!(report.stats.avg_processing_ms, 0.0);
    assert!(report.stats.throughput_per_s.is_finite());
    assert!(report.workers.iter().all(|w| w.avg_processing_ms == 0.0));
}

#[test]
fn a_panicking_job_fails_its_item_and_its_worker_goes_on() {
    let config = SimConfig {
        consumers: 2,
        ..config(200)
    };
    let job = |item: &WorkItem| -> Result<(), String> {
        if item.id % 10 == 3 {
            panic!("cannot handle item {}", item.id);
        }
        Ok(())
    };
    let report = run_job_keeping_all(&config, job);
    assert_every_item_ends_once(&report, "");
    assert_eq!(report.stats.failed, 20, "ids 3, 13, …, 193 panic");
    assert_eq!(
        report.stats.consumed, 180,
        "every other item is still processed"
    );
    let failed = report
        .all_results
        .as_ref()
        .unwrap()
        .iter()
        .find(|r| r.status == TaskStatus::Failed)
        .unwrap();
    assert!(
        failed
            .error
            .as_deref()
            .unwrap_or("")
            .contains("cannot handle item"),
        "the panic's message is kept: {failed:?}"
    );
    assert!(
        report
            .workers
            .iter()
            .all(|w| w.exit == queue_sim::WorkerExit::Finished)
    );
}

#[test]
fn panics_are_not_retried() {
    let config = SimConfig {
        retries: 3,
        ..config(20)
    };
    let job = |_: &WorkItem| -> Result<(), String> { panic!("always") };
    let report = within("panics with retries", move || {
        run_with(&config, &job, RunOptions::default()).unwrap()
    });
    assert_eq!(
        (
            report.stats.failed,
            report.stats.retried,
            report.stats.dead_lettered
        ),
        (20, 0, 0)
    );
}

#[test]
fn failed_items_are_retried_then_dead_lettered() {
    let config = SimConfig {
        failure_rate: 1.0,
        retries: 2,
        ..config(50)
    };
    let report = run_keeping_all(&config);
    assert_every_item_ends_once(&report, "");
    let stats = &report.stats;
    assert_eq!(
        (
            stats.consumed,
            stats.failed,
            stats.dead_lettered,
            stats.retried
        ),
        (0, 0, 50, 100)
    );
    assert!(
        report
            .results_sample
            .iter()
            .all(|r| r.attempts == 3 && r.status == TaskStatus::DeadLettered)
    );
}

#[test]
fn without_retries_a_failure_is_final() {
    let report = run_keeping_all(&SimConfig {
        failure_rate: 1.0,
        ..config(30)
    });
    assert_eq!(
        (
            report.stats.failed,
            report.stats.dead_lettered,
            report.stats.retried
        ),
        (30, 0, 0)
    );
}

#[test]
fn retries_rescue_most_items_that_fail_once() {
    // p = 0.5, 3 retries: an item is dead-lettered with probability 1/16.
    let report = run_keeping_all(&SimConfig {
        failure_rate: 0.5,
        retries: 3,
        ..config(1_600)
    });
    assert_every_item_ends_once(&report, "");
    let dead = report.stats.dead_lettered as f64;
    // mean 100, sd ≈ 9.7: allow 5 sd.
    assert!(
        (50.0..=150.0).contains(&dead),
        "{dead} dead letters out of 1600, expected about 100"
    );
}

#[test]
fn failures_follow_the_failure_rate() {
    let report = run_keeping_all(&SimConfig {
        failure_rate: 0.1,
        ..config(4_000)
    });
    // Binomial(4000, 0.1): mean 400, sd ≈ 19: allow 5 sd.
    let failed = report.stats.failed;
    assert!(
        (305..=495).contains(&failed),
        "{failed} failures out of 4000 at p = 0.1"
    );
}

#[test]
fn the_same_seed_fails_the_same_items_whoever_runs_them() {
    let failed_ids = |config: SimConfig| {
        let mut ids: Vec<u64> = run_keeping_all(&config)
            .all_results
            .unwrap()
            .into_iter()
            .filter(|r| r.status == TaskStatus::Failed)
            .map(|r| r.task_id.0)
            .collect();
        ids.sort_unstable();
        ids
    };
    let base = SimConfig {
        failure_rate: 0.3,
        ..config(500)
    };
    let reference = failed_ids(base.clone());
    assert!(!reference.is_empty());
    assert_eq!(
        failed_ids(SimConfig {
            consumers: 1,
            ..base.clone()
        }),
        reference
    );
    assert_eq!(
        failed_ids(SimConfig {
            producers: 3,
            queue: QueueKind::Condvar,
            ..base.clone()
        }),
        reference
    );
    assert_ne!(
        failed_ids(SimConfig { seed: 8, ..base }),
        reference,
        "another seed, other failures"
    );
}

#[test]
fn one_consumer_serves_higher_priority_first_and_equal_priorities_in_order() {
    let config = SimConfig {
        consumers: 1,
        capacity: 200,
        priorities: 4,
        queue: QueueKind::Priority,
        ..config(200)
    };
    // The first item holds the only consumer long enough for the producer to
    // queue every other item, so from then on the queue alone decides the order.
    let first = std::sync::atomic::AtomicBool::new(true);
    let job = move |_: &WorkItem| -> Result<(), String> {
        // Whichever item comes first (the consumer may start before the
        // producer has queued much), hold it while the rest is queued.
        if first.swap(false, std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    };
    let report = run_job_keeping_all(&config, job);
    let order: Vec<(u32, u64)> = report
        .all_results
        .unwrap()
        .iter()
        .skip(1)
        .map(|r| (r.priority, r.task_id.0))
        .collect();
    for pair in order.windows(2) {
        let ((p1, id1), (p2, id2)) = (pair[0], pair[1]);
        assert!(
            p1 > p2 || (p1 == p2 && id1 < id2),
            "task-{id1:04} (priority {p1}) was served before task-{id2:04} (priority {p2})"
        );
    }
}

#[test]
fn idle_consumers_time_out_and_the_rest_is_reported_unprocessed() {
    // Items are due every 200 ms but consumers give up after 30 ms of waiting.
    let config = SimConfig {
        consumers: 2,
        rate_per_s: Some(5.0),
        timeout_s: Some(0.03),
        ..config(1_000)
    };
    let started = Instant::now();
    let report = run_keeping_all(&config);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the run ended {:?} after starting",
        started.elapsed()
    );
    assert_every_item_ends_once(&report, "");
    assert_eq!(report.stats.consumers_timed_out, 2);
    assert_eq!(
        report.stats.produced, 1_000,
        "items producers could not deliver still count as produced"
    );
    assert!(report.stats.unprocessed >= 990, "{:#?}", report.stats);
}

#[test]
fn a_timeout_longer_than_the_gaps_never_fires() {
    let config = SimConfig {
        processing_time_s: 0.001,
        timeout_s: Some(2.0),
        ..config(60)
    };
    let report = run_keeping_all(&config);
    assert_eq!(report.stats.consumed, 60);
    assert_eq!(report.stats.consumers_timed_out, 0);
}

#[test]
fn an_interrupt_stops_producing_and_keeps_the_books() {
    let config = SimConfig {
        processing_time_s: 0.002,
        ..config(100_000)
    };
    let options = RunOptions::default();
    let stop = options.stop.clone();
    let report = within("an interrupted run", move || {
        let job = SimulatedJob::new(&config);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                stop.raise(queue_sim::StopReason::Interrupted);
            });
            run_with(&config, &job, options).unwrap()
        })
    });
    assert!(report.interrupted);
    assert!(
        report.stats.produced < 100_000,
        "producing stopped early: {:#?}",
        report.stats
    );
    assert!(report.stats.accounting_holds(), "{:#?}", report.stats);
}

#[test]
fn a_rendezvous_queue_never_holds_an_item() {
    let report = run_keeping_all(&SimConfig {
        capacity: 0,
        producers: 2,
        ..config(200)
    });
    assert_eq!(report.stats.max_queue_depth, 0);
    assert_every_item_ends_once(&report, "");
}

#[test]
fn a_full_queue_reaches_its_capacity_and_no_more() {
    // One slow consumer, a fast producer: the queue fills up and stays full.
    let config = SimConfig {
        consumers: 1,
        capacity: 5,
        processing_time_s: 0.002,
        ..config(40)
    };
    let report = run_keeping_all(&config);
    assert_eq!(report.stats.max_queue_depth, 5);
}

#[test]
fn sleeping_work_reaches_most_of_its_ideal_throughput() {
    // 8 sleeping consumers × 1 / 5 ms = 1600 items/s. Sleep only oversleeps, so
    // the measured figure can only fall short: one-sided and generous.
    let config = SimConfig {
        consumers: 8,
        processing_time_s: 0.005,
        ..config(400)
    };
    let report = run_keeping_all(&config);
    assert_eq!(report.stats.ideal_throughput_per_s, Some(1600.0));
    let efficiency = report.stats.efficiency.unwrap();
    assert!(
        (0.3..=1.05).contains(&efficiency),
        "efficiency {efficiency}"
    );
}

#[test]
fn efficiency_measures_queueing_not_how_late_sleepers_wake() {
    // Each attempt sleeps three times the 2 ms it should, as a badly loaded
    // host's timer might: throughput falls to about a third of the ideal, but
    // the queue kept every consumer busy, and efficiency says so.
    let config = SimConfig {
        consumers: 4,
        processing_time_s: 0.002,
        ..config(200)
    };
    let late = |_: &WorkItem| -> Result<(), String> {
        std::thread::sleep(Duration::from_millis(6));
        Ok(())
    };
    let report = run_job_keeping_all(&config, late);
    let stats = &report.stats;
    let oversleep = stats
        .oversleep_ms
        .expect("sleeping work reports its oversleep");
    assert!(oversleep >= 3.9, "{stats:#?}");
    let ideal = stats.ideal_throughput_per_s.unwrap();
    assert_eq!(ideal, 2000.0);
    assert!(stats.throughput_per_s / ideal < 0.4, "{stats:#?}");
    let efficiency = stats.efficiency.unwrap();
    assert!(
        efficiency > 0.6 && efficiency <= 1.05,
        "efficiency {efficiency} should discount the oversleep: {stats:#?}"
    );
}

#[test]
fn spin_and_zero_time_work_report_no_oversleep() {
    let spin = run_keeping_all(&SimConfig {
        processing_time_s: 0.001,
        work: queue_sim::WorkKind::Spin,
        ..config(20)
    });
    assert_eq!(spin.stats.oversleep_ms, None);
    assert_eq!(run_keeping_all(&config(20)).stats.oversleep_ms, None);
}

#[test]
fn an_invalid_configuration_starts_nothing() {
    let err = queue_sim::run(&SimConfig {
        consumers: 0,
        ..config(10)
    })
    .unwrap_err();
    assert!(err.to_string().contains("--consumers"), "{err}");
}
