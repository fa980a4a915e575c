//! **Assign**: the [`RouteDecision`] — who owns the lead, what the buyer
//! sees next ([`Experience`]), the pool step to record, and the compact
//! [`Trace`] of how that was decided.
//!
//! ```
//! use leadroute::{Facts, LeadInput, Normalizer, compile};
//! use leadroute::decision::{AssignedBy, Experience};
//! use leadroute::PolicySpec;
//! use leadroute::policy::spec::{ActionSpec, ExperienceSpec, OwnerSpec};
//!
//! let spec = PolicySpec::new("inbound", "1")
//!     .owner(OwnerSpec::new("ana", "Ana"))
//!     .fallback(ActionSpec::owner("ana").experience(ExperienceSpec::book_meeting()).sla_minutes(15));
//! let policy = compile(&spec).unwrap();
//! let lead = Normalizer::default().normalize(&LeadInput::from_email("cto@acme.com")).unwrap().lead;
//! let decision = policy.evaluate(&lead, &Facts::at_unix(0));
//! assert_eq!(decision.owner_id(), Some("ana"));
//! assert_eq!(decision.assigned_by, AssignedBy::Owner);
//! assert_eq!(decision.meeting_with(), Some("ana"));
//! assert_eq!(decision.sla_minutes, Some(15));
//! assert!(decision.fallback && decision.write_to_crm);
//! ```

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::crm::records::{Lookup, LookupStatus};
use crate::lead::range::Range;
use crate::matching::{AccountMatch, MatchMethod, MatchOutcome};
pub use crate::name::Name;
use crate::pool::rotation::SkipReason;
use crate::pool::step::PoolStep;

/// The outcome of evaluating a policy for one lead.
///
/// The `trace` is compact (indices into the compiled policy plus observed
/// values) so that recording it is cheap enough to leave on; turn it into
/// readable text or JSON with [`Policy::explain`](crate::Policy::explain).
///
/// # JSON contract
///
/// `policy_name`, `policy_version`, `owner` (owner id or `null`),
/// `assigned_by` (`"account_owner"`, `"contact_owner"`, `"owner"`,
/// `{"pool": id}`, `{"pool_fallback": id}` — the pool's fallback owner,
/// nobody in the pool could take the lead — `"nobody"`), `experience` (see [`Experience`]), `rule`
/// (the matched rule id, `null` when the fallback decided), `fallback`
/// (bool), `tags`, `priority`, `sla_minutes`, `sla_due` (RFC 3339 UTC text,
/// absent without an SLA), `owner_unavailable` (`"off_shift"` or `"away"`
/// when a directly named owner was assigned although off shift or away;
/// absent otherwise), `write_to_crm` (bool: whether
/// the lead should be written to the CRM; `false` by default for rejections),
/// `trace` (see [`TraceEvent`]), `pool_step` (see [`PoolStep`], `null`
/// unless a pool chose the owner) and `account_match` (the matcher's
/// [`AccountMatch`], absent when the facts
/// had none).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteDecision {
    /// Name of the policy that decided.
    pub policy_name: Name,
    /// Version of the policy that decided.
    pub policy_version: Name,
    /// The owner id, or `None` when nobody was assigned.
    pub owner: Option<Name>,
    /// How the owner was chosen.
    pub assigned_by: AssignedBy,
    /// What the buyer sees next.
    pub experience: Experience,
    /// The rule that decided; `None` when the fallback did.
    pub rule: Option<Name>,
    /// Whether the policy fallback decided.
    pub fallback: bool,
    /// Tags from the deciding action.
    pub tags: Arc<[Arc<str>]>,
    /// Priority from the deciding action.
    pub priority: Option<Priority>,
    /// SLA in minutes from the deciding action.
    pub sla_minutes: Option<u32>,
    /// When the SLA is due: `sla_minutes` of the assignee's working time
    /// from the decision time (its schedule, else the choosing pool's; plain
    /// minutes for an owner without working hours). JSON: RFC 3339 UTC text,
    /// `"2026-12-07T08:10:00Z"`; absent without an SLA or an assignee.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::schedule::rfc3339"
    )]
    pub sla_due: Option<std::time::SystemTime>,
    /// Set when the owner was assigned although, at the decision time, they
    /// were off shift ([`Unavailable::OffShift`]: outside their schedule, on
    /// a holiday or an out-of-office day) or away ([`Unavailable::Away`]: the
    /// caller's availability said so): an owner named directly, or the
    /// account's or contact's owner, by an action without
    /// `check_availability` — ownership is not rotation, so they keep the
    /// lead. `sla_due` then counts from their next working time; a service
    /// may want to notify them or a manager. Pool members are never chosen
    /// off shift in a pool that respects schedules, so it stays `None` for
    /// them. JSON: absent when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_unavailable: Option<Unavailable>,
    /// Whether the lead should be written to the CRM. Rejections are not
    /// written unless their action says `write_to_crm = true`.
    #[serde(default = "yes")]
    pub write_to_crm: bool,
    /// Every step taken, in order.
    pub trace: Trace,
    /// The rotation step a pool proposed; record it with
    /// [`PoolStep::apply`] or a [`PoolStore`](crate::PoolStore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pool_step: Option<PoolStep>,
    /// How the lead was matched to an account, when the facts carried the
    /// matcher's result (shared, not copied: evaluation does not allocate
    /// for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_match: Option<Arc<AccountMatch>>,
}

fn yes() -> bool {
    true
}

impl RouteDecision {
    /// The owner id as `&str`, if any.
    pub fn owner_id(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Whether the buyer should be offered a meeting now, and with whom.
    pub fn meeting_with(&self) -> Option<&str> {
        match &self.experience {
            Experience::BookMeeting { with } => Some(with),
            _ => None,
        }
    }

    /// The rotation step a pool proposed (`None` when no pool chose the
    /// owner). Evaluation never records it; see [`PoolStep`].
    pub fn pool_step(&self) -> Option<&PoolStep> {
        self.pool_step.as_ref()
    }

    /// Whether the decision rejects the lead.
    pub fn is_rejected(&self) -> bool {
        matches!(self.experience, Experience::Reject { .. })
    }

    /// The reason a rejection gives, if the decision rejects with one.
    pub fn reject_reason(&self) -> Option<&str> {
        match &self.experience {
            Experience::Reject { reason } => reason.as_deref(),
            _ => None,
        }
    }
}

/// Equality over everything a decision says (and serializes).
impl PartialEq for RouteDecision {
    fn eq(&self, other: &Self) -> bool {
        let RouteDecision {
            policy_name,
            policy_version,
            owner,
            assigned_by,
            experience,
            rule,
            fallback,
            tags,
            priority,
            sla_minutes,
            sla_due,
            owner_unavailable,
            write_to_crm,
            trace,
            pool_step,
            account_match,
        } = self;
        *policy_name == other.policy_name
            && *policy_version == other.policy_version
            && *owner == other.owner
            && *assigned_by == other.assigned_by
            && *experience == other.experience
            && *rule == other.rule
            && *fallback == other.fallback
            && *tags == other.tags
            && *priority == other.priority
            && *sla_minutes == other.sla_minutes
            && *sla_due == other.sla_due
            && *owner_unavailable == other.owner_unavailable
            && *write_to_crm == other.write_to_crm
            && *trace == other.trace
            && *pool_step == other.pool_step
            && *account_match == other.account_match
    }
}

/// Priority labels for downstream systems.
///
/// JSON and TOML: `"low"`, `"normal"`, `"high"`, `"urgent"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Priority {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Priority {
    /// The snake_case name (`low`, `normal`, `high`, `urgent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the owner was chosen.
///
/// `Display` gives the words an explanation uses: `the matched account's
/// owner`, `round robin in pool `x``, `the fallback owner of pool `x``, ….
///
/// JSON: `"account_owner"`, `"contact_owner"`, `"owner"`, `{"pool": id}`,
/// `{"pool_fallback": id}`, `"nobody"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AssignedBy {
    /// The matched account's owner.
    AccountOwner,
    /// The existing contact's owner.
    ContactOwner,
    /// An owner named in the policy.
    Owner,
    /// Round robin in this pool.
    Pool(Name),
    /// The fallback owner (`fallback = { owner = "…" }`) of this pool: no
    /// member of it could take the lead (off shift, out of office, away,
    /// at capacity, …; the trace's `pool_skip` events say which). The pool
    /// is the one whose fallback the owner is: for a rule's pool that falls
    /// back to another pool, that other pool. JSON: `{"pool_fallback":
    /// "emea"}`. A fallback *pool*'s choice is [`AssignedBy::Pool`] of that
    /// pool.
    PoolFallback(Name),
    /// Nobody was assigned.
    Nobody,
}

impl fmt::Display for AssignedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignedBy::AccountOwner => f.write_str("the matched account's owner"),
            AssignedBy::ContactOwner => f.write_str("the existing contact's owner"),
            AssignedBy::Owner => f.write_str("an owner named by the policy"),
            AssignedBy::Pool(p) => write!(f, "round robin in pool `{p}`"),
            AssignedBy::PoolFallback(p) => write!(f, "the fallback owner of pool `{p}`"),
            AssignedBy::Nobody => f.write_str("nobody"),
        }
    }
}

/// What the buyer sees after submitting the form.
///
/// JSON: `{"book_meeting": {"with": "ana"}}`, `"confirmation"`,
/// `"customer_success"`, `"nurture"`, `"manual_review"`,
/// `{"reject": {"reason": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Experience {
    /// Offer a meeting on this owner's calendar now.
    BookMeeting {
        /// The owner whose calendar to show.
        with: Name,
    },
    /// A confirmation page.
    Confirmation,
    /// The customer-success path.
    CustomerSuccess,
    /// Marketing nurture.
    Nurture,
    /// Held for manual review.
    ManualReview,
    /// Rejected.
    Reject {
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<Arc<str>>,
    },
}

impl Experience {
    /// The snake_case name of the experience.
    pub fn name(&self) -> &'static str {
        match self {
            Experience::BookMeeting { .. } => "book_meeting",
            Experience::Confirmation => "confirmation",
            Experience::CustomerSuccess => "customer_success",
            Experience::Nurture => "nurture",
            Experience::ManualReview => "manual_review",
            Experience::Reject { .. } => "reject",
        }
    }
}

/// The steps of one evaluation, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
#[non_exhaustive]
pub struct Trace {
    /// The events.
    pub events: Vec<TraceEvent>,
}

/// One step of an evaluation. Indices refer to the compiled policy; render
/// them with [`Policy::explain`](crate::Policy::explain).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TraceEvent {
    /// A condition node was evaluated (children before parents).
    Condition {
        /// Node index.
        node: u32,
        /// What the lead or context had.
        observed: Observed,
        /// Whether it held.
        result: bool,
    },
    /// A rule's condition was decided.
    Rule {
        /// Rule index.
        rule: u32,
        /// Whether it matched.
        matched: bool,
    },
    /// Rules `first .. first + count` were not evaluated: the rule index
    /// showed that each of them requires, of at least one fact in `by`, a
    /// value this lead does not have, so none of them could match. Each
    /// fact in `by` rules out at least one rule of the run, and its lead
    /// value is in an earlier `lead_value` event.
    ///
    /// A gap between two evaluated rules (or before the first, or after the
    /// last) is one run, however the rules in it interleave by country,
    /// region or product, so the trace has at most one run per evaluated
    /// rule, plus one. A rule's own reason is the first fact of `by`, in
    /// the order of [`IndexedFacts::ORDER`], whose requirement the lead's
    /// value fails; [`Policy::explain`](crate::Policy::explain) works it out
    /// and names what each rule requires.
    ///
    /// JSON: `{"event": "rules_skipped", "first": 3, "count": 40, "by":
    /// ["country", "product_interest"]}`. Earlier traces wrote one fact
    /// (`"by": "country"`); they are still read.
    RulesSkipped {
        /// First rule index of the run.
        first: u32,
        /// How many rules.
        count: u32,
        /// The facts that rule them out.
        by: IndexedFacts,
    },
    /// The lead's value of an indexed attribute, recorded once, before the
    /// first run of rules it rules out.
    LeadValue {
        /// The attribute.
        fact: IndexedFact,
        /// The lead's value (`null` when the lead has none).
        observed: Observed,
    },
    /// A rule's assignee could not take the lead.
    Unavailable {
        /// Rule index, `None` for the fallback.
        rule: Option<u32>,
        /// Why.
        reason: Unavailable,
    },
    /// The owner an action named directly (an owner, the account's or
    /// contact's owner) was off shift or away, and was assigned anyway: the
    /// action does not `check_availability`. JSON: `{"event":
    /// "owner_off_shift", "owner": 0, "reason": "off_shift", "local": "Sat
    /// 10:00"}`.
    OwnerOffShift {
        /// Owner index in the policy's owners directory.
        owner: u32,
        /// [`Unavailable::OffShift`] or [`Unavailable::Away`].
        reason: Unavailable,
        /// The decision time in the owner's schedule's zone (`"Sat 10:00"`),
        /// `null` without a schedule.
        local: Observed,
    },
    /// A pool member was passed over.
    PoolSkip {
        /// Pool index.
        pool: u32,
        /// Member position in the pool.
        member: u32,
        /// Why.
        reason: SkipReason,
    },
    /// A pool member was chosen.
    PoolChoice {
        /// Pool index.
        pool: u32,
        /// Member position in the pool.
        member: u32,
        /// The member's counter after adding its weight (before the
        /// subtraction), the highest among the eligible.
        current: i64,
        /// Sum of the eligible members' weights.
        eligible_weight: u64,
        /// Number of eligible members.
        eligible: u32,
        /// The lead id was already assigned by this pool: same owner again.
        replay: bool,
    },
    /// A least-loaded pool chose the member with the fewest open leads for
    /// its weight (followed by the `pool_choice` event).
    PoolLoad {
        /// Pool index.
        pool: u32,
        /// Member position in the pool.
        member: u32,
        /// The chosen member's open leads.
        open: u32,
        /// Number of eligible members.
        eligible: u32,
    },
    /// A pool that reads open-lead counts (least-loaded, or with a
    /// `max_open` cap) had none: none were given, or the router's
    /// [`LoadSource`](crate::pool::LoadSource) failed or ran out of time.
    /// It chose by rotation and applied no open-lead caps. JSON:
    /// `{"event": "open_leads_unknown", "pool": 0}`.
    OpenLeadsUnknown {
        /// Pool index.
        pool: u32,
    },
    /// The pool store could not be read or written: the pool chose on the
    /// last state this process loaded (or recorded locally), and the step
    /// was not recorded in the store. Added by the router, not by evaluation.
    PoolStoreUnavailable {
        /// Pool index.
        pool: u32,
    },
    /// A pool had no eligible member and sent the lead to its fallback.
    PoolFallback {
        /// Pool index.
        pool: u32,
    },
    /// The fallback decided, and why.
    Fallback {
        /// Why the fallback was reached.
        reason: FallbackReason,
    },
    /// How the lead was matched to an account: the first event when the
    /// facts carry the matcher's result
    /// ([`AccountMatch`], also in full in
    /// [`RouteDecision::account_match`]). JSON: `{"event":
    /// "account_match", "outcome": "matched" | "ambiguous" | "no_match",
    /// "method": "cross_tld" | null, "confidence": 0.85, "account": "001" |
    /// null, "candidates": 3}`; `account` is the matched account's id (cut
    /// to 22 bytes and marked with `…` like other trace text), `confidence`
    /// the match's, to three decimals, `candidates` how many were
    /// considered.
    AccountMatch {
        /// Matched, ambiguous or no match.
        outcome: MatchOutcome,
        /// How the account was identified (`None` unless matched).
        method: Option<MatchMethod>,
        /// The confidence, 0 to 1 in thousandths (JSON: a number 0–1).
        #[serde(with = "permille")]
        confidence: u16,
        /// The matched account's id.
        account: Option<ShortText>,
        /// How many candidates the matcher considered.
        candidates: u32,
    },
    /// A CRM lookup could not say (failed or timed out): the policy routed
    /// without that record.
    CrmUnavailable {
        /// Which lookup.
        lookup: Lookup,
        /// What happened.
        status: LookupStatus,
    },
    /// The trace reached its limit
    /// ([`EvalOptions::max_trace_events`](crate::policy::EvalOptions::max_trace_events)):
    /// `omitted` events were left out here, between the first events and
    /// the last few. JSON: `{"event": "truncated", "omitted": 99000}`.
    Truncated {
        /// How many events were left out.
        omitted: u64,
    },
}

/// A lead attribute the rule index uses to rule out rules without
/// evaluating them.
///
/// JSON: `"country"`, `"region"`, `"postal_code"`, `"product_interest"`,
/// `"email_kind"`, `"employees"`, `"annual_revenue"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IndexedFact {
    /// The lead's country.
    Country,
    /// The lead's region.
    Region,
    /// The lead's postal code (by prefix).
    PostalCode,
    /// The lead's product interest.
    ProductInterest,
    /// The lead's email kind.
    EmailKind,
    /// The lead's head count (its smallest value: `employees` bounds hold
    /// only when the whole range is within them).
    Employees,
    /// The lead's annual revenue (its smallest value, likewise).
    AnnualRevenue,
}

impl IndexedFact {
    /// The snake_case name, as conditions name the attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexedFact::Country => "country",
            IndexedFact::Region => "region",
            IndexedFact::PostalCode => "postal_code",
            IndexedFact::ProductInterest => "product_interest",
            IndexedFact::EmailKind => "email_kind",
            IndexedFact::Employees => "employees",
            IndexedFact::AnnualRevenue => "annual_revenue",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`IndexedFact`]s: the facts that rule out one run of skipped
/// rules ([`TraceEvent::RulesSkipped`]).
///
/// Iterates (and serializes) in the fixed order in which the trace names a
/// skipped rule's reason: country, region, email kind, postal code,
/// employees, annual revenue, product interest. JSON: an array of fact names, `["country", "product_interest"]`;
/// a single name (`"country"`, how earlier traces wrote `by`) is read as a
/// one-fact set.
///
/// ```
/// use leadroute::decision::{IndexedFact, IndexedFacts};
/// let by: IndexedFacts = [IndexedFact::ProductInterest, IndexedFact::Country].into_iter().collect();
/// assert_eq!(by.iter().collect::<Vec<_>>(), [IndexedFact::Country, IndexedFact::ProductInterest]);
/// assert_eq!(serde_json::to_string(&by).unwrap(), r#"["country","product_interest"]"#);
/// let old: IndexedFacts = serde_json::from_str(r#""region""#).unwrap();
/// assert_eq!(old, IndexedFacts::from(IndexedFact::Region));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IndexedFacts(u8);

impl IndexedFacts {
    /// Every indexed fact, in the order a set iterates.
    pub const ORDER: [IndexedFact; 7] = [
        IndexedFact::Country,
        IndexedFact::Region,
        IndexedFact::EmailKind,
        IndexedFact::PostalCode,
        IndexedFact::Employees,
        IndexedFact::AnnualRevenue,
        IndexedFact::ProductInterest,
    ];

    /// The empty set.
    pub fn new() -> Self {
        IndexedFacts(0)
    }

    /// Every indexed fact.
    pub(crate) fn all() -> Self {
        IndexedFacts((1 << Self::ORDER.len()) - 1)
    }

    /// The facts in either set.
    pub(crate) fn union(self, other: IndexedFacts) -> Self {
        IndexedFacts(self.0 | other.0)
    }

    /// Adds `fact`; whether it was new.
    pub fn insert(&mut self, fact: IndexedFact) -> bool {
        let new = self.0 & fact.bit() == 0;
        self.0 |= fact.bit();
        new
    }

    /// Removes `fact`; whether it was there.
    pub fn remove(&mut self, fact: IndexedFact) -> bool {
        let had = self.contains(fact);
        self.0 &= !fact.bit();
        had
    }

    /// Whether every fact of `other` is in the set.
    pub fn contains_all(self, other: IndexedFacts) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `fact` is in the set.
    pub fn contains(self, fact: IndexedFact) -> bool {
        self.0 & fact.bit() != 0
    }

    /// Number of facts in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The facts, in [`ORDER`](Self::ORDER).
    pub fn iter(self) -> impl Iterator<Item = IndexedFact> {
        Self::ORDER.into_iter().filter(move |f| self.contains(*f))
    }
}

impl From<IndexedFact> for IndexedFacts {
    fn from(fact: IndexedFact) -> Self {
        IndexedFacts(fact.bit())
    }
}

impl FromIterator<IndexedFact> for IndexedFacts {
    fn from_iter<I: IntoIterator<Item = IndexedFact>>(iter: I) -> Self {
        let mut set = IndexedFacts::new();
        for fact in iter {
            set.insert(fact);
        }
        set
    }
}

impl fmt::Debug for IndexedFacts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for IndexedFacts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for IndexedFacts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// An array of fact names, or one name (the form of earlier traces).
        struct Facts;
        impl<'de> serde::de::Visitor<'de> for Facts {
            type Value = IndexedFacts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of indexed facts (\"country\", \"region\", \"postal_code\", \"product_interest\", \"email_kind\") or one of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IndexedFacts, E> {
                let fact =
                    IndexedFact::deserialize(serde::de::value::StrDeserializer::<E>::new(v))?;
                Ok(fact.into())
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<IndexedFacts, A::Error> {
                let mut set = IndexedFacts::new();
                while let Some(fact) = seq.next_element::<IndexedFact>()? {
                    set.insert(fact);
                }
                Ok(set)
            }
        }
        d.deserialize_any(Facts)
    }
}

/// Why an assignee could not take a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Unavailable {
    /// No account matched, or it has no owner.
    NoAccountOwner,
    /// No existing contact, or it has no owner.
    NoContactOwner,
    /// The owner id is not in the policy's owners directory.
    UnknownOwner,
    /// The owner is inactive.
    InactiveOwner,
    /// Nobody in the pool could take it and the pool has no fallback.
    PoolExhausted,
    /// The owner already had the lead before (a reassignment never goes
    /// back to an earlier assignee).
    EarlierAssignee,
    /// The owner is outside their working hours (or on a holiday or an
    /// out-of-office day); an action with `check_availability` passes them
    /// over.
    OffShift,
    /// The caller's availability source says the owner is away (a calendar
    /// out-of-office, an "away" toggle, a reassignment's away mark); an
    /// action with `check_availability` passes them over.
    Away,
}

impl Unavailable {
    /// The snake_case name, as JSON writes it (`"off_shift"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Unavailable::NoAccountOwner => "no_account_owner",
            Unavailable::NoContactOwner => "no_contact_owner",
            Unavailable::UnknownOwner => "unknown_owner",
            Unavailable::InactiveOwner => "inactive_owner",
            Unavailable::PoolExhausted => "pool_exhausted",
            Unavailable::EarlierAssignee => "earlier_assignee",
            Unavailable::OffShift => "off_shift",
            Unavailable::Away => "away",
        }
    }
}

/// Why the policy fallback decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FallbackReason {
    /// No rule matched.
    NoRuleMatched,
    /// A matched rule's assignee was unavailable and it says `fallback`.
    RuleAsked {
        /// Rule index.
        rule: u32,
    },
}

/// A value observed during evaluation: `null`, a bool, a count, a range or
/// (short) text. Text longer than 22 bytes is cut at a character boundary
/// and marked with `…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Observed {
    /// Absent.
    None,
    /// A boolean fact.
    Bool(bool),
    /// A count or amount.
    Count(u64),
    /// A range.
    Range(Range),
    /// Text.
    Text(ShortText),
}

/// Text stored inline (no heap allocation), up to 22 bytes: small enough
/// that a trace event is 40 bytes and a typical trace fits one small buffer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortText {
    len: u8,
    truncated: bool,
    buf: [u8; 22],
}

impl ShortText {
    /// Copies `s`, cutting it at a character boundary to fit.
    #[inline]
    pub(crate) fn new(s: &str) -> Self {
        let mut cut = s.len().min(22);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut buf = [0u8; 22];
        let bytes = s.as_bytes().get(..cut).unwrap_or_default();
        if let Some(dst) = buf.get_mut(..cut) {
            dst.copy_from_slice(bytes);
        }
        ShortText {
            len: u8::try_from(cut).unwrap_or(22),
            truncated: cut < s.len(),
            buf,
        }
    }

    /// `parts` joined by `sep`, cut like [`new`](Self::new): a list shown
    /// in the trace, written in place (no intermediate buffer).
    pub(crate) fn joined<'s>(parts: impl IntoIterator<Item = &'s str>, sep: &str) -> Self {
        let mut t = ShortText {
            len: 0,
            truncated: false,
            buf: [0u8; 22],
        };
        for (i, part) in parts.into_iter().enumerate() {
            if (i > 0 && !t.append(sep)) || !t.append(part) {
                t.truncated = true;
                break;
            }
        }
        t
    }

    /// Appends what fits of `s`, cut at a character boundary; whether all of
    /// it did.
    fn append(&mut self, s: &str) -> bool {
        let at = usize::from(self.len);
        let mut take = s.len().min(self.buf.len() - at);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        if let (Some(dst), Some(src)) = (self.buf.get_mut(at..at + take), s.as_bytes().get(..take))
        {
            dst.copy_from_slice(src);
            self.len = u8::try_from(at + take).unwrap_or(22);
        }
        take == s.len()
    }

    /// The stored text (without the `…` marker).
    pub fn as_str(&self) -> &str {
        self.buf
            .get(..usize::from(self.len))
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// Whether the original was longer.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl PartialEq<str> for ShortText {
    fn eq(&self, other: &str) -> bool {
        !self.truncated && self.as_str() == other
    }
}

impl PartialEq<&str> for ShortText {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl Observed {
    /// The observed text, if the value was text (without the `…` marker).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Observed::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.truncated {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl Serialize for ShortText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ShortText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.strip_suffix('…') {
            Some(stem) => {
                let mut t = ShortText::new(stem);
                t.truncated = true;
                Ok(t)
            }
            None => Ok(ShortText::new(&s)),
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::None => f.write_str("nothing"),
            Observed::Bool(b) => write!(f, "{b}"),
            Observed::Count(n) => write!(f, "{n}"),
            Observed::Range(r) => write!(f, "{r}"),
            Observed::Text(t) => write!(f, "{:?}", t.to_string()),
        }
    }
}

impl TraceEvent {
    /// The `account_match` event for a matcher's result.
    pub(crate) fn account_match(m: &AccountMatch) -> TraceEvent {
        TraceEvent::AccountMatch {
            outcome: m.outcome,
            method: m.method,
            confidence: m.confidence_permille(),
            account: m.account_id.as_deref().map(ShortText::new),
            candidates: u32::try_from(m.candidates.len()).unwrap_or(u32::MAX),
        }
    }
}

/// Thousandths as a JSON number 0–1 (`850` ↔ `0.85`).
mod permille {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(f64::from(*v) / 1000.0)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        let x = f64::deserialize(d)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(serde::de::Error::custom(format!(
                "confidence {x} is not between 0 and 1"
            )));
        }
        // In range, so the cast cannot truncate.
        Ok((x * 1000.0).round() as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_indexed_facts_are_every_fact_in_order() {
        assert!(IndexedFacts::all().iter().eq(IndexedFacts::ORDER));
        let mut country = IndexedFacts::new();
        country.insert(IndexedFact::Country);
        let kind = IndexedFacts::from(IndexedFact::EmailKind);
        let both = country.union(kind);
        assert_eq!(both.len(), 2);
        assert!(both.contains_all(country) && both.contains_all(kind));
        assert_eq!(both.union(both), both);
    }

    #[test]
    fn short_text_cuts_on_char_boundaries_and_round_trips() {
        let t = ShortText::new("US-CA");
        assert_eq!(t.as_str(), "US-CA");
        assert!(!t.is_truncated());
        let long = ShortText::new(&"é".repeat(20));
        assert_eq!(long.as_str().len(), 22);
        assert!(long.is_truncated());
        let json = serde_json::to_string(&long).unwrap();
        assert_eq!(serde_json::from_str::<ShortText>(&json).unwrap(), long);
    }

    #[test]
    fn the_account_match_event_round_trips_with_a_decimal_confidence() {
        let e = TraceEvent::AccountMatch {
            outcome: MatchOutcome::Matched,
            method: Some(MatchMethod::CrossTld),
            confidence: 850,
            account: Some(ShortText::new("001")),
            candidates: 3,
        };
        let v = serde_json::to_value(e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event": "account_match", "outcome": "matched",
                "method": "cross_tld", "confidence": 0.85, "account": "001", "candidates": 3})
        );
        assert_eq!(serde_json::from_value::<TraceEvent>(v).unwrap(), e);
        let bad = serde_json::json!({"event": "account_match", "outcome": "no_match",
            "method": null, "confidence": 1.5, "account": null, "candidates": 0});
        let err = serde_json::from_value::<TraceEvent>(bad).unwrap_err();
        assert!(err.to_string().contains("not between 0 and 1"), "{err}");
    }

    #[test]
    fn trace_events_stay_small() {
        // The trace buffer is sized in events; keep them compact.
        assert!(
            std::mem::size_of::<TraceEvent>() <= 40,
            "{}",
            std::mem::size_of::<TraceEvent>()
        );
    }

    #[test]
    fn observed_serializes_untagged() {
        let v = serde_json::to_value([
            Observed::None,
            Observed::Bool(true),
            Observed::Count(3),
            Observed::Range(Range::at_least(5)),
            Observed::Text(ShortText::new("US")),
        ])
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!([null, true, 3, {"min": 5, "max": null}, "US"])
        );
        let back: Vec<Observed> = serde_json::from_value(v).unwrap();
        assert_eq!(back[4], Observed::Text(ShortText::new("US")));
    }
}
