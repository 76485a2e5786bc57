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
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then properties: the same check over many drawn
//! inputs — durations from nanoseconds to days, ids up to `u64::MAX`, no
//! workers or jobs at all, capacities below, equal to and above the worker
//! count, jobs that fail or panic — against answers that do not depend on
//! your code: what each job must do, and a model of the pool that says when
//! each job starts, when the producer takes each one from its source, and how
//! long the whole run takes. Last, `stall`: every wait meets a peer that goes
//! quiet for longer than any "safety" timeout — hours on the paused clock,
//! seconds on a real one.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lesson_13::{Behaviour, Job, Report, WorkerReport, process, run_pool, worker};
use lesson_support::adversary::{self, STALL, STALL_BUDGET};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{Log, check_sequence, finishes, finishes_within, panic_message};
use tokio::sync::{Mutex, mpsc};

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

const BLOCKING: &str = "a job's wait held the runtime's only thread: with the clock paused, a wait \
     that uses tokio::time::sleep(…).await costs no real time, while std::thread::sleep (or any \
     blocking call) takes its whole duration for real — a task must never block";

const HUNG_RUN: &str = "run_pool never returned. Are the workers started before the first send, \
     is the sender dropped after the last, does every worker go on after a failed or panicking \
     job, and does nothing block the runtime's thread (std::thread::sleep)?";

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

/// What a job must report when it fails or panics, or `None` if it succeeds.
fn failure_of(job: &Job) -> Option<(u64, String)> {
    match job.behaviour {
        Behaviour::Succeed => None,
        Behaviour::Fail => Some((job.id, format!("job {} failed", job.id))),
        Behaviour::Panic => Some((job.id, format!("panicked: job {} panicked", job.id))),
    }
}

/// Every job's failure, sorted by job.
fn failures_of(jobs: &[Job]) -> Vec<(u64, String)> {
    let mut failed: Vec<_> = jobs.iter().filter_map(failure_of).collect();
    failed.sort();
    failed
}

// ------------------------------------------------------------- drawing --

/// Ids: any `u64`, the edges (0, `u64::MAX`, where the decimal digits change)
/// common; `count` of them, all different, in no particular order.
fn ids(count: usize) -> impl Strategy<Value = Vec<u64>> {
    let id = prop_oneof![
        2 => any::<u64>(),
        1 => 0u64..20,
        1 => proptest::sample::select(vec![u64::MAX, u64::MAX - 1, 9, 10, 99, 100, 1_000]),
    ];
    proptest::collection::vec(id, count).prop_map(|mut ids| {
        let mut seen = std::collections::BTreeSet::new();
        for (at, id) in ids.iter_mut().enumerate() {
            let mut candidate = *id;
            let mut step = at as u64 + 1;
            while !seen.insert(candidate) {
                candidate = candidate.wrapping_add(step);
                step += 1;
            }
            *id = candidate;
        }
        ids
    })
}

fn behaviours() -> impl Strategy<Value = Behaviour> + Clone {
    prop_oneof![
        3 => Just(Behaviour::Succeed),
        1 => Just(Behaviour::Fail),
        1 => Just(Behaviour::Panic),
    ]
}

/// A job's duration in whole milliseconds (so the model's times are exact):
/// a few to tens of milliseconds, a second, or hours — and in one run in four,
/// sometimes none at all.
fn whole_ms(none_too: bool) -> BoxedStrategy<u64> {
    let some = prop_oneof![
        6 => 1u64..=60,
        1 => Just(1_000u64),
        1 => (1u64..=3).prop_map(|hours| hours * 3_600_000),
    ];
    if none_too {
        prop_oneof![1 => Just(0u64), 8 => some].boxed()
    } else {
        some.boxed()
    }
}

/// `count` jobs with different ids, drawn durations (whole ms) and behaviours.
fn drawn_jobs(count: usize) -> impl Strategy<Value = Vec<Job>> {
    prop_oneof![3 => Just(false), 1 => Just(true)]
        .prop_flat_map(move |none_too| {
            (
                ids(count),
                proptest::collection::vec((whole_ms(none_too), behaviours()), count),
            )
        })
        .prop_map(|(ids, rest)| {
            ids.into_iter()
                .zip(rest)
                .map(|(id, (ms, behaviour))| Job {
                    id,
                    duration: Duration::from_millis(ms),
                    behaviour,
                })
                .collect()
        })
}

// --------------------------------------------------------------- model --

/// What a pool of `workers` on a channel of `capacity` must do with `jobs`,
/// worked out without running anything: each job goes to a worker that is
/// free (the earliest free, the first started at time 0), and the producer
/// takes job `j` from its source the moment job `j − 1` went into the channel.
#[derive(Debug)]
struct Model {
    /// When each job is taken from the source, from the run's start.
    taken_at: Vec<Duration>,
    /// How long the whole run takes.
    makespan: Duration,
    /// Jobs each worker takes, in start order — `None` where two workers are
    /// free at the same moment after the start, so either may take the next.
    per_worker: Option<Vec<u64>>,
}

fn model(jobs: &[Job], workers: usize, capacity: usize) -> Model {
    let n = jobs.len();
    if workers == 0 {
        // Nobody takes anything: the jobs (no more than fit) wait in the channel.
        return Model {
            taken_at: vec![Duration::ZERO; n],
            makespan: Duration::ZERO,
            per_worker: Some(Vec::new()),
        };
    }
    let mut free = vec![Duration::ZERO; workers];
    let mut counts = vec![0u64; workers];
    let mut starts = Vec::with_capacity(n);
    // A job that takes no time frees its worker at the very moment it took
    // the job, as other workers may be taking theirs: who takes what then is
    // the scheduler's choice.
    let mut tie = jobs.iter().any(|job| job.duration.is_zero());
    for (j, job) in jobs.iter().enumerate() {
        let at = *free.iter().min().expect("at least one worker");
        let chosen = if j < workers {
            j // at the start every worker is free; they take jobs in start order
        } else {
            let candidates: Vec<usize> = (0..workers).filter(|&w| free[w] == at).collect();
            tie |= candidates.len() > 1;
            candidates[0]
        };
        starts.push(at);
        free[chosen] = at + job.duration;
        counts[chosen] += 1;
    }
    // Job j is taken once job j − 1 is in the channel; job j − 1 goes in at the
    // start if it fits, else once job j − 1 − capacity has been taken by a worker.
    let taken_at = (0..n)
        .map(|j| {
            if j <= capacity {
                Duration::ZERO
            } else {
                starts[j - 1 - capacity]
            }
        })
        .collect();
    Model {
        taken_at,
        makespan: free.into_iter().max().unwrap_or_default(),
        per_worker: (!tie).then_some(counts),
    }
}

/// How long [`feed_workers`] takes on the paused clock, worked out without
/// running anything: the feeder sends job `j` once job `j − 1` is in and its
/// pause after it is over, and once the channel has room (job `j − capacity`
/// taken); a worker takes the next job the moment it is free and the job is
/// there; the run ends when the feeder and every job are done.
fn fed_makespan(
    jobs: &[Job],
    workers: usize,
    capacity: usize,
    pauses: &[(usize, Duration)],
) -> Duration {
    let pause_after = |at: usize| -> Duration {
        pauses
            .iter()
            .filter(|(after, _)| *after == at)
            .map(|(_, pause)| *pause)
            .sum()
    };
    let mut free = vec![Duration::ZERO; workers];
    let mut starts: Vec<Duration> = Vec::with_capacity(jobs.len());
    let mut ready = Duration::ZERO; // when the feeder can send the next job
    for (j, job) in jobs.iter().enumerate() {
        let room = if j < capacity {
            Duration::ZERO
        } else {
            starts[j - capacity]
        };
        let sent = ready.max(room);
        let (worker, at) = free
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|(_, at)| *at)
            .expect("at least one worker");
        let start = sent.max(at);
        starts.push(start);
        free[worker] = start + job.duration;
        ready = sent + pause_after(j);
    }
    free.into_iter().fold(ready, Duration::max)
}

/// What a run that took `took` on the paused clock, not `expected`, likely did.
fn why_the_time_differs(took: Duration, expected: Duration, longer: &str, shorter: &str) -> String {
    if took.is_zero() {
        format!("No time at all: {BLOCKING}")
    } else if took > expected {
        format!("Longer: {longer}")
    } else {
        format!("Shorter: {shorter}")
    }
}

/// The chapter's section "Waiting without blocking".
mod s1_waiting_without_blocking {
    use super::*;

    #[test]
    fn a_job_waits_its_time_then_succeeds_fails_or_panics() {
        let ((ok, failed, panicked), took) =
            on_paused_runtime("process(three jobs)", BLOCKING, async {
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

    #[test]
    fn a_job_waits_exactly_its_duration_on_the_runtimes_clock_whatever_it_is() {
        // Any id, any duration — none, nanoseconds, just under and over a
        // second, minutes, days — and any behaviour: the job waits its whole
        // duration on tokio's clock (which counts in whole milliseconds, so up
        // to 1 ms more), without blocking the thread, then does what it says.
        let durations = prop_oneof![
            8 => oracle::draw::duration(),
            1 => Just(Duration::from_secs(50 * 24 * 3_600)),
        ];
        let id = prop_oneof![any::<u64>(), Just(u64::MAX), 0u64..12];
        oracle::check(
            64,
            (id, durations, behaviours()),
            |(id, duration, behaviour)| {
                process_waits_then_behaves(Job {
                    id,
                    duration,
                    behaviour,
                })
            },
        );
    }

    /// Runs `process(job)` on a paused clock; checks what it did and how long
    /// it waited on the runtime's clock.
    fn process_waits_then_behaves(job: Job) -> Result<(), String> {
        let (id, duration) = (job.id, job.duration);
        let real = Instant::now();
        let (outcome, took) =
            on_paused_runtime(&format!("process({job:?})"), BLOCKING, async move {
                tokio::spawn(process(job))
                    .await
                    .map_err(|error| panic_message(error.into_panic().as_ref()))
            });
        let real = real.elapsed();
        let expected = match job.behaviour {
            Behaviour::Succeed => Ok(Ok(())),
            Behaviour::Fail => Ok(Err(format!("job {id} failed"))),
            Behaviour::Panic => Err(format!("job {id} panicked")),
        };
        if outcome != expected {
            return Err(format!(
                "process({job:?}) gave {outcome:?} (Err: the message it panicked with); expected \
                 {expected:?}: Succeed gives Ok(()), Fail Err(\"job {{id}} failed\"), Panic panics \
                 with \"job {{id}} panicked\" — after the wait, all three"
            ));
        }
        if took < duration || took > duration + Duration::from_millis(1) {
            let blocked = if took < duration && real >= duration.min(Duration::from_secs(1)) {
                format!(" (and {real:?} of real time: {BLOCKING})")
            } else {
                String::new()
            };
            return Err(format!(
                "process of a job of {duration:?} took {took:?} on the runtime's clock{blocked}. It \
                 must wait its whole duration — seconds and nanoseconds alike, not `subsec_*` or \
                 whole units of anything — with tokio::time::sleep(job.duration).await, before it \
                 succeeds, fails or panics"
            ));
        }
        Ok(())
    }
}

/// What the workers of one run of `worker` tasks did.
#[derive(Debug)]
struct Workers {
    /// Each worker's report, or the message it panicked with.
    reports: Vec<Result<WorkerReport, String>>,
    /// Worker indexes seen finished while the channel was still open.
    ended_early: Vec<usize>,
    /// The job at which a send was refused (every worker had gone).
    refused_at: Option<usize>,
}

/// Runs `workers` worker tasks on one shared receiver of a channel of
/// `capacity`, fed by the test: each job in turn, with a pause (on the
/// runtime's clock) after the positions `pauses` names; then closes the
/// channel and awaits every worker.
async fn feed_workers(
    jobs: Vec<Job>,
    workers: usize,
    capacity: usize,
    pauses: Vec<(usize, Duration)>,
) -> Workers {
    let (sender, receiver) = mpsc::channel(capacity);
    let receiver = Arc::new(Mutex::new(receiver));
    let handles: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(worker(Arc::clone(&receiver))))
        .collect();
    // Only the workers hold the receiver: once all are gone, a send fails.
    drop(receiver);
    let mut ended_early = Vec::new();
    let mut refused_at = None;
    for (at, job) in jobs.into_iter().enumerate() {
        if sender.send(job).await.is_err() {
            refused_at = Some(at);
            break;
        }
        for (after, pause) in &pauses {
            if *after == at {
                tokio::time::sleep(*pause).await;
            }
        }
        for (index, handle) in handles.iter().enumerate() {
            if handle.is_finished() && !ended_early.contains(&index) {
                ended_early.push(index);
            }
        }
    }
    drop(sender);
    let mut reports = Vec::new();
    for handle in handles {
        reports.push(handle.await.map_err(|error| match error.try_into_panic() {
            Ok(payload) => panic_message(payload.as_ref()),
            Err(_) => "cancelled".to_string(),
        }));
    }
    Workers {
        reports,
        ended_early,
        refused_at,
    }
}

/// The chapter's section "A worker task".
mod s2_a_worker_task {
    use super::*;

    #[test]
    fn workers_take_every_job_once_until_the_channel_closes() {
        // 1 to 4 worker tasks share a receiver the test feeds: any jobs (none
        // included) with any behaviour, and pauses between them from
        // milliseconds to hours on the runtime's clock. No worker may end
        // while the channel is open, however long it stays empty; none may
        // end with a job's panic; together they account for every job — each
        // success counted, each failure with its reason.
        let cases = (
            oracle::draw::size(1, 4),
            oracle::draw::size(1, 4),
            oracle::draw::size(0, 12),
        )
            .prop_flat_map(|(workers, capacity, count)| {
                let pause = prop_oneof![
                    2 => (1u64..=50).prop_map(Duration::from_millis),
                    1 => Just(Duration::from_secs(3)),
                    1 => (1u64..=5).prop_map(|hours| Duration::from_secs(hours * 3_600)),
                ];
                (
                    Just(workers),
                    Just(capacity),
                    drawn_jobs(count),
                    proptest::collection::vec((0..count.max(1), pause), 0..=3),
                )
            });
        oracle::check(64, cases, |(workers, capacity, jobs, pauses)| {
            let n = jobs.len();
            let what = format!(
                "{workers} worker tasks sharing a channel of capacity {capacity}, fed {n} jobs with \
                 pauses {pauses:?}"
            );
            let (seen, took) = on_paused_runtime(
                &what,
                "the workers never all returned after the channel was closed: a worker's loop \
                 ends when recv() gives None — and only then; does every worker go on after a \
                 failed or panicking job, and does nothing block the thread?",
                feed_workers(jobs.clone(), workers, capacity, pauses.clone()),
            );
            for (index, report) in seen.reports.iter().enumerate() {
                if let Err(message) = report {
                    return Err(format!(
                        "{what}: worker {index} panicked ({message}). A job's panic must end only \
                         that job: run it as a task of its own, tokio::spawn(process(job)).await, \
                         and turn the JoinError into a failure — \"panicked: {{message}}\""
                    ));
                }
            }
            if let Some(at) = seen.refused_at {
                return Err(format!(
                    "{what}: every worker had returned by job {at}, while the channel was still \
                     open. A worker waits for the next job as long as it takes — recv().await, \
                     no timeout: an empty channel means \"no job yet\", only None means \"no more\""
                ));
            }
            if !seen.ended_early.is_empty() {
                return Err(format!(
                    "{what}: workers {:?} returned while the channel was still open (the feeder \
                     had paused). A worker waits for the next job as long as it takes — \
                     recv().await, no timeout, no try_recv: only None means \"no more\"",
                    seen.ended_early
                ));
            }
            let reports: Vec<WorkerReport> = seen.reports.into_iter().flatten().collect();
            let completed: u64 = reports.iter().map(|r| r.completed).sum();
            let expected_completed = jobs
                .iter()
                .filter(|job| job.behaviour == Behaviour::Succeed)
                .count() as u64;
            if completed != expected_completed {
                return Err(format!(
                    "{what}: the workers' reports count {completed} completed jobs; {expected_completed} \
                     of the {n} succeeded — count a job as completed when process gives Ok(()), \
                     and each once"
                ));
            }
            let mut failed: Vec<(u64, String)> =
                reports.iter().flat_map(|r| r.failed.clone()).collect();
            failed.sort();
            check_sequence(
                &failures_of(&jobs),
                &failed,
                &format!(
                    "{what}: the workers' failures, together, sorted by job — each failed job with \
                     process's error, each panicked job with \"panicked: \" and its message"
                ),
            )?;
            let expected = fed_makespan(&jobs, workers, capacity, &pauses);
            if took != expected {
                return Err(format!(
                    "{what}: the run took {took:?} on the runtime's clock; with each worker taking \
                     the next job the moment it is free, and waiting for that job to end before \
                     it takes another, it takes {expected:?}. {}",
                    why_the_time_differs(
                        took,
                        expected,
                        "workers that do not work at the same time (the receiver's lock held \
                         while a job runs), or a job run twice",
                        "a job not waited for before the worker takes the next",
                    )
                ));
            }
            Ok(())
        });
    }
}

/// The chapter's section "Running the pool".
mod s3_running_the_pool {
    use super::*;

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

    /// Workers from none to 5, a capacity from 1 to 5, and a number of jobs
    /// at the edges between them (none; one less, as many, one more than the
    /// capacity, the workers, both together) or anything up to 20. With no
    /// workers, only as many jobs as the channel holds (more would wait for
    /// ever, rightly).
    fn pools() -> impl Strategy<Value = (usize, usize, Vec<Job>)> {
        (oracle::draw::size(0, 5), oracle::draw::size(1, 5))
            .prop_flat_map(|(workers, capacity)| {
                let both = workers + capacity;
                let edges = vec![
                    0,
                    1,
                    capacity.saturating_sub(1),
                    capacity,
                    capacity + 1,
                    workers.saturating_sub(1),
                    workers,
                    workers + 1,
                    both,
                    both + 1,
                    both + 2,
                ];
                let count = prop_oneof![proptest::sample::select(edges), 0usize..=20];
                (Just(workers), Just(capacity), count)
            })
            .prop_flat_map(|(workers, capacity, count)| {
                let count = if workers == 0 {
                    count.min(capacity)
                } else {
                    count
                };
                (Just(workers), Just(capacity), drawn_jobs(count))
            })
    }

    #[test]
    fn a_run_matches_the_model_of_the_pool_whatever_the_sizes() {
        // Any jobs (durations from none to hours, any ids, some failing or
        // panicking) from a lazy source that notes when each is taken, on any
        // number of workers and any capacity: the report says what the jobs
        // did; the source is read exactly when the model says (capacity jobs
        // in the channel, one in the producer's hand); the run takes exactly
        // as long as the model's (every worker busy whenever a job waits); and
        // each worker took as many jobs as the model says, in start order.
        oracle::check(96, pools(), |(workers, capacity, jobs)| {
            let n = jobs.len();
            let what = format!("run_pool({n} jobs, {workers} workers, capacity {capacity})");
            let expected = model(&jobs, workers, capacity);
            let taken_at = Log::new();
            let (source, log) = (jobs.clone().into_iter(), taken_at.clone());
            let (report, took) = on_paused_runtime(&what, HUNG_RUN, async move {
                let start = tokio::time::Instant::now();
                let source = source.inspect(move |_| log.push(start.elapsed()));
                run_pool(source, workers, capacity).await
            });
            let taken_at = taken_at.entries();
            if report.per_worker.len() != workers {
                return Err(format!(
                    "{what}: per_worker has {} counts, {:?}: one per worker asked for — start \
                     exactly `workers` worker tasks, whatever the number of jobs (none, or fewer \
                     than the workers, included)",
                    report.per_worker.len(),
                    report.per_worker
                ));
            }
            let (completed, failed) = if workers == 0 {
                (0, Vec::new())
            } else {
                (
                    jobs.iter()
                        .filter(|job| job.behaviour == Behaviour::Succeed)
                        .count() as u64,
                    failures_of(&jobs),
                )
            };
            if report.completed != completed {
                return Err(format!(
                    "{what}: completed is {}, but {completed} of the jobs succeeded — a job \
                     counts as completed when process gives Ok(()), once",
                    report.completed
                ));
            }
            check_sequence(
                &failed,
                &report.failed,
                &format!(
                    "{what}: Report::failed — every failed or panicked job once, with its reason \
                     (\"job {{id}} failed\", \"panicked: job {{id}} panicked\"), sorted by job id \
                     (the number, not its text)"
                ),
            )?;
            let took_part: u64 = report.per_worker.iter().sum();
            if took_part != if workers == 0 { 0 } else { n as u64 } {
                return Err(format!(
                    "{what}: per_worker {:?} adds up to {took_part}: each worker counts every job \
                     it took, completed or failed, and together they took all {n}",
                    report.per_worker
                ));
            }
            check_sequence(
                &expected.taken_at,
                &taken_at,
                &format!(
                    "{what}: when the producer took each job from its source (time since the \
                     start). Job j is taken only once job j − 1 is in a channel of exactly \
                     `capacity`: so at the start capacity + 1 jobs (when no worker has taken \
                     any), then one each time a worker takes a job. Taking them all at once \
                     (collect), or a channel of another size, reads the source ahead of the pool"
                ),
            )?;
            if took != expected.makespan {
                return Err(format!(
                    "{what}: the run took {took:?} on the runtime's clock; with every worker taking \
                     the next job the moment it is free, it takes {:?}. {}",
                    expected.makespan,
                    why_the_time_differs(
                        took,
                        expected.makespan,
                        "fewer workers working at once than asked (a lock held while a job runs, \
                         a worker that waits for something else), or a job run twice",
                        "a job not waited for, or more workers than asked",
                    )
                ));
            }
            if let Some(per_worker) = expected.per_worker
                && report.per_worker != per_worker
            {
                return Err(format!(
                    "{what}: per_worker is {:?}; each worker takes the next job when it is free, \
                     so they took {per_worker:?}, listed in the order the workers were started \
                     (await their handles in that order, not as they finish)",
                    report.per_worker
                ));
            }
            Ok(())
        });
    }
}

/// Every wait in the lesson meets a peer that goes quiet for longer than any
/// "safety" timeout, all at once so the lesson pays for one [`STALL`]: on the
/// paused clock, producers that pause and jobs that take hours (free); on a
/// real clock, a source that blocks its reader for seconds and a job that
/// takes as long. A worker waits for a job as long as the channel is open; the
/// producer waits for room, and the run for its workers, as long as it takes.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while (tokio::time::timeout, a deadline, a \
        retry count) stops while the pool is still working: a quiet producer or a slow job is \
        not a finished one";

    /// Runs `future` on a multi-threaded runtime with a real clock, from a
    /// thread of its own that is not one of the runtime's: a source that
    /// blocks there holds up the producer, and only the producer.
    fn on_real_runtime<F>(what: &str, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        finishes_within(STALL_BUDGET, what, HINT, move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_time()
                .build()
                .expect("a tokio runtime");
            let output = runtime.block_on(future);
            runtime.shutdown_background();
            output
        })
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "workers whose feeder pauses for hours (paused clock)",
                Box::new(|| {
                    let jobs = jobs(4, 10, succeed);
                    let pauses = vec![(1, Duration::from_secs(3 * 3_600))];
                    let (seen, _) = on_paused_runtime(
                        "2 workers fed 4 jobs, 3 h of silence after the second",
                        HINT,
                        feed_workers(jobs, 2, 1, pauses),
                    );
                    assert!(
                        seen.ended_early.is_empty() && seen.refused_at.is_none(),
                        "a worker returned while the channel was open and empty for 3 h: an \
                         empty channel means \"no job yet\" — {HINT}"
                    );
                    let done: u64 = seen
                        .reports
                        .into_iter()
                        .map(|r| r.expect("no job panics").completed)
                        .sum();
                    assert_eq!(done, 4, "4 jobs, 3 h apart in two groups: all completed");
                }),
            ),
            (
                "a pool whose jobs take hours (paused clock)",
                Box::new(|| {
                    let hours = Duration::from_secs(3 * 3_600);
                    let mut jobs = jobs(4, 0, succeed);
                    for job in &mut jobs {
                        job.duration = hours;
                    }
                    let (report, took) = on_paused_runtime(
                        "run_pool(4 jobs of 3 h, 1 worker, capacity 1)",
                        HINT,
                        run_pool(jobs, 1, 1),
                    );
                    assert_eq!(
                        (
                            report.completed,
                            report.failed.clone(),
                            report.per_worker.clone()
                        ),
                        (4, vec![], vec![4]),
                        "4 jobs of 3 h on one worker: each job waits its 3 h and completes, the \
                         producer waits for room and the run for its worker — {HINT}"
                    );
                    assert_eq!(took, hours * 4, "4 jobs of 3 h, one after another");
                }),
            ),
            (
                "a pool whose source blocks for seconds (real clock)",
                Box::new(|| {
                    // Two quick jobs, then the source blocks for STALL before the
                    // last two: both workers wait on an open, empty channel.
                    let mut all = jobs(4, 0, succeed).into_iter();
                    let mut served = 0;
                    let source = std::iter::from_fn(move || {
                        if served == 2 {
                            std::thread::sleep(STALL);
                        }
                        served += 1;
                        all.next()
                    });
                    let report = on_real_runtime(
                        "run_pool(4 jobs, the source quiet before the third, 2 workers)",
                        run_pool(source, 2, 1),
                    );
                    assert_eq!(
                        (report.completed, report.per_worker.iter().sum::<u64>()),
                        (4, 4),
                        "the source gave 2 jobs, then nothing for {STALL:?}, then 2 more: every \
                         worker waits on the open channel and all 4 complete ({report:?}) — {HINT}"
                    );
                }),
            ),
            (
                "a pool with a job that takes seconds (real clock)",
                Box::new(|| {
                    let mut all = jobs(5, 1, succeed);
                    all[1].duration = STALL;
                    let report = on_real_runtime(
                        "run_pool(5 jobs, one of them taking seconds, 2 workers)",
                        run_pool(all, 2, 1),
                    );
                    assert_eq!(
                        (report.completed, report.failed.clone()),
                        (5, vec![]),
                        "job 1 takes {STALL:?}: it completes, and so do the others — {HINT}"
                    );
                }),
            ),
        ]);
    }
}
