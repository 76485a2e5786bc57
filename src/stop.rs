//! A stop signal that wakes sleepers at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

/// Why a run is stopping early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The user asked (Ctrl-C): stop producing, finish the items in hand.
    Interrupted,
    /// Every consumer has exited (idle timeout): nobody will take more items.
    ConsumersGone,
}

impl StopReason {
    fn bit(self) -> u8 {
        match self {
            StopReason::Interrupted => 1,
            StopReason::ConsumersGone => 2,
        }
    }
}

/// A flag any thread can raise, with a reason; sleeping producers wake at once.
///
/// Cheap to check (one atomic load), and its [`sleep`](Self::sleep) is a
/// `recv_timeout` on a channel whose sender is dropped when the signal is first
/// raised — so a producer pacing itself at one item a minute still stops
/// immediately. An interrupt counts whenever it comes: raised after
/// [`StopReason::ConsumersGone`], it is still the reason the run reports.
#[derive(Debug, Clone)]
pub struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The [`StopReason::bit`]s raised so far.
    reasons: AtomicU8,
    wake: Mutex<Option<Sender<()>>>,
    woken: Receiver<()>,
}

impl Default for StopSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl StopSignal {
    /// A signal not yet raised.
    pub fn new() -> Self {
        let (wake, woken) = crossbeam_channel::bounded(0);
        StopSignal {
            inner: Arc::new(Inner {
                reasons: AtomicU8::new(0),
                wake: Mutex::new(Some(wake)),
                woken,
            }),
        }
    }

    /// Raises the signal for `reason`; raising one already raised changes nothing.
    pub fn raise(&self, reason: StopReason) {
        let before = self.inner.reasons.fetch_or(reason.bit(), Ordering::AcqRel);
        if before == 0 {
            // Dropping the only sender disconnects the channel: every `sleep` returns.
            self.inner.wake.lock().take();
        }
    }

    /// Why the signal was raised, if it was: [`StopReason::Interrupted`] if the
    /// user interrupted at any point, whatever else happened.
    pub fn reason(&self) -> Option<StopReason> {
        let reasons = self.inner.reasons.load(Ordering::Acquire);
        [StopReason::Interrupted, StopReason::ConsumersGone]
            .into_iter()
            .find(|reason| reasons & reason.bit() != 0)
    }

    /// Sleeps for `duration` unless the signal is raised first; returns `true` if
    /// the whole duration passed.
    pub fn sleep(&self, duration: Duration) -> bool {
        matches!(
            self.inner.woken.recv_timeout(duration),
            Err(RecvTimeoutError::Timeout)
        )
    }

    /// Sleeps until the signal is raised.
    pub fn wait(&self) {
        let _ = self.inner.woken.recv();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn an_interrupt_counts_whenever_it_comes() {
        let stop = StopSignal::new();
        assert_eq!(stop.reason(), None);
        stop.raise(StopReason::ConsumersGone);
        assert_eq!(stop.reason(), Some(StopReason::ConsumersGone));
        stop.raise(StopReason::Interrupted);
        assert_eq!(stop.reason(), Some(StopReason::Interrupted));
        stop.raise(StopReason::ConsumersGone);
        assert_eq!(stop.reason(), Some(StopReason::Interrupted));
    }

    #[test]
    fn raising_wakes_a_long_sleep_at_once() {
        let stop = StopSignal::new();
        let sleeper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                (stop.sleep(Duration::from_secs(60)), started.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        stop.raise(StopReason::Interrupted);
        let (slept_fully, took) = sleeper.join().unwrap();
        assert!(!slept_fully);
        assert!(
            took < Duration::from_secs(10),
            "the sleep took {took:?} after the signal"
        );
    }

    #[test]
    fn an_unraised_signal_sleeps_the_whole_duration() {
        assert!(StopSignal::new().sleep(Duration::from_millis(5)));
    }
}
