//! # Lesson 11 — Multi-stage pipelines
//!
//! An assembly line: items are *prepared*, then *assembled*, then *inspected*,
//! each stage on its own thread, each hand-off a bounded channel. Three things
//! make it right: shutdown travels *behind* the last item (a closed channel is
//! seen only once it is empty), every hand-off is bounded (a fast stage cannot
//! bury a slow one), and each stage keeps statistics that show which stage
//! sets the pace. Read the book's chapter "11 · Pipelines"
//! (`book/src/lessons/11-pipelines.md`), replace each `todo!()`, and run
//! `cargo test -p lesson-11` until it is green.

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

/// What one stage did, and where its time went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStats {
    /// The stage's name: `prepare`, `assemble` or `inspect`.
    pub name: String,
    /// Items it finished and passed on.
    pub items: u64,
    /// Time inside its work function.
    pub busy: Duration,
    /// Time waiting for an item: the stage before was slower.
    pub starved: Duration,
    /// Time waiting for room downstream: the stage after was slower.
    pub blocked: Duration,
}

impl StageStats {
    fn new(name: &str) -> Self {
        StageStats {
            name: name.to_string(),
            items: 0,
            busy: Duration::ZERO,
            starved: Duration::ZERO,
            blocked: Duration::ZERO,
        }
    }
}

// ANCHOR: stage
/// Starts a stage on its own thread and returns at once: the thread takes
/// items from `input` until that is closed and empty, passes each through
/// `work`, and sends the result to `output`. When it returns it drops
/// `output`, which closes the next stage's input behind the last item. If a
/// send fails — the next stage is gone, which only a panic there does — it
/// stops, quietly. The thread's result is the stage's statistics.
pub fn stage<I, O, F>(
    name: &str,
    input: Receiver<I>,
    output: Sender<O>,
    mut work: F,
) -> JoinHandle<StageStats>
where
    I: Send + 'static,
    O: Send + 'static,
    F: FnMut(I) -> O + Send + 'static,
{
    let mut stats = StageStats::new(name);
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            loop {
                let asked = Instant::now();
                // `recv` fails only when the input is closed *and* empty: every
                // item sent before the close has come through by then.
                let Ok(item) = input.recv() else { break };
                let started = Instant::now();
                stats.starved += started - asked;
                let result = work(item);
                let finished = Instant::now();
                stats.busy += finished - started;
                if output.send(result).is_err() {
                    // The next stage is gone, which only a panic there does;
                    // run_pipeline re-raises that panic when it joins.
                    break;
                }
                stats.blocked += finished.elapsed();
                stats.items += 1;
            }
            stats
        })
        .expect("could not start a stage thread")
}
// ANCHOR_END: stage

/// What a pipeline run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineReport<T> {
    /// What came out of the last stage, in the order it came out.
    pub outputs: Vec<T>,
    /// Each stage's statistics, in pipeline order.
    pub stages: Vec<StageStats>,
    /// From the first item in to the last item out.
    pub elapsed: Duration,
}

// ANCHOR: run_pipeline
/// Runs `inputs` through three stages — `prepare`, `assemble`, `inspect` — with
/// a bounded channel of `capacity` (0: a rendezvous) before, between and after
/// them. A feeder thread takes the inputs one at a time and sends each on, so
/// no more of them is taken than the line has room for (a Vec, a range or a
/// file's lines alike); this thread collects the outputs until the last stage
/// closes its output, then joins every thread. A stage that panicked makes
/// this panic too, with that stage's own panic.
pub fn run_pipeline<A, B, C, D>(
    inputs: impl IntoIterator<Item = A> + Send + 'static,
    capacity: usize,
    prepare: impl FnMut(A) -> B + Send + 'static,
    assemble: impl FnMut(B) -> C + Send + 'static,
    inspect: impl FnMut(C) -> D + Send + 'static,
) -> PipelineReport<D>
where
    A: Send + 'static,
    B: Send + 'static,
    C: Send + 'static,
    D: Send + 'static,
{
    let started = Instant::now();
    let (feed, to_prepare) = bounded(capacity);
    let (prepared, to_assemble) = bounded(capacity);
    let (assembled, to_inspect) = bounded(capacity);
    let (inspected, outputs) = bounded(capacity);
    // Each Sender moves into the one thread that sends on it, so the channel
    // closes exactly when that thread is done — nothing here keeps a copy.
    let feeder = thread::spawn(move || {
        // `for` takes the next input only once this one is sent: the room in
        // the line paces the taking, all the way back to the source.
        for input in inputs {
            if feed.send(input).is_err() {
                break; // `prepare` is gone (it panicked): stop feeding
            }
        }
    });
    let stages = [
        stage("prepare", to_prepare, prepared, prepare),
        stage("assemble", to_assemble, assembled, assemble),
        stage("inspect", to_inspect, inspected, inspect),
    ];
    // The feeder runs on its own thread: feeding from here, before collecting,
    // would deadlock as soon as the inputs outnumber the pipeline's buffers.
    let outputs: Vec<D> = outputs.iter().collect();
    let elapsed = started.elapsed();
    feeder
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let stages = stages
        .into_iter()
        .map(|stage| {
            stage
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .collect();
    PipelineReport {
        outputs,
        stages,
        elapsed,
    }
}
// ANCHOR_END: run_pipeline
