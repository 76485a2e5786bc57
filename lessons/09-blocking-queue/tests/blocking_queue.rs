//! Lesson 09 — your own bounded blocking queue, and the same code over crossbeam.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then a property: the same check over many drawn
//! inputs — any sequence of puts, gets, timed puts and gets and closes from
//! one thread, with timeouts from zero and nanoseconds to `Duration::MAX`, at
//! capacities from 1 up, under both notification policies — compared call by
//! call with a model of the contract that is not your code (a `VecDeque`, a
//! capacity and a closed flag). Then many threads at once, checked by what
//! must hold whatever the interleaving: each item exactly once, first in first
//! out, no timeout cut short; a timed call woken for nothing still ends at its
//! deadline; a close that meets a call about to wait, thousands of times.
//! `run_all` runs over a queue that records every
//! call it makes, holds a consumer or panics where the test says. Last,
//! `stall`: every wait meets a peer that goes quiet for seconds, longer than
//! any "safety" timeout.
//!
//! Every call into your code runs under a watchdog, also the ones made on the
//! test's own thread: a queue that deadlocks fails within seconds with a hint
//! instead of freezing the run. The loom models (tests/model.rs) try small
//! scenarios under *every* interleaving — where an `if` instead of a `while`,
//! or a waiter nobody counted, fails every time, not one run in fifty.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use lesson_09::{BlockingQueue, ChannelQueue, CondvarQueue, GetError, Notify, PutError, run_all};
use lesson_support::adversary::{self, Act, Gate, STALL, STALL_BUDGET, Script};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    Log, TimingSection, assert_each_exactly_once, check_each_exactly_once, check_sequence,
    finishes, finishes_within, join_all, join_all_within, join_finished, preview, wait_for_or_exit,
};

const WAKE_ALL: &str = "close() must set `closed` under the lock, then wake every waiting thread \
     on both condvars: notify_all, not notify_one";
const WAKE_TAKER: &str = "put() must wake a taker waiting for an item (notify_one on not_empty), \
     and with Notify::WhenWaiting every waiting taker must be counted in waiting_takers";
const WAKE_PUTTER: &str = "get() must wake a putter waiting for room (notify_one on not_full), \
     and with Notify::WhenWaiting every waiting putter must be counted in waiting_putters";
const LOST_WAKE: &str = "a thread waits for a signal that never comes: does get() wake a waiting putter, and put() a \
     waiting taker? Is each waiter counted before it waits and uncounted after? Does run_all close the \
     queue once the producers are joined (and before joining the consumers)?";
const NO_WAIT: &str = "this call had no reason to wait. Is the wait condition the right way round (wait while \
     full / empty AND open)? Is the mutex locked twice? parking_lot's lock() on a lock this thread \
     already holds waits for ever";
const DEADLINE: &str = "a timed wait must end at its deadline: wait_until(&mut state, deadline), and once it \
     has passed return Full / Empty instead of waiting again";
const CONTRACT: &str = "a put waits while the queue is full and open; a get while it is empty and \
     open; a timed one gives up (Full / Empty) only once its timeout has run out, and a zero \
     timeout is a try; a closed queue refuses every put (Closed, whatever the timeout) and still \
     hands out what it holds, oldest first, then says Closed / None";

/// How long a call that must not wait may take in a property (it needs
/// microseconds; a hang costs this much per try while proptest shrinks).
const CALL_BUDGET: Duration = Duration::from_secs(2);

/// How long a property gives a call that must wait to show it does not
/// return. A call that returns instead of waiting does so in microseconds.
const WAITS: Duration = Duration::from_millis(3);

/// Timeouts this long or longer never run out during a test: a call with one
/// waits like an untimed call. Shorter ones (a few milliseconds at most) are
/// waited out on the test's thread. Whole seconds, so that a timeout read
/// with `subsec_*` (the fraction only) shows.
const LONG: Duration = Duration::from_secs(2);

/// How soon a waiting call must return once the call that lets it go has
/// returned. It needs microseconds; one that nobody woke returns only at its
/// deadline — two seconds or more for the long timeouts drawn.
const PROMPT: Duration = Duration::from_millis(900);

/// A queue of `capacity` under the default policy (notify only when someone waits).
fn queue(capacity: usize) -> Arc<CondvarQueue<u64>> {
    Arc::new(CondvarQueue::new(capacity))
}

/// Runs `call` on `queue` under a watchdog: `what` names the call, `hint`
/// says what usually makes it hang.
#[track_caller]
fn watched<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    what: &str,
    hint: &str,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> T {
    let queue = Arc::clone(queue);
    finishes(what, hint, move || call(&queue))
}

/// [`watched`], also returning how long the call took on its own thread.
#[track_caller]
fn timed<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    what: &str,
    hint: &str,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> (T, Duration) {
    watched(queue, what, hint, move |queue| {
        let started = Instant::now();
        let output = call(queue);
        (output, started.elapsed())
    })
}

/// Starts `call` on a thread of its own, timing it; join with [`join_all`].
fn start<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> JoinHandle<(T, Duration)> {
    let queue = Arc::clone(queue);
    thread::spawn(move || {
        let started = Instant::now();
        let output = call(&queue);
        (output, started.elapsed())
    })
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

/// Joins one thread within the watchdog's budget.
#[track_caller]
fn join_one<T>(thread: JoinHandle<T>, role: &str, hint: &str) -> T {
    let mut joined = join_all(vec![thread], role, hint);
    joined.pop().expect("one thread joined")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A duration as a person would write it: `1.5s`, `300ns`, `Duration::MAX`.
fn show_duration(d: Duration) -> String {
    if d == Duration::MAX {
        "Duration::MAX".to_string()
    } else if d >= Duration::from_secs(1 << 32) {
        format!("{}s", d.as_secs())
    } else {
        format!("{d:?}")
    }
}

// ----------------------------------------------------------- the oracle --

/// One call from the test's thread. Items are numbered by the test: the
/// n-th put puts item `#n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Put,
    PutFor(Duration),
    Get,
    GetFor(Duration),
    Close,
}

impl Op {
    fn puts(self) -> bool {
        matches!(self, Op::Put | Op::PutFor(_))
    }

    fn timeout(self) -> Option<Duration> {
        match self {
            Op::PutFor(d) | Op::GetFor(d) => Some(d),
            _ => None,
        }
    }

    fn show(self, item: u64) -> String {
        match self {
            Op::Put => format!("put(#{item})"),
            Op::PutFor(d) => format!("put_timeout(#{item}, {})", show_duration(d)),
            Op::Get => "get()".to_string(),
            Op::GetFor(d) => format!("get_timeout({})", show_duration(d)),
            Op::Close => "close()".to_string(),
        }
    }

    /// Makes the call.
    fn perform(self, queue: &CondvarQueue<u64>, item: u64) -> Answer {
        match self {
            Op::Put => Answer::Put(queue.put(item)),
            Op::PutFor(d) => Answer::Put(queue.put_timeout(item, d)),
            Op::Get => Answer::Get(queue.get()),
            Op::GetFor(d) => Answer::GetFor(queue.get_timeout(d)),
            Op::Close => {
                queue.close();
                Answer::Closed
            }
        }
    }
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Put(Result<(), PutError<u64>>),
    Get(Option<u64>),
    GetFor(Result<u64, GetError>),
    Closed,
}

impl Answer {
    /// A timed call that gave up: it must have waited its whole timeout.
    fn gave_up(&self) -> bool {
        matches!(
            self,
            Answer::Put(Err(PutError::Full(_))) | Answer::GetFor(Err(GetError::Empty))
        )
    }

    fn show(&self) -> String {
        match self {
            Answer::Put(result) => format!("{result:?}"),
            Answer::Get(None) => "None".to_string(),
            Answer::Get(Some(item)) => format!("Some(#{item})"),
            Answer::GetFor(Ok(item)) => format!("Ok(#{item})"),
            Answer::GetFor(Err(e)) => format!("Err({e:?})"),
            Answer::Closed => "()".to_string(),
        }
    }
}

/// What the contract says a queue holds and answers: a `VecDeque`, a
/// capacity and a closed flag — none of your code.
#[derive(Debug, Clone)]
struct Reference {
    capacity: usize,
    items: VecDeque<u64>,
    closed: bool,
}

impl Reference {
    fn new(capacity: usize) -> Self {
        Reference {
            capacity,
            items: VecDeque::new(),
            closed: false,
        }
    }

    /// What `op` answers now (putting `item` if it puts), or `None` if it
    /// waits — untimed, or with a [`LONG`] timeout that no test outlasts.
    fn answer(&mut self, op: Op, item: u64) -> Option<Answer> {
        match op {
            Op::Put => self.put(item, None).map(Answer::Put),
            Op::PutFor(d) => self.put(item, Some(d)).map(Answer::Put),
            Op::Get => self.get(None).map(|got| Answer::Get(got.ok())),
            Op::GetFor(d) => self.get(Some(d)).map(Answer::GetFor),
            Op::Close => {
                self.closed = true;
                Some(Answer::Closed)
            }
        }
    }

    fn put(&mut self, item: u64, timeout: Option<Duration>) -> Option<Result<(), PutError<u64>>> {
        if self.closed {
            Some(Err(PutError::Closed(item)))
        } else if self.items.len() < self.capacity {
            self.items.push_back(item);
            Some(Ok(()))
        } else {
            timeout
                .filter(|d| *d < LONG)
                .map(|_| Err(PutError::Full(item)))
        }
    }

    fn get(&mut self, timeout: Option<Duration>) -> Option<Result<u64, GetError>> {
        if let Some(item) = self.items.pop_front() {
            Some(Ok(item))
        } else if self.closed {
            Some(Err(GetError::Closed))
        } else {
            timeout.filter(|d| *d < LONG).map(|_| Err(GetError::Empty))
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn contents(&self) -> String {
        let shown: Vec<String> = self.items.iter().map(|item| format!("#{item}")).collect();
        format!(
            "[{}] (capacity {}, {})",
            shown.join(", "),
            self.capacity,
            if self.closed { "closed" } else { "open" }
        )
    }
}

/// A call that waits, on a thread of its own, until a later call lets it go.
struct Waiter {
    op: Op,
    item: u64,
    /// Its answer, and when it returned.
    thread: JoinHandle<(Answer, Instant)>,
}

/// Plays `ops` on a fresh queue of `capacity` from the test's thread and
/// compares every answer, and `len()` / `is_empty()` after every call, with
/// the [`Reference`]. A timed call that gives up must have waited its whole
/// timeout. A call the contract says waits runs on a thread of its own; it
/// must still be waiting a little later, and once a later call lets it go (a
/// get makes room, a put brings an item, a close) it must return — at once,
/// not at its own deadline — with the answer the contract gives. Calls that
/// would wait while another already does are left out. At the end the queue
/// is closed and drained: what is left must come out oldest first.
fn play(capacity: usize, notify: Notify, ops: &[Op]) -> Result<(), String> {
    let queue = Arc::new(CondvarQueue::with_notify(capacity, notify));
    let mut reference = Reference::new(capacity);
    let mut story = vec![format!(
        "CondvarQueue::with_notify({capacity}, Notify::{notify:?})"
    )];
    let mut items = 0u64;
    let mut waiting: Option<Waiter> = None;
    for op in ops.iter().copied().chain([Op::Close]) {
        let before = reference.contents();
        let item = items;
        let mut probe = reference.clone();
        let Some(expected) = probe.answer(op, item) else {
            if waiting.is_some() {
                continue; // it would wait too: left out
            }
            if op.puts() {
                items += 1;
            }
            let what = op.show(item);
            let thread = {
                let queue = Arc::clone(&queue);
                thread::spawn(move || (op.perform(&queue, item), Instant::now()))
            };
            let thread = confirm_waiting(thread, &what, &before, &story)?;
            story.push(format!("{what} waits"));
            waiting = Some(Waiter { op, item, thread });
            let sizes = call(&queue, "len() and is_empty()", |q| (q.len(), q.is_empty()));
            check_sizes(sizes, &reference, &story)?;
            continue;
        };
        if op.puts() {
            items += 1;
        }
        reference = probe;
        let what = op.show(item);
        let (got, took, sizes) = call(&queue, &what, move |q| {
            let started = Instant::now();
            let got = op.perform(q, item);
            (got, started.elapsed(), (q.len(), q.is_empty()))
        });
        let let_go = Instant::now();
        compare(&what, &before, &got, &expected, &story)?;
        if let Some(timeout) = op.timeout()
            && got.gave_up()
            && took < timeout
        {
            return Err(format!(
                "{what} on a queue holding {before} gave up with {} after {took:?}, before its \
                 timeout of {} had run out. {DEADLINE}; the deadline is Instant::now() + timeout, \
                 taken once — whole seconds and nanoseconds alike (not subsec_*, not rounded to \
                 milliseconds).\n  What happened: {}",
                got.show(),
                show_duration(timeout),
                tell(&story)
            ));
        }
        story.push(format!("{what} → {}", got.show()));
        let mut sizes = Some(sizes);
        if let Some(waiter) = waiting.take() {
            let after = reference.contents();
            let mut probe = reference.clone();
            match probe.answer(waiter.op, waiter.item) {
                None => waiting = Some(waiter),
                Some(expected) => {
                    reference = probe;
                    let hint = if reference.closed {
                        WAKE_ALL
                    } else if waiter.op.puts() {
                        WAKE_PUTTER
                    } else {
                        WAKE_TAKER
                    };
                    let what = format!("the waiting {}", waiter.op.show(waiter.item));
                    let (got, returned) =
                        join_all_within(CALL_BUDGET, vec![waiter.thread], &what, hint)
                            .pop()
                            .expect("one thread joined");
                    compare(&what, &after, &got, &expected, &story)?;
                    let late = returned.saturating_duration_since(let_go);
                    if late > PROMPT {
                        return Err(format!(
                            "{what} returned {} only {late:?} after the call that let it go \
                             ({}): nobody woke it, and it found out at its own deadline. {hint}.\n  \
                             What happened: {}",
                            got.show(),
                            story.last().map_or("", String::as_str),
                            tell(&story)
                        ));
                    }
                    story.push(format!("{what} → {}", got.show()));
                    sizes = None; // it changed the queue after the call read them
                }
            }
        }
        let sizes = match sizes {
            Some(sizes) => sizes,
            None => call(&queue, "len() and is_empty()", |q| (q.len(), q.is_empty())),
        };
        check_sizes(sizes, &reference, &story)?;
    }
    // Closed (the last op): drain what is left, then closed for good.
    let drained = call(&queue, "get() until None on the closed queue", |q| {
        std::iter::from_fn(|| q.get())
            .take(1_000)
            .collect::<Vec<u64>>()
    });
    let expected: Vec<u64> = reference.items.iter().copied().collect();
    check_sequence(
        &expected,
        &drained,
        &format!(
            "get() until None on the closed queue holding {}: a closed queue still hands out what \
             it holds, oldest first (pop_front).\n  What happened: {}",
            reference.contents(),
            tell(&story)
        ),
    )?;
    let late = call(
        &queue,
        "put_timeout(…, 0), get_timeout(1 h) and get() on a closed, drained queue",
        move |q| {
            (
                q.put_timeout(items, Duration::ZERO),
                q.get_timeout(Duration::from_secs(3600)),
                q.get(),
            )
        },
    );
    if late != (Err(PutError::Closed(items)), Err(GetError::Closed), None) {
        return Err(format!(
            "on a closed, drained queue, put_timeout(#{items}, 0), get_timeout(1 h) and get() \
             returned {late:?}; the contract: (Err(Closed({items})), Err(Closed), None) — no item \
             will ever come: Closed, not Empty, at once.\n  What happened: {}",
            tell(&story)
        ));
    }
    Ok(())
}

/// Calls `call` on the queue under a short watchdog.
#[track_caller]
fn call<T: Send + 'static>(
    queue: &Arc<CondvarQueue<u64>>,
    what: &str,
    call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
) -> T {
    let queue = Arc::clone(queue);
    finishes_within(
        CALL_BUDGET,
        what,
        &format!(
            "{NO_WAIT}. A timed call with a short timeout must give up once it has run out (a \
             zero timeout is a try); Duration::MAX means no deadline at all"
        ),
        move || call(&queue),
    )
}

/// Gives back `thread` if it is still running after [`WAITS`]; fails with
/// what it returned if it finished instead.
fn confirm_waiting<T: Debug>(
    thread: JoinHandle<(T, Instant)>,
    what: &str,
    before: &str,
    story: &[String],
) -> Result<JoinHandle<(T, Instant)>, String> {
    let started = Instant::now();
    while started.elapsed() < WAITS {
        if thread.is_finished() {
            let (returned, _) = join_finished(thread);
            return Err(format!(
                "{what} on a queue holding {before} returned {returned:?} instead of waiting: a \
                 put waits while the queue is full and open, a get while it is empty and open — \
                 for ever when untimed, until its deadline when timed (a timeout of two seconds or \
                 more, up to Duration::MAX, which means no deadline).\n  What happened: {}",
                tell(story)
            ));
        }
        thread::sleep(Duration::from_micros(300));
    }
    Ok(thread)
}

fn check_sizes(
    sizes: (usize, bool),
    reference: &Reference,
    story: &[String],
) -> Result<(), String> {
    let expected = (reference.len(), reference.len() == 0);
    if sizes == expected {
        return Ok(());
    }
    Err(format!(
        "(len(), is_empty()) returned {sizes:?}; the queue holds {} — so {expected:?}.\n  What \
         happened: {}",
        reference.contents(),
        tell(story)
    ))
}

fn compare(
    what: &str,
    before: &str,
    got: &Answer,
    expected: &Answer,
    story: &[String],
) -> Result<(), String> {
    if got == expected {
        return Ok(());
    }
    Err(format!(
        "{what} on a queue holding {before} returned {}; the contract says {}. ({CONTRACT}.)\n  \
         What happened: {}",
        got.show(),
        expected.show(),
        tell(story)
    ))
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

/// Timeouts waited out on the test's thread: zero, nanoseconds,
/// microseconds, up to 3 ms.
fn short_timeout() -> impl Strategy<Value = Duration> + Clone {
    prop_oneof![
        2 => Just(Duration::ZERO),
        1 => (1u64..1_000).prop_map(Duration::from_nanos),
        1 => (1_000u64..1_000_000).prop_map(Duration::from_nanos),
        1 => (1_000_000u64..=3_000_000).prop_map(Duration::from_nanos),
    ]
}

/// Timeouts no test outlasts: two seconds and more, whole seconds and
/// fractions, an hour, and the far end of `Duration` where `Instant + d`
/// overflows (no deadline at all).
fn long_timeout() -> impl Strategy<Value = Duration> + Clone {
    prop_oneof![
        Just(LONG),
        Just(LONG + Duration::from_nanos(1)),
        (2u64..7, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        Just(Duration::from_secs(3600)),
        Just(Duration::from_millis(u64::from(u32::MAX) + 1)),
        Just(Duration::from_nanos(u64::MAX)),
        (1u64 << 33..u64::MAX).prop_map(Duration::from_secs),
        Just(Duration::from_secs(u64::MAX)),
        Just(Duration::MAX),
    ]
}

fn timeout() -> impl Strategy<Value = Duration> + Clone {
    prop_oneof![short_timeout(), long_timeout()]
}

fn notify() -> impl Strategy<Value = Notify> + Clone {
    prop_oneof![Just(Notify::Always), Just(Notify::WhenWaiting)]
}

/// Calls for [`play`]; closes now and then when `close` is true.
fn ops(len: usize, close: bool) -> impl Strategy<Value = Vec<Op>> {
    let close_weight = u32::from(close);
    proptest::collection::vec(
        prop_oneof![
            3 => Just(Op::Put),
            2 => timeout().prop_map(Op::PutFor),
            2 => Just(Op::Get),
            2 => timeout().prop_map(Op::GetFor),
            close_weight => Just(Op::Close),
        ],
        0..len,
    )
}

// ----------------------------------------------------- many threads --

/// How a thread of a [`Crowd`] calls: untimed, or timed and trying again
/// after every Full / Empty.
#[derive(Debug, Clone, Copy)]
enum Patience {
    Untimed,
    For(Duration),
}

/// A run with real threads: each producer puts its items (item `p * 1000 +
/// j`), pausing after each as many milliseconds as it says; consumers start
/// after `consumers_after` and get until the queue says it is closed.
#[derive(Debug, Clone)]
struct Crowd {
    capacity: usize,
    notify: Notify,
    producers: Vec<(Patience, Vec<u8>)>,
    consumers: Vec<Patience>,
    consumers_after: Duration,
    /// Close the queue after this many puts have returned (`None`: after
    /// every producer is done), while producers may still be putting.
    close_after: Option<usize>,
}

/// One put or get as the test saw it.
#[derive(Debug, Clone, Copy)]
struct Call {
    item: u64,
    started: Instant,
    returned: Instant,
}

/// What a [`Crowd`] run did.
#[derive(Debug, Default)]
struct Seen {
    accepted: Vec<Call>,
    /// Puts refused, with what they handed back.
    refused: Vec<(Call, PutError<u64>)>,
    /// Gets that returned an item, by consumer.
    taken: Vec<Vec<Call>>,
    /// Timed calls that gave up: what, how long they took, their timeout.
    gave_up: Vec<(String, Duration, Duration)>,
    closed: Option<(Instant, Instant)>,
}

fn patience() -> impl Strategy<Value = Patience> {
    prop_oneof![
        2 => Just(Patience::Untimed),
        1 => short_timeout().prop_map(Patience::For),
        1 => long_timeout().prop_map(Patience::For),
    ]
}

fn crowd() -> impl Strategy<Value = Crowd> {
    let producer = (patience(), proptest::collection::vec(0u8..4, 0..12));
    (
        oracle::draw::size(1, 8),
        notify(),
        proptest::collection::vec(producer, 1..=3),
        proptest::collection::vec(patience(), 1..=3),
        prop_oneof![Just(0u64), 1u64..6].prop_map(Duration::from_millis),
    )
        .prop_map(
            |(capacity, notify, producers, consumers, consumers_after)| Crowd {
                capacity,
                notify,
                producers,
                consumers,
                consumers_after,
                close_after: None,
            },
        )
}

/// A producer's puts, each stamped.
fn produce(
    queue: &CondvarQueue<u64>,
    p: usize,
    patience: Patience,
    pauses: &[u8],
    seen: &mut Seen,
) {
    for (j, pause) in pauses.iter().enumerate() {
        let item = p as u64 * 1000 + j as u64;
        loop {
            let started = Instant::now();
            let result = match patience {
                Patience::Untimed => queue.put(item),
                Patience::For(d) => queue.put_timeout(item, d),
            };
            let call = Call {
                item,
                started,
                returned: Instant::now(),
            };
            match result {
                Ok(()) => seen.accepted.push(call),
                Err(PutError::Full(back)) if back == item => {
                    let Patience::For(d) = patience else {
                        unreachable!("an untimed put is never Full")
                    };
                    seen.gave_up.push((
                        format!("put_timeout(#{item}, {})", show_duration(d)),
                        call.returned - call.started,
                        d,
                    ));
                    continue;
                }
                Err(refused) => seen.refused.push((call, refused)),
            }
            break;
        }
        if *pause > 1 {
            thread::sleep(Duration::from_millis(u64::from(*pause) - 1));
        }
    }
}

/// A consumer's gets until the queue says it is closed, each stamped.
fn consume(
    queue: &CondvarQueue<u64>,
    patience: Patience,
) -> (Vec<Call>, Vec<(String, Duration, Duration)>) {
    let mut taken = Vec::new();
    let mut gave_up = Vec::new();
    loop {
        let started = Instant::now();
        let got = match patience {
            Patience::Untimed => queue.get().ok_or(GetError::Closed),
            Patience::For(d) => queue.get_timeout(d),
        };
        let returned = Instant::now();
        match got {
            Ok(item) => taken.push(Call {
                item,
                started,
                returned,
            }),
            Err(GetError::Empty) => {
                let d = match patience {
                    Patience::For(d) => d,
                    Patience::Untimed => Duration::MAX,
                };
                gave_up.push((
                    format!("get_timeout({})", show_duration(d)),
                    returned - started,
                    d,
                ));
            }
            Err(GetError::Closed) => return (taken, gave_up),
        }
    }
}

/// Runs a [`Crowd`]: every call stamped, the whole run under a watchdog.
fn run_crowd(crowd: &Crowd) -> Seen {
    let queue = Arc::new(CondvarQueue::with_notify(crowd.capacity, crowd.notify));
    let case = crowd.clone();
    let what = format!(
        "{} producers putting {} items and {} consumers getting, capacity {}, Notify::{:?}",
        crowd.producers.len(),
        crowd
            .producers
            .iter()
            .map(|(_, items)| items.len())
            .sum::<usize>(),
        crowd.consumers.len(),
        crowd.capacity,
        crowd.notify
    );
    let hint = format!(
        "{LOST_WAKE} — or a timed put / get that keeps giving up at once (a zero or short timeout \
         must still take the item or the room that is there)"
    );
    finishes(&what, &hint, move || {
        let crowd = case;
        let queue = &*queue;
        let returned = AtomicUsize::new(0);
        let returned = &returned;
        thread::scope(|s| {
            let takers: Vec<_> = crowd
                .consumers
                .iter()
                .map(|&patience| {
                    let after = crowd.consumers_after;
                    s.spawn(move || {
                        thread::sleep(after);
                        consume(queue, patience)
                    })
                })
                .collect();
            let putters: Vec<_> = crowd
                .producers
                .iter()
                .enumerate()
                .map(|(p, (patience, pauses))| {
                    s.spawn(move || {
                        let mut seen = Seen::default();
                        produce(queue, p, *patience, pauses, &mut seen);
                        returned.fetch_add(pauses.len(), Ordering::SeqCst);
                        seen
                    })
                })
                .collect();
            let mut closed = None;
            if let Some(after) = crowd.close_after {
                while returned.load(Ordering::SeqCst) < after
                    && !putters.iter().all(|p| p.is_finished())
                {
                    thread::sleep(Duration::from_micros(200));
                }
                let started = Instant::now();
                queue.close();
                closed = Some((started, Instant::now()));
            }
            let mut seen = Seen::default();
            for putter in putters {
                let one = putter
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                seen.accepted.extend(one.accepted);
                seen.refused.extend(one.refused);
                seen.gave_up.extend(one.gave_up);
            }
            if closed.is_none() {
                let started = Instant::now();
                queue.close();
                closed = Some((started, Instant::now()));
            }
            seen.closed = closed;
            for taker in takers {
                let (taken, gave_up) = taker
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                seen.taken.push(taken);
                seen.gave_up.extend(gave_up);
            }
            seen
        })
    })
}

/// What must hold whatever the interleaving: no timed call gave up before
/// its timeout; every accepted item taken exactly once; first in, first
/// out (an item whose put returned before another's began is never taken
/// after it: its get began only after the other's get returned); and never
/// more in the queue than its capacity.
fn check_crowd(crowd: &Crowd, seen: &Seen) -> Result<(), String> {
    for (what, took, timeout) in &seen.gave_up {
        if took < timeout {
            return Err(format!(
                "{what} gave up after {took:?}, before its timeout had run out, while other \
                 threads were putting and getting. {DEADLINE}: a wake-up that finds no item (or no \
                 room) is not a timeout — wait again, until the same deadline"
            ));
        }
    }
    let taken: Vec<Call> = seen.taken.concat();
    check_each_exactly_once(
        seen.accepted.iter().map(|call| call.item),
        taken.iter().map(|call| call.item),
        "items whose put returned Ok, against the items the consumers got",
    )?;
    let put: HashMap<u64, Call> = seen.accepted.iter().map(|c| (c.item, *c)).collect();
    for y in &taken {
        for x in &taken {
            let x_first = put[&x.item].returned < put[&y.item].started;
            if x_first && y.returned < x.started {
                return Err(format!(
                    "item #{} was taken before item #{}, although #{} was put first (its put \
                     returned before the other's began): a queue hands out the oldest item first \
                     — push_back and pop_front",
                    y.item, x.item, x.item
                ));
            }
        }
    }
    for y in &taken {
        let held: Vec<u64> = taken
            .iter()
            .filter(|z| put[&z.item].returned < y.started && y.started < z.started)
            .map(|z| z.item)
            .collect();
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

fn crowd_holds(crowd: Crowd) -> Result<(), String> {
    let seen = run_crowd(&crowd);
    if !seen.refused.is_empty() {
        let refused: Vec<_> = seen.refused.iter().map(|(_, r)| r).collect();
        return Err(format!(
            "puts into an open queue were refused: {}. A put waits for room while the queue is \
             open (a timed one until its deadline, then Full); Closed only once it is closed",
            preview(&refused)
        ));
    }
    check_crowd(&crowd, &seen)
}

// ------------------------------------------------ early wake-ups --

/// How [`early_wakes`] times its trials: each timed call has this timeout,
/// and is woken once, this long after it started, for an item (or room)
/// that the waking thread takes back at once.
const EARLY_TIMEOUT: Duration = Duration::from_millis(200);
const EARLY_WAKE: Duration = Duration::from_millis(175);
/// A call that waits a fresh timeout after the wake-up returns at about
/// `EARLY_WAKE + EARLY_TIMEOUT`, far past this.
const EARLY_LATE: Duration = Duration::from_millis(310);

/// Timed calls woken once, late in their wait, by a thread that brings an
/// item (or makes room) and takes it back at once: sometimes the woken call
/// gets there first and takes it, sometimes it finds nothing. Then it must
/// wait again — until the same deadline, not a fresh timeout — and give up
/// (Full / Empty) once that has passed, not before. `trials` queues at once,
/// under both policies; returns a message for each call that broke this.
fn early_wakes(takers: bool, trials: usize) -> Vec<String> {
    let runs: Vec<_> = (0..trials)
        .map(|n| {
            let notify = if n % 2 == 0 {
                Notify::Always
            } else {
                Notify::WhenWaiting
            };
            let queue = Arc::new(CondvarQueue::with_notify(1, notify));
            if !takers {
                watched(&queue, "put() into an empty queue", NO_WAIT, |q| q.put(0))
                    .expect("the queue is open");
            }
            let waiter = start(&queue, move |q| {
                if takers {
                    Answer::GetFor(q.get_timeout(EARLY_TIMEOUT))
                } else {
                    Answer::Put(q.put_timeout(1, EARLY_TIMEOUT))
                }
            });
            let waker = {
                let queue = Arc::clone(&queue);
                let at = EARLY_WAKE + Duration::from_micros(500) * n as u32;
                thread::spawn(move || {
                    thread::sleep(at);
                    // A zero timeout is a try: these never wait.
                    if takers {
                        let _ = queue.put_timeout(2, Duration::ZERO);
                        queue.get_timeout(Duration::ZERO).is_ok()
                    } else {
                        let _ = queue.get_timeout(Duration::ZERO);
                        queue.put_timeout(3, Duration::ZERO).is_ok()
                    }
                })
            };
            (notify, waiter, waker)
        })
        .collect();
    let mut problems = Vec::new();
    for (notify, waiter, waker) in runs {
        let (result, took) = join_one(waiter, "a timed call", DEADLINE);
        // Whether it took back what it brought: either way, see below.
        let _took_back = join_one(waker, "the waking thread", NO_WAIT);
        let what = if takers {
            format!("get_timeout({EARLY_TIMEOUT:?}) (Notify::{notify:?})")
        } else {
            format!("put_timeout(…, {EARLY_TIMEOUT:?}) (Notify::{notify:?})")
        };
        if took > EARLY_LATE {
            problems.push(format!(
                "{what} returned {} after {took:?}, long past its timeout: {EARLY_WAKE:?} in, a \
                 thread woke it with {} and took {} back at once. The deadline is fixed once, \
                 before the loop: a wake-up that finds nothing goes back to sleep until the SAME \
                 deadline, not for a fresh timeout",
                result.show(),
                if takers { "an item" } else { "room" },
                if takers { "the item" } else { "the room" },
            ));
        } else if result.gave_up() && took < EARLY_TIMEOUT {
            problems.push(format!(
                "{what} gave up with {} after {took:?}, before its timeout, when a wake-up found \
                 no {}: waking is not timing out — wait again, until the deadline",
                result.show(),
                if takers { "item" } else { "room" }
            ));
        }
    }
    problems
}

// ------------------------------------------------ run_all's queue --

/// One call `run_all` made on a [`Recording`] queue.
#[derive(Debug, Clone)]
enum Event {
    Put {
        by: ThreadId,
        item: u64,
        ok: bool,
        returned: Instant,
    },
    Got {
        by: ThreadId,
        item: Option<u64>,
    },
    Close {
        started: Instant,
    },
}

/// A queue that records every call the code under test makes on it, and
/// does what the test's scripts say: before putting an item (`before_put`,
/// by item), before the n-th get call (`before_get`, by call number), after
/// a get returned an item (`after_got`, by item), before closing.
struct Recording {
    inner: Arc<dyn BlockingQueue<u64>>,
    events: Log<Event>,
    before_put: Script,
    before_get: Script,
    after_got: Script,
    before_close: Act,
    gets: AtomicU64,
    /// The scripted acts that have started (an injected panic among them).
    fired: Log<String>,
}

impl Recording {
    fn new(inner: Arc<dyn BlockingQueue<u64>>) -> Self {
        Recording {
            inner,
            events: Log::new(),
            before_put: Script::new(),
            before_get: Script::new(),
            after_got: Script::new(),
            before_close: Act::Go,
            gets: AtomicU64::new(0),
            fired: Log::new(),
        }
    }

    fn act(&self, script: &Script, key: u64, at: String) {
        if *script.act(key) != Act::Go {
            self.fired.push(at.clone());
        }
        script.perform(key, &at);
    }

    fn got(&self, item: Option<u64>) {
        self.events.push(Event::Got {
            by: thread::current().id(),
            item,
        });
        if let Some(item) = item {
            self.act(
                &self.after_got,
                item,
                format!("get() returning item {item}"),
            );
        }
    }

    fn put_done(&self, item: u64, ok: bool) {
        self.events.push(Event::Put {
            by: thread::current().id(),
            item,
            ok,
            returned: Instant::now(),
        });
    }
}

impl BlockingQueue<u64> for Recording {
    fn put(&self, item: u64) -> Result<(), PutError<u64>> {
        self.act(&self.before_put, item, format!("put({item})"));
        let result = self.inner.put(item);
        self.put_done(item, result.is_ok());
        result
    }

    fn put_timeout(&self, item: u64, timeout: Duration) -> Result<(), PutError<u64>> {
        self.act(&self.before_put, item, format!("put_timeout({item})"));
        let result = self.inner.put_timeout(item, timeout);
        if !matches!(result, Err(PutError::Full(_))) {
            self.put_done(item, result.is_ok());
        }
        result
    }

    fn get(&self) -> Option<u64> {
        let n = self.gets.fetch_add(1, Ordering::SeqCst);
        self.act(&self.before_get, n, format!("get() call {n}"));
        let got = self.inner.get();
        self.got(got);
        got
    }

    fn get_timeout(&self, timeout: Duration) -> Result<u64, GetError> {
        let n = self.gets.fetch_add(1, Ordering::SeqCst);
        self.act(&self.before_get, n, format!("get_timeout() call {n}"));
        let got = self.inner.get_timeout(timeout);
        match got {
            Ok(item) => self.got(Some(item)),
            Err(GetError::Closed) => self.got(None),
            Err(GetError::Empty) => {}
        }
        got
    }

    fn close(&self) {
        if self.before_close != Act::Go {
            self.fired.push("close()".to_string());
        }
        self.before_close.perform("close()");
        self.events.push(Event::Close {
            started: Instant::now(),
        });
        self.inner.close();
    }
}

/// The queue a `run_all` case runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mine(Notify),
    Crossbeam,
}

/// A `run_all` case.
#[derive(Debug, Clone)]
struct Run {
    kind: Kind,
    capacity: usize,
    producers: u64,
    consumers: usize,
    items: u64,
}

/// Counts across the whole domain, edges common: producers and consumers
/// from none to five, items from none to past the capacity, one less,
/// equal and one more than the producers; crossbeam's channel down to
/// capacity 0 (a rendezvous). No consumer only where the items fit in the
/// queue, no producer only with no items (nothing could end otherwise).
fn runs() -> impl Strategy<Value = Run> {
    let kind = prop_oneof![
        2 => notify().prop_map(Kind::Mine),
        1 => Just(Kind::Crossbeam),
    ];
    (
        kind,
        0usize..=5,
        oracle::draw::count(5),
        0usize..=5,
        0u64..3,
    )
        .prop_flat_map(|(kind, capacity, producers, consumers, near)| {
            let capacity = if kind == Kind::Crossbeam {
                capacity
            } else {
                capacity.max(1)
            };
            let items = prop_oneof![
                oracle::draw::count(40),
                Just((producers + near).saturating_sub(1)),
                Just(capacity as u64 + near),
            ];
            (
                Just(kind),
                Just(capacity),
                Just(producers),
                Just(consumers),
                items,
            )
        })
        .prop_map(|(kind, capacity, producers, consumers, items)| {
            let items = if producers == 0 { 0 } else { items };
            let consumers = if consumers == 0 && items > capacity as u64 {
                1
            } else {
                consumers
            };
            Run {
                kind,
                capacity,
                producers,
                consumers,
                items,
            }
        })
}

/// What a `run_all` left behind: its answer, the calls it made, and what it
/// left in the queue.
struct Outcome {
    lists: Vec<Vec<u64>>,
    events: Vec<Event>,
    left: Vec<u64>,
    /// (put_timeout(…, 0), get_timeout(0)) on the queue after the run.
    after: (Result<(), PutError<u64>>, Result<u64, GetError>),
}

fn name(kind: Kind) -> String {
    match kind {
        Kind::Mine(notify) => format!("CondvarQueue (Notify::{notify:?})"),
        Kind::Crossbeam => "ChannelQueue".to_string(),
    }
}

/// Runs `run_all` over a [`Recording`] of the case's queue, set up by
/// `script`, under a watchdog; `None` when `run_all` panicked (the panic
/// comes back as `Err`).
fn run_recorded(
    run: &Run,
    budget: Duration,
    script: impl FnOnce(&mut Recording),
) -> (std::thread::Result<Outcome>, Log<String>) {
    let inner: Arc<dyn BlockingQueue<u64>> = match run.kind {
        Kind::Mine(notify) => Arc::new(CondvarQueue::with_notify(run.capacity, notify)),
        Kind::Crossbeam => Arc::new(ChannelQueue::new(run.capacity)),
    };
    let mut recording = Recording::new(inner);
    script(&mut recording);
    let fired = recording.fired.clone();
    let events = recording.events.clone();
    let inner = Arc::clone(&recording.inner);
    let queue = Arc::new(recording);
    let Run {
        producers,
        consumers,
        items,
        ..
    } = *run;
    let what = format!(
        "run_all over {}, capacity {}, {producers} producers, {consumers} consumers, {items} items",
        name(run.kind),
        run.capacity
    );
    let outcome = finishes_within(budget, &what, LOST_WAKE, move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_all(queue, producers, consumers, items)
        }))
    });
    let outcome = outcome.map(|lists| {
        let left: Vec<u64> = std::iter::from_fn(|| inner.get_timeout(Duration::ZERO).ok())
            .take(1_000)
            .collect();
        let after = (
            inner.put_timeout(u64::MAX, Duration::ZERO),
            inner.get_timeout(Duration::ZERO),
        );
        Outcome {
            lists,
            events: events.entries(),
            left,
            after,
        }
    });
    (outcome, fired)
}

/// What `run_all` must do, whatever the counts: one list per consumer, each
/// exactly the items that consumer's thread got, in order; every item
/// exactly once; producer p puts p, p + producers, … in that order, on a
/// thread of its own; the queue closed once, after the last put returned,
/// and never before (so no put is refused).
fn check_run(run: &Run, seen: &Outcome) -> Result<(), String> {
    let Run {
        producers,
        consumers,
        items,
        ..
    } = *run;
    let name = format!(
        "run_all over {} of capacity {}, {producers} producers, {consumers} consumers, {items} items",
        name(run.kind),
        run.capacity
    );
    if seen.lists.len() != consumers {
        return Err(format!(
            "{name} returned {} lists: one list per consumer asked for — start exactly `consumers` \
             consumer threads (none when it is 0), even when there are fewer items than consumers",
            seen.lists.len()
        ));
    }
    let mut puts: HashMap<ThreadId, Vec<u64>> = HashMap::new();
    let mut gets: HashMap<ThreadId, Vec<Option<u64>>> = HashMap::new();
    let mut last_put = None;
    let mut first_close = None;
    for event in &seen.events {
        match *event {
            Event::Put {
                by,
                item,
                ok,
                returned,
            } => {
                if !ok {
                    return Err(format!(
                        "{name}: the put of item {item} was refused (the queue was closed): close \
                         the queue only after every producer has been joined"
                    ));
                }
                puts.entry(by).or_default().push(item);
                last_put = Some(last_put.map_or(returned, |t: Instant| t.max(returned)));
            }
            Event::Got { by, item } => gets.entry(by).or_default().push(item),
            Event::Close { started } => {
                first_close.get_or_insert(started);
            }
        }
    }
    let Some(closed) = first_close else {
        return Err(format!(
            "{name} returned without closing the queue: close it once every producer is done"
        ));
    };
    if let Some(last_put) = last_put
        && closed < last_put
    {
        return Err(format!(
            "{name} closed the queue before the last put had returned: join every producer, then \
             close"
        ));
    }
    // Each producer's share, in order, on a thread of its own.
    let putting = puts.len() as u64;
    if putting != producers.min(items) {
        return Err(format!(
            "{name}: {putting} threads put items; with {producers} producers and {items} items, \
             {} should have (producer p puts p, p + producers, …: each of the first min(producers, \
             items) producers puts at least one)",
            producers.min(items)
        ));
    }
    for share in puts.values() {
        let p = share[0];
        let expected: Vec<u64> = (p..items).step_by(producers as usize).collect();
        if p >= producers || *share != expected {
            return Err(format!(
                "{name}: one producer thread put {}; producer p puts p, p + producers, p + 2 × \
                 producers, … up to items − 1, in that order — items % producers ≠ 0 leaves the \
                 first producers one more item each",
                preview(share)
            ));
        }
    }
    // Each consumer's list is what its thread got, in order, up to the end.
    let mut got_lists: Vec<Vec<u64>> = Vec::new();
    for got in gets.values() {
        let items: Vec<u64> = got.iter().flatten().copied().collect();
        if consumers > 0 && !got.contains(&None) {
            return Err(format!(
                "{name}: a consumer thread stopped getting before the queue said it was closed \
                 (its gets: {}): a consumer gets until get() returns None",
                preview(got)
            ));
        }
        got_lists.push(items);
    }
    if consumers > 0 && got_lists.len() != consumers {
        return Err(format!(
            "{name}: {} threads got from the queue, for {consumers} consumers asked for: start \
             exactly `consumers` consumer threads, each getting until None",
            got_lists.len()
        ));
    }
    let mut returned = seen.lists.clone();
    returned.sort();
    got_lists.sort();
    if consumers > 0 && returned != got_lists {
        return Err(format!(
            "{name} returned lists that are not what the consumer threads got, in order: each \
             consumer returns the items it got, in the order it got them (returned: {}; got: {})",
            preview(&returned),
            preview(&got_lists)
        ));
    }
    for (index, list) in seen.lists.iter().enumerate() {
        for pair in list.windows(2) {
            let (earlier, later) = (pair[0], pair[1]);
            if producers > 0 && earlier % producers == later % producers && earlier > later {
                return Err(format!(
                    "{name}: consumer {index} got item {earlier} before item {later}, but one \
                     producer put {later} first: a queue hands out the oldest item first"
                ));
            }
        }
    }
    let mut all = seen.lists.concat();
    all.extend(&seen.left);
    check_each_exactly_once(
        0..items,
        all,
        &format!("{name}: the items the consumers returned (and any left in the queue)"),
    )?;
    let after_ok = seen.after.0 == Err(PutError::Closed(u64::MAX))
        && (consumers == 0 || seen.after.1 == Err(GetError::Closed));
    if !after_ok {
        return Err(format!(
            "{name}: after run_all returned, put_timeout(…, 0) and get_timeout(0) on its queue \
             returned {:?}: run_all closes the queue once every producer is done, and its \
             consumers drain it",
            seen.after
        ));
    }
    Ok(())
}

// ------------------------------------------- close meets a waiter --

/// [`adversary::close_races`] with this lesson's queue and advice: `trials`
/// closes, each meeting a `wait` about to sleep; every call must return
/// `expected`.
fn close_races<R: Debug + PartialEq + Send + 'static>(
    trials: usize,
    make: fn(usize) -> CondvarQueue<u64>,
    what: &'static str,
    wait: fn(&CondvarQueue<u64>, usize) -> R,
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
        racing: Duration::from_millis(150),
        call_budget: CALL_BUDGET,
        wake_all: WAKE_ALL,
        no_wait: NO_WAIT,
    })
}

// -------------------------------------------------------------- tests --

/// The chapter's section "The protocol".
mod s1_the_protocol {
    use super::*;

    #[test]
    fn put_then_get_on_one_thread_is_fifo() {
        let queue = queue(4);
        let (sizes, got) = watched(&queue, "put 3 items, then get 3", NO_WAIT, |queue| {
            let before = (queue.len(), queue.is_empty());
            for item in [5, 3, 8] {
                queue.put(item).expect("the queue is open");
            }
            let held = (queue.len(), queue.is_empty());
            let got: Vec<Option<u64>> = (0..3).map(|_| queue.get()).collect();
            let after = (queue.len(), queue.is_empty());
            ([before, held, after], got)
        });
        assert_eq!(
            sizes,
            [(0, true), (3, false), (0, true)],
            "(len(), is_empty()) before the puts, after 3 puts, after 3 gets"
        );
        assert_eq!(
            got,
            [Some(5), Some(3), Some(8)],
            "items come out in the order they went in: pop_front"
        );
    }

    #[test]
    fn any_calls_from_one_thread_match_the_contract() {
        // Untimed and timed calls, timeouts from zero to Duration::MAX, at
        // capacities from 1 up, both policies; no close until the end.
        let cases = (oracle::draw::size(1, 4), notify(), ops(16, false));
        oracle::check(32, cases, |(capacity, notify, ops)| {
            play(capacity, notify, &ops)
        });
    }

    #[test]
    fn many_threads_get_each_item_once_in_the_order_it_was_put() {
        oracle::check(20, crowd(), crowd_holds);
    }
}

/// The chapter's section "put".
mod s3_put {
    use super::*;

    #[test]
    fn a_queue_holds_exactly_its_capacity_whatever_its_items_and_size() {
        // The queue is generic: an item type of size zero (`()`) and
        // capacities past the round numbers a bound might be capped at. It
        // takes exactly `capacity` items, then a timed put answers Full.
        let unit = finishes(
            "CondvarQueue::<()>::new(2): 2 puts, then put_timeout((), 50 ms)",
            NO_WAIT,
            || {
                let queue = CondvarQueue::<()>::new(2);
                let first = (queue.put(()), queue.put(()));
                (
                    first,
                    queue.put_timeout((), Duration::from_millis(50)),
                    queue.len(),
                )
            },
        );
        assert_eq!(
            unit,
            ((Ok(()), Ok(())), Err(PutError::Full(())), 2),
            "a queue of `()` with capacity 2 takes 2 items, then a timed put is refused as Full: \
             the bound is `capacity`, kept in the state — not the VecDeque's capacity(), which is \
             its allocation (usize::MAX for an item of size zero)"
        );
        for capacity in [4_097, 65_537] {
            let (filled, extra, len) = finishes(
                &format!(
                    "{capacity} puts into a CondvarQueue of capacity {capacity}, then one more"
                ),
                NO_WAIT,
                move || {
                    let queue = CondvarQueue::new(capacity);
                    let filled = (0..capacity as u64)
                        .map(|item| queue.put_timeout(item, Duration::ZERO))
                        .take_while(Result::is_ok)
                        .count();
                    let extra = queue.put_timeout(u64::MAX, Duration::from_millis(20));
                    (filled, extra, queue.len())
                },
            );
            assert_eq!(
                (filled, extra, len),
                (capacity, Err(PutError::Full(u64::MAX)), capacity),
                "a queue of capacity {capacity}: (items taken before one was refused, the next \
                 timed put, len()) — it takes exactly `capacity` items, whatever the number"
            );
        }
    }

    #[test]
    fn put_waits_while_full_and_get_makes_room() {
        let queue = queue(3);
        watched(
            &queue,
            "3 puts into an empty queue of capacity 3",
            NO_WAIT,
            |queue| {
                for item in 1..=3 {
                    queue.put(item).expect("the queue is open");
                }
            },
        );
        let putter = start(&queue, |queue| queue.put(4));
        let putter = still_waiting(putter, 150, "a put into a full queue of capacity 3");
        let held = watched(&queue, "len()", NO_WAIT, |queue| queue.len());
        assert_eq!(held, 3, "a queue of capacity 3 held {held} items");
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(1));
        let (put, _) = join_one(putter, "putter", WAKE_PUTTER);
        assert_eq!(put, Ok(()), "the waiting put went in once there was room");
        let rest = watched(&queue, "3 gets from a full queue", NO_WAIT, |queue| {
            (0..3).map(|_| queue.get()).collect::<Vec<_>>()
        });
        assert_eq!(
            rest,
            [Some(2), Some(3), Some(4)],
            "the waiting put's item came last"
        );
    }

    #[test]
    fn a_timed_put_on_a_full_queue_gives_up_at_its_deadline_and_hands_the_item_back() {
        let _timing = TimingSection::enter();
        let queue = queue(1);
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(1)
        })
        .unwrap();
        let (result, took) = timed(
            &queue,
            "put_timeout(2, 100 ms) on a full queue",
            DEADLINE,
            |queue| queue.put_timeout(2, ms(100)),
        );
        assert_eq!(
            result,
            Err(PutError::Full(2)),
            "a put that times out is Full, and hands its item back"
        );
        assert!(took >= ms(100), "gave up after {took:?}, before its 100 ms");
    }

    #[test]
    fn a_timed_put_goes_in_as_soon_as_there_is_room() {
        let _timing = TimingSection::enter();
        let queue = queue(1);
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(1)
        })
        .unwrap();
        let putter = start(&queue, |queue| queue.put_timeout(2, Duration::from_secs(4)));
        let putter = still_waiting(putter, 100, "put_timeout(2, 4 s) into a full queue");
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(1));
        let (put, took) = join_one(putter, "putter", WAKE_PUTTER);
        assert_eq!(put, Ok(()), "a put that finds room in time goes in");
        assert!(
            took < Duration::from_millis(2_500),
            "put_timeout(4 s) went in only after {took:?}, although room appeared after about \
             100 ms: the get did not wake it, and it found the room when its deadline came. \
             {WAKE_PUTTER} — on the timed path too"
        );
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(2));
    }

    #[test]
    fn a_timed_put_woken_for_nothing_still_ends_at_its_deadline() {
        let _timing = TimingSection::enter();
        let problems = early_wakes(false, 8);
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    }
}

/// The chapter's section "get".
mod s4_get {
    use super::*;

    #[test]
    fn get_waits_for_an_item() {
        let queue = queue(2);
        let taker = start(&queue, |queue| queue.get());
        let taker = still_waiting(taker, 150, "get() on an empty, open queue");
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(7)
        })
        .unwrap();
        let got: Vec<Option<u64>> = join_all(vec![taker], "taker", WAKE_TAKER)
            .into_iter()
            .map(|(got, _)| got)
            .collect();
        assert_eq!(got, [Some(7)]);
    }

    #[test]
    fn a_timed_get_on_an_empty_queue_gives_up_at_its_deadline() {
        let _timing = TimingSection::enter();
        let queue = queue(2);
        let (result, took) = timed(
            &queue,
            "get_timeout(100 ms) on an empty queue",
            DEADLINE,
            |queue| queue.get_timeout(ms(100)),
        );
        assert_eq!(
            result,
            Err(GetError::Empty),
            "a get that times out on an open queue is Empty"
        );
        assert!(took >= ms(100), "gave up after {took:?}, before its 100 ms");
    }

    #[test]
    fn a_timed_get_takes_an_item_as_soon_as_it_arrives() {
        let _timing = TimingSection::enter();
        let queue = queue(2);
        let taker = start(&queue, |queue| queue.get_timeout(Duration::from_secs(4)));
        let taker = still_waiting(taker, 100, "get_timeout(4 s) on an empty, open queue");
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(9)
        })
        .unwrap();
        let (got, took) = join_one(taker, "taker", WAKE_TAKER);
        assert_eq!(got, Ok(9), "an item that arrives in time is taken");
        assert!(
            took < Duration::from_millis(2_500),
            "get_timeout(4 s) took its item only after {took:?}, although it was put after about \
             100 ms: the put did not wake it, and it found the item when its deadline came. {WAKE_TAKER} \
             — on the timed path too"
        );
    }

    #[test]
    fn a_zero_timeout_is_a_try_and_an_endless_one_waits_as_long_as_it_takes() {
        let queue = queue(2);
        let results = watched(
            &queue,
            "put_timeout / get_timeout with Duration::ZERO and Duration::MAX",
            NO_WAIT,
            |queue| {
                [
                    format!("{:?}", queue.get_timeout(Duration::ZERO)),
                    format!("{:?}", queue.put_timeout(1, Duration::ZERO)),
                    format!("{:?}", queue.put_timeout(2, Duration::MAX)),
                    format!("{:?}", queue.put_timeout(3, Duration::ZERO)),
                    format!("{:?}", queue.get_timeout(Duration::ZERO)),
                    format!("{:?}", queue.get_timeout(Duration::MAX)),
                ]
            },
        );
        let expected = [
            ("get_timeout(0) on an empty queue", "Err(Empty)"),
            ("put_timeout(1, 0) into an empty queue", "Ok(())"),
            ("put_timeout(2, MAX) into a queue with room", "Ok(())"),
            ("put_timeout(3, 0) into a full queue", "Err(Full(3))"),
            ("get_timeout(0) on a queue holding items", "Ok(1)"),
            ("get_timeout(MAX) on a queue holding an item", "Ok(2)"),
        ];
        for ((what, want), got) in expected.iter().zip(&results) {
            assert_eq!(
                got, want,
                "{what} returned {got}. A zero timeout is a try: take or put at once if you can, \
                 give up at once if you cannot. Duration::MAX means no deadline (None)."
            );
        }
        // No deadline at all: a put_timeout(MAX) into a full queue waits for room.
        watched(
            &queue,
            "2 puts into an empty queue of capacity 2",
            NO_WAIT,
            |queue| [queue.put(4), queue.put(5)],
        )
        .into_iter()
        .for_each(|put| put.expect("a queue of capacity 2 with room for both"));
        let putter = start(&queue, |queue| queue.put_timeout(6, Duration::MAX));
        let putter = still_waiting(
            putter,
            150,
            "put_timeout(6, Duration::MAX) into a full queue",
        );
        let got = watched(&queue, "get() from a full queue", NO_WAIT, |queue| {
            queue.get()
        });
        assert_eq!(got, Some(4));
        let (put, _) = join_one(putter, "putter", WAKE_PUTTER);
        assert_eq!(put, Ok(()));
    }

    #[test]
    fn a_timed_get_woken_for_nothing_still_ends_at_its_deadline() {
        let _timing = TimingSection::enter();
        let problems = early_wakes(true, 8);
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    }
}

/// The chapter's section "close".
mod s5_close {
    use super::*;

    #[test]
    fn a_closed_queue_refuses_puts_and_still_hands_out_what_it_holds() {
        let queue = queue(4);
        let results = watched(
            &queue,
            "put, close, put, get until None",
            NO_WAIT,
            |queue| {
                queue.put(1).unwrap();
                queue.put(2).unwrap();
                queue.close();
                [
                    format!("{:?}", queue.put(3)),
                    format!("{:?}", queue.put_timeout(4, ms(500))),
                    format!("{:?}", queue.get()),
                    format!("{:?}", queue.get_timeout(ms(500))),
                    format!("{:?}", queue.get()),
                    format!("{:?}", queue.get_timeout(Duration::ZERO)),
                    format!("{:?}", queue.get_timeout(ms(500))),
                ]
            },
        );
        let expected = [
            (
                "put(3) into a closed queue with room",
                "Err(Closed(3))",
                "a closed queue refuses every put, full or not, and hands the item back",
            ),
            (
                "put_timeout(4, 500 ms) into a closed queue",
                "Err(Closed(4))",
                "refused because closed: Closed, not Full",
            ),
            (
                "get() on a closed queue holding 1 and 2",
                "Some(1)",
                "a closed queue still hands out what it holds, oldest first",
            ),
            (
                "get_timeout(500 ms) on a closed queue holding 2",
                "Ok(2)",
                "a closed queue still hands out what it holds",
            ),
            (
                "get() on a closed, drained queue",
                "None",
                "closed and empty: None, at once",
            ),
            (
                "get_timeout(0) on a closed, drained queue",
                "Err(Closed)",
                "no item will ever come: Closed, not Empty — check `closed` before the clock",
            ),
            (
                "get_timeout(500 ms) on a closed, drained queue",
                "Err(Closed)",
                "no item will ever come: Closed, not Empty",
            ),
        ];
        for ((what, want, why), got) in expected.iter().zip(&results) {
            assert_eq!(got, want, "{what} returned {got}: {why}");
        }
    }

    #[test]
    fn close_wakes_every_waiting_taker() {
        let _timing = TimingSection::enter();
        let queue = queue(2);
        let mut takers: Vec<JoinHandle<(Result<u64, GetError>, Duration)>> = (0..2)
            .map(|_| start(&queue, |queue| queue.get().ok_or(GetError::Closed)))
            .collect();
        takers.push(start(&queue, |queue| {
            queue.get_timeout(Duration::from_secs(4))
        }));
        thread::sleep(ms(150)); // let them all wait
        watched(&queue, "close()", NO_WAIT, |queue| queue.close());
        let results = join_all(takers, "takers", WAKE_ALL);
        for (n, (got, took)) in results.iter().enumerate() {
            let what = if n < 2 { "get()" } else { "get_timeout(4 s)" };
            assert_eq!(
                *got,
                Err(GetError::Closed),
                "{what}, waiting on an empty queue when it was closed, must end with no item (None / \
                 Closed)"
            );
            assert!(
                *took < Duration::from_millis(2_500),
                "{what} returned {took:?} after it started, long after close(): {WAKE_ALL}"
            );
        }
    }

    #[test]
    fn close_wakes_every_putter_waiting_for_room() {
        let _timing = TimingSection::enter();
        let queue = queue(1);
        watched(&queue, "put() into an empty queue", NO_WAIT, |queue| {
            queue.put(1)
        })
        .unwrap();
        let putters = vec![
            start(&queue, |queue| queue.put(2)),
            start(&queue, |queue| queue.put_timeout(3, Duration::from_secs(4))),
        ];
        thread::sleep(ms(150)); // let them both wait
        watched(&queue, "close()", NO_WAIT, |queue| queue.close());
        let results = join_all(putters, "putters", WAKE_ALL);
        let refused: Vec<_> = results.iter().map(|(result, _)| result.clone()).collect();
        assert_eq!(
            refused,
            [Err(PutError::Closed(2)), Err(PutError::Closed(3))],
            "puts cut short by close are Closed (a timed one too: not Full), and hand their items back"
        );
        for (result, took) in &results {
            assert!(
                *took < Duration::from_millis(2_500),
                "a put that returned {result:?} took {took:?}, long after close(): {WAKE_ALL}"
            );
        }
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
        fn empty(trial: usize) -> CondvarQueue<u64> {
            let notify = [Notify::Always, Notify::WhenWaiting][trial % 2];
            CondvarQueue::with_notify(1, notify)
        }
        fn full(trial: usize) -> CondvarQueue<u64> {
            let queue = empty(trial);
            queue.put(u64::MAX).expect("the queue is open");
            queue
        }
        let races = [
            close_races(
                2_500,
                empty,
                "get() on an empty queue",
                |q, _| Answer::Get(q.get()),
                |_| Answer::Get(None),
            ),
            close_races(
                2_500,
                empty,
                "get_timeout(1 h) on an empty queue",
                |q, _| Answer::GetFor(q.get_timeout(Duration::from_secs(3600))),
                |_| Answer::GetFor(Err(GetError::Closed)),
            ),
            close_races(
                2_500,
                full,
                "put() into a full queue",
                |q, trial| Answer::Put(q.put(trial as u64)),
                |trial| Answer::Put(Err(PutError::Closed(trial as u64))),
            ),
            close_races(
                2_500,
                full,
                "put_timeout(…, 1 h) into a full queue",
                |q, trial| Answer::Put(q.put_timeout(trial as u64, Duration::from_secs(3600))),
                |trial| Answer::Put(Err(PutError::Closed(trial as u64))),
            ),
        ];
        let problems: Vec<String> = races.into_iter().filter_map(Result::err).collect();
        assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    }

    #[test]
    fn any_calls_with_closes_among_them_match_the_contract() {
        let cases = (oracle::draw::size(1, 4), notify(), ops(16, true));
        oracle::check(32, cases, |(capacity, notify, ops)| {
            play(capacity, notify, &ops)
        });
    }

    #[test]
    fn a_close_while_threads_put_and_get_loses_and_invents_nothing() {
        // close() comes while producers are still putting and consumers
        // getting: every put either went in (its item taken exactly once) or
        // was refused as Closed with its own item handed back; a put that
        // returned before close() began went in (or timed out), one that began
        // after close() returned was refused.
        let cases = crowd().prop_flat_map(|crowd| {
            let total = crowd
                .producers
                .iter()
                .map(|(_, items)| items.len())
                .sum::<usize>();
            (Just(crowd), 0..=total)
        });
        oracle::check(20, cases, |(mut crowd, close_after)| {
            crowd.close_after = Some(close_after);
            let seen = run_crowd(&crowd);
            let (close_started, close_returned) = seen.closed.expect("closed once");
            for (call, refused) in &seen.refused {
                if *refused != PutError::Closed(call.item) {
                    return Err(format!(
                        "a put of #{} returned Err({refused:?}): a put refused because the queue \
                         is closed hands back its own item, Err(Closed(#{}))",
                        call.item, call.item
                    ));
                }
                if call.returned < close_started {
                    return Err(format!(
                        "a put of #{} was refused as Closed although it returned before close() \
                         was called",
                        call.item
                    ));
                }
            }
            for call in &seen.accepted {
                if call.started > close_returned {
                    return Err(format!(
                        "a put of #{} went in although it began after close() had returned: a \
                         closed queue refuses every put — check `closed` under the lock",
                        call.item
                    ));
                }
            }
            check_crowd(&crowd, &seen)
        });
    }
}

/// The chapter's section "Every interleaving".
mod s6_every_interleaving {
    #[test]
    fn every_interleaving_of_put_get_and_close_is_right() {
        // The scenarios are in tests/model.rs; loom tries each one under every
        // order in which its threads can take turns.
        lesson_support::run_models!();
    }
}

/// The chapter's section "One trait, two queues".
mod s7_one_trait_two_queues {
    use super::*;

    fn fifo_with_one_consumer<Q: BlockingQueue<u64> + 'static>(queue: Q, name: &str) {
        let queue = Arc::new(queue);
        let got = finishes(
            &format!("run_all over {name}, 1 producer, 1 consumer, 1000 items"),
            LOST_WAKE,
            move || run_all(queue, 1, 1, 1_000),
        );
        assert_eq!(got.len(), 1, "run_all returns one list per consumer");
        lesson_support::assert_sequence(
            &(0..1_000).collect::<Vec<_>>(),
            &got[0],
            &format!(
                "{name}: one consumer sees the items in the order they were put (oldest first)"
            ),
        );
    }

    /// `producers` putting `items` between them, `consumers` getting: each item
    /// exactly once, one list per consumer, each producer's items in order.
    fn no_loss_with_many<Q: BlockingQueue<u64> + 'static>(
        queue: Q,
        name: &str,
        producers: u64,
        consumers: usize,
        items: u64,
    ) {
        let queue = Arc::new(queue);
        let got = finishes(
            &format!(
                "run_all over {name}, {producers} producers, {consumers} consumers, {items} items"
            ),
            LOST_WAKE,
            move || run_all(queue, producers, consumers, items),
        );
        assert_eq!(
            got.len(),
            consumers,
            "run_all returns one list per consumer: {consumers} consumers were asked for"
        );
        assert_each_exactly_once(
            0..items,
            got.concat(),
            &format!(
                "{name}, {items} items from {producers} producers (items lost: does each producer put \
                 its whole share, p, p + producers, …? Is the queue closed only after every producer \
                 is joined? Does get() hand out what a closed queue still holds?)"
            ),
        );
        // Producer p puts p, p + producers, … in that order; a FIFO queue keeps
        // that order in every consumer's share.
        for (consumer, share) in got.iter().enumerate() {
            for pair in share.windows(2) {
                let (earlier, later) = (pair[0], pair[1]);
                assert!(
                    earlier % producers != later % producers || earlier < later,
                    "{name}: consumer {consumer} got item {later} after item {earlier}, but one \
                     producer put {later} first. A queue hands out the oldest item first \
                     (pop_front, not pop_back)"
                );
            }
        }
    }

    #[test]
    fn your_queue_is_fifo_with_one_consumer() {
        fifo_with_one_consumer(CondvarQueue::new(4), "CondvarQueue");
    }

    #[test]
    fn the_same_code_over_crossbeam_is_fifo_with_one_consumer() {
        fifo_with_one_consumer(ChannelQueue::new(4), "ChannelQueue");
    }

    #[test]
    fn your_queue_loses_and_duplicates_nothing_with_many_threads() {
        // 3 producers do not share 10001 items evenly: producer 0 puts one more.
        no_loss_with_many(CondvarQueue::new(8), "CondvarQueue", 3, 4, 10_001);
    }

    #[test]
    fn your_queue_loses_nothing_at_capacity_one() {
        no_loss_with_many(
            CondvarQueue::new(1),
            "CondvarQueue of capacity 1",
            2,
            3,
            2_001,
        );
    }

    #[test]
    fn the_same_code_over_crossbeam_loses_nothing() {
        no_loss_with_many(ChannelQueue::new(8), "ChannelQueue", 3, 4, 10_001);
    }

    #[test]
    fn run_all_starts_the_consumers_it_is_asked_for() {
        for consumers in [1, 2, 5] {
            no_loss_with_many(CondvarQueue::new(2), "CondvarQueue", 1, consumers, 7);
        }
    }

    #[test]
    fn run_all_keeps_its_contract_whatever_the_counts() {
        oracle::check(48, runs(), |run| {
            let (outcome, _) = run_recorded(&run, CALL_BUDGET * 2, |_| {});
            match outcome {
                Ok(seen) => check_run(&run, &seen),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        });
    }

    #[test]
    fn a_held_consumer_does_not_hold_up_the_others() {
        // One consumer holds item 0 (as if it were slow to process it): the
        // other consumers must take every other item meanwhile — the producers
        // need them to, the queue being small.
        let cases = (notify(), 1usize..=3, 1u64..=3, 2usize..=4).prop_flat_map(
            |(notify, capacity, producers, consumers)| {
                let least = (capacity + consumers) as u64 + 2;
                (
                    Just(Run {
                        kind: Kind::Mine(notify),
                        capacity,
                        producers,
                        consumers,
                        items: 0,
                    }),
                    least..=least + 20,
                )
            },
        );
        oracle::check(8, cases, |(mut run, items)| {
            run.items = items;
            let gate = Gate::new();
            let held = gate.clone();
            let watcher = Log::new();
            let log = watcher.clone();
            let runner = {
                let run = run.clone();
                thread::spawn(move || {
                    run_recorded(&run, CALL_BUDGET * 3, move |queue| {
                        queue.after_got = Script::new().at(0, Act::Hold(held));
                        queue.events = log;
                    })
                })
            };
            let returned_early = wait_for_or_exit(
                &runner,
                "the other consumers to take every other item",
                || {
                    watcher
                        .entries()
                        .iter()
                        .filter(|e| matches!(e, Event::Got { item: Some(_), .. }))
                        .count() as u64
                        == items
                },
            );
            let seen = watcher.entries();
            gate.open();
            let (outcome, _) = join_finished(runner);
            let seen_outcome = match outcome {
                Ok(seen) => seen,
                Err(payload) => std::panic::resume_unwind(payload),
            };
            if returned_early {
                let taken = seen
                    .iter()
                    .filter(|e| matches!(e, Event::Got { item: Some(_), .. }))
                    .count();
                return Err(format!(
                    "run_all over {}, capacity {}, {} producers, {} consumers, {items} items \
                     returned while one consumer was held on item 0 ({taken} items taken): {}",
                    name(run.kind),
                    run.capacity,
                    run.producers,
                    run.consumers,
                    "join every consumer before returning"
                ));
            }
            check_run(&run, &seen_outcome)
        });
    }

    #[test]
    fn a_panic_in_the_queue_comes_back_out_of_run_all() {
        // A producer's put, a consumer's get or the close panics: run_all
        // must not return as if nothing happened (items lost in silence).
        #[derive(Debug, Clone, Copy)]
        enum Where {
            Put(u64),
            Get(u64),
            Close,
        }
        let cases = (1u64..=3, 2usize..=4, 1usize..=4, 1u64..=24).prop_flat_map(
            |(producers, consumers, capacity, items)| {
                let at = prop_oneof![
                    (0..items).prop_map(Where::Put),
                    (0..items).prop_map(Where::Get),
                    Just(Where::Close),
                ];
                (
                    Just(Run {
                        kind: Kind::Mine(Notify::WhenWaiting),
                        capacity,
                        producers,
                        consumers,
                        items,
                    }),
                    at,
                )
            },
        );
        oracle::check(16, cases, |(run, at)| {
            let (outcome, fired) = run_recorded(&run, CALL_BUDGET * 2, move |queue| match at {
                Where::Put(item) => queue.before_put = Script::new().at(item, Act::Panic),
                Where::Get(n) => queue.before_get = Script::new().at(n, Act::Panic),
                Where::Close => queue.before_close = Act::Panic,
            });
            match outcome {
                // run_all's own panic (a todo!() included) before the injected
                // one fired is not the injected one coming back.
                Err(payload) if fired.is_empty() => std::panic::resume_unwind(payload),
                Err(_) => Ok(()),
                Ok(seen) => Err(format!(
                    "run_all({} producers, {} consumers, {} items): the queue's {} panicked, yet \
                     run_all returned normally ({} items in its lists): a thread's panic comes \
                     back from its join() as Err — pass it on (resume_unwind, or expect), never \
                     drop it with .ok(), unwrap_or_default() or `let _ =`",
                    run.producers,
                    run.consumers,
                    run.items,
                    fired.entries().join(", "),
                    seen.lists.concat().len()
                )),
            }
        });
    }
}

/// Every wait in the lesson meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. An untimed call waits as long as
/// it takes; a timed one exactly until its deadline, whole seconds included.
mod stall {
    use super::*;

    const HINT: &str = "a wait that gives up after a while of its own (a timeout it was not \
        given, a retry count) ends while the queue is still open: a slow peer is not a closed \
        queue. An untimed call waits with no deadline; a timed one until Instant::now() + its \
        timeout — whole seconds included";

    /// `call` starts on a thread of its own while the peer goes quiet for
    /// [`STALL`] and then does `peer`; `call` must return `expected`, and
    /// take at least `at_least` (a timed call that gives up: its timeout).
    fn outlasts<T: Debug + PartialEq + Send + 'static>(
        what: &str,
        queue: Arc<CondvarQueue<u64>>,
        call: impl FnOnce(&CondvarQueue<u64>) -> T + Send + 'static,
        peer: impl FnOnce(&CondvarQueue<u64>) + Send + 'static,
        expected: T,
        at_least: Duration,
    ) {
        let waiter = start(&queue, call);
        let peer = {
            let queue = Arc::clone(&queue);
            thread::spawn(move || {
                thread::sleep(STALL);
                peer(&queue);
            })
        };
        let (got, took) = join_all_within(STALL_BUDGET, vec![waiter], what, HINT).remove(0);
        join_all(vec![peer], "the test's peer", NO_WAIT);
        assert_eq!(
            got, expected,
            "{what}: the other side went quiet for {STALL:?} first (it returned after {took:?}) — \
             {HINT}"
        );
        assert!(
            took >= at_least,
            "{what} returned {got:?} after {took:?}, before {at_least:?}: {HINT}"
        );
    }

    fn full(capacity: usize) -> Arc<CondvarQueue<u64>> {
        let queue = queue(capacity);
        let puts = watched(&queue, "puts into an empty queue", NO_WAIT, move |q| {
            (0..capacity as u64)
                .map(|item| q.put(item))
                .collect::<Vec<_>>()
        });
        assert!(
            puts.iter().all(Result::is_ok),
            "puts into an empty queue: {puts:?}"
        );
        queue
    }

    /// `run_all` over a queue whose `script` stalls one call: it must still
    /// deliver every item.
    fn run_all_outlasts(run: Run, script: impl FnOnce(&mut Recording)) {
        let (outcome, _) = run_recorded(&run, STALL_BUDGET, script);
        let seen = match outcome {
            Ok(seen) => seen,
            Err(payload) => std::panic::resume_unwind(payload),
        };
        if let Err(problem) = check_run(&run, &seen) {
            panic!("{problem} — with one call stalled for {STALL:?}: {HINT}");
        }
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        let long = Duration::new(4, 900_000_000);
        adversary::concurrently(vec![
            (
                "get() on an empty queue whose producer pauses",
                Box::new(|| {
                    outlasts(
                        "get() on an empty queue, the item put after the stall",
                        queue(2),
                        |q| q.get(),
                        |q| q.put(11).expect("the queue is open"),
                        Some(11),
                        Duration::ZERO,
                    );
                }),
            ),
            (
                "get_timeout(4.9 s) on an empty queue whose producer pauses",
                Box::new(move || {
                    outlasts(
                        "get_timeout(4.9 s) on an empty queue, the item put after the stall",
                        queue(2),
                        move |q| q.get_timeout(long),
                        |q| q.put(12).expect("the queue is open"),
                        Ok(12),
                        Duration::ZERO,
                    );
                }),
            ),
            (
                "get_timeout(1 s + 5 ns) on an empty queue whose producer pauses",
                Box::new(|| {
                    outlasts(
                        "get_timeout(1 s + 5 ns) on an empty queue, an item put only after the \
                         stall",
                        queue(2),
                        |q| q.get_timeout(Duration::new(1, 5)),
                        |q| q.put(13).expect("the queue is open"),
                        Err(GetError::Empty),
                        Duration::new(1, 5),
                    );
                }),
            ),
            (
                "put() into a full queue whose consumer pauses",
                Box::new(|| {
                    outlasts(
                        "put() into a full queue, room made after the stall",
                        full(1),
                        |q| q.put(21),
                        |q| assert_eq!(q.get(), Some(0), "the first item"),
                        Ok(()),
                        Duration::ZERO,
                    );
                }),
            ),
            (
                "put_timeout(…, 4.9 s) into a full queue whose consumer pauses",
                Box::new(move || {
                    outlasts(
                        "put_timeout(…, 4.9 s) into a full queue, room made after the stall",
                        full(2),
                        move |q| q.put_timeout(22, long),
                        |q| assert_eq!(q.get(), Some(0), "the first item"),
                        Ok(()),
                        Duration::ZERO,
                    );
                }),
            ),
            (
                "put_timeout(…, 1.5 s) into a full queue whose consumer pauses",
                Box::new(|| {
                    outlasts(
                        "put_timeout(…, 1.5 s) into a full queue, room made only after the stall",
                        full(1),
                        |q| q.put_timeout(23, ms(1_500)),
                        |q| assert_eq!(q.get(), Some(0), "the first item"),
                        Err(PutError::Full(23)),
                        ms(1_500),
                    );
                }),
            ),
            (
                "get() and get_timeout(Duration::MAX) on a queue closed after the stall",
                Box::new(|| {
                    let empty = queue(1);
                    let untimed = start(&empty, |q| q.get());
                    outlasts(
                        "get_timeout(Duration::MAX) on an empty queue, closed after the stall",
                        Arc::clone(&empty),
                        |q| q.get_timeout(Duration::MAX),
                        |q| q.close(),
                        Err(GetError::Closed),
                        Duration::ZERO,
                    );
                    let (got, _) = join_one(untimed, "get() on the closed queue", WAKE_ALL);
                    assert_eq!(got, None, "get() on an empty queue closed after the stall");
                }),
            ),
            (
                "put() and put_timeout(…, 1 h) into a full queue closed after the stall",
                Box::new(|| {
                    let queue = full(1);
                    let untimed = start(&queue, |q| q.put(31));
                    outlasts(
                        "put_timeout(…, 1 h) into a full queue, closed after the stall",
                        Arc::clone(&queue),
                        |q| q.put_timeout(32, Duration::from_secs(3600)),
                        |q| q.close(),
                        Err(PutError::Closed(32)),
                        Duration::ZERO,
                    );
                    let (put, _) = join_one(untimed, "put() into the closed queue", WAKE_ALL);
                    assert_eq!(
                        put,
                        Err(PutError::Closed(31)),
                        "put() into a full queue closed after the stall"
                    );
                }),
            ),
            (
                "run_all whose one consumer is slow",
                Box::new(|| {
                    let run = Run {
                        kind: Kind::Mine(Notify::WhenWaiting),
                        capacity: 2,
                        producers: 2,
                        consumers: 1,
                        items: 9,
                    };
                    run_all_outlasts(run, |queue| {
                        queue.after_got = Script::new().at(0, Act::Stall);
                    });
                }),
            ),
            (
                "run_all whose one producer is slow",
                Box::new(|| {
                    let run = Run {
                        kind: Kind::Mine(Notify::Always),
                        capacity: 2,
                        producers: 1,
                        consumers: 2,
                        items: 5,
                    };
                    run_all_outlasts(run, |queue| {
                        queue.before_put = Script::new().at(1, Act::Stall);
                    });
                }),
            ),
            (
                "run_all whose one consumer is slow on the last item",
                Box::new(|| slow_last_item(Kind::Mine(Notify::WhenWaiting))),
            ),
        ]);
    }

    /// Every item fits in the queue, so the one producer puts them all and
    /// is joined, and the queue is closed; then the one consumer stalls on the
    /// last item. run_all's own wait for its consumers (the join) meets the
    /// stall, and must outlast it with every item in the result, in order.
    fn slow_last_item(kind: Kind) {
        let items = 4;
        let run = Run {
            kind,
            capacity: items as usize,
            producers: 1,
            consumers: 1,
            items,
        };
        let (outcome, _) = run_recorded(&run, STALL_BUDGET, |queue| {
            queue.after_got = Script::new().at(items - 1, Act::Stall);
        });
        let seen = match outcome {
            Ok(seen) => seen,
            Err(payload) => std::panic::resume_unwind(payload),
        };
        let expected: Vec<u64> = (0..items).collect();
        let returned = seen.lists.concat();
        let context = format!(
            "run_all over {} of capacity {items}, 1 producer, 1 consumer, {items} items, whose \
             consumer took {STALL:?} over item {}, the last, when everything had been put and the \
             queue closed: run_all returns only once every consumer has finished — join each one, \
             however long it takes; a join that gives up (a deadline, is_finished() polled for a \
             while) returns a list short of the items its consumer was still working on",
            name(kind),
            items - 1
        );
        if let Err(problem) = check_each_exactly_once(expected.clone(), returned.clone(), &context)
            .and_then(|()| check_sequence(&expected, &returned, &context))
            .and_then(|()| check_run(&run, &seen))
        {
            panic!("{problem}");
        }
    }
}
