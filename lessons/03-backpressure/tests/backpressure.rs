//! Lesson 03 — bounded queues, backpressure, and measuring queue depth.
//!
//! The tests come in the chapter's order (`s1_…` is its first section,
//! "Bounded and unbounded"). Each section has examples, then properties: the
//! same check over many drawn inputs — capacities of 0, 1, one below and above
//! the number of consumers or items, none at all, a hundred thousand; consumers
//! from none to six; sends into a full, an empty and a closed queue — against
//! an answer that does not depend on your code (a model of the queue kept by
//! the test, a count, a log of what really happened). Last, `stall`: every wait
//! meets a peer that goes quiet for seconds, longer than any "safety" timeout.
//!
//! Every call into your code runs under a watchdog: a send that never returns
//! or consumers that never stop fail the test within seconds, saying what the
//! test saw, instead of freezing your terminal. Where a test looks at time, it
//! asserts only what counting proves (a producer that had to wait for `n` items
//! of 30 ms each cannot be done before `n` × 30 ms), never an upper bound a busy
//! machine could miss.

use std::collections::{HashMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendError, Sender, TrySendError, bounded, unbounded};
use lesson_03::{DepthTrackingSender, Observation, Process, fast_producer, work_queue};
use lesson_support::adversary::{self, Act, Gate, STALL, STALL_BUDGET, Script};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    BUDGET, Log, Overlap, assert_each_exactly_once, check_each_exactly_once, finishes,
    finishes_within, join_all, join_finished, panic_message, preview, wait_for_or_exit,
};

const QUEUE_HINT: &str =
    "work_queue only builds a channel: bounded(n) or unbounded(), nothing that waits";
const SEND_HINT: &str = "DepthTrackingSender::send waits only while the queue is full; \
     with room in the queue it must return at once";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A channel built here (not by your `work_queue`), so the later sections do
/// not depend on the first.
fn channel(capacity: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
    match capacity {
        Some(capacity) => bounded(capacity),
        None => unbounded(),
    }
}

/// Whether a panic's text is a `todo!()` not written yet.
fn not_written(message: &str) -> bool {
    message.contains("not yet implemented")
}

/// The chapter's section "Bounded and unbounded".
mod s1_bounded_and_unbounded {
    use super::*;

    /// `work_queue(capacity)`, under the watchdog.
    #[track_caller]
    fn queue(capacity: Option<usize>) -> (Sender<u64>, Receiver<u64>) {
        finishes(
            &format!("work_queue({capacity:?})"),
            QUEUE_HINT,
            move || work_queue(capacity),
        )
    }

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

    /// Capacities: none, 0, 1, 2, small, powers of two and their neighbours,
    /// and large.
    fn capacities() -> impl Strategy<Value = Option<usize>> {
        prop_oneof![
            1 => Just(None),
            3 => oracle::draw::size(0, 70).prop_map(Some),
            1 => proptest::sample::select(vec![127, 128, 255, 256, 1_000, 1_023, 1_024, 4_096, 65_536, 100_000])
                .prop_map(Some),
            1 => (100usize..200_000).prop_map(Some),
        ]
    }

    /// What a queue of `capacity` must be, said as the chapter does.
    fn wrong_capacity(asked: Option<usize>, got: Option<usize>) -> String {
        match (asked, got) {
            (Some(0), None) => "work_queue(Some(0)) built an unbounded queue: Some(0) is bounded(0), a \
                 rendezvous that holds nothing (Python's maxsize=0 means unbounded; Rust's does not)"
                .to_string(),
            (Some(n), None) => format!(
                "work_queue(Some({n})) built an unbounded queue: Some({n}) means bounded({n})"
            ),
            (None, Some(m)) => format!(
                "work_queue(None) built bounded({m}): None means unbounded() — a big bound is still a \
                 bound, one you meet later"
            ),
            (Some(n), Some(m)) => format!(
                "work_queue(Some({n})) built bounded({m}): the capacity is exactly the one asked for — not \
                 one more or one less, not raised to at least 1, not capped"
            ),
            (None, None) => unreachable!("the capacities agree"),
        }
    }

    #[test]
    fn every_capacity_builds_one_queue_of_exactly_that_size() {
        oracle::check(64, capacities(), |capacity| {
            let (sender, receiver) = queue(capacity);
            for (end, got) in [
                ("Sender", sender.capacity()),
                ("Receiver", receiver.capacity()),
            ] {
                if got != capacity {
                    return Err(format!(
                        "{} (asked by the test with {end}::capacity(), which says {got:?})",
                        wrong_capacity(capacity, got)
                    ));
                }
            }
            // One queue: what goes in at one end comes out of the other, in
            // order, and a bounded queue refuses exactly the item past its capacity.
            let fill = match capacity {
                Some(n) if n <= 4_096 => n,
                Some(_) => 3,
                None => 5_000,
            };
            for item in 0..fill as u64 {
                if let Err(refused) = sender.try_send(item) {
                    return Err(format!(
                        "work_queue({capacity:?}): try_send refused item {item} ({refused:?}) with {item} items \
                         in the queue"
                    ));
                }
            }
            if capacity == Some(fill)
                && !matches!(sender.try_send(u64::MAX), Err(TrySendError::Full(_)))
            {
                return Err(format!(
                    "work_queue({capacity:?}) took one item more than its capacity ({fill} were already in it)"
                ));
            }
            let out: Vec<u64> = receiver.try_iter().take(fill).collect();
            if out != (0..fill as u64).collect::<Vec<_>>() {
                return Err(format!(
                    "work_queue({capacity:?}): the {fill} items sent came out of the receiver as {} — the \
                     Sender and Receiver must be the two ends of one channel",
                    preview(&out)
                ));
            }
            Ok(())
        });
    }
}

/// The chapter's section "Measuring depth".
mod s2_measuring_depth {
    use super::*;

    /// A new tracker over `sender` that has sent `items`, in order, under the
    /// watchdog; returns it for more.
    #[track_caller]
    fn tracker_after(sender: Sender<u64>, items: &[u64]) -> DepthTrackingSender {
        send_more(DepthTrackingSender::new(sender), items)
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

    #[test]
    fn depth_counts_the_item_just_sent() {
        let (sender, _receiver) = bounded(4);
        let tracked = DepthTrackingSender::new(sender);
        assert_eq!(
            tracked.max_depth(),
            0,
            "nothing was sent yet: the deepest the queue has been is 0"
        );
        let tracked = send_more(tracked, &[1]);
        assert_eq!(
            depth_of(tracked),
            1,
            "one item waits in the queue after the first send: measure after sending, not before"
        );
    }

    #[test]
    fn depth_is_the_peak_measured_at_each_put() {
        let (sender, receiver) = bounded(8);
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
        let (sender, receiver) = bounded(2);
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
        let (sender, receiver) = bounded(1);
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
        let (sender, receiver) = bounded(4);
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
            Err(message) if not_written(&message) => panic!("{message}"),
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

    /// One step of a script the test plays against a tracker.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Step {
        /// The tracker sends the next item. Into a full queue, the test takes
        /// one item out once the send has had the time to (wrongly) return.
        Send,
        /// The test takes the oldest item out of the queue, if there is one.
        Take,
        /// The test drops the receiver: the queue is closed.
        Close,
    }

    /// A queue of capacity none or 0 to 4, and up to 20 steps.
    ///
    /// A script starts from any state of the queue, not only an empty one: a
    /// sender can be wrapped when items are already waiting (sent by a clone
    /// of it, or before the wrap), and the tracker has still seen no depth.
    fn scripts() -> impl Strategy<Value = Script> {
        prop_oneof![Just(None), (0usize..=4).prop_map(Some)]
            .prop_flat_map(|capacity| {
                let waiting = capacity.unwrap_or(6);
                (
                    Just(capacity),
                    0..=waiting,
                    proptest::collection::vec(
                        prop_oneof![5 => Just(Step::Send), 3 => Just(Step::Take), 1 => Just(Step::Close)],
                        0..20,
                    ),
                )
            })
            .prop_map(|(capacity, waiting, steps)| Script {
                capacity,
                waiting,
                steps,
            })
    }

    /// A queue of `capacity` holding `waiting` items when the tracker wraps
    /// its sender, then `steps`.
    #[derive(Debug, Clone)]
    struct Script {
        capacity: Option<usize>,
        waiting: usize,
        steps: Vec<Step>,
    }

    /// Runs `act` on the tracker under the watchdog, catching a panic as text
    /// (a `todo!()` goes on as itself); returns the tracker for the next step.
    fn on_tracker<T: Send + 'static>(
        tracked: DepthTrackingSender,
        what: &str,
        hint: &str,
        act: impl FnOnce(&mut DepthTrackingSender) -> T + Send + 'static,
    ) -> (DepthTrackingSender, Result<T, String>) {
        let (tracked, outcome) = finishes(what, hint, move || {
            let mut tracked = tracked;
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| act(&mut tracked)))
                .map_err(|payload| panic_message(payload.as_ref()));
            (tracked, outcome)
        });
        if let Err(message) = &outcome
            && not_written(message)
        {
            panic!("{message}");
        }
        (tracked, outcome)
    }

    /// `max_depth()` under the watchdog; a panic comes back as text.
    fn ask_max_depth(tracked: DepthTrackingSender) -> (DepthTrackingSender, Result<usize, String>) {
        let (tracked, got) = on_tracker(
            tracked,
            "DepthTrackingSender::max_depth",
            "max_depth only returns what send noted",
            |tracked| tracked.max_depth(),
        );
        (
            tracked,
            got.map_err(|message| format!("max_depth() panicked: {message}")),
        )
    }

    /// Plays `steps` against a tracker over a queue of `capacity`, keeping a
    /// model of the queue (which items are in it, the most there ever were
    /// just after a put) and comparing after every step.
    fn play(script: &Script) -> Result<(), String> {
        let (capacity, steps) = (script.capacity, &script.steps);
        let (sender, receiver) = channel(capacity);
        // Items already waiting when the tracker wraps the sender: in the
        // queue (and in the model), but no depth the tracker has seen.
        let mut model: VecDeque<u64> = (0..script.waiting as u64).collect();
        for &item in &model {
            sender
                .send(item)
                .expect("the test's queue has room for what waits in it");
        }
        let mut receiver = Some(receiver);
        let mut tracked = DepthTrackingSender::new(sender);
        let mut peak = 0;
        let mut done: Vec<String> = vec![format!(
            "new() around a sender whose queue held {} item(s)",
            script.waiting
        )];
        let got;
        (tracked, got) = ask_max_depth(tracked);
        let got = got?;
        if got != 0 {
            return Err(format!(
                "a queue of capacity {capacity:?} held {} item(s) when DepthTrackingSender::new \
                 wrapped its sender; before any send, max_depth() is {got}, expected 0 — new \
                 starts with no depth seen: the depth is looked at just after each send, and \
                 none has happened yet",
                script.waiting
            ));
        }
        let room = |model: &VecDeque<u64>| capacity.is_none_or(|capacity| model.len() < capacity);
        for (number, step) in steps.iter().enumerate() {
            let item = 100 + number as u64;
            let story = |done: &[String]| {
                format!(
                    "a queue of capacity {capacity:?}, after {}",
                    lesson_support::shorten(&done.join(", "), 600)
                )
            };
            match step {
                Step::Close => {
                    if receiver.take().is_some() {
                        done.push("the receiver is dropped (the queue is closed)".into());
                        model.clear();
                    }
                }
                Step::Take => {
                    let (Some(inbox), Some(oldest)) = (&receiver, model.pop_front()) else {
                        continue;
                    };
                    done.push("the test takes an item".into());
                    match inbox.try_recv() {
                        Ok(got) if got == oldest => {}
                        Ok(got) => {
                            return Err(format!(
                                "{}: the test took item {got} from the queue, expected {oldest} — every item \
                                 sent goes in once, in order, and nothing else does",
                                story(&done)
                            ));
                        }
                        Err(_) => {
                            return Err(format!(
                                "{}: the queue is empty, but item {oldest} was sent and never arrived: send \
                                 puts the item in the queue (waiting for room), it never drops it",
                                story(&done)
                            ));
                        }
                    }
                }
                Step::Send if receiver.is_none() => {
                    done.push(format!("send({item}) into the closed queue"));
                    let outcome;
                    (tracked, outcome) = on_tracker(
                        tracked,
                        "DepthTrackingSender::send into a queue whose receiver is gone",
                        "a send with no receiver left fails at once; it must not wait",
                        move |tracked| tracked.send(item),
                    );
                    match outcome {
                        Ok(Err(SendError(back))) if back == item => {}
                        Ok(other) => {
                            return Err(format!(
                                "{}: send({item}) returned {other:?}; expected Err(SendError({item})) — a send \
                                 into a closed queue fails and hands the item back (`?` on Sender::send), \
                                 it does not report success",
                                story(&done)
                            ));
                        }
                        Err(message) => {
                            return Err(format!(
                                "{}: send({item}) panicked ({message}); expected Err(SendError({item})) — \
                                 return the error with `?`, so the caller gets the item back and decides",
                                story(&done)
                            ));
                        }
                    }
                }
                Step::Send if room(&model) => {
                    done.push(format!("send({item})"));
                    let outcome;
                    (tracked, outcome) = on_tracker(
                        tracked,
                        &format!("DepthTrackingSender::send({item}) into a queue with room"),
                        SEND_HINT,
                        move |tracked| tracked.send(item),
                    );
                    match outcome {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => {
                            return Err(format!(
                                "{}: send({item}) failed ({error:?}) although the queue had room and its \
                                 receiver was alive",
                                story(&done)
                            ));
                        }
                        Err(message) => {
                            return Err(format!(
                                "{}: send({item}) panicked: {message}",
                                story(&done)
                            ));
                        }
                    }
                    model.push_back(item);
                    peak = peak.max(model.len());
                }
                Step::Send => {
                    done.push(format!(
                        "send({item}) into the full queue, then the test takes an item"
                    ));
                    let sending = thread::spawn(move || {
                        let mut tracked = tracked;
                        let outcome = tracked.send(item);
                        (tracked, outcome)
                    });
                    // A send that does not wait returns within microseconds.
                    thread::sleep(ms(3));
                    if sending.is_finished() {
                        let (_, outcome) = join_finished(sending);
                        return Err(format!(
                            "{}: send({item}) returned {outcome:?} while the queue was full and nobody had \
                             taken an item. A send into a full queue waits until a consumer makes room — \
                             Sender::send, not try_send; it neither drops the item nor gives up",
                            story(&done)
                        ));
                    }
                    let inbox = receiver.as_ref().expect("the queue is open");
                    let taken = inbox.recv_timeout(BUDGET);
                    // Capacity 0 hands the item straight over.
                    let expected = model.pop_front().unwrap_or(item);
                    let (back, outcome) = join_all(
                        vec![sending],
                        "the send that waited for room",
                        "the test took an item out of the full queue: the waiting send must then finish",
                    )
                    .pop()
                    .expect("one send");
                    tracked = back;
                    if taken != Ok(expected) {
                        return Err(format!(
                            "{}: the test took {taken:?} from the queue, expected Ok({expected}) — every \
                             item sent goes in once, in order",
                            story(&done)
                        ));
                    }
                    if outcome != Ok(()) {
                        return Err(format!(
                            "{}: send({item}) returned {outcome:?} once the test had made room; expected \
                             Ok(())",
                            story(&done)
                        ));
                    }
                    if capacity != Some(0) {
                        model.push_back(item);
                    }
                    peak = peak.max(model.len());
                }
            }
            let got;
            (tracked, got) = ask_max_depth(tracked);
            let got = got?;
            if got != peak {
                return Err(format!(
                    "{}: max_depth() is {got}, expected {peak} — the most items the queue held just after \
                     a send, looked at with Sender::len() right after each send returned Ok, the largest \
                     kept. Not before the send (nor before it plus one: an item that waited for room was \
                     not in yet), not the latest look, not a look when max_depth() is asked, not the \
                     number of sends; a refused send changes nothing",
                    story(&done)
                ));
            }
        }
        if let Some(inbox) = receiver {
            let left: Vec<u64> = inbox.try_iter().collect();
            let expected: Vec<u64> = model.into_iter().collect();
            if left != expected {
                return Err(format!(
                    "a queue of capacity {capacity:?}, after {}: the queue holds {} at the end, expected {} — \
                     every item sent goes in once, in order",
                    lesson_support::shorten(&done.join(", "), 600),
                    preview(&left),
                    preview(&expected)
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn max_depth_is_the_peak_a_model_of_the_queue_sees_in_any_script() {
        oracle::check(48, scripts(), |script| play(&script));
    }
}

/// The chapter's section "A fast producer".
mod s3_a_fast_producer {
    use super::*;

    /// One call of `process`: which item, on which thread, when it started and
    /// when it ended.
    #[derive(Debug, Clone)]
    struct Call {
        item: u64,
        thread: ThreadId,
        started: Instant,
        ended: Instant,
    }

    /// What a run returned, what `process` saw, and the thread that called
    /// `fast_producer` (the producer).
    struct Run {
        seen: Observation,
        calls: Vec<Call>,
        producer: ThreadId,
    }

    /// A `process` that does `work` and then logs the call.
    fn logging(calls: &Log<Call>, work: impl Fn(u64) + Send + Sync + 'static) -> Process {
        let calls = calls.clone();
        Arc::new(move |item| {
            let started = Instant::now();
            work(item);
            calls.push(Call {
                item,
                thread: thread::current().id(),
                started,
                ended: Instant::now(),
            });
        })
    }

    /// Starts `fast_producer` on a thread of its own.
    fn start(
        items: u64,
        capacity: Option<usize>,
        consumers: usize,
        process: Process,
    ) -> thread::JoinHandle<Observation> {
        thread::Builder::new()
            .name("fast_producer".into())
            .spawn(move || fast_producer(items, capacity, consumers, process))
            .expect("the test could not start a thread")
    }

    /// Runs `fast_producer(items, capacity, consumers, …)` under the watchdog,
    /// with a `process` that runs `work` and then logs the call. On a hang, the
    /// failure says how far the consumers got — which tells a consumer that
    /// never started from one that never saw the queue close.
    #[track_caller]
    fn observe_run(
        items: u64,
        capacity: Option<usize>,
        consumers: usize,
        work: impl Fn(u64) + Send + Sync + 'static,
    ) -> Run {
        let calls: Log<Call> = Log::new();
        let run = start(items, capacity, consumers, logging(&calls, work));
        let producer = run.thread().id();
        let deadline = Instant::now() + BUDGET;
        while !run.is_finished() && Instant::now() < deadline {
            thread::sleep(ms(2));
        }
        if run.is_finished() {
            // A panic in fast_producer (a todo!() included) fails the test with its message.
            return Run {
                seen: join_finished(run),
                calls: calls.entries(),
                producer,
            };
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

    /// [`observe_run`] for the examples: the observation and the calls as
    /// (item, thread).
    #[track_caller]
    fn observe(
        items: u64,
        capacity: Option<usize>,
        consumers: usize,
        work: impl Fn(u64) + Send + Sync + 'static,
    ) -> (Observation, Vec<(u64, ThreadId)>) {
        let run = observe_run(items, capacity, consumers, work);
        let calls = run.calls.iter().map(|c| (c.item, c.thread)).collect();
        (run.seen, calls)
    }

    /// How many items each thread processed, sorted.
    fn counts_per_thread(calls: &[(u64, ThreadId)]) -> Vec<u64> {
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
            let (seen, calls) =
                observe(items, Some(capacity), consumers, |_| thread::sleep(ms(20)));
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

    // ------------------------------------------------------------ properties --

    /// Whether `items` fit in a queue of `capacity` with nobody taking any.
    fn fits(items: u64, capacity: Option<usize>) -> bool {
        capacity.is_none_or(|capacity| items <= capacity as u64)
    }

    /// A capacity drawn around the other parameters: none, 0, 1, 2, one below,
    /// equal to and one above the number of consumers and of items, large.
    fn capacity_around(items: u64, consumers: usize) -> impl Strategy<Value = Option<usize>> {
        let items = items as usize;
        let mut choices = vec![None, Some(0), Some(1), Some(2), Some(1_000)];
        for base in [consumers, items] {
            choices.extend([base.saturating_sub(1), base, base + 1].map(Some));
        }
        proptest::sample::select(choices)
    }

    /// A whole run's parameters: items from none to 30, consumers from none to
    /// six (none only where the items fit in the queue: nobody would make
    /// room), a capacity around them, and `process` pausing a few milliseconds
    /// on some items, so consumers meet a full queue, an empty one, and each other.
    fn runs() -> impl Strategy<Value = (u64, Option<usize>, usize, Script)> {
        (oracle::draw::count(30), 0usize..=6)
            .prop_flat_map(|(items, consumers)| {
                (
                    Just(items),
                    capacity_around(items, consumers),
                    Just(consumers),
                    proptest::collection::vec((0u64..31, 1u64..9), 0..4),
                )
            })
            .prop_map(|(items, capacity, consumers, pauses)| {
                let consumers = if fits(items, capacity) {
                    consumers
                } else {
                    consumers.max(1)
                };
                let script = pauses
                    .into_iter()
                    .fold(Script::new(), |script, (item, pause)| {
                        script.at(item, Act::Pause(ms(pause)))
                    });
                (items, capacity, consumers, script)
            })
    }

    /// What every run must report, whatever the counts, checked against the
    /// log of what really happened.
    fn check_run(
        items: u64,
        capacity: Option<usize>,
        consumers: usize,
        run: &Run,
    ) -> Result<(), String> {
        let name =
            format!("fast_producer({items} items, capacity {capacity:?}, {consumers} consumers)");
        let seen = &run.seen;
        let taken = if consumers == 0 { 0 } else { items };
        check_each_exactly_once(
            0..taken,
            run.calls.iter().map(|call| call.item),
            &format!(
                "{name}: items whose `process` had finished when fast_producer returned (join every consumer \
                 before returning)"
            ),
        )?;
        if let Some(call) = run.calls.iter().find(|call| call.thread == run.producer) {
            return Err(format!(
                "{name}: item {} was processed on the producer's own thread: the producer only sends; the \
                 `consumers` threads call `process`",
                call.item
            ));
        }
        if seen.per_consumer.len() != consumers {
            return Err(format!(
                "{name}: per_consumer is {:?}, {} entries: one entry per consumer asked for — even when a \
                 consumer got no item (it reports 0), even with no consumers at all. Start exactly \
                 `consumers` threads",
                seen.per_consumer,
                seen.per_consumer.len()
            ));
        }
        let mut per_thread: HashMap<ThreadId, u64> = HashMap::new();
        for call in &run.calls {
            *per_thread.entry(call.thread).or_default() += 1;
        }
        let mut really: Vec<u64> = per_thread.into_values().collect();
        really.resize(consumers.max(really.len()), 0);
        really.sort_unstable();
        let mut reported = seen.per_consumer.clone();
        reported.sort_unstable();
        if reported != really {
            return Err(format!(
                "{name}: per_consumer is {:?}, but the consumer threads processed {really:?} items (sorted; \
                 0 for a consumer that got none): each consumer counts the items it processed itself and \
                 returns that count from its thread",
                seen.per_consumer
            ));
        }
        let bound = capacity.map_or(items, |capacity| (capacity as u64).min(items));
        if seen.max_depth as u64 > bound {
            return Err(format!(
                "{name}: max_depth is {}, but the queue never held more than {bound} (its capacity, and the \
                 number of items): look at the queue's length right after each send — not before it plus \
                 one, not the number of sends — and build the queue with the capacity asked for",
                seen.max_depth
            ));
        }
        if consumers == 0 && seen.max_depth as u64 != items {
            return Err(format!(
                "{name}: max_depth is {}, but with no consumer nothing leaves the queue: after the last send \
                 it held all {items}",
                seen.max_depth
            ));
        }
        if seen.all_done < seen.producer_done {
            return Err(format!(
                "{name}: all_done ({:?}) is before producer_done ({:?}): the consumers cannot be finished \
                 before the last item was sent",
                seen.all_done, seen.producer_done
            ));
        }
        if let (Some(first), Some(last)) = (
            run.calls.iter().map(|call| call.started).min(),
            run.calls.iter().map(|call| call.ended).max(),
        ) {
            let busy = last.duration_since(first);
            if seen.all_done < busy {
                return Err(format!(
                    "{name}: all_done is {:?}, but the consumers were busy for {busy:?} from the first item \
                     to the end of the last: note all_done after joining every consumer",
                    seen.all_done
                ));
            }
        }
        Ok(())
    }

    #[test]
    fn every_run_accounts_for_every_item_whatever_the_counts() {
        oracle::check(40, runs(), |(items, capacity, consumers, pauses)| {
            let run = observe_run(items, capacity, consumers, move |item| {
                pauses.perform(item, &format!("process({item})"));
            });
            check_run(items, capacity, consumers, &run)
        });
    }

    /// How long the held consumers hold their items: long enough for a
    /// producer that needs microseconds to fill the queue. A depth short of
    /// what counting says is checked again with [`LONG_HOLD`] before it fails.
    const HOLD: Duration = Duration::from_millis(20);
    const LONG_HOLD: Duration = Duration::from_millis(400);

    /// A run whose consumers each hold their first item until the test lets
    /// go (after `hold`, once every consumer holds one).
    struct Held {
        run: Run,
        /// When the test let go.
        opened: Instant,
    }

    fn held_run(
        items: u64,
        capacity: Option<usize>,
        consumers: usize,
        hold: Duration,
    ) -> Result<Held, String> {
        let name =
            format!("fast_producer({items} items, capacity {capacity:?}, {consumers} consumers)");
        let gate = Gate::new();
        let calls: Log<Call> = Log::new();
        let process = {
            let gate = gate.clone();
            logging(&calls, move |_| gate.pass())
        };
        let running = start(items, capacity, consumers, process);
        let producer = running.thread().id();
        let held = consumers.min(items as usize);
        let returned = wait_for_or_exit(
            &running,
            &format!(
                "{held} consumers to be inside `process` at once, each holding one item, in {name} — start \
                 exactly `consumers` threads, all taking from the one queue"
            ),
            || gate.waiting() >= held,
        );
        if returned {
            let seen = join_finished(running); // a panic (a todo!() included) comes out here
            gate.open();
            return Err(format!(
                "{name} returned ({seen:?}) while {held} of its consumers were still inside `process`: join \
                 every consumer before returning"
            ));
        }
        thread::sleep(hold);
        let opened = Instant::now();
        gate.open();
        let seen = join_all(
            vec![running],
            &name,
            "once the consumers let go, the run must finish: send the rest, close the queue (drop the \
             sender), join every consumer",
        )
        .pop()
        .expect("one run");
        Ok(Held {
            run: Run {
                seen,
                calls: calls.entries(),
                producer,
            },
            opened,
        })
    }

    fn held_runs() -> impl Strategy<Value = (u64, Option<usize>, usize)> {
        (
            1usize..=4,
            prop_oneof![Just(None), (0usize..=5).prop_map(Some)],
        )
            .prop_flat_map(|(consumers, capacity)| {
                let full = consumers + capacity.unwrap_or(3);
                let items = prop_oneof![
                    oracle::draw::count(24),
                    proptest::sample::select(vec![
                        consumers.saturating_sub(1),
                        consumers,
                        full.saturating_sub(1),
                        full,
                        full + 1,
                        full + 5,
                    ])
                    .prop_map(|n| n as u64),
                ];
                (items, Just(capacity), Just(consumers))
            })
    }

    #[test]
    fn held_consumers_leave_the_queue_as_deep_as_counting_says() {
        // Every consumer takes one item and holds it; the producer then puts
        // the others into the queue until it is full. So the queue's deepest is
        // known by counting: the items not in hand, up to the capacity.
        oracle::check(16, held_runs(), |(items, capacity, consumers)| {
            let name = format!(
                "fast_producer({items} items, capacity {capacity:?}, {consumers} consumers)"
            );
            let in_hand = consumers.min(items as usize) as u64;
            let cap = capacity.map_or(u64::MAX, |capacity| capacity as u64);
            let most = cap.min(items);
            let least = cap.min(items - in_hand);
            let mut held = held_run(items, capacity, consumers, HOLD)?;
            if (held.run.seen.max_depth as u64) < least {
                // Not filled within HOLD on a busy machine? Once more, with time to spare.
                held = held_run(items, capacity, consumers, LONG_HOLD)?;
            }
            check_run(items, capacity, consumers, &held.run)?;
            let seen = &held.run.seen;
            if (seen.max_depth as u64) < least || seen.max_depth as u64 > most {
                return Err(format!(
                    "{name}: while the {in_hand} consumers each held one item, the producer put the other \
                     {} into the queue, until it held {least}: max_depth must be between {least} and {most}, \
                     but is {}. Look at the queue's length right after each send returned (not before it), \
                     keep the largest; a queue of capacity {capacity:?} holds no more than that",
                    items - in_hand,
                    seen.max_depth
                ));
            }
            let first = held.run.calls.iter().map(|call| call.started).min();
            if let Some(first) = first
                && items > in_hand.saturating_add(cap)
            {
                // The producer could send its last item only after a consumer let go.
                let least_done = held.opened.duration_since(first);
                if seen.producer_done < least_done {
                    return Err(format!(
                        "{name}: producer_done is {:?}, but the last item could not be sent before a consumer \
                         let go of its item, {least_done:?} after the first item was taken: the full queue \
                         makes the producer wait; note producer_done right after the last send returned",
                        seen.producer_done
                    ));
                }
            }
            Ok(())
        });
    }

    #[test]
    fn a_held_consumer_does_not_hold_up_the_others() {
        // While one consumer holds item 0, the others take every other item
        // from the one shared queue.
        let cases = (
            2usize..=4,
            prop_oneof![Just(None), (0usize..=3).prop_map(Some)],
        )
            .prop_flat_map(|(consumers, capacity)| {
                (
                    Just(consumers),
                    Just(capacity),
                    (2 * consumers as u64 + 1)..=24,
                )
            });
        oracle::check(8, cases, |(consumers, capacity, items)| {
            let name = format!(
                "fast_producer({items} items, capacity {capacity:?}, {consumers} consumers)"
            );
            let gate = Gate::new();
            let calls: Log<Call> = Log::new();
            let held = Script::new().at(0, Act::Hold(gate.clone()));
            let process = logging(&calls, move |item| held.perform(item, "process(0)"));
            let running = start(items, capacity, consumers, process);
            let others_done = wait_for_or_exit(
                &running,
                &format!(
                    "the other consumers to process every item but item 0 while one consumer holds it, in \
                     {name} — each consumer takes its next item from the one shared queue"
                ),
                || calls.len() as u64 == items - 1,
            );
            let while_held: Vec<u64> = calls.entries().iter().map(|call| call.item).collect();
            gate.open();
            if others_done {
                join_finished(running);
                return Err(format!(
                    "{name} returned while item 0 was still being processed: join every consumer before \
                     returning"
                ));
            }
            join_all(
                vec![running],
                &name,
                "once item 0 is let go, the run must finish",
            );
            check_each_exactly_once(
                1..items,
                while_held,
                &format!(
                    "{name}: items processed while one consumer held item 0 — the others must take every \
                     other item"
                ),
            )
        });
    }

    #[test]
    fn a_panic_in_process_comes_back_out_of_fast_producer() {
        // One consumer's `process` panics; the run must not return as if all
        // went well. (At least one consumer survives, or the queue has no
        // bound, so the producer is never left waiting for room.)
        let cases = (
            0u64..20,
            1usize..=4,
            prop_oneof![Just(None), (0usize..=4).prop_map(Some)],
        )
            .prop_map(|(panics_at, consumers, capacity)| {
                let consumers = if capacity.is_some() {
                    consumers.max(2)
                } else {
                    consumers
                };
                (panics_at, consumers, capacity)
            });
        oracle::check(12, cases, |(panics_at, consumers, capacity)| {
            let name =
                format!("fast_producer(20 items, capacity {capacity:?}, {consumers} consumers)");
            let fired = Log::new();
            let process: Process = {
                let fired = fired.clone();
                Arc::new(move |item| {
                    if item == panics_at && fired.is_empty() {
                        fired.push(item);
                        adversary::injected_panic(&format!("process({item})"));
                    }
                })
            };
            let outcome = finishes(
                &format!("{name} with a panic at item {panics_at}"),
                "a consumer that panicked is gone, the others go on: the producer still sends every item, \
                 closes the queue and joins every consumer",
                move || {
                    panic::catch_unwind(AssertUnwindSafe(|| {
                        fast_producer(20, capacity, consumers, process)
                    }))
                },
            );
            match outcome {
                // The run's own panic (a todo!() included) before `process`
                // ever panicked is not the injected one coming back.
                Err(payload) if fired.is_empty() => panic::resume_unwind(payload),
                Err(_) => Ok(()),
                Ok(seen) => Err(format!(
                    "{name}: `process` panicked on item {panics_at}, yet fast_producer returned normally \
                     (per_consumer {:?}): that item was lost in silence. A consumer's panic comes back from \
                     its `join()` as `Err` — pass it on (`.join().expect(\"a consumer panicked\")`), never \
                     drop it with `.ok()`, `unwrap_or(0)` or `let _ =`",
                    seen.per_consumer
                )),
            }
        });
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. A send into a full queue waits for
/// room however long a consumer takes, and loses nothing.
mod stall {
    use super::*;

    const HINT: &str = "a send that gives up after a while (send_timeout, a retry count, try_send in a loop \
        with a deadline) stops while the queue is still open: a slow consumer is not a gone one";

    /// `fast_producer` whose only consumer stalls on item 0 while the queue is
    /// full: the producer waits for the whole stall, and loses nothing.
    fn slow_consumer(capacity: usize) {
        let items = capacity as u64 + 4;
        let name = format!("fast_producer({items} items, capacity Some({capacity}), 1 consumer)");
        let calls: Log<(u64, Instant, Instant)> = Log::new();
        let process: Process = {
            let calls = calls.clone();
            Arc::new(move |item| {
                let started = Instant::now();
                if item == 0 {
                    thread::sleep(STALL);
                }
                calls.push((item, started, Instant::now()));
            })
        };
        let seen = finishes_within(STALL_BUDGET, &name, HINT, move || {
            fast_producer(items, Some(capacity), 1, process)
        });
        let calls = calls.entries();
        assert_each_exactly_once(
            0..items,
            calls.iter().map(|(item, ..)| *item),
            &format!(
                "{name}, whose consumer took {STALL:?} over item 0 while the queue was full: items given to \
                 `process` — the producer must wait for room, not give up or drop — {HINT}"
            ),
        );
        assert_eq!(
            seen.per_consumer,
            [items],
            "{name}: the one consumer processed all {items} items"
        );
        assert_eq!(
            seen.max_depth, capacity,
            "{name}: while the consumer stalled on item 0, the queue filled to its capacity {capacity}"
        );
        let (_, started, ended) = calls
            .iter()
            .find(|(item, ..)| *item == 0)
            .expect("item 0 was processed");
        let stalled = ended.duration_since(*started);
        assert!(
            seen.producer_done >= stalled,
            "{name}: producer_done is {:?}, but the producer could not send its last item before the consumer \
             finished item 0, {stalled:?} after taking it: it must wait for room ({HINT})",
            seen.producer_done
        );
    }

    /// `DepthTrackingSender::send` into a full queue (or a rendezvous) whose
    /// consumer comes back only after [`STALL`].
    fn send_to_a_slow_consumer(capacity: usize) {
        let (sender, receiver) = bounded(capacity);
        let waiting: Vec<u64> = (0..capacity as u64).collect();
        let taker = thread::spawn(move || {
            thread::sleep(STALL);
            let taken: Vec<u64> = (0..=capacity)
                .map(|_| receiver.recv_timeout(BUDGET).unwrap_or(u64::MAX))
                .collect();
            taken
        });
        let what = format!(
            "DepthTrackingSender::send(7) into a queue of capacity {capacity} (full) whose consumer comes \
             back after {STALL:?}"
        );
        let (outcome, depth) = finishes_within(STALL_BUDGET, &what, HINT, move || {
            let mut tracked = DepthTrackingSender::new(sender);
            for item in waiting {
                tracked
                    .send(item)
                    .expect("the queue has room and a receiver");
            }
            let outcome = tracked.send(7);
            (outcome, tracked.max_depth())
        });
        assert_eq!(
            outcome,
            Ok(()),
            "{what}: the send must wait for room and succeed — {HINT}"
        );
        let mut expected: Vec<u64> = (0..capacity as u64).collect();
        expected.push(7);
        let taken = join_all(
            vec![taker],
            "the slow consumer",
            "it takes what is in the queue",
        )
        .pop()
        .expect("one consumer");
        assert_eq!(
            taken, expected,
            "{what}: the consumer takes every item, the one that waited last — {HINT}"
        );
        assert_eq!(
            depth, capacity,
            "{what}: the queue was at most full ({capacity})"
        );
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "fast_producer, whose one consumer stalls while a queue of 2 is full",
                Box::new(|| slow_consumer(2)),
            ),
            (
                "fast_producer, whose one consumer stalls at a rendezvous (capacity 0)",
                Box::new(|| slow_consumer(0)),
            ),
            (
                "DepthTrackingSender::send into a full queue of 1 whose consumer stalls",
                Box::new(|| send_to_a_slow_consumer(1)),
            ),
            (
                "DepthTrackingSender::send at a rendezvous whose consumer stalls",
                Box::new(|| send_to_a_slow_consumer(0)),
            ),
            (
                "fast_producer, whose one consumer stalls on the last item, after everything is sent",
                Box::new(slow_last_item),
            ),
        ]);
    }

    /// `fast_producer` whose only consumer stalls on the last item, when
    /// everything has been sent: the run's own wait for its consumers (the
    /// join) meets the stall, and must outlast it with every item counted.
    fn slow_last_item() {
        const JOIN_HINT: &str = "the run returns only once every consumer has finished: join each \
            one, however long it takes (no deadline, no is_finished() poll that gives up) — a slow \
            consumer is not a gone one";
        let (items, capacity) = (4, 2);
        let last = items - 1;
        let name = format!("fast_producer({items} items, capacity Some({capacity}), 1 consumer)");
        let calls: Log<(u64, Instant, Instant)> = Log::new();
        let process: Process = {
            let calls = calls.clone();
            Arc::new(move |item| {
                let started = Instant::now();
                if item == last {
                    thread::sleep(STALL);
                }
                calls.push((item, started, Instant::now()));
            })
        };
        let seen = finishes_within(STALL_BUDGET, &name, JOIN_HINT, move || {
            fast_producer(items, Some(capacity), 1, process)
        });
        let calls = calls.entries();
        let story = format!(
            "{name}, whose consumer took {STALL:?} over item {last}, the last, when everything had been sent"
        );
        assert_eq!(
            seen.per_consumer,
            [items],
            "{story}: per_consumer must be [{items}] (the one consumer processed every item), got {:?} — \
             {JOIN_HINT}",
            seen.per_consumer
        );
        assert_each_exactly_once(
            0..items,
            calls.iter().map(|(item, ..)| *item),
            &format!(
                "{story}: items whose `process` had finished when fast_producer returned — {JOIN_HINT}"
            ),
        );
        let (_, started, ended) = calls
            .iter()
            .find(|(item, ..)| *item == last)
            .expect("the last item was processed");
        let stalled = ended.duration_since(*started);
        assert!(
            seen.all_done >= stalled,
            "{story}: all_done is {:?}, but the consumer spent {stalled:?} on item {last} alone: note \
             all_done after joining every consumer — {JOIN_HINT}",
            seen.all_done
        );
        assert!(
            seen.max_depth <= capacity,
            "{story}: max_depth is {}, more than the capacity {capacity}",
            seen.max_depth
        );
    }
}
