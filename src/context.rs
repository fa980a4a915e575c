//! [`Context`]: everything besides the lead that a routing decision may read —
//! CRM facts, the time, who is available, pool state. Passed in, never
//! fetched: evaluation stays pure.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pool::{NO_POOL_STATE, PoolStates};

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

/// What the caller knows about each owner's availability right now
/// (out-of-office, working hours, PTO).
///
/// Implement it over your HR or calendar data; [`AwayList`] is a ready-made
/// set of owner ids. Inactive owners (policy data) are skipped regardless.
pub trait Availability: Send + Sync {
    /// Whether `owner` (a policy owner id) can take a lead at `now`.
    fn is_available(&self, owner: &str, now: SystemTime) -> bool;
}

/// Everyone is available.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllAvailable;

impl Availability for AllAvailable {
    fn is_available(&self, _owner: &str, _now: SystemTime) -> bool {
        true
    }
}

/// A set of owner ids who are away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwayList(pub HashSet<String>);

impl AwayList {
    /// Builds the list.
    pub fn new<I, S>(owners: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AwayList(owners.into_iter().map(Into::into).collect())
    }
}

impl Availability for AwayList {
    fn is_available(&self, owner: &str, _now: SystemTime) -> bool {
        !self.0.contains(owner)
    }
}

/// How the CRM lookups for this lead went, so the trace can say why CRM
/// facts are absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CrmStatus {
    /// Lookups ran (or were not needed); absent facts mean "not found".
    #[default]
    Ok,
    /// Nothing to look up (e.g. a free email: no company domain).
    Skipped,
    /// A lookup failed; routing goes on without CRM facts.
    Failed,
    /// A lookup exceeded its time budget; routing goes on without CRM facts.
    TimedOut,
}

static ALL_AVAILABLE: AllAvailable = AllAvailable;

/// The facts a decision may read besides the lead.
///
/// ```
/// use leadroute::{Account, Context, AwayList};
/// use std::time::SystemTime;
///
/// let account = Account::new("001", "Acme").owner("ana").customer();
/// let away = AwayList::new(["bob"]);
/// let ctx = Context::new(SystemTime::UNIX_EPOCH)
///     .with_account(&account)
///     .with_availability(&away);
/// assert!(ctx.account.is_some());
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Context<'a> {
    /// The decision time (capacity periods, availability).
    pub now: SystemTime,
    /// The matched CRM account.
    pub account: Option<&'a Account>,
    /// The existing CRM contact/lead.
    pub contact: Option<&'a Contact>,
    /// How the CRM lookups went.
    pub crm_status: CrmStatus,
    /// Who is available.
    pub availability: &'a dyn Availability,
    /// Pool rotation state (a snapshot from the [`PoolStore`](crate::PoolStore)).
    pub pools: &'a PoolStates,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("now", &self.now)
            .field("account", &self.account)
            .field("contact", &self.contact)
            .field("crm_status", &self.crm_status)
            .field("pools", &self.pools)
            .finish_non_exhaustive()
    }
}

impl<'a> Context<'a> {
    /// A context at `now` with no CRM facts, everyone available and fresh
    /// pool state.
    pub fn new(now: SystemTime) -> Self {
        Context {
            now,
            account: None,
            contact: None,
            crm_status: CrmStatus::Ok,
            availability: &ALL_AVAILABLE,
            pools: &NO_POOL_STATE,
        }
    }

    /// A context at `secs` seconds after the Unix epoch (handy in tests).
    pub fn at_unix(secs: u64) -> Self {
        Context::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Sets the matched account.
    pub fn with_account(mut self, account: &'a Account) -> Self {
        self.account = Some(account);
        self
    }

    /// Sets the existing contact.
    pub fn with_contact(mut self, contact: &'a Contact) -> Self {
        self.contact = Some(contact);
        self
    }

    /// Sets the availability source.
    pub fn with_availability(mut self, availability: &'a dyn Availability) -> Self {
        self.availability = availability;
        self
    }

    /// Sets the pool-state snapshot.
    pub fn with_pools(mut self, pools: &'a PoolStates) -> Self {
        self.pools = pools;
        self
    }

    /// Records how the CRM lookups went.
    pub fn with_crm_status(mut self, status: CrmStatus) -> Self {
        self.crm_status = status;
        self
    }

    /// Seconds since the Unix epoch (0 before it).
    pub(crate) fn unix_secs(&self) -> u64 {
        self.now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}
