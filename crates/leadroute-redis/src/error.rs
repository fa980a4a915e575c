//! [`RedisStoreError`]: what a Redis-backed store reports, by cause.

use std::time::Duration;

/// Why a Redis store call failed. Every variant names the operation (e.g.
/// ``load of pool `sales` ``) and the cause in its message.
///
/// The router turns any of them into a
/// [`PoolStoreFailure`](leadroute::router::PoolStoreFailure) with kind
/// `store_error` and this message, and decides on its local copy of the pool
/// state (see the crate docs, *Failure modes*).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The first connection to the server could not be made (wrong URL,
    /// server down, network).
    #[error("could not connect to Redis at {addr}: {source}")]
    Connect {
        /// The server's address, without credentials.
        addr: String,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// The connection dropped or was refused during the operation, and did
    /// not come back within the store's retry window.
    #[error("{op}: lost the connection to Redis (retried for {retried:?}): {source}")]
    ConnectionLost {
        /// What was being done.
        op: String,
        /// How long the store kept retrying.
        retried: Duration,
        /// The last error.
        #[source]
        source: redis::RedisError,
    },
    /// The server did not answer within the store's operation timeout.
    #[error("{op}: Redis did not answer within {after:?}")]
    Timeout {
        /// What was being done.
        op: String,
        /// The timeout.
        after: Duration,
    },
    /// The server is (re)starting and still loading its data set (`LOADING`),
    /// or is a replica without a reachable primary, past the retry window.
    #[error("{op}: Redis is restarting or not ready ({source})")]
    NotReady {
        /// What was being done.
        op: String,
        /// The server's error.
        #[source]
        source: redis::RedisError,
    },
    /// Any other error the server or client returned (permissions, a
    /// read-only replica, out of memory, a script error).
    #[error("{op}: Redis returned an error: {source}")]
    Command {
        /// What was being done.
        op: String,
        /// The error.
        #[source]
        source: redis::RedisError,
    },
    /// The outbox refused an entry that fails
    /// [`OutboxEntry::validate`](leadroute::outbox::OutboxEntry::validate).
    #[error("enqueue of outbox entry refused: {source}")]
    InvalidEntry {
        /// What is wrong with it.
        #[source]
        source: leadroute::outbox::InvalidEntry,
    },
    /// A stored value is not what this crate writes (edited by hand, or
    /// written by an incompatible version).
    #[error("{op}: the value at key `{key}` is not valid: {message}")]
    Corrupt {
        /// What was being done.
        op: String,
        /// The key.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl RedisStoreError {
    /// Whether retrying later may succeed: the connection, a timeout or a
    /// restarting server (not a corrupt value or a refused command).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RedisStoreError::Connect { .. }
                | RedisStoreError::ConnectionLost { .. }
                | RedisStoreError::Timeout { .. }
                | RedisStoreError::NotReady { .. }
        )
    }
}

/// How a client error is retried and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Connection,
    NotReady,
    Timeout,
    Other,
}

pub(crate) fn classify(e: &redis::RedisError) -> Class {
    use redis::{ErrorKind, ServerErrorKind};
    if e.is_timeout() {
        return Class::Timeout;
    }
    if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        return Class::Connection;
    }
    match e.kind() {
        ErrorKind::Server(
            ServerErrorKind::BusyLoading | ServerErrorKind::TryAgain | ServerErrorKind::MasterDown,
        ) => Class::NotReady,
        _ => Class::Other,
    }
}
