//! Seeded, order-independent random decisions.
//!
//! Which consumer takes which item depends on thread scheduling, so one shared
//! RNG stream would give different failures on every run. Instead each decision
//! gets its own generator, seeded from `(seed, purpose, item id, attempt)`: the
//! same seed gives the same failures and priorities, whoever does the work.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

const FAILURE: u64 = 0x6661_696c; // "fail"
const PRIORITY: u64 = 0x7072_696f; // "prio"

/// Whether attempt `attempt` of item `id` fails, at rate `failure_rate`.
pub fn attempt_fails(seed: u64, id: u64, attempt: u32, failure_rate: f64) -> bool {
    if failure_rate <= 0.0 {
        return false;
    }
    if failure_rate >= 1.0 {
        return true;
    }
    rng_for(seed, FAILURE, id, u64::from(attempt)).random::<f64>() < failure_rate
}

/// The priority of item `id`, uniform in `0..levels` (always 0 for one level).
pub fn priority_of(seed: u64, id: u64, levels: u32) -> u32 {
    if levels <= 1 {
        return 0;
    }
    rng_for(seed, PRIORITY, id, 0).random_range(0..levels)
}

fn rng_for(seed: u64, purpose: u64, id: u64, attempt: u64) -> SmallRng {
    // Chained through a strong mixer so that neighbouring ids and attempts give
    // unrelated generators.
    let key = [purpose, id, attempt]
        .into_iter()
        .fold(seed, |acc, part| mix(acc ^ part));
    SmallRng::seed_from_u64(key)
}

/// SplitMix64's finalizer: a cheap bijection with full avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_depend_only_on_their_inputs() {
        for id in 0..100 {
            assert_eq!(attempt_fails(7, id, 1, 0.5), attempt_fails(7, id, 1, 0.5));
            assert_eq!(priority_of(7, id, 5), priority_of(7, id, 5));
        }
    }

    #[test]
    fn another_seed_gives_other_decisions() {
        let a: Vec<bool> = (0..64).map(|id| attempt_fails(1, id, 1, 0.5)).collect();
        let b: Vec<bool> = (0..64).map(|id| attempt_fails(2, id, 1, 0.5)).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn failure_count_is_binomial() {
        // n = 20,000, p = 0.1: mean 2,000, sd ≈ 42; allow 5 sd.
        let failures = (0..20_000)
            .filter(|&id| attempt_fails(42, id, 1, 0.1))
            .count();
        assert!(
            (1_790..=2_210).contains(&failures),
            "{failures} failures out of 20000 at p = 0.1"
        );
    }

    #[test]
    fn retries_are_independent_draws() {
        let first: Vec<bool> = (0..64).map(|id| attempt_fails(3, id, 1, 0.5)).collect();
        let second: Vec<bool> = (0..64).map(|id| attempt_fails(3, id, 2, 0.5)).collect();
        assert_ne!(first, second);
    }

    #[test]
    fn priorities_cover_every_level_and_no_more() {
        let mut seen = [0u32; 4];
        for id in 0..4_000 {
            seen[priority_of(9, id, 4) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(priority_of(9, 5, 1), 0);
    }

    #[test]
    fn rates_of_zero_and_one_need_no_dice() {
        assert!((0..100).all(|id| !attempt_fails(1, id, 1, 0.0)));
        assert!((0..100).all(|id| attempt_fails(1, id, 1, 1.0)));
    }
}
