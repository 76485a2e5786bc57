//! What one sandboxed build or test may use, and how it is held to it.
//!
//! - **Memory** (everything its processes allocate, the compiler's included,
//!   and what they write to a tmpfs) and **processes and threads**: a cgroup
//!   of its own — v2 where the machine has the unified hierarchy, v1's
//!   `memory` and `pids` controllers otherwise. The kernel kills within it at
//!   the limit, and the grader reads afterwards whether it did. Without a
//!   cgroup it may write, each process's address space is limited instead
//!   (twice `--memory`), and processes only by the sandbox's pid namespace.
//! - **CPU time**: `RLIMIT_CPU` on every process (a compiler evaluating a
//!   `const` for ever is killed with `SIGXCPU`).
//! - **Disk**: the writable areas of a test are tmpfs of a fixed size (see
//!   [`crate::sandbox`]); one file at most [`MAX_FILE_BYTES`] (`RLIMIT_FSIZE`).

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The largest file a build or a test may write: far above any test binary.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// What one sandbox may use; the flags of `grade` set them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Memory of one build or one test with everything it starts, tmpfs included.
    pub memory: u64,
    /// Processes and threads alive at once in one build or test.
    pub processes: u64,
    /// The size of each writable area of a test (its `/tmp`, its target dir's scratch folder).
    pub disk: u64,
    /// CPU time of each compiler process; a copy's whole build is stopped at
    /// [`Limits::build_wall`].
    pub build_cpu: Duration,
}

impl Limits {
    /// The wall-clock limit of one copy's build: room for every compiler to
    /// use its CPU time on a loaded machine, and a bound when one does not.
    pub fn build_wall(&self) -> Duration {
        self.build_cpu * 2 + Duration::from_secs(30)
    }
}

/// Where the grader's cgroups go, and the ones made and free to reuse
/// (making and removing a memory cgroup costs more than a short test).
#[derive(Debug, Clone)]
pub struct Cgroups {
    kind: Kind,
    spare: Arc<Mutex<Vec<Enclosure>>>,
}

#[derive(Debug, Clone)]
enum Kind {
    /// The unified hierarchy (cgroup v2): sandboxes' groups under `parent`,
    /// a group of the grader's own whose subtree has `memory` and `pids`.
    V2 { parent: PathBuf },
    /// cgroup v1: a group in the `memory` and in the `pids` hierarchy.
    V1 { memory: PathBuf, pids: PathBuf },
}

/// The cgroup(s) holding one sandbox; given back with [`Cgroups::release`].
#[derive(Debug)]
pub struct Enclosure {
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each, for the child to join before it runs.
    join: Vec<CString>,
    v2: bool,
    /// The limits it was made with.
    memory: u64,
    processes: u64,
    /// Its event counters when it was handed out (they only grow).
    before: Counters,
}

/// A cgroup's event counters.
#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    oom_kills: u64,
    process_refusals: u64,
}

/// What a sandbox ran into, read from its cgroup after it ended.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    /// The kernel killed a process of it for memory.
    pub out_of_memory: bool,
    /// It tried to have more processes and threads than allowed.
    pub out_of_processes: bool,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The grader's own group in hierarchy `controller` (v1) or the unified one
/// (`None`), from `/proc/self/cgroup`.
fn own_group(controller: Option<&str>) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let wanted = match controller {
            Some(name) => controllers.split(',').any(|c| c == name),
            None => controllers.is_empty(),
        };
        wanted.then(|| path.trim_start_matches('/').to_string())
    })
}

impl Cgroups {
    /// The cgroups this machine lets the grader make, checked by making one.
    pub fn detect() -> Option<Self> {
        let root = Path::new("/sys/fs/cgroup");
        let kind = if root.join("cgroup.controllers").exists() {
            Self::detect_v2(root)?
        } else {
            let memory = root.join("memory").join(own_group(Some("memory"))?);
            let pids = root.join("pids").join(own_group(Some("pids"))?);
            Kind::V1 { memory, pids }
        };
        let cgroups = Cgroups {
            kind,
            spare: Arc::default(),
        };
        cgroups.usable().then_some(cgroups)
    }

    /// On the unified hierarchy the grader moves itself into a leaf of its
    /// own group, so that the group may hand `memory` and `pids` to its
    /// children (a group with processes in it cannot).
    fn detect_v2(root: &Path) -> Option<Kind> {
        let own = root.join(own_group(None)?);
        let me = own.join(format!("xtask-grade-{}", std::process::id()));
        let leaf = me.join("grader");
        std::fs::create_dir_all(&leaf).ok()?;
        std::fs::write(leaf.join("cgroup.procs"), "0").ok()?;
        std::fs::write(me.join("cgroup.subtree_control"), "+memory +pids").ok()?;
        Some(Kind::V2 { parent: me })
    }

    fn usable(&self) -> bool {
        let probe = Limits {
            memory: 64 << 20,
            processes: 16,
            disk: 0,
            build_cpu: Duration::ZERO,
        };
        let usable = self.enclose(&probe).is_ok_and(|e| {
            self.release(e);
            true
        });
        self.clear();
        usable
    }

    /// `cgroup v1` or `cgroup v2`.
    pub fn version(&self) -> &'static str {
        match self.kind {
            Kind::V1 { .. } => "cgroup v1",
            Kind::V2 { .. } => "cgroup v2",
        }
    }

    /// A cgroup holding a sandbox to `limits`: a free one made with the same
    /// limits, or a new one.
    pub fn enclose(&self, limits: &Limits) -> io::Result<Enclosure> {
        let reused = {
            let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
            let at = spare
                .iter()
                .position(|e| e.memory == limits.memory && e.processes == limits.processes);
            at.map(|at| spare.swap_remove(at))
        };
        let mut enclosure = match reused {
            Some(enclosure) => enclosure,
            None => self.make(limits)?,
        };
        enclosure.before = enclosure.counters();
        Ok(enclosure)
    }

    fn make(&self, limits: &Limits) -> io::Result<Enclosure> {
        let name = format!(
            "xtask-grade-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let memory = limits.memory.to_string();
        let processes = limits.processes.to_string();
        let (dirs, v2) = match &self.kind {
            Kind::V2 { parent } => {
                let dir = parent.join(&name);
                std::fs::create_dir(&dir)?;
                std::fs::write(dir.join("memory.max"), &memory)?;
                let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                std::fs::write(dir.join("pids.max"), &processes)?;
                (vec![dir], true)
            }
            Kind::V1 { memory: m, pids: p } => {
                let (memory_dir, pids_dir) = (m.join(&name), p.join(&name));
                std::fs::create_dir(&memory_dir)?;
                std::fs::create_dir(&pids_dir)?;
                std::fs::write(memory_dir.join("memory.limit_in_bytes"), &memory)?;
                let _ = std::fs::write(memory_dir.join("memory.memsw.limit_in_bytes"), &memory);
                std::fs::write(pids_dir.join("pids.max"), &processes)?;
                (vec![memory_dir, pids_dir], false)
            }
        };
        let join = dirs
            .iter()
            .map(|dir| {
                CString::new(
                    dir.join("cgroup.procs")
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            })
            .collect::<Result<_, _>>()
            .map_err(io::Error::other)?;
        Ok(Enclosure {
            dirs,
            join,
            v2,
            memory: limits.memory,
            processes: limits.processes,
            before: Counters::default(),
        })
    }

    /// What the sandbox in `enclosure` ran into; kills whatever is left in
    /// it, and keeps it for the next sandbox (or removes it, if it cannot
    /// be emptied).
    pub fn release(&self, enclosure: Enclosure) -> Usage {
        let now = enclosure.counters();
        let usage = Usage {
            out_of_memory: now.oom_kills > enclosure.before.oom_kills,
            out_of_processes: now.process_refusals > enclosure.before.process_refusals,
        };
        if enclosure.dirs.iter().all(|dir| empty(dir)) {
            self.spare
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(enclosure);
        } else {
            enclosure.remove();
        }
        usage
    }

    /// Removes every cgroup kept for reuse.
    pub fn clear(&self) {
        let spare = std::mem::take(&mut *self.spare.lock().unwrap_or_else(PoisonError::into_inner));
        for enclosure in spare {
            enclosure.remove();
        }
    }
}

impl Enclosure {
    fn counters(&self) -> Counters {
        let read = |dir: &Path, file: &str, key: &str| -> u64 {
            std::fs::read_to_string(dir.join(file))
                .ok()
                .and_then(|text| {
                    text.lines().find_map(|line| {
                        let (k, v) = line.split_once(' ')?;
                        (k == key).then(|| v.trim().parse().ok()).flatten()
                    })
                })
                .unwrap_or(0)
        };
        if self.v2 {
            Counters {
                oom_kills: read(&self.dirs[0], "memory.events", "oom_kill"),
                process_refusals: read(&self.dirs[0], "pids.events", "max"),
            }
        } else {
            Counters {
                oom_kills: read(&self.dirs[0], "memory.oom_control", "oom_kill"),
                process_refusals: read(&self.dirs[1], "pids.events", "max"),
            }
        }
    }

    fn remove(self) {
        for dir in &self.dirs {
            empty(dir);
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Makes `command`'s process join this cgroup before it starts.
    pub fn hold(&self, command: &mut Command) {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            let join = self.join.clone();
            // SAFETY: between fork and exec the closure only calls open,
            // write and close (async-signal-safe) on paths made beforehand.
            unsafe {
                command.pre_exec(move || {
                    for procs in &join {
                        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                        if fd < 0 {
                            return Err(io::Error::last_os_error());
                        }
                        let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                        libc::close(fd);
                        if written != 1 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
    }
}

/// Kills every process left in the cgroup at `dir`; whether it is empty.
fn empty(dir: &Path) -> bool {
    for _ in 0..200 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = procs
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() {
            return true;
        }
        #[cfg(unix)]
        for pid in pids {
            // SAFETY: kill() with the pid of a process in the sandbox's group.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Sets `command`'s CPU time to `cpu` per process and its largest file to
/// [`MAX_FILE_BYTES`]; without a cgroup (`address_space`), its address space
/// too.
pub fn set_rlimits(command: &mut Command, cpu: Duration, address_space: Option<u64>) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let cpu = cpu.as_secs().max(1) as libc::rlim_t;
        let space = address_space.map(|bytes| bytes as libc::rlim_t);
        // SAFETY: between fork and exec the closure only calls setrlimit, which
        // is async-signal-safe, with values computed beforehand.
        unsafe {
            command.pre_exec(move || {
                let set = |resource, soft: libc::rlim_t, hard: libc::rlim_t| {
                    let limit = libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: hard,
                    };
                    libc::setrlimit(resource, &limit);
                };
                // SIGXCPU at the soft limit, SIGKILL a few seconds later.
                set(libc::RLIMIT_CPU, cpu, cpu + 5);
                set(
                    libc::RLIMIT_FSIZE,
                    MAX_FILE_BYTES as libc::rlim_t,
                    MAX_FILE_BYTES as libc::rlim_t,
                );
                if let Some(space) = space {
                    set(libc::RLIMIT_AS, space, space);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (command, cpu, address_space);
}

/// Removes groups left by graders that are gone (a machine restart empties
/// them; a killed grader leaves them empty).
pub fn sweep(cgroups: &Cgroups) {
    let parents: Vec<&Path> = match &cgroups.kind {
        Kind::V2 { parent } => parent.parent().into_iter().collect(),
        Kind::V1 { memory, pids } => vec![memory, pids],
    };
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("xtask-grade-") else {
                continue;
            };
            let pid = rest.split('-').next().unwrap_or_default();
            if pid != std::process::id().to_string() && !Path::new("/proc").join(pid).exists() {
                sweep_dir(&entry.path());
            }
        }
    }
}

fn sweep_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                sweep_dir(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
