//! The kit's own tooling, run as `cargo xtask <command>`.
//!
//! The lesson commands (`verify`, `progress`, `grade`) arrive with the lesson
//! machinery; until then this prints what exists.

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = std::env::args().nth(1);
    match command.as_deref() {
        None | Some("help" | "--help" | "-h") => {
            println!(
                "usage: cargo xtask <command>\n\ncommands: (none yet: the lesson tooling is being built)"
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("error: unknown xtask command `{other}` (try `cargo xtask help`)");
            ExitCode::from(2)
        }
    }
}
