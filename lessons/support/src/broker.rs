//! A real Redis for a test: `redis-server` started in a temporary folder of its
//! own, ready once it answers PING, and killed when the test is done.
//!
//! Lessons and simulator tests that go through a broker run against the real
//! thing, not a mock: what they teach (acknowledgements, pending entries,
//! delivery counts) is the server's behaviour. Each test gets a server of its
//! own — it starts in tens of milliseconds — so tests never share streams and a
//! test may kill its broker on purpose.
//!
//! Nothing here speaks more Redis than PING (written by hand), so this crate
//! does not depend on a Redis client: a test connects with whatever client it
//! uses, to [`BrokerProcess::url`].
//!
//! The server never outlives the test process: it is killed by its PID when the
//! [`BrokerProcess`] is dropped, and on Linux the kernel kills it too if the
//! test process dies first (killed at a time limit, say), which no `Drop` sees.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Starts a child that cannot outlive this process (the host crate's, here
/// too for the tests and examples that start a broker's workers).
pub use host::process::spawn_tied;

/// The server program, looked up on `PATH`.
pub const SERVER: &str = "redis-server";

/// How long a server may take to answer its first PING. It needs ~15–40 ms; a
/// loaded machine, far more.
pub const READY_WITHIN: Duration = Duration::from_secs(10);

/// The port a Redis someone else runs listens on by default: never used here,
/// so a test can never touch (or be confused by) a developer's own server.
const DEFAULT_REDIS_PORT: u16 = 6379;

/// How many free TCP ports are tried before giving up: another process can take
/// the port between the moment it is found free and the server binding it.
const PORT_TRIES: usize = 5;

/// The start of every server folder's name; the test process's id follows.
const DIR_PREFIX: &str = "lab-redis-";

/// How many lines of the server's log a failure shows.
const LOG_LINES_SHOWN: usize = 12;

/// Where a started server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix domain socket (the default on Unix: no port to find or collide on).
    Unix(PathBuf),
    /// A TCP port on 127.0.0.1.
    Tcp(SocketAddr),
}

/// Why no server could be had.
#[derive(Debug)]
pub enum BrokerError {
    /// `redis-server` is not on `PATH`.
    NotInstalled,
    /// It is installed but did not start, or did not answer PING in time.
    Failed {
        /// What went wrong, in a sentence.
        what: String,
        /// The end of the server's log, where it says why.
        log: String,
    },
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::NotInstalled => write!(
                f,
                "install redis-server: these tests run a real Redis, and `{SERVER}` is not on \
                 PATH (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install \
                 redis`). No test can pass without it."
            ),
            BrokerError::Failed { what, log } if log.trim().is_empty() => write!(f, "{what}"),
            BrokerError::Failed { what, log } => {
                write!(f, "{what}\n  the end of redis-server's log:\n{log}")
            }
        }
    }
}

impl std::error::Error for BrokerError {}

/// A `redis-server` of the test's own, in a temporary folder, persisting nothing.
#[derive(Debug)]
pub struct BrokerProcess {
    child: Child,
    dir: PathBuf,
    endpoint: Endpoint,
    url: String,
    started_in: Duration,
}

impl BrokerProcess {
    /// Starts a server and waits until it answers PING: on a Unix socket where
    /// there are Unix sockets, else on a free TCP port of 127.0.0.1.
    pub fn start() -> Result<Self, BrokerError> {
        #[cfg(unix)]
        {
            let dir = fresh_dir()?;
            let socket = dir.join("redis.sock");
            let mut command = server_command(&dir);
            command.args(["--port", "0", "--unixsocket"]).arg(&socket);
            Self::launch(command, dir, Endpoint::Unix(socket))
        }
        #[cfg(not(unix))]
        {
            Self::start_tcp()
        }
    }

    /// Starts a server on a free TCP port of 127.0.0.1 (never 6379), trying
    /// another port if the one found free is taken before the server binds it.
    pub fn start_tcp() -> Result<Self, BrokerError> {
        let mut last_failure = None;
        for _ in 0..PORT_TRIES {
            let port = free_port()?;
            let dir = fresh_dir()?;
            let mut command = server_command(&dir);
            command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            match Self::launch(command, dir, Endpoint::Tcp(address)) {
                Err(BrokerError::Failed { what, log })
                    if log.contains("Address already in use") =>
                {
                    last_failure = Some(BrokerError::Failed { what, log });
                }
                other => return other,
            }
        }
        Err(last_failure.expect("at least one port was tried"))
    }

    /// [`start`](Self::start), failing the test with the reason — for tests that
    /// cannot mean anything without a broker (a lesson's: "install
    /// redis-server: …" when it is missing).
    #[track_caller]
    pub fn started() -> Self {
        Self::start().unwrap_or_else(|error| panic!("{error}"))
    }

    fn launch(command: Command, dir: PathBuf, endpoint: Endpoint) -> Result<Self, BrokerError> {
        let url = match &endpoint {
            Endpoint::Unix(socket) => format!("redis+unix://{}", socket.display()),
            Endpoint::Tcp(address) => format!("redis://{address}"),
        };
        let began = Instant::now();
        let child = match spawn_tied(command) {
            Ok(child) => child,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let _ = fs::remove_dir_all(&dir);
                return Err(BrokerError::NotInstalled);
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(BrokerError::Failed {
                    what: format!("could not start {SERVER}: {e}"),
                    log: String::new(),
                });
            }
        };
        // From here on, dropping `broker` kills the child and removes the folder.
        let mut broker = BrokerProcess {
            child,
            dir,
            endpoint,
            url,
            started_in: Duration::ZERO,
        };
        loop {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(BrokerError::Failed {
                    what: format!("{SERVER} exited at start ({status})"),
                    log: broker.log(),
                });
            }
            if broker.ping() {
                broker.started_in = began.elapsed();
                return Ok(broker);
            }
            if began.elapsed() > READY_WITHIN {
                return Err(BrokerError::Failed {
                    what: format!(
                        "{SERVER} (pid {}) did not answer PING within {READY_WITHIN:?}",
                        broker.pid()
                    ),
                    log: broker.log(),
                });
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// The URL a client connects to: `redis+unix:///…/redis.sock` or
    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the server listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How long the server took from being started to answering PING.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Whether the server answers PING now (within half a second).
    pub fn ping(&self) -> bool {
        ping(&self.endpoint, Duration::from_millis(500)).unwrap_or(false)
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the server now, by its PID (SIGKILL: no goodbye to its clients):
    /// for tests of what happens when the broker goes away. Dropping does the
    /// same; stopping twice is harmless.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes the server (SIGSTOP) until [`resume`](Self::resume) or drop: a
    /// broker that *hangs* rather than dies. Its sockets stay open and accept
    /// nothing, so a client's command waits for a reply that does not come —
    /// the adversary for code that waits on a broker with no limit, or that
    /// retries it for ever. Does nothing where there are no signals.
    pub fn pause(&mut self) {
        #[cfg(unix)]
        self.signal(libc::SIGSTOP);
    }

    /// Lets a [`pause`](Self::pause)d server run again (SIGCONT).
    pub fn resume(&mut self) {
        #[cfg(unix)]
        self.signal(libc::SIGCONT);
    }

    #[cfg(unix)]
    fn signal(&mut self, signal: libc::c_int) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id())
            && self.is_running()
        {
            // SAFETY: kill() with a pid of our own live child and a valid signal.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// The last lines of the server's log (and of anything it wrote to stderr
    /// before its log file was open).
    pub fn log(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        for file in ["stderr", "log"] {
            if let Ok(text) = fs::read_to_string(self.dir.join(file)) {
                lines.extend(text.lines().map(|line| format!("    {line}")));
            }
        }
        let from = lines.len().saturating_sub(LOG_LINES_SHOWN);
        lines[from..].join("\n")
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        // A paused server would not die of SIGKILL any later, but its clients
        // (and the log below) are better served by a running one.
        self.resume();
        // A server that died under a failing test is usually the reason it
        // failed: say so, with the server's own last words.
        if thread::panicking() && !self.is_running() {
            eprintln!(
                "note: {SERVER} (pid {}) had exited before the test ended; its log:\n{}",
                self.pid(),
                self.log()
            );
        }
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `redis-server` with everything that makes it a throwaway: working folder
/// `dir`, no snapshots, no append-only file, its log in `dir/log`.
fn server_command(dir: &Path) -> Command {
    let mut command = Command::new(SERVER);
    command
        .arg("--dir")
        .arg(dir)
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .arg("--logfile")
        .arg(dir.join("log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    match fs::File::create(dir.join("stderr")) {
        Ok(file) => command.stderr(file),
        Err(_) => command.stderr(Stdio::null()),
    };
    command
}

/// A new, empty folder for one server: short, because a Unix socket's path may
/// be at most ~100 bytes long.
fn fresh_dir() -> Result<PathBuf, BrokerError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir();
    let base = if base.as_os_str().len() > 60 {
        PathBuf::from("/tmp")
    } else {
        base
    };
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| sweep_leftovers(&base));
    let dir = base.join(format!(
        "{DIR_PREFIX}{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| BrokerError::Failed {
        what: format!("cannot create {}: {e}", dir.display()),
        log: String::new(),
    })?;
    Ok(dir)
}

/// Removes the folders of servers whose test process is gone: one killed at a
/// time limit ran no `Drop` to remove its own.
fn sweep_leftovers(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        let status = unsafe { libc::kill(pid, 0) };
        status == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, never Redis's default.
fn free_port() -> Result<u16, BrokerError> {
    for _ in 0..PORT_TRIES {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| BrokerError::Failed {
                what: format!("cannot find a free port on 127.0.0.1: {e}"),
                log: String::new(),
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        if port != 0 && port != DEFAULT_REDIS_PORT {
            return Ok(port);
        }
    }
    Err(BrokerError::Failed {
        what: "the system kept offering no usable port".into(),
        log: String::new(),
    })
}

/// Sends PING in Redis's wire format and says whether `+PONG` came back within
/// `timeout`.
pub fn ping(endpoint: &Endpoint, timeout: Duration) -> io::Result<bool> {
    fn exchange(stream: &mut (impl Read + Write)) -> io::Result<bool> {
        stream.write_all(b"*1\r\n$4\r\nPING\r\n")?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply)?;
        Ok(&reply == b"+PONG\r\n")
    }
    match endpoint {
        #[cfg(unix)]
        Endpoint::Unix(socket) => {
            let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            exchange(&mut stream)
        }
        #[cfg(not(unix))]
        Endpoint::Unix(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no Unix sockets on this platform",
        )),
        Endpoint::Tcp(address) => {
            let mut stream = TcpStream::connect_timeout(address, timeout)?;
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            exchange(&mut stream)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a server, or says the test was skipped where none is installed
    /// (this crate's own suite runs on machines without Redis; lessons that
    /// need one fail instead, through [`BrokerProcess::started`]). Under CI
    /// (`CI=true`), which installs Redis, a missing server fails the test.
    fn start(tcp: bool) -> Option<BrokerProcess> {
        let started = if tcp {
            BrokerProcess::start_tcp()
        } else {
            BrokerProcess::start()
        };
        match started {
            Ok(broker) => Some(broker),
            Err(BrokerError::NotInstalled) if std::env::var("CI").as_deref() != Ok("true") => {
                println!("skipped: {SERVER} is not installed");
                None
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn a_started_server_answers_and_is_gone_after_drop() {
        let Some(broker) = start(false) else { return };
        assert!(broker.ping());
        assert!(broker.url().starts_with("redis"), "{}", broker.url());
        let (endpoint, dir) = (broker.endpoint().clone(), broker.dir.clone());
        drop(broker);
        assert!(!ping(&endpoint, Duration::from_millis(200)).unwrap_or(false));
        assert!(!dir.exists(), "the server's folder was left behind");
    }

    #[test]
    fn tcp_mode_listens_on_loopback_never_on_the_default_port() {
        let Some(broker) = start(true) else { return };
        let Endpoint::Tcp(address) = broker.endpoint() else {
            panic!("asked for TCP, got {:?}", broker.endpoint())
        };
        assert!(address.ip().is_loopback());
        assert_ne!(address.port(), DEFAULT_REDIS_PORT);
        assert_eq!(broker.url(), format!("redis://{address}"));
        assert!(broker.ping());
    }

    #[test]
    fn a_stopped_server_stops_answering_at_once() {
        let Some(mut broker) = start(false) else {
            return;
        };
        broker.stop();
        assert!(!broker.is_running());
        assert!(!broker.ping());
        broker.stop();
    }

    #[test]
    fn a_paused_server_answers_nothing_until_resumed() {
        let Some(mut broker) = start(false) else {
            return;
        };
        broker.pause();
        assert!(broker.is_running(), "a paused server is still there");
        assert!(!broker.ping(), "a paused server must not answer");
        broker.resume();
        assert!(broker.ping(), "a resumed server answers again");
    }

    #[test]
    fn missing_redis_says_what_to_install() {
        let text = BrokerError::NotInstalled.to_string();
        assert!(text.starts_with("install redis-server: "), "{text}");
    }
}
