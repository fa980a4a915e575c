//! CRM records as routing reads them: the matched [`Account`], an existing
//! [`Contact`] or lead, and how each lookup went ([`LookupStatus`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A CRM account: a candidate for the lead, and the one matched to it.
///
/// JSON (every key but `id` optional): `id`, `name`, `domain` (website or
/// domain), `owner` (a policy owner id), `is_customer` (or `customer`),
/// `tier`, `fields`, and what the [matcher](crate::matching) reads:
/// `additional_domains` (more websites or domains of the company),
/// `country` (ISO code or name), `postal_code`, `phone`, `parent_id` (or
/// `parent`: the parent account's id), `contact_domains` (`{"acme.com":
/// 12}`: how many of the account's contacts have each email domain) and
/// `last_activity` (Unix seconds of the last activity).
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
    /// More websites or domains of the company (regional sites, brands).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_domains: Vec<String>,
    /// The account's country: an ISO code or a name as the CRM stores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The account's postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// The account's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The parent account's id, for a subsidiary (JSON: `parent_id` or `parent`).
    #[serde(default, alias = "parent", skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// How many of the account's contacts have each email domain.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contact_domains: BTreeMap<String, u32>,
    /// When the account last had activity, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<i64>,
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
    /// Adds an additional domain.
    pub fn additional_domain(mut self, domain: impl Into<String>) -> Self {
        self.additional_domains.push(domain.into());
        self
    }
    /// Sets the country (an ISO code or a name).
    pub fn country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(country.into());
        self
    }
    /// Sets the postal code.
    pub fn postal_code(mut self, code: impl Into<String>) -> Self {
        self.postal_code = Some(code.into());
        self
    }
    /// Sets the phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }
    /// Sets the parent account's id.
    pub fn parent(mut self, parent_id: impl Into<String>) -> Self {
        self.parent_id = Some(parent_id.into());
        self
    }
    /// Records that `count` of the account's contacts have email `domain`.
    pub fn contacts_at(mut self, domain: impl Into<String>, count: u32) -> Self {
        self.contact_domains.insert(domain.into(), count);
        self
    }
    /// Sets the last activity time (Unix seconds).
    pub fn last_activity(mut self, unix_secs: i64) -> Self {
        self.last_activity = Some(unix_secs);
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
