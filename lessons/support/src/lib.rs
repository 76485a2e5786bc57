//! What every lesson shares.
//!
//! Concurrency bugs tend to hang rather than crash, and to show only in some
//! interleavings. A hung test teaches nothing, and a race that passes nine runs
//! in ten teaches the wrong thing. So:
//!
//! - every piece of learner code that could block runs under a **watchdog**
//!   ([`finishes`], [`join_all`], …) that gives up after a budget and fails the
//!   test with the likely cause — and with any panic of the same test's
//!   threads that came first (never another test's: see `attribution`);
//! - a lesson where the learner writes locks, condvars or atomics imports them
//!   through [`sync`], so its **loom models** ([`models`], [`run_models!`]) can
//!   try every interleaving of the learner's own code;
//! - [`Overlap`] shows how many workers were inside the work at once (a
//!   worker count ignored, a lock held across the work);
//! - **accounting checks** ([`assert_each_exactly_once`], [`assert_sequence`])
//!   and **measurements** ([`thread_cpu_time`], [`times_slept`],
//!   [`times_switched_out`]) keep failure messages short and specific.
//!
//! Every function that can fail a test is `#[track_caller]`: the location a
//! learner sees is the line in their lesson's test, not one in this crate.

mod accounting;
pub mod adversary;
mod attribution;
pub mod broker;
#[cfg(unix)]
pub mod interpose;
pub mod models;
#[cfg(feature = "oracle")]
pub mod oracle;
mod overlap;
mod sleeps;
pub mod sync;
pub mod verdict;
mod watchdog;

pub use accounting::{
    Log, assert_each_exactly_once, assert_sequence, check_each_exactly_once, check_sequence,
    preview, shorten,
};
// What the simulator and the tools run on lives in the host crate; the
// lessons' tests reach it through here, as before.
pub use host::process;
pub use host::{panic_message, peak_rss_kib, thread_cpu_time};
pub use overlap::Overlap;
pub use sleeps::{skipped, thread_times_slept, times_slept, times_switched_out};
pub use watchdog::{
    BUDGET, TimingSection, Waited, finishes, finishes_within, join_all, join_all_within,
    join_finished, wait_briefly, wait_for_or_exit, wait_until,
};
