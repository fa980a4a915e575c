//! [`Facts`]: everything besides the lead that a routing decision may read —
//! CRM records, how the CRM lookups went, the time, who is available, pool
//! state. Passed in, never fetched: evaluation stays pure.
//!
//! (Named `Facts` rather than `Context` so that it does not collide with
//! `std::task::Context` in the async services that use it.)

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::crm::records::{Account, Contact, LookupStatus};
use crate::matching::AccountMatch;
use crate::pool::availability::{ALL_AVAILABLE, Availability};
use crate::pool::load::{NO_OPEN_LEADS, OpenLeads};
use crate::pool::state::{NO_POOL_STATE, PoolStates};
use crate::submission::signal::Signals;

/// The facts a decision may read besides the lead.
///
/// ```
/// use leadroute::Facts;
/// use leadroute::crm::{Account, LookupStatus};
/// use leadroute::pool::AwayList;
/// use std::time::SystemTime;
///
/// let account = Account::new("001", "Acme").owner("ana").customer();
/// let away = AwayList::new(["bob"]);
/// let facts = Facts::new(SystemTime::UNIX_EPOCH)
///     .account(&account)
///     .availability(&away);
/// assert!(facts.account.is_some());
/// assert_eq!(facts.account_lookup, LookupStatus::Found);
///
/// // The CRM timed out: the policy routes without the account, and its trace says why.
/// let degraded = Facts::at_unix(0).account_lookup(LookupStatus::TimedOut);
/// assert!(degraded.account.is_none());
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Facts<'a> {
    /// The decision time (capacity periods, availability).
    pub now: SystemTime,
    /// The matched CRM account.
    pub account: Option<&'a Account>,
    /// The existing CRM contact/lead.
    pub contact: Option<&'a Contact>,
    /// How the lead was matched to an account (the `account_match`
    /// condition reads it; the decision keeps a shared copy).
    pub account_match: Option<&'a Arc<AccountMatch>>,
    /// How the account lookup went (`not_found` by default, `found` once an
    /// account is set).
    pub account_lookup: LookupStatus,
    /// How the person lookup went (likewise).
    pub person_lookup: LookupStatus,
    /// Who is available.
    pub availability: &'a dyn Availability,
    /// Pool rotation state (a snapshot from the [`PoolStore`](crate::PoolStore)).
    pub pools: &'a PoolStates,
    /// Open leads per owner, for least-loaded pools and open-lead caps
    /// (none by default).
    pub open_leads: &'a dyn OpenLeads,
    /// The submission's spam signals, when it was screened
    /// ([`Screen::assess`](crate::submission::Screen::assess)); `None`: not
    /// screened, and the `spam` and `signal` conditions do not hold.
    pub signals: Option<&'a Signals>,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts")
            .field("now", &self.now)
            .field("account", &self.account)
            .field("contact", &self.contact)
            .field("account_match", &self.account_match)
            .field("account_lookup", &self.account_lookup)
            .field("person_lookup", &self.person_lookup)
            .field("pools", &self.pools)
            .field("signals", &self.signals)
            .finish_non_exhaustive()
    }
}

impl<'a> Facts<'a> {
    /// Facts at `now` with no CRM records, everyone available and fresh pool
    /// state.
    pub fn new(now: SystemTime) -> Self {
        Facts {
            now,
            account: None,
            contact: None,
            account_match: None,
            account_lookup: LookupStatus::NotFound,
            person_lookup: LookupStatus::NotFound,
            availability: &ALL_AVAILABLE,
            pools: &NO_POOL_STATE,
            open_leads: &NO_OPEN_LEADS,
            signals: None,
        }
    }

    /// Facts at `secs` seconds after the Unix epoch (handy in tests).
    pub fn at_unix(secs: u64) -> Self {
        Facts::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Sets the matched account (and the account lookup to `found`).
    pub fn account(mut self, account: &'a Account) -> Self {
        self.account = Some(account);
        self.account_lookup = LookupStatus::Found;
        self
    }

    /// Sets the matcher's result (see [`matching`](crate::matching)). The
    /// matched account itself goes in [`account`](Self::account).
    pub fn account_match(mut self, m: &'a Arc<AccountMatch>) -> Self {
        self.account_match = Some(m);
        self
    }

    /// Sets the existing contact (and the person lookup to `found`).
    pub fn contact(mut self, contact: &'a Contact) -> Self {
        self.contact = Some(contact);
        self.person_lookup = LookupStatus::Found;
        self
    }

    /// Records how the account lookup went.
    pub fn account_lookup(mut self, status: LookupStatus) -> Self {
        self.account_lookup = status;
        self
    }

    /// Records how the person lookup went.
    pub fn person_lookup(mut self, status: LookupStatus) -> Self {
        self.person_lookup = status;
        self
    }

    /// Sets the availability source.
    pub fn availability(mut self, availability: &'a dyn Availability) -> Self {
        self.availability = availability;
        self
    }

    /// Sets the open-lead counts ([`OpenLeadCounts`](crate::pool::OpenLeadCounts)
    /// or your own [`OpenLeads`]).
    pub fn open_leads(mut self, open_leads: &'a dyn OpenLeads) -> Self {
        self.open_leads = open_leads;
        self
    }

    /// Sets the pool-state snapshot.
    pub fn pools(mut self, pools: &'a PoolStates) -> Self {
        self.pools = pools;
        self
    }

    /// Sets the submission's spam signals.
    pub fn signals(mut self, signals: &'a Signals) -> Self {
        self.signals = Some(signals);
        self
    }
}
