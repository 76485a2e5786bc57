//! `cargo xtask signatures [NN …] [--hidden DIR]`: how well the learner's
//! tools name a known mistake from its failures ([`lab::known`]), measured on
//! the kit's own mistakes, without running anything (it reads the signatures
//! `verify --catches` recorded).
//!
//! For every mistake of every lesson with signatures, its own signature is
//! matched as if it were a learner's run:
//!
//! - **itself**: against the whole catalogue — it must name itself (or a
//!   mistake of its group: the patches one Break-it bullet names);
//! - **left out**: against the catalogue without it, as for a mistake nobody
//!   listed — naming a mistake of its group is right, silence is right,
//!   naming any other is wrong.
//!
//! `--hidden DIR` (folders `NN-slug/` of patches, such as mistakes written
//! without seeing the tests) also counts, apart, the left-out results of the
//! mistakes whose names are there too: a hidden set's figure. Its patches
//! not in the catalogue have no signature and are only counted.
//!
//! It also checks what the learner is shown: every recorded mistake has a
//! patch, and a chapter section to read (from its failing tests).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};

use crate::kit::{self, Lesson};
use lab::known::KnownMistakes;
use lab::matcher::Catalogue;

/// What one matching said, as the measurement counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Right,
    Silent,
    Wrong,
}

/// Right, silent and wrong counts.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    right: usize,
    silent: usize,
    wrong: usize,
}

impl Tally {
    fn add(&mut self, said: Said) {
        match said {
            Said::Right => self.right += 1,
            Said::Silent => self.silent += 1,
            Said::Wrong => self.wrong += 1,
        }
    }

    fn plus(self, other: Tally) -> Tally {
        Tally {
            right: self.right + other.right,
            silent: self.silent + other.silent,
            wrong: self.wrong + other.wrong,
        }
    }

    fn total(self) -> usize {
        self.right + self.silent + self.wrong
    }

    fn cells(self) -> String {
        format!("{:>5} {:>6} {:>5}", self.right, self.silent, self.wrong)
    }

    /// "2 of 129 (1.6 %)".
    fn wrong_rate(self) -> String {
        let total = self.total();
        let percent = if total == 0 {
            0.0
        } else {
            self.wrong as f64 * 100.0 / total as f64
        };
        format!("{} of {total} ({percent:.1} %)", self.wrong)
    }
}

/// One lesson's figures.
#[derive(Debug, Default)]
struct Figures {
    itself: Tally,
    left_out: Tally,
    hidden: Tally,
    hidden_unrecorded: usize,
    /// (left out, what was named instead).
    confusions: Vec<(String, Vec<String>)>,
}

/// Measures lessons `only` (all when empty) of the kit at `root`; returns the
/// report and whether the catalogue is sound (every recorded mistake has a
/// patch; a mistake told without a section is only noted).
pub fn measure(root: &Path, only: &[String], hidden: Option<&Path>) -> Result<(String, bool)> {
    let lessons = kit::lessons(root, only)?;
    if lessons.is_empty() {
        bail!("no lesson {} under {}", only.join(" "), root.display());
    }
    if let Some(dir) = hidden
        && !dir.is_dir()
    {
        bail!("--hidden {}: not a folder", dir.display());
    }
    let mut out = String::from(
        "Naming a known mistake from its failures: each mistake's recorded signature\n\
         matched against the catalogue with it (itself) and without it (left out).\n\n\
         lesson                 mistakes │ itself: right silent wrong │ left out: right silent wrong\n",
    );
    let (mut itself, mut left_out, mut hidden_all) =
        (Tally::default(), Tally::default(), Tally::default());
    let mut hidden_unrecorded = 0;
    let mut unmeasured = Vec::new();
    let (mut problems, mut notes) = (Vec::new(), Vec::new());
    let mut confusions = Vec::new();
    for lesson in &lessons {
        let Some(known) = KnownMistakes::load(lesson)? else {
            unmeasured.push(lesson.number.clone());
            continue;
        };
        let (wrong, noted) = soundness(lesson, &known)?;
        problems.extend(wrong);
        notes.extend(noted);
        let hidden_names = hidden.map(|dir| patch_names(&dir.join(&lesson.slug)));
        let figures = lesson_figures(&known, hidden_names.as_ref());
        let _ = writeln!(
            out,
            "{:<22} {:>8} │        {} │           {}",
            lesson.slug,
            known.signatures().len(),
            figures.itself.cells(),
            figures.left_out.cells()
        );
        itself = itself.plus(figures.itself);
        left_out = left_out.plus(figures.left_out);
        hidden_all = hidden_all.plus(figures.hidden);
        hidden_unrecorded += figures.hidden_unrecorded;
        confusions.extend(
            figures
                .confusions
                .into_iter()
                .map(|(gone, named)| (lesson.number.clone(), gone, named)),
        );
    }
    let _ = writeln!(
        out,
        "{:<22} {:>8} │        {} │           {}",
        "all",
        itself.total(),
        itself.cells(),
        left_out.cells()
    );
    let _ = writeln!(
        out,
        "\nWrong: itself {}; left out {}.",
        itself.wrong_rate(),
        left_out.wrong_rate()
    );
    if let Some(dir) = hidden {
        let _ = writeln!(
            out,
            "Hidden set ({}: its patches that are in the catalogue, left out): right {}, silent {}, wrong {}; \
             {hidden_unrecorded} of its patches have no signature (not in mistakes/, or their lesson has none recorded).",
            dir.display(),
            hidden_all.right,
            hidden_all.silent,
            hidden_all.wrong_rate()
        );
    }
    if !unmeasured.is_empty() {
        let _ = writeln!(
            out,
            "No signatures recorded (run `cargo xtask verify NN --catches`): lessons {}.",
            unmeasured.join(", ")
        );
    }
    if !confusions.is_empty() {
        let _ = writeln!(
            out,
            "\nLeft out, it was taken for another mistake (the tests fail the same way on both; \
             a test that tells them apart, or one Break-it bullet for both, would end it):"
        );
        for (lesson, gone, named) in &confusions {
            let _ = writeln!(out, "  {lesson}: {gone} → {}", named.join(", "));
        }
    }
    for note in &notes {
        let _ = writeln!(out, "note: {note}");
    }
    for problem in &problems {
        let _ = writeln!(out, "problem: {problem}");
    }
    Ok((out, problems.is_empty()))
}

/// The figures of one lesson's catalogue.
fn lesson_figures(known: &KnownMistakes, hidden: Option<&BTreeSet<String>>) -> Figures {
    let catalogue = known.catalogue();
    let mut figures = Figures::default();
    for (name, signature) in known.signatures() {
        let failures = Catalogue::failures_of(signature);
        let said = |matched: Option<lab::matcher::Matched>| match matched {
            None => (Said::Silent, Vec::new()),
            Some(m) if catalogue.same_group(name, &m.mistakes[0]) => (Said::Right, m.mistakes),
            Some(m) => (Said::Wrong, m.mistakes),
        };
        figures.itself.add(said(catalogue.identify(&failures)).0);
        let (left, named) = said(catalogue.without(name).identify(&failures));
        figures.left_out.add(left);
        if left == Said::Wrong {
            figures.confusions.push((name.clone(), named));
        }
        if hidden.is_some_and(|h| h.contains(name)) {
            figures.hidden.add(left);
        }
    }
    figures.hidden_unrecorded = hidden.map_or(0, |h| {
        h.iter()
            .filter(|name| !known.signatures().contains_key(*name))
            .count()
    });
    figures
}

/// What the learner would be shown that cannot be — a recorded mistake with
/// no patch (a problem) — or is less than it should — one told without a
/// chapter section, its failing tests in no `sN_` module and naming no
/// section (a note).
fn soundness(lesson: &Lesson, known: &KnownMistakes) -> Result<(Vec<String>, Vec<String>)> {
    let patches: BTreeSet<String> = lesson.mistakes()?.into_iter().map(|m| m.name).collect();
    let (mut problems, mut notes) = (Vec::new(), Vec::new());
    for name in known.signatures().keys() {
        if !patches.contains(name) {
            problems.push(format!(
                "lesson {}: signatures.json names {name}, which mistakes/ does not have",
                lesson.number
            ));
        }
        if known.tell(std::slice::from_ref(name)).section.is_none() {
            notes.push(format!(
                "lesson {}: {name} is told without a chapter section: none of its failing tests is in an sN_ module or names a section",
                lesson.number
            ));
        }
    }
    Ok((problems, notes))
}

/// The names of the `.patch` files in `dir` (none if it does not exist).
fn patch_names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "patch"))
        .filter_map(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab::signature::{Signature, Signatures};

    fn sig(fails: &[&str]) -> Signature {
        Signature {
            fails: fails.iter().map(|t| t.to_string()).collect(),
            messages: Default::default(),
        }
    }

    #[test]
    fn a_lone_signature_is_right_itself_and_silent_left_out_and_a_twin_is_wrong_left_out() {
        let chapter = "## Run\n\n## Putting\n\n## Alter it\n\n## Break it\n\n\
                       - one `mistakes/b.patch` or `mistakes/c.patch`\n";
        let signatures = Signatures::from([
            ("a".to_string(), sig(&["s1_putting::x"])),
            ("b".to_string(), sig(&["s1_putting::y"])),
            ("c".to_string(), sig(&["s1_putting::y"])),
            ("d".to_string(), sig(&["s1_putting::z"])),
            ("e".to_string(), sig(&["s1_putting::z"])),
        ]);
        let known = KnownMistakes::new("09", signatures, chapter);
        let hidden = BTreeSet::from(["a".to_string(), "d".to_string(), "new".to_string()]);
        let figures = lesson_figures(&known, Some(&hidden));
        // a: named itself, silent left out. b, c: one bullet, each names the
        // group either way. d, e: twins of two groups: silent with both, each
        // taken for the other when left out.
        assert_eq!(
            (
                figures.itself.right,
                figures.itself.silent,
                figures.itself.wrong
            ),
            (3, 2, 0)
        );
        assert_eq!(
            (
                figures.left_out.right,
                figures.left_out.silent,
                figures.left_out.wrong
            ),
            (2, 1, 2)
        );
        assert_eq!((figures.hidden.silent, figures.hidden.wrong), (1, 1));
        assert_eq!(figures.hidden_unrecorded, 1);
        assert_eq!(
            figures.confusions[0],
            ("d".to_string(), vec!["e".to_string()])
        );
    }
}
