//! loom models of your `CondvarQueue`: tiny scenarios, every interleaving.
//! Run for you by `every_interleaving_of_put_get_and_close_is_right` in
//! tests/blocking_queue.rs (a nested build with `--cfg loom`).
//!
//! loom has no clock: under the model a timed wait whose deadline is ahead
//! (`AN_HOUR`) waits like an untimed one, and one whose deadline has passed
//! (`Duration::ZERO`) lets the other threads run once, then times out. Real
//! time is tested with real threads in tests/blocking_queue.rs.
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use lesson_09::{BlockingQueue, CondvarQueue, GetError, Notify, PutError};
use lesson_support::models::{check, thread};

const AN_HOUR: Duration = Duration::from_secs(3600);

/// Runs a model under both notification policies: the bugs differ between
/// them (an uncounted waiter only matters when notifies depend on the count).
fn each_policy(model: impl Fn(Notify)) {
    model(Notify::Always);
    model(Notify::WhenWaiting);
}

/// Starts a model thread that does `work` with its own handle on the queue.
fn spawn<T, R>(
    queue: &Arc<CondvarQueue<T>>,
    work: impl FnOnce(&CondvarQueue<T>) -> R + Send + 'static,
) -> thread::JoinHandle<R>
where
    T: Send + 'static,
    R: Send + 'static,
{
    let queue = Arc::clone(queue);
    thread::spawn(move || work(&queue))
}

// ---------------------------------------------------------------- takers --

// ANCHOR: two_takers
#[test]
fn two_takers_and_one_putter() {
    each_policy(|notify| {
        check(
            &format!(
                "two takers each get() once from an empty queue of capacity 2; \
                 one putter puts 2 items (Notify::{notify:?})"
            ),
            "a taker slept through an item meant for it. Does put() notify not_empty after \
             push_back — and, with Notify::WhenWaiting, is every taker counted in \
             waiting_takers before it waits? Is the item in the queue before the notify?",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(2, notify));
                let takers = [spawn(&queue, |q| q.get()), spawn(&queue, |q| q.get())];
                queue.put(1).unwrap();
                queue.put(2).unwrap();
                let mut got: Vec<Option<u32>> =
                    takers.into_iter().map(|t| t.join().unwrap()).collect();
                assert!(
                    !got.contains(&None),
                    "a taker's get() returned None although the queue was never closed \
                     (got {got:?}). In this interleaving a put woke it, but the other taker \
                     took the item first; the woken taker then found the queue empty and gave \
                     up. After waking, check again: wait in a `while` loop, not an `if`."
                );
                got.sort();
                assert_eq!(got, [Some(1), Some(2)], "each item exactly once");
            },
        );
    });
}
// ANCHOR_END: two_takers

#[test]
fn two_timed_takers_and_one_putter() {
    each_policy(|notify| {
        check(
            &format!(
                "two takers each get_timeout(1 h) once from an empty queue of capacity 2; \
                 one putter puts 2 items (Notify::{notify:?})"
            ),
            "a taker waiting in get_timeout slept through an item meant for it. With \
             Notify::WhenWaiting put() wakes only counted takers: count a taker in \
             waiting_takers on the timed path too, not only in the untimed wait.",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(2, notify));
                let takers = [
                    spawn(&queue, |q| q.get_timeout(AN_HOUR)),
                    spawn(&queue, |q| q.get_timeout(AN_HOUR)),
                ];
                queue.put(1).unwrap();
                queue.put(2).unwrap();
                let got: Vec<Result<u32, GetError>> =
                    takers.into_iter().map(|t| t.join().unwrap()).collect();
                assert!(
                    got.iter().all(Result::is_ok),
                    "a get_timeout(1 h) gave up long before its hour was up (got {got:?}). In \
                     this interleaving a put woke it, but the other taker took the item first; \
                     the woken taker found the queue empty and returned instead of waiting \
                     again. Waking is not timing out: loop, and return Empty only once the \
                     deadline has passed."
                );
                let mut got: Vec<u32> = got.into_iter().flatten().collect();
                got.sort();
                assert_eq!(got, [1, 2], "each item exactly once");
            },
        );
    });
}

// --------------------------------------------------------------- putters --

/// Two putters put one item each into a full queue of capacity 1 (holding 0),
/// through `put`; one taker gets all three items. Checks the capacity holds.
fn two_putters_at_capacity_one(
    notify: Notify,
    put: fn(&CondvarQueue<u32>, u32) -> Result<(), PutError<u32>>,
) {
    let queue = Arc::new(CondvarQueue::with_notify(1, notify));
    queue.put(0).unwrap();
    let putters = [
        spawn(&queue, move |q| put(q, 1)),
        spawn(&queue, move |q| put(q, 2)),
    ];
    let mut got = Vec::new();
    for _ in 0..2 {
        let waiting = queue.len();
        assert!(
            waiting <= 1,
            "a queue of capacity 1 held {waiting} items. In this interleaving a get woke a \
             waiting putter, but the other putter filled the room first; the woken putter \
             added its item anyway. After waking, check again: wait in a `while` loop, not \
             an `if` — and check for room and add the item under one lock, not two."
        );
        got.push(queue.get().expect("the queue is open"));
    }
    for putter in putters {
        let result = putter.join().unwrap();
        assert_eq!(
            result,
            Ok(()),
            "a put into an open queue failed although a taker made room for it. A put that \
             was woken and finds the queue full again must wait again, not give up: only a \
             passed deadline means Full."
        );
    }
    got.push(queue.get().expect("one item is left"));
    got.sort();
    assert_eq!(got, [0, 1, 2], "each item exactly once");
}

#[test]
fn two_putters_and_one_taker_at_capacity_one() {
    each_policy(|notify| {
        check(
            &format!(
                "a full queue of capacity 1; two putters put() one item each; one taker gets \
                 three times (Notify::{notify:?})"
            ),
            "a thread slept through the change it waited for. Does get() notify not_full \
             after taking an item — and, with Notify::WhenWaiting, is every putter counted in \
             waiting_putters? With ONE condvar for both sides, notify_one can wake a putter \
             when a taker needed waking (or the reverse): putters wait on not_full, takers on \
             not_empty.",
            move || two_putters_at_capacity_one(notify, |q, item| q.put(item)),
        );
    });
}

#[test]
fn two_timed_putters_and_one_taker_at_capacity_one() {
    each_policy(|notify| {
        check(
            &format!(
                "a full queue of capacity 1; two putters put_timeout(1 h) one item each; one \
                 taker gets three times (Notify::{notify:?})"
            ),
            "a putter waiting in put_timeout slept through the room meant for it. With \
             Notify::WhenWaiting get() wakes only counted putters: count a putter in \
             waiting_putters on the timed path too.",
            move || two_putters_at_capacity_one(notify, |q, item| q.put_timeout(item, AN_HOUR)),
        );
    });
}

#[test]
fn two_putters_into_an_empty_queue_of_one() {
    check(
        "an empty queue of capacity 1; two putters put one item each; one taker gets twice",
        "a thread slept through the change it waited for: get() must wake a waiting putter",
        || {
            let queue = Arc::new(CondvarQueue::new(1));
            let putters = [spawn(&queue, |q| q.put(1)), spawn(&queue, |q| q.put(2))];
            let mut got = Vec::new();
            for _ in 0..2 {
                let waiting = queue.len();
                assert!(
                    waiting <= 1,
                    "a queue of capacity 1 held {waiting} items. In this interleaving both \
                     putters saw room, and both added an item. Check for room and add the item \
                     under ONE lock: if you unlock in between, another putter can take the room."
                );
                got.push(queue.get().expect("the queue is open"));
            }
            for putter in putters {
                assert_eq!(putter.join().unwrap(), Ok(()));
            }
            got.sort();
            assert_eq!(got, [1, 2], "each item exactly once");
        },
    );
}

// ----------------------------------------------------------------- close --

#[test]
fn close_wakes_every_waiting_taker() {
    check(
        "on an empty queue one taker waits in get(), another in get_timeout(1 h); the main \
         thread closes the queue",
        "a taker slept through close(). close() must set `closed` under the lock FIRST, then \
         wake every waiting taker: notify_all on not_empty (notify_one wakes only one of them)",
        || {
            let queue = Arc::new(CondvarQueue::<u32>::new(1));
            let untimed = spawn(&queue, |q| q.get());
            let timed = spawn(&queue, |q| q.get_timeout(AN_HOUR));
            queue.close();
            assert_eq!(
                untimed.join().unwrap(),
                None,
                "a get on a closed, empty queue ends with None"
            );
            assert_eq!(
                timed.join().unwrap(),
                Err(GetError::Closed),
                "a get_timeout on a closed, empty queue is Closed — no item will ever come — \
                 not Empty"
            );
        },
    );
}

#[test]
fn close_wakes_every_waiting_putter_and_keeps_what_was_put() {
    check(
        "a full queue of capacity 1 holding item 0; one putter waits in put(1), another in \
         put_timeout(2, 1 h); the main thread closes the queue, then gets",
        "a putter slept through close(). close() must wake every waiting putter too: \
         notify_all on not_full as well as on not_empty",
        || {
            let queue = Arc::new(CondvarQueue::new(1));
            queue.put(0).unwrap();
            let untimed = spawn(&queue, |q| q.put(1));
            let timed = spawn(&queue, |q| q.put_timeout(2, AN_HOUR));
            queue.close();
            assert_eq!(
                untimed.join().unwrap(),
                Err(PutError::Closed(1)),
                "a put cut short by close is refused as Closed, its item handed back"
            );
            assert_eq!(
                timed.join().unwrap(),
                Err(PutError::Closed(2)),
                "a put_timeout cut short by close is Closed (not Full), its item handed back"
            );
            assert_eq!(
                queue.get(),
                Some(0),
                "the item put before close() was lost: a closed queue still hands out what it \
                 holds, and only then says it is closed"
            );
            assert_eq!(queue.get(), None, "closed and drained: None");
        },
    );
}

#[test]
fn close_after_the_last_put_delivers_everything() {
    each_policy(|notify| {
        check(
            &format!(
                "a queue of capacity 1; a taker gets until None; the main thread puts 2 items, \
                 then closes (Notify::{notify:?})"
            ),
            "the taker slept through close(). Set `closed` under the lock first and notify \
             after: a taker woken before the flag is set sees an open queue, waits again, and \
             nobody wakes it a second time",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(1, notify));
                let taker = spawn(&queue, |q| {
                    std::iter::from_fn(|| q.get()).collect::<Vec<u32>>()
                });
                queue.put(1).unwrap();
                queue.put(2).unwrap();
                queue.close();
                let got = taker.join().unwrap();
                assert_eq!(
                    got,
                    [1, 2],
                    "the taker got {got:?}: every item put before close() must be delivered, \
                     in order, before get() says None"
                );
            },
        );
    });
}

// -------------------------------------------------------------- timeouts --

#[test]
fn timeouts_of_zero_try_once_and_say_why() {
    check(
        "put_timeout(0) and get_timeout(0) on a full, an empty, a half-full and a closed queue",
        "the only thread waited for ever. A timed wait whose deadline has passed must return, \
         not wait again; and parking_lot's lock() on a lock this thread already holds (say, \
         calling self.len() inside put) waits for ever",
        || {
            let queue = CondvarQueue::new(2);
            assert_eq!(
                queue.get_timeout(Duration::ZERO),
                Err(GetError::Empty),
                "get_timeout(0) on an empty, open queue gives up: Empty"
            );
            assert_eq!(
                queue.put_timeout(1, Duration::ZERO),
                Ok(()),
                "put_timeout(0) into a queue with room puts at once: a passed deadline only \
                 matters when you would have to wait"
            );
            assert_eq!(
                queue.get_timeout(Duration::ZERO),
                Ok(1),
                "get_timeout(0) on a queue holding an item takes it: look for an item before \
                 looking at the clock"
            );
            queue.put(1).unwrap();
            queue.put(2).unwrap();
            assert_eq!(
                queue.put_timeout(3, Duration::ZERO),
                Err(PutError::Full(3)),
                "a put that times out is Full and hands its item back"
            );
            assert_eq!(queue.get_timeout(AN_HOUR), Ok(1));
            queue.close();
            assert_eq!(
                queue.put_timeout(4, Duration::ZERO),
                Err(PutError::Closed(4)),
                "a put into a closed queue is Closed, whatever its timeout"
            );
            assert_eq!(
                queue.get_timeout(Duration::ZERO),
                Ok(2),
                "a closed queue still hands out what it holds"
            );
            assert_eq!(
                queue.get_timeout(Duration::ZERO),
                Err(GetError::Closed),
                "get_timeout(0) on a closed, drained queue is Closed, not Empty: check \
                 `closed` before the clock"
            );
            assert_eq!(queue.get_timeout(AN_HOUR), Err(GetError::Closed));
        },
    );
}

// ------------------------------------------------------------ races --

#[test]
fn a_close_racing_a_timed_put_loses_nothing() {
    each_policy(|notify| {
        check(
            &format!(
                "a taker get_timeout(1 h)s until Closed on an empty queue of capacity 1; a putter \
                 put_timeout(7, 1 h)s; the main thread closes the queue at the same time \
                 (Notify::{notify:?})"
            ),
            "the taker slept through the put or the close: put() must wake a waiting taker \
             (counted in waiting_takers, timed or not), and close() must set `closed` under the \
             lock, then notify_all on both condvars",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(1, notify));
                let taker = spawn(&queue, |q| {
                    std::iter::from_fn(|| q.get_timeout(AN_HOUR).ok()).collect::<Vec<u32>>()
                });
                let putter = spawn(&queue, |q| q.put_timeout(7, AN_HOUR));
                queue.close();
                let put = putter.join().unwrap();
                let got = taker.join().unwrap();
                let expected: &[u32] = if put.is_ok() { &[7] } else { &[] };
                assert_eq!(
                    got, expected,
                    "put_timeout(7, 1 h) returned {put:?} and the taker got {got:?}: an item a \
                     put was told went in comes out before the queue says Closed; a refused one \
                     is handed back and never comes out"
                );
                if let Err(refused) = put {
                    assert_eq!(
                        refused,
                        PutError::Closed(7),
                        "a put refused because the queue closed is Closed (not Full), its item \
                         handed back"
                    );
                }
            },
        );
    });
}

#[test]
fn a_close_racing_a_waiting_put_loses_nothing() {
    each_policy(|notify| {
        check(
            &format!(
                "a full queue of capacity 1 holding item 0; a putter waits to put item 1; a taker \
                 gets until None; the main thread closes the queue at the same time \
                 (Notify::{notify:?})"
            ),
            "a thread slept through the change it waited for: get() must wake a waiting putter, \
             and close() must wake every waiter on both condvars, after setting `closed`",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(1, notify));
                queue.put(0).unwrap();
                let putter = spawn(&queue, |q| q.put(1));
                let taker = spawn(&queue, |q| {
                    std::iter::from_fn(|| q.get()).collect::<Vec<u32>>()
                });
                queue.close();
                let put = putter.join().unwrap();
                let got = taker.join().unwrap();
                let expected: &[u32] = if put.is_ok() { &[0, 1] } else { &[0] };
                assert_eq!(
                    got, expected,
                    "put(1) returned {put:?} and the taker got {got:?}: a put woken by close() \
                     must look at `closed` again and hand its item back, not add it to a closed \
                     queue after the taker has been told None"
                );
            },
        );
    });
}

#[test]
fn a_try_racing_a_put_or_a_get_loses_nothing() {
    each_policy(|notify| {
        check(
            &format!(
                "get_timeout(0) races a put() on an empty queue of capacity 1; then put_timeout(…, \
                 0) races a get() on a full one (Notify::{notify:?})"
            ),
            "a zero timeout must never wait for a wake-up: if there is no item (or no room) \
             when it looks, it gives up",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(1, notify));
                let putter = spawn(&queue, |q| q.put(1));
                let tried = queue.get_timeout(Duration::ZERO);
                putter.join().unwrap().unwrap();
                let left = queue.get_timeout(Duration::ZERO);
                assert!(
                    matches!(
                        (tried, left),
                        (Ok(1), Err(GetError::Empty)) | (Err(GetError::Empty), Ok(1))
                    ),
                    "get_timeout(0) racing a put returned {tried:?}, then get_timeout(0) once the \
                     put had returned {left:?}: one of them takes item 1, the other finds the \
                     queue empty"
                );

                queue.put(2).unwrap();
                let taker = spawn(&queue, |q| q.get());
                let tried = queue.put_timeout(3, Duration::ZERO);
                let first = taker.join().unwrap();
                assert_eq!(first, Some(2), "the only taker gets the oldest item, 2");
                let rest = queue.get_timeout(Duration::ZERO);
                match tried {
                    Ok(()) => assert_eq!(rest, Ok(3), "put_timeout(3, 0) went in, so 3 is there"),
                    Err(refused) => {
                        assert_eq!(
                            refused,
                            PutError::Full(3),
                            "a zero-timeout put on a full queue is Full, its item handed back"
                        );
                        assert_eq!(rest, Err(GetError::Empty), "put_timeout(3, 0) was refused");
                    }
                }
            },
        );
    });
}
