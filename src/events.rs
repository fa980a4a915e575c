//! Funnel events — `form_submitted` … `owner_assigned` … `crm_write_success`
//! — and the [`EventSink`] trait callers implement to ship them (to logs,
//! a queue, metrics).
//!
//! # What one route emits, in order
//!
//! ```text
//! form_submitted
//! ├─ validation_failed                                   (end: nothing looked up or written)
//! └─ [submission_screened]                               the router screens: signals and score
//!    account_matched | account_not_matched
//!    [pool_store_failed]                                 the pool step was not recorded
//!    owner_assigned | lead_rejected                      exactly one: the decision
//!    [routing_fallback]                                  the policy fallback decided
//!    crm_write_success | crm_write_failed | crm_write_skipped
//!    [crm_write_queued | crm_write_dead_lettered | outbox_failed]   with an outbox, after a failure
//! ```
//!
//! [`LeadRouter::reassign`](crate::LeadRouter::reassign) emits
//! `[sla_breached]` (for a missed SLA), `[pool_store_failed]`,
//! `owner_reassigned` and then `crm_write_*`.
//! With an [outbox](crate::outbox), a failed write is followed by
//! `crm_write_queued` (the retry worker will deliver it) or
//! `crm_write_dead_lettered` (retrying cannot help; a person must look), or
//! by `outbox_failed` when the outbox itself could not take it (the write
//! then comes back to the caller as a pending write). The retry worker
//! emits, per entry it attempts, `crm_write_success`, or `crm_write_failed`
//! followed by `crm_write_queued` or `crm_write_dead_lettered`.
//!
//! [`LeadRouter::retry_write`](crate::LeadRouter::retry_write) emits
//! `crm_write_success` or `crm_write_failed` again;
//! [`LeadRouter::track`](crate::LeadRouter::track) records the front-end
//! events (`form_started`, `meeting_shown`, `meeting_booked`).
//!
//! ```
//! use leadroute::events::{Event, EventKind};
//! use std::time::{Duration, SystemTime};
//!
//! let submitted = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let e = Event::new(EventKind::FormSubmitted { email: None }, "lead-1", submitted + Duration::from_millis(40), Some(submitted));
//! let json = serde_json::to_value(&e).unwrap();
//! assert_eq!(json["event"], "form_submitted");
//! assert_eq!(json["since_submit_ms"], 40);
//! ```

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::crm::records::LookupStatus;
use crate::crm::{CrmError, PendingWrite};
use crate::decision::{AssignedBy, Experience};
use crate::lead::issue::FieldIssue;
use crate::matching::MatchMethod;
use crate::outbox::DeadReason;
use crate::router::report::{PoolStoreFailure, QueuedWrite};
use crate::submission::signal::{Signal, SignalSet};

/// Receives events. Called synchronously on the routing path, so keep it
/// cheap: push to a channel or buffer and ship elsewhere.
pub trait EventSink: Send + Sync {
    /// Takes one event.
    fn emit(&self, event: Event);
}

impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    fn emit(&self, event: Event) {
        (**self).emit(event);
    }
}

/// Drops every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
}

/// An [`EventSink`] that emits every event as a `tracing` event (feature
/// `tracing`), then passes it on to an inner sink (none by default).
///
/// Target `leadroute::events`; level `ERROR` for `crm_write_dead_lettered`,
/// `WARN` for `crm_write_failed`, `pool_store_failed`, `outbox_failed` and
/// `validation_failed`, `INFO` otherwise. Fields: `event` (the name),
/// `lead_id`, `at_ms`, `since_submit_ms` (when known) and `details`, the
/// event's JSON without the common fields. Emitted inside the router's
/// `route` span, so a subscriber shows them under the submission.
///
/// ```
/// use leadroute::events::{Event, EventKind, EventSink, TracingSink};
/// use leadroute::testing::RecordingSink;
/// use std::time::SystemTime;
///
/// let sink = TracingSink::wrapping(RecordingSink::new());
/// sink.emit(Event::new(EventKind::FormSubmitted { email: None }, "lead-1", SystemTime::UNIX_EPOCH, None));
/// assert_eq!(sink.inner().names(), ["form_submitted"]); // and a tracing event was emitted
/// ```
#[cfg(feature = "tracing")]
#[derive(Debug, Default, Clone)]
pub struct TracingSink<S = NoEvents> {
    inner: S,
}

#[cfg(feature = "tracing")]
impl TracingSink {
    /// A sink that only emits `tracing` events.
    pub fn new() -> Self {
        TracingSink { inner: NoEvents }
    }
}

#[cfg(feature = "tracing")]
impl<S> TracingSink<S> {
    /// Emits `tracing` events, then hands each event to `inner`.
    pub fn wrapping(inner: S) -> Self {
        TracingSink { inner }
    }

    /// The inner sink.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[cfg(feature = "tracing")]
impl<S: EventSink> EventSink for TracingSink<S> {
    fn emit(&self, event: Event) {
        let name = event.name();
        let details = match serde_json::to_value(&event.kind) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.remove("event");
                serde_json::Value::Object(map).to_string()
            }
            Ok(other) => other.to_string(),
            Err(e) => format!("{{\"unserializable\": {:?}}}", e.to_string()),
        };
        macro_rules! at {
            ($level:expr) => {
                tracing::event!(
                    target: "leadroute::events",
                    $level,
                    event = name,
                    lead_id = event.lead_id.as_str(),
                    at_ms = event.at_ms,
                    since_submit_ms = event.since_submit_ms,
                    details = details.as_str(),
                    "{name}"
                )
            };
        }
        match &event.kind {
            EventKind::CrmWriteDeadLettered { .. } => at!(tracing::Level::ERROR),
            EventKind::CrmWriteFailed { .. }
            | EventKind::PoolStoreFailed(_)
            | EventKind::OutboxFailed { .. }
            | EventKind::ValidationFailed { .. } => at!(tracing::Level::WARN),
            _ => at!(tracing::Level::INFO),
        }
        self.inner.emit(event);
    }
}

/// One funnel event.
///
/// # JSON contract
///
/// `{"event": "<name>", "lead_id": …, "at_ms": <unix ms>, "since_submit_ms": <ms | null>, …details}`
/// where the details depend on the event name (see [`EventKind`]).
/// `since_submit_ms` measures speed-to-lead from `form_submitted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// What happened, with its details.
    #[serde(flatten)]
    pub kind: EventKind,
    /// The submission's lead id.
    pub lead_id: String,
    /// When, in milliseconds since the Unix epoch (from the injected clock).
    pub at_ms: u64,
    /// Milliseconds since the form was submitted, when known.
    pub since_submit_ms: Option<u64>,
}

impl Event {
    /// Builds an event at `at`, measuring from `submitted` when given.
    pub fn new(
        kind: EventKind,
        lead_id: impl Into<String>,
        at: SystemTime,
        submitted: Option<SystemTime>,
    ) -> Self {
        Event {
            kind,
            lead_id: lead_id.into(),
            at_ms: unix_ms(at),
            since_submit_ms: submitted.map(|s| millis(at.duration_since(s).unwrap_or_default())),
        }
    }

    /// The stable snake_case name.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    millis(t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The event vocabulary, covering the whole funnel; the order a route emits
/// them in is on the [module page](self).
///
/// ```
/// use leadroute::events::{Event, EventKind};
/// use leadroute::router::{PoolStoreFailure, PoolStoreFailureKind};
/// use serde_json::json;
/// use std::time::{Duration, SystemTime};
///
/// let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let rejected = EventKind::LeadRejected {
///     rule: Some("reject-disposable".into()),
///     reason: Some("please use your work email".into()),
///     owner: None,
///     score: None,
///     signals: Default::default(),
/// };
/// let failed = EventKind::PoolStoreFailed(PoolStoreFailure::new(
///     "team", PoolStoreFailureKind::StoreError, "connection refused",
/// ));
/// let skipped = EventKind::CrmWriteSkipped { rule: Some("reject-disposable".into()) };
/// let json: Vec<_> = [rejected, failed, skipped]
///     .into_iter()
///     .map(|kind| serde_json::to_value(Event::new(kind, "lead-1", t, Some(t))).unwrap())
///     .collect();
/// let common = |mut v: serde_json::Value| {
///     v["lead_id"] = json!("lead-1");
///     v["at_ms"] = json!(1_700_000_000_000u64);
///     v["since_submit_ms"] = json!(0);
///     v
/// };
/// assert_eq!(json, [
///     common(json!({"event": "lead_rejected", "rule": "reject-disposable", "reason": "please use your work email"})),
///     common(json!({"event": "pool_store_failed", "pool": "team", "kind": "store_error", "message": "connection refused"})),
///     common(json!({"event": "crm_write_skipped", "rule": "reject-disposable"})),
/// ]);
/// let back: Event = serde_json::from_value(json[1].clone()).unwrap();
/// assert_eq!(back.name(), "pool_store_failed");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The buyer started filling in the form (front end).
    FormStarted {
        /// Which form.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<String>,
    },
    /// The form was submitted.
    FormSubmitted {
        /// The email as typed, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// The submission had field errors; nothing was written.
    ValidationFailed {
        /// The errors the form can show.
        errors: Vec<FieldIssue>,
    },
    /// A CRM account was matched to the lead.
    AccountMatched {
        /// The account id (the one routing uses: the parent, with
        /// `route_to_parent`).
        account_id: String,
        /// The lead's company domain (else the account's).
        domain: String,
        /// How the matcher matched it (absent for an account that did not
        /// come from the matcher).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<MatchMethod>,
        /// The matcher's confidence, 0 to 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
    },
    /// No account was matched, and why.
    AccountNotMatched {
        /// The domain looked up, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        /// Not found, skipped, failed or timed out.
        status: LookupStatus,
        /// Several accounts fit equally well and none was chosen (only
        /// written when true).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ambiguous: bool,
        /// How many candidates the matcher considered (only written when
        /// some).
        #[serde(default, skip_serializing_if = "is_zero")]
        candidates: usize,
    },
    /// The pool store failed (or kept changing under the router), so the
    /// decision's pool chose on this router's local pool state and the step
    /// was not recorded in the store. Precedes the decision's event.
    ///
    /// JSON details: `"pool"`, `"kind"` (`"store_error"` or `"contention"`)
    /// and `"message"` (see [`PoolStoreFailure`]).
    PoolStoreFailed(PoolStoreFailure),
    /// The policy decided, and did not reject the lead (a rejection emits
    /// [`LeadRejected`](Self::LeadRejected) instead).
    OwnerAssigned {
        /// Owner id, `null` if nobody.
        owner: Option<String>,
        /// Deciding rule, `null` for the fallback.
        rule: Option<String>,
        /// How the owner was chosen.
        assigned_by: AssignedBy,
        /// What the buyer sees next.
        experience: Experience,
    },
    /// The policy rejected the lead (experience `reject`, e.g. a disposable
    /// email), in place of `owner_assigned`. Whether it is written to the
    /// CRM follows from the decision's `write_to_crm`: see the next event
    /// (`crm_write_skipped` unless the rule says `write_to_crm = true`).
    LeadRejected {
        /// The rejecting rule, `null` for the fallback.
        rule: Option<String>,
        /// The reason the policy gives, if any.
        reason: Option<String>,
        /// The owner, in the rare case the rejecting action assigns one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// The spam score, when the submission was screened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score: Option<u32>,
        /// The spam signals that fired (names; details in the
        /// `submission_screened` event before).
        #[serde(default, skip_serializing_if = "SignalSet::is_empty")]
        signals: SignalSet,
    },
    /// The submission was screened for spam (when the router screens):
    /// every fired signal with its observed value, and the score. Follows
    /// `form_submitted`; the policy decides what to do about it.
    SubmissionScreened {
        /// The sum of the fired signals' weights.
        score: u32,
        /// The fired signals (`kind`, `field`, `observed`, `weight`).
        signals: Vec<Signal>,
    },
    /// The policy fallback decided (follows `owner_assigned` or
    /// `lead_rejected`).
    RoutingFallback {
        /// The fallback's owner, if any.
        owner: Option<String>,
    },
    /// The CRM write succeeded.
    CrmWriteSuccess {
        /// The record id.
        record_id: String,
        /// Created (`true`) or updated.
        created: bool,
    },
    /// The lead was not written to the CRM because the decision says not to
    /// (`write_to_crm` is `false`: by default for rejections). No CRM write
    /// was attempted.
    CrmWriteSkipped {
        /// The deciding rule, `null` for the fallback.
        rule: Option<String>,
    },
    /// The CRM write failed; `pending` holds everything needed to retry.
    CrmWriteFailed {
        /// The classified error.
        error: CrmError,
        /// The write to retry.
        pending: Box<PendingWrite>,
    },
    /// The failed write is in the outbox, due again at `next_attempt_at_ms`.
    ///
    /// JSON details: `"entry_id"`, `"attempts"`, `"next_attempt_at_ms"`,
    /// `"error"` (see [`QueuedWrite`]).
    CrmWriteQueued(QueuedWrite),
    /// The write will not be retried: the outbox keeps it as a dead letter
    /// until a person requeues or removes it.
    CrmWriteDeadLettered {
        /// The outbox entry's id (the lead id).
        entry_id: String,
        /// Why.
        reason: DeadReason,
        /// Attempts made.
        attempts: u32,
        /// The last error, if an attempt returned one.
        error: Option<CrmError>,
    },
    /// The outbox itself failed (unreachable, full, …). After a failed
    /// write's enqueue, the write comes back to the caller as a pending
    /// write; after any other operation the entry stays where it was and a
    /// later claim retries it.
    OutboxFailed {
        /// The operation: `enqueue`, `claim`, `complete`, `fail`,
        /// `dead_letter`.
        operation: String,
        /// The entry concerned, if one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry_id: Option<String>,
        /// The outbox's error.
        message: String,
    },
    /// A meeting scheduler was shown (front end).
    MeetingShown {
        /// Whose calendar.
        owner: String,
    },
    /// A meeting was booked (front end).
    MeetingBooked {
        /// Whose calendar.
        owner: String,
        /// The scheduler's meeting id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        meeting_id: Option<String>,
    },
    /// The owner did not respond within the SLA (emitted by
    /// [`LeadRouter::reassign`](crate::LeadRouter::reassign) for
    /// `sla_missed`, before `owner_reassigned`).
    SlaBreached {
        /// The owner who missed it.
        owner: Option<String>,
        /// When it was due (Unix ms), from the earlier decision.
        due_ms: Option<u64>,
        /// The SLA in minutes.
        sla_minutes: Option<u32>,
    },
    /// A lead was routed again and got a new owner (or nobody); the CRM
    /// write events follow.
    OwnerReassigned {
        /// The owner it was taken from.
        from: Option<String>,
        /// The new owner, `null` if nobody was left.
        to: Option<String>,
        /// Why.
        reason: crate::policy::ReassignReason,
        /// The deciding rule, `null` for the fallback.
        rule: Option<String>,
        /// Whom the reassignment marked away, until when (Unix ms).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        away_until_ms: Option<u64>,
    },
}

impl EventKind {
    /// The stable snake_case name (`form_submitted`, `owner_assigned`, …).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::FormStarted { .. } => "form_started",
            EventKind::FormSubmitted { .. } => "form_submitted",
            EventKind::ValidationFailed { .. } => "validation_failed",
            EventKind::AccountMatched { .. } => "account_matched",
            EventKind::AccountNotMatched { .. } => "account_not_matched",
            EventKind::PoolStoreFailed(_) => "pool_store_failed",
            EventKind::OwnerAssigned { .. } => "owner_assigned",
            EventKind::LeadRejected { .. } => "lead_rejected",
            EventKind::SubmissionScreened { .. } => "submission_screened",
            EventKind::RoutingFallback { .. } => "routing_fallback",
            EventKind::CrmWriteSuccess { .. } => "crm_write_success",
            EventKind::CrmWriteSkipped { .. } => "crm_write_skipped",
            EventKind::CrmWriteFailed { .. } => "crm_write_failed",
            EventKind::CrmWriteQueued(_) => "crm_write_queued",
            EventKind::CrmWriteDeadLettered { .. } => "crm_write_dead_lettered",
            EventKind::OutboxFailed { .. } => "outbox_failed",
            EventKind::MeetingShown { .. } => "meeting_shown",
            EventKind::MeetingBooked { .. } => "meeting_booked",
            EventKind::SlaBreached { .. } => "sla_breached",
            EventKind::OwnerReassigned { .. } => "owner_reassigned",
        }
    }
}
