//! Lesson 12 — a fixed-size pool: exactly `size` workers sharing one queue,
//! results through handles, panics as errors, every task finished on drop,
//! and helpers that keep order and batch their work.
//!
//! Tasks here hold their worker on purpose — until the test lets them go —
//! so what runs at the same time is seen for certain, not hoped for from
//! timing. Every pool is made and dropped under a watchdog: a drop that never
//! returns fails the test instead of hanging it.

use std::collections::HashSet;
use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use lesson_12::{TaskError, ThreadPool, map_chunked, run_all};
use lesson_support::{BUDGET, Log, assert_sequence, finishes, finishes_within, join_all};

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

/// A gate that tasks wait at until the test opens it (by dropping it) — or,
/// should the test have failed meanwhile, until [`BUDGET`] has passed.
struct Gate {
    open: crossbeam_channel::Sender<()>,
    waiting: crossbeam_channel::Receiver<()>,
}

impl Gate {
    fn new() -> Self {
        let (open, waiting) = bounded(0);
        Gate { open, waiting }
    }

    /// What a task holds to wait at the gate.
    fn waiter(&self) -> impl Fn() + Send + Sync + Clone + 'static {
        let waiting = self.waiting.clone();
        move || {
            let _ = waiting.recv_timeout(BUDGET);
        }
    }

    fn open(self) {
        drop(self.open);
    }
}

// ------------------------------------------------------------- the pool --

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
                    let (wait, running, threads) =
                        (gate.waiter(), Arc::clone(&running), threads.clone());
                    pool.submit(move || {
                        threads.push(thread::current().id());
                        running.fetch_add(1, Ordering::SeqCst);
                        wait();
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
            let threads: HashSet<_> = threads.entries().into_iter().collect();
            Crowd {
                size,
                most_at_once,
                threads: threads.len(),
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
    let (size, threads) = finishes("40 tasks on a pool of 2", HUNG_HANDLE, || {
        let pool = ThreadPool::new(2);
        let jobs: Vec<_> = (0..40)
            .map(|_| {
                || {
                    thread::sleep(ms(1));
                    thread::current().id()
                }
            })
            .collect();
        (pool.size(), run_all(&pool, jobs))
    });
    assert_eq!(size, 2, "ThreadPool::new(2).size()");
    let ids: HashSet<_> = threads
        .into_iter()
        .map(|id| id.expect("no task panics"))
        .collect();
    assert!(
        ids.len() <= 2,
        "40 tasks ran on {} different threads; a pool of 2 must reuse its 2 threads — does \
         submit spawn a thread per task instead of sending the task to the queue?",
        ids.len()
    );
    assert!(
        !ids.contains(&thread::current().id()),
        "a task ran on the caller's thread: submit must queue it for a worker, not run it"
    );
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
            let held = pool.submit(gate.waiter());
            let started = Instant::now();
            let more: Vec<_> = (0..50u32).map(|n| pool.submit(move || n)).collect();
            let took = started.elapsed();
            gate.open();
            let _ = held.join();
            let results: Vec<_> = more.into_iter().map(|h| h.join()).collect();
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
            handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
        },
    );
    assert_eq!(
        outcomes[..3],
        [
            Err(TaskError::Panicked("bad input 7".into())),
            Err(TaskError::Panicked("bad input 8".into())),
            Err(TaskError::Panicked(
                "a panic with a non-text payload".into()
            )),
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

#[test]
#[should_panic(expected = "a ThreadPool needs at least one thread")]
fn a_pool_of_no_threads_is_refused() {
    finishes(
        "ThreadPool::new(0)",
        "new(0) must panic at once, before starting anything",
        || drop(ThreadPool::new(0)),
    );
}

// -------------------------------------------------------------- helpers --

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
                            finished[n + 1].load(Ordering::SeqCst) || gave_up.load(Ordering::SeqCst)
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
                        let all_in = wait_for(ms(1500), || {
                            running.load(Ordering::SeqCst) >= 8 || gave_up.load(Ordering::SeqCst)
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
        let (ran, wait) = (ran.clone(), gate.waiter());
        thread::spawn(move || {
            let pool = ThreadPool::new(2);
            let outputs = map_chunked(&pool, (0..11).collect(), 4, move |x: u32| {
                if x == 0 {
                    wait();
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
