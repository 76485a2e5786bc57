//! Lesson 13 — a tokio worker pool: every job once, shutdown by dropping the
//! sender, failures and panics contained, as many workers as asked, a channel
//! as big as asked, and no task that blocks its thread.
//!
//! The tests run on a current-thread runtime with a *paused* clock: when every
//! task is waiting on a timer, tokio jumps the clock forward. So "8 jobs of
//! 100 ms on 4 workers" takes exactly 200 virtual ms and almost no real time —
//! unless something blocks the thread, which shows up as real time. One
//! thread and a clock that moves only when everything waits make every run
//! the same: what these tests see, they see every time.

use std::future::Future;
use std::time::{Duration, Instant};

use lesson_13::{Behaviour, Job, Report, process, run_pool};
use lesson_support::{Log, finishes, panic_message};

const HUNG_FEW_JOBS: &str = "run_pool never returned, with fewer jobs than the channel holds. The \
     workers end when recv() returns None, which happens only once every Sender is dropped: \
     drop the sender after sending the last job, before awaiting the workers";

const HUNG_MANY_JOBS: &str = "run_pool never returned, with more jobs than the channel holds. If \
     `a_pool_with_room_for_every_job_shuts_down` passes, the sender is dropped; then the \
     producer is waiting for room nobody makes: start the workers before sending, and keep \
     every worker taking jobs until the channel is closed";

const HUNG_AFTER_FAILURE: &str = "run_pool never returned once jobs failed or panicked: a worker \
     must go on to the next job after a failure — run each job in a task of its own \
     (tokio::spawn(process(job)).await), turn its JoinError into a failure, and keep looping";

/// Runs `future` to completion on a fresh current-thread runtime whose clock is
/// paused, under a watchdog; returns its output and the virtual time it took.
#[track_caller]
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

fn succeed(_: u64) -> Behaviour {
    Behaviour::Succeed
}

// -------------------------------------------------------------- process --

#[test]
fn a_job_waits_its_time_then_succeeds_fails_or_panics() {
    let ((ok, failed, panicked), took) =
        on_paused_runtime("process(three jobs)", "none expected", async {
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
            // A panicking job, in a task of its own so that its panic is caught.
            let panicked = tokio::spawn(process(Job {
                id: 3,
                duration: Duration::from_millis(10),
                behaviour: Behaviour::Panic,
            }))
            .await
            .map_err(|e| panic_message(e.into_panic().as_ref()));
            (ok, failed, panicked)
        });
    assert_eq!(ok, Ok(()));
    assert_eq!(failed, Err("job 2 failed".to_string()));
    assert_eq!(
        panicked,
        Err("job 3 panicked".to_string()),
        "a Panic job panics with \"job {{id}} panicked\""
    );
    assert!(
        (60..=62).contains(&ms(took)),
        "three jobs of 30, 20 and 10 ms took {took:?} on the runtime's clock: every job — \
         failing and panicking ones too — first waits its duration, with \
         tokio::time::sleep(job.duration).await"
    );
}

// ------------------------------------------------------------- the pool --

#[test]
fn a_pool_with_room_for_every_job_shuts_down() {
    let (report, _) = on_paused_runtime(
        "run_pool(3 jobs, 2 workers, capacity 8)",
        HUNG_FEW_JOBS,
        run_pool(jobs(3, 5, succeed), 2, 8),
    );
    assert_eq!(report.completed, 3, "all 3 jobs complete");
    assert_eq!(report.per_worker.iter().sum::<u64>(), 3);
}

#[test]
fn every_job_is_done_once_and_the_pool_shuts_down() {
    let (report, _) = on_paused_runtime(
        "run_pool(200 jobs, 4 workers, capacity 8)",
        HUNG_MANY_JOBS,
        run_pool(jobs(200, 5, succeed), 4, 8),
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
        HUNG_MANY_JOBS,
        run_pool(jobs(8, 100, succeed), 4, 2),
    );
    assert_eq!(report.completed, 8);
    assert!(
        (200..=205).contains(&ms(took)),
        "8 jobs of 100 ms on 4 workers took {took:?} of runtime time; overlapped they take \
         200 ms. Does each worker hold the receiver's lock only while it takes a job — not \
         while the job runs (a guard kept in a variable lives to the end of the loop's body)?"
    );
    assert_eq!(
        report.per_worker,
        [2, 2, 2, 2],
        "each of the 4 workers takes 2 of the 8 equal jobs"
    );
}

#[test]
fn the_number_of_workers_sets_the_pace() {
    // 7 jobs of 100 ms: on 3 workers, three rounds — 300 ms; on 4, 200 ms.
    let (report, took) = on_paused_runtime(
        "run_pool(7 jobs of 100 ms, 3 workers)",
        HUNG_MANY_JOBS,
        run_pool(jobs(7, 100, succeed), 3, 2),
    );
    assert_eq!(
        report.per_worker.len(),
        3,
        "run_pool(…, workers: 3, …) reported {} workers: start exactly `workers` worker tasks",
        report.per_worker.len()
    );
    assert_eq!(report.per_worker.iter().sum::<u64>(), 7);
    assert!(
        (300..=305).contains(&ms(took)),
        "7 jobs of 100 ms on 3 workers took {took:?}; three rounds take 300 ms"
    );
}

#[test]
fn per_worker_counts_come_in_the_order_the_workers_were_started() {
    // The first worker started takes job 0, which takes 1 s; the other three
    // share the 12 short jobs meanwhile. So the first worker finishes last,
    // with 1 job — and its count still comes first.
    let mut all = jobs(13, 10, succeed);
    all[0].duration = Duration::from_secs(1);
    let (report, _) = on_paused_runtime(
        "run_pool(1 job of 1 s and 12 of 10 ms, 4 workers)",
        HUNG_MANY_JOBS,
        run_pool(all, 4, 4),
    );
    assert_eq!(report.completed, 13);
    assert_eq!(
        report.per_worker.first(),
        Some(&1),
        "per_worker is {:?}: the first worker (it took the 1 s job, and nothing else) comes \
         first — await the workers' handles in the order they were started, not as they finish",
        report.per_worker
    );
    assert_eq!(report.per_worker.iter().sum::<u64>(), 13);
}

#[test]
fn a_failing_or_panicking_job_does_not_end_the_pool() {
    let (report, _) = on_paused_runtime(
        "run_pool(30 jobs, some failing, some panicking, 3 workers)",
        HUNG_AFTER_FAILURE,
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
    assert_eq!(
        report.per_worker.iter().sum::<u64>(),
        30,
        "per_worker {:?} counts the jobs each worker took, failed ones included: 30 in all",
        report.per_worker
    );
}

#[test]
fn a_single_worker_goes_on_after_every_failure() {
    // One worker, and the failures come first: it must take every job.
    let (report, _) = on_paused_runtime(
        "run_pool(6 jobs, panics and failures first, 1 worker)",
        HUNG_AFTER_FAILURE,
        run_pool(
            jobs(6, 10, |id| match id {
                0 | 2 => Behaviour::Panic,
                1 => Behaviour::Fail,
                _ => Behaviour::Succeed,
            }),
            1,
            1,
        ),
    );
    assert_eq!(report.completed, 3);
    assert_eq!(
        report.failed,
        [
            (0, "panicked: job 0 panicked".to_string()),
            (1, "job 1 failed".to_string()),
            (2, "panicked: job 2 panicked".to_string()),
        ]
    );
    assert_eq!(report.per_worker, [6]);
}

#[test]
fn no_task_blocks_the_runtime_thread() {
    // On a current-thread runtime every task shares one thread. Waiting with
    // tokio's sleep costs no real time here (the clock is paused); a blocking
    // std::thread::sleep holds the thread for real, one job after another.
    let real = Instant::now();
    let (report, _) = on_paused_runtime(
        "run_pool(8 jobs of 100 ms, 4 workers)",
        HUNG_MANY_JOBS,
        run_pool(jobs(8, 100, succeed), 4, 8),
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
        HUNG_MANY_JOBS,
        run_pool(jobs(10, 10, succeed), 1, 1),
    );
    assert_eq!(report.completed, 10);
    assert_eq!(report.per_worker, [10]);
    assert!(
        (100..=103).contains(&ms(took)),
        "10 jobs of 10 ms on one worker take 100 ms, took {took:?}"
    );
}

#[test]
fn the_producer_reads_its_jobs_at_the_pools_pace() {
    // 12 jobs of 10 ms from a lazy source that notes when each job is taken,
    // 2 workers, capacity 3. Before any time passes, the producer can take 6:
    // 3 wait in the channel, 2 are in the workers' hands, 1 waits in its own
    // for room. After that, room comes as jobs finish: 2 every 10 ms.
    let taken_at = Log::new();
    let source = {
        let taken_at = taken_at.clone();
        jobs(12, 10, succeed)
            .into_iter()
            .inspect(move |_| taken_at.push(tokio::time::Instant::now()))
    };
    let (report, took) = on_paused_runtime(
        "run_pool(12 jobs of 10 ms from a lazy source, 2 workers, capacity 3)",
        HUNG_MANY_JOBS,
        async move {
            let start = tokio::time::Instant::now();
            (run_pool(source, 2, 3).await, start)
        },
    );
    let (report, start) = report;
    let taken_at = taken_at.entries();
    let at_once = taken_at.iter().filter(|&&at| at == start).count();
    assert_eq!(report.completed, 12);
    assert_eq!(
        at_once, 6,
        "the producer took {at_once} of the 12 jobs before any time passed; a channel of \
         capacity 3 and 2 busy workers leave room for 6 (3 in the channel, 2 in the workers' \
         hands, 1 in the producer's, waiting). Make the channel mpsc::channel(capacity), start \
         `workers` workers, and take each job from the source only when you can send it"
    );
    assert_eq!(ms(took), 60, "12 jobs of 10 ms on 2 workers take 60 ms");
}
