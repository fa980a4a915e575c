//! The connection every store of this crate shares: one multiplexed,
//! self-reconnecting [`ConnectionManager`], with a per-attempt timeout and a
//! retry window for connection faults.

use std::future::Future;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Class, RedisStoreError, classify};

/// How a [`RedisConnection`] connects, times out and retries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisConfig {
    /// Prepended to every key this crate writes (default `leadroute:`), so
    /// several services or environments can share one server.
    pub key_prefix: String,
    /// How long one attempt of a call may take before it is abandoned
    /// (default 500 ms).
    pub op_timeout: Duration,
    /// How long each connection attempt may take (default 1 s).
    pub connect_timeout: Duration,
    /// For how long a call keeps retrying after a connection fault, a
    /// timeout or a restarting server (default 250 ms: one blip is absorbed,
    /// an outage is reported quickly so the router can degrade within its
    /// pool budget, 1 s by default). Raise it together with
    /// `LeadRouter::with_pool_budget` to ride out a server restart instead.
    pub retry_for: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            key_prefix: "leadroute:".to_owned(),
            op_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            retry_for: Duration::from_millis(250),
        }
    }
}

impl RedisConfig {
    /// Sets [`key_prefix`](Self::key_prefix).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }
    /// Sets [`op_timeout`](Self::op_timeout).
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }
    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets [`retry_for`](Self::retry_for).
    pub fn retry_for(mut self, window: Duration) -> Self {
        self.retry_for = window;
        self
    }
}

/// A connection to one Redis server, cheap to clone (clones share the
/// multiplexed connection). Needs a Tokio runtime.
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    config: RedisConfig,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Connects to `url` (`redis://[user:password@]host:port/[db]`).
    pub async fn connect(url: &str, config: RedisConfig) -> Result<Self, RedisStoreError> {
        let client = redis::Client::open(url).map_err(|source| RedisStoreError::Connect {
            addr: "(invalid URL)".to_owned(),
            source,
        })?;
        let addr = client.get_connection_info().addr().to_string();
        let manager_config = ConnectionManagerConfig::new()
            // The store bounds every call itself (op_timeout per attempt,
            // retry_for overall); the manager's own timeouts match.
            .set_response_timeout(Some(config.op_timeout))
            .set_connection_timeout(Some(config.connect_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(200));
        let manager = tokio::time::timeout(
            config.connect_timeout + config.op_timeout,
            ConnectionManager::new_with_config(client, manager_config),
        )
        .await
        .unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "connection attempt timed out",
            )))
        })
        .map_err(|source| RedisStoreError::Connect { addr, source })?;
        Ok(RedisConnection { manager, config })
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// `{prefix}{suffix}`.
    pub(crate) fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.config.key_prefix)
    }

    /// Runs `call` on the connection: each attempt within `op_timeout`,
    /// retried on connection faults, timeouts and `LOADING` until
    /// `retry_for` has passed.
    ///
    /// Only calls that are safe to repeat go through here: reads, and
    /// compare-and-swaps or claims whose repeat after an unknown outcome is
    /// answered by the version check (documented where each is used).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        op: impl Fn() -> String,
        mut call: F,
    ) -> Result<T, RedisStoreError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let start = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            let attempt =
                tokio::time::timeout(self.config.op_timeout, call(self.manager.clone())).await;
            let (class, error) = match attempt {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => (classify(&e), Some(e)),
                Err(_) => (Class::Timeout, None),
            };
            let error = match (class, error) {
                (Class::Other, Some(source)) => {
                    return Err(RedisStoreError::Command { op: op(), source });
                }
                (_, error) => error,
            };
            if start.elapsed() + pause > self.config.retry_for {
                return Err(match (class, error) {
                    (Class::NotReady, Some(source)) => {
                        RedisStoreError::NotReady { op: op(), source }
                    }
                    (Class::Connection, Some(source)) => RedisStoreError::ConnectionLost {
                        op: op(),
                        retried: start.elapsed(),
                        source,
                    },
                    _ => RedisStoreError::Timeout {
                        op: op(),
                        after: self.config.op_timeout,
                    },
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}
