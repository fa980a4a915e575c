//! What a route reports: [`Routed`] and its parts, as plain serde data.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crm::records::{Account, Contact, Lookup, LookupStatus};
use crate::crm::{CrmError, PendingWrite, WriteReceipt};
use crate::decision::RouteDecision;
use crate::lead::issue::FieldIssue;
use crate::lead::model::Lead;

/// How the CRM lookups went.
///
/// # JSON contract
///
/// `{"account": LookupStatus, "person": LookupStatus, "matched_account":
/// Account | null, "existing_person": Contact | null, "errors":
/// [LookupError]}` where a [`LookupStatus`] is `"found"`, `"not_found"`,
/// `"skipped"`, `"failed"` or `"timed_out"` and a [`LookupError`] is
/// `{"lookup": "account" | "person", "error": CrmError}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lookups {
    /// The account lookup.
    pub account: LookupStatus,
    /// The person lookup.
    pub person: LookupStatus,
    /// The matched account.
    pub matched_account: Option<Account>,
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

/// Time spent per stage, by the injected clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timings {
    /// Normalization.
    pub normalize: Duration,
    /// CRM lookups (concurrent).
    pub lookup: Duration,
    /// Policy evaluation and pool update.
    pub decide: Duration,
    /// CRM write.
    pub write: Duration,
    /// Submit to done.
    pub total: Duration,
}

/// A routed submission.
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
    /// How the lookups went.
    pub lookups: Lookups,
    /// The CRM write: the receipt, or what to retry.
    pub write: Result<WriteReceipt, Box<PendingWrite>>,
    /// Set when the pool store failed and the pool step was not recorded.
    pub pool_store_error: Option<String>,
    /// Per-stage timings.
    pub timings: Timings,
}
