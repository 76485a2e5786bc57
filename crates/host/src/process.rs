//! Running a child process that may misbehave — hang, flood its output, leave
//! children behind holding its pipes — without letting it stop or exhaust the
//! caller: a learner's tests under `cargo xtask grade` and `progress`, the
//! nested cargo build and run of a lesson's loom models.
//!
//! - The child leads a process group of its own, and the whole group is killed
//!   at the limit (a test's helper processes and cargo's rustc go with it).
//! - Its pipes are read by threads into bounded buffers: the first
//!   [`HEAD_BYTES`] and the last [`TAIL_BYTES`] of each stream are kept, the
//!   middle is counted and dropped, so 300 MB of output costs nothing.
//! - Once the child has exited (or been killed), its pipes get a short grace
//!   period to drain, no more: a grandchild that escaped the group and still
//!   holds them cannot keep the caller waiting.
//! - On Unix, resource limits are set in the child before it starts: no core
//!   dumps, and no single file larger than [`MAX_FILE_BYTES`].

use std::io::{self, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// The start of each stream that is kept: where libtest names the test it runs.
pub const HEAD_BYTES: usize = 16 << 10;

/// The end of each stream that is kept: where the verdicts are.
pub const TAIL_BYTES: usize = 256 << 10;

/// The largest file a limited process may write (a runaway log, a full disk).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// How long the pipes may stay open after the child has gone.
const DRAIN_GRACE: Duration = Duration::from_millis(300);

/// How a limited run ended.
#[derive(Debug)]
pub struct Finished {
    /// The exit status; `None` when the run was killed at its limit.
    pub status: Option<ExitStatus>,
    /// What it wrote to stdout (head and tail, see [`Output`]).
    pub stdout: Output,
    /// What it wrote to stderr.
    pub stderr: Output,
    /// Wall-clock time until it exited or was killed.
    pub duration: Duration,
}

/// What a process wrote to one stream, bounded: the first [`HEAD_BYTES`], the
/// last [`TAIL_BYTES`], and how much was dropped between them.
#[derive(Debug, Default, Clone)]
pub struct Output {
    head: Vec<u8>,
    tail: Vec<u8>,
    dropped: u64,
}

impl Output {
    fn push(&mut self, mut bytes: &[u8]) {
        let room = HEAD_BYTES.saturating_sub(self.head.len());
        let into_head = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > TAIL_BYTES * 2 {
            // Trim in big steps so a flood costs amortized O(1) per byte.
            let excess = self.tail.len() - TAIL_BYTES;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Bytes written that were not kept.
    pub fn dropped(&self) -> u64 {
        let excess = self.tail.len().saturating_sub(TAIL_BYTES);
        self.dropped + excess as u64
    }

    /// The kept text; a line saying how much was left out stands where it was.
    pub fn text(&self) -> String {
        let tail = &self.tail[self.tail.len().saturating_sub(TAIL_BYTES)..];
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        let dropped = self.dropped();
        if dropped > 0 {
            text.push_str(&format!("\n[… {dropped} bytes of output left out …]\n"));
        }
        text.push_str(&String::from_utf8_lossy(tail));
        text
    }
}

/// Runs `command` to its end or until `limit`, whichever comes first, with its
/// output bounded. `when_slow` is called once if it is still running after
/// `slow_after` (to say why the caller waits).
pub fn run_limited(
    mut command: Command,
    limit: Duration,
    slow_after: Duration,
    when_slow: impl FnOnce(),
) -> io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    isolate_group(&mut command);
    let started = Instant::now();
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .map_err(|e| std::io::Error::new(e.kind(), format!("could not start {program}: {e}")))?;
    let _live = Live::register(&child);
    let stdout = keep_bounded(child.stdout.take());
    let stderr = keep_bounded(child.stderr.take());
    let status = wait_or_kill(&mut child, limit, slow_after, when_slow);
    let duration = started.elapsed();
    let grace = Instant::now() + DRAIN_GRACE;
    while !(stdout.1.is_finished() && stderr.1.is_finished()) && Instant::now() < grace {
        thread::sleep(Duration::from_millis(2));
    }
    // Readers still blocked here belong to an escaped grandchild: leave them.
    Ok(Finished {
        status,
        stdout: snapshot(&stdout.0),
        stderr: snapshot(&stderr.0),
        duration,
    })
}

/// The process groups of the children running now, so that an interrupt can
/// end them: each leads its own group, which Ctrl-C does not reach. Slots of
/// atomics rather than a locked list, so that a signal handler may read them.
static LIVE: [AtomicU32; LIVE_SLOTS] = [const { AtomicU32::new(0) }; LIVE_SLOTS];

/// More children than any of the kit's tools runs at once.
const LIVE_SLOTS: usize = 64;

/// A child's slot in [`LIVE`], emptied when dropped.
struct Live(Option<usize>);

impl Live {
    fn register(child: &Child) -> Self {
        let id = child.id();
        let slot = LIVE.iter().position(|slot| {
            slot.compare_exchange(0, id, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        });
        Live(slot)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            LIVE[slot].store(0, Ordering::SeqCst);
        }
    }
}

/// Kills every child running now, with its group: for an interrupted command,
/// which would otherwise leave them running until their limits.
pub fn kill_all() {
    for slot in &LIVE {
        let id = slot.load(Ordering::SeqCst);
        if id != 0 {
            kill_group_of(id);
        }
    }
}

/// From now on, Ctrl-C (SIGINT), SIGTERM and SIGHUP end this process with
/// status 130 after killing every child [`run_limited`] is running, with its
/// group: a tool's builds and tests would otherwise outlive it. Does nothing
/// off Unix, where a console's Ctrl-C reaches the children too.
pub fn end_children_on_interrupt() {
    #[cfg(unix)]
    {
        extern "C" fn on_signal(_: libc::c_int) {
            // Only async-signal-safe work: atomic loads, kill(2) and _exit(2).
            kill_all();
            // SAFETY: _exit ends the process at once, running nothing else.
            unsafe { libc::_exit(130) }
        }
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: the handler only reads atomics and makes the system calls
            // kill and _exit, all async-signal-safe; `action` is fully set up.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }
}

/// Makes `command` run at the lowest scheduling priority (nice 19), for
/// background work the learner did not ask for and must not feel: the build
/// and whatever it starts inherit it. Does nothing off Unix.
pub fn lower_priority(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the child between fork and exec and only
        // calls setpriority, a system call that touches no memory of the parent's.
        unsafe {
            command.pre_exec(|| {
                libc::setpriority(libc::PRIO_PROCESS, 0, 19);
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}

/// Gives the child a process group of its own and its resource limits.
fn isolate_group(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        // SAFETY: the closure runs in the child between fork and exec and only
        // calls setrlimit, which is async-signal-safe; it touches no memory of
        // the parent's that another thread could hold locked.
        unsafe {
            command.pre_exec(|| {
                let no_core = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                let file_size = libc::rlimit {
                    rlim_cur: MAX_FILE_BYTES as libc::rlim_t,
                    rlim_max: MAX_FILE_BYTES as libc::rlim_t,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                libc::setrlimit(libc::RLIMIT_FSIZE, &file_size);
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = command;
}

type Shared = Arc<Mutex<Output>>;

fn keep_bounded(pipe: Option<impl Read + Send + 'static>) -> (Shared, thread::JoinHandle<()>) {
    let kept: Shared = Arc::default();
    let writer = Arc::clone(&kept);
    let reader = thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = vec![0u8; 64 << 10];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(&chunk[..n]);
        }
    });
    (kept, reader)
}

fn snapshot(kept: &Shared) -> Output {
    kept.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

fn wait_or_kill(
    child: &mut Child,
    limit: Duration,
    slow_after: Duration,
    when_slow: impl FnOnce(),
) -> Option<ExitStatus> {
    let started = Instant::now();
    let mut when_slow = Some(when_slow);
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                // The child is gone; whatever it left in its group goes too.
                kill_group(child);
                return Some(status);
            }
            Ok(None) => {}
            Err(_) => {
                kill_group(child);
                let _ = child.wait();
                return None;
            }
        }
        let waited = started.elapsed();
        if waited >= limit {
            kill_group(child);
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        if waited >= slow_after
            && let Some(tell) = when_slow.take()
        {
            tell();
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Kills every process left in the child's group (the child leads it, so its
/// pid is the group's id).
fn kill_group(child: &Child) {
    kill_group_of(child.id());
}

fn kill_group_of(id: u32) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(id) {
        // SAFETY: kill() with a negative pid signals that process group; no
        // memory is involved. While the group has members its id cannot be
        // reused, so this reaches our group or, when it is empty, nobody.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = id;
}

/// Starts `command` as a child process that cannot outlive this one: on Linux
/// the kernel kills it (SIGKILL) when this process ends, however it ends —
/// a test binary killed at its time limit runs no `Drop`. Elsewhere, kill it
/// yourself (as lesson-support's `BrokerProcess` does on drop).
///
/// For a server, or for worker processes a test or an example starts to show
/// work crossing a process boundary.
pub fn spawn_tied(mut command: Command) -> io::Result<Child> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec and calls
        // only async-signal-safe functions (prctl, getppid, _exit).
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        // The kernel sends the signal when the *thread* that forked the child
        // ends, not the process. Test threads end with their test, so every
        // child is forked by one thread that lives as long as the process.
        spawn_from_lasting_thread(command)
    }
    #[cfg(not(target_os = "linux"))]
    {
        command.spawn()
    }
}

#[cfg(target_os = "linux")]
fn spawn_from_lasting_thread(command: Command) -> io::Result<Child> {
    use std::sync::mpsc::{self, Sender};
    use std::sync::{Mutex, OnceLock, PoisonError};

    type Request = (Command, Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("host: child spawner".into())
            .spawn(move || {
                // Never returns: the sender lives in a static.
                for (mut command, reply) in incoming {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("could not start the child-spawner thread");
        Mutex::new(requests)
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send((command, reply))
        .map_err(|_| io::Error::other("the child-spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the child-spawner thread is gone"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_keeps_its_head_and_tail_and_counts_the_rest() {
        let mut output = Output::default();
        output.push(b"running 1 test\n");
        for _ in 0..10_000 {
            output.push(&[b'x'; 1000]);
        }
        output.push(b"\ntest result: ok.\n");
        let text = output.text();
        assert!(text.starts_with("running 1 test\n"));
        assert!(text.ends_with("test result: ok.\n"));
        assert!(text.len() < HEAD_BYTES + TAIL_BYTES + 100);
        assert_eq!(
            output.dropped(),
            15 + 10_000_000 + 18 - (HEAD_BYTES + TAIL_BYTES) as u64
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_background_child_holding_the_pipes_does_not_keep_the_caller_waiting() {
        let mut command = Command::new("sh");
        // setsid puts the sleeper outside the group: only the pipe deadline helps.
        command.args(["-c", "setsid sleep 30 & echo started"]);
        let started = Instant::now();
        let finished =
            run_limited(command, Duration::from_secs(10), Duration::MAX, || ()).expect("sh runs");
        assert!(finished.status.is_some_and(|s| s.success()));
        assert!(finished.stdout.text().contains("started"));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_whole_group_is_killed_at_the_limit() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & sleep 30"]);
        let started = Instant::now();
        let finished = run_limited(command, Duration::from_millis(300), Duration::MAX, || ())
            .expect("sh runs");
        assert!(finished.status.is_none(), "killed at the limit");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}
