//! A failing check points at the test that called it, not into lesson-support:
//! every public function that can fail a test is `#[track_caller]`.

use std::panic;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use lesson_support::{assert_each_exactly_once, finishes_within, join_all_within, wait_until};

static LOCATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Runs `check`, which must fail, and returns the file its panic named.
fn failing_location(check: impl FnOnce() + panic::UnwindSafe) -> String {
    panic::set_hook(Box::new(|info| {
        if let Some(location) = info.location() {
            LOCATIONS.lock().unwrap().push(location.file().to_string());
        }
    }));
    let outcome = panic::catch_unwind(check);
    let _ = panic::take_hook();
    assert!(outcome.is_err(), "the check was meant to fail");
    LOCATIONS
        .lock()
        .unwrap()
        .pop()
        .expect("the failure was seen")
}

#[test]
fn every_failing_check_names_the_calling_test() {
    let hang = failing_location(|| {
        finishes_within(Duration::from_millis(20), "a sleeper", "hint", || {
            thread::sleep(Duration::from_secs(60))
        })
    });
    let straggler = failing_location(|| {
        let stuck = thread::spawn(|| thread::sleep(Duration::from_secs(60)));
        join_all_within(Duration::from_millis(20), vec![stuck], "workers", "hint");
    });
    let lost = failing_location(|| assert_each_exactly_once([1, 2], [1], "run"));
    let never = failing_location(wait_until_never);
    for file in [hang, straggler, lost, never] {
        assert!(
            file.ends_with("locations.rs"),
            "a failure pointed at {file}"
        );
    }
}

fn wait_until_never() {
    // A short stand-in for BUDGET would need another API; the real one is 5 s.
    wait_until("a condition that never holds", || false);
}
