//! Lesson 03 — bounded queues, backpressure, and measuring queue depth.

use std::thread;
use std::time::Duration;

use crossbeam_channel::TrySendError;
use lesson_03::{DepthTrackingSender, fast_producer, work_queue};
use lesson_support::{finishes, join_all, join_finished, wait_for_or_exit};

const STUCK: &str = "a consumer that never sees the queue close: drop the DepthTrackingSender (and so its Sender) before \
     joining the consumers";

#[test]
fn a_bounded_queue_refuses_the_item_past_its_capacity() {
    let (sender, _receiver) = work_queue(Some(3));
    for item in 0..3 {
        assert!(
            sender.try_send(item).is_ok(),
            "a queue of capacity 3 refused item {item}"
        );
    }
    assert!(
        matches!(sender.try_send(3), Err(TrySendError::Full(3))),
        "a queue of capacity 3 took a 4th item: is it bounded, and bounded at exactly 3?"
    );
}

#[test]
fn a_queue_of_capacity_one_holds_a_single_item() {
    // Seed, "Break it": make the queue size 1. It still works — one item at a time.
    let (sender, receiver) = work_queue(Some(1));
    assert!(
        sender.try_send(1).is_ok(),
        "a queue of capacity 1 refused its first item"
    );
    assert!(
        matches!(sender.try_send(2), Err(TrySendError::Full(2))),
        "a queue of capacity 1 took a second item"
    );
    assert_eq!(receiver.try_recv(), Ok(1));
    assert!(
        sender.try_send(2).is_ok(),
        "taking the item out makes room again"
    );
}

#[test]
fn an_unbounded_queue_never_refuses() {
    let (sender, _receiver) = work_queue(None);
    for item in 0..10_000 {
        assert!(
            sender.try_send(item).is_ok(),
            "an unbounded queue refused item {item}"
        );
    }
}

#[test]
fn depth_counts_the_item_just_sent() {
    let (sender, _receiver) = work_queue(Some(4));
    let mut tracked = DepthTrackingSender::new(sender);
    tracked.send(1).unwrap();
    assert_eq!(
        tracked.max_depth(),
        1,
        "one item waits in the queue after the first send: measure after sending, not before"
    );
}

#[test]
fn depth_is_the_peak_measured_at_each_put() {
    let (sender, receiver) = work_queue(Some(8));
    let mut tracked = DepthTrackingSender::new(sender);
    for item in 0..5 {
        tracked.send(item).unwrap();
    }
    for _ in 0..5 {
        receiver.recv().unwrap();
    }
    for item in 5..7 {
        tracked.send(item).unwrap();
    }
    assert_eq!(
        tracked.max_depth(),
        5,
        "the queue held 5 items at its deepest, then drained and held 2: keep the maximum over every put, \
         not the latest depth"
    );
}

#[test]
fn send_waits_while_the_queue_is_full() {
    let (sender, receiver) = work_queue(Some(1));
    let mut tracked = DepthTrackingSender::new(sender);
    let producer = thread::spawn(move || {
        tracked.send(1).unwrap();
        tracked.send(2).unwrap(); // the queue is full: this must wait
        tracked
    });
    if wait_for_or_exit(&producer, "the first item to arrive", || {
        receiver.len() == 1
    }) {
        join_finished(producer);
        panic!(
            "both sends returned at once although the queue holds one item: a full queue must make send() wait"
        );
    }
    thread::sleep(Duration::from_millis(150));
    assert!(
        !producer.is_finished(),
        "the second send returned while the queue was full: did it drop the item instead of waiting?"
    );
    assert_eq!(receiver.recv(), Ok(1));
    let tracked = join_all(
        vec![producer],
        "producer",
        "taking an item out should let the waiting send finish",
    );
    assert_eq!(
        receiver.recv(),
        Ok(2),
        "the item that waited arrives, not lost"
    );
    assert_eq!(tracked[0].max_depth(), 1);
}

#[test]
fn a_bounded_queue_stays_within_capacity_under_a_fast_producer() {
    let seen = finishes(
        "fast_producer(100 items, capacity 8, 2 consumers)",
        STUCK,
        || fast_producer(100, Some(8), 2, Duration::from_millis(1)),
    );
    assert_eq!(
        seen.consumed, 100,
        "every item is processed: none dropped when the queue was full"
    );
    assert_eq!(
        seen.max_depth, 8,
        "a producer faster than its consumers fills a queue of 8 to the brim — and no further"
    );
}

#[test]
fn an_unbounded_queue_grows_with_a_fast_producer() {
    // Seed, "Break it": a producer faster than the consumers. Watch the backlog grow.
    let seen = finishes(
        "fast_producer(200 items, unbounded, 2 consumers)",
        STUCK,
        || fast_producer(200, None, 2, Duration::from_millis(2)),
    );
    assert_eq!(seen.consumed, 200);
    assert!(
        seen.max_depth >= 100,
        "with no bound, nearly all 200 items should pile up while 2 consumers take 2 ms each; the deepest was {}",
        seen.max_depth
    );
}

#[test]
fn a_full_queue_holds_the_producer_back() {
    // 60 items, 2 consumers at 4 ms each: about 120 ms of work. With room for
    // only 4, the producer cannot finish much before the consumers do; with no
    // bound it finishes almost at once. Margins are wide: timing is noisy.
    let bounded = finishes(
        "fast_producer(60 items, capacity 4, 2 consumers)",
        STUCK,
        || fast_producer(60, Some(4), 2, Duration::from_millis(4)),
    );
    let unbounded = finishes(
        "fast_producer(60 items, unbounded, 2 consumers)",
        STUCK,
        || fast_producer(60, None, 2, Duration::from_millis(4)),
    );
    assert!(
        bounded.producer_done >= Duration::from_millis(60),
        "the producer finished after {:?} although the consumers needed about 120 ms: did the full queue make it wait?",
        bounded.producer_done
    );
    assert!(
        unbounded.producer_done < bounded.producer_done,
        "with no bound the producer should finish first ({:?} unbounded vs {:?} bounded)",
        unbounded.producer_done,
        bounded.producer_done
    );
}
