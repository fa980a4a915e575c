//! What a route reports: [`Routed`] and its parts, as plain serde data.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::crm::records::{Account, Contact, LookupStatus};
use crate::crm::{CrmError, PendingWrite, WriteReceipt};
use crate::decision::RouteDecision;
use crate::lead::issue::FieldIssue;
use crate::lead::model::Lead;

/// How the CRM lookups went.
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
    /// Errors from failed lookups.
    pub errors: Vec<CrmError>,
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
    /// The submission's lead id (given, or derived from email and time).
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
