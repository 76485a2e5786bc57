//! How a run's workers read and claim, and the run's settings as the broker
//! keeps them: a worker that joins from another process reads the job's
//! settings from there, so it cannot run a different job than the run's.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::Commands as _;

use crate::choice::{Choice, WorkKind};
use crate::config::SimConfig;

use super::connection::{Broker, BrokerError};
use super::keys::Keys;
use super::produce::BATCH;

/// Where and how a run uses the broker, beyond the simulation's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerSettings {
    /// `redis://HOST:PORT` or `redis+unix:///PATH`.
    pub url: String,
    /// The run's id (its keys are `queue-sim:ID:…`); made up when `None`.
    pub run_id: Option<String>,
    /// How long an entry must stay idle before another worker reclaims it.
    pub claim_idle: Duration,
    /// Worker processes to start, each with `consumers` threads; 0 runs the
    /// `consumers` as threads of this process.
    pub consumer_processes: usize,
}

impl BrokerSettings {
    /// The default claim time: well above the simulator's processing times.
    pub const DEFAULT_CLAIM_IDLE: Duration = Duration::from_secs(5);
}

/// How long a read waits for new entries before its worker looks around.
const BLOCK: Duration = Duration::from_millis(100);

/// How a worker reads and claims.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WorkerSettings {
    /// Entries asked for per read and per claim.
    pub(crate) batch: usize,
    /// How long one read waits for new entries before the worker looks around
    /// (reclaims, checks whether the run is over).
    pub(crate) block: Duration,
    /// How long an entry must have been idle before another worker takes it:
    /// longer than any attempt takes, or live work is taken away.
    pub(crate) claim_idle: Duration,
    /// Deliveries an item gets: 1 + retries.
    pub(crate) max_deliveries: u64,
    /// Whether a failed item ends as `failed` (no retries) or `dead_lettered`.
    pub(crate) retries: bool,
}

impl WorkerSettings {
    /// The settings of run `config` with `settings`.
    pub(crate) fn for_run(config: &SimConfig, settings: &BrokerSettings) -> Self {
        WorkerSettings {
            batch: batch_for(config, settings),
            block: BLOCK,
            claim_idle: settings.claim_idle,
            max_deliveries: 1 + u64::from(config.retries),
            retries: config.retries > 0,
        }
    }

    /// The fields the run stores for workers joining from elsewhere.
    pub(crate) fn to_store(self, config: &SimConfig) -> Vec<(&'static str, String)> {
        vec![
            ("processing_time_s", config.processing_time_s.to_string()),
            ("failure_rate", config.failure_rate.to_string()),
            ("work", config.work.name().to_string()),
            ("seed", config.seed.to_string()),
            ("retries", config.retries.to_string()),
            ("batch", self.batch.to_string()),
            ("claim_idle_ms", self.claim_idle.as_millis().to_string()),
        ]
    }
}

/// The settings a worker that joins run `keys` from another process needs:
/// the job's (from the run's stored settings) and how to read and claim.
pub(crate) fn stored_settings(
    broker: &mut Broker,
    keys: &Keys,
) -> Result<(SimConfig, WorkerSettings), BrokerError> {
    let stored: BTreeMap<String, String> = broker
        .con
        .hgetall(&keys.settings)
        .map_err(broker.failed("reading the run's settings"))?;
    let field = |name: &str| {
        stored.get(name).ok_or_else(|| {
            BrokerError::Refused(format!(
                "there is no run {} on this broker (or it has ended): start one with \
                 `queue-sim --broker URL --run {}`",
                keys.run_id, keys.run_id
            ))
        })
    };
    let number = |name: &str| -> Result<f64, BrokerError> {
        field(name)?.parse().map_err(|_| {
            BrokerError::Refused(format!("run {}: its {name} is not a number", keys.run_id))
        })
    };
    let retries = number("retries")? as u32;
    let config = SimConfig {
        processing_time_s: number("processing_time_s")?,
        failure_rate: number("failure_rate")?,
        work: WorkKind::named(field("work")?).unwrap_or(WorkKind::Sleep),
        seed: number("seed")? as u64,
        retries,
        ..SimConfig::default()
    };
    let settings = WorkerSettings {
        batch: (number("batch")? as usize).clamp(1, BATCH),
        block: BLOCK,
        claim_idle: Duration::from_millis(number("claim_idle_ms")? as u64),
        max_deliveries: 1 + u64::from(retries),
        retries: retries > 0,
    };
    Ok((config, settings))
}

/// Entries a worker asks for at once: many when attempts are instant (a round
/// trip per item would be the cost), but no more than its share of a full
/// stream, or one worker takes the whole backlog while the others wait; and
/// few enough that the last of a batch is settled well within the claim time
/// (entries wait in their worker's hands while it works through the batch,
/// and one idle past the claim time would be taken from a live worker).
fn batch_for(config: &SimConfig, settings: &BrokerSettings) -> usize {
    let workers = config.consumers * settings.consumer_processes.max(1);
    let share = config.capacity / workers.max(1);
    let within_claim = if config.processing_time_s > 0.0 {
        (settings.claim_idle.as_secs_f64() / (2.0 * config.processing_time_s)) as usize
    } else {
        BATCH
    };
    share.min(within_claim).clamp(1, BATCH)
}
