//! What the kit's programs ask of the host they run on: a thread's CPU clock,
//! a child's peak memory, child processes run under hard limits (or tied to
//! this process's life), and a panic's message.
//!
//! The simulator runs on these, the kit's tools (`lab`, `xtask`) too, and
//! the lessons' test harness (`lesson-support`) re-exports them: one copy,
//! and no program depends on a lesson's test harness to run.

mod measure;
mod panic;
pub mod process;

pub use measure::{peak_rss_kib, thread_cpu_time};
pub use panic::panic_message;
