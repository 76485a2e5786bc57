//! What the host measures for us: the CPU time a thread has burned (the
//! simulator's spinning work runs on it, the lessons' tests of idle waiting
//! read it), and the peak memory of a child process.

use std::time::Duration;

/// CPU time the calling thread has used so far. Blocking costs none; a loop
/// that polls burns it. `None` where no per-thread clock exists (Linux, macOS
/// and the BSDs have one through `clock_gettime`, Windows through `GetThreadTimes`).
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(unix)]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec; the call only writes it.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        (status == 0).then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
    }
    #[cfg(windows)]
    {
        use windows_sys::Win32::Foundation::FILETIME;
        use windows_sys::Win32::System::Threading::{GetCurrentThread, GetThreadTimes};
        let zero = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
        // SAFETY: the pseudo-handle of the current thread is always valid, and
        // the four FILETIMEs are valid, writable, and only written.
        let ok = unsafe {
            GetThreadTimes(
                GetCurrentThread(),
                &mut created,
                &mut exited,
                &mut kernel,
                &mut user,
            )
        };
        let ticks = |t: FILETIME| (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime);
        // FILETIME counts 100-nanosecond ticks.
        (ok != 0).then(|| Duration::from_nanos((ticks(kernel) + ticks(user)) * 100))
    }
    #[cfg(not(any(unix, windows)))]
    {
        None
    }
}

/// Runs `command` to its end and returns its exit status and its peak
/// resident memory in KiB (`wait4`'s `ru_maxrss`: this child's peak, not
/// muddled by other children). On Linux the figure is never below the
/// caller's own resident size when it spawned the child (exec keeps the
/// high-water mark of the memory it replaces), so measure children that grow
/// well beyond the caller. Unix only; elsewhere an `Unsupported` error.
pub fn peak_rss_kib(
    command: &mut std::process::Command,
) -> std::io::Result<(std::process::ExitStatus, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        let child = command.spawn()?;
        let pid = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;
        let mut status = 0;
        // SAFETY: rusage is plain data for which all zeroes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `usage` are valid and writable; wait4 writes only
        // into them. `child` is dropped without being waited on elsewhere.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited != pid {
            return Err(std::io::Error::last_os_error());
        }
        // Linux and the BSDs count ru_maxrss in KiB; macOS in bytes.
        let peak = usage.ru_maxrss.max(0) as u64;
        let kib = if cfg!(target_os = "macos") {
            peak / 1024
        } else {
            peak
        };
        Ok((std::process::ExitStatus::from_raw(status), kib))
    }
    #[cfg(not(unix))]
    {
        let _ = command;
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "peak memory is measured on Unix only",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Instant;

    #[test]
    #[cfg(unix)]
    fn a_child_s_peak_memory_is_its_own() {
        // The test re-runs itself as the child: told to, it fills 64 MiB.
        match std::env::var("PEAK_RSS_CHILD").as_deref() {
            Ok("big") => {
                std::hint::black_box(vec![1u8; 64 << 20]);
                return;
            }
            Ok(_) => return,
            Err(_) => {}
        }
        let run = |size: &str| {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap());
            child
                .args([
                    "--exact",
                    "measure::tests::a_child_s_peak_memory_is_its_own",
                ])
                .env("PEAK_RSS_CHILD", size)
                .stdout(std::process::Stdio::null());
            let (status, kib) = peak_rss_kib(&mut child).unwrap();
            assert!(status.success());
            kib
        };
        let big = run("big");
        let small = run("small");
        assert!(
            big >= 64 * 1024,
            "a child that filled 64 MiB peaked at {big} KiB"
        );
        // The small child is measured after the big one: its figure is its own
        // (at least this test process's size, see the doc), not the big one's.
        assert!(
            small < big,
            "the small child ({small} KiB) was measured with the big one's peak ({big} KiB)"
        );
    }

    #[test]
    #[cfg(any(unix, windows))]
    fn sleeping_costs_no_cpu_time_and_spinning_does() {
        let before = thread_cpu_time().unwrap();
        thread::sleep(Duration::from_millis(50));
        let slept = thread_cpu_time().unwrap() - before;
        assert!(slept < Duration::from_millis(20), "{slept:?}");
        // Spin until the clock has counted 30 ms of this thread's CPU time. On
        // a loaded machine that takes longer than 30 ms of wall time, but it
        // must come: the clock counts what the thread burns.
        let started = Instant::now();
        while thread_cpu_time().unwrap() - before < Duration::from_millis(30) + slept {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "spinning for 20 s counted less than 30 ms of CPU time"
            );
            std::hint::spin_loop();
        }
    }
}
