//! Lesson 05 — failures that are reproducible, contained and counted once.
//! Every run is watched: a hang fails the test with the likely cause instead
//! of freezing your terminal.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then properties: the same check over many drawn
//! inputs — seeds and ids from 0 to `u64::MAX`, rates that are not round
//! (0.004, 0.29, 0.9995), jobs that end in every way a job can (`Ok`, `Err`,
//! a panic with a `&str`, with a `String`, with something that is not text),
//! counts from none to more consumers than items — against an answer that
//! does not depend on your code: a closed form, a binomial bound, a log of what
//! the jobs really did. Last, `stall`: every wait meets a job that takes
//! seconds, longer than any "safety" timeout.

use std::collections::{BTreeSet, HashSet};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use lesson_05::{CAPACITY, Job, Report, fails, flaky_job, run_one, run_pool};
use lesson_support::adversary::{self, Act, Gate, STALL, STALL_BUDGET, Script, Tally};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    Log, Overlap, Waited, check_each_exactly_once, finishes, finishes_within, join_all,
    join_finished, preview, wait_briefly,
};

const DEAD_WORKER: &str = "a worker whose job panicked died, and nobody took the rest of the items: \
     catch the panic in run_one (std::panic::catch_unwind) so the worker goes on";

const ONE_NUMBER: &str = "fails only draws one number from a generator seeded from (seed, id): it has \
     nothing to wait for (a lock held elsewhere? a loop that skips `id` numbers of one stream?)";

/// The ids among `ids` that `fails` says fail, asked under the watchdog.
#[track_caller]
fn failing_ids(
    seed: u64,
    rate: f64,
    ids: impl Iterator<Item = u64> + Send + 'static,
) -> BTreeSet<u64> {
    finishes(
        &format!("fails(seed {seed}, …, rate {rate})"),
        ONE_NUMBER,
        move || ids.filter(|&id| fails(seed, id, rate)).collect(),
    )
}

/// `run_one(job, id)` under the watchdog; a panic that escapes it is reported
/// as such.
#[track_caller]
fn run_one_watched(job: Job, id: u64) -> Result<(), String> {
    let outcome = finishes("run_one", "run_one runs one job once", move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&job, id)))
    });
    outcome.unwrap_or_else(|_| {
        panic!("the job's panic escaped run_one: catch it with std::panic::catch_unwind")
    })
}

/// `run_pool(0..items, consumers, job)` under the watchdog.
#[track_caller]
fn pool(items: u64, consumers: usize, job: Job) -> Report {
    finishes(
        &format!("run_pool({items} items, {consumers} consumers)"),
        DEAD_WORKER,
        move || run_pool(0..items, consumers, job),
    )
}

// ---------------------------------------------------------------------------
// The domain.
// ---------------------------------------------------------------------------

/// A seed or an id: anything from 0 to `u64::MAX`, the edges common (0, 1,
/// the largest, a power of two past `u32::MAX`).
fn any_u64() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        proptest::sample::select(vec![
            0,
            1,
            2,
            3,
            42,
            u64::from(u32::MAX),
            1 << 32,
            1 << 63,
            u64::MAX - 1,
            u64::MAX
        ]),
        any::<u64>(),
        0u64..1000,
    ]
}

/// `Binomial(n, p)` bounds, wide enough that a right answer is never outside
/// them (five standard deviations, and three more for small counts), narrow
/// enough that a rate read to the whole percent, or the same answer for a
/// whole line of items, is.
fn binomial_bounds(n: u64, p: f64) -> (f64, f64) {
    let mean = n as f64 * p;
    let spread = 5.0 * (n as f64 * p * (1.0 - p)).sqrt() + 3.0;
    (mean - spread, mean + spread)
}

/// A line through the (seed, id) plane: `points` points from (`seed`, `id`),
/// each step adding `(seed_step, id_step)` (wrapping), or, for `xor`, the
/// k-th point `(seed ^ k·mask, id ^ k·mask)`. Along any such line the items
/// that fail at rate p must look like coin flips of weight p: a line on which
/// they all fail, or none does, is a seed and id combined so that one stands in
/// for the other (`seed + id` is constant on the anti-diagonal, `seed ^ id` on
/// an xor line, `seed * id` wherever one is 0, a truncated id on a step of 2^32).
#[derive(Debug, Clone)]
struct Line {
    seed: u64,
    id: u64,
    seed_step: u64,
    id_step: u64,
    xor: bool,
    rate: f64,
}

const LINE_POINTS: u64 = 1000;

impl Line {
    fn point(&self, k: u64) -> (u64, u64) {
        if self.xor {
            (
                self.seed ^ k.wrapping_mul(self.seed_step),
                self.id ^ k.wrapping_mul(self.id_step),
            )
        } else {
            (
                self.seed.wrapping_add(k.wrapping_mul(self.seed_step)),
                self.id.wrapping_add(k.wrapping_mul(self.id_step)),
            )
        }
    }

    fn shown(&self) -> String {
        let (last_seed, last_id) = self.point(LINE_POINTS - 1);
        format!(
            "{LINE_POINTS} (seed, id) pairs from ({}, {}) to ({last_seed}, {last_id}), {}",
            self.seed,
            self.id,
            if self.xor {
                format!(
                    "the k-th being (seed ^ k·{}, id ^ k·{})",
                    self.seed_step, self.id_step
                )
            } else {
                format!(
                    "each step adding {} to the seed and {} to the id (wrapping)",
                    step_shown(self.seed_step),
                    step_shown(self.id_step)
                )
            }
        )
    }
}

fn step_shown(step: u64) -> String {
    if step > u64::MAX / 2 {
        format!("-{}", step.wrapping_neg())
    } else {
        step.to_string()
    }
}

/// A step along a line: small, -1, powers of two up to 2^50 (never so large
/// that the line wraps onto itself), 2^32 ± 1, any odd number.
fn step() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![
        proptest::sample::select(vec![
            1,
            2,
            3,
            u64::MAX,
            1 << 32,
            (1 << 32) + 1,
            (1 << 32) - 1,
            1 << 50
        ]),
        (0u32..=50).prop_map(|shift| 1u64 << shift),
        any::<u64>().prop_map(|n| n | 1),
    ]
}

fn lines() -> impl Strategy<Value = Line> {
    let rate = prop_oneof![
        proptest::sample::select(vec![0.1, 0.29, 0.3, 0.5, 0.7, 0.9]),
        0.1..0.9f64,
    ];
    (any_u64(), any_u64(), step(), 0u8..6, rate).prop_map(|(seed, id, step, kind, rate)| {
        // Which way the line runs: along the ids of one seed, along the seeds
        // of one id, a diagonal, an anti-diagonal, an xor line, or any slope.
        let (seed_step, id_step, xor) = match kind {
            0 => (0, step, false),
            1 => (step, 0, false),
            2 => (step, step, false),
            3 => (step, step.wrapping_neg(), false),
            4 => (step, step, true),
            _ => (step, step.rotate_left(17) | 1, false),
        };
        Line {
            seed,
            id,
            seed_step,
            id_step,
            xor,
            rate,
        }
    })
}

/// A text a job may fail with: empty, plain, any Unicode, several lines, long,
/// or one that looks like a panic already.
fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        proptest::sample::select(vec![
            String::new(),
            "disk full".to_string(),
            "panicked: not really".to_string(),
            "line one\nline two".to_string(),
            "x".repeat(500),
        ]),
        "[a-z ]{1,16}",
        "\\PC{0,24}",
    ]
}

/// The texts of panics with a `&'static str` payload (`panic!("a literal")`).
const LITERALS: [&str; 5] = [
    "",
    "out of paper",
    "ünïcödé ✓",
    "panicked: nested",
    "two\nlines",
];

/// How one job ends.
#[derive(Debug, Clone)]
enum Ending {
    /// `Ok(())`.
    Done,
    /// `Err(text)`.
    Error(String),
    /// `panic!("literal")`: a `&'static str` payload.
    PanicStr(&'static str),
    /// `panic!("{text}")`: a `String` payload.
    PanicString(String),
    /// `std::panic::resume_unwind(Box::new(text))`: a `String` payload, no hook.
    Resumed(String),
    /// `std::panic::panic_any(…)` with a payload that is not text.
    PanicOther(u8),
}

fn ending() -> impl Strategy<Value = Ending> + Clone {
    prop_oneof![
        2 => text().prop_map(Ending::Error),
        1 => proptest::sample::select(LITERALS.to_vec()).prop_map(Ending::PanicStr),
        1 => text().prop_map(Ending::PanicString),
        1 => text().prop_map(Ending::Resumed),
        1 => (0u8..4).prop_map(Ending::PanicOther),
    ]
}

/// Mostly `Done`, the rest drawn from every way a job can fail.
fn pool_ending() -> impl Strategy<Value = Ending> + Clone {
    prop_oneof![3 => Just(Ending::Done), 2 => ending()]
}

impl Ending {
    /// Ends the job this way.
    fn end(&self) -> Result<(), String> {
        match self {
            Ending::Done => Ok(()),
            Ending::Error(text) => Err(text.clone()),
            Ending::PanicStr(text) => std::panic::panic_any(*text),
            Ending::PanicString(text) => panic!("{text}"),
            Ending::Resumed(text) => std::panic::resume_unwind(Box::new(text.clone())),
            Ending::PanicOther(0) => std::panic::panic_any(42_i32),
            Ending::PanicOther(1) => std::panic::panic_any(()),
            Ending::PanicOther(2) => std::panic::panic_any(vec![1_u8, 2, 3]),
            Ending::PanicOther(_) => std::panic::panic_any(Box::new(2.5_f64)),
        }
    }

    /// What `run_one` must answer: `None` for `Ok`; the error, or for a
    /// payload that is not text only how it starts.
    fn expected(&self) -> Option<Expected> {
        match self {
            Ending::Done => None,
            Ending::Error(text) => Some(Expected::Exactly(text.clone())),
            Ending::PanicStr(text) => Some(Expected::Exactly(format!("panicked: {text}"))),
            Ending::PanicString(text) | Ending::Resumed(text) => {
                Some(Expected::Exactly(format!("panicked: {text}")))
            }
            Ending::PanicOther(_) => Some(Expected::Panicked),
        }
    }

    fn how(&self) -> &'static str {
        match self {
            Ending::Done => "returned Ok(())",
            Ending::Error(_) => "returned Err — its own error comes back as it is, unchanged",
            Ending::PanicStr(_) => {
                "panicked with a literal — a &'static str payload: \"panicked: \" and that text"
            }
            Ending::PanicString(_) => {
                "panicked with a formatted message — a String payload: \"panicked: \" and that text"
            }
            Ending::Resumed(_) => {
                "unwound with a String payload (resume_unwind): \"panicked: \" and that text"
            }
            Ending::PanicOther(_) => {
                "panicked with a payload that is not text (panic_any(42)): still an error starting \
                 with \"panicked: \", never a panic out of run_one"
            }
        }
    }
}

/// What an error must be.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Exactly(String),
    /// Starts with "panicked: ": the payload has no text to show.
    Panicked,
}

impl Expected {
    fn matches(&self, got: &str) -> bool {
        match self {
            Expected::Exactly(text) => got == text,
            Expected::Panicked => got.starts_with("panicked: "),
        }
    }
}

/// The chapter's section "Reproducible failures".
mod s1_reproducible_failures {
    use super::*;

    #[test]
    fn the_same_seed_fails_the_same_items_in_any_order_and_thread() {
        let forwards = failing_ids(7, 0.3, 0..500);
        let backwards = failing_ids(7, 0.3, (0..500).rev());
        let elsewhere = failing_ids(7, 0.3, 0..500);
        assert!(
            !forwards.is_empty(),
            "at rate 0.3 some of 500 items must fail"
        );
        assert_eq!(
            forwards, backwards,
            "asking in another order changed which items fail: is the answer drawn from one shared stream?"
        );
        assert_eq!(
            forwards, elsewhere,
            "asking from another thread changed which items fail: is the generator seeded from (seed, id)?"
        );
    }

    #[test]
    fn another_seed_fails_other_items() {
        assert_ne!(
            failing_ids(1, 0.3, 0..500),
            failing_ids(2, 0.3, 0..500),
            "the seed must matter"
        );
    }

    #[test]
    fn neighbouring_seeds_fail_unrelated_items() {
        // `seed + id` makes seed 2 fail what seed 1 fails one id later; `seed ^ id`
        // makes it fail what seed 1 fails at id ^ 3. Either way two "different"
        // runs fail nearly the same items.
        let one = failing_ids(1, 0.3, 0..600);
        let two = failing_ids(2, 0.3, 0..500);
        let shifted: BTreeSet<u64> = one
            .iter()
            .filter(|&&id| id >= 1)
            .map(|id| id - 1)
            .filter(|&id| id < 500)
            .collect();
        let swapped: BTreeSet<u64> = one.iter().map(|id| id ^ 3).filter(|&id| id < 500).collect();
        for (relation, related) in [("one id later", &shifted), ("at id ^ 3", &swapped)] {
            let shared = two.intersection(related).count();
            assert!(
                shared * 2 < two.len(),
                "seed 2 fails {shared} of its {} items exactly where seed 1 fails {relation}: seed and id are \
                 combined so that one seed is the other moved over. Mix the id first (multiply it by a large odd \
                 constant) and then combine it with the seed",
                two.len()
            );
        }
        // `seed | id` makes seeds 0 and 1 agree on every odd id.
        let zero = failing_ids(0, 0.3, 0..500);
        let one = failing_ids(1, 0.3, 0..500);
        let shared = zero.intersection(&one).count();
        assert!(
            shared * 2 < zero.len(),
            "seeds 0 and 1 fail {shared} of seed 0's {} items at the very same ids: the seed barely changes the \
             generator's seed (is it combined with | or &?)",
            zero.len()
        );
    }

    #[test]
    fn the_number_of_failures_follows_the_rate() {
        // Binomial(10000, 0.1): mean 1000, standard deviation 30. Allow 5 of them.
        // Seed 0 included: `seed * id` makes every id of seed 0 draw the same number.
        for seed in [0, 42] {
            let failed = failing_ids(seed, 0.1, 0..10_000).len();
            assert!(
                (850..=1150).contains(&failed),
                "with seed {seed}, {failed} of 10000 items failed at rate 0.1; expected about 1000"
            );
        }
    }

    #[test]
    fn rates_of_zero_and_one_are_never_and_always() {
        assert!(
            failing_ids(3, 0.0, 0..1000).is_empty(),
            "rate 0 must never fail"
        );
        assert_eq!(
            failing_ids(3, 1.0, 0..1000).len(),
            1000,
            "rate 1 must always fail"
        );
    }

    #[test]
    fn rates_of_zero_and_one_are_never_and_always_for_every_seed_and_id() {
        // Exactly, for seeds and ids anywhere in u64: 0 (and -0.0, which equals
        // it) never fails, 1 always does.
        oracle::check(200, (any_u64(), any_u64()), |(seed, id)| {
            let answers = finishes("fails(seed, id, 0 / -0 / 1)", ONE_NUMBER, move || {
                (
                    fails(seed, id, 0.0),
                    fails(seed, id, -0.0),
                    fails(seed, id, 1.0),
                )
            });
            match answers {
                (false, false, true) => Ok(()),
                (zero, minus_zero, one) => Err(format!(
                    "fails(seed {seed}, id {id}, rate 0.0 / -0.0 / 1.0) said {zero} / {minus_zero} / \
                     {one}: a rate of 0 never fails and a rate of 1 always does — compare a number \
                     drawn from [0, 1) with `<` (`rng.random::<f64>() < rate`)"
                )),
            }
        });
    }

    #[test]
    fn fails_depends_on_seed_id_and_rate_alone() {
        // The same questions asked in order, in reverse, each twice in a row,
        // spread over several threads asking at once, and between other
        // questions: every answer must be the same. One generator shared by
        // all, one per thread, or one that keeps its state between calls
        // answers by the order of asking instead.
        let queries =
            proptest::collection::vec((any_u64(), any_u64(), oracle::draw::probability()), 1..24)
                .prop_flat_map(|queries| {
                    let again = queries.clone();
                    (Just(queries), Just(again).prop_shuffle(), 2usize..=4)
                });
        oracle::check(40, queries, |(queries, shuffled, threads)| {
            let ask = |queries: Vec<(u64, u64, f64)>| -> Vec<bool> {
                finishes("fails(…) on a list of questions", ONE_NUMBER, move || {
                    queries
                        .iter()
                        .map(|&(seed, id, rate)| fails(seed, id, rate))
                        .collect()
                })
            };
            let in_order = ask(queries.clone());
            let mut reversed = ask(queries.iter().rev().copied().collect());
            reversed.reverse();
            let twice = ask(queries.iter().flat_map(|&q| [q, q]).collect());
            // Between the questions: others, and the same seed and id at rates
            // 1 and 0 (the answer depends on the rate too).
            let with_others_between = ask(queries
                .iter()
                .enumerate()
                .flat_map(|(at, &q)| {
                    [
                        (q.0 ^ 0x55, at as u64, 0.5),
                        (q.0, q.1, 1.0),
                        q,
                        (q.0, q.1, 0.0),
                        (at as u64, q.1, 0.7),
                    ]
                })
                .collect());
            // Several threads at once, each a share of the shuffled questions.
            let chunk = shuffled.len().div_ceil(threads);
            let askers: Vec<_> = shuffled
                .chunks(chunk)
                .map(|share| {
                    let share = share.to_vec();
                    thread::spawn(move || {
                        share
                            .iter()
                            .map(|&(seed, id, rate)| {
                                ((seed, id, rate.to_bits()), fails(seed, id, rate))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let at_once: Vec<((u64, u64, u64), bool)> =
                join_all(askers, "threads asking fails(…) at once", ONE_NUMBER).concat();
            for (at, &(seed, id, rate)) in queries.iter().enumerate() {
                let first = in_order[at];
                let differs = |other: bool, how: &str| -> Result<(), String> {
                    if other == first {
                        Ok(())
                    } else {
                        Err(format!(
                            "fails(seed {seed}, id {id}, rate {rate}) said {first} when the questions \
                             were asked in order, {other} when {how}: the answer must depend on the seed, \
                             the id and the rate alone — give each item a generator of its own, seeded \
                             from (seed, id), not one shared stream (or one per thread) whose next \
                             number depends on who asked before"
                        ))
                    }
                };
                differs(reversed[at], "they were asked in reverse")?;
                differs(
                    twice[2 * at],
                    "each was asked twice in a row (the first time)",
                )?;
                differs(
                    twice[2 * at + 1],
                    "each was asked twice in a row (the second time)",
                )?;
                differs(
                    with_others_between[5 * at + 2],
                    "other questions were asked in between (the same seed and id at rates 1 and 0 among them)",
                )?;
                if (
                    with_others_between[5 * at + 1],
                    with_others_between[5 * at + 3],
                ) != (true, false)
                {
                    return Err(format!(
                        "fails(seed {seed}, id {id}, …) said {} at rate 1 and {} at rate 0, asked among \
                         other questions: rate 1 always fails and rate 0 never does — the answer depends \
                         on the rate too (a cache of answers by seed and id alone ignores it)",
                        with_others_between[5 * at + 1],
                        with_others_between[5 * at + 3]
                    ));
                }
                for (_, answer) in at_once
                    .iter()
                    .filter(|(q, _)| *q == (seed, id, rate.to_bits()))
                {
                    differs(*answer, &format!("{threads} threads asked at once"))?;
                }
            }
            Ok(())
        });
    }

    /// The questions the next test asks in two processes.
    fn questions() -> Vec<(u64, u64, f64)> {
        let mut questions = Vec::new();
        for seed in [0, 1, 2, 42, 1 << 32, u64::MAX] {
            for id in (0..24).chain([1 << 32, u64::MAX - 1, u64::MAX]) {
                for rate in [0.1, 0.29, 0.5, 0.9] {
                    questions.push((seed, id, rate));
                }
            }
        }
        questions
    }

    /// The variable that tells this test binary it is the second process.
    const SECOND_RUN: &str = "LESSON_05_FAILS_SECOND_RUN";
    const ANSWERS: &str = "answers: ";

    #[test]
    fn the_same_seed_fails_the_same_items_in_another_run() {
        // "On every run": the test binary runs this test again in a second
        // process and compares. A generator seeded from the clock, from an
        // address, or from a random number drawn once per process, agrees with
        // itself inside one run and not across two.
        let mine: String = finishes("fails(…) on 744 questions", ONE_NUMBER, || {
            let mut answers: Vec<char> = questions()
                .iter()
                .rev()
                .map(|&(seed, id, rate)| if fails(seed, id, rate) { '1' } else { '0' })
                .collect();
            answers.reverse();
            answers.into_iter().collect()
        });
        if std::env::var_os(SECOND_RUN).is_some() {
            println!("\n{ANSWERS}{mine}");
            return;
        }
        let name = "s1_reproducible_failures::the_same_seed_fails_the_same_items_in_another_run";
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut second = Command::new(exe)
            .args([name, "--exact", "--nocapture", "--test-threads", "1"])
            .env(SECOND_RUN, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the test could not run its own binary again");
        let deadline = Instant::now() + Duration::from_secs(30);
        let finished = loop {
            if second
                .try_wait()
                .expect("waiting for the second run")
                .is_some()
            {
                break true;
            }
            if Instant::now() >= deadline {
                let _ = second.kill();
                let _ = second.wait();
                break false;
            }
            thread::sleep(Duration::from_millis(5));
        };
        assert!(
            finished,
            "the second run of this test did not finish in 30 s: {ONE_NUMBER}"
        );
        let output = second.wait_with_output().expect("the second run's output");
        let text = String::from_utf8_lossy(&output.stdout);
        let theirs = text
            .lines()
            .find_map(|line| line.split_once(ANSWERS).map(|(_, answers)| answers))
            .unwrap_or_else(|| panic!("the second run printed no answers: {text}"));
        let questions = questions();
        let differ: Vec<String> = questions
            .iter()
            .zip(mine.chars().zip(theirs.chars()))
            .filter(|(_, (a, b))| a != b)
            .map(|((seed, id, rate), (a, _))| {
                format!(
                    "fails({seed}, {id}, {rate}) = {} then {}",
                    a == '1',
                    a != '1'
                )
            })
            .collect();
        assert!(
            differ.is_empty() && mine.len() == theirs.len(),
            "{} of {} answers changed from one run of the program to the next ({}): the same seed \
             must fail the same items on every run — seed the generator from (seed, id) alone, not \
             from the clock, an address, or a random number drawn once per process",
            differ.len(),
            questions.len(),
            preview(&differ)
        );
    }

    #[test]
    fn along_every_line_of_seeds_and_ids_the_failures_follow_the_rate() {
        // For a fixed seed over many ids, for a fixed id over many seeds, and
        // along diagonals, anti-diagonals, xor lines and strides of 2^32, the
        // number of failures is Binomial(1000, rate): within its bounds.
        oracle::check(100, lines(), |line| {
            let counted = {
                let line = line.clone();
                finishes(
                    &format!("fails(…) along {}", line.shown()),
                    ONE_NUMBER,
                    move || {
                        (0..LINE_POINTS)
                            .filter(|&k| {
                                let (seed, id) = line.point(k);
                                fails(seed, id, line.rate)
                            })
                            .count() as u64
                    },
                )
            };
            let (low, high) = binomial_bounds(LINE_POINTS, line.rate);
            if (low..=high).contains(&(counted as f64)) {
                Ok(())
            } else {
                Err(format!(
                    "along {}, {counted} failed at rate {}; about {:.0} should (between {:.0} and \
                     {:.0}): seed and id are combined so that different pairs draw the same number. \
                     Mix the id first (multiply it by a large odd constant, wrapping), combine it \
                     with the whole seed, and keep all 64 bits of both",
                    line.shown(),
                    line.rate,
                    LINE_POINTS as f64 * line.rate,
                    low.max(0.0),
                    high
                ))
            }
        });
    }

    #[test]
    fn a_rate_that_is_not_round_fails_that_share_of_items() {
        // 200 000 items per rate, rates below a whole percent, below one in a
        // thousand, and a hair under 1: the count is Binomial(200000, rate). A
        // rate compared in whole percent or per mille, or rounded, is off by
        // far more than the bounds allow.
        const ITEMS: u64 = 200_000;
        let cases: [(u64, f64, u64); 7] = [
            (0, 0.00049, 0),
            (u64::MAX, 0.004, 0),
            (7, 0.0371, u64::MAX - ITEMS),
            (1 << 40, 0.29, 0),
            (3, 0.5049, 1 << 33),
            (11, 0.9937, 0),
            (u64::MAX - 5, 0.9995, 0),
        ];
        for (seed, rate, first_id) in cases {
            let counted = finishes(
                &format!("fails(seed {seed}, …, rate {rate}) on {ITEMS} items"),
                ONE_NUMBER,
                move || {
                    (first_id..first_id + ITEMS)
                        .filter(|&id| fails(seed, id, rate))
                        .count() as u64
                },
            );
            let (low, high) = binomial_bounds(ITEMS, rate);
            assert!(
                (low..=high).contains(&(counted as f64)),
                "with seed {seed}, {counted} of {ITEMS} items (ids from {first_id}) failed at rate \
                 {rate}; about {:.0} should (between {:.0} and {:.0}): compare the rate itself, as an \
                 f64, with a number drawn uniformly from [0, 1) — not rounded to whole percent or \
                 per mille",
                ITEMS as f64 * rate,
                low.max(0.0),
                high
            );
        }
    }
}

/// The chapter's section "Containing a panic".
mod s2_containing_a_panic {
    use super::*;

    #[test]
    fn an_error_comes_back_as_it_is() {
        let job: Job = Arc::new(|_| Err("disk full".to_string()));
        assert_eq!(
            run_one_watched(job, 1),
            Err("disk full".to_string()),
            "a job's own error comes back unchanged"
        );
        let ok: Job = Arc::new(|_| Ok(()));
        assert_eq!(run_one_watched(ok, 1), Ok(()));
    }

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        // panic!("… {id}") carries a String; panic!("a literal") carries a &str.
        let job: Job = Arc::new(|id| panic!("cannot handle item {id}"));
        assert_eq!(
            run_one_watched(job, 4),
            Err("panicked: cannot handle item 4".to_string()),
            "a panic with a formatted message (a String payload)"
        );
        let job: Job = Arc::new(|_| panic!("out of paper"));
        assert_eq!(
            run_one_watched(job, 4),
            Err("panicked: out of paper".to_string()),
            "a panic with a literal message carries a &'static str, not a String: read both"
        );
    }

    #[test]
    fn run_one_runs_the_job_once() {
        for outcome in ["ok", "error", "panic"] {
            let calls = Arc::new(AtomicU64::new(0));
            let counted = Arc::clone(&calls);
            let job: Job = Arc::new(move |_| {
                counted.fetch_add(1, Ordering::SeqCst);
                match outcome {
                    "ok" => Ok(()),
                    "error" => Err("no".to_string()),
                    _ => panic!("no"),
                }
            });
            let _ = run_one_watched(job, 0);
            assert_eq!(
                calls.load(Ordering::SeqCst),
                1,
                "run_one ran a job that ends with {outcome:?} more than once: call it once, inside catch_unwind, \
                 and use that one result — a job may send an email or charge a card"
            );
        }
    }

    #[test]
    fn every_way_a_job_ends_comes_back_as_the_contract_says() {
        // Ok, Err with any text, a panic with a &str, with a String, unwound
        // with a String, or with a payload that is not text — for any id. The
        // job runs once, on that id; nothing unwinds out of run_one.
        let cases = (
            prop_oneof![1 => Just(Ending::Done), 5 => ending()],
            any_u64(),
        );
        oracle::check(150, cases, |(ending, id)| {
            let calls: Log<u64> = Log::new();
            let job: Job = {
                let (calls, ending) = (calls.clone(), ending.clone());
                Arc::new(move |given| {
                    calls.push(given);
                    ending.end()
                })
            };
            let outcome = finishes(
                "run_one",
                "run_one runs one job once: it has nothing to wait for",
                move || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&job, id)))
                },
            );
            let how = ending.how();
            let Ok(got) = outcome else {
                return Err(format!(
                    "a job that {how} made run_one itself panic: catch the job's panic with \
                     std::panic::catch_unwind, read its payload with downcast_ref (&str, then String) \
                     and give every other payload a message of its own — nothing may unwind out of \
                     run_one"
                ));
            };
            if calls.entries() != [id] {
                return Err(format!(
                    "run_one(job, {id}) called the job with {:?}: call it exactly once, with the id \
                     given — a job may send an email or charge a card",
                    calls.entries()
                ));
            }
            let right = match (&got, ending.expected()) {
                (Ok(()), None) => true,
                (Err(error), Some(expected)) => expected.matches(error),
                _ => false,
            };
            if right {
                Ok(())
            } else {
                Err(format!(
                    "a job that {how} ({ending:?}) came back from run_one as {got:?}, expected {}",
                    match ending.expected() {
                        None => "Ok(())".to_string(),
                        Some(Expected::Exactly(text)) => format!("Err({text:?})"),
                        Some(Expected::Panicked) =>
                            "an Err starting with \"panicked: \"".to_string(),
                    }
                ))
            }
        });
    }
}

/// One pool run of a property: the pool's report, and what the jobs did.
struct Observed {
    report: Report,
    called: Vec<u64>,
    ended: Vec<u64>,
    threads: usize,
}

/// Runs `run_pool(endings.len(), consumers, …)` under the watchdog with a job
/// that logs its call, pauses where `pauses` says, logs its end and ends as
/// `endings` says for its item.
fn observe(consumers: usize, endings: &[Ending], pauses: &Script) -> Observed {
    let items = endings.len() as u64;
    let (called, ended) = (Log::new(), Log::new());
    let threads: Log<ThreadId> = Log::new();
    let job: Job = {
        let (called, ended, threads) = (called.clone(), ended.clone(), threads.clone());
        let (endings, pauses) = (endings.to_vec(), pauses.clone());
        Arc::new(move |id| {
            called.push(id);
            threads.push(thread::current().id());
            pauses.perform(id, &format!("job({id})"));
            ended.push(id);
            endings[id as usize].end()
        })
    };
    let report = finishes(
        &format!("run_pool({items} items, {consumers} consumers)"),
        DEAD_WORKER,
        move || run_pool(0..items, consumers, job),
    );
    let threads: HashSet<ThreadId> = threads.entries().into_iter().collect();
    Observed {
        report,
        called: called.entries(),
        ended: ended.entries(),
        threads: threads.len(),
    }
}

/// What the report must say, item by item, for jobs that ended as `endings`.
fn check_report(
    what: &str,
    consumers: usize,
    endings: &[Ending],
    seen: &Observed,
) -> Result<(), String> {
    let items = endings.len() as u64;
    check_each_exactly_once(
        0..items,
        seen.called.iter().copied(),
        &format!("{what}: items whose job was called (each job runs once)"),
    )?;
    check_each_exactly_once(
        0..items,
        seen.ended.iter().copied(),
        &format!(
            "{what}: items whose job had ended when run_pool returned (join every worker first)"
        ),
    )?;
    if seen.threads > consumers {
        return Err(format!(
            "{what}: jobs ran on {} threads, more than the {consumers} consumers asked for",
            seen.threads
        ));
    }
    let report = &seen.report;
    let failing: Vec<u64> = (0..items)
        .filter(|&id| endings[id as usize].expected().is_some())
        .collect();
    let completed = items - failing.len() as u64;
    if report.completed + report.failed != items {
        return Err(format!(
            "{what}: completed {} + failed {} = {}, but {items} items were produced: every item is \
             completed or failed, once",
            report.completed,
            report.failed,
            report.completed + report.failed
        ));
    }
    if (report.completed, report.failed) != (completed, failing.len() as u64) {
        return Err(format!(
            "{what}: the report says {} completed and {} failed; the jobs say {completed} and {} \
             (failed: every Err and every panic, each once)",
            report.completed,
            report.failed,
            failing.len()
        ));
    }
    let ids: Vec<u64> = report.errors.iter().map(|(id, _)| *id).collect();
    if ids != failing {
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        if sorted == failing {
            return Err(format!(
                "{what}: errors lists the right items in the order {}: sort them by item after \
                 merging every worker's list",
                preview(&ids)
            ));
        }
        check_each_exactly_once(
            failing.iter().copied(),
            ids.iter().copied(),
            &format!("{what}: the items in errors (every failed item once, from every worker)"),
        )?;
    }
    for (id, error) in &report.errors {
        let ending = &endings[*id as usize];
        let expected = ending.expected().expect("only failed items are listed");
        if !expected.matches(error) {
            return Err(format!(
                "{what}: item {id}'s job {} ({ending:?}), and errors says {error:?}",
                ending.how()
            ));
        }
    }
    Ok(())
}

/// The chapter's section "A pool that survives".
mod s3_a_pool_that_survives {
    use super::*;

    #[test]
    fn a_panicking_job_does_not_stop_its_worker() {
        // One worker: if it dies, nobody takes the remaining items.
        let job: Job = Arc::new(|id| {
            if id % 10 == 3 {
                panic!("item {id} is cursed")
            } else {
                Ok(())
            }
        });
        let report = pool(100, 1, job);
        assert_eq!(
            (report.completed, report.failed),
            (90, 10),
            "90 items succeed and 10 panic"
        );
    }

    #[test]
    fn completed_plus_failed_equals_produced() {
        let report = pool(500, 4, flaky_job(11, 0.3));
        let expected = failing_ids(11, 0.3, 0..500).len() as u64;
        assert_eq!(
            report.failed, expected,
            "the seed says {expected} items fail; each failure is counted once"
        );
        assert_eq!(
            report.completed + report.failed,
            500,
            "every produced item is completed or failed, once"
        );
    }

    #[test]
    fn each_failure_names_its_item_and_reason() {
        let report = pool(200, 3, flaky_job(5, 0.2));
        let ids: Vec<u64> = report.errors.iter().map(|(id, _)| *id).collect();
        let expected: Vec<u64> = failing_ids(5, 0.2, 0..200).into_iter().collect();
        assert_eq!(
            ids, expected,
            "errors lists every failed item once, sorted by item"
        );
        assert!(
            report
                .errors
                .iter()
                .all(|(id, why)| why == &format!("item {id} failed")),
            "each error keeps the job's message"
        );
    }

    #[test]
    fn every_consumer_asked_for_runs_jobs_at_the_same_time() {
        // The first 3 jobs wait (up to 3 s) until 3 are running at once (lesson_support::Overlap).
        const CONSUMERS: usize = 3;
        let overlap = Arc::new(Overlap::new(CONSUMERS));
        let inside = Arc::clone(&overlap);
        let job: Job = Arc::new(move |_| {
            inside.work();
            Ok(())
        });
        let report = pool(10, CONSUMERS, job);
        let most = overlap.most();
        assert_eq!(
            most, CONSUMERS,
            "at most {most} jobs ran at once with {CONSUMERS} consumers asked for: start exactly `consumers` \
             threads, all taking from the one queue"
        );
        assert_eq!((report.completed, report.failed), (10, 0));
    }

    #[test]
    fn every_workers_failures_are_merged_and_sorted_by_item() {
        // Items 0, 3, 6, 9 and 12 fail (6 by panicking). The worker that takes
        // item 0 holds it until the other has done 7 items (3 and 6 among them);
        // then the other waits at its next item from 8 on until the first has
        // failed 9 or 12. So each worker ends with failures below and above the
        // other's: merged worker by worker, the list is out of order whichever
        // worker is joined first — in every run.
        #[derive(Default)]
        struct Turns {
            first: Option<ThreadId>,
            done_by_other: u64,
            first_failed_late: bool,
        }
        let turns = Arc::new((Mutex::new(Turns::default()), Condvar::new()));
        let job: Job = Arc::new(move |id| {
            let (state, changed) = &*turns;
            let me = thread::current().id();
            let mut state = state.lock().unwrap();
            if id == 0 {
                state.first = Some(me);
                state = changed
                    .wait_timeout_while(state, Duration::from_secs(3), |s| s.done_by_other < 7)
                    .unwrap()
                    .0;
            } else if id >= 8 && state.first != Some(me) {
                state = changed
                    .wait_timeout_while(state, Duration::from_secs(3), |s| !s.first_failed_late)
                    .unwrap()
                    .0;
            }
            if state.first == Some(me) {
                state.first_failed_late |= id >= 9 && id % 3 == 0;
            } else {
                state.done_by_other += 1;
            }
            changed.notify_all();
            drop(state); // a panic below must not poison the lock
            match id {
                6 => panic!("item 6 jammed"),
                _ if id % 3 == 0 => Err(format!("item {id} is a multiple of 3")),
                _ => Ok(()),
            }
        });
        let report = pool(14, 2, job);
        let expected: Vec<(u64, String)> = (0..14)
            .filter(|id| id % 3 == 0)
            .map(|id| {
                let why = if id == 6 {
                    "panicked: item 6 jammed".to_string()
                } else {
                    format!("item {id} is a multiple of 3")
                };
                (id, why)
            })
            .collect();
        assert_eq!(
            report.errors, expected,
            "errors lists every failed item once — from every worker, a panic as \"panicked: …\" — sorted by item \
             after merging"
        );
        assert_eq!(
            (report.completed, report.failed),
            (9, 5),
            "9 items succeed, 4 fail with an error and 1 panics: each counted once"
        );
    }

    #[test]
    fn a_pool_reports_every_item_as_its_job_ended() {
        // Items from none to past any queue's size, 1 to 6 consumers (more
        // than items too), jobs that end in every way a job can and pause on
        // a few items: the report must say, item by item, what the jobs did.
        let cases = (
            prop_oneof![
                4 => oracle::draw::count(40),
                1 => Just(0u64),
                1 => 41u64..120,
            ],
            oracle::draw::size(1, 6),
        )
            .prop_flat_map(|(items, consumers)| {
                (
                    proptest::collection::vec(pool_ending(), items as usize),
                    Just(consumers),
                    proptest::collection::vec((0u64..40, 1u64..8), 0..3),
                )
            });
        oracle::check(48, cases, |(endings, consumers, pauses)| {
            let script = pauses
                .into_iter()
                .fold(Script::new(), |script, (item, ms)| {
                    script.at(item, Act::Pause(Duration::from_millis(ms)))
                });
            let seen = observe(consumers, &endings, &script);
            check_report(
                &format!("run_pool({} items, {consumers} consumers)", endings.len()),
                consumers,
                &endings,
                &seen,
            )
        });
    }

    #[test]
    fn a_long_run_counts_every_item_once() {
        // 5000 items, 3 workers: failures from every worker, far apart.
        let sparse: Vec<Ending> = (0..5000u64)
            .map(|id| match id % 97 {
                3 => Ending::Error(format!("item {id} is bad")),
                50 if id % 2 == 0 => Ending::PanicString(format!("item {id} jammed")),
                _ => Ending::Done,
            })
            .collect();
        // The other end of the failure share: nearly every item fails, so
        // each worker has hundreds of failures to keep, not a handful (the
        // panics stay few: each prints a line).
        let dense: Vec<Ending> = (0..5000u64)
            .map(|id| match (id % 7, id % 499) {
                (0, _) => Ending::Done,
                (_, 3) => Ending::PanicString(format!("item {id} jammed")),
                _ => Ending::Error(format!("item {id} is bad")),
            })
            .collect();
        for (share, endings) in [("few", sparse), ("nearly all", dense)] {
            let seen = observe(3, &endings, &Script::new());
            let asked = format!("run_pool(5000 items, 3 consumers), {share} of them failing");
            if let Err(message) = check_report(&asked, 3, &endings, &seen) {
                panic!("{message}");
            }
        }
    }

    #[test]
    fn run_pool_starts_exactly_the_consumers_asked_for_whatever_the_count() {
        // Every job waits at a gate: exactly `consumers` of them must arrive,
        // whatever the count — not one fewer, not one more.
        let cases = (oracle::draw::size(1, 8), 0u64..4);
        oracle::check(12, cases, |(consumers, extra)| {
            let items = consumers as u64 + 1 + extra;
            let gate = Gate::new();
            let job: Job = {
                let gate = gate.clone();
                Arc::new(move |_| {
                    gate.pass();
                    Ok(())
                })
            };
            let running = thread::spawn(move || run_pool(0..items, consumers, job));
            let waited = wait_briefly(&running, Duration::from_secs(3), || {
                gate.waiting() >= consumers
            });
            thread::sleep(Duration::from_millis(30)); // one too many would arrive now
            let arrived = gate.waiting();
            gate.open();
            let asked = format!("run_pool({items} items, {consumers} consumers)");
            let report = if waited == Waited::Exited {
                join_finished(running) // a panic (a todo!()) comes out here
            } else {
                join_all(vec![running], "run_pool", DEAD_WORKER).remove(0)
            };
            match waited {
                Waited::Exited => Err(format!(
                    "{asked} returned while jobs were still running: join every worker before returning"
                )),
                Waited::GaveUp => Err(format!(
                    "{asked}: only {arrived} jobs were ever running at once — start exactly `consumers` \
                     workers, all taking from the one queue (no min/max with another count)"
                )),
                Waited::Met if arrived > consumers => Err(format!(
                    "{asked}: {arrived} jobs were running at once — more workers than asked for"
                )),
                Waited::Met if report.completed != items || report.failed != 0 => Err(format!(
                    "{asked}: {items} jobs returned Ok, and the report says {} completed, {} failed",
                    report.completed, report.failed
                )),
                Waited::Met => Ok(()),
            }
        });
    }

    #[test]
    fn the_producer_takes_an_item_only_when_the_queue_has_room() {
        // Every job waits at a gate: while each worker holds one item, the
        // producer fills the queue, takes one more item and waits in send —
        // consumers + CAPACITY + 1 taken from an iterator that counts, no more
        // and no fewer. A queue bigger (unbounded, sized by the items) or
        // smaller than CAPACITY, or items taken ahead of the room, shows.
        const ITEMS: u64 = 200;
        let jobs = [1usize, 2, 5]
            .into_iter()
            .map(|consumers| {
                let asked = format!("run_pool({ITEMS} items, {consumers} consumers)");
                let named = asked.clone();
                let job = move || {
                    let full = consumers as u64 + CAPACITY as u64 + 1;
                    let gate = Gate::new();
                    let tally = Tally::new();
                    let items = tally.count(0..ITEMS);
                    let job: Job = {
                        let gate = gate.clone();
                        Arc::new(move |_| {
                            gate.pass();
                            Ok(())
                        })
                    };
                    let running = thread::spawn(move || run_pool(items, consumers, job));
                    let waited = wait_briefly(&running, Duration::from_secs(3), || {
                        gate.waiting() >= consumers && tally.taken() >= full
                    });
                    thread::sleep(Duration::from_millis(50)); // would it take more?
                    let seen = tally.taken();
                    gate.open();
                    let report = if waited == Waited::Exited {
                        join_finished(running) // a panic (a todo!()) comes out here
                    } else {
                        join_all(vec![running], "run_pool", DEAD_WORKER).remove(0)
                    };
                    assert!(
                        waited != Waited::Exited,
                        "{asked} returned while jobs were still running: join every worker \
                         before returning"
                    );
                    assert_eq!(
                        (report.completed, report.failed),
                        (ITEMS, 0),
                        "{asked}: {ITEMS} jobs returned Ok — (completed, failed)"
                    );
                    assert!(
                        seen <= full,
                        "{asked}: {seen} items were taken from `items` while each worker held \
                         one; {full} fit — one in each worker's hand, {CAPACITY} in the queue, \
                         one in the producer's waiting in send. Is the queue bounded(CAPACITY) \
                         — not unbounded, not sized by the items or the workers — and is each \
                         item taken only once the one before is sent?"
                    );
                    assert!(
                        seen >= full,
                        "{asked}: only {seen} items were taken from `items` though the workers \
                         were held for 3 s; {full} fit — one in each worker's hand, {CAPACITY} \
                         in the queue, one in the producer's waiting in send. Is the queue \
                         bounded(CAPACITY), and are all `consumers` workers taking from it?"
                    );
                };
                adversary::scenario(named, job)
            })
            .collect();
        adversary::concurrently(jobs);
    }

    #[test]
    fn a_held_worker_does_not_hold_up_the_others() {
        // While one worker is held on item 0, the others take every other item
        // from the one shared queue — and it still counts when it ends.
        let cases = (2usize..=4)
            .prop_flat_map(|consumers| (Just(consumers), (2 * consumers as u64 + 1)..=40));
        oracle::check(8, cases, |(consumers, items)| {
            let gate = Gate::new();
            let ended = Log::new();
            let job: Job = {
                let (gate, ended) = (gate.clone(), ended.clone());
                Arc::new(move |id| {
                    if id == 0 {
                        gate.pass();
                    }
                    ended.push(id);
                    if id % 5 == 4 {
                        Err(format!("item {id} is bad"))
                    } else {
                        Ok(())
                    }
                })
            };
            let running = thread::spawn(move || run_pool(0..items, consumers, job));
            let waited = wait_briefly(&running, Duration::from_secs(3), || {
                ended.len() as u64 == items - 1
            });
            let while_held = ended.entries();
            gate.open();
            let asked = format!("run_pool({items} items, {consumers} consumers)");
            if waited == Waited::Exited {
                let _report = join_finished(running); // a panic (a todo!()) comes out here
                return Err(format!(
                    "{asked} returned while item 0's job was still running: join every worker first"
                ));
            }
            let report = join_all(vec![running], "run_pool", DEAD_WORKER).remove(0);
            check_each_exactly_once(
                1..items,
                while_held,
                &format!(
                    "{asked}: items whose job ended while one worker was held on item 0 — the others \
                     must take every other item from the one shared queue, not wait for it"
                ),
            )?;
            let failed = (0..items).filter(|id| id % 5 == 4).count() as u64;
            if (report.completed, report.failed) != (items - failed, failed) {
                return Err(format!(
                    "{asked}: the report says {} completed and {} failed, the jobs say {} and {failed}",
                    report.completed,
                    report.failed,
                    items - failed
                ));
            }
            Ok(())
        });
    }
}

/// Every wait in the lesson meets a job that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. `run_one` waits for its job
/// however long it takes; a pool's producer waits for room while its only
/// worker is busy; the pool waits for its slowest job.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while (a job run on a thread with recv_timeout, \
        send_timeout, recv_timeout, a join with a deadline) ends while the work is still going: a slow \
        job is not a failed one";

    /// `run_one` on a job that stalls, then ends as `ending`.
    fn slow_job(ending: Ending) {
        let expected = ending.expected();
        let how = ending.how();
        let job: Job = Arc::new(move |_| {
            thread::sleep(STALL);
            ending.end()
        });
        let got = finishes_within(STALL_BUDGET, "run_one on a slow job", HINT, move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(&job, 9)))
        })
        .unwrap_or_else(|_| {
            panic!("the job's panic escaped run_one: catch it with std::panic::catch_unwind")
        });
        let right = match (&got, &expected) {
            (Ok(()), None) => true,
            (Err(error), Some(expected)) => expected.matches(error),
            _ => false,
        };
        assert!(
            right,
            "a job that took {STALL:?} and then {how} came back as {got:?}, expected {expected:?} — {HINT}"
        );
    }

    /// A pool whose job stalls on `stalled`: every item counted once, and
    /// `run_pool` returns only after the slow job ended.
    fn slow_pool(items: u64, consumers: usize, stalled: u64) {
        let endings: Vec<Ending> = (0..items)
            .map(|id| {
                if id % 4 == 1 {
                    Ending::Error(format!("item {id} is bad"))
                } else {
                    Ending::Done
                }
            })
            .collect();
        let (called, ended) = (Log::new(), Log::new());
        let job: Job = {
            let (called, ended, endings) = (called.clone(), ended.clone(), endings.clone());
            Arc::new(move |id| {
                called.push(id);
                if id == stalled {
                    thread::sleep(STALL);
                }
                ended.push(id);
                endings[id as usize].end()
            })
        };
        let what = format!(
            "run_pool({items} items, {consumers} consumers) whose job on item {stalled} takes {STALL:?}"
        );
        let report = finishes_within(STALL_BUDGET, &what, HINT, move || {
            run_pool(0..items, consumers, job)
        });
        let seen = Observed {
            report,
            called: called.entries(),
            ended: ended.entries(),
            threads: 0,
        };
        if let Err(message) = check_report(&what, consumers, &endings, &seen) {
            panic!("{message} — {HINT}");
        }
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "run_one on a job that takes seconds and succeeds",
                Box::new(|| slow_job(Ending::Done)),
            ),
            (
                "run_one on a job that takes seconds and fails",
                Box::new(|| slow_job(Ending::Error("late".to_string()))),
            ),
            (
                "run_one on a job that takes seconds and panics",
                Box::new(|| slow_job(Ending::PanicString("late and broken".to_string()))),
            ),
            (
                "a pool's producer waits for room while its only worker is busy",
                Box::new(|| slow_pool(300, 1, 0)),
            ),
            (
                "a pool waits for its slowest job",
                Box::new(|| slow_pool(30, 3, 29)),
            ),
        ]);
    }
}
