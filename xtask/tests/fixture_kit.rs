//! `cargo xtask` run on a fixture kit whose lessons each break the lesson
//! contract in one way (see `tests/fixtures/kit`), and on a learner's copy of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

/// Runs the xtask binary with its builds in a target dir of this test's own
/// (`tag`), so tests running side by side do not share scratch copies.
fn xtask(tag: &str, args: &[&str]) -> Output {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        )
        .join("xtask-fixtures")
        .join(tag);
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--root")
        .arg(fixtures().join("kit"))
        .args(["--limit", "3"])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("the xtask binary runs")
}

fn row<'a>(table: &'a str, lesson: &str) -> &'a str {
    table
        .lines()
        .find(|line| line.starts_with(lesson))
        .unwrap_or_else(|| panic!("no row for {lesson} in:\n{table}"))
}

#[test]
fn verify_reports_every_kind_of_breach_and_fails() {
    let output = xtask("verify-all", &["verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "verify must fail on breaches:\n{stdout}"
    );

    assert!(
        row(&stdout, "01-good").contains("1/1 caught ok"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("01-good:"),
        "the good lesson has no breach:\n{stdout}"
    );
    let expected = [
        "02-passing-starter: answer::tests_nothing passes on the starter",
        // clippy runs on each solution laid over its lesson, tests included.
        "02-passing-starter: clippy (-D warnings) on the solution: lessons/02-passing-starter/tests/answer.rs:10:5: error: this assertion is always `true`",
        "03-failing-solution: answer::the_answer_is_42 fails with the solution: assertion `left == right` failed: the answer is 42",
        "04-hanging: answer::the_answer_is_42 hangs with the solution (killed after 3s)",
        "05-uncaught-mistake: mistake same-answer-another-way is caught by no test",
        "05-uncaught-mistake: cannot lay out mistake stale-context",
        "06-bare-should-panic: tests/check.rs:4: #[should_panic] without expected",
        "06-bare-should-panic: check::zero_panics passes on the starter",
    ];
    for breach in expected {
        assert!(
            stdout.contains(breach),
            "missing breach {breach:?} in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("no longer applies to the solution"),
        "{stdout}"
    );
    assert!(stdout.contains("8 breach(es)"), "{stdout}");
}

#[test]
fn verify_of_chosen_lessons_checks_only_those() {
    let output = xtask("verify-01", &["verify", "01"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "lesson 01 of the fixture kit is sound:\n{stdout}"
    );
    assert!(
        stdout.contains("every lesson keeps the contract"),
        "{stdout}"
    );
    assert!(!stdout.contains("02-passing-starter"), "{stdout}");
}

#[test]
fn grade_reports_each_lesson_and_survives_a_hanging_implementation() {
    let started = Instant::now();
    let learner = fixtures().join("learner");
    let output = xtask(
        "grade-json",
        &["grade", learner.to_str().unwrap(), "--json"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "grading took {:?}",
        started.elapsed()
    );
    let grades: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let lesson = |slug: &str| {
        grades
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["lesson"] == slug)
            .unwrap()
            .clone()
    };

    let solved = lesson("01-good");
    assert_eq!(
        (
            solved["state"].as_str(),
            solved["passed"].as_u64(),
            solved["failed"].as_u64()
        ),
        (Some("graded"), Some(1), Some(0))
    );
    assert_eq!(
        solved["files"][0]["lines_changed"], 0,
        "a solved file is 0 lines from the solution"
    );

    assert_eq!(lesson("02-passing-starter")["state"], "missing");

    let untouched = lesson("03-failing-solution");
    assert_eq!(
        (untouched["passed"].as_u64(), untouched["failed"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(untouched["files"][0]["lines_changed"].as_u64().unwrap() > 0);

    let hanging = lesson("04-hanging");
    assert_eq!(
        hanging["timed_out"], 1,
        "the hanging implementation is killed and reported: {hanging:#}"
    );
    assert_eq!(hanging["tests"][0]["status"], "timed_out");

    assert_eq!(lesson("05-uncaught-mistake")["state"], "does_not_compile");
}

#[test]
fn grade_prints_a_table_for_people() {
    let learner = fixtures().join("learner");
    let output = xtask("grade-table", &["grade", learner.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(row(&stdout, "01-good").contains("graded"), "{stdout}");
    assert!(
        stdout.contains("TimedOut answer::the_answer_is_42: killed at the time limit"),
        "{stdout}"
    );
}

#[test]
fn a_copy_that_is_not_a_kit_is_refused() {
    let output = xtask("grade-refused", &["grade", "/nonexistent/kit"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no lessons/ folder"));
}

#[test]
fn verify_repeat_runs_the_solution_and_each_mistake_that_many_times() {
    let output = xtask("verify-repeat", &["verify", "01", "--repeat", "3"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("run 3 times"), "{stdout}");
    assert!(
        row(&stdout, "01-good").contains("1/1 caught ok"),
        "{stdout}"
    );
}
