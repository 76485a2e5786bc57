//! Lesson 06 — per-worker statistics, timing the work, and sharing without races.
//!
//! The tests come in the chapter's order (`s2_…` is its section "A worker's
//! statistics"; the first section, the racy version, is the compiler's to
//! test). Each section has examples, then properties: the same check over many
//! drawn inputs — durations from 0 and a few nanoseconds to days, counts past
//! 4 294 967 295, from no worker at all to more workers than items — against an
//! answer that does not come from your code: a sum the test adds up itself, or
//! what the test's own `work` saw (which thread ran which item, and how long
//! the work on it took, measured inside `work`: your clock, around it, can
//! only see more).
//!
//! Every call into your code runs under a watchdog, also the ones made right
//! here on the test's own thread. The tests are the producer: they fill or pace
//! the queue each run reads, so waiting for an item can be told apart from
//! working on it. `s8_the_model_check` runs the loom models in tests/model.rs,
//! which call your update steps from several threads under *every*
//! interleaving — a lost update fails every time, not one run in fifty. Last,
//! `stall`: every wait meets a producer that goes quiet for seconds, longer
//! than any "safety" timeout, with one item whose work takes over a second.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use lesson_06::{
    AtomicTotals, Totals, Work, WorkerStats, consume, record_shared, run, run_with_atomic_totals,
    run_with_shared_totals,
};
use lesson_support::adversary::{self, Gate, STALL, STALL_BUDGET};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::sync::std::Mutex;
use lesson_support::{
    BUDGET, Log, Overlap, TimingSection, assert_each_exactly_once, check_each_exactly_once,
    finishes, finishes_within, join_finished, panic_message, preview,
};

const STUCK: &str = "the workers never stopped. A worker's loop must end when the queue is \
     closed and empty (`for item in queue`, or stop when recv() returns Err), every worker must \
     be started before any is joined, and no update may lock a mutex it already holds";
const QUICK: &str = "this call has nothing to wait for: is a lock taken twice, or a loop that \
     never ends?";

/// A queue already holding items `0..items`, and closed: the workers drain it and stop.
fn closed_queue(items: u64) -> Receiver<u64> {
    let (queue, inbox) = unbounded();
    for item in 0..items {
        queue.send(item).expect("the test holds the receiver");
    }
    inbox
}

/// A queue that gets item `0..items` one every `gap`, then closes: a worker
/// spends most of its time waiting for the next item.
fn paced_queue(items: u64, gap: Duration) -> (Receiver<u64>, JoinHandle<()>) {
    feed(
        (0..items).collect(),
        (0..items).map(|at| (at, gap)).collect(),
    )
}

/// A queue fed `items` by a producer thread that pauses before the positions
/// `pauses` names, then closes it (drops its Sender).
fn feed(items: Vec<u64>, pauses: Vec<(u64, Duration)>) -> (Receiver<u64>, JoinHandle<()>) {
    let (queue, inbox) = unbounded();
    let producer = thread::spawn(move || {
        for (at, item) in (0u64..).zip(items) {
            for (before, pause) in &pauses {
                if *before == at {
                    thread::sleep(*pause);
                }
            }
            // The test keeps a Receiver of its own: a send never fails.
            let _ = queue.send(item);
        }
    });
    (inbox, producer)
}

/// Work that sleeps `micros` on each item and logs which item it was given.
fn logged_sleep(micros: u64, log: &Log<u64>) -> Work {
    let log = log.clone();
    Arc::new(move |item| {
        thread::sleep(Duration::from_micros(micros));
        log.push(item);
    })
}

fn nothing() -> Work {
    Arc::new(|_| ())
}

/// Work that counts how many workers are inside `work(item)` at once (see
/// [`Overlap`]): a pool of three always gets three there; one that works one
/// at a time — a lock held across the work, workers joined as they are
/// started, a count ignored — never does, and one with extra workers goes past.
fn overlapping(overlap: &Arc<Overlap>) -> Work {
    let overlap = Arc::clone(overlap);
    Arc::new(move |_| overlap.work())
}

/// The two runs that share their totals, for tests that hold for both.
type TotalsRun = fn(Receiver<u64>, usize, Work) -> Totals;

// --- The oracle's side: what the work itself saw -------------------------------

/// What the test's `work` does with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    /// Returns at once (a few nanoseconds of work).
    Nothing,
    /// Keeps the processor busy this long (microseconds and less).
    Spin(Duration),
    /// Sleeps this long.
    Sleep(Duration),
}

/// One item's work, as `work` itself saw it: on which thread, and how long it
/// took from its first line to its last. The worker's own clock, started
/// before it calls `work` and stopped after, can only measure more.
#[derive(Debug, Clone)]
struct Done {
    thread: ThreadId,
    item: u64,
    inside: Duration,
}

/// Work that does `tasks[item]` (nothing for items not listed) and logs what
/// it saw in `log` — at the end, so the log holds only finished work.
fn timed_work(tasks: &HashMap<u64, Task>, log: &Log<Done>) -> Work {
    let (tasks, log) = (tasks.clone(), log.clone());
    Arc::new(move |item| {
        let entered = Instant::now();
        match tasks.get(&item).copied().unwrap_or(Task::Nothing) {
            Task::Nothing => {}
            Task::Spin(took) => {
                while entered.elapsed() < took {
                    std::hint::spin_loop();
                }
            }
            Task::Sleep(took) => thread::sleep(took),
        }
        let inside = entered.elapsed();
        log.push(Done {
            thread: thread::current().id(),
            item,
            inside,
        });
    })
}

/// Per thread that ran `work`: how many items, and how long their work took.
fn per_thread(done: &[Done]) -> Vec<(u64, Duration)> {
    let mut threads: HashMap<ThreadId, (u64, Duration)> = HashMap::new();
    for one in done {
        let entry = threads.entry(one.thread).or_default();
        entry.0 += 1;
        entry.1 += one.inside;
    }
    let mut threads: Vec<(u64, Duration)> = threads.into_values().collect();
    threads.sort_by(|a, b| b.cmp(a));
    threads
}

/// The work on every item, added up.
fn all_inside(done: &[Done]) -> Duration {
    done.iter().map(|one| one.inside).sum()
}

/// Which values the items are: an item is any u64, and means nothing to the
/// workers — not 0 or u64::MAX either.
#[derive(Debug, Clone, Copy)]
enum Values {
    /// 0, 1, 2, …
    Counting,
    /// u64::MAX, u64::MAX - 1, …
    FromTheTop,
    /// base, base + stride, … (wrapping; an odd stride never repeats).
    Spread { base: u64, stride: u64 },
    /// base, base + 1, …, base + period - 1, base, …: equal values, each an
    /// item of its own (a queue carries values, not unique ids).
    Repeating { base: u64, period: u64 },
}

impl Values {
    /// The item at `position` in the queue.
    fn at(self, position: u64) -> u64 {
        match self {
            Values::Counting => position,
            Values::FromTheTop => u64::MAX - position,
            Values::Spread { base, stride } => base.wrapping_add(position.wrapping_mul(stride | 1)),
            Values::Repeating { base, period } => base.wrapping_add(position % period.max(1)),
        }
    }
}

/// A run's input: how many items (and which values) and workers, what the
/// work does with some items, and where the producer pauses (before which
/// item, how long) — items named by their position in the queue.
#[derive(Debug, Clone)]
struct RunCase {
    items: u64,
    values: Values,
    consumers: usize,
    tasks: HashMap<u64, Task>,
    pauses: Vec<(u64, Duration)>,
}

impl RunCase {
    /// The items, in the order the producer sends them.
    fn queue(&self) -> Vec<u64> {
        (0..self.items).map(|at| self.values.at(at)).collect()
    }

    /// The items the workers take: all of them, or none with no worker.
    fn taken(&self) -> Vec<u64> {
        if self.consumers == 0 {
            Vec::new()
        } else {
            self.queue()
        }
    }

    /// What the work does, by item.
    fn work(&self) -> HashMap<u64, Task> {
        self.tasks
            .iter()
            .map(|(at, task)| (self.values.at(*at), *task))
            .collect()
    }

    fn describe(&self) -> String {
        let pauses: Vec<String> = self
            .pauses
            .iter()
            .map(|(at, pause)| format!("{pause:?} before item {}", self.values.at(*at)))
            .collect();
        let values = match self.values {
            Values::Counting => String::new(),
            _ => format!(" ({})", preview(&self.queue())),
        };
        format!(
            "{} items{values}, {} workers{}",
            self.items,
            self.consumers,
            if pauses.is_empty() {
                String::new()
            } else {
                format!(", the producer pausing {}", pauses.join(", "))
            }
        )
    }
}

/// Items from none to 40, often one below, at or one above the worker count
/// (or twice it); workers from none to eight; work of nanoseconds to tens of
/// milliseconds on a few items; the producer pausing 10–25 ms before a few,
/// so workers meet an empty queue that is still open; values counting, from
/// the top of u64, spread out, or repeating (equal values are items too).
fn run_cases(max_consumers: usize) -> impl Strategy<Value = RunCase> {
    oracle::draw::size(0, max_consumers)
        .prop_flat_map(|consumers| {
            let c = consumers as u64;
            let items = prop_oneof![
                2 => proptest::sample::select(vec![0, 1, c.saturating_sub(1), c, c + 1, 2 * c + 1]),
                1 => 0u64..=40,
            ];
            (Just(consumers), items)
        })
        .prop_flat_map(|(consumers, items)| {
            let slot = 0..items.max(1);
            let task = prop_oneof![
                (1u64..40_000).prop_map(|ns| Task::Spin(Duration::from_nanos(ns))),
                (1u64..3_000).prop_map(|us| Task::Sleep(Duration::from_micros(us))),
                (12u64..30).prop_map(|ms| Task::Sleep(Duration::from_millis(ms))),
            ];
            let values = prop_oneof![
                2 => Just(Values::Counting),
                1 => Just(Values::FromTheTop),
                1 => (any::<u64>(), any::<u64>())
                    .prop_map(|(base, stride)| Values::Spread { base, stride }),
                1 => (any::<u64>(), 1u64..=3)
                    .prop_map(|(base, period)| Values::Repeating { base, period }),
            ];
            (
                Just(consumers),
                (Just(items), values),
                proptest::collection::vec((slot.clone(), task), 0..5),
                proptest::collection::vec(
                    (slot, (10u64..25).prop_map(Duration::from_millis)),
                    0..3,
                ),
            )
        })
        .prop_map(|(consumers, (items, values), tasks, pauses)| RunCase {
            items,
            values,
            consumers,
            tasks: tasks
                .into_iter()
                .filter(|(item, _)| *item < items)
                .collect(),
            pauses: pauses
                .into_iter()
                .filter(|(item, _)| *item < items)
                .collect(),
        })
}

/// What a run returned, and what its `work` saw.
struct Seen<T> {
    result: T,
    /// Every item's work, as `work` saw it.
    done: Vec<Done>,
    /// How many items' work had finished when the run returned.
    finished_at_return: usize,
    /// Items still in the queue after the run and the producer were done.
    left_in_queue: usize,
}

/// Runs `run(queue, consumers, work)` on `case` under the watchdog: the
/// producer feeds the queue with the case's pauses, the work does the case's
/// tasks and logs what it saw.
fn observe<T: Send + 'static>(
    name: &str,
    case: &RunCase,
    run: impl FnOnce(Receiver<u64>, usize, Work) -> T + Send + 'static,
) -> Seen<T> {
    let log = Log::new();
    let work = timed_work(&case.work(), &log);
    let (inbox, producer) = feed(case.queue(), case.pauses.clone());
    let probe = inbox.clone();
    let consumers = case.consumers;
    let (result, finished_at_return) = {
        let log = log.clone();
        finishes(&format!("{name}({})", case.describe()), STUCK, move || {
            let result = run(inbox, consumers, work);
            (result, log.len())
        })
    };
    join_finished(producer);
    Seen {
        result,
        done: log.entries(),
        finished_at_return,
        left_in_queue: probe.len(),
    }
}

/// What every run must have done, whatever it returns: each item given to
/// `work` exactly once (none with no worker), every item's work finished
/// before the run returned, the queue drained, and no more threads working
/// than workers asked for.
fn check_the_work<T>(name: &str, case: &RunCase, seen: &Seen<T>) -> Result<(), String> {
    let taken = case.taken();
    check_each_exactly_once(
        taken.iter().copied(),
        seen.done.iter().map(|one| one.item),
        &format!(
            "{name}({}): the items given to `work`{}",
            case.describe(),
            if case.consumers == 0 {
                " (with no worker, nobody takes any)"
            } else {
                ""
            }
        ),
    )?;
    if seen.finished_at_return != taken.len() {
        return Err(format!(
            "{name}({}) returned while {} of the {} items were still being worked on: join \
             every worker before returning (and before reading any totals)",
            case.describe(),
            taken.len() - seen.finished_at_return.min(taken.len()),
            taken.len()
        ));
    }
    let left = if case.consumers == 0 { case.items } else { 0 };
    if seen.left_in_queue as u64 != left {
        return Err(format!(
            "{name}({}): {} items were left in the queue, {left} expected: the workers take items \
             until the queue is closed and empty",
            case.describe(),
            seen.left_in_queue
        ));
    }
    let threads = per_thread(&seen.done).len();
    if threads > case.consumers {
        return Err(format!(
            "{name}({}): {threads} different threads ran `work`, but {} workers were asked for: \
             start exactly `consumers` workers — no more, and none left out when it is small",
            case.describe(),
            case.consumers
        ));
    }
    Ok(())
}

/// One entry per worker, numbered 0.. in order, and each entry the statistics
/// of one of the threads that worked: its item count, and a busy time no
/// shorter than its work took. Workers that got no item report zero.
fn check_workers(case: &RunCase, stats: &[WorkerStats], done: &[Done]) -> Result<(), String> {
    let what = format!("run({})", case.describe());
    if stats.len() != case.consumers {
        return Err(format!(
            "{what} returned {} entries: one entry per worker asked for, even a worker that got no \
             item (and none with no worker) — start exactly `consumers` workers and keep every \
             one's statistics",
            stats.len()
        ));
    }
    let numbers: Vec<usize> = stats.iter().map(|s| s.worker).collect();
    if numbers.iter().enumerate().any(|(at, n)| at != *n) {
        return Err(format!(
            "{what} returned the workers {}: one entry per worker, numbered from 0, in worker \
             order (the order they were started in, not the order they finished)",
            preview(&numbers)
        ));
    }
    let counted: u64 = stats.iter().map(|s| s.processed).sum();
    if counted != done.len() as u64 {
        return Err(format!(
            "{what}: the workers' counts add up to {counted}, but {} items were worked on: a \
             worker's statistics were lost, counted twice or made up",
            done.len()
        ));
    }
    let threads = per_thread(done);
    let mut used = vec![false; stats.len()];
    if !assign(&threads, stats, &mut used, 0) {
        let mut worked: Vec<u64> = threads.iter().map(|t| t.0).collect();
        worked.resize(case.consumers.max(worked.len()), 0);
        worked.sort_unstable();
        let mut reported: Vec<u64> = stats.iter().map(|s| s.processed).collect();
        reported.sort_unstable();
        if worked != reported {
            return Err(format!(
                "{what}: the threads that ran `work` did {} items each, but the workers report {} \
                 (both sorted): each entry must be one worker's own count",
                preview(&worked),
                preview(&reported)
            ));
        }
        let short = stats
            .iter()
            .filter_map(|s| {
                let most = threads
                    .iter()
                    .filter(|t| t.0 == s.processed)
                    .map(|t| t.1)
                    .max()?;
                (s.busy < most).then(|| format!("worker {} busy {:?}", s.worker, s.busy))
            })
            .next()
            .unwrap_or_default();
        return Err(format!(
            "{what}: a worker's busy time is shorter than the work on its own items took ({short}, \
             while the work on each of that worker's items, timed inside `work`, added up to more): \
             add each item's time in full, to the nanosecond — Instant::now() before work(item), \
             elapsed() after, no as_millis(), as_micros() or subsec_*()"
        ));
    }
    for (entry, used) in stats.iter().zip(&used) {
        if !used && (entry.processed != 0 || !entry.busy.is_zero()) {
            return Err(format!(
                "{what}: worker {} did no work, yet reports processed {}, busy {:?}",
                entry.worker, entry.processed, entry.busy
            ));
        }
    }
    Ok(())
}

/// Gives each thread that worked (count, time its work took) a worker entry
/// of its own with the same count and at least that busy time.
fn assign(
    threads: &[(u64, Duration)],
    stats: &[WorkerStats],
    used: &mut [bool],
    at: usize,
) -> bool {
    let Some(&(count, inside)) = threads.get(at) else {
        return true;
    };
    for (index, entry) in stats.iter().enumerate() {
        if !used[index] && entry.processed == count && entry.busy >= inside {
            used[index] = true;
            if assign(threads, stats, used, at + 1) {
                return true;
            }
            used[index] = false;
        }
    }
    false
}

/// Totals that say every item taken, and a busy time no shorter than the work
/// on all of them took.
fn check_totals(name: &str, case: &RunCase, totals: &Totals, done: &[Done]) -> Result<(), String> {
    let taken = case.taken().len() as u64;
    if totals.processed != taken {
        return Err(format!(
            "{name}({}) says processed {}, but {taken} items were worked on: every worker adds to \
             the same totals (one Arc, cloned for each worker), every update counts, and the \
             totals are read after the last worker is joined",
            case.describe(),
            totals.processed
        ));
    }
    let inside = all_inside(done);
    if totals.busy < inside {
        return Err(format!(
            "{name}({}) says busy {:?}, but the work on the items, timed inside `work`, took \
             {inside:?} in all: add each item's time in full, to the nanosecond (as_nanos, never \
             as_millis, as_micros or subsec_*), and read the totals after the last worker is \
             joined",
            case.describe(),
            totals.busy
        ));
    }
    Ok(())
}

/// How long a property of functions that wait for nothing may take in all.
const QUICK_PROPERTY: Duration = Duration::from_secs(20);

/// Runs a property of functions that wait for nothing under one watchdog: a
/// thread per case would cost more than the cases on a busy machine.
fn quickly(what: &'static str, property: impl FnOnce() + Send + 'static) {
    finishes_within(QUICK_PROPERTY, what, QUICK, property);
}

/// Calls your code: a `todo!()` not yet written fails as itself; any other
/// panic becomes a message about `what`, for a property to return.
fn outcome<T>(what: &str, call: impl FnOnce() -> T + panic::UnwindSafe) -> Result<T, String> {
    panic::catch_unwind(call).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        if message.contains("not yet implemented") {
            panic::resume_unwind(payload);
        }
        format!("{what} panicked: {message}")
    })
}

// --- Drawn durations and counts ------------------------------------------------

/// A duration from exact zero and single nanoseconds to three years: whole
/// seconds, a second and a fraction, just under and over a second — where
/// `subsec_*`, whole-unit rounding and `as u32` casts go wrong.
fn any_duration() -> impl Strategy<Value = Duration> + Clone {
    prop_oneof![
        4 => oracle::draw::duration(),
        1 => (1u64..100_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

/// A count from 0 to `u64::MAX`, often an edge: 0, 1, 2, around 2^32 (where a
/// cast to u32 wraps) and at the top.
fn any_count() -> impl Strategy<Value = u64> + Clone {
    let wrap = u64::from(u32::MAX);
    prop_oneof![
        2 => proptest::sample::select(vec![
            0, 1, 2, 3, 7, 1_000, wrap - 1, wrap, wrap + 1, wrap + 2, 3 * (wrap + 1), 1 << 40,
            u64::MAX - 1, u64::MAX,
        ]),
        1 => 0u64..1_000_000,
        1 => any::<u64>(),
    ]
}

/// The edges of `usize` for a worker number, and anything in between.
fn any_worker() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![
        proptest::sample::select(vec![0, 1, 2, 7, usize::MAX - 1, usize::MAX]),
        any::<usize>(),
    ]
}

/// The exact mean of `busy` over `processed` items, in nanoseconds (rounded down).
fn exact_mean_nanos(busy: Duration, processed: u64) -> u128 {
    busy.as_nanos() / u128::from(processed)
}

/// The chapter's section "A worker's statistics".
mod s2_a_workers_statistics {
    use super::*;

    #[test]
    fn record_counts_items_and_adds_their_time() {
        let stats = finishes("WorkerStats::record (three items)", QUICK, || {
            let mut stats = WorkerStats {
                worker: 2,
                ..WorkerStats::default()
            };
            for ms in [10, 25, 5] {
                stats.record(Duration::from_millis(ms));
            }
            stats
        });
        assert_eq!(
            stats,
            WorkerStats {
                worker: 2,
                processed: 3,
                busy: Duration::from_millis(40)
            },
            "three items of 10, 25 and 5 ms: processed 3, busy 40 ms (each item's time added to \
             busy, not put in its place), and `worker` left as it was"
        );
    }

    #[test]
    fn the_average_keeps_fractions_of_a_millisecond() {
        let busy = Duration::from_millis(40);
        let average = finishes(
            "WorkerStats::average (40 ms over 3 items)",
            QUICK,
            move || {
                WorkerStats {
                    worker: 0,
                    processed: 3,
                    busy,
                }
                .average()
            },
        );
        let exact = Duration::from_nanos(13_333_333);
        let diagnosis = if average == busy {
            "that is the total, not the mean: divide by `processed`"
        } else if average == Duration::from_millis(13) {
            "it was rounded to whole milliseconds: divide the Duration itself (`busy / n`)"
        } else if average == busy / 4 || average == busy / 2 {
            "the division is off by one: divide by `processed`"
        } else {
            "the mean is busy / processed"
        };
        assert!(
            average.abs_diff(exact) <= Duration::from_micros(1),
            "40 ms over 3 items averages 13.333 ms; got {average:?}: {diagnosis}"
        );
        let one = finishes("WorkerStats::average (one item)", QUICK, || {
            WorkerStats {
                worker: 0,
                processed: 1,
                busy: Duration::from_micros(1_750),
            }
            .average()
        });
        assert_eq!(
            one,
            Duration::from_micros(1_750),
            "one item of 1.75 ms averages 1.75 ms"
        );
    }

    #[test]
    fn the_average_of_a_worker_that_did_nothing_is_zero() {
        let idle = WorkerStats {
            worker: 3,
            ..WorkerStats::default()
        };
        let average = finishes("average() of an idle worker", QUICK, move || {
            std::panic::catch_unwind(|| idle.average())
        });
        assert_eq!(
            average.ok(),
            Some(Duration::ZERO),
            "a worker can finish without a single item: its average is zero, not a division by zero"
        );
    }

    #[test]
    fn record_adds_every_item_in_full_whatever_its_duration() {
        // Any starting statistics (counts past 2^32 included), then any items:
        // after each one, processed is one more and busy exactly its time more.
        let start = (
            any_worker(),
            any_count().prop_map(|count| count.min(u64::MAX - 64)),
            any_duration(),
        );
        let items = proptest::collection::vec(any_duration(), 0..24);
        quickly("WorkerStats::record, over drawn items", move || {
            oracle::check(128, (start, items), |((worker, processed, busy), items)| {
                let from = WorkerStats {
                    worker,
                    processed,
                    busy,
                };
                let (stats, calls) = (from.clone(), items.clone());
                let after = outcome("WorkerStats::record", move || {
                    let mut stats = stats;
                    calls
                        .into_iter()
                        .map(|took| {
                            stats.record(took);
                            stats.clone()
                        })
                        .collect::<Vec<_>>()
                })?;
                let mut expected = from;
                for (took, stats) in items.into_iter().zip(after) {
                    let before = expected.clone();
                    expected.processed += 1;
                    expected.busy += took;
                    if stats != expected {
                        return Err(format!(
                            "record({took:?}) on {before:?} left {stats:?}; expected {expected:?}: \
                         count the item (processed + 1), add its time to busy in full — to the \
                         nanosecond, whole seconds too (no as_millis, as_micros or subsec_*), \
                         zero too — and leave `worker` alone"
                        ));
                    }
                }
                Ok(())
            });
        });
    }

    #[test]
    fn the_average_is_the_mean_to_the_nanosecond_for_any_count() {
        // The mean of `busy` over `processed` items for any count the type
        // holds — past u32::MAX, where `processed as u32` wraps — and zero when
        // there was no item. Within 2 ns of the exact mean (Duration's own
        // division rounds down in two steps), and an f64's precision.
        // Any busy time the type holds, past 2^64 ns (584 years) too: the
        // contract is for every `Duration`, and `as_nanos() as u64` wraps there.
        let cases = (
            any_count(),
            prop_oneof![any_duration(), oracle::draw::any_duration()],
            any_worker(),
        );
        quickly("WorkerStats::average, over drawn statistics", move || {
            oracle::check(512, cases, |(processed, busy, worker)| {
                let stats = WorkerStats {
                    worker,
                    processed,
                    busy,
                };
                let shown = stats.clone();
                let average = outcome(
                    &format!("average() of processed {processed}, busy {busy:?}"),
                    move || stats.average(),
                )
                .map_err(|message| {
                    format!(
                        "{message}: the mean is busy / processed, and zero when processed is 0 — \
                     check `processed`, nothing else, before dividing"
                    )
                })?;
                if processed == 0 {
                    return if average.is_zero() {
                        Ok(())
                    } else {
                        Err(format!(
                            "{shown:?} processed no item, so its average is zero; got {average:?}"
                        ))
                    };
                }
                let exact = exact_mean_nanos(busy, processed);
                let tolerance = 2 + (exact >> 50);
                let got = average.as_nanos();
                if got.abs_diff(exact) <= tolerance {
                    return Ok(());
                }
                let wraps = u32::try_from(processed).is_err();
                let hint = if u64::try_from(busy.as_nanos()).is_err() {
                    "that busy time is more nanoseconds than a u64 holds (about 584 years): \
                 `as_nanos() as u64` keeps its low 64 bits. Divide the u128 that as_nanos() gives, \
                 and make a Duration of the quotient"
                } else if wraps {
                    "that count does not fit in a u32: `busy / processed as u32` divides by the count \
                 cut to its low 32 bits. Divide the nanoseconds (as_nanos(), a u128) by the whole \
                 count, and make a Duration of the quotient"
                } else {
                    "divide the Duration, not whole milliseconds or microseconds of it, by the count: \
                 `busy / n` keeps the nanoseconds"
                };
                Err(format!(
                    "{processed} items in {busy:?} average {exact} ns, and average() said {average:?} \
                 ({got} ns): {hint}"
                ))
            });
        });
    }
}

/// The chapter's section "Timing the work".
mod s3_timing_the_work {
    use super::*;

    #[test]
    fn consume_counts_each_item_once_under_its_own_worker_number() {
        let log = Log::new();
        let work = logged_sleep(300, &log);
        let inbox = closed_queue(7);
        let stats = finishes("consume(worker 5, 7 items)", STUCK, move || {
            consume(5, &inbox, &work)
        });
        assert_each_exactly_once(0..7, log.entries(), "items given to work()");
        assert_eq!(
            stats.worker, 5,
            "consume(5, …) returns the statistics of worker 5: fill in `worker` from its argument"
        );
        assert_eq!(stats.processed, 7, "7 items in the queue: processed 7");
        assert!(
            stats.busy >= Duration::from_micros(7 * 300),
            "7 items of at least 300 µs each add up to at least 2.1 ms, but busy is {:?}: is each \
             item's time rounded (as_millis of 300 µs is 0) or left out?",
            stats.busy
        );
    }

    #[test]
    fn consume_times_the_work_not_the_wait() {
        let _alone = TimingSection::enter();
        // An item every 50 ms; the work itself takes next to nothing.
        let (inbox, producer) = paced_queue(4, Duration::from_millis(50));
        let stats = finishes("consume(worker 0, 4 items 50 ms apart)", STUCK, move || {
            consume(0, &inbox, &nothing())
        });
        producer.join().expect("the producer panicked");
        assert_eq!(
            stats.processed, 4,
            "4 items came, 50 ms apart, before the queue closed: a worker waits for the next item \
             until the queue is closed (blocking recv, not try_recv or a timeout)"
        );
        assert!(
            stats.busy < Duration::from_millis(50),
            "busy {:?} for 4 items whose work takes microseconds: the 50 ms waits for each item were \
             counted as work — start the clock once the item is in hand",
            stats.busy
        );
    }

    #[test]
    fn consume_accounts_for_every_item_whatever_the_queue_does() {
        // Any worker number, any item count, work of nanoseconds to tens of
        // milliseconds, a producer that pauses: the worker takes every item,
        // once, reports its own number, the count, and a busy time no shorter
        // than the work took.
        let cases = (any_worker(), run_cases(1));
        oracle::check(24, cases, |(worker, mut case)| {
            case.consumers = 1;
            let seen = observe("consume", &case, move |inbox, _, work| {
                consume(worker, &inbox, &work)
            });
            check_the_work("consume", &case, &seen)?;
            let stats = &seen.result;
            let what = format!("consume(worker {worker}, {})", case.describe());
            if stats.worker != worker {
                return Err(format!(
                    "{what} returned the statistics of worker {}: fill in `worker` from its \
                     argument",
                    stats.worker
                ));
            }
            if stats.processed != case.items {
                return Err(format!(
                    "{what} says processed {}, and `work` was given {} items: count each item \
                     once, after its work",
                    stats.processed,
                    seen.done.len()
                ));
            }
            let inside = all_inside(&seen.done);
            if stats.busy < inside {
                return Err(format!(
                    "{what} says busy {:?}, but the work on its items, timed inside `work`, took \
                     {inside:?}: add each item's time in full, to the nanosecond (no as_millis, \
                     as_micros or subsec_*)",
                    stats.busy
                ));
            }
            Ok(())
        });
    }

    #[test]
    fn a_panic_in_work_comes_back_out_of_consume() {
        a_panic_in_work_is_not_swallowed("consume", |inbox, _, work| {
            consume(0, &inbox, &work).processed
        });
    }
}

/// A panic in `work` must come back out of the run: a run that returns as if
/// nothing happened has lost that item, and its worker's statistics, in
/// silence.
fn a_panic_in_work_is_not_swallowed<T: Send + 'static>(
    name: &'static str,
    run: fn(Receiver<u64>, usize, Work) -> T,
) {
    let cases = (1u64..=20, 1usize..=4)
        .prop_flat_map(|(items, consumers)| (Just(items), Just(consumers), 0..items));
    oracle::check(5, cases, |(items, consumers, panics_at)| {
        let fired = Log::new();
        let work: Work = {
            let fired = fired.clone();
            Arc::new(move |item| {
                if item == panics_at {
                    fired.push(item);
                    adversary::injected_panic(&format!("work({item})"));
                }
            })
        };
        let outcome = finishes(
            &format!("{name}({items} items, {consumers} workers) with a panic at item {panics_at}"),
            "a worker that panicked is gone: the others still drain the queue, and every worker \
             is joined",
            move || {
                panic::catch_unwind(AssertUnwindSafe(|| {
                    run(closed_queue(items), consumers, work)
                }))
            },
        );
        match outcome {
            // The run's own panic (a todo!() included) before `work` ever ran
            // is not the injected one coming back.
            Err(payload) if fired.is_empty() => panic::resume_unwind(payload),
            Err(_) => Ok(()),
            Ok(_) => Err(format!(
                "{name}({items} items, {consumers} workers): `work` panicked on item {panics_at}, \
                 yet {name} returned normally: that item, and its worker's statistics, were lost in \
                 silence. A worker's panic comes back from its `join()` as `Err` — pass it on \
                 (`.join().expect(\"a worker panicked\")`), never drop it with `.ok()`, \
                 `unwrap_or_default()`, `filter_map` or `let _ =`, and do not catch it inside the \
                 worker"
            )),
        }
    });
}

/// Exactly `consumers` workers work at once: with that many items or more,
/// every first call of `work` waits (up to 3 s) until that many are inside it
/// together ([`Overlap`]), and one worker too many is seen too.
fn exactly_the_workers_asked_for_work_at_once<T: Send + 'static>(
    name: &'static str,
    run: fn(Receiver<u64>, usize, Work) -> T,
) {
    let cases = (2usize..=5, 0u64..=3);
    oracle::check(3, cases, |(consumers, extra)| {
        let _alone = TimingSection::enter();
        let items = consumers as u64 + extra;
        let overlap = Arc::new(Overlap::new(consumers));
        let work = overlapping(&overlap);
        finishes(
            &format!("{name}({items} items, {consumers} workers)"),
            STUCK,
            move || run(closed_queue(items), consumers, work),
        );
        if overlap.most() == consumers {
            return Ok(());
        }
        Err(format!(
            "{name}({items} items, {consumers} workers): at most {} items were worked on at the \
             same time, and {consumers} should have been. Fewer: the workers took turns — a lock \
             held while the work runs (lock for the update only, after the work), workers joined \
             one by one as they start, or fewer started than asked for. More: `consumers` says \
             how many workers to start",
            overlap.most()
        ))
    });
}

/// While one worker is held on item 0, the others process every other item:
/// a free worker takes whatever waits in the one shared queue. Workers that
/// take turns (a lock across the work, joined as they start) or items dealt
/// out in advance wait for the held worker instead.
fn a_held_worker_does_not_hold_up_the_others<T: Send + 'static>(
    name: &'static str,
    run: fn(Receiver<u64>, usize, Work) -> T,
) {
    let cases =
        (2usize..=4).prop_flat_map(|consumers| (Just(consumers), (2 * consumers as u64 + 1)..=30));
    oracle::check(6, cases, |(consumers, items)| {
        let gate = Gate::new();
        let log = Log::new();
        let work: Work = {
            let (gate, log) = (gate.clone(), log.clone());
            Arc::new(move |item| {
                if item == 0 {
                    gate.pass();
                }
                log.push(item);
            })
        };
        let running = thread::spawn(move || run(closed_queue(items), consumers, work));
        let deadline = Instant::now() + BUDGET;
        while (log.len() as u64) < items - 1 && !running.is_finished() && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(1));
        }
        let while_held = log.entries();
        let returned_early = running.is_finished();
        gate.open();
        if returned_early {
            // A panic (a todo!() included) comes out here; otherwise it returned too soon.
            join_finished(running);
            return Err(format!(
                "{name}({items} items, {consumers} workers) returned while item 0 was still being \
                 worked on: join every worker before returning"
            ));
        }
        check_each_exactly_once(
            1..items,
            while_held,
            &format!(
                "{name}({items} items, {consumers} workers): the items worked on while one worker \
                 was held on item 0 — the other workers must take every other item from the one \
                 shared queue, at the same time (no lock held across the work, every worker \
                 started before any is joined)"
            ),
        )?;
        finishes_within(BUDGET, name, STUCK, move || join_finished(running));
        Ok(())
    });
}

/// The chapter's section "Merge at join".
mod s4_merge_at_join {
    use super::*;

    #[test]
    fn run_reports_every_worker_in_worker_order() {
        // 101 items do not divide evenly among 4 workers.
        let log = Log::new();
        let work = logged_sleep(200, &log);
        let stats = finishes("run(101 items, 4 workers)", STUCK, move || {
            run(closed_queue(101), 4, work)
        });
        assert_each_exactly_once(0..101, log.entries(), "items given to work()");
        assert_eq!(stats.len(), 4, "run(…, 4, …) returns one entry per worker");
        let ids: Vec<usize> = stats.iter().map(|s| s.worker).collect();
        assert_eq!(
            ids,
            [0, 1, 2, 3],
            "one entry per worker, numbered from 0, in worker order"
        );
        let processed: u64 = stats.iter().map(|s| s.processed).sum();
        assert_eq!(
            processed, 101,
            "the workers' counts must add up to the 101 items: a worker's statistics were lost \
             (is every worker's join() result kept?)"
        );
        for worker in &stats {
            assert!(
                worker.busy >= Duration::from_micros(200) * worker.processed as u32,
                "worker {} processed {} items of at least 200 µs, but its busy time is {:?}",
                worker.worker,
                worker.processed,
                worker.busy
            );
        }
    }

    #[test]
    fn run_times_the_work_not_the_wait() {
        let _alone = TimingSection::enter();
        let (inbox, producer) = paced_queue(5, Duration::from_millis(30));
        let stats = finishes("run(5 items 30 ms apart, 2 workers)", STUCK, move || {
            run(inbox, 2, nothing())
        });
        producer.join().expect("the producer panicked");
        let busy: Duration = stats.iter().map(|s| s.busy).sum();
        assert!(
            busy < Duration::from_millis(60),
            "the workers' busy time adds up to {busy:?} for 5 items whose work takes microseconds: \
             the waits for each item were counted as work — start the clock once the item is in hand"
        );
    }

    #[test]
    fn run_reports_each_worker_its_own_work_whatever_the_counts() {
        // From no worker to eight, from no item to 40: one entry per worker,
        // numbered 0.. in order, each the count and (at least) the work time
        // of one thread that worked — what `work` itself saw.
        oracle::check(20, run_cases(8), |case| {
            let seen = observe("run", &case, run);
            check_the_work("run", &case, &seen)?;
            check_workers(&case, &seen.result, &seen.done)
        });
    }

    #[test]
    fn run_starts_exactly_the_workers_asked_for() {
        exactly_the_workers_asked_for_work_at_once("run", run);
    }

    #[test]
    fn a_held_worker_does_not_hold_up_the_others_in_run() {
        a_held_worker_does_not_hold_up_the_others("run", run);
    }

    #[test]
    fn a_panic_in_work_comes_back_out_of_run() {
        a_panic_in_work_is_not_swallowed("run", run);
    }
}

/// How long each of the four threads keeps recording in the many-threads tests:
/// long enough that on any machine they overlap, and some find the others in
/// the middle of an update.
const HAMMER: Duration = Duration::from_millis(40);

/// What each of the four threads records, one item after another: items of
/// 3 ns, of nothing, of a second and 7 ns, of just under a second.
const HAMMERED: [Duration; 4] = [
    Duration::from_nanos(3),
    Duration::ZERO,
    Duration::new(1, 7),
    Duration::from_nanos(999_999_999),
];

/// Four threads, started together, each record its items from [`HAMMERED`]
/// with `record` for [`HAMMER`]; returns the totals they must add up to.
fn four_threads_record(record: impl Fn(Duration) + Send + Sync + 'static) -> Totals {
    let record = Arc::new(record);
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = HAMMERED
        .iter()
        .map(|&took| {
            let (record, start) = (Arc::clone(&record), Arc::clone(&start));
            thread::spawn(move || {
                // All at once: a thread started late would find the others done.
                start.wait();
                let started = Instant::now();
                let mut calls = 0u32;
                while calls < 1_000 || started.elapsed() < HAMMER {
                    record(took);
                    calls += 1;
                }
                (calls, took * calls)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(join_finished)
        .fold(Totals::default(), |sum, (calls, busy)| Totals {
            processed: sum.processed + u64::from(calls),
            busy: sum.busy + busy,
        })
}

/// One step of a drawn sequence on shared totals: record an item, or read.
#[derive(Debug, Clone, Copy)]
enum Step {
    Record(Duration),
    Read,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![4 => any_duration().prop_map(Step::Record), 1 => Just(Step::Read)],
        0..24,
    )
}

fn run_shared_checks(name: &'static str, run: TotalsRun) {
    oracle::check(16, run_cases(8), |case| {
        let seen = observe(name, &case, run);
        check_the_work(name, &case, &seen)?;
        check_totals(name, &case, &seen.result, &seen.done)
    });
}

/// Every item once, its time added, and the totals read only after the last
/// worker finished: the last item's work is the slowest.
fn counts_every_item_and_waits_for_the_last(name: &str, run: TotalsRun) {
    let log = Log::new();
    let finished = Arc::new(AtomicU64::new(0));
    let work: Work = {
        let (log, finished) = (log.clone(), Arc::clone(&finished));
        Arc::new(move |item| {
            let ms = if item == 19 { 120 } else { 1 };
            thread::sleep(Duration::from_millis(ms));
            log.push(item);
            finished.fetch_add(1, Ordering::SeqCst);
        })
    };
    let (totals, finished_at_return) =
        finishes(&format!("{name}(20 items, 3 workers)"), STUCK, move || {
            let totals = run(closed_queue(20), 3, work);
            (totals, finished.load(Ordering::SeqCst))
        });
    assert_eq!(
        finished_at_return,
        20,
        "{name} returned while {} of 20 items were still being worked on: join every worker \
         before reading the totals",
        20 - finished_at_return
    );
    assert_each_exactly_once(0..20, log.entries(), "items given to work()");
    assert_eq!(
        totals.processed, 20,
        "20 items were processed; the totals say {}: did every worker add to the same totals \
         (one Arc, cloned for each worker — not a new one each)?",
        totals.processed
    );
    assert!(
        totals.busy >= Duration::from_millis(19 + 120),
        "19 items of 1 ms and one of 120 ms add up to at least 139 ms, but busy is {:?}",
        totals.busy
    );
}

fn times_the_work_not_the_wait(name: &str, run: TotalsRun) {
    let _alone = TimingSection::enter();
    let (inbox, producer) = paced_queue(5, Duration::from_millis(30));
    let totals = finishes(
        &format!("{name}(5 items 30 ms apart, 2 workers)"),
        STUCK,
        move || run(inbox, 2, nothing()),
    );
    producer.join().expect("the producer panicked");
    assert_eq!(totals.processed, 5, "5 items were processed");
    assert!(
        totals.busy < Duration::from_millis(60),
        "busy {:?} for 5 items whose work takes microseconds: the waits for each item were \
         counted as work — start the clock once the item is in hand",
        totals.busy
    );
}

/// The chapter's section "Sharing with a Mutex".
mod s5_sharing_with_a_mutex {
    use super::*;

    #[test]
    fn record_shared_counts_and_adds_the_exact_time() {
        let totals = finishes("record_shared (two items)", QUICK, || {
            let totals = Mutex::new(Totals::default());
            record_shared(&totals, Duration::from_nanos(1_234_567));
            record_shared(&totals, Duration::from_millis(2));
            totals
                .into_inner()
                .expect("nobody panicked holding the lock")
        });
        assert_eq!(
            totals,
            Totals {
                processed: 2,
                busy: Duration::from_nanos(3_234_567)
            },
            "two items of 1.234567 ms and 2 ms: processed 2, busy 3.234567 ms"
        );
    }

    #[test]
    fn record_shared_adds_every_item_in_full_whatever_its_duration() {
        // Any starting totals (counts past 2^32 included), then items of any
        // duration, with reads in between: each read sees the sums so far.
        let start = (
            any_count().prop_map(|count| count.min(u64::MAX - 64)),
            any_duration(),
        );
        quickly("record_shared, over drawn items and reads", move || {
            oracle::check(128, (start, steps()), |((processed, busy), steps)| {
                let steps_shown = steps.clone();
                let mut expected = Totals { processed, busy };
                let from = expected.clone();
                let seen = outcome("record_shared", move || {
                    let totals = Mutex::new(from);
                    let mut seen = Vec::new();
                    for step in steps {
                        match step {
                            Step::Record(took) => record_shared(&totals, took),
                            Step::Read => {
                                seen.push(totals.lock().expect("nobody panicked").clone())
                            }
                        }
                    }
                    seen.push(totals.lock().expect("nobody panicked").clone());
                    seen
                })?;
                let mut reads = seen.into_iter();
                for step in steps_shown.iter().chain([&Step::Read]) {
                    match step {
                        Step::Record(took) => {
                            expected.processed += 1;
                            expected.busy += *took;
                        }
                        Step::Read => {
                            let got = reads.next().expect("one read per Read step");
                            if got != expected {
                                return Err(format!(
                                    "after record_shared of {} from {:?}, the totals say {got:?}; \
                                 expected {expected:?}: count the item and add its time in full, \
                                 to the nanosecond — whole seconds and zero too — under the one \
                                 lock(), to the shared totals themselves (not a copy)",
                                    preview(&steps_shown),
                                    Totals { processed, busy }
                                ));
                            }
                        }
                    }
                }
                Ok(())
            });
        });
    }

    #[test]
    fn record_shared_loses_no_update_when_many_threads_call_it() {
        let totals = finishes(
            "record_shared from 4 threads at once for 40 ms",
            QUICK,
            || {
                let totals = Arc::new(Mutex::new(Totals::default()));
                let shared = Arc::clone(&totals);
                let expected = four_threads_record(move |took| record_shared(&shared, took));
                (totals.lock().expect("nobody panicked").clone(), expected)
            },
        );
        assert_eq!(
            totals.0, totals.1,
            "4 threads recorded items of {HAMMERED:?} each at once, {} in all; updates were lost. \
             Read, add and write under ONE lock(), and wait for it (lock, not try_lock): between \
             two lock()s another thread's update slips in and is overwritten",
            totals.1.processed
        );
    }

    #[test]
    fn shared_totals_count_every_item_once_every_worker_finished() {
        counts_every_item_and_waits_for_the_last("run_with_shared_totals", run_with_shared_totals);
    }

    #[test]
    fn shared_totals_time_the_work_not_the_wait() {
        times_the_work_not_the_wait("run_with_shared_totals", run_with_shared_totals);
    }

    #[test]
    fn shared_totals_account_for_every_item_whatever_the_counts() {
        run_shared_checks("run_with_shared_totals", run_with_shared_totals);
    }

    #[test]
    fn shared_totals_let_exactly_the_workers_asked_for_work_side_by_side() {
        exactly_the_workers_asked_for_work_at_once(
            "run_with_shared_totals",
            run_with_shared_totals,
        );
    }

    #[test]
    fn a_held_worker_does_not_hold_up_the_others_with_shared_totals() {
        a_held_worker_does_not_hold_up_the_others("run_with_shared_totals", run_with_shared_totals);
    }

    #[test]
    fn a_panic_in_work_comes_back_out_of_run_with_shared_totals() {
        a_panic_in_work_is_not_swallowed("run_with_shared_totals", run_with_shared_totals);
    }
}

/// The chapter's section "Sharing with atomics".
mod s6_sharing_with_atomics {
    use super::*;

    #[test]
    fn atomic_totals_count_and_add_the_exact_time() {
        let totals = finishes("AtomicTotals::record (three items)", QUICK, || {
            let totals = AtomicTotals::new();
            let before = totals.totals();
            totals.record(Duration::from_nanos(1_234_567));
            totals.record(Duration::from_micros(300));
            totals.record(Duration::from_nanos(999));
            (before, totals.totals())
        });
        assert_eq!(
            totals.0,
            Totals::default(),
            "a new AtomicTotals has counted nothing"
        );
        assert_eq!(
            totals.1,
            Totals {
                processed: 3,
                busy: Duration::from_nanos(1_535_566)
            },
            "items of 1 234 567 ns, 300 000 ns and 999 ns add up to 1 535 566 ns: count in \
             nanoseconds (as_nanos) when you add and when you read back (from_nanos), add with \
             fetch_add rather than store"
        );
    }

    #[test]
    fn atomic_totals_add_every_item_in_full_whatever_its_duration() {
        // Items of any duration — nanoseconds to years, whole seconds, zero —
        // with reads in between: each read sees the sums so far, and reading
        // changes nothing.
        quickly("AtomicTotals, over drawn items and reads", move || {
            oracle::check(128, steps(), |steps| {
                let steps_shown = steps.clone();
                let seen = outcome("AtomicTotals", move || {
                    let totals = AtomicTotals::new();
                    let mut seen = vec![totals.totals()];
                    for step in steps {
                        match step {
                            Step::Record(took) => totals.record(took),
                            Step::Read => seen.push(totals.totals()),
                        }
                    }
                    seen.push(totals.totals());
                    seen
                })?;
                let mut expected = Totals::default();
                let mut reads = seen.into_iter();
                let mut done = Vec::new();
                for step in [Step::Read].iter().chain(&steps_shown).chain([&Step::Read]) {
                    match step {
                        Step::Record(took) => {
                            expected.processed += 1;
                            expected.busy += *took;
                            done.push(*took);
                        }
                        Step::Read => {
                            let got = reads.next().expect("one read per Read step");
                            if got != expected {
                                return Err(format!(
                                    "after AtomicTotals::record of {}, totals() says {got:?}; \
                                 expected {expected:?}: add each item's time in nanoseconds \
                                 (as_nanos, whole seconds included — not subsec_nanos, not \
                                 micro- or milliseconds) with fetch_add, read both counters \
                                 back with load (not swap), and make the Duration with \
                                 from_nanos",
                                    preview(&done)
                                ));
                            }
                        }
                    }
                }
                Ok(())
            });
        });
    }

    #[test]
    fn atomic_totals_lose_no_update_when_many_threads_call_them() {
        let totals = finishes(
            "AtomicTotals::record from 4 threads at once for 40 ms",
            QUICK,
            || {
                let totals = Arc::new(AtomicTotals::new());
                let shared = Arc::clone(&totals);
                let expected = four_threads_record(move |took| shared.record(took));
                (totals.totals(), expected)
            },
        );
        assert_eq!(
            totals.0, totals.1,
            "4 threads recorded items of {HAMMERED:?} each at once, {} in all; updates were lost. \
             A load followed by a store is two steps another thread can come between: fetch_add \
             is one",
            totals.1.processed
        );
    }

    #[test]
    fn atomic_totals_count_every_item_once_every_worker_finished() {
        counts_every_item_and_waits_for_the_last("run_with_atomic_totals", run_with_atomic_totals);
    }

    #[test]
    fn atomic_totals_time_the_work_not_the_wait() {
        times_the_work_not_the_wait("run_with_atomic_totals", run_with_atomic_totals);
    }

    #[test]
    fn atomic_totals_account_for_every_item_whatever_the_counts() {
        run_shared_checks("run_with_atomic_totals", run_with_atomic_totals);
    }

    #[test]
    fn atomic_totals_let_exactly_the_workers_asked_for_work_side_by_side() {
        exactly_the_workers_asked_for_work_at_once(
            "run_with_atomic_totals",
            run_with_atomic_totals,
        );
    }

    #[test]
    fn a_held_worker_does_not_hold_up_the_others_with_atomic_totals() {
        a_held_worker_does_not_hold_up_the_others("run_with_atomic_totals", run_with_atomic_totals);
    }

    #[test]
    fn a_panic_in_work_comes_back_out_of_run_with_atomic_totals() {
        a_panic_in_work_is_not_swallowed("run_with_atomic_totals", run_with_atomic_totals);
    }
}

/// The chapter's section "The model check".
mod s8_the_model_check {
    #[test]
    fn every_interleaving_of_the_shared_updates_is_right() {
        // The scenarios are in tests/model.rs; loom tries each one under every
        // order in which its threads can take turns.
        lesson_support::run_models!();
    }
}

/// Every wait in the lesson meets a producer that goes quiet for [`STALL`] (a
/// few seconds — longer than any timeout added "so it can never hang"), and
/// every timing meets an item whose work takes more than a second; all at
/// once, so the lesson pays for one stall. A worker keeps waiting while its
/// queue is open, does not count the stall as work, and counts the long
/// item's whole seconds.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while (recv_timeout, a retry count) stops \
        while the queue is still open: a slow producer is not a finished one";

    /// The work on one item in the long-item scenarios: longer than a
    /// second, so `subsec_*` loses most of it.
    const LONG: Duration = Duration::from_millis(1_200);

    /// What the stall may add to the busy time of a right answer: nothing
    /// but scheduling noise; a clock that runs while a worker waits adds
    /// seconds.
    const NOISE: Duration = Duration::from_millis(500);

    /// `items` quick items for `consumers` workers; the producer goes quiet
    /// for [`STALL`] before the one at position `before`, when every worker
    /// has long finished the ones before it and waits.
    fn stalled(items: u64, consumers: usize, before: u64) -> RunCase {
        RunCase {
            items,
            values: Values::Counting,
            consumers,
            tasks: HashMap::new(),
            pauses: vec![(before, STALL)],
        }
    }

    /// `items` items for `consumers` workers, from the top of u64; the one
    /// at position 1 takes [`LONG`].
    fn long_item(items: u64, consumers: usize) -> RunCase {
        RunCase {
            items,
            values: Values::FromTheTop,
            consumers,
            tasks: HashMap::from([(1, Task::Sleep(LONG))]),
            pauses: Vec::new(),
        }
    }

    /// `items` quick items for one worker, the last of which takes [`STALL`]:
    /// the worker takes it when everything has been sent, so the run's own
    /// wait for its workers (the join) meets the stall.
    fn slow_last(items: u64) -> RunCase {
        RunCase {
            items,
            values: Values::Counting,
            consumers: 1,
            tasks: HashMap::from([(items - 1, Task::Sleep(STALL))]),
            pauses: Vec::new(),
        }
    }

    /// The run of `case`, watched with a budget that allows for the stall.
    fn observe_stalled<T: Send + 'static>(
        name: &str,
        case: &RunCase,
        run: impl FnOnce(Receiver<u64>, usize, Work) -> T + Send + 'static,
    ) -> Seen<T> {
        let log = Log::new();
        let work = timed_work(&case.work(), &log);
        let (inbox, producer) = feed(case.queue(), case.pauses.clone());
        let probe = inbox.clone();
        let consumers = case.consumers;
        let (result, finished_at_return) = {
            let log = log.clone();
            finishes_within(
                STALL_BUDGET,
                &format!("{name}({})", case.describe()),
                HINT,
                move || {
                    let result = run(inbox, consumers, work);
                    (result, log.len())
                },
            )
        };
        join_finished(producer);
        Seen {
            result,
            done: log.entries(),
            finished_at_return,
            left_in_queue: probe.len(),
        }
    }

    /// Fails with `result`'s message, and the likely cause of a stop.
    fn fail_on(result: Result<(), String>) {
        if let Err(message) = result {
            panic!("{message}\n  (If the workers stopped early — {HINT})");
        }
    }

    /// Checks that busy time `busy` did not count the stall.
    fn not_the_wait(name: &str, case: &RunCase, busy: Duration, done: &[Done]) {
        let inside = all_inside(done);
        assert!(
            busy < inside + NOISE,
            "{name}({}): busy {busy:?}, while the work itself, timed inside `work`, took \
             {inside:?}: the {STALL:?} the workers spent waiting for the producer was counted as \
             work — start the clock once the item is in hand (after recv), stop it when \
             work(item) returns",
            case.describe(),
        );
    }

    /// `consume` on `case`: every item, worker 1's own number, and a busy
    /// time no shorter than the work took (and, with a stall, not the wait).
    fn consume_scenario(case: &RunCase) {
        let seen = observe_stalled("consume", case, |inbox, _, work| consume(1, &inbox, &work));
        fail_on(check_the_work("consume", case, &seen));
        let stats = &seen.result;
        assert_eq!(
            (stats.worker, stats.processed),
            (1, case.items),
            "consume(worker 1, {}): worker 1 took {} items — {HINT}",
            case.describe(),
            case.items
        );
        let inside = all_inside(&seen.done);
        assert!(
            stats.busy >= inside,
            "consume(worker 1, {}) says busy {:?}, but its work took {inside:?} — one item alone \
             {LONG:?}: whole seconds count too (as_nanos or the Duration itself, never \
             subsec_nanos or subsec_millis)",
            case.describe(),
            stats.busy
        );
        not_the_wait("consume", case, stats.busy, &seen.done);
    }

    /// Fails with `result`'s message, and what the run must do when its
    /// worker stalls on the last item of `case`.
    fn fail_at_the_end(case: &RunCase, result: Result<(), String>) {
        if let Err(message) = result {
            panic!(
                "{message}\n  (The worker took {STALL:?} over item {}, the last, when everything had \
                 been sent: the run returns only once every worker has finished — join each one, \
                 however long it takes, with no deadline and no is_finished() poll that gives up: a \
                 slow worker is not a stuck one)",
                case.items - 1
            );
        }
    }

    /// Whether the work on every item of `case` had ended when the run returned.
    fn returned_after_the_last<T>(
        name: &str,
        case: &RunCase,
        seen: &Seen<T>,
    ) -> Result<(), String> {
        let unfinished = (case.items as usize).saturating_sub(seen.finished_at_return);
        if unfinished == 0 {
            Ok(())
        } else {
            Err(format!(
                "{name}({}) returned while the work on {unfinished} of its {} items had not ended",
                case.describe(),
                case.items
            ))
        }
    }

    /// `run` on `case`, whose worker stalls on the last item: every item, and
    /// the worker's own statistics, in the result.
    fn run_last_scenario(case: &RunCase) {
        let seen = observe_stalled("run", case, run);
        fail_at_the_end(case, returned_after_the_last("run", case, &seen));
        fail_at_the_end(case, check_the_work("run", case, &seen));
        fail_at_the_end(case, check_workers(case, &seen.result, &seen.done));
        let busy = seen.result.iter().map(|s| s.busy).sum();
        not_the_wait("run", case, busy, &seen.done);
    }

    /// `run` (shared or atomic totals) on `case`, whose worker stalls on the
    /// last item: every item, and its time, in the totals.
    fn totals_last_scenario(name: &str, run: TotalsRun, case: &RunCase) {
        let seen = observe_stalled(name, case, run);
        fail_at_the_end(case, returned_after_the_last(name, case, &seen));
        fail_at_the_end(case, check_the_work(name, case, &seen));
        fail_at_the_end(case, check_totals(name, case, &seen.result, &seen.done));
        not_the_wait(name, case, seen.result.busy, &seen.done);
    }

    fn run_scenario(case: &RunCase) {
        let seen = observe_stalled("run", case, run);
        fail_on(check_the_work("run", case, &seen));
        fail_on(check_workers(case, &seen.result, &seen.done));
        let busy = seen.result.iter().map(|s| s.busy).sum();
        not_the_wait("run", case, busy, &seen.done);
    }

    fn totals_scenario(name: &str, run: TotalsRun, case: &RunCase) {
        let seen = observe_stalled(name, case, run);
        fail_on(check_the_work(name, case, &seen));
        fail_on(check_totals(name, case, &seen.result, &seen.done));
        not_the_wait(name, case, seen.result.busy, &seen.done);
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        let shared = |case: RunCase| -> Box<dyn FnOnce() + Send> {
            Box::new(move || {
                totals_scenario("run_with_shared_totals", run_with_shared_totals, &case)
            })
        };
        let atomic = |case: RunCase| -> Box<dyn FnOnce() + Send> {
            Box::new(move || {
                totals_scenario("run_with_atomic_totals", run_with_atomic_totals, &case)
            })
        };
        adversary::concurrently(vec![
            (
                "consume, whose producer goes quiet",
                Box::new(|| consume_scenario(&stalled(5, 1, 2))),
            ),
            (
                "consume, with an item of more than a second",
                Box::new(|| consume_scenario(&long_item(3, 1))),
            ),
            (
                "run, whose producer goes quiet",
                Box::new(|| run_scenario(&stalled(9, 3, 3))),
            ),
            (
                "run, with an item of more than a second",
                Box::new(|| run_scenario(&long_item(6, 3))),
            ),
            (
                "run_with_shared_totals, whose producer goes quiet",
                shared(stalled(9, 3, 3)),
            ),
            (
                "run_with_shared_totals, with an item of more than a second",
                shared(long_item(6, 3)),
            ),
            (
                "run_with_atomic_totals, whose producer goes quiet",
                atomic(stalled(9, 3, 3)),
            ),
            (
                "run_with_atomic_totals, with an item of more than a second",
                atomic(long_item(6, 3)),
            ),
            (
                "run, whose one worker stalls on the last item, after everything is sent",
                Box::new(|| run_last_scenario(&slow_last(5))),
            ),
            (
                "run_with_shared_totals, whose one worker stalls on the last item, after everything is sent",
                Box::new(|| {
                    totals_last_scenario(
                        "run_with_shared_totals",
                        run_with_shared_totals,
                        &slow_last(5),
                    );
                }),
            ),
            (
                "run_with_atomic_totals, whose one worker stalls on the last item, after everything is sent",
                Box::new(|| {
                    totals_last_scenario(
                        "run_with_atomic_totals",
                        run_with_atomic_totals,
                        &slow_last(5),
                    );
                }),
            ),
        ]);
    }
}
