//! A progress bar on stderr for long runs in a terminal.
//!
//! Consumers never touch the bar: each bumps its own cache-padded counter and a
//! separate thread sums them ten times a second. The bar appears only after half
//! a second, so short runs print nothing, and only when stderr is a terminal, so
//! it never mixes into piped output or the JSON on stdout.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use crossbeam_utils::CachePadded;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One finished-items counter per consumer, each on its own cache line so that
/// counting does not make cores fight over one line.
pub(crate) type Counters = [CachePadded<AtomicU64>];

/// Whether a progress bar would be seen at all.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A running progress bar; [`finish`](Self::finish) removes it.
pub(crate) struct Progress<'scope> {
    done: Sender<()>,
    thread: ScopedJoinHandle<'scope, ()>,
}

impl<'scope> Progress<'scope> {
    pub(crate) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        total: u64,
        counters: &'env Counters,
    ) -> Self {
        let (done, finished) = crossbeam_channel::bounded(0);
        let thread = scope.spawn(move || draw(total, counters, &finished));
        Progress { done, thread }
    }

    pub(crate) fn finish(self) {
        drop(self.done);
        let _ = self.thread.join();
    }
}

fn draw(total: u64, counters: &Counters, finished: &Receiver<()>) {
    // Short runs end before the bar would ever show.
    if !matches!(
        finished.recv_timeout(Duration::from_millis(500)),
        Err(RecvTimeoutError::Timeout)
    ) {
        return;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} items  {percent}%  elapsed {elapsed}  eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let sum = || {
        counters
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<u64>()
    };
    while matches!(
        finished.recv_timeout(Duration::from_millis(100)),
        Err(RecvTimeoutError::Timeout)
    ) {
        bar.set_position(sum());
    }
    bar.finish_and_clear();
}
