//! The Python seed's racy statistics, written in Rust. This file does NOT
//! compile, on purpose — that is the lesson. See it for yourself:
//!
//!     rustc --edition 2024 lessons/06-worker-stats/racy/racy.rs
//!
//! (It is not part of the crate, so `cargo test` never builds it.)

use std::thread;

#[derive(Debug, Default)]
struct Stats {
    consumed: u64,
}

// ANCHOR: racy
fn main() {
    let mut stats = Stats::default();
    thread::scope(|scope| {
        for _ in 0..4 {
            // Four threads, each with its own `&mut stats`: rejected with E0499,
            // "cannot borrow `stats.consumed` as mutable more than once at a time".
            scope.spawn(|| {
                for _ in 0..1000 {
                    stats.consumed += 1;
                }
            });
        }
    });
    println!("{stats:?}");
}
// ANCHOR_END: racy
