//! Lesson 12 — a fixed-size pool: results through handles, panics as errors,
//! every task finished on drop, and waiting jobs that overlap.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use lesson_12::{TaskError, ThreadPool, map_chunked, run_all};
use lesson_support::{Log, finishes};

const HUNG_HANDLE: &str = "a handle never got its result. Does every submitted task run (is the \
     queue shared by all workers?), and does a panicking task still send its outcome \
     (std::panic::catch_unwind around the task)? Or dropping the pool never returned: close the \
     queue (drop the Sender) before joining the workers.";

fn pause(ms: u64) {
    thread::sleep(Duration::from_millis(ms));
}

#[test]
fn a_task_gives_its_value_through_its_handle() {
    let value = finishes("submit(|| 6 * 7).join()", HUNG_HANDLE, || {
        let pool = ThreadPool::new(2);
        pool.submit(|| 6 * 7).join()
    });
    assert_eq!(value, Ok(42));
}

#[test]
fn a_pool_runs_its_tasks_on_its_own_threads_and_no_others() {
    let threads = finishes("40 tasks on a pool of 2", HUNG_HANDLE, || {
        let pool = ThreadPool::new(2);
        assert_eq!(pool.size(), 2, "size() is the number of worker threads");
        let jobs: Vec<_> = (0..40)
            .map(|_| {
                || {
                    pause(1);
                    thread::current().id()
                }
            })
            .collect();
        run_all(&pool, jobs)
    });
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
        "a task ran on the caller's thread"
    );
}

#[test]
fn no_more_than_size_tasks_run_at_once() {
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    finishes("30 tasks of 5 ms on a pool of 3", HUNG_HANDLE, {
        let (running, most) = (Arc::clone(&running), Arc::clone(&most));
        move || {
            let pool = ThreadPool::new(3);
            let jobs: Vec<_> = (0..30)
                .map(|_| {
                    let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                    move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        pause(5);
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                })
                .collect();
            run_all(&pool, jobs)
        }
    });
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= 3,
        "{most} tasks ran at the same time on a pool of 3: the pool must not start more threads"
    );
    assert!(
        most >= 2,
        "the tasks never overlapped: do the 3 workers share one queue, and does run_all submit \
         every job before it waits for any?"
    );
}

#[test]
fn a_panicking_task_reports_through_its_handle_and_the_worker_goes_on() {
    let (failed, next) = finishes(
        "a panicking task, then another, on a pool of 1",
        HUNG_HANDLE,
        || {
            let pool = ThreadPool::new(1);
            let failed = pool.submit(|| -> u32 { panic!("bad input 7") });
            let next = pool.submit(|| 1);
            (failed.join(), next.join())
        },
    );
    assert_eq!(
        failed,
        Err(TaskError::Panicked("bad input 7".into())),
        "the panic must come back through the handle as TaskError::Panicked with its message"
    );
    assert_eq!(
        next,
        Ok(1),
        "the pool's only worker must survive the panic and run the next task"
    );
}

#[test]
fn dropping_the_pool_finishes_every_queued_task_first() {
    let done = Log::new();
    finishes(
        "dropping a pool of 2 with 10 tasks of 10 ms queued",
        "drop never returned: close the queue (drop the Sender) before joining the workers, \
         or their `for task in tasks` loops never end",
        {
            let done = done.clone();
            move || {
                let pool = ThreadPool::new(2);
                for n in 0..10 {
                    let done = done.clone();
                    // The handle is dropped at once: the task must run anyway.
                    let _ = pool.submit(move || {
                        pause(10);
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
    let _ = ThreadPool::new(0);
}

#[test]
fn run_all_keeps_the_order_of_the_jobs() {
    let results = finishes("run_all(8 jobs of decreasing length)", HUNG_HANDLE, || {
        let pool = ThreadPool::new(4);
        let jobs: Vec<_> = (0..8u64)
            .map(|n| {
                move || {
                    pause(16 - 2 * n); // later jobs finish first
                    n
                }
            })
            .collect();
        run_all(&pool, jobs)
    });
    assert_eq!(
        results,
        (0..8).map(Ok).collect::<Vec<_>>(),
        "results come back in the order the jobs were given, however they finish"
    );
}

#[test]
fn waiting_jobs_overlap_on_a_pool() {
    // Eight jobs that each wait 100 ms: one at a time 800 ms, on 8 threads
    // about 100. Anything under 400 ms shows they overlapped; no core is busy,
    // so even a crowded machine manages that.
    let elapsed = finishes("run_all(8 jobs of 100 ms, pool of 8)", HUNG_HANDLE, || {
        let pool = ThreadPool::new(8);
        let started = Instant::now();
        let jobs: Vec<_> = (0..8).map(|_| || pause(100)).collect();
        run_all(&pool, jobs);
        started.elapsed()
    });
    assert!(
        elapsed < Duration::from_millis(400),
        "8 waiting jobs on 8 threads took {elapsed:?}, about as long as one after another \
         (800 ms): submit every job before joining any handle"
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
