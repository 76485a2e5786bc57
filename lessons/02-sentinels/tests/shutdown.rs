//! Lesson 02 — shutting consumers down cleanly. Every run is watched: a hang
//! fails the test with the likely cause instead of freezing your terminal.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;
use lesson_02::{
    Message, Process, consume_until_closed, consume_until_shutdown, run_closing_channel,
    run_with_sentinels,
};
use lesson_support::{
    BUDGET, Log, Overlap, assert_each_exactly_once, finishes, join_all, join_finished,
    wait_for_or_exit,
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

/// Runs `run(items, consumers, …)` under the watchdog with a `process` that
/// does `work` and then logs the item. Returns what the run returned and the
/// log. On a hang, the failure says how far the consumers got — which tells a
/// missing shutdown signal from consumers that were never there.
#[track_caller]
fn watch(
    run: Run,
    name: &str,
    items: u64,
    consumers: usize,
    hint: &str,
    work: impl Fn(u64) + Send + Sync + 'static,
) -> (Vec<Vec<u64>>, Vec<u64>) {
    let log = Log::new();
    let process: Process = {
        let log = log.clone();
        Arc::new(move |item| {
            work(item);
            log.push(item);
        })
    };
    let running = thread::Builder::new()
        .name(name.to_string())
        .spawn(move || run(items, consumers, process))
        .expect("the test could not start a thread");
    let deadline = Instant::now() + BUDGET;
    while !running.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(2));
    }
    if running.is_finished() {
        // A panic in the run (a todo!() included) fails the test with its message.
        return (join_finished(running), log.entries());
    }
    let done = log.len() as u64;
    let saw = if done == 0 {
        "no consumer processed any item. Were the consumers started before the first send? The queue \
         holds 10 items; the 11th send waits for a consumer that is not there yet"
            .to_string()
    } else if done >= items {
        format!("all {items} items were processed, yet the run did not return: {hint}")
    } else {
        format!(
            "{done} of {items} items were processed, then nothing more: consumers stopped while items were \
             still coming (a shutdown signal sent before the last item? a consumer that gives up when the \
             queue is empty for a moment?), and the producer waits for room no one makes"
        )
    };
    panic!(
        "{name}({items} items, {consumers} consumers) was still running after {BUDGET:?}: {saw}"
    );
}

/// The run returns one list per consumer, whatever the count.
fn returns_one_list_per_consumer(run: Run, name: &str, hint: &str) {
    for (items, consumers) in [(20, 1), (23, 3), (20, 5)] {
        let (per_consumer, processed) = watch(run, name, items, consumers, hint, |_| {});
        assert_eq!(
            per_consumer.len(),
            consumers,
            "{name}(… {consumers} consumers) must return one list of processed items per consumer, got {}",
            per_consumer.len()
        );
        assert_each_exactly_once(0..items, processed, "items given to `process`");
    }
}

/// Every item reaches `process` once, and comes back from exactly one consumer.
fn delivers_every_item_exactly_once(run: Run, name: &str, consumers: usize, hint: &str) {
    let (per_consumer, processed) = watch(run, name, 200, consumers, hint, |_| {});
    assert_each_exactly_once(0..200, processed, "items given to `process`");
    assert_each_exactly_once(
        0..200,
        per_consumer.concat(),
        "items the consumers returned",
    );
}

/// The run returns only once every item has been processed. Item 0 takes
/// 300 ms, so a run that returns without joining returns while it is still in
/// hand — in every run, not only when the machine is slow.
fn returns_only_after_every_item_is_processed(run: Run, name: &str, hint: &str) {
    let (per_consumer, processed) = watch(run, name, 60, 3, hint, |item| {
        if item == 0 {
            thread::sleep(Duration::from_millis(300));
        }
    });
    assert_eq!(
        processed.len(),
        60,
        "{name} returned while items were still being processed (item 0 takes 300 ms): {NOT_JOINED}"
    );
    assert_each_exactly_once(
        0..60,
        per_consumer.concat(),
        "items the consumers returned (each consumer's own list, from its join)",
    );
}

/// Every consumer asked for takes work at the same time: the first calls wait
/// (up to 3 s) until that many are inside `process` at once
/// (`lesson_support::Overlap`), and one too many is seen too.
fn every_consumer_takes_work_at_once(run: Run, name: &str, hint: &str) {
    const CONSUMERS: usize = 4;
    let overlap = Arc::new(Overlap::new(CONSUMERS));
    let inside = Arc::clone(&overlap);
    let (per_consumer, _) = watch(run, name, 12, CONSUMERS, hint, move |_| {
        inside.work();
    });
    let most = overlap.most();
    assert_eq!(
        most, CONSUMERS,
        "at most {most} items were processed at once with {CONSUMERS} consumers asked for: start exactly \
         `consumers` threads, all taking from the one queue"
    );
    assert_eq!(per_consumer.len(), CONSUMERS);
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
    returns_one_list_per_consumer(run_with_sentinels, "run_with_sentinels", ONE_SENTINEL_EACH);
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
    every_consumer_takes_work_at_once(run_with_sentinels, "run_with_sentinels", ONE_SENTINEL_EACH);
}

#[test]
fn a_consumer_stops_when_its_queue_closes_without_a_shutdown() {
    // recv() fails once every Sender is gone: that ends the loop too, it is
    // not a reason to panic.
    let (queue, inbox) = unbounded();
    queue.send(Message::Work(4)).unwrap();
    drop(queue);
    let log = Log::new();
    let process = recording(&log, Duration::ZERO);
    let outcome = finishes(
        "consume_until_shutdown on a queue closed without a Shutdown",
        "a closed, empty queue makes recv() fail at once: stop there",
        move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                consume_until_shutdown(&inbox, &process)
            }))
        },
    );
    match outcome {
        Ok(done) => assert_eq!(done, [4], "the consumer returns what it processed"),
        Err(_) => panic!(
            "consume_until_shutdown panicked when its queue closed with no Shutdown: a failed recv() means \
             no more work can come — end the loop (`while let Ok(Message::Work(item)) = queue.recv()`)"
        ),
    }
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
    returns_one_list_per_consumer(run_closing_channel, "run_closing_channel", SENDER_ALIVE);
}

#[test]
fn closing_the_channel_shares_the_work() {
    every_consumer_takes_work_at_once(run_closing_channel, "run_closing_channel", SENDER_ALIVE);
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
