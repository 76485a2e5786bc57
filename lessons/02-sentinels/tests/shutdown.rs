//! Lesson 02 — shutting consumers down cleanly. Every run is watched: a hang
//! fails the test with the likely cause instead of freezing your terminal.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then a property: the same check over many drawn
//! inputs — counts of 0, 1, one below and above the queue's capacity,
//! consumers from none to more than items, callbacks that pause — against an
//! answer that does not depend on your code. Last, `stall`: every wait meets a
//! peer that goes quiet for seconds, longer than any "safety" timeout.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use lesson_02::{
    CAPACITY, Message, Process, consume_until_closed, consume_until_shutdown, run_closing_channel,
    run_with_sentinels,
};
use lesson_support::adversary::{self, Act, Gate, STALL, STALL_BUDGET, Script, Tally};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    BUDGET, Log, Overlap, assert_each_exactly_once, check_each_exactly_once, check_sequence,
    finishes, finishes_within, join_all, join_finished, preview, wait_for_or_exit,
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

/// The items a test gives a run: `0..items` mostly, or an iterator that
/// counts what is taken from it.
type Items = Box<dyn Iterator<Item = u64> + Send>;

/// A whole run: `run_with_sentinels` or `run_closing_channel`.
type Run = fn(Items, usize, Process) -> Vec<Vec<u64>>;

/// Runs `run(0..items, consumers, …)` under the watchdog with a `process` that
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
        .spawn(move || run(Box::new(0..items), consumers, process))
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

/// One run of a property: the run's answer, what `process` saw, and whether it
/// returned before every item was processed.
struct Observed {
    per_consumer: Vec<Vec<u64>>,
    processed: Vec<u64>,
}

/// Runs `run(0..items, consumers, …)` under the watchdog with a `process` that
/// pauses as `pauses` says (by item), then logs the item — so the log holds
/// only items whose processing *finished*.
fn observe(run: Run, items: u64, consumers: usize, pauses: &Script, hint: &str) -> Observed {
    let log = Log::new();
    let process: Process = {
        let (log, pauses) = (log.clone(), pauses.clone());
        Arc::new(move |item| {
            pauses.perform(item, &format!("process({item})"));
            log.push(item);
        })
    };
    let per_consumer = finishes(
        &format!("a run of {items} items with {consumers} consumers"),
        hint,
        move || run(Box::new(0..items), consumers, process),
    );
    Observed {
        per_consumer,
        processed: log.entries(),
    }
}

/// What a whole run must return, whatever the counts: one list per consumer,
/// each in the order the items were sent (one producer, one FIFO queue),
/// together every item exactly once — and every item processed *before* the
/// run returned.
fn check_run(name: &str, items: u64, consumers: usize, seen: &Observed) -> Result<(), String> {
    if seen.per_consumer.len() != consumers {
        return Err(format!(
            "{name}({items} items, {consumers} consumers) returned {} lists: one list per consumer \
             asked for, even when there are fewer items than consumers (a consumer that got none \
             returns an empty list) — start exactly `consumers` threads",
            seen.per_consumer.len()
        ));
    }
    for (index, list) in seen.per_consumer.iter().enumerate() {
        if list.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(format!(
                "{name}: consumer {index} returned {}, not in the order it took them: one \
                 producer sends 0, 1, 2, … into one FIFO queue, so each consumer's items come \
                 in increasing order",
                preview(list)
            ));
        }
    }
    // With no consumers nobody takes anything: the items stay in the queue.
    let taken = if consumers == 0 { 0 } else { items };
    check_each_exactly_once(
        0..taken,
        seen.per_consumer.concat(),
        &format!("{name}({items} items, {consumers} consumers): the items the consumers returned"),
    )?;
    check_each_exactly_once(
        0..taken,
        seen.processed.iter().copied(),
        &format!(
            "{name}({items} items, {consumers} consumers): items whose `process` had finished when \
             the run returned — {NOT_JOINED}"
        ),
    )
}

/// Items from none to past the queue's capacity, edges common; consumers from
/// one to six, and none when the items fit in the queue (a run with no
/// consumers returns no lists); `process` pauses a few milliseconds on some
/// items, so consumers meet an empty queue and each other.
fn runs() -> impl Strategy<Value = (u64, usize, Script)> {
    let items = prop_oneof![
        oracle::draw::count(2 * CAPACITY as u64 + 3),
        Just(CAPACITY as u64),
        Just(CAPACITY as u64 + 1),
    ];
    (
        items,
        0usize..=6,
        proptest::collection::vec((0u64..40, 1u64..12), 0..4),
    )
        .prop_map(|(items, consumers, pauses)| {
            let consumers = if items > CAPACITY as u64 {
                consumers.max(1)
            } else {
                consumers
            };
            let script = pauses
                .into_iter()
                .fold(Script::new(), |script, (item, ms)| {
                    script.at(item, Act::Pause(Duration::from_millis(ms)))
                });
            (items, consumers, script)
        })
}

/// A queue's contents, fed by a producer thread that pauses where `pauses`
/// says (after the message at that position); returns the receiver, the
/// producer's thread and its sender's fate: kept alive until the test drops
/// the returned `Sender`, or dropped after the last message.
fn feed<T: Send + Clone + 'static>(
    messages: Vec<T>,
    pauses: Vec<(usize, Duration)>,
    close_after: bool,
) -> (Receiver<T>, thread::JoinHandle<Option<Sender<T>>>) {
    let (queue, inbox) = unbounded();
    let producer = thread::spawn(move || {
        for (at, message) in messages.into_iter().enumerate() {
            queue.send(message).expect("the test keeps the inbox");
            for (after, pause) in &pauses {
                if *after == at {
                    thread::sleep(*pause);
                }
            }
        }
        (!close_after).then_some(queue)
    });
    (inbox, producer)
}

/// Where a message sequence gets short pauses (after which positions).
fn pauses(len: usize) -> impl Strategy<Value = Vec<(usize, Duration)>> {
    proptest::collection::vec(
        (0..len.max(1), (1u64..8).prop_map(Duration::from_millis)),
        0..3,
    )
}

/// A `process` that logs each item, and panics where `script` says.
fn scripted(log: &Log<u64>, script: Script) -> Process {
    let log = log.clone();
    Arc::new(move |item| {
        script.perform(item, &format!("process({item})"));
        log.push(item);
    })
}

/// While every consumer is held on its first item, the producer fills the
/// queue, takes one more item and waits in `send` for room: the consumers'
/// items, the queue's [`CAPACITY`] and one — no more and no fewer — taken from
/// an iterator that counts what is taken. A queue bigger or smaller than
/// CAPACITY (made room for the Shutdowns, unbounded, a size of its own), or
/// items taken ahead of the room for them, shows in that count.
fn takes_items_only_as_the_queue_makes_room(run: Run, name: &str, hint: &'static str) {
    const ITEMS: u64 = 100;
    let jobs = [1usize, 2, 4]
        .into_iter()
        .map(|consumers| {
            let what = format!("{name}({ITEMS} items, {consumers} consumers)");
            let named = what.clone();
            let job = move || {
                let full = consumers as u64 + CAPACITY as u64 + 1;
                let gate = Gate::new();
                let tally = Tally::new();
                let items: Items = Box::new(tally.count(0..ITEMS));
                let process: Process = {
                    let gate = gate.clone();
                    Arc::new(move |_| gate.pass())
                };
                let running = thread::spawn(move || run(items, consumers, process));
                let returned = wait_for_or_exit(
                    &running,
                    &format!("each of the {consumers} consumers to take an item"),
                    || gate.waiting() >= consumers,
                );
                let filling = Instant::now();
                while !returned
                    && tally.taken() < full
                    && filling.elapsed() < Duration::from_secs(2)
                {
                    thread::sleep(Duration::from_millis(1));
                }
                thread::sleep(Duration::from_millis(50)); // would it take more?
                let seen = tally.taken();
                gate.open();
                if returned {
                    join_finished(running); // a panic (a todo!() included) fails as itself
                    panic!(
                        "{what} returned while every item was held at the gate in `process`: \
                         {NOT_JOINED}"
                    );
                }
                let lists = join_all(vec![running], &what, hint).remove(0);
                assert_each_exactly_once(
                    0..ITEMS,
                    lists.concat(),
                    "the items the consumers returned",
                );
                assert!(
                    seen <= full,
                    "{what}: {seen} items were taken from `items` while each consumer was held \
                     on its first; {full} fit — one in each consumer's hand, {CAPACITY} in the \
                     queue, one in the producer's waiting in send. Is the queue \
                     bounded(CAPACITY) — not made bigger to hold the Shutdowns too, not \
                     unbounded — and is each item taken only once the one before is sent?"
                );
                assert!(
                    seen >= full,
                    "{what}: only {seen} items were taken from `items` though the consumers \
                     were held on their first for 2 s; {full} fit — one in each consumer's \
                     hand, {CAPACITY} in the queue, one in the producer's waiting in send. Is \
                     the queue bounded(CAPACITY)?"
                );
            };
            adversary::scenario(named, job)
        })
        .collect();
    adversary::concurrently(jobs);
}

/// While one consumer is held on item 0, the others process every other item:
/// a free consumer takes whatever waits in the one shared queue. Items dealt
/// out in advance, or taken in batches, wait for the held consumer instead.
fn a_held_consumer_does_not_hold_up_the_others(run: Run, name: &str, hint: &'static str) {
    let cases =
        (2usize..=4).prop_flat_map(|consumers| (Just(consumers), (2 * consumers as u64 + 1)..=30));
    oracle::check(8, cases, |(consumers, items)| {
        let gate = Gate::new();
        let log = Log::new();
        let process = scripted(&log, Script::new().at(0, Act::Hold(gate.clone())));
        let running = thread::spawn(move || run(Box::new(0..items), consumers, process));
        let others_done = wait_for_or_exit(
            &running,
            "the other consumers to process every other item",
            || log.len() as u64 == items - 1,
        );
        let while_held = log.entries();
        gate.open();
        if others_done {
            join_finished(running); // it returned while item 0 was held: a panic, or no join
            return Err(format!(
                "{name} returned while item 0 was still being processed: {NOT_JOINED}"
            ));
        }
        let lists = join_all(vec![running], name, hint).remove(0);
        check_each_exactly_once(
            1..items,
            while_held,
            &format!(
                "{name}({items} items, {consumers} consumers): items processed while one consumer was held on \
             item 0 — the others must take every other item from the one shared queue, not wait for it"
            ),
        )?;
        check_each_exactly_once(
            0..items,
            lists.concat(),
            &format!("{name}: the items the consumers returned"),
        )
    });
}

/// A panic in `process` must come back out of the run: a run that returns as
/// if nothing happened has lost that item in silence. Several consumers, so
/// the others go on and the run can finish.
fn a_panic_in_process_is_not_swallowed(run: Run, name: &str) {
    oracle::check(12, (0u64..25, 2usize..=4), |(panics_at, consumers)| {
        let fired = Log::new();
        let process: Process = {
            let fired = fired.clone();
            Arc::new(move |item| {
                if item == panics_at {
                    fired.push(item);
                    adversary::injected_panic(&format!("process({item})"));
                }
            })
        };
        let outcome = finishes(
            &format!("{name}(25 items, {consumers} consumers) with a panic at item {panics_at}"),
            "a consumer that panicked is gone: the others still need their own stop signal, and \
             the run must still join every consumer",
            move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(Box::new(0..25), consumers, process)
                }))
            },
        );
        match outcome {
            // The run's own panic (a todo!() included) before `process` ever
            // ran is not the injected one coming back.
            Err(payload) if fired.is_empty() => std::panic::resume_unwind(payload),
            Err(_) => Ok(()),
            Ok(lists) => Err(format!(
                "{name}(25 items, {consumers} consumers): `process` panicked on item {panics_at}, yet \
                 the run returned normally ({} items in its lists): that item was lost in silence. A \
                 consumer's panic comes back from its `join()` as `Err` — pass it on \
                 (`.join().expect(\"a consumer panicked\")`), never drop it with `.ok()`, \
                 `unwrap_or_default()` or `let _ =`",
                lists.concat().len()
            )),
        }
    });
}

/// The chapter's section "A consumer that knows when to stop".
mod s1_a_consumer_that_knows_when_to_stop {
    use super::*;

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

    #[test]
    fn takes_exactly_the_work_before_its_first_shutdown() {
        // Any sequence of messages, fed with short pauses: the consumer processes
        // the Work before the first Shutdown, in order, and leaves everything
        // after it in the queue. With no Shutdown the queue closes at the end.
        let messages = proptest::collection::vec(
            prop_oneof![4 => oracle::draw::value().prop_map(Message::Work), 1 => Just(Message::Shutdown)],
            0..24,
        );
        let cases = messages.prop_flat_map(|messages| {
            let len = messages.len();
            (Just(messages), pauses(len))
        });
        oracle::check(48, cases, |(messages, pauses)| {
            let stop = messages.iter().position(|m| *m == Message::Shutdown);
            let before: Vec<u64> = messages[..stop.unwrap_or(messages.len())]
                .iter()
                .map(|m| match m {
                    Message::Work(item) => *item,
                    Message::Shutdown => unreachable!("before the first Shutdown"),
                })
                .collect();
            let after: Vec<Message> = stop.map_or_else(Vec::new, |at| messages[at + 1..].to_vec());
            // Keep the queue open when a Shutdown is there: it alone must stop the consumer.
            let (inbox, producer) = feed(messages.clone(), pauses, stop.is_none());
            let log = Log::new();
            let process = scripted(&log, Script::new());
            let consumer_inbox = inbox.clone();
            let done = finishes(
                "consume_until_shutdown",
                "it should return at its first Shutdown (or when the queue is closed and empty)",
                move || consume_until_shutdown(&consumer_inbox, &process),
            );
            let _kept_open = join_finished(producer);
            check_sequence(&before, &done, "the items consume_until_shutdown returned")?;
            check_sequence(
                &before,
                &log.entries(),
                "the items given to `process`, in order",
            )?;
            let left: Vec<Message> = inbox.try_iter().collect();
            check_sequence(
                &after,
                &left,
                "what stays in the queue after the consumer's Shutdown (for the other consumers)",
            )
        });
    }
}

/// The chapter's section "Sentinels".
mod s2_sentinels {
    use super::*;

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
        every_consumer_takes_work_at_once(
            run_with_sentinels,
            "run_with_sentinels",
            ONE_SENTINEL_EACH,
        );
    }

    #[test]
    fn both_runs_account_for_every_item_at_every_edge_of_the_counts() {
        // Not left to a draw: each edge of the item count (none, one, two,
        // around the queue's capacity, past twice it) against each edge of
        // the consumer count (none, one, two, many), for both runs. With no
        // consumer, only as many items as the queue holds (the rest could
        // never be sent).
        let items = [0, 1, 2, CAPACITY as u64 - 1, CAPACITY as u64];
        let more = [CAPACITY as u64 + 1, 2 * CAPACITY as u64 + 3];
        let cases = [0usize, 1, 2, 6].into_iter().flat_map(move |consumers| {
            let counts: Vec<u64> = if consumers == 0 {
                items.to_vec()
            } else {
                items.iter().chain(&more).copied().collect()
            };
            counts.into_iter().map(move |items| (items, consumers))
        });
        oracle::each(cases, |&(items, consumers)| {
            for (name, run, hint) in [
                (
                    "run_with_sentinels",
                    run_with_sentinels as Run,
                    ONE_SENTINEL_EACH,
                ),
                (
                    "run_closing_channel",
                    run_closing_channel as Run,
                    SENDER_ALIVE,
                ),
            ] {
                let seen = observe(run, items, consumers, &Script::new(), hint);
                check_run(name, items, consumers, &seen)?;
            }
            Ok(())
        });
    }

    #[test]
    fn sentinels_account_for_every_item_whatever_the_counts() {
        oracle::check(40, runs(), |(items, consumers, pauses)| {
            let seen = observe(
                run_with_sentinels,
                items,
                consumers,
                &pauses,
                ONE_SENTINEL_EACH,
            );
            check_run("run_with_sentinels", items, consumers, &seen)
        });
    }

    #[test]
    fn a_held_consumer_does_not_hold_up_the_others_with_sentinels() {
        a_held_consumer_does_not_hold_up_the_others(
            run_with_sentinels,
            "run_with_sentinels",
            ONE_SENTINEL_EACH,
        );
    }

    #[test]
    fn sentinels_take_an_item_only_when_the_queue_has_room() {
        takes_items_only_as_the_queue_makes_room(
            run_with_sentinels,
            "run_with_sentinels",
            ONE_SENTINEL_EACH,
        );
    }

    #[test]
    fn a_panic_in_process_comes_back_out_of_run_with_sentinels() {
        a_panic_in_process_is_not_swallowed(run_with_sentinels, "run_with_sentinels");
    }
}

/// The chapter's section "Closing the channel".
mod s3_closing_the_channel {
    use super::*;

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
        delivers_every_item_exactly_once(
            run_closing_channel,
            "run_closing_channel",
            4,
            SENDER_ALIVE,
        );
    }

    #[test]
    fn run_closing_channel_returns_only_after_every_item_is_processed() {
        returns_only_after_every_item_is_processed(
            run_closing_channel,
            "run_closing_channel",
            SENDER_ALIVE,
        );
    }

    #[test]
    fn a_consumer_takes_everything_until_the_channel_closes() {
        let cases =
            proptest::collection::vec(oracle::draw::value(), 0..24).prop_flat_map(|items| {
                let len = items.len();
                (Just(items), pauses(len))
            });
        oracle::check(48, cases, |(items, pauses)| {
            let (inbox, producer) = feed(items.clone(), pauses, true);
            let log = Log::new();
            let process = scripted(&log, Script::new());
            let done = finishes(
                "consume_until_closed",
                "it should return once every Sender is gone and the channel is empty",
                move || consume_until_closed(&inbox, &process),
            );
            join_finished(producer);
            check_sequence(&items, &done, "the items consume_until_closed returned")?;
            check_sequence(
                &items,
                &log.entries(),
                "the items given to `process`, in order",
            )
        });
    }

    #[test]
    fn closing_the_channel_accounts_for_every_item_whatever_the_counts() {
        oracle::check(40, runs(), |(items, consumers, pauses)| {
            let seen = observe(run_closing_channel, items, consumers, &pauses, SENDER_ALIVE);
            check_run("run_closing_channel", items, consumers, &seen)
        });
    }

    #[test]
    fn a_held_consumer_does_not_hold_up_the_others_when_closing() {
        a_held_consumer_does_not_hold_up_the_others(
            run_closing_channel,
            "run_closing_channel",
            SENDER_ALIVE,
        );
    }

    #[test]
    fn closing_the_channel_takes_an_item_only_when_the_queue_has_room() {
        takes_items_only_as_the_queue_makes_room(
            run_closing_channel,
            "run_closing_channel",
            SENDER_ALIVE,
        );
    }

    #[test]
    fn a_panic_in_process_comes_back_out_of_run_closing_channel() {
        a_panic_in_process_is_not_swallowed(run_closing_channel, "run_closing_channel");
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. A consumer must keep waiting while
/// its queue is open, and a producer must keep waiting for room.
mod stall {
    use super::*;

    /// A producer that sends `first`, goes quiet for [`STALL`], then sends
    /// `second` and closes (or not: the consumer must stop at its `Shutdown`).
    fn quiet_producer<T: Send + Clone + 'static>(
        first: T,
        rest: Vec<T>,
        close: bool,
    ) -> (Receiver<T>, thread::JoinHandle<Option<Sender<T>>>) {
        let mut messages = vec![first];
        messages.extend(rest);
        feed(messages, vec![(0, STALL)], close)
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        const HINT: &str = "a wait that gives up after a while (recv_timeout, send_timeout, a retry count) \
            stops while the queue is still open: a slow peer is not a finished one";
        adversary::concurrently(vec![
            (
                "consume_until_shutdown, whose producer pauses",
                Box::new(|| {
                    let (inbox, producer) = quiet_producer(
                        Message::Work(0),
                        vec![Message::Work(1), Message::Shutdown],
                        false,
                    );
                    let log = Log::new();
                    let process = scripted(&log, Script::new());
                    let done =
                        finishes_within(STALL_BUDGET, "consume_until_shutdown", HINT, move || {
                            consume_until_shutdown(&inbox, &process)
                        });
                    let _open = join_finished(producer);
                    assert_eq!(
                        done,
                        [0, 1],
                        "the producer sent Work(0), went quiet for {STALL:?}, then sent Work(1) and Shutdown: \
                     a consumer keeps waiting while no Shutdown has come — {HINT}"
                    );
                }),
            ),
            (
                "consume_until_closed, whose producer pauses",
                Box::new(|| {
                    let (inbox, producer) = quiet_producer(0, vec![1], true);
                    let log = Log::new();
                    let process = scripted(&log, Script::new());
                    let done =
                        finishes_within(STALL_BUDGET, "consume_until_closed", HINT, move || {
                            consume_until_closed(&inbox, &process)
                        });
                    join_finished(producer);
                    assert_eq!(
                        done,
                        [0, 1],
                        "the producer sent 0, went quiet for {STALL:?}, then sent 1 and dropped its Sender: a \
                     consumer keeps waiting while a Sender lives — {HINT}"
                    );
                }),
            ),
            (
                "run_with_sentinels, whose one consumer is slow",
                Box::new(|| {
                    slow_consumer(run_with_sentinels, "run_with_sentinels", HINT);
                }),
            ),
            (
                "run_closing_channel, whose one consumer is slow",
                Box::new(|| {
                    slow_consumer(run_closing_channel, "run_closing_channel", HINT);
                }),
            ),
            (
                "run_with_sentinels, whose consumer is slow on the last item",
                Box::new(|| {
                    slow_last_item(run_with_sentinels, "run_with_sentinels", HINT);
                }),
            ),
            (
                "run_closing_channel, whose consumer is slow on the last item",
                Box::new(|| {
                    slow_last_item(run_closing_channel, "run_closing_channel", HINT);
                }),
            ),
        ]);
    }

    /// One consumer stalls on item 0 while the queue fills up: the run's
    /// producer must wait for room for the whole stall, and lose nothing.
    fn slow_consumer(run: Run, name: &str, hint: &str) {
        let items = CAPACITY as u64 + 5;
        let log = Log::new();
        let process = scripted(&log, Script::new().at(0, Act::Stall));
        let lists = finishes_within(STALL_BUDGET, name, hint, move || {
            run(Box::new(0..items), 1, process)
        });
        assert_each_exactly_once(
            0..items,
            lists.concat(),
            &format!(
                "{name}({items} items, 1 consumer) whose consumer took {STALL:?} over item 0, while the \
                 queue was full: the producer must wait for room, not give up — {hint}"
            ),
        );
    }

    /// The one consumer stalls on the last item, after everything has been
    /// sent: the run's wait for its consumers (the join) meets the stall, and
    /// must outlast it with every item in the result.
    fn slow_last_item(run: Run, name: &str, hint: &str) {
        let items = 4;
        let log = Log::new();
        let process = scripted(&log, Script::new().at(items - 1, Act::Stall));
        let lists = finishes_within(STALL_BUDGET, name, hint, move || {
            run(Box::new(0..items), 1, process)
        });
        assert_each_exactly_once(
            0..items,
            lists.concat(),
            &format!(
                "{name}({items} items, 1 consumer) whose consumer took {STALL:?} over item {}, the \
                 last, when everything had been sent: the run returns only once every consumer \
                 has finished (join each one, however long it takes) — {hint}",
                items - 1
            ),
        );
    }
}
