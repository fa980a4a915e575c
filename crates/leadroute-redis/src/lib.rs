//! Redis-backed shared state for [leadroute]: [`RedisPoolStore`],
//! a [`PoolStore`](leadroute::PoolStore) whose compare-and-swap is a Lua
//! script, so every replica's [`LeadRouter`](leadroute::LeadRouter) shares
//! one rotation per pool.
//!
//! ```no_run
//! use leadroute::testing::{InMemoryCrm, RecordingSink};
//! use leadroute::{LeadRouter, Policy};
//! use leadroute_redis::{RedisConfig, RedisPoolStore};
//!
//! # async fn run(policy: Policy) -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisPoolStore::connect_with("redis://127.0.0.1:6379/", RedisConfig::default()).await?;
//! let router = LeadRouter::new(policy, InMemoryCrm::new(), RecordingSink::new()).with_pool_store(store);
//! # Ok(()) }
//! ```
//!
//! # Data layout
//!
//! Each pool is a hash at `{key_prefix}pool:{pool id}` (prefix `leadroute:`
//! by default) with two fields: `version`, the decimal version, and `state`,
//! the [`PoolState`](leadroute::pool::PoolState) JSON (members' counters and
//! the replay window of recent lead ids). A missing hash is a pool at version
//! 0. The compare-and-swap script compares `version` with the expected value
//! and writes both fields only if they match; Redis runs a script atomically,
//! so two replicas can never both advance from the same version.
//!
//! # Idempotent replays across replicas
//!
//! The replay window travels inside the state, so it is swapped atomically
//! with the counters. Two replicas routing the same lead id at once both
//! decide on version *n*; one compare-and-swap wins, the other fails, reloads
//! version *n + 1*, finds the lead id in the window and replays its owner
//! without writing. The lead gets one owner and the rotation advances once.
//!
//! # Durability
//!
//! The counts are as durable as the server's persistence. Run Redis with
//! `appendonly yes` and choose `appendfsync` knowingly:
//!
//! - `always`: an acknowledged write is on disk; nothing is lost, at one
//!   fsync per event-loop turn.
//! - `no`: an acknowledged write is in the append-only file (the page
//!   cache); a crash of the Redis process loses nothing, a crash of the
//!   machine loses what the kernel had not flushed.
//! - `everysec` (Redis's default): while a background fsync is slow Redis
//!   postpones writing the file for up to two seconds **and replies
//!   anyway**, so even a process crash can lose the last ~2 s of
//!   acknowledged assignments.
//!
//! What a lost tail costs: the pool's version and counters go back to an
//! earlier state, the rotation repeats those positions (the shares drift by
//! at most the lost assignments), and a replay of a lead id decided in the
//! lost tail is decided again (it may get another owner). The outbox's
//! entries have the same durability: a CRM write queued in the lost tail is
//! gone with it, so a server that holds a [`RedisOutbox`] should run with
//! `appendfsync always` (or keep the outbox in Postgres). Without
//! persistence a restart empties the store and every pool starts again from
//! version 0.
//!
//! # Failure modes
//!
//! Each call's attempt is bounded by [`RedisConfig::op_timeout`] and retried
//! on connection faults, timeouts and a loading server until
//! [`RedisConfig::retry_for`] has passed; then it fails with a typed
//! [`RedisStoreError`] (`ConnectionLost`, `Timeout`, `NotReady`, `Command`,
//! `Corrupt`). Retrying a compare-and-swap after an unknown outcome is safe:
//! the repeat finds the version moved and the router replays.
//!
//! A lost compare-and-swap waits a short random time before it returns
//! `false` (a randomized backoff that grows mildly with consecutive losses,
//! at most 5 ms a wait: [`leadroute_tokio::backoff`]), so that routers
//! contending for one hot pool spread out instead of losing in step until
//! the router's record loop gives up; an uncontended swap never waits.
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

mod conn;
mod error;
mod outbox;
mod pool;

pub use conn::{RedisConfig, RedisConnection};
pub use error::RedisStoreError;
pub use outbox::RedisOutbox;
pub use pool::RedisPoolStore;

/// The README's examples, compiled as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
