//! A man in the middle between the code under test and its broker: the
//! adversary for code that talks to a server in several round trips.
//!
//! Code that reads the broker twice (or reads, then writes) is correct only if
//! nothing can happen in between — which, across processes, is never true:
//! another producer, worker or crash can come between any two commands. An
//! [`Interposer`] forwards every command of the connections made through it
//! to the real server, one at a time, and before each one asks the test's
//! hook what to do: let it through ([`Step::Forward`]) after the hook has run
//! whatever commands of its own it likes (another client's step, *between*
//! two of the learner's), or cut the connection there ([`Step::Cut`]: the
//! learner's process dying between two commands).
//!
//! A property then draws *where* the peer steps in — before command 1, 2, …
//! of the call — and checks the outcome is one that some order of whole
//! operations allows. Commands inside MULTI … EXEC are queued by the server
//! and run at EXEC, and a script runs as one command, so atomic code passes
//! wherever the peer steps in; code that relies on two separate commands
//! seeing the same state does not.
//!
//! The wire format is RESP: a client sends each command as an array of bulk
//! strings, which is all this parses (Unix only: the broker fixture listens on
//! a Unix socket there).

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use crate::broker::{BrokerProcess, Endpoint};

/// One command a client sent, as the interposer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Its place among all the commands sent through the interposer: 1, 2, …
    pub number: usize,
    /// The command and its arguments, as sent.
    pub args: Vec<Vec<u8>>,
}

impl Command {
    /// The command's name in capitals: `XLEN`, `EXEC`, `EVAL`.
    pub fn name(&self) -> String {
        self.args
            .first()
            .map(|name| String::from_utf8_lossy(name).to_ascii_uppercase())
            .unwrap_or_default()
    }
}

/// What the interposer does with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sends it on to the server.
    Forward,
    /// Closes the client's connection instead, as if its process had died
    /// just before sending it: the server never sees it.
    Cut,
}

/// The hook a test gives: called before each command, on the interposer's
/// thread, with the client's command still held back.
pub type Hook = Box<dyn FnMut(&Command) -> Step + Send>;

/// A listening interposer; connections made to [`url`](Self::url) reach the
/// broker through it. Stops accepting when dropped.
pub struct Interposer {
    socket: PathBuf,
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Interposer {
    /// Listens on a socket beside the broker's, forwarding to `broker`.
    pub fn start(broker: &BrokerProcess, hook: Hook) -> io::Result<Self> {
        let Endpoint::Unix(target) = broker.endpoint().clone() else {
            return Err(io::Error::other(
                "the interposer needs a broker on a Unix socket",
            ));
        };
        let socket = target.with_file_name(format!(
            "interposer-{}.sock",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let listener = UnixListener::bind(&socket)?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(Mutex::new(Shared { hook, sent: 0 }));
        {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            thread::Builder::new()
                .name("interposer".into())
                .spawn(move || {
                    for client in listener.incoming() {
                        let Ok(client) = client else { return };
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let Ok(server) = UnixStream::connect(&target) else {
                            return;
                        };
                        let (state, seen) = (Arc::clone(&state), Arc::clone(&seen));
                        thread::spawn(move || relay(client, server, &state, &seen));
                    }
                })?;
        }
        Ok(Interposer {
            url: format!("redis+unix://{}", socket.display()),
            socket,
            seen,
            stop,
        })
    }

    /// The URL to connect to instead of the broker's.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The names of the commands sent through so far, in order (for messages:
    /// "your is_finished sent EXISTS, then XLEN").
    pub fn commands(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Interposer {
    fn drop(&mut self) {
        // Wake the accept loop with one last connection, which it sees as the
        // signal to stop; connections already relayed end with their clients.
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The hook and the command count, shared by every connection.
struct Shared {
    hook: Hook,
    sent: usize,
}

/// Copies one connection both ways: replies straight back, commands one at a
/// time through the hook.
fn relay(
    mut client: UnixStream,
    server: UnixStream,
    state: &Mutex<Shared>,
    seen: &Mutex<Vec<String>>,
) {
    let (Ok(mut replies_from), Ok(mut replies_to)) = (server.try_clone(), client.try_clone())
    else {
        return;
    };
    let replies = thread::spawn(move || {
        let _ = io::copy(&mut replies_from, &mut replies_to);
        let _ = replies_to.shutdown(std::net::Shutdown::Both);
    });
    let mut server = server;
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    'reading: loop {
        let read = match client.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        pending.extend_from_slice(&chunk[..read]);
        while let Some((args, length)) = parse_command(&pending) {
            let step = {
                let mut shared = state.lock().unwrap_or_else(PoisonError::into_inner);
                shared.sent += 1;
                let command = Command {
                    number: shared.sent,
                    args,
                };
                seen.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(command.name());
                (shared.hook)(&command)
            };
            match step {
                Step::Forward => {
                    if server.write_all(&pending[..length]).is_err() {
                        break 'reading;
                    }
                    pending.drain(..length);
                }
                Step::Cut => break 'reading,
            }
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    let _ = server.shutdown(std::net::Shutdown::Both);
    let _ = replies.join();
}

/// The first whole command in `bytes` (a RESP array of bulk strings) and how
/// many bytes it takes; `None` until it has all arrived.
fn parse_command(bytes: &[u8]) -> Option<(Vec<Vec<u8>>, usize)> {
    let (count, mut at) = header(bytes, 0, b'*')?;
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        let (length, start) = header(bytes, at, b'$')?;
        let end = start.checked_add(length)?;
        if bytes.len() < end + 2 {
            return None;
        }
        args.push(bytes[start..end].to_vec());
        at = end + 2;
    }
    Some((args, at))
}

/// A `<kind><number>\r\n` line at `at`: the number and where the line ends.
fn header(bytes: &[u8], at: usize, kind: u8) -> Option<(usize, usize)> {
    if *bytes.get(at)? != kind {
        return None;
    }
    let line_end = bytes[at..].windows(2).position(|w| w == b"\r\n")? + at;
    let number = std::str::from_utf8(&bytes[at + 1..line_end])
        .ok()?
        .parse()
        .ok()?;
    Some((number, line_end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_parsed_only_once_it_has_all_arrived() {
        let whole = b"*2\r\n$4\r\nXLEN\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
        let (args, length) = parse_command(whole).expect("a whole command");
        assert_eq!(args, [b"XLEN".to_vec(), b"k".to_vec()]);
        assert_eq!(length, 21);
        assert_eq!(parse_command(&whole[..12]), None);
        assert_eq!(
            parse_command(&whole[length..]).map(|(a, _)| a),
            Some(vec![b"PING".to_vec()])
        );
    }

    /// One command over a raw connection, its reply's first line back.
    fn send(stream: &mut UnixStream, command: &[&str]) -> io::Result<String> {
        let mut wire = format!("*{}\r\n", command.len());
        for arg in command {
            wire.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(wire.as_bytes())?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            if stream.read(&mut byte)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            reply.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&reply).trim_end().to_string())
    }

    #[test]
    fn the_hook_runs_between_two_commands_and_can_cut_the_connection() {
        let broker = match BrokerProcess::start() {
            Ok(broker) => broker,
            Err(crate::broker::BrokerError::NotInstalled)
                if std::env::var("CI").as_deref() != Ok("true") =>
            {
                println!("skipped: redis-server is not installed");
                return;
            }
            Err(other) => panic!("{other}"),
        };
        let Endpoint::Unix(direct) = broker.endpoint().clone() else {
            return;
        };
        let hook: Hook = Box::new(move |command| {
            if command.number == 2 {
                // Another client's step, between the first and second command.
                let mut peer = UnixStream::connect(&direct).unwrap();
                send(&mut peer, &["SET", "k", "peer"]).unwrap();
            }
            if command.number == 3 {
                Step::Cut
            } else {
                Step::Forward
            }
        });
        let interposer = Interposer::start(&broker, hook).unwrap();
        let socket = interposer.url().trim_start_matches("redis+unix://");
        let mut client = UnixStream::connect(socket).unwrap();
        assert_eq!(send(&mut client, &["SET", "k", "mine"]).unwrap(), "+OK");
        assert_eq!(
            send(&mut client, &["GET", "k"]).unwrap(),
            "$4",
            "the peer's SET came between"
        );
        let mut rest = [0u8; 8];
        let _ = client.read(&mut rest); // the value line
        assert!(
            send(&mut client, &["PING"]).is_err(),
            "the third command is cut"
        );
        assert_eq!(interposer.commands(), ["SET", "GET", "PING"]);
    }
}
