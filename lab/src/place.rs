//! Where a program of the kit's runs: directly on this machine, or inside a
//! wrapper such as the grader's bubblewrap sandbox (xtask's `sandbox`) — with
//! its working directory and environment. Building and running tests both
//! take one.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// A program that runs others inside itself: a sandbox.
pub trait Wrapper: Debug + Send + Sync {
    /// A command that runs `program` inside the wrapper.
    fn command(&self, program: &Path) -> Command;
}

/// Where a program runs: on this machine as it is, or inside a [`Wrapper`].
#[derive(Debug, Clone, Default)]
pub struct Place {
    wrapper: Option<Arc<dyn Wrapper>>,
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

    /// Inside `wrapper` (a sandbox).
    pub fn wrapped(wrapper: impl Wrapper + 'static) -> Self {
        Place {
            wrapper: Some(Arc::new(wrapper)),
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
        let mut command = match &self.wrapper {
            Some(wrapper) => wrapper.command(program.as_ref()),
            None => Command::new(program.as_ref()),
        };
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
