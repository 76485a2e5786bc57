//! The learner's loop on a copy of xtask's fixture kit: `progress` (all
//! lessons or one), `watch` re-running on a save, and `hint` reading the book.

use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// xtask's fixtures: a tiny kit whose lessons build in seconds.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../xtask/tests/fixtures")
}

/// An empty folder for the test tagged `tag`, made anew on every run, under
/// the target dir.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        )
        .join("lab-tests")
        .join(tag);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// Copies the folder `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("a folder");
    for entry in fs::read_dir(from).expect("a fixture folder") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("a copy");
        }
    }
}

/// stdout and stderr, for failure messages.
fn said(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

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

/// `cargo xtask --root ROOT --limit 3 ARGS` (the lab binary) with
/// `CARGO_TARGET_DIR` set to `target`.
fn xtask_in(root: &Path, target: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab"));
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
        Command::new(env!("CARGO_BIN_EXE_lab"))
            .arg("--root")
            .arg(&root)
            .arg("hint")
            .args(args)
            .output()
            .unwrap()
    };
    let chapter =
        std::fs::read_to_string(root.join("book/src/lessons/03-backpressure.md")).unwrap();
    let first = hint(&["03", "1"]);
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

#[test]
fn every_hint_in_the_book_shows_its_code_and_knows_its_section() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lessons = lab::kit::lessons(&root, &[]).unwrap();
    assert!(lessons.len() >= 14, "the kit's lessons are found");
    for lesson in lessons {
        let chapter = lab::chapter::Chapter::read(&lesson.chapter).unwrap();
        assert!(!chapter.hints.is_empty(), "{} has hints", lesson.slug);
        for hint in &chapter.hints {
            assert!(
                !hint.text.contains("{{#"),
                "{} {}: an include left as it is:\n{}",
                lesson.slug,
                hint.title,
                hint.text
            );
            assert!(
                hint.section.is_some(),
                "{} {}: no lesson section; name one with <!-- section: Heading -->",
                lesson.slug,
                hint.title
            );
        }
    }
}

#[test]
fn hint_starts_at_the_hint_for_the_first_failing_test_s_section() {
    let kit = kit_copy("hint-section", false);
    let lesson = kit.join("lessons/01-good");
    fs::write(
        lesson.join("tests/answer.rs"),
        "use lesson_01::answer;\n\n\
         mod s1_first {\n    #[test]\n    fn already_passes() {}\n}\n\n\
         mod s2_second {\n    #[test]\n    fn the_answer_is_42() {\n        \
         assert_eq!(super::answer(), 42);\n    }\n}\n",
    )
    .unwrap();
    fs::write(
        kit.join("solutions/01-good/src/lib.rs"),
        "// ANCHOR: answer\npub fn answer() -> u32 {\n    42\n}\n// ANCHOR_END: answer\n",
    )
    .unwrap();
    fs::create_dir_all(kit.join("book/src/lessons")).unwrap();
    fs::write(
        kit.join("book/src/lessons/01-good.md"),
        "# 01\n\n## Run\n\n## First\n\n## Second\n\n## Alter it\n\n## Hints\n\n\
         <details>\n<summary>Hint 1 — first</summary>\n\nGently.\n\n</details>\n\n\
         <details>\n<summary>Hint 2 — the answer</summary>\n<!-- section: Second -->\n\n\
         ```rust\n{{#include ../../../solutions/01-good/src/lib.rs:answer}}\n```\n\n</details>\n",
    )
    .unwrap();
    let target = scratch("hint-section-target");
    let output = xtask_in(&kit, &target, &["hint", "01"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        stdout.contains("Hint 2 — the answer (of 2)"),
        "the first failing test is in section 2: {}",
        said(&output)
    );
    assert!(stdout.contains("s2_second::the_answer_is_42"), "{stdout}");
    assert!(
        stdout.contains("pub fn answer() -> u32 {") && !stdout.contains("ANCHOR"),
        "the include is expanded: {stdout}"
    );
}

#[test]
fn failures_that_match_a_known_mistake_are_named_and_hint_gives_its_bullet() {
    let kit = kit_copy("known-mistake", false);
    let lesson = kit.join("lessons/01-good");
    fs::write(
        lesson.join("tests/answer.rs"),
        "use lesson_01::answer;\n\n\
         mod s1_first {\n    #[test]\n    fn already_passes() {}\n}\n\n\
         mod s2_second {\n    #[test]\n    fn the_answer_is_42() {\n        \
         assert_eq!(super::answer(), 42, \"one more than 41\");\n    }\n}\n",
    )
    .unwrap();
    fs::write(
        lesson.join("src/lib.rs"),
        "/// The answer.\npub fn answer() -> u32 {\n    43\n}\n",
    )
    .unwrap();
    fs::write(
        kit.join("solutions/01-good/signatures.json"),
        r#"{"answer-one-too-many": {"fails": ["s2_second::the_answer_is_42"],
            "messages": {"s2_second::the_answer_is_42": "assertion `left == right` failed: one more than #"}},
           "answer-is-zero": {"fails": ["s1_first::already_passes"]}}"#,
    )
    .unwrap();
    fs::create_dir_all(kit.join("book/src/lessons")).unwrap();
    fs::write(
        kit.join("book/src/lessons/01-good.md"),
        "# 01\n\n## Run\n\n## First\n\n## Second\n\n## Alter it\n\n## Break it\n\n\
         - Count one too many: `mistakes/answer-one-too-many.patch`.\n\n## Hints\n\n\
         <details>\n<summary>Hint 1 — first</summary>\n\nGently.\n\n</details>\n",
    )
    .unwrap();
    let target = scratch("known-mistake-target");
    let progress = xtask_in(&kit, &target, &["progress", "01"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&progress.stdout);
    assert!(
        stdout.contains(
            "this looks like a known mistake: answer one too many (chapter 01, \"Second\"; \
             `cargo xtask hint 01` for a nudge)"
        ),
        "{}",
        said(&progress)
    );
    let hint = xtask_in(&kit, &target, &["hint", "01"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&hint.stdout);
    let bullet = stdout.find("Count one too many");
    let the_hint = stdout.find("Gently.");
    assert!(
        bullet.is_some() && bullet < the_hint,
        "the bullet comes first: {}",
        said(&hint)
    );
    // Another reason for the same failing test is another mistake: nothing named.
    fs::write(
        lesson.join("src/lib.rs"),
        "/// The answer.\npub fn answer() -> u32 {\n    panic!(\"not yet\")\n}\n",
    )
    .unwrap();
    let progress = xtask_in(&kit, &target, &["progress", "01"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&progress.stdout).contains("known mistake"),
        "{}",
        said(&progress)
    );
}

/// The first screen `cargo xtask watch` (no lesson named) shows on `kit`,
/// with what it said on stderr meanwhile; stops it.
fn first_watch_screen(kit: &Path, tag: &str) -> (String, String) {
    let target = scratch(tag);
    let mut watch = xtask_in(kit, &target, &["watch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = watch.stdout.take().unwrap();
    let (lines, screen) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        if let Ok(line) = screen.recv_timeout(Duration::from_millis(100)) {
            let done = line.contains("tests pass") || line.contains("does not compile");
            seen.push(line);
            if done {
                break;
            }
        }
    }
    writeln!(watch.stdin.as_mut().unwrap(), "q").unwrap();
    let _ = watch.wait();
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(&mut watch.stderr.take().unwrap(), &mut stderr);
    (seen.join("\n"), stderr)
}

#[test]
fn watch_starts_at_the_first_lesson_with_a_todo_without_building_the_others() {
    let kit = kit_copy("in-progress-todo", false);
    let (screen, said) = first_watch_screen(&kit, "in-progress-todo-target");
    assert!(
        screen.contains("Lesson 01-good · 0 of 1 tests pass"),
        "{screen}\n{said}"
    );
    assert!(
        !said.contains("checking lesson"),
        "nothing else was checked: {said}"
    );
}

#[test]
fn watch_starts_at_the_lesson_before_when_its_todos_are_written_but_it_is_not_green() {
    let kit = kit_copy("in-progress-red", false);
    fs::write(
        kit.join("lessons/01-good/src/lib.rs"),
        "/// The answer, not yet right.\npub fn answer() -> u32 {\n    41\n}\n",
    )
    .unwrap();
    let (screen, said) = first_watch_screen(&kit, "in-progress-red-target");
    assert!(said.contains("checking lesson 01-good"), "{said}");
    assert!(
        screen.contains("Lesson 01-good · 0 of 1 tests pass"),
        "{screen}\n{said}"
    );

    let solved = kit_copy("in-progress-green", true);
    let (screen, said) = first_watch_screen(&solved, "in-progress-green-target");
    assert!(
        screen.contains("Lesson 02-passing-starter"),
        "lesson 01 is green, so 02 is in progress: {screen}\n{said}"
    );
}
