//! The grader's side of the verdict channel (the kit's side, and why it is
//! there: [`lesson_support::verdict`]).
//!
//! For each test run: a fresh nonce, written into a pipe whose read end the
//! test process inherits; a second pipe whose write end it inherits, read by a
//! thread here into a bounded buffer. The two fds are close-on-exec in the
//! grader, and made inheritable only in the one child that runs the test.

use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use lesson_support::verdict::{self, NONCE_LEN, Verdict};

/// The most the verdict pipe is read: one line is expected.
const MOST: usize = 4096;

/// Whether this platform has the kit's side of the channel.
pub const AVAILABLE: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// One run's channel, before the test starts.
pub struct Channel {
    nonce: String,
    /// The test's ends: the nonce pipe's read end, the verdict pipe's write end.
    theirs: (OwnedFd, OwnedFd),
    written: Arc<Mutex<Vec<u8>>>,
    reader: thread::JoinHandle<()>,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 fills the two-element array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded: both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A nonce nobody can guess: [`NONCE_LEN`] hex digits from the kernel's random source.
fn nonce() -> io::Result<String> {
    let mut bytes = [0u8; NONCE_LEN / 2];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Channel {
    /// A channel for one run: the nonce already in its pipe, the verdict
    /// pipe's reader already listening.
    pub fn open() -> io::Result<Self> {
        let nonce = nonce()?;
        let (nonce_read, nonce_write) = pipe()?;
        File::from(nonce_write).write_all(nonce.as_bytes())?;
        let (verdict_read, verdict_write) = pipe()?;
        let written = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&written);
        let reader = thread::spawn(move || {
            let mut pipe = File::from(verdict_read);
            let mut chunk = [0u8; 512];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                let mut kept = into.lock().unwrap_or_else(PoisonError::into_inner);
                let room = MOST.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        });
        Ok(Channel {
            nonce,
            theirs: (nonce_read, verdict_write),
            written,
            reader,
        })
    }

    /// The variable and value naming the test's two fds.
    pub fn env(&self) -> (String, String) {
        (
            verdict::ENV.to_string(),
            format!(
                "{},{}",
                self.theirs.0.as_raw_fd(),
                self.theirs.1.as_raw_fd()
            ),
        )
    }

    /// Makes the test's two fds inheritable in `command`'s child only.
    pub fn hand_over(&self, command: &mut Command) {
        use std::os::unix::process::CommandExt;
        let fds = [self.theirs.0.as_raw_fd(), self.theirs.1.as_raw_fd()];
        // SAFETY: between fork and exec the closure only calls fcntl (async-
        // signal-safe) on two fds that are open in the child, as in the parent.
        unsafe {
            command.pre_exec(move || {
                for fd in fds {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
    }

    /// What the test wrote, once it has ended: closes the grader's copies of
    /// its fds and waits at most `grace` for the pipe to close (a process it
    /// left behind may hold it open).
    pub fn verdict(self, grace: Duration) -> Verdict {
        drop(self.theirs);
        let until = Instant::now() + grace;
        while !self.reader.is_finished() && Instant::now() < until {
            thread::sleep(Duration::from_millis(2));
        }
        let written = self
            .written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        verdict::read(&written, &self.nonce)
    }
}
