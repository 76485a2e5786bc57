//! Lesson 13 — a tokio worker pool: every job once, shutdown by dropping the
//! sender, failures and panics contained, and no task that blocks its thread.
//!
//! The tests run on a current-thread runtime with a *paused* clock: when every
//! task is waiting on a timer, tokio jumps the clock forward. So "8 jobs of
//! 100 ms on 4 workers" takes exactly 200 virtual ms and almost no real time —
//! unless something blocks the thread, which shows up as real time.

use std::future::Future;
use std::time::{Duration, Instant};

use lesson_13::{Behaviour, Job, Report, process, run_pool};
use lesson_support::finishes;

const HUNG_POOL: &str = "run_pool never returned. The workers end when recv() returns None, which \
     happens only once every Sender is dropped: drop the sender after sending the last job, \
     before awaiting the workers";

/// Runs `future` to completion on a fresh current-thread runtime whose clock is
/// paused, under a watchdog; returns its output and the virtual time it took.
fn on_paused_runtime<F>(what: &str, hint: &str, future: F) -> (F::Output, Duration)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    finishes(what, hint, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async move {
            let started = tokio::time::Instant::now();
            let output = future.await;
            (output, started.elapsed())
        })
    })
}

fn jobs(n: u64, ms: u64, behaviour: impl Fn(u64) -> Behaviour) -> Vec<Job> {
    (0..n)
        .map(|id| Job {
            id,
            duration: Duration::from_millis(ms),
            behaviour: behaviour(id),
        })
        .collect()
}

fn ms(duration: Duration) -> u128 {
    duration.as_millis()
}

#[test]
fn a_job_waits_its_time_then_succeeds_or_fails() {
    let ((ok, failed), took) = on_paused_runtime("process(two jobs)", "none expected", async {
        let ok = process(Job {
            id: 1,
            duration: Duration::from_millis(30),
            behaviour: Behaviour::Succeed,
        })
        .await;
        let failed = process(Job {
            id: 2,
            duration: Duration::from_millis(20),
            behaviour: Behaviour::Fail,
        })
        .await;
        (ok, failed)
    });
    assert_eq!(ok, Ok(()));
    assert_eq!(failed, Err("job 2 failed".to_string()));
    assert!(
        (50..=52).contains(&ms(took)),
        "two jobs of 30 and 20 ms took {took:?} on the runtime's clock: wait with \
         tokio::time::sleep(job.duration).await"
    );
}

#[test]
fn every_job_is_done_once_and_the_pool_shuts_down() {
    let (report, _) = on_paused_runtime(
        "run_pool(200 jobs, 4 workers, capacity 8)",
        HUNG_POOL,
        run_pool(jobs(200, 5, |_| Behaviour::Succeed), 4, 8),
    );
    assert_eq!(
        report,
        Report {
            completed: 200,
            failed: vec![],
            per_worker: report.per_worker.clone(),
        },
        "all 200 jobs complete"
    );
    assert_eq!(
        report.per_worker.len(),
        4,
        "one count per worker, for 4 workers"
    );
    assert_eq!(
        report.per_worker.iter().sum::<u64>(),
        200,
        "the workers' counts {:?} must add up to the 200 jobs: none lost, none taken twice",
        report.per_worker
    );
}

#[test]
fn workers_share_the_queue_and_wait_at_the_same_time() {
    let (report, took) = on_paused_runtime(
        "run_pool(8 jobs of 100 ms, 4 workers)",
        HUNG_POOL,
        run_pool(jobs(8, 100, |_| Behaviour::Succeed), 4, 2),
    );
    assert_eq!(report.completed, 8);
    assert!(
        (200..=205).contains(&ms(took)),
        "8 jobs of 100 ms on 4 workers took {took:?} of runtime time; overlapped they take \
         200 ms. Does each worker hold the receiver's lock only while it takes a job, not while \
         the job runs?"
    );
    assert_eq!(
        report.per_worker,
        [2, 2, 2, 2],
        "each of the 4 workers takes 2 of the 8 equal jobs"
    );
}

#[test]
fn a_failing_or_panicking_job_does_not_end_the_pool() {
    let (report, _) = on_paused_runtime(
        "run_pool(30 jobs, some failing, some panicking, 3 workers)",
        "a worker or the whole pool ended with a job's panic: run each job in a task of its \
         own (tokio::spawn(process(job)).await) and turn its JoinError into a failure",
        run_pool(
            jobs(30, 10, |id| match id % 10 {
                3 => Behaviour::Fail,
                7 => Behaviour::Panic,
                _ => Behaviour::Succeed,
            }),
            3,
            4,
        ),
    );
    assert_eq!(report.completed, 24, "24 of the 30 jobs succeed");
    let expected: Vec<(u64, String)> = [3, 7, 13, 17, 23, 27]
        .into_iter()
        .map(|id| {
            let why = if id % 10 == 3 {
                format!("job {id} failed")
            } else {
                format!("panicked: job {id} panicked")
            };
            (id, why)
        })
        .collect();
    assert_eq!(
        report.failed, expected,
        "each failure keeps its error, each panic its message after \"panicked: \", sorted by job"
    );
}

#[test]
fn no_task_blocks_the_runtime_thread() {
    // On a current-thread runtime every task shares one thread. Waiting with
    // tokio's sleep costs no real time here (the clock is paused); a blocking
    // std::thread::sleep holds the thread for real, one job after another.
    let real = Instant::now();
    let (report, _) = on_paused_runtime(
        "run_pool(8 jobs of 100 ms, 4 workers)",
        HUNG_POOL,
        run_pool(jobs(8, 100, |_| Behaviour::Succeed), 4, 8),
    );
    let real = real.elapsed();
    assert_eq!(report.completed, 8);
    assert!(
        real < Duration::from_millis(400),
        "the run took {real:?} of real time, as if each 100 ms wait held the thread: a task must \
         never block — use tokio::time::sleep(…).await, not std::thread::sleep"
    );
}

#[test]
fn a_full_channel_holds_the_producer_back_without_losing_jobs() {
    // One worker, capacity 1, jobs that take a while: the producer must wait
    // for room again and again; every job still arrives, in order.
    let (report, took) = on_paused_runtime(
        "run_pool(10 jobs of 10 ms, 1 worker, capacity 1)",
        HUNG_POOL,
        run_pool(jobs(10, 10, |_| Behaviour::Succeed), 1, 1),
    );
    assert_eq!(report.completed, 10);
    assert_eq!(report.per_worker, [10]);
    assert!(
        (100..=103).contains(&ms(took)),
        "10 jobs of 10 ms on one worker take 100 ms, took {took:?}"
    );
}
