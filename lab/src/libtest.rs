//! Reading libtest's own verdict on one test run alone (`BINARY NAME --exact`).
//!
//! A test process's exit status is not a verdict: `std::process::exit(0)` from
//! inside the code under test (or from a load-time constructor, before the
//! harness starts) exits 0 having run nothing. A pass is libtest saying so: it
//! ran exactly one test, named `NAME`, which ended `ok`, and its summary reads
//! `1 passed; 0 failed`.

/// What libtest said about one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// libtest ran the test and reported it passed.
    Passed,
    /// libtest ran the test and reported it failed.
    Failed,
    /// libtest gave no verdict on this test: the process ended before the
    /// harness reported, or ran something else.
    Missing,
}

/// libtest's verdict on test `name`, from what the process wrote to stdout
/// (`exited_ok`: its exit status was success).
pub fn verdict(name: &str, stdout: &str, exited_ok: bool) -> Verdict {
    let lines: Vec<&str> = stdout.lines().collect();
    // `#[should_panic]` tests are announced as `test NAME - should panic ... `.
    let started = [
        format!("test {name} ... "),
        format!("test {name} - should panic ... "),
    ];
    let Some(at) = lines
        .iter()
        .position(|line| started.iter().any(|s| line.starts_with(s)))
    else {
        return Verdict::Missing;
    };
    let ran_one = lines[..at].contains(&"running 1 test");
    let summary = lines[at..]
        .iter()
        .rposition(|line| line.starts_with("test result: "))
        .map(|i| lines[at + i]);
    match summary {
        Some(line) if ran_one && exited_ok && passed_one(line) && ended_ok(&lines[at..]) => {
            Verdict::Passed
        }
        Some(line) if line.starts_with("test result: FAILED.") => Verdict::Failed,
        _ => Verdict::Missing,
    }
}

fn passed_one(summary: &str) -> bool {
    summary.starts_with("test result: ok. 1 passed; 0 failed;")
}

/// The test's own result word, which follows `test NAME ... ` (possibly after
/// output the test wrote straight to stdout), is `ok`.
fn ended_ok(from_start: &[&str]) -> bool {
    let before_summary: Vec<&&str> = from_start
        .iter()
        .take_while(|line| !line.starts_with("test result: "))
        .collect();
    before_summary
        .iter()
        .rev()
        .find(|line| !line.trim().is_empty())
        .is_some_and(|line| line.trim_end().ends_with("ok"))
}

/// The sentence for a run with no verdict.
pub fn missing_verdict(exit: &str) -> String {
    format!(
        "the test harness never reported on this test ({exit}): did the code end the process \
         itself (std::process::exit, abort) or before the harness started?"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSED: &str = "\nrunning 1 test\ntest answer::is_42 ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 0.00s\n\n";

    #[test]
    fn a_reported_pass_is_a_pass() {
        assert_eq!(verdict("answer::is_42", PASSED, true), Verdict::Passed);
    }

    #[test]
    fn another_test_passing_is_no_verdict_on_this_one() {
        assert_eq!(verdict("answer::other", PASSED, true), Verdict::Missing);
    }

    #[test]
    fn a_pass_with_a_failing_exit_status_is_no_pass() {
        assert_eq!(verdict("answer::is_42", PASSED, false), Verdict::Missing);
    }

    #[test]
    fn a_should_panic_test_that_panicked_is_a_pass() {
        let passed = PASSED.replace("is_42 ... ok", "is_42 - should panic ... ok");
        assert_eq!(verdict("answer::is_42", &passed, true), Verdict::Passed);
    }

    #[test]
    fn an_early_exit_is_no_verdict() {
        let early = "\nrunning 1 test\ntest answer::is_42 ... ";
        assert_eq!(verdict("answer::is_42", early, true), Verdict::Missing);
        assert_eq!(verdict("answer::is_42", "", true), Verdict::Missing);
    }

    #[test]
    fn a_reported_failure_is_a_failure() {
        let failed = "\nrunning 1 test\ntest answer::is_42 ... FAILED\n\nfailures:\n\n---- answer::is_42 stdout ----\npanicked\n\nfailures:\n    answer::is_42\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        assert_eq!(verdict("answer::is_42", failed, false), Verdict::Failed);
    }

    #[test]
    fn output_written_past_the_capture_does_not_hide_the_verdict() {
        let noisy = "\nrunning 1 test\ntest answer::is_42 ... hello\nworld\nok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        assert_eq!(verdict("answer::is_42", noisy, true), Verdict::Passed);
    }
}
