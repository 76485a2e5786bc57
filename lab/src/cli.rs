//! The command line of `cargo xtask` (and `cargo lab`): the learner's three
//! commands are read here, by hand — four words and two options do not need a
//! parser crate the learner would wait for — and anything else is the
//! maintainer's, handed to the xtask crate as it was typed.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The default hard limit for one test, in seconds (as xtask's).
pub const DEFAULT_LIMIT_SECS: u64 = 20;

/// The longest `--limit` accepted, in seconds (as xtask's).
pub const MAX_LIMIT_SECS: u64 = 24 * 3600;

/// The commands the xtask crate runs, for the help text.
pub const MAINTAINER_COMMANDS: [(&str, &str); 8] = [
    (
        "verify [NN …]",
        "prove the lesson contract (maintainers, CI)",
    ),
    ("mutants [NN …]", "mutation testing of the lesson tests"),
    (
        "grade DIR…",
        "grade learners' copies of the kit (instructors)",
    ),
    (
        "signatures [NN …]",
        "how often a known mistake is named right from its failures",
    ),
    (
        "bench",
        "the queues and the simulator against their targets",
    ),
    (
        "figures [NAME …]",
        "redraw the book's figures from real runs",
    ),
    (
        "book",
        "check the book against the code, build it, check its links",
    ),
    ("browser", "the built book in headless Chromium"),
];

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// One of the learner's commands, run here.
    Learner(Options, Learner),
    /// The help text.
    Help,
    /// Anything else: the maintainer's tools, handed every argument.
    Maintainer,
}

/// The options every command takes.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// The kit to work on; `None`: this workspace.
    pub root: Option<PathBuf>,
    /// The hard limit for one test.
    pub limit: Duration,
}

/// The learner's commands.
#[derive(Debug, PartialEq, Eq)]
pub enum Learner {
    /// `watch [NN]`.
    Watch(Option<String>),
    /// `hint NN [K]`.
    Hint(String, Option<usize>),
    /// `progress [NN]`.
    Progress(Option<String>),
}

/// Reads the arguments after the program's name. A bad argument to a
/// learner's command is an error saying what is wrong.
pub fn parse(args: &[OsString]) -> Result<Invocation, String> {
    let mut root = None;
    let mut limit = DEFAULT_LIMIT_SECS;
    let mut words: Vec<String> = Vec::new();
    let mut help = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(text) = arg.to_str() else {
            // Not UTF-8: a path for the maintainer's tools, perhaps.
            if words.is_empty() {
                return Ok(Invocation::Maintainer);
            }
            return Err(format!("{} is not valid text", arg.to_string_lossy()));
        };
        let (flag, attached) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (text, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            attached
                .clone()
                .or_else(|| rest.next().map(|v| v.to_string_lossy().into_owned()))
                .ok_or(format!("{name} needs a value"))
        };
        match flag {
            "--root" => root = Some(PathBuf::from(value("--root")?)),
            "--limit" => limit = seconds(&value("--limit")?)?,
            "-h" | "--help" => help = true,
            _ if flag.starts_with('-') => {
                if is_learners(words.first()) {
                    return Err(format!("unknown option {text} (see `cargo xtask --help`)"));
                }
                return Ok(Invocation::Maintainer);
            }
            _ => words.push(text.to_string()),
        }
    }
    let Some(command) = words.first() else {
        return Ok(Invocation::Help);
    };
    if command == "help" {
        return Ok(if words.len() == 1 || is_learners(words.get(1)) {
            Invocation::Help
        } else {
            Invocation::Maintainer
        });
    }
    if !is_learners(Some(command)) {
        return Ok(Invocation::Maintainer);
    }
    if help {
        return Ok(Invocation::Help);
    }
    let options = Options {
        root,
        limit: Duration::from_secs(limit),
    };
    let arguments = &words[1..];
    let learner = match (command.as_str(), arguments) {
        ("watch", [] | [_]) => Learner::Watch(arguments.first().cloned()),
        ("progress", [] | [_]) => Learner::Progress(arguments.first().cloned()),
        ("hint", [lesson]) => Learner::Hint(lesson.clone(), None),
        ("hint", [lesson, k]) => Learner::Hint(lesson.clone(), Some(hint_number(k)?)),
        ("hint", []) => return Err("hint needs a lesson: `cargo xtask hint 03`".into()),
        _ => {
            return Err(format!(
                "{command} takes {}; got {}",
                if command == "hint" {
                    "a lesson and, optionally, a hint number"
                } else {
                    "at most a lesson number"
                },
                arguments.join(" ")
            ));
        }
    };
    Ok(Invocation::Learner(options, learner))
}

fn is_learners(word: Option<&String>) -> bool {
    word.is_some_and(|w| matches!(w.as_str(), "watch" | "hint" | "progress"))
}

fn seconds(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (1..=MAX_LIMIT_SECS).contains(&n) => Ok(n),
        _ => Err(format!(
            "--limit takes whole seconds from 1 to {MAX_LIMIT_SECS}; got {text}"
        )),
    }
}

fn hint_number(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(k) if (1..=99).contains(&k) => Ok(k),
        _ => Err(format!(
            "the hint number is 1, 2, … (gentlest first); got {text}"
        )),
    }
}

/// The help text: the learner's commands, then the maintainer's.
pub fn help() -> String {
    let mut text = String::from(
        "The Concurrency Queue Lab's tools: cargo xtask COMMAND (or cargo lab COMMAND)\n\n\
         Learning (this small crate, lab):\n  \
         watch [NN]         re-run the lesson in progress (or lesson NN) on every save: tests\n                     \
         passed, the first failure in the chapter's order, what to read\n  \
         hint NN [K]        a hint for lesson NN: the one for your first failing test's\n                     \
         section, or hint K (1 is the gentlest)\n  \
         progress [NN]      every lesson (or NN): tests passed, the lesson in progress and\n                     \
         its failures\n\n\
         Options:\n  \
         --limit SECS       hard limit for one test: still running then, it is stopped [default: 20]\n  \
         --root PATH        the kit to work on [default: this workspace]\n\n\
         Maintaining and teaching (the xtask crate, built the first time one is used):\n",
    );
    for (command, what) in MAINTAINER_COMMANDS {
        text.push_str(&format!("  {command:<18} {what}\n"));
    }
    text.push_str("\n`cargo xtask help COMMAND` says more about one of those.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<Invocation, String> {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        parse(&args)
    }

    fn learner(limit: u64, root: Option<&str>, command: Learner) -> Invocation {
        Invocation::Learner(
            Options {
                root: root.map(PathBuf::from),
                limit: Duration::from_secs(limit),
            },
            command,
        )
    }

    #[test]
    fn the_learner_s_commands_are_read_here() {
        assert_eq!(parsed("watch"), Ok(learner(20, None, Learner::Watch(None))));
        assert_eq!(
            parsed("--limit 5 watch 03"),
            Ok(learner(5, None, Learner::Watch(Some("03".into()))))
        );
        assert_eq!(
            parsed("hint 3 2 --root=/kit"),
            Ok(learner(
                20,
                Some("/kit"),
                Learner::Hint("3".into(), Some(2))
            ))
        );
        assert_eq!(
            parsed("progress --limit=7"),
            Ok(learner(7, None, Learner::Progress(None)))
        );
    }

    #[test]
    fn everything_else_goes_to_the_maintainer_s_tools() {
        for line in [
            "verify 03",
            "--limit 30 verify",
            "grade a b --json",
            "help verify",
            "book",
            "verify --help",
        ] {
            assert_eq!(parsed(line), Ok(Invocation::Maintainer), "{line}");
        }
    }

    #[test]
    fn help_is_answered_here() {
        for line in ["", "--help", "-h", "help", "help watch", "hint --help"] {
            assert_eq!(parsed(line), Ok(Invocation::Help), "{line:?}");
        }
    }

    #[test]
    fn bad_arguments_to_a_learner_s_command_are_refused_with_a_reason() {
        assert!(parsed("hint").unwrap_err().contains("needs a lesson"));
        assert!(parsed("hint 03 0").unwrap_err().contains("hint number"));
        assert!(parsed("watch 01 02").unwrap_err().contains("at most"));
        assert!(parsed("watch --limit 0").unwrap_err().contains("--limit"));
        assert!(
            parsed("--limit 18446744073709551615 progress")
                .unwrap_err()
                .contains("--limit")
        );
        assert!(
            parsed("watch --limit")
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parsed("watch --fast")
                .unwrap_err()
                .contains("unknown option")
        );
    }
}
