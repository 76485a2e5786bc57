//! The three queue backends against crossbeam-channel and std's sync_channel:
//! one producer and one consumer, four of each, at capacity 1 and 100.
//!
//! `cargo bench --bench queues`; `cargo xtask bench` gives a quick table instead.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use queue_sim::throughput::{self, Shape};

const ITEMS: u64 = 50_000;

fn queues(c: &mut Criterion) {
    for shape in throughput::every_shape(ITEMS) {
        let Shape {
            producers,
            consumers,
            capacity,
            ..
        } = shape;
        let mut group = c.benchmark_group(format!("{producers}p{consumers}c_capacity{capacity}"));
        group
            .throughput(Throughput::Elements(ITEMS))
            .sample_size(10)
            .measurement_time(Duration::from_secs(3));
        for (name, measure) in throughput::every_way() {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iterations| (0..iterations).map(|_| measure(shape)).sum())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, queues);
criterion_main!(benches);
