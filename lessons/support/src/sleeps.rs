//! Counting how often threads went to sleep. Blocking on a channel or condvar
//! costs no CPU and one sleep per wait; a loop that polls burns CPU (the host
//! crate's [`thread_cpu_time`](crate::thread_cpu_time)), or — with a short
//! sleep in it — sleeps hundreds of times a second. Tests of idle waiting
//! read both.

/// How many times this process's threads have gone to sleep so far: the
/// kernel's count of *voluntary* context switches (`getrusage`), which grows
/// each time a thread blocks — on a condvar, a mutex, a channel, a sleep — and
/// is switched out. Subtract two readings to count the sleeps in between.
/// `None` where the count is not available (Windows).
pub fn times_slept() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: rusage is plain data for which all zeroes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage; the call only writes it.
        let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        (status == 0).then_some(usage.ru_nvcsw as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How many times this process's threads have been switched off a core so
/// far, for any reason: each time one went to sleep ([`times_slept`]'s
/// voluntary switches) and each time one was pre-empted while it could still
/// run (the kernel's *involuntary* switches). A loop that waits in short
/// slices shows as one or the other: on a quiet machine each slice parks the
/// thread (voluntary); beside CPU hogs a slice can run past its deadline
/// before the thread gets a core, so it never parks — the scheduler takes
/// the core from it instead (involuntary). A thread blocked in one long wait
/// shows as neither. `None` where the count is not available (Windows).
pub fn times_switched_out() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: rusage is plain data for which all zeroes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage; the call only writes it.
        let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        (status == 0).then_some(usage.ru_nvcsw as u64 + usage.ru_nivcsw as u64)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How many times the *calling thread* has gone to sleep so far: like
/// [`times_slept`], but counting only this thread's voluntary context switches
/// (`getrusage(RUSAGE_THREAD)`), so other threads — other tests running at the
/// same time — do not add to it. `None` where the kernel has no per-thread count
/// (only Linux has one).
pub fn thread_times_slept() -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: rusage is plain data for which all zeroes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage; the call only writes it.
        let status = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
        (status == 0).then_some(usage.ru_nvcsw as u64)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// Says, on the test's output, that a measurement this platform cannot make
/// was skipped — so a green test on such a platform is not mistaken for a
/// checked one.
pub fn skipped(what: &str) {
    println!(
        "skipped on this platform: {what} (measured on Linux and macOS; see the README's Platforms)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    #[test]
    #[cfg(unix)]
    fn a_blocked_thread_counts_as_a_sleep() {
        let before = times_slept().expect("getrusage works on unix");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            drop(tx);
        });
        // Blocks until the sender's thread drops `tx`: at least one sleep.
        assert!(rx.recv().is_err());
        sender.join().unwrap();
        let after = times_slept().unwrap();
        assert!(
            after > before,
            "blocking on a channel for 20 ms was not counted: {before} before, {after} after"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_that_spins_is_switched_out_when_it_must_share_a_core() {
        // As many spinners as cores and one more, for 100 ms: at least one of
        // them cannot have a core to itself and is pre-empted, never parked.
        let spinners = thread::available_parallelism().map_or(2, |n| n.get()) + 1;
        let before = times_switched_out().expect("getrusage works on unix");
        let slept_before = times_slept().unwrap();
        let threads: Vec<_> = (0..spinners)
            .map(|_| {
                thread::spawn(|| {
                    let started = std::time::Instant::now();
                    while started.elapsed() < Duration::from_millis(100) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        for spinner in threads {
            spinner.join().unwrap();
        }
        let switched = times_switched_out().unwrap() - before;
        let slept = times_slept().unwrap() - slept_before;
        assert!(
            switched > slept,
            "{spinners} threads spinning on fewer cores were never pre-empted: {switched} \
             switches in all, {slept} of them sleeps"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_counts_only_its_own_sleeps() {
        let before = thread_times_slept().expect("Linux counts per thread");
        // Another thread sleeping a hundred times must not count here.
        thread::spawn(|| {
            for _ in 0..100 {
                thread::sleep(Duration::from_micros(100));
            }
        })
        .join()
        .unwrap();
        let others = thread_times_slept().unwrap() - before;
        for _ in 0..20 {
            thread::sleep(Duration::from_micros(100));
        }
        let own = thread_times_slept().unwrap() - before - others;
        assert!(
            others <= 2,
            "the other thread's sleeps were counted: {others}"
        );
        assert!(own >= 20, "20 sleeps of this thread counted as {own}");
    }
}
