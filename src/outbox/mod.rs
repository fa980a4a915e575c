//! **Keep**: a durable outbox for CRM writes, so that a write that failed —
//! or, in write-ahead mode, one a crash interrupted — is retried until the
//! CRM has it, and a write that cannot succeed is kept for a person
//! instead of being dropped.
//!
//! - [`Outbox`]: the trait a store implements (enqueue, claim a batch under
//!   a lease, complete, fail with the next attempt time, dead-letter, list
//!   and requeue dead letters). Its docs define the lease semantics and why
//!   delivery is at least once yet *effectively* once.
//! - [`OutboxEntry`]: a [`PendingWrite`](crate::crm::PendingWrite) with its
//!   delivery state ([`EntryStatus`], [`Lease`], [`DeadLetter`]), as serde
//!   data.
//! - [`RetryPolicy`]: exponential backoff with deterministic jitter, the
//!   CRM's `retry_after` honoured, and when to give up — as data.
//! - [`InMemoryOutbox`]: the reference implementation, for tests and single
//!   processes. The workspace's Redis and Postgres crates hold entries
//!   durably and share them between replicas.
//!
//! Like everything in the core, the outbox reads no clock: callers pass
//! `now`.
//!
//! # The life of a queued write
//!
//! ```
//! use leadroute::crm::{CrmError, PendingWrite};
//! use leadroute::outbox::{DeadLetter, EntryStatus, InMemoryOutbox, Outbox, OutboxEntry, RetryPolicy};
//! # use leadroute::policy::spec::{ActionSpec, OwnerSpec};
//! # use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
//! # let policy = compile(&PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"))).unwrap();
//! # let lead = Normalizer::default().normalize(&LeadInput::from_email("jo@acme.com")).unwrap().lead;
//! # let decision = policy.evaluate(&lead, &Facts::at_unix(0));
//! use std::time::{Duration, SystemTime};
//!
//! let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let retry = RetryPolicy::default().with_jitter(0.0).with_max_attempts(3);
//! let outbox = InMemoryOutbox::new();
//! let lease = Duration::from_secs(30);
//!
//! // The router's own attempt failed: queue the write, due after one backoff.
//! let error = CrmError::transient("503");
//! let write = PendingWrite::new("lead-1", lead, decision, error.clone());
//! let due = retry.next_attempt_at("lead-1", 1, &error, t0);
//! let entry = OutboxEntry::new(write, t0).after_attempts(1, error).retry_at(due);
//! pollster::block_on(async {
//!     outbox.enqueue(entry).await.unwrap();
//!     assert!(outbox.claim("w1", t0, lease, 10).await.unwrap().is_empty()); // not due yet
//!
//!     // A worker claims it when due, tries, fails again: back to pending, later.
//!     let t1 = t0 + Duration::from_secs(1);
//!     let batch = outbox.claim("w1", t1, lease, 10).await.unwrap();
//!     let (entry, held) = (&batch[0], batch[0].lease.as_ref().unwrap());
//!     assert_eq!(entry.attempts, 2);
//!     let e = CrmError::rate_limited("429", Some(Duration::from_secs(60)));
//!     assert_eq!(retry.dead_reason(entry.attempts, &e), None);
//!     let next = retry.next_attempt_at(&entry.id, entry.attempts, &e, t1);
//!     assert_eq!(next, t1 + Duration::from_secs(60)); // the CRM's wait wins over 2 s of backoff
//!     assert!(outbox.fail(&entry.id, held, &e, next).await.unwrap());
//!
//!     // The third attempt fails permanently: dead-lettered, kept for a person.
//!     let batch = outbox.claim("w2", next, lease, 10).await.unwrap();
//!     let held = batch[0].lease.clone().unwrap();
//!     let e = CrmError::permanent("INVALID_EMAIL_ADDRESS");
//!     let reason = retry.dead_reason(batch[0].attempts, &e).unwrap();
//!     assert!(outbox.dead_letter("lead-1", &held, &DeadLetter::new(reason, next, Some(e))).await.unwrap());
//!     let dead = outbox.dead_letters(10).await.unwrap();
//!     assert_eq!((dead.len(), dead[0].status), (1, EntryStatus::Dead));
//!
//!     // Fixed by hand: requeue for a fresh series of attempts.
//!     assert!(outbox.requeue("lead-1", next).await.unwrap());
//!     assert_eq!(outbox.claim("w2", next, lease, 10).await.unwrap()[0].attempts, 1);
//! });
//! ```
//!
//! The [`LeadRouter`](crate::LeadRouter) does all of this when given an
//! outbox, and its retry worker drains it; see the router's docs.

mod entry;
mod memory;
mod retry;
mod store;

pub use entry::{
    DeadLetter, DeadReason, Enqueued, EntryStatus, InvalidEntry, Lease, MAX_ENTRY_ID_LEN,
    OutboxEntry, OutboxStats,
};
pub use memory::{InMemoryOutbox, InMemoryOutboxError};
pub use retry::{MAX_RETRY_DELAY, RetryPolicy};
pub use store::{MAX_BATCH, NoOutbox, Outbox};

pub(crate) use entry::unix_ms;

/// The lease owner of an entry the router enqueues in write-ahead mode,
/// already claimed for its own first attempt (attempt 1; worker claims
/// start at 2, so the holds never coincide).
pub const WRITE_AHEAD_OWNER: &str = "leadroute-router";

// Compile-time proof that what replicas share can be shared.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<InMemoryOutbox>();
    shared::<OutboxEntry>();
    shared::<RetryPolicy>();
};
