//! Lesson 09 — your own bounded blocking queue, and the same code over crossbeam.
//!
//! Every call into your code runs under a watchdog, also the ones made right
//! here on the test's own thread: a queue that deadlocks fails within seconds
//! with a hint instead of freezing the run. These tests use real threads and
//! real time; the last one runs the loom models in tests/model.rs, which try
//! small scenarios under *every* interleaving — where an `if` instead of a
//! `while`, or a waiter nobody counted, fails every time, not one run in fifty.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lesson_09::{BlockingQueue, ChannelQueue, CondvarQueue, GetError, PutError, run_all};
use lesson_support::{
    TimingSection, assert_each_exactly_once, finishes, join_all, join_finished, wait_for_or_exit,
};

const WAKE_ALL: &str = "close() must set `closed` under the lock, then wake every waiting thread \
     on both condvars: notify_all, not notify_one";
const WAKE_TAKER: &str = "put() must wake a taker waiting for an item (notify_one on not_empty), \
     and with Notify::WhenWaiting every waiting taker must be counted in waiting_takers";
const WAKE_PUTTER: &str = "get() must wake a putter waiting for room (notify_one on not_full), \
     and with Notify::WhenWaiting every waiting putter must be counted in waiting_putters";
const LOST_WAKE: &str = "a thread waits for a signal that never comes: does get() wake a waiting putter, and put() a \
     waiting taker? Is each waiter counted before it waits and uncounted after? Does run_all close the \
     queue once the producers are joined (and before joining the consumers)?";
const NO_WAIT: &str = "this call had no reason to wait. Is the wait condition the right way round (wait while \
     full / empty AND open)? Is the mutex locked twice? parking_lot's lock() on a lock this thread \
     already holds waits for ever";
const DEADLINE: &str = "a timed wait must end at its deadline: wait_until(&mut state, deadline), and once it \
     has passed return Full / Empty instead of waiting again";

/// A queue of `capacity` under the default policy (notify only when someone waits).
fn queue(capacity: usize) -> Arc<CondvarQueue<u64>> {
    Arc::new(CondvarQueue::new(capacity))
}

/// Runs `call` on `queue` under a watchdog: `what` names the call, `hint`
/// says what usually makes it hang.
#[track_caller]
fn watched<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    what: &str,
    hint: &str,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> T {
    let queue = Arc::clone(queue);
    finishes(what, hint, move || call(&queue))
}

/// [`watched`], also returning how long the call took on its own thread.
#[track_caller]
fn timed<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    what: &str,
    hint: &str,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> (T, Duration) {
    watched(queue, what, hint, move |queue| {
        let started = Instant::now();
        let output = call(queue);
        (output, started.elapsed())
    })
}

/// Starts `call` on a thread of its own, timing it; join with [`join_all`].
fn start<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> JoinHandle<(T, Duration)> {
    let queue = Arc::clone(queue);
    thread::spawn(move || {
        let started = Instant::now();
        let output = call(&queue);
        (output, started.elapsed())
    })
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

/// Joins one thread within the watchdog's budget.
#[track_caller]
fn join_one<T>(thread: JoinHandle<T>, role: &str, hint: &str) -> T {
    let mut joined = join_all(vec![thread], role, hint);
    joined.pop().expect("one thread joined")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ------------------------------------------------------------- run_all --

fn fifo_with_one_consumer<Q: BlockingQueue<u64> + 'static>(queue: Q, name: &str) {
    let queue = Arc::new(queue);
    let got = finishes(
        &format!("run_all over {name}, 1 producer, 1 consumer, 1000 items"),
        LOST_WAKE,
        move || run_all(queue, 1, 1, 1_000),
    );
    assert_eq!(got.len(), 1, "run_all returns one list per consumer");
    lesson_support::assert_sequence(
        &(0..1_000).collect::<Vec<_>>(),
        &got[0],
        &format!("{name}: one consumer sees the items in the order they were put (oldest first)"),
    );
}

/// `producers` putting `items` between them, `consumers` getting: each item
/// exactly once, one list per consumer, each producer's items in order.
fn no_loss_with_many<Q: BlockingQueue<u64> + 'static>(
    queue: Q,
    name: &str,
    producers: u64,
    consumers: usize,
    items: u64,
) {
    let queue = Arc::new(queue);
    let got = finishes(
        &format!(
            "run_all over {name}, {producers} producers, {consumers} consumers, {items} items"
        ),
        LOST_WAKE,
        move || run_all(queue, producers, consumers, items),
    );
    assert_eq!(
        got.len(),
        consumers,
        "run_all returns one list per consumer: {consumers} consumers were asked for"
    );
    assert_each_exactly_once(
        0..items,
        got.concat(),
        &format!(
            "{name}, {items} items from {producers} producers (items lost: does each producer put \
             its whole share, p, p + producers, …? Is the queue closed only after every producer \
             is joined? Does get() hand out what a closed queue still holds?)"
        ),
    );
    // Producer p puts p, p + producers, … in that order; a FIFO queue keeps
    // that order in every consumer's share.
    for (consumer, share) in got.iter().enumerate() {
        for pair in share.windows(2) {
            let (earlier, later) = (pair[0], pair[1]);
            assert!(
                earlier % producers != later % producers || earlier < later,
                "{name}: consumer {consumer} got item {later} after item {earlier}, but one \
                 producer put {later} first. A queue hands out the oldest item first \
                 (pop_front, not pop_back)"
            );
        }
    }
}

#[test]
fn your_queue_is_fifo_with_one_consumer() {
    fifo_with_one_consumer(CondvarQueue::new(4), "CondvarQueue");
}

#[test]
fn the_same_code_over_crossbeam_is_fifo_with_one_consumer() {
    fifo_with_one_consumer(ChannelQueue::new(4), "ChannelQueue");
}

#[test]
fn your_queue_loses_and_duplicates_nothing_with_many_threads() {
    // 3 producers do not share 10001 items evenly: producer 0 puts one more.
    no_loss_with_many(CondvarQueue::new(8), "CondvarQueue", 3, 4, 10_001);
}

#[test]
fn your_queue_loses_nothing_at_capacity_one() {
    no_loss_with_many(
        CondvarQueue::new(1),
        "CondvarQueue of capacity 1",
        2,
        3,
        2_001,
    );
}

#[test]
fn the_same_code_over_crossbeam_loses_nothing() {
    no_loss_with_many(ChannelQueue::new(8), "ChannelQueue", 3, 4, 10_001);
}

#[test]
fn run_all_starts_the_consumers_it_is_asked_for() {
    for consumers in [1, 2, 5] {
        no_loss_with_many(CondvarQueue::new(2), "CondvarQueue", 1, consumers, 7);
    }
}

// ------------------------------------------------------- put and get --

#[test]
fn put_then_get_on_one_thread_is_fifo() {
    let queue = queue(4);
    let (sizes, got) = watched(&queue, "put 3 items, then get 3", NO_WAIT, |queue| {
        let before = (queue.len(), queue.is_empty());
        for item in [5, 3, 8] {
            queue.put(item).expect("the queue is open");
        }
        let held = (queue.len(), queue.is_empty());
        let got: Vec<Option<u64>> = (0..3).map(|_| queue.get()).collect();
        let after = (queue.len(), queue.is_empty());
        ([before, held, after], got)
    });
    assert_eq!(
        sizes,
        [(0, true), (3, false), (0, true)],
        "(len(), is_empty()) before the puts, after 3 puts, after 3 gets"
    );
    assert_eq!(
        got,
        [Some(5), Some(3), Some(8)],
        "items come out in the order they went in: pop_front"
    );
}

#[test]
fn put_waits_while_full_and_get_makes_room() {
    let queue = queue(3);
    watched(
        &queue,
        "3 puts into an empty queue of capacity 3",
        NO_WAIT,
        |queue| {
            for item in 1..=3 {
                queue.put(item).expect("the queue is open");
            }
        },
    );
    let putter = start(&queue, |queue| queue.put(4));
    let putter = still_waiting(putter, 150, "a put into a full queue of capacity 3");
    let held = watched(&queue, "len()", NO_WAIT, |queue| queue.len());
    assert_eq!(held, 3, "a queue of capacity 3 held {held} items");
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(1));
    let (put, _) = join_one(putter, "putter", WAKE_PUTTER);
    assert_eq!(put, Ok(()), "the waiting put went in once there was room");
    let rest = watched(&queue, "3 gets from a full queue", NO_WAIT, |queue| {
        (0..3).map(|_| queue.get()).collect::<Vec<_>>()
    });
    assert_eq!(
        rest,
        [Some(2), Some(3), Some(4)],
        "the waiting put's item came last"
    );
}

#[test]
fn get_waits_for_an_item() {
    let queue = queue(2);
    let taker = start(&queue, |queue| queue.get());
    let taker = still_waiting(taker, 150, "get() on an empty, open queue");
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(7)
    })
    .unwrap();
    let got: Vec<Option<u64>> = join_all(vec![taker], "taker", WAKE_TAKER)
        .into_iter()
        .map(|(got, _)| got)
        .collect();
    assert_eq!(got, [Some(7)]);
}

// ------------------------------------------------------------ timeouts --

#[test]
fn a_timed_put_on_a_full_queue_gives_up_at_its_deadline_and_hands_the_item_back() {
    let _timing = TimingSection::enter();
    let queue = queue(1);
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(1)
    })
    .unwrap();
    let (result, took) = timed(
        &queue,
        "put_timeout(2, 100 ms) on a full queue",
        DEADLINE,
        |queue| queue.put_timeout(2, ms(100)),
    );
    assert_eq!(
        result,
        Err(PutError::Full(2)),
        "a put that times out is Full, and hands its item back"
    );
    assert!(took >= ms(100), "gave up after {took:?}, before its 100 ms");
}

#[test]
fn a_timed_get_on_an_empty_queue_gives_up_at_its_deadline() {
    let _timing = TimingSection::enter();
    let queue = queue(2);
    let (result, took) = timed(
        &queue,
        "get_timeout(100 ms) on an empty queue",
        DEADLINE,
        |queue| queue.get_timeout(ms(100)),
    );
    assert_eq!(
        result,
        Err(GetError::Empty),
        "a get that times out on an open queue is Empty"
    );
    assert!(took >= ms(100), "gave up after {took:?}, before its 100 ms");
}

#[test]
fn a_timed_get_takes_an_item_as_soon_as_it_arrives() {
    let _timing = TimingSection::enter();
    let queue = queue(2);
    let taker = start(&queue, |queue| queue.get_timeout(Duration::from_secs(4)));
    let taker = still_waiting(taker, 100, "get_timeout(4 s) on an empty, open queue");
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(9)
    })
    .unwrap();
    let (got, took) = join_one(taker, "taker", WAKE_TAKER);
    assert_eq!(got, Ok(9), "an item that arrives in time is taken");
    assert!(
        took < Duration::from_millis(2_500),
        "get_timeout(4 s) took its item only after {took:?}, although it was put after about \
         100 ms: the put did not wake it, and it found the item when its deadline came. {WAKE_TAKER} \
         — on the timed path too"
    );
}

#[test]
fn a_timed_put_goes_in_as_soon_as_there_is_room() {
    let _timing = TimingSection::enter();
    let queue = queue(1);
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(1)
    })
    .unwrap();
    let putter = start(&queue, |queue| queue.put_timeout(2, Duration::from_secs(4)));
    let putter = still_waiting(putter, 100, "put_timeout(2, 4 s) into a full queue");
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(1));
    let (put, took) = join_one(putter, "putter", WAKE_PUTTER);
    assert_eq!(put, Ok(()), "a put that finds room in time goes in");
    assert!(
        took < Duration::from_millis(2_500),
        "put_timeout(4 s) went in only after {took:?}, although room appeared after about \
         100 ms: the get did not wake it, and it found the room when its deadline came. \
         {WAKE_PUTTER} — on the timed path too"
    );
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(2));
}

#[test]
fn a_zero_timeout_is_a_try_and_an_endless_one_waits_as_long_as_it_takes() {
    let queue = queue(2);
    let results = watched(
        &queue,
        "put_timeout / get_timeout with Duration::ZERO and Duration::MAX",
        NO_WAIT,
        |queue| {
            [
                format!("{:?}", queue.get_timeout(Duration::ZERO)),
                format!("{:?}", queue.put_timeout(1, Duration::ZERO)),
                format!("{:?}", queue.put_timeout(2, Duration::MAX)),
                format!("{:?}", queue.put_timeout(3, Duration::ZERO)),
                format!("{:?}", queue.get_timeout(Duration::ZERO)),
                format!("{:?}", queue.get_timeout(Duration::MAX)),
            ]
        },
    );
    let expected = [
        ("get_timeout(0) on an empty queue", "Err(Empty)"),
        ("put_timeout(1, 0) into an empty queue", "Ok(())"),
        ("put_timeout(2, MAX) into a queue with room", "Ok(())"),
        ("put_timeout(3, 0) into a full queue", "Err(Full(3))"),
        ("get_timeout(0) on a queue holding items", "Ok(1)"),
        ("get_timeout(MAX) on a queue holding an item", "Ok(2)"),
    ];
    for ((what, want), got) in expected.iter().zip(&results) {
        assert_eq!(
            got, want,
            "{what} returned {got}. A zero timeout is a try: take or put at once if you can, \
             give up at once if you cannot. Duration::MAX means no deadline (None)."
        );
    }
    // No deadline at all: a put_timeout(MAX) into a full queue waits for room.
    watched(
        &queue,
        "2 puts into an empty queue of capacity 2",
        NO_WAIT,
        |queue| [queue.put(4), queue.put(5)],
    )
    .into_iter()
    .for_each(|put| put.expect("a queue of capacity 2 with room for both"));
    let putter = start(&queue, |queue| queue.put_timeout(6, Duration::MAX));
    let putter = still_waiting(
        putter,
        150,
        "put_timeout(6, Duration::MAX) into a full queue",
    );
    let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
        queue.get()
    });
    assert_eq!(got, Some(4));
    let (put, _) = join_one(putter, "putter", WAKE_PUTTER);
    assert_eq!(put, Ok(()));
}

// --------------------------------------------------------------- close --

#[test]
fn a_closed_queue_refuses_puts_and_still_hands_out_what_it_holds() {
    let queue = queue(4);
    let results = watched(
        &queue,
        "put, close, put, get until None",
        NO_WAIT,
        |queue| {
            queue.put(1).unwrap();
            queue.put(2).unwrap();
            queue.close();
            [
                format!("{:?}", queue.put(3)),
                format!("{:?}", queue.put_timeout(4, ms(500))),
                format!("{:?}", queue.get()),
                format!("{:?}", queue.get_timeout(ms(500))),
                format!("{:?}", queue.get()),
                format!("{:?}", queue.get_timeout(Duration::ZERO)),
                format!("{:?}", queue.get_timeout(ms(500))),
            ]
        },
    );
    let expected = [
        (
            "put(3) into a closed queue with room",
            "Err(Closed(3))",
            "a closed queue refuses every put, full or not, and hands the item back",
        ),
        (
            "put_timeout(4, 500 ms) into a closed queue",
            "Err(Closed(4))",
            "refused because closed: Closed, not Full",
        ),
        (
            "get() on a closed queue holding 1 and 2",
            "Some(1)",
            "a closed queue still hands out what it holds, oldest first",
        ),
        (
            "get_timeout(500 ms) on a closed queue holding 2",
            "Ok(2)",
            "a closed queue still hands out what it holds",
        ),
        (
            "get() on a closed, drained queue",
            "None",
            "closed and empty: None, at once",
        ),
        (
            "get_timeout(0) on a closed, drained queue",
            "Err(Closed)",
            "no item will ever come: Closed, not Empty — check `closed` before the clock",
        ),
        (
            "get_timeout(500 ms) on a closed, drained queue",
            "Err(Closed)",
            "no item will ever come: Closed, not Empty",
        ),
    ];
    for ((what, want, why), got) in expected.iter().zip(&results) {
        assert_eq!(got, want, "{what} returned {got}: {why}");
    }
}

#[test]
fn close_wakes_every_waiting_taker() {
    let _timing = TimingSection::enter();
    let queue = queue(2);
    let mut takers: Vec<JoinHandle<(Result<u64, GetError>, Duration)>> = (0..2)
        .map(|_| start(&queue, |queue| queue.get().ok_or(GetError::Closed)))
        .collect();
    takers.push(start(&queue, |queue| {
        queue.get_timeout(Duration::from_secs(4))
    }));
    thread::sleep(ms(150)); // let them all wait
    watched(&queue, "close()", NO_WAIT, |queue| queue.close());
    let results = join_all(takers, "takers", WAKE_ALL);
    for (n, (got, took)) in results.iter().enumerate() {
        let what = if n < 2 { "get()" } else { "get_timeout(4 s)" };
        assert_eq!(
            *got,
            Err(GetError::Closed),
            "{what}, waiting on an empty queue when it was closed, must end with no item (None / \
             Closed)"
        );
        assert!(
            *took < Duration::from_millis(2_500),
            "{what} returned {took:?} after it started, long after close(): {WAKE_ALL}"
        );
    }
}

#[test]
fn close_wakes_every_putter_waiting_for_room() {
    let _timing = TimingSection::enter();
    let queue = queue(1);
    watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
        queue.put(1)
    })
    .unwrap();
    let putters = vec![
        start(&queue, |queue| queue.put(2)),
        start(&queue, |queue| queue.put_timeout(3, Duration::from_secs(4))),
    ];
    thread::sleep(ms(150)); // let them both wait
    watched(&queue, "close()", NO_WAIT, |queue| queue.close());
    let results = join_all(putters, "putters", WAKE_ALL);
    let refused: Vec<_> = results.iter().map(|(result, _)| result.clone()).collect();
    assert_eq!(
        refused,
        [Err(PutError::Closed(2)), Err(PutError::Closed(3))],
        "puts cut short by close are Closed (a timed one too: not Full), and hand their items back"
    );
    for (result, took) in &results {
        assert!(
            *took < Duration::from_millis(2_500),
            "a put that returned {result:?} took {took:?}, long after close(): {WAKE_ALL}"
        );
    }
    let rest = watched(&queue, "get() twice on a closed queue", NO_WAIT, |queue| {
        [queue.get(), queue.get()]
    });
    assert_eq!(
        rest,
        [Some(1), None],
        "what was in the queue before close is still delivered, then None"
    );
}

#[test]
fn every_interleaving_of_put_get_and_close_is_right() {
    // The scenarios are in tests/model.rs; loom tries each one under every
    // order in which its threads can take turns.
    lesson_support::run_models!();
}
