//! # Lesson 13 — The same pattern with async tasks
//!
//! Everything so far, once more with `tokio`: worker *tasks* instead of
//! threads, a bounded `tokio::sync::mpsc` channel as the queue, shutdown by
//! dropping the sender, waiting for all by awaiting every worker's
//! `JoinHandle`, and a failing or panicking job that does not end the pool.
//! Tasks are cheap because they share a few threads — which is also their
//! trap: a task that blocks (`std::thread::sleep`, a blocking read) stalls
//! every task on its thread. Read the book's chapter "13 · Async"
//! (`book/src/lessons/13-async.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-13` until it is green.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, mpsc};

/// What a job does when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Finishes normally.
    Succeed,
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
}

/// One piece of work: it takes `duration` of waiting, then behaves so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    /// Which job.
    pub id: u64,
    /// How long it waits (an I/O call, say) before it is done.
    pub duration: Duration,
    /// How it ends.
    pub behaviour: Behaviour,
}

// ANCHOR: process
/// Runs one job: waits `job.duration` without blocking the thread, then
/// succeeds, fails with `"job {id} failed"`, or panics with
/// `"job {id} panicked"`.
pub async fn process(job: Job) -> Result<(), String> {
    // tokio's sleep gives the thread back to the runtime while it waits;
    // std::thread::sleep would hold the thread and every task queued on it.
    tokio::time::sleep(job.duration).await;
    match job.behaviour {
        Behaviour::Succeed => Ok(()),
        Behaviour::Fail => Err(format!("job {} failed", job.id)),
        Behaviour::Panic => panic!("job {} panicked", job.id),
    }
}
// ANCHOR_END: process

/// What one worker did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs it completed.
    pub completed: u64,
    /// Jobs that failed or panicked, with why.
    pub failed: Vec<(u64, String)>,
}

/// The text of a panic's payload: what `panic!` was given, a `&str` or a
/// `String`. Any other payload (`std::panic::panic_any(7)`) reads "a panic
/// with a non-text payload".
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

// ANCHOR: worker
/// Takes jobs from the shared receiver until the channel is closed and empty,
/// running each with [`process`] in a task of its own, so that a panicking job
/// fails that job — as `"panicked: {message}"` — and not the worker.
pub async fn worker(jobs: Arc<Mutex<mpsc::Receiver<Job>>>) -> WorkerReport {
    let mut report = WorkerReport::default();
    loop {
        // tokio's mpsc has one receiver; the workers share it through an async
        // Mutex, held only while taking a job — holding it while the job runs
        // would let one worker at a time work.
        let next = jobs.lock().await.recv().await;
        let Some(job) = next else { break }; // closed and empty: done
        // A task of its own: a panic inside ends that task, and comes back
        // here as an error, like catch_unwind did for threads.
        match tokio::spawn(process(job)).await {
            Ok(Ok(())) => report.completed += 1,
            Ok(Err(error)) => report.failed.push((job.id, error)),
            Err(join_error) => {
                let why = match join_error.try_into_panic() {
                    Ok(payload) => format!("panicked: {}", panic_message(payload.as_ref())),
                    Err(_) => "cancelled".to_string(),
                };
                report.failed.push((job.id, why));
            }
        }
    }
    report
}
// ANCHOR_END: worker

/// What a run of the pool did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Jobs completed, by all workers.
    pub completed: u64,
    /// Jobs that failed or panicked, with why, sorted by job.
    pub failed: Vec<(u64, String)>,
    /// Jobs each worker took (completed or failed), in the order the workers
    /// were started.
    pub per_worker: Vec<u64>,
}

// ANCHOR: run_pool
/// Starts `workers` worker tasks on a channel of `capacity` (at least 1),
/// sends every job, closes the channel, waits for every worker and merges
/// their reports.
///
/// `jobs` may be a `Vec` or any other source. Each job is taken from it only
/// once the one before has gone into the channel, so a lazy source is read at
/// the pool's pace: `capacity` jobs waiting in the channel, and one more in
/// the producer's hand, at most.
pub async fn run_pool(
    jobs: impl IntoIterator<Item = Job>,
    workers: usize,
    capacity: usize,
) -> Report {
    let (sender, receiver) = mpsc::channel(capacity);
    let receiver = Arc::new(Mutex::new(receiver));
    let handles: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(worker(Arc::clone(&receiver))))
        .collect();
    for job in jobs {
        // Waits (without blocking the thread) while the channel is full.
        sender
            .send(job)
            .await
            .expect("the workers hold the receiver while they run");
    }
    // The shutdown signal: with the last sender gone, `recv` returns None
    // once the channel is empty — behind the last job, never before it.
    drop(sender);
    let mut report = Report::default();
    for handle in handles {
        // Jobs' panics stay inside their own tasks, so a worker ends normally.
        let done = handle.await.expect("a worker task panicked");
        report.completed += done.completed;
        report
            .per_worker
            .push(done.completed + done.failed.len() as u64);
        report.failed.extend(done.failed);
    }
    report.failed.sort();
    report
}
// ANCHOR_END: run_pool
