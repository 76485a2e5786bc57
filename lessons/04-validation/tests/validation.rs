//! Lesson 04 — refuse bad settings before any thread starts.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use lesson_04::{ConfigError, Process, SimConfig, make_queue, run, run_on};
use lesson_support::{Log, Overlap, assert_each_exactly_once, finishes};

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
    let (sender, receiver) = finishes("make_queue(0)", "make_queue only builds a channel", || {
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
