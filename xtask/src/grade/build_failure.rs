//! Why a lesson of a copy has no test binaries, in words an instructor can
//! act on: the compiler's first error, else cargo's own (its command lines
//! left out), with what the limits say about it (out of memory, out of CPU
//! time, out of processes).

use super::limits::{Limits, Usage};
use crate::kit::Lesson;

/// How cargo names the signal a process gets at its CPU-time limit
/// (`signal: 24` on Linux; cargo does not always add `SIGXCPU`).
fn cpu_signal() -> String {
    #[cfg(unix)]
    return format!("signal: {}", libc::SIGXCPU);
    #[cfg(not(unix))]
    return "SIGXCPU".to_string();
}

/// Why `lesson` built nothing, from what cargo said and what the build's
/// cgroup saw (`usage`) under `limits`.
pub fn reason(cargo_said: &str, usage: &Usage, limits: &Limits, lesson: &Lesson) -> String {
    let why = cargo_error(cargo_said, lesson);
    if usage.out_of_memory {
        format!(
            "the build ran out of memory (the limit is {} MiB) and the compiler was killed — {why}",
            limits.memory >> 20
        )
    } else if why.contains("SIGXCPU") || why.contains(&cpu_signal()) {
        format!(
            "the compiler reached its limit of {} s of CPU time and was stopped (a `const` evaluated for ever?) — {why}",
            limits.build_cpu.as_secs()
        )
    } else if usage.out_of_processes {
        format!(
            "the build could not start more processes (the limit is {}) — {why}",
            limits.processes
        )
    } else {
        why
    }
}

/// Whether cargo says the workspace cannot be loaded because of `lesson`'s manifest.
pub fn cannot_load(cargo_said: &str, lesson: &Lesson) -> bool {
    let at = format!("lessons/{}", lesson.slug);
    cargo_said.lines().any(|line| {
        (line.contains("failed to load manifest") || line.contains("failed to parse manifest"))
            && line.contains(&at)
    })
}

/// Whether cargo says compiling `lesson`'s package failed.
pub fn cargo_failed(cargo_said: &str, lesson: &Lesson) -> bool {
    let named = format!("`{}`", lesson.package);
    cargo_said
        .lines()
        .any(|line| line.starts_with("error") && line.contains(&named))
}

/// cargo's own error about `lesson` (its package or its folder), bounded,
/// with the compiler's command line left out; else cargo's first error.
pub fn cargo_error(cargo_said: &str, lesson: &Lesson) -> String {
    let named = format!("`{}`", lesson.package);
    let at = format!("lessons/{}", lesson.slug);
    let lines: Vec<&str> = cargo_said.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("error") && (line.contains(&named) || line.contains(&at)))
        .or_else(|| lines.iter().position(|line| line.starts_with("error")));
    let Some(start) = start else {
        return format!(
            "cargo built no test binaries for it and said: {}",
            shorten_command(
                lines
                    .iter()
                    .rev()
                    .take(5)
                    .rev()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        );
    };
    let mut kept = vec![lines[start].to_string()];
    for line in &lines[start + 1..] {
        if line.starts_with("error") || line.starts_with("warning") {
            break;
        }
        if !line.trim().is_empty() {
            kept.push(shorten_command(line.trim().to_string()));
        }
    }
    kept.truncate(12);
    kept.join(" ")
}

/// `process didn't exit successfully: `rustc …` (signal: 9…)` without the
/// command line, which is long and says nothing to an instructor.
fn shorten_command(line: String) -> String {
    let Some(open) = line.find(": `") else {
        return line;
    };
    let Some(close) = line[open + 3..].find("` (") else {
        return line;
    };
    format!(
        "{}: the compiler{}",
        &line[..open],
        &line[open + 3 + close + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compiler_command_line_is_left_out() {
        let line = "process didn't exit successfully: `/x/rustc --crate-name lesson_01 --edition=2024 …` (signal: 24, SIGXCPU: CPU time limit exceeded)".to_string();
        assert_eq!(
            shorten_command(line),
            "process didn't exit successfully: the compiler (signal: 24, SIGXCPU: CPU time limit exceeded)"
        );
    }
}
