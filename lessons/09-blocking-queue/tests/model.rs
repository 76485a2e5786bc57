//! loom models of your `CondvarQueue`: tiny scenarios, every interleaving.
//! Run for you by `every_interleaving_of_put_get_and_close_is_right` in
//! tests/blocking_queue.rs (a nested build with `--cfg loom`).
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use lesson_09::{BlockingQueue, CondvarQueue, GetError, Notify, PutError};
use lesson_support::models::{check, thread};

const AN_HOUR: Duration = Duration::from_secs(3600);

/// Both notification policies: the bugs differ between them.
fn each_policy(model: impl Fn(Notify)) {
    model(Notify::Always);
    model(Notify::WhenWaiting);
}

#[test]
fn two_takers_and_one_putter() {
    each_policy(|notify| {
        check(
            "two takers each get() once from an empty queue of capacity 2; one putter puts 2 items",
            "a put that does not wake a waiting taker (or a taker not counted as waiting)",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(2, notify));
                let takers: Vec<_> = (0..2)
                    .map(|_| {
                        let queue = Arc::clone(&queue);
                        thread::spawn(move || queue.get())
                    })
                    .collect();
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

#[test]
fn two_putters_and_one_taker_at_capacity_one() {
    each_policy(|notify| {
        check(
            "a full queue of capacity 1; two putters put one item each; one taker gets twice",
            "a get that does not wake a waiting putter (or a putter not counted as waiting)",
            move || {
                let queue = Arc::new(CondvarQueue::with_notify(1, notify));
                queue.put(0).unwrap();
                let putters: Vec<_> = [1, 2]
                    .into_iter()
                    .map(|item| {
                        let queue = Arc::clone(&queue);
                        thread::spawn(move || queue.put(item))
                    })
                    .collect();
                let mut got = Vec::new();
                for _ in 0..2 {
                    let waiting = queue.len();
                    assert!(
                        waiting <= 1,
                        "a queue of capacity 1 held {waiting} items. In this interleaving a get \
                         woke a waiting putter, but the other putter filled the room first; the \
                         woken putter added its item anyway. After waking, check again: wait in \
                         a `while` loop, not an `if`."
                    );
                    got.push(queue.get().expect("the queue is open"));
                }
                for putter in putters {
                    assert_eq!(putter.join().unwrap(), Ok(()));
                }
                got.push(queue.get().expect("one item is left"));
                got.sort();
                assert_eq!(got, [0, 1, 2], "each item exactly once");
            },
        );
    });
}

#[test]
fn close_wakes_every_waiting_taker() {
    check(
        "two takers wait on an empty queue; the main thread closes it",
        "close() must wake every waiting thread: notify_all on both condvars, not notify_one",
        || {
            let queue = Arc::new(CondvarQueue::<u32>::new(1));
            let takers: Vec<_> = (0..2)
                .map(|_| {
                    let queue = Arc::clone(&queue);
                    thread::spawn(move || queue.get())
                })
                .collect();
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
fn timeouts_of_zero_give_up_and_hand_the_item_back() {
    check(
        "put_timeout(0) on a full queue and get_timeout(0) on an empty one",
        "a timed wait whose deadline has passed must return, not wait again",
        || {
            let queue = CondvarQueue::new(1);
            assert_eq!(queue.get_timeout(Duration::ZERO), Err(GetError::Empty));
            queue.put(1).unwrap();
            assert_eq!(
                queue.put_timeout(2, Duration::ZERO),
                Err(PutError::Full(2)),
                "a put that times out is Full and hands its item back"
            );
            assert_eq!(queue.get_timeout(AN_HOUR), Ok(1));
        },
    );
}
