//! The kit's side of `cargo xtask grade`'s verdict channel: how a test binary
//! tells the grader that its test ran to the end, on a channel the code under
//! test does not share by accident.
//!
//! A test's stdout is not a verdict: the code under test can print libtest's
//! own lines (`test x ... ok`) and exit 0. So the grader runs each test with
//! two pipes and [`ENV`] naming them (`"R,W"`). Before `main` — before libtest
//! and before any of the learner's code — [`start`] (a load-time constructor)
//!
//! 1. removes [`ENV`] from the environment (nested processes never see it);
//! 2. reads a secret the grader made for this one run (the *nonce*) from `R`
//!    and closes it;
//! 3. moves `W` to an fd number that depends on the nonce, close-on-exec, so
//!    no child inherits it and nothing can guess it;
//! 4. registers an exit handler ([`MAIN_EXIT`]) that writes `NONCE main-exit
//!    STATUS` to it — only when the process ends on its **main thread**.
//!
//! libtest runs a test on a thread of its own (even with `--test-threads=1`)
//! and returns from `main`, or exits with 101, on the main thread once the test
//! has finished. Learner code that calls `exit` from its threads (any
//! spelling) therefore earns no line; `_exit`, `abort` or a signal earn none
//! either. The grader counts a pass only with exit status 0 **and** its own
//! nonce with status 0 on the pipe. Inside one process nothing is strictly
//! unforgeable — code that reads the process's memory or fds can find the
//! nonce — which is why the grader also flags such code for review.
//!
//! The file depends on nothing but `std` (it declares the few C functions it
//! calls), so a small kit — the grader's own test fixtures — can carry a copy.
//! The channel exists on Linux with glibc; elsewhere [`start`] does nothing
//! and the grader says its verdicts are read from the test's output.

/// The environment variable naming the two inherited fds: `"R,W"`.
pub const ENV: &str = "LESSON_SUPPORT_VERDICT";

/// The word of the one line the exit handler writes: `NONCE main-exit STATUS`.
pub const MAIN_EXIT: &str = "main-exit";

/// The nonce's length in characters (hex digits).
pub const NONCE_LEN: usize = 32;

/// What a test process wrote on its verdict pipe, as the grader reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The process ended on its main thread with this exit status.
    MainExit(i32),
    /// Nothing: the process ended elsewhere (a thread's `exit`, `_exit`, a
    /// signal) or never loaded the kit's side (no lesson-support linked).
    Nothing,
    /// Something other than the one line with this run's nonce.
    Forged,
}

/// Reads what a test process wrote on its verdict pipe (`written`), given the
/// run's `nonce`. Exactly one line, `NONCE main-exit STATUS`, is a verdict.
pub fn read(written: &[u8], nonce: &str) -> Verdict {
    if written.is_empty() {
        return Verdict::Nothing;
    }
    let Ok(text) = std::str::from_utf8(written) else {
        return Verdict::Forged;
    };
    let Some(line) = text.strip_suffix('\n').filter(|l| !l.contains('\n')) else {
        return Verdict::Forged;
    };
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(n), Some(MAIN_EXIT), Some(status), None) if n == nonce => {
            status.parse().map_or(Verdict::Forged, Verdict::MainExit)
        }
        _ => Verdict::Forged,
    }
}

/// Whether `nonce` has the shape the grader makes: [`NONCE_LEN`] hex digits.
pub fn well_formed(nonce: &str) -> bool {
    nonce.len() == NONCE_LEN && nonce.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use channel::start;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod channel {
    use std::ffi::{c_int, c_long, c_void};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI32, Ordering};

    use super::{ENV, MAIN_EXIT, NONCE_LEN, well_formed};

    unsafe extern "C" {
        fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
        fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
        fn close(fd: c_int) -> c_int;
        fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
        fn getpid() -> c_int;
        fn syscall(number: c_long, ...) -> c_long;
        fn on_exit(handler: extern "C" fn(c_int, *mut c_void), arg: *mut c_void) -> c_int;
    }

    const F_DUPFD_CLOEXEC: c_int = 1030;
    #[cfg(target_arch = "x86_64")]
    const SYS_GETTID: c_long = 186;
    #[cfg(target_arch = "aarch64")]
    const SYS_GETTID: c_long = 178;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    const SYS_GETTID: c_long = -1;

    /// The verdict pipe's fd once moved; -1 when there is no channel.
    static VERDICT_FD: AtomicI32 = AtomicI32::new(-1);
    static NONCE: OnceLock<[u8; NONCE_LEN]> = OnceLock::new();

    // The constructor: run by the dynamic loader before `main`, in every binary
    // that links this crate (rustc keeps `#[used]` statics of every crate it
    // links). An `extern "C" fn` pointer in `.init_array` is what C's
    // `__attribute__((constructor))` compiles to.
    #[used]
    #[unsafe(link_section = ".init_array")]
    static CONSTRUCTOR: extern "C" fn() = constructor;

    extern "C" fn constructor() {
        start();
    }

    /// Takes the channel named by [`ENV`], if any: see the module's
    /// documentation. Runs once, before `main`; a later call does nothing.
    pub fn start() {
        let Some(named) = std::env::var_os(ENV) else {
            return;
        };
        // SAFETY: this runs before `main`, when the process has one thread, so
        // nothing can read the environment at the same time.
        unsafe { std::env::remove_var(ENV) };
        let named = named.to_string_lossy().into_owned();
        let Some((r, w)) = named.split_once(',') else {
            return;
        };
        let (Ok(r), Ok(w)) = (r.parse::<c_int>(), w.parse::<c_int>()) else {
            return;
        };
        let mut nonce = [0u8; NONCE_LEN];
        let mut got = 0;
        while got < NONCE_LEN {
            // SAFETY: reads into the unfilled part of a local buffer.
            let n = unsafe { read(r, nonce[got..].as_mut_ptr().cast(), NONCE_LEN - got) };
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        // SAFETY: `r` was handed to this process for this one read.
        unsafe { close(r) };
        if got != NONCE_LEN || !std::str::from_utf8(&nonce).is_ok_and(well_formed) {
            return;
        }
        // Move the pipe to a number no one can guess without the nonce.
        let spread = nonce
            .iter()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(*b as usize));
        let at = 100 + (spread % 800) as c_int;
        // SAFETY: duplicates an fd this process was given; the copy is close-on-exec.
        let moved = unsafe { fcntl(w, F_DUPFD_CLOEXEC, at) };
        // SAFETY: `w` was handed to this process; only its copy is kept.
        unsafe { close(w) };
        if moved < 0 || NONCE.set(nonce).is_err() {
            return;
        }
        VERDICT_FD.store(moved, Ordering::SeqCst);
        // SAFETY: registers a handler with no argument; it lives as long as the process.
        unsafe { on_exit(at_exit, std::ptr::null_mut()) };
    }

    /// Writes `NONCE main-exit STATUS` when the process ends on its main thread.
    extern "C" fn at_exit(status: c_int, _: *mut c_void) {
        let fd = VERDICT_FD.swap(-1, Ordering::SeqCst);
        // SAFETY: two system calls without arguments that touch no memory.
        let main_thread = unsafe { syscall(SYS_GETTID) == c_long::from(getpid()) };
        let Some(nonce) = NONCE.get() else { return };
        if fd < 0 || !main_thread {
            return;
        }
        // Formatted into a buffer on the stack: nothing allocates at exit.
        let mut line = [0u8; NONCE_LEN + 32];
        let mut len = 0;
        let mut push = |bytes: &[u8]| {
            line[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        };
        push(nonce);
        push(b" ");
        push(MAIN_EXIT.as_bytes());
        push(b" ");
        let mut digits = [0u8; 12];
        let mut at = digits.len();
        let mut value = i64::from(status).unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        if status < 0 {
            push(b"-");
        }
        push(&digits[at..]);
        push(b"\n");
        // SAFETY: writes the local buffer to the verdict pipe, then closes it.
        unsafe {
            write(fd, line.as_ptr().cast(), len);
            close(fd);
        }
    }
}

/// Does nothing: the channel needs Linux with glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn start() {}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_one_line_with_the_nonce_is_a_verdict() {
        let line = format!("{NONCE} main-exit 0\n");
        assert_eq!(read(line.as_bytes(), NONCE), Verdict::MainExit(0));
        let failed = format!("{NONCE} main-exit 101\n");
        assert_eq!(read(failed.as_bytes(), NONCE), Verdict::MainExit(101));
    }

    #[test]
    fn anything_else_is_nothing_or_forged() {
        assert_eq!(read(b"", NONCE), Verdict::Nothing);
        let other = "fedcba9876543210fedcba9876543210 main-exit 0\n";
        assert_eq!(read(other.as_bytes(), NONCE), Verdict::Forged);
        let twice = format!("{NONCE} main-exit 0\n{NONCE} main-exit 0\n");
        assert_eq!(read(twice.as_bytes(), NONCE), Verdict::Forged);
        let unended = format!("{NONCE} main-exit 0");
        assert_eq!(read(unended.as_bytes(), NONCE), Verdict::Forged);
    }

    #[test]
    fn a_nonce_is_hex_digits_of_one_length() {
        assert!(well_formed(NONCE));
        assert!(!well_formed("short"));
        assert!(!well_formed(&NONCE.replace('a', "g")));
    }
}
