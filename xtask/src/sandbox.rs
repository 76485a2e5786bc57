//! Where a learner's code runs when it is graded: inside bubblewrap (`bwrap`)
//! when the machine has it.
//!
//! The sandbox sees the whole file system read-only, a private `/tmp`, a fresh
//! `/dev` and `/proc`, no network, no other processes (a pid namespace of its
//! own, so killing `bwrap` kills everything inside), and no capabilities; it
//! dies with its parent and runs in a new session, so it cannot reach the
//! grader's terminal. Only the mounts a step asks for are writable.
//!
//! The copy being graded is always mounted at the same places ([`KIT`],
//! [`TARGET`]) whichever copy it is. Paths compiled into a test binary
//! (`env!("CARGO_MANIFEST_DIR")`, `CARGO_TARGET_TMPDIR`, which the loom model
//! runner uses) are then the same in every copy, so one copy's build can start
//! from another's and still find its own files.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where the copy of the kit being graded is, inside the sandbox.
pub const KIT: &str = "/tmp/xtask-grade/kit";

/// Where its target dir is, inside the sandbox.
pub const TARGET: &str = "/tmp/xtask-grade/target";

/// The working directory of a process in the sandbox: empty, on the private `/tmp`.
const WORK: &str = "/tmp/xtask-grade/work";

/// One folder made visible inside the sandbox.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The folder on this machine.
    pub outside: PathBuf,
    /// Where the sandbox sees it.
    pub inside: PathBuf,
    /// Whether the sandbox may write to it.
    pub writable: bool,
}

impl Mount {
    /// `outside`, seen read-only at `inside`.
    pub fn read_only(outside: &Path, inside: impl Into<PathBuf>) -> Self {
        Mount {
            outside: outside.to_path_buf(),
            inside: inside.into(),
            writable: false,
        }
    }

    /// `outside`, seen writable at `inside`.
    pub fn writable(outside: &Path, inside: impl Into<PathBuf>) -> Self {
        Mount {
            outside: outside.to_path_buf(),
            inside: inside.into(),
            writable: true,
        }
    }
}

/// A working bubblewrap.
#[derive(Debug, Clone)]
pub struct Bubblewrap {
    program: PathBuf,
}

/// bubblewrap, if it is installed and can make a sandbox here (some
/// containers forbid the namespaces it needs).
pub fn bubblewrap() -> Option<Bubblewrap> {
    let bwrap = Bubblewrap {
        program: PathBuf::from("bwrap"),
    };
    let works = bwrap
        .command(&[], Path::new("true"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    works.then_some(bwrap)
}

impl Bubblewrap {
    /// A command that runs `program` inside a sandbox with `mounts` (applied in
    /// order: a later mount may sit inside an earlier one).
    pub fn command(&self, mounts: &[Mount], program: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(["--ro-bind", "/", "/"])
            .args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"])
            .args(["--unshare-all", "--die-with-parent", "--new-session"])
            .args(["--cap-drop", "ALL"]);
        for mount in mounts {
            let how = if mount.writable {
                "--bind"
            } else {
                "--ro-bind"
            };
            command.arg(how).arg(&mount.outside).arg(&mount.inside);
        }
        command
            .args(["--dir", WORK, "--chdir", WORK])
            .args(["--setenv", "TMPDIR", "/tmp"])
            .arg("--")
            .arg(program);
        command
    }
}

/// A sandbox with its mounts, as a [`Place`](crate::place::Place) runs
/// programs in it.
#[derive(Debug)]
pub struct Sandboxed {
    bwrap: Bubblewrap,
    mounts: Vec<Mount>,
}

impl Sandboxed {
    /// `bwrap`'s sandbox seeing `mounts`.
    pub fn new(bwrap: &Bubblewrap, mounts: Vec<Mount>) -> Self {
        Sandboxed {
            bwrap: bwrap.clone(),
            mounts,
        }
    }
}

impl crate::place::Wrapper for Sandboxed {
    fn command(&self, program: &Path) -> Command {
        self.bwrap.command(&self.mounts, program)
    }
}
