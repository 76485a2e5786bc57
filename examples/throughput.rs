//! Queue throughput, quick: each backend and the two references, in each shape,
//! the median of three runs, as one JSON object per line. `cargo xtask bench`
//! turns this into a table; `cargo bench --bench queues` is the careful version.
//!
//! `cargo run --release --example throughput [ITEMS]`

use std::io::Write;
use std::time::Duration;

use queue_sim::throughput::{self, Shape};

fn main() {
    let mut out = std::io::stdout().lock();
    let items: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let ways = throughput::every_way();
    for shape in throughput::every_shape(items) {
        let Shape {
            producers,
            consumers,
            capacity,
            ..
        } = shape;
        for (way, measure) in ways {
            let mut runs: Vec<Duration> = (0..3).map(|_| measure(shape)).collect();
            runs.sort();
            let per_second = throughput::per_second(items, runs[1]);
            let line = format!(
                r#"{{"way":"{way}","producers":{producers},"consumers":{consumers},"capacity":{capacity},"items":{items},"per_second":{per_second:.0}}}"#
            );
            // A closed pipe (`| head`) ends the measurement quietly.
            if writeln!(out, "{line}").is_err() {
                return;
            }
        }
    }
}
