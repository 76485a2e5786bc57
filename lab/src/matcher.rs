//! Which known mistake a run's failures look like — said only when the
//! answer is unambiguous, otherwise nothing.
//!
//! The rule, in order:
//!
//! 1. The run's failing tests must be *exactly* a known mistake's failing
//!    tests (its [`Signature::fails`]): no subset, no superset, no "close".
//!    Accepting one test more or less names a wrong mistake far more often
//!    and the right one hardly more often (leave-one-out over the kit's own
//!    mistakes: the instructors' appendix, "Naming a known mistake").
//! 2. Where both the run and the signature have a message for a failing test,
//!    their fingerprints ([`fingerprint`]) must be equal: the same tests
//!    failing for another reason is another mistake. This is also what breaks
//!    a tie between mistakes that fail the same tests.
//! 3. The mistakes left must all be one *group*: mistakes the catalogue
//!    treats as one (the kit's catalogue groups the patches one Break-it
//!    bullet names, since the learner is shown that bullet). Two groups left
//!    is an ambiguity, and the answer is silence.
//!
//! A run with no failing test matches nothing. The matcher never sees a
//! patch, only names, test names and message fingerprints.

use std::collections::{BTreeMap, BTreeSet};

use crate::signature::{Signature, Signatures, fingerprint};

/// One failing test of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    /// Its libtest name without the test binary: `s2_sentinels::every_consumer_stops`
    /// (the names [`Signature::fails`] holds).
    pub test: &'a str,
    /// Its failure message (the line [`crate::runner::why`] gives, or a
    /// recorded fingerprint of it: either compares); `None` when
    /// there is none to compare, as for a test killed at the time limit.
    pub message: Option<&'a str>,
}

/// One known mistake as the matcher sees it.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    group: String,
    fails: BTreeSet<String>,
    messages: BTreeMap<String, String>,
}

/// A lesson's known mistakes, by signature and group.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    entries: Vec<Entry>,
}

/// The known mistakes a run matched: one group, one or more of its mistakes
/// (several when they fail the same tests with the same messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The group's name (see [`Catalogue::new`]).
    pub group: String,
    /// The matching mistakes, by name, sorted.
    pub mistakes: Vec<String>,
}

impl Catalogue {
    /// The catalogue of `signatures`, each mistake in the group `group_of`
    /// gives its name (its own name, for a mistake grouped with no other).
    pub fn new(signatures: &Signatures, group_of: impl Fn(&str) -> String) -> Self {
        let entries = signatures
            .iter()
            .map(|(name, signature)| Entry {
                name: name.clone(),
                group: group_of(name),
                fails: signature.fails.iter().cloned().collect(),
                messages: signature.messages.clone(),
            })
            .collect();
        Catalogue { entries }
    }

    /// The same catalogue without mistake `name`: what the matcher would say
    /// if nobody had listed it (leave-one-out).
    pub fn without(&self, name: &str) -> Self {
        Catalogue {
            entries: self
                .entries
                .iter()
                .filter(|e| e.name != name)
                .cloned()
                .collect(),
        }
    }

    /// Whether mistakes `a` and `b` are in one group (a mistake is in its own).
    pub fn same_group(&self, a: &str, b: &str) -> bool {
        a == b
            || self
                .group_of(a)
                .is_some_and(|g| self.group_of(b) == Some(g))
    }

    fn group_of(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.group.as_str())
    }

    /// The known mistake `failures` look like, by the rule in the module's
    /// documentation; `None` when nothing matches or the match is ambiguous.
    pub fn identify(&self, failures: &[Failure<'_>]) -> Option<Matched> {
        if failures.is_empty() {
            return None;
        }
        let failing: BTreeSet<&str> = failures.iter().map(|f| f.test).collect();
        let prints: BTreeMap<&str, String> = failures
            .iter()
            .filter_map(|f| Some((f.test, comparable(f.message?))))
            .collect();
        let agrees = |entry: &Entry| {
            entry.messages.iter().all(|(test, recorded)| {
                prints
                    .get(test.as_str())
                    .is_none_or(|seen| *seen == comparable(recorded))
            })
        };
        let matching: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| {
                e.fails
                    .iter()
                    .map(String::as_str)
                    .eq(failing.iter().copied())
            })
            .filter(|e| agrees(e))
            .collect();
        let group = &matching.first()?.group;
        if matching.iter().any(|e| e.group != *group) {
            return None;
        }
        Some(Matched {
            group: group.clone(),
            mistakes: matching.iter().map(|e| e.name.clone()).collect(),
        })
    }

    /// What a mistake's own signature would have shown a learner: its
    /// failing tests, each with its recorded fingerprint.
    pub fn failures_of(signature: &Signature) -> Vec<Failure<'_>> {
        signature
            .fails
            .iter()
            .map(|test| Failure {
                test,
                message: signature.messages.get(test).map(String::as_str),
            })
            .collect()
    }
}

/// A message as fingerprints are compared: fingerprinted, without trailing
/// spaces. A fingerprint cut at its length limit can end in a space, which
/// fingerprinting it again trims; so a recorded fingerprint and a fresh
/// message compare equal whichever way each was taken.
fn comparable(message: &str) -> String {
    fingerprint(message).trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(fails: &[&str], messages: &[(&str, &str)]) -> Signature {
        Signature {
            fails: fails.iter().map(|t| t.to_string()).collect(),
            messages: messages
                .iter()
                .map(|(t, m)| (t.to_string(), m.to_string()))
                .collect(),
        }
    }

    fn failing<'a>(tests: &[&'a str]) -> Vec<Failure<'a>> {
        tests
            .iter()
            .map(|test| Failure {
                test,
                message: None,
            })
            .collect()
    }

    /// Three mistakes: `a` alone on {x}, `b` and `c` both on {x, y} with
    /// different messages for y; `d` on {z}, grouped with `e` on {z} too.
    fn catalogue() -> Catalogue {
        let mut signatures = Signatures::new();
        signatures.insert("a".into(), signature(&["t::x"], &[]));
        signatures.insert(
            "b".into(),
            signature(&["t::x", "t::y"], &[("t::y", "queue held # items")]),
        );
        signatures.insert(
            "c".into(),
            signature(&["t::x", "t::y"], &[("t::y", "consumer # never stopped")]),
        );
        signatures.insert("d".into(), signature(&["t::z"], &[]));
        signatures.insert("e".into(), signature(&["t::z"], &[]));
        Catalogue::new(&signatures, |name| {
            if name == "d" || name == "e" {
                "bullet-1".into()
            } else {
                name.into()
            }
        })
    }

    fn named(matched: Option<Matched>) -> Option<Vec<String>> {
        matched.map(|m| m.mistakes)
    }

    #[test]
    fn exactly_the_failing_tests_of_one_mistake_name_it() {
        let found = catalogue().identify(&failing(&["t::x"]));
        assert_eq!(named(found), Some(vec!["a".to_string()]));
    }

    #[test]
    fn a_subset_or_a_superset_of_a_signature_names_nothing() {
        let catalogue = catalogue();
        // {x, y, z} holds a's and d's tests and more; {x} ⊂ b's {x, y}; y alone is part of b's.
        assert_eq!(
            catalogue.identify(&failing(&["t::x", "t::y", "t::z"])),
            None
        );
        assert_eq!(catalogue.identify(&failing(&["t::y"])), None);
        assert_eq!(catalogue.identify(&failing(&["t::x", "t::z"])), None);
    }

    #[test]
    fn no_failure_names_nothing() {
        assert_eq!(catalogue().identify(&[]), None);
    }

    #[test]
    fn two_mistakes_of_different_groups_on_the_same_tests_are_silence() {
        // b and c both fail {x, y}; with no message to tell them apart, it is either.
        assert_eq!(catalogue().identify(&failing(&["t::x", "t::y"])), None);
    }

    #[test]
    fn a_message_breaks_the_tie_its_numbers_aside() {
        let failures = [
            Failure {
                test: "t::x",
                message: Some("whatever"),
            },
            Failure {
                test: "t::y",
                message: Some("consumer 3 never stopped\n  at src/lib.rs:12"),
            },
        ];
        let found = catalogue().identify(&failures);
        assert_eq!(named(found), Some(vec!["c".to_string()]));
    }

    #[test]
    fn a_fingerprint_cut_after_a_space_still_matches_its_message() {
        let message = "abcd ".repeat(25);
        let recorded = fingerprint(&message);
        assert!(recorded.ends_with(' '), "{recorded:?}");
        let mut signatures = Signatures::new();
        signatures.insert("m".into(), signature(&["t::x"], &[("t::x", &recorded)]));
        let catalogue = Catalogue::new(&signatures, str::to_string);
        for seen in [message.as_str(), recorded.as_str()] {
            let failures = [Failure {
                test: "t::x",
                message: Some(seen),
            }];
            assert!(catalogue.identify(&failures).is_some(), "{seen:?}");
        }
    }

    #[test]
    fn the_right_tests_failing_for_another_reason_name_nothing() {
        let failures = [
            Failure {
                test: "t::x",
                message: None,
            },
            Failure {
                test: "t::y",
                message: Some("an item was lost"),
            },
        ];
        assert_eq!(catalogue().identify(&failures), None);
    }

    #[test]
    fn mistakes_of_one_group_on_the_same_tests_are_named_together() {
        let found = catalogue().identify(&failing(&["t::z"])).expect("a match");
        assert_eq!(found.group, "bullet-1");
        assert_eq!(found.mistakes, ["d", "e"]);
    }

    #[test]
    fn left_out_a_mistake_is_matched_only_by_what_remains() {
        let catalogue = catalogue();
        let without_a = catalogue.without("a");
        assert_eq!(without_a.identify(&failing(&["t::x"])), None);
        // Without c, b is the only mistake on {x, y}: the same failures now name b.
        let without_c = catalogue.without("c");
        assert_eq!(
            named(without_c.identify(&failing(&["t::x", "t::y"]))),
            Some(vec!["b".to_string()])
        );
        assert!(catalogue.same_group("d", "e"));
        assert!(!catalogue.same_group("b", "c"));
    }

    #[test]
    fn a_signature_read_back_as_failures_names_its_own_mistake() {
        let mut signatures = Signatures::new();
        signatures.insert("c".into(), signature(&["t::y"], &[("t::y", "got # of #")]));
        signatures.insert("f".into(), signature(&["t::y"], &[("t::y", "lost #")]));
        let catalogue = Catalogue::new(&signatures, str::to_string);
        let found = catalogue.identify(&Catalogue::failures_of(&signatures["c"]));
        assert_eq!(named(found), Some(vec!["c".to_string()]));
    }
}
