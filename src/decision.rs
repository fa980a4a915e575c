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
use crate::matching::AccountMatch;
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
/// `{"pool": id}`, `"nobody"`), `experience` (see [`Experience`]), `rule`
/// (the matched rule id, `null` when the fallback decided), `fallback`
/// (bool), `tags`, `priority`, `sla_minutes`, `sla_due` (RFC 3339 UTC text,
/// absent without an SLA), `write_to_crm` (bool: whether
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
/// owner`, `round robin in pool `x``, ….
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// showed that each requires a value of `by` that this lead does not
    /// have (the lead's value is in the preceding `lead_value` event), so
    /// none of them could match. [`Policy::explain`](crate::Policy::explain)
    /// names what each rule requires. Consecutive skipped rules are split
    /// into the fewest such runs (the longest first), so a rule that
    /// several attributes rule out is reported under whichever keeps its
    /// run longest.
    RulesSkipped {
        /// First rule index of the run.
        first: u32,
        /// How many rules.
        count: u32,
        /// The attribute that rules them out.
        by: IndexedFact,
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
/// `"email_kind"`.
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
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A small set of [`IndexedFact`]s (which lead values the trace has shown).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IndexedFacts(u8);

impl IndexedFacts {
    /// Adds `fact`; whether it was new.
    pub(crate) fn insert(&mut self, fact: IndexedFact) -> bool {
        let new = self.0 & fact.bit() == 0;
        self.0 |= fact.bit();
        new
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

#[cfg(test)]
mod tests {
    use super::*;

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
