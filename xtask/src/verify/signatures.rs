//! Each known mistake's *failure signature*: the tests that fail on it, kept
//! in `solutions/NN-slug/signatures.json` and rewritten by
//! `cargo xtask verify NN --catches` (which runs every test on every mistake).
//!
//! `verify` runs a mistake's recorded catchers first, so a mistake usually
//! costs one test run instead of every test up to the first that fails; and
//! it checks the record is current — every mistake has one, and its first
//! catcher still catches it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// The file beside a lesson's solution.
pub const FILE: &str = "signatures.json";

/// One mistake's signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The tests that fail on the mistake, in the lesson's test order.
    pub fails: Vec<String>,
    /// For each of them, a fingerprint of its failure message ([`fingerprint`]):
    /// what tells apart two mistakes that fail the same tests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<String, String>,
}

/// The longest fingerprint kept.
const FINGERPRINT_CHARS: usize = 100;

/// A failure message's first line with its numbers (counts, times, ids, which
/// differ from run to run and learner to learner) replaced by `#`, its spaces
/// collapsed, cut to [`FINGERPRINT_CHARS`].
pub fn fingerprint(message: &str) -> String {
    let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out = String::new();
    let mut last = ' ';
    for c in first.trim().chars() {
        let c = if c.is_ascii_digit() {
            '#'
        } else if c.is_whitespace() {
            ' '
        } else {
            c
        };
        if (c == '#' || c == ' ') && c == last {
            continue;
        }
        out.push(c);
        last = c;
        if out.chars().count() >= FINGERPRINT_CHARS {
            break;
        }
    }
    out
}

/// Every mistake's signature, by mistake name.
pub type Signatures = BTreeMap<String, Signature>;

/// Where `solution`'s signatures are kept.
pub fn path(solution: &Path) -> PathBuf {
    solution.join(FILE)
}

/// The recorded signatures of the lesson whose solution is at `solution`;
/// `None` when none were ever recorded.
pub fn read(solution: &Path) -> Result<Option<Signatures>> {
    let file = path(solution);
    if !file.is_file() {
        return Ok(None);
    }
    let text =
        fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let signatures = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a signatures file", file.display()))?;
    Ok(Some(signatures))
}

/// Writes `signatures` for the lesson whose solution is at `solution`.
pub fn write(solution: &Path, signatures: &Signatures) -> Result<()> {
    let file = path(solution);
    let text = serde_json::to_string_pretty(signatures).context("signatures serialize")? + "\n";
    fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))
}

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
    fn a_fingerprint_keeps_the_words_and_drops_the_numbers() {
        assert_eq!(
            fingerprint("\n run_with_sentinels(23 items,   4 consumers) took 5.02s\nmore"),
            "run_with_sentinels(# items, # consumers) took #.#s"
        );
        assert_eq!(
            fingerprint(&"x".repeat(500)).chars().count(),
            FINGERPRINT_CHARS
        );
    }

    #[test]
    fn a_written_file_reads_back() {
        let dir = std::env::temp_dir().join(format!("xtask-signatures-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir).unwrap(), None);
        let mut signatures = Signatures::new();
        signatures.insert(
            "one-sentinel-for-all".into(),
            Signature {
                fails: vec!["shutdown::s2_sentinels::x".into()],
                messages: BTreeMap::from([("shutdown::s2_sentinels::x".into(), "a # b".into())]),
            },
        );
        write(&dir, &signatures).unwrap();
        assert_eq!(read(&dir).unwrap(), Some(signatures));
        fs::remove_dir_all(&dir).unwrap();
    }
}
