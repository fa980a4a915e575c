//! [`PostgresStoreError`]: what a PostgreSQL-backed store reports, by cause.

use std::time::Duration;

use tokio_postgres::error::SqlState;

/// Why a PostgreSQL store call failed. Every variant names the operation
/// (e.g. ``load of pool `sales` ``) and the cause in its message.
///
/// The router turns any of them into a
/// [`PoolStoreFailure`](leadroute::router::PoolStoreFailure) with kind
/// `store_error` and this message, and decides on its local copy of the pool
/// state (see the crate docs, *Failure modes*).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresStoreError {
    /// The connection string does not parse.
    #[error("invalid PostgreSQL connection string: {source}")]
    Config {
        /// The client's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// No connection could be made, or an open one dropped, and none came
    /// back within the store's retry window.
    #[error("{op}: no connection to PostgreSQL (retried for {retried:?}): {source}")]
    ConnectionLost {
        /// What was being done.
        op: String,
        /// How long the store kept retrying.
        retried: Duration,
        /// The last error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The server did not answer within the store's operation timeout.
    #[error("{op}: PostgreSQL did not answer within {after:?}")]
    Timeout {
        /// What was being done.
        op: String,
        /// The timeout.
        after: Duration,
    },
    /// The server is shutting down, restarting or recovering
    /// (`admin_shutdown`, `crash_shutdown`, `cannot_connect_now`), past the
    /// retry window.
    #[error("{op}: PostgreSQL is restarting or not ready ({source})")]
    NotReady {
        /// What was being done.
        op: String,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The store's tables do not exist: run [`migrate`](crate::migrate).
    #[error(
        "{op}: the leadroute tables are missing; run leadroute_postgres::migrate() first ({source})"
    )]
    NotMigrated {
        /// What was being done.
        op: String,
        /// The server's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Any other error the server returned (permissions, constraints).
    #[error("{op}: PostgreSQL returned an error: {source}")]
    Query {
        /// What was being done.
        op: String,
        /// The error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The outbox refused an entry that fails
    /// [`OutboxEntry::validate`](leadroute::outbox::OutboxEntry::validate).
    #[error("enqueue of outbox entry refused: {source}")]
    InvalidEntry {
        /// What is wrong with it.
        #[source]
        source: leadroute::outbox::InvalidEntry,
    },
    /// A stored row is not what this crate writes.
    #[error("{op}: the stored row is not valid: {message}")]
    Corrupt {
        /// What was being done.
        op: String,
        /// What is wrong with it.
        message: String,
    },
}

impl PostgresStoreError {
    /// Whether retrying later may succeed: the connection, a timeout or a
    /// restarting server.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PostgresStoreError::ConnectionLost { .. }
                | PostgresStoreError::Timeout { .. }
                | PostgresStoreError::NotReady { .. }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// The connection is gone (or never came): reconnect and retry.
    Connection,
    /// The server is restarting: reconnect and retry.
    NotReady,
    NotMigrated,
    Other,
}

pub(crate) fn classify(e: &tokio_postgres::Error) -> Class {
    match e.code() {
        Some(c)
            if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW =>
        {
            Class::NotReady
        }
        Some(c) if *c == SqlState::UNDEFINED_TABLE => Class::NotMigrated,
        Some(_) => Class::Other,
        // No SQLSTATE: an I/O or protocol failure, or a closed connection.
        None => Class::Connection,
    }
}
