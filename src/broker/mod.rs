//! The same simulation with the queue in a broker: a Redis stream that a
//! consumer group reads, so that producers and consumers can be threads of this
//! process, other processes (`queue-sim worker`), or other machines.
//!
//! What changes when the queue leaves the process (the book's chapter 14):
//!
//! - **No sender to drop.** The run *closes* by setting a key once every item is
//!   in the stream; a worker leaves when the run is closed and nothing is left.
//! - **Acknowledgements.** A delivered entry stays *pending* at its consumer
//!   until acknowledged; a consumer that dies leaves its entries pending, and
//!   another one *reclaims* them (XAUTOCLAIM) once they have been idle for the
//!   claim time. So an item can be processed twice.
//! - **Counted where it ends.** An item is counted when the acknowledgement that
//!   removes it succeeds, in the same server-side script that counts it — so
//!   the accounting identity stays exact even when an item is processed twice,
//!   and even when a worker is killed (its counts are already in the broker).
//! - **Backpressure is the producer's job.** `MAXLEN` trims unread entries
//!   silently; the producer instead adds only while the stream holds fewer than
//!   `--capacity` entries, checked and added in one script.
//! - **Retries by delivery count.** A failed delivery is claimed again at once
//!   by its worker (a claim counts a delivery); the last allowed one goes to the
//!   dead-letter stream with its error.

mod connection;
mod keys;
mod produce;
mod report;
mod run;
mod scripts;
mod settings;
mod work;

pub use connection::{BrokerError, CONNECT_TIMEOUT, REPLY_TIMEOUT, connect};
pub use keys::{Keys, fields, worker_name};
pub use produce::BATCH;
pub use report::{BrokerInfo, BrokerReport, BrokerStats, DeadLetter, MAX_DEAD_LETTERS};
pub use run::BrokerRun;
pub use settings::BrokerSettings;
pub use work::{JoinedWorker, WorkerTally, join_run};
