//! Moving items through a queue as fast as it goes: what the benchmarks
//! (`benches/queues.rs`) and `cargo xtask bench` measure.
//!
//! Every measurement moves the same [`WorkItem`]s from `producers` threads to
//! `consumers` threads and checks that each consumer's count adds up, so a
//! queue that lost items could not post a good time.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::choice::Choice;
use crate::item::WorkItem;
use crate::queue::{QueueReceiver, QueueSender, WorkQueue};

/// The shape of one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Producer threads.
    pub producers: usize,
    /// Consumer threads.
    pub consumers: usize,
    /// Queue capacity.
    pub capacity: usize,
    /// Items moved in all.
    pub items: u64,
}

/// The shapes the benchmark and the quick table both measure: one producer and
/// one consumer, four of each, at capacity 1 and 100 — one list, so the two
/// report the same grid.
pub fn every_shape(items: u64) -> impl Iterator<Item = Shape> {
    [(1, 1), (4, 4)]
        .into_iter()
        .flat_map(move |(producers, consumers)| {
            [1, 100].into_iter().map(move |capacity| Shape {
                producers,
                consumers,
                capacity,
                items,
            })
        })
}

/// Moves `shape.items` items through a `Q` queue; returns the elapsed time.
pub fn through_queue<Q: WorkQueue<WorkItem>>(shape: Shape) -> Duration {
    let (sender, receiver) = Q::bounded(shape.capacity);
    run(
        shape,
        move |_| {
            let sender = sender.clone();
            move |item| {
                sender.put(item).expect("consumers outlive producers");
            }
        },
        move |_| {
            let receiver = receiver.clone();
            move || receiver.get()
        },
    )
}

/// The same with crossbeam-channel used directly: the reference.
pub fn through_crossbeam(shape: Shape) -> Duration {
    let (sender, receiver) = crossbeam_channel::bounded(shape.capacity);
    run(
        shape,
        move |_| {
            let sender = sender.clone();
            move |item| sender.send(item).expect("consumers outlive producers")
        },
        move |_| {
            let receiver = receiver.clone();
            move || receiver.recv().ok()
        },
    )
}

/// The same with `std::sync::mpsc::sync_channel`. Its receiver cannot be cloned
/// (multi-producer, *single*-consumer), so several consumers share it behind a
/// mutex — the usual workaround, and part of what is measured.
pub fn through_std_sync_channel(shape: Shape) -> Duration {
    let (sender, receiver) = mpsc::sync_channel(shape.capacity);
    let receiver = Arc::new(Mutex::new(receiver));
    run(
        shape,
        move |_| {
            let sender = sender.clone();
            move |item| sender.send(item).expect("consumers outlive producers")
        },
        move |_| {
            let receiver = Arc::clone(&receiver);
            move || receiver.lock().ok()?.recv().ok()
        },
    )
}

/// Starts the consumers, then the producers (each putting its share through
/// `put`), and times until every consumer has seen the queue close.
fn run<P, Put, C, Get>(shape: Shape, make_producer: P, make_consumer: C) -> Duration
where
    P: Fn(usize) -> Put,
    Put: FnMut(WorkItem) + Send + 'static,
    C: Fn(usize) -> Get,
    Get: FnMut() -> Option<WorkItem> + Send + 'static,
{
    let started = Instant::now();
    let consumers: Vec<_> = (0..shape.consumers)
        .map(|index| {
            let mut get = make_consumer(index);
            thread::spawn(move || {
                let mut taken = 0u64;
                while get().is_some() {
                    taken += 1;
                }
                taken
            })
        })
        .collect();
    let producers: Vec<_> = (0..shape.producers)
        .map(|index| {
            let mut put = make_producer(index);
            let share = (index as u64..shape.items).step_by(shape.producers);
            thread::spawn(move || share.for_each(|id| put(WorkItem::new(id, 0))))
        })
        .collect();
    // The closures that made the handles are dropped with this function's
    // arguments; the producers' handles close the queue when they finish.
    drop(make_producer);
    drop(make_consumer);
    producers
        .into_iter()
        .for_each(|p| p.join().expect("a producer panicked"));
    let taken: u64 = consumers
        .into_iter()
        .map(|c| c.join().expect("a consumer panicked"))
        .sum();
    assert_eq!(taken, shape.items, "items were lost or duplicated");
    started.elapsed()
}

/// One way of moving items: a measuring function.
pub type Measure = fn(Shape) -> Duration;

/// Every way measured, by name: the two references first, then the backends
/// under the names reports give them.
pub fn every_way() -> [(&'static str, Measure); 5] {
    use crate::queue::{ChannelQueue, CondvarQueue, PriorityQueue};
    [
        ("crossbeam", through_crossbeam),
        ("std_sync_channel", through_std_sync_channel),
        backend::<ChannelQueue>(),
        backend::<CondvarQueue>(),
        backend::<PriorityQueue>(),
    ]
}

fn backend<Q: WorkQueue<WorkItem>>() -> (&'static str, Measure) {
    (Q::KIND.name(), through_queue::<Q>)
}

/// Items per second for `items` moved in `elapsed`.
pub fn per_second(items: u64, elapsed: Duration) -> f64 {
    items as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_moves_every_item() {
        for shape in [
            Shape {
                producers: 1,
                consumers: 1,
                capacity: 1,
                items: 2_000,
            },
            Shape {
                producers: 4,
                consumers: 4,
                capacity: 100,
                items: 20_000,
            },
            Shape {
                producers: 2,
                consumers: 3,
                capacity: 0,
                items: 1_000,
            },
        ] {
            for (_, measure) in every_way() {
                measure(shape);
            }
        }
    }
}
