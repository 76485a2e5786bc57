//! Lesson 04 — refuse bad settings before any thread starts.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::TrySendError;
use lesson_04::{ConfigError, Process, SimConfig, make_queue, run};
use lesson_support::{Log, assert_each_exactly_once, finishes};

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

const HANG: &str = "with no consumer, nothing drains the queue and the producer waits forever on a full one. \
     Validate before starting any thread.";

#[test]
fn zero_consumers_is_refused() {
    let config = SimConfig {
        consumers: 0,
        ..valid()
    };
    assert_eq!(
        config.validate(),
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
}

#[test]
fn a_failure_rate_outside_zero_to_one_is_refused() {
    for rate in [-0.1, 1.5, f64::INFINITY] {
        let config = SimConfig {
            failure_rate: rate,
            ..valid()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::FailureRateOutOfRange(rate)),
            "failure rate {rate}"
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
        matches!(config.validate(), Err(ConfigError::FailureRateOutOfRange(rate)) if rate.is_nan()),
        "NaN slipped through: every comparison with NaN is false, so `rate < 0.0 || rate > 1.0` accepts it — \
         test that the rate is inside 0..=1 instead"
    );
}

#[test]
fn negative_infinite_or_nan_processing_times_are_refused() {
    for time in [-1.0, f64::INFINITY, f64::NAN] {
        let config = SimConfig {
            processing_time_s: time,
            ..valid()
        };
        assert!(
            matches!(
                config.validate(),
                Err(ConfigError::InvalidProcessingTime(_))
            ),
            "processing time {time} was accepted; it must be finite and not negative"
        );
    }
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
            capacity: 0,
            ..valid()
        },
        SimConfig {
            consumers: 1,
            items: 0,
            ..valid()
        },
    ] {
        assert_eq!(config.validate(), Ok(()), "{config:?} is valid");
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
fn capacity_zero_is_a_rendezvous_not_unbounded() {
    let (sender, receiver) = make_queue(0);
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
    assert_eq!(consumer.join().unwrap(), Ok(7));
}

#[test]
fn a_valid_run_processes_every_item_exactly_once() {
    for capacity in [0, 1, 5] {
        let log = Log::new();
        let process = recording(&log);
        let config = SimConfig {
            items: 120,
            capacity,
            ..valid()
        };
        let processed = finishes(
            "run() with a valid configuration",
            "close the queue, then join the consumers",
            move || run(&config, process),
        );
        assert_eq!(processed, Ok(120), "capacity {capacity}");
        assert_each_exactly_once(0..120, log.entries(), &format!("capacity {capacity}"));
    }
}
