//! A kit for testing routing policies and services built on the
//! [`LeadRouter`](crate::LeadRouter): an in-memory CRM with fault injection, a
//! recording event sink, a manual clock, and [`PolicyTester`] for unit tests
//! of a policy in a few lines.
//!
//! ```
//! use leadroute::testing::PolicyTester;
//! use leadroute::crm::Account;
//!
//! let t = PolicyTester::from_toml(r#"
//!     name = "inbound"
//!     version = "1"
//!     owners = [{ id = "ana", name = "Ana" }, { id = "queue", name = "Queue" }]
//!     [[rules]]
//!     id = "us"
//!     when = { country = ["US"] }
//!     then = { assign = { owner = "ana" }, experience = { book_meeting = {} } }
//!     [fallback]
//!     assign = { owner = "queue" }
//! "#);
//! t.route(r#"{"email": "cto@bigco.com", "country": "USA"}"#)
//!     .assert_owner("ana")
//!     .assert_rule("us")
//!     .assert_experience("book_meeting");
//! t.route(r#"{"email": "cto@bigco.de", "country": "DE"}"#).assert_owner("queue").assert_fallback();
//! ```
//!
//! The assertions panic with the decision's full explanation, so a failing
//! test says why the lead went where it went.
#![allow(clippy::panic, clippy::expect_used)] // test helpers assert by panicking

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::clock::{Clock, SystemClock};
use crate::crm::records::{Account, Contact};
use crate::crm::{Crm, CrmError, LeadWrite, WriteReceipt};
use crate::decision::{Experience, RouteDecision};
use crate::events::{Event, EventSink};
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::lead::normalizer::Normalizer;
use crate::policy::compile::compile;
use crate::policy::compiled::Policy;
use crate::policy::explain::Explanation;
use crate::policy::spec::PolicySpec;
use crate::pool::availability::AwayList;

/// A CRM method, for fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// [`Crm::find_account`].
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
    accounts: HashMap<String, Account>,
    people: HashMap<String, Contact>,
    records: Vec<WrittenRecord>,
    faults: HashMap<Method, VecDeque<Fault>>,
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

    /// Adds an account, matched by its `domain`.
    pub fn with_account(self, account: Account) -> Self {
        if let Some(d) = account.domain.clone() {
            self.lock().accounts.insert(d.to_ascii_lowercase(), account);
        }
        self
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
        *s.calls.entry(method).or_default() += 1;
        s.faults.get_mut(&method).and_then(VecDeque::pop_front)
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
            None => work(self),
        }
    }
}

impl Crm for InMemoryCrm {
    fn find_account(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send {
        let domain = domain.to_ascii_lowercase();
        self.with_fault(Method::FindAccount, move |crm| {
            Ok(crm.lock().accounts.get(&domain).cloned())
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

/// An [`EventSink`] that keeps every event, for assertions.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: Mutex<Vec<Event>>,
}

impl RecordingSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every event's name, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(Event::name)
            .collect()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl EventSink for RecordingSink {
    fn emit(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }
}

/// A clock that stands still until advanced. Its `sleep` completes at once
/// (virtual time), so a time budget expires exactly when the guarded work is
/// still pending — deterministic timeouts without waiting.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock at `secs` after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        ManualClock {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep(&self, _duration: Duration) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Unit-tests a routing policy in a few lines: build from JSON or TOML
/// (panicking with every diagnostic if it does not compile), then route lead
/// payloads with optional CRM facts and availability, and assert on the
/// decision.
#[derive(Debug, Clone)]
pub struct PolicyTester {
    policy: Policy,
    normalizer: Normalizer,
    account: Option<Account>,
    contact: Option<Contact>,
    away: AwayList,
    now: SystemTime,
}

impl PolicyTester {
    /// From a compiled policy.
    pub fn new(policy: Policy) -> Self {
        PolicyTester {
            policy,
            normalizer: Normalizer::default(),
            account: None,
            contact: None,
            away: AwayList::default(),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    /// From a spec; panics with the diagnostics if it does not compile.
    pub fn from_spec(spec: &PolicySpec) -> Self {
        match compile(spec) {
            Ok(p) => Self::new(p),
            Err(e) => panic!("{e}"),
        }
    }

    /// From JSON text; panics on a parse or compile error.
    pub fn from_json(json: &str) -> Self {
        Self::from_spec(
            &PolicySpec::from_json_str(json).unwrap_or_else(|e| panic!("policy JSON: {e}")),
        )
    }

    /// From TOML text; panics on a parse or compile error.
    #[cfg(feature = "toml")]
    pub fn from_toml(toml: &str) -> Self {
        Self::from_spec(
            &PolicySpec::from_toml_str(toml).unwrap_or_else(|e| panic!("policy TOML: {e}")),
        )
    }

    /// Routes with this matched account.
    pub fn with_account(&self, account: Account) -> Self {
        PolicyTester {
            account: Some(account),
            ..self.clone()
        }
    }

    /// Routes with this existing contact.
    pub fn with_contact(&self, contact: Contact) -> Self {
        PolicyTester {
            contact: Some(contact),
            ..self.clone()
        }
    }

    /// Routes with these owners away.
    pub fn with_away<I: IntoIterator<Item = S>, S: Into<String>>(&self, owners: I) -> Self {
        PolicyTester {
            away: AwayList::new(owners),
            ..self.clone()
        }
    }

    /// The policy under test.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Normalizes a JSON payload (panicking on field errors) and evaluates.
    pub fn route(&self, lead_json: &str) -> Checked {
        let lead = match self.normalizer.normalize_json(lead_json) {
            Ok(n) => n.lead,
            Err(e) => panic!("lead {lead_json}: {e}"),
        };
        let mut ctx = Facts::new(self.now).availability(&self.away);
        if let Some(a) = &self.account {
            ctx = ctx.account(a);
        }
        if let Some(c) = &self.contact {
            ctx = ctx.contact(c);
        }
        let decision = self.policy.evaluate(&lead, &ctx);
        let explanation = self.policy.explain(&decision);
        Checked {
            decision,
            explanation,
        }
    }
}

/// A decision under test, with chainable assertions.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The decision.
    pub decision: RouteDecision,
    /// Its explanation (printed when an assertion fails).
    pub explanation: Explanation,
}

impl Checked {
    fn fail(&self, what: std::fmt::Arguments<'_>) -> ! {
        panic!("{what}\n{}", self.explanation)
    }

    /// Asserts the owner id.
    #[track_caller]
    pub fn assert_owner(&self, owner: &str) -> &Self {
        if self.decision.owner_id() != Some(owner) {
            self.fail(format_args!(
                "expected owner `{owner}`, got {:?}",
                self.decision.owner_id()
            ));
        }
        self
    }

    /// Asserts that nobody was assigned.
    #[track_caller]
    pub fn assert_unassigned(&self) -> &Self {
        if let Some(o) = self.decision.owner_id() {
            self.fail(format_args!("expected no owner, got `{o}`"));
        }
        self
    }

    /// Asserts the deciding rule.
    #[track_caller]
    pub fn assert_rule(&self, rule: &str) -> &Self {
        if self.decision.rule.as_deref() != Some(rule) {
            self.fail(format_args!(
                "expected rule `{rule}`, got {:?}",
                self.decision.rule
            ));
        }
        self
    }

    /// Asserts the fallback decided.
    #[track_caller]
    pub fn assert_fallback(&self) -> &Self {
        if !self.decision.fallback {
            self.fail(format_args!(
                "expected the fallback, got rule {:?}",
                self.decision.rule
            ));
        }
        self
    }

    /// Asserts the experience by name (`book_meeting`, `confirmation`, …).
    #[track_caller]
    pub fn assert_experience(&self, name: &str) -> &Self {
        if self.decision.experience.name() != name {
            self.fail(format_args!(
                "expected experience `{name}`, got `{}`",
                self.decision.experience.name()
            ));
        }
        self
    }

    /// Asserts the buyer is offered a meeting with `owner`.
    #[track_caller]
    pub fn assert_meeting_with(&self, owner: &str) -> &Self {
        match &self.decision.experience {
            Experience::BookMeeting { with } if &**with == owner => self,
            other => self.fail(format_args!(
                "expected a meeting with `{owner}`, got {other:?}"
            )),
        }
    }
}
