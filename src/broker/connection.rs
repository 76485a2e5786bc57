//! Reaching the broker, with limits: a broker that is down or stops answering
//! is an error within seconds, never a hang.

use std::time::Duration;

use redis::{Connection, RedisError};

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long any one command may wait for its reply. Blocking reads ask for far
/// less (a worker's XREADGROUP blocks a fraction of a second), so only a broker that stopped answering
/// reaches it.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a run on a broker could not go on.
#[derive(Debug)]
pub enum BrokerError {
    /// The URL is not one the simulator can use.
    Url(String),
    /// The broker could not be reached, or a command failed.
    Redis {
        /// What the simulator was doing.
        doing: &'static str,
        /// The broker URL.
        url: String,
        /// Redis's own error.
        error: RedisError,
    },
    /// The run cannot take place as asked (a run id in use, a run not found).
    Refused(String),
    /// A worker process could not be started.
    Spawn(std::io::Error),
}

impl std::fmt::Display for BrokerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerError::Url(why) => f.write_str(why),
            BrokerError::Redis { doing, url, error } => {
                write!(f, "the broker at {url} failed while {doing}: {error}")
            }
            BrokerError::Refused(why) => f.write_str(why),
            BrokerError::Spawn(e) => write!(f, "could not start a worker process: {e}"),
        }
    }
}

impl std::error::Error for BrokerError {}

/// Checks that `url` names a Redis the simulator can reach: `redis://HOST:PORT`
/// or `redis+unix:///PATH`.
pub fn check_url(url: &str) -> Result<(), BrokerError> {
    if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
        return Err(BrokerError::Url(format!(
            "--broker {url}: expected redis://HOST:PORT or redis+unix:///PATH"
        )));
    }
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|e| BrokerError::Url(format!("--broker {url}: {e}")))
}

/// Connects to the broker at `url`, with [`CONNECT_TIMEOUT`] and [`REPLY_TIMEOUT`].
pub fn connect(url: &str) -> Result<Connection, BrokerError> {
    check_url(url)?;
    let failed = |error| BrokerError::Redis {
        doing: "connecting",
        url: url.to_string(),
        error,
    };
    let client = redis::Client::open(url).map_err(failed)?;
    let connection = client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(failed)?;
    connection
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .map_err(failed)?;
    connection
        .set_write_timeout(Some(REPLY_TIMEOUT))
        .map_err(failed)?;
    Ok(connection)
}

/// A connection that names what it is doing when a command fails.
pub(crate) struct Broker {
    pub(crate) con: Connection,
    pub(crate) url: String,
}

impl Broker {
    pub(crate) fn open(url: &str) -> Result<Self, BrokerError> {
        Ok(Broker {
            con: connect(url)?,
            url: url.to_string(),
        })
    }

    /// Turns a Redis error into one that says what failed and where.
    pub(crate) fn failed(&self, doing: &'static str) -> impl FnOnce(RedisError) -> BrokerError {
        let url = self.url.clone();
        move |error| BrokerError::Redis { doing, url, error }
    }
}
