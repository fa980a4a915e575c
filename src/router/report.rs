//! What a route reports: [`Routed`] and its parts, as plain serde data.
//!
//! This module depends on nothing but the vocabulary it reports (leads,
//! decisions, CRM records and errors), so the [`events`](crate::events)
//! module can carry the same types without importing the router.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crm::records::{Account, Contact, Lookup, LookupStatus};
use crate::crm::{CrmError, PendingWrite, WriteReceipt};
use crate::decision::RouteDecision;
use crate::lead::issue::FieldIssue;
use crate::lead::model::Lead;
use crate::matching::AccountMatch;
use crate::outbox::{DeadReason, unix_ms};
use crate::policy::time::Reassignment;
use crate::submission::signal::Signals;

/// A routed submission: everything [`LeadRouter::route`](super::LeadRouter::route)
/// learned and did.
///
/// # JSON contract
///
/// `{"lead_id": id, "lead": Lead, "warnings": [FieldIssue], "decision":
/// RouteDecision, "lookups": Lookups, "write": WriteOutcome, "pool_store":
/// PoolStoreFailure | null, "screening": Signals | null, "timings": Timings}`
/// (`screening`: see [`Signals`]); see [`Lookups`],
/// [`WriteOutcome`], [`PoolStoreFailure`] and [`Timings`] for their shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Routed {
    /// The submission's lead id: the one given (`lead_id`, `id` or
    /// `submission_id`), or one derived from the whole submission and the
    /// submit time (see [`LeadRouter::route`](super::LeadRouter::route)).
    pub lead_id: String,
    /// The normalized lead.
    pub lead: Lead,
    /// Non-fatal normalization warnings.
    pub warnings: Vec<FieldIssue>,
    /// The decision.
    pub decision: RouteDecision,
    /// How the CRM lookups went.
    pub lookups: Lookups,
    /// The CRM write: written (the receipt), pending (what to retry) or
    /// skipped (the decision says not to write).
    pub write: WriteOutcome,
    /// Set when the pool store failed: the decision was made on this
    /// router's local pool state and its pool step was not recorded in the
    /// store.
    #[serde(default)]
    pub pool_store: Option<PoolStoreFailure>,
    /// The submission's spam signals, when the router screens
    /// ([`with_screen`](super::LeadRouter::with_screen)).
    #[serde(default)]
    pub screening: Option<Signals>,
    /// Per-stage timings.
    pub timings: Timings,
}

/// How the CRM lookups went.
///
/// # JSON contract
///
/// `{"account": LookupStatus, "person": LookupStatus, "matched_account":
/// Account | null, "account_match": AccountMatch (absent when the account
/// lookup was skipped or failed), "existing_person": Contact | null,
/// "errors": [LookupError]}` where a [`LookupStatus`] is `"found"`, `"not_found"`,
/// `"skipped"`, `"failed"` or `"timed_out"` and a [`LookupError`] is
/// `{"lookup": "account" | "person", "error": CrmError}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lookups {
    /// The account lookup.
    pub account: LookupStatus,
    /// The person lookup.
    pub person: LookupStatus,
    /// The matched account (with `route_to_parent`, the parent the lead is
    /// routed to).
    pub matched_account: Option<Account>,
    /// The matcher's result over the CRM's candidates: the method,
    /// confidence, every candidate and why (absent when the lookup was
    /// skipped, failed or timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_match: Option<Arc<AccountMatch>>,
    /// The existing contact or lead.
    pub existing_person: Option<Contact>,
    /// The errors of the lookups that failed (status `failed`), account
    /// first. A lookup that ran out of its budget has status `timed_out` and
    /// no error here.
    pub errors: Vec<LookupError>,
}

impl Lookups {
    /// The error of one lookup, if it failed.
    ///
    /// ```
    /// use leadroute::crm::{CrmError, Lookup};
    /// use leadroute::testing::{InMemoryCrm, ManualClock, Method, RecordingSink};
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
    /// use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
    ///
    /// let spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"));
    /// let router = LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_700_000_000));
    /// router.crm().fail_next(Method::FindPerson, 1, CrmError::transient("503"));
    /// let routed = pollster::block_on(router.route(LeadInput::from_email("jane@acme.com"))).unwrap();
    /// assert_eq!(routed.lookups.error(Lookup::Person), Some(&CrmError::transient("503")));
    /// assert_eq!(routed.lookups.error(Lookup::Account), None);
    /// assert_eq!(
    ///     serde_json::to_value(&routed.lookups.errors).unwrap(),
    ///     serde_json::json!([{"lookup": "person", "error": {"class": "transient", "message": "503"}}])
    /// );
    /// ```
    pub fn error(&self, lookup: Lookup) -> Option<&CrmError> {
        self.errors
            .iter()
            .find(|e| e.lookup == lookup)
            .map(|e| &e.error)
    }
}

/// A CRM lookup that failed, and which one it was.
///
/// JSON: `{"lookup": "account" | "person", "error": CrmError}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{} lookup failed: {error}", .lookup.as_str())]
#[non_exhaustive]
pub struct LookupError {
    /// Which lookup: the account (by company domain) or the person (by email).
    pub lookup: Lookup,
    /// What the CRM adapter returned.
    pub error: CrmError,
}

impl LookupError {
    /// A failed lookup.
    pub fn new(lookup: Lookup, error: CrmError) -> Self {
        LookupError { lookup, error }
    }
}

/// What became of the CRM write.
///
/// # JSON contract
///
/// Tagged by `outcome`:
///
/// - `{"outcome": "written", "record_id": id, "created": bool}` — the CRM
///   took it ([`WriteReceipt`]);
/// - `{"outcome": "pending", "lead_id", "lead", "decision", "existing",
///   "account", "error"}` — it failed or ran out of its budget; the rest is
///   the [`PendingWrite`] to retry;
/// - `{"outcome": "queued", "entry_id", "attempts", "next_attempt_at_ms",
///   "error"}` — it failed, and the router's outbox holds it for the retry
///   worker ([`QueuedWrite`]);
/// - `{"outcome": "dead_lettered", "entry_id", "reason", "error"}` — it
///   failed in a way retrying cannot fix, and the outbox keeps it as a dead
///   letter for a person ([`DeadLetteredWrite`]);
/// - `{"outcome": "skipped"}` — no write was attempted because the decision
///   says not to write the lead (`write_to_crm` is `false`: a rejection,
///   unless its rule says `write_to_crm = true`).
///
/// ```
/// use leadroute::crm::WriteReceipt;
/// use leadroute::router::WriteOutcome;
///
/// let written = WriteOutcome::Written(WriteReceipt::new("lead-1", true));
/// assert_eq!(written.receipt().map(|r| r.record_id.as_str()), Some("lead-1"));
/// assert_eq!(
///     serde_json::to_value(&written).unwrap(),
///     serde_json::json!({"outcome": "written", "record_id": "lead-1", "created": true})
/// );
/// assert_eq!(serde_json::to_value(WriteOutcome::Skipped).unwrap(), serde_json::json!({"outcome": "skipped"}));
/// assert!(WriteOutcome::Skipped.is_skipped() && WriteOutcome::Skipped.pending().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum WriteOutcome {
    /// The CRM created or updated the record.
    Written(WriteReceipt),
    /// The write did not reach the CRM: everything needed to retry it, with
    /// [`LeadRouter::retry_write`](super::LeadRouter::retry_write). With an
    /// outbox, only when the outbox could not take it either.
    Pending(Box<PendingWrite>),
    /// The write did not reach the CRM and the router's outbox holds it: the
    /// retry worker will deliver it.
    Queued(Box<QueuedWrite>),
    /// The write failed in a way retrying cannot fix; the router's outbox
    /// keeps it as a dead letter.
    DeadLettered(Box<DeadLetteredWrite>),
    /// No write was attempted: the decision says not to write the lead.
    Skipped,
}

impl WriteOutcome {
    /// The receipt, if the CRM took the write.
    pub fn receipt(&self) -> Option<&WriteReceipt> {
        match self {
            WriteOutcome::Written(r) => Some(r),
            _ => None,
        }
    }

    /// The write to retry, if it failed.
    pub fn pending(&self) -> Option<&PendingWrite> {
        match self {
            WriteOutcome::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// The write to retry, if it failed, by value (e.g. for a retry queue).
    pub fn into_pending(self) -> Option<PendingWrite> {
        match self {
            WriteOutcome::Pending(p) => Some(*p),
            _ => None,
        }
    }

    /// Where the outbox holds the write, if it queued it for a retry.
    pub fn queued(&self) -> Option<&QueuedWrite> {
        match self {
            WriteOutcome::Queued(q) => Some(q),
            _ => None,
        }
    }

    /// The dead letter, if the write was dead-lettered.
    pub fn dead_lettered(&self) -> Option<&DeadLetteredWrite> {
        match self {
            WriteOutcome::DeadLettered(d) => Some(d),
            _ => None,
        }
    }

    /// Whether no write was attempted because the decision says not to.
    pub fn is_skipped(&self) -> bool {
        matches!(self, WriteOutcome::Skipped)
    }

    /// Whether nothing is left to do: the write went through, or was
    /// skipped as the decision asked. `false` for a write that is pending,
    /// queued or dead-lettered. (Use [`receipt`](Self::receipt) to know that
    /// a record was written.)
    pub fn is_ok(&self) -> bool {
        matches!(self, WriteOutcome::Written(_) | WriteOutcome::Skipped)
    }
}

/// A failed write the router's outbox holds for the retry worker.
///
/// JSON: `{"entry_id": id, "attempts": n, "next_attempt_at_ms": unix ms,
/// "error": CrmError}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueuedWrite {
    /// The outbox entry's id (the lead id).
    pub entry_id: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, by the retry policy.
    #[serde(rename = "next_attempt_at_ms", with = "unix_ms")]
    pub next_attempt_at: std::time::SystemTime,
    /// The last attempt's error.
    pub error: CrmError,
}

impl QueuedWrite {
    /// A queued write.
    pub fn new(
        entry_id: impl Into<String>,
        attempts: u32,
        next_attempt_at: std::time::SystemTime,
        error: CrmError,
    ) -> Self {
        QueuedWrite {
            entry_id: entry_id.into(),
            attempts,
            next_attempt_at,
            error,
        }
    }
}

/// A write the router's outbox keeps as a dead letter.
///
/// JSON: `{"entry_id": id, "reason": "not_retryable" | "attempts_exhausted",
/// "error": CrmError | null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeadLetteredWrite {
    /// The outbox entry's id (the lead id).
    pub entry_id: String,
    /// Why it is dead.
    pub reason: DeadReason,
    /// The last attempt's error, if there was one.
    pub error: Option<CrmError>,
}

impl DeadLetteredWrite {
    /// A dead-lettered write.
    pub fn new(entry_id: impl Into<String>, reason: DeadReason, error: Option<CrmError>) -> Self {
        DeadLetteredWrite {
            entry_id: entry_id.into(),
            reason,
            error,
        }
    }
}

/// The pool store could not record a decision's pool step, and why.
///
/// JSON: `{"pool": id, "kind": "store_error" | "contention", "message":
/// text}` — on [`Routed::pool_store`] and as the details of the
/// `pool_store_failed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("pool store failed on pool `{pool}` ({kind}): {message}")]
#[non_exhaustive]
pub struct PoolStoreFailure {
    /// The pool whose state could not be loaded or replaced.
    pub pool: String,
    /// What went wrong.
    pub kind: PoolStoreFailureKind,
    /// The store's error, or the contention, as text.
    pub message: String,
}

impl PoolStoreFailure {
    /// A failure on `pool`.
    pub fn new(
        pool: impl Into<String>,
        kind: PoolStoreFailureKind,
        message: impl Into<String>,
    ) -> Self {
        PoolStoreFailure {
            pool: pool.into(),
            kind,
            message: message.into(),
        }
    }
}

/// Why a pool step went unrecorded.
///
/// JSON: `"store_error"`, `"contention"`, `"timed_out"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PoolStoreFailureKind {
    /// A [`PoolStore`](crate::PoolStore) call (load or compare-and-swap)
    /// returned an error.
    StoreError,
    /// Other replicas kept updating the pool between this router's read and
    /// its compare-and-swap, until it gave up.
    Contention,
    /// The pool step took longer than the router's pool budget.
    TimedOut,
}

impl PoolStoreFailureKind {
    /// The snake_case name (`store_error`, `contention`, `timed_out`).
    pub fn as_str(self) -> &'static str {
        match self {
            PoolStoreFailureKind::StoreError => "store_error",
            PoolStoreFailureKind::Contention => "contention",
            PoolStoreFailureKind::TimedOut => "timed_out",
        }
    }
}

impl fmt::Display for PoolStoreFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Time spent per stage, by the injected clock.
///
/// JSON: each stage as serde's `Duration`, `{"secs": n, "nanos": n}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timings {
    /// Normalization.
    pub normalize: Duration,
    /// CRM lookups (concurrent).
    pub lookup: Duration,
    /// Policy evaluation and pool update.
    pub decide: Duration,
    /// CRM write (zero when skipped).
    pub write: Duration,
    /// Submit to done.
    pub total: Duration,
}

/// What [`LeadRouter::reassign`](super::LeadRouter::reassign) did: the new decision, the CRM write and
/// whether the pool store was reachable.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reassigned {
    /// The new decision, the owner it was taken from and the away mark.
    pub reassignment: Reassignment,
    /// The CRM write of the new owner (written, pending or skipped).
    pub write: WriteOutcome,
    /// Set when the pool store failed (the choice was made on local state).
    pub pool_store: Option<PoolStoreFailure>,
    /// Whether the rotation credit ([`Reassignment::credit`]) was recorded
    /// in the pool store (`false` when there was none, or the store failed).
    pub credited: bool,
}
