//! Lesson 07 — consumers that give up when idle, producers that give up on a
//! full queue, and not one item unaccounted for.
//!
//! Time is this lesson's subject, so these tests measure it: how long a wait
//! lasted, how much CPU it burnt, how often the waiting thread went to sleep.
//! Every margin is wide and one-sided — a correct solution cannot miss it on a
//! slow or busy machine — and every call into your code runs under a watchdog.
//!
//! The tests come in the chapter's order (`s1_…` is its first section). Each
//! section has examples, then a property: the same check over many drawn
//! scenarios, run a batch at a time — idle limits from zero to a few hundred
//! milliseconds, an hour and `Duration::MAX`; items already queued or coming a
//! little later; processing longer than the idle limit; queues of no room to
//! plenty; consumers that never come, take slowly, come late or leave half-way
//! — against an answer the test works out from the scenario alone: which items
//! must be processed, delivered or refused, and how long a wait may last.
//! And `long_stall`: every wait that has no limit meets a peer that goes
//! quiet for seconds, longer than any "safety" timeout.

use std::fmt::Debug;
use std::io::Read;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use lesson_07::{Delivery, Exit, consume, produce};
use lesson_support::adversary::{self, STALL, STALL_BUDGET};
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use lesson_support::{
    BUDGET, Log, TimingSection, assert_each_exactly_once, assert_sequence, check_sequence,
    finishes, finishes_within, join_all, join_finished, panic_message, preview, skipped,
    thread_cpu_time, times_slept, times_switched_out, wait_until,
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

/// Up to `races` times (as many as fit in [`RACING`]), two threads call
/// `produce(queue, 1, patience)` at the same moment on a fresh queue with
/// room for one that nobody empties: each race must end with one item
/// delivered and one refused, each call back within a second. The first
/// problem, said.
fn race_for_the_last_slot(races: usize, patience: Duration) -> Result<(), String> {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    let queues: Arc<Vec<(Sender<u64>, Receiver<u64>)>> =
        Arc::new((0..races).map(|_| bounded(1)).collect());
    // Races started by the test, calls of produce that came back, and
    // whether the racing is over.
    let go = Arc::new(AtomicUsize::new(0));
    let back = Arc::new(AtomicUsize::new(0));
    let over = Arc::new(AtomicBool::new(false));
    let racers: Vec<thread::JoinHandle<Vec<(Delivery, Duration)>>> = (0..2)
        .map(|_| {
            let (queues, go, back, over) = (queues.clone(), go.clone(), back.clone(), over.clone());
            thread::spawn(move || {
                let mut deliveries = Vec::new();
                for (race, (queue, _)) in queues.iter().enumerate() {
                    let mut spins = 0u32;
                    while go.load(Ordering::Acquire) <= race {
                        if over.load(Ordering::Acquire) {
                            return deliveries;
                        }
                        spins += 1;
                        if spins < 2_000 {
                            std::hint::spin_loop();
                        } else {
                            thread::yield_now();
                        }
                    }
                    let started = Instant::now();
                    let delivery = produce(queue, 1, patience);
                    deliveries.push((delivery, started.elapsed()));
                    back.fetch_add(1, Ordering::AcqRel);
                }
                deliveries
            })
        })
        .collect();
    let began = Instant::now();
    let mut tried = 0;
    while tried < races && began.elapsed() < RACING {
        let race = tried;
        tried += 1;
        go.store(race + 1, Ordering::Release);
        let started = Instant::now();
        while back.load(Ordering::Acquire) < 2 * (race + 1) {
            if started.elapsed() > Duration::from_secs(2) {
                return Err(format!(
                    "race {race} of {races}: two producers offered one item each, at the same \
                     moment, to a queue with room for one that nobody empties, each with a \
                     patience of {patience:?}; one of them was still not back after 2s. Room \
                     seen a moment ago may be gone by the time the item is sent — another \
                     producer took it: only send_timeout(item, patience) both takes room and \
                     gives up in time; a check (is_full, len) followed by a plain send can wait \
                     for ever"
                ));
            }
            thread::yield_now();
        }
    }
    over.store(true, Ordering::Release);
    let deliveries: Vec<Vec<(Delivery, Duration)>> =
        racers.into_iter().map(join_finished).collect();
    for (race, pair) in deliveries[0].iter().zip(&deliveries[1]).enumerate() {
        let delivered = pair.0.0.delivered.len() + pair.1.0.delivered.len();
        let refused = pair.0.0.refused.len() + pair.1.0.refused.len();
        if (delivered, refused) != (1, 1) {
            return Err(format!(
                "race {race}: two producers offered one item each to a queue with room for one \
                 that nobody emptied: one is delivered, the other refused after its patience; \
                 got {pair:?}"
            ));
        }
        // The loser's item must have waited its whole patience: the room it
        // may have seen a moment before was taken, and a try_send after a
        // look at len() gives up at once.
        let loser = if pair.0.0.refused.is_empty() {
            &pair.1
        } else {
            &pair.0
        };
        if loser.1 < patience {
            return Err(format!(
                "race {race}: two producers offered one item each to a queue with room for one; \
                 the one that lost was refused after {:?}, before its patience of {patience:?} \
                 was up. Room seen a moment ago may be gone by the time the item is sent — \
                 another producer took it: send_timeout(item, patience) waits for room whatever \
                 a look at len() or is_full() said just before",
                loser.1
            ));
        }
    }
    Ok(())
}

/// How long [`race_for_the_last_slot`] goes on racing (at most its races): a
/// busy machine gets through fewer.
const RACING: Duration = Duration::from_millis(800);

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

// --- Scenarios run a batch at a time ------------------------------------------

/// How much later than the scenario says a thread may wake on a busy machine
/// before a right answer would look wrong: every "must" in a scenario has at
/// least this much room. (A sleep of 1 ms takes 1.1–1.7 ms here; a woken
/// thread may wait a few ms more for a core.)
const MARGIN: Duration = Duration::from_millis(100);

/// How long after the queue is full a late consumer comes to a producer with
/// a patience of zero, whose later items must all have been refused by then:
/// a few refusals take microseconds, but on a busy machine (`verify
/// --repeat 20` beside CPU hogs) the producer's thread has waited more than
/// [`MARGIN`] for a core before it got through them.
const LATE_FOR_NO_PATIENCE: Duration = Duration::from_millis(300);

/// How much longer than its limit a wait may last: the limit, then a thread
/// that must be woken and scheduled.
const OVERRUN: Duration = Duration::from_millis(250);

/// Runs every scenario of `batch` at once, each on a thread of its own (they
/// spend their time waiting, so a batch costs about as much as its longest
/// scenario); the first failure is the batch's.
fn all_at_once<C: Debug + Send + 'static>(
    batch: Vec<C>,
    scenario: fn(&C) -> Result<(), String>,
) -> Result<(), String> {
    // Scenarios time their waits: not beside a test that keeps cores busy.
    let _section = TimingSection::enter();
    let running: Vec<_> = batch
        .into_iter()
        .map(|case| thread::spawn(move || scenario(&case)))
        .collect();
    let mut first = Ok(());
    for one in running {
        // A panic (a todo!() not yet written included) fails as itself.
        let result = join_finished(one);
        if first.is_ok() {
            first = result;
        }
    }
    first
}

/// Calls your code: a `todo!()` not yet written fails as itself; any other
/// panic becomes a message about `what`, for a property to return.
fn outcome<T>(what: &str, call: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(call)).map_err(|payload| {
        let message = panic_message(payload.as_ref());
        if message.contains("not yet implemented") {
            panic::resume_unwind(payload);
        }
        format!("{what} panicked: {message}")
    })
}

/// Idle limits and patiences that mean "no limit": an hour, the largest
/// whole number of seconds, and `Duration::MAX` — which no clock reading can
/// be added to (`Instant::now() + Duration::MAX` panics).
fn no_limit() -> impl Strategy<Value = Duration> + Clone {
    proptest::sample::select(vec![
        Duration::MAX,
        Duration::new(u64::MAX, 0),
        Duration::from_secs(3_600),
    ])
}

/// Shows a duration that means "no limit" by name.
fn show(limit: Duration) -> String {
    if limit == Duration::MAX {
        "Duration::MAX".to_string()
    } else if limit >= Duration::from_secs(3_600) {
        format!("{}s", limit.as_secs())
    } else {
        format!("{limit:?}")
    }
}

// --- consume: the oracle ----------------------------------------------------------

/// When an item (or the close) reaches the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Already there when the consumer starts waiting for it: sent while the
    /// item before was being processed (before `consume` for the first).
    Queued,
    /// Sent this long after the item before was processed: while the
    /// consumer waits, well within its idle limit.
    After(Duration),
}

/// One item: when it comes, and how long `process` takes over it.
#[derive(Debug, Clone, Copy)]
struct Item {
    arrives: Arrival,
    process: Duration,
}

/// What happens after the last item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The producer drops its Sender (queued, or a little later).
    Close(Arrival),
    /// Nothing more comes, and the queue stays open: the consumer must leave
    /// because it is idle.
    Open,
}

/// Which values the items are: an item is any u64, and means nothing to the
/// consumer — not 0 or u64::MAX, and the same value twice is two items.
#[derive(Debug, Clone, Copy)]
enum Values {
    /// 0, 1, 2, …
    Counting,
    /// u64::MAX, u64::MAX - 1, …
    FromTheTop,
    /// The same value again and again.
    Same(u64),
}

impl Values {
    /// The item at `position` in the queue.
    fn at(self, position: usize) -> u64 {
        match self {
            Values::Counting => position as u64,
            Values::FromTheTop => u64::MAX - position as u64,
            Values::Same(value) => value,
        }
    }
}

/// One consumer's scenario.
#[derive(Debug, Clone)]
struct IdleCase {
    idle: Duration,
    values: Values,
    items: Vec<Item>,
    end: End,
}

impl IdleCase {
    /// The items, in the order they come.
    fn queue(&self) -> Vec<u64> {
        (0..self.items.len()).map(|at| self.values.at(at)).collect()
    }

    fn describe(&self) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .enumerate()
            .map(|(at, item)| {
                let at = self.values.at(at);
                let arrives = match item.arrives {
                    Arrival::Queued => "queued".to_string(),
                    Arrival::After(pause) => format!("{pause:?} after"),
                };
                if item.process.is_zero() {
                    format!("{at}: {arrives}")
                } else {
                    format!("{at}: {arrives}, processed in {:?}", item.process)
                }
            })
            .collect();
        let end = match self.end {
            End::Close(Arrival::Queued) => "then the queue closes".to_string(),
            End::Close(Arrival::After(pause)) => format!("then the queue closes {pause:?} after"),
            End::Open => "then nothing, the queue left open".to_string(),
        };
        format!(
            "consume(idle {}) with items [{}], {end}",
            show(self.idle),
            items.join("; ")
        )
    }

    /// What must come of it: every item, in order, and the reason to stop.
    fn exit(&self) -> Exit {
        match self.end {
            End::Close(_) => Exit::Closed,
            End::Open => Exit::Idle,
        }
    }
}

/// Idle limits of zero, a few milliseconds and a few hundred (some past
/// [`OVERRUN`]), or none; items queued, or coming while the consumer waits,
/// well within its limit (only limits of 150 ms and more leave room for
/// that); processing that now and then takes longer than the idle limit
/// (which is not idle time); the queue closed at the end, or left open (when
/// the limit is finite).
fn idle_cases() -> impl Strategy<Value = IdleCase> {
    let idle = prop_oneof![
        3 => prop_oneof![
            Just(Duration::ZERO),
            (1u64..5).prop_map(ms),
            (5u64..60).prop_map(ms),
        ],
        3 => (150u64..=250).prop_map(ms),
        // Past OVERRUN: a consumer that waits a multiple of its limit (or
        // the limit and a margin of its own) cannot hide in the slack.
        1 => (300u64..=400).prop_map(ms),
        1 => no_limit(),
    ];
    idle.prop_flat_map(|idle| {
        let room = idle.saturating_sub(MARGIN).min(ms(50));
        let arrival = if room >= ms(5) {
            prop_oneof![
                Just(Arrival::Queued),
                (5..=room.as_millis() as u64).prop_map(|n| Arrival::After(ms(n))),
            ]
            .boxed()
        } else {
            Just(Arrival::Queued).boxed()
        };
        // Processing longer than the idle limit, where the limit is short
        // enough to pay for it.
        let short = prop_oneof![Just(Duration::ZERO), (1u64..5).prop_map(ms)];
        let process = if idle <= ms(250) {
            prop_oneof![9 => short, 1 => (10u64..30).prop_map(move |n| idle + ms(n))].boxed()
        } else {
            short.boxed()
        };
        // Fewer items before a long wait: the batch lasts as long as its
        // longest scenario.
        let most = if idle > ms(250) { 3 } else { 6 };
        let items = proptest::collection::vec(
            (arrival.clone(), process).prop_map(|(arrives, process)| Item { arrives, process }),
            0..=most,
        );
        let values = prop_oneof![
            2 => Just(Values::Counting),
            1 => Just(Values::FromTheTop),
            1 => proptest::sample::select(vec![0, 1, u64::MAX]).prop_map(Values::Same),
        ];
        let end = if idle <= ms(400) {
            prop_oneof![Just(End::Open), arrival.prop_map(End::Close)].boxed()
        } else {
            arrival.prop_map(End::Close).boxed()
        };
        (Just(idle), values, items, end)
    })
    .prop_map(|(idle, values, items, end)| IdleCase {
        idle,
        values,
        items,
        end,
    })
}

/// An order to the scenario's producer: at `at`, send `item` (or, with none,
/// drop the Sender), then say so on `done` if given.
struct Order {
    item: Option<u64>,
    at: Instant,
    done: Option<Sender<()>>,
}

/// Places the order for what comes after item `after` (`None`: before the
/// first): a queued item is in the queue when this returns.
fn order_next(case: &IdleCase, after: Option<usize>, orders: &Sender<Order>) {
    let next = after.map_or(0, |at| at + 1);
    let (item, arrives) = match case.items.get(next) {
        Some(item) => (Some(case.values.at(next)), item.arrives),
        None => match case.end {
            End::Close(arrives) => (None, arrives),
            End::Open => return,
        },
    };
    match arrives {
        Arrival::Queued => {
            let (done, sent) = bounded(1);
            let order = Order {
                item,
                at: Instant::now(),
                done: Some(done),
            };
            if orders.send(order).is_ok() {
                let _ = sent.recv_timeout(BUDGET);
            }
        }
        Arrival::After(pause) => {
            let _ = orders.send(Order {
                item,
                at: Instant::now() + pause,
                done: None,
            });
        }
    }
}

/// The scenario's producer: carries out the orders, in order; drops the
/// Sender when told to, or when no order can come any more.
fn producer(queue: Sender<u64>, orders: Receiver<Order>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut queue = Some(queue);
        for order in orders {
            thread::sleep(order.at.saturating_duration_since(Instant::now()));
            match (order.item, &queue) {
                (Some(item), Some(open)) => {
                    let _ = open.send(item);
                }
                _ => queue = None,
            }
            if let Some(done) = order.done {
                let _ = done.send(());
            }
        }
    })
}

/// Runs one consumer scenario and checks what must come of it: every item
/// processed once, in order, and returned; the right reason to stop; and,
/// with the queue left open, a last wait that lasted the idle limit — no
/// less, and not much more.
fn idle_scenario(case: &IdleCase) -> Result<(), String> {
    let (queue, inbox) = unbounded();
    let (orders, to_do) = unbounded();
    let producing = producer(queue, to_do);
    let processed = Log::new();
    let ended = Log::new();
    let process = {
        let (case, orders, processed, ended) = (
            case.clone(),
            orders.clone(),
            processed.clone(),
            ended.clone(),
        );
        // Items may repeat: the number of calls so far says which item this is.
        let calls = AtomicUsize::new(0);
        move |item: u64| {
            processed.push(item);
            let at = calls.fetch_add(1, Ordering::SeqCst);
            if let Some(step) = case.items.get(at) {
                thread::sleep(step.process);
                order_next(&case, Some(at), &orders);
            }
            ended.push(Instant::now());
        }
    };
    order_next(case, None, &orders);
    let idle = case.idle;
    let what = case.describe();
    let (result, waiting_from, returned) = {
        let what = what.clone();
        finishes(&what.clone(), IDLE_HINT, move || {
            let waiting_from = Instant::now();
            let result = outcome(&what, || consume(&inbox, idle, &process));
            (result, waiting_from, Instant::now())
        })
    };
    drop(orders);
    join_finished(producing);
    let (done, exit) = result?;
    let all = case.queue();
    check_sequence(
        &all,
        &processed.entries(),
        &format!(
            "{what}: the items given to `process` — every item that came before the queue closed \
             or the consumer had waited its idle limit, once each, in order"
        ),
    )?;
    check_sequence(
        &all,
        &done,
        &format!("{what}: the items consume() returned (those it processed, in order)"),
    )?;
    if exit != case.exit() {
        return Err(match exit {
            Exit::Idle => format!(
                "{what}: consume() returned Exit::Idle, and the queue had been closed: a closed, \
                 empty queue is RecvTimeoutError::Disconnected — Exit::Closed — not a timeout"
            ),
            Exit::Closed => format!(
                "{what}: consume() returned Exit::Closed, and the queue was still open: it left \
                 because it waited its idle limit — RecvTimeoutError::Timeout is Exit::Idle"
            ),
        });
    }
    if case.end == End::Open {
        let last = ended.entries().last().copied().unwrap_or(waiting_from);
        let waited = returned.saturating_duration_since(last);
        if waited < idle {
            return Err(format!(
                "{what}: after the last item it waited {waited:?} with nothing to do, then left — \
                 before its idle limit of {idle:?} was up: wait the idle limit itself, counted \
                 from when the waiting starts"
            ));
        }
        if waited >= idle + OVERRUN {
            return Err(format!(
                "{what}: after the last item it waited {waited:?} with nothing to do before \
                 leaving, with an idle limit of {idle:?}: wait `idle` once — not a fixed time, \
                 not a multiple of it, not idle plus a margin of your own"
            ));
        }
    }
    Ok(())
}

// --- produce: the oracle ------------------------------------------------------------

/// Who is at the other end of the producer's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taker {
    /// No one: the Receiver was dropped before the first item.
    Gone,
    /// A Receiver that is kept, and never takes anything.
    Never,
    /// A consumer blocked in recv: it takes each item at once.
    Ready,
    /// A consumer that pauses this long before taking each item.
    Slow(Duration),
    /// A consumer that takes this many items, then drops its Receiver.
    LeavesAfter(u64),
    /// A consumer that comes once the queue is full, this many patiences and
    /// a half later, and then takes everything.
    Late(u32),
    /// A consumer that comes like [`Taker::Late`], takes this many items and
    /// drops its Receiver: refusals of both kinds, a full queue first and then
    /// no consumer at all, in one run.
    LateAndLeaves(u32, u64),
}

/// One producer's scenario.
#[derive(Debug, Clone)]
struct OfferCase {
    items: u64,
    /// `None`: unbounded.
    room: Option<usize>,
    patience: Duration,
    taker: Taker,
}

impl OfferCase {
    fn describe(&self) -> String {
        let room = self.room.map_or_else(
            || "an unbounded queue".to_string(),
            |n| format!("room for {n}"),
        );
        let taker = match self.taker {
            Taker::Gone => "no consumer at all".to_string(),
            Taker::Never => "a consumer that never takes anything".to_string(),
            Taker::Ready => "a consumer that takes each item at once".to_string(),
            Taker::Slow(pause) => format!("a consumer that takes an item every {pause:?}"),
            Taker::LeavesAfter(k) => format!("a consumer that takes {k} items and leaves"),
            Taker::Late(_) if self.patience.is_zero() => {
                format!("a consumer that comes {LATE_FOR_NO_PATIENCE:?} after the queue is full")
            }
            Taker::Late(r) => format!(
                "a consumer that comes {}.5 patiences after the queue is full",
                r
            ),
            Taker::LateAndLeaves(_, k) if self.patience.is_zero() => format!(
                "a consumer that comes {LATE_FOR_NO_PATIENCE:?} after the queue is full, takes {k} \
                 items and \
                 leaves"
            ),
            Taker::LateAndLeaves(r, k) => format!(
                "a consumer that comes {r}.5 patiences after the queue is full, takes {k} items \
                 and leaves"
            ),
        };
        format!(
            "produce({} items, patience {}) into {room}, {taker}",
            self.items,
            show(self.patience)
        )
    }

    /// For a queue that stays full: items `0..room` fit, the rest wait.
    fn fit(&self) -> u64 {
        self.room
            .map_or(self.items, |room| (room as u64).min(self.items))
    }
}

/// How long after the queue is full a [`Taker::Late`] consumer comes:
/// `patiences` and a half, or [`LATE_FOR_NO_PATIENCE`] with a patience of zero.
fn late_by(patience: Duration, patiences: u32) -> Duration {
    if patience.is_zero() {
        LATE_FOR_NO_PATIENCE
    } else {
        patience * (2 * patiences + 1) / 2
    }
}

/// Any patience: zero, a few milliseconds, a few hundred, a second, none.
fn any_patience() -> impl Strategy<Value = Duration> + Clone {
    prop_oneof![
        Just(Duration::ZERO),
        (1u64..20).prop_map(ms),
        (100u64..300).prop_map(ms),
        Just(Duration::from_secs(1)),
        no_limit(),
    ]
}

/// A queue's room, edges common: none (a rendezvous channel), one, two, one
/// below, at and above the item count, or unbounded.
fn any_room(items: u64) -> impl Strategy<Value = Option<usize>> + Clone {
    let n = items as usize;
    prop_oneof![
        proptest::sample::select(vec![0, 1, 2, n.saturating_sub(1), n, n + 1]).prop_map(Some),
        Just(None),
    ]
}

/// Scenarios for `produce`, each with the patiences and rooms for which the
/// test can tell, with [`MARGIN`] to spare, what must happen.
fn offer_cases() -> impl Strategy<Value = OfferCase> {
    let gone = oracle::draw::count(20).prop_flat_map(|items| {
        (Just(items), any_room(items), any_patience()).prop_map(|(items, room, patience)| {
            OfferCase {
                items,
                room,
                patience,
                taker: Taker::Gone,
            }
        })
    });
    // A queue that stays full costs a patience per item that does not fit.
    // A queue that stays full costs a patience per item that does not fit:
    // up to four of them, or twenty with a patience of zero (which costs none).
    let never = prop_oneof![
        (Just(Duration::ZERO), Just(20u64)),
        ((1u64..20).prop_map(ms), Just(4u64)),
        ((50u64..=100).prop_map(ms), Just(4u64)),
    ]
    .prop_flat_map(|(patience, over)| {
        (0usize..=4).prop_flat_map(move |room| {
            let room_or_none = prop_oneof![3 => Just(Some(room)), 1 => Just(None)];
            (0..=room as u64 + over, room_or_none).prop_map(move |(items, room)| OfferCase {
                items,
                room,
                patience,
                taker: Taker::Never,
            })
        })
    });
    let ready = oracle::draw::count(20).prop_flat_map(|items| {
        (any_room(items), any_patience()).prop_map(move |(room, patience)| {
            // A zero or short patience may find a full queue for a moment.
            let no_wait = room.is_none_or(|room| room as u64 >= items);
            OfferCase {
                items,
                room,
                patience: if no_wait || patience >= MARGIN + MARGIN / 2 {
                    patience
                } else {
                    patience + MARGIN + MARGIN / 2
                },
                taker: Taker::Ready,
            }
        })
    });
    let slow = (0u64..=8, 5u64..=25).prop_flat_map(|(items, pause)| {
        let patience = prop_oneof![(pause + 150..pause + 250).prop_map(ms), no_limit()];
        (any_room(items), patience).prop_map(move |(room, patience)| OfferCase {
            items,
            room,
            patience,
            taker: Taker::Slow(ms(pause)),
        })
    });
    let leaves = (0u64..=20).prop_flat_map(|items| {
        let patience = prop_oneof![Just(Duration::from_secs(1)), no_limit()];
        (Just(items), 0..=items, any_room(items), patience).prop_map(
            |(items, taken, room, patience)| OfferCase {
                items,
                room,
                patience,
                taker: Taker::LeavesAfter(taken),
            },
        )
    });
    // A patience of zero: the consumer comes [`LATE_FOR_NO_PATIENCE`] after
    // the queue is full, long after every later item was refused.
    // Mostly one item left when the consumer comes: it takes what waits in
    // the queue at once, so when produce() is done there is room — for an
    // item offered again out of order, too.
    let late = (
        1usize..=3,
        0u32..=1,
        prop_oneof![3 => Just(1u64), 1 => 2u64..=3],
        prop_oneof![3 => (200u64..=260).prop_map(ms), 1 => Just(Duration::ZERO)],
    )
        .prop_map(|(room, patiences, more, patience)| OfferCase {
            items: room as u64 + u64::from(patiences) + more,
            room: Some(room),
            patience,
            taker: Taker::Late(patiences),
        });
    let late_and_leaves = late_and_leaves_cases();
    prop_oneof![
        gone.boxed(),
        never.boxed(),
        ready.boxed(),
        slow.boxed(),
        leaves.boxed(),
        late.boxed(),
        late_and_leaves.boxed()
    ]
}

/// Late, then gone: items refused on a full queue, then some delivered, then
/// the rest refused because nobody is left — always at least one item after
/// the consumer has gone.
fn late_and_leaves_cases() -> impl Strategy<Value = OfferCase> {
    (
        1usize..=3,
        1u32..=2,
        prop_oneof![3 => (200u64..=260).prop_map(ms), 1 => Just(Duration::ZERO)],
    )
        .prop_flat_map(|(room, patiences, patience)| {
            (0..=room as u64, 1u64..=3).prop_map(move |(count, after)| OfferCase {
                items: room as u64 + u64::from(patiences) + count + after,
                room: Some(room),
                patience,
                taker: Taker::LateAndLeaves(patiences, count),
            })
        })
}

/// What one producer scenario showed: what `produce` returned, how long it
/// took, what the consumer took, what was left in the queue, and when the
/// consumer left (if it did).
struct Offered {
    delivery: Delivery,
    took: Duration,
    returned: Instant,
    taken: Vec<u64>,
    left: Vec<u64>,
    left_at: Option<Instant>,
}

/// Runs one producer scenario under the watchdog.
fn offer(case: &OfferCase) -> Result<Offered, String> {
    let (queue, inbox) = match case.room {
        Some(room) => bounded(room),
        None => unbounded(),
    };
    let patience = case.patience;
    let kept = inbox.clone();
    type Taken = (Vec<u64>, Option<Instant>);
    let taker: Option<thread::JoinHandle<Taken>> = match case.taker {
        Taker::Gone | Taker::Never => {
            drop(inbox);
            None
        }
        Taker::Ready => Some(thread::spawn(move || (inbox.iter().collect(), None))),
        Taker::Slow(pause) => Some(thread::spawn(move || {
            let mut taken = Vec::new();
            loop {
                thread::sleep(pause);
                match inbox.recv() {
                    Ok(item) => taken.push(item),
                    Err(_) => return (taken, None),
                }
            }
        })),
        Taker::LeavesAfter(count) => Some(thread::spawn(move || {
            let taken: Vec<u64> = (0..count)
                .map_while(|_| inbox.recv_timeout(BUDGET).ok())
                .collect();
            drop(inbox);
            (taken, Some(Instant::now()))
        })),
        Taker::Late(patiences) => Some(thread::spawn(move || {
            if wait_for(|| inbox.is_full()) {
                thread::sleep(late_by(patience, patiences));
            }
            (inbox.iter().collect(), None)
        })),
        Taker::LateAndLeaves(patiences, count) => Some(thread::spawn(move || {
            if wait_for(|| inbox.is_full()) {
                thread::sleep(late_by(patience, patiences));
            }
            let taken: Vec<u64> = (0..count)
                .map_while(|_| inbox.recv_timeout(BUDGET).ok())
                .collect();
            drop(inbox);
            (taken, Some(Instant::now()))
        })),
    };
    // The test keeps a Receiver only where the consumer is meant to stay.
    let kept = (case.taker == Taker::Never).then_some(kept);
    let items = case.items;
    let what = case.describe();
    let result = {
        let what = what.clone();
        finishes(&what.clone(), PATIENCE_HINT, move || {
            let started = Instant::now();
            let delivery = outcome(&what, || produce(&queue, items, patience));
            let returned = Instant::now();
            drop(queue); // closes the queue: a consumer still taking stops
            (delivery, returned - started, returned)
        })
    };
    let (taken, left_at) = match taker {
        Some(taker) => join_all(vec![taker], "consumer", "the queue was never closed")
            .pop()
            .expect("one consumer"),
        None => (Vec::new(), None),
    };
    let (delivery, took, returned) = result;
    Ok(Offered {
        delivery: delivery?,
        took,
        returned,
        taken,
        left: kept
            .map(|kept| kept.try_iter().collect())
            .unwrap_or_default(),
        left_at,
    })
}

/// Runs one producer scenario and checks its accounting: every item offered,
/// in order, and found in exactly one of the two lists; delivered exactly
/// what the queue took; refused exactly what the scenario leaves no room for
/// — and a refusal that needed no waiting came at once.
fn offer_scenario(case: &OfferCase) -> Result<(), String> {
    let seen = offer(case)?;
    let what = case.describe();
    let Delivery { delivered, refused } = &seen.delivery;
    for (list, name) in [(delivered, "delivered"), (refused, "refused")] {
        if list.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(format!(
                "{what}: {name} is {}, not in the order the items were offered (0, 1, 2, …), or \
                 with an item twice: an item is offered once, and lands in one list",
                preview(list)
            ));
        }
    }
    let mut both: Vec<u64> = delivered.iter().chain(refused).copied().collect();
    both.sort_unstable();
    check_sequence(
        &(0..case.items).collect::<Vec<_>>(),
        &both,
        &format!(
            "{what}: delivered + refused — every item offered, each in exactly one list (an item \
             in neither was dropped in silence or never offered; one in both was offered twice)"
        ),
    )?;
    let items = case.items;
    let fit = case.fit();
    let (expected_delivered, expected_refused): (Vec<u64>, Vec<u64>) = match case.taker {
        Taker::Gone => (vec![], (0..items).collect()),
        Taker::Never => ((0..fit).collect(), (fit..items).collect()),
        Taker::Ready | Taker::Slow(_) => ((0..items).collect(), vec![]),
        Taker::LeavesAfter(count) => {
            // The consumer took `count` and the queue held what fitted beside
            // them: a prefix got in, the rest came after it left.
            let got_in = delivered.len() as u64;
            let most = case
                .room
                .map_or(items, |room| (count + room as u64).min(items));
            if got_in < count.min(items) || got_in > most {
                return Err(format!(
                    "{what}: delivered {}; the consumer took {count} and the queue holds {}, so \
                     {} to {most} items can have got in",
                    preview(delivered),
                    case.room
                        .map_or("any number".to_string(), |room| room.to_string()),
                    count.min(items)
                ));
            }
            ((0..got_in).collect(), (got_in..items).collect())
        }
        Taker::Late(patiences) => {
            // Item `fit` waits a patience, then the next, …: `patiences` of
            // them are refused before the consumer comes and makes room. With
            // a patience of zero, all of them.
            let skipped = if case.patience.is_zero() {
                fit..items
            } else {
                fit..fit + u64::from(patiences)
            };
            (
                (0..items).filter(|item| !skipped.contains(item)).collect(),
                skipped.collect(),
            )
        }
        Taker::LateAndLeaves(patiences, count) => {
            // As with Late until the consumer comes; each item it takes makes
            // room for one more, and once it has left every later item is
            // refused: those that fitted, then a run that got in, then none.
            let skipped_to = if case.patience.is_zero() {
                items
            } else {
                fit + u64::from(patiences)
            };
            let got_in = (delivered.len() as u64).saturating_sub(fit);
            if (delivered.len() as u64) < fit || got_in > count {
                return Err(format!(
                    "{what}: delivered {}; the queue holds {fit} and the consumer made room for \
                     {count} more before leaving, so {fit} to {} items can have got in",
                    preview(delivered),
                    fit + count
                ));
            }
            let late = skipped_to..skipped_to + got_in;
            (
                (0..fit).chain(late.clone()).collect(),
                (fit..items).filter(|item| !late.contains(item)).collect(),
            )
        }
    };
    let why = match case.taker {
        Taker::Gone => {
            "with no consumer left, every item is refused — SendTimeoutError::Disconnected hands \
             each one back, at once"
        }
        Taker::Never => {
            "the items that fit are delivered; every later one waits its patience on the full \
             queue and is refused — not dropped, not delivered"
        }
        Taker::Ready | Taker::Slow(_) => {
            "the consumer made room for every item within its patience: each item waits for room \
             with send_timeout(item, patience) — not try_send, not a wait of your own choosing, \
             and Duration::MAX waits as long as it takes"
        }
        Taker::LeavesAfter(_) => {
            "once the consumer has left, every later item is refused at once — and still offered \
             and reported, not dropped"
        }
        Taker::Late(_) => {
            "each item gets a patience of its own, starting when it is offered: the items that \
             waited a whole patience before the consumer came are refused, every later one is \
             delivered — not one deadline for all, no second try, no giving up on the rest"
        }
        Taker::LateAndLeaves(..) => {
            "the items that waited a whole patience on the full queue are refused; those the \
             consumer made room for are delivered; once it has left, every later item is \
             refused — each item once, in one list, whatever happened to the ones before it \
             (an item's place in a list is not a count of the other list)"
        }
    };
    check_sequence(
        &expected_delivered,
        delivered,
        &format!("{what}: delivered — {why}"),
    )?;
    check_sequence(
        &expected_refused,
        refused,
        &format!("{what}: refused — {why}"),
    )?;
    // What the consumer took, then what was left in the queue: what was delivered.
    match case.taker {
        Taker::Never => check_sequence(
            delivered,
            &seen.left,
            &format!("{what}: the queue's contents after produce() (what it says it delivered)"),
        )?,
        Taker::Ready | Taker::Slow(_) | Taker::Late(_) => check_sequence(
            delivered,
            &seen.taken,
            &format!("{what}: what the consumer took (what produce() says it delivered)"),
        )?,
        Taker::LeavesAfter(count) => check_sequence(
            &(0..count.min(items)).collect::<Vec<_>>(),
            &seen.taken,
            &format!("{what}: what the consumer took before leaving"),
        )?,
        Taker::LateAndLeaves(_, count) => check_sequence(
            &delivered[..(count as usize).min(delivered.len())],
            &seen.taken,
            &format!("{what}: what the consumer took before leaving (the first it delivered)"),
        )?,
        Taker::Gone => {}
    }
    let waits = (items - fit) as u32;
    match case.taker {
        Taker::Gone if seen.took >= OVERRUN => Err(format!(
            "{what} took {:?}: nobody will ever take these items, so there is nothing to wait \
             for — {GONE_HINT}",
            seen.took
        )),
        Taker::Never if seen.took < case.patience * waits => Err(format!(
            "{what}: {waits} items found the queue full and were refused after {:?} in all, \
             before each had waited its patience of {:?}: each item waits its own patience, \
             whatever happened to the one before",
            seen.took, case.patience
        )),
        // Up to ten scenarios run at once, so a thread may wait its turn for
        // a core more than once: two overruns, not one.
        Taker::Never
            if seen.took
                >= case.patience * waits + 2 * OVERRUN + case.patience.min(ms(25)) * waits =>
        {
            Err(format!(
                "{what}: {waits} items found the queue full; each may wait {:?} at most, yet \
             produce() took {:?}: wait `patience` once per item — not a fixed time, not a \
             second try",
                case.patience, seen.took
            ))
        }
        Taker::LeavesAfter(_) | Taker::LateAndLeaves(..) => match seen.left_at {
            Some(left_at) if seen.returned.saturating_duration_since(left_at) >= OVERRUN => {
                Err(format!(
                    "{what}: produce() went on for {:?} after the consumer had left: once no \
                     consumer is left, send_timeout fails at once — {GONE_HINT}",
                    seen.returned.saturating_duration_since(left_at)
                ))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The chapter's section "Idle consumers".
mod s1_idle_consumers {
    use super::*;

    #[test]
    fn an_idle_consumer_leaves_once_its_idle_limit_is_up() {
        // Longer than OVERRUN, the slack a busy machine gets: twice the limit
        // (a timeout "confirmed" by a second wait) is past the bound.
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
            queue // kept by the finished thread's handle: the queue stays open, idle not closed
        });
        // Start the consumer once the producer is under way (a busy machine can
        // be slow to start a thread), so the gaps are the producer's 40 ms.
        wait_until("the producer's first item", || !inbox.is_empty());
        let (done, exit) = finishes("consume() with items 40 ms apart", IDLE_HINT, move || {
            consume(&inbox, ms(200), &ignore)
        });
        let _open = join_all(vec![producer], "producer", "it sleeps 280 ms in all");
        assert_sequence(
            &(0..8).collect::<Vec<_>>(),
            &done,
            "the consumer gave up while items were still coming every 40 ms: the idle limit counts \
         from the last item, not from the start, and not all waits added up",
        );
        assert_eq!(
            exit,
            Exit::Idle,
            "the queue stayed open after the last item: the consumer left because it was idle \
             for its 200 ms"
        );
    }

    #[test]
    fn time_spent_processing_is_not_idle_time() {
        // Item 0 takes 200 ms to process, more than the 170 ms idle limit. Item 1
        // is sent 270 ms after processing began: 70 ms into the consumer's wait,
        // well within its idle limit, which starts when the waiting does.
        let (queue, inbox) = unbounded();
        queue.send(0).unwrap();
        let (began, processing) = bounded::<()>(1);
        let late = queue.clone();
        let sender = thread::spawn(move || {
            if processing.recv_timeout(BUDGET).is_ok() {
                thread::sleep(ms(270));
                let _ = late.send(1);
            }
        });
        let (done, exit) = finishes(
            "consume(idle 170 ms) with a 200 ms item, then one more",
            IDLE_HINT,
            move || {
                consume(&inbox, ms(170), &|item| {
                    if item == 0 {
                        let _ = began.try_send(());
                        thread::sleep(ms(200));
                    }
                })
            },
        );
        join_all(vec![sender], "sender", "it sleeps 270 ms");
        drop(queue);
        assert_sequence(
            &[0, 1],
            &done,
            "the consumer left before item 1, which came 70 ms into its wait: the idle clock starts \
         when the consumer starts waiting — after processing, not when it took the item before",
        );
        assert_eq!(exit, Exit::Idle);
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
    fn a_consumer_that_leaves_takes_nothing_it_does_not_return() {
        // A producer sends into an open queue with uneven little gaps while a
        // consumer with an idle limit of zero takes what is there and leaves
        // the moment it finds the queue empty — so items arrive just as it
        // stops, over and over. Whatever it does on its way out, every item
        // is either among those it returns, in order, or still in the queue.
        const TRIALS: u64 = 400;
        const ITEMS: u64 = 200;
        // As many trials as fit in half a second (at least 20): a busy
        // machine gets through fewer, and the watchdog's budget stays far off.
        let racing = Duration::from_millis(500);
        let lost = finishes(
            &format!("{TRIALS} zero-idle consumers, each beside a producer that keeps sending"),
            IDLE_HINT,
            move || {
                let began = Instant::now();
                for trial in 0..TRIALS {
                    if trial >= 20 && began.elapsed() > racing {
                        break;
                    }
                    let (queue, inbox) = unbounded::<u64>();
                    let producer = thread::spawn(move || {
                        for item in 0..ITEMS {
                            for _ in 0..(item * 7 + trial) % 13 * 20 {
                                std::hint::spin_loop();
                            }
                            queue.send(item).expect("the test holds the receiver");
                        }
                        queue // the queue stays open: the consumer leaves as idle
                    });
                    let (done, _exit) = consume(&inbox, Duration::ZERO, &ignore);
                    let _open = join_finished(producer);
                    let left: Vec<u64> = inbox.try_iter().collect();
                    let accounted: Vec<u64> = done.iter().chain(&left).copied().collect();
                    if accounted != (0..ITEMS).collect::<Vec<_>>() {
                        return Some((trial, done, left));
                    }
                }
                None
            },
        );
        if let Some((trial, done, left)) = lost {
            panic!(
                "trial {trial}: {ITEMS} items were sent into an open queue while consume(idle \
                 zero) ran; it returned {} and left {} in the queue — together they should be \
                 0..{ITEMS}, each once, in order. An item was taken off the queue and neither \
                 processed nor returned: once the wait ends, do not take another item to find \
                 out why (a try_recv() that finds one drops it) — the error recv_timeout \
                 returned already says Timeout or Disconnected",
                preview(&done),
                preview(&left)
            );
        }
    }

    #[test]
    fn an_idle_limit_of_duration_max_never_gives_up() {
        // Duration::MAX cannot be added to a clock reading (Instant::now() + MAX
        // panics); recv_timeout knows that and simply waits.
        let (queue, inbox) = unbounded();
        let sender = thread::spawn(move || {
            for item in 0..3 {
                thread::sleep(ms(60));
                let _ = queue.send(item);
            }
        });
        let (done, exit) = finishes(
            "consume(idle Duration::MAX) with 3 items 60 ms apart, then a close",
            IDLE_HINT,
            move || consume(&inbox, Duration::MAX, &ignore),
        );
        join_all(vec![sender], "sender", "it sleeps 180 ms");
        assert_eq!(
            (done, exit),
            (vec![0, 1, 2], Exit::Closed),
            "with no idle limit the consumer takes every item and leaves only when the queue closes"
        );
    }

    #[test]
    fn every_item_comes_out_and_the_consumer_leaves_for_the_right_reason() {
        // Drawn scenarios, 15 to 20 of them at once: idle limits from zero to a few
        // hundred milliseconds, an hour and Duration::MAX; items already queued
        // or sent while the consumer waits (well within its limit); processing
        // that takes longer than the limit; a close at the end, or an open queue
        // the consumer must leave because it waited its limit — no less, and
        // not much more.
        oracle::check(
            1,
            proptest::collection::vec(idle_cases(), 15..=20),
            |batch| all_at_once(batch, idle_scenario),
        );
    }

    #[test]
    fn a_panic_in_process_comes_back_out_of_consume() {
        // `process` panics on one item: consume() must not carry on as if that
        // item had been processed.
        let cases = (1u64..=6).prop_flat_map(|items| (Just(items), 0..items));
        oracle::check(4, cases, |(items, panics_at)| {
            let (queue, inbox) = unbounded();
            for item in 0..items {
                queue.send(item).expect("the test holds the receiver");
            }
            drop(queue);
            let fired = Log::new();
            let process = {
                let fired = fired.clone();
                move |item: u64| {
                    if item == panics_at {
                        fired.push(item);
                        adversary::injected_panic(&format!("process({item})"));
                    }
                }
            };
            let result = finishes(
                &format!("consume() of {items} items, `process` panicking at item {panics_at}"),
                IDLE_HINT,
                move || {
                    panic::catch_unwind(AssertUnwindSafe(|| {
                        consume(&inbox, Duration::from_secs(1), &process)
                    }))
                },
            );
            match result {
                // The call's own panic (a todo!() included) before `process` ran.
                Err(payload) if fired.is_empty() => panic::resume_unwind(payload),
                Err(_) => Ok(()),
                Ok((done, exit)) => Err(format!(
                    "`process` panicked on item {panics_at}, yet consume() returned {} and {exit:?} \
                 as if nothing had happened: that item was lost in silence. Let the panic go \
                 on up (no catch_unwind around `process`)",
                    preview(&done)
                )),
            }
        });
    }
}

/// The chapter's section "Impatient producers".
mod s2_impatient_producers {
    use super::*;

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
            move || produce(&queue, 5, ms(60)),
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
            took >= ms(180),
            "3 refused items took {took:?}: each item waits its own 60 ms patience before it is \
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
            "produce(2 items, patience 200 ms) into room for 1",
            PATIENCE_HINT,
            move || produce(&queue, 2, ms(200)),
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
            took >= ms(200),
            "item 1 was refused after {took:?}, before its 200 ms patience was up"
        );
        assert!(
            took < ms(450),
            "item 1 waited {took:?} with a patience of 200 ms: wait `patience` once — not a fixed \
         time, not a second try"
        );
    }

    #[test]
    fn after_a_refusal_the_next_item_gets_its_own_patience() {
        // Room for 1; nobody takes anything until 300 ms, then a taker takes
        // everything. Item 0 fits, item 1 is refused at 200 ms, item 2 waits from
        // 200 ms and gets in at 300, item 3 follows.
        let (queue, inbox) = bounded(1);
        let taker = thread::spawn(move || {
            // From the moment item 0 is in — produce() is under way.
            if wait_for(|| inbox.is_full()) {
                thread::sleep(ms(300));
            }
            inbox.iter().collect::<Vec<u64>>()
        });
        let delivery = finishes(
            "produce(4 items, patience 200 ms) into room for 1, a taker from 300 ms on",
            PATIENCE_HINT,
            move || produce(&queue, 4, ms(200)),
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
    fn producers_racing_for_the_last_slot_each_wait_no_longer_than_their_patience() {
        // Two producers offer one item each, at the same moment, to a fresh
        // queue with room for one that nobody empties: one item gets the
        // slot, the other must be refused after its patience. Room seen a
        // moment ago may be gone by the time the item is sent — a thousand
        // times over, some of the races land in between. The two producer
        // threads are reused from race to race, so the races are quick.
        const RACES: usize = 1_000;
        let patience = Duration::from_micros(200);
        // It keeps both cores busy: not beside a test that times its waits.
        let _section = TimingSection::enter();
        let outcome = finishes_within(
            BUDGET * 2,
            &format!("{RACES} races of two produce(1 item, patience 200 µs) for one slot"),
            "close() and the test are not involved here: a producer did not come back",
            move || race_for_the_last_slot(RACES, patience),
        );
        if let Err(message) = outcome {
            panic!("{message}");
        }
    }

    #[test]
    fn room_that_comes_and_goes_is_waited_for_not_taken_for_granted() {
        // A queue with room for one, and a consumer that takes each of the
        // producer's items the moment it lands and at once puts an item of its
        // own in the room it just made (which it takes back next, so the
        // producer gets its turn): room is there one moment and gone the
        // next. With a patience of Duration::MAX no item may be refused —
        // whatever a look at len() or is_full() said, the send itself must
        // wait. Rounds of ITEMS go on for a tenth of a second, and for at
        // least 20 rounds within a second where a busy machine fits fewer (a
        // look-then-send loses within a round or two once the race lands).
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        const ITEMS: u64 = 100;
        const OTHER: u64 = u64::MAX;
        // It keeps both cores busy: not beside a test that times its waits.
        let _section = TimingSection::enter();
        let (queue, inbox) = bounded(1);
        let over = Arc::new(AtomicBool::new(false));
        let consumer = {
            let (queue, over) = (queue.clone(), Arc::clone(&over));
            thread::spawn(move || {
                let mut taken = Vec::new();
                while !over.load(Ordering::Acquire) || !inbox.is_empty() {
                    match inbox.try_recv() {
                        Ok(OTHER) => {}
                        Ok(item) => {
                            taken.push(item);
                            let _ = queue.try_send(OTHER);
                        }
                        Err(_) => std::hint::spin_loop(),
                    }
                }
                taken
            })
        };
        let deliveries = finishes(
            &format!(
                "rounds of produce({ITEMS} items, patience Duration::MAX) into room for 1 that \
                 the consumer keeps emptying and filling"
            ),
            PATIENCE_HINT,
            move || {
                let began = Instant::now();
                let mut deliveries = Vec::new();
                // A tenth of a second, or 20 rounds on a busy machine where
                // fewer fit (at most a second): the race needs rounds to land.
                while began.elapsed() < Duration::from_millis(100)
                    || (deliveries.len() < 20 && began.elapsed() < Duration::from_secs(1))
                {
                    let delivery = produce(&queue, ITEMS, Duration::MAX);
                    let refused = !delivery.refused.is_empty();
                    deliveries.push(delivery);
                    if refused {
                        break;
                    }
                }
                deliveries
            },
        );
        over.store(true, Ordering::Release);
        let taken = join_finished(consumer);
        let rounds = deliveries.len();
        let delivery = deliveries.last().cloned().unwrap_or_default();
        assert!(
            delivery.refused.is_empty(),
            "produce({ITEMS} items, patience Duration::MAX) into room for 1 that the consumer \
             keeps emptying and filling refused {} item(s) ({}): with no limit on the patience \
             nothing is ever refused. Room seen a moment ago may be gone by the time the item is \
             sent — another sender took it: send_timeout(item, patience) \
             takes the room and waits for it in one step; a look at len() or is_full() followed \
             by try_send gives up at once",
            delivery.refused.len(),
            lesson_support::preview(&delivery.refused)
        );
        assert_sequence(
            &(0..ITEMS).collect::<Vec<_>>(),
            &delivery.delivered,
            "delivered (every item, in order)",
        );
        let all: Vec<u64> = (0..rounds as u64).flat_map(|_| 0..ITEMS).collect();
        assert_sequence(
            &all,
            &taken,
            &format!("what the consumer took of the producer's items, {rounds} rounds"),
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

    #[test]
    fn a_late_consumer_at_every_room_and_patience() {
        // Not left to a draw: a consumer that comes once the queue is full,
        // for every room from one to three, no patience or a fifth of a
        // second, refusals before it comes or none, and one or three items
        // after — all at once, in one batch. Items are delivered in the order
        // offered, each in one list.
        let mut cases = Vec::new();
        for room in 1usize..=3 {
            for patience in [Duration::ZERO, ms(200)] {
                for patiences in [0u32, 1] {
                    for more in [1u64, 3] {
                        cases.push(OfferCase {
                            items: room as u64 + u64::from(patiences) + more,
                            room: Some(room),
                            patience,
                            taker: Taker::Late(patiences),
                        });
                    }
                }
            }
        }
        if let Err(message) = all_at_once(cases, offer_scenario) {
            panic!("{message}");
        }
    }

    #[test]
    fn a_full_queue_then_no_consumer_each_refusal_counted_once() {
        // Both kinds of refusal in one run: items wait out their patience on a
        // full queue, the consumer comes, takes a few and leaves, and every
        // item after that is refused at once. Each item lands in one list.
        oracle::check(
            1,
            proptest::collection::vec(late_and_leaves_cases(), 5..=8),
            |batch| all_at_once(batch, offer_scenario),
        );
    }

    #[test]
    fn every_item_is_delivered_or_refused_as_the_consumer_allows() {
        // Drawn scenarios, 15 to 20 of them at once: 0 to 20 items; a queue with no room
        // (a rendezvous), a little, as much as the items or unbounded; patiences
        // of zero, milliseconds, a second, an hour and Duration::MAX; a consumer
        // that is gone, never takes, takes at once, takes slowly, leaves
        // half-way, or comes late. Every item is offered once and lands in one
        // list, in order; the lists are what the consumer allowed.
        oracle::check(
            1,
            proptest::collection::vec(offer_cases(), 15..=20),
            |batch| all_at_once(batch, offer_scenario),
        );
    }
}

/// The chapter's section "How the tests see polling".
mod s3_how_the_tests_see_polling {
    use super::*;

    /// How often the process may go to sleep while a blocked wait lasts,
    /// counting the test's own waiting (a blocked wait sleeps once, and the
    /// watchdog beside it may start its own wait after the count began).
    const SLEEPS_ALLOWED: u64 = 4;

    /// How often its threads may leave their cores for any reason — asleep
    /// or pre-empted — while a blocked wait lasts. More than the sleeps: on a
    /// busy machine a wait that is about to block yields its core a few times
    /// first (crossbeam backs off before it parks), and waking up may be
    /// pre-empted too. A loop of short waits leaves its core at least once a
    /// slice — 80 times in 800 ms of 10 ms slices.
    const SWITCHES_ALLOWED: u64 = 24;

    /// How long the consumer waits for nothing while its sleeps are counted.
    const IDLE_COUNTED: Duration = Duration::from_millis(800);

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
            while started.elapsed() < ms(300) {
                std::hint::spin_loop();
            }
            thread_cpu_time().expect("checked above") - before
        });
        let (queue, inbox) = unbounded::<u64>();
        let (exit, cpu) = finishes("consume() idling for 300 ms", IDLE_HINT, move || {
            let before = thread_cpu_time().expect("checked above");
            let (_, exit) = consume(&inbox, ms(300), &ignore);
            (exit, thread_cpu_time().expect("checked above") - before)
        });
        drop(queue);
        let spun = join_all(vec![spinner], "spinner", "it spins 300 ms")
            .pop()
            .expect("one spinner");
        assert_eq!(exit, Exit::Idle);
        // (At least 80 ms: Windows counts CPU time in ticks of 15.6 ms, and a
        // blocked consumer may be charged one.)
        assert!(
            cpu * 4 < spun.max(ms(80)),
            "the consumer burnt {cpu:?} of CPU while waiting 300 ms for nothing — a thread spinning \
         beside it got {spun:?}: it spins (try_recv in a loop) instead of blocking in \
         recv_timeout"
        );
    }

    #[test]
    fn waiting_sleeps_once_instead_of_looking_again_and_again() {
        const TEST: &str =
            "s3_how_the_tests_see_polling::waiting_sleeps_once_instead_of_looking_again_and_again";
        if times_switched_out().is_none() {
            return skipped("how often a waiting consumer sleeps (no count of sleeps)");
        }
        if !in_a_process_of_its_own(TEST) {
            return;
        }
        // Does this platform count a sleep at all? (macOS and Linux do.)
        let before = times_switched_out().expect("checked above");
        thread::sleep(ms(20));
        if times_switched_out().expect("checked above") == before {
            return skipped("how often a waiting consumer sleeps (sleeps are not counted here)");
        }
        // Every time a thread of this process leaves its core counts: a short
        // wait that parks (mostly, on a quiet machine), and one pre-empted
        // before its time is up that never parks (on a busy one) alike.
        let (queue, inbox) = unbounded::<u64>();
        let (exit, slept, switched) = finishes(
            &format!("consume() idling for {IDLE_COUNTED:?}"),
            IDLE_HINT,
            move || {
                let before = (times_slept(), times_switched_out());
                let (_, exit) = consume(&inbox, IDLE_COUNTED, &ignore);
                let after = (times_slept(), times_switched_out());
                let count = |before: Option<u64>, after: Option<u64>| {
                    after.expect("checked above") - before.expect("checked above")
                };
                (exit, count(before.0, after.0), count(before.1, after.1))
            },
        );
        drop(queue);
        println!(
            "measured alone: {slept} sleeps and {} pre-emptions in {IDLE_COUNTED:?} of waiting",
            switched - slept
        );
        assert_eq!(exit, Exit::Idle);
        assert!(
            slept <= SLEEPS_ALLOWED && switched <= SWITCHES_ALLOWED,
            "waiting {IDLE_COUNTED:?} for an item that never came, the consumer went to sleep \
             {slept} times and was taken off its core {} times more: it looks, naps and looks \
             again (try_recv and a sleep, or recv_timeout with a short timeout, in a loop). A \
             blocked recv_timeout(idle) sleeps once and is woken the moment an item comes.",
            switched - slept
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
}

/// Every wait with no limit meets a peer that goes quiet for [`STALL`] (a few
/// seconds — longer than any timeout added "so it can never hang"); all at
/// once, so the lesson pays for one stall. An idle limit of Duration::MAX or
/// of ten seconds, a patience of Duration::MAX or of ten seconds: each lasts
/// through the stall.
///
/// Named to run first (libtest starts tests in the order of their names):
/// this lesson's other tests spend their time waiting too, and they wait
/// beside the stall instead of after it — about a second less for
/// `cargo test`. (Other lessons' `stall` modules run last.)
mod long_stall {
    use super::*;

    const HINT: &str = "a limit of Duration::MAX, or of ten seconds, lasts that long: a timeout \
        of your own (recv_timeout of a second or two, a retry count, a limit clamped to a few \
        seconds) gives up on a peer that is only slow";

    /// A consumer with idle limit `idle`, whose producer sends item 0, goes
    /// quiet for [`STALL`], then sends item 1 and closes the queue.
    fn quiet_producer(idle: Duration) {
        let (queue, inbox) = unbounded();
        let producer = thread::spawn(move || {
            let _ = queue.send(0);
            thread::sleep(STALL);
            let _ = queue.send(1);
        });
        let (done, exit) = finishes_within(
            STALL_BUDGET,
            &format!("consume(idle {})", show(idle)),
            HINT,
            move || consume(&inbox, idle, &ignore),
        );
        join_finished(producer);
        assert_eq!(
            (done, exit),
            (vec![0, 1], Exit::Closed),
            "consume(idle {}): the producer sent item 0, went quiet for {STALL:?}, then sent item \
             1 and closed the queue — {HINT}",
            show(idle)
        );
    }

    /// A producer with patience `patience` and room for one, whose consumer
    /// comes only [`STALL`] after the queue is full, then takes everything.
    fn slow_consumer(patience: Duration) {
        let (queue, inbox) = bounded(1);
        let consumer = thread::spawn(move || {
            if wait_for(|| inbox.is_full()) {
                thread::sleep(STALL);
            }
            inbox.iter().collect::<Vec<u64>>()
        });
        let delivery = finishes_within(
            STALL_BUDGET,
            &format!("produce(3 items, patience {})", show(patience)),
            HINT,
            move || produce(&queue, 3, patience),
        );
        let taken = join_all(vec![consumer], "consumer", "its queue was never closed")
            .pop()
            .expect("one consumer");
        assert_eq!(
            delivery,
            Delivery {
                delivered: vec![0, 1, 2],
                refused: vec![]
            },
            "produce(3 items, patience {}) into room for 1: the consumer came {STALL:?} after the \
             queue was full, and every item should have waited for it — {HINT}",
            show(patience)
        );
        assert_sequence(&[0, 1, 2], &taken, "what the consumer took");
    }

    #[test]
    fn every_wait_outlasts_a_long_stall() {
        adversary::concurrently(vec![
            (
                "consume(idle Duration::MAX), whose producer goes quiet",
                Box::new(|| quiet_producer(Duration::MAX)),
            ),
            (
                "consume(idle 10 s), whose producer goes quiet",
                Box::new(|| quiet_producer(Duration::from_secs(10))),
            ),
            (
                "produce(patience Duration::MAX), whose consumer is slow to come",
                Box::new(|| slow_consumer(Duration::MAX)),
            ),
            (
                "produce(patience 10 s), whose consumer is slow to come",
                Box::new(|| slow_consumer(Duration::from_secs(10))),
            ),
        ]);
    }
}

// ------------------------------------------------------------------ helper --

/// Set in a copy of this test binary that runs one test alone.
const ALONE: &str = "LESSON_07_ALONE";

/// Counting sleeps needs a process of its own: `times_switched_out` counts every
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
