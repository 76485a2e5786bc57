//! Memory does not grow with `--items`: items are made lazily and results are
//! folded into counters, so a hundred times more items needs no more memory.

#[cfg(unix)]
#[test]
fn peak_memory_is_flat_in_the_number_of_items() {
    use assert_cmd::cargo::cargo_bin;
    use host::peak_rss_kib;
    use std::process::{Command, Stdio};

    let peak_kib = |items: &str| {
        let (status, kib) = peak_rss_kib(
            Command::new(cargo_bin("queue-sim"))
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
                .stdout(Stdio::null()),
        )
        .expect("the simulator runs");
        assert!(status.success());
        kib as f64
    };
    let small = peak_kib("10000");
    let large = peak_kib("1000000");
    assert!(
        large <= small * 1.5,
        "peak RSS grew from {small} KiB at 10,000 items to {large} KiB at 1,000,000: is something kept per item?"
    );
}
