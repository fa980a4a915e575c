//! [`PolicyTester`]: a policy, the facts to route with, and a lead payload
//! away from a [`Checked`] decision.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::checked::Checked;
use crate::crm::records::{Account, Contact, LookupStatus};
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::lead::normalizer::Normalizer;
use crate::policy::compiled::Policy;
use crate::policy::compiled::compile;
use crate::policy::spec::PolicySpec;
use crate::pool::availability::AwayList;
use crate::pool::load::OpenLeadCounts;
use crate::pool::state::PoolStates;

/// The decision time a tester starts at: 2023-11-14 22:13:20 UTC.
const DEFAULT_NOW: u64 = 1_700_000_000;

/// Unit-tests a routing policy in a few lines: build from JSON or TOML
/// (panicking with every diagnostic if it does not compile), then route lead
/// payloads with optional CRM facts, lookup outcomes, availability, time and
/// pool state, and assert on the decision.
///
/// The `with_*` and `at*` methods return a changed copy (cheap: the policy
/// and normalizer are shared), so one base tester serves many cases.
/// [`route`](Self::route) evaluates one lead and records nothing;
/// [`session`](Self::session) and [`assert_rotation`](Self::assert_rotation)
/// route leads in sequence with pool state kept between them.
///
/// ```
/// use leadroute::testing::PolicyTester;
/// use leadroute::crm::{Account, LookupStatus};
///
/// let t = PolicyTester::from_toml(r#"
///     name = "inbound"
///     version = "1"
///     owners = [{ id = "ana", name = "Ana" }, { id = "queue", name = "Queue" }]
///     [[rules]]
///     id = "known-account"
///     when = { account = { has_owner = true } }
///     then = { assign = "account_owner" }
///     [fallback]
///     assign = { owner = "queue" }
/// "#);
/// let lead = r#"{"email": "cto@bigco.com"}"#;
/// t.with_account(Account::new("001", "BigCo").owner("ana"))
///     .route(lead)
///     .assert_owner("ana")
///     .assert_rule("known-account");
/// // The CRM is down: the lead still routes, without the account.
/// t.with_account_lookup(LookupStatus::TimedOut)
///     .route(lead)
///     .assert_owner("queue")
///     .assert_fallback()
///     .assert_explanation_contains("CRM account lookup timed out; routed without it");
/// ```
#[derive(Debug, Clone)]
pub struct PolicyTester {
    policy: Policy,
    normalizer: Arc<Normalizer>,
    account: Option<Account>,
    contact: Option<Contact>,
    account_lookup: LookupStatus,
    person_lookup: LookupStatus,
    away: AwayList,
    open_leads: Option<OpenLeadCounts>,
    pools: PoolStates,
    now: SystemTime,
}

impl PolicyTester {
    /// From a compiled policy.
    pub fn new(policy: Policy) -> Self {
        PolicyTester {
            policy,
            normalizer: Arc::new(Normalizer::default()),
            account: None,
            contact: None,
            account_lookup: LookupStatus::NotFound,
            person_lookup: LookupStatus::NotFound,
            away: AwayList::default(),
            open_leads: None,
            pools: PoolStates::new(),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(DEFAULT_NOW),
        }
    }

    /// From a spec; panics with the diagnostics if it does not compile.
    #[track_caller]
    pub fn from_spec(spec: &PolicySpec) -> Self {
        match compile(spec) {
            Ok(p) => Self::new(p),
            Err(e) => panic!("{e}"),
        }
    }

    /// From JSON text; panics on a parse or compile error.
    #[track_caller]
    pub fn from_json(json: &str) -> Self {
        // No closures here: they would not carry the caller's location.
        match PolicySpec::from_json_str(json) {
            Ok(spec) => Self::from_spec(&spec),
            Err(e) => panic!("policy JSON: {e}"),
        }
    }

    /// From TOML text; panics on a parse or compile error.
    #[cfg(feature = "toml")]
    #[track_caller]
    pub fn from_toml(toml: &str) -> Self {
        match PolicySpec::from_toml_str(toml) {
            Ok(spec) => Self::from_spec(&spec),
            Err(e) => panic!("policy TOML: {e}"),
        }
    }

    /// Routes with this matched account (and the account lookup `found`).
    pub fn with_account(&self, account: Account) -> Self {
        PolicyTester {
            account: Some(account),
            account_lookup: LookupStatus::Found,
            ..self.clone()
        }
    }

    /// Routes with this existing contact (and the person lookup `found`).
    pub fn with_contact(&self, contact: Contact) -> Self {
        PolicyTester {
            contact: Some(contact),
            person_lookup: LookupStatus::Found,
            ..self.clone()
        }
    }

    /// Routes as if the account lookup ended with `status` — e.g.
    /// [`LookupStatus::TimedOut`] or [`LookupStatus::Failed`] to test what
    /// happens when the CRM is down (the decision's trace then starts with
    /// `crm_unavailable`).
    ///
    /// Any status but `found` also drops an account set with
    /// [`with_account`](Self::with_account): the CRM did not return it. The
    /// last of the two calls wins. The default is `not_found`.
    pub fn with_account_lookup(&self, status: LookupStatus) -> Self {
        PolicyTester {
            account: if status == LookupStatus::Found {
                self.account.clone()
            } else {
                None
            },
            account_lookup: status,
            ..self.clone()
        }
    }

    /// Routes as if the person lookup ended with `status`; like
    /// [`with_account_lookup`](Self::with_account_lookup), any status but
    /// `found` drops a contact set with [`with_contact`](Self::with_contact).
    pub fn with_person_lookup(&self, status: LookupStatus) -> Self {
        PolicyTester {
            contact: if status == LookupStatus::Found {
                self.contact.clone()
            } else {
                None
            },
            person_lookup: status,
            ..self.clone()
        }
    }

    /// Routes with these owners away (replacing any earlier list).
    pub fn with_away<I: IntoIterator<Item = S>, S: Into<String>>(&self, owners: I) -> Self {
        PolicyTester {
            away: AwayList::new(owners),
            ..self.clone()
        }
    }

    /// Routes with these open-lead counts (what a least-loaded pool and a
    /// `max_open` cap read; replacing any earlier counts). Without them the
    /// counts are unknown, as with a router that has no
    /// [`LoadSource`](crate::pool::LoadSource): least-loaded pools choose by
    /// rotation and the trace says so. The counts stay as given for every
    /// lead a [`session`](Self::session) routes (the tester does not add
    /// its own assignments to them). Owners missing from the map count as
    /// unknown.
    ///
    /// ```
    /// use leadroute::testing::PolicyTester;
    ///
    /// let t = PolicyTester::from_json(r#"{
    ///     "name": "inbound", "version": "1",
    ///     "owners": [{"id": "ana", "name": "Ana"}, {"id": "bob", "name": "Bob"}],
    ///     "pools": [{"id": "sales", "distribution": "least_loaded",
    ///                "members": [{"owner": "ana"}, {"owner": "bob"}]}],
    ///     "rules": [],
    ///     "fallback": {"assign": {"pool": "sales"}}
    /// }"#);
    /// let lead = r#"{"email": "cto@bigco.com"}"#;
    /// t.with_open_leads([("ana", 5), ("bob", 2)]).route(lead).assert_owner("bob");
    /// t.with_open_leads([("ana", 1), ("bob", 2)]).route(lead).assert_owner("ana");
    /// ```
    pub fn with_open_leads<I, S>(&self, counts: I) -> Self
    where
        I: IntoIterator<Item = (S, u32)>,
        S: Into<String>,
    {
        PolicyTester {
            open_leads: Some(OpenLeadCounts::new(counts)),
            ..self.clone()
        }
    }

    /// Routes on this pool state: what [`route`](Self::route) evaluates on,
    /// and where a [`session`](Self::session) starts. Pools absent from it
    /// start fresh (all counters zero).
    pub fn with_pools(&self, pools: PoolStates) -> Self {
        PolicyTester {
            pools,
            ..self.clone()
        }
    }

    /// Routes at this decision time (capacity periods, availability). The
    /// default is 1 700 000 000 seconds after the Unix epoch
    /// (2023-11-14 22:13:20 UTC).
    pub fn at(&self, now: SystemTime) -> Self {
        PolicyTester {
            now,
            ..self.clone()
        }
    }

    /// Routes at `secs` seconds after the Unix epoch.
    pub fn at_unix(&self, secs: u64) -> Self {
        self.at(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// The policy under test.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The decision time.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// Normalizes a JSON payload (panicking on field errors) and evaluates
    /// it. Nothing is recorded: routing the same payload again gives the
    /// same decision.
    #[track_caller]
    pub fn route(&self, lead_json: &str) -> Checked {
        let lead = self.lead(lead_json);
        self.check(&lead, &self.pools, self.now, &self.away)
    }

    /// Who is away.
    pub(super) fn away(&self) -> &AwayList {
        &self.away
    }

    /// The pool state routes start on.
    pub(super) fn pools(&self) -> &PoolStates {
        &self.pools
    }

    /// Normalizes a payload, panicking at the caller with the field errors.
    #[track_caller]
    pub(super) fn lead(&self, lead_json: &str) -> Lead {
        match self.normalizer.normalize_json(lead_json) {
            Ok(n) => n.lead,
            Err(e) => panic!("lead {lead_json}: {e}"),
        }
    }

    /// Evaluates `lead` on these facts.
    pub(super) fn check(
        &self,
        lead: &Lead,
        pools: &PoolStates,
        now: SystemTime,
        away: &AwayList,
    ) -> Checked {
        let mut facts = Facts::new(now).availability(away).pools(pools);
        if let Some(counts) = &self.open_leads {
            facts = facts.open_leads(counts);
        }
        if let Some(a) = &self.account {
            facts = facts.account(a);
        }
        if let Some(c) = &self.contact {
            facts = facts.contact(c);
        }
        let facts = facts
            .account_lookup(self.account_lookup)
            .person_lookup(self.person_lookup);
        let decision = self.policy.evaluate(lead, &facts);
        let explanation = self.policy.explain(&decision);
        Checked {
            decision,
            explanation,
        }
    }
}
