//! Which panics a watchdog may name as the likely cause of a hang: its own
//! test's, never another test's.
//!
//! Under a plain `cargo test`, libtest runs several tests at once, each on a
//! thread of one process named after the test. A panic hook sees every panic
//! of the process, so it must tell whose each one is. A panic counts as a
//! test's when it happened on
//!
//! - the test's own thread, or a thread one of its watches watches (the
//!   watched closure's thread, the handles given to [`join_all`]); or
//! - an unnamed thread (the threads a learner spawns) while the only watches
//!   running belonged to this test — it cannot be another watch's; or
//! - any thread, when libtest runs one test at a time (`--test-threads=1`, as
//!   `cargo xtask watch`, `progress` and `grade` run each test).
//!
//! Any other panic during a watch (a named thread nobody watches: another
//! test's, most often; an unnamed one while other tests watched too) is never
//! quoted: the verdict says a thread panicked that may or may not have been
//! the test's, and where the test's own output shows it.
//!
//! [`join_all`]: crate::join_all

use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once, OnceLock, PoisonError};
use std::thread::{self, ThreadId};

use crate::accounting::shorten;

/// A watch that is running: the thread that waits, the test it waits for
/// (named by its thread), and the threads it watches.
struct Running {
    number: u64,
    waiter: ThreadId,
    test: ThreadId,
    watched: Vec<ThreadId>,
}

/// A panic seen by the hook, with the test it belongs to when that is known.
struct Recorded {
    number: u64,
    text: String,
    owner: Option<ThreadId>,
}

static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());
static RECORDED: Mutex<Vec<Recorded>> = Mutex::new(Vec::new());
/// Numbers panics and watches on one scale: a watch reports the panics
/// numbered after its own start.
static NUMBERED: AtomicU64 = AtomicU64::new(0);

/// How many recorded panics are kept: a few name the cause; a panicking loop
/// must not grow the record.
const KEPT: usize = 16;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One watch, from its start until dropped: the calling thread waits, on
/// behalf of its test, for the threads added with [`Watch::watches`].
pub(crate) struct Watch {
    number: u64,
    test: ThreadId,
}

impl Watch {
    /// Starts a watch on the calling thread (installing the panic recorder on
    /// first use).
    /// A watch started on a thread of a test that is already waiting (a
    /// watched thread, or a learner's thread) waits for that same test.
    pub(crate) fn start() -> Self {
        install();
        let number = NUMBERED.fetch_add(1, Ordering::SeqCst) + 1;
        let current = thread::current();
        let waiter = current.id();
        let mut running = lock(&RUNNING);
        // Strictly here, one test at a time or not: a named thread starting a
        // watch is most likely a test's own thread.
        let test = owner_of(&running, waiter, current.name().is_none(), false).unwrap_or(waiter);
        running.push(Running {
            number,
            waiter,
            test,
            watched: Vec::new(),
        });
        Watch { number, test }
    }

    /// A thread this watch waits for: its panics are the test's.
    pub(crate) fn watches(&self, thread: ThreadId) {
        if let Some(running) = lock(&RUNNING).iter_mut().find(|r| r.number == self.number) {
            running.watched.push(thread);
        }
    }

    /// The opening of a verdict: the test's panics since the watch started
    /// (most likely the cause), or a pointer to the test's own output when
    /// only panics of unknown threads came. Empty when none came.
    pub(crate) fn panics_so_far(&self) -> String {
        let recorded = lock(&RECORDED);
        let since: Vec<&Recorded> = recorded.iter().filter(|r| r.number > self.number).collect();
        let own: Vec<&str> = since
            .iter()
            .filter(|r| r.owner == Some(self.test))
            .map(|r| r.text.as_str())
            .take(3)
            .collect();
        if !own.is_empty() {
            let mut text =
                String::from("A thread panicked while the test waited — most likely the cause:\n");
            for line in own {
                text.push_str("    ");
                text.push_str(&shorten(line, 300));
                text.push('\n');
            }
            text.push_str("Then: ");
            return text;
        }
        if since.iter().any(|r| r.owner.is_none()) {
            return format!(
                "A thread panicked while the test waited, with other tests running beside it: \
                 if it was one of this test's threads, its message is in this test's output \
                 above.{}\nThen: ",
                alone_hint()
            );
        }
        String::new()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock(&RUNNING).retain(|r| r.number != self.number);
    }
}

/// How to run the calling test alone, when that can be said.
fn alone_hint() -> String {
    let current = thread::current();
    let Some(test) = current.name().filter(|name| *name != "main") else {
        return String::new();
    };
    // cargo sets the package's name in the environment of the tests it runs.
    match std::env::var("CARGO_PKG_NAME") {
        Ok(package) => {
            format!(" To run this test alone: cargo test -p {package} -- {test} --exact")
        }
        Err(_) => format!(" To run this test alone, give libtest `{test} --exact`."),
    }
}

/// Installs the panic recorder in front of the hook already there, once.
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            record(info);
            previous(info);
        }));
    });
}

fn record(info: &PanicHookInfo<'_>) {
    let current = thread::current();
    let name = current.name().unwrap_or("<unnamed>");
    let location = info
        .location()
        .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
    let text = format!(
        "thread '{name}' panicked{location}: {}",
        own_part(&crate::panic_message(info.payload()))
    );
    let owner = owner_of(
        &lock(&RUNNING),
        current.id(),
        current.name().is_none(),
        one_test_at_a_time(),
    );
    let number = NUMBERED.fetch_add(1, Ordering::SeqCst) + 1;
    let mut recorded = lock(&RECORDED);
    if recorded.len() >= KEPT {
        recorded.remove(0);
    }
    recorded.push(Recorded {
        number,
        text,
        owner,
    });
}

/// The test thread `id` works for, when it can be told (see the module's
/// documentation); `any_thread`: a named thread nobody watches may be taken
/// for the only test waiting, as when libtest runs one test at a time.
fn owner_of(
    running: &[Running],
    id: ThreadId,
    unnamed: bool,
    any_thread: bool,
) -> Option<ThreadId> {
    if let Some(watch) = running
        .iter()
        .find(|r| r.waiter == id || r.test == id || r.watched.contains(&id))
    {
        return Some(watch.test);
    }
    let mut tests = running.iter().map(|r| r.test);
    let first = tests.next()?;
    let only_one = tests.all(|test| test == first);
    (only_one && (unnamed || any_thread)).then_some(first)
}

/// Whether libtest was told to run one test at a time: no other test's
/// thread can then panic during a watch.
fn one_test_at_a_time() -> bool {
    static ONE: OnceLock<bool> = OnceLock::new();
    *ONE.get_or_init(|| {
        let args: Vec<String> = std::env::args().collect();
        let flag = args.iter().any(|a| a == "--test-threads=1")
            || args
                .windows(2)
                .any(|pair| pair[0] == "--test-threads" && pair[1] == "1");
        flag || std::env::var("RUST_TEST_THREADS").is_ok_and(|n| n.trim() == "1")
    })
}

/// A watchdog's verdict quotes the panics before it; quoting that verdict in
/// turn would nest them. Keep only what the verdict itself says.
fn own_part(message: &str) -> &str {
    if message.contains("while the test waited") {
        message.rsplit("Then: ").next().unwrap_or(message)
    } else {
        message
    }
}
