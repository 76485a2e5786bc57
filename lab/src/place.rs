//! Where a program of the kit's runs on this machine — its working directory
//! and environment. Building and running tests both take one. (Grading runs
//! learners' code elsewhere, in xtask's sandbox under limits.)

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a program runs: on this machine, in a working directory, with
/// some variables added to its environment.
#[derive(Debug, Clone, Default)]
pub struct Place {
    cwd: Option<PathBuf>,
    env: Vec<(String, String)>,
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
            ..Place::default()
        }
    }

    /// The same place, with `key=value` in every program's environment.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// A command running `program` here.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut command = Command::new(program.as_ref());
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
            .env("RUST_BACKTRACE", "0")
            .env("CARGO_TERM_COLOR", "never")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}
