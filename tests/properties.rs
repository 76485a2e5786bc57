//! Properties of every run, over random configurations (proptest).
//!
//! Whatever the configuration — threads, capacity (0 is a rendezvous), failure
//! rate, priorities, retries, backend, idle timeout — a run ends in bounded
//! time, and every produced item ends in exactly one final outcome.
//!
//! A failing case is shrunk to a minimal configuration and saved in
//! `proptest-regressions/properties.txt`, which is committed: it runs first,
//! every time, from then on.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use queue_sim::{QueueKind, RunOptions, SimConfig, SimulatedJob, TaskStatus, run_with};

/// How long one run may take here before it counts as hung (the slowest valid
/// case, 200 items at 100 per second, takes 2 s).
const RUN_BOUND: Duration = Duration::from_secs(20);

fn configs() -> impl Strategy<Value = SimConfig> {
    (
        (0u64..2000, 1usize..=4, 1usize..=8, 0usize..=64),
        (
            prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64],
            1u32..=5,
            0u32..=3,
        ),
        (
            prop::bool::ANY,
            prop::option::of(0.0005..0.005f64),
            prop::option::of(prop_oneof![20_000.0..200_000.0f64, 100.0..2_000.0f64]),
        ),
        any::<u64>(),
    )
        .prop_map(
            |(
                (items, producers, consumers, capacity),
                (failure_rate, priorities, retries),
                (condvar, timeout_s, rate_per_s),
                seed,
            )| {
                let queue = match (priorities > 1, condvar) {
                    (true, _) => QueueKind::Priority,
                    (false, true) => QueueKind::Condvar,
                    (false, false) => QueueKind::Channel,
                };
                // A slow producer (under 2000 items/s) makes a run take items / rate
                // seconds: keep those runs short.
                let items = match (rate_per_s, timeout_s) {
                    (Some(rate), None) if rate < 2_000.0 => items.min(20),
                    (Some(rate), Some(_)) if rate < 2_000.0 => items.min(200),
                    _ => items,
                };
                SimConfig {
                    items,
                    producers,
                    consumers,
                    capacity,
                    processing_time_s: 0.0,
                    failure_rate,
                    rate_per_s,
                    priorities,
                    timeout_s,
                    retries,
                    queue,
                    seed,
                    sample: 5,
                    ..SimConfig::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES=5000 for a longer hunt.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512),
        // Each case starts threads; shrinking a hang should not take forever.
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_item_ends_exactly_once_and_every_run_ends(config in configs()) {
        let started = Instant::now();
        let report = {
            let config = config.clone();
            support::within("a random configuration", move || {
                let options = RunOptions { keep_all_results: true, ..RunOptions::default() };
                run_with(&config, &SimulatedJob::new(&config), options).expect("the strategy makes only valid configurations")
            })
        };
        prop_assert!(started.elapsed() < RUN_BOUND, "took {:?}", started.elapsed());

        let stats = &report.stats;
        prop_assert!(stats.accounting_holds(), "accounting broken: {:?}", stats);
        prop_assert_eq!(stats.produced, config.items, "nothing interrupts these runs, so every item is produced");

        let mut outcomes: HashMap<u64, TaskStatus> = HashMap::new();
        for result in report.all_results.as_ref().unwrap() {
            prop_assert!(
                outcomes.insert(result.task_id.0, result.status).is_none(),
                "{} has two final outcomes", result.task_id
            );
        }
        prop_assert_eq!(outcomes.len() as u64, config.items, "every id has an outcome");
        prop_assert!(outcomes.keys().all(|&id| id < config.items));

        let attempts: u64 = report.workers.iter().map(|w| w.processed).sum();
        prop_assert_eq!(attempts, stats.consumed + stats.failed + stats.dead_lettered + stats.retried);
        prop_assert!(stats.max_queue_depth <= config.capacity);
        if config.timeout_s.is_none() {
            prop_assert_eq!(stats.unprocessed, 0, "without a timeout nothing is left behind");
        }
        if config.retries == 0 {
            prop_assert_eq!(stats.dead_lettered, 0);
        }
    }
}
