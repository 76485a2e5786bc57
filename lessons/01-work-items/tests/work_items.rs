//! Lesson 01 — each test names one behaviour; read the failing one's message.
//!
//! The tests come in the chapter's order (`s1_…` is its first section, "Work
//! items"). Each section has examples, then a property: the same check over
//! many drawn inputs — ids from 0 to `u64::MAX`, durations from a fraction of a
//! microsecond to centuries, counts from 0 past 2³² — against an answer worked
//! out here, not by your code. Each section's tests build their inputs by hand,
//! so a mistake in an earlier section does not fail a later one.

use lesson_01::{SimulationStats, TaskStatus, WorkItem, WorkResult};
use lesson_support::finishes;
use lesson_support::oracle::{self, proptest, proptest::prelude::*};
use serde_json::{Value, json};

/// Runs a call into the lesson under the watchdog: nothing here waits, so a
/// call that does not return at once is a loop that never ends.
#[track_caller]
fn call<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    finishes(
        what,
        "nothing in this lesson waits: look for a loop that never ends",
        work,
    )
}

// ------------------------------------------------ inputs built by the tests --

/// Item `index` as the chapter describes it, built here (not by your
/// `WorkItem::new`), so the later sections do not depend on the first.
fn item_no(index: u64) -> WorkItem {
    WorkItem {
        task_id: padded_id(index),
        payload: index,
    }
}

/// The id the chapter asks for, worked out digit by digit: `task-`, then
/// zeros up to four digits, then the number's own digits, all of them.
fn padded_id(index: u64) -> String {
    let digits = index.to_string();
    let zeros = 4usize.saturating_sub(digits.len());
    format!("task-{}{digits}", "0".repeat(zeros))
}

/// A result as the chapter describes it, built here (not by your constructors).
fn result(index: u64, status: TaskStatus, duration_ms: f64) -> WorkResult {
    WorkResult {
        task_id: padded_id(index),
        status,
        duration_ms,
        worker_id: format!("worker-{}", index % 3),
        error: (status == TaskStatus::Failed).then(|| "disk full".to_string()),
    }
}

fn done(index: u64, duration_ms: f64) -> WorkResult {
    result(index, TaskStatus::Completed, duration_ms)
}

fn broke(index: u64, duration_ms: f64) -> WorkResult {
    result(index, TaskStatus::Failed, duration_ms)
}

/// Statistics after producing items at `depths` and recording `results`.
#[track_caller]
fn stats_after(depths: &[usize], results: &[WorkResult]) -> SimulationStats {
    let (depths, results) = (depths.to_vec(), results.to_vec());
    call("record_produced / record", move || {
        let mut stats = SimulationStats::default();
        for depth in depths {
            stats.record_produced(depth);
        }
        for result in &results {
            stats.record(result);
        }
        stats
    })
}

/// Statistics with these counts, written straight into the fields (the
/// `Statistics` section's code is not involved). Any field you add (chapter
/// 01, "Alter it") starts at its default.
#[allow(clippy::needless_update)]
fn stats(produced: u64, consumed: u64, failed: u64, total: f64, depth: usize) -> SimulationStats {
    SimulationStats {
        produced,
        consumed,
        failed,
        total_processing_ms: total,
        max_queue_depth: depth,
        ..SimulationStats::default()
    }
}

#[track_caller]
fn average(stats: &SimulationStats) -> f64 {
    let stats = stats.clone();
    call("avg_processing_ms", move || stats.avg_processing_ms())
}

#[track_caller]
fn json_of(stats: &SimulationStats) -> Value {
    let stats = stats.clone();
    call("to_json", move || stats.to_json())
}

// ------------------------------------------------------------------ oracles --

/// The average the chapter defines: the completed items' total over their
/// number, in floating point; 0 when none completed.
fn mean(stats: &SimulationStats) -> f64 {
    if stats.consumed == 0 {
        0.0
    } else {
        stats.total_processing_ms / stats.consumed as f64
    }
}

/// Whether `got` is `expected` up to the last bits of an `f64` (another order
/// of the same operations may differ there; nothing a person would see).
fn same_f64(got: f64, expected: f64) -> bool {
    got == expected || (got - expected).abs() <= expected.abs() * 1e-12
}

// --------------------------------------------------------------- the domain --

/// Item numbers: every width of number, each side of 4 digits, past `u32`,
/// up to `u64::MAX`.
fn index() -> impl Strategy<Value = u64> {
    let edges = vec![
        0,
        1,
        9,
        10,
        99,
        100,
        999,
        1_000,
        9_999,
        10_000,
        99_999,
        100_000,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    prop_oneof![proptest::sample::select(edges), 0..20_000u64, any::<u64>(),]
}

/// Durations in milliseconds as a clock gives them: exact zero, fractions of
/// a microsecond, fractions of a millisecond, quarters (10.25), whole
/// milliseconds, seconds to minutes, and centuries.
fn duration_ms() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        Just(0.0),
        1e-9..1e-3f64,
        1e-3..1.0f64,
        (0u32..40_000).prop_map(|quarters| f64::from(quarters) * 0.25),
        (0u32..100_000).prop_map(f64::from),
        oracle::draw::duration().prop_map(|d| d.as_secs_f64() * 1_000.0),
        1.0..1e4f64,
        1e6..1e15f64,
    ]
}

/// Counts: 0, 1, 2, around 2³² and 2⁵³, up to `u64::MAX`, and anything.
fn count() -> impl Strategy<Value = u64> + Clone {
    let edges = vec![
        0,
        1,
        2,
        3,
        7,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        1 << 53,
        (1 << 53) + 1,
        u64::MAX - 1,
        u64::MAX,
    ];
    prop_oneof![
        2 => proptest::sample::select(edges),
        2 => 0..1_000u64,
        1 => any::<u64>(),
    ]
}

/// Queue depths: 0, 1, small, huge, `usize::MAX`.
fn depth() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![
        proptest::sample::select(vec![0, 1, 2, 3, u32::MAX as usize, usize::MAX]),
        0..64usize,
        any::<usize>(),
    ]
}

/// Text for ids, worker names and errors: empty, plain, spaces, quotes, any
/// Unicode.
fn text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        Just(String::new()),
        "worker-[0-9]{1,3}",
        "[a-z ]{1,16}",
        "\\PC{0,12}",
    ]
}

/// Statistics as a run leaves them, written straight into the fields: counts
/// from 0 past 2³², more produced than finished, a total that is 0 when
/// nothing completed, and otherwise any fraction.
fn any_stats() -> impl Strategy<Value = SimulationStats> {
    (
        count(),
        count(),
        count(),
        duration_ms(),
        duration_ms(),
        depth(),
    )
        .prop_map(|(consumed, failed, in_flight, total, per_item, depth)| {
            let total = match consumed {
                0 => 0.0,
                // Half the time the total of `consumed` items of `per_item` ms.
                n if in_flight % 2 == 0 => per_item * n as f64,
                _ => total,
            };
            stats(
                consumed.saturating_add(failed).saturating_add(in_flight),
                consumed,
                failed,
                total,
                depth,
            )
        })
}

// --------------------------------------------------------- field by field --

/// The first field in which `got` differs from `expected`, said in the
/// chapter's terms.
fn check_result(call: &str, got: &WorkResult, expected: &WorkResult) -> Result<(), String> {
    if got.task_id != expected.task_id {
        return Err(format!(
            "{call}: task_id is {:?}, expected {:?} — the item's own task_id, copied as it is (not rebuilt \
             from the payload, not trimmed)",
            got.task_id, expected.task_id
        ));
    }
    if got.status != expected.status {
        return Err(format!(
            "{call}: status is {:?}, expected {:?}",
            got.status, expected.status
        ));
    }
    if got.duration_ms.to_bits() != expected.duration_ms.to_bits() {
        return Err(format!(
            "{call}: duration_ms is {:?}, expected {:?} — keep the duration exactly as given, every fraction \
             of a millisecond (no rounding, no whole units)",
            got.duration_ms, expected.duration_ms
        ));
    }
    if got.worker_id != expected.worker_id {
        return Err(format!(
            "{call}: worker_id is {:?}, expected {:?} — the worker named in the call, as it is",
            got.worker_id, expected.worker_id
        ));
    }
    if got.error != expected.error {
        let why = match &expected.error {
            None => "a completed item has no error: None (not Some(\"\"), which JSON would show as \"error\": \"\")"
                .to_string(),
            Some(error) => format!(
                "a failed item keeps its reason exactly as given, Some({error:?}) — even an empty one: the \
                 status says it failed, the error says why"
            ),
        };
        return Err(format!(
            "{call}: error is {:?}, expected {:?} — {why}",
            got.error, expected.error
        ));
    }
    Ok(())
}

/// The JSON value under `key`, or a message that names the missing key and
/// what the object has instead.
fn field<'a>(json: &'a Value, key: &str) -> Result<&'a Value, String> {
    let Some(object) = json.as_object() else {
        return Err(format!(
            "to_json() must return a JSON object with the key \"{key}\"; it returned {json}"
        ));
    };
    object.get(key).ok_or_else(|| {
        let keys: Vec<&String> = object.keys().collect();
        let near: Vec<&&String> = keys
            .iter()
            .filter(|other| {
                key.split('_')
                    .any(|word| word.len() > 2 && other.contains(word))
            })
            .collect();
        let guess = match near.first() {
            Some(other) => format!(" Is {other:?} meant to be it? "),
            None => " ".to_string(),
        };
        format!(
            "to_json() has no key \"{key}\"; the keys it has are {keys:?}.{guess}Scripts read the \
             statistics by name: the key must be spelled exactly \"{key}\", as the doc comment of to_json \
             lists it"
        )
    })
}

/// The whole number under `key`, which must be `expected`.
fn check_count(json: &Value, key: &str, expected: u64, what: &str) -> Result<(), String> {
    let value = field(json, key)?;
    match value.as_u64() {
        Some(got) if got == expected => Ok(()),
        Some(got) => Err(format!(
            "\"{key}\" is {got}, expected {expected}: {what}. The statistics were {}",
            compact(json)
        )),
        None => Err(format!(
            "\"{key}\" is {value}, expected the whole number {expected}: {what} — a count is written as it \
             is (a u64 or usize, not a float, not a string, not cast to a smaller type)"
        )),
    }
}

fn compact(json: &Value) -> String {
    lesson_support::shorten(&json.to_string(), 300)
}

/// Applies `check` to `to_json()` of every drawn statistics.
#[track_caller]
fn json_property(cases: u32, check: impl Fn(&SimulationStats, &Value) -> Result<(), String>) {
    oracle::check(cases, any_stats(), |stats| {
        let json = json_of(&stats);
        check(&stats, &json)
    });
}

/// The chapter's section "Work items".
mod s1_work_items {
    use super::*;

    #[track_caller]
    fn item(index: u64) -> WorkItem {
        call("WorkItem::new", move || WorkItem::new(index))
    }

    #[test]
    fn task_ids_are_padded_to_four_digits() {
        assert_eq!(
            item(7).task_id,
            "task-0007",
            "ids pad to four digits with zeros, so they sort as text"
        );
        assert_eq!(item(123).task_id, "task-0123");
        assert_eq!(item(0).task_id, "task-0000");
        assert_eq!(
            item(12_345).task_id,
            "task-12345",
            "longer numbers are not cut"
        );
        assert_eq!(item(7).payload, 7, "the payload is the item's number");
    }

    #[test]
    fn every_number_gets_its_padded_id_and_itself_as_payload() {
        oracle::check(256, index(), |index| {
            let got = item(index);
            let expected = padded_id(index);
            if got.task_id != expected {
                return Err(format!(
                    "WorkItem::new({index}).task_id is {:?}, expected {expected:?}: `task-`, then the number \
                     padded with zeros to at least four digits, every digit kept (`{{index:04}}` in format!)",
                    got.task_id
                ));
            }
            if got.payload != index {
                return Err(format!(
                    "WorkItem::new({index}).payload is {}, expected {index}: the payload is the item's number",
                    got.payload
                ));
            }
            Ok(())
        });
    }
}

/// The chapter's section "Results".
mod s2_results {
    use super::*;

    #[track_caller]
    fn completed(index: u64, worker: &'static str, ms: f64) -> WorkResult {
        call("WorkResult::completed", move || {
            WorkResult::completed(&item_no(index), worker, ms)
        })
    }

    #[track_caller]
    fn failed(index: u64, worker: &'static str, ms: f64, error: &'static str) -> WorkResult {
        call("WorkResult::failed", move || {
            WorkResult::failed(&item_no(index), worker, ms, error)
        })
    }

    /// Any item: one numbered as the chapter does, or any id with any payload
    /// (the fields are public; the id need not match the payload).
    fn any_item() -> impl Strategy<Value = WorkItem> {
        prop_oneof![
            index().prop_map(item_no),
            (text(), any::<u64>()).prop_map(|(task_id, payload)| WorkItem { task_id, payload }),
        ]
    }

    #[test]
    fn a_completed_result_has_no_error() {
        let result = completed(3, "worker-2", 12.5);
        let expected = WorkResult {
            task_id: "task-0003".into(),
            status: TaskStatus::Completed,
            duration_ms: 12.5,
            worker_id: "worker-2".into(),
            error: None,
        };
        assert_eq!(
            result, expected,
            "every field from the arguments; a completed item has error None (not Some(\"\"))"
        );
    }

    #[test]
    fn a_failed_result_keeps_its_error() {
        let result = failed(2, "worker-1", 4.25, "disk full");
        let expected = WorkResult {
            task_id: "task-0002".into(),
            status: TaskStatus::Failed,
            duration_ms: 4.25,
            worker_id: "worker-1".into(),
            error: Some("disk full".into()),
        };
        assert_eq!(
            result, expected,
            "a failed result is Failed, keeps its reason — what an operator needs most — and every other field"
        );
    }

    #[test]
    fn completed_keeps_every_argument_exactly() {
        oracle::check(
            256,
            (any_item(), text(), duration_ms()),
            |(item, worker, duration_ms)| {
                let expected = WorkResult {
                    task_id: item.task_id.clone(),
                    status: TaskStatus::Completed,
                    duration_ms,
                    worker_id: worker.clone(),
                    error: None,
                };
                let call_text =
                    format!("WorkResult::completed(&{item:?}, {worker:?}, {duration_ms:?})");
                let got = call("WorkResult::completed", move || {
                    WorkResult::completed(&item, &worker, duration_ms)
                });
                check_result(&call_text, &got, &expected)
            },
        );
    }

    #[test]
    fn failed_keeps_every_argument_and_the_error_exactly() {
        oracle::check(
            256,
            (any_item(), text(), duration_ms(), text()),
            |(item, worker, duration_ms, error)| {
                let expected = WorkResult {
                    task_id: item.task_id.clone(),
                    status: TaskStatus::Failed,
                    duration_ms,
                    worker_id: worker.clone(),
                    error: Some(error.clone()),
                };
                let call_text = format!(
                    "WorkResult::failed(&{item:?}, {worker:?}, {duration_ms:?}, {error:?})"
                );
                let got = call("WorkResult::failed", move || {
                    WorkResult::failed(&item, &worker, duration_ms, &error)
                });
                check_result(&call_text, &got, &expected)
            },
        );
    }

    #[test]
    fn results_serialize_as_the_report_shows_them() {
        assert_eq!(
            serde_json::to_value(failed(2, "worker-1", 4.0, "disk full")).unwrap(),
            json!({"task_id": "task-0002", "status": "failed", "duration_ms": 4.0, "worker_id": "worker-1", "error": "disk full"})
        );
        let ok = serde_json::to_value(completed(1, "worker-0", 1.0)).unwrap();
        assert!(
            ok.get("error").is_none(),
            "a completed result has no \"error\" key: {ok}"
        );
    }
}

/// The chapter's section "Statistics".
mod s3_statistics {
    use super::*;

    #[test]
    fn record_counts_completed_and_failed_apart() {
        let stats = stats_after(&[], &[done(1, 1.0), broke(2, 1.0), done(3, 1.0)]);
        assert_eq!(
            (stats.consumed, stats.failed),
            (2, 1),
            "2 completed and 1 failed were recorded: a failure is not consumed"
        );
        assert_eq!(stats.produced, 0, "record() counts results, not production");
    }

    #[test]
    fn produced_items_raise_the_peak_queue_depth() {
        let stats = stats_after(&[1, 4, 2, 0, 3], &[]);
        assert_eq!(stats.produced, 5, "five record_produced calls");
        assert_eq!(
            stats.max_queue_depth, 4,
            "the depths after each put were 1, 4, 2, 0, 3: keep the peak — not the last depth, not the number produced"
        );
    }

    #[test]
    fn the_total_counts_only_completed_items_to_the_fraction() {
        let stats = stats_after(
            &[],
            &[
                done(1, 10.25),
                broke(2, 1_000.0),
                done(3, 20.5),
                done(4, 13.0),
            ],
        );
        assert_eq!(
            stats.total_processing_ms, 43.75,
            "three items completed in 10.25, 20.5 and 13 ms: the total is theirs alone, to the fraction — the \
             failure's 1000 ms does not count, and nothing is rounded"
        );
    }

    /// One thing that happens in a run.
    #[derive(Debug, Clone)]
    enum Event {
        /// An item was put; the queue then held this many.
        Produced(usize),
        /// A result came back.
        Finished(WorkResult),
    }

    /// Any result: completed or failed, any duration, any names; a failure
    /// with or without a reason (the status says how it ended).
    fn any_result() -> impl Strategy<Value = WorkResult> {
        (
            any::<bool>(),
            index(),
            duration_ms(),
            text(),
            proptest::option::of(text()),
        )
            .prop_map(|(ok, index, duration_ms, worker_id, error)| WorkResult {
                task_id: padded_id(index),
                status: if ok {
                    TaskStatus::Completed
                } else {
                    TaskStatus::Failed
                },
                duration_ms,
                worker_id,
                error: if ok { None } else { error },
            })
    }

    fn events() -> impl Strategy<Value = Vec<Event>> {
        proptest::collection::vec(
            prop_oneof![
                depth().prop_map(Event::Produced),
                any_result().prop_map(Event::Finished),
            ],
            0..24,
        )
    }

    /// What the statistics must be after `events`, worked out here.
    fn model(events: &[Event]) -> SimulationStats {
        let mut expected = SimulationStats::default();
        for event in events {
            match event {
                Event::Produced(depth) => {
                    expected.produced += 1;
                    expected.max_queue_depth = expected.max_queue_depth.max(*depth);
                }
                Event::Finished(result) if result.status == TaskStatus::Completed => {
                    expected.consumed += 1;
                    expected.total_processing_ms += result.duration_ms;
                }
                Event::Finished(_) => expected.failed += 1,
            }
        }
        expected
    }

    fn describe(event: &Event) -> String {
        match event {
            Event::Produced(depth) => format!("record_produced({depth})"),
            Event::Finished(result) => format!(
                "record({:?} after {:?} ms{})",
                result.status,
                result.duration_ms,
                match &result.error {
                    Some(error) => format!(", error {error:?}"),
                    None => String::new(),
                }
            ),
        }
    }

    #[test]
    fn every_field_follows_every_call_in_any_order() {
        oracle::check(160, events(), |events| {
            let replay = events.clone();
            let after_each: Vec<SimulationStats> = call("record_produced / record", move || {
                let mut stats = SimulationStats::default();
                replay
                    .iter()
                    .map(|event| {
                        match event {
                            Event::Produced(depth) => stats.record_produced(*depth),
                            Event::Finished(result) => stats.record(result),
                        }
                        stats.clone()
                    })
                    .collect()
            });
            for (step, got) in after_each.iter().enumerate() {
                let expected = model(&events[..=step]);
                let calls: Vec<String> = events[..=step].iter().map(describe).collect();
                let after = format!("after {}", lesson_support::shorten(&calls.join(", "), 500));
                let wrong = |field: &str, got: String, expected: String, why: &str| {
                    Err(format!(
                        "{after}: {field} is {got}, expected {expected} — {why}"
                    ))
                };
                if got.produced != expected.produced {
                    return wrong(
                        "produced",
                        got.produced.to_string(),
                        expected.produced.to_string(),
                        "one per record_produced call; record() counts results, not production",
                    );
                }
                if got.consumed != expected.consumed {
                    return wrong(
                        "consumed",
                        got.consumed.to_string(),
                        expected.consumed.to_string(),
                        "one per result whose status is Completed (a failure is not consumed)",
                    );
                }
                if got.failed != expected.failed {
                    return wrong(
                        "failed",
                        got.failed.to_string(),
                        expected.failed.to_string(),
                        "one per result whose status is Failed — the status says how it ended, whatever \
                         the error field holds",
                    );
                }
                if got.total_processing_ms.to_bits() != expected.total_processing_ms.to_bits() {
                    return wrong(
                        "total_processing_ms",
                        format!("{:?}", got.total_processing_ms),
                        format!("{:?}", expected.total_processing_ms),
                        "the sum of the completed items' durations, in f64 milliseconds as given, every \
                         fraction kept; a failure's time is not in it",
                    );
                }
                if got.max_queue_depth != expected.max_queue_depth {
                    return wrong(
                        "max_queue_depth",
                        got.max_queue_depth.to_string(),
                        expected.max_queue_depth.to_string(),
                        "the largest depth any record_produced call was given — not the last one, not the \
                         number produced; results do not change it",
                    );
                }
            }
            Ok(())
        });
    }
}

/// The chapter's section "Averages".
mod s4_averages {
    use super::*;

    // Named to come first in this section: the mistake an average most often has.
    #[test]
    fn a_fractional_average_keeps_its_fraction() {
        let three = stats(3, 3, 0, 43.75, 1);
        let avg = average(&three);
        assert!(
            (avg - 43.75 / 3.0).abs() < 1e-9,
            "three items completed in 10.25, 20.5 and 13 ms (total 43.75): the average is 14.583…; got {avg}. \
             Divide the total by the number completed in floating point (`as f64`) — not in whole \
             milliseconds (integer division gives 14), and without rounding"
        );
    }

    #[test]
    fn an_average_is_over_completed_items_only() {
        // 5 produced: 3 completed (43.75 ms in all), 1 failed, 1 still in the queue.
        let run = stats(5, 3, 1, 43.75, 2);
        let avg = average(&run);
        assert!(
            (avg - 43.75 / 3.0).abs() < 1e-9,
            "5 produced, 3 completed in 43.75 ms in all, 1 failed: the average is 43.75 / 3 = 14.583…; got \
             {avg}. Divide by the number completed (consumed) — not by consumed + failed ({}), not by \
             produced ({})",
            43.75 / 4.0,
            43.75 / 5.0
        );
    }

    #[test]
    fn an_empty_average_is_zero_not_nan() {
        let avg = average(&SimulationStats::default());
        assert_eq!(
            avg, 0.0,
            "nothing completed yet: 0/0 is NaN in floating point, and NaN is not valid JSON — got {avg}"
        );
        let only_failures = stats(2, 0, 1, 0.0, 1);
        let avg = average(&only_failures);
        assert_eq!(
            avg, 0.0,
            "items were produced and one failed, but none completed: still no average — got {avg}"
        );
    }

    #[test]
    fn the_average_is_the_total_over_the_completed_count_for_any_counts() {
        oracle::check(256, any_stats(), |stats| {
            let expected = mean(&stats);
            let got = average(&stats);
            if same_f64(got, expected) {
                return Ok(());
            }
            let why = if stats.consumed == 0 {
                "nothing completed: the average is 0 (not NaN, not a division by produced or by failures)"
            } else if got.is_nan() || got.is_infinite() {
                "the completed count is not 0 here: is the division done in a type too small for it (u32 \
                 wraps at 2³²), or on the wrong count?"
            } else {
                "total_processing_ms / consumed, in f64: over the completed items only (not failed, not \
                 produced), every fraction kept (no integer division, no rounding), the whole count \
                 (`as f64`, not through u32)"
            };
            Err(format!(
                "avg_processing_ms() is {got:?} for produced {}, consumed {}, failed {}, \
                 total_processing_ms {:?}; expected {expected:?}: {why}",
                stats.produced, stats.consumed, stats.failed, stats.total_processing_ms
            ))
        });
    }
}

/// The chapter's section "JSON". One test per key first, each naming its key.
mod s5_json {
    use super::*;

    /// The keys the doc comment of `to_json` lists, in its order.
    const KEYS: [&str; 5] = [
        "produced",
        "consumed",
        "failed",
        "avg_processing_ms",
        "max_queue_depth",
    ];

    #[test]
    fn a_produced_key_holds_the_number_produced() {
        json_property(64, |stats, json| {
            check_count(
                json,
                "produced",
                stats.produced,
                "the items put into the queue (the field `produced`) — not consumed + failed",
            )
        });
    }

    #[test]
    fn a_consumed_key_holds_the_number_completed() {
        json_property(64, |stats, json| {
            check_count(
                json,
                "consumed",
                stats.consumed,
                "the items processed successfully (the field `consumed`)",
            )
        });
    }

    #[test]
    fn a_failed_key_holds_the_number_failed() {
        json_property(64, |stats, json| {
            check_count(
                json,
                "failed",
                stats.failed,
                "the items whose processing failed (the field `failed`)",
            )
        });
    }

    #[test]
    fn a_max_queue_depth_key_holds_the_peak_depth() {
        json_property(64, |stats, json| {
            check_count(
                json,
                "max_queue_depth",
                stats.max_queue_depth as u64,
                "the deepest the queue has been (the field `max_queue_depth`) — not produced",
            )
        });
    }

    #[test]
    fn an_avg_processing_ms_key_holds_the_average() {
        json_property(128, |stats, json| {
            let value = field(json, "avg_processing_ms")?;
            let expected = mean(stats);
            match value.as_f64() {
                Some(got) if same_f64(got, expected) => Ok(()),
                Some(got) => Err(format!(
                    "\"avg_processing_ms\" is {got:?}, expected {expected:?}: the mean of the completed \
                     items, avg_processing_ms() — not the total ({:?}), not rounded. The statistics were \
                     consumed {}, total_processing_ms {:?}",
                    stats.total_processing_ms, stats.consumed, stats.total_processing_ms
                )),
                None if value.is_null() => Err(format!(
                    "\"avg_processing_ms\" is null, expected {expected:?}: serde_json writes a NaN (0.0 / 0.0) \
                     or an infinity as null. Write avg_processing_ms(), which is 0 when nothing completed \
                     (consumed {})",
                    stats.consumed
                )),
                None => Err(format!(
                    "\"avg_processing_ms\" is {value}, expected the number {expected:?}: write the f64 that \
                     avg_processing_ms() returns"
                )),
            }
        });
    }

    /// Fails naming the first documented key that `json` lacks.
    #[track_caller]
    fn has_every_key(json: &Value) {
        for key in KEYS {
            if let Err(message) = field(json, key) {
                panic!("{message}");
            }
        }
    }

    #[test]
    fn empty_statistics_are_valid_json() {
        let json = json_of(&SimulationStats::default());
        has_every_key(&json);
        assert_eq!(
            json,
            json!({"produced": 0, "consumed": 0, "failed": 0, "avg_processing_ms": 0.0, "max_queue_depth": 0}),
            "with nothing recorded every field is 0 — and the average 0.0, not NaN (which JSON cannot hold)"
        );
    }

    #[test]
    fn json_has_the_five_documented_keys_and_no_other() {
        json_property(64, |stats, json| {
            for key in KEYS {
                field(json, key)?;
            }
            let object = json.as_object().expect("field() checked it is an object");
            if let Some(extra) = object.keys().find(|key| !KEYS.contains(&key.as_str())) {
                return Err(format!(
                    "to_json() has a key \"{extra}\" the doc comment does not list: the simulator's JSON \
                     is exactly {KEYS:?} ({})",
                    compact(json)
                ));
            }
            // The shape as a whole, every value its own field's.
            let expected = json!({
                "produced": stats.produced,
                "consumed": stats.consumed,
                "failed": stats.failed,
                "avg_processing_ms": mean(stats),
                "max_queue_depth": stats.max_queue_depth,
            });
            let same_average = json["avg_processing_ms"]
                .as_f64()
                .is_some_and(|got| same_f64(got, mean(stats)));
            let mut rest = json.clone();
            rest["avg_processing_ms"] = expected["avg_processing_ms"].clone();
            if same_average && rest == expected {
                Ok(())
            } else {
                Err(format!(
                    "to_json() is {}, expected {}: each key holds its own field",
                    compact(json),
                    compact(&expected)
                ))
            }
        });
    }

    #[test]
    fn json_uses_the_documented_field_names() {
        // 6 produced, 2 completed (6.5 ms in all), 1 failed (3 still in flight);
        // the queue peaked at 3.
        let json = json_of(&stats(6, 2, 1, 6.5, 3));
        has_every_key(&json);
        assert_eq!(
            json,
            json!({"produced": 6, "consumed": 2, "failed": 1, "avg_processing_ms": 3.25, "max_queue_depth": 3}),
            "scripts read these exact names; each value is its own field — produced is counted, not \
             consumed + failed; avg_processing_ms is the average (3.25), not the total (6.5), not rounded"
        );
    }
}
