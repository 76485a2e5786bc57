//! The behaviour every backend promises, checked on each of them.
//!
//! Every blocking call runs under a watchdog: a broken queue fails the test with
//! a message instead of hanging it.

use std::collections::HashSet;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::item::WorkItem;

/// How long a queue operation may block before the test calls it hung.
const WATCHDOG: Duration = Duration::from_secs(10);

/// Runs `f` on a thread and fails the test if it has not returned in time.
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    lesson_support::finishes_within(
        WATCHDOG,
        what,
        "a lost wake-up, or a close that never reached a waiting thread",
        f,
    )
}

fn item(id: u64, priority: u32) -> WorkItem {
    WorkItem::new(id, priority)
}

fn fifo_with_one_consumer<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(4);
    let ids = within("fifo", move || {
        let producer = thread::spawn(move || {
            for id in 0..1_000 {
                tx.put(item(id, 0)).unwrap();
            }
        });
        let mut ids = Vec::new();
        while let Some(item) = rx.get() {
            ids.push(item.id);
        }
        producer.join().unwrap();
        ids
    });
    assert_eq!(
        ids,
        (0..1_000).collect::<Vec<_>>(),
        "{}: one consumer must see items in put order",
        Q::KIND
    );
}

fn no_loss_no_duplicates_with_many_producers_and_consumers<Q: WorkQueue<WorkItem>>(
    capacity: usize,
) {
    const PRODUCERS: u64 = 4;
    const PER_PRODUCER: u64 = 2_500;
    let (tx, rx) = Q::bounded(capacity);
    let seen = within("mpmc", move || {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for n in 0..PER_PRODUCER {
                        tx.put(item(p * PER_PRODUCER + n, (n % 3) as u32)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(item) = rx.get() {
                        got.push(item.id);
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        producers.into_iter().for_each(|p| p.join().unwrap());
        consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect::<Vec<_>>()
    });
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "{}: an item was delivered twice",
        Q::KIND
    );
    assert_eq!(
        seen.len() as u64,
        PRODUCERS * PER_PRODUCER,
        "{}: items were lost",
        Q::KIND
    );
}

fn put_blocks_while_full<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(2);
    assert_eq!(tx.put(item(0, 0)), Ok(1));
    assert_eq!(tx.put(item(1, 0)), Ok(2));
    let (returned, returned_rx) = mpsc::channel();
    let blocked = thread::spawn(move || {
        let depth = tx.put(item(2, 0));
        returned.send(()).unwrap();
        depth
    });
    assert!(
        returned_rx
            .recv_timeout(Duration::from_millis(100))
            .is_err(),
        "{}: a put into a full queue returned instead of waiting",
        Q::KIND
    );
    rx.get().unwrap();
    returned_rx
        .recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("{}: a get did not wake the blocked producer", Q::KIND));
    assert_eq!(blocked.join().unwrap(), Ok(2));
}

fn closing_wakes_every_waiting_consumer<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(1);
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.get())
        })
        .collect();
    thread::sleep(Duration::from_millis(50)); // let them go to sleep
    drop(tx);
    let results = within("close", move || {
        waiting
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert!(
        results.iter().all(Option::is_none),
        "{}: {results:?}",
        Q::KIND
    );
}

fn items_put_before_close_are_still_delivered<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(3);
    tx.put(item(7, 0)).unwrap();
    drop(tx);
    assert_eq!(rx.get().map(|i| i.id), Some(7));
    assert_eq!(rx.get(), None);
}

fn get_timeout_times_out_then_sees_close<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(1);
    let started = Instant::now();
    assert_eq!(
        rx.get_timeout(Duration::from_millis(30)),
        Err(GetError::Empty)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "{}: timed out early",
        Q::KIND
    );
    tx.put(item(1, 0)).unwrap();
    assert_eq!(
        rx.get_timeout(Duration::from_millis(30)).map(|i| i.id),
        Ok(1)
    );
    drop(tx);
    assert_eq!(
        rx.get_timeout(Duration::from_secs(5)),
        Err(GetError::Closed)
    );
}

fn put_without_receivers_hands_the_item_back<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(1);
    drop(rx);
    assert_eq!(tx.put(item(3, 0)), Err(PutError::Closed(item(3, 0))));
}

/// A timed put into a full queue (or, at capacity 0, one nobody takes from)
/// gives up after its timeout with the item handed back, and leaves the queue
/// as it was: the next get sees only what was there before.
fn put_timeout_gives_up_on_a_full_queue<Q: WorkQueue<WorkItem>>(capacity: usize) {
    let (tx, rx) = Q::bounded(capacity);
    for id in 0..capacity as u64 {
        tx.put(item(id, 0)).unwrap();
    }
    let started = Instant::now();
    let refused = within("put_timeout", move || {
        tx.put_timeout(item(9, 0), Duration::from_millis(30))
    });
    assert_eq!(refused, Err(PutError::Full(item(9, 0))), "{}", Q::KIND);
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "{}: gave up early",
        Q::KIND
    );
    let left: Vec<u64> = std::iter::from_fn(|| rx.get()).map(|i| i.id).collect();
    assert_eq!(
        left,
        (0..capacity as u64).collect::<Vec<_>>(),
        "{}: the refused item must not stay in the queue",
        Q::KIND
    );
}

fn rendezvous_put_waits_for_a_taker<Q: WorkQueue<WorkItem>>() {
    let (tx, rx) = Q::bounded(0);
    let (returned, returned_rx) = mpsc::channel();
    let producer = thread::spawn(move || {
        let depth = tx.put(item(5, 0));
        returned.send(()).unwrap();
        depth
    });
    assert!(
        returned_rx
            .recv_timeout(Duration::from_millis(100))
            .is_err(),
        "{}: a rendezvous put returned before anyone took the item",
        Q::KIND
    );
    assert_eq!(
        within("rendezvous get", move || rx.get().map(|i| i.id)),
        Some(5)
    );
    returned_rx
        .recv_timeout(WATCHDOG)
        .expect("the put returns once the item is taken");
    assert_eq!(
        producer.join().unwrap(),
        Ok(0),
        "{}: a rendezvous queue never holds a waiting item",
        Q::KIND
    );
}

macro_rules! contract {
    ($module:ident, $queue:ty) => {
        mod $module {
            use super::*;

            #[test]
            fn no_loss_no_duplicates_with_many_producers_and_consumers() {
                super::no_loss_no_duplicates_with_many_producers_and_consumers::<$queue>(8);
            }
            #[test]
            fn no_loss_no_duplicates_at_capacity_one() {
                super::no_loss_no_duplicates_with_many_producers_and_consumers::<$queue>(1);
            }
            #[test]
            fn no_loss_no_duplicates_through_a_rendezvous() {
                super::no_loss_no_duplicates_with_many_producers_and_consumers::<$queue>(0);
            }
            #[test]
            fn put_blocks_while_full() {
                super::put_blocks_while_full::<$queue>();
            }
            #[test]
            fn closing_wakes_every_waiting_consumer() {
                super::closing_wakes_every_waiting_consumer::<$queue>();
            }
            #[test]
            fn items_put_before_close_are_still_delivered() {
                super::items_put_before_close_are_still_delivered::<$queue>();
            }
            #[test]
            fn get_timeout_times_out_then_sees_close() {
                super::get_timeout_times_out_then_sees_close::<$queue>();
            }
            #[test]
            fn put_without_receivers_hands_the_item_back() {
                super::put_without_receivers_hands_the_item_back::<$queue>();
            }
            #[test]
            fn put_timeout_gives_up_on_a_full_queue() {
                super::put_timeout_gives_up_on_a_full_queue::<$queue>(1);
            }
            #[test]
            fn put_timeout_gives_up_without_a_taker() {
                super::put_timeout_gives_up_on_a_full_queue::<$queue>(0);
            }
            #[test]
            fn rendezvous_put_waits_for_a_taker() {
                super::rendezvous_put_waits_for_a_taker::<$queue>();
            }
        }
    };
}

contract!(channel, ChannelQueue);
contract!(condvar, CondvarQueue);
contract!(priority, PriorityQueue);

#[test]
fn channel_is_fifo_with_one_consumer() {
    fifo_with_one_consumer::<ChannelQueue>();
}

#[test]
fn condvar_is_fifo_with_one_consumer() {
    fifo_with_one_consumer::<CondvarQueue>();
}

#[test]
fn priority_serves_higher_first_and_fifo_among_equals() {
    let (tx, rx) = PriorityQueue::bounded(8);
    let put = [(0, 1), (1, 3), (2, 1), (3, 3), (4, 0), (5, 1)];
    for (id, priority) in put {
        tx.put(item(id, priority)).unwrap();
    }
    drop(tx);
    let order: Vec<u64> = std::iter::from_fn(|| rx.get()).map(|i| i.id).collect();
    assert_eq!(
        order,
        [1, 3, 0, 2, 5, 4],
        "priority 3 first (in put order), then 1s in put order, then 0"
    );
}

#[test]
fn equal_priorities_do_not_starve_early_items() {
    // A heap alone would hand out equal keys in no particular order.
    let (tx, rx) = PriorityQueue::bounded(64);
    for id in 0..64 {
        tx.put(item(id, 2)).unwrap();
    }
    drop(tx);
    let order: Vec<u64> = std::iter::from_fn(|| rx.get()).map(|i| i.id).collect();
    assert_eq!(order, (0..64).collect::<Vec<_>>());
}
