//! [`InMemoryCrm`]: a CRM seeded from data, with fault injection.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::crm::query::CandidateQuery;
use crate::crm::records::{Account, Contact};
use crate::crm::{Crm, CrmError, LeadWrite, WriteReceipt};
use crate::lead::model::Lead;
use crate::matching::Host;

/// A CRM method, for fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// [`Crm::find_account`], and [`Crm::find_candidates`] (the router's
    /// account lookup): faults queued for it apply to both.
    FindAccount,
    /// [`Crm::find_person`].
    FindPerson,
    /// [`Crm::upsert_lead`].
    UpsertLead,
}

/// What an injected fault does to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Return this error.
    Fail(CrmError),
    /// Never complete (a hung connection); only a time budget ends it.
    Hang,
    /// Complete normally after this long (real time).
    Delay(Duration),
    /// Do the work, then return this error anyway: a write the CRM applied
    /// whose answer was lost (use an `unknown_outcome` error, as adapters
    /// classify a timeout after sending).
    SucceedThenFail(CrmError),
}

/// A record written by [`InMemoryCrm::upsert_lead`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WrittenRecord {
    /// The record id.
    pub id: String,
    /// The lead as last written.
    pub lead: Lead,
    /// The owner id written.
    pub owner: Option<String>,
    /// The account associated, if any.
    pub account_id: Option<String>,
    /// How many times it was written (1 = created, more = updated).
    pub writes: u32,
}

#[derive(Debug, Default)]
struct CrmState {
    /// In insertion order: every one is a candidate.
    accounts: Vec<Account>,
    people: HashMap<String, Contact>,
    records: Vec<WrittenRecord>,
    faults: HashMap<Method, VecDeque<Fault>>,
    /// Per method: (probability in parts per million, faults to pick from, seed).
    random: HashMap<Method, (u32, Vec<Fault>, u64)>,
    calls: HashMap<Method, u32>,
    next_id: u32,
}

/// An in-memory CRM seeded from data, with fault injection.
///
/// Writes create a record (`lead-1`, `lead-2`, …) or update the one named by
/// [`LeadWrite::existing`]; creating a record for an email the CRM already
/// knows returns a [`CrmError::Conflict`] with the existing id, as real CRMs
/// do.
#[derive(Debug, Default)]
pub struct InMemoryCrm {
    state: Mutex<CrmState>,
}

impl InMemoryCrm {
    /// An empty CRM.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CrmState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an account. Every account is a candidate for every lead
    /// ([`Crm::find_candidates`] returns them all, as a dry run should):
    /// the router's matcher decides which one a lead belongs to, exactly as
    /// it does over a real CRM's candidates. An account with the id of one
    /// already added replaces it.
    pub fn with_account(self, account: Account) -> Self {
        {
            let mut s = self.lock();
            match s.accounts.iter_mut().find(|a| a.id == account.id) {
                Some(existing) => *existing = account,
                None => s.accounts.push(account),
            }
        }
        self
    }

    /// Every account, in the order added.
    pub fn accounts(&self) -> Vec<Account> {
        self.lock().accounts.clone()
    }

    /// Adds an existing contact/lead, matched by email (case-insensitive).
    pub fn with_person(self, email: &str, contact: Contact) -> Self {
        self.lock().people.insert(email.to_lowercase(), contact);
        self
    }

    /// Makes the next `n` calls of `method` fail with `error`.
    pub fn fail_next(&self, method: Method, n: usize, error: CrmError) {
        self.inject(method, n, Fault::Fail(error));
    }

    /// Makes the next `n` calls of `method` hang forever.
    pub fn hang_next(&self, method: Method, n: usize) {
        self.inject(method, n, Fault::Hang);
    }

    /// Delays the next `n` calls of `method` by `by` (real time).
    pub fn delay_next(&self, method: Method, n: usize, by: Duration) {
        self.inject(method, n, Fault::Delay(by));
    }

    /// Rate-limits the next `n` calls of `method`.
    pub fn rate_limit_next(&self, method: Method, n: usize, retry_after: Option<Duration>) {
        self.fail_next(
            method,
            n,
            CrmError::rate_limited("rate limit exceeded (injected)", retry_after),
        );
    }

    /// Makes each later call of `method` suffer a fault with probability
    /// `rate` (0–1), the fault picked in turn from `faults` — after any
    /// queued faults. "Random" is a hash of `seed` and the call number, so
    /// a test fails the same calls on every run.
    ///
    /// ```
    /// use leadroute::crm::CrmError;
    /// use leadroute::testing::{Fault, InMemoryCrm, Method};
    ///
    /// let crm = InMemoryCrm::new();
    /// crm.fail_randomly(Method::UpsertLead, 0.3, [Fault::Fail(CrmError::transient("503"))], 7);
    /// ```
    pub fn fail_randomly(
        &self,
        method: Method,
        rate: f64,
        faults: impl IntoIterator<Item = Fault>,
        seed: u64,
    ) {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=1e6
        let ppm = (rate * 1_000_000.0).round() as u32;
        let faults: Vec<Fault> = faults.into_iter().collect();
        let mut s = self.lock();
        if faults.is_empty() || ppm == 0 {
            s.random.remove(&method);
        } else {
            s.random.insert(method, (ppm, faults, seed));
        }
    }

    /// Queues `n` faults for `method`.
    pub fn inject(&self, method: Method, n: usize, fault: Fault) {
        let mut s = self.lock();
        let q = s.faults.entry(method).or_default();
        q.extend(std::iter::repeat_n(fault, n));
    }

    /// How many times `method` was called.
    pub fn calls(&self, method: Method) -> u32 {
        self.lock().calls.get(&method).copied().unwrap_or(0)
    }

    /// Every record written so far.
    pub fn records(&self) -> Vec<WrittenRecord> {
        self.lock().records.clone()
    }

    fn begin(&self, method: Method) -> Option<Fault> {
        let mut s = self.lock();
        let call = {
            let calls = s.calls.entry(method).or_default();
            *calls += 1;
            *calls
        };
        if let Some(fault) = s.faults.get_mut(&method).and_then(VecDeque::pop_front) {
            return Some(fault);
        }
        let (ppm, faults, seed) = s.random.get(&method)?;
        let h = mix(*seed ^ u64::from(call).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if h % 1_000_000 >= u64::from(*ppm) {
            return None;
        }
        let pick = usize::try_from((h >> 32) % faults.len() as u64).unwrap_or(0);
        faults.get(pick).cloned()
    }

    async fn with_fault<T>(
        &self,
        method: Method,
        work: impl FnOnce(&Self) -> Result<T, CrmError>,
    ) -> Result<T, CrmError> {
        match self.begin(method) {
            Some(Fault::Fail(e)) => Err(e),
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Delay(d)) => {
                SystemClock.sleep(d).await;
                work(self)
            }
            Some(Fault::SucceedThenFail(e)) => {
                let _ = work(self);
                Err(e)
            }
            None => work(self),
        }
    }
}

impl Crm for InMemoryCrm {
    /// The first account whose `domain` is this domain (read like a
    /// website: `https://www.acme.com/` is `acme.com`).
    fn find_account(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send {
        let wanted = Host::parse(domain).map(|h| h.host);
        self.with_fault(Method::FindAccount, move |crm| {
            Ok(crm
                .lock()
                .accounts
                .iter()
                .find(|a| {
                    a.domain.as_deref().and_then(Host::parse).map(|h| h.host) == wanted
                        && wanted.is_some()
                })
                .cloned())
        })
    }

    /// Every account (the matcher chooses; it reads at most
    /// `query.limit`, in id order).
    fn find_candidates(
        &self,
        _query: &CandidateQuery,
    ) -> impl Future<Output = Result<Vec<Account>, CrmError>> + Send {
        self.with_fault(Method::FindAccount, move |crm| {
            Ok(crm.lock().accounts.clone())
        })
    }

    fn find_person(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<Contact>, CrmError>> + Send {
        let email = email.to_lowercase();
        self.with_fault(Method::FindPerson, move |crm| {
            Ok(crm.lock().people.get(&email).cloned())
        })
    }

    fn upsert_lead(
        &self,
        write: &LeadWrite<'_>,
    ) -> impl Future<Output = Result<WriteReceipt, CrmError>> + Send {
        let lead = write.lead.clone();
        let owner = write.decision.owner.as_deref().map(str::to_owned);
        let existing = write.existing.map(str::to_owned);
        let account_id = write.account.map(|a| a.id.clone());
        self.with_fault(Method::UpsertLead, move |crm| {
            let mut s = crm.lock();
            let email = lead.email.to_lowercase();
            if let Some(id) = existing {
                if let Some(r) = s.records.iter_mut().find(|r| r.id == id) {
                    r.lead = lead;
                    r.owner = owner;
                    r.account_id = account_id;
                    r.writes += 1;
                } else {
                    // An existing CRM person the kit did not create: record the update.
                    s.records.push(WrittenRecord {
                        id: id.clone(),
                        lead,
                        owner,
                        account_id,
                        writes: 2,
                    });
                }
                return Ok(WriteReceipt::new(id, false));
            }
            let known = s.people.get(&email).map(|c| c.id.clone()).or_else(|| {
                s.records
                    .iter()
                    .find(|r| r.lead.email.to_lowercase() == email)
                    .map(|r| r.id.clone())
            });
            if let Some(id) = known {
                return Err(CrmError::conflict(
                    format!("Contact already exists. Existing ID: {id}"),
                    Some(id),
                ));
            }
            s.next_id += 1;
            let id = format!("lead-{}", s.next_id);
            s.people.insert(email, Contact::new(id.clone()));
            s.records.push(WrittenRecord {
                id: id.clone(),
                lead,
                owner,
                account_id,
                writes: 1,
            });
            Ok(WriteReceipt::new(id, true))
        })
    }
}

/// SplitMix64's finalizer: a well-spread 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
