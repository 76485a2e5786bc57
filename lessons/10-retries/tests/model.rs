//! loom models of your `Pending` and of how `settle` keeps it: tiny scenarios,
//! every interleaving. Run for you by `every_interleaving_of_pending_is_right`
//! in tests/retries.rs (a nested build with `--cfg loom`).
#![cfg(loom)]

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::unbounded;
use lesson_10::{DeadLetter, Item, Pending, Settled, settle};
use lesson_support::models::{check, thread};
// The model's own flags are loom's atomics too, so loom can let the other
// threads run between setting one and the next step.
use lesson_support::sync::std::atomic::{AtomicBool, Ordering};

#[test]
fn the_last_done_wakes_every_waiter() {
    check(
        "one item pending; two threads wait(); the main thread calls done()",
        "the done() that brings the count to zero must wake every waiter — notify_all, not \
         notify_one — and a waiter must check the count and go to sleep under one lock, so the \
         wake-up cannot slip in between",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let pending = Arc::clone(&pending);
                    thread::spawn(move || pending.wait())
                })
                .collect();
            pending.done();
            for waiter in waiters {
                waiter.join().expect("a waiter panicked");
            }
        },
    );
}

#[test]
fn wait_returns_only_when_the_count_is_zero() {
    check(
        "two items pending and a thread in wait(); the main thread calls done() twice",
        "the last done() must wake the waiter (notify_all when the count reaches zero)",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(2);
            let last_done_started = Arc::new(AtomicBool::new(false));
            let waiter = {
                let (pending, last_done_started) =
                    (Arc::clone(&pending), Arc::clone(&last_done_started));
                thread::spawn(move || {
                    pending.wait();
                    last_done_started.load(Ordering::SeqCst)
                })
            };
            pending.done();
            last_done_started.store(true, Ordering::SeqCst);
            pending.done();
            assert!(
                waiter.join().expect("the waiter panicked"),
                "wait() returned after the first done(), with an item still pending. In this \
                 interleaving a done() woke the waiter before the count reached zero, and the \
                 waiter returned without looking at the count again. After waking, check \
                 again: wait in a `while` loop, not an `if` (and only the done() that reaches \
                 zero needs to wake anyone)."
            );
        },
    );
}

#[test]
fn timeouts_of_zero_answer_at_once() {
    check(
        "wait_timeout(0) with one item pending, then with none",
        "a timed wait whose deadline has passed must return false, not wait again",
        || {
            let pending = Pending::new();
            assert!(
                pending.wait_timeout(Duration::ZERO),
                "wait_timeout with nothing pending returns true"
            );
            pending.add(1);
            assert!(
                !pending.wait_timeout(Duration::ZERO),
                "wait_timeout(0) with an item pending returns false: the time is up and the \
                 work is not done"
            );
            pending.done();
            assert!(
                pending.wait_timeout(Duration::ZERO),
                "wait_timeout(0) after the last done() returns true"
            );
        },
    );
}

#[test]
fn a_retry_keeps_the_item_pending_until_it_succeeds() {
    check(
        "one item pending and a thread in wait(); a worker settles a failed first attempt \
         (max_retries 1), takes the retry from the lane, and settles its success",
        "the count never reached zero: a retry keeps the item's one place in the count — \
         neither done() nor add() for it — and the success is done()",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let finished = Arc::new(AtomicBool::new(false));
            let waiter = {
                let (pending, finished) = (Arc::clone(&pending), Arc::clone(&finished));
                thread::spawn(move || {
                    pending.wait();
                    finished.load(Ordering::SeqCst)
                })
            };
            let (retries, retry_lane) = unbounded();
            let (dead, _dead_letters) = unbounded::<DeadLetter>();
            let first = Item { id: 4, attempts: 1 };
            let settled = settle(first, Err("busy".into()), 1, &pending, &retries, &dead);
            assert_eq!(settled, Settled::Retried, "attempt 1 of 2 failed: retry it");
            let retry = retry_lane.try_recv().expect("the retry is on the lane");
            let second = Item {
                attempts: retry.attempts + 1,
                ..retry
            };
            finished.store(true, Ordering::SeqCst);
            settle(second, Ok(()), 1, &pending, &retries, &dead);
            assert!(
                waiter.join().expect("the waiter panicked"),
                "wait() returned while the retry was still to run. In this interleaving settle \
                 called done() for the failed attempt and add(1) for its retry, and the waiter \
                 saw the count at zero in between. A retried item stays pending: neither \
                 done() nor add() for a retry."
            );
            assert_eq!(pending.count(), 0, "the success settled the item");
        },
    );
}

#[test]
fn a_dead_letter_ends_the_wait() {
    check(
        "one item pending and a thread in wait(); a worker settles the item's last allowed \
         attempt (attempt 2, max_retries 1), which fails",
        "a dead-lettered item is finished for good: settle must call done() for it, once its \
         dead letter is sent",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let waiter = {
                let pending = Arc::clone(&pending);
                thread::spawn(move || pending.wait())
            };
            let (retries, retry_lane) = unbounded();
            let (dead, dead_letters) = unbounded::<DeadLetter>();
            let last = Item { id: 9, attempts: 2 };
            let settled = settle(last, Err("gone".into()), 1, &pending, &retries, &dead);
            assert_eq!(
                settled,
                Settled::DeadLettered,
                "attempt 2 of 2 failed: dead"
            );
            waiter.join().expect("the waiter panicked");
            assert!(
                retry_lane.try_recv().is_err(),
                "nothing is retried past max_retries"
            );
            assert_eq!(
                dead_letters.try_recv().ok(),
                Some(DeadLetter {
                    id: 9,
                    attempts: 2,
                    error: "gone".into()
                }),
                "a dead letter keeps the item's id, its attempts and its last error"
            );
        },
    );
}
