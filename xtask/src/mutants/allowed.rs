//! `solutions/NN-slug/mutants-allowed.txt`: the mutants of a solution that no
//! test can catch because they do not change what the code does, each with
//! the reason.
//!
//! ```text
//! # Blank lines and lines starting with `#` are comments.
//! src/lib.rs:120:9: replace CondvarQueue<T>::is_empty -> bool with false  # only the example prints it
//! src/lib.rs: replace Pool::len -> usize with 1  # …
//! ```
//!
//! One mutant per line, named as cargo-mutants names it (its `missed.txt`, or
//! `cargo xtask mutants`' list of missed mutants), then ` # ` and a one-line
//! reason. The path may keep cargo-mutants' `lessons/NN-slug/` prefix or drop
//! it. The `:line:col` may be left out, which survives edits elsewhere in the
//! file, unless two mutants of the solution share the name without it.

use std::sync::LazyLock;

use regex::Regex;

/// The allow-list's file name, in the solution's folder.
pub const FILE_NAME: &str = "mutants-allowed.txt";

/// A mutant's name, as cargo-mutants prints it, with the lesson prefix dropped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MutantName {
    /// The file, relative to the lesson: `src/lib.rs`.
    pub file: String,
    /// Line and column, when given.
    pub at: Option<(u32, u32)>,
    /// What was changed: `replace == with != in CondvarQueue<T>::is_empty`.
    pub what: String,
}

static NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<file>[^:\s]+\.rs)(?::(?P<line>\d+):(?P<col>\d+))?: (?P<what>\S.*)$")
        .expect("regex")
});

impl MutantName {
    /// Reads `lessons/09-x/src/lib.rs:12:5: replace …` or `src/lib.rs: replace …`.
    pub fn parse(text: &str) -> Option<MutantName> {
        let found = NAME.captures(text.trim())?;
        let file = &found["file"];
        // cargo-mutants names files from the workspace root; the list lives
        // beside one lesson, so its own prefix is redundant.
        let file = match file.find("/src/") {
            Some(at) if file.starts_with("lessons/") => &file[at + 1..],
            _ => file,
        };
        let at = match (found.name("line"), found.name("col")) {
            (Some(line), Some(col)) => {
                Some((line.as_str().parse().ok()?, col.as_str().parse().ok()?))
            }
            _ => None,
        };
        Some(MutantName {
            file: file.to_string(),
            at,
            what: found["what"].trim().to_string(),
        })
    }

    /// Whether this name (perhaps without `:line:col`) names `mutant`.
    pub fn matches(&self, mutant: &MutantName) -> bool {
        self.file == mutant.file
            && self.what == mutant.what
            && self.at.is_none_or(|at| Some(at) == mutant.at)
    }
}

impl std::fmt::Display for MutantName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.what),
            None => write!(f, "{}: {}", self.file, self.what),
        }
    }
}

/// One line of the allow-list.
#[derive(Debug, Clone)]
pub struct Allowed {
    /// Its line number (1-based).
    pub line: usize,
    /// The mutant it names (the reason is checked to be there, and is for people).
    pub mutant: MutantName,
}

/// Reads an allow-list; returns its entries and, one sentence each, every
/// line that is not one (shown as `shown:LINE`).
pub fn parse(shown: &str, text: &str) -> (Vec<Allowed>, Vec<String>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let number = index + 1;
        let Some((name, reason)) = trimmed.split_once(" # ") else {
            problems.push(format!(
                "{shown}:{number}: no reason: write ` # ` and why this mutant changes nothing a test could see"
            ));
            continue;
        };
        let reason = reason.trim();
        if reason.len() < 8 {
            problems.push(format!(
                "{shown}:{number}: the reason \"{reason}\" is too short to say why the mutant is equivalent"
            ));
            continue;
        }
        match MutantName::parse(name) {
            Some(mutant) => entries.push(Allowed {
                line: number,
                mutant,
            }),
            None => problems.push(format!(
                "{shown}:{number}: \"{}\" is not a mutant's name (FILE.rs[:LINE:COL]: WHAT, as cargo-mutants prints it)",
                name.trim()
            )),
        }
    }
    (entries, problems)
}

/// Checks `entries` against the solution's current mutants: each must name
/// exactly one of them (or, without `:line:col`, every mutant of that name
/// when there is only one). Returns the problems.
pub fn check_against(shown: &str, entries: &[Allowed], mutants: &[MutantName]) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in entries {
        let named = mutants.iter().filter(|m| entry.mutant.matches(m)).count();
        match named {
            0 => problems.push(format!(
                "{shown}:{}: \"{}\" names no mutant of the current solution (the code moved or changed: copy its new name from `cargo xtask mutants`)",
                entry.line, entry.mutant
            )),
            1 => {}
            n => problems.push(format!(
                "{shown}:{}: \"{}\" names {n} mutants; add the :line:col of the one meant",
                entry.line, entry.mutant
            )),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_the_lesson_prefix_and_position_read_alike() {
        let full = MutantName::parse(
            "lessons/09-blocking-queue/src/lib.rs:120:20: replace == with != in CondvarQueue<T>::is_empty",
        )
        .unwrap();
        assert_eq!(full.file, "src/lib.rs");
        assert_eq!(full.at, Some((120, 20)));
        let short =
            MutantName::parse("src/lib.rs: replace == with != in CondvarQueue<T>::is_empty")
                .unwrap();
        assert!(short.matches(&full));
        assert!(!full.matches(&MutantName {
            at: Some((121, 20)),
            ..full.clone()
        }));
        assert_eq!(
            full.to_string(),
            "src/lib.rs:120:20: replace == with != in CondvarQueue<T>::is_empty"
        );
    }

    #[test]
    fn every_line_needs_a_name_and_a_reason() {
        let text = "# comment\n\n\
                    src/lib.rs:1:2: replace a with b  # no test reads the length\n\
                    src/lib.rs: replace c with d\n\
                    src/lib.rs: replace e with f # eh\n\
                    not a name # because it is equivalent\n";
        let (entries, problems) = parse("allowed.txt", text);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].mutant.what, "replace a with b");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("allowed.txt:4: no reason"));
        assert!(problems[1].starts_with("allowed.txt:5: the reason"));
        assert!(problems[2].starts_with("allowed.txt:6: \"not a name\""));
    }

    #[test]
    fn an_entry_must_name_one_current_mutant() {
        let mutant = |at, what: &str| MutantName {
            file: "src/lib.rs".into(),
            at: Some(at),
            what: what.into(),
        };
        let mutants = [
            mutant((1, 1), "replace a with b"),
            mutant((2, 1), "replace a with b"),
            mutant((3, 1), "delete !"),
        ];
        let (entries, _) = parse(
            "x",
            "src/lib.rs: replace a with b # twice in the file\n\
             src/lib.rs:2:1: replace a with b # this one only\n\
             src/lib.rs: delete ! # the only one\n\
             src/lib.rs:9:9: delete ! # moved since\n",
        );
        let problems = check_against("x", &entries, &mutants);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("names 2 mutants"));
        assert!(problems[1].contains("names no mutant of the current solution"));
    }
}
