//! Model checking of the hand-made queues with loom: every interleaving of
//! put / get / close, with up to four threads, within a preemption bound.
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release -p loom-models
//! ```
//!
//! A lost wake-up leaves a thread waiting forever, which loom reports as a
//! deadlock; a lost or duplicated item fails the assertions. loom has no clock,
//! so timeouts are tested with real time instead (`src/queue/contract_tests.rs`).
#![cfg(loom)]

use loom::thread;
use queue_sim::queue::{
    CondvarQueue, Prioritized, PriorityQueue, PutError, QueueReceiver, QueueSender, WorkQueue,
};

/// An item with a priority, for both queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    priority: u32,
    id: u32,
}

impl Prioritized for Item {
    fn priority(&self) -> u32 {
        self.priority
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // LOOM_MAX_PREEMPTIONS overrides; 3 finds most bugs in models this size.
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

fn drain<R: QueueReceiver<Item>>(receiver: &R) -> Vec<u32> {
    std::iter::from_fn(|| receiver.get())
        .map(|item| item.id)
        .collect()
}

/// Two producers and two consumers (one of them the main thread) at capacity 1:
/// every item arrives exactly once, and both consumers see the close.
fn two_by_two_at_capacity_one<Q: WorkQueue<Item>>() {
    model(|| {
        let (sender, receiver) = Q::bounded(1);
        let producers: Vec<_> = (0..2)
            .map(|id| {
                let sender = sender.clone();
                thread::spawn(move || {
                    sender
                        .put(Item {
                            priority: id % 2,
                            id,
                        })
                        .map(|_| ())
                        .map_err(|_| "disconnected")
                })
            })
            .collect();
        drop(sender);
        let other = receiver.clone();
        let consumer = thread::spawn(move || drain(&other));
        let mut got = drain(&receiver);
        for producer in producers {
            assert_eq!(producer.join().unwrap(), Ok(()));
        }
        got.extend(consumer.join().unwrap());
        got.sort_unstable();
        assert_eq!(got, [0, 1], "every item exactly once");
    });
}

/// Closing wakes every consumer waiting on an empty queue.
fn close_wakes_every_waiter<Q: WorkQueue<Item>>() {
    model(|| {
        let (sender, receiver) = Q::bounded(1);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let receiver = receiver.clone();
                thread::spawn(move || receiver.get())
            })
            .collect();
        drop(sender);
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), None);
        }
    });
}

/// A producer blocked on a full queue is freed, with its item, when the last
/// receiver goes.
fn dropping_receivers_frees_a_blocked_producer<Q: WorkQueue<Item>>() {
    model(|| {
        let (sender, receiver) = Q::bounded(1);
        sender.put(Item { priority: 0, id: 1 }).unwrap();
        let producer = thread::spawn(move || sender.put(Item { priority: 0, id: 2 }).map(|_| ()));
        drop(receiver);
        assert_eq!(
            producer.join().unwrap(),
            Err(PutError::Closed(Item { priority: 0, id: 2 }))
        );
    });
}

/// A rendezvous (capacity 0): each put completes only by a hand-off; nothing lost.
fn rendezvous_hands_over_every_item<Q: WorkQueue<Item>>() {
    model(|| {
        let (sender, receiver) = Q::bounded(0);
        let producer = thread::spawn(move || {
            for id in 0..2 {
                assert_eq!(sender.put(Item { priority: 0, id }).map_err(|_| ()), Ok(0));
            }
        });
        let got = drain(&receiver);
        producer.join().unwrap();
        assert_eq!(got, [0, 1]);
    });
}

#[test]
fn condvar_queue_two_producers_two_consumers_at_capacity_one() {
    two_by_two_at_capacity_one::<CondvarQueue>();
}

#[test]
fn priority_queue_two_producers_two_consumers_at_capacity_one() {
    two_by_two_at_capacity_one::<PriorityQueue>();
}

#[test]
fn condvar_queue_close_wakes_every_waiter() {
    close_wakes_every_waiter::<CondvarQueue>();
}

#[test]
fn priority_queue_close_wakes_every_waiter() {
    close_wakes_every_waiter::<PriorityQueue>();
}

#[test]
fn condvar_queue_dropping_receivers_frees_a_blocked_producer() {
    dropping_receivers_frees_a_blocked_producer::<CondvarQueue>();
}

#[test]
fn priority_queue_dropping_receivers_frees_a_blocked_producer() {
    dropping_receivers_frees_a_blocked_producer::<PriorityQueue>();
}

#[test]
fn condvar_queue_rendezvous_hands_over_every_item() {
    rendezvous_hands_over_every_item::<CondvarQueue>();
}

#[test]
fn priority_queue_serves_the_higher_priority_first() {
    model(|| {
        let (sender, receiver) = PriorityQueue::bounded(2);
        let producers: Vec<_> = [(1, 10), (2, 20)]
            .into_iter()
            .map(|(priority, id)| {
                let sender = sender.clone();
                thread::spawn(move || {
                    sender
                        .put(Item { priority, id })
                        .map(|_| ())
                        .map_err(|_| ())
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap().unwrap();
        }
        drop(sender);
        assert_eq!(drain(&receiver), [20, 10]);
    });
}
