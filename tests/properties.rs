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

use std::time::{Duration, Instant};

use proptest::prelude::*;
use queue_sim::{QueueKind, SimConfig};
use support::{assert_every_item_ends_once, run_keeping_all};

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
        let report = run_keeping_all(&config);
        prop_assert!(started.elapsed() < RUN_BOUND, "took {:?}", started.elapsed());

        let stats = &report.stats;
        prop_assert_eq!(stats.produced, config.items, "nothing interrupts these runs, so every item is produced");
        assert_every_item_ends_once(&report, format!("{config:?}"));
        prop_assert!(stats.max_queue_depth <= config.capacity);
        if config.timeout_s.is_none() {
            prop_assert_eq!(stats.unprocessed, 0, "without a timeout nothing is left behind");
        }
        if config.retries == 0 {
            prop_assert_eq!(stats.dead_lettered, 0);
        }
    }
}
