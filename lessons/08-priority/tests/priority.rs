//! Lesson 08 — a bounded blocking priority queue: order, blocking, closing.
//!
//! Every call into your code runs under a watchdog, also the ones made right
//! here on the test's own thread: a queue that deadlocks fails within seconds
//! with a hint instead of freezing the run. The last test runs the loom models
//! in tests/model.rs, which try small scenarios under *every* interleaving.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lesson_08::{PriorityQueue, PutError};
use lesson_support::{
    assert_each_exactly_once, assert_sequence, finishes, join_all, join_finished, wait_for_or_exit,
};

const WAKE_ALL: &str = "close() must set `closed` under the lock, then wake every waiting thread \
     on both condvars: notify_all, not notify_one";
const WAKE_TAKER: &str =
    "put() must wake a taker waiting for an item: notify_one on not_empty after the push";
const WAKE_PUTTER: &str =
    "get() must wake a producer waiting for room: notify_one on not_full after the pop";
const LOST_WAKE: &str = "a thread waits for a signal nobody sends: does get() wake a producer waiting \
     for room (not_full), and put() a taker waiting for an item (not_empty)? Does close() wake them all?";
const NO_WAIT: &str = "this call had no reason to wait. Is the wait condition the right way round (wait \
     while full / empty AND open)? Is the mutex locked twice (say, self.len() called while holding \
     the lock)? A std Mutex locked again by the thread that holds it never returns";

/// A shared queue of `capacity`.
fn queue(capacity: usize) -> Arc<PriorityQueue<u64>> {
    Arc::new(PriorityQueue::new(capacity))
}

/// Runs `call` on `queue` under a watchdog: `what` names the call, `hint`
/// says what usually makes it hang.
#[track_caller]
fn watched<T: Send + 'static>(
    queue: &Arc<PriorityQueue<u64>>,
    what: &str,
    hint: &str,
    call: impl FnOnce(&PriorityQueue<u64>) -> T + Send + 'static,
) -> T {
    let queue = Arc::clone(queue);
    finishes(what, hint, move || call(&queue))
}

/// Starts `call` on a thread of its own; join with [`join_all`].
fn start<T: Send + 'static>(
    queue: &Arc<PriorityQueue<u64>>,
    call: impl FnOnce(&PriorityQueue<u64>) -> T + Send + 'static,
) -> JoinHandle<T> {
    let queue = Arc::clone(queue);
    thread::spawn(move || call(&queue))
}

/// Gives `thread` `ms` milliseconds to start waiting; fails the test, with
/// what it returned, if it finished instead.
#[track_caller]
fn still_waiting<T: std::fmt::Debug>(thread: JoinHandle<T>, ms: u64, what: &str) -> JoinHandle<T> {
    let started = Instant::now();
    if wait_for_or_exit(&thread, "the thread to wait", || {
        started.elapsed() >= Duration::from_millis(ms)
    }) {
        let returned = join_finished(thread);
        panic!("{what} returned {returned:?} instead of waiting");
    }
    thread
}

/// Puts `(priority, item)` pairs into a queue of `capacity`, closes it, and
/// gets everything back — all on a watched thread.
#[track_caller]
fn order_of(capacity: usize, pushed: Vec<(u32, u64)>) -> Vec<u64> {
    let queue = queue(capacity);
    watched(
        &queue,
        "put into a queue with room, close, then get everything",
        NO_WAIT,
        move |queue| {
            for (priority, item) in pushed {
                queue.put(priority, item).expect("the queue is open");
            }
            queue.close();
            std::iter::from_fn(|| queue.get()).collect()
        },
    )
}

// --------------------------------------------------------------- order --

#[test]
fn a_higher_priority_is_taken_first() {
    assert_eq!(
        order_of(8, vec![(1, 10), (3, 30), (2, 20)]),
        [30, 20, 10],
        "priority 3 first, then 2, then 1: is the comparison the wrong way round (a min-heap)?"
    );
    assert_eq!(
        order_of(8, vec![(0, 1), (u32::MAX, 2), (7, 3)]),
        [2, 3, 1],
        "u32::MAX is the most urgent priority there is, 0 the least"
    );
}

#[test]
fn equal_priorities_come_out_in_arrival_order() {
    for priority in [0, 1, u32::MAX] {
        let pushed: Vec<(u32, u64)> = (0..50).map(|item| (priority, item)).collect();
        assert_sequence(
            &(0..50).collect::<Vec<_>>(),
            &order_of(64, pushed),
            &format!(
                "50 items of priority {priority}, put in order 0..50: a BinaryHeap alone does not \
                 keep equal items in order — break ties by arrival, earliest first"
            ),
        );
    }
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
fn arrival_order_holds_while_items_come_and_go() {
    // Put two, get one, over and over, all at one priority: the queue never
    // empties, so an arrival number taken from the heap's length (which goes
    // down as well as up) would repeat, and equal numbers come out in any order.
    let queue = queue(64);
    let got = watched(&queue, "put two, get one, 40 times", NO_WAIT, |queue| {
        let mut got = Vec::new();
        for round in 0..40 {
            queue.put(1, 2 * round).expect("the queue is open");
            queue.put(1, 2 * round + 1).expect("the queue is open");
            got.push(queue.get().expect("the queue holds items"));
        }
        queue.close();
        got.extend(std::iter::from_fn(|| queue.get()));
        got
    });
    assert_sequence(
        &(0..80).collect::<Vec<_>>(),
        &got,
        "equal priorities leave in arrival order even while others are taken in between: number \
         each put from a counter that only grows (not the heap's length)",
    );
}

// ------------------------------------------------------- put and get --

#[test]
fn put_waits_while_the_queue_is_full() {
    let queue = queue(3);
    watched(
        &queue,
        "3 puts into an empty queue of capacity 3",
        NO_WAIT,
        |queue| {
            for item in 1..=3 {
                queue.put(0, item).expect("the queue is open");
            }
        },
    );
    let putter = start(&queue, |queue| queue.put(9, 4));
    let putter = still_waiting(
        putter,
        150,
        "a put into a full queue of capacity 3 (it must wait for room)",
    );
    let held = watched(&queue, "len() and is_empty()", NO_WAIT, |queue| {
        (queue.len(), queue.is_empty())
    });
    assert_eq!(
        held,
        (3, false),
        "(len(), is_empty()) of a full queue of capacity 3, with a put waiting"
    );
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(1), "all equal: the oldest first");
    let put = join_all(vec![putter], "putter", WAKE_PUTTER);
    assert_eq!(put, [Ok(())], "the waiting put went in once there was room");
    let (rest, left) = watched(&queue, "close and get until None", NO_WAIT, |queue| {
        queue.close();
        let rest = std::iter::from_fn(|| queue.get()).collect::<Vec<_>>();
        (rest, (queue.len(), queue.is_empty()))
    });
    assert_eq!(rest, [4, 2, 3], "the waiting put's item (priority 9) first");
    assert_eq!(left, (0, true), "(len(), is_empty()) once drained");
}

#[test]
fn a_queue_of_one_holds_one() {
    let queue = queue(1);
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(0, 1)
    })
    .unwrap();
    let putter = start(&queue, |queue| queue.put(0, 2));
    let putter = still_waiting(putter, 150, "a put into a full queue of capacity 1");
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(1));
    assert_eq!(join_all(vec![putter], "putter", WAKE_PUTTER), [Ok(())]);
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(2));
}

#[test]
fn get_waits_for_an_item() {
    let queue = queue(4);
    let taker = start(&queue, |queue| queue.get());
    let taker = still_waiting(taker, 150, "get() on an empty, open queue");
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(5, 42)
    })
    .unwrap();
    assert_eq!(join_all(vec![taker], "taker", WAKE_TAKER), [Some(42)]);
}

// --------------------------------------------------------------- close --

#[test]
fn a_closed_queue_refuses_puts_and_still_hands_out_what_it_holds() {
    let queue = queue(4);
    let (refused, got) = watched(
        &queue,
        "put, close, put, get until None",
        NO_WAIT,
        |queue| {
            queue.put(1, 7).unwrap();
            queue.put(2, 8).unwrap();
            queue.close();
            let refused = queue.put(3, 9);
            let got: Vec<Option<u64>> = (0..4).map(|_| queue.get()).collect();
            (refused, got)
        },
    );
    assert_eq!(
        refused,
        Err(PutError::Closed(9)),
        "a put into a closed queue is refused — even with room to spare — and hands its item back"
    );
    assert_eq!(
        got,
        [Some(8), Some(7), None, None],
        "a closed queue still hands out what it holds, by priority; then None, every time"
    );
}

#[test]
fn close_wakes_every_waiting_taker() {
    let queue = queue(4);
    let takers: Vec<_> = (0..3).map(|_| start(&queue, |queue| queue.get())).collect();
    thread::sleep(Duration::from_millis(150)); // let them all wait
    watched(&queue, "close()", NO_WAIT, |queue| queue.close());
    assert_eq!(join_all(takers, "takers", WAKE_ALL), [None, None, None]);
}

#[test]
fn close_wakes_every_producer_waiting_for_room() {
    let queue = queue(1);
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(0, 1)
    })
    .unwrap();
    let producers = vec![
        start(&queue, |queue| queue.put(0, 2)),
        start(&queue, |queue| queue.put(7, 3)),
    ];
    thread::sleep(Duration::from_millis(150)); // let them both wait
    watched(&queue, "close()", NO_WAIT, |queue| queue.close());
    assert_eq!(
        join_all(producers, "producers", WAKE_ALL),
        [Err(PutError::Closed(2)), Err(PutError::Closed(3))],
        "puts cut short by close hand their items back"
    );
    let rest = watched(&queue, "get() twice on a closed queue", NO_WAIT, |queue| {
        [queue.get(), queue.get()]
    });
    assert_eq!(
        rest,
        [Some(1), None],
        "what was in the queue before close is still delivered, then None"
    );
}

// ------------------------------------------------------------- threads --

/// `producers` put `items` between them (item n with priority n % 3);
/// `consumers` get until the queue is closed after the last put.
fn many(capacity: usize, producers: u64, consumers: usize, items: u64) {
    let queue = queue(capacity);
    let taken = watched(
        &queue,
        &format!(
            "{producers} producers and {consumers} consumers, {items} items, capacity {capacity}"
        ),
        LOST_WAKE,
        move |queue| {
            thread::scope(|s| {
                let takers: Vec<_> = (0..consumers)
                    .map(|_| s.spawn(|| std::iter::from_fn(|| queue.get()).collect::<Vec<u64>>()))
                    .collect();
                let putters: Vec<_> = (0..producers)
                    .map(|p| {
                        s.spawn(move || {
                            for item in (p..items).step_by(producers as usize) {
                                queue
                                    .put((item % 3) as u32, item)
                                    .expect("open until every producer is done");
                            }
                        })
                    })
                    .collect();
                for putter in putters {
                    putter
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e));
                }
                queue.close();
                takers
                    .into_iter()
                    .flat_map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect::<Vec<u64>>()
            })
        },
    );
    assert_each_exactly_once(0..items, taken, "items taken");
}

#[test]
fn many_producers_and_consumers_lose_nothing() {
    many(8, 3, 4, 1_001);
}

#[test]
fn many_producers_and_consumers_lose_nothing_at_capacity_one() {
    many(1, 3, 2, 501);
}

#[test]
fn every_interleaving_of_put_get_and_close_is_right() {
    // The scenarios are in tests/model.rs; loom tries each one under every
    // order in which its threads can take turns.
    lesson_support::run_models!();
}
