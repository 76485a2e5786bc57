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

#[test]
fn a_timed_waiter_is_woken_like_any_other() {
    check(
        "one item pending; one thread in wait_timeout(1 hour), one in \
         wait_timeout(Duration::MAX); the main thread calls done()",
        "the done() that brings the count to zero must wake the timed waiters too: every waiter \
         sleeps on the same condvar (if you count waiters, count the timed ones), and a timeout \
         too long for a deadline (Duration::MAX) waits as wait() does",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let waiters: Vec<_> = [Duration::from_secs(3600), Duration::MAX]
                .into_iter()
                .map(|timeout| {
                    let pending = Arc::clone(&pending);
                    thread::spawn(move || pending.wait_timeout(timeout))
                })
                .collect();
            pending.done();
            for waiter in waiters {
                assert!(
                    waiter.join().expect("a waiter panicked"),
                    "a wait_timeout whose deadline had not passed returned false once the last \
                     item was done: it answers whether nothing is pending"
                );
            }
        },
    );
}

#[test]
fn adds_and_dones_from_two_threads_add_up() {
    check(
        "one item pending; a thread calls add(2) and done() twice while the main thread calls \
         done()",
        "add and done each lock the count once: is the lock taken twice in one call?",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let worker = {
                let pending = Arc::clone(&pending);
                thread::spawn(move || {
                    pending.add(2);
                    pending.done();
                    pending.done();
                })
            };
            pending.done();
            worker
                .join()
                .expect("the thread calling add and done panicked");
            assert_eq!(
                pending.count(),
                0,
                "three items added, three done from two threads, yet the count is not zero: \
                 read and change the count under one lock, in one step (a count() then a \
                 separate lock() to store the new value loses the other thread's change)"
            );
        },
    );
}

#[test]
fn every_dead_letter_is_in_when_wait_returns() {
    check(
        "two items pending and a thread in wait(); two workers settle at once: one item's last \
         allowed attempt fails, the other item succeeds",
        "each settled item is done() once: the dead one after its letter is sent, the completed \
         one at once",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(2);
            let (retries, _retry_lane) = unbounded::<Item>();
            let (dead, dead_letters) = unbounded::<DeadLetter>();
            let waiter = {
                let pending = Arc::clone(&pending);
                thread::spawn(move || {
                    pending.wait();
                    dead_letters.try_recv().ok()
                })
            };
            let dying = {
                let (pending, retries, dead) =
                    (Arc::clone(&pending), retries.clone(), dead.clone());
                thread::spawn(move || {
                    let last = Item { id: 1, attempts: 1 };
                    settle(last, Err("gone".into()), 0, &pending, &retries, &dead)
                })
            };
            let settled = settle(
                Item { id: 2, attempts: 1 },
                Ok(()),
                0,
                &pending,
                &retries,
                &dead,
            );
            assert_eq!(settled, Settled::Completed, "a success is completed");
            assert_eq!(
                dying.join().expect("the settling thread panicked"),
                Settled::DeadLettered,
                "attempt 1 of 1 failed: dead"
            );
            assert_eq!(
                waiter.join().expect("the waiter panicked"),
                Some(DeadLetter {
                    id: 1,
                    attempts: 1,
                    error: "gone".into()
                }),
                "wait() returned, and item 1's dead letter was not in the channel. In this \
                 interleaving settle called done() for the dead item before sending its letter, \
                 the other item's done() brought the count to zero, and the run would have read \
                 the dead letters too soon. Send the dead letter first, then done()."
            );
        },
    );
}

#[test]
fn one_done_too_many_panics_with_its_message_whoever_calls_it() {
    check(
        "one item pending; two threads call done() at once",
        "done() locks the count once; a panic in done() must not leave the lock held",
        || {
            let pending = Arc::new(Pending::new());
            pending.add(1);
            let callers: Vec<_> = (0..2)
                .map(|_| {
                    let pending = Arc::clone(&pending);
                    thread::spawn(move || {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| pending.done()))
                            .err()
                            .map(|payload| lesson_support::panic_message(payload.as_ref()))
                    })
                })
                .collect();
            let panics: Vec<String> = callers
                .into_iter()
                .filter_map(|caller| caller.join().expect("a done() caller panicked"))
                .collect();
            assert!(
                panics.len() == 1 && panics[0].contains("Pending::done called more often than add"),
                "one item was pending and two threads called done() at once: exactly one of \
                 them must panic with \"Pending::done called more often than add\", yet {} — \
                 and the count is now {}. In this interleaving both done()s found the count \
                 above zero before either took it down: check and subtract under one lock, in \
                 one step",
                if panics.is_empty() {
                    "neither did".to_string()
                } else {
                    format!("the panics were {panics:?}")
                },
                pending.count()
            );
        },
    );
}
