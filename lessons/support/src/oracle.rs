//! Oracles: every output a learner's function computes is checked against an
//! answer that is not the learner's code — a closed form, an invariant that
//! pins the answer down, a log of what really happened — for inputs drawn from
//! the *whole* domain, not only the round numbers a person would pick.
//!
//! A wrong solution that passes hand-picked examples is usually wrong at an
//! edge the examples never visit: zero, one, a parameter equal to or one past
//! another, a duration of nanoseconds or of several seconds, a rate that is
//! not a whole percent. [`draw`] makes such values common instead of rare, and
//! [`check`] runs a property over them with proptest — seeded, so a run is the
//! same every time, and shrinking a failure to the smallest input that shows it.
//!
//! Available with lesson-support's `oracle` feature (a lesson's tests turn it
//! on; the lesson's own code never needs proptest).

use std::cell::RefCell;
use std::fmt::Debug;
use std::time::{Duration, Instant};

pub use proptest;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

use crate::accounting::shorten;

/// The seed every property starts from: the same cases on every run and machine.
pub const SEED: u64 = 0x5eed_0f1a;

/// The longest a failing property spends looking for a smaller failing input.
const SHRINK_TIME: Duration = Duration::from_secs(6);

/// A failing case that took longer than this (a hang the watchdog gave up on,
/// say) ends the check with its own message: shrinking would run it again
/// and again, each time for as long.
const SLOW_FAILURE: Duration = Duration::from_secs(1);

/// Why a check stopped calling the learner's code early.
enum Stopped {
    /// A `todo!()`: the function is not written yet.
    NotWritten(String),
    /// A failure that took [`SLOW_FAILURE`] or more, and its input.
    Slow(String, String),
}

/// Checks `property` on `cases` inputs drawn from `strategy`; fails the test
/// with the property's message and the smallest failing input found.
///
/// The property returns `Err(message)` (or panics, as a `todo!()` or a
/// watchdog does) when the learner's answer differs from the oracle's. A
/// `todo!()` ends the check at once with its own message: there is nothing to
/// shrink about a function not written yet. A failure that was slow to show
/// (a hang) ends it too, with that input: shrinking it would cost a hang per try.
#[track_caller]
pub fn check<S>(cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), String>)
where
    S: Strategy,
    S::Value: Debug,
{
    let stopped = RefCell::new(None::<Stopped>);
    let mut runner = TestRunner::new(config(cases));
    let outcome = runner.run(&strategy, |input| {
        if stopped.borrow().is_some() {
            return Ok(()); // stop calling the learner's code; keep the first message
        }
        let shown = format!("{input:?}");
        let started = Instant::now();
        let message =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| property(input))) {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(message)) => message,
                Err(payload) => crate::panic_message(payload.as_ref()),
            };
        if message.contains("not yet implemented") {
            *stopped.borrow_mut() = Some(Stopped::NotWritten(message.clone()));
        } else if started.elapsed() >= SLOW_FAILURE {
            *stopped.borrow_mut() = Some(Stopped::Slow(message.clone(), shown));
        }
        Err(TestCaseError::fail(message))
    });
    match stopped.into_inner() {
        Some(Stopped::NotWritten(message)) => panic!("{message}"),
        Some(Stopped::Slow(message, input)) => {
            panic!("{message}\n  (for the input {})", shorten(&input, 600))
        }
        None => {}
    }
    match outcome {
        Ok(()) => {}
        Err(TestError::Fail(reason, input)) => panic!(
            "{}\n  (the smallest failing input found: {})",
            reason.message(),
            shorten(&format!("{input:?}"), 600)
        ),
        Err(TestError::Abort(reason)) => panic!("the property check stopped: {reason}"),
    }
}

/// Checks `property` on every one of `cases`, in order: the edges of a
/// domain crossed with each other, none left to the luck of a draw (a drawn
/// case reaches a given corner only now and then). Fails with the first case
/// that does not hold, named; a `todo!()` fails as itself.
#[track_caller]
pub fn each<T: Debug>(
    cases: impl IntoIterator<Item = T>,
    property: impl Fn(&T) -> Result<(), String>,
) {
    for case in cases {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| property(&case)));
        let message = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(message)) => message,
            Err(payload) => crate::panic_message(payload.as_ref()),
        };
        if message.contains("not yet implemented") {
            panic!("{message}");
        }
        panic!(
            "{message}\n  (for the input {})",
            shorten(&format!("{case:?}"), 600)
        );
    }
}

/// proptest's settings for a lesson: seeded, nothing written to disk, and a
/// failure shrunk for a few seconds at most — unless `PROPTEST_MAX_SHRINK_ITERS`
/// says otherwise (`cargo xtask verify` sets 0 for a known mistake, where only
/// "caught" counts).
pub fn config(cases: u32) -> Config {
    // Reads proptest's own PROPTEST_* variables.
    let from_env = Config::default();
    let max_shrink_iters = if std::env::var_os("PROPTEST_MAX_SHRINK_ITERS").is_some() {
        from_env.max_shrink_iters
    } else {
        256
    };
    Config {
        cases,
        rng_seed: RngSeed::Fixed(SEED),
        failure_persistence: None,
        max_shrink_iters,
        max_shrink_time: u32::try_from(SHRINK_TIME.as_millis()).unwrap_or(u32::MAX),
        max_global_rejects: 4096,
        ..from_env
    }
}

/// Strategies that make the edges of a domain common.
pub mod draw {
    use super::*;

    /// A count in `0..=max`, one time in two an edge: 0, 1, 2, `max - 1`, `max`.
    pub fn count(max: u64) -> impl Strategy<Value = u64> + Clone {
        let edges = vec![0, 1, 2.min(max), max.saturating_sub(1), max];
        prop_oneof![
            1 => proptest::sample::select(edges),
            1 => 0..=max,
        ]
    }

    /// A count in `lo..=hi` (`usize`), one time in two an edge: `lo`, `lo + 1`,
    /// `hi - 1`, `hi`.
    pub fn size(lo: usize, hi: usize) -> impl Strategy<Value = usize> + Clone {
        let edges = vec![lo, (lo + 1).min(hi), hi.saturating_sub(1).max(lo), hi];
        prop_oneof![
            1 => proptest::sample::select(edges),
            1 => lo..=hi,
        ]
    }

    /// `base - 1`, `base` or `base + 1` (never below `floor`): "one less, equal,
    /// one more" than another parameter.
    pub fn around(base: usize, floor: usize) -> impl Strategy<Value = usize> + Clone {
        proptest::sample::select(vec![
            base.saturating_sub(1).max(floor),
            base.max(floor),
            base + 1,
        ])
    }

    /// Any `u64` an item can carry: one time in three an edge (0, 1,
    /// `u32::MAX` and one past it, `u64::MAX - 1`, `u64::MAX`) — where a
    /// value taken for a marker ("no real item is ever this big"), a
    /// narrowing cast or an overflow goes wrong — one in three anything, and
    /// one in three a small number, so equal values are common too.
    pub fn value() -> impl Strategy<Value = u64> + Clone {
        let edges = vec![
            0,
            1,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        prop_oneof![
            1 => proptest::sample::select(edges),
            1 => any::<u64>(),
            1 => 0u64..1000,
        ]
    }

    /// A duration from nanoseconds to minutes: whole seconds, a second and a
    /// fraction, just under and just over a second, a few micro- or
    /// milliseconds, and exact zero — where `subsec_*`, whole-unit rounding and
    /// `as u32` casts go wrong.
    pub fn duration() -> impl Strategy<Value = Duration> + Clone {
        prop_oneof![
            Just(Duration::ZERO),
            (1u64..1_000).prop_map(Duration::from_nanos),
            (1u64..1_000_000).prop_map(Duration::from_nanos),
            (1u64..2_000_000_000).prop_map(Duration::from_nanos),
            (1u64..120, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (1u64..5_000).prop_map(Duration::from_secs),
            Just(Duration::from_nanos(999_999_999)),
            Just(Duration::from_nanos(1_000_000_001)),
        ]
    }

    /// Any `Duration` the type holds: mostly [`duration`]'s, and as often
    /// past 2^64 nanoseconds (about 584 years, where `as_nanos() as u64`
    /// wraps) up to `Duration::MAX` — for a function that only computes with
    /// its duration, whose contract holds for all of them.
    pub fn any_duration() -> impl Strategy<Value = Duration> + Clone {
        prop_oneof![
            3 => duration(),
            1 => (18_446_744_074u64..=u64::MAX, 0u32..1_000_000_000)
                .prop_map(|(s, n)| Duration::new(s, n)),
            1 => Just(Duration::MAX),
        ]
    }

    /// A probability in `[0, 1]`: the ends, values below a whole percent or
    /// one part in a thousand, and values that are not round.
    pub fn probability() -> impl Strategy<Value = f64> + Clone {
        prop_oneof![
            Just(0.0),
            Just(1.0),
            1e-9..0.01f64,
            0.99..1.0f64,
            0.0..=1.0f64,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree as _;

    #[test]
    fn a_property_that_holds_passes() {
        check(64, draw::count(10), |n| {
            if n <= 10 {
                Ok(())
            } else {
                Err(format!("{n} > 10"))
            }
        });
    }

    #[test]
    fn a_failure_names_the_smallest_input() {
        let outcome = std::panic::catch_unwind(|| {
            check(64, 0u64..1000, |n| {
                if n < 17 {
                    Ok(())
                } else {
                    Err(format!("{n} is too big"))
                }
            });
        });
        let message = crate::panic_message(outcome.expect_err("17 fails").as_ref());
        assert!(message.contains("17 is too big"), "{message}");
        assert!(
            message.contains("smallest failing input found: 17"),
            "{message}"
        );
    }

    #[test]
    fn a_todo_ends_the_check_with_its_own_message() {
        let calls = std::cell::Cell::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(64, 0u64..1000, |_| -> Result<(), String> {
                calls.set(calls.get() + 1);
                todo!("write me")
            });
        }));
        let message = crate::panic_message(outcome.expect_err("todo fails").as_ref());
        assert!(message.contains("write me"), "{message}");
        assert_eq!(calls.get(), 1, "unwritten code is called once");
    }

    #[test]
    fn a_slow_failure_is_not_shrunk() {
        let calls = std::cell::Cell::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(64, 0u64..1000, |n| {
                calls.set(calls.get() + 1);
                if n < 17 {
                    Ok(())
                } else {
                    std::thread::sleep(SLOW_FAILURE);
                    Err(format!("{n} hung"))
                }
            });
        }));
        let message = crate::panic_message(outcome.expect_err("a slow failure").as_ref());
        assert!(
            message.contains("hung") && message.contains("for the input"),
            "{message}"
        );
        let failing_calls = calls.get();
        assert!(
            failing_calls < 64,
            "no shrinking after a slow failure: {failing_calls} calls"
        );
    }

    #[test]
    fn the_edges_are_drawn() {
        let mut runner = TestRunner::new(config(1));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(draw::count(7).new_tree(&mut runner).unwrap().current());
        }
        for edge in [0, 1, 2, 6, 7] {
            assert!(seen.contains(&edge), "{edge} never drawn: {seen:?}");
        }
    }
}
