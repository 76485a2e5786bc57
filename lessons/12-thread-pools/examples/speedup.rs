//! How much faster is a pool? Measures, on this machine, jobs that wait
//! (sleep, like I/O) and jobs that compute (spin, CPU-bound) on pools of 1, 2,
//! 4 and 8 threads, then tiny jobs one per task against the same jobs batched.
//!
//! ```sh
//! cargo run --release -p lesson-12 --example speedup
//! ```
//!
//! It runs your pool: it works once `cargo test -p lesson-12` passes.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use lesson_12::{ThreadPool, map_chunked, run_all};

/// Jobs per measurement, and how long each takes when it runs alone.
const JOBS: usize = 16;
const JOB_TIME: Duration = Duration::from_millis(25);

// ANCHOR: work
/// CPU-bound work: a fixed number of rounds of arithmetic. A fixed *amount of
/// work*, not a fixed time: spinning until a clock says 25 ms would take 25 ms
/// however many threads share a core, and fake a speed-up.
fn spin(rounds: u64) -> u64 {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..rounds {
        // xorshift: cheap, and nothing the optimiser can skip.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    black_box(x)
}

/// How many rounds of [`spin`] take about `JOB_TIME` on one core here.
fn rounds_for_job_time() -> u64 {
    let mut rounds = 1_000;
    loop {
        let started = Instant::now();
        spin(rounds);
        let took = started.elapsed();
        if took >= JOB_TIME / 4 {
            return (rounds as f64 * JOB_TIME.as_secs_f64() / took.as_secs_f64()) as u64;
        }
        rounds *= 2;
    }
}
// ANCHOR_END: work

/// One kind of job to measure: `job(arg)` takes about `JOB_TIME` alone.
struct Kind {
    name: &'static str,
    job: fn(u64),
    arg: u64,
}

/// Time to run `JOBS` copies of `job` on a pool of `threads`.
fn time_on_pool(threads: usize, job: fn(u64), arg: u64) -> Duration {
    let pool = ThreadPool::new(threads);
    let started = Instant::now();
    let jobs: Vec<_> = (0..JOBS).map(|_| move || job(arg)).collect();
    for result in run_all(&pool, jobs) {
        result.expect("a job panicked");
    }
    started.elapsed()
}

fn main() {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let rounds = rounds_for_job_time();
    println!("{JOBS} jobs of about {JOB_TIME:?} each; this machine has {cores} cores\n");
    println!(
        "{:<6} {:>7} {:>10} {:>9}",
        "work", "threads", "time", "speed-up"
    );
    // ANCHOR: measure
    let kinds = [
        Kind {
            name: "sleep",
            job: |ms| thread::sleep(Duration::from_millis(ms)),
            arg: 25,
        },
        Kind {
            name: "spin",
            job: |rounds| {
                spin(rounds);
            },
            arg: rounds,
        },
    ];
    for Kind { name, job, arg } in kinds {
        let alone = time_on_pool(1, job, arg);
        for threads in [1, 2, 4, 8] {
            let took = if threads == 1 {
                alone
            } else {
                time_on_pool(threads, job, arg)
            };
            let speedup = alone.as_secs_f64() / took.as_secs_f64();
            println!("{name:<6} {threads:>7} {took:>10.1?} {speedup:>8.1}x");
        }
    }
    // ANCHOR_END: measure

    // ANCHOR: batching
    let tiny: Vec<u64> = (0..100_000).collect();
    let pool = ThreadPool::new(cores);
    let started = Instant::now();
    let one_each: Vec<_> = tiny.iter().map(|&x| move || x * 2).collect();
    let singles: u64 = run_all(&pool, one_each)
        .into_iter()
        .map(Result::unwrap)
        .sum();
    let per_task = started.elapsed();
    let started = Instant::now();
    let batched: u64 = map_chunked(&pool, tiny, 1_000, |x| x * 2)
        .expect("no job panics")
        .into_iter()
        .sum();
    let in_chunks = started.elapsed();
    assert_eq!(singles, batched, "both ways compute the same");
    // ANCHOR_END: batching
    println!(
        "\n100000 tiny jobs: one task each {per_task:.1?}, 1000 to a task {in_chunks:.1?} \
         ({:.0}x faster)",
        per_task.as_secs_f64() / in_chunks.as_secs_f64()
    );
}
