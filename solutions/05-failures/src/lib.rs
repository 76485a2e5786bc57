//! # Lesson 05 — Failures, errors and panics
//!
//! Real work fails. A failure must be *reproducible* (so a seed decides it, not
//! whichever thread happens to ask), *contained* (a panicking job fails its item,
//! not its worker), and *counted once* (completed + failed = produced). Read the
//! book's chapter "05 · Failures" (`book/src/lessons/05-failures.md`), replace each
//! `todo!()`, and run `cargo test -p lesson-05` until it is green.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;

use crossbeam_channel::bounded;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// The work done on one item: `Err` with a message when it fails. It may also panic.
pub type Job = Arc<dyn Fn(u64) -> Result<(), String> + Send + Sync>;

// ANCHOR: fails
/// Whether item `id` fails, at failure rate `rate`, for this `seed`. The answer
/// depends on nothing else: the same seed and id give the same answer on every
/// run, in every thread, in any order.
pub fn fails(seed: u64, id: u64, rate: f64) -> bool {
    // A generator of its own per item, seeded from (seed, id): one shared stream
    // would hand out its numbers in whatever order the threads arrive.
    let mut rng = SmallRng::seed_from_u64(seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    rng.random::<f64>() < rate
}
// ANCHOR_END: fails

/// A job that fails (with an error, not a panic) where [`fails`] says so.
pub fn flaky_job(seed: u64, rate: f64) -> Job {
    Arc::new(move |id| {
        if fails(seed, id, rate) {
            Err(format!("item {id} failed"))
        } else {
            Ok(())
        }
    })
}

// ANCHOR: run_one
/// Runs `job` on item `id`. An error comes back as it is; a panic comes back as
/// an error too — `"panicked: "` and the panic's message — instead of unwinding
/// through the worker.
pub fn run_one(job: &Job, id: u64) -> Result<(), String> {
    // AssertUnwindSafe: after a panic we only read the panic's message; no state
    // the job may have left half-changed is used again.
    match panic::catch_unwind(AssertUnwindSafe(|| job(id))) {
        Ok(result) => result,
        Err(payload) => Err(format!("panicked: {}", message(payload.as_ref()))),
    }
}
// ANCHOR_END: run_one

/// The text of a panic: `panic!` gives a `&str` or a `String`.
fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// How many items [`run_pool`]'s queue holds before the producer waits.
pub const CAPACITY: usize = 16;

/// What a pool of workers did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Items whose job succeeded.
    pub completed: u64,
    /// Items whose job failed or panicked.
    pub failed: u64,
    /// Each failed item and why, sorted by item.
    pub errors: Vec<(u64, String)>,
}

// ANCHOR: run_pool
/// Sends the items `items` gives (`0..100`, a `Vec`, …), taking each only
/// when the one before is sent, through a queue of [`CAPACITY`] to `consumers`
/// threads; each runs [`run_one`] on every item it takes and keeps its own
/// [`Report`]. Joins them all and merges their reports.
pub fn run_pool(items: impl IntoIterator<Item = u64>, consumers: usize, job: Job) -> Report {
    let (queue, inbox) = bounded(CAPACITY);
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let (inbox, job) = (inbox.clone(), Arc::clone(&job));
            thread::spawn(move || {
                let mut report = Report::default();
                for id in inbox {
                    match run_one(&job, id) {
                        Ok(()) => report.completed += 1,
                        Err(error) => {
                            report.failed += 1;
                            report.errors.push((id, error));
                        }
                    }
                }
                report
            })
        })
        .collect();
    // `for` takes the next item only once this one is sent.
    for id in items {
        queue.send(id).expect("the workers hold the queue open");
    }
    drop(queue);
    let mut total = Report::default();
    for worker in workers {
        let report = worker
            .join()
            .expect("run_one keeps panics inside the worker");
        total.completed += report.completed;
        total.failed += report.failed;
        total.errors.extend(report.errors);
    }
    total.errors.sort();
    total
}
// ANCHOR_END: run_pool
