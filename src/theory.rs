//! What queueing theory predicts for a configuration, so a learner can make a
//! prediction and check it against the measured throughput.

use crate::choice::WorkKind;
use crate::config::SimConfig;

// ANCHOR: ideal_throughput
/// Items per second a perfect run of `config` would finish, or `None` when
/// nothing bounds it (zero processing time and no `--rate`).
///
/// - `c` consumers each serve one attempt per processing time `s`: at most `c / s`
///   attempts per second. Sleeping consumers do not need a core while they wait,
///   so all `c` count; spinning consumers need one each, so only `min(c, cores)`.
/// - Retries make an item cost more than one attempt: on average
///   `1 + p + p² + … + p^r` of them, for failure rate `p` and `r` retries.
/// - Producers cap it all: nothing finishes faster than `--rate` items arrive.
pub fn ideal_throughput_per_s(config: &SimConfig, cores: usize) -> Option<f64> {
    ideal_with_attempts_of(config, cores, config.processing_time_s)
}

/// The same ideal for attempts that last `attempt_s` seconds each.
pub fn ideal_with_attempts_of(config: &SimConfig, cores: usize, attempt_s: f64) -> Option<f64> {
    let parallel = match config.work {
        WorkKind::Sleep => config.consumers,
        WorkKind::Spin => config.consumers.min(cores.max(1)),
    } as f64;
    let service = (attempt_s > 0.0)
        .then(|| parallel / (attempt_s * expected_attempts(config.failure_rate, config.retries)));
    match (service, config.rate_per_s) {
        (Some(service), Some(rate)) => Some(service.min(rate)),
        (service, rate) => service.or(rate),
    }
}
// ANCHOR_END: ideal_throughput

/// Mean attempts per item: `sum of p^k for k in 0..=retries`.
pub fn expected_attempts(failure_rate: f64, retries: u32) -> f64 {
    (0..=retries).map(|k| failure_rate.powi(k as i32)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(consumers: usize, time: f64, work: WorkKind) -> SimConfig {
        SimConfig {
            consumers,
            processing_time_s: time,
            work,
            failure_rate: 0.0,
            ..SimConfig::default()
        }
    }

    #[test]
    fn sleeping_consumers_all_count() {
        assert_eq!(
            ideal_throughput_per_s(&config(8, 0.01, WorkKind::Sleep), 2),
            Some(800.0)
        );
    }

    #[test]
    fn spinning_consumers_count_only_up_to_the_cores() {
        assert_eq!(
            ideal_throughput_per_s(&config(1, 0.01, WorkKind::Spin), 2),
            Some(100.0)
        );
        assert_eq!(
            ideal_throughput_per_s(&config(8, 0.01, WorkKind::Spin), 2),
            Some(200.0)
        );
    }

    #[test]
    fn the_producers_rate_caps_it() {
        let capped = SimConfig {
            rate_per_s: Some(50.0),
            ..config(8, 0.01, WorkKind::Sleep)
        };
        assert_eq!(ideal_throughput_per_s(&capped, 2), Some(50.0));
        let instant = SimConfig {
            rate_per_s: Some(50.0),
            ..config(8, 0.0, WorkKind::Sleep)
        };
        assert_eq!(ideal_throughput_per_s(&instant, 2), Some(50.0));
    }

    #[test]
    fn nothing_bounds_instant_work_without_a_rate() {
        assert_eq!(
            ideal_throughput_per_s(&config(4, 0.0, WorkKind::Sleep), 2),
            None
        );
    }

    #[test]
    fn retries_cost_expected_attempts() {
        assert_eq!(expected_attempts(0.5, 0), 1.0);
        assert_eq!(expected_attempts(0.5, 2), 1.75);
        assert_eq!(expected_attempts(1.0, 3), 4.0);
        let retrying = SimConfig {
            failure_rate: 0.5,
            retries: 2,
            ..config(7, 0.01, WorkKind::Sleep)
        };
        let ideal = ideal_throughput_per_s(&retrying, 2).unwrap();
        assert!((ideal - 400.0).abs() < 1e-9, "{ideal}");
    }
}
