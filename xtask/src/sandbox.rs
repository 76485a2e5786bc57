//! Where a learner's code runs when it is graded: inside bubblewrap (`bwrap`)
//! when the machine has it, seeing only what a lesson needs.
//!
//! A sandbox sees, read-only: `/usr` and the `/bin`, `/lib*` links into it;
//! from `/etc` only what the dynamic linker and the C compiler's `cc` link
//! need; the Rust toolchain (at [`TOOLCHAIN`]); the cargo registry and git
//! checkouts (at [`CARGO_HOME`], without credentials or installed binaries);
//! and the copy being graded at [`KIT`]. Nothing else of the machine: not the
//! kit's `solutions/`, not other copies, not `/root`, `/home`, `/var`, `/run`.
//! Its `/tmp` is a fresh tmpfs of a fixed size; `/dev` and `/proc` are its own.
//! It has no network of any kind (its own network namespace, and no host
//! folder that could hold a Unix socket), no other processes (its own pid
//! namespace, so killing `bwrap` kills everything inside), no capabilities, an
//! environment cleared to what cargo and the tests need, and a new session,
//! so it cannot reach the grader's terminal. It dies with the grader.
//!
//! The copy is always mounted at the same places ([`KIT`], [`TARGET`])
//! whichever copy it is. Paths compiled into a test binary
//! (`env!("CARGO_MANIFEST_DIR")`, `CARGO_TARGET_TMPDIR`) are then the same in
//! every copy, so one copy's build can start from another's.
//!
//! Without bubblewrap ([`Sandbox::none`]) the same commands run directly, with
//! the grader's permissions and environment, at the copy's real paths.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// Where the copy of the kit being graded is, inside the sandbox.
pub const KIT: &str = "/tmp/xtask-grade/kit";

/// Where its target dir is, inside the sandbox.
pub const TARGET: &str = "/tmp/xtask-grade/target";

/// The working directory of a process in the sandbox: on its private `/tmp`.
const WORK: &str = "/tmp/xtask-grade/work";

/// `HOME` inside the sandbox: an empty folder on its private `/tmp`.
const HOME: &str = "/tmp/xtask-grade/home";

/// Where the Rust toolchain (its sysroot) is, inside the sandbox.
const TOOLCHAIN: &str = "/opt/xtask-grade/toolchain";

/// `CARGO_HOME` inside the sandbox: the registry and git checkouts only.
const CARGO_HOME: &str = "/opt/xtask-grade/cargo-home";

/// What of `CARGO_HOME` an offline build reads (never `credentials.toml`, `bin/`).
const CARGO_HOME_PARTS: [&str; 4] = ["registry", "git", "config.toml", "config"];

/// What of `/etc` a build and a test need: the dynamic linker's cache and
/// configuration, and the `alternatives` links (`cc` is one on Debian).
const ETC_PARTS: [&str; 4] = [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
];

/// The top-level folders that are (on a merged-`/usr` system) links into `/usr`.
const ROOT_LINKS: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// One thing made visible inside the sandbox.
#[derive(Debug, Clone)]
pub enum Mount {
    /// A folder of this machine, read-only.
    ReadOnly {
        /// The folder on this machine.
        outside: PathBuf,
        /// Where the sandbox sees it.
        inside: PathBuf,
    },
    /// A folder of this machine, writable (a build's target dir).
    Writable {
        /// The folder on this machine.
        outside: PathBuf,
        /// Where the sandbox sees it.
        inside: PathBuf,
    },
    /// A fresh tmpfs of at most `bytes`, gone when the sandbox ends.
    Tmpfs {
        /// Where the sandbox sees it.
        inside: PathBuf,
        /// Its size.
        bytes: u64,
    },
}

/// Where the grader's commands run: a bubblewrap sandbox, or this machine.
#[derive(Debug, Clone)]
pub struct Sandbox {
    bwrap: Option<PathBuf>,
    toolchain: Toolchain,
    /// The size of the sandbox's `/tmp`.
    tmp_bytes: u64,
}

/// The Rust toolchain and cargo home that grading builds with.
#[derive(Debug, Clone)]
struct Toolchain {
    /// The toolchain's sysroot (`rustc --print sysroot`), holding `bin/cargo`.
    sysroot: PathBuf,
    /// `CARGO_HOME` on this machine.
    cargo_home: PathBuf,
}

impl Toolchain {
    /// The toolchain of `cargo` (the one running xtask, or a rustup proxy).
    fn find(cargo: &Path) -> Result<Self> {
        let rustc = cargo.with_file_name("rustc");
        let rustc = if rustc.is_file() {
            rustc
        } else {
            PathBuf::from("rustc")
        };
        let output = Command::new(&rustc)
            .args(["--print", "sysroot"])
            .output()
            .with_context(|| format!("could not run {} --print sysroot", rustc.display()))?;
        if !output.status.success() {
            bail!(
                "{} --print sysroot failed: {}",
                rustc.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if !sysroot.join("bin").join("cargo").is_file() {
            bail!(
                "the toolchain at {} has no bin/cargo: grading needs cargo and rustc of one toolchain",
                sysroot.display()
            );
        }
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
            .context("neither CARGO_HOME nor HOME is set: where is the cargo registry?")?;
        Ok(Toolchain {
            sysroot,
            cargo_home,
        })
    }

    /// Whether the sysroot is part of `/usr` (a distribution's Rust), which
    /// every sandbox sees anyway.
    fn in_usr(&self) -> bool {
        self.sysroot.starts_with("/usr")
    }
}

impl Sandbox {
    /// A bubblewrap sandbox with a `/tmp` of `tmp_bytes`, building with the
    /// toolchain of `cargo`; `None` when bubblewrap is missing or cannot make
    /// a sandbox here (some containers forbid the namespaces it needs).
    pub fn bubblewrap(cargo: &Path, tmp_bytes: u64) -> Result<Option<Self>> {
        let sandbox = Sandbox {
            bwrap: Some(PathBuf::from("bwrap")),
            toolchain: Toolchain::find(cargo)?,
            tmp_bytes,
        };
        let works = sandbox
            .command(Path::new("/bin/true"), &[], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        Ok(works.then_some(sandbox))
    }

    /// No sandbox: commands run on this machine, with the grader's permissions.
    pub fn none(cargo: &Path) -> Result<Self> {
        Ok(Sandbox {
            bwrap: None,
            toolchain: Toolchain::find(cargo)?,
            tmp_bytes: 0,
        })
    }

    /// Whether commands run inside bubblewrap.
    pub fn sandboxed(&self) -> bool {
        self.bwrap.is_some()
    }

    /// cargo, as commands made here see it.
    pub fn cargo(&self) -> PathBuf {
        self.tool("cargo")
    }

    fn tool(&self, name: &str) -> PathBuf {
        match self.bwrap {
            Some(_) if !self.toolchain.in_usr() => Path::new(TOOLCHAIN).join("bin").join(name),
            _ => self.toolchain.sysroot.join("bin").join(name),
        }
    }

    /// The environment every command gets: where cargo, rustc and the
    /// registry are, offline, no colours or backtraces, and grading's build
    /// settings. Inside the sandbox it is all they get.
    fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "CARGO".to_string(),
                self.tool("cargo").display().to_string(),
            ),
            (
                "RUSTC".to_string(),
                self.tool("rustc").display().to_string(),
            ),
            ("RUST_BACKTRACE".to_string(), "0".to_string()),
            ("CARGO_TERM_COLOR".to_string(), "never".to_string()),
            ("CARGO_NET_OFFLINE".to_string(), "true".to_string()),
        ];
        if self.sandboxed() {
            let bin = self.tool("cargo").parent().map(Path::to_path_buf);
            let path = bin.map_or_else(String::new, |b| format!("{}:", b.display()));
            env.extend([
                (
                    "PATH".to_string(),
                    format!("{path}/usr/local/bin:/usr/bin:/bin"),
                ),
                ("HOME".to_string(), HOME.to_string()),
                ("TMPDIR".to_string(), "/tmp".to_string()),
                ("CARGO_HOME".to_string(), CARGO_HOME.to_string()),
            ]);
        }
        env
    }

    /// A command running `program` here, seeing `mounts` (in order: a later
    /// one may sit inside an earlier one), with `env` added to the
    /// [environment](Self::environment). Unsandboxed, the mounts are not
    /// made: the caller passes real paths.
    pub fn command(&self, program: &Path, mounts: &[Mount], env: &[(String, String)]) -> Command {
        let env: Vec<(String, String)> = self
            .environment()
            .into_iter()
            .chain(env.iter().cloned())
            .collect();
        let Some(bwrap) = &self.bwrap else {
            let mut command = Command::new(program);
            command.envs(env);
            return command;
        };
        let mut command = Command::new(bwrap);
        command
            .args(["--unshare-all", "--die-with-parent", "--new-session"])
            .args(["--cap-drop", "ALL", "--clearenv"]);
        command.args(["--ro-bind", "/usr", "/usr"]);
        for link in ROOT_LINKS {
            match std::fs::read_link(link) {
                Ok(target) => {
                    command.arg("--symlink").arg(target).arg(link);
                }
                Err(_) if Path::new(link).is_dir() => {
                    command.args(["--ro-bind", link, link]);
                }
                Err(_) => {}
            }
        }
        for part in ETC_PARTS {
            command.args(["--ro-bind-try", part, part]);
        }
        command.args(["--dev", "/dev", "--proc", "/proc"]);
        command
            .arg("--size")
            .arg(self.tmp_bytes.max(1 << 20).to_string())
            .args(["--tmpfs", "/tmp"]);
        if !self.toolchain.in_usr() {
            command
                .arg("--ro-bind")
                .arg(&self.toolchain.sysroot)
                .arg(TOOLCHAIN);
        }
        for part in CARGO_HOME_PARTS {
            command
                .arg("--ro-bind-try")
                .arg(self.toolchain.cargo_home.join(part))
                .arg(Path::new(CARGO_HOME).join(part));
        }
        for mount in mounts {
            match mount {
                Mount::ReadOnly { outside, inside } => {
                    command.arg("--ro-bind").arg(outside).arg(inside);
                }
                Mount::Writable { outside, inside } => {
                    command.arg("--bind").arg(outside).arg(inside);
                }
                Mount::Tmpfs { inside, bytes } => {
                    command
                        .arg("--size")
                        .arg(bytes.max(&(1 << 20)).to_string())
                        .arg("--tmpfs")
                        .arg(inside);
                }
            }
        }
        command.args(["--dir", HOME, "--dir", WORK, "--chdir", WORK]);
        for (key, value) in &env {
            command.arg("--setenv").arg(key).arg(value);
        }
        command.arg("--").arg(program);
        command
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn sandbox() -> Option<Sandbox> {
        let sandbox = Sandbox::bubblewrap(Path::new(&crate::kit::cargo()), 4 << 20).ok()??;
        Some(sandbox)
    }

    fn run(sandbox: &Sandbox, script: &str) -> (bool, String) {
        let output = sandbox
            .command(Path::new("/bin/sh"), &[], &[])
            .args(["-c", script])
            .output()
            .expect("bwrap runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    }

    #[test]
    fn the_sandbox_sees_the_toolchain_and_nothing_private() {
        let Some(sandbox) = sandbox() else {
            eprintln!("skipped: bubblewrap cannot make a sandbox here");
            return;
        };
        let (ok, said) = run(&sandbox, "$CARGO --version && $RUSTC --version");
        assert!(ok, "{said}");
        for private in [
            "/root",
            "/home",
            "/var",
            "/run",
            "/etc/shadow",
            "/etc/passwd",
        ] {
            let (exists, said) = run(&sandbox, &format!("test -e {private}"));
            assert!(!exists, "{private} is visible: {said}");
        }
        let (_, env) = run(&sandbox, "env");
        assert!(!env.contains("SSH_") && !env.contains("USER="), "{env}");
    }

    #[test]
    fn the_sandboxs_tmp_holds_no_more_than_its_size() {
        let Some(sandbox) = sandbox() else {
            eprintln!("skipped: bubblewrap cannot make a sandbox here");
            return;
        };
        let (ok, said) = run(
            &sandbox,
            "dd if=/dev/zero of=/tmp/fill bs=1M count=8 2>&1; ls -l /tmp/fill",
        );
        assert!(ok, "{said}");
        assert!(said.contains("No space left"), "{said}");
    }
}
