//! Where a program of the kit's runs on this machine — its working directory
//! and environment. Building and running tests both take one. (Grading runs
//! learners' code elsewhere: see [`crate::sandbox`].)

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a program runs: on this machine, in a working directory.
#[derive(Debug, Clone, Default)]
pub struct Place {
    cwd: Option<PathBuf>,
}

impl Place {
    /// Directly on this machine, in the current directory.
    pub fn here() -> Self {
        Place::default()
    }

    /// Directly on this machine, with `dir` as the working directory.
    pub fn in_dir(dir: &Path) -> Self {
        Place {
            cwd: Some(dir.to_path_buf()),
        }
    }

    /// A command running `program` here.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new(program.as_ref());
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
            .env("RUST_BACKTRACE", "0")
            .env("CARGO_TERM_COLOR", "never");
        command
    }
}
