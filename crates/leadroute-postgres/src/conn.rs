//! The connections every store of this crate shares: a few self-healing
//! `tokio-postgres` clients (each pipelines concurrent queries), with a
//! per-attempt timeout and a retry window for connection faults.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use crate::error::{Class, PostgresStoreError, classify};

/// How a [`PgConnection`] connects, times out and retries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// How long one attempt of a call may take before it is abandoned
    /// (default 1 s).
    pub op_timeout: Duration,
    /// How long each connection attempt may take (default 2 s).
    pub connect_timeout: Duration,
    /// For how long a call keeps reconnecting and retrying after a
    /// connection fault, a timeout or a restarting server (default 250 ms: a
    /// dropped connection is replaced at once, an outage is reported quickly
    /// so the router can degrade within its pool budget, 1 s by default).
    /// Raise it together with `LeadRouter::with_pool_budget` to ride out a
    /// server restart instead.
    pub retry_for: Duration,
    /// How many connections to open (default 2). Each pipelines the queries
    /// of concurrent callers; more let the server work on several at once.
    pub connections: usize,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            op_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(2),
            retry_for: Duration::from_millis(250),
            connections: 2,
        }
    }
}

impl PostgresConfig {
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
    /// Sets [`connections`](Self::connections) (at least 1).
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }
}

struct Inner {
    pg: tokio_postgres::Config,
    config: PostgresConfig,
    slots: Vec<Mutex<Option<Arc<Client>>>>,
    next: AtomicUsize,
}

/// Connections to one PostgreSQL database, cheap to clone (clones share
/// them). Needs a Tokio runtime. TLS is not built in: connect over loopback
/// or a private network, or terminate TLS in a sidecar.
#[derive(Clone)]
pub struct PgConnection {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConnection")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl PgConnection {
    /// Connects to `conninfo` (`host=… port=… user=… dbname=…` or a
    /// `postgresql://` URL). The first connection is made at once, so a
    /// wrong address fails here.
    pub async fn connect(
        conninfo: &str,
        config: PostgresConfig,
    ) -> Result<Self, PostgresStoreError> {
        let mut pg: tokio_postgres::Config = conninfo
            .parse()
            .map_err(|source| PostgresStoreError::Config { source })?;
        pg.connect_timeout(config.connect_timeout);
        let slots = (0..config.connections.max(1))
            .map(|_| Mutex::new(None))
            .collect();
        let conn = PgConnection {
            inner: Arc::new(Inner {
                pg,
                config,
                slots,
                next: AtomicUsize::new(0),
            }),
        };
        conn.run(
            || "connect".to_owned(),
            |c| async move { c.simple_query("").await.map(|_| ()) },
        )
        .await?;
        Ok(conn)
    }

    /// The configuration.
    pub fn config(&self) -> &PostgresConfig {
        &self.inner.config
    }

    /// A live client of the next slot, connecting if its client is gone.
    async fn client(&self) -> Result<(usize, Arc<Client>), tokio_postgres::Error> {
        let i = self.inner.next.fetch_add(1, Ordering::Relaxed) % self.inner.slots.len();
        let mut slot = self.inner.slots[i].lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok((i, c.clone()));
        }
        let (client, connection) = self.inner.pg.connect(NoTls).await?;
        // The connection task ends when the server closes it or the client
        // is dropped; its error then shows on the client's next call.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok((i, client))
    }

    /// Drops slot `i`'s client if it is still `client`, so the next call
    /// reconnects.
    async fn discard(&self, i: usize, client: &Arc<Client>) {
        let mut slot = self.inner.slots[i].lock().await;
        if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, client)) {
            *slot = None;
        }
    }

    /// Runs `call` on a client: each attempt within `op_timeout`, retried
    /// (on a fresh connection) after connection faults, timeouts and a
    /// restarting server until `retry_for` has passed.
    ///
    /// Only calls that are safe to repeat go through here (reads, and
    /// version-checked writes whose repeat after an unknown outcome is
    /// answered by the version check; documented where each is used).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        op: impl Fn() -> String,
        mut call: F,
    ) -> Result<T, PostgresStoreError>
    where
        F: FnMut(Arc<Client>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let config = &self.inner.config;
        let start = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            let attempt = tokio::time::timeout(config.op_timeout, async {
                let (i, client) = self.client().await.map_err(|e| (None, e))?;
                call(client.clone())
                    .await
                    .map_err(|e| (Some((i, client)), e))
            })
            .await;
            let (class, error) = match attempt {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err((used, e))) => {
                    let class = classify(&e);
                    if let (Some((i, client)), Class::Connection | Class::NotReady) = (used, class)
                    {
                        self.discard(i, &client).await;
                    }
                    (Some(class), Some(e))
                }
                Err(_) => (None, None),
            };
            match (class, error) {
                (Some(Class::NotMigrated), Some(source)) => {
                    return Err(PostgresStoreError::NotMigrated { op: op(), source });
                }
                (Some(Class::Other), Some(source)) => {
                    return Err(PostgresStoreError::Query { op: op(), source });
                }
                (class, error) => {
                    if start.elapsed() + pause > config.retry_for {
                        return Err(match (class, error) {
                            (Some(Class::NotReady), Some(source)) => {
                                PostgresStoreError::NotReady { op: op(), source }
                            }
                            (Some(_), Some(source)) => PostgresStoreError::ConnectionLost {
                                op: op(),
                                retried: start.elapsed(),
                                source,
                            },
                            _ => PostgresStoreError::Timeout {
                                op: op(),
                                after: config.op_timeout,
                            },
                        });
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}
