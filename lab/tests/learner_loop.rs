//! The learner's loop on a copy of the fixture kit: `progress` (all lessons or
//! one), `watch` re-running on a save, and `hint` reading the book.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{copy_dir, fixtures, said, scratch};

/// A copy of the fixture kit in a scratch folder, lesson 01 solved when `solved`.
fn kit_copy(tag: &str, solved: bool) -> std::path::PathBuf {
    let kit = scratch(tag).join("kit");
    copy_dir(&fixtures().join("kit"), &kit);
    if solved {
        std::fs::copy(
            kit.join("solutions/01-good/src/lib.rs"),
            kit.join("lessons/01-good/src/lib.rs"),
        )
        .unwrap();
    }
    kit
}

/// `xtask --root ROOT --limit 3 ARGS` with `CARGO_TARGET_DIR` set to `target`.
fn xtask_in(root: &Path, target: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .arg("--root")
        .arg(root)
        .args(["--limit", "3"])
        .args(args)
        .env("CARGO_TARGET_DIR", target);
    command
}

#[test]
fn progress_never_shows_another_copys_results() {
    let solved = kit_copy("progress-solved", true);
    let unsolved = kit_copy("progress-unsolved", false);
    // One target dir for both, as a learner with CARGO_TARGET_DIR set would have.
    let shared = scratch("progress-shared-target");
    let first = xtask_in(&solved, &shared, &["progress", "01"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("1/1   done"),
        "{}",
        said(&first)
    );
    let second = xtask_in(&unsolved, &shared, &["progress", "01"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.contains("0/1") && !stdout.contains("done"),
        "the unsolved copy shows the solved copy's pass:\n{}",
        said(&second)
    );
}

#[test]
fn progress_knows_the_lesson_in_progress_and_names_failing_and_timed_out_tests() {
    let kit = kit_copy("progress-all", true);
    let target = scratch("progress-all-target");
    let output = xtask_in(&kit, &target, &["progress"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        stdout.contains("In progress: lesson 02-passing-starter"),
        "lesson 01 is green, so 02 is in progress:\n{stdout}"
    );
    assert!(
        stdout.contains("failed    answer::the_answer_is_42: not yet implemented"),
        "{stdout}"
    );

    std::fs::copy(
        kit.join("solutions/04-hanging/src/lib.rs"),
        kit.join("lessons/04-hanging/src/lib.rs"),
    )
    .unwrap();
    let one = xtask_in(&kit, &target, &["progress", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&one.stdout);
    assert!(
        stdout.contains("timed out answer::the_answer_is_42: killed at the time limit"),
        "{}",
        said(&one)
    );
    assert!(
        !stdout.contains("01-good"),
        "only lesson 04 is shown:\n{stdout}"
    );
}

#[test]
fn watch_reruns_on_a_save_and_says_when_the_lesson_is_green() {
    let kit = kit_copy("watch", false);
    let target = scratch("watch-target");
    let mut watch = xtask_in(&kit, &target, &["watch", "01"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, screen) = mpsc::channel();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let wait_for = |text: &str| -> Duration {
        let started = Instant::now();
        let mut seen = Vec::new();
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok(line) = screen.recv_timeout(Duration::from_millis(100)) {
                if line.contains(text) {
                    return started.elapsed();
                }
                seen.push(line);
            }
        }
        panic!(
            "watch never showed {text:?}; it showed:\n{}",
            seen.join("\n")
        );
    };
    wait_for("0 of 1 tests pass");
    wait_for("First failing test: answer::the_answer_is_42");

    std::fs::copy(
        kit.join("solutions/01-good/src/lib.rs"),
        kit.join("lessons/01-good/src/lib.rs"),
    )
    .unwrap();
    let took = wait_for("1 of 1 tests pass");
    eprintln!("watch showed the result {took:?} after the save");
    wait_for("Green: every test passes");
    wait_for("Next: lesson 02-passing-starter");

    std::fs::write(
        kit.join("lessons/01-good/src/lib.rs"),
        "pub fn answer( -> u32 {",
    )
    .unwrap();
    wait_for("does not compile yet");

    writeln!(watch.stdin.as_mut().unwrap(), "q").unwrap();
    let started = Instant::now();
    while watch.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "q did not quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hints_come_from_the_chapter_gentlest_first() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let hint = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("--root")
            .arg(&root)
            .arg("hint")
            .args(args)
            .output()
            .unwrap()
    };
    let chapter =
        std::fs::read_to_string(root.join("book/src/lessons/03-backpressure.md")).unwrap();
    let first = hint(&["03"]);
    let second = hint(&["3", "2"]);
    let (first_text, second_text) = (
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout),
    );
    assert!(first_text.contains("Hint 1"), "{}", said(&first));
    assert!(first_text.contains("cargo xtask hint 03 2"), "{first_text}");
    assert!(second_text.contains("Hint 2"), "{}", said(&second));
    let body = |text: &str| {
        text.lines()
            .skip(2)
            .take_while(|l| !l.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (one, two) = (body(&first_text), body(&second_text));
    assert_ne!(one, two);
    assert!(
        chapter.find(&one[..20]) < chapter.find(&two[..20]),
        "hint 1 comes before hint 2 in the chapter"
    );
    let past_the_end = hint(&["03", "9"]);
    assert_eq!(past_the_end.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&past_the_end.stderr).contains("hints 1 to 3"));
}
