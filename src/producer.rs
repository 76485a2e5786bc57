//! Producers: make items lazily, pace them, push them, and account for the ones
//! they could not deliver.

use std::time::{Duration, Instant};

use crate::chance;
use crate::item::WorkItem;
use crate::queue::{Disconnected, QueueSender};
use crate::stats::Recorder;
use crate::stop::{StopReason, StopSignal};

/// What one producer does: item ids `first, first + stride, …` below `items`.
#[derive(Debug, Clone)]
pub(crate) struct ProducerPlan {
    pub(crate) first: u64,
    pub(crate) stride: u64,
    pub(crate) items: u64,
    /// Items per second offered by all producers together.
    pub(crate) rate_per_s: Option<f64>,
    pub(crate) priorities: u32,
    pub(crate) seed: u64,
    pub(crate) started: Instant,
}

/// What one producer did.
#[derive(Debug)]
pub(crate) struct ProducerReport {
    pub(crate) produced: u64,
    pub(crate) max_depth: usize,
    /// Items it made but could not deliver (counted as unprocessed).
    pub(crate) recorder: Recorder,
}

/// Runs one producer to the end of its share, or until `stop` is raised.
pub(crate) fn produce<S: QueueSender<WorkItem>>(
    plan: &ProducerPlan,
    queue: S,
    stop: &StopSignal,
    mut recorder: Recorder,
) -> ProducerReport {
    let mut produced = 0;
    let mut max_depth = 0;
    let mut id = plan.first;
    while id < plan.items {
        match stop.reason() {
            // Stop producing: items not yet made were never produced.
            Some(StopReason::Interrupted) => break,
            // Nobody is left to take items: account for the rest of the share.
            Some(StopReason::ConsumersGone) => {
                produced += refuse_rest(plan, id, &mut recorder);
                break;
            }
            None => {}
        }
        if let Some(rate) = plan.rate_per_s {
            // Item n is due at start + n / rate: computed from the start, so
            // oversleeping once does not slow every later item.
            let due = plan.started + Duration::from_secs_f64(id as f64 / rate);
            let now = Instant::now();
            if due > now && !stop.sleep(due - now) {
                continue; // woken by the stop signal: the top of the loop decides
            }
        }
        let item = WorkItem::new(id, chance::priority_of(plan.seed, id, plan.priorities));
        produced += 1;
        match queue.push(item) {
            Ok(depth) => max_depth = max_depth.max(depth),
            Err(Disconnected(item)) => {
                // Cannot happen while the run holds a receiver; counted, not dropped.
                recorder.unprocessed(&item);
                produced += refuse_rest(plan, id + plan.stride, &mut recorder);
                break;
            }
        }
        id += plan.stride;
    }
    // Dropping `queue` here is what closes it once every producer is done.
    ProducerReport {
        produced,
        max_depth,
        recorder,
    }
}

/// Counts ids `from, from + stride, …` below `items` as produced but unprocessed.
fn refuse_rest(plan: &ProducerPlan, from: u64, recorder: &mut Recorder) -> u64 {
    let mut refused = 0;
    let mut id = from;
    while id < plan.items {
        recorder.unprocessed(&WorkItem::new(
            id,
            chance::priority_of(plan.seed, id, plan.priorities),
        ));
        refused += 1;
        id += plan.stride;
    }
    refused
}
