//! High-contention configurations, run again and again: many threads fighting
//! over a one-slot queue, a rendezvous, a priority queue full of equal
//! priorities. No run may hang, lose an item or count one twice.

mod support;

use std::time::Instant;

use queue_sim::{QueueKind, SimConfig};
use support::{assert_every_item_ends_once, run_keeping_all};

/// Repetitions of each configuration; STRESS_ROUNDS to hunt longer.
fn rounds() -> usize {
    std::env::var("STRESS_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
}

fn contended(queue: QueueKind, capacity: usize, priorities: u32) -> SimConfig {
    SimConfig {
        items: 2_000,
        producers: 8,
        consumers: 16,
        capacity,
        processing_time_s: 0.0,
        failure_rate: 0.2,
        retries: 2,
        priorities,
        queue,
        seed: 99,
        sample: 0,
        ..SimConfig::default()
    }
}

fn hammer(name: &str, config: SimConfig) {
    let started = Instant::now();
    for round in 0..rounds() {
        let config = SimConfig {
            seed: round as u64,
            ..config.clone()
        };
        let report = run_keeping_all(&config);
        let stats = &report.stats;
        assert_eq!(stats.produced, 2_000, "{name}, round {round}");
        assert_eq!(stats.unprocessed, 0, "{name}, round {round}");
        assert_every_item_ends_once(&report, format_args!("{name}, round {round}"));
    }
    // How long is shown, not asserted: each run has its own watchdog (a
    // hang fails there, naming it), and a total-time limit only failed when
    // the machine was busy (3 of 6 at load 40), which says nothing of the queues.
    eprintln!("{name}: {} rounds in {:?}", rounds(), started.elapsed());
}

#[test]
fn channel_with_one_slot_8_producers_16_consumers() {
    hammer("channel, capacity 1", contended(QueueKind::Channel, 1, 1));
}

#[test]
fn condvar_with_one_slot_8_producers_16_consumers() {
    hammer("condvar, capacity 1", contended(QueueKind::Condvar, 1, 1));
}

#[test]
fn channel_rendezvous_8_producers_16_consumers() {
    hammer("channel, rendezvous", contended(QueueKind::Channel, 0, 1));
}

#[test]
fn condvar_rendezvous_8_producers_16_consumers() {
    hammer("condvar, rendezvous", contended(QueueKind::Condvar, 0, 1));
}

#[test]
fn priority_queue_with_many_equal_priorities() {
    hammer(
        "priority, 2 levels, capacity 1",
        contended(QueueKind::Priority, 1, 2),
    );
}

#[test]
fn priority_rendezvous() {
    hammer("priority, rendezvous", contended(QueueKind::Priority, 0, 2));
}
