//! The exit statuses of `queue-sim`, each with what it means: `--help` and the
//! README list them from here.

use std::process::ExitCode;

/// Why a command gave no report: one line for stderr, and the exit status it means.
pub type Failure = (String, Exit);

/// How a run of `queue-sim` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The run finished and its report was written.
    Done,
    /// The run or its output failed: a thread could not start, the broker
    /// failed, or the report or the trace could not be written.
    Failed,
    /// Bad input: the flags were refused before anything ran.
    BadInput,
    /// Interrupted by Ctrl-C (SIGINT), SIGTERM or SIGHUP; the partial
    /// statistics were written. 128 + SIGINT's number, as shells expect.
    Interrupted,
}

impl Exit {
    /// Every status, in the order `--help` lists them.
    pub const ALL: [Exit; 4] = [Exit::Done, Exit::Failed, Exit::BadInput, Exit::Interrupted];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::Interrupted => 130,
        }
    }

    /// What the status means, for `--help`.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Done => "done",
            Exit::Failed => {
                "the run or its output failed: a thread could not start, the broker \
                 (--broker) could not be reached or failed, or the report or the trace \
                 could not be written (one line on stderr; a closed stdout pipe is not a \
                 failure)"
            }
            Exit::BadInput => "bad input, refused before anything ran (one line on stderr)",
            Exit::Interrupted => {
                "interrupted by Ctrl-C (SIGINT), SIGTERM or SIGHUP: partial statistics are \
                 printed; a second signal ends the run at once"
            }
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}
