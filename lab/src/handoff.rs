//! Handing a command to the maintainer's and instructor's tools: the xtask
//! crate, built only when one of its commands is first used.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The workspace this tool belongs to: the parent of its own manifest's folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("lab lives inside the workspace")
        .to_path_buf()
}

/// Runs `cargo run -p xtask -- ARGS` in this workspace, as if it had been
/// typed: the same arguments, the terminal, and its exit status. Says once,
/// before the first build of xtask, what is being built and why it takes a
/// while.
pub fn to_xtask(args: &[OsString]) -> ExitCode {
    if !xtask_built() {
        eprintln!(
            "This command is one of the kit's maintainer and instructor tools (the xtask crate), \
             built the first time one is used: a few minutes, once. cargo shows its progress."
        );
    }
    let mut command = Command::new(crate::kit::cargo());
    command
        .args(["run", "--package", "xtask", "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .arg("--")
        .args(args);
    run(command)
}

/// Whether the xtask executable is there already, beside this one in the
/// same target dir (whether it is up to date is cargo's to say).
fn xtask_built() -> bool {
    std::env::current_exe().is_ok_and(|me| {
        me.with_file_name(format!("xtask{}", std::env::consts::EXE_SUFFIX))
            .is_file()
    })
}

/// Becomes `command` (Unix: exec, so signals and the status are its own), or
/// runs it and passes its status on.
fn run(mut command: Command) -> ExitCode {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let error = command.exec();
        eprintln!("error: could not run cargo: {error}");
        ExitCode::from(2)
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => ExitCode::from(status.code().map_or(1, |c| c.clamp(0, 255) as u8)),
        Err(error) => {
            eprintln!("error: could not run cargo: {error}");
            ExitCode::from(2)
        }
    }
}
