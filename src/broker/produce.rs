//! A producer: adds its share of the items to the stream, never letting more
//! than the capacity stand in it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::stop::StopSignal;

use super::connection::{Broker, BrokerError};
use super::keys::Keys;
use super::scripts::PRODUCE;

/// Items offered to the stream in one round trip.
pub const BATCH: usize = 100;

/// The first and the longest pause of a producer that found the stream full.
/// Polling, because the broker cannot wake a producer when room appears; the
/// pause doubles while the stream stays full, so a long wait costs few calls.
const FIRST_PAUSE: Duration = Duration::from_micros(200);
const LONGEST_PAUSE: Duration = Duration::from_millis(20);

/// What one producer did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Produced {
    /// Items added to the stream.
    pub(crate) items: u64,
    /// The stream's longest length this producer saw right after adding.
    pub(crate) max_depth: u64,
}

/// Adds `ids` to the run's stream in order, at most `capacity` entries standing
/// in it at once (entries are deleted when settled, so the length is the
/// backlog: waiting plus in a worker's hands). Stops early when `stop` is raised.
pub(crate) fn produce(
    broker: &mut Broker,
    keys: &Keys,
    ids: impl Iterator<Item = u64>,
    capacity: usize,
    stop: &StopSignal,
) -> Result<Produced, BrokerError> {
    let mut produced = Produced::default();
    let mut ids = ids.peekable();
    let mut batch: VecDeque<u64> = VecDeque::with_capacity(BATCH);
    let mut pause = FIRST_PAUSE;
    while stop.reason().is_none() {
        batch.extend(ids.by_ref().take(BATCH - batch.len()));
        if batch.is_empty() {
            break;
        }
        let (added, length): (usize, u64) = PRODUCE
            .eval(&[&keys.items])
            .arg(capacity)
            .arg(batch.iter().collect::<Vec<_>>())
            .query(&mut broker.con)
            .map_err(broker.failed("adding items to the stream"))?;
        batch.drain(..added);
        produced.items += added as u64;
        produced.max_depth = produced.max_depth.max(length);
        if added == 0 {
            // Full: wait for the workers to settle something, then look again.
            stop.sleep(pause);
            pause = (pause * 2).min(LONGEST_PAUSE);
        } else {
            pause = FIRST_PAUSE;
        }
    }
    Ok(produced)
}
