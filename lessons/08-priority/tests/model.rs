//! loom models of your `PriorityQueue`: tiny scenarios, every interleaving.
//! Run for you by `every_interleaving_of_put_get_and_close_is_right` in
//! tests/priority.rs (a nested build with `--cfg loom`).
//!
//! A lost wake-up or an `if` that should be a `while` shows in some
//! interleavings only: real threads find it one run in a hundred, loom in
//! every run. The order of the heap is tested with real threads.
#![cfg(loom)]

use std::sync::Arc;

use lesson_08::{PriorityQueue, PutError};
use lesson_support::models::{check, thread};

/// Starts a model thread that does `work` with its own handle on the queue.
fn spawn<R: Send + 'static>(
    queue: &Arc<PriorityQueue<u32>>,
    work: impl FnOnce(&PriorityQueue<u32>) -> R + Send + 'static,
) -> thread::JoinHandle<R> {
    let queue = Arc::clone(queue);
    thread::spawn(move || work(&queue))
}

const IF_NOT_WHILE: &str = "After waking, check again: wait in a `while` loop, not an `if`";

// ANCHOR: two_takers
#[test]
fn two_takers_and_one_putter() {
    check(
        "two takers each get() once from an empty queue of capacity 2; one putter puts 2 items",
        "a taker slept through an item meant for it: after the push, put() must notify_one on \
         not_empty (the takers' condvar) — with the item already in the heap, under the same lock \
         that checked for room",
        || {
            let queue = Arc::new(PriorityQueue::new(2));
            let takers = [spawn(&queue, |q| q.get()), spawn(&queue, |q| q.get())];
            queue.put(1, 10).unwrap();
            queue.put(2, 20).unwrap();
            let mut got: Vec<Option<u32>> = takers.into_iter().map(|t| t.join().unwrap()).collect();
            assert!(
                !got.contains(&None),
                "a taker's get() returned None although the queue was never closed (got {got:?}). \
                 In this interleaving a put woke it, but the other taker took the item first; the \
                 woken taker then found the heap empty and gave up. {IF_NOT_WHILE}."
            );
            got.sort();
            assert_eq!(got, [Some(10), Some(20)], "each item exactly once");
        },
    );
}
// ANCHOR_END: two_takers

#[test]
fn two_takers_and_one_putter_whatever_the_priorities() {
    // The scenario above with the second item less urgent than the first, and
    // as urgent: what a put does for the takers must not hang on where its
    // item lands in the heap.
    for (first, second, order) in [(2, 1, "falling"), (1, 1, "equal")] {
        check(
            &format!(
                "two takers each get() once from an empty queue of capacity 2; one putter puts 2 \
                 items, priorities {first} then {second} ({order})"
            ),
            "a taker slept through an item meant for it: every put makes an item a sleeping \
             taker could take, whatever its priority — put() must notify_one on not_empty after \
             every push, not only when the new item is the most urgent",
            move || {
                let queue = Arc::new(PriorityQueue::new(2));
                let takers = [spawn(&queue, |q| q.get()), spawn(&queue, |q| q.get())];
                queue.put(first, 10).unwrap();
                queue.put(second, 20).unwrap();
                let mut got: Vec<Option<u32>> =
                    takers.into_iter().map(|t| t.join().unwrap()).collect();
                got.sort();
                assert_eq!(got, [Some(10), Some(20)], "each item exactly once");
            },
        );
    }
}

#[test]
fn two_putters_and_one_taker_at_capacity_one() {
    check(
        "a full queue of capacity 1; two putters put one item each; one taker gets three times",
        "a thread slept through the change it waited for. get() must notify_one on not_full \
         after the pop, and put() on not_empty after the push. With ONE condvar for both sides, \
         notify_one can wake a putter when the taker needed waking: putters wait on not_full, \
         takers on not_empty",
        || {
            let queue = Arc::new(PriorityQueue::new(1));
            queue.put(0, 0).unwrap();
            let putters = [
                spawn(&queue, |q| q.put(1, 1)),
                spawn(&queue, |q| q.put(2, 2)),
            ];
            let mut got = Vec::new();
            for _ in 0..2 {
                let held = queue.len();
                assert!(
                    held <= 1,
                    "a queue of capacity 1 held {held} items. In this interleaving a get woke a \
                     waiting putter, but the other putter filled the room first; the woken putter \
                     pushed anyway. {IF_NOT_WHILE} — and check for room and push under one lock, \
                     not two."
                );
                got.push(queue.get().expect("the queue is open"));
            }
            for putter in putters {
                assert_eq!(putter.join().unwrap(), Ok(()), "the queue stayed open");
            }
            got.push(queue.get().expect("one item is left"));
            got.sort();
            assert_eq!(got, [0, 1, 2], "each item exactly once");
        },
    );
}

#[test]
fn two_putters_into_an_empty_queue_of_one() {
    check(
        "an empty queue of capacity 1; two putters put one item each; one taker gets twice",
        "a thread slept through the change it waited for: get() must wake a waiting putter",
        || {
            let queue = Arc::new(PriorityQueue::new(1));
            let putters = [
                spawn(&queue, |q| q.put(1, 1)),
                spawn(&queue, |q| q.put(1, 2)),
            ];
            let mut got = Vec::new();
            for _ in 0..2 {
                let held = queue.len();
                assert!(
                    held <= 1,
                    "a queue of capacity 1 held {held} items. In this interleaving both putters \
                     saw room, and both pushed. Check for room and push under ONE lock: if you \
                     unlock in between, another putter can take the room."
                );
                got.push(queue.get().expect("the queue is open"));
            }
            for putter in putters {
                assert_eq!(putter.join().unwrap(), Ok(()), "the queue stayed open");
            }
            got.sort();
            assert_eq!(got, [1, 2], "each item exactly once");
        },
    );
}

#[test]
fn close_wakes_every_waiting_taker() {
    check(
        "two takers wait in get() on an empty queue; the main thread closes it",
        "a taker slept through close(). close() must set `closed` under the lock FIRST, then \
         wake every taker: notify_all on not_empty (notify_one wakes only one of them)",
        || {
            let queue = Arc::new(PriorityQueue::<u32>::new(1));
            let takers = [spawn(&queue, |q| q.get()), spawn(&queue, |q| q.get())];
            queue.close();
            for taker in takers {
                assert_eq!(
                    taker.join().unwrap(),
                    None,
                    "a get on a closed, empty queue ends with None"
                );
            }
        },
    );
}

#[test]
fn close_wakes_every_waiting_putter_and_keeps_what_was_put() {
    check(
        "a full queue of capacity 1 holding item 0; two putters wait to put 1 and 2; the main \
         thread closes the queue, then gets",
        "a putter slept through close(). close() must wake every waiting putter too: \
         notify_all on not_full as well as on not_empty",
        || {
            let queue = Arc::new(PriorityQueue::new(1));
            queue.put(5, 0).unwrap();
            let putters = [
                spawn(&queue, |q| q.put(1, 1)),
                spawn(&queue, |q| q.put(9, 2)),
            ];
            queue.close();
            let refused: Vec<_> = putters.into_iter().map(|p| p.join().unwrap()).collect();
            assert_eq!(
                refused,
                [Err(PutError::Closed(1)), Err(PutError::Closed(2))],
                "a put cut short by close is refused, its item handed back"
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
    check(
        "a queue of capacity 1; a taker gets until None; the main thread puts 2 items, then \
         closes",
        "the taker slept through close(). Set `closed` under the lock first and notify after: a \
         taker woken before the flag is set sees an open queue, waits again, and nobody wakes it \
         a second time",
        || {
            let queue = Arc::new(PriorityQueue::new(1));
            let taker = spawn(&queue, |q| {
                std::iter::from_fn(|| q.get()).collect::<Vec<u32>>()
            });
            queue.put(1, 1).unwrap();
            queue.put(1, 2).unwrap();
            queue.close();
            let got = taker.join().unwrap();
            assert_eq!(
                got,
                [1, 2],
                "the taker got {got:?}: every item put before close() must be delivered before \
                 get() says None"
            );
        },
    );
}

#[test]
fn a_close_racing_a_put_loses_nothing() {
    check(
        "a taker gets until None from an empty queue of capacity 1; a putter puts one item; the \
         main thread closes the queue at the same time",
        "the taker slept through the put or the close: put() must notify not_empty after the \
         push, and close() must set `closed` under the lock, then notify_all on both condvars",
        || {
            let queue = Arc::new(PriorityQueue::new(1));
            let taker = spawn(&queue, |q| {
                std::iter::from_fn(|| q.get()).collect::<Vec<u32>>()
            });
            let putter = spawn(&queue, |q| q.put(3, 7));
            queue.close();
            let put = putter.join().unwrap();
            let got = taker.join().unwrap();
            match put {
                Ok(()) => assert_eq!(
                    got,
                    [7],
                    "put(3, 7) returned Ok — the queue took item 7 before it closed — yet the \
                     taker's get() said None first: a closed queue hands out what it holds \
                     before it says None, and a put either goes in before the close or is refused"
                ),
                Err(refused) => {
                    assert_eq!(
                        refused,
                        PutError::Closed(7),
                        "a refused put hands its own item back"
                    );
                    assert_eq!(
                        got,
                        [],
                        "put(3, 7) was refused (closed), yet the taker got {got:?}: an item is \
                         either taken or handed back, never both"
                    );
                }
            }
            assert_eq!(queue.len(), 0, "nothing is left behind in a drained queue");
        },
    );
}

#[test]
fn a_close_racing_a_waiting_put_loses_nothing() {
    check(
        "a full queue of capacity 1 holding item 0; a putter waits to put item 1; a taker gets \
         until None; the main thread closes the queue at the same time",
        "a thread slept through the change it waited for: get() must notify not_full after the \
         pop, and close() must wake every waiter on both condvars, after setting `closed`",
        || {
            let queue = Arc::new(PriorityQueue::new(1));
            queue.put(2, 0).unwrap();
            let putter = spawn(&queue, |q| q.put(9, 1));
            let taker = spawn(&queue, |q| {
                std::iter::from_fn(|| q.get()).collect::<Vec<u32>>()
            });
            queue.close();
            let put = putter.join().unwrap();
            let got = taker.join().unwrap();
            let expected: &[u32] = if put.is_ok() { &[0, 1] } else { &[0] };
            assert_eq!(
                got, expected,
                "put(9, 1) returned {put:?} and the taker got {got:?}: an item a put was told \
                 went in must come out before get() says None — a put woken by close() must \
                 look at `closed` again and hand its item back, not push it into a closed queue"
            );
            if let Err(refused) = put {
                assert_eq!(
                    refused,
                    PutError::Closed(1),
                    "a refused put hands its own item back"
                );
            }
        },
    );
}
