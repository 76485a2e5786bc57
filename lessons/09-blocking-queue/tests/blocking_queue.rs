//! Lesson 09 — your own bounded blocking queue, and the same code over crossbeam.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use lesson_09::{BlockingQueue, ChannelQueue, CondvarQueue, GetError, PutError, run_all};
use lesson_support::{
    assert_each_exactly_once, finishes, join_all, join_finished, wait_for_or_exit,
};

const WAKE_ALL: &str =
    "close() must wake every waiting thread, on both condvars: notify_all, not notify_one";
const LOST_WAKE: &str = "a thread waits for a signal that never comes: does get() wake a waiting putter, and put() a \
     waiting taker? Is each waiter counted before it waits and uncounted after?";

fn fifo_with_one_consumer<Q: BlockingQueue<u64> + 'static>(queue: Q, name: &str) {
    let queue = Arc::new(queue);
    let got = finishes(
        &format!("run_all over {name}, 1 producer, 1 consumer"),
        LOST_WAKE,
        move || run_all(queue, 1, 1, 1_000),
    );
    assert_eq!(got.len(), 1, "one list per consumer");
    assert_eq!(
        got[0],
        (0..1_000).collect::<Vec<_>>(),
        "{name}: one consumer sees the items in the order they were put"
    );
}

fn no_loss_with_many<Q: BlockingQueue<u64> + 'static>(queue: Q, name: &str) {
    let queue = Arc::new(queue);
    let got = finishes(
        &format!("run_all over {name}, 4 producers, 4 consumers, 10000 items"),
        LOST_WAKE,
        move || run_all(queue, 4, 4, 10_000),
    );
    assert_eq!(got.len(), 4);
    assert_each_exactly_once(0..10_000, got.concat(), name);
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
    no_loss_with_many(CondvarQueue::new(8), "CondvarQueue");
}

#[test]
fn your_queue_loses_nothing_at_capacity_one() {
    no_loss_with_many(CondvarQueue::new(1), "CondvarQueue of capacity 1");
}

#[test]
fn the_same_code_over_crossbeam_loses_nothing() {
    no_loss_with_many(ChannelQueue::new(8), "ChannelQueue");
}

#[test]
fn put_waits_while_full_and_get_makes_room() {
    let queue = Arc::new(CondvarQueue::new(1));
    queue.put(1).unwrap();
    let putter = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || queue.put(2))
    };
    thread::sleep(Duration::from_millis(150));
    if putter.is_finished() {
        let result = join_finished(putter);
        panic!("a put into a full queue returned {result:?} instead of waiting for room");
    }
    assert_eq!(queue.get(), Some(1));
    assert_eq!(join_all(vec![putter], "putter", LOST_WAKE), [Ok(())]);
    assert_eq!(queue.get(), Some(2));
}

#[test]
fn get_waits_for_an_item() {
    let queue = Arc::new(CondvarQueue::new(2));
    let taker = {
        let queue = Arc::clone(&queue);
        thread::spawn(move || queue.get())
    };
    let started = Instant::now();
    if wait_for_or_exit(&taker, "150 ms to pass", || {
        started.elapsed() > Duration::from_millis(150)
    }) {
        let got = join_finished(taker);
        panic!("get() on an empty, open queue returned {got:?} instead of waiting");
    }
    queue.put(7u64).unwrap();
    assert_eq!(join_all(vec![taker], "taker", LOST_WAKE), [Some(7)]);
}

#[test]
fn put_timeout_hands_the_item_back_when_the_queue_stays_full() {
    let (result, took) = finishes(
        "put_timeout on a full queue",
        "put_timeout must give up at its deadline",
        || {
            let queue = CondvarQueue::new(1);
            queue.put(1u64).unwrap();
            let started = Instant::now();
            (
                queue.put_timeout(2, Duration::from_millis(50)),
                started.elapsed(),
            )
        },
    );
    assert_eq!(
        result,
        Err(PutError::Full(2)),
        "a put that times out is Full, and hands its item back"
    );
    assert!(
        took >= Duration::from_millis(50),
        "gave up after {took:?}, before its 50 ms"
    );
}

#[test]
fn get_timeout_gives_up_on_an_empty_queue_and_takes_what_arrives() {
    let queue = Arc::new(CondvarQueue::new(2));
    let waiting = Arc::clone(&queue);
    let (empty, took) = finishes(
        "get_timeout on an empty queue",
        "get_timeout must give up at its deadline",
        move || {
            let started = Instant::now();
            (
                waiting.get_timeout(Duration::from_millis(50)),
                started.elapsed(),
            )
        },
    );
    assert_eq!(empty, Err(GetError::Empty));
    assert!(
        took >= Duration::from_millis(50),
        "gave up after {took:?}, before its 50 ms"
    );
    let waiting = Arc::clone(&queue);
    let taker = thread::spawn(move || waiting.get_timeout(Duration::from_secs(3)));
    thread::sleep(Duration::from_millis(50));
    queue.put(9u64).unwrap();
    assert_eq!(
        join_all(vec![taker], "taker", LOST_WAKE),
        [Ok(9)],
        "an item that arrives in time is taken"
    );
}

#[test]
fn close_wakes_every_waiting_taker() {
    let queue = Arc::new(CondvarQueue::<u64>::new(2));
    let takers: Vec<_> = (0..3)
        .map(|_| {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.get())
        })
        .collect();
    thread::sleep(Duration::from_millis(100));
    queue.close();
    assert_eq!(join_all(takers, "takers", WAKE_ALL), [None, None, None]);
}

#[test]
fn close_wakes_a_putter_waiting_for_room() {
    let queue = Arc::new(CondvarQueue::new(1));
    queue.put(1u64).unwrap();
    let putters: Vec<_> = (2..4)
        .map(|item| {
            let queue = Arc::clone(&queue);
            thread::spawn(move || queue.put(item))
        })
        .collect();
    thread::sleep(Duration::from_millis(100));
    queue.close();
    let results = join_all(putters, "putters", WAKE_ALL);
    assert_eq!(
        results,
        [Err(PutError::Closed(2)), Err(PutError::Closed(3))],
        "puts cut short by close hand their items back"
    );
    assert_eq!(
        queue.get(),
        Some(1),
        "what was in the queue before close is still delivered"
    );
    assert_eq!(queue.get(), None);
}

#[test]
fn every_interleaving_of_put_get_and_close_is_right() {
    // The scenarios are in tests/model.rs; loom tries each one under every
    // order in which its threads can take turns.
    lesson_support::run_models!();
}
