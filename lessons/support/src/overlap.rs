//! Seeing how many workers work at once.
//!
//! A pool that ignores its worker count, workers joined as they are started,
//! a lock held across the work: each runs the work one at a time, and each
//! still gets every item done. What tells them apart from a correct solution
//! is how many workers are *inside* the work together — which [`Overlap`]
//! counts, giving them the chance to meet instead of hoping they do.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long the first callers wait for the others to join them.
const PATIENCE: Duration = Duration::from_secs(3);

/// Stands in for the work of one item, so that the workers inside it at once
/// can be counted — and given the chance to meet: the first
/// `want` calls of [`Overlap::work`] each wait, up to a few seconds in all, until
/// `want` calls are in progress at once; [`Overlap::most`] says how many ever were.
#[derive(Debug)]
pub struct Overlap {
    want: usize,
    inside: AtomicUsize,
    entered: AtomicUsize,
    most: AtomicUsize,
    deadline: OnceLock<Instant>,
}

impl Overlap {
    /// Work that hopes to see `want` callers inside it at once.
    pub fn new(want: usize) -> Self {
        Overlap {
            want,
            inside: AtomicUsize::new(0),
            entered: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
            deadline: OnceLock::new(),
        }
    }

    /// One item's work. The first `want` callers wait until `want` are inside
    /// together (or the patience runs out), then a little longer, so one caller
    /// too many would be seen too.
    pub fn work(&self) {
        let now_inside = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now_inside, Ordering::SeqCst);
        let among_first = self.entered.fetch_add(1, Ordering::SeqCst) < self.want;
        let deadline = *self.deadline.get_or_init(|| Instant::now() + PATIENCE);
        if among_first {
            while self.most.load(Ordering::SeqCst) < self.want && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            thread::sleep(Duration::from_millis(100));
        }
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }

    /// The most calls of [`work`](Self::work) that were ever in progress together.
    pub fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    /// How many calls of [`work`](Self::work) were made in all.
    pub fn calls(&self) -> usize {
        self.entered.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn workers_that_can_meet_are_all_seen_inside() {
        let overlap = Arc::new(Overlap::new(3));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let overlap = Arc::clone(&overlap);
                thread::spawn(move || overlap.work())
            })
            .collect();
        workers.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!((overlap.most(), overlap.calls()), (3, 3));
    }

    #[test]
    fn work_done_under_one_lock_is_seen_one_at_a_time() {
        let overlap = Arc::new(Overlap::new(2));
        let lock = Arc::new(Mutex::new(()));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (overlap, lock) = (Arc::clone(&overlap), Arc::clone(&lock));
                thread::spawn(move || {
                    let _held = lock.lock().unwrap();
                    overlap.work();
                })
            })
            .collect();
        workers.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(overlap.most(), 1);
    }
}
