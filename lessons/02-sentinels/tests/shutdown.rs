//! Lesson 02 — shutting consumers down cleanly. Every run is watched: a hang
//! fails the test with the likely cause instead of freezing your terminal.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::unbounded;
use lesson_02::{
    Message, Process, consume_until_closed, consume_until_shutdown, run_closing_channel,
    run_with_sentinels,
};
use lesson_support::{
    Log, assert_each_exactly_once, finishes, join_all, join_finished, wait_for_or_exit,
};

/// A `Process` that records every item it is given, optionally taking its time.
fn recording(log: &Log<u64>, delay: Duration) -> Process {
    let log = log.clone();
    Arc::new(move |item| {
        thread::sleep(delay);
        log.push(item);
    })
}

// ANCHOR: hang_hints
const ONE_SENTINEL_EACH: &str = "one Shutdown stops one consumer. Did you send one per consumer, after the last item? \
     The consumers that got none are still waiting for work.";
const SENDER_ALIVE: &str = "a channel closes only when every Sender is dropped. Is a Sender (or a clone of one) still \
     alive while you join the consumers? Drop it first.";
const NOT_JOINED: &str =
    "join every consumer before returning: until then, items may still be in progress.";
// ANCHOR_END: hang_hints

/// A whole run: `run_with_sentinels` or `run_closing_channel`.
type Run = fn(u64, usize, Process) -> Vec<Vec<u64>>;

/// The run stops every consumer and returns one list per consumer.
fn stops_every_consumer(run: Run, name: &str, items: u64, consumers: usize, hint: &str) {
    let per_consumer = finishes(
        &format!("{name}({items} items, {consumers} consumers)"),
        hint,
        move || run(items, consumers, Arc::new(|_| {})),
    );
    assert_eq!(
        per_consumer.len(),
        consumers,
        "one list of processed items per consumer"
    );
}

/// Every item reaches `process` once, and comes back from exactly one consumer.
fn delivers_every_item_exactly_once(run: Run, name: &str, consumers: usize, hint: &str) {
    let log = Log::new();
    let process = recording(&log, Duration::ZERO);
    let per_consumer = finishes(
        &format!("{name}(200 items, {consumers} consumers)"),
        hint,
        move || run(200, consumers, process),
    );
    assert_each_exactly_once(0..200, log.entries(), "items given to `process`");
    assert_each_exactly_once(
        0..200,
        per_consumer.concat(),
        "items the consumers returned",
    );
}

/// The run returns only once every (slow) item has been processed.
fn returns_only_after_every_item_is_processed(run: Run, name: &str, hint: &str) {
    let log = Log::new();
    let process = recording(&log, Duration::from_millis(2));
    finishes(&format!("{name}(60 items, 3 consumers)"), hint, move || {
        run(60, 3, process)
    });
    assert_eq!(
        log.len(),
        60,
        "{name} returned while items were still being processed: {NOT_JOINED}"
    );
}

// --- Part 1: sentinels --------------------------------------------------------

#[test]
fn a_consumer_processes_work_until_its_shutdown() {
    let (queue, inbox) = unbounded();
    for message in [
        Message::Work(1),
        Message::Work(2),
        Message::Shutdown,
        Message::Work(3),
    ] {
        queue.send(message).unwrap();
    }
    let log = Log::new();
    let process = recording(&log, Duration::ZERO);
    let inbox_for_consumer = inbox.clone();
    let done = finishes(
        "consume_until_shutdown",
        "it should return at its Shutdown",
        move || consume_until_shutdown(&inbox_for_consumer, &process),
    );
    assert_eq!(
        done,
        [1, 2],
        "the consumer returns the items it processed, in order"
    );
    assert_eq!(log.entries(), [1, 2], "each item is given to `process`");
    assert_eq!(
        inbox.len(),
        1,
        "Work(3) came after this consumer's Shutdown: it stays in the queue for another consumer"
    );
}

#[test]
fn a_consumer_waits_for_work_until_told_to_stop() {
    // Seed, "Break it": without a sentinel, what does a consumer do? It waits.
    let (queue, inbox) = unbounded();
    let log = Log::new();
    let process = recording(&log, Duration::ZERO);
    let consumer = thread::spawn(move || consume_until_shutdown(&inbox, &process));
    queue.send(Message::Work(1)).unwrap();
    let exited = wait_for_or_exit(&consumer, "the consumer to process item 1", || {
        log.len() == 1
    });
    if exited {
        join_finished(consumer); // re-raises a todo!() or another panic
        panic!("the consumer returned before item 1 was processed");
    }
    thread::sleep(Duration::from_millis(200));
    assert!(
        !consumer.is_finished(),
        "the consumer returned although no Shutdown came: an empty queue only means \"no work yet\" — \
         a consumer must block on recv(), not give up when try_recv() finds nothing"
    );
    queue.send(Message::Shutdown).unwrap();
    let done = join_all(vec![consumer], "consumer", "it should stop at the Shutdown");
    assert_eq!(done[0], [1]);
}

#[test]
fn every_consumer_stops_once_the_producer_is_done() {
    stops_every_consumer(
        run_with_sentinels,
        "run_with_sentinels",
        20,
        4,
        ONE_SENTINEL_EACH,
    );
}

#[test]
fn sentinels_deliver_every_item_exactly_once() {
    delivers_every_item_exactly_once(
        run_with_sentinels,
        "run_with_sentinels",
        3,
        ONE_SENTINEL_EACH,
    );
}

#[test]
fn run_with_sentinels_returns_only_after_every_item_is_processed() {
    returns_only_after_every_item_is_processed(
        run_with_sentinels,
        "run_with_sentinels",
        ONE_SENTINEL_EACH,
    );
}

#[test]
fn consumers_share_the_work() {
    let per_consumer = finishes(
        "run_with_sentinels(40 items, 4 consumers)",
        ONE_SENTINEL_EACH,
        || run_with_sentinels(40, 4, Arc::new(|_| thread::sleep(Duration::from_millis(5)))),
    );
    let busy = per_consumer
        .iter()
        .filter(|items| !items.is_empty())
        .count();
    assert!(
        busy >= 2,
        "only {busy} of 4 consumers processed anything: are they all taking from the same queue, at the same time?"
    );
}

// --- Part 2: closing the channel ------------------------------------------------

#[test]
fn a_consumer_drains_a_closed_channel_then_returns() {
    let (queue, inbox) = unbounded();
    for item in [5, 6, 7] {
        queue.send(item).unwrap();
    }
    drop(queue);
    let log = Log::new();
    let process = recording(&log, Duration::ZERO);
    let done = finishes(
        "consume_until_closed on a closed channel",
        "a closed channel ends recv() / iteration once it is empty",
        move || consume_until_closed(&inbox, &process),
    );
    assert_eq!(
        done,
        [5, 6, 7],
        "a closed channel still hands out what it holds, in order"
    );
    assert_eq!(log.entries(), [5, 6, 7]);
}

#[test]
fn a_consumer_waits_while_a_sender_lives() {
    let (queue, inbox) = unbounded();
    let log = Log::new();
    let process = recording(&log, Duration::ZERO);
    let consumer = thread::spawn(move || consume_until_closed(&inbox, &process));
    queue.send(1).unwrap();
    if wait_for_or_exit(&consumer, "the consumer to process item 1", || {
        log.len() == 1
    }) {
        join_finished(consumer);
        panic!("the consumer returned before item 1 was processed");
    }
    thread::sleep(Duration::from_millis(200));
    assert!(
        !consumer.is_finished(),
        "the consumer returned while a Sender was still alive: more items could still come"
    );
    drop(queue);
    let done = join_all(
        vec![consumer],
        "consumer",
        "dropping the last Sender closes the channel; the consumer should then return",
    );
    assert_eq!(done[0], [1]);
}

#[test]
fn closing_the_channel_stops_every_consumer() {
    stops_every_consumer(
        run_closing_channel,
        "run_closing_channel",
        50,
        3,
        SENDER_ALIVE,
    );
}

#[test]
fn closing_the_channel_delivers_every_item_exactly_once() {
    delivers_every_item_exactly_once(run_closing_channel, "run_closing_channel", 4, SENDER_ALIVE);
}

#[test]
fn run_closing_channel_returns_only_after_every_item_is_processed() {
    returns_only_after_every_item_is_processed(
        run_closing_channel,
        "run_closing_channel",
        SENDER_ALIVE,
    );
}
