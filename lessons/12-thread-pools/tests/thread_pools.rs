//! Lesson 12 — a fixed-size pool: exactly `size` workers sharing one queue,
//! results through handles, panics as errors, every task finished on drop,
//! and helpers that keep order and batch their work.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then properties: the same check over many drawn
//! inputs — pools of 1 thread to more threads than tasks, no tasks at all,
//! chunks of 1, of one less than, as many as and more than the inputs, panics
//! with every kind of payload, tasks that finish out of order — against the
//! tasks' own answers and a log of what really ran, on which thread. Last,
//! `stall`: every wait meets a task or a caller that goes quiet for seconds,
//! longer than any "safety" timeout.
//!
//! Tasks here hold their worker on purpose — until the test lets them go —
//! so what runs at the same time is seen for certain, not hoped for from
//! timing. Every pool is made and dropped under a watchdog: a drop that never
//! returns fails the test instead of hanging it.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use lesson_12::{TaskError, TaskHandle, ThreadPool, map_chunked, run_all};
use lesson_support::adversary::{self, Gate, STALL, STALL_BUDGET};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    Log, assert_sequence, check_each_exactly_once, check_sequence, finishes, finishes_within,
    join_all, preview,
};

const HUNG_HANDLE: &str = "a handle never got its result: does submit send the boxed task to the \
     queue the workers take from, and does the wrapped task send its outcome down the handle's \
     channel — for a value and for a panic alike? (If dropping the pool is what never returned: \
     close the queue before joining the workers.)";

const HUNG_DROP: &str = "dropping the pool never returned: close the queue (take the Sender out of \
     its Option and drop it) before joining the workers, or their `for task in tasks` loops never \
     end";

const LOCK_HINT: &str = "Does new(size) start `size` workers that all take from the one queue? And \
     does a worker let go of the queue before it runs the task? A worker that runs its task while \
     it holds a lock on a shared Receiver (`while let Ok(task) = rx.lock().unwrap().recv()` keeps \
     the guard until the end of the loop's body) lets one worker at a time work";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Waits until `condition` holds or `limit` has passed; says which.
fn wait_for(limit: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(ms(1));
    }
    true
}

/// The distinct threads in `seen`.
fn distinct(seen: &[ThreadId]) -> BTreeSet<String> {
    // ThreadId is not Ord; its Debug form ("ThreadId(7)") is unique per thread.
    seen.iter().map(|id| format!("{id:?}")).collect()
}

/// Checks that the tasks ran on at most `size` threads, none of them `caller`'s.
fn check_threads(
    seen: &[ThreadId],
    size: usize,
    caller: ThreadId,
    what: &str,
) -> Result<(), String> {
    if seen.contains(&caller) {
        return Err(format!(
            "{what}: a task ran on the thread that called the pool. submit must queue every task \
             for a worker — never run it on the caller's thread, not even when the pool is busy"
        ));
    }
    let threads = distinct(seen);
    if threads.len() > size {
        return Err(format!(
            "{what}: the tasks ran on {} different threads, on a pool of {size}. A pool starts its \
             `size` threads once, in new(), and every task runs on one of them: does submit start a \
             thread per task, or new() more workers than asked?",
            threads.len()
        ));
    }
    Ok(())
}

// ----------------------------------------------------------- the tasks --

/// What a test task's panic carries: `panic!` gives a `&str` or a `String`,
/// `panic_any` anything at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// `panic!("a literal")`: a `&'static str`.
    Literal,
    /// `panic!("… {n} …")`: a `String`.
    Formatted,
    /// `panic_any(String)`.
    OwnedString,
    /// `panic_any(7_i32)`: no text.
    Number,
    /// `panic_any(())`: no text.
    Unit,
}

const NON_TEXT: &str = "a panic with a non-text payload";

impl Payload {
    /// Panics with this payload; `n` says which task.
    fn raise(self, n: usize) -> ! {
        match self {
            Payload::Literal => panic!("a task gave up"),
            Payload::Formatted => panic!("bad input {n}"),
            Payload::OwnedString => panic::panic_any(format!("task {n} refused")),
            Payload::Number => panic::panic_any(n as i32),
            Payload::Unit => panic::panic_any(()),
        }
    }

    /// The message the handle must report for it.
    fn message(self, n: usize) -> String {
        match self {
            Payload::Literal => "a task gave up".to_string(),
            Payload::Formatted => format!("bad input {n}"),
            Payload::OwnedString => format!("task {n} refused"),
            Payload::Number | Payload::Unit => NON_TEXT.to_string(),
        }
    }
}

fn payloads() -> impl Strategy<Value = Payload> + Clone {
    prop_oneof![
        Just(Payload::Literal),
        Just(Payload::Formatted),
        Just(Payload::OwnedString),
        Just(Payload::Number),
        Just(Payload::Unit),
    ]
}

/// One test task: a value or a panic, after a pause (so tasks finish in an
/// order of their own, not the order they were submitted in).
#[derive(Debug, Clone, Copy)]
struct Spec {
    answer: Answer,
    pause: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Answer {
    Value(u64),
    Panic(Payload),
}

impl Spec {
    /// Runs task `n`: pauses, then returns its value or panics.
    fn run(self, n: usize) -> u64 {
        thread::sleep(self.pause);
        match self.answer {
            Answer::Value(value) => value,
            Answer::Panic(payload) => payload.raise(n),
        }
    }

    /// What task `n`'s handle must give.
    fn expected(self, n: usize) -> Result<u64, TaskError> {
        match self.answer {
            Answer::Value(value) => Ok(value),
            Answer::Panic(payload) => Err(TaskError::Panicked(payload.message(n))),
        }
    }
}

/// A task's answer: any `u64` (edges included), or a panic of any payload
/// kind; most take no time, some up to 3 ms.
fn spec() -> impl Strategy<Value = Spec> + Clone {
    let answer = prop_oneof![
        3 => any::<u64>().prop_map(Answer::Value),
        1 => proptest::sample::select(vec![0, 1, u64::MAX]).prop_map(Answer::Value),
        2 => payloads().prop_map(Answer::Panic),
    ];
    let pause = prop_oneof![
        2 => Just(Duration::ZERO),
        1 => (1u64..3_000).prop_map(Duration::from_micros),
    ];
    (answer, pause).prop_map(|(answer, pause)| Spec { answer, pause })
}

/// `count` tasks.
fn specs(count: usize) -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(spec(), count)
}

/// A pool size from 1 to 6 and a number of tasks around it — one less, as
/// many, one more — or anything up to `max` (none included).
fn sizes_and_counts(max: usize) -> impl Strategy<Value = (usize, usize)> {
    oracle::draw::size(1, 6).prop_flat_map(move |size| {
        (
            Just(size),
            prop_oneof![oracle::draw::around(size, 0), oracle::draw::size(0, max)],
        )
    })
}

// ----------------------------------------------------- thread exits --

/// Notes, when a thread exits, that it did: a thread-local whose destructor
/// runs as the thread ends, before anyone's `join()` of it returns.
struct ExitNote {
    thread: ThreadId,
    exited: Log<String>,
}

impl Drop for ExitNote {
    fn drop(&mut self) {
        self.exited.push(format!("{:?}", self.thread));
    }
}

thread_local! {
    static EXIT_NOTE: RefCell<Option<ExitNote>> = const { RefCell::new(None) };
}

/// Arranges for the calling thread to note its exit in `exited`.
fn note_exit_in(exited: &Log<String>) {
    EXIT_NOTE.with(|note| {
        let mut note = note.borrow_mut();
        if note.is_none() {
            *note = Some(ExitNote {
                thread: thread::current().id(),
                exited: exited.clone(),
            });
        }
    });
}

/// The chapter's section "Starting the workers".
mod s1_starting_the_workers {
    use super::*;

    /// What `a_pool_runs_exactly_size_tasks_at_once` saw.
    struct Crowd {
        size: usize,
        most_at_once: usize,
        threads: usize,
        fourth_ran_early: bool,
        fourth: Result<u32, TaskError>,
    }

    #[test]
    fn a_pool_runs_exactly_size_tasks_at_once() {
        // Three tasks hold their workers at a gate, on a pool of 3: all three must
        // be running at once, each on a thread of its own. A fourth task must then
        // wait in the queue — every worker is busy — until the gate opens.
        let crowd = finishes_within(
            Duration::from_secs(10),
            "a pool of 3 with 3 tasks held at a gate, and a fourth",
            HUNG_HANDLE,
            || {
                let pool = ThreadPool::new(3);
                let size = pool.size();
                let gate = Gate::new();
                let running = Arc::new(AtomicUsize::new(0));
                let threads = Log::new();
                let held: Vec<_> = (0..3)
                    .map(|_| {
                        let (gate, running, threads) =
                            (gate.clone(), Arc::clone(&running), threads.clone());
                        pool.submit(move || {
                            threads.push(thread::current().id());
                            running.fetch_add(1, Ordering::SeqCst);
                            gate.pass();
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                wait_for(Duration::from_secs(2), || {
                    running.load(Ordering::SeqCst) >= 3
                });
                let most_at_once = running.load(Ordering::SeqCst);
                let ran = Arc::new(AtomicBool::new(false));
                let fourth = {
                    let ran = Arc::clone(&ran);
                    pool.submit(move || {
                        ran.store(true, Ordering::SeqCst);
                        4
                    })
                };
                thread::sleep(ms(300));
                let fourth_ran_early = ran.load(Ordering::SeqCst);
                gate.open();
                for handle in held {
                    let _ = handle.join();
                }
                let fourth = fourth.join();
                drop(pool);
                Crowd {
                    size,
                    most_at_once,
                    threads: distinct(&threads.entries()).len(),
                    fourth_ran_early,
                    fourth,
                }
            },
        );
        assert_eq!(
            crowd.size, 3,
            "ThreadPool::new(3).size() — the number of worker threads"
        );
        assert!(
            crowd.most_at_once >= 3,
            "only {} of 3 tasks ran at the same time on a pool of 3. {LOCK_HINT}",
            crowd.most_at_once
        );
        assert!(
            !crowd.fourth_ran_early,
            "a fourth task ran while all 3 workers of a pool of 3 were busy: it had a thread the \
             pool should not have. Does new(3) start exactly 3 workers, and does submit send the \
             task to their queue instead of starting a thread for it?"
        );
        assert_eq!(crowd.threads, 3, "the 3 held tasks ran on 3 threads");
        assert_eq!(
            crowd.fourth,
            Ok(4),
            "the fourth task runs once a worker is free"
        );
    }

    #[test]
    fn a_pool_runs_its_tasks_on_its_own_threads_and_no_others() {
        let (size, threads, caller) = finishes("40 tasks on a pool of 2", HUNG_HANDLE, || {
            let pool = ThreadPool::new(2);
            let jobs: Vec<_> = (0..40)
                .map(|_| {
                    || {
                        thread::sleep(ms(1));
                        thread::current().id()
                    }
                })
                .collect();
            (pool.size(), run_all(&pool, jobs), thread::current().id())
        });
        assert_eq!(size, 2, "ThreadPool::new(2).size()");
        let ids: Vec<ThreadId> = threads
            .into_iter()
            .map(|id| id.expect("no task panics"))
            .collect();
        if let Err(message) = check_threads(&ids, 2, caller, "40 tasks on a pool of 2") {
            panic!("{message}");
        }
    }

    #[test]
    #[should_panic(expected = "a ThreadPool needs at least one thread")]
    fn a_pool_of_no_threads_is_refused() {
        finishes(
            "ThreadPool::new(0)",
            "new(0) must panic at once, before starting anything",
            || drop(ThreadPool::new(0)),
        );
    }

    #[test]
    fn a_pool_of_any_size_runs_exactly_that_many_tasks_at_once() {
        // Pools of 1 to 6 threads, with fewer tasks than threads, as many, or
        // more. Every task waits at a gate: as many as can run must be running
        // together — min(size, tasks) — and not one more, on at most `size`
        // threads. (The machine has fewer cores than that: a pool's size is
        // what it is asked for, not what the machine has.)
        let cases = oracle::draw::size(1, 6).prop_flat_map(|size| {
            (
                Just(size),
                prop_oneof![oracle::draw::around(size, 1), Just(size + 2)],
            )
        });
        oracle::check(12, cases, |(size, tasks)| {
            let what = format!("a pool of {size} with {tasks} tasks held at a gate");
            let (reported, most, threads, caller) = finishes(&what, HUNG_HANDLE, move || {
                let pool = ThreadPool::new(size);
                let reported = pool.size();
                let gate = Gate::new();
                let inside = Arc::new(AtomicUsize::new(0));
                let most = Arc::new(AtomicUsize::new(0));
                let threads = Log::new();
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        let (gate, inside, most, threads) = (
                            gate.clone(),
                            Arc::clone(&inside),
                            Arc::clone(&most),
                            threads.clone(),
                        );
                        pool.submit(move || {
                            threads.push(thread::current().id());
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            gate.pass();
                            inside.fetch_sub(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                let want = size.min(tasks);
                wait_for(Duration::from_secs(2), || {
                    inside.load(Ordering::SeqCst) >= want
                });
                // Time for one task too many to start, if there is a thread for it.
                thread::sleep(ms(30));
                let seen = most.load(Ordering::SeqCst);
                gate.open();
                for handle in handles {
                    let _ = handle.join();
                }
                drop(pool);
                (reported, seen, threads.entries(), thread::current().id())
            });
            if reported != size {
                return Err(format!(
                    "ThreadPool::new({size}).size() is {reported}: the pool runs exactly the \
                     threads it was asked for"
                ));
            }
            let want = size.min(tasks);
            if most < want {
                return Err(format!(
                    "{what}: only {most} ran at the same time, though {want} could. {LOCK_HINT}"
                ));
            }
            if most > want {
                return Err(format!(
                    "{what}: {most} ran at the same time, on a pool of {size}. The pool has \
                     exactly `size` threads; a task beyond them waits in the queue. Does new() \
                     start more workers than asked, or submit start a thread of its own?"
                ));
            }
            check_threads(&threads, size, caller, &what)
        });
    }
}

/// The chapter's section "Submitting a task".
mod s2_submitting_a_task {
    use super::*;

    #[test]
    fn a_task_gives_its_value_through_its_handle() {
        let value = finishes(
            "submit(|| 6 * 7).join() on a pool of 2",
            HUNG_HANDLE,
            || {
                let pool = ThreadPool::new(2);
                pool.submit(|| 6 * 7).join()
            },
        );
        assert_eq!(value, Ok(42));
    }

    #[test]
    fn submit_never_waits_for_a_busy_pool() {
        // One worker, held at a gate; 50 more tasks submitted meanwhile. The queue
        // must take them all at once: a task may submit more tasks, and a caller
        // may queue many before it joins any.
        let (took, results) = finishes(
            "50 submits to a pool of 1 whose worker is busy",
            HUNG_HANDLE,
            || {
                let pool = ThreadPool::new(1);
                let gate = Gate::new();
                let held = {
                    let gate = gate.clone();
                    pool.submit(move || gate.pass())
                };
                let started = Instant::now();
                let more: Vec<_> = (0..50u32).map(|n| pool.submit(move || n)).collect();
                let took = started.elapsed();
                gate.open();
                let _ = held.join();
                let results: Vec<_> = more.into_iter().map(TaskHandle::join).collect();
                (took, results)
            },
        );
        assert!(
            took < Duration::from_secs(1),
            "50 submits to a busy pool took {took:?}: submit waited for room. The queue is \
             unbounded — submit hands the task over and returns at once, like Python's \
             ThreadPoolExecutor"
        );
        assert_sequence(
            &(0..50).map(Ok).collect::<Vec<_>>(),
            &results,
            "the 50 tasks' results",
        );
    }

    #[test]
    fn a_panicking_task_reports_through_its_handle_and_the_worker_goes_on() {
        let outcomes = finishes(
            "three panicking tasks, then another, on a pool of 1",
            "a handle never got an outcome: run the task under catch_unwind and send \
             Err(TaskError::Panicked(message)) for a panic too. A worker that dies with its task \
             takes every later task's answer with it",
            || {
                let pool = ThreadPool::new(1);
                let handles = vec![
                    pool.submit(|| -> u32 { panic!("bad input 7") }),
                    pool.submit(|| -> u32 { panic!("bad input {}", 8) }),
                    pool.submit(|| -> u32 { panic::panic_any(9_u8) }),
                    pool.submit(|| 1),
                ];
                handles
                    .into_iter()
                    .map(TaskHandle::join)
                    .collect::<Vec<_>>()
            },
        );
        assert_eq!(
            outcomes[..3],
            [
                Err(TaskError::Panicked("bad input 7".into())),
                Err(TaskError::Panicked("bad input 8".into())),
                Err(TaskError::Panicked(NON_TEXT.into())),
            ],
            "a panic comes back through its handle as TaskError::Panicked with its message — a \
             &str from panic!(\"…\"), a String from panic!(\"{{}}\", …), and for any other payload \
             the text panic_message gives"
        );
        assert_eq!(
            outcomes[3],
            Ok(1),
            "the pool's only worker must survive the panics and run the next task"
        );
        let shown = outcomes[0].as_ref().map_err(ToString::to_string);
        assert_eq!(shown, Err("the task panicked: bad input 7".to_string()));
    }

    #[test]
    fn every_handle_gives_its_own_tasks_answer() {
        // Any tasks — values of any size, panics with every kind of payload,
        // pauses that make them finish out of order — on pools of 1 to 6. The
        // handles are joined in a drawn order, some are dropped unjoined: each
        // joined handle gives its own task's value or panic, every task runs
        // exactly once (a dropped handle's too), on the pool's threads only.
        let cases = sizes_and_counts(14).prop_flat_map(|(size, count)| {
            (Just(size), specs(count)).prop_flat_map(|(size, specs)| {
                let n = specs.len();
                (
                    Just(size),
                    Just(specs),
                    Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                    proptest::collection::vec(prop::bool::weighted(0.2), n),
                )
            })
        });
        oracle::check(40, cases, |(size, specs, join_order, dropped)| {
            let n = specs.len();
            let what = format!("{n} tasks on a pool of {size}");
            let ran = Log::new();
            let threads = Log::new();
            let (results, caller) = finishes(&what, HUNG_HANDLE, {
                let (ran, threads, specs) = (ran.clone(), threads.clone(), specs.clone());
                move || {
                    let pool = ThreadPool::new(size);
                    let mut handles: Vec<Option<TaskHandle<u64>>> = specs
                        .iter()
                        .enumerate()
                        .map(|(index, &spec)| {
                            let (ran, threads) = (ran.clone(), threads.clone());
                            let handle = pool.submit(move || {
                                threads.push(thread::current().id());
                                ran.push(index);
                                spec.run(index)
                            });
                            (!dropped[index]).then_some(handle)
                        })
                        .collect();
                    let mut results = vec![None; n];
                    for &index in &join_order {
                        if let Some(handle) = handles[index].take() {
                            results[index] = Some(handle.join());
                        }
                    }
                    drop(pool);
                    (results, thread::current().id())
                }
            });
            for (index, got) in results.iter().enumerate() {
                let Some(got) = got else { continue };
                let expected = specs[index].expected(index);
                if *got != expected {
                    return Err(format!(
                        "{what}: task {index}'s handle gave {got:?}, but the task itself {}. \
                         Each handle has a channel of its own, and the wrapped task sends its \
                         outcome down it — the value, or Err(TaskError::Panicked(message)) with \
                         the text panic_message gives for the payload (\"{NON_TEXT}\" when it is \
                         neither a &str nor a String)",
                        match &expected {
                            Ok(value) => format!("returned {value}"),
                            Err(error) => format!("panicked: {error:?}"),
                        }
                    ));
                }
            }
            check_each_exactly_once(
                0..n,
                ran.entries(),
                &format!(
                    "{what}, some handles dropped unjoined: the tasks that had run when the pool's \
                     drop returned — every submitted task runs once, whether or not anyone joins \
                     its handle"
                ),
            )?;
            check_threads(&threads.entries(), size, caller, &what)
        });
    }
}

/// The chapter's section "Shutting down on drop".
mod s3_shutting_down_on_drop {
    use super::*;

    #[test]
    fn dropping_the_pool_finishes_every_queued_task_first() {
        let done = Log::new();
        finishes(
            "dropping a pool of 2 with 10 tasks of 10 ms queued",
            HUNG_DROP,
            {
                let done = done.clone();
                move || {
                    let pool = ThreadPool::new(2);
                    for n in 0..10 {
                        let done = done.clone();
                        // The handle is dropped at once: the task must run anyway.
                        let _ = pool.submit(move || {
                            thread::sleep(ms(10));
                            done.push(n);
                        });
                    }
                    drop(pool);
                }
            },
        );
        assert_eq!(
            done.len(),
            10,
            "when drop returned only {} of 10 tasks had run: drop must wait for the workers \
             (join them) after closing the queue",
            done.len()
        );
    }

    /// What one drop of a pool was seen to do.
    struct Dropped {
        returned_while_held: bool,
        done_at_return: Vec<usize>,
        exited_at_return: Vec<String>,
        task_threads: Vec<ThreadId>,
        dropper: ThreadId,
        kept: Vec<(usize, Result<u64, TaskError>)>,
    }

    #[test]
    fn drop_waits_for_every_queued_task_then_joins_the_threads() {
        // Pools of 1 to 5 with 0 to 12 tasks; the first tasks hold every worker
        // at a gate, so the rest are still queued when the pool is dropped (on a
        // thread of the test's). The drop must not return while a task is held;
        // when it returns, every task has run — on the pool's threads, not the
        // dropping one — and every thread that ran one has exited (joined).
        // Handles kept past the drop still give their values.
        let cases = (
            sizes_and_counts(12),
            prop::bool::ANY,
            prop::bool::weighted(0.5),
        );
        oracle::check(24, cases, |((size, tasks), hold, keep)| {
            let what = format!("dropping a pool of {size} with {tasks} tasks submitted");
            let seen = finishes(&what, HUNG_DROP, move || {
                let pool = ThreadPool::new(size);
                let gate = Gate::new();
                let (done, exited, threads) = (Log::new(), Log::new(), Log::new());
                let held = if hold { size.min(tasks) } else { 0 };
                let handles: Vec<TaskHandle<u64>> = (0..tasks)
                    .map(|n| {
                        let (gate, done, exited, threads) =
                            (gate.clone(), done.clone(), exited.clone(), threads.clone());
                        pool.submit(move || {
                            threads.push(thread::current().id());
                            note_exit_in(&exited);
                            if n < held {
                                gate.pass();
                            }
                            done.push(n);
                            n as u64 * 3
                        })
                    })
                    .collect();
                let handles = if keep { handles } else { Vec::new() };
                gate.wait_for(held, "the first tasks to hold every worker at the gate");
                let dropper = thread::spawn(move || {
                    let dropper = thread::current().id();
                    drop(pool);
                    (dropper, done.entries(), exited.entries())
                });
                let mut returned_while_held = false;
                if held > 0 {
                    thread::sleep(ms(30));
                    returned_while_held = dropper.is_finished();
                }
                gate.open();
                let (dropper, done_at_return, exited_at_return) =
                    join_all(vec![dropper], "the pool's drop", HUNG_DROP).remove(0);
                let kept = handles
                    .into_iter()
                    .enumerate()
                    .map(|(n, handle)| (n, handle.join()))
                    .collect();
                Dropped {
                    returned_while_held,
                    done_at_return,
                    exited_at_return,
                    task_threads: threads.entries(),
                    dropper,
                    kept,
                }
            });
            if seen.returned_while_held {
                return Err(format!(
                    "{what}: drop returned while {} tasks were still running (held at a gate). \
                     Drop closes the queue and then joins every worker: only then has every \
                     submitted task run",
                    size.min(tasks)
                ));
            }
            check_each_exactly_once(
                0..tasks,
                seen.done_at_return.iter().copied(),
                &format!(
                    "{what}: the tasks that had finished when drop returned — the workers drain \
                     the queue before they see it closed, and drop waits for them"
                ),
            )?;
            if seen.task_threads.contains(&seen.dropper) {
                return Err(format!(
                    "{what}: a queued task ran on the thread that dropped the pool. Drop closes \
                     the queue and joins the workers; the workers run what is left"
                ));
            }
            let exited: BTreeSet<String> = seen.exited_at_return.into_iter().collect();
            let still_running: Vec<String> = distinct(&seen.task_threads)
                .into_iter()
                .filter(|thread| !exited.contains(thread))
                .collect();
            if !still_running.is_empty() {
                return Err(format!(
                    "{what}: when drop returned, {} of the threads that ran tasks had not \
                     exited ({}): drop joins every worker — `worker.join()` for each — so that \
                     no thread outlives the pool",
                    still_running.len(),
                    preview(&still_running)
                ));
            }
            for (n, got) in seen.kept {
                if got != Ok(n as u64 * 3) {
                    return Err(format!(
                        "{what}: task {n}'s handle, joined after the drop, gave {got:?}, not \
                         Ok({}): its result waits in the handle's channel (capacity 1) for \
                         whoever joins it, before or after the pool is gone",
                        n * 3
                    ));
                }
            }
            Ok(())
        });
    }
}

/// The chapter's section "Waiting for many".
mod s4_waiting_for_many {
    use super::*;

    #[test]
    fn run_all_keeps_the_order_of_the_jobs() {
        // Eight jobs on eight workers, each waiting for the next one to finish:
        // they finish last to first. Job 3 panics. The results still come back in
        // the order the jobs were given, the panic in its place.
        let results = finishes_within(
            Duration::from_secs(10),
            "run_all(8 jobs finishing last to first, pool of 8)",
            HUNG_HANDLE,
            || {
                let pool = ThreadPool::new(8);
                let finished: Arc<Vec<AtomicBool>> =
                    Arc::new((0..9).map(|n| AtomicBool::new(n == 8)).collect());
                // Once one job has waited in vain (the next job never ran), the
                // others stop waiting: the order is still checked, and the test
                // about submitting everything first says what went wrong.
                let gave_up = Arc::new(AtomicBool::new(false));
                let jobs: Vec<_> = (0..8_usize)
                    .map(|n| {
                        let (finished, gave_up) = (Arc::clone(&finished), Arc::clone(&gave_up));
                        move || {
                            let next_done = wait_for(ms(1500), || {
                                finished[n + 1].load(Ordering::SeqCst)
                                    || gave_up.load(Ordering::SeqCst)
                            });
                            if !next_done {
                                gave_up.store(true, Ordering::SeqCst);
                            }
                            finished[n].store(true, Ordering::SeqCst);
                            assert!(n != 3, "job {n} failed");
                            n
                        }
                    })
                    .collect();
                run_all(&pool, jobs)
            },
        );
        let expected: Vec<Result<usize, TaskError>> = (0..8)
            .map(|n| {
                if n == 3 {
                    Err(TaskError::Panicked("job 3 failed".into()))
                } else {
                    Ok(n)
                }
            })
            .collect();
        assert_sequence(
            &expected,
            &results,
            "run_all's results: one per job, in the order the jobs were given however they finish — \
             keep the handles in order and join them in order; a panic is its job's result",
        );
    }

    #[test]
    fn run_all_submits_every_job_before_waiting_for_any() {
        // Eight jobs on eight workers, each waiting until all eight are running.
        // Submitting them all first gets them all running; joining each handle
        // right after its submit runs them one at a time.
        let most_at_once = finishes_within(
            Duration::from_secs(10),
            "run_all(8 jobs that wait for each other, pool of 8)",
            HUNG_HANDLE,
            || {
                let pool = ThreadPool::new(8);
                let running = Arc::new(AtomicUsize::new(0));
                let most = Arc::new(AtomicUsize::new(0));
                let gave_up = Arc::new(AtomicBool::new(false));
                let jobs: Vec<_> = (0..8)
                    .map(|_| {
                        let (running, most, gave_up) = (
                            Arc::clone(&running),
                            Arc::clone(&most),
                            Arc::clone(&gave_up),
                        );
                        move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            // `most`, not `running`: once all 8 were in, the
                            // first to leave must not keep the others waiting.
                            let all_in = wait_for(ms(1500), || {
                                most.load(Ordering::SeqCst) >= 8 || gave_up.load(Ordering::SeqCst)
                            });
                            if !all_in {
                                gave_up.store(true, Ordering::SeqCst);
                            }
                            running.fetch_sub(1, Ordering::SeqCst);
                        }
                    })
                    .collect();
                run_all(&pool, jobs);
                most.load(Ordering::SeqCst)
            },
        );
        assert_eq!(
            most_at_once, 8,
            "run_all's 8 jobs, on a pool of 8, were never all running at once (at most \
             {most_at_once}): submit every job before joining any handle — joining each right after \
             its submit runs them one at a time. (If a_pool_runs_exactly_size_tasks_at_once fails \
             too, look at the pool's workers first.)"
        );
    }

    #[test]
    fn run_all_never_makes_a_job_wait_for_an_earlier_one() {
        // More jobs than workers, and job 0 waits until the last job has
        // started. Every job submitted before any is joined: the other workers
        // go through the queue and reach the last job, which lets job 0 go.
        // Any order imposed between jobs — waves of the pool's size, a join
        // before the next submit — leaves the last job behind job 0.
        let cases =
            oracle::draw::size(2, 4).prop_flat_map(|size| (Just(size), size + 1..=3 * size));
        oracle::check(6, cases, |(size, n)| {
            let what = format!("run_all({n} jobs, a pool of {size})");
            let last_started = Arc::new(AtomicBool::new(false));
            let saw_the_last =
                finishes_within(Duration::from_secs(10), &what, HUNG_HANDLE, move || {
                    let pool = ThreadPool::new(size);
                    let jobs: Vec<Box<dyn FnOnce() -> bool + Send>> = (0..n)
                        .map(|job| {
                            let last_started = Arc::clone(&last_started);
                            let job: Box<dyn FnOnce() -> bool + Send> = if job == 0 {
                                Box::new(move || {
                                    wait_for(ms(1500), || last_started.load(Ordering::SeqCst))
                                })
                            } else if job == n - 1 {
                                Box::new(move || {
                                    last_started.store(true, Ordering::SeqCst);
                                    true
                                })
                            } else {
                                Box::new(|| true)
                            };
                            job
                        })
                        .collect();
                    run_all(&pool, jobs)
                });
            match saw_the_last.first() {
                Some(Ok(true)) => Ok(()),
                Some(Ok(false)) => Err(format!(
                    "{what}: job 0 waited 1.5 s for job {} to start, and it never did while job 0 \
                     ran — with {} other workers free, the last job should have started at once. \
                     Submit every job before joining any: the pool's queue is there so a caller \
                     can queue them all; waves of the pool's size, or a join before the next \
                     submit, make later jobs wait for earlier ones",
                    n - 1,
                    size - 1
                )),
                other => Err(format!(
                    "{what}: job 0 should have come back Ok(true), got {other:?}"
                )),
            }
        });
    }

    #[test]
    fn run_all_gives_each_jobs_own_answer_in_the_order_given() {
        // Any jobs (none included) on pools of 1 to 6 — values, panics of every
        // payload kind, pauses that make later jobs finish first: one result
        // per job, each its own job's, in the order the jobs were given.
        let cases = sizes_and_counts(16).prop_flat_map(|(size, count)| (Just(size), specs(count)));
        oracle::check(40, cases, |(size, specs)| {
            let n = specs.len();
            let what = format!("run_all({n} jobs, a pool of {size})");
            let jobs: Vec<_> = specs
                .iter()
                .enumerate()
                .map(|(index, &spec)| move || spec.run(index))
                .collect();
            let results = finishes(&what, HUNG_HANDLE, move || {
                let pool = ThreadPool::new(size);
                run_all(&pool, jobs)
            });
            let expected: Vec<Result<u64, TaskError>> = specs
                .iter()
                .enumerate()
                .map(|(index, spec)| spec.expected(index))
                .collect();
            check_sequence(
                &expected,
                &results,
                &format!(
                    "{what}: one result per job, each the job's own value or panic, in the order \
                     the jobs were given however they finish — keep each job's handle and join \
                     the handles in order; a panic is its job's result, not a reason to drop it"
                ),
            )
        });
    }

    #[test]
    fn map_chunked_keeps_order_and_reports_a_panic() {
        let (squares, failed) = finishes("map_chunked over 1000 inputs", HUNG_HANDLE, || {
            let pool = ThreadPool::new(3);
            let squares = map_chunked(&pool, (0..1000u64).collect(), 64, |x| x * x);
            let failed = map_chunked(&pool, (0..100u64).collect(), 10, |x| {
                assert!(x != 42, "no 42s");
                x
            });
            (squares, failed)
        });
        assert_eq!(
            squares,
            Ok((0..1000u64).map(|x| x * x).collect::<Vec<_>>()),
            "every output, in input order (the last chunk may be short)"
        );
        assert_eq!(
            failed,
            Err(TaskError::Panicked("no 42s".into())),
            "a panic in any chunk makes the whole map an error"
        );
    }

    #[test]
    fn map_chunked_gives_each_task_one_chunk() {
        // 11 inputs in chunks of 4 on a pool of 2: tasks [0..4], [4..8], [8..11].
        // Input 0 holds its task at a gate. Meanwhile the other worker must run
        // every other chunk — and inputs 1, 2 and 3, in input 0's task, none.
        let ran = Log::new();
        let gate = Gate::new();
        let mapper = {
            let (ran, gate) = (ran.clone(), gate.clone());
            thread::spawn(move || {
                let pool = ThreadPool::new(2);
                let outputs = map_chunked(&pool, (0..11).collect(), 4, move |x: u32| {
                    if x == 0 {
                        gate.pass();
                    }
                    ran.push(x);
                    x * 10
                });
                drop(pool);
                outputs
            })
        };
        let others_ran = wait_for(Duration::from_secs(2), || {
            let ran = ran.entries();
            (4..11).all(|x| ran.contains(&x))
        });
        let while_held = ran.entries();
        gate.open();
        let outputs = join_all(vec![mapper], "map_chunked", HUNG_HANDLE)
            .pop()
            .expect("one mapper");
        let early: Vec<u32> = [1, 2, 3]
            .into_iter()
            .filter(|x| while_held.contains(x))
            .collect();
        assert!(
            early.is_empty(),
            "inputs {early:?} ran while input 0 held its task, though they belong to input 0's \
             chunk of 4: submit one task per chunk of `chunk` inputs, not one per input"
        );
        assert!(
            others_ran,
            "while input 0 held its task, only inputs {while_held:?} ran, though the other worker \
             was free for the chunks [4..8] and [8..11]: split the inputs into chunks of exactly \
             `chunk` (the last may be short), and submit every chunk before joining any"
        );
        assert_eq!(
            outputs,
            Ok((0..11).map(|x| x * 10).collect::<Vec<_>>()),
            "every output in input order, though the first chunk finished last"
        );
    }

    #[test]
    #[should_panic(expected = "map_chunked needs a chunk size of at least 1")]
    fn map_chunked_refuses_a_chunk_of_zero() {
        // With no inputs, so that a loop that never advances cannot run for ever.
        finishes(
            "map_chunked(no inputs, chunk 0)",
            "a chunk of 0 must be refused at once: take(0) never advances",
            || {
                let pool = ThreadPool::new(1);
                let _ = map_chunked(&pool, Vec::<u32>::new(), 0, |x| x);
            },
        );
    }

    /// A chunk size for `len` inputs: 1, one less than, as many as, one more
    /// than `len`, anything up to 50, or near `usize::MAX`.
    fn chunk_for(len: usize) -> impl Strategy<Value = usize> {
        prop_oneof![
            Just(1),
            oracle::draw::around(len, 1),
            1usize..=50,
            proptest::sample::select(vec![usize::MAX, usize::MAX / 2 + 1]),
        ]
    }

    /// Inputs (0 to `max` of them) and a chunk size for them.
    fn inputs_and_chunk(max: usize) -> impl Strategy<Value = (Vec<u64>, usize)> {
        oracle::draw::size(0, max)
            .prop_flat_map(|len| (proptest::collection::vec(any::<u64>(), len), chunk_for(len)))
    }

    /// The answer `map_chunked`'s `f` gives in these tests.
    fn mix(x: u64) -> u64 {
        x.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x55
    }

    #[test]
    fn map_chunked_maps_every_input_once_in_input_order() {
        // 0 to 40 inputs of any value, chunks of 1, one less / as many / one
        // more than the inputs, up to 50, or near usize::MAX, on pools of 1 to
        // 5: `f` is called once per input, on the pool's threads, and the
        // outputs come back in input order.
        let cases = (inputs_and_chunk(40), oracle::draw::size(1, 5));
        oracle::check(48, cases, |((inputs, chunk), size)| {
            let len = inputs.len();
            let what = format!("map_chunked({len} inputs, chunk {chunk}) on a pool of {size}");
            let calls = Log::new();
            let threads = Log::new();
            let indexed: Vec<(usize, u64)> = inputs.iter().copied().enumerate().collect();
            let (outputs, caller) = finishes(&what, HUNG_HANDLE, {
                let (calls, threads) = (calls.clone(), threads.clone());
                move || {
                    let pool = ThreadPool::new(size);
                    let outputs = map_chunked(&pool, indexed, chunk, move |(index, x)| {
                        calls.push(index);
                        threads.push(thread::current().id());
                        (index, mix(x))
                    });
                    drop(pool);
                    (outputs, thread::current().id())
                }
            });
            let outputs = outputs
                .map_err(|error| format!("{what} returned {error:?}, though no input panicked"))?;
            let expected: Vec<(usize, u64)> = inputs.iter().map(|&x| mix(x)).enumerate().collect();
            check_sequence(
                &expected,
                &outputs,
                &format!(
                    "{what}: (input's position, f(input)) for every input, in input order — join \
                     the chunks' handles in the order the chunks were made, and keep every chunk, \
                     the short last one too"
                ),
            )?;
            check_each_exactly_once(
                0..len,
                calls.entries(),
                &format!("{what}: the inputs `f` was called with (by position)"),
            )?;
            check_threads(&threads.entries(), size, caller, &what)
        });
    }

    #[test]
    fn map_chunked_gives_each_task_exactly_chunk_inputs() {
        // One input holds its task at a gate, on a pool of 2 to 4. A task runs
        // its chunk's inputs one after another on one worker; the other workers
        // take every other chunk. So while it is held, exactly these have run:
        // every input outside its chunk, and the inputs before it inside it —
        // which pins down where each chunk begins and ends, and that every
        // chunk was submitted before any was joined.
        let cases = (1usize..=30)
            .prop_flat_map(|len| (Just(len), chunk_for(len), 0..len))
            .prop_flat_map(|(len, chunk, held)| (Just(len), Just(chunk), Just(held), 2usize..=4));
        oracle::check(16, cases, |(len, chunk, held, size)| {
            let what = format!(
                "map_chunked({len} inputs, chunk {chunk}) on a pool of {size}, input {held} held"
            );
            let chunk_start = held / chunk * chunk;
            let chunk_end = chunk_start.saturating_add(chunk).min(len);
            let expected: Vec<usize> = (0..len).filter(|&i| i < held || i >= chunk_end).collect();
            let ran = Log::new();
            let gate = Gate::new();
            let mapper = {
                let (ran, gate) = (ran.clone(), gate.clone());
                thread::spawn(move || {
                    let pool = ThreadPool::new(size);
                    let outputs = map_chunked(&pool, (0..len).collect(), chunk, move |i: usize| {
                        if i == held {
                            gate.pass();
                        }
                        ran.push(i);
                        i * 10
                    });
                    drop(pool);
                    outputs
                })
            };
            wait_for(Duration::from_secs(2), || ran.len() >= expected.len());
            // Time for an input that should wait behind the held one to run anyway.
            thread::sleep(ms(20));
            let mut while_held = ran.entries();
            gate.open();
            let outputs = join_all(vec![mapper], "map_chunked", HUNG_HANDLE).remove(0);
            while_held.sort_unstable();
            if while_held != expected {
                let early: Vec<usize> = while_held
                    .iter()
                    .copied()
                    .filter(|i| !expected.contains(i))
                    .collect();
                let missing: Vec<usize> = expected
                    .iter()
                    .copied()
                    .filter(|i| !while_held.contains(i))
                    .collect();
                return Err(format!(
                    "{what}: input {held} is in the chunk [{chunk_start}..{chunk_end}). While it \
                     was held, {} ran{} and {} did not run{}. Each task takes exactly `chunk` \
                     inputs in order (the last task may have fewer) and runs them one after \
                     another; every chunk is submitted before any is joined, so the free \
                     workers take all the others",
                    if early.is_empty() {
                        "nothing extra".to_string()
                    } else {
                        preview(&early)
                    },
                    if early.is_empty() {
                        String::new()
                    } else {
                        " that should have waited behind it in its task".to_string()
                    },
                    if missing.is_empty() {
                        "nothing".to_string()
                    } else {
                        preview(&missing)
                    },
                    if missing.is_empty() {
                        String::new()
                    } else {
                        " though a free worker could have run them".to_string()
                    },
                ));
            }
            let expected_outputs: Vec<usize> = (0..len).map(|i| i * 10).collect();
            match outputs {
                Ok(outputs) => check_sequence(
                    &expected_outputs,
                    &outputs,
                    &format!("{what}: the outputs, in input order"),
                ),
                Err(error) => Err(format!("{what} returned {error:?}; no input panicked")),
            }
        });
    }

    #[test]
    fn map_chunked_returns_the_first_error_in_input_order() {
        // Some inputs panic, with every kind of payload. The first of them (in
        // input order) pauses before it panics, so the later ones fail first
        // in time: the answer is still the first in input order — its chunk's
        // task stops there, and that chunk comes first.
        let cases = (1usize..=30)
            .prop_flat_map(|len| {
                (
                    Just(len),
                    chunk_for(len),
                    proptest::collection::btree_set(0..len, 1..=len.min(4)),
                    proptest::collection::vec(payloads(), 4),
                )
            })
            .prop_flat_map(|(len, chunk, failing, payloads)| {
                (
                    Just(len),
                    Just(chunk),
                    Just(failing),
                    Just(payloads),
                    1usize..=4,
                )
            });
        oracle::check(32, cases, |(len, chunk, failing, kinds, size)| {
            let failing: Vec<usize> = failing.into_iter().collect();
            let first = failing[0];
            let payload_of = {
                let failing = failing.clone();
                move |i: usize| failing.iter().position(|&f| f == i).map(|at| kinds[at])
            };
            let what = format!(
                "map_chunked({len} inputs, chunk {chunk}) on a pool of {size}, inputs {failing:?} \
                 panicking"
            );
            let outputs = finishes(&what, HUNG_HANDLE, {
                let payload_of = payload_of.clone();
                move || {
                    let pool = ThreadPool::new(size);
                    map_chunked(&pool, (0..len).collect(), chunk, move |i: usize| {
                        if let Some(payload) = payload_of(i) {
                            if i == first {
                                thread::sleep(ms(15));
                            }
                            payload.raise(i);
                        }
                        i
                    })
                }
            });
            let expected = payload_of(first)
                .expect("the first failing input")
                .message(first);
            match outputs {
                Err(TaskError::Panicked(message)) if message == expected => Ok(()),
                other => Err(format!(
                    "{what}: expected Err(Panicked({expected:?})) — input {first}'s panic, the \
                     first in input order, though it came last in time — got {other:?}. Join \
                     the chunks' handles in order and return at the first error (`?`); an error \
                     kept from a later chunk, or a map that goes on past it, reports the wrong one"
                )),
            }
        });
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. A worker waits for work while its
/// pool lives; a handle, a drop, `run_all` and `map_chunked` wait for a task
/// however long it takes.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while (recv_timeout, a deadline, a retry \
        count) stops while the pool is still working: a slow task, or a quiet pool, is not a \
        finished one";

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "a pool that gets no task for a long while",
                Box::new(|| {
                    let values = finishes_within(STALL_BUDGET, "an idle pool of 2", HINT, || {
                        let pool = ThreadPool::new(2);
                        thread::sleep(STALL);
                        let handles: Vec<_> =
                            (0..4u32).map(|n| pool.submit(move || n + 1)).collect();
                        handles
                            .into_iter()
                            .map(TaskHandle::join)
                            .collect::<Vec<_>>()
                    });
                    assert_eq!(
                        values,
                        [Ok(1), Ok(2), Ok(3), Ok(4)],
                        "a pool of 2 got no task for {STALL:?}, then 4: its workers must still be \
                         there, waiting on the queue until it is closed — {HINT}"
                    );
                }),
            ),
            (
                "a handle whose task takes a long while",
                Box::new(|| {
                    let (slow, after) = finishes_within(STALL_BUDGET, "a slow task", HINT, || {
                        let pool = ThreadPool::new(1);
                        let slow = pool.submit(|| {
                            thread::sleep(STALL);
                            7
                        });
                        // Queued behind the slow one, on the only worker.
                        let after: Vec<_> = (0..3u32).map(|n| pool.submit(move || n)).collect();
                        let slow = slow.join();
                        (
                            slow,
                            after.into_iter().map(TaskHandle::join).collect::<Vec<_>>(),
                        )
                    });
                    assert_eq!(
                        slow,
                        Ok(7),
                        "a task took {STALL:?}: its handle must wait for its value — {HINT}"
                    );
                    assert_eq!(
                        after,
                        [Ok(0), Ok(1), Ok(2)],
                        "3 tasks queued behind a task of {STALL:?} on a pool of 1 must run once \
                         it is done — {HINT}"
                    );
                }),
            ),
            (
                "dropping a pool while a task takes a long while",
                Box::new(|| {
                    let done = Log::new();
                    finishes_within(STALL_BUDGET, "dropping a pool of 2", HINT, {
                        let done = done.clone();
                        move || {
                            let pool = ThreadPool::new(2);
                            let _ = pool.submit(move || {
                                thread::sleep(STALL);
                                done.push(0);
                            });
                            drop(pool);
                        }
                    });
                    assert_eq!(
                        done.entries(),
                        [0],
                        "the pool's drop returned before its task of {STALL:?} had finished: drop \
                         joins every worker, however long their tasks take — {HINT}"
                    );
                }),
            ),
            (
                "run_all with one slow job",
                Box::new(|| {
                    let results = finishes_within(STALL_BUDGET, "run_all", HINT, || {
                        let pool = ThreadPool::new(2);
                        let jobs: Vec<Box<dyn FnOnce() -> u64 + Send>> = (0..4u64)
                            .map(|n| -> Box<dyn FnOnce() -> u64 + Send> {
                                Box::new(move || {
                                    if n == 1 {
                                        thread::sleep(STALL);
                                    }
                                    n
                                })
                            })
                            .collect();
                        run_all(&pool, jobs)
                    });
                    assert_eq!(
                        results,
                        [Ok(0), Ok(1), Ok(2), Ok(3)],
                        "run_all's job 1 took {STALL:?}: its result is its value, however long \
                         it takes — {HINT}"
                    );
                }),
            ),
            (
                "map_chunked with one slow input",
                Box::new(|| {
                    let outputs = finishes_within(STALL_BUDGET, "map_chunked", HINT, || {
                        let pool = ThreadPool::new(2);
                        map_chunked(&pool, (0..9u64).collect(), 2, |x| {
                            if x == 4 {
                                thread::sleep(STALL);
                            }
                            x + 100
                        })
                    });
                    assert_eq!(
                        outputs,
                        Ok((100..109).collect::<Vec<u64>>()),
                        "map_chunked's input 4 took {STALL:?}: the map waits for it — {HINT}"
                    );
                }),
            ),
        ]);
    }
}
