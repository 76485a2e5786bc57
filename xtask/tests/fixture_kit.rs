//! `cargo xtask` run on a fixture kit whose lessons each break the lesson
//! contract in one way (see `tests/fixtures/kit`), and on a learner's copy of it.

mod common;

use std::time::{Duration, Instant};

use common::{fixtures, row as grade_row, said, score, xtask};

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
    assert!(output.status.success(), "{}", said(&output));
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "grading took {:?}",
        started.elapsed()
    );
    let grades: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let lesson = |slug: &str| grade_row(&grades, "learner", slug).clone();

    let solved = lesson("01-good");
    assert_eq!(
        (
            solved["state"].as_str(),
            score(&solved),
            solved["failed"].as_u64()
        ),
        (Some("graded"), (1, 1), Some(0))
    );
    assert_eq!(
        solved["files"][0]["lines_changed"], 0,
        "a solved file is 0 lines from the solution"
    );

    assert_eq!(lesson("02-passing-starter")["state"], "missing");

    let untouched = lesson("03-failing-solution");
    assert_eq!(untouched["state"], "not_started", "{untouched:#}");
    assert_eq!(untouched["files"], serde_json::json!([]), "{untouched:#}");

    let hanging = lesson("04-hanging");
    assert_eq!(
        hanging["timed_out"], 1,
        "the hanging implementation is killed and reported: {hanging:#}"
    );
    assert_eq!(hanging["tests"][0]["status"], "timed_out");

    let broken = lesson("05-uncaught-mistake");
    assert_eq!(broken["state"], "does_not_compile");
    assert!(
        broken["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("error")),
        "the first compiler error is named: {broken:#}"
    );
}

#[test]
fn grade_prints_a_table_for_people() {
    let learner = fixtures().join("learner");
    let output = xtask("grade-table", &["grade", learner.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let good = stdout
        .lines()
        .find(|line| line.starts_with("learner") && line.contains("01-good"))
        .unwrap_or_else(|| panic!("no row for 01-good:\n{stdout}"));
    assert!(good.contains("graded"), "{stdout}");
    assert!(
        stdout.contains("timed out answer::the_answer_is_42:\n        killed at the time limit"),
        "{stdout}"
    );
    assert!(stdout.contains("1 copy graded in"), "{stdout}");
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

#[test]
fn grading_a_class_gives_a_row_per_learner_and_lesson_as_csv() {
    let class = common::scratch("class");
    for learner in ["alice", "bob"] {
        common::copy_dir(&fixtures().join("learner"), &class.join(learner));
    }
    let (alice, bob) = (class.join("alice"), class.join("bob"));
    let output = xtask(
        "grade-class",
        &[
            "grade",
            "--csv",
            "--lesson",
            "01",
            "--lesson",
            "04",
            alice.to_str().unwrap(),
            bob.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", said(&output));
    let csv = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("learner,lesson,state,passed,held,failed,timed_out,total,"));
    assert_eq!(lines.len(), 1 + 2 * 2, "{csv}");
    for learner in ["alice", "bob"] {
        assert!(
            lines.contains(
                &format!("{learner},01-good,graded,1,0,0,0,1,,,src/lib.rs 0 lines,,,true,,")
                    .as_str()
            ) || lines.contains(
                &format!("{learner},01-good,graded,1,0,0,0,1,,,src/lib.rs 0 lines,,,false,,")
                    .as_str()
            ),
            "{csv}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(&format!(
                "{learner},04-hanging,graded,0,0,0,1,1,answer::the_answer_is_42,"
            ))),
            "{csv}"
        );
    }
}

#[test]
fn a_class_past_its_total_limit_is_reported_not_graded() {
    let class = common::scratch("class-limit");
    let mut copies = Vec::new();
    for learner in ["a", "b", "c"] {
        common::copy_dir(&fixtures().join("learner"), &class.join(learner));
        copies.push(class.join(learner).to_string_lossy().into_owned());
    }
    let mut args = vec!["grade", "--json", "--lesson", "04", "--total-limit", "1"];
    args.extend(copies.iter().map(String::as_str));
    let started = Instant::now();
    let output = xtask("grade-limit", &args);
    assert!(output.status.success(), "{}", said(&output));
    let grades: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let states: Vec<&str> = grades["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    // The first copy may start before the limit, and its hanging test is then
    // stopped at it; nothing starts after it.
    assert_eq!(states[1..], ["not_graded"; 2], "{grades:#}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
