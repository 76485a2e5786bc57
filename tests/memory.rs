//! Memory does not grow with `--items`: items are made lazily and results are
//! folded into counters, so a hundred times more items needs no more memory.
//!
//! Alone in its own test binary: `getrusage(RUSAGE_CHILDREN)` reports the peak
//! of all children this process has waited for, and other tests' children would
//! muddle it.

#[cfg(target_os = "linux")]
#[test]
fn peak_memory_is_flat_in_the_number_of_items() {
    use assert_cmd::cargo::cargo_bin;
    use std::process::Command;

    let peak_of_children_kib = || {
        // SAFETY: `usage` is a valid, writable rusage; getrusage only writes it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
        assert_eq!(status, 0, "getrusage failed");
        usage.ru_maxrss as f64
    };
    let run = |items: &str| {
        let status = Command::new(cargo_bin("queue-sim"))
            .args([
                "--items",
                items,
                "--processing-time",
                "0",
                "--failure-rate",
                "0.1",
                "--retries",
                "1",
            ])
            .args(["--consumers", "4", "--capacity", "100", "--seed", "1"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    run("10000");
    let small = peak_of_children_kib();
    run("1000000");
    // The figure is a maximum over both children: it exceeds `small` only if the
    // big run peaked higher than the small one.
    let large = peak_of_children_kib();
    assert!(
        large <= small * 1.5,
        "peak RSS grew from {small} KiB at 10,000 items to {large} KiB at 1,000,000: is something kept per item?"
    );
}
