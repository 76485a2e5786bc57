//! Checking that work was accounted for — every item once, in the right order —
//! with failure messages short enough to read: a thousand-element vector is
//! summarised as counts, the first few offenders and where things first differ.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

/// How many offending items a message lists before saying "and N more".
const SHOWN: usize = 8;

/// Checks that every expected item was seen exactly once: none lost, none
/// processed twice, none invented. The message names the offending items.
///
/// Items may repeat (a queue can carry the same value twice): then each is
/// expected as many times as it was produced, no fewer and no more.
#[track_caller]
pub fn assert_each_exactly_once<T: Ord + Debug + Clone>(
    expected: impl IntoIterator<Item = T>,
    seen: impl IntoIterator<Item = T>,
    context: &str,
) {
    if let Err(message) = check_each_exactly_once(expected, seen, context) {
        panic!("{message}");
    }
}

/// [`assert_each_exactly_once`] as a `Result`, for a property (`oracle`) to
/// return instead of panicking.
pub fn check_each_exactly_once<T: Ord + Debug + Clone>(
    expected: impl IntoIterator<Item = T>,
    seen: impl IntoIterator<Item = T>,
    context: &str,
) -> Result<(), String> {
    // item -> (times produced, times seen)
    let mut counts: BTreeMap<T, (i64, i64)> = BTreeMap::new();
    for item in expected {
        counts.entry(item).or_default().0 += 1;
    }
    let mut invented = Vec::new();
    for item in seen {
        match counts.get_mut(&item) {
            Some((_, seen)) => *seen += 1,
            None => invented.push(item),
        }
    }
    let once = |produced: &i64| *produced == 1;
    let lost: Vec<&T> = counts
        .iter()
        .filter(|(_, (produced, seen))| once(produced) && *seen == 0)
        .map(|(item, _)| item)
        .collect();
    let repeated: Vec<(&T, &i64)> = counts
        .iter()
        .filter(|(_, (produced, seen))| once(produced) && *seen > 1)
        .map(|(item, (_, seen))| (item, seen))
        .collect();
    let miscounted: Vec<(&T, &i64, &i64)> = counts
        .iter()
        .filter(|(_, (produced, seen))| !once(produced) && seen != produced)
        .map(|(item, (produced, seen))| (item, seen, produced))
        .collect();
    let mut problems = Vec::new();
    if !lost.is_empty() {
        problems.push(format!(
            "{} never processed (lost): {}",
            lost.len(),
            preview(&lost)
        ));
    }
    if !repeated.is_empty() {
        problems.push(format!(
            "{} processed more than once (item, times): {}",
            repeated.len(),
            preview(&repeated)
        ));
    }
    if !miscounted.is_empty() {
        problems.push(format!(
            "{} of the items produced more than once (equal values, each one an item of its \
             own) processed a different number of times (item, times processed, times \
             produced): {}",
            miscounted.len(),
            preview(&miscounted)
        ));
    }
    if !invented.is_empty() {
        problems.push(format!(
            "{} processed that were never produced: {}",
            invented.len(),
            preview(&invented)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{context}: {}", problems.join("; ")))
    }
}

/// Checks that `got` is exactly `expected`, in order. On a difference it says
/// how long each was and where they first part, with a few items either side —
/// never the whole lists.
#[track_caller]
pub fn assert_sequence<T: PartialEq + Debug>(expected: &[T], got: &[T], context: &str) {
    if let Err(message) = check_sequence(expected, got, context) {
        panic!("{message}");
    }
}

/// [`assert_sequence`] as a `Result`, for a property (`oracle`) to return.
pub fn check_sequence<T: PartialEq + Debug>(
    expected: &[T],
    got: &[T],
    context: &str,
) -> Result<(), String> {
    let first_difference = expected
        .iter()
        .zip(got)
        .position(|(e, g)| e != g)
        .or_else(|| (expected.len() != got.len()).then(|| expected.len().min(got.len())));
    let Some(at) = first_difference else {
        return Ok(());
    };
    let window = |items: &[T]| {
        let from = at.saturating_sub(2);
        let to = (at + 3).min(items.len());
        let shown: Vec<String> = items[from..to].iter().map(|i| format!("{i:?}")).collect();
        format!(
            "{}[{}]{}",
            if from > 0 { "… " } else { "" },
            shown.join(", "),
            if to < items.len() { " …" } else { "" }
        )
    };
    Err(format!(
        "{context}: expected {} items, got {}; they first differ at position {at}:\n    \
         expected around there: {}\n    got around there:      {}",
        expected.len(),
        got.len(),
        window(expected),
        window(got)
    ))
}

/// A log that many threads append to, for tests to read afterwards: what was
/// processed, in which order. Clones share one log.
#[derive(Debug)]
pub struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Log<T> {
    fn clone(&self) -> Self {
        Log(Arc::clone(&self.0))
    }
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry.
    pub fn push(&self, entry: T) {
        // A panic elsewhere must not hide what was logged: ignore poisoning.
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing was logged yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The first few of `items`, and how many more there are.
pub fn preview<T: Debug>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(SHOWN).map(|i| format!("{i:?}")).collect();
    let more = items.len().saturating_sub(SHOWN);
    if more > 0 {
        format!("{} … and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `text` cut to at most `limit` characters, marked when cut.
pub fn shorten(text: &str, limit: usize) -> String {
    let mut short: String = text.chars().take(limit).collect();
    if text.chars().count() > limit {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_once_accepts_any_order() {
        assert_each_exactly_once([1, 2, 3], [3, 1, 2], "ok");
    }

    #[test]
    #[should_panic(
        expected = "1 never processed (lost): 2; 1 processed more than once (item, times): (3, 2)"
    )]
    fn exactly_once_names_lost_and_repeated_items() {
        assert_each_exactly_once([1, 2, 3], [1, 3, 3], "run");
    }

    #[test]
    fn equal_values_count_as_items_of_their_own() {
        assert_each_exactly_once([7, 3, 7], [7, 7, 3], "ok");
    }

    #[test]
    #[should_panic(expected = "(item, times processed, times produced): (7, 1, 2), (9, 4, 3)")]
    fn an_equal_value_processed_too_rarely_or_too_often_is_named() {
        assert_each_exactly_once([7, 7, 9, 9, 9], [7, 9, 9, 9, 9], "run");
    }

    #[test]
    #[should_panic(expected = "… and 992 more")]
    fn a_thousand_lost_items_are_summarised() {
        assert_each_exactly_once(0..1000, [], "run");
    }

    #[test]
    fn equal_sequences_pass() {
        assert_sequence(&[1, 2, 3], &[1, 2, 3], "ok");
    }

    #[test]
    #[should_panic(
        expected = "order: expected 1000 items, got 1000; they first differ at position 500:\n    expected around there: … [498, 499, 500, 501, 502] …\n    got around there:      … [498, 499, 501, 500, 502] …"
    )]
    fn a_swap_in_a_long_sequence_is_shown_where_it_is() {
        let expected: Vec<u32> = (0..1000).collect();
        let mut got = expected.clone();
        got.swap(500, 501);
        assert_sequence(&expected, &got, "order");
    }

    #[test]
    #[should_panic(expected = "expected 3 items, got 2; they first differ at position 2")]
    fn a_missing_tail_is_a_difference() {
        assert_sequence(&[1, 2, 3], &[1, 2], "tail");
    }

    #[test]
    fn a_log_collects_from_every_clone() {
        let log = Log::new();
        let other = log.clone();
        std::thread::spawn(move || other.push(1)).join().unwrap();
        log.push(2);
        assert_eq!(log.entries(), [1, 2]);
    }
}
