//! Why notifying on every operation is slow, measured.
//!
//! `cargo run --release -p lesson-09 --example notify_cost`
//!
//! One producer, four consumers, capacity 100, 200,000 items, through: your
//! queue notifying after every put and get (the textbook version), your queue
//! notifying only when someone waits, and crossbeam-channel. Medians of 5 runs.
//!
//! With four consumers on two cores the consumers drain the queue faster than
//! one producer fills it, so they are nearly always asleep: every put wakes one —
//! a system call, two context switches, and a fight for the mutex. Counting the
//! sleepers saves the calls when nobody sleeps, which under this load is rarely.
//! What the reference simulator does on top (see `src/queue/blocking.rs` at the
//! kit's root) is spin briefly before sleeping: an item usually arrives within a
//! microsecond, so a consumer that waits a few spins and `yield_now`s catches it
//! without sleeping, and there is rarely anyone to wake. crossbeam does the same.
//! In the simulator that took the hand-made queue from about 0.85 to 3.0–3.4
//! million items per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lesson_09::{BlockingQueue, ChannelQueue, CondvarQueue, Notify, run_all};

const ITEMS: u64 = 200_000;

fn median_rate<Q: BlockingQueue<u64> + 'static>(make: impl Fn() -> Q) -> f64 {
    let mut runs: Vec<Duration> = (0..5)
        .map(|_| {
            let queue = Arc::new(make());
            let started = Instant::now();
            let got = run_all(queue, 1, 4, ITEMS);
            assert_eq!(
                got.iter().map(Vec::len).sum::<usize>() as u64,
                ITEMS,
                "items were lost"
            );
            started.elapsed()
        })
        .collect();
    runs.sort();
    ITEMS as f64 / runs[2].as_secs_f64()
}

// ANCHOR: main
fn main() {
    let crossbeam = median_rate(|| ChannelQueue::new(100));
    let always = median_rate(|| CondvarQueue::with_notify(100, Notify::Always));
    let when_waiting = median_rate(|| CondvarQueue::with_notify(100, Notify::WhenWaiting));
    println!("1 producer, 4 consumers, capacity 100, {ITEMS} items (median of 5 runs):\n");
    for (name, rate) in [
        ("crossbeam-channel", crossbeam),
        ("your queue, notify every time", always),
        ("your queue, notify when waiting", when_waiting),
    ] {
        println!(
            "  {name:<33} {:>6.2} M items/s   {:>5.2}x crossbeam",
            rate / 1e6,
            rate / crossbeam
        );
    }
}
// ANCHOR_END: main
