//! Lesson 07 — consumers that give up when idle, producers that give up on a
//! full queue, and not one item unaccounted for.
//!
//! Time is this lesson's subject, so these tests measure it: how long a wait
//! lasted, how much CPU it burnt, how often the waiting thread went to sleep.
//! Every margin is wide and one-sided — a correct solution cannot miss it on a
//! slow or busy machine — and every call into your code runs under a watchdog.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};
use lesson_07::{Delivery, Exit, consume, produce};
use lesson_support::{
    BUDGET, Log, assert_each_exactly_once, assert_sequence, finishes, join_all, skipped,
    thread_cpu_time, times_slept, wait_until,
};

const IDLE_HINT: &str = "consume() must return once it has waited `idle` with nothing to do, \
     and at once when the queue is closed and empty: loop over queue.recv_timeout(idle)";

const PATIENCE_HINT: &str = "each item may wait at most `patience` for room: \
     queue.send_timeout(item, patience), then on to the next item";

const GONE_HINT: &str = "send_timeout fails at once with Disconnected when every Receiver is \
     gone: refuse that item and go on, without waiting or retrying";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ignore(_: u64) {}

/// [`finishes`], also returning how long `work` took — timed on the thread
/// that runs it, so the time a busy machine takes to start that thread does
/// not count.
#[track_caller]
fn timed<T: Send + 'static>(
    what: &str,
    hint: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration) {
    finishes(what, hint, move || {
        let started = Instant::now();
        let output = work();
        (output, started.elapsed())
    })
}

/// Waits (up to [`BUDGET`]) until `condition` holds; false if it never did.
/// For helper threads, which report nothing themselves.
fn wait_for(condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + BUDGET;
    while !condition() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(ms(1));
    }
    true
}

// ---------------------------------------------------------------- consume --

#[test]
fn an_idle_consumer_leaves_once_its_idle_limit_is_up() {
    let (queue, inbox) = unbounded::<u64>();
    let ((done, exit), took) = timed(
        "consume(idle 300 ms) with nothing to do",
        IDLE_HINT,
        move || consume(&inbox, ms(300), &ignore),
    );
    drop(queue); // open until now: the consumer must leave because it was idle
    assert_eq!(
        (done, exit),
        (vec![], Exit::Idle),
        "nothing arrived and the queue stayed open: the consumer left because it was idle"
    );
    assert!(
        took >= ms(300),
        "gave up after {took:?}, before the 300 ms idle limit"
    );
    assert!(
        took < ms(550),
        "waited {took:?} with an idle limit of 300 ms: wait `idle` itself — not a fixed time, \
         not a multiple of it"
    );
}

#[test]
fn a_closed_queue_ends_the_consumer_once_it_is_drained() {
    let (queue, inbox) = unbounded();
    for item in [7, 3, 9, 3, 1] {
        queue.send(item).unwrap();
    }
    drop(queue);
    let processed = Log::new();
    let ((done, exit), took) = timed("consume() on a closed queue of 5 items", IDLE_HINT, {
        let processed = processed.clone();
        move || consume(&inbox, Duration::from_secs(3), &|item| processed.push(item))
    });
    assert_eq!(
        exit,
        Exit::Closed,
        "a closed queue, once drained, ends the consumer with Exit::Closed — RecvTimeoutError::\
         Disconnected is not Timeout"
    );
    assert_sequence(
        &[7, 3, 9, 3, 1],
        &done,
        "the items consume() returned (every item queued before the close, in order)",
    );
    assert_sequence(
        &[7, 3, 9, 3, 1],
        &processed.entries(),
        "the items passed to `process` (each one once, in order)",
    );
    assert!(
        took < Duration::from_secs(1),
        "waited {took:?} on a queue that can never deliver again: a closed queue needs no timeout"
    );
}

#[test]
fn the_idle_timer_restarts_with_every_item() {
    // Eight items 40 ms apart take 320 ms in all — longer than the 200 ms idle
    // limit, but no gap between items is. Every item must be processed.
    let (queue, inbox) = unbounded();
    let producer = thread::spawn(move || {
        for item in 0..8 {
            if item > 0 {
                thread::sleep(ms(40));
            }
            // A consumer that gave up too early has dropped its end: not our failure.
            let _ = queue.send(item);
        }
        thread::sleep(ms(700)); // keep the queue open: idle, not closed
    });
    // Start the consumer once the producer is under way (a busy machine can
    // be slow to start a thread), so the gaps are the producer's 40 ms.
    wait_until("the producer's first item", || !inbox.is_empty());
    let (done, exit) = finishes("consume() with items 40 ms apart", IDLE_HINT, move || {
        consume(&inbox, ms(200), &ignore)
    });
    join_all(vec![producer], "producer", "it sleeps 1 s in all");
    assert_sequence(
        &(0..8).collect::<Vec<_>>(),
        &done,
        "the consumer gave up while items were still coming every 40 ms: the idle limit counts \
         from the last item, not from the start, and not all waits added up",
    );
    assert_eq!(
        exit,
        Exit::Idle,
        "the queue stayed open for 700 ms after the last item: the consumer left because it was \
         idle for its 200 ms"
    );
}

#[test]
fn time_spent_processing_is_not_idle_time() {
    // Item 0 takes 300 ms to process, more than the 250 ms idle limit. Item 1
    // is sent 400 ms after processing began: 100 ms into the consumer's wait,
    // well within its idle limit, which starts when the waiting does.
    let (queue, inbox) = unbounded();
    queue.send(0).unwrap();
    let (began, processing) = bounded::<()>(1);
    let late = queue.clone();
    let sender = thread::spawn(move || {
        if processing.recv_timeout(BUDGET).is_ok() {
            thread::sleep(ms(400));
            let _ = late.send(1);
        }
    });
    let (done, exit) = finishes(
        "consume(idle 250 ms) with a 300 ms item, then one more",
        IDLE_HINT,
        move || {
            consume(&inbox, ms(250), &|item| {
                if item == 0 {
                    let _ = began.try_send(());
                    thread::sleep(ms(300));
                }
            })
        },
    );
    join_all(vec![sender], "sender", "it sleeps 400 ms");
    drop(queue);
    assert_sequence(
        &[0, 1],
        &done,
        "the consumer left before item 1, which came 100 ms into its wait: the idle clock starts \
         when the consumer starts waiting — after processing, not when it took the item before",
    );
    assert_eq!(exit, Exit::Idle);
}

#[test]
fn waiting_costs_no_cpu() {
    if thread_cpu_time().is_none() {
        return skipped("the CPU time a waiting consumer burns (no per-thread CPU clock)");
    }
    // Beside the waiting consumer, a thread that spins on purpose for as
    // long: on a busy machine it gets less than a whole core, and so would a
    // consumer that spins. A consumer that blocks uses next to nothing.
    let spinner = thread::spawn(|| {
        let before = thread_cpu_time().expect("checked above");
        let started = Instant::now();
        while started.elapsed() < ms(500) {
            std::hint::spin_loop();
        }
        thread_cpu_time().expect("checked above") - before
    });
    let (queue, inbox) = unbounded::<u64>();
    let (exit, cpu) = finishes("consume() idling for 500 ms", IDLE_HINT, move || {
        let before = thread_cpu_time().expect("checked above");
        let (_, exit) = consume(&inbox, ms(500), &ignore);
        (exit, thread_cpu_time().expect("checked above") - before)
    });
    drop(queue);
    let spun = join_all(vec![spinner], "spinner", "it spins 500 ms")
        .pop()
        .expect("one spinner");
    assert_eq!(exit, Exit::Idle);
    // (At least 80 ms: Windows counts CPU time in ticks of 15.6 ms, and a
    // blocked consumer may be charged one.)
    assert!(
        cpu * 4 < spun.max(ms(80)),
        "the consumer burnt {cpu:?} of CPU while waiting 500 ms for nothing — a thread spinning \
         beside it got {spun:?}: it spins (try_recv in a loop) instead of blocking in \
         recv_timeout"
    );
}

/// How often a blocked wait may go to sleep, counting the test's own waiting.
const SLEEPS_ALLOWED: u64 = 6;

#[test]
fn waiting_sleeps_once_instead_of_looking_again_and_again() {
    const TEST: &str = "waiting_sleeps_once_instead_of_looking_again_and_again";
    if times_slept().is_none() {
        return skipped("how often a waiting consumer sleeps (no count of sleeps)");
    }
    if !in_a_process_of_its_own(TEST) {
        return;
    }
    // Does this platform count a sleep at all? (macOS and Linux do.)
    let before = times_slept().expect("checked above");
    thread::sleep(ms(20));
    if times_slept().expect("checked above") == before {
        return skipped("how often a waiting consumer sleeps (sleeps are not counted here)");
    }
    let (queue, inbox) = unbounded::<u64>();
    let (exit, slept) = finishes("consume() idling for 1.5 s", IDLE_HINT, move || {
        let before = times_slept().expect("checked above");
        let (_, exit) = consume(&inbox, ms(1500), &ignore);
        (exit, times_slept().expect("checked above") - before)
    });
    drop(queue);
    println!("measured alone: {slept} sleeps in 1.5 s of waiting");
    assert_eq!(exit, Exit::Idle);
    assert!(
        slept <= SLEEPS_ALLOWED,
        "waiting 1.5 s for an item that never came, the consumer went to sleep {slept} times: it \
         looks, naps and looks again (try_recv and a sleep, or recv_timeout with a short timeout, \
         in a loop). A blocked recv_timeout(idle) sleeps once and is woken the moment an item \
         comes."
    );
}

#[test]
fn an_item_is_taken_as_soon_as_it_arrives() {
    // 20 items at uneven gaps, and a consumer waiting for each. A blocked
    // recv_timeout wakes when the item is sent; a loop that naps between looks
    // finds it only after its nap. Added up over 20 items, long naps show
    // (short ones are counted by the test above), even on a busy machine,
    // where a woken thread may wait a few ms for a core.
    let (queue, inbox) = unbounded::<u64>();
    let received = Log::new();
    let consumer = {
        let received = received.clone();
        thread::spawn(move || {
            consume(&inbox, Duration::from_secs(3), &|item| {
                received.push((item, Instant::now()));
            })
        })
    };
    let mut sent = Vec::new();
    for item in 0..20u64 {
        thread::sleep(ms(20 + (item * 7) % 23));
        sent.push(Instant::now());
        let _ = queue.send(item); // a consumer gone early is reported below
    }
    drop(queue);
    let (done, exit) = join_all(vec![consumer], "consumer", IDLE_HINT)
        .pop()
        .expect("one consumer");
    assert_eq!(exit, Exit::Closed);
    assert_sequence(&(0..20).collect::<Vec<_>>(), &done, "the items taken");
    let delays: Vec<Duration> = received
        .entries()
        .iter()
        .map(|&(item, at)| at.saturating_duration_since(sent[item as usize]))
        .collect();
    let total: Duration = delays.iter().sum();
    let worst = delays.iter().max().copied().unwrap_or_default();
    assert!(
        total < ms(800),
        "20 items reached `process` {total:?} in all after they were sent (the worst {worst:?}): \
         the consumer looks for items now and then instead of blocking in recv_timeout, which \
         wakes it the moment one is sent"
    );
}

#[test]
fn a_zero_idle_limit_takes_what_is_queued_and_leaves() {
    let (queue, inbox) = unbounded();
    for item in 0..3 {
        queue.send(item).unwrap();
    }
    let ((done, exit), took) = timed(
        "consume(idle zero) on an open queue of 3 items",
        "Duration::ZERO is the shortest wait there is, not \"no limit\": recv_timeout(ZERO) \
         takes an item that is already there, or times out at once",
        move || consume(&inbox, Duration::ZERO, &ignore),
    );
    drop(queue);
    assert_eq!((done, exit), (vec![0, 1, 2], Exit::Idle));
    assert!(
        took < Duration::from_secs(1),
        "an idle limit of zero took {took:?}"
    );
}

#[test]
fn an_idle_limit_of_duration_max_never_gives_up() {
    // Duration::MAX cannot be added to a clock reading (Instant::now() + MAX
    // panics); recv_timeout knows that and simply waits.
    let (queue, inbox) = unbounded();
    let sender = thread::spawn(move || {
        for item in 0..3 {
            thread::sleep(ms(100));
            let _ = queue.send(item);
        }
    });
    let (done, exit) = finishes(
        "consume(idle Duration::MAX) with 3 items 100 ms apart, then a close",
        IDLE_HINT,
        move || consume(&inbox, Duration::MAX, &ignore),
    );
    join_all(vec![sender], "sender", "it sleeps 300 ms");
    assert_eq!(
        (done, exit),
        (vec![0, 1, 2], Exit::Closed),
        "with no idle limit the consumer takes every item and leaves only when the queue closes"
    );
}

// ---------------------------------------------------------------- produce --

#[test]
fn a_producer_delivers_while_there_is_room() {
    let (queue, inbox) = bounded(10);
    let delivery = finishes(
        "produce(5 items) into room for 10",
        PATIENCE_HINT,
        move || produce(&queue, 5, ms(50)),
    );
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0, 1, 2, 3, 4],
            refused: vec![]
        }
    );
    assert_sequence(
        &[0, 1, 2, 3, 4],
        &inbox.try_iter().collect::<Vec<_>>(),
        "what is in the queue",
    );
}

#[test]
fn items_that_find_no_room_are_reported_not_dropped() {
    let (queue, inbox) = bounded(2);
    let (delivery, took) = timed(
        "produce(5 items) into room for 2",
        PATIENCE_HINT,
        move || produce(&queue, 5, ms(100)),
    );
    drop(inbox); // open until now: nobody took anything, the queue stayed full
    assert_eq!(delivery.delivered, [0, 1], "two items fit");
    assert_eq!(
        delivery.refused,
        [2, 3, 4],
        "items the full queue did not take within the patience must be reported as refused — \
         silently dropped, they vanish from every count"
    );
    assert!(
        took >= ms(300),
        "3 refused items took {took:?}: each item waits its own 100 ms patience before it is \
         refused"
    );
}

#[test]
fn an_item_waits_up_to_its_patience_for_room() {
    // Room comes 150 ms into a 600 ms patience: the item must get in.
    let (queue, inbox) = bounded(1);
    let taker = thread::spawn(move || {
        // From the moment item 0 is in — produce() is under way.
        if wait_for(|| inbox.is_full()) {
            thread::sleep(ms(150));
        }
        let first = inbox.recv_timeout(BUDGET).ok();
        (first, inbox) // keep the queue open until the test is done
    });
    let delivery = finishes(
        "produce(2 items, patience 600 ms) into room for 1, room after 150 ms",
        PATIENCE_HINT,
        move || produce(&queue, 2, ms(600)),
    );
    let (first, _inbox) = join_all(vec![taker], "taker", "it sleeps 150 ms")
        .pop()
        .expect("one taker");
    assert_eq!(first, Some(0));
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0, 1],
            refused: vec![]
        },
        "room came 150 ms into a patience of 600 ms, and item 1 was refused: wait for room with \
         send_timeout(item, patience) — not try_send, not a wait of your own choosing"
    );
}

#[test]
fn an_item_waits_no_longer_than_its_patience() {
    let (queue, inbox) = bounded(1);
    let (delivery, took) = timed(
        "produce(2 items, patience 300 ms) into room for 1",
        PATIENCE_HINT,
        move || produce(&queue, 2, ms(300)),
    );
    drop(inbox);
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0],
            refused: vec![1]
        }
    );
    assert!(
        took >= ms(300),
        "item 1 was refused after {took:?}, before its 300 ms patience was up"
    );
    assert!(
        took < ms(550),
        "item 1 waited {took:?} with a patience of 300 ms: wait `patience` once — not a fixed \
         time, not a second try"
    );
}

#[test]
fn after_a_refusal_the_next_item_gets_its_own_patience() {
    // Room for 1; nobody takes anything until 450 ms, then a taker takes
    // everything. Item 0 fits, item 1 is refused at 300 ms, item 2 waits from
    // 300 ms and gets in at 450, item 3 follows.
    let (queue, inbox) = bounded(1);
    let taker = thread::spawn(move || {
        // From the moment item 0 is in — produce() is under way.
        if wait_for(|| inbox.is_full()) {
            thread::sleep(ms(450));
        }
        inbox.iter().collect::<Vec<u64>>()
    });
    let delivery = finishes(
        "produce(4 items, patience 300 ms) into room for 1, a taker from 450 ms on",
        PATIENCE_HINT,
        move || produce(&queue, 4, ms(300)),
    );
    let taken = join_all(vec![taker], "taker", "its queue was never closed")
        .pop()
        .expect("one taker");
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0, 2, 3],
            refused: vec![1]
        },
        "one refusal says nothing about the next item: each item gets its own patience — not \
         one deadline for all of them, and no giving up on the rest"
    );
    assert_sequence(&[0, 2, 3], &taken, "what the taker took");
}

#[test]
fn with_no_consumer_left_every_item_is_refused_at_once() {
    let (queue, inbox) = bounded(2);
    drop(inbox);
    let (delivery, took) = timed(
        "produce(100 items, patience 1 s) with no consumer",
        GONE_HINT,
        move || produce(&queue, 100, Duration::from_secs(1)),
    );
    assert!(
        delivery.delivered.is_empty(),
        "with no consumer, nothing can be delivered; delivered = {:?}",
        lesson_support::preview(&delivery.delivered)
    );
    assert_sequence(
        &(0..100).collect::<Vec<_>>(),
        &delivery.refused,
        "refused (with no consumer, every item is refused — and reported, in order)",
    );
    assert!(
        took < ms(800),
        "took {took:?}: nobody will ever take these items, so there is nothing to wait for"
    );
}

#[test]
fn when_the_consumer_leaves_midway_the_rest_is_refused_at_once() {
    // The consumer takes 3 items and leaves. By then 3 to 5 items are in (3
    // taken, up to 2 waiting in the queue); every later one must be refused,
    // and at once: a patience of 2 s is no reason to wait for nobody.
    let (queue, inbox) = bounded(2);
    let consumer = thread::spawn(move || {
        (0..3)
            .filter_map(|_| inbox.recv_timeout(BUDGET).ok())
            .collect()
    });
    let (delivery, took) = timed(
        "produce(20 items, patience 2 s), the consumer leaving after 3",
        GONE_HINT,
        move || produce(&queue, 20, Duration::from_secs(2)),
    );
    let taken: Vec<u64> = join_all(vec![consumer], "consumer", "it takes 3 items")
        .pop()
        .expect("one consumer");
    assert_sequence(&[0, 1, 2], &taken, "what the consumer took before leaving");
    let got_in = delivery.delivered.len() as u64;
    assert!(
        (3..=5).contains(&got_in),
        "delivered {:?}: the consumer took 3 and the queue holds 2, so 3 to 5 items can have got \
         in",
        lesson_support::preview(&delivery.delivered)
    );
    assert_sequence(
        &(0..got_in).collect::<Vec<_>>(),
        &delivery.delivered,
        "delivered",
    );
    assert_sequence(
        &(got_in..20).collect::<Vec<_>>(),
        &delivery.refused,
        "refused (every item after the consumer left, reported in order — not one dropped)",
    );
    assert!(
        took < Duration::from_secs(1),
        "took {took:?}: once the consumer is gone, send_timeout fails at once — waiting out the \
         2 s patience helps nobody"
    );
}

#[test]
fn a_patience_of_zero_refuses_at_once_on_a_full_queue() {
    let (queue, inbox) = bounded(1);
    let (delivery, took) = timed(
        "produce(3 items, patience zero) into room for 1",
        "Duration::ZERO is the shortest wait there is, not \"no limit\": send_timeout(item, \
         ZERO) takes the room that is there, or gives up at once",
        move || produce(&queue, 3, Duration::ZERO),
    );
    drop(inbox);
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0],
            refused: vec![1, 2]
        }
    );
    assert!(
        took < Duration::from_secs(1),
        "a patience of zero took {took:?}"
    );
}

#[test]
fn a_patience_of_duration_max_waits_as_long_as_it_takes() {
    // Duration::MAX cannot be added to a clock reading (Instant::now() + MAX
    // panics); send_timeout knows that and simply waits.
    let (queue, inbox) = bounded(1);
    let taker = thread::spawn(move || {
        thread::sleep(ms(200));
        // Until the queue closes — or, if produce() is stuck, not for ever.
        let mut taken = Vec::new();
        while let Ok(item) = inbox.recv_timeout(BUDGET) {
            taken.push(item);
        }
        taken
    });
    let delivery = finishes(
        "produce(2 items, patience Duration::MAX) into room for 1, room after 200 ms",
        PATIENCE_HINT,
        move || produce(&queue, 2, Duration::MAX),
    );
    let taken = join_all(vec![taker], "taker", "its queue was never closed")
        .pop()
        .expect("one taker");
    assert_eq!(
        delivery,
        Delivery {
            delivered: vec![0, 1],
            refused: vec![]
        },
        "with no limit on the patience, every item waits until there is room"
    );
    assert_sequence(&[0, 1], &taken, "what the taker took");
}

#[test]
fn every_item_is_delivered_or_refused_exactly_once() {
    let (queue, inbox) = bounded(4);
    let consumer = thread::spawn(move || {
        // A slow consumer: most items will find no room.
        consume(&inbox, ms(500), &|_| thread::sleep(ms(30)))
    });
    let delivery = finishes(
        "produce(100 items) against a slow consumer",
        PATIENCE_HINT,
        move || produce(&queue, 100, ms(1)),
    );
    let (taken, _) = join_all(vec![consumer], "consumer", IDLE_HINT)
        .pop()
        .expect("one consumer");
    assert_each_exactly_once(
        0..100,
        delivery.delivered.iter().chain(&delivery.refused).copied(),
        "delivered + refused (an item in neither list was silently dropped)",
    );
    assert!(
        !delivery.refused.is_empty(),
        "(the test's own set-up) a 30 ms consumer cannot keep up with 100 items at 1 ms patience"
    );
    assert_sequence(
        &delivery.delivered,
        &taken,
        "what the consumer took is what was delivered, in order",
    );
}

// ------------------------------------------------------------------ helper --

/// Set in a copy of this test binary that runs one test alone.
const ALONE: &str = "LESSON_07_ALONE";

/// Counting sleeps needs a process of its own: `times_slept` counts every
/// thread of the process, and other tests' threads sleep too. So this starts a
/// fresh copy of this test binary that runs only `test`. Returns true in that
/// copy (go on and measure); in the original it waits for the copy, fails with
/// the copy's failure, and returns false.
fn in_a_process_of_its_own(test: &str) -> bool {
    if std::env::var_os(ALONE).is_some_and(|name| name == test) {
        return true;
    }
    let limit = Duration::from_secs(30);
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ALONE, test)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("could not start a copy of the test binary");
    // Read both pipes as the copy writes, so a chatty copy cannot stall.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the copy") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(ms(10));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        None => panic!(
            "consume() was still running after {limit:?} in a process of its own.\n  Likely \
             cause: {IDLE_HINT}"
        ),
        Some(status) if status.success() => {
            // libtest prints the copy's lines after "test … ... ": find them there.
            let said: Vec<&str> = stdout
                .lines()
                .filter_map(|line| {
                    let at = line
                        .find("measured alone")
                        .or_else(|| line.find("skipped on this platform"))?;
                    Some(&line[at..])
                })
                .collect();
            assert!(
                !said.is_empty(),
                "the copy of the test binary measured nothing (the kit's fault, not yours):\n{stdout}"
            );
            println!("{}", said.join("\n"));
        }
        Some(_) => {
            // The copy's own failure: the lines after its "panicked at" line.
            let failure: Vec<&str> = stderr
                .lines()
                .skip_while(|l| !l.contains("panicked at"))
                .skip(1)
                .take_while(|l| !l.starts_with("note:"))
                .collect();
            let failure = if failure.is_empty() {
                stderr.trim().to_string()
            } else {
                failure.join("\n")
            };
            panic!("{failure}");
        }
    }
    false
}
