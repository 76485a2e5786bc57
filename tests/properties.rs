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

/// The edges of every real-valued setting and of `--items`, in runs that end
/// by idle timeouts: rates down to 5e-324 items per second (later items due
/// after more seconds than a `Duration` holds), up to `u64::MAX` items,
/// processing times of -0 and below a nanosecond.
fn edge_configs() -> impl Strategy<Value = SimConfig> {
    (
        prop_oneof![
            Just(0u64),
            0u64..50,
            Just(u64::MAX),
            (u64::MAX / 2)..=u64::MAX
        ],
        prop_oneof![
            Just(5e-324),
            Just(1e-300),
            Just(1e-20),
            Just(1e-19),
            1e-12..1e-3f64,
            Just(1.0)
        ],
        prop_oneof![Just(0.0), Just(-0.0), Just(5e-324), Just(1e-10), Just(1e-9)],
        prop_oneof![Just(-0.0), Just(0.0), 0.0..=1.0f64],
        (1usize..=3, 1usize..=3, 0usize..=4),
        any::<u64>(),
    )
        .prop_map(
            |(
                items,
                rate,
                processing_time_s,
                failure_rate,
                (producers, consumers, capacity),
                seed,
            )| {
                SimConfig {
                    items,
                    producers,
                    consumers,
                    capacity,
                    processing_time_s,
                    failure_rate,
                    rate_per_s: Some(rate),
                    timeout_s: Some(0.005),
                    seed,
                    sample: 3,
                    ..SimConfig::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128),
        max_shrink_iters: 100,
        ..ProptestConfig::default()
    })]

    #[test]
    fn edge_values_never_panic_and_keep_the_books(config in edge_configs()) {
        let started = Instant::now();
        let report = {
            let config = config.clone();
            support::within("an edge configuration", move || {
                queue_sim::run(&config).expect("the strategy makes only valid configurations")
            })
        };
        prop_assert!(started.elapsed() < RUN_BOUND, "took {:?}", started.elapsed());
        let stats = &report.stats;
        prop_assert!(report.accounting_holds(), "accounting broken: {:?}", stats);
        prop_assert_eq!(stats.produced, config.items, "the rest is counted, however many");
        let echoed = &report.config;
        prop_assert!(echoed.processing_time_s.is_sign_positive(), "{:?}", echoed);
        prop_assert!(echoed.failure_rate.is_sign_positive(), "{:?}", echoed);
        prop_assert_eq!(
            echoed.processing_time_s,
            config.processing_time().as_secs_f64(),
            "the echo is the time the run used"
        );
        match (stats.ideal_throughput_per_s, stats.efficiency) {
            (None, efficiency) => prop_assert!(efficiency.is_none(), "no ideal: {:?}", stats),
            (Some(_), Some(efficiency)) => prop_assert!(
                efficiency.is_finite() && stats.produced > 0,
                "{:?}", stats
            ),
            // Null beside an ideal: no item, or an ideal next to zero.
            (Some(ideal), None) => prop_assert!(
                stats.produced == 0 || !(stats.throughput_per_s / ideal).is_finite(),
                "{:?}", stats
            ),
        }
    }
}
