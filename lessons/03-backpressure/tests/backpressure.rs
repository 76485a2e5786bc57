//! Lesson 03 — bounded queues, backpressure, and measuring queue depth.
//!
//! Every call into your code runs under a watchdog: a send that never returns
//! or consumers that never stop fail the test within seconds, saying what the
//! test saw, instead of freezing your terminal. Where a test looks at time, it
//! asserts only what counting proves (a producer that had to wait for `n` items
//! of 30 ms each cannot be done before `n` × 30 ms), never an upper bound a busy
//! machine could miss.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendError, Sender, TrySendError};
use lesson_03::{DepthTrackingSender, Observation, Process, fast_producer, work_queue};
use lesson_support::{
    BUDGET, Log, Overlap, assert_each_exactly_once, finishes, join_all, join_finished,
    panic_message, wait_for_or_exit,
};

const QUEUE_HINT: &str =
    "work_queue only builds a channel: bounded(n) or unbounded(), nothing that waits";
const SEND_HINT: &str = "DepthTrackingSender::send waits only while the queue is full; \
     with room in the queue it must return at once";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `work_queue(capacity)`, under the watchdog.
#[track_caller]
fn queue(capacity: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
    finishes(
        &format!("work_queue({capacity:?})"),
        QUEUE_HINT,
        move || work_queue(capacity),
    )
}

/// A new tracker over `sender` that has sent `items`, in order, under the
/// watchdog; returns it for more.
#[track_caller]
fn tracker_after(sender: Sender<u64>, items: &[u64]) -> DepthTrackingSender {
    let items = items.to_vec();
    finishes(
        &format!("DepthTrackingSender::send of {items:?} into a queue with room"),
        SEND_HINT,
        move || {
            let mut tracked = DepthTrackingSender::new(sender);
            for item in items {
                tracked.send(item).expect("the test holds the receiver");
            }
            tracked
        },
    )
}

/// Sends `items` through an existing tracker, under the watchdog.
#[track_caller]
fn send_more(tracked: DepthTrackingSender, items: &[u64]) -> DepthTrackingSender {
    let items = items.to_vec();
    finishes(
        &format!("DepthTrackingSender::send of {items:?} into a queue with room"),
        SEND_HINT,
        move || {
            let mut tracked = tracked;
            for item in items {
                tracked.send(item).expect("the test holds the receiver");
            }
            tracked
        },
    )
}

/// `tracked.max_depth()`, under the watchdog.
#[track_caller]
fn depth_of(tracked: DepthTrackingSender) -> usize {
    finishes(
        "DepthTrackingSender::max_depth",
        "max_depth only returns what send noted",
        move || tracked.max_depth(),
    )
}

// ------------------------------------------------------------- work_queue --

#[test]
fn a_bounded_queue_holds_exactly_its_capacity() {
    for capacity in [1, 3, 8] {
        let (sender, receiver) = queue(Some(capacity));
        assert_eq!(
            sender.capacity(),
            Some(capacity),
            "work_queue(Some({capacity})) must build bounded({capacity}): not unbounded, not off by one"
        );
        for item in 0..capacity as u64 {
            assert!(
                sender.try_send(item).is_ok(),
                "a queue of capacity {capacity} refused item {item}, with only {item} items in it"
            );
        }
        assert!(
            matches!(sender.try_send(99), Err(TrySendError::Full(99))),
            "a queue of capacity {capacity} took item {} — one more than its capacity",
            capacity + 1
        );
        assert_eq!(receiver.try_recv(), Ok(0));
        assert!(
            sender.try_send(99).is_ok(),
            "taking an item out of a full queue of capacity {capacity} makes room for one more"
        );
    }
}

#[test]
fn no_capacity_means_unbounded_not_a_big_number() {
    let (sender, _receiver) = queue(None);
    assert_eq!(
        sender.capacity(),
        None,
        "work_queue(None) must be unbounded(): bounded(some big number) is still a bound"
    );
    for item in 0..10_000 {
        assert!(
            sender.try_send(item).is_ok(),
            "an unbounded queue refused item {item}"
        );
    }
}

#[test]
fn capacity_zero_is_a_rendezvous_not_unbounded() {
    // Python's queue.Queue(maxsize=0) is unbounded; a Rust bounded(0) is the
    // opposite: no room at all, each send waits until a receiver takes the item.
    let (sender, receiver) = queue(Some(0));
    assert_eq!(
        sender.capacity(),
        Some(0),
        "work_queue(Some(0)) must be bounded(0), a rendezvous — Python's maxsize=0 means unbounded, Rust's does not"
    );
    assert!(
        matches!(sender.try_send(1), Err(TrySendError::Full(1))),
        "a queue of capacity 0 took an item with no receiver waiting: it holds none"
    );
    let handing = thread::spawn(move || sender.send(2));
    thread::sleep(ms(100));
    assert!(
        !handing.is_finished(),
        "a send into a queue of capacity 0 returned before anyone took the item"
    );
    assert_eq!(
        receiver.recv_timeout(BUDGET),
        Ok(2),
        "the waiting send hands its item over"
    );
    join_all(
        vec![handing],
        "sender",
        "taking the item ends the waiting send",
    )
    .pop()
    .expect("one sender")
    .expect("the receiver was alive");
}

// ---------------------------------------------------- DepthTrackingSender --

#[test]
fn a_new_tracker_has_seen_no_depth() {
    let (sender, _receiver) = queue(Some(4));
    let tracked = tracker_after(sender, &[]);
    assert_eq!(
        depth_of(tracked),
        0,
        "nothing was sent yet: the deepest the queue has been is 0"
    );
}

#[test]
fn depth_counts_the_item_just_sent() {
    let (sender, _receiver) = queue(Some(4));
    let tracked = tracker_after(sender, &[1]);
    assert_eq!(
        depth_of(tracked),
        1,
        "one item waits in the queue after the first send: measure after sending, not before"
    );
}

#[test]
fn depth_is_the_peak_measured_at_each_put() {
    let (sender, receiver) = queue(Some(8));
    let tracked = tracker_after(sender, &[0, 1, 2, 3, 4]);
    for _ in 0..5 {
        receiver
            .recv_timeout(BUDGET)
            .expect("items 0 to 4 were sent: they are in the queue");
    }
    // Now empty; two more puts leave 2 in the queue, and 2 is what a look
    // "now" (or "the latest") would say.
    let tracked = send_more(tracked, &[5, 6]);
    assert_eq!(
        depth_of(tracked),
        5,
        "the queue held 5 items at its deepest, then drained and held 2: keep the maximum over every put — \
         not the latest depth, not the depth when max_depth() is asked, not the number of sends"
    );
    assert_eq!(
        receiver.try_iter().collect::<Vec<_>>(),
        [5, 6],
        "every item sent arrives, in order"
    );
}

#[test]
fn depth_never_exceeds_the_capacity_when_send_had_to_wait() {
    let (sender, receiver) = queue(Some(2));
    let tracked = tracker_after(sender, &[1, 2]);
    // The queue is full; the third send waits for room.
    let producer = thread::spawn(move || {
        let mut tracked = tracked;
        tracked.send(3).map(|()| tracked)
    });
    thread::sleep(ms(50));
    assert_eq!(receiver.recv_timeout(BUDGET), Ok(1));
    let tracked = join_all(
        vec![producer],
        "producer",
        "taking an item out of the full queue should let the waiting send finish",
    )
    .pop()
    .expect("one producer")
    .expect("the receiver is alive");
    assert_eq!(
        depth_of(tracked),
        2,
        "a queue of capacity 2 never held more than 2: a depth measured before the put (plus one for the \
         item about to go in) counts the item that had to wait as if it were already in"
    );
}

#[test]
fn send_waits_while_the_queue_is_full() {
    let (sender, receiver) = queue(Some(1));
    let producer = thread::spawn(move || {
        let mut tracked = DepthTrackingSender::new(sender);
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
    thread::sleep(ms(150));
    assert!(
        !producer.is_finished(),
        "the second send returned while the queue was full: did it drop the item instead of waiting?"
    );
    assert_eq!(receiver.recv_timeout(BUDGET), Ok(1));
    let tracked = join_all(
        vec![producer],
        "producer",
        "taking an item out should let the waiting send finish",
    );
    assert_eq!(
        receiver.recv_timeout(BUDGET),
        Ok(2),
        "the item that waited arrives, not lost"
    );
    let tracked = tracked.into_iter().next().expect("one producer");
    assert_eq!(
        depth_of(tracked),
        1,
        "a queue of capacity 1 held one item at its deepest"
    );
}

#[test]
fn a_send_to_a_closed_queue_hands_the_item_back() {
    let (sender, receiver) = queue(Some(4));
    drop(receiver); // nobody will ever take an item: the queue is closed
    let (outcome, depth) = finishes(
        "DepthTrackingSender::send into a queue whose receivers are gone",
        "a send with no receiver left fails at once; it must not wait",
        move || {
            let mut tracked = DepthTrackingSender::new(sender);
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| tracked.send(7)))
                .map_err(|payload| panic_message(payload.as_ref()));
            (outcome, tracked.max_depth())
        },
    );
    match outcome {
        Err(message) => panic!(
            "send panicked on a closed queue ({message}): return the error instead (the `?` operator), so \
             the caller gets the item back and decides"
        ),
        Ok(result) => assert_eq!(
            result,
            Err(SendError(7)),
            "a send into a closed queue must fail and hand item 7 back in the SendError, not report success"
        ),
    }
    assert_eq!(depth, 0, "an item that was refused was never in the queue");
}

// ----------------------------------------------------------- fast_producer --

/// One call of `process`: which item, on which thread.
type Call = (u64, ThreadId);

/// Runs `fast_producer(items, capacity, consumers, …)` under the watchdog, with
/// a `process` that runs `work` and then logs the item and the thread. On a
/// hang, the failure says how far the consumers got — which tells a consumer
/// that never started from one that never saw the queue close.
#[track_caller]
fn observe(
    items: u64,
    capacity: Option<usize>,
    consumers: usize,
    work: impl Fn(u64) + Send + Sync + 'static,
) -> (Observation, Vec<Call>) {
    let calls: Log<Call> = Log::new();
    let process: Process = {
        let calls = calls.clone();
        Arc::new(move |item| {
            work(item);
            calls.push((item, thread::current().id()));
        })
    };
    let run = thread::Builder::new()
        .name("fast_producer".into())
        .spawn(move || fast_producer(items, capacity, consumers, process))
        .expect("the test could not start a thread");
    let deadline = Instant::now() + BUDGET;
    while !run.is_finished() && Instant::now() < deadline {
        thread::sleep(ms(2));
    }
    if run.is_finished() {
        // A panic in fast_producer (a todo!() included) fails the test with its message.
        return (join_finished(run), calls.entries());
    }
    let done = calls.len();
    let saw = if done == 0 {
        "no consumer ever processed an item. Were the consumers started before the first send? A full \
         queue blocks the producer until a consumer takes an item — and a join before the sending waits \
         for consumers that have nothing to do."
            .to_string()
    } else if done as u64 >= items {
        format!(
            "all {items} items were processed, yet fast_producer did not return: the consumers wait for \
             more until the queue closes. Drop the DepthTrackingSender (and so its Sender) before joining \
             them."
        )
    } else {
        format!(
            "{done} of {items} items were processed, then nothing more: is the producer waiting for room \
             no one makes (a consumer that stopped early), or a consumer waiting on a queue no one fills?"
        )
    };
    panic!(
        "fast_producer({items} items, capacity {capacity:?}, {consumers} consumers) was still running \
         after {BUDGET:?}: {saw}"
    );
}

/// How many items each thread processed, sorted.
fn counts_per_thread(calls: &[Call]) -> Vec<u64> {
    let mut per_thread: HashMap<ThreadId, u64> = HashMap::new();
    for (_, thread) in calls {
        *per_thread.entry(*thread).or_default() += 1;
    }
    let mut counts: Vec<u64> = per_thread.into_values().collect();
    counts.sort_unstable();
    counts
}

#[test]
fn every_item_is_processed_once_and_counted_by_its_consumer() {
    // 7 items, 2 consumers. Whoever takes item 0 holds it until the other
    // consumer has done items 1 to 6, so the split is 1 and 6 in every run.
    let others_done = Arc::new((Mutex::new(0_u64), Condvar::new()));
    let (seen, calls) = observe(7, Some(2), 2, move |item| {
        let (count, changed) = &*others_done;
        let mut count = count.lock().unwrap();
        if item == 0 {
            // Bounded, so a wrong solution with one consumer fails instead of hanging.
            let _ = changed.wait_timeout_while(count, ms(3000), |done| *done < 6);
        } else {
            *count += 1;
            changed.notify_all();
        }
    });
    assert_each_exactly_once(
        0..7,
        calls.iter().map(|(item, _)| *item),
        "items given to `process`",
    );
    assert_eq!(
        counts_per_thread(&calls),
        [1, 6],
        "one consumer held item 0 while the other did items 1 to 6: with 2 consumers, both take from the \
         same queue at the same time"
    );
    assert_eq!(
        seen.per_consumer.len(),
        2,
        "per_consumer has one entry per consumer: 2 were asked for, got {:?}",
        seen.per_consumer
    );
    let mut reported = seen.per_consumer.clone();
    reported.sort_unstable();
    assert_eq!(
        reported,
        [1, 6],
        "per_consumer says how many items each consumer processed (here 1 and 6, in some order): each \
         thread counts its own and returns the count, collected at the join"
    );
}

#[test]
fn every_consumer_asked_for_works_at_the_same_time() {
    // The first 3 calls wait (up to 3 s) until 3 consumers are inside `process` at once (lesson_support::Overlap).
    const CONSUMERS: usize = 3;
    let overlap = Arc::new(Overlap::new(CONSUMERS));
    let inside = Arc::clone(&overlap);
    let (seen, calls) = observe(12, Some(2), CONSUMERS, move |_| {
        inside.work();
    });
    let most = overlap.most();
    assert_eq!(
        most, CONSUMERS,
        "at most {most} items were being processed at once with {CONSUMERS} consumers asked for: \
         start exactly `consumers` threads, all taking from the one queue"
    );
    assert_eq!(
        seen.per_consumer.len(),
        CONSUMERS,
        "per_consumer has one entry per consumer: {CONSUMERS} were asked for, got {:?}",
        seen.per_consumer
    );
    assert_eq!(
        seen.per_consumer.iter().sum::<u64>(),
        12,
        "the consumers' counts add up to every item: per_consumer was {:?}",
        seen.per_consumer
    );
    assert_each_exactly_once(
        0..12,
        calls.iter().map(|(item, _)| *item),
        "items given to `process`",
    );
}

#[test]
fn a_bounded_queue_fills_to_its_capacity_and_no_further() {
    // Consumers at 20 ms an item against a producer that needs microseconds:
    // the queue fills, and a bound is a bound.
    for (capacity, consumers) in [(1, 2), (5, 3)] {
        let items = 24;
        let (seen, calls) = observe(items, Some(capacity), consumers, |_| thread::sleep(ms(20)));
        assert_eq!(
            seen.max_depth, capacity,
            "a producer faster than its {consumers} consumers fills a queue of {capacity} to the brim — and \
             no further (measured by the DepthTrackingSender at each put)"
        );
        assert_each_exactly_once(
            0..items,
            calls.iter().map(|(item, _)| *item),
            &format!("items given to `process` (capacity {capacity})"),
        );
        assert_eq!(
            seen.per_consumer.iter().sum::<u64>(),
            items,
            "per_consumer must add up to every item processed: {:?}",
            seen.per_consumer
        );
    }
}

#[test]
fn with_capacity_zero_nothing_ever_waits_in_the_queue() {
    let (seen, calls) = observe(6, Some(0), 2, |_| thread::sleep(ms(10)));
    assert_eq!(
        seen.max_depth, 0,
        "capacity 0 is a rendezvous: each item goes straight from the producer to a consumer, so the queue \
         never holds one (Python's maxsize=0 means unbounded; Rust's bounded(0) does not)"
    );
    assert_each_exactly_once(
        0..6,
        calls.iter().map(|(item, _)| *item),
        "items given to `process`",
    );
}

#[test]
fn an_unbounded_queue_grows_with_a_fast_producer() {
    // Seed, "Break it": a producer faster than the consumers. Watch the backlog
    // grow. Sending 120 items takes microseconds; 2 consumers at 10 ms an item
    // would need 300 ms to take 60 of them.
    let (seen, calls) = observe(120, None, 2, |_| thread::sleep(ms(10)));
    assert_eq!(calls.len(), 120, "every item is processed");
    assert!(
        (60..=120).contains(&seen.max_depth),
        "with no bound, nearly all 120 items should pile up while 2 consumers take 10 ms each; the deepest \
         was {}",
        seen.max_depth
    );
}

#[test]
fn a_full_queue_holds_the_producer_back() {
    // 16 items, room for 2, 2 consumers at 30 ms an item. The last send can
    // return only once at most 2 items wait and 2 are in hand: 12 are done, so
    // one consumer has done 6, one after another — 180 ms at the least.
    let (seen, _) = observe(16, Some(2), 2, |_| thread::sleep(ms(30)));
    assert!(
        seen.producer_done >= ms(180),
        "producer_done is {:?}, but the producer could not have sent its last item before 180 ms: did the \
         full queue make it wait, and is producer_done noted right after the last send?",
        seen.producer_done
    );
    assert!(
        seen.all_done >= seen.producer_done,
        "all_done ({:?}) comes after producer_done ({:?})",
        seen.all_done,
        seen.producer_done
    );
}

#[test]
fn the_producer_finishes_long_before_the_consumers_when_nothing_holds_it_back() {
    // Unbounded, 6 items, 2 consumers at 200 ms: the producer is done in
    // microseconds; the consumers need 600 ms at the least.
    let (seen, _) = observe(6, None, 2, |_| thread::sleep(ms(200)));
    assert!(
        seen.all_done >= ms(600),
        "all_done is {:?}, but 6 items at 200 ms on 2 consumers take 600 ms at the least: note all_done \
         after joining every consumer",
        seen.all_done
    );
    assert!(
        seen.all_done >= seen.producer_done + ms(200),
        "producer_done ({:?}) is too close to all_done ({:?}): with no bound the producer is done at once \
         and the consumers work on for at least one more item. Note producer_done right after the last \
         send, before closing the queue and joining",
        seen.producer_done,
        seen.all_done
    );
}
