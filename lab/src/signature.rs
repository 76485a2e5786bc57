//! The failure signatures of a lesson's known mistakes: for each mistake
//! (`solutions/NN-slug/mistakes/NAME.patch`), the tests that fail on it and a
//! fingerprint of each one's message, kept in `solutions/NN-slug/signatures.json`.
//!
//! Written by `cargo xtask verify NN --catches`, which runs every test on every
//! mistake; read by `verify` (a mistake's catchers run first) and by
//! [`crate::known`], which names the known mistake a learner's failures look
//! like. The one definition of the file's format.

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
/// collapsed, cut to `FINGERPRINT_CHARS` characters.
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let dir = std::env::temp_dir().join(format!("lab-signatures-{}", std::process::id()));
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
