//! A conservative implication test between conditions, used to find rules
//! that can never match. "Conservative" means it may miss an implication but
//! never claims one that does not hold.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::mem::Discriminant;

use super::spec::{Bounds, Condition, FieldTest, MatchTest, RecordTest, SpamTest, ValueTest};
use crate::name::{FxHasher, FxMap};

/// Whether `a` holding guarantees `b` holds, for every lead and context.
pub(crate) fn implies(a: &Condition, b: &Condition) -> bool {
    use Condition::*;
    if a == b {
        return true;
    }
    match (a, b) {
        (_, Always(true)) => true,
        (Always(false), _) => true,
        (_, All(bs)) => bs.iter().all(|b| implies(a, b)),
        (Any(as_), _) => as_.iter().all(|a| implies(a, b)),
        (All(as_), _) => as_.iter().any(|a| implies(a, b)),
        (_, Any(bs)) => bs.iter().any(|b| implies(a, b)),
        (Country(x), Country(y)) => subset_ci(x, y),
        (Region(x), Region(y)) => subset_ci(x, y),
        (ProductInterest(x), ProductInterest(y)) => subset_ci(x, y),
        (Source(x), Source(y))
        | (UtmSource(x), UtmSource(y))
        | (UtmMedium(x), UtmMedium(y))
        | (UtmCampaign(x), UtmCampaign(y))
        | (UtmTerm(x), UtmTerm(y))
        | (UtmContent(x), UtmContent(y))
        | (CompanyDomain(x), CompanyDomain(y)) => subset_ci(x, y),
        (EmailKind(x), EmailKind(y)) => x.iter().all(|k| y.contains(k)),
        (Employees(x), Employees(y)) | (AnnualRevenue(x), AnnualRevenue(y)) => within(x, y),
        (Account(x), Account(y)) | (Contact(x), Contact(y)) => record_implies(x, y),
        (AccountMatch(x), AccountMatch(y)) => match_implies(x, y),
        (Signal(x), Signal(y)) => !x.is_empty() && x.iter().all(|k| y.contains(k)),
        (Spam(x), Spam(y)) => score_within(x, y),
        _ => false,
    }
}

/// Every value of `x` is in `y` (case-insensitively): "any of x" ⟹ "any of y".
fn subset_ci(x: &[String], y: &[String]) -> bool {
    !x.is_empty()
        && x.iter()
            .all(|v| y.iter().any(|w| w.trim().eq_ignore_ascii_case(v.trim())))
}

/// The bounds `x` lie within `y`.
fn within(x: &Bounds, y: &Bounds) -> bool {
    let lo_ok = match (x.min, y.min) {
        (_, None) => true,
        (Some(a), Some(b)) => a >= b,
        (None, Some(_)) => false,
    };
    let hi_ok = match (x.max, y.max) {
        (_, None) => true,
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
    };
    lo_ok && hi_ok
}

/// Every score within `x`'s bounds is within `y`'s.
fn score_within(x: &SpamTest, y: &SpamTest) -> bool {
    let lo_ok = match (x.score_at_least, y.score_at_least) {
        (_, None) => true,
        (Some(a), Some(b)) => a >= b,
        (None, Some(b)) => b == 0,
    };
    let hi_ok = match (x.score_below, y.score_below) {
        (_, None) => true,
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
    };
    lo_ok && hi_ok
}

/// Every fact `y` requires is required identically by `x`.
fn same_or_free<T: PartialEq>(x: &Option<T>, y: &Option<T>) -> bool {
    y.is_none() || x == y
}

/// Every fact `y` requires, `x` requires identically.
fn record_implies(x: &RecordTest, y: &RecordTest) -> bool {
    same_or_free(&x.exists, &y.exists)
        && same_or_free(&x.has_owner, &y.has_owner)
        && same_or_free(&x.owner_active, &y.owner_active)
        && same_or_free(&x.is_customer, &y.is_customer)
        && same_or_free(&x.tier, &y.tier)
        && same_or_free(&x.field, &y.field)
}

/// Every test `y` makes, `x` makes at least as strictly: the same flags,
/// methods among `y`'s, a confidence at least `y`'s.
fn match_implies(x: &MatchTest, y: &MatchTest) -> bool {
    let methods = match (&x.matched_by, &y.matched_by) {
        (_, None) => true,
        (Some(a), Some(b)) => !a.is_empty() && a.iter().all(|m| b.contains(m)),
        (None, Some(_)) => false,
    };
    let confidence = match (x.min_confidence, y.min_confidence) {
        (_, None) => true,
        (Some(a), Some(b)) => a.get() >= b.get(),
        (None, Some(_)) => false,
    };
    // A method or a confidence requirement implies an account was matched
    // and the match was not ambiguous.
    let requires_match = x.matched_by.is_some() || x.min_confidence.is_some();
    let matched = y.matched.is_none()
        || x.matched == y.matched
        || (requires_match && y.matched == Some(true));
    let ambiguous = y.ambiguous.is_none()
        || x.ambiguous == y.ambiguous
        || (requires_match && y.ambiguous == Some(false));
    methods && confidence && matched && ambiguous
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::email::EmailKind as K;

    fn c(json: &str) -> Condition {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn broader_and_identical_conditions_are_detected() {
        assert!(implies(
            &c(r#"{"country": ["US"]}"#),
            &c(r#"{"country": ["US", "CA"]}"#)
        ));
        assert!(!implies(
            &c(r#"{"country": ["US", "CA"]}"#),
            &c(r#"{"country": ["US"]}"#)
        ));
        assert!(implies(
            &c(r#"{"employees": {"min": 500}}"#),
            &c(r#"{"employees": {"min": 200}}"#)
        ));
        assert!(!implies(
            &c(r#"{"employees": {"min": 100}}"#),
            &c(r#"{"employees": {"min": 200}}"#)
        ));
        assert!(implies(
            &c(r#"{"employees": {"min": 10, "max": 50}}"#),
            &c(r#"{"employees": {"max": 100}}"#)
        ));
        assert!(implies(
            &c(r#"{"all": [{"country": ["US"]}, {"employees": {"min": 500}}]}"#),
            &c(r#"{"country": ["US"]}"#)
        ));
        assert!(!implies(
            &c(r#"{"country": ["US"]}"#),
            &c(r#"{"all": [{"country": ["US"]}, {"employees": {"min": 500}}]}"#)
        ));
        assert!(implies(
            &c(r#"{"country": ["US"]}"#),
            &c(r#"{"always": true}"#)
        ));
        assert!(implies(
            &c(r#"{"any": [{"country": ["US"]}, {"country": ["CA"]}]}"#),
            &c(r#"{"country": ["us", "CA"]}"#)
        ));
        assert!(implies(
            &c(r#"{"account": {"has_owner": true, "is_customer": true}}"#),
            &c(r#"{"account": {"has_owner": true}}"#)
        ));
        assert!(!implies(
            &c(r#"{"account": {"has_owner": true}}"#),
            &c(r#"{"account": {"has_owner": true, "is_customer": true}}"#)
        ));
        assert!(implies(
            &Condition::EmailKind(vec![K::Free]),
            &Condition::EmailKind(vec![K::Free, K::Disposable])
        ));
        assert!(!implies(
            &c(r#"{"not": {"country": ["US"]}}"#),
            &c(r#"{"country": ["CA"]}"#)
        ));
    }
}

/// Finds, for a rule, the earlier rules that might cover it, without
/// comparing every pair: large territory plans have tens of thousands of
/// rules, and a policy arriving over an admin API must not stall a service.
///
/// # How
///
/// Every condition `b` has a *need*: sets of keys such that any `a` with
/// [`implies`]`(a, b)` *provides* (has among its keys) at least one key of
/// every set. An earlier rule is filed under the keys of one of its sets
/// (the one whose buckets hold the fewest rules so far, so the most
/// selective for this plan); a later rule looks up the buckets of the keys
/// it provides. The keys follow `implies` arm by arm:
///
/// - a list leaf (`country`, `utm_campaign`, …) needs one of its values
///   (normalized as `implies` compares them) and provides its first value;
/// - `employees` / `annual_revenue` key on which bounds are given; the
///   bucket keeps the lowest minimum and highest maximum it holds, so a
///   later range outside all of them skips the bucket;
/// - `account` / `contact` need one of the facts they require (an empty
///   test needs nothing but the record kind) and provide all of theirs;
/// - `attribute`, `not`, `territory` and `postal_code` only imply what is
///   equal to them: they key on a fingerprint of the whole condition;
/// - `all` provides the union of its parts' keys and needs any part's need;
///   `any` provides one part's keys and needs the union of its parts' needs;
/// - a condition that needs nothing (`always: true`) is compared with every
///   later rule, and one that provides everything (`always: false` inside
///   an `any`) with every earlier rule.
///
/// A condition kind without its own arm in [`Leaf::of`] keys on its kind
/// alone: still correct for any `implies` arm between two conditions of
/// that kind, only slower.
///
/// Candidates come out in rule order, merged lazily from the buckets, so the
/// caller stops at the first (earliest) cover: the diagnostic is the one a
/// comparison of every pair would give.
///
/// A rule is filed under one key set of its need, but a cover must provide
/// a key of *every* set: before a candidate is handed out, each of its
/// sets is checked against the later rule's keys (as 64-bit key hashes; a
/// collision only lets a candidate through), which rejects most candidates
/// of a large plan (same product, other countries) without running
/// [`implies`].
#[derive(Default)]
pub(crate) struct ShadowIndex {
    buckets: FxMap<Key, Bucket>,
    /// Rules that need nothing: candidates for every later rule.
    free: Vec<usize>,
    /// Every filed rule, for a later rule that provides everything.
    all: Vec<usize>,
    /// Per filed rule: its need, every set as key hashes.
    needs: FxMap<usize, Box<[Box<[u64]>]>>,
}

type Kind = Discriminant<Condition>;

/// What a rule is filed under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A value of a list leaf, normalized as [`implies`] compares it, as a
    /// hash (equal values hash equally; a collision only adds candidates).
    Value(Kind, u64),
    /// An empty list of that kind.
    EmptyList(Kind),
    /// A numeric leaf giving a minimum (or not) and a maximum (or not).
    Bounds(Kind, bool, bool),
    /// One fact of a record test: which fact, and a fingerprint of its value.
    Fact(Kind, u8, u64),
    /// Any condition of this kind (a record test with no facts, or a kind
    /// without an arm of its own).
    Kind(Kind),
    /// Equal conditions only: a fingerprint of the whole condition.
    Exact(u64),
}

/// The bounds a key was provided with, to skip a bucket that cannot match.
#[derive(Debug, Clone, Copy)]
struct Span {
    min: Option<u64>,
    max: Option<u64>,
}

#[derive(Default)]
struct Bucket {
    rules: Vec<usize>,
    /// For [`Key::Bounds`] buckets: the lowest minimum and highest maximum
    /// filed here.
    lowest_min: Option<u64>,
    highest_max: Option<u64>,
}

impl Bucket {
    fn file(&mut self, rule: usize, span: Option<Span>) {
        if self.rules.last() != Some(&rule) {
            self.rules.push(rule);
        }
        if let Some(s) = span {
            if let Some(m) = s.min {
                self.lowest_min = Some(self.lowest_min.map_or(m, |l| l.min(m)));
            }
            if let Some(m) = s.max {
                self.highest_max = Some(self.highest_max.map_or(m, |h| h.max(m)));
            }
        }
    }

    /// Whether a rule filed here could be implied by a leaf with `span`.
    fn may_hold(&self, span: Option<Span>) -> bool {
        let Some(s) = span else { return true };
        let min_ok = match (s.min, self.lowest_min) {
            (Some(x), Some(lo)) => x >= lo,
            _ => true,
        };
        let max_ok = match (s.max, self.highest_max) {
            (Some(x), Some(hi)) => x <= hi,
            _ => true,
        };
        min_ok && max_ok
    }
}

/// One key set of a need, with the bounds of the leaf it came from.
type KeySet = Vec<(Key, Option<Span>)>;

/// What `b` needs of any condition implying it.
enum Need {
    /// Nothing: compare with every later rule.
    Free,
    /// A key of every one of these sets.
    Every(Vec<KeySet>),
}

/// What `a` provides.
enum Provides {
    /// Everything (`a` is never true).
    Top,
    Keys(KeySet),
}

/// A leaf's need (key sets, a key of each to be provided) and what it
/// provides. **A new condition kind adds its arm here** when its `implies`
/// arm is finer than "same kind".
struct Leaf {
    need: Vec<KeySet>,
    provides: KeySet,
}

/// A hash of `v` as [`subset_ci`] compares it (trimmed, ASCII case
/// ignored), without allocating.
fn norm(v: &str) -> u64 {
    let mut h = FxHasher::default();
    for b in v.trim().bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.finish()
}

/// A key's hash, for the need check of [`Candidates`].
fn key_id(k: &Key) -> u64 {
    let mut h = FxHasher::default();
    k.hash(&mut h);
    h.finish()
}

fn plain(keys: impl IntoIterator<Item = Key>) -> KeySet {
    keys.into_iter().map(|k| (k, None)).collect()
}

impl Leaf {
    /// `None` for `all`, `any` and `always`, which [`ShadowIndex`] handles
    /// structurally.
    fn of(c: &Condition) -> Option<Leaf> {
        use Condition::*;
        let kind = std::mem::discriminant(c);
        let list = |values: &[String]| Leaf {
            need: vec![if values.is_empty() {
                plain([Key::EmptyList(kind)])
            } else {
                plain(values.iter().map(|v| Key::Value(kind, norm(v))))
            }],
            provides: plain([values
                .first()
                .map_or(Key::EmptyList(kind), |v| Key::Value(kind, norm(v)))]),
        };
        let exact = || {
            let fp = fingerprint(c);
            Leaf {
                need: vec![plain([Key::Exact(fp)])],
                provides: plain([Key::Exact(fp)]),
            }
        };
        Some(match c {
            All(_) | Any(_) | Always(_) => return None,
            Country(v) | Region(v) | ProductInterest(v) | Source(v) | UtmSource(v)
            | UtmMedium(v) | UtmCampaign(v) | UtmTerm(v) | UtmContent(v) | CompanyDomain(v) => {
                list(v)
            }
            // `implies` holds for an empty `x` too (every kind of `x` is in `y`).
            EmailKind(x) => {
                let name = |k: &crate::lead::email::EmailKind| k.index() as u64;
                let mut need = plain(x.iter().map(|k| Key::Value(kind, name(k))));
                need.push((Key::EmptyList(kind), None));
                Leaf {
                    need: vec![need],
                    provides: plain([x
                        .first()
                        .map_or(Key::EmptyList(kind), |k| Key::Value(kind, name(k)))]),
                }
            }
            Employees(b) | AnnualRevenue(b) => {
                let span = Some(Span {
                    min: b.min,
                    max: b.max,
                });
                let mut provides = Vec::new();
                for has_min in [false, true] {
                    for has_max in [false, true] {
                        if (!has_min || b.min.is_some()) && (!has_max || b.max.is_some()) {
                            provides.push((Key::Bounds(kind, has_min, has_max), span));
                        }
                    }
                }
                Leaf {
                    need: vec![vec![(
                        Key::Bounds(kind, b.min.is_some(), b.max.is_some()),
                        span,
                    )]],
                    provides,
                }
            }
            Account(t) | Contact(t) => {
                let facts = record_facts(kind, t);
                let mut provides = plain([Key::Kind(kind)]);
                provides.extend(facts.iter().cloned().map(|k| (k, None)));
                Leaf {
                    need: if facts.is_empty() {
                        vec![plain([Key::Kind(kind)])]
                    } else {
                        facts.into_iter().map(|k| plain([k])).collect()
                    },
                    provides,
                }
            }
            Not(_) | Attribute(_) | Territory(_) | PostalCode(_) => exact(),
            #[allow(unreachable_patterns)]
            _ => Leaf {
                need: vec![plain([Key::Kind(kind)])],
                provides: plain([Key::Kind(kind)]),
            },
        })
    }
}

/// The facts a record test requires, each a key.
fn record_facts(kind: Kind, t: &RecordTest) -> Vec<Key> {
    let mut out = Vec::new();
    let mut fact = |tag: u8, present: bool, fp: u64| {
        if present {
            out.push(Key::Fact(kind, tag, fp));
        }
    };
    let fp_of = |f: &dyn Fn(&mut DefaultHasher)| {
        let mut h = DefaultHasher::new();
        f(&mut h);
        h.finish()
    };
    fact(0, t.exists.is_some(), fp_of(&|h| t.exists.hash(h)));
    fact(1, t.has_owner.is_some(), fp_of(&|h| t.has_owner.hash(h)));
    fact(
        2,
        t.owner_active.is_some(),
        fp_of(&|h| t.owner_active.hash(h)),
    );
    fact(
        3,
        t.is_customer.is_some(),
        fp_of(&|h| t.is_customer.hash(h)),
    );
    fact(4, t.tier.is_some(), fp_of(&|h| t.tier.hash(h)));
    fact(
        5,
        t.field.is_some(),
        fp_of(&|h| {
            if let Some(f) = &t.field {
                hash_field(f, h);
            }
        }),
    );
    out
}

/// A hash of `c` that is equal for equal conditions (it may be equal for
/// some unequal ones: that only adds candidates).
fn fingerprint(c: &Condition) -> u64 {
    let mut h = DefaultHasher::new();
    hash_condition(c, &mut h);
    h.finish()
}

fn hash_condition(c: &Condition, h: &mut DefaultHasher) {
    use Condition::*;
    std::mem::discriminant(c).hash(h);
    match c {
        All(items) | Any(items) => items.iter().for_each(|i| hash_condition(i, h)),
        Not(inner) => hash_condition(inner, h),
        Always(b) => b.hash(h),
        Territory(id) => id.hash(h),
        Country(v) | Region(v) | ProductInterest(v) | Source(v) | UtmSource(v) | UtmMedium(v)
        | UtmCampaign(v) | UtmTerm(v) | UtmContent(v) | CompanyDomain(v) => v.hash(h),
        PostalCode(p) => {
            p.country.hash(h);
            p.prefixes.hash(h);
            p.ranges.hash(h);
        }
        Employees(b) | AnnualRevenue(b) => (b.min, b.max).hash(h),
        EmailKind(k) => k.len().hash(h),
        Attribute(f) => hash_field(f, h),
        Account(t) | Contact(t) => {
            (t.exists, t.has_owner, t.owner_active, t.is_customer).hash(h);
            t.tier.hash(h);
            if let Some(f) = &t.field {
                hash_field(f, h);
            }
        }
        // Kinds added later hash by kind alone (coarse, still consistent
        // with equality).
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

fn hash_field(f: &FieldTest, h: &mut DefaultHasher) {
    f.key.hash(h);
    match &f.test {
        ValueTest::Equals(v) => {
            0u8.hash(h);
            hash_value(v, h);
        }
        ValueTest::OneOf(vs) => {
            1u8.hash(h);
            vs.iter().for_each(|v| hash_value(v, h));
        }
        ValueTest::Exists(b) => (2u8, b).hash(h),
        ValueTest::Regex(r) => (3u8, r).hash(h),
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// Consistent with `Value`'s equality: numbers hash by their `f64` value
/// (zero's sign dropped), objects by size only (key order may differ).
fn hash_value(v: &serde_json::Value, h: &mut DefaultHasher) {
    use serde_json::Value as V;
    match v {
        V::Null => 0u8.hash(h),
        V::Bool(b) => (1u8, b).hash(h),
        V::Number(n) => {
            2u8.hash(h);
            let f = n.as_f64().unwrap_or(0.0);
            (if f == 0.0 { 0 } else { f.to_bits() }).hash(h);
        }
        V::String(s) => (3u8, s).hash(h),
        V::Array(items) => {
            4u8.hash(h);
            items.iter().for_each(|i| hash_value(i, h));
        }
        V::Object(m) => (5u8, m.len()).hash(h),
    }
}

impl ShadowIndex {
    fn load(&self, set: &KeySet) -> usize {
        set.iter()
            .map(|(k, _)| self.buckets.get(k).map_or(0, |b| b.rules.len()))
            .sum()
    }

    /// The cheapest key set of each need set, or `None` for [`Need::Free`].
    fn cheapest(&self, sets: Vec<KeySet>) -> Option<KeySet> {
        sets.into_iter().min_by_key(|s| (self.load(s), s.len()))
    }

    fn need(&self, c: &Condition) -> Need {
        match c {
            Condition::Always(true) => Need::Free,
            // Only what never holds implies `always: false`; `all` gives
            // such a part a key of its own.
            Condition::Always(false) => Need::Every(vec![plain([Key::Exact(fingerprint(c))])]),
            Condition::All(items) => {
                let sets: Vec<KeySet> = items
                    .iter()
                    .filter_map(|i| match self.need(i) {
                        Need::Free => None,
                        Need::Every(sets) => Some(sets),
                    })
                    .flatten()
                    .collect();
                if sets.is_empty() {
                    Need::Free
                } else {
                    Need::Every(sets)
                }
            }
            Condition::Any(items) => {
                let mut union = KeySet::new();
                for item in items {
                    match self.need(item) {
                        Need::Free => return Need::Free,
                        Need::Every(sets) => match self.cheapest(sets) {
                            Some(set) => union.extend(set),
                            None => return Need::Free,
                        },
                    }
                }
                Need::Every(vec![union])
            }
            leaf => Need::Every(Leaf::of(leaf).map_or_else(Vec::new, |l| l.need)),
        }
    }

    fn provides(&self, c: &Condition) -> Provides {
        match c {
            Condition::Always(false) => Provides::Top,
            Condition::Always(true) => Provides::Keys(Vec::new()),
            Condition::All(items) => {
                let mut keys = KeySet::new();
                for item in items {
                    match self.provides(item) {
                        Provides::Top => return Provides::Top,
                        Provides::Keys(k) => keys.extend(k),
                    }
                }
                Provides::Keys(keys)
            }
            // Every part implies the covering rule, so any one part's keys
            // find it: take the part whose buckets hold the fewest rules.
            Condition::Any(items) => items
                .iter()
                .map(|i| self.provides(i))
                .filter_map(|p| match p {
                    Provides::Top => None,
                    Provides::Keys(k) => Some(k),
                })
                .min_by_key(|k| (self.load(k), k.len()))
                .map_or(Provides::Top, Provides::Keys),
            leaf => Provides::Keys(Leaf::of(leaf).map_or_else(Vec::new, |l| l.provides)),
        }
    }

    /// Files an earlier rule that always decides when it matches.
    pub(crate) fn add(&mut self, rule: usize, when: &Condition) {
        self.all.push(rule);
        let set = match self.need(when) {
            Need::Free => None,
            Need::Every(sets) => {
                let ids: Box<[Box<[u64]>]> = sets
                    .iter()
                    .map(|s| s.iter().map(|(k, _)| key_id(k)).collect())
                    .collect();
                if !ids.is_empty() {
                    self.needs.insert(rule, ids);
                }
                self.cheapest(sets)
            }
        };
        match set {
            Some(set) => {
                for (key, span) in set {
                    self.buckets.entry(key).or_default().file(rule, span);
                }
            }
            // Also a need of no sets: nothing to key on, so always compare.
            None => self.free.push(rule),
        }
    }

    /// Earlier rules that might cover `when`, in rule order, each once.
    pub(crate) fn candidates(&self, when: &Condition) -> Candidates<'_> {
        let mut lists: Vec<&[usize]> = vec![&self.free];
        let mut provided = None;
        match self.provides(when) {
            Provides::Top => lists.push(&self.all),
            Provides::Keys(keys) => {
                provided = Some(keys.iter().map(|(k, _)| key_id(k)).collect());
                for (key, span) in &keys {
                    if let Some(bucket) = self.buckets.get(key) {
                        if bucket.may_hold(*span) {
                            lists.push(&bucket.rules);
                        }
                    }
                }
            }
        }
        let heap = lists
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.first().map(|&r| Reverse((r, i))))
            .collect();
        Candidates {
            lists,
            heap,
            last: None,
            needs: &self.needs,
            provided,
        }
    }
}

/// The candidates of one rule: a lazy merge of sorted buckets.
pub(crate) struct Candidates<'a> {
    lists: Vec<&'a [usize]>,
    heap: BinaryHeap<Reverse<(usize, usize)>>,
    last: Option<usize>,
    needs: &'a FxMap<usize, Box<[Box<[u64]>]>>,
    /// The later rule's key hashes; `None` when it provides everything.
    provided: Option<Vec<u64>>,
}

impl Candidates<'_> {
    /// Whether the later rule provides a key of every set `rule` needs.
    fn may_cover(&self, rule: usize) -> bool {
        let (Some(provided), Some(sets)) = (&self.provided, self.needs.get(&rule)) else {
            return true;
        };
        sets.iter()
            .all(|set| set.iter().any(|id| provided.contains(id)))
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        while let Some(Reverse((rule, list))) = self.heap.pop() {
            if let Some(slot) = self.lists.get_mut(list) {
                let rest = slot.get(1..).unwrap_or_default();
                *slot = rest;
                if let Some(&next) = rest.first() {
                    self.heap.push(Reverse((next, list)));
                }
            }
            if self.last != Some(rule) {
                self.last = Some(rule);
                if self.may_cover(rule) {
                    return Some(rule);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod shadow_tests {
    use super::*;

    /// A tiny deterministic generator of conditions of every kind over few
    /// values, so that covers are frequent.
    fn arb(seed: &mut u64, depth: u32) -> Condition {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (*seed >> 33) as usize;
        let vals = |n: usize, pool: &[&str]| -> Vec<String> {
            (0..n % 4)
                .map(|k| pool[(n / 3 + k * 7) % pool.len()].to_owned())
                .collect()
        };
        let bound = |n: usize| [None, Some(0), Some(100), Some(500)][n % 4];
        let record = |n: usize| RecordTest {
            exists: [None, Some(true)][n % 2],
            has_owner: [None, Some(true), Some(false)][n / 2 % 3],
            is_customer: [None, Some(true)][n / 6 % 2],
            tier: [None, Some(vec!["gold".to_owned()])][n / 12 % 2].clone(),
            ..RecordTest::default()
        };
        match r % 16 {
            0 | 1 => Condition::Country(vals(r / 16, &["US", "CA", "GB", "us"])),
            2 => Condition::Region(vals(r / 16, &["US-CA", "US-NY", "CA-ON"])),
            3 => Condition::ProductInterest(vals(r / 16, &["plg", "crm", "billing"])),
            4 => Condition::Employees(Bounds {
                min: bound(r / 16),
                max: bound(r / 64).map(|m| m + 50),
            }),
            5 => Condition::AnnualRevenue(Bounds {
                min: bound(r / 16),
                max: None,
            }),
            6 if depth < 2 => {
                Condition::All((0..r / 16 % 4).map(|_| arb(seed, depth + 1)).collect())
            }
            7 if depth < 2 => {
                Condition::Any((0..r / 16 % 3).map(|_| arb(seed, depth + 1)).collect())
            }
            8 if depth < 2 => Condition::Not(Box::new(arb(seed, depth + 1))),
            9 => Condition::Always(r / 16 % 5 != 0),
            10 => Condition::Account(record(r / 16)),
            11 => Condition::Contact(record(r / 16)),
            12 => Condition::Attribute(FieldTest {
                key: ["plan", "seats"][r / 16 % 2].to_owned(),
                test: [
                    ValueTest::Exists(true),
                    ValueTest::Equals(serde_json::json!(r / 32 % 3)),
                ][r / 96 % 2]
                    .clone(),
            }),
            13 => Condition::EmailKind(
                [vec![], vec![K::Free], vec![K::Free, K::Disposable]][r / 16 % 3].clone(),
            ),
            14 => Condition::Territory(["west", "east"][r / 16 % 2].to_owned()),
            _ => Condition::Source(vals(r / 16, &["web", "ads"])),
        }
    }

    use crate::lead::email::EmailKind as K;

    #[test]
    fn the_shadow_index_finds_the_first_cover_a_full_comparison_finds() {
        let mut seed = 11;
        let mut covers = 0;
        for _ in 0..400 {
            let rules: Vec<Condition> = (0..30).map(|_| arb(&mut seed, 0)).collect();
            let mut index = ShadowIndex::default();
            for (j, later) in rules.iter().enumerate() {
                let brute = (0..j).find(|&i| implies(later, &rules[i]));
                let indexed = index.candidates(later).find(|&i| implies(later, &rules[i]));
                assert_eq!(indexed, brute, "rule {j}: {later:?}");
                let listed: Vec<usize> = index.candidates(later).collect();
                assert!(listed.windows(2).all(|w| w[0] < w[1]), "in order, once");
                covers += usize::from(brute.is_some());
                index.add(j, later);
            }
        }
        assert!(
            covers > 500,
            "the generator should produce covers ({covers})"
        );
    }

    #[test]
    fn the_shadow_index_never_misses_a_cover() {
        let mut seed = 7;
        let mut covers = 0;
        for _ in 0..300 {
            let rules: Vec<Condition> = (0..25).map(|_| arb(&mut seed, 0)).collect();
            let mut index = ShadowIndex::default();
            for (j, later) in rules.iter().enumerate() {
                let candidates: Vec<usize> = index.candidates(later).collect();
                for (i, earlier) in rules.iter().enumerate().take(j) {
                    if implies(later, earlier) {
                        covers += 1;
                        assert!(
                            candidates.contains(&i),
                            "missed cover {i} of {j}: {earlier:?} ⊇ {later:?}"
                        );
                    }
                }
                index.add(j, later);
            }
        }
        assert!(
            covers > 100,
            "the generator should produce covers ({covers})"
        );
    }
}
