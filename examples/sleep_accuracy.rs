//! How long a "1 ms" sleep really takes on this machine, and what making it
//! accurate costs: `std::thread::sleep` against `spin_sleep` (native sleep to
//! just before the deadline, then yield-spin), with 1 and 8 sleeping threads.
//! Behind the README's "Sleeping work and the host's timer".
//!
//! `cargo run --release --example sleep_accuracy [SLEEPS_PER_THREAD]`
//!
//! One line per case: the mean and 99th percentile of the time a sleep took, as
//! a ratio to the time asked, and the CPU time the process burned per sleep.

use std::time::{Duration, Instant};

/// One way of sleeping for a duration.
type Sleep = fn(Duration);

fn native(duration: Duration) {
    std::thread::sleep(duration);
}

fn spin_sleep_default(duration: Duration) {
    spin_sleep::sleep(duration);
}

fn spin_sleep_1ms(duration: Duration) {
    // Trusts the native sleep only to within a whole millisecond: at 1 ms, a pure yield-spin.
    spin_sleep::SpinSleeper::new(1_000_000).sleep(duration);
}

/// The calling thread's CPU time so far (the kit's one clock for it).
fn cpu_time() -> Duration {
    host::thread_cpu_time().expect("this platform has a per-thread CPU clock")
}

fn measure(sleep: Sleep, threads: usize, asked: Duration, sleeps: usize) -> (f64, f64, Duration) {
    let (mut took, cpu) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let cpu_before = cpu_time();
                    let took = (0..sleeps)
                        .map(|_| {
                            let started = Instant::now();
                            sleep(asked);
                            started.elapsed()
                        })
                        .collect::<Vec<_>>();
                    (took, cpu_time() - cpu_before)
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut cpu = Duration::ZERO;
        for handle in handles {
            let (took, spent) = handle.join().expect("a sleeper panicked");
            all.extend(took);
            cpu += spent;
        }
        (all, cpu)
    });
    took.sort();
    let mean = took.iter().sum::<Duration>().as_secs_f64() / took.len() as f64;
    let p99 = took[took.len() * 99 / 100].as_secs_f64();
    let asked_s = asked.as_secs_f64();
    (mean / asked_s, p99 / asked_s, cpu / took.len() as u32)
}

fn main() {
    let sleeps: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let ways: [(&str, Sleep); 3] = [
        ("thread::sleep", native),
        ("spin_sleep (125 µs)", spin_sleep_default),
        ("spin_sleep (1 ms)", spin_sleep_1ms),
    ];
    println!(
        "{:<22}{:>8}{:>10}{:>12}{:>12}{:>16}",
        "way", "threads", "asked", "mean/asked", "p99/asked", "CPU per sleep"
    );
    for asked in [Duration::from_millis(1), Duration::from_millis(10)] {
        let sleeps = if asked >= Duration::from_millis(10) {
            sleeps / 5
        } else {
            sleeps
        };
        for threads in [1, 8] {
            for (name, sleep) in ways {
                let (mean, p99, cpu) = measure(sleep, threads, asked, sleeps);
                println!(
                    "{name:<22}{threads:>8}{:>8} ms{mean:>12.3}{p99:>12.3}{:>13.1} µs",
                    asked.as_millis(),
                    cpu.as_secs_f64() * 1e6
                );
            }
        }
    }
}
