//! Producers: make items lazily, pace them, put them, and account for the ones
//! they could not deliver.

use std::time::{Duration, Instant};

use crate::chance;
use crate::config::SimConfig;
use crate::item::WorkItem;
use crate::queue::{PutError, QueueSender};
use crate::report::DepthSample;
use crate::stats::{Record, Recorder, ms};
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
    /// Results kept in the sample.
    pub(crate) sample: usize,
    /// How much the producer's recorder keeps, and whether it records the
    /// depth after every put.
    pub(crate) record: Record,
}

impl ProducerPlan {
    /// The id after `id` in this producer's share, if there is one.
    fn after(&self, id: u64) -> Option<u64> {
        id.checked_add(self.stride)
            .filter(|&next| next < self.items)
    }

    /// When item `id` is due at `rate` items per second: `id / rate` after the
    /// start — computed from the start, so oversleeping once does not slow
    /// every later item. `None` if that is later than the clock can count.
    fn due(&self, id: u64, rate: f64) -> Option<Instant> {
        Duration::try_from_secs_f64(id as f64 / rate)
            .ok()
            .and_then(|offset| self.started.checked_add(offset))
    }

    /// Producer `index`'s share of `config`'s items, in a run started at `started`.
    pub(crate) fn new(config: &SimConfig, index: usize, started: Instant, record: Record) -> Self {
        ProducerPlan {
            first: index as u64,
            stride: config.producers as u64,
            items: config.items,
            rate_per_s: config.rate_per_s,
            priorities: config.priorities,
            seed: config.seed,
            started,
            sample: config.sample,
            record,
        }
    }
}

/// What one producer did.
#[derive(Debug)]
pub(crate) struct ProducerReport {
    pub(crate) produced: u64,
    pub(crate) max_depth: usize,
    /// Items it made but could not deliver (counted as unprocessed).
    pub(crate) recorder: Recorder,
    /// The depth after each of its puts, if the plan asked for it.
    pub(crate) depth_trace: Option<Vec<DepthSample>>,
}

/// Runs one producer to the end of its share, or until `stop` is raised.
pub(crate) fn produce<S: QueueSender<WorkItem>>(
    plan: &ProducerPlan,
    queue: S,
    stop: &StopSignal,
) -> ProducerReport {
    let mut recorder = Recorder::new(plan.sample, plan.record);
    let mut produced = 0;
    let mut max_depth = 0;
    let mut depth_trace = plan.record.keeps_depth().then(Vec::new);
    let mut next = (plan.first < plan.items).then_some(plan.first);
    while let Some(id) = next {
        match stop.reason() {
            // Stop producing: items not yet made were never produced.
            Some(StopReason::Interrupted) => break,
            // Nobody is left to take items: account for the rest of the share.
            Some(StopReason::ConsumersGone) => {
                produced += refuse_rest(plan, Some(id), &mut recorder);
                break;
            }
            None => {}
        }
        if !wait_until_due(plan, id, stop) {
            continue; // woken by the stop signal: the top of the loop decides
        }
        let item = WorkItem::new(id, chance::priority_of(plan.seed, id, plan.priorities));
        produced += 1;
        match queue.put(item) {
            Ok(depth) => {
                max_depth = max_depth.max(depth);
                if let Some(samples) = &mut depth_trace {
                    samples.push(DepthSample {
                        at_ms: ms(plan.started.elapsed()),
                        depth,
                    });
                }
            }
            Err(PutError::Closed(item) | PutError::Full(item)) => {
                // Cannot happen while the run holds a receiver; counted, not dropped.
                recorder.unprocessed(&item);
                produced += refuse_rest(plan, plan.after(id), &mut recorder);
                break;
            }
        }
        next = plan.after(id);
    }
    // Dropping `queue` here is what closes it once every producer is done.
    ProducerReport {
        produced,
        max_depth,
        recorder,
        depth_trace,
    }
}

/// Waits until item `id` is due at `--rate` (at once without one); `false`
/// if the stop signal ended the wait first.
fn wait_until_due(plan: &ProducerPlan, id: u64, stop: &StopSignal) -> bool {
    let Some(rate) = plan.rate_per_s else {
        return true;
    };
    match plan.due(id, rate) {
        Some(due) => {
            let now = Instant::now();
            due <= now || stop.sleep(due - now)
        }
        // Due later than the clock can count (`--rate 1e-20`): in practice
        // never. Only the stop signal ends the wait.
        None => {
            stop.wait();
            false
        }
    }
}

/// Counts ids `from, from + stride, …` below `items` as produced but
/// unprocessed; returns how many. In O(1), unless every result is kept: then
/// each id needs a result of its own.
fn refuse_rest(plan: &ProducerPlan, from: Option<u64>, recorder: &mut Recorder) -> u64 {
    let Some(from) = from.filter(|&from| from < plan.items) else {
        return 0;
    };
    let count = (plan.items - 1 - from) / plan.stride + 1;
    recorder.unprocessed_many(count, || {
        std::iter::successors(Some(from), |&id| plan.after(id))
            .map(|id| WorkItem::new(id, chance::priority_of(plan.seed, id, plan.priorities)))
    });
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{ChannelQueue, QueueReceiver, WorkQueue};

    fn plan(first: u64, stride: u64, items: u64) -> ProducerPlan {
        ProducerPlan {
            first,
            stride,
            items,
            rate_per_s: None,
            priorities: 1,
            seed: 0,
            started: Instant::now(),
            sample: 0,
            record: Record::Sample,
        }
    }

    fn drain(receiver: impl QueueReceiver<WorkItem>) -> Vec<u64> {
        std::iter::from_fn(|| receiver.get())
            .map(|item| item.id)
            .collect()
    }

    #[test]
    fn a_producer_makes_every_stride_th_id_of_its_share() {
        let (tx, rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(16);
        let report = produce(&plan(1, 3, 11), tx, &StopSignal::new());
        assert_eq!(report.produced, 4);
        assert_eq!(drain(rx), [1, 4, 7, 10]);
        assert_eq!(report.max_depth, 4, "depth is measured at each put");
    }

    #[test]
    fn with_no_consumers_left_the_rest_of_the_share_is_produced_but_unprocessed() {
        let (tx, rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(16);
        let stop = StopSignal::new();
        stop.raise(StopReason::ConsumersGone);
        let report = produce(&plan(0, 2, 9), tx, &stop);
        assert_eq!((report.produced, report.recorder.tally.unprocessed), (5, 5));
        assert!(
            drain(rx).is_empty(),
            "nothing is put into a queue nobody reads"
        );
    }

    #[test]
    fn an_interrupt_stops_producing() {
        let (tx, _rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(16);
        let stop = StopSignal::new();
        stop.raise(StopReason::Interrupted);
        let report = produce(&plan(0, 1, 100), tx, &stop);
        assert_eq!((report.produced, report.recorder.tally.unprocessed), (0, 0));
    }

    #[test]
    fn a_slow_producer_stops_mid_sleep() {
        let (tx, _rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(16);
        let stop = StopSignal::new();
        let paced = ProducerPlan {
            rate_per_s: Some(0.01), // one item every 100 s
            ..plan(0, 1, 3)
        };
        let started = Instant::now();
        let report = std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                stop.raise(StopReason::ConsumersGone);
            });
            produce(&paced, tx, &stop)
        });
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(
            report.produced, 3,
            "item 0 delivered, items 1 and 2 refused"
        );
        assert_eq!(report.recorder.tally.unprocessed, 2);
    }

    #[test]
    fn a_rate_too_slow_for_the_clock_waits_for_the_stop_signal() {
        for rate in [1e-19, 1e-20, 5e-324] {
            let (tx, rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(16);
            let stop = StopSignal::new();
            let paced = ProducerPlan {
                rate_per_s: Some(rate),
                ..plan(0, 1, 3)
            };
            let report = std::thread::scope(|scope| {
                scope.spawn(|| {
                    std::thread::sleep(Duration::from_millis(50));
                    stop.raise(StopReason::ConsumersGone);
                });
                produce(&paced, tx, &stop)
            });
            assert_eq!(
                (report.produced, report.recorder.tally.unprocessed),
                (3, 2),
                "rate {rate}: item 0 is due at once, items 1 and 2 never"
            );
            assert_eq!(drain(rx), [0]);
        }
    }

    #[test]
    fn the_rest_of_a_huge_share_is_counted_at_once() {
        let (tx, _rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(16);
        let stop = StopSignal::new();
        stop.raise(StopReason::ConsumersGone);
        let report = produce(&plan(1, 3, u64::MAX), tx, &stop);
        assert_eq!(report.produced, (u64::MAX - 1 - 1) / 3 + 1);
        assert_eq!(report.recorder.tally.unprocessed, report.produced);
    }

    #[test]
    fn items_refused_by_a_disconnected_queue_are_counted() {
        let (tx, rx) = <ChannelQueue as WorkQueue<WorkItem>>::bounded(4);
        drop(rx);
        let report = produce(&plan(0, 1, 6), tx, &StopSignal::new());
        assert_eq!((report.produced, report.recorder.tally.unprocessed), (6, 6));
    }
}
