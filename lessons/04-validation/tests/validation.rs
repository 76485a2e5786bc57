//! Lesson 04 — refuse bad settings before any thread starts. Every run is
//! watched: a hang fails the test with the likely cause instead of freezing
//! your terminal.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then properties: the same check over many drawn
//! inputs — every kind of `f64` (NaN of either sign, -0.0, the smallest
//! subnormal, the values just inside and just outside each bound, the largest
//! finite, the infinities), counts from 0 to their type's largest, several
//! settings wrong at once — against the rule written out in this file, not
//! against your code. Last, `stall`: every wait meets a peer that goes quiet
//! for seconds, longer than any "safety" timeout.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use lesson_04::{ConfigError, Process, SimConfig, make_queue, run, run_on};
use lesson_support::adversary::{self, Act, Gate, STALL, STALL_BUDGET, Script};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    Log, Overlap, Waited, assert_each_exactly_once, check_each_exactly_once, finishes,
    finishes_within, join_all, join_all_within, join_finished, wait_briefly,
};

fn valid() -> SimConfig {
    SimConfig {
        items: 50,
        consumers: 3,
        capacity: 5,
        processing_time_s: 0.001,
        failure_rate: 0.1,
    }
}

fn recording(log: &Log<u64>) -> Process {
    let log = log.clone();
    Arc::new(move |item| log.push(item))
}

/// The real `make_queue`, noting every capacity it is asked for.
fn recording_maker() -> (Log<usize>, impl FnOnce(usize) -> Queue + Send + 'static) {
    let asked = Log::new();
    let noted = asked.clone();
    let maker = move |capacity| {
        noted.push(capacity);
        make_queue(capacity)
    };
    (asked, maker)
}

/// What `make_queue` builds.
type Queue = (Sender<u64>, Receiver<u64>);

/// `validated(&config)`, under the watchdog.
#[track_caller]
fn validated(config: &SimConfig) -> Result<(), ConfigError> {
    let config = config.clone();
    finishes(
        "config.validate()",
        "validate only compares numbers: it has nothing to wait for",
        move || config.validate(),
    )
}

const HANG: &str = "with no consumer, nothing drains the queue and the producer waits forever on a full one. \
     Validate before starting any thread.";

const JOIN: &str =
    "close the queue (drop the Sender) once every item is sent, then join the consumers";

// ---------------------------------------------------------------------------
// The oracle: the rule of the doc comments, written out here.
// ---------------------------------------------------------------------------

/// Whether `value` is in `[low, high]`, ends included, as IEEE 754 compares:
/// NaN is in no range, and -0.0 equals 0.0.
fn within(value: f64, low: f64, high: f64) -> bool {
    matches!(
        value.partial_cmp(&low),
        Some(Ordering::Greater | Ordering::Equal)
    ) && matches!(
        value.partial_cmp(&high),
        Some(Ordering::Less | Ordering::Equal)
    )
}

/// Every problem of `config`, in the order `validate` checks them: the
/// consumers, then the failure rate, then the processing time.
fn problems(config: &SimConfig) -> Vec<ConfigError> {
    let mut found = Vec::new();
    if config.consumers == 0 {
        found.push(ConfigError::NoConsumers);
    }
    if !within(config.failure_rate, 0.0, 1.0) {
        found.push(ConfigError::FailureRateOutOfRange(config.failure_rate));
    }
    // Finite and not negative: from 0 up to the largest finite f64.
    if !within(config.processing_time_s, 0.0, f64::MAX) {
        found.push(ConfigError::InvalidProcessingTime(config.processing_time_s));
    }
    found
}

/// What `validate` must answer: the first problem, or `Ok`.
fn rule(config: &SimConfig) -> Result<(), ConfigError> {
    problems(config).into_iter().next().map_or(Ok(()), Err)
}

/// Two errors are the same when they name the same setting and carry the very
/// same value, bit for bit (a NaN is not equal to itself under `==`).
fn same_error(a: &ConfigError, b: &ConfigError) -> bool {
    match (a, b) {
        (ConfigError::NoConsumers, ConfigError::NoConsumers) => true,
        (ConfigError::FailureRateOutOfRange(x), ConfigError::FailureRateOutOfRange(y))
        | (ConfigError::InvalidProcessingTime(x), ConfigError::InvalidProcessingTime(y)) => {
            x.to_bits() == y.to_bits()
        }
        _ => false,
    }
}

fn same(a: &Result<(), ConfigError>, b: &Result<(), ConfigError>) -> bool {
    match (a, b) {
        (Ok(()), Ok(())) => true,
        (Err(a), Err(b)) => same_error(a, b),
        _ => false,
    }
}

/// A value as a reader needs it: a NaN with its sign and bits.
fn shown(value: f64) -> String {
    if value.is_nan() {
        format!(
            "{}NaN (bits {:#018x})",
            if value.is_sign_negative() { "-" } else { "" },
            value.to_bits()
        )
    } else {
        format!("{value:?}")
    }
}

fn shown_error(error: &ConfigError) -> String {
    match error {
        ConfigError::NoConsumers => "NoConsumers".to_string(),
        ConfigError::FailureRateOutOfRange(rate) => {
            format!("FailureRateOutOfRange({})", shown(*rate))
        }
        ConfigError::InvalidProcessingTime(time) => {
            format!("InvalidProcessingTime({})", shown(*time))
        }
    }
}

fn shown_result(result: &Result<(), ConfigError>) -> String {
    match result {
        Ok(()) => "Ok(())".to_string(),
        Err(error) => format!("Err({})", shown_error(error)),
    }
}

fn shown_config(config: &SimConfig) -> String {
    format!(
        "SimConfig {{ items: {}, consumers: {}, capacity: {}, processing_time_s: {}, failure_rate: {} }}",
        config.items,
        config.consumers,
        config.capacity,
        shown(config.processing_time_s),
        shown(config.failure_rate)
    )
}

/// Why the setting an error names is wrong in this config.
fn why_wrong(error: &ConfigError) -> String {
    match error {
        ConfigError::NoConsumers => "0 consumers: nothing would drain the queue".to_string(),
        ConfigError::FailureRateOutOfRange(rate) if rate.is_nan() => {
            "a NaN failure rate: every comparison with NaN is false, so a check written as \
             `rate < 0.0 || rate > 1.0` lets it through — ask whether the rate is *inside* 0..=1"
                .to_string()
        }
        ConfigError::FailureRateOutOfRange(rate) => format!(
            "failure rate {} is outside [0, 1] (mind the values just past an end: 1 + 2^-52, -5e-324)",
            shown(*rate)
        ),
        ConfigError::InvalidProcessingTime(time) if time.is_nan() => {
            "a NaN processing time: `time < 0.0` and `time.is_infinite()` are both false for NaN — \
             ask whether it is finite and at least 0"
                .to_string()
        }
        ConfigError::InvalidProcessingTime(time) => format!(
            "processing time {} is not a finite number of seconds, 0 or more",
            shown(*time)
        ),
    }
}

/// Why the setting an error names is fine in this config.
fn why_fine(error: &ConfigError, config: &SimConfig) -> String {
    match error {
        ConfigError::NoConsumers => format!("{} consumers is at least 1", config.consumers),
        ConfigError::FailureRateOutOfRange(_) => format!(
            "failure rate {} is in [0, 1] — both ends included, and -0.0 is 0 (it compares equal)",
            shown(config.failure_rate)
        ),
        ConfigError::InvalidProcessingTime(_) => format!(
            "processing time {} is finite and not negative — 0, -0.0 (equal to 0), the smallest \
             subnormal and the largest finite f64 all are",
            shown(config.processing_time_s)
        ),
    }
}

/// The teaching message when `got` is not what the rule says for `config`.
fn explain<T: std::fmt::Debug>(
    what: &str,
    config: &SimConfig,
    answer: &Result<T, ConfigError>,
) -> String {
    let got = &answer.as_ref().map(|_| ()).map_err(Clone::clone);
    let got_text = match answer {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("Err({})", shown_error(error)),
    };
    let want = rule(config);
    let all = problems(config);
    let detail = match (&want, got) {
        (Ok(()), Err(error)) => format!(
            "it is valid ({}; items and capacity may be anything, 0 and the largest included), \
             yet it was refused",
            why_fine(error, config)
        ),
        (Err(error), Ok(())) => format!("it must be refused: {}", why_wrong(error)),
        (Err(first), Err(error))
            if !all
                .iter()
                .any(|p| std::mem::discriminant(p) == std::mem::discriminant(error)) =>
        {
            format!(
                "it is refused for the wrong reason: {}; what is wrong is {}",
                why_fine(error, config),
                why_wrong(first)
            )
        }
        (Err(first), Err(error))
            if std::mem::discriminant(first) == std::mem::discriminant(error) =>
        {
            "the error must carry the value it refused exactly as it came — the very bits — so \
             the message can say what was wrong (not a clamped value, a constant NaN, or 0)"
                .to_string()
        }
        (Err(_), Err(_)) => format!(
            "{} settings are wrong here ({}): validate checks the consumers, then the failure \
             rate, then the processing time, and returns the first problem it finds, not a later one",
            all.len(),
            all.iter().map(shown_error).collect::<Vec<_>>().join(", ")
        ),
        (Ok(()), Ok(())) => unreachable!("only called on a difference"),
    };
    format!(
        "{what} of {} returned {}, expected {}: {detail} — book chapter 04, \"Validate first\"",
        shown_config(config),
        got_text,
        shown_result(&want)
    )
}

// ---------------------------------------------------------------------------
// The domain: strategies that make the edges common.
// ---------------------------------------------------------------------------

/// Every kind of `f64`: the edges of both ranges and their neighbours, both
/// zeros, subnormals, NaNs of either sign and other payloads, the infinities,
/// the largest and smallest finite — and anything else.
fn any_f64() -> impl Strategy<Value = f64> + Clone {
    let edges = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f64::next_up(1.0),
        f64::next_down(1.0),
        f64::next_up(0.0),
        f64::next_down(0.0),
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::from_bits(0xfff8_0000_dead_beef),
        1e-9,
        -1e-9,
        1.000_000_001,
        0.999_999_999,
        2.0,
        1e300,
        -1e300,
        0.29,
        0.004,
    ];
    prop_oneof![
        3 => proptest::sample::select(edges),
        2 => proptest::num::f64::ANY,
        1 => -2.0..3.0f64,
        1 => oracle::draw::probability(),
    ]
}

/// A failure rate that is valid: the ends, -0.0, neighbours of the ends from
/// inside, anything between.
fn valid_rate() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        proptest::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            f64::next_up(0.0),
            f64::next_down(1.0),
            f64::MIN_POSITIVE
        ]),
        oracle::draw::probability(),
    ]
}

/// A processing time that is valid and short (a run may or may not wait it).
fn valid_short_time() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        proptest::sample::select(vec![0.0, -0.0, f64::next_up(0.0), f64::MIN_POSITIVE, 1e-9]),
        0.0..1e-4f64,
    ]
}

fn any_count_u64() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        proptest::sample::select(vec![0, 1, 2, u64::MAX - 1, u64::MAX]),
        any::<u64>(),
        0u64..100,
    ]
}

fn any_count_usize() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![
        proptest::sample::select(vec![0, 1, 2, usize::MAX - 1, usize::MAX]),
        any::<usize>(),
        0usize..100,
    ]
}

/// Consumers: 0 one time in three, else any count.
fn any_consumers() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![1 => Just(0usize), 2 => any_count_usize()]
}

/// Any configuration at all.
fn any_config() -> impl Strategy<Value = SimConfig> {
    (
        any_count_u64(),
        any_consumers(),
        any_count_usize(),
        any_f64(),
        any_f64(),
    )
        .prop_map(
            |(items, consumers, capacity, processing_time_s, failure_rate)| SimConfig {
                items,
                consumers,
                capacity,
                processing_time_s,
                failure_rate,
            },
        )
}

/// A configuration small enough to run, valid or not: up to 40 items, up to 6
/// consumers (0 included), a capacity up to 8 — with any rate and time.
fn small_config() -> impl Strategy<Value = SimConfig> {
    (
        oracle::draw::count(40),
        oracle::draw::size(0, 6),
        oracle::draw::size(0, 8),
        any_f64(),
        any_f64(),
    )
        .prop_map(
            |(items, consumers, capacity, processing_time_s, failure_rate)| SimConfig {
                items,
                consumers,
                capacity,
                processing_time_s,
                failure_rate,
            },
        )
}

/// A valid configuration small enough to run, with pauses in `process` so the
/// consumers meet an empty queue and each other: items from 0 to 40 (and one
/// more, equal or one less than the capacity), consumers from 1 to 6 (more
/// than items too), capacity 0, small, or next to the consumers or the items.
fn valid_run() -> impl Strategy<Value = (SimConfig, Script)> {
    (oracle::draw::count(40), oracle::draw::size(1, 6))
        .prop_flat_map(|(items, consumers)| {
            let capacity = prop_oneof![
                oracle::draw::size(0, 8),
                oracle::draw::around(consumers, 0),
                oracle::draw::around(items as usize, 0),
            ];
            (
                Just(items),
                Just(consumers),
                capacity,
                valid_short_time(),
                valid_rate(),
                proptest::collection::vec((0u64..40, 1u64..10), 0..3),
            )
        })
        .prop_map(
            |(items, consumers, capacity, processing_time_s, failure_rate, pauses)| {
                let script = pauses
                    .into_iter()
                    .fold(Script::new(), |script, (item, ms)| {
                        script.at(item, Act::Pause(Duration::from_millis(ms)))
                    });
                (
                    SimConfig {
                        items,
                        consumers,
                        capacity,
                        processing_time_s,
                        failure_rate,
                    },
                    script,
                )
            },
        )
}

/// Items the test sends itself, as a second producer: numbered from here, far
/// from the run's own `0..items`.
const SECOND: u64 = 1_000_000;

/// A queue maker for `run_on` that builds the real queue and hands the test a
/// `Sender` of its own, through the returned receiver, so the test can feed
/// the queue as a second producer would — and keep it open while it does.
fn feeding_maker() -> (
    crossbeam_channel::Receiver<Sender<u64>>,
    impl FnOnce(usize) -> Queue + Send + 'static,
) {
    let (hand, handed) = crossbeam_channel::bounded(1);
    let maker = move |capacity| {
        let (sender, receiver) = make_queue(capacity);
        let _ = hand.send(sender.clone());
        (sender, receiver)
    };
    (handed, maker)
}

/// The chapter's section "Validate first".
mod s1_validate_first {
    use super::*;

    #[test]
    fn zero_consumers_is_refused() {
        let config = SimConfig {
            consumers: 0,
            ..valid()
        };
        assert_eq!(
            validated(&config),
            Err(ConfigError::NoConsumers),
            "with 0 consumers nothing drains the queue: validate() must refuse it"
        );
    }

    #[test]
    fn running_with_zero_consumers_errors_instead_of_hanging() {
        // Seed, "Break it": set num_consumers=0. Hang or error? Error — at once.
        let log = Log::new();
        let process = recording(&log);
        let config = SimConfig {
            consumers: 0,
            ..valid()
        };
        let result = finishes("run() with 0 consumers", HANG, move || {
            run(&config, process)
        });
        assert_eq!(result, Err(ConfigError::NoConsumers));
        let told = ConfigError::NoConsumers.to_string();
        assert!(
            told.contains("--consumers"),
            "the error's message names the setting to fix, got {told:?}"
        );
    }

    #[test]
    fn a_failure_rate_outside_zero_to_one_is_refused() {
        for rate in [-0.1, 1.5, 1.000_001, f64::INFINITY, f64::NEG_INFINITY] {
            let config = SimConfig {
                failure_rate: rate,
                ..valid()
            };
            assert_eq!(
                validated(&config),
                Err(ConfigError::FailureRateOutOfRange(rate)),
                "failure rate {rate} must be refused, and the error must carry {rate} itself, so the message can \
                 say what was wrong"
            );
        }
    }

    #[test]
    fn a_nan_failure_rate_is_refused() {
        let config = SimConfig {
            failure_rate: f64::NAN,
            ..valid()
        };
        assert!(
            matches!(validated(&config), Err(ConfigError::FailureRateOutOfRange(rate)) if rate.is_nan()),
            "NaN slipped through: every comparison with NaN is false, so `rate < 0.0 || rate > 1.0` accepts it — \
             test that the rate is inside 0..=1 instead"
        );
    }

    #[test]
    fn negative_or_infinite_processing_times_are_refused_with_their_value() {
        for time in [-1.0, -1e-9, f64::INFINITY, f64::NEG_INFINITY] {
            let config = SimConfig {
                processing_time_s: time,
                ..valid()
            };
            assert_eq!(
                validated(&config),
                Err(ConfigError::InvalidProcessingTime(time)),
                "processing time {time} must be refused as InvalidProcessingTime({time}): finite and not negative \
                 is the rule, and the error carries the value it refused"
            );
        }
    }

    #[test]
    fn a_nan_processing_time_is_refused() {
        let config = SimConfig {
            processing_time_s: f64::NAN,
            ..valid()
        };
        let outcome = validated(&config);
        assert!(
            matches!(outcome, Err(ConfigError::InvalidProcessingTime(time)) if time.is_nan()),
            "processing time NaN gave {outcome:?}: `time < 0.0` and `time.is_infinite()` are both false for NaN — \
             test that it is finite and at least 0 instead"
        );
    }

    #[test]
    fn the_edges_of_every_range_are_valid() {
        for config in [
            SimConfig {
                failure_rate: 0.0,
                ..valid()
            },
            SimConfig {
                failure_rate: 1.0,
                ..valid()
            },
            SimConfig {
                processing_time_s: 0.0,
                ..valid()
            },
            SimConfig {
                processing_time_s: 1e9,
                ..valid()
            },
            SimConfig {
                capacity: 0,
                ..valid()
            },
            SimConfig {
                consumers: 1,
                items: 0,
                ..valid()
            },
        ] {
            assert_eq!(
                validated(&config),
                Ok(()),
                "{config:?} is valid: every range includes its edges, and capacity 0 and 0 items are allowed"
            );
        }
    }

    #[test]
    fn validate_follows_the_rule_for_every_value_of_every_setting() {
        // Any configuration at all, the edges of each range common: the answer
        // must be the rule's, error value and all — and the same when asked again.
        oracle::check(1500, any_config(), |config| {
            let (first, again) = {
                let config = config.clone();
                finishes(
                    "config.validate()",
                    "validate only compares numbers: it has nothing to wait for",
                    move || (config.validate(), config.validate()),
                )
            };
            if !same(&first, &rule(&config)) {
                return Err(explain("validate()", &config, &first));
            }
            if !same(&first, &again) {
                return Err(format!(
                    "validate() of {} answered {} then {}: it must depend on the settings alone",
                    shown_config(&config),
                    shown_result(&first),
                    shown_result(&again)
                ));
            }
            Ok(())
        });
    }

    #[test]
    fn every_combination_of_wrong_settings_reports_the_first_in_order() {
        // Every combination, not a sample: consumers 0, 1 or the largest;
        // rates and times on both sides of each bound. Several wrong at once
        // must give the first problem in the order validate checks them.
        let rates = [
            0.0,
            -0.0,
            1.0,
            f64::next_up(0.0),
            f64::next_down(1.0),
            0.29,
            f64::next_down(0.0),
            f64::next_up(1.0),
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
        ];
        let times = [
            0.0,
            -0.0,
            f64::next_up(0.0),
            f64::MAX,
            1e-9,
            2.5,
            f64::next_down(0.0),
            -1.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN,
        ];
        let mut configs = Vec::new();
        for consumers in [0, 1, usize::MAX] {
            for rate in rates {
                for time in times {
                    configs.push(SimConfig {
                        items: 10,
                        consumers,
                        capacity: 0,
                        processing_time_s: time,
                        failure_rate: rate,
                    });
                }
            }
        }
        let answers = {
            let configs = configs.clone();
            finishes(
                "config.validate() on every combination",
                "validate only compares numbers: it has nothing to wait for",
                move || configs.iter().map(SimConfig::validate).collect::<Vec<_>>(),
            )
        };
        let wrong: Vec<String> = configs
            .iter()
            .zip(&answers)
            .filter(|(config, got)| !same(got, &rule(config)))
            .map(|(config, got)| explain("validate()", config, got))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of {} combinations got another answer than the rule's; the first:\n{}",
            wrong.len(),
            configs.len(),
            wrong.first().map_or("", String::as_str)
        );
    }

    #[test]
    fn nothing_runs_for_an_invalid_configuration() {
        let log = Log::new();
        let process = recording(&log);
        let config = SimConfig {
            failure_rate: 2.0,
            ..valid()
        };
        let result = finishes("run() with failure rate 2.0", HANG, move || {
            run(&config, process)
        });
        assert_eq!(result, Err(ConfigError::FailureRateOutOfRange(2.0)));
        thread::sleep(Duration::from_millis(50));
        assert!(
            log.is_empty(),
            "{} items were processed for a configuration that was refused: validate before starting any thread",
            log.len()
        );
    }

    #[test]
    fn no_consumer_thread_starts_for_an_invalid_configuration() {
        // 64 consumers, each holding a clone of `process` while its thread lives.
        // Right after run() returns, the test counts the clones still held.
        let config = SimConfig {
            consumers: 64,
            failure_rate: f64::NAN,
            ..valid()
        };
        let (result, held) = finishes("run() with failure rate NaN", HANG, move || {
            let process: Process = Arc::new(|_| {});
            let probe = Arc::clone(&process);
            let result = run(&config, process);
            (result, Arc::strong_count(&probe) - 1)
        });
        assert!(
            matches!(result, Err(ConfigError::FailureRateOutOfRange(rate)) if rate.is_nan()),
            "run() of a configuration with failure rate NaN must return its error, got {result:?}"
        );
        assert_eq!(
            held, 0,
            "{held} consumer threads still held `process` when run() returned its error: they were started \
             before the configuration was checked. Validate first, before any thread exists"
        );
    }

    #[test]
    fn run_refuses_exactly_what_validate_refuses_and_starts_nothing() {
        // Any invalid configuration small enough to run by mistake. The queue
        // maker records its calls and keeps the queue open a while longer (the
        // test holds a Sender for 300 ms), so a consumer started by mistake is
        // still alive — holding its clone of `process` — when the test counts.
        let invalid = small_config().prop_filter("invalid", |config| rule(config).is_err());
        oracle::check(160, invalid, |config| {
            let asked = Log::new();
            let maker = {
                let asked = asked.clone();
                move |capacity| {
                    asked.push(capacity);
                    let (sender, receiver) = make_queue(capacity);
                    let kept = sender.clone();
                    thread::spawn(move || {
                        thread::sleep(Duration::from_millis(300));
                        drop(kept);
                    });
                    (sender, receiver)
                }
            };
            let log = Log::new();
            let process = recording(&log);
            let (result, held) = {
                let config = config.clone();
                finishes(
                    &format!("run_on() of the invalid {}", shown_config(&config)),
                    "an invalid configuration must be refused at once, before anything is built or \
                     started: run_on went ahead, and waits",
                    move || {
                        let probe = Arc::clone(&process);
                        let result = run_on(&config, maker, process);
                        (result, Arc::strong_count(&probe) - 1)
                    },
                )
            };
            let refused_as_the_rule_says = match (&result, rule(&config)) {
                (Err(got), Err(want)) => same_error(got, &want),
                _ => false,
            };
            if !refused_as_the_rule_says {
                return Err(explain("run_on()", &config, &result));
            }
            if !asked.is_empty() {
                return Err(format!(
                    "run_on() of the invalid {} built a queue (make_queue({:?})) before refusing it: \
                     validate first, before building anything",
                    shown_config(&config),
                    asked.entries()
                ));
            }
            if held > 0 || !log.is_empty() {
                return Err(format!(
                    "run_on() of the invalid {} returned its error, but {held} threads still held \
                     `process` and {} items were processed: threads started before the check. \
                     Validate first, before any thread exists",
                    shown_config(&config),
                    log.len()
                ));
            }
            Ok(())
        });
    }

    #[test]
    fn run_starts_exactly_the_consumers_asked_for() {
        // The first 4 calls wait (up to 3 s) until 4 consumers are inside `process` at once (lesson_support::Overlap).
        const CONSUMERS: usize = 4;
        let overlap = Arc::new(Overlap::new(CONSUMERS));
        let inside = Arc::clone(&overlap);
        let log = Log::new();
        let process: Process = {
            let log = log.clone();
            Arc::new(move |item| {
                inside.work();
                log.push(item);
            })
        };
        let config = SimConfig {
            items: 13,
            consumers: CONSUMERS,
            capacity: 0,
            ..valid()
        };
        let processed = finishes(
            "run() with 4 consumers and capacity 0",
            "close the queue, then join the consumers",
            move || run(&config, process),
        );
        let most = overlap.most();
        assert_eq!(
            most, CONSUMERS,
            "at most {most} items were being processed at once with {CONSUMERS} consumers asked for: start \
             exactly `consumers` threads, all taking from the one queue"
        );
        assert_eq!(
            processed,
            Ok(13),
            "run() returns how many items were processed"
        );
        assert_each_exactly_once(0..13, log.entries(), "items given to `process`");
    }

    #[test]
    fn run_starts_exactly_the_consumers_asked_for_whatever_the_count() {
        // Every call of `process` waits at a gate: exactly `consumers` of them
        // must arrive, whatever the count and the capacity (below, equal to,
        // above it) — not one fewer, not one more.
        let cases = oracle::draw::size(1, 8).prop_flat_map(|consumers| {
            (
                Just(consumers),
                prop_oneof![oracle::draw::around(consumers, 0), 0usize..=2],
                0u64..4,
            )
        });
        oracle::check(14, cases, |(consumers, capacity, extra)| {
            let items = consumers as u64 + 1 + extra;
            let gate = Gate::new();
            let log = Log::new();
            let process: Process = {
                let (gate, log) = (gate.clone(), log.clone());
                Arc::new(move |item| {
                    gate.pass();
                    log.push(item);
                })
            };
            let config = SimConfig {
                items,
                consumers,
                capacity,
                ..valid()
            };
            let running = thread::spawn(move || run(&config, process));
            let waited = wait_briefly(&running, Duration::from_secs(3), || {
                gate.waiting() >= consumers
            });
            thread::sleep(Duration::from_millis(30)); // one too many would arrive now
            let arrived = gate.waiting();
            gate.open();
            let outcome = if waited == Waited::Exited {
                join_finished(running) // a panic (a todo!()) comes out here
            } else {
                join_all(vec![running], "run()", JOIN).remove(0)
            };
            let asked =
                format!("run() with {consumers} consumers, capacity {capacity} and {items} items");
            match waited {
                Waited::Exited => {
                    return Err(format!(
                        "{asked} returned while items were still held in `process`: join every consumer \
                         before returning"
                    ));
                }
                Waited::GaveUp => {
                    return Err(format!(
                        "{asked}: only {arrived} calls of `process` were ever in progress at once — start \
                         exactly `consumers` threads, all taking from the one queue (no min/max with \
                         another setting)"
                    ));
                }
                Waited::Met if arrived > consumers => {
                    return Err(format!(
                        "{asked}: {arrived} calls of `process` were in progress at once — more threads \
                         than asked for are calling it"
                    ));
                }
                Waited::Met => {}
            }
            if outcome != Ok(items) {
                return Err(format!(
                    "{asked} returned {outcome:?}: it returns how many items were processed, Ok({items})"
                ));
            }
            check_each_exactly_once(
                0..items,
                log.entries(),
                &format!("{asked}: items given to `process`"),
            )
        });
    }

    #[test]
    fn a_valid_run_processes_every_item_exactly_once() {
        for capacity in [0, 1, 5] {
            let log = Log::new();
            let process = recording(&log);
            let config = SimConfig {
                items: 121,
                capacity,
                ..valid()
            };
            let processed = finishes(
                "run() with a valid configuration",
                "close the queue, then join the consumers",
                move || run(&config, process),
            );
            assert_eq!(
                processed,
                Ok(121),
                "run() returns how many items were processed (capacity {capacity})"
            );
            assert_each_exactly_once(
                0..121,
                log.entries(),
                &format!("items given to `process` (capacity {capacity})"),
            );
        }
    }

    #[test]
    fn run_builds_its_queue_with_the_configured_capacity() {
        for capacity in [0, 1, 7] {
            let (asked, maker) = recording_maker();
            let config = SimConfig {
                items: 23,
                capacity,
                ..valid()
            };
            let process: Process = Arc::new(|_| ());
            let processed = finishes(
                &format!("run_on() with capacity {capacity}"),
                "close the queue, then join the consumers",
                move || run_on(&config, maker, process),
            );
            assert_eq!(
                asked.entries(),
                [capacity],
                "run_on() with capacity {capacity} must build its queue once, with the make_queue it \
                 is given, asking for config.capacity (a fixed number, capacity + 1, or a channel \
                 built some other way is a capacity the settings never chose) — book chapter 04, \
                 \"Validate first\""
            );
            assert_eq!(
                processed,
                Ok(23),
                "run_on() returns how many items were processed"
            );
        }
    }

    #[test]
    fn no_queue_is_built_for_an_invalid_configuration() {
        let (asked, maker) = recording_maker();
        let config = SimConfig {
            failure_rate: f64::NAN,
            ..valid()
        };
        let log = Log::new();
        let process = recording(&log);
        let result = finishes("run_on() with failure rate NaN", HANG, move || {
            run_on(&config, maker, process)
        });
        assert!(
            matches!(result, Err(ConfigError::FailureRateOutOfRange(rate)) if rate.is_nan()),
            "run_on() must return the validation error, got {result:?}"
        );
        assert_eq!(
            asked.entries(),
            Vec::<usize>::new(),
            "run_on() built a queue for a configuration it then refused: validate first, before \
             building anything"
        );
    }

    #[test]
    fn a_valid_run_processes_every_item_once_whatever_the_settings() {
        // Valid settings across their domain (rate 0, 1, -0.0, subnormal; time
        // 0, -0.0, subnormal; items 0 up, capacity 0 up and next to the other
        // counts; more consumers than items): the queue is built once with the
        // configured capacity, every item is processed once — finished before
        // run_on returns — by at most `consumers` threads, and the count comes back.
        oracle::check(48, valid_run(), |(config, pauses)| {
            let (asked, maker) = recording_maker();
            let log = Log::new();
            let taken: Log<(ThreadId, u64)> = Log::new();
            let process: Process = {
                let (log, taken) = (log.clone(), taken.clone());
                Arc::new(move |item| {
                    taken.push((thread::current().id(), item));
                    pauses.perform(item, &format!("process({item})"));
                    log.push(item);
                })
            };
            let result = {
                let config = config.clone();
                finishes(
                    &format!("run_on() of {}", shown_config(&config)),
                    JOIN,
                    move || run_on(&config, maker, process),
                )
            };
            let shown = shown_config(&config);
            match result {
                Ok(count) if count == config.items => {}
                Ok(count) => {
                    return Err(format!(
                        "run_on() of {shown} returned Ok({count}): it returns how many items were \
                         processed, {}",
                        config.items
                    ));
                }
                Err(_) => return Err(explain("run_on()", &config, &result)),
            }
            if asked.entries() != [config.capacity] {
                return Err(format!(
                    "run_on() of {shown} asked make_queue for {:?}: build the queue once, with the \
                     make_queue given, for exactly config.capacity — not raised to the consumers or \
                     the items, not a capacity of your own",
                    asked.entries()
                ));
            }
            check_each_exactly_once(
                0..config.items,
                log.entries(),
                &format!(
                    "run_on() of {shown}: items whose `process` had finished when run_on returned \
                     (join every consumer before returning)"
                ),
            )?;
            let taken = taken.entries();
            let distinct: HashSet<ThreadId> = taken.iter().map(|(thread, _)| *thread).collect();
            if distinct.len() > config.consumers {
                return Err(format!(
                    "run_on() of {shown}: {} threads called `process`, more than the {} consumers asked for",
                    distinct.len(),
                    config.consumers
                ));
            }
            // One producer sends 0, 1, 2, … into one FIFO queue: whatever share
            // a consumer takes, it takes it in increasing order.
            for thread in distinct {
                let mine: Vec<u64> = taken
                    .iter()
                    .filter(|(by, _)| *by == thread)
                    .map(|(_, item)| *item)
                    .collect();
                if mine.windows(2).any(|pair| pair[0] >= pair[1]) {
                    return Err(format!(
                        "run_on() of {shown}: one consumer was given {} in that order — one producer \
                         sends 0, 1, 2, … in order through the one queue, so each consumer takes its \
                         items in increasing order (several producers, or items sent out of order, \
                         break that)",
                        lesson_support::preview(&mine)
                    ));
                }
            }
            Ok(())
        });
    }

    #[test]
    fn consumers_take_from_the_queue_until_it_closes() {
        // The test feeds the queue as a second producer would: one more item
        // per consumer, each held in `process` at a gate, and closes its end
        // only then. Every consumer asked for must take one — also when the
        // run has fewer items of its own than consumers, or none — and the
        // run must count them with its own.
        let cases = (
            oracle::draw::size(1, 6),
            oracle::draw::count(6),
            oracle::draw::size(0, 3),
        );
        oracle::check(16, cases, |(consumers, items, capacity)| {
            let gate = Gate::new();
            let log = Log::new();
            let process: Process = {
                let (gate, log) = (gate.clone(), log.clone());
                Arc::new(move |item| {
                    if item >= SECOND {
                        gate.pass();
                    }
                    log.push(item);
                })
            };
            let (handed, maker) = feeding_maker();
            let config = SimConfig {
                items,
                consumers,
                capacity,
                ..valid()
            };
            let asked = format!(
                "run_on() with {consumers} consumers, capacity {capacity} and {items} items"
            );
            let running = thread::spawn(move || run_on(&config, maker, process));
            let Ok(second) = handed.recv_timeout(lesson_support::BUDGET) else {
                let _returned = join_all(vec![running], "run_on()", JOIN); // a panic comes out here
                return Err(format!("{asked} never called the make_queue it was given"));
            };
            let extra: Vec<u64> = (SECOND..SECOND + consumers as u64).collect();
            let feeder = {
                let extra = extra.clone();
                thread::spawn(move || {
                    for item in extra {
                        if second.send_timeout(item, lesson_support::BUDGET).is_err() {
                            break; // nobody takes from the queue any more
                        }
                    }
                    second
                })
            };
            let waited = wait_briefly(&running, Duration::from_secs(3), || {
                gate.waiting() >= consumers
            });
            thread::sleep(Duration::from_millis(30)); // one too many would arrive now
            let arrived = gate.waiting();
            gate.open();
            let second = join_all(vec![feeder], "the test's second producer", JOIN).remove(0);
            drop(second); // now the queue closes
            let outcome = if waited == Waited::Exited {
                join_finished(running) // a panic (a todo!()) comes out here
            } else {
                join_all(vec![running], "run_on()", JOIN).remove(0)
            };
            match waited {
                Waited::Exited => {
                    return Err(format!(
                        "{asked} returned {outcome:?} while the queue was still open — the test held a \
                         Sender and was still sending, as a second producer would: consumers take \
                         from the queue until it is closed (`for item in receiver`), they do not stop \
                         once the run's own items are done, or after a quiet moment"
                    ));
                }
                Waited::GaveUp => {
                    return Err(format!(
                        "{asked}: the test sent {consumers} more items, one per consumer, each held in \
                         `process` — and only {arrived} were ever taken at once: start exactly \
                         `consumers` threads (not fewer when there are fewer items), each taking from \
                         the queue until it is closed"
                    ));
                }
                Waited::Met if arrived > consumers => {
                    return Err(format!(
                        "{asked}: {arrived} calls of `process` were in progress at once — more threads \
                         than asked for are calling it"
                    ));
                }
                Waited::Met => {}
            }
            let total = items + consumers as u64;
            if outcome != Ok(total) {
                return Err(format!(
                    "{asked}, and {consumers} more items sent by the test: run_on returned \
                     {outcome:?}, but {} items were processed — return the count of items \
                     processed, as the consumers counted them",
                    log.len()
                ));
            }
            check_each_exactly_once(
                (0..items).chain(extra),
                log.entries(),
                &format!("{asked}: the items given to `process` (the run's and the test's)"),
            )
        });
    }

    #[test]
    fn a_held_consumer_does_not_hold_up_the_others() {
        // While one consumer is held on item 0, the others take every other
        // item from the one shared queue.
        let cases = (2usize..=4).prop_flat_map(|consumers| {
            (
                Just(consumers),
                (2 * consumers as u64 + 1)..=30,
                oracle::draw::size(0, 4),
            )
        });
        oracle::check(8, cases, |(consumers, items, capacity)| {
            let gate = Gate::new();
            let log = Log::new();
            let script = Script::new().at(0, Act::Hold(gate.clone()));
            let process: Process = {
                let log = log.clone();
                Arc::new(move |item| {
                    script.perform(item, &format!("process({item})"));
                    log.push(item);
                })
            };
            let config = SimConfig {
                items,
                consumers,
                capacity,
                ..valid()
            };
            let running = thread::spawn(move || run(&config, process));
            let waited = wait_briefly(&running, Duration::from_secs(3), || {
                log.len() as u64 == items - 1
            });
            let while_held = log.entries();
            gate.open();
            let asked =
                format!("run() with {consumers} consumers, capacity {capacity} and {items} items");
            if waited == Waited::Exited {
                let _returned = join_finished(running); // a panic (a todo!()) comes out here
                return Err(format!(
                    "{asked} returned while item 0 was still being processed: join every consumer before \
                     returning"
                ));
            }
            let outcome = join_all(vec![running], "run()", JOIN).remove(0);
            check_each_exactly_once(
                1..items,
                while_held,
                &format!(
                    "{asked}: items processed while one consumer was held on item 0 — the others must take \
                     every other item from the one shared queue, not wait for it"
                ),
            )?;
            if outcome != Ok(items) {
                return Err(format!(
                    "{asked} returned {outcome:?}, expected Ok({items})"
                ));
            }
            check_each_exactly_once(
                0..items,
                log.entries(),
                &format!("{asked}: items given to `process`"),
            )
        });
    }

    #[test]
    fn a_panic_in_process_comes_back_out_of_run() {
        // Several consumers, so the others go on and the run can finish; the
        // panic must then come out of run(), not be dropped at the join.
        let cases = (0u64..25, 2usize..=4, oracle::draw::size(0, 5));
        oracle::check(12, cases, |(panics_at, consumers, capacity)| {
            let fired = Log::new();
            let process: Process = {
                let fired = fired.clone();
                Arc::new(move |item| {
                    if item == panics_at {
                        fired.push(item);
                        adversary::injected_panic(&format!("process({item})"));
                    }
                })
            };
            let config = SimConfig {
                items: 25,
                consumers,
                capacity,
                ..valid()
            };
            let outcome = finishes(
                &format!("run(25 items, {consumers} consumers) with a panic at item {panics_at}"),
                "a consumer that panicked is gone: the others still drain the queue, and the run \
                 must still close it and join every consumer",
                move || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&config, process)))
                },
            );
            match outcome {
                // The run's own panic (a todo!() included) before `process`
                // ever ran is not the injected one coming back.
                Err(payload) if fired.is_empty() => std::panic::resume_unwind(payload),
                Err(_) => Ok(()),
                Ok(result) => Err(format!(
                    "run(25 items, {consumers} consumers, capacity {capacity}): `process` panicked on item \
                     {panics_at}, yet run returned {result:?} as if nothing happened: that item was lost in \
                     silence. A consumer's panic comes back from its `join()` as `Err` — pass it on \
                     (`.join().expect(\"a consumer panicked\")`), never drop it with `.ok()`, \
                     `unwrap_or(0)` or `let _ =`"
                )),
            }
        });
    }
}

/// The chapter's section "Capacity zero".
mod s2_capacity_zero {
    use super::*;

    #[test]
    fn make_queue_builds_a_queue_of_exactly_the_capacity() {
        for capacity in [0, 1, 5] {
            let (sender, _receiver) = finishes(
                &format!("make_queue({capacity})"),
                "make_queue only builds a channel",
                move || make_queue(capacity),
            );
            assert_eq!(
                sender.capacity(),
                Some(capacity),
                "make_queue({capacity}) must build bounded({capacity}): 0 is a rendezvous in Rust, not \
                 Python's \"unbounded\""
            );
        }
    }

    #[test]
    fn capacity_zero_is_a_rendezvous_not_unbounded() {
        let (sender, receiver) =
            finishes("make_queue(0)", "make_queue only builds a channel", || {
                make_queue(0)
            });
        assert!(
            matches!(sender.try_send(1), Err(TrySendError::Full(1))),
            "with capacity 0 and no consumer waiting, an item has nowhere to go — in Rust's channels, 0 means \
             \"hand over directly\", not Python's \"unbounded\""
        );
        let consumer = thread::spawn(move || receiver.recv());
        let sent = finishes(
            "send() into a rendezvous queue",
            "a rendezvous send completes once a consumer takes the item",
            move || sender.send(7),
        );
        assert!(sent.is_ok());
        assert_eq!(
            lesson_support::join_all(vec![consumer], "consumer", "it took the item").pop(),
            Some(Ok(7))
        );
    }

    #[test]
    fn make_queue_holds_exactly_its_capacity_whatever_it_is() {
        // Any capacity from 0 up: both ends report it, exactly that many items
        // fit before the next finds the queue full, and they come out of the
        // receiver in order — one queue, not two.
        let capacities = prop_oneof![
            oracle::draw::size(0, 300),
            proptest::sample::select(vec![1023, 1024, 1025, 1 << 16, (1 << 16) + 1]),
        ];
        oracle::check(40, capacities, |capacity| {
            let (sender, receiver) = finishes(
                &format!("make_queue({capacity})"),
                "make_queue only builds a channel",
                move || make_queue(capacity),
            );
            let ends = (sender.capacity(), receiver.capacity());
            if ends != (Some(capacity), Some(capacity)) {
                return Err(format!(
                    "make_queue({capacity}) built a queue whose capacity is {ends:?} (sender, receiver), \
                     expected Some({capacity}) at both ends: bounded({capacity}) — 0 is a rendezvous in \
                     Rust, not Python's \"unbounded\", and no other number stands in for it"
                ));
            }
            let fits = (0..capacity as u64 + 1)
                .take_while(|&item| sender.try_send(item).is_ok())
                .count();
            if fits != capacity {
                return Err(format!(
                    "make_queue({capacity}): {fits} items fitted before the queue was full, expected {capacity}"
                ));
            }
            let out: Vec<u64> = receiver.try_iter().collect();
            let sent: Vec<u64> = (0..capacity as u64).collect();
            lesson_support::check_sequence(
                &sent,
                &out,
                &format!(
                    "make_queue({capacity}): what the receiver gets of what the sender put in"
                ),
            )
        });
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. The producer must keep waiting for
/// room while a consumer is slow, and the run must wait for the slowest item.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while (send_timeout, recv_timeout, a join with a \
        deadline) stops while the run is still going: a slow consumer is not a dead one";

    /// `run()` whose `process` stalls on `stalled`; every item must be
    /// processed once, and run() return only after all of them.
    fn run_with_a_stall(consumers: usize, capacity: usize, items: u64, stalled: u64, what: &str) {
        let log = Log::new();
        let script = Script::new().at(stalled, Act::Stall);
        let process: Process = {
            let log = log.clone();
            Arc::new(move |item| {
                script.perform(item, &format!("process({item})"));
                log.push(item);
            })
        };
        let config = SimConfig {
            items,
            consumers,
            capacity,
            ..valid()
        };
        let outcome = finishes_within(STALL_BUDGET, what, HINT, move || run(&config, process));
        assert_eq!(
            outcome,
            Ok(items),
            "{what}: `process` took {STALL:?} over item {stalled}; run() must still return Ok({items}) — {HINT}"
        );
        assert_each_exactly_once(
            0..items,
            log.entries(),
            &format!(
                "{what}: items whose `process` had finished when run() returned (item {stalled} took \
                 {STALL:?}) — {HINT}"
            ),
        );
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "a producer waits for room in a rendezvous queue",
                Box::new(|| {
                    run_with_a_stall(1, 0, 6, 0, "run(6 items, 1 consumer, capacity 0)");
                }),
            ),
            (
                "a producer waits for room in a full queue",
                Box::new(|| {
                    run_with_a_stall(1, 2, 9, 0, "run(9 items, 1 consumer, capacity 2)");
                }),
            ),
            (
                "a consumer waits while a second producer is quiet",
                Box::new(|| {
                    let log = Log::new();
                    let process = recording(&log);
                    let (handed, maker) = feeding_maker();
                    let config = SimConfig {
                        items: 3,
                        consumers: 2,
                        capacity: 1,
                        ..valid()
                    };
                    let what = "run_on(3 items, 2 consumers, capacity 1) whose queue a second producer \
                        feeds once more after a pause";
                    let running = thread::spawn(move || {
                        finishes_within(STALL_BUDGET, what, HINT, move || {
                            run_on(&config, maker, process)
                        })
                    });
                    if let Ok(second) = handed.recv_timeout(lesson_support::BUDGET) {
                        thread::sleep(STALL);
                        // Fails only if every consumer is gone, or nobody takes from a
                        // full queue within the budget (the run's own watchdog says why).
                        let _ = second.send_timeout(SECOND, lesson_support::BUDGET);
                    }
                    let outcome =
                        join_all_within(STALL_BUDGET, vec![running], what, HINT).remove(0);
                    assert_eq!(
                        outcome,
                        Ok(4),
                        "{what}: the second producer went quiet for {STALL:?}, then sent item {SECOND} and \
                         closed its end; the consumers must still be there to take it — {HINT}"
                    );
                    assert_each_exactly_once(
                        [0, 1, 2, SECOND],
                        log.entries(),
                        &format!("{what}: items given to `process` — {HINT}"),
                    );
                }),
            ),
            (
                "the run waits for its slowest consumer",
                Box::new(|| {
                    run_with_a_stall(3, 4, 12, 11, "run(12 items, 3 consumers, capacity 4)");
                }),
            ),
        ]);
    }
}
