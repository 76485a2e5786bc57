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
}
