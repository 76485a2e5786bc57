//! What the learner sees while a tool works: never a silent wait.
//!
//! On a terminal, a [`Waiting`] line is redrawn in place ten times a second —
//! a spinner, what is going on, the seconds so far. Elsewhere (a log, a pipe,
//! an editor's task runner) it is one line per step, and another every
//! [`STILL_EVERY`] while a step lasts. Both go to stderr, so stdout holds only
//! what the command answers.

use std::io::{IsTerminal as _, Write as _};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often a step that is not drawn on a terminal says it is still going.
pub const STILL_EVERY: Duration = Duration::from_secs(15);

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Whether stderr is a terminal (where a line can be redrawn in place).
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A wait shown to the learner, from [`Waiting::start`] until it is dropped.
pub struct Waiting {
    step: Arc<Mutex<(String, Instant)>>,
    stop: Option<Sender<()>>,
    drawer: Option<JoinHandle<()>>,
    terminal: bool,
}

impl Waiting {
    /// Starts showing `step` ("building lesson 01").
    pub fn start(step: &str) -> Self {
        let terminal = on_terminal();
        let shared = Arc::new(Mutex::new((step.to_string(), Instant::now())));
        if !terminal {
            say(&format!("{step}…"));
        }
        let (stop, stopped) = mpsc::channel();
        let drawer = thread::spawn({
            let shared = Arc::clone(&shared);
            move || draw_until_stopped(&shared, terminal, &stopped)
        });
        Waiting {
            step: shared,
            stop: Some(stop),
            drawer: Some(drawer),
            terminal,
        }
    }

    /// Moves on to the next step.
    pub fn step(&self, step: &str) {
        let mut current = self.step.lock().unwrap_or_else(PoisonError::into_inner);
        if current.0 == step {
            return;
        }
        *current = (step.to_string(), Instant::now());
        if !self.terminal {
            say(&format!("{step}…"));
        }
    }

    /// Changes what the current step says without starting a new one (a count
    /// going up): redrawn on a terminal, not repeated elsewhere.
    pub fn update(&self, step: &str) {
        self.step.lock().unwrap_or_else(PoisonError::into_inner).0 = step.to_string();
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
        }
    }
}

fn draw_until_stopped(
    step: &Mutex<(String, Instant)>,
    terminal: bool,
    stopped: &mpsc::Receiver<()>,
) {
    let tick = if terminal {
        Duration::from_millis(100)
    } else {
        STILL_EVERY
    };
    let mut frame = 0;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
        let (text, since) = step.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let seconds = since.elapsed().as_secs();
        if terminal {
            frame = (frame + 1) % SPINNER.len();
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K  {} {text} ({seconds} s)", SPINNER[frame]);
            let _ = err.flush();
        } else {
            say(&format!("  … still {text} ({seconds} s)"));
        }
    }
    if terminal {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// One line on stderr.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
