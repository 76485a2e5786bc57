//! What notifying costs, and what to do about it — measured.
//!
//! `cargo run --release -p lesson-09 --example notify_cost`
//!
//! One producer, four consumers, capacity 100, 200,000 items, through
//! crossbeam-channel and through your queue three ways: notifying after every
//! put and get (the textbook version), notifying only when somebody waits, and
//! notifying only when somebody waits after a brief spin before each sleep.
//! For each: the throughput (median of 5 runs) and how often a thread went to
//! sleep. Every sleep is a thread that a later put or get has to wake — a
//! system call, a context switch, and a fight for the mutex — so the sleeps are
//! the cost, and the count is steadier from machine to machine than the time.
//!
//! Then the price of one `notify_one` with nobody waiting, for `parking_lot`'s
//! condvar and for std's: that is all that "notify only when somebody waits"
//! can save.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lesson_09::{BlockingQueue, ChannelQueue, CondvarQueue, GetError, Notify, PutError, run_all};
use lesson_support::times_slept;

const ITEMS: u64 = 200_000;
const RUNS: usize = 5;

// ANCHOR: spin_first
/// Any queue, with a brief spin before each blocking `put` or `get`: try
/// without waiting a few times, pausing a little longer after each try, and
/// only then block. An item (or a free slot) usually turns up within a
/// microsecond, so a thread rarely gets as far as sleeping — and a thread that
/// is not asleep needs no waking.
struct SpinFirst<Q>(Q);

/// Tries before blocking: six spins of 1, 2, 4 … 32 pauses, then four yields.
const TRIES: u32 = 10;

fn pause(attempt: u32) {
    if attempt < 6 {
        for _ in 0..1 << attempt {
            std::hint::spin_loop();
        }
    } else {
        // Spinning longer would only take the core from the thread we wait for.
        thread::yield_now();
    }
}

impl<T, Q: BlockingQueue<T>> BlockingQueue<T> for SpinFirst<Q> {
    fn put(&self, mut item: T) -> Result<(), PutError<T>> {
        for attempt in 0..TRIES {
            // A zero timeout is a try: put now, or hand the item back.
            match self.0.put_timeout(item, Duration::ZERO) {
                Err(PutError::Full(back)) => item = back,
                done => return done,
            }
            pause(attempt);
        }
        self.0.put(item)
    }

    fn get(&self) -> Option<T> {
        for attempt in 0..TRIES {
            match self.0.get_timeout(Duration::ZERO) {
                Ok(item) => return Some(item),
                Err(GetError::Closed) => return None,
                Err(GetError::Empty) => pause(attempt),
            }
        }
        self.0.get()
    }

    fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.0.put_timeout(item, timeout)
    }

    fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.0.get_timeout(timeout)
    }

    fn close(&self) {
        self.0.close()
    }
}
// ANCHOR_END: spin_first

/// One queue's showing: the median run's throughput and sleeps.
struct Measured {
    items_per_s: f64,
    /// `None` where the platform does not count sleeps.
    sleeps: Option<u64>,
}

fn measure<Q: BlockingQueue<u64> + 'static>(make: impl Fn() -> Q) -> Measured {
    let mut runs: Vec<(Duration, Option<u64>)> = (0..RUNS)
        .map(|_| {
            let queue = Arc::new(make());
            let slept_before = times_slept();
            let started = Instant::now();
            let got = run_all(queue, 1, 4, ITEMS);
            let took = started.elapsed();
            let sleeps = times_slept().zip(slept_before).map(|(a, b)| a - b);
            assert_eq!(
                got.iter().map(Vec::len).sum::<usize>() as u64,
                ITEMS,
                "items were lost"
            );
            (took, sleeps)
        })
        .collect();
    runs.sort_by_key(|(took, _)| *took);
    let (took, sleeps) = runs[RUNS / 2];
    Measured {
        items_per_s: ITEMS as f64 / took.as_secs_f64(),
        sleeps,
    }
}

/// Nanoseconds per `notify` call, with nobody waiting.
fn notify_cost_ns<R>(notify: impl Fn() -> R) -> f64 {
    const CALLS: u32 = 1_000_000;
    let started = Instant::now();
    for _ in 0..CALLS {
        // black_box: the optimiser must not drop calls it can see through.
        black_box(notify());
    }
    started.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn main() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    // ANCHOR: rows
    let rows = [
        ("crossbeam-channel", measure(|| ChannelQueue::new(100))),
        (
            "your queue, notify every time",
            measure(|| CondvarQueue::with_notify(100, Notify::Always)),
        ),
        (
            "your queue, notify when waiting",
            measure(|| CondvarQueue::with_notify(100, Notify::WhenWaiting)),
        ),
        (
            "... and spin before sleeping",
            measure(|| SpinFirst(CondvarQueue::with_notify(100, Notify::WhenWaiting))),
        ),
    ];
    // ANCHOR_END: rows
    println!(
        "1 producer, 4 consumers, capacity 100, {ITEMS} items, median of {RUNS} runs, {cores} cores\n"
    );
    println!(
        "  {:<33} {:>9}  {:>11}  {:>15}",
        "queue", "M items/s", "x crossbeam", "sleeps per item"
    );
    let crossbeam = rows[0].1.items_per_s;
    for (name, row) in &rows {
        let sleeps = row.sleeps.map_or("n/a".to_string(), |s| {
            format!("{:.3}", s as f64 / ITEMS as f64)
        });
        println!(
            "  {name:<33} {:>9.2}  {:>10.2}x  {sleeps:>15}",
            row.items_per_s / 1e6,
            row.items_per_s / crossbeam
        );
    }

    let parking_lot = parking_lot::Condvar::new();
    let std = std::sync::Condvar::new();
    println!(
        "\nnotify_one with nobody waiting: parking_lot {:.0} ns, std {:.0} ns",
        notify_cost_ns(|| parking_lot.notify_one()),
        notify_cost_ns(|| std.notify_one()),
    );
}
