//! Lesson 08 — a bounded blocking priority queue: order, blocking, closing.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then a property: the same check over many drawn
//! inputs — any sequence of puts, gets and closes from one thread, at
//! capacities from 1 up, with priorities 0, `u32::MAX`, `i32::MAX + 1` and
//! many equal ones — compared call by call with a model of the contract that
//! is not your code (a list sorted by priority, first come first served among
//! equals). Then many threads at once, checked by what must hold whatever the
//! interleaving: each item exactly once, and no item taken while a more urgent
//! one was waiting; and a close that meets a get or a put just as it is about
//! to wait, thousands of times. Last, `stall`: every wait meets a peer that
//! goes quiet for seconds, longer than any "safety" timeout.
//!
//! Every call into your code runs under a watchdog, also the ones made on the
//! test's own thread: a queue that deadlocks fails within seconds with a hint
//! instead of freezing the run. The loom models (tests/model.rs) try small
//! scenarios under *every* interleaving.

use std::fmt::Debug;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use lesson_08::{PriorityQueue, PutError};
use lesson_support::adversary::{self, STALL, STALL_BUDGET};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    assert_each_exactly_once, assert_sequence, check_each_exactly_once, finishes, finishes_within,
    join_all, join_all_within, join_finished, preview, wait_for_or_exit,
};

const WAKE_ALL: &str = "close() must set `closed` under the lock, then wake every waiting thread \
     on both condvars: notify_all, not notify_one";
const WAKE_TAKER: &str =
    "put() must wake a taker waiting for an item: notify_one on not_empty after the push";
const WAKE_PUTTER: &str =
    "get() must wake a producer waiting for room: notify_one on not_full after the pop";
const LOST_WAKE: &str = "a thread waits for a signal nobody sends: does get() wake a producer waiting \
     for room (not_full), and put() a taker waiting for an item (not_empty)? Does close() wake them all?";
const NO_WAIT: &str = "this call had no reason to wait. Is the wait condition the right way round (wait \
     while full / empty AND open)? Is the mutex locked twice (say, self.len() called while holding \
     the lock)? A std Mutex locked again by the thread that holds it never returns";
const ORDER: &str = "the order is Entry::cmp's: the higher priority first (u32::MAX is the most \
     urgent, 0 the least — compare the u32s themselves, no casts), and among equal priorities the \
     earlier arrival first, numbered from a counter that only grows";

/// How long a call that must not wait may take in a property (it needs
/// microseconds; a hang costs this much per try while proptest shrinks).
const CALL_BUDGET: Duration = Duration::from_secs(2);

/// How long a property gives a call that must wait to show it does not
/// return. A call that returns instead of waiting does so in microseconds.
const WAITS: Duration = Duration::from_millis(3);

/// A shared queue of `capacity`.
fn queue(capacity: usize) -> Arc<PriorityQueue<u64>> {
    Arc::new(PriorityQueue::new(capacity))
}

/// Runs `call` on `queue` under a watchdog: `what` names the call, `hint`
/// says what usually makes it hang.
#[track_caller]
fn watched<T: Send + 'static>(
    queue: &Arc<PriorityQueue<u64>>,
    what: &str,
    hint: &str,
    call: impl FnOnce(&PriorityQueue<u64>) -> T + Send + 'static,
) -> T {
    let queue = Arc::clone(queue);
    finishes(what, hint, move || call(&queue))
}

/// Starts `call` on a thread of its own; join with [`join_all`].
fn start<T: Send + 'static>(
    queue: &Arc<PriorityQueue<u64>>,
    call: impl FnOnce(&PriorityQueue<u64>) -> T + Send + 'static,
) -> JoinHandle<T> {
    let queue = Arc::clone(queue);
    thread::spawn(move || call(&queue))
}

/// Gives `thread` `ms` milliseconds to start waiting; fails the test, with
/// what it returned, if it finished instead.
#[track_caller]
fn still_waiting<T: Debug>(thread: JoinHandle<T>, ms: u64, what: &str) -> JoinHandle<T> {
    let started = Instant::now();
    if wait_for_or_exit(&thread, "the thread to wait", || {
        started.elapsed() >= Duration::from_millis(ms)
    }) {
        let returned = join_finished(thread);
        panic!("{what} returned {returned:?} instead of waiting");
    }
    thread
}

/// Puts `(priority, item)` pairs into a queue of `capacity`, closes it, and
/// gets everything back — all on a watched thread.
#[track_caller]
fn order_of(capacity: usize, pushed: Vec<(u32, u64)>) -> Vec<u64> {
    let queue = queue(capacity);
    watched(
        &queue,
        "put into a queue with room, close, then get everything",
        NO_WAIT,
        move |queue| {
            for (priority, item) in pushed {
                queue.put(priority, item).expect("the queue is open");
            }
            queue.close();
            std::iter::from_fn(|| queue.get()).collect()
        },
    )
}

// ----------------------------------------------------------- the oracle --

/// What the contract says a queue holds and answers — a plain list, searched
/// for the most urgent entry on every get: no heap, no `Ord`, none of your code.
#[derive(Debug, Clone)]
struct Reference {
    capacity: usize,
    /// (priority, arrival number, item), in arrival order.
    held: Vec<(u32, u64, u64)>,
    arrivals: u64,
    closed: bool,
}

/// What a call does, by the contract: returns this at once, or waits.
#[derive(Debug, Clone, PartialEq)]
enum Expect<T> {
    Now(T),
    Waits,
}

impl Reference {
    fn new(capacity: usize) -> Self {
        Reference {
            capacity,
            held: Vec::new(),
            arrivals: 0,
            closed: false,
        }
    }

    fn put(&mut self, priority: u32, item: u64) -> Expect<Result<(), PutError<u64>>> {
        if self.closed {
            Expect::Now(Err(PutError::Closed(item)))
        } else if self.held.len() >= self.capacity {
            Expect::Waits
        } else {
            self.held.push((priority, self.arrivals, item));
            self.arrivals += 1;
            Expect::Now(Ok(()))
        }
    }

    /// Whether an item put at the top priority now goes straight in and is
    /// the next out: open, room, and nothing at the top priority waiting.
    fn can_churn(&self) -> bool {
        !self.closed
            && self.held.len() < self.capacity
            && self
                .held
                .iter()
                .all(|(priority, _, _)| *priority != u32::MAX)
    }

    fn get(&mut self) -> Expect<Option<u64>> {
        // The most urgent: the highest priority; among those, the first to arrive.
        let most_urgent = (0..self.held.len()).reduce(|best, at| {
            let (p, a, _) = self.held[at];
            let (bp, ba, _) = self.held[best];
            if p > bp || (p == bp && a < ba) {
                at
            } else {
                best
            }
        });
        match most_urgent {
            Some(at) => Expect::Now(Some(self.held.remove(at).2)),
            None if self.closed => Expect::Now(None),
            None => Expect::Waits,
        }
    }

    fn close(&mut self) {
        self.closed = true;
    }

    fn len(&self) -> usize {
        self.held.len()
    }

    /// What the queue holds, as `priority:item` in the order they arrived.
    fn contents(&self) -> String {
        let shown: Vec<String> = self
            .held
            .iter()
            .map(|(priority, _, item)| format!("{}:#{item}", show_priority(*priority)))
            .collect();
        format!(
            "[{}] (capacity {}, {})",
            shown.join(", "),
            self.capacity,
            if self.closed { "closed" } else { "open" }
        )
    }
}

fn show_priority(priority: u32) -> String {
    match priority {
        u32::MAX => "u32::MAX".to_string(),
        p if p > i32::MAX as u32 => format!("u32::MAX-{}", u32::MAX - p),
        p => p.to_string(),
    }
}

/// One call from the test's thread. Items are numbered by the test: the
/// n-th put puts item `#n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put(u32),
    Get,
    Close,
}

/// A call that waits, on a thread of its own, until a later call lets it go.
enum Waiting {
    Put {
        priority: u32,
        item: u64,
        thread: JoinHandle<Result<(), PutError<u64>>>,
    },
    Get {
        thread: JoinHandle<Option<u64>>,
    },
}

/// Plays `ops` on a fresh queue of `capacity` from the test's thread and
/// compares every answer, and `len()` / `is_empty()` after every call, with
/// the [`Reference`]. A call the contract says waits runs on a thread of its
/// own; it must still be waiting a little later, and the next call that
/// lets it go (a get or a close for a put, a put or a close for a get) must
/// let it go with the answer the contract gives. Calls that would wait
/// while another already does are left out. At the end the queue is closed
/// and drained: what is left must come out in the contract's order.
fn play(capacity: usize, ops: &[Op]) -> Result<(), String> {
    play_churned(capacity, Life::Short, ops)
}

/// How many puts a queue has seen by the middle of a [`play_churned`].
#[derive(Debug, Clone, Copy)]
enum Life {
    /// None but the scenario's own.
    Short,
    /// This many more.
    Past(u64),
    /// As many more as bring the count of puts to `slack` short of the
    /// `boundary`, so the puts after them cross it: a counter that wraps
    /// there (a `u8` at 256, an `i16` at 32 768, a `u16` at 65 536) numbers
    /// the newest items below the ones waiting since before.
    UpTo { boundary: u64, slack: u64 },
}

impl Life {
    /// The puts to add, once `made` have been made.
    fn churn(self, made: u64) -> u64 {
        match self {
            Life::Short => 0,
            Life::Past(puts) => puts,
            Life::UpTo { boundary, slack } => boundary.saturating_sub(made + slack),
        }
    }

    /// Long lives, past the round numbers a counter might be reset at, and up
    /// to each width's edge.
    fn long() -> impl Strategy<Value = Life> {
        prop_oneof![
            proptest::sample::select(vec![1_001u64, 4_097, 65_537]).prop_map(Life::Past),
            (
                proptest::sample::select(vec![128u64, 256, 1_024, 32_768, 65_536]),
                0u64..=2,
            )
                .prop_map(|(boundary, slack)| Life::UpTo { boundary, slack }),
        ]
    }
}

/// [`play`] with a long life in the middle: from halfway through `ops`, at
/// the first moment the queue is open, has room, nobody waits and nothing
/// in it has the top priority, as many items as `life` says pass through
/// it — each put at priority `u32::MAX` and taken straight back. The items
/// waiting then have thousands of puts between them and the items that come
/// after, and the order must not care.
fn play_churned(capacity: usize, life: Life, ops: &[Op]) -> Result<(), String> {
    let queue = queue(capacity);
    let mut reference = Reference::new(capacity);
    let mut story = vec![format!("new({capacity})")];
    let mut churn_from = if matches!(life, Life::Short) {
        usize::MAX
    } else {
        ops.len() / 2
    };
    let mut items = 0u64;
    let mut waiting: Option<Waiting> = None;
    let ops = ops.iter().copied().chain([Op::Close]);
    for (at, op) in ops.enumerate() {
        if at >= churn_from && waiting.is_none() && reference.can_churn() {
            churn_from = usize::MAX;
            let churn = life.churn(items);
            let what = format!("{churn} puts at priority u32::MAX, each taken straight back");
            // Thousands of calls: the watchdog's full budget, not a call's.
            let served = watched(&queue, &what, NO_WAIT, move |q| {
                (0..churn)
                    .all(|n| q.put(u32::MAX, u64::MAX - n).is_ok() && q.get() == Some(u64::MAX - n))
            });
            if !served {
                return Err(format!(
                    "{}: then {what} — one of them was refused, or the get right after it did not \
                     give it back although nothing else in the queue was as urgent",
                    story.join("; ")
                ));
            }
            story.push(what);
        }
        let before = reference.contents();
        // (len(), is_empty()) read right after a call that let no waiter go.
        let mut sizes = None;
        match (op, waiting.take()) {
            (Op::Put(priority), None) => {
                let item = items;
                items += 1;
                let expected = reference.put(priority, item);
                let what = format!("put({}, #{item})", show_priority(priority));
                if expected == Expect::Waits {
                    let thread = start(&queue, move |q| q.put(priority, item));
                    let thread = confirm_waiting(thread, &what, &before, &story)?;
                    story.push(format!("{what} waits"));
                    waiting = Some(Waiting::Put {
                        priority,
                        item,
                        thread,
                    });
                } else {
                    let (got, after) = call(&queue, &what, move |q| {
                        (q.put(priority, item), (q.len(), q.is_empty()))
                    });
                    compare(&what, &before, &got, expected, &story)?;
                    story.push(format!("{what} → {got:?}"));
                    sizes = Some(after);
                }
            }
            (Op::Get, None) => {
                let expected = reference.get();
                if expected == Expect::Waits {
                    let thread = start(&queue, |q| q.get());
                    let thread = confirm_waiting(thread, "get()", &before, &story)?;
                    story.push("get() waits".to_string());
                    waiting = Some(Waiting::Get { thread });
                } else {
                    let (got, after) =
                        call(&queue, "get()", |q| (q.get(), (q.len(), q.is_empty())));
                    compare("get()", &before, &got, expected, &story)?;
                    story.push(format!("get() → {}", show_item(got)));
                    sizes = Some(after);
                }
            }
            (Op::Close, None) => {
                reference.close();
                let after = call(&queue, "close()", |q| {
                    q.close();
                    (q.len(), q.is_empty())
                });
                story.push("close()".to_string());
                sizes = Some(after);
            }
            // A get makes room for the waiting put, which then goes in.
            (
                Op::Get,
                Some(Waiting::Put {
                    priority,
                    item,
                    thread,
                }),
            ) => {
                let expected = reference.get();
                let got = call(&queue, "get()", |q| q.get());
                compare("get()", &before, &got, expected, &story)?;
                story.push(format!("get() → {}", show_item(got)));
                let after = reference.contents();
                let expected = reference.put(priority, item);
                let what = format!(
                    "the waiting put({}, #{item}), once a get made room",
                    show_priority(priority)
                );
                let got = join_waiting(thread, &what, WAKE_PUTTER);
                compare(&what, &after, &got, expected, &story)?;
                story.push(format!("{what} → {got:?}"));
            }
            // A put hands the waiting get its item.
            (Op::Put(priority), Some(Waiting::Get { thread })) => {
                let item = items;
                items += 1;
                let expected = reference.put(priority, item);
                let what = format!("put({}, #{item})", show_priority(priority));
                let got = call(&queue, &what, move |q| q.put(priority, item));
                compare(&what, &before, &got, expected, &story)?;
                story.push(format!("{what} → {got:?}"));
                let after = reference.contents();
                let expected = reference.get();
                let what = "the waiting get(), once a put brought an item";
                let got = join_waiting(thread, what, WAKE_TAKER);
                compare(what, &after, &got, expected, &story)?;
                story.push(format!("{what} → {}", show_item(got)));
            }
            // A close lets every waiter go, empty-handed.
            (Op::Close, Some(waiter)) => {
                reference.close();
                call(&queue, "close()", |q| q.close());
                story.push("close()".to_string());
                let after = reference.contents();
                match waiter {
                    Waiting::Put {
                        priority,
                        item,
                        thread,
                    } => {
                        let expected = reference.put(priority, item);
                        let what = format!(
                            "the put({}, #{item}) that waited for room when close() came",
                            show_priority(priority)
                        );
                        let got = join_waiting(thread, &what, WAKE_ALL);
                        compare(&what, &after, &got, expected, &story)?;
                        story.push(format!("{what} → {got:?}"));
                    }
                    Waiting::Get { thread } => {
                        let expected = reference.get();
                        let what = "the get() that waited for an item when close() came";
                        let got = join_waiting(thread, what, WAKE_ALL);
                        compare(what, &after, &got, expected, &story)?;
                        story.push(format!("{what} → {}", show_item(got)));
                    }
                }
            }
            // Would wait too, while another call already waits: left out.
            (_, still) => {
                waiting = still;
                continue;
            }
        }
        if waiting.is_none() {
            let sizes = sizes.unwrap_or_else(|| {
                call(&queue, "len() and is_empty()", |q| (q.len(), q.is_empty()))
            });
            let expected = (reference.len(), reference.len() == 0);
            if sizes != expected {
                return Err(format!(
                    "(len(), is_empty()) returned {sizes:?}; the queue holds {} — so {expected:?}.\n  \
                     What happened: {}",
                    reference.contents(),
                    tell(&story)
                ));
            }
        }
    }
    // Closed (the last op): drain what is left, then None, and no more puts.
    let drained = call(&queue, "get() until None on the closed queue", |q| {
        std::iter::from_fn(|| q.get())
            .take(1_000)
            .collect::<Vec<u64>>()
    });
    let mut expected = Vec::new();
    let before = reference.contents();
    while let Expect::Now(Some(item)) = reference.get() {
        expected.push(item);
    }
    if drained != expected {
        return Err(format!(
            "after close(), get() until None handed out {} from a queue holding {before}; the \
             contract: {} — {ORDER}, and a closed queue still hands out what it holds.\n  What \
             happened: {}",
            show_items(&drained),
            show_items(&expected),
            tell(&story)
        ));
    }
    let late = call(
        &queue,
        "put() and get() on a closed, drained queue",
        move |q| (q.put(7, items), q.get()),
    );
    if late != (Err(PutError::Closed(items)), None) {
        return Err(format!(
            "on a closed, drained queue, put(7, #{items}) and get() returned {late:?}; the \
             contract: (Err(Closed({items})), None) — closed for good.\n  What happened: {}",
            tell(&story)
        ));
    }
    Ok(())
}

/// Calls `call` on the queue under a short watchdog.
#[track_caller]
fn call<T: Send + 'static>(
    queue: &Arc<PriorityQueue<u64>>,
    what: &str,
    call: impl FnOnce(&PriorityQueue<u64>) -> T + Send + 'static,
) -> T {
    let queue = Arc::clone(queue);
    finishes_within(CALL_BUDGET, what, NO_WAIT, move || call(&queue))
}

/// Gives back `thread` if it is still running after [`WAITS`]; fails with
/// what it returned if it finished instead.
fn confirm_waiting<T: Debug>(
    thread: JoinHandle<T>,
    what: &str,
    before: &str,
    story: &[String],
) -> Result<JoinHandle<T>, String> {
    let started = Instant::now();
    while started.elapsed() < WAITS {
        if thread.is_finished() {
            let returned = join_finished(thread);
            return Err(format!(
                "{what} on a queue holding {before} returned {returned:?} instead of waiting: a \
                 put waits while the queue is full and open, a get while it is empty and open (a \
                 `while` loop around the condvar's wait; full means len() >= capacity).\n  What \
                 happened: {}",
                tell(story)
            ));
        }
        thread::sleep(Duration::from_micros(500));
    }
    Ok(thread)
}

/// Joins a call that waited and was let go, within [`CALL_BUDGET`].
#[track_caller]
fn join_waiting<T>(thread: JoinHandle<T>, what: &str, hint: &str) -> T {
    join_all_within(CALL_BUDGET, vec![thread], what, hint)
        .pop()
        .expect("one thread joined")
}

fn compare<T: Debug + PartialEq>(
    what: &str,
    before: &str,
    got: &T,
    expected: Expect<T>,
    story: &[String],
) -> Result<(), String> {
    let expected = match expected {
        Expect::Now(expected) if *got == expected => return Ok(()),
        Expect::Now(expected) => format!("{expected:?}"),
        Expect::Waits => "it waits".to_string(),
    };
    Err(format!(
        "{what} on a queue holding {before} returned {got:?}; the contract says {expected}. \
         ({ORDER}; a put is refused only once the queue is closed; get() says None only once it \
         is closed and empty.)\n  What happened: {}",
        tell(story)
    ))
}

fn show_item(item: Option<u64>) -> String {
    item.map_or_else(|| "None".to_string(), |item| format!("#{item}"))
}

fn show_items(items: &[u64]) -> String {
    let shown: Vec<String> = items.iter().map(|item| format!("#{item}")).collect();
    format!("[{}]", shown.join(", "))
}

/// The calls so far, the last few in full.
fn tell(story: &[String]) -> String {
    const SHOWN: usize = 14;
    let skipped = story.len().saturating_sub(SHOWN);
    let mut text = String::new();
    if skipped > 0 {
        text.push_str(&format!("({skipped} calls before) … "));
    }
    text.push_str(&story[skipped..].join("; "));
    text
}

/// Priorities from the whole of `u32`, ties common: 0, 1, small numbers,
/// both sides of `i32::MAX`, and the top.
fn priority() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![
        4 => 0u32..4,
        1 => Just(0),
        1 => Just(u32::MAX),
        1 => Just(u32::MAX - 1),
        1 => Just(i32::MAX as u32),
        1 => Just(i32::MAX as u32 + 1),
        2 => any::<u32>(),
    ]
}

/// Calls for [`play`], puts `put` times as likely as gets, closes now and then
/// (when `close` is true).
fn ops(len: usize, put: u32, close: bool) -> impl Strategy<Value = Vec<Op>> {
    let close_weight = u32::from(close);
    proptest::collection::vec(
        prop_oneof![
            put => priority().prop_map(Op::Put),
            2 => Just(Op::Get),
            close_weight => Just(Op::Close),
        ],
        0..len,
    )
}

// ----------------------------------------------------- many threads --

/// A run with real threads: each producer puts its items (item `p * 1000 +
/// j` with the j-th of its priorities), pausing where it says; consumers
/// start after `consumers_after` and get until `None`.
#[derive(Debug, Clone)]
struct Crowd {
    capacity: usize,
    producers: Vec<Vec<(u32, u8)>>,
    consumers: usize,
    consumers_after: Duration,
    /// Close the queue after this many puts have returned (`None`: after
    /// every producer is done), while producers may still be putting.
    close_after: Option<usize>,
}

/// One put or get as the test saw it: when the call started and returned.
#[derive(Debug, Clone, Copy)]
struct Call {
    item: u64,
    started: Instant,
    returned: Instant,
}

/// What a [`Crowd`] run did.
#[derive(Debug, Default)]
struct Seen {
    /// Puts that returned Ok, and their priority.
    accepted: Vec<(Call, u32)>,
    /// Puts refused, with the item they handed back.
    refused: Vec<(Call, Result<(), PutError<u64>>)>,
    /// Gets that returned an item, by consumer.
    taken: Vec<Vec<Call>>,
    /// When close() started and returned.
    closed: Option<(Instant, Instant)>,
}

fn crowd() -> impl Strategy<Value = Crowd> {
    let producer = proptest::collection::vec((priority(), 0u8..4), 0..12);
    (
        oracle::draw::size(1, 8),
        proptest::collection::vec(producer, 1..=3),
        1usize..=3,
        prop_oneof![Just(0u64), 1u64..6].prop_map(Duration::from_millis),
    )
        .prop_map(|(capacity, producers, consumers, consumers_after)| Crowd {
            capacity,
            producers,
            consumers,
            consumers_after,
            close_after: None,
        })
}

/// Runs a [`Crowd`]: every call stamped, the whole run under a watchdog.
fn run_crowd(crowd: &Crowd) -> Seen {
    let queue = queue(crowd.capacity);
    let case = crowd.clone();
    let what = format!(
        "{} producers putting {} items and {} consumers getting, capacity {}",
        crowd.producers.len(),
        crowd.producers.iter().map(Vec::len).sum::<usize>(),
        crowd.consumers,
        crowd.capacity
    );
    finishes(&what, LOST_WAKE, move || {
        let crowd = case;
        let queue = &*queue;
        let returned = std::sync::atomic::AtomicUsize::new(0);
        let returned = &returned;
        thread::scope(|s| {
            let takers: Vec<_> = (0..crowd.consumers)
                .map(|_| {
                    let after = crowd.consumers_after;
                    s.spawn(move || {
                        thread::sleep(after);
                        let mut taken = Vec::new();
                        loop {
                            let started = Instant::now();
                            let got = queue.get();
                            let returned = Instant::now();
                            match got {
                                Some(item) => taken.push(Call {
                                    item,
                                    started,
                                    returned,
                                }),
                                None => break taken,
                            }
                        }
                    })
                })
                .collect();
            let putters: Vec<_> = crowd
                .producers
                .iter()
                .enumerate()
                .map(|(p, items)| {
                    s.spawn(move || {
                        let mut calls = Vec::new();
                        for (j, &(priority, pause)) in items.iter().enumerate() {
                            let item = p as u64 * 1000 + j as u64;
                            let started = Instant::now();
                            let result = queue.put(priority, item);
                            let call = Call {
                                item,
                                started,
                                returned: Instant::now(),
                            };
                            returned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            calls.push((call, priority, result));
                            if pause > 1 {
                                thread::sleep(Duration::from_millis(u64::from(pause) - 1));
                            }
                        }
                        calls
                    })
                })
                .collect();
            let mut closed = None;
            if let Some(after) = crowd.close_after {
                while returned.load(std::sync::atomic::Ordering::SeqCst) < after
                    && !putters.iter().all(|p| p.is_finished())
                {
                    thread::yield_now();
                }
                let started = Instant::now();
                queue.close();
                closed = Some((started, Instant::now()));
            }
            let mut seen = Seen::default();
            for putter in putters {
                let calls = putter
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                for (call, priority, result) in calls {
                    match result {
                        Ok(()) => seen.accepted.push((call, priority)),
                        refused => seen.refused.push((call, refused)),
                    }
                }
            }
            if closed.is_none() {
                let started = Instant::now();
                queue.close();
                closed = Some((started, Instant::now()));
            }
            seen.closed = closed;
            seen.taken = takers
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect();
            seen
        })
    })
}

/// What must hold whatever the interleaving: every accepted item taken
/// exactly once; and no item taken while a more urgent one — or an equal
/// one that arrived first — was certainly waiting (its put had returned
/// before the get started, and the get that took it started after this one
/// returned).
fn check_crowd(crowd: &Crowd, seen: &Seen) -> Result<(), String> {
    let taken: Vec<Call> = seen.taken.concat();
    check_each_exactly_once(
        seen.accepted.iter().map(|(call, _)| call.item),
        taken.iter().map(|call| call.item),
        "items whose put returned Ok, against the items the consumers got",
    )?;
    let put: std::collections::HashMap<u64, (Call, u32)> = seen
        .accepted
        .iter()
        .map(|&(call, priority)| (call.item, (call, priority)))
        .collect();
    for y in &taken {
        let (put_y, priority_y) = put[&y.item];
        for z in &taken {
            let (put_z, priority_z) = put[&z.item];
            let z_waited_through_y = put_z.returned < y.started && y.returned < z.started;
            if !z_waited_through_y {
                continue;
            }
            let z_first = priority_z > priority_y
                || (priority_z == priority_y && put_z.returned < put_y.started);
            if z_first {
                return Err(format!(
                    "item #{} (priority {}) was taken while item #{} (priority {}{}) was waiting \
                     in the queue: its put had returned before that get started, and it was \
                     taken only later. {ORDER}.",
                    y.item,
                    show_priority(priority_y),
                    z.item,
                    show_priority(priority_z),
                    if priority_z == priority_y {
                        ", put before the other was put"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    // No more held at once than the capacity: items certainly in the queue
    // at the moment a get started (put returned before, taken after).
    for y in &taken {
        let held: Vec<u64> = taken
            .iter()
            .filter(|z| put[&z.item].0.returned < y.started && y.started < z.started)
            .map(|z| z.item)
            .collect();
        // The get starting at that moment has not taken anything yet.
        if held.len() > crowd.capacity {
            return Err(format!(
                "the queue of capacity {} held at least {} items at once ({}): a put waits while \
                 len() >= capacity — in a `while` loop, rechecked after every wake-up",
                crowd.capacity,
                held.len(),
                preview(&held)
            ));
        }
    }
    Ok(())
}

/// `run_crowd` and `check_crowd`, for a property.
fn crowd_holds(crowd: Crowd) -> Result<(), String> {
    let seen = run_crowd(&crowd);
    let refused: Vec<_> = seen
        .refused
        .iter()
        .map(|(call, r)| (call.item, r))
        .collect();
    if crowd.close_after.is_none() && !refused.is_empty() {
        return Err(format!(
            "puts into an open queue were refused: {}. A put waits for room while the queue is \
             open; it is refused only once the queue is closed",
            preview(&refused)
        ));
    }
    check_crowd(&crowd, &seen)
}

// ------------------------------------------- close meets a waiter --

/// [`adversary::close_races`] with this lesson's queue and advice: `trials`
/// closes, each meeting a `wait` about to sleep; every call must return
/// `expected`.
fn close_races<R: Debug + PartialEq + Send + 'static>(
    trials: usize,
    make: fn(usize) -> PriorityQueue<u64>,
    what: &'static str,
    wait: fn(&PriorityQueue<u64>, usize) -> R,
    expected: fn(usize) -> R,
) -> Result<(), String> {
    adversary::close_races(adversary::CloseRace {
        trials,
        make,
        close: |queue| queue.close(),
        what,
        wait,
        expected,
        // How long to go on racing (at most `trials`).
        racing: Duration::from_millis(300),
        call_budget: CALL_BUDGET,
        wake_all: WAKE_ALL,
        no_wait: NO_WAIT,
    })
}

// -------------------------------------------------------------- tests --

/// The chapter's section "Ordering the heap".
mod s1_ordering_the_heap {
    use super::*;

    #[test]
    fn a_higher_priority_is_taken_first() {
        assert_eq!(
            order_of(8, vec![(1, 10), (3, 30), (2, 20)]),
            [30, 20, 10],
            "priority 3 first, then 2, then 1: is the comparison the wrong way round (a min-heap)?"
        );
        assert_eq!(
            order_of(8, vec![(0, 1), (u32::MAX, 2), (7, 3)]),
            [2, 3, 1],
            "u32::MAX is the most urgent priority there is, 0 the least"
        );
    }

    #[test]
    fn equal_priorities_come_out_in_arrival_order() {
        for priority in [0, 1, u32::MAX] {
            let pushed: Vec<(u32, u64)> = (0..50).map(|item| (priority, item)).collect();
            assert_sequence(
                &(0..50).collect::<Vec<_>>(),
                &order_of(64, pushed),
                &format!(
                    "50 items of priority {priority}, put in order 0..50: a BinaryHeap alone does not \
                     keep equal items in order — break ties by arrival, earliest first"
                ),
            );
        }
    }

    #[test]
    fn priority_first_then_arrival() {
        let pushed = vec![(1, 0), (3, 1), (1, 2), (3, 3), (0, 4), (1, 5)];
        assert_eq!(
            order_of(8, pushed),
            [1, 3, 0, 2, 5, 4],
            "the 3s first (1 before 3: it came first), then the 1s in arrival order, then the 0"
        );
    }

    #[test]
    fn arrival_order_holds_while_items_come_and_go() {
        // Put two, get one, over and over, all at one priority: the queue never
        // empties, so an arrival number taken from the heap's length (which goes
        // down as well as up) would repeat, and equal numbers come out in any order.
        let queue = queue(64);
        let got = watched(&queue, "put two, get one, 40 times", NO_WAIT, |queue| {
            let mut got = Vec::new();
            for round in 0..40 {
                queue.put(1, 2 * round).expect("the queue is open");
                queue.put(1, 2 * round + 1).expect("the queue is open");
                got.push(queue.get().expect("the queue holds items"));
            }
            queue.close();
            got.extend(std::iter::from_fn(|| queue.get()));
            got
        });
        assert_sequence(
            &(0..80).collect::<Vec<_>>(),
            &got,
            "equal priorities leave in arrival order even while others are taken in between: number \
             each put from a counter that only grows (not the heap's length)",
        );
    }

    #[test]
    fn a_long_queue_of_equal_priorities_still_serves_first_come_first() {
        // Up to hundreds of items waiting at once, most of them sharing one
        // of a few priorities: past the small sizes where many sorts and
        // heaps happen to keep equal items in order, first-come-first-served
        // among equals is still the contract.
        let many = proptest::collection::vec(
            prop_oneof![
                8 => (0u32..3).prop_map(Op::Put),
                1 => Just(Op::Get),
            ],
            40..300,
        );
        oracle::check(8, many, |ops| play(512, &ops));
    }

    #[test]
    fn the_order_holds_however_long_the_queue_has_lived() {
        // Arrival numbers count every put of the queue's life, not the items
        // in it: with thousands of puts (past 1000, 4096, 65_536) between an
        // item waiting and the items after it — or as many as make the count
        // of puts cross 128, 256, 1024, 32 768 or 65 536 among the items
        // after — the contract's order is the same as with none.
        oracle::check(10, (Life::long(), ops(40, 4, false)), |(life, ops)| {
            play_churned(64, life, &ops)
        });
    }

    #[test]
    fn any_puts_and_gets_come_out_in_the_contract_s_order() {
        // A queue with room for everything: only the order is at stake.
        // Priorities from all of u32, many equal; gets in between.
        oracle::check(48, ops(40, 4, false), |ops| play(64, &ops));
    }
}

/// The chapter's section "Put and get".
mod s2_put_and_get {
    use super::*;

    #[test]
    fn a_queue_of_any_capacity_holds_exactly_that_many() {
        // Capacities past the round numbers a bound might be capped at, and
        // usize::MAX ("practically unbounded"): making an empty queue costs
        // nothing whatever its bound, and it takes exactly `capacity` items
        // before a put waits.
        let huge = finishes(
            "PriorityQueue::new(usize::MAX), then 3 puts and 3 gets",
            NO_WAIT,
            || {
                std::panic::catch_unwind(|| {
                    let queue = PriorityQueue::new(usize::MAX);
                    for item in 0..3 {
                        queue.put(7, item).expect("the queue is open");
                    }
                    (0..3).map(|_| queue.get()).collect::<Vec<_>>()
                })
                .map_err(|payload| lesson_support::panic_message(payload.as_ref()))
            },
        );
        match huge {
            Ok(got) => assert_eq!(
                got,
                [Some(0), Some(1), Some(2)],
                "a queue of capacity usize::MAX, 3 items of one priority: first come, first served"
            ),
            Err(message) => panic!(
                "PriorityQueue::new(usize::MAX) panicked: {message:?}. The capacity is a bound to \
                 compare len() with, not room to reserve: an empty queue allocates nothing up \
                 front (BinaryHeap::new(), not with_capacity(capacity))"
            ),
        }
        for capacity in [4_095, 4_097, 10_000, 65_537] {
            let queue = queue(capacity);
            watched(
                &queue,
                &format!("{capacity} puts into an empty queue of capacity {capacity}"),
                &format!(
                    "none of these puts has a reason to wait: a queue of capacity {capacity} \
                     takes {capacity} items — is the bound capped, or compared with something \
                     other than `capacity`? {NO_WAIT}"
                ),
                move |queue| {
                    for item in 0..capacity as u64 {
                        queue
                            .put((item % 3) as u32, item)
                            .expect("the queue is open");
                    }
                },
            );
            let putter = start(&queue, |queue| queue.put(9, u64::MAX));
            let putter = still_waiting(
                putter,
                100,
                &format!(
                    "a put into a full queue of capacity {capacity} (it must wait for room, not \
                     take item {})",
                    capacity + 1
                ),
            );
            watched(
                &queue,
                &format!("close() on a full queue of capacity {capacity}, a put waiting"),
                "close() marks the queue closed and wakes every waiter, then returns: it does \
                 not wait for the items still in the queue to be taken",
                PriorityQueue::close,
            );
            let refused = join_all(vec![putter], "the waiting put", WAKE_ALL).remove(0);
            assert_eq!(
                refused,
                Err(PutError::Closed(u64::MAX)),
                "a put waiting on a full queue of capacity {capacity}, then close()"
            );
        }
    }

    #[test]
    fn put_waits_while_the_queue_is_full() {
        let queue = queue(3);
        watched(
            &queue,
            "3 puts into an empty queue of capacity 3",
            NO_WAIT,
            |queue| {
                for item in 1..=3 {
                    queue.put(0, item).expect("the queue is open");
                }
            },
        );
        let putter = start(&queue, |queue| queue.put(9, 4));
        let putter = still_waiting(
            putter,
            150,
            "a put into a full queue of capacity 3 (it must wait for room)",
        );
        let held = watched(&queue, "len() and is_empty()", NO_WAIT, |queue| {
            (queue.len(), queue.is_empty())
        });
        assert_eq!(
            held,
            (3, false),
            "(len(), is_empty()) of a full queue of capacity 3, with a put waiting"
        );
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(1), "all equal: the oldest first");
        let put = join_all(vec![putter], "putter", WAKE_PUTTER);
        assert_eq!(put, [Ok(())], "the waiting put went in once there was room");
        let (rest, left) = watched(&queue, "close and get until None", NO_WAIT, |queue| {
            queue.close();
            let rest = std::iter::from_fn(|| queue.get()).collect::<Vec<_>>();
            (rest, (queue.len(), queue.is_empty()))
        });
        assert_eq!(rest, [4, 2, 3], "the waiting put's item (priority 9) first");
        assert_eq!(left, (0, true), "(len(), is_empty()) once drained");
    }

    #[test]
    fn a_queue_of_one_holds_one() {
        let queue = queue(1);
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(0, 1)
        })
        .unwrap();
        let putter = start(&queue, |queue| queue.put(0, 2));
        let putter = still_waiting(putter, 150, "a put into a full queue of capacity 1");
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(1));
        assert_eq!(join_all(vec![putter], "putter", WAKE_PUTTER), [Ok(())]);
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(2));
    }

    #[test]
    fn get_waits_for_an_item() {
        let queue = queue(4);
        let taker = start(&queue, |queue| queue.get());
        let taker = still_waiting(taker, 150, "get() on an empty, open queue");
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(5, 42)
        })
        .unwrap();
        assert_eq!(join_all(vec![taker], "taker", WAKE_TAKER), [Some(42)]);
    }

    #[test]
    fn any_puts_and_gets_at_any_capacity_match_the_contract() {
        // Small capacities, so puts meet a full queue and gets an empty one:
        // those must wait, and the call that makes room (or brings an item)
        // must let them go — with the answer the contract gives.
        let cases = (oracle::draw::size(1, 4), ops(18, 2, false));
        oracle::check(48, cases, |(capacity, ops)| play(capacity, &ops));
    }

    /// `producers` put `items` between them (item n with priority n % 3);
    /// `consumers` get until the queue is closed after the last put.
    fn many(capacity: usize, producers: u64, consumers: usize, items: u64) {
        let queue = queue(capacity);
        let taken = watched(
            &queue,
            &format!(
                "{producers} producers and {consumers} consumers, {items} items, capacity {capacity}"
            ),
            LOST_WAKE,
            move |queue| {
                thread::scope(|s| {
                    let takers: Vec<_> = (0..consumers)
                        .map(|_| {
                            s.spawn(|| std::iter::from_fn(|| queue.get()).collect::<Vec<u64>>())
                        })
                        .collect();
                    let putters: Vec<_> = (0..producers)
                        .map(|p| {
                            s.spawn(move || {
                                for item in (p..items).step_by(producers as usize) {
                                    queue
                                        .put((item % 3) as u32, item)
                                        .expect("open until every producer is done");
                                }
                            })
                        })
                        .collect();
                    for putter in putters {
                        putter
                            .join()
                            .unwrap_or_else(|e| std::panic::resume_unwind(e));
                    }
                    queue.close();
                    takers
                        .into_iter()
                        .flat_map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                        .collect::<Vec<u64>>()
                })
            },
        );
        assert_each_exactly_once(0..items, taken, "items taken");
    }

    #[test]
    fn many_producers_and_consumers_lose_nothing() {
        many(8, 3, 4, 1_001);
    }

    #[test]
    fn many_producers_and_consumers_lose_nothing_at_capacity_one() {
        many(1, 3, 2, 501);
    }

    #[test]
    fn many_threads_take_each_item_once_and_never_pass_a_more_urgent_one() {
        oracle::check(24, crowd(), crowd_holds);
    }
}

/// The chapter's section "Closing".
mod s3_closing {
    use super::*;

    #[test]
    fn a_closed_queue_refuses_puts_and_still_hands_out_what_it_holds() {
        let queue = queue(4);
        let (refused, got) = watched(
            &queue,
            "put, close, put, get until None",
            NO_WAIT,
            |queue| {
                queue.put(1, 7).unwrap();
                queue.put(2, 8).unwrap();
                queue.close();
                let refused = queue.put(3, 9);
                let got: Vec<Option<u64>> = (0..4).map(|_| queue.get()).collect();
                (refused, got)
            },
        );
        assert_eq!(
            refused,
            Err(PutError::Closed(9)),
            "a put into a closed queue is refused — even with room to spare — and hands its item back"
        );
        assert_eq!(
            got,
            [Some(8), Some(7), None, None],
            "a closed queue still hands out what it holds, by priority; then None, every time"
        );
    }

    #[test]
    fn close_wakes_every_waiting_taker() {
        let queue = queue(4);
        let takers: Vec<_> = (0..3).map(|_| start(&queue, |queue| queue.get())).collect();
        thread::sleep(Duration::from_millis(150)); // let them all wait
        watched(&queue, "close()", NO_WAIT, |queue| queue.close());
        assert_eq!(join_all(takers, "takers", WAKE_ALL), [None, None, None]);
    }

    #[test]
    fn close_wakes_every_producer_waiting_for_room() {
        let queue = queue(1);
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(0, 1)
        })
        .unwrap();
        let producers = vec![
            start(&queue, |queue| queue.put(0, 2)),
            start(&queue, |queue| queue.put(7, 3)),
        ];
        thread::sleep(Duration::from_millis(150)); // let them both wait
        watched(&queue, "close()", NO_WAIT, |queue| queue.close());
        assert_eq!(
            join_all(producers, "producers", WAKE_ALL),
            [Err(PutError::Closed(2)), Err(PutError::Closed(3))],
            "puts cut short by close hand their items back"
        );
        let rest = watched(&queue, "get() twice on a closed queue", NO_WAIT, |queue| {
            [queue.get(), queue.get()]
        });
        assert_eq!(
            rest,
            [Some(1), None],
            "what was in the queue before close is still delivered, then None"
        );
    }

    #[test]
    fn a_close_that_meets_a_get_or_a_put_about_to_wait_wakes_it() {
        let get = close_races(
            5_000,
            |_| PriorityQueue::new(1),
            "get() on an empty queue",
            |q, _| q.get(),
            |_| None,
        );
        let put = close_races(
            5_000,
            |_| {
                let queue = PriorityQueue::new(1);
                queue.put(0, u64::MAX).expect("the queue is open");
                queue
            },
            "put() into a full queue",
            |q, trial| q.put(1, trial as u64),
            |trial| Err(PutError::Closed(trial as u64)),
        );
        let problems: Vec<String> = [get, put].into_iter().filter_map(Result::err).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    }

    #[test]
    fn any_calls_with_closes_among_them_match_the_contract() {
        let cases = (oracle::draw::size(1, 4), ops(18, 3, true));
        oracle::check(48, cases, |(capacity, ops)| play(capacity, &ops));
    }

    #[test]
    fn a_close_while_producers_put_loses_and_invents_nothing() {
        // close() comes while producers are still putting and consumers
        // getting: every put either went in (and its item is taken exactly
        // once) or was refused with its own item handed back; a put that
        // returned before close() began went in, one that began after close()
        // returned was refused, and once refused a producer is refused again.
        let cases = crowd().prop_flat_map(|crowd| {
            let total = crowd.producers.iter().map(Vec::len).sum::<usize>();
            (Just(crowd), 0..=total)
        });
        oracle::check(24, cases, |(mut crowd, close_after)| {
            crowd.close_after = Some(close_after);
            let seen = run_crowd(&crowd);
            let (close_started, close_returned) = seen.closed.expect("closed once");
            for (call, result) in &seen.refused {
                if *result != Err(PutError::Closed(call.item)) {
                    return Err(format!(
                        "put(…, #{}) returned {result:?}: a refused put hands back its own item, \
                         Err(PutError::Closed(#{}))",
                        call.item, call.item
                    ));
                }
                if call.returned < close_started {
                    return Err(format!(
                        "put(…, #{}) was refused although it returned before close() was called: \
                         a put into an open queue waits for room, it is never refused",
                        call.item
                    ));
                }
            }
            for (call, _) in &seen.accepted {
                if call.started > close_returned {
                    return Err(format!(
                        "put(…, #{}) went in although it began after close() had returned: a \
                         closed queue refuses every put — check `closed` under the lock, \
                         before the room",
                        call.item
                    ));
                }
            }
            for (p, _) in crowd.producers.iter().enumerate() {
                let first_refused = seen
                    .refused
                    .iter()
                    .filter(|(call, _)| call.item / 1000 == p as u64)
                    .map(|(call, _)| call.item)
                    .min();
                if let Some(first) = first_refused
                    && let Some((late, _)) = seen
                        .accepted
                        .iter()
                        .find(|(call, _)| call.item / 1000 == p as u64 && call.item > first)
                {
                    return Err(format!(
                        "producer {p}'s put of #{first} was refused (closed), yet its later put of \
                         #{} went in: once closed, a queue stays closed",
                        late.item
                    ));
                }
            }
            check_crowd(&crowd, &seen)
        });
    }
}

/// The chapter's section "Every interleaving".
mod s4_every_interleaving {
    #[test]
    fn every_interleaving_of_put_get_and_close_is_right() {
        // The scenarios are in tests/model.rs; loom tries each one under every
        // order in which its threads can take turns.
        lesson_support::run_models!();
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. A get waits while the queue is
/// open and empty, a put while it is open and full — however long that is.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while (wait_timeout, a retry count, a \
        deadline) ends while the queue is still open: a slow peer is not a closed queue. Wait on \
        the condvar with no timeout, in a `while` loop";

    /// `call` starts on a thread of its own while `peer` goes quiet for
    /// [`STALL`], then does its part; `call` must return `expected`.
    fn outlasts<T: Debug + PartialEq + Send + 'static>(
        what: &str,
        queue: Arc<PriorityQueue<u64>>,
        call: impl FnOnce(&PriorityQueue<u64>) -> T + Send + 'static,
        peer: impl FnOnce(&PriorityQueue<u64>) + Send + 'static,
        expected: T,
    ) {
        let waiter = start(&queue, call);
        let peer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                thread::sleep(STALL);
                peer(&queue);
            })
        };
        let got = join_all_within(STALL_BUDGET, vec![waiter], what, HINT).remove(0);
        join_all(vec![peer], "the test's peer", NO_WAIT);
        assert_eq!(
            got, expected,
            "{what}: the other side went quiet for {STALL:?} first — {HINT}"
        );
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "get() on an empty queue whose producer pauses",
                Box::new(|| {
                    outlasts(
                        "get() on an empty queue, the item put after the stall",
                        queue(2),
                        |q| q.get(),
                        |q| q.put(4, 11).expect("the queue is open"),
                        Some(11),
                    );
                }),
            ),
            (
                "put() into a full queue whose consumer pauses",
                Box::new(|| {
                    let full = queue(1);
                    watched(&full, "put() into an empty queue", NO_WAIT, |q| q.put(0, 1))
                        .expect("the queue is open");
                    let rest = Arc::clone(&full);
                    outlasts(
                        "put() into a full queue, room made after the stall",
                        full,
                        |q| q.put(u32::MAX, 2),
                        |q| assert_eq!(q.get(), Some(1), "the first item"),
                        Ok(()),
                    );
                    let got = watched(&rest, "get() after the stall", NO_WAIT, |q| q.get());
                    assert_eq!(got, Some(2), "the put that waited out the stall went in");
                }),
            ),
            (
                "get() on an empty queue closed after the stall",
                Box::new(|| {
                    outlasts(
                        "get() on an empty queue, closed after the stall",
                        queue(3),
                        |q| q.get(),
                        |q| q.close(),
                        None,
                    );
                }),
            ),
            (
                "put() into a full queue closed after the stall",
                Box::new(|| {
                    let full = queue(2);
                    let puts = watched(&full, "2 puts into an empty queue", NO_WAIT, |q| {
                        [q.put(5, 1), q.put(5, 2)]
                    });
                    assert_eq!(
                        puts,
                        [Ok(()), Ok(())],
                        "a queue of capacity 2 has room for 2"
                    );
                    outlasts(
                        "put() into a full queue, closed after the stall",
                        full,
                        |q| q.put(0, 3),
                        |q| q.close(),
                        Err(PutError::Closed(3)),
                    );
                }),
            ),
        ]);
    }
}
