//! A source that counts what is taken from it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the items taken from the sources it wraps. A producer that takes
/// its next item only once the last is sent is held back by a full queue
/// *before* it reads on; one that reads ahead — a collect() to count the
/// items, a queue bigger than it should be, a send whose failure is
/// ignored — shows in the count, whatever the queue is made of.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<AtomicU64>);

impl Tally {
    /// A tally of nothing taken yet.
    pub fn new() -> Self {
        Tally::default()
    }

    /// `items`, each counted here as it is taken.
    pub fn count<I>(&self, items: I) -> impl Iterator<Item = I::Item> + Send + 'static
    where
        I: Iterator + Send + 'static,
    {
        let tally = self.clone();
        items.inspect(move |_| {
            tally.0.fetch_add(1, Ordering::SeqCst);
        })
    }

    /// How many items have been taken so far.
    pub fn taken(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_what_is_taken() {
        let tally = Tally::new();
        let mut items = tally.count(0..10u64);
        assert_eq!(tally.taken(), 0, "nothing is taken before the first next()");
        assert_eq!(items.next(), Some(0));
        assert_eq!(items.nth(2), Some(3));
        assert_eq!(tally.taken(), 4);
        assert_eq!(items.count(), 6);
        assert_eq!(tally.taken(), 10, "the whole source, once read to its end");
    }
}
