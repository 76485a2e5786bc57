//! A close that lands while a waiter is between looking at the queue and
//! going to sleep — the lost wake-up of a hand-made condvar queue, raced
//! thousands of times rather than hoped for.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::watchdog::{finishes, join_all, join_finished};

/// A close that meets a waiting call, raced many times: see [`close_races`].
pub struct CloseRace<Q, R> {
    /// How many trials at most, each on a fresh queue.
    pub trials: usize,
    /// Makes trial `n`'s queue (empty for a get, full for a put).
    pub make: fn(usize) -> Q,
    /// Closes a queue.
    pub close: fn(&Q),
    /// The waiting call, for messages: "get() on an empty queue".
    pub what: &'static str,
    /// The waiting call, on trial `n`'s queue.
    pub wait: fn(&Q, usize) -> R,
    /// What the call must return on trial `n`, once the queue is closed.
    pub expected: fn(usize) -> R,
    /// How long to go on racing: a busy machine gets through fewer trials.
    pub racing: Duration,
    /// How long one call may take to see its close.
    pub call_budget: Duration,
    /// The lesson's advice when a call sleeps through the close.
    pub wake_all: &'static str,
    /// The lesson's advice when `close()` itself waits.
    pub no_wait: &'static str,
}

/// `trials` times over: a fresh queue; a thread calls `wait` on it just as
/// the test's thread calls `close` — a little later each time, so that some
/// closes land while `wait` is between looking at the queue and going to
/// sleep. Every call must return `expected`; one that never returns slept
/// through the close. The waiting thread is reused from trial to trial, so
/// thousands of trials take a fraction of a second.
pub fn close_races<Q, R>(race: CloseRace<Q, R>) -> Result<(), String>
where
    Q: Send + Sync + 'static,
    R: Debug + PartialEq + Send + 'static,
{
    finishes(
        &format!("{} closes, each meeting a {}", race.trials, race.what),
        &format!("close() itself should never wait: {}", race.no_wait),
        move || race_closes(race),
    )
}

fn race_closes<Q, R>(race: CloseRace<Q, R>) -> Result<(), String>
where
    Q: Send + Sync + 'static,
    R: Debug + PartialEq + Send + 'static,
{
    let CloseRace {
        trials,
        what,
        wake_all,
        ..
    } = race;
    let queues: Arc<Vec<Q>> = Arc::new((0..trials).map(race.make).collect());
    // Trials started by the test's thread, and trials whose call returned.
    let go = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (queues, go, done, wait) = (
            Arc::clone(&queues),
            Arc::clone(&go),
            Arc::clone(&done),
            race.wait,
        );
        thread::spawn(move || {
            let mut results = Vec::with_capacity(queues.len());
            for (trial, queue) in queues.iter().enumerate() {
                let mut spins = 0u32;
                while go.load(Ordering::Acquire) <= trial {
                    pause(&mut spins);
                }
                results.push(wait(queue, trial));
                done.store(trial + 1, Ordering::Release);
            }
            results
        })
    };
    let began = Instant::now();
    let mut tried = 0;
    for (trial, queue) in queues.iter().enumerate() {
        // On a quiet machine every trial; on a busy one as many as fit.
        if began.elapsed() > race.racing {
            break;
        }
        tried += 1;
        go.store(trial + 1, Ordering::Release);
        // The waiter looks at the queue within a microsecond or so: close
        // at a slightly different moment each time, from at once to ~2 µs.
        for _ in 0..trial % 64 {
            std::hint::spin_loop();
        }
        (race.close)(queue);
        let started = Instant::now();
        let mut spins = 0u32;
        while done.load(Ordering::Acquire) <= trial {
            if waiter.is_finished() {
                join_finished(waiter); // its panic (a todo!() included)
                return Err(format!("the {what} ended its thread without returning"));
            }
            if started.elapsed() > race.call_budget {
                return Err(format!(
                    "the {what} never returned: in trial {trial} of {trials}, close() came just \
                     as it was about to wait, and it slept through the close. {wake_all} — \
                     `closed` is part of what the waiters check, so it lives under the mutex they \
                     hold between checking and sleeping (not in an atomic of its own): set it \
                     with the lock held, or a waiter can check, miss it, and sleep through the \
                     notify"
                ));
            }
            pause(&mut spins);
        }
    }
    // Let the waiter through the trials not tried, on closed queues.
    for queue in &queues[tried..] {
        (race.close)(queue);
    }
    go.store(trials, Ordering::Release);
    let results = join_all(vec![waiter], "the waiting thread", wake_all).remove(0);
    for (trial, got) in results[..tried].iter().enumerate() {
        let want = (race.expected)(trial);
        if *got != want {
            return Err(format!(
                "the {what} returned {got:?} in trial {trial}, when close() came just as it was \
                 about to wait; the contract: {want:?}"
            ));
        }
    }
    Ok(())
}

/// Spins a little, then lets other threads run: a busy-wait that stays
/// quick when the machine is idle and does not starve it when it is not.
fn pause(spins: &mut u32) {
    *spins += 1;
    if *spins < 200 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}
