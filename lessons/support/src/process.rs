//! Running a child process under a hard time limit, as the model runner does
//! with its nested cargo build and the model binary.
//!
//! The child gets a process group of its own, so the kill at the limit reaches
//! its children too (cargo's rustc processes); its pipes are read into bounded
//! buffers by threads that are never waited on past a short grace period, so a
//! grandchild that inherited them cannot keep the caller waiting.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The most of each pipe that is kept: the end, where the verdicts are.
const KEPT_BYTES: usize = 4 << 20;

/// How a limited run ended.
pub(crate) struct Finished {
    /// The exit status; `None` when the run was killed at its limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to its end or until `limit`. `when_slow` is called once if the
/// run is still going after `slow_after` (to tell the learner why they wait).
pub(crate) fn run_limited(
    mut command: Command,
    limit: Duration,
    slow_after: Duration,
    when_slow: impl FnOnce(),
) -> std::io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let stdout = keep_tail(child.stdout.take());
    let stderr = keep_tail(child.stderr.take());
    let status = wait_or_kill(&mut child, limit, slow_after, when_slow);
    // The child is gone; give its pipes a moment to drain, no more.
    let grace = Instant::now() + Duration::from_millis(500);
    while !(stdout.1.is_finished() && stderr.1.is_finished()) && Instant::now() < grace {
        thread::sleep(Duration::from_millis(5));
    }
    Ok(Finished {
        status,
        stdout: text_of(&stdout.0),
        stderr: text_of(&stderr.0),
    })
}

type Tail = Arc<Mutex<Vec<u8>>>;

fn keep_tail(pipe: Option<impl Read + Send + 'static>) -> (Tail, thread::JoinHandle<()>) {
    let kept: Tail = Arc::default();
    let writer = Arc::clone(&kept);
    let reader = thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            let mut kept = writer.lock().unwrap_or_else(PoisonError::into_inner);
            kept.extend_from_slice(&chunk[..n]);
            if kept.len() > KEPT_BYTES {
                let excess = kept.len() - KEPT_BYTES;
                kept.drain(..excess);
            }
        }
    });
    (kept, reader)
}

fn text_of(tail: &Tail) -> String {
    String::from_utf8_lossy(&tail.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

fn wait_or_kill(
    child: &mut Child,
    limit: Duration,
    slow_after: Duration,
    when_slow: impl FnOnce(),
) -> Option<ExitStatus> {
    let started = Instant::now();
    let mut when_slow = Some(when_slow);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let waited = started.elapsed();
        if waited >= limit {
            kill_group(child);
            return None;
        }
        if waited >= slow_after
            && let Some(tell) = when_slow.take()
        {
            tell();
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        // The child leads its own process group: its pid is the group's id.
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill() with a negative pid signals that process group; no memory is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
