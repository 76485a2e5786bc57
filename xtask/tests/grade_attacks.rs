//! A learner's code is untrusted input to `cargo xtask grade`: each attack
//! here (a learner's `src/`, in `tests/fixtures/attacks/`) must neither earn a
//! pass, nor change what is graded, nor stop or exhaust the grader.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{copy_dir, fixtures, learner_copy, row, said, score, scratch, xtask_command};

/// Runs `grade --json` on `copies` with `extra` flags; returns the grades and
/// the grader's own peak memory in KiB (Linux; 0 elsewhere).
fn grade(tag: &str, kit: &Path, copies: &[&Path], extra: &[&str]) -> (serde_json::Value, u64) {
    let mut args = vec!["grade", "--json"];
    args.extend(extra);
    let copies: Vec<&str> = copies.iter().map(|c| c.to_str().unwrap()).collect();
    args.extend(copies);
    let child = xtask_command(tag, kit, &args)
        .env("ATTACK_KIT", kit)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("xtask starts");
    let status_file = format!("/proc/{}/status", child.id());
    let peak = std::thread::spawn(move || {
        let mut peak = 0;
        while let Ok(status) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        peak
    });
    let output = child.wait_with_output().expect("xtask runs");
    assert!(output.status.success(), "{}", said(&output));
    let grades = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("--json prints JSON ({e}): {}", said(&output)));
    (grades, peak.join().unwrap_or(0))
}

fn first_reason(row: &serde_json::Value) -> String {
    row["note"].as_str().unwrap_or_default().to_string()
}

#[test]
fn no_attack_earns_a_pass_stops_the_grader_or_grows_it() {
    let dir = scratch("attacks");
    let copy = |name: &str, attack: &str| {
        learner_copy(
            &dir.join(name),
            &[("01-good", &format!("attacks/{attack}.rs"))],
        )
    };
    let exit_zero = copy("exit-zero", "exit-zero");
    let constructor = copy("constructor", "constructor");
    let own_tests = copy("own-tests", "own-tests");
    let holds_pipes = copy("holds-pipes", "holds-the-pipes");
    let floods = copy("floods", "floods-the-output");
    let started = Instant::now();
    let (grades, peak_kib) = grade(
        "attacks",
        &fixtures().join("kit"),
        &[&exit_zero, &constructor, &own_tests, &holds_pipes, &floods],
        &["--lesson", "01"],
    );
    let took = started.elapsed();

    for (learner, why) in [
        ("exit-zero", "std::process::exit(0) in place of the answer"),
        ("constructor", "a load-time constructor exiting 0"),
        ("own-tests", "the learner's own #[test]s"),
    ] {
        let row = row(&grades, learner, "01-good");
        assert_eq!(score(row), (0, 1), "{why} earned a pass: {row:#}");
    }
    let exit_zero = row(&grades, "exit-zero", "01-good");
    assert!(
        exit_zero["tests"][0]["status"] == "failed",
        "an exit without the harness's verdict is a failure: {exit_zero:#}"
    );
    assert_eq!(
        row(&grades, "own-tests", "01-good")["total"],
        1,
        "only the kit's test is counted"
    );
    assert!(
        row(&grades, "constructor", "01-good")["review"]
            .as_array()
            .is_some_and(|r| r
                .iter()
                .any(|l| l.as_str().unwrap().contains("link_section"))),
        "the constructor is pointed out for review"
    );

    // The right answer, with a process left holding the pipes or 300 MB of output.
    for learner in ["holds-pipes", "floods"] {
        let row = row(&grades, learner, "01-good");
        assert_eq!(score(row), (1, 1), "{learner}: {row:#}");
    }
    assert!(
        took < Duration::from_secs(100),
        "a process holding the pipes for 120 s kept grading waiting: {took:?}"
    );
    if cfg!(target_os = "linux") {
        assert!(
            peak_kib < 150 * 1024,
            "300 MB of output grew the grader to {peak_kib} KiB"
        );
    }
}

#[cfg(unix)]
#[test]
fn links_leaving_the_copy_and_link_loops_refuse_that_lesson_only() {
    use std::os::unix::fs::symlink;
    let dir = scratch("links");
    let learner = learner_copy(
        &dir.join("links"),
        &[("03-failing-solution", "learner/lessons/01-good/src/lib.rs")],
    );
    let leaving = learner.join("lessons/01-good/src");
    std::fs::create_dir_all(&leaving).unwrap();
    symlink("/etc/passwd", leaving.join("lib.rs")).unwrap();
    let looping = learner.join("lessons/04-hanging/src");
    std::fs::create_dir_all(&looping).unwrap();
    symlink("lib.rs", looping.join("lib.rs")).unwrap();

    let (grades, _) = grade(
        "links",
        &fixtures().join("kit"),
        &[&learner],
        &["--lesson", "01", "--lesson", "03", "--lesson", "04"],
    );
    let leaving = row(&grades, "links", "01-good");
    assert_eq!(leaving["state"], "refused", "{leaving:#}");
    assert!(
        first_reason(leaving).contains("leaving the copy"),
        "{leaving:#}"
    );
    let looping = row(&grades, "links", "04-hanging");
    assert_eq!(looping["state"], "refused", "{looping:#}");
    assert!(first_reason(looping).contains("loop"), "{looping:#}");
    assert_eq!(
        score(row(&grades, "links", "03-failing-solution")),
        (1, 1),
        "the other lesson is graded as usual"
    );
}

/// The learner's lesson 01 rewrites lesson 03's test binary and the kit's
/// tests; its lesson 03 answers 7, which must fail.
fn rewrite_attack(tag: &str, extra: &[&str]) -> (serde_json::Value, std::path::PathBuf) {
    let dir = scratch(tag);
    let kit = dir.join("kit");
    copy_dir(&fixtures().join("kit"), &kit);
    let learner = learner_copy(
        &dir.join("rewrites"),
        &[
            ("01-good", "attacks/rewrites-the-grading.rs"),
            (
                "03-failing-solution",
                "kit/solutions/03-failing-solution/src/lib.rs",
            ),
        ],
    );
    let mut flags = vec!["--lesson", "01", "--lesson", "03", "--jobs", "1"];
    flags.extend(extra);
    let (grades, _) = grade(tag, &kit, &[&learner], &flags);
    (grades, kit)
}

#[test]
fn learner_code_cannot_change_what_is_graded() {
    if !Path::new("/usr/bin/bwrap").exists() {
        eprintln!("skipped: bubblewrap is not installed, and grading is not sandboxed without it");
        return;
    }
    let (grades, kit) = rewrite_attack("rewrite-sandboxed", &[]);
    assert_eq!(grades["sandboxed"], true);
    assert_eq!(score(row(&grades, "rewrites", "01-good")), (1, 1));
    assert_eq!(
        score(row(&grades, "rewrites", "03-failing-solution")),
        (0, 1),
        "lesson 01's code changed lesson 03's grade: {grades:#}"
    );
    assert!(
        !kit.join("PWNED").exists(),
        "the learner's code wrote into the kit"
    );
    assert_eq!(
        std::fs::read_to_string(kit.join("lessons/03-failing-solution/tests/answer.rs")).unwrap(),
        std::fs::read_to_string(fixtures().join("kit/lessons/03-failing-solution/tests/answer.rs"))
            .unwrap(),
        "the learner's code rewrote the kit's tests"
    );
}

#[test]
fn without_the_sandbox_the_same_attack_succeeds_and_the_report_says_so() {
    // Shows the attack above is real, and what --no-sandbox (or a machine
    // without bubblewrap) gives up.
    let (grades, kit) = rewrite_attack("rewrite-unsandboxed", &["--no-sandbox"]);
    assert_eq!(grades["sandboxed"], false);
    assert_eq!(
        score(row(&grades, "rewrites", "03-failing-solution")),
        (1, 1),
        "unsandboxed, lesson 01's code replaces lesson 03's test binary: {grades:#}"
    );
    assert!(kit.join("PWNED").exists());
}

#[test]
fn a_limit_too_large_is_refused_with_one_line() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["--limit", "18446744073709551615", "verify"])
        .output()
        .expect("xtask runs");
    assert_eq!(output.status.code(), Some(2), "{}", said(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--limit"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The real kit's lesson with loom models, graded sandboxed: the models' nested
/// cargo must find its registry read-only and write only to the lesson's tmp.
/// About two minutes cold (loom in release), so run on demand:
/// `cargo test -p xtask --test grade_attacks -- --ignored`.
#[test]
#[ignore = "builds loom and the real kit's lesson 09 (about two minutes cold)"]
fn the_real_kits_loom_models_run_inside_the_sandbox() {
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = scratch("real-kit");
    let solved = dir.join("solved");
    let starter = dir.join("starter");
    for (copy, from) in [(&solved, "solutions"), (&starter, "lessons")] {
        let src = copy.join("lessons/09-blocking-queue/src");
        copy_dir(&kit.join(from).join("09-blocking-queue/src"), &src);
    }
    let (grades, _) = grade("real-kit", &kit, &[&solved, &starter], &["--lesson", "09"]);
    let solved = row(&grades, "solved", "09-blocking-queue");
    let (passed, total) = score(solved);
    assert!(total > 0 && passed == total, "{solved:#}");
    let starter = row(&grades, "starter", "09-blocking-queue");
    assert_eq!(score(starter).0, 0, "{starter:#}");
}
