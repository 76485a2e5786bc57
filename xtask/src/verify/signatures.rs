//! Each known mistake's *failure signature* (its format, reading and writing:
//! [`lab::signature`]) as `verify` uses it: a mistake's runs try first the
//! tests that caught it before, so a mistake usually costs one test run
//! instead of every test up to the first that fails; and `verify` checks the
//! record is current — every mistake has one, and some test it names still
//! catches it (not always the first: a racy mistake's set varies a little). `cargo xtask verify NN --catches` rewrites it.

pub use lab::signature::{FILE, Signature, Signatures, fingerprint, read, write};

/// `tests` (indices into the lesson's tests, named by `name_of`) in the order
/// a mistake's runs should try them: its recorded catchers first, in their
/// recorded order, then the rest in the lesson's order.
pub fn order(
    signature: Option<&Signature>,
    count: usize,
    name_of: impl Fn(usize) -> String,
) -> Vec<usize> {
    let Some(signature) = signature else {
        return (0..count).collect();
    };
    let rank = |i: usize| {
        let name = name_of(i);
        signature
            .fails
            .iter()
            .position(|caught| *caught == name)
            .unwrap_or(usize::MAX)
    };
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| (rank(i), i));
    order
}

/// Why `signature` is out of date, if it is: it names a test the lesson no
/// longer has (`tests`), or none of the tests it names is among those that
/// caught the mistake this time (`caught_by`). Any one of them will do — a
/// racy mistake fails a slightly different set from run to run, and the
/// recorded catchers run first.
pub fn stale(signature: &Signature, tests: &[&str], caught_by: &[&str]) -> Option<String> {
    if let Some(gone) = signature
        .fails
        .iter()
        .find(|name| !tests.contains(&name.as_str()))
    {
        return Some(format!("names {gone}, a test that no longer exists"));
    }
    let still = signature
        .fails
        .iter()
        .any(|name| caught_by.contains(&name.as_str()));
    (!signature.fails.is_empty() && !still).then(|| {
        format!(
            "names {}, none of which fails on it any more",
            signature.fails.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn recorded_catchers_run_first_in_their_order() {
        let names = ["t::a", "t::b", "t::c", "t::d"];
        let signature = Signature {
            fails: vec!["t::c".into(), "t::b".into(), "t::gone".into()],
            messages: BTreeMap::new(),
        };
        let order = order(Some(&signature), names.len(), |i| names[i].to_string());
        assert_eq!(order, [2, 1, 0, 3]);
        assert_eq!(super::order(None, 3, |i| names[i].to_string()), [0, 1, 2]);
    }
    #[test]
    fn a_signature_is_current_while_any_test_it_names_still_catches() {
        let signature = Signature {
            fails: vec!["t::a".into(), "t::b".into()],
            messages: BTreeMap::new(),
        };
        let tests = ["t::a", "t::b", "t::c"];
        assert_eq!(
            stale(&signature, &tests, &["t::b"]),
            None,
            "a racy first catcher"
        );
        assert_eq!(stale(&signature, &tests, &["t::a", "t::c"]), None);
        let why = stale(&signature, &tests, &["t::c"]).expect("stale");
        assert!(why.contains("none of which fails on it any more"), "{why}");
        let why = stale(&signature, &["t::a", "t::c"], &["t::a"]).expect("stale");
        assert!(why.contains("t::b, a test that no longer exists"), "{why}");
    }
}
