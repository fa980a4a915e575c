//! The compiled ("intermediate") form of conditions and actions: ids resolved
//! to indices, values normalized and interned, so evaluation does no parsing
//! and no allocation beyond the trace.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::spec::OwnerSpec;
use crate::crm::OwnerView;
use crate::decision::Priority;
use crate::lead::model::CountryCode;
use crate::name::Name;
use crate::pool::load::{Distribution, SeatRules};
use crate::pool::roster::Roster;
use crate::schedule::Schedule;
use crate::submission::signal::SignalSet;

#[derive(Debug)]
pub(crate) struct Owner {
    pub(crate) id: Name,
    pub(crate) active: bool,
    pub(crate) spec: OwnerSpec,
    /// Working hours with the owner's own out-of-office dates; `None`: 24/7.
    pub(crate) schedule: Option<Arc<Schedule>>,
}

impl Owner {
    pub(crate) fn view(&self) -> OwnerView<'_> {
        OwnerView {
            id: &self.id,
            name: &self.spec.name,
            email: self.spec.email.as_deref(),
            crm_ids: &self.spec.crm_ids,
            active: self.active,
            timezone: self.spec.timezone.as_deref(),
            attributes: &self.spec.attributes,
        }
    }
}

/// Countries as a bitset over the 26×26 two-letter codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct CountrySet([u64; 11]);

impl CountrySet {
    fn slot(c: CountryCode) -> usize {
        let [a, b] = c.as_bytes();
        usize::from(a.saturating_sub(b'A')) * 26 + usize::from(b.saturating_sub(b'A'))
    }
    pub(crate) fn insert(&mut self, c: CountryCode) {
        let i = Self::slot(c);
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    pub(crate) fn contains(&self, c: CountryCode) -> bool {
        let i = Self::slot(c);
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    /// The countries in both sets.
    pub(crate) fn and(&self, other: &CountrySet) -> CountrySet {
        let mut out = self.clone();
        for (w, o) in out.0.iter_mut().zip(other.0.iter()) {
            *w &= *o;
        }
        out
    }
    /// The countries of `self` not in `other`.
    pub(crate) fn minus(&self, other: &CountrySet) -> CountrySet {
        let mut out = self.clone();
        for (w, o) in out.0.iter_mut().zip(other.0.iter()) {
            *w &= !*o;
        }
        out
    }
    /// The countries, in code order.
    /// The codes in the set, in alphabetical order. Walks the set bits
    /// only (a plan of 10,000 rules asks this of every country test).
    pub(crate) fn codes(&self) -> Vec<CountryCode> {
        let mut out = Vec::new();
        for (w, word) in self.0.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let (Ok(a), Ok(b)) = (u8::try_from(slot / 26), u8::try_from(slot % 26)) else {
                    continue;
                };
                let code = [b'A' + a, b'A' + b];
                if let Some(c) = std::str::from_utf8(&code)
                    .ok()
                    .and_then(|s| s.parse::<CountryCode>().ok())
                {
                    out.push(c);
                }
            }
        }
        out
    }
}

#[derive(Debug, Default)]
pub(crate) struct PostalMatcher {
    pub(crate) country: Option<CountryCode>,
    pub(crate) prefixes: Box<[Box<str>]>,
    pub(crate) ranges: Box<[(Box<str>, Box<str>)]>,
}

impl PostalMatcher {
    pub(crate) fn matches(&self, country: Option<CountryCode>, code: &str) -> bool {
        if self.country.is_some() && self.country != country {
            return false;
        }
        self.prefixes.iter().any(|p| code.starts_with(&**p))
            || self.ranges.iter().any(|(from, to)| {
                code.get(..from.len())
                    .is_some_and(|head| head >= &**from && head <= &**to)
            })
    }
}

#[derive(Debug, Default)]
pub(crate) struct PlaceSet {
    pub(crate) countries: CountrySet,
    pub(crate) regions: Box<[Box<str>]>,
    pub(crate) postal: Box<[PostalMatcher]>,
}

impl PlaceSet {
    pub(crate) fn matches(
        &self,
        country: Option<CountryCode>,
        region: Option<&str>,
        postal: Option<&str>,
    ) -> bool {
        country.is_some_and(|c| self.countries.contains(c))
            || region.is_some_and(|r| self.regions.iter().any(|x| **x == *r))
            || postal.is_some_and(|p| self.postal.iter().any(|m| m.matches(country, p)))
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.countries.is_empty() && self.regions.is_empty() && self.postal.is_empty()
    }
}

#[derive(Debug)]
pub(crate) struct Territory {
    pub(crate) include: PlaceSet,
    pub(crate) exclude: PlaceSet,
}

#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) id: Name,
    /// The id as a plain string, for lookups on the hot path.
    pub(crate) key: Box<str>,
    /// The members, shared with every pool step that needs them.
    pub(crate) roster: Arc<Roster>,
    pub(crate) fallback: Option<TargetC>,
    /// Schedules and open-lead caps by seat position (parallel to the roster).
    pub(crate) seat_rules: Box<[SeatRules]>,
    pub(crate) distribution: Distribution,
    pub(crate) respect_schedules: bool,
    /// The zone capacity periods count local days in (`None`: UTC).
    pub(crate) zone: Option<jiff::tz::TimeZone>,
    /// The pool's own schedule (SLA deadlines of owners without one).
    pub(crate) schedule: Option<Arc<Schedule>>,
    /// Whether choices read open-lead counts (least-loaded, or a `max_open`
    /// cap on any member).
    pub(crate) uses_load: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetC {
    Owner(u32),
    Pool(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssignC {
    AccountOwner,
    ContactOwner,
    Target(TargetC),
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextC {
    NextRule,
    Fallback,
    Target(TargetC),
}

#[derive(Debug, Clone)]
pub(crate) enum ExperienceC {
    /// `None`: the assigned owner's calendar.
    BookMeeting(Option<u32>),
    Confirmation,
    CustomerSuccess,
    Nurture,
    ManualReview,
    Reject(Option<Arc<str>>),
}

#[derive(Debug)]
pub(crate) struct Action {
    pub(crate) assign: AssignC,
    pub(crate) experience: ExperienceC,
    pub(crate) if_unavailable: NextC,
    /// A directly named owner off shift or away is unavailable (else they
    /// keep the lead and the decision says they are off shift).
    pub(crate) check_availability: bool,
    pub(crate) tags: Arc<[Arc<str>]>,
    pub(crate) priority: Option<Priority>,
    pub(crate) sla_minutes: Option<u32>,
    pub(crate) write_to_crm: bool,
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) id: Name,
    pub(crate) cond: Cond,
    pub(crate) action: Action,
}

/// A compiled condition tree; each node carries its index into `nodes`.
#[derive(Debug)]
pub(crate) enum Cond {
    All(Box<[Cond]>, u32),
    Any(Box<[Cond]>, u32),
    Not(Box<Cond>, u32),
    Leaf(Pred, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    Source,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    CompanyDomain,
}

#[derive(Debug)]
pub(crate) enum ValueMatch {
    /// Scalar text forms, lower-cased.
    OneOf(Box<[Box<str>]>),
    Exists(bool),
    Regex(Regex),
}

#[derive(Debug)]
pub(crate) enum Pred {
    Always(bool),
    Territory(u32),
    /// Shared between the rules that list the same countries (a plan's
    /// rules repeat a few country sets; one set is 88 bytes).
    Country(Arc<CountrySet>),
    Region(Box<[Box<str>]>),
    Postal(PostalMatcher),
    Employees(Option<u64>, Option<u64>),
    Revenue(Option<u64>, Option<u64>),
    Product(Box<[Box<str>]>),
    EmailKind(u8),
    /// Lower-cased accepted values.
    Text(TextField, Box<[Box<str>]>),
    Attribute(Box<str>, ValueMatch),
    /// A yes/no fact about a CRM record equals the bool.
    Flag(Record, Flag, bool),
    AccountTier(Box<[Box<str>]>),
    AccountField(Box<str>, ValueMatch),
    /// The decision time is (`true`) / is not (`false`) in the schedule's
    /// open hours.
    Schedule(u32, bool),
    /// The local weekday (bit 0 = Monday) in the zone is in the mask.
    DayOfWeek(u8, jiff::tz::TimeZone),
    /// An account was matched (equals the bool).
    Matched(bool),
    /// Matched by one of these methods (bits of `MatchMethod::bit`).
    MatchedBy(u16),
    /// Matched with at least this confidence, in thousandths.
    MinConfidence(u16),
    /// The match was ambiguous (equals the bool).
    Ambiguous(bool),
    /// The spam score is at least the first and below the second.
    SpamScore(Option<u32>, Option<u32>),
    /// Any of these spam signals fired.
    Signal(SignalSet),
}

/// Which CRM record a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Record {
    Account,
    Contact,
}

impl Record {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Record::Account => "account",
            Record::Contact => "contact",
        }
    }
}

/// A yes/no fact about a CRM record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    Exists,
    HasOwner,
    OwnerActive,
    IsCustomer,
}

impl Flag {
    /// The name a trace shows for this fact of `record`.
    pub(crate) fn field(self, record: Record) -> &'static str {
        match (record, self) {
            (Record::Account, Flag::Exists) => "account.exists",
            (Record::Account, Flag::HasOwner) => "account.has_owner",
            (Record::Account, Flag::OwnerActive) => "account.owner_active",
            (Record::Account, Flag::IsCustomer) => "account.is_customer",
            (Record::Contact, Flag::Exists) => "contact.exists",
            (Record::Contact, Flag::HasOwner) => "contact.has_owner",
            (Record::Contact, Flag::OwnerActive) => "contact.owner_active",
            (Record::Contact, Flag::IsCustomer) => "contact.is_customer",
        }
    }

    /// Every flag, with its spec key, in spec order.
    pub(crate) const ALL: [(Flag, &'static str); 4] = [
        (Flag::Exists, "exists"),
        (Flag::HasOwner, "has_owner"),
        (Flag::OwnerActive, "owner_active"),
        (Flag::IsCustomer, "is_customer"),
    ];
}

/// What a trace needs to name a node: where it is and what it tests.
///
/// Kept to 20 bytes, since a large plan has one per condition (40,000 for
/// a generated 10,000-rule plan): the texts live once in the policy's
/// [`NodeTexts`] (most rules of a plan test the same few bands and lists at
/// the same places), and the path is stored without its `rules[i].when`
/// root.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeInfo {
    pub(crate) rule: Option<u32>,
    /// Whether the path text is below `rules[rule].when` (else it is the
    /// whole path).
    pub(crate) relative: bool,
    /// Into [`NodeTexts::texts`].
    pub(crate) path: u32,
    pub(crate) expected: u32,
    /// Into [`NodeTexts::kinds`]: the field and the operator.
    pub(crate) kind: u16,
}

// A node stays small: large plans have tens of thousands.
const _: () = assert!(std::mem::size_of::<NodeInfo>() <= 20);

/// The texts [`NodeInfo`]s point into, each stored once.
#[derive(Debug, Default)]
pub(crate) struct NodeTexts {
    pub(crate) texts: Box<[Box<str>]>,
    pub(crate) kinds: Box<[(&'static str, &'static str)]>,
}

impl NodeTexts {
    fn text(&self, i: u32) -> &str {
        self.texts.get(i as usize).map_or("", |s| s)
    }

    /// The node's path in the spec, e.g. `rules[3].when.all[0].country`.
    pub(crate) fn path(&self, n: &NodeInfo) -> String {
        match n.rule {
            Some(r) if n.relative => format!("rules[{r}].when{}", self.text(n.path)),
            _ => self.text(n.path).to_owned(),
        }
    }

    /// What the node expects, as the trace shows it.
    pub(crate) fn expected(&self, n: &NodeInfo) -> &str {
        self.text(n.expected)
    }

    /// The field the node tests, and its operator.
    pub(crate) fn kind(&self, n: &NodeInfo) -> (&'static str, &'static str) {
        self.kinds
            .get(usize::from(n.kind))
            .copied()
            .unwrap_or(("", ""))
    }
}

/// Folds case one character at a time — lower case, with the word-final
/// sigma `ς` folded to `σ` — the same way for policy values (at compile
/// time) and lead values (at evaluation), so text always matches itself.
pub(crate) fn fold_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
}

/// [`fold_chars`], collected.
pub(crate) fn fold_case(s: &str) -> String {
    fold_chars(s).collect()
}

/// Lower-cases `value`'s scalar text form; `None` for arrays, objects, null.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(fold_case(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
