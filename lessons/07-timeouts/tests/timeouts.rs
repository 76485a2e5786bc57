//! Lesson 07 — consumers that give up when idle, producers that give up on a
//! full queue, and not one item unaccounted for.

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use lesson_07::{Delivery, Exit, consume, produce};
use lesson_support::{assert_each_exactly_once, finishes, thread_cpu_time};

const IDLE_HINT: &str = "a consumer with an idle timeout must return once nothing arrives for that long: use recv_timeout";

fn ignore(_: u64) {}

#[test]
fn an_idle_consumer_leaves_after_the_timeout() {
    let (queue, inbox) = unbounded::<u64>();
    let started = Instant::now();
    let (done, exit) = finishes("consume() with nothing to do", IDLE_HINT, move || {
        consume(&inbox, Duration::from_millis(100), &ignore)
    });
    let took = started.elapsed();
    drop(queue);
    assert_eq!((done, exit), (vec![], Exit::Idle));
    assert!(
        took >= Duration::from_millis(100),
        "gave up after {took:?}, before the 100 ms idle timeout"
    );
}

#[test]
fn a_closed_queue_ends_the_consumer_at_once() {
    let (queue, inbox) = unbounded();
    queue.send(1).unwrap();
    drop(queue);
    let started = Instant::now();
    let (done, exit) = finishes("consume() on a closed queue", IDLE_HINT, move || {
        consume(&inbox, Duration::from_secs(3), &ignore)
    });
    assert_eq!(
        (done, exit),
        (vec![1], Exit::Closed),
        "a closed, drained queue is Closed, not Idle"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "waited {:?} on a queue that can never deliver again: a closed queue needs no timeout",
        started.elapsed()
    );
}

#[test]
fn the_idle_timer_restarts_with_every_item() {
    // Five items 40 ms apart take 200 ms in all — longer than the 100 ms idle
    // timeout, but no gap between items is. Every item must be processed.
    let (queue, inbox) = unbounded();
    let producer = thread::spawn(move || {
        for item in 0..5 {
            thread::sleep(Duration::from_millis(40));
            // A consumer that gave up too early has dropped its end: not our failure.
            let _ = queue.send(item);
        }
        thread::sleep(Duration::from_millis(400)); // keep the queue open: idle, not closed
    });
    let (done, exit) = finishes("consume() with items 40 ms apart", IDLE_HINT, move || {
        consume(&inbox, Duration::from_millis(100), &ignore)
    });
    producer.join().unwrap();
    assert_eq!(
        done,
        [0, 1, 2, 3, 4],
        "the consumer gave up while items were still coming every 40 ms: the idle timeout counts from the last item, not from the start"
    );
    assert_eq!(exit, Exit::Idle);
}

#[test]
fn waiting_costs_no_cpu() {
    let (queue, inbox) = unbounded::<u64>();
    let (exit, cpu) = finishes("consume() idling for 300 ms", IDLE_HINT, move || {
        let before = thread_cpu_time().expect("a per-thread CPU clock");
        let (_, exit) = consume(&inbox, Duration::from_millis(300), &ignore);
        (
            exit,
            thread_cpu_time().expect("a per-thread CPU clock") - before,
        )
    });
    drop(queue);
    assert_eq!(exit, Exit::Idle);
    assert!(
        cpu < Duration::from_millis(100),
        "the consumer burnt {cpu:?} of CPU while waiting 300 ms for nothing: it polls (try_recv in a loop) instead of blocking in recv_timeout"
    );
}

#[test]
fn a_producer_delivers_while_there_is_room() {
    let (queue, inbox) = bounded(10);
    let delivery = finishes(
        "produce(5 items) into room for 10",
        "send_timeout waits at most the patience",
        move || produce(&queue, 5, Duration::from_millis(50)),
    );
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0, 1, 2, 3, 4],
            refused: vec![]
        }
    );
    assert_eq!(inbox.len(), 5);
}

#[test]
fn items_that_find_no_room_are_reported_not_dropped() {
    let (queue, _inbox) = bounded(2);
    let started = Instant::now();
    let delivery = finishes(
        "produce(5 items) into room for 2",
        "send_timeout gives up after the patience",
        move || produce(&queue, 5, Duration::from_millis(30)),
    );
    assert_eq!(delivery.delivered, [0, 1], "two items fit");
    assert_eq!(
        delivery.refused,
        [2, 3, 4],
        "items the full queue did not take within the patience must be reported as refused — silently dropped, they vanish from every count"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "each refused item waits its patience first ({:?} in all)",
        started.elapsed()
    );
}

#[test]
fn with_no_consumer_left_items_are_refused_at_once() {
    let (queue, inbox) = bounded(2);
    drop(inbox);
    let started = Instant::now();
    let delivery = finishes(
        "produce(100 items) with no consumer",
        "send_timeout fails at once when every Receiver is gone; do not retry until the patience runs out",
        move || produce(&queue, 100, Duration::from_millis(200)),
    );
    assert_eq!(
        delivery.refused.len(),
        100,
        "with no consumer, every item is refused — and reported as refused"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}: nobody will ever take these items, so there is nothing to wait for",
        started.elapsed()
    );
}

#[test]
fn every_item_is_delivered_or_refused_exactly_once() {
    let (queue, inbox) = bounded(4);
    let consumer = thread::spawn(move || {
        // A slow consumer that gives up early: some items will find no room.
        consume(&inbox, Duration::from_millis(50), &|_| {
            thread::sleep(Duration::from_millis(5))
        })
    });
    let delivery = finishes(
        "produce(100 items) against a slow consumer",
        IDLE_HINT,
        move || produce(&queue, 100, Duration::from_millis(2)),
    );
    let (taken, _) = consumer.join().unwrap();
    assert_each_exactly_once(
        0..100,
        delivery.delivered.iter().chain(&delivery.refused).copied(),
        "delivered + refused (an item in neither list was silently dropped)",
    );
    assert!(
        !delivery.refused.is_empty(),
        "a 5 ms consumer cannot keep up with 100 items at 2 ms patience"
    );
    assert_each_exactly_once(
        delivery.delivered.clone(),
        taken,
        "what the consumer took is what was delivered",
    );
}
