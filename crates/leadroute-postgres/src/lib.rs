//! PostgreSQL-backed shared state for [leadroute]:
//! [`PostgresPoolStore`], a [`PoolStore`](leadroute::PoolStore) on a
//! versioned row, so every replica's [`LeadRouter`](leadroute::LeadRouter)
//! shares one rotation per pool.
//!
//! ```no_run
//! use leadroute::testing::{InMemoryCrm, RecordingSink};
//! use leadroute::{LeadRouter, Policy};
//! use leadroute_postgres::{PostgresConfig, PostgresPoolStore, migrate};
//!
//! # async fn run(policy: Policy) -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresPoolStore::connect_with(
//!     "host=127.0.0.1 user=leadroute dbname=leadroute",
//!     PostgresConfig::default(),
//! )
//! .await?;
//! migrate(store.connection()).await?; // idempotent: run it at every start
//! let router = LeadRouter::new(policy, InMemoryCrm::new(), RecordingSink::new()).with_pool_store(store);
//! # Ok(()) }
//! ```
//!
//! # The migration
//!
//! [`migrate`] creates `leadroute_pool_state (pool text primary key, version
//! bigint, state jsonb, updated_at timestamptz)` if it is missing, in one
//! transaction under an advisory lock, so every replica can run it at start.
//! The SQL is in `migrations/0001_pool_state.sql` ([`MIGRATIONS`]) for teams
//! that apply migrations with their own tool. Tables are created in the
//! connection's `search_path`; give each tenant or environment its own
//! schema (`options=-csearch_path=tenant_a` in the connection string) to
//! keep them apart.
//!
//! # Idempotent replays across replicas
//!
//! The replay window travels inside the `state` JSON, so it is swapped
//! atomically with the counters. Two replicas routing the same lead id at
//! once both decide on version *n*; one `UPDATE` matches the row, the other
//! matches none, reloads version *n + 1*, finds the lead id in the window
//! and replays its owner without writing. The lead gets one owner and the
//! rotation advances once.
//!
//! # Durability
//!
//! A compare-and-swap (and an outbox change) is acknowledged when its
//! transaction commits, so it is as durable as the server's commit
//! settings: with PostgreSQL's defaults (`fsync = on`,
//! `synchronous_commit = on`) nothing acknowledged is lost, even to a
//! machine crash. With `synchronous_commit = off` a server crash can lose
//! the last commits (up to three times `wal_writer_delay`, 600 ms by
//! default); the cost is the same as a Redis server's lost tail (see
//! `leadroute-redis`): the rotation repeats those positions, replays of
//! lead ids decided in the tail are decided again, and CRM writes queued in
//! it are gone. Keep `synchronous_commit = on` for the connections this
//! crate opens, at least those of a [`PostgresOutbox`] (the setting can be
//! made per role, per database or per session, e.g.
//! `options=-csynchronous_commit=on` in the connection string).
//!
//! # Failure modes
//!
//! Each call's attempt is bounded by [`PostgresConfig::op_timeout`] and
//! retried on a fresh connection after connection faults, timeouts and a
//! restarting server until [`PostgresConfig::retry_for`] has passed; then it
//! fails with a typed [`PostgresStoreError`] (`ConnectionLost`, `Timeout`,
//! `NotReady`, `NotMigrated`, `Query`, `Corrupt`). Retrying a
//! compare-and-swap after an unknown outcome is safe: the repeat matches no
//! row and the router replays. A lost compare-and-swap waits a short random
//! time (at most 5 ms) before it returns `false`, so routers contending for
//! one hot pool spread out; an uncontended one never waits.
//!
//! A failed store call does not fail the route: `LeadRouter` decides on its
//! local copy of the pool state, reports a
//! [`PoolStoreFailure`](leadroute::router::PoolStoreFailure) (kind
//! `store_error` with this crate's message, or `timed_out` past the router's
//! pool budget) on `Routed::pool_store` and a `pool_store_failed` event, and
//! uses the store again as soon as it answers. Steps decided locally are not
//! replayed into the store, so leads routed during an outage are missing
//! from the shared counts; see `docs/replicas.md` in the repository.
#![warn(missing_docs)]

mod backoff;
mod conn;
mod error;
mod migrate;
mod outbox;
mod pool;

pub use conn::{PgConnection, PostgresConfig};
pub use error::PostgresStoreError;
pub use migrate::{MIGRATIONS, migrate};
pub use outbox::PostgresOutbox;
pub use pool::PostgresPoolStore;

/// The README's examples, compiled as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
