//! CRM records as routing reads them: the matched [`Account`], an existing
//! [`Contact`] or lead, and how each lookup went ([`LookupStatus`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A CRM account matched to the lead (usually by company domain).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// The account's id in the CRM.
    pub id: String,
    /// Account name.
    #[serde(default)]
    pub name: String,
    /// Company domain the account was matched on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The owner's id **in the policy's owners directory** (adapters map CRM
    /// user ids to policy owner ids, e.g. through `crm_ids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Whether the account is a paying customer (JSON: `is_customer` or `customer`).
    #[serde(default, alias = "customer")]
    pub is_customer: bool,
    /// Tier / segment label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// Any other fields a policy may test.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
}

impl Account {
    /// An account with an id and a name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Account {
            id: id.into(),
            name: name.into(),
            ..Account::default()
        }
    }
    /// Sets the owner (a policy owner id).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
    /// Marks the account as a customer.
    pub fn customer(mut self) -> Self {
        self.is_customer = true;
        self
    }
    /// Sets the tier.
    pub fn tier(mut self, tier: impl Into<String>) -> Self {
        self.tier = Some(tier.into());
        self
    }
    /// Sets the matched domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }
    /// Sets another field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.fields.insert(key.into(), value.into());
        self
    }
}

/// Whether an existing CRM person is a contact or a (not yet converted) lead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PersonKind {
    /// A contact.
    #[default]
    Contact,
    /// A lead record.
    Lead,
}

/// An existing CRM contact or lead with the same email.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Contact {
    /// The record's id in the CRM.
    pub id: String,
    /// Contact or lead.
    #[serde(default)]
    pub kind: PersonKind,
    /// The owner's id in the policy's owners directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The CRM account it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl Contact {
    /// A contact with an id.
    pub fn new(id: impl Into<String>) -> Self {
        Contact {
            id: id.into(),
            ..Contact::default()
        }
    }
    /// Sets the owner (a policy owner id).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
    /// Sets the kind.
    pub fn kind(mut self, kind: PersonKind) -> Self {
        self.kind = kind;
        self
    }
}

/// Which CRM lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Lookup {
    /// The account, by company domain ([`Crm::find_account`](super::Crm::find_account)).
    Account,
    /// The existing contact or lead, by email ([`Crm::find_person`](super::Crm::find_person)).
    Person,
}

impl Lookup {
    /// The snake_case name (`account`, `person`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Account => "account",
            Lookup::Person => "person",
        }
    }
}

/// Where a CRM lookup ended: what the router reports in
/// [`Lookups`](crate::router::Lookups) and events, and what the
/// [`Facts`](crate::Facts) tell the policy (and its trace) about why a CRM
/// fact is absent.
///
/// JSON: `"found"`, `"not_found"`, `"skipped"`, `"failed"`, `"timed_out"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LookupStatus {
    /// Found a record.
    Found,
    /// Looked, found nothing (the default: an absent fact means "not found").
    #[default]
    NotFound,
    /// Nothing to look up with (e.g. a free email: no company domain).
    Skipped,
    /// The CRM failed; routing goes on without the fact.
    Failed,
    /// The time budget ran out; routing goes on without the fact.
    TimedOut,
}

impl LookupStatus {
    /// Whether the lookup could not say (failed or timed out), as opposed to
    /// a definite answer.
    pub fn is_unknown(self) -> bool {
        matches!(self, LookupStatus::Failed | LookupStatus::TimedOut)
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LookupStatus::Found => "found",
            LookupStatus::NotFound => "not_found",
            LookupStatus::Skipped => "skipped",
            LookupStatus::Failed => "failed",
            LookupStatus::TimedOut => "timed_out",
        }
    }
}
