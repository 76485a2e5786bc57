//! Hostile time and order for the code under test: the *adversary* half of a
//! lesson's tests (the *oracle* half, `oracle`, checks what comes out).
//!
//! A wrong solution that passes friendly tests usually relies on something
//! friendly tests never do: a peer that pauses longer than a "safety" timeout,
//! a callback that panics, a receiver that goes away, one call much slower than
//! the rest. Rather than guess which mistake a learner makes, a test hands the
//! learner's code a peer that does these things and checks what must hold
//! whatever happens — nothing lost, nothing invented, every panic surfaced.
//!
//! - [`STALL`] is the one long pause: longer than any timeout a learner adds
//!   "so it can never hang". A lesson pays it once, in one test that stalls
//!   every kind of wait at the same time ([`concurrently`]).
//! - [`Act`] / [`Script`]: what an injected callback (a `process`, a `job`, a
//!   stage) does on each call — go on, pause, stall, panic, wait at a [`Gate`].
//! - [`injected_panic`] / [`is_injected`]: a panic the test can recognise when
//!   it comes back, so a test can check that it was not swallowed.
//! - [`close_races`]: a close that lands just as a waiter is about to sleep,
//!   thousands of times — the lost wake-up of a hand-made condvar queue.
//! - [`Tally`]: a source of items that counts what is taken from it, so a
//!   test sees how far ahead of its consumers a producer has read.

use std::collections::BTreeMap;
use std::panic;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::watchdog::{self, BUDGET};

mod close_race;
mod tally;

pub use close_race::{CloseRace, close_races};
pub use tally::Tally;

/// The one long pause. Learners who add a timeout "so it can never hang" pick
/// half a second to two seconds; a wait that gives up within this is wrong,
/// whatever its reason.
pub const STALL: Duration = Duration::from_millis(2_600);

/// The watchdog budget for a call that meets one [`STALL`]: the stall, plus the
/// usual budget for everything else.
pub const STALL_BUDGET: Duration = Duration::from_millis(2_600 + 5_000);

/// What the text of every panic the tests inject starts with.
pub const INJECTED: &str = "injected by the test";

/// Panics with a message that says it was injected, and what it was injected into.
#[track_caller]
pub fn injected_panic(at: &str) -> ! {
    panic::panic_any(format!("{INJECTED}: {at}"))
}

/// Whether `text` (a panic's message, an error string) carries an injected panic.
pub fn is_injected(text: &str) -> bool {
    text.contains(INJECTED)
}

/// What an injected callback does on one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Returns at once.
    Go,
    /// Sleeps this long, then returns.
    Pause(Duration),
    /// Sleeps for [`STALL`], then returns.
    Stall,
    /// Panics with an [`injected_panic`] naming the call.
    Panic,
    /// Waits until the gate opens (or [`BUDGET`] passes), then returns.
    Hold(Gate),
}

impl Act {
    /// Does it; `at` names the call in a panic's message ("process(item 3)").
    #[track_caller]
    pub fn perform(&self, at: &str) {
        match self {
            Act::Go => {}
            Act::Pause(pause) => thread::sleep(*pause),
            Act::Stall => thread::sleep(STALL),
            Act::Panic => injected_panic(at),
            Act::Hold(gate) => gate.pass(),
        }
    }
}

/// Which [`Act`] each call does, by a key the test chooses (an item, a call
/// number); every key not listed goes on at once.
#[derive(Debug, Clone, Default)]
pub struct Script {
    acts: BTreeMap<u64, Act>,
}

impl Script {
    /// A script where every call goes on at once.
    pub fn new() -> Self {
        Script::default()
    }

    /// Key `key` does `act`.
    #[must_use]
    pub fn at(mut self, key: u64, act: Act) -> Self {
        self.acts.insert(key, act);
        self
    }

    /// What key `key` does.
    pub fn act(&self, key: u64) -> &Act {
        self.acts.get(&key).unwrap_or(&Act::Go)
    }

    /// The keys that panic, in order.
    pub fn panics(&self) -> Vec<u64> {
        self.acts
            .iter()
            .filter(|(_, act)| **act == Act::Panic)
            .map(|(key, _)| *key)
            .collect()
    }

    /// Does key `key`'s act.
    #[track_caller]
    pub fn perform(&self, key: u64, at: &str) {
        self.act(key).perform(at);
    }
}

/// A gate that callbacks wait at until the test opens it: it puts the test in
/// charge of *when* something happens. A gate never keeps anyone longer than
/// [`BUDGET`], so a test that forgets to open it fails instead of hanging.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    state: Arc<(Mutex<GateState>, Condvar)>,
}

#[derive(Debug, Default)]
struct GateState {
    open: bool,
    waiting: usize,
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.state, &other.state)
    }
}

impl Eq for Gate {}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Gate::default()
    }

    /// Waits until the gate is open (at most [`BUDGET`]).
    pub fn pass(&self) {
        let (state, changed) = &*self.state;
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        state.waiting += 1;
        changed.notify_all();
        let deadline = Instant::now() + BUDGET;
        while !state.open {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.waiting -= 1;
    }

    /// Opens the gate: everyone waiting goes on, and so does everyone after.
    pub fn open(&self) {
        let (state, changed) = &*self.state;
        state.lock().unwrap_or_else(PoisonError::into_inner).open = true;
        changed.notify_all();
    }

    /// How many callers are waiting at the gate now.
    pub fn waiting(&self) -> usize {
        let (state, _) = &*self.state;
        state.lock().unwrap_or_else(PoisonError::into_inner).waiting
    }

    /// Waits (at most [`BUDGET`]) until `count` callers wait at the gate; fails
    /// the test with `what` otherwise.
    #[track_caller]
    pub fn wait_for(&self, count: usize, what: &str) {
        watchdog::wait_until(what, || self.waiting() >= count);
    }
}

/// A named scenario for [`concurrently`].
pub type Scenario<'a> = (&'a str, Box<dyn FnOnce() + Send>);

/// A scenario for [`concurrently`] whose name is made for the case
/// ("run_pool(200 items, 5 consumers)").
pub fn scenario(
    name: impl Into<String>,
    job: impl FnOnce() + Send + 'static,
) -> (String, Box<dyn FnOnce() + Send>) {
    (name.into(), Box::new(job))
}

/// Runs every `(name, job)` at the same time, each on a thread of its own, and
/// returns once all have finished — so several scenarios that each meet a
/// [`STALL`] pay for it once. A job's panic fails the test with its name (a
/// `&str` or a `String` made for the case).
#[track_caller]
pub fn concurrently<N: AsRef<str>>(jobs: Vec<(N, Box<dyn FnOnce() + Send>)>) {
    let started: Vec<_> = jobs
        .into_iter()
        .map(|(name, job)| {
            let name = name.as_ref().to_string();
            let thread = thread::Builder::new()
                .name(format!("scenario: {name}"))
                .spawn(job)
                .expect("the test could not start a thread");
            (name, thread)
        })
        .collect();
    let mut failures = Vec::new();
    for (name, thread) in started {
        if let Err(payload) = thread.join() {
            failures.push(format!(
                "{name}: {}",
                crate::panic_message(payload.as_ref())
            ));
        }
    }
    if !failures.is_empty() {
        panic!("{}", failures.join("\n\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_does_what_it_lists_and_goes_on_otherwise() {
        let script = Script::new()
            .at(2, Act::Panic)
            .at(3, Act::Pause(Duration::ZERO));
        assert_eq!(script.act(1), &Act::Go);
        assert_eq!(script.panics(), [2]);
        let outcome = panic::catch_unwind(|| script.perform(2, "process(item 2)"));
        let message = crate::panic_message(outcome.expect_err("act 2 panics").as_ref());
        assert!(is_injected(&message), "{message}");
        assert!(message.contains("process(item 2)"), "{message}");
    }

    #[test]
    fn a_gate_holds_its_callers_until_it_opens() {
        let gate = Gate::new();
        let waiter = {
            let gate = gate.clone();
            thread::spawn(move || gate.pass())
        };
        gate.wait_for(1, "the caller to reach the gate");
        assert!(!waiter.is_finished());
        gate.open();
        waiter.join().unwrap();
        gate.pass(); // an open gate lets everyone through at once
    }

    #[test]
    #[should_panic(expected = "second: it broke")]
    fn concurrently_names_the_scenario_that_failed() {
        concurrently(vec![
            ("first", Box::new(|| ())),
            ("second", Box::new(|| panic!("it broke"))),
        ]);
    }
}
