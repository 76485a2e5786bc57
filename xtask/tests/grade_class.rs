//! `cargo xtask grade` on a class: one copy never costs the others their
//! grades, the same submission gets the same grade, and the reports say what
//! an instructor needs (not started, a line per learner, messages, distances).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixtures, learner_copy, row, said, score, scratch, xtask_command};

/// An honest learner: lesson 01 solved, lesson 03 answered right.
fn honest_copy(dir: &Path) -> PathBuf {
    learner_copy(
        dir,
        &[
            ("01-good", "kit/solutions/01-good/src/lib.rs"),
            ("03-failing-solution", "learner/lessons/01-good/src/lib.rs"),
        ],
    )
}

fn paths(copies: &[&Path]) -> Vec<String> {
    copies
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect()
}

fn grade_command(tag: &str, args: &[&str], copies: &[&Path]) -> Command {
    let copies = paths(copies);
    let mut all: Vec<&str> = vec!["grade"];
    all.extend(args);
    all.extend(copies.iter().map(String::as_str));
    xtask_command(tag, &fixtures().join("kit"), &all)
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("--json prints JSON ({e}): {}", said(output)))
}

#[test]
fn one_copy_that_cannot_be_built_or_loaded_costs_only_its_own_lessons() {
    let dir = scratch("one-copy");
    let first = honest_copy(&dir.join("honest-1"));
    // A constant evaluated for ever: the build is stopped at its limit.
    let forever = learner_copy(
        &dir.join("forever"),
        &[
            ("01-good", "attacks/const-forever.rs"),
            ("03-failing-solution", "learner/lessons/01-good/src/lib.rs"),
        ],
    );
    // Two src/bin targets of the same name: cargo cannot load the workspace.
    let two_bins = learner_copy(
        &dir.join("two-bins"),
        &[
            ("01-good", "kit/solutions/01-good/src/lib.rs"),
            ("03-failing-solution", "learner/lessons/01-good/src/lib.rs"),
        ],
    );
    let bins = two_bins.join("lessons/01-good/src/bin");
    std::fs::create_dir_all(bins.join("twice")).unwrap();
    std::fs::write(bins.join("twice.rs"), "fn main() {}\n").unwrap();
    std::fs::write(bins.join("twice/main.rs"), "fn main() {}\n").unwrap();
    let last = honest_copy(&dir.join("honest-2"));
    let out = dir.join("report");
    let output = grade_command(
        "one-copy",
        &[
            "--json",
            "--lesson",
            "01",
            "--lesson",
            "03",
            "--build-limit",
            "20",
            "--total-limit",
            "300",
            "--out",
            out.to_str().unwrap(),
        ],
        &[&first, &forever, &two_bins, &last],
    )
    .output()
    .expect("xtask runs");
    assert!(output.status.success(), "{}", said(&output));
    let grades = json(&output);
    for learner in ["honest-1", "honest-2"] {
        for lesson in ["01-good", "03-failing-solution"] {
            assert_eq!(
                score(row(&grades, learner, lesson)),
                (1, 1),
                "{learner} {lesson}"
            );
        }
    }
    let stopped = row(&grades, "forever", "01-good");
    assert_eq!(stopped["state"], "does_not_compile", "{stopped:#}");
    assert!(
        stopped["note"]
            .as_str()
            .unwrap_or_default()
            .contains("limit"),
        "the reason is given: {stopped:#}"
    );
    assert_eq!(
        score(row(&grades, "forever", "03-failing-solution")),
        (1, 1),
        "the copy's other lesson is graded"
    );
    let unloadable = row(&grades, "two-bins", "01-good");
    assert_eq!(unloadable["state"], "does_not_compile", "{unloadable:#}");
    let reason = unloadable["note"].as_str().unwrap_or_default();
    assert!(
        reason.contains("twice"),
        "cargo's own error comes first: {unloadable:#}"
    );
    assert_eq!(
        score(row(&grades, "two-bins", "03-failing-solution")),
        (1, 1),
        "the copy's other lesson is graded"
    );
    for file in ["grades.txt", "grades.csv", "grades.json"] {
        assert!(out.join(file).is_file(), "{file} is written to --out");
    }
}

#[test]
fn the_total_limit_and_an_interrupt_still_leave_a_report_and_grading_resumes() {
    let dir = scratch("interrupted");
    let first = honest_copy(&dir.join("a-honest"));
    let hanging = learner_copy(
        &dir.join("b-hanging"),
        &[("04-hanging", "learner/lessons/04-hanging/src/lib.rs")],
    );
    let last = honest_copy(&dir.join("c-honest"));
    let out = dir.join("report");
    let args = [
        "--json",
        "--lesson",
        "01",
        "--lesson",
        "03",
        "--lesson",
        "04",
        "--out",
        out.to_str().unwrap(),
    ];
    // Interrupted while the hanging copy's test runs (3 s limit).
    let child = grade_command("interrupted", &args, &[&first, &hanging, &last])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask starts");
    let started = Instant::now();
    let first_state = out.join("copies/a-honest.json");
    while !first_state.exists() && started.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill() sends SIGINT to the child we started; no memory involved.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let interrupted = child.wait_with_output().expect("xtask ends");
    assert_eq!(
        interrupted.status.code(),
        Some(130),
        "{}",
        said(&interrupted)
    );
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("grades.json")).unwrap()).unwrap();
    assert_eq!(score(row(&kept, "a-honest", "01-good")), (1, 1), "{kept:#}");
    let table = std::fs::read_to_string(out.join("grades.txt")).unwrap();
    assert!(table.contains("a-honest"), "{table}");

    let mut resume_args = args.to_vec();
    resume_args.push("--resume");
    let resumed = grade_command("interrupted", &resume_args, &[&first, &hanging, &last])
        .output()
        .expect("xtask runs");
    assert!(resumed.status.success(), "{}", said(&resumed));
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains("a-honest: graded before"),
        "a finished copy is not graded again: {stderr}"
    );
    let grades = json(&resumed);
    for learner in ["a-honest", "c-honest"] {
        assert_eq!(score(row(&grades, learner, "01-good")), (1, 1));
    }
    assert_eq!(row(&grades, "b-hanging", "04-hanging")["timed_out"], 1);

    // A total limit reached in the middle: what was graded is reported.
    let limited = grade_command(
        "interrupted-limit",
        &[
            "--json",
            "--lesson",
            "01",
            "--lesson",
            "04",
            "--total-limit",
            "2",
        ],
        &[&hanging, &first],
    )
    .output()
    .expect("xtask runs");
    assert!(limited.status.success(), "{}", said(&limited));
    let grades = json(&limited);
    assert_eq!(
        row(&grades, "a-honest", "01-good")["state"],
        "not_graded",
        "{grades:#}"
    );
}

#[test]
fn an_interrupt_before_any_copy_is_done_still_leaves_a_report_of_every_copy() {
    let dir = scratch("interrupted-early");
    let hanging = learner_copy(
        &dir.join("a-hanging"),
        &[("04-hanging", "learner/lessons/04-hanging/src/lib.rs")],
    );
    let honest = honest_copy(&dir.join("b-honest"));
    let out = dir.join("report");
    let _ = std::fs::remove_dir_all(&out);
    let args = [
        "--lesson",
        "01",
        "--lesson",
        "04",
        "--out",
        out.to_str().unwrap(),
    ];
    let child = grade_command("interrupted-early", &args, &[&hanging, &honest])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask starts");
    // The first report is written before the first copy is graded; the
    // hanging copy's test then runs to its 3 s limit.
    let started = Instant::now();
    let report = out.join("grades.json");
    while !report.exists() && started.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill() sends SIGINT to the child we started; no memory involved.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let interrupted = child.wait_with_output().expect("xtask ends");
    assert_eq!(
        interrupted.status.code(),
        Some(130),
        "{}",
        said(&interrupted)
    );
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for (learner, lesson) in [("a-hanging", "04-hanging"), ("b-honest", "01-good")] {
        let row = row(&kept, learner, lesson);
        assert_eq!(row["state"], "not_graded", "{row:#}");
        assert!(
            row["note"]
                .as_str()
                .unwrap_or_default()
                .contains("had not reached this copy"),
            "{row:#}"
        );
    }
    for file in ["grades.txt", "grades.csv"] {
        assert!(out.join(file).is_file(), "{file} is written to --out");
    }
}

#[test]
fn a_test_whose_outcome_varies_is_reported_and_counted_failed() {
    let dir = scratch("racy");
    let racy = learner_copy(&dir.join("racy"), &[("01-good", "attacks/racy.rs")]);
    let output = grade_command(
        "racy",
        &["--json", "--lesson", "01", "--runs", "12"],
        &[&racy],
    )
    .output()
    .expect("xtask runs");
    assert!(output.status.success(), "{}", said(&output));
    let grades = json(&output);
    let row = row(&grades, "racy", "01-good");
    assert_eq!(
        score(row),
        (0, 1),
        "a test that fails some runs is failed: {row:#}"
    );
    let test = &row["tests"][0];
    assert_eq!(test["runs"], 12, "{row:#}");
    let failures = test["failures"].as_u64().unwrap();
    assert!(
        (1..12).contains(&failures),
        "fails k of 12 with 0 < k < 12: {row:#}"
    );
    let table = grade_command("racy-table", &["--lesson", "01", "--runs", "12"], &[&racy])
        .output()
        .expect("xtask runs");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("of 12 runs"), "{text}");
    assert!(!text.contains("re-run alone"), "{text}");
}

#[test]
fn the_reports_say_not_started_summarise_each_learner_and_carry_messages_and_distances() {
    let dir = scratch("reports");
    // Lesson 01 solved, lesson 03 wrong, lesson 04 as the kit gave it.
    let learner = learner_copy(
        &dir.join("ada"),
        &[
            ("01-good", "kit/solutions/01-good/src/lib.rs"),
            (
                "03-failing-solution",
                "kit/solutions/03-failing-solution/src/lib.rs",
            ),
            ("04-hanging", "kit/lessons/04-hanging/src/lib.rs"),
        ],
    );
    let args = ["--lesson", "01", "--lesson", "03", "--lesson", "04"];
    let mut with_json = vec!["--json"];
    with_json.extend(args);
    let output = grade_command("reports-json", &with_json, &[&learner])
        .output()
        .expect("xtask runs");
    assert!(output.status.success(), "{}", said(&output));
    let grades = json(&output);
    let untouched = row(&grades, "ada", "04-hanging");
    assert_eq!(untouched["state"], "not_started", "{untouched:#}");
    assert_eq!(untouched["tests"].as_array().map_or(0, Vec::len), 0);
    assert!(
        untouched["files"].as_array().is_none_or(Vec::is_empty),
        "{untouched:#}"
    );
    let wrong = row(&grades, "ada", "03-failing-solution");
    assert!(
        wrong["tests"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("the answer is 42")),
        "{wrong:#}"
    );
    assert!(wrong["files"][0]["lines_changed"].is_u64(), "{wrong:#}");
    let summary = grades["learners"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["learner"] == "ada"))
        .unwrap_or_else(|| panic!("a summary per learner: {grades:#}"));
    assert_eq!(summary["lessons_complete"], 1, "{summary:#}");
    assert_eq!(summary["tests_passed"], 1, "{summary:#}");
    assert_eq!(summary["not_started"], 1, "{summary:#}");

    let mut with_csv = vec!["--csv"];
    with_csv.extend(args);
    let csv = grade_command("reports-csv", &with_csv, &[&learner])
        .output()
        .expect("xtask runs");
    let csv = String::from_utf8_lossy(&csv.stdout);
    let header = csv.lines().next().unwrap_or_default();
    assert!(
        header.contains("messages") && header.contains("distance"),
        "{csv}"
    );
    assert!(csv.contains("the answer is 42"), "{csv}");
    assert!(csv.contains("ada,04-hanging,not_started"), "{csv}");

    let table = grade_command("reports-table", &args, &[&learner])
        .output()
        .expect("xtask runs");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ada:") && l.contains("1 of 3 lessons complete")),
        "a one-line summary per learner:\n{text}"
    );
    let not_started = text
        .lines()
        .find(|l| l.contains("04-hanging"))
        .unwrap_or_default();
    assert!(not_started.contains("not_started"), "{text}");
    assert!(
        !not_started.contains("lines"),
        "no distance for a lesson not started: {text}"
    );
}

#[test]
fn a_kit_test_binary_without_the_verdict_channel_is_named_before_grading() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        eprintln!("skipped: the verdict channel needs Linux with glibc");
        return;
    }
    let dir = scratch("no-channel");
    let kit = dir.join("kit");
    common::copy_dir(&fixtures().join("kit"), &kit);
    let test = kit.join("lessons/01-good/tests/answer.rs");
    let text = std::fs::read_to_string(&test).unwrap();
    std::fs::write(&test, text.replace("use lesson_support as _;", "")).unwrap();
    let learner = honest_copy(&dir.join("honest"));
    let output = xtask_command(
        "no-channel",
        &kit,
        &["grade", "--lesson", "01", learner.to_str().unwrap()],
    )
    .output()
    .expect("xtask runs");
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("answer of 01-good does not carry the grader's verdict channel"),
        "{stderr}"
    );
}
