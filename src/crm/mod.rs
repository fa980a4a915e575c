//! **Confirm**: the CRM as routing needs it. The [`Crm`] adapter trait
//! callers implement, the candidate accounts it is asked for
//! ([`CandidateQuery`]; the [matcher](crate::matching) chooses among
//! them), the records it returns ([`Account`], [`Contact`]),
//! the write it performs ([`LeadWrite`] with the owner's [`OwnerView`]), its
//! classified errors ([`CrmError`]) and the [`PendingWrite`] that keeps a
//! failed write from losing the lead.
//!
//! ```
//! use leadroute::crm::{CrmError, PendingWrite};
//!
//! // A failed write is data: store it, retry it later, dead-letter it when
//! // the error is permanent.
//! let e = CrmError::rate_limited("TEN_SECONDLY_ROLLING", Some(std::time::Duration::from_secs(1)));
//! assert!(e.is_retryable());
//! assert_eq!(serde_json::to_value(&e).unwrap()["class"], "rate_limited");
//! # let _ = std::any::type_name::<PendingWrite>();
//! ```

pub(crate) mod query;
pub(crate) mod records;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision::RouteDecision;
use crate::lead::model::Lead;
use crate::matching::Candidates;

pub use query::{CandidateQuery, DEFAULT_CANDIDATE_LIMIT, MAX_BRAND_SPELLINGS};
pub use records::{Account, Contact, Lookup, LookupStatus, PersonKind};

/// A CRM, as the router needs it: look up the accounts a lead may belong to
/// (by company domain, or any way the CRM can search), an existing person
/// by email, and create or update the lead with its owner.
///
/// Methods are async and runtime-agnostic; their futures must be `Send` so a
/// [`LeadRouter`](crate::LeadRouter) works under a multi-threaded runtime. Owner ids
/// returned in [`Account::owner`] and [`Contact::owner`] must be ids of the
/// policy's owners directory (map CRM user ids through the owners'
/// `crm_ids`, [`OwnerView::crm_id`]).
///
/// Implementations classify their failures as [`CrmError`]s so the router can
/// act on them. The workspace's `leadroute-hubspot` and `leadroute-salesforce`
/// crates are real adapters; `testing::InMemoryCrm` (feature `testing`) is
/// one with fault injection.
pub trait Crm: Send + Sync {
    /// The account whose website or domain is `domain` (a registrable
    /// domain such as `acme.co.uk`), if any.
    fn find_account(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send;

    /// Every account the lead may belong to — by domain, by the domain's
    /// brand under other suffixes, by company name — once each, at most
    /// `query.limit`: the candidates the router's
    /// [`Matcher`](crate::matching::Matcher) chooses from (see
    /// [`matching`](crate::matching)). Return more rather than fewer: the
    /// matcher rejects what does not fit, and says why.
    ///
    /// The default asks [`find_account`](Self::find_account) for the
    /// query's domain and returns that account (its `domain` set to the
    /// query's when the adapter left it empty), so adapters written before
    /// this method keep their behaviour.
    fn find_candidates(
        &self,
        query: &CandidateQuery,
    ) -> impl Future<Output = Result<Vec<Account>, CrmError>> + Send {
        let domain = query.domain.clone();
        async move {
            let Some(domain) = domain else {
                return Ok(Vec::new());
            };
            let found = self.find_account(&domain).await?;
            Ok(found
                .map(|mut a| {
                    a.domain.get_or_insert(domain);
                    a
                })
                .into_iter()
                .collect())
        }
    }

    /// [`find_candidates`](Self::find_candidates) for adapters that keep
    /// their accounts prepared: a [`CandidateSet`](crate::matching::CandidateSet)
    /// (an in-memory CRM, a cache of accounts) is returned as
    /// [`Candidates::Prepared`], shared, and the matcher only compares
    /// (see [`matching`](crate::matching)). What the router calls.
    ///
    /// The default returns [`find_candidates`](Self::find_candidates)'
    /// accounts as [`Candidates::Fresh`], prepared per match.
    fn find_prepared_candidates(
        &self,
        query: &CandidateQuery,
    ) -> impl Future<Output = Result<Candidates, CrmError>> + Send {
        let found = self.find_candidates(query);
        async move { found.await.map(Candidates::Fresh) }
    }

    /// The existing contact or (unconverted) lead with this email, if any.
    fn find_person(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<Contact>, CrmError>> + Send;

    /// Creates the lead, or updates `write.existing` when set, with its
    /// owner and routing fields. Returns the record id.
    ///
    /// Must be idempotent by `write.lead_id`: the router retries a write
    /// that failed with [`CrmError::UnknownOutcome`] (the first attempt may
    /// have created the record), and the retry must find or complete that
    /// record, never create a second one.
    fn upsert_lead(
        &self,
        write: &LeadWrite<'_>,
    ) -> impl Future<Output = Result<WriteReceipt, CrmError>> + Send;
}

/// A shared CRM adapter is a CRM adapter.
impl<T: Crm + ?Sized> Crm for std::sync::Arc<T> {
    fn find_account(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send {
        (**self).find_account(domain)
    }

    fn find_candidates(
        &self,
        query: &CandidateQuery,
    ) -> impl Future<Output = Result<Vec<Account>, CrmError>> + Send {
        (**self).find_candidates(query)
    }

    fn find_prepared_candidates(
        &self,
        query: &CandidateQuery,
    ) -> impl Future<Output = Result<Candidates, CrmError>> + Send {
        (**self).find_prepared_candidates(query)
    }

    fn find_person(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<Contact>, CrmError>> + Send {
        (**self).find_person(email)
    }

    fn upsert_lead(
        &self,
        write: &LeadWrite<'_>,
    ) -> impl Future<Output = Result<WriteReceipt, CrmError>> + Send {
        (**self).upsert_lead(write)
    }
}

/// Everything a CRM write needs.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct LeadWrite<'a> {
    /// The submission's lead id.
    pub lead_id: &'a str,
    /// The normalized lead.
    pub lead: &'a Lead,
    /// The routing decision (owner, rule, experience, tags, priority, SLA).
    pub decision: &'a RouteDecision,
    /// The assigned owner's directory entry (with its CRM ids), if any.
    pub owner: Option<OwnerView<'a>>,
    /// The record to update instead of creating one.
    pub existing: Option<&'a str>,
    /// The matched account, to associate the record with.
    pub account: Option<&'a Account>,
}

/// A read-only view of an owner in the policy's directory, as adapters need
/// it: ids in other systems, contact details, attributes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct OwnerView<'a> {
    /// The owner id used in the policy and decisions.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Email address.
    pub email: Option<&'a str>,
    /// Ids in external systems (`{"hubspot": "123", "salesforce": "005…"}`).
    pub crm_ids: &'a BTreeMap<String, String>,
    /// Whether the owner is active.
    pub active: bool,
    /// IANA time zone name.
    pub timezone: Option<&'a str>,
    /// Free-form attributes.
    pub attributes: &'a BTreeMap<String, Value>,
}

impl<'a> OwnerView<'a> {
    /// The owner's id in `system` (`"hubspot"`, `"salesforce"`, …).
    pub fn crm_id(&self, system: &str) -> Option<&'a str> {
        self.crm_ids.get(system).map(String::as_str)
    }
}

/// A write that did not reach the CRM, with everything needed to retry it
/// ([`LeadRouter::retry_write`](crate::LeadRouter::retry_write)).
///
/// JSON: `{"lead_id", "lead": Lead, "decision": RouteDecision, "existing":
/// id | null, "account": Account | null, "error": CrmError}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PendingWrite {
    /// The submission's lead id.
    pub lead_id: String,
    /// The normalized lead.
    pub lead: Lead,
    /// The decision to write.
    pub decision: RouteDecision,
    /// The record to update, if known (an existing contact or a conflict's id).
    pub existing: Option<String>,
    /// The matched account, to associate with.
    pub account: Option<Account>,
    /// Why the write failed.
    pub error: CrmError,
}

impl PendingWrite {
    /// A write of `decision` for `lead` under `lead_id`, to update no known
    /// record and associate no account, that failed with `error`.
    ///
    /// ```
    /// use leadroute::crm::{CrmError, PendingWrite};
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
    /// use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
    ///
    /// let policy = compile(&PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"))).unwrap();
    /// let lead = Normalizer::default().normalize(&LeadInput::from_email("jo@acme.com")).unwrap().lead;
    /// let decision = policy.evaluate(&lead, &Facts::at_unix(0));
    /// let write = PendingWrite::new("lead-7", lead, decision, CrmError::transient("502"));
    /// assert_eq!(write.decision.owner_id(), Some("q"));
    /// ```
    pub fn new(
        lead_id: impl Into<String>,
        lead: Lead,
        decision: RouteDecision,
        error: CrmError,
    ) -> Self {
        PendingWrite {
            lead_id: lead_id.into(),
            lead,
            decision,
            existing: None,
            account: None,
            error,
        }
    }

    /// Sets the record to update.
    pub fn existing(mut self, record_id: impl Into<String>) -> Self {
        self.existing = Some(record_id.into());
        self
    }

    /// Sets the account to associate with.
    pub fn account(mut self, account: Account) -> Self {
        self.account = Some(account);
        self
    }
}

/// A successful write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WriteReceipt {
    /// The CRM record id.
    pub record_id: String,
    /// `true` if a record was created, `false` if one was updated.
    pub created: bool,
}

impl WriteReceipt {
    /// A receipt.
    pub fn new(record_id: impl Into<String>, created: bool) -> Self {
        WriteReceipt {
            record_id: record_id.into(),
            created,
        }
    }
}

/// A classified CRM failure.
///
/// Serializes as `{"class": "rate_limited", "message": …, "retry_after_ms": …}`.
///
/// | class | meaning | what the router and a retry queue do |
/// |---|---|---|
/// | `transient` | nothing was written; may succeed later (5xx, a connection refused) | retry later |
/// | `rate_limited` | the CRM asked to wait (`retry_after` when it said how long) | retry after the wait |
/// | `unknown_outcome` | the write may or may not have been applied | retry later, idempotently |
/// | `conflict` | the record exists (a duplicate) | update that record, if named |
/// | `permanent` | retrying cannot help (bad data, auth, scopes) | dead-letter for a human |
///
/// `unknown_outcome` is what a write becomes when the request was sent but
/// its result is not known: a 2xx whose body could not be read, a timeout or
/// a connection lost after sending, or the router's write budget running
/// out. The record may exist, so a retry must be **idempotent by the lead
/// id** — find or complete the record the first attempt made, never create a
/// second — which is why [`Crm::upsert_lead`] implementations must make
/// their creates idempotent (the workspace's HubSpot adapter relies on
/// HubSpot's unique contact email; the Salesforce adapter upserts on the
/// lead id as an external id). The router never drops such a write: it
/// comes back as a [`PendingWrite`] for
/// [`retry_write`](crate::LeadRouter::retry_write), like a transient one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "class", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CrmError {
    /// A failure that may succeed if retried (5xx, network, timeouts).
    #[error("transient CRM error: {message}")]
    Transient {
        /// What the CRM or transport said.
        message: String,
    },
    /// The CRM asked us to slow down or to come back later (a 429, or a
    /// `Retry-After` on an unavailable service).
    #[error("CRM rate limit: {message}")]
    RateLimited {
        /// What the CRM said.
        message: String,
        /// How long the CRM asked us to wait, if it said.
        #[serde(
            default,
            with = "opt_millis",
            rename = "retry_after_ms",
            skip_serializing_if = "Option::is_none"
        )]
        retry_after: Option<Duration>,
    },
    /// The write may or may not have been applied (see the
    /// [type docs](CrmError)): retry it, idempotently.
    #[error("CRM write outcome unknown: {message}")]
    UnknownOutcome {
        /// What happened (the request was sent; its result is unknown).
        message: String,
    },
    /// The record already exists (a duplicate), possibly with its id.
    #[error("CRM conflict: {message}")]
    Conflict {
        /// What the CRM said.
        message: String,
        /// The id of the existing record, when the CRM gave it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        existing_id: Option<String>,
    },
    /// Retrying will not help (bad data, authentication, permissions).
    #[error("permanent CRM error: {message}")]
    Permanent {
        /// What the CRM said.
        message: String,
    },
}

impl CrmError {
    /// A transient error.
    pub fn transient(message: impl Into<String>) -> Self {
        CrmError::Transient {
            message: message.into(),
        }
    }
    /// A rate-limit error.
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        CrmError::RateLimited {
            message: message.into(),
            retry_after,
        }
    }
    /// A write whose outcome is unknown.
    pub fn unknown_outcome(message: impl Into<String>) -> Self {
        CrmError::UnknownOutcome {
            message: message.into(),
        }
    }
    /// A conflict.
    pub fn conflict(message: impl Into<String>, existing_id: Option<String>) -> Self {
        CrmError::Conflict {
            message: message.into(),
            existing_id,
        }
    }
    /// A permanent error.
    pub fn permanent(message: impl Into<String>) -> Self {
        CrmError::Permanent {
            message: message.into(),
        }
    }

    /// Whether retrying later may succeed (`transient`, `rate_limited`,
    /// `unknown_outcome`).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CrmError::Transient { .. }
                | CrmError::RateLimited { .. }
                | CrmError::UnknownOutcome { .. }
        )
    }

    /// Whether the write may have been applied although it failed
    /// (`unknown_outcome`): a retry must not create a second record.
    pub fn may_have_written(&self) -> bool {
        matches!(self, CrmError::UnknownOutcome { .. })
    }

    /// The snake_case class name (`transient`, `rate_limited`,
    /// `unknown_outcome`, `conflict`, `permanent`).
    pub fn class(&self) -> &'static str {
        match self {
            CrmError::Transient { .. } => "transient",
            CrmError::RateLimited { .. } => "rate_limited",
            CrmError::UnknownOutcome { .. } => "unknown_outcome",
            CrmError::Conflict { .. } => "conflict",
            CrmError::Permanent { .. } => "permanent",
        }
    }
}

/// `Option<Duration>` as whole milliseconds.
mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_with_their_class() {
        let e = CrmError::rate_limited("TEN_SECONDLY_ROLLING", Some(Duration::from_millis(1500)));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"class": "rate_limited", "message": "TEN_SECONDLY_ROLLING", "retry_after_ms": 1500})
        );
        assert_eq!(serde_json::from_value::<CrmError>(v).unwrap(), e);
        assert!(e.is_retryable());
        assert!(!CrmError::conflict("dup", Some("42".into())).is_retryable());
        assert_eq!(CrmError::permanent("401").class(), "permanent");
    }

    #[test]
    fn an_unknown_outcome_is_retryable_and_says_it_may_have_written() {
        let e = CrmError::unknown_outcome("HTTP 201, body cut off");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"class": "unknown_outcome", "message": "HTTP 201, body cut off"})
        );
        assert_eq!(e.class(), "unknown_outcome");
        assert!(e.is_retryable() && e.may_have_written());
        assert!(!CrmError::transient("503").may_have_written());
        assert_eq!(
            e.to_string(),
            "CRM write outcome unknown: HTTP 201, body cut off"
        );
    }
}
