//! The whole simulator at zero processing time: queue, producers, consumers,
//! statistics and all, on each backend; and what timing one attempt costs.
//!
//! `cargo bench --bench simulator` (`-- clock` for the clock reads alone).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use queue_sim::Choice;
use queue_sim::{QueueKind, SimConfig};

const ITEMS: u64 = 200_000;

fn simulator(c: &mut Criterion) {
    let mut group = c.benchmark_group("simulator_4_consumers_capacity_100");
    group
        .throughput(Throughput::Elements(ITEMS))
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    for &queue in QueueKind::ALL {
        let config = SimConfig {
            items: ITEMS,
            consumers: 4,
            capacity: 100,
            processing_time_s: 0.0,
            failure_rate: 0.0,
            queue,
            seed: 1,
            ..SimConfig::default()
        };
        group.bench_function(BenchmarkId::from_parameter(queue.name()), |b| {
            b.iter(|| queue_sim::run(&config).expect("a valid configuration"))
        });
    }
    group.finish();
}

/// A consumer reads the clock twice per attempt: at zero processing time that is
/// its biggest fixed cost, which is why it reads quanta's raw counter.
fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock_read");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(1));
    let quanta = quanta::Clock::new();
    group.bench_function("quanta_raw", |b| b.iter(|| quanta.raw()));
    group.bench_function("std_instant_now", |b| b.iter(std::time::Instant::now));
    group.finish();
}

criterion_group!(benches, simulator, clock);
criterion_main!(benches);
