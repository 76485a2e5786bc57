//! A progress bar on stderr for long runs in a terminal: an [`Observer`] of the run.
//!
//! The bar appears only after half a second, so short runs print nothing, and
//! only when stderr is a terminal, so it never mixes into piped output or the
//! JSON on stdout.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressDrawTarget, ProgressStyle};
use queue_sim::{Observer, Progress};

/// Runs shorter than this end before the bar would ever show.
const SHOW_AFTER: Duration = Duration::from_millis(500);
/// How often the bar is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Whether a progress bar would be seen at all.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Draws the items that have reached an end so far, out of the run's total.
pub struct ProgressBar;

impl Observer for ProgressBar {
    fn watch(&self, run: &Progress<'_>) {
        if run.wait(SHOW_AFTER) {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(run.total()),
            ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} items  {percent}%  elapsed {elapsed}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        while !run.wait(REDRAW_EVERY) {
            bar.set_position(run.ended());
        }
        bar.finish_and_clear();
    }
}
