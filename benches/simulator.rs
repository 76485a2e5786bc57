//! The whole simulator at zero processing time: queue, producers, consumers,
//! statistics and all, on each backend.
//!
//! `cargo bench --bench simulator`.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use queue_sim::config::Choice;
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

criterion_group!(benches, simulator);
criterion_main!(benches);
