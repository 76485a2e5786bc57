//! Lesson 08 — a bounded blocking priority queue: order, blocking, closing.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use lesson_08::{Closed, PriorityQueue};
use lesson_support::{
    assert_each_exactly_once, finishes, join_all, join_finished, wait_for_or_exit,
};

const WAKE_ALL: &str =
    "close() must wake every waiting thread: notify_all on both condvars, not notify_one";
const LOST_WAKE: &str = "a thread waits for a signal nobody sends: does take() wake a producer waiting for room, \
     and put() a taker waiting for an item?";

/// Puts `(priority, item)` pairs, closes, and drains the queue on a watched thread.
fn order_of(capacity: usize, pushed: Vec<(u32, u64)>) -> Vec<u64> {
    finishes("put, close, then take everything", LOST_WAKE, move || {
        let queue = PriorityQueue::new(capacity);
        for (priority, item) in pushed {
            queue.put(priority, item).expect("the queue is open");
        }
        queue.close();
        std::iter::from_fn(|| queue.take()).collect()
    })
}

#[test]
fn a_higher_priority_is_taken_first() {
    assert_eq!(
        order_of(8, vec![(1, 10), (3, 30), (2, 20)]),
        [30, 20, 10],
        "priority 3 first, then 2, then 1: is the comparison the wrong way round (a min-heap)?"
    );
}

#[test]
fn equal_priorities_come_out_in_arrival_order() {
    let pushed: Vec<(u32, u64)> = (0..50).map(|item| (1, item)).collect();
    assert_eq!(
        order_of(64, pushed),
        (0..50).collect::<Vec<_>>(),
        "a BinaryHeap alone does not keep equal items in order: break ties by arrival, earliest first"
    );
}

#[test]
fn priority_first_then_arrival() {
    let pushed = vec![(1, 0), (3, 1), (1, 2), (3, 3), (0, 4), (1, 5)];
    assert_eq!(
        order_of(8, pushed),
        [1, 3, 0, 2, 5, 4],
        "the 3s first (1 before 3: it came first), then the 1s in arrival order, then the 0"
    );
}

#[test]
fn put_waits_while_the_queue_is_full() {
    let queue = Arc::new(PriorityQueue::new(2));
    let producer = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || {
            for item in 0..3 {
                queue.put(0, item).expect("the queue is open");
            }
        })
    };
    let filled = {
        let queue = Arc::clone(&queue);
        move || queue.len() == 2
    };
    if wait_for_or_exit(&producer, "the queue to fill", filled) {
        join_finished(producer);
        panic!("three puts into a queue of 2 all returned: a full queue must make put() wait");
    }
    thread::sleep(Duration::from_millis(150));
    assert!(
        !producer.is_finished(),
        "the third put returned while the queue was full: it must wait for room"
    );
    assert_eq!(
        queue.len(),
        2,
        "the queue holds {} items with a capacity of 2",
        queue.len()
    );
    assert_eq!(queue.take(), Some(0));
    join_all(vec![producer], "producer", LOST_WAKE);
    assert_eq!(
        queue.len(),
        2,
        "the waiting put went in once there was room"
    );
}

#[test]
fn take_waits_for_an_item() {
    let queue = Arc::new(PriorityQueue::new(4));
    let taker = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || queue.take())
    };
    thread::sleep(Duration::from_millis(100));
    if taker.is_finished() {
        let got = join_finished(taker);
        panic!("take() on an empty, open queue returned {got:?} instead of waiting");
    }
    queue.put(5, 42u64).unwrap();
    assert_eq!(join_all(vec![taker], "taker", LOST_WAKE), [Some(42)]);
}

#[test]
fn close_wakes_every_waiting_taker() {
    let queue = Arc::new(PriorityQueue::<u64>::new(4));
    let takers: Vec<_> = (0..3)
        .map(|_| {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.take())
        })
        .collect();
    thread::sleep(Duration::from_millis(100)); // let them all wait
    queue.close();
    assert_eq!(join_all(takers, "takers", WAKE_ALL), [None, None, None]);
}

#[test]
fn close_wakes_a_producer_waiting_for_room() {
    let queue = Arc::new(PriorityQueue::new(1));
    queue.put(0, 1u64).unwrap();
    let producer = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || queue.put(0, 2))
    };
    thread::sleep(Duration::from_millis(100));
    queue.close();
    assert_eq!(
        join_all(vec![producer], "producer", WAKE_ALL),
        [Err(Closed(2))],
        "a put cut short by close hands its item back"
    );
}

#[test]
fn items_put_before_close_are_still_taken_and_later_puts_refused() {
    let (got, refused) = finishes("put, close, take", LOST_WAKE, || {
        let queue = PriorityQueue::new(4);
        queue.put(1, 7u64).unwrap();
        queue.put(2, 8).unwrap();
        queue.close();
        let refused = queue.put(3, 9);
        (
            std::iter::from_fn(|| queue.take()).collect::<Vec<_>>(),
            refused,
        )
    });
    assert_eq!(
        got,
        [8, 7],
        "a closed queue still hands out what it holds, by priority, then None"
    );
    assert_eq!(
        refused,
        Err(Closed(9)),
        "a put into a closed queue is refused, with the item handed back"
    );
}

#[test]
fn many_producers_and_consumers_lose_nothing() {
    let queue = Arc::new(PriorityQueue::new(8));
    let taken = finishes(
        "4 producers and 4 consumers, 1000 items, capacity 8",
        LOST_WAKE,
        move || {
            let producers: Vec<_> = (0..4u64)
                .map(|p| {
                    let queue = Arc::clone(&queue);
                    thread::spawn(move || {
                        for n in 0..250 {
                            queue
                                .put((n % 3) as u32, p * 250 + n)
                                .expect("open until every producer is done");
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let queue = Arc::clone(&queue);
                    thread::spawn(move || std::iter::from_fn(|| queue.take()).collect::<Vec<u64>>())
                })
                .collect();
            producers.into_iter().for_each(|p| p.join().unwrap());
            queue.close();
            consumers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect::<Vec<u64>>()
        },
    );
    assert_each_exactly_once(0..1000, taken, "items taken");
}
