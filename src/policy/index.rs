//! A rule index that keeps evaluation cost nearly flat as policies grow.
//!
//! For every rule we derive, from its condition tree, *necessary* conditions
//! on a few lead attributes: "if this rule's condition holds, the lead's
//! country is one of C", likewise for region, postal-code prefix, product
//! tokens, email kind, and the bands of head count and annual revenue (see
//! [`Bands`]). The derivation is conservative (it may fail to find
//! a constraint, never invent one), so a rule the index rules out could not
//! have matched.
//!
//! For each attribute value we keep the set of the rules compatible with it
//! (rules without a constraint on that attribute are in every set). At
//! evaluation the lead's sets are ANDed word by word and the surviving rules
//! are visited in order, so first-match semantics are exactly those of a
//! plain in-order scan; no memory is allocated. A differential test checks
//! this against a reference scan on generated policies.
//!
//! In a large territory plan the country's set and the postal prefix's (or
//! region's) are each dense while they meet in a few words; for those, the
//! index keeps the few words as a list, and the scan reads only them
//! ([`Drive`]: the same candidates, in the same order). A property test
//! compares the two scans on random plans of 2,000 to 4,000 rules.
//!
//! ## Size
//!
//! A set is a dense base bitset (shared: the attribute's unconstrained
//! rules, or a shorter postal prefix's set) plus the few words where the
//! value's own rules are; a value gets a dense bitset of its own only when
//! its rules occupy at least 1/16 of the index's words, most-needed values
//! first, while the attribute's dense sets stay within 32 index words per
//! word of rule needs (plus 16 index widths). The index is thus linear in
//! the policy: one rule per postal prefix or product token (50,000 rules)
//! holds ~18 MB, where a bitset per value held 329 MB
//! (`tests/index_size.rs`). The candidate scan reads the dense bases in
//! blocks and checks a sparse set's extra words one by one. The driving
//! word lists hold at most an eighth of the index's words per value and
//! country, as 4-byte word numbers, and exist only in policies of about
//! 2,000 rules or more (32 index words): 0.13 MB of the 10,000-rule bench
//! plan (7.83 -> 7.96 MB). Postal prefixes inherit their shorter prefixes' words, which a hostile policy
//! could multiply: past 64 index words per word of rule needs an attribute
//! is left unindexed, so every rule is a candidate for it (the decision is
//! the same, evaluation visits more rules; `PolicyLimits::max_rules` still
//! bounds that).

use super::ir::{Cond, CountrySet, Pred, Rule, Territory};
use crate::decision::{IndexedFact, IndexedFacts};
use crate::lead::email::EmailKind;
use crate::lead::model::{CountryCode, Lead};
use crate::name::FxMap;

/// One bitset per email kind.
const KINDS: usize = EmailKind::ALL.len();

type Bits = Box<[u64]>;

/// Necessary values of one attribute, per rule: `None` = unconstrained.
type Need<K> = Option<Vec<K>>;

#[derive(Debug, Default)]
struct Needs {
    country: Need<CountryCode>,
    region: Need<Box<str>>,
    postal: Need<Box<str>>,
    product: Need<Box<str>>,
    /// Email-kind bit mask.
    kind: Option<u8>,
    /// Bands (inclusive) one of which holds the lead's smallest head count.
    employees: Need<Band>,
    /// Likewise for annual revenue.
    revenue: Need<Band>,
}

/// The attributes `needs` constrains.
fn constrained_facts(needs: &Needs) -> IndexedFacts {
    [
        (needs.country.is_some(), IndexedFact::Country),
        (needs.region.is_some(), IndexedFact::Region),
        (needs.kind.is_some(), IndexedFact::EmailKind),
        (needs.postal.is_some(), IndexedFact::PostalCode),
        (needs.employees.is_some(), IndexedFact::Employees),
        (needs.revenue.is_some(), IndexedFact::AnnualRevenue),
        (needs.product.is_some(), IndexedFact::ProductInterest),
    ]
    .into_iter()
    .filter_map(|(needed, fact)| needed.then_some(fact))
    .collect()
}

/// An inclusive band of a numeric attribute: `(lo, hi)`, `hi = u64::MAX`
/// when open-ended.
type Band = (u64, u64);

/// Most bands one rule's need on a numeric attribute keeps: past it the
/// need is dropped (`any` of many bands) or one side kept (`all`), both
/// sound, so a hostile condition tree cannot multiply them.
const MAX_BANDS: usize = 64;

/// Where a set's own words go dense: a value whose rules occupy at least
/// `words / DENSE_AT` words of the index gets a bitset of its own.
///
/// Why 16: a sparse set holds 16 bytes per extra word, a dense one 8 per
/// index word, so below 1/16 of the words the sparse set is at most an
/// eighth of the dense one, and the scan checks at most `words / 16` extra
/// words one by one. At 1/64 the 10,000-rule bench plan's 1,089 postal
/// prefixes (rules in 3 to 9 of its 157 words) held 1.37 MB of dense sets
/// for no measurable gain in evaluation (±0.2 % instructions).
const DENSE_AT: usize = 16;

/// Index words an attribute may hold per word of rule needs (plus the
/// index's own width) before it is left unindexed; see [`Attr`].
const BUDGET_PER_NEED: usize = 64;

/// Dense index words an attribute's values may take per word of rule needs
/// (plus [`DENSE_AT`] index widths): past it, values stay sparse.
const DENSE_PER_NEED: usize = 32;

/// One value's rule set: a dense base set plus a few extra words.
#[derive(Debug)]
struct ValueSet {
    /// The base set: 0 is the attribute's unconstrained rules, `i` its
    /// `dense[i - 1]`.
    base: u32,
    /// The words of rules beyond `base`, sorted by word, each word once.
    extra: Box<[(u32, u64)]>,
    /// The value's driving word lists (see [`Drive`]), one per country its
    /// own rules name (at most [`DRIVE_COUNTRIES`]) whose list is short:
    /// the words where that country's set meets the value's rules beyond
    /// the attribute's unconstrained ones, sorted. Stored flat, as groups
    /// of `[country slot, length, words…]` (one allocation per value; an
    /// allocation per list held 0.3 MB more on the 10,000-rule bench plan).
    beyond: Box<[u32]>,
}

impl ValueSet {
    /// The driving word list for country `slot`, if the value has one.
    fn beyond_for(&self, slot: u32) -> Option<&[u32]> {
        let mut rest = &*self.beyond;
        while let [s, n, tail @ ..] = rest {
            let (list, next) = tail.split_at_checked(*n as usize)?;
            if *s == slot {
                return Some(list);
            }
            rest = next;
        }
        None
    }
}

/// Most index words, as a fraction of them, a driving word list may name:
/// see [`Drive`].
const DRIVE_AT: usize = 8;

/// Most countries a value keeps driving word lists for.
const DRIVE_COUNTRIES: usize = 8;

/// Fewest index words (64 rules each) for which driving lists are built:
/// below, a list holds at most a few words while the full scan reads only
/// a few blocks, so the lists would buy little and cost every compile
/// (1,000 rules: 1.9 % more instructions and 2 % more allocations,
/// `instr_compile`), and every lead a look for them (~20 instructions on
/// the seed policy's leads, callgrind).
const DRIVE_MIN_WORDS: usize = 4 * DRIVE_AT;

/// Whether `len` listed words are few enough to drive a scan over `words`
/// index words.
fn drives(len: usize, words: usize) -> bool {
    len.saturating_mul(DRIVE_AT) <= words
}

/// The rule sets per value of one attribute.
///
/// Why not a dense bitset per value: that costs the index's full width for
/// every distinct value, so a policy with one rule per postal prefix
/// (50,000 rules, a 4 MB spec) held 50,000 × 782 words, 329 MB, and took
/// as long to build. A value is instead a base set (the attribute's
/// unconstrained rules, shared, or for a postal prefix a shorter prefix's
/// set) plus the words where its own rules are; only a value whose rules
/// occupy at least `words / DENSE_AT` words gets a bitset of its own (the
/// faster scan), most-needed values first and at most `DENSE_PER_NEED`
/// index words per word of needs in all. Postal
/// prefixes inherit their shorter prefixes' words, which a hostile policy
/// can still multiply; past `BUDGET_PER_NEED` words per word of needs the
/// attribute is left unindexed (every rule a candidate for it: sound,
/// slower to evaluate, and documented in the module docs).
#[derive(Debug)]
struct Attr<K: std::hash::Hash + Eq> {
    by_value: FxMap<K, ValueSet>,
    /// The rules without a need on this attribute.
    unconstrained: Bits,
    /// Whether `unconstrained` is empty (every rule needs some value), so
    /// that a lead with no indexed value has no candidate at all.
    unconstrained_empty: bool,
    /// The values' own dense sets.
    dense: Vec<Bits>,
}

/// The index words of rules that need each value (sorted, by rule order),
/// and the bitset of the rules with no need on the attribute.
type OwnWords<K> = (Bits, FxMap<K, Vec<(u32, u64)>>);

fn own_words<K: std::hash::Hash + Eq>(
    words: usize,
    needs: impl Iterator<Item = Option<Vec<K>>>,
) -> OwnWords<K> {
    let mut unconstrained = vec![0u64; words].into_boxed_slice();
    let mut own: FxMap<K, Vec<(u32, u64)>> = FxMap::default();
    for (r, need) in needs.enumerate() {
        match need {
            None => set(&mut unconstrained, r),
            Some(values) => {
                for k in values {
                    add_rule(own.entry(k).or_default(), r);
                }
            }
        }
    }
    (unconstrained, own)
}

/// Adds rule `r` to a sorted word list (rules arrive in increasing order).
fn add_rule(list: &mut Vec<(u32, u64)>, r: usize) {
    let w = u32::try_from(r / 64).unwrap_or(u32::MAX);
    let bit = 1u64 << (r % 64);
    match list.last_mut() {
        Some((last, bits)) if *last == w => *bits |= bit,
        _ => list.push((w, bit)),
    }
}

/// The union of two sorted word lists.
fn merge_words(a: &[(u32, u64)], b: &[(u32, u64)]) -> Vec<(u32, u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&(wa, ba)), Some(&(wb, bb))) = (a.get(i), b.get(j)) {
        match wa.cmp(&wb) {
            std::cmp::Ordering::Less => {
                out.push((wa, ba));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push((wb, bb));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((wa, ba | bb));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(a.get(i..).unwrap_or_default());
    out.extend_from_slice(b.get(j..).unwrap_or_default());
    out
}

impl<K: std::hash::Hash + Eq + Clone + Ord> Attr<K> {
    fn new(unconstrained: Bits) -> Self {
        Attr {
            by_value: FxMap::default(),
            unconstrained_empty: unconstrained.iter().all(|w| *w == 0),
            unconstrained,
            dense: Vec::new(),
        }
    }

    /// The set of a lead without an indexed value: the unconstrained rules,
    /// and whether there are none.
    fn fallback(&self) -> (SetRef<'_>, bool) {
        (SetRef::dense(&self.unconstrained), self.unconstrained_empty)
    }

    fn build(words: usize, needs: impl Iterator<Item = Option<Vec<K>>>) -> Self {
        let (unconstrained, own) = own_words(words, needs);
        Attr::from_own(words, unconstrained, own.into_iter().collect())
    }

    /// The attribute of the rules without a need on it (`unconstrained`) and
    /// each value's own words.
    fn from_own(words: usize, unconstrained: Bits, mut own: Vec<(K, Vec<(u32, u64)>)>) -> Self {
        let need_words: usize = own.iter().map(|(_, w)| w.len()).sum();
        let mut attr = Attr::new(unconstrained);
        // The most-needed values first, so the dense budget goes where the
        // scan gains most; ties in key order, for a deterministic index.
        own.sort_by(|(ka, a), (kb, b)| b.len().cmp(&a.len()).then_with(|| ka.cmp(kb)));
        let mut budget = dense_budget(words, need_words);
        for (k, extra) in own {
            let set = attr.finish(words, 0, extra, &mut budget);
            attr.by_value.insert(k, set);
        }
        attr.within_budget(words, need_words)
    }

    /// A value's set over dense set `base` with its extra words, dense when
    /// the words are many.
    fn finish(
        &mut self,
        words: usize,
        base: u32,
        extra: Vec<(u32, u64)>,
        budget: &mut usize,
    ) -> ValueSet {
        if extra.is_empty() || extra.len() * DENSE_AT < words || *budget < words {
            return ValueSet {
                base,
                extra: extra.into_boxed_slice(),
                beyond: Box::default(),
            };
        }
        *budget -= words;
        let mut bits = self.base(base).clone();
        for (w, b) in extra {
            if let Some(word) = bits.get_mut(w as usize) {
                *word |= b;
            }
        }
        self.dense.push(bits);
        ValueSet {
            base: u32::try_from(self.dense.len()).unwrap_or(u32::MAX),
            extra: Box::default(),
            beyond: Box::default(),
        }
    }

    /// `self`, or the attribute unindexed when it outgrew its budget.
    fn within_budget(mut self, words: usize, need_words: usize) -> Self {
        let held = (1 + self.dense.len()) * words
            + self
                .by_value
                .values()
                .map(|v| v.extra.len() * 2)
                .sum::<usize>();
        if held > BUDGET_PER_NEED.saturating_mul(need_words + words) {
            self.by_value = FxMap::default();
            self.dense = Vec::new();
        }
        self
    }

    #[inline]
    fn get<Q>(&self, k: &Q) -> Option<SetRef<'_>>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.value(k).map(|v| self.set(v))
    }

    #[inline]
    fn value<Q>(&self, k: &Q) -> Option<&ValueSet>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.by_value.get(k)
    }

    #[inline]
    fn set<'a>(&'a self, v: &'a ValueSet) -> SetRef<'a> {
        SetRef {
            base: self.base(v.base),
            extra: (!v.extra.is_empty()).then_some(&v.extra),
        }
    }

    /// Base set `i` (see [`ValueSet::base`]).
    #[inline]
    fn base(&self, i: u32) -> &Bits {
        match i.checked_sub(1) {
            Some(d) => self.dense.get(d as usize).unwrap_or(&self.unconstrained),
            None => &self.unconstrained,
        }
    }

    /// The rules without a need on this attribute.
    fn unconstrained(&self) -> &Bits {
        &self.unconstrained
    }

    fn is_trivial(&self) -> bool {
        self.by_value.is_empty()
    }
}

/// A rule set as the evaluation reads it: a dense bitset, plus extra words
/// (sorted) for a sparse value.
///
/// Two thin references (16 bytes, as a slice was): the sets are copied into
/// the candidate scan's arrays on every evaluation.
// A `&Box<[_]>` is one pointer where `&[_]` is two: deliberate, see above.
#[allow(clippy::borrowed_box)]
#[derive(Clone, Copy)]
pub(crate) struct SetRef<'a> {
    base: &'a Bits,
    extra: Option<&'a Box<[(u32, u64)]>>,
}

impl<'a> SetRef<'a> {
    fn dense(base: &'a Bits) -> Self {
        SetRef { base, extra: None }
    }

    /// The extra words (empty for a dense set).
    fn extra(&self) -> &'a [(u32, u64)] {
        self.extra.map_or(&[], |e| e)
    }

    /// Word `w` of the set.
    fn word(&self, w: usize) -> u64 {
        let base = self.base.get(w).copied().unwrap_or(0);
        let Some(extra) = self.extra else {
            return base;
        };
        match extra.binary_search_by_key(&w, |(x, _)| *x as usize) {
            Ok(i) => base | extra.get(i).map_or(0, |(_, b)| *b),
            Err(_) => base,
        }
    }
}

/// The postal-prefix attribute, each prefix closed over its shorter
/// prefixes, so that one lookup (the longest indexed prefix of a code)
/// covers every prefix of the code: a prefix's set is its closest shorter
/// prefix's set plus its own words.
fn postal_attr(
    words: usize,
    needs: impl Iterator<Item = Option<Vec<Box<str>>>>,
) -> (Attr<Box<str>>, Vec<DriveSource<Box<str>>>) {
    let (unconstrained, mut own) = own_words(words, needs);
    let need_words: usize = own.values().map(Vec::len).sum();
    let mut budget = dense_budget(words, need_words);
    let mut keys: Vec<Box<str>> = own.keys().cloned().collect();
    keys.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    let mut attr = Attr::new(unconstrained);
    // Each prefix's own rules and its rules beyond the unconstrained ones
    // (its own and its shorter prefixes'), for its driving lists. Held in
    // all to the budget an attribute may take ([`BUDGET_PER_NEED`]): past
    // it a prefix has `None`, and so have its longer prefixes (no lists:
    // sound).
    type Closure = Option<(Vec<(u32, u64)>, Vec<(u32, u64)>)>;
    let mut closure: FxMap<Box<str>, Closure> = FxMap::default();
    let mut closure_budget = if words < DRIVE_MIN_WORDS {
        0
    } else {
        BUDGET_PER_NEED.saturating_mul(need_words + words)
    };
    for key in keys {
        let extra = own.remove(&key).unwrap_or_default();
        let shorter = (1..key.len())
            .rev()
            .filter_map(|n| key.get(..n))
            .find_map(|p| attr.by_value.get_key_value(p));
        if closure_budget > 0 {
            let beyond = match shorter.map(|(p, _)| closure.get(p)) {
                Some(Some(Some((_, s)))) => Some(merge_words(&extra, s)),
                Some(_) => None,
                None => Some(extra.clone()),
            }
            .filter(|b| b.len() <= closure_budget);
            closure_budget -= beyond.as_ref().map_or(0, Vec::len);
            closure.insert(key.clone(), beyond.map(|b| (extra.clone(), b)));
        }
        let shorter = shorter.map(|(_, s)| s);
        let (base, extra) = match shorter {
            Some(s) if s.extra.is_empty() => (s.base, extra),
            Some(s) => (s.base, merge_words(&extra, &s.extra)),
            None => (0, extra),
        };
        let set = attr.finish(words, base, extra, &mut budget);
        attr.by_value.insert(key, set);
    }
    let lists = closure
        .into_iter()
        .filter_map(|(key, c)| c.map(|(own, beyond)| (key, own, Some(beyond))))
        .collect();
    (attr.within_budget(words, need_words), lists)
}

/// What a value's driving lists are built from: the value, the words of
/// its own rules, and the words of all its rules beyond the attribute's
/// unconstrained ones (sorted word lists; `None` when those are its own,
/// as for every value but a postal prefix).
type DriveSource<K> = (K, Vec<(u32, u64)>, Option<Vec<(u32, u64)>>);

/// Gives each value of `attr` its driving word lists ([`ValueSet::beyond`]):
/// `beyond` holds each value's own rules and its rules beyond the
/// unconstrained ones (for a postal prefix, with its shorter prefixes'),
/// `country` the countries' sets. A value's lists are for the countries its
/// own rules name (at most [`DRIVE_COUNTRIES`]), each kept only when short.
///
/// Why only its own rules' countries: a postal prefix's set also holds its
/// shorter prefixes' rules, often another country's (a German `74` under a
/// US `745`); lists for those held 0.3 MB on the 10,000-rule bench plan,
/// for leads whose code runs into another country's longer prefix. Those
/// leads scan in full: the same candidates, read from every word.
fn attach_drives<K: std::hash::Hash + Eq>(
    attr: &mut Attr<K>,
    beyond: Vec<DriveSource<K>>,
    country: &[Option<Bits>],
    needs: &[Needs],
    words: usize,
) {
    if words < DRIVE_MIN_WORDS {
        return;
    }
    for (k, own, closure) in beyond {
        let Some(value) = attr.by_value.get_mut(&k) else {
            continue;
        };
        let bits = closure.as_ref().unwrap_or(&own);
        let mut slots: Vec<usize> = Vec::new();
        for &(w, b) in &own {
            let mut b = b;
            while b != 0 {
                let r = w as usize * 64 + b.trailing_zeros() as usize;
                b &= b - 1;
                let named = needs.get(r).and_then(|nd| nd.country.as_deref());
                slots.extend(named.unwrap_or_default().iter().map(|c| slot_of(*c)));
            }
        }
        slots.sort_unstable();
        slots.dedup();
        slots.truncate(DRIVE_COUNTRIES);
        let mut flat: Vec<u32> = Vec::new();
        for slot in slots {
            let Some(set) = country.get(slot).and_then(Option::as_ref) else {
                continue;
            };
            let met: Vec<u32> = bits
                .iter()
                .filter(|(w, b)| set.get(*w as usize).is_some_and(|c| c & b != 0))
                .map(|(w, _)| *w)
                .collect();
            if drives(met.len(), words) {
                flat.push(idx32(slot));
                flat.push(idx32(met.len()));
                flat.extend_from_slice(&met);
            }
        }
        value.beyond = flat.into_boxed_slice();
    }
}

/// The rule sets of a numeric attribute (head count, revenue) by band.
///
/// Why the lead's *smallest* value: a `within` condition holds only when
/// the lead's whole range lies in the bounds, so its `min` lies in them
/// too; a rule whose bands all miss the lead's `min` cannot match. The
/// bands' ends cut the number line into segments; a rule is in the set of
/// every segment its bands cover, which a lead finds by one binary search
/// of its `min`. Segment sets go through [`Attr`], so they are sparse or
/// dense and budgeted like the others; the segments a policy's rules cover
/// are counted first, and an attribute whose rules would cover more than
/// `BUDGET_PER_NEED` per rule (wide bands over many cut points) is left
/// unindexed (every rule a candidate for it).
#[derive(Debug)]
struct Bands {
    /// Segment starts, ascending; segment `i` is `starts[i]..starts[i + 1]`.
    /// Starts at 0.
    starts: Box<[u64]>,
    /// The unconstrained and dense sets (its `by_value` moved to `segments`).
    attr: Attr<u32>,
    /// Each segment's set (`None`: only the unconstrained rules), by
    /// number: one index, not a hash lookup, per lead. Empty when no rule
    /// has a band (or the attribute is unindexed).
    segments: Box<[Option<ValueSet>]>,
}

impl Bands {
    fn build<'n>(words: usize, needs: impl Iterator<Item = Option<&'n [Band]>> + Clone) -> Self {
        let mut starts: Vec<u64> = vec![0];
        for (lo, hi) in needs.clone().flatten().flatten() {
            starts.push(*lo);
            if let Some(next) = hi.checked_add(1) {
                starts.push(next);
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let segment = |x: u64| starts.partition_point(|s| *s <= x).saturating_sub(1);
        let covered: usize = needs
            .clone()
            .flatten()
            .flatten()
            .map(|(lo, hi)| (segment(*hi) + 1).saturating_sub(segment(*lo)))
            .fold(0, usize::saturating_add);
        let bands: usize = needs.clone().flatten().map(<[Band]>::len).sum();
        // Every rule a candidate when the attribute is too costly: sound.
        let unindexed = covered > BUDGET_PER_NEED.saturating_mul(bands + words);
        let mut unconstrained = vec![0u64; words].into_boxed_slice();
        // Each segment's own words, by segment: rules arrive in order, so
        // each list stays sorted (a rule whose bands overlap on a segment
        // sets its bit there twice, which is harmless).
        let mut own: Vec<Vec<(u32, u64)>> = vec![Vec::new(); starts.len()];
        for (r, need) in needs.enumerate() {
            match need {
                Some(bands) if !unindexed => {
                    for (lo, hi) in bands {
                        for seg in own.get_mut(segment(*lo)..=segment(*hi)).unwrap_or_default() {
                            add_rule(seg, r);
                        }
                    }
                }
                _ => set(&mut unconstrained, r),
            }
        }
        let own = own
            .into_iter()
            .enumerate()
            .filter(|(_, w)| !w.is_empty())
            .map(|(seg, w)| (idx32(seg), w))
            .collect();
        let mut attr = Attr::from_own(words, unconstrained, own);
        let mut segments: Vec<Option<ValueSet>> = std::iter::repeat_with(|| None)
            .take(if attr.is_trivial() { 0 } else { starts.len() })
            .collect();
        for (seg, set) in std::mem::take(&mut attr.by_value) {
            if let Some(slot) = segments.get_mut(seg as usize) {
                *slot = Some(set);
            }
        }
        Bands {
            starts: starts.into_boxed_slice(),
            attr,
            segments: segments.into_boxed_slice(),
        }
    }

    fn is_trivial(&self) -> bool {
        self.segments.is_empty()
    }

    /// The set of a lead whose smallest value is `min` (`None`: no value),
    /// and whether it is known to be empty.
    #[inline]
    fn lead_set(&self, min: Option<u64>) -> (SetRef<'_>, bool) {
        let found = min.and_then(|x| {
            let seg = self.starts.partition_point(|s| *s <= x).saturating_sub(1);
            self.segments.get(seg)?.as_ref()
        });
        match found {
            Some(v) => (self.attr.set(v), false),
            None => self.attr.fallback(),
        }
    }
}

/// Per country slot, the words where the country's set meets `attr`'s
/// unconstrained rules, when few enough to drive a scan (empty when the
/// attribute is unindexed or no country has so few).
fn country_drive<K: std::hash::Hash + Eq + Clone + Ord>(
    country: &[Option<Bits>],
    attr: &Attr<K>,
    words: usize,
) -> Box<[Option<Box<[u32]>>]> {
    if attr.is_trivial() || words < DRIVE_MIN_WORDS {
        return Box::default();
    }
    let drives: Box<[Option<Box<[u32]>>]> = country
        .iter()
        .map(|c| {
            let bits = c.as_ref()?;
            let met: Vec<u32> = bits
                .iter()
                .zip(attr.unconstrained().iter())
                .enumerate()
                .filter(|(_, (a, b))| *a & *b != 0)
                .map(|(w, _)| idx32(w))
                .collect();
            drives(met.len(), words).then(|| met.into_boxed_slice())
        })
        .collect();
    // None at all: empty, so that a lead's sets skip the lookup.
    if drives.iter().all(Option::is_none) {
        return Box::default();
    }
    drives
}

/// A rule or segment number as the index and the trace store it.
pub(crate) fn idx32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Index words an attribute's dense value sets may take.
fn dense_budget(words: usize, need_words: usize) -> usize {
    DENSE_PER_NEED
        .saturating_mul(need_words)
        .saturating_add(DENSE_AT.saturating_mul(words))
}

fn set(bits: &mut [u64], r: usize) {
    if let Some(w) = bits.get_mut(r / 64) {
        *w |= 1 << (r % 64);
    }
}

/// The compiled index of a policy's rules.
#[derive(Debug)]
pub(crate) struct RuleIndex {
    words: usize,
    rules: usize,
    all: Bits,
    /// Dense by country slot (26×26).
    country: Vec<Option<Bits>>,
    country_unconstrained: Bits,
    /// Whether every rule needs some country.
    country_unconstrained_empty: bool,
    country_trivial: bool,
    /// Per country slot: its set ANDed with the rules that need no region,
    /// precombined for the common lead without a region (one set, not two).
    country_no_region: Vec<Option<Bits>>,
    region: Attr<Box<str>>,
    postal: Attr<Box<str>>,
    postal_lengths: Vec<usize>,
    /// Per country slot: the words where its set meets the rules that need
    /// no postal code (respectively no region), when few: see [`Drive`].
    postal_drive: Box<[Option<Box<[u32]>>]>,
    region_drive: Box<[Option<Box<[u32]>>]>,
    product: Attr<Box<str>>,
    /// Per email kind, by [`EmailKind::index`].
    kind: [Bits; KINDS],
    /// Whether no rule admits the email kind.
    kind_empty: [bool; KINDS],
    kind_trivial: bool,
    employees: Bands,
    revenue: Bands,
    /// Per rule, the attributes it needs a value of: only those can rule it
    /// out, so the trace's reasons for a short skipped run check only them
    /// ([`Candidates::skipped_facts`]). One byte a rule.
    constrains: Box<[IndexedFacts]>,
}

/// Longest skipped run whose reasons check only the attributes its rules
/// need (a fold over one byte a rule); longer runs check every attribute.
const CONSTRAINED_RUN: usize = 8;

/// Most product tokens unioned per lead; beyond that the product attribute
/// places no restriction (sound, just less pruning).
const MAX_UNION: usize = 12;

impl RuleIndex {
    pub(crate) fn build(rules: &[Rule], territories: &[Territory]) -> Self {
        let n = rules.len();
        let words = n.div_ceil(64).max(1);
        let needs: Vec<Needs> = rules.iter().map(|r| needs(&r.cond, territories)).collect();
        let mut all = vec![0u64; words].into_boxed_slice();
        for r in 0..n {
            set(&mut all, r);
        }

        let mut country_unconstrained = vec![0u64; words].into_boxed_slice();
        for (r, nd) in needs.iter().enumerate() {
            if nd.country.is_none() {
                set(&mut country_unconstrained, r);
            }
        }
        let mut country: Vec<Option<Bits>> = vec![None; 26 * 26];
        for (r, nd) in needs.iter().enumerate() {
            for c in nd.country.iter().flatten() {
                if let Some(slot) = country.get_mut(slot_of(*c)) {
                    set(slot.get_or_insert_with(|| country_unconstrained.clone()), r);
                }
            }
        }
        let country_trivial = country.iter().all(Option::is_none);

        let (mut postal, postal_beyond) =
            postal_attr(words, needs.iter().map(|nd| nd.postal.clone()));
        attach_drives(&mut postal, postal_beyond, &country, &needs, words);
        let mut postal_lengths: Vec<usize> = postal.by_value.keys().map(|k| k.len()).collect();
        postal_lengths.sort_unstable();
        postal_lengths.dedup();
        postal_lengths.reverse();

        let every_kind = EmailKind::all_bits();
        let mut kind: [Bits; KINDS] = std::array::from_fn(|_| vec![0u64; words].into_boxed_slice());
        for (r, nd) in needs.iter().enumerate() {
            let mask = nd.kind.unwrap_or(every_kind);
            for (k, bits) in EmailKind::ALL.iter().zip(kind.iter_mut()) {
                if mask & k.bit() != 0 {
                    set(bits, r);
                }
            }
        }

        let kind_trivial = needs
            .iter()
            .all(|nd| nd.kind.is_none_or(|m| m & every_kind == every_kind));
        let (region_unconstrained, region_own) =
            own_words(words, needs.iter().map(|nd| nd.region.clone()));
        let region_own: Vec<_> = region_own.into_iter().collect();
        let region_beyond = if words < DRIVE_MIN_WORDS {
            Vec::new()
        } else {
            region_own
                .iter()
                .map(|(k, own)| (k.clone(), own.clone(), None))
                .collect()
        };
        let mut region = Attr::from_own(words, region_unconstrained, region_own);
        attach_drives(&mut region, region_beyond, &country, &needs, words);
        let country_no_region = if region.is_trivial() || country_trivial {
            Vec::new()
        } else {
            country
                .iter()
                .map(|c| {
                    c.as_ref().map(|bits| {
                        bits.iter()
                            .zip(region.unconstrained().iter())
                            .map(|(a, b)| a & b)
                            .collect()
                    })
                })
                .collect()
        };
        let employees = Bands::build(words, needs.iter().map(|nd| nd.employees.as_deref()));
        let revenue = Bands::build(words, needs.iter().map(|nd| nd.revenue.as_deref()));
        let postal_drive = country_drive(&country, &postal, words);
        let region_drive = country_drive(&country, &region, words);
        let constrains = needs.iter().map(constrained_facts).collect();
        RuleIndex {
            constrains,
            postal_drive,
            region_drive,
            employees,
            revenue,
            country_no_region,
            kind_trivial,
            words,
            rules: n,
            all,
            country,
            country_unconstrained_empty: country_unconstrained.iter().all(|w| *w == 0),
            country_unconstrained,
            country_trivial,
            region,
            postal,
            postal_lengths,
            product: Attr::build(words, needs.iter().map(|nd| nd.product.clone())),
            kind_empty: std::array::from_fn(|k| {
                kind.get(k).is_none_or(|b| b.iter().all(|w| *w == 0))
            }),
            kind,
        }
    }

    /// The rule sets a lead's indexed attributes select, one per attribute
    /// (`all` where the attribute constrains no rule).
    pub(crate) fn lead_sets<'a>(&'a self, lead: &'a Lead) -> LeadSets<'a> {
        // Whether a restricting set the lead selects is known to be empty
        // (a value no rule admits, with every rule needing some value): then
        // no rule is a candidate and the scan is skipped.
        let mut empty = false;
        let country: &Bits = if self.country_trivial {
            &self.all
        } else {
            match lead
                .country
                .and_then(|c| self.country.get(slot_of(c)))
                .and_then(Option::as_ref)
            {
                Some(bits) => bits,
                None => {
                    empty |= self.country_unconstrained_empty;
                    &self.country_unconstrained
                }
            }
        };
        // Each with the words it holds beyond the attribute's unconstrained
        // rules, when few (see `Drive`).
        let (region, region_beyond) = if self.region.is_trivial() {
            (SetRef::dense(&self.all), None)
        } else {
            match lead.region.as_deref().and_then(|r| self.region.value(r)) {
                Some(v) => (self.region.set(v), Some(v)),
                None => {
                    let (set, none) = self.region.fallback();
                    empty |= none;
                    (set, None)
                }
            }
        };
        let kind_index = lead.email_kind.index();
        let kind: &Bits = self.kind.get(kind_index).map_or(&self.all, |b| b);
        empty |= !self.kind_trivial && self.kind_empty.get(kind_index).copied().unwrap_or(false);

        // The longest indexed prefix of the lead's code (closed over shorter
        // ones at build time); with none, only the rules without a postal need.
        let (postal, postal_beyond) = if self.postal.is_trivial() {
            (SetRef::dense(&self.all), None)
        } else {
            let indexed = lead.postal_code.as_deref().and_then(|code| {
                self.postal_lengths
                    .iter()
                    .find_map(|n| code.get(..*n).and_then(|p| self.postal.value(p)))
            });
            match indexed {
                Some(v) => (self.postal.set(v), Some(v)),
                None => {
                    let (set, none) = self.postal.fallback();
                    empty |= none;
                    (set, None)
                }
            }
        };
        let band = |bands: &'a Bands, range: Option<crate::lead::range::Range>| {
            if bands.is_trivial() {
                (SetRef::dense(&self.all), false)
            } else {
                bands.lead_set(range.map(|r| r.min))
            }
        };
        let (employees, none) = band(&self.employees, lead.employees);
        empty |= none;
        let (revenue, none) = band(&self.revenue, lead.annual_revenue);
        empty |= none;
        // Each token's set already holds the rules without a product need, so
        // `unconstrained` is needed only when no token is indexed.
        let mut product = Union::new(&self.all);
        if !self.product.is_trivial() {
            for token in &lead.product_interest {
                if let Some(bits) = self.product.get(token.as_str()) {
                    if !product.push(bits) {
                        product = Union::unrestricted(&self.all);
                        break;
                    }
                }
            }
            if product.len == 0 && !product.unrestricted {
                let (set, none) = self.product.fallback();
                empty |= none;
                product.push(set);
            }
        }
        // A lead without a region, in an indexed country: its country set
        // already ANDed with the rules that need no region.
        let country_no_region = match (lead.region.as_deref(), lead.country) {
            (None, Some(c)) => self
                .country_no_region
                .get(slot_of(c))
                .and_then(Option::as_ref),
            _ => None,
        };
        let drive = lead
            .country
            .filter(|_| !(self.postal_drive.is_empty() && self.region_drive.is_empty()))
            .and_then(|c| {
                let slot = slot_of(c);
                // `None` for a lead without an indexed value: its set is
                // then the unconstrained rules, which `met` covers.
                let of = |drives: &'a [Option<Box<[u32]>>], value: Option<&'a ValueSet>| {
                    let met = drives.get(slot)?.as_deref()?;
                    let beyond = match value {
                        Some(v) => v.beyond_for(idx32(slot))?,
                        None => &[],
                    };
                    Some(Drive { met, beyond }).filter(|d| d.fits(self.words))
                };
                match (
                    of(&self.postal_drive, postal_beyond),
                    of(&self.region_drive, region_beyond),
                ) {
                    (Some(p), Some(r)) => Some(if r.len() < p.len() { r } else { p }),
                    (p, r) => p.or(r),
                }
            });
        LeadSets {
            drive,
            empty,
            country,
            country_no_region,
            region,
            kind,
            postal,
            employees,
            revenue,
            product,
        }
    }

    /// The candidate rules for a lead (its [`lead_sets`](Self::lead_sets)),
    /// visited in rule order.
    pub(crate) fn candidates<'a>(&'a self, sets: &'a LeadSets<'a>) -> Candidates<'a> {
        // A lead without a region, in an indexed country: one precombined set.
        let (country, country_trivial, region_trivial) = match sets.country_no_region {
            Some(bits) => (bits, false, true),
            None => (sets.country, self.country_trivial, self.region.is_trivial()),
        };
        let mut and: [SetRef<'a>; MAX_AND] = [SetRef::dense(&self.all); MAX_AND];
        let mut n_and = 0;
        let mut sparse = false;
        let single_product = match sets.product.sets.get(..sets.product.len) {
            Some([only]) => Some(*only),
            _ => None,
        };
        for (set, restricts) in [
            (SetRef::dense(country), !country_trivial),
            (sets.region, !region_trivial),
            (SetRef::dense(sets.kind), !self.kind_trivial),
            (sets.postal, !self.postal.is_trivial()),
            (sets.employees, !self.employees.is_trivial()),
            (sets.revenue, !self.revenue.is_trivial()),
            (
                single_product.unwrap_or(SetRef::dense(&self.all)),
                single_product.is_some(),
            ),
        ] {
            if restricts {
                if let Some(slot) = and.get_mut(n_and) {
                    *slot = set;
                    n_and += 1;
                    sparse |= set.extra.is_some();
                }
            }
        }
        let union = sets.product.len >= 2;
        if n_and == 0 && !union {
            // Nothing restricts: every rule (and no bit past the last).
            if let Some(first) = and.first_mut() {
                *first = SetRef::dense(&self.all);
                n_and = 1;
            }
        }
        Candidates {
            sparse,
            index: self,
            and,
            n_and,
            union,
            sets,
            next_word: if sets.empty { self.words } else { 0 },
            word: 0,
            current: 0,
            at_met: 0,
            at_beyond: 0,
        }
    }

    /// Number of rules indexed.
    pub(crate) fn len(&self) -> usize {
        self.rules
    }
}

/// What a rule's condition requires of the indexed attributes, as the
/// trace explains a skipped rule.
pub(crate) struct Requirements(Needs);

impl Requirements {
    pub(crate) fn of(cond: &Cond, territories: &[Territory]) -> Self {
        Requirements(needs(cond, territories))
    }

    /// The values of `fact` one of which the lead must have (empty: the
    /// rule can never match), or `None` when it requires nothing of it.
    pub(crate) fn get(&self, fact: IndexedFact) -> Option<Vec<String>> {
        let n = &self.0;
        let strings = |v: &Vec<Box<str>>| v.iter().map(|s| String::from(&**s)).collect();
        match fact {
            IndexedFact::Country => n
                .country
                .as_ref()
                .map(|v| v.iter().map(|c| c.as_str().to_owned()).collect()),
            IndexedFact::Region => n.region.as_ref().map(strings),
            IndexedFact::PostalCode => n.postal.as_ref().map(strings),
            IndexedFact::ProductInterest => n.product.as_ref().map(strings),
            IndexedFact::EmailKind => n.kind.map(|mask| {
                EmailKind::ALL
                    .iter()
                    .filter(|k| mask & k.bit() != 0)
                    .map(|k| k.as_str().to_owned())
                    .collect()
            }),
            IndexedFact::Employees => n.employees.as_ref().map(|b| bands_text(b)),
            IndexedFact::AnnualRevenue => n.revenue.as_ref().map(|b| bands_text(b)),
        }
    }

    /// Whether a lead whose smallest `fact` value is `min` fails the
    /// rule's bands (`None`: `fact` is no banded attribute, or the rule
    /// requires nothing of it).
    pub(crate) fn fails_band(&self, fact: IndexedFact, min: u64) -> Option<bool> {
        let bands = match fact {
            IndexedFact::Employees => self.0.employees.as_ref(),
            IndexedFact::AnnualRevenue => self.0.revenue.as_ref(),
            _ => None,
        }?;
        Some(!bands.iter().any(|(lo, hi)| (*lo..=*hi).contains(&min)))
    }
}

/// Bands as the trace's explanation shows them: `51..=200`, `>= 1000`.
fn bands_text(bands: &[Band]) -> Vec<String> {
    bands
        .iter()
        .map(|(lo, hi)| match hi {
            &u64::MAX => format!(">= {lo}"),
            hi => format!("{lo}..={hi}"),
        })
        .collect()
}

/// The sets one lead selects, per indexed attribute.
pub(crate) struct LeadSets<'a> {
    /// The few words the candidates can be in, when known.
    drive: Option<Drive<'a>>,
    /// A restricting set is empty: no candidates.
    empty: bool,
    country: &'a Bits,
    /// `country` ANDed with `region`, precombined for a lead without a region.
    country_no_region: Option<&'a Bits>,
    region: SetRef<'a>,
    kind: &'a Bits,
    postal: SetRef<'a>,
    employees: SetRef<'a>,
    revenue: SetRef<'a>,
    product: Union<'a>,
}

impl Candidates<'_> {
    /// The indexed facts that rule out at least one of the rules
    /// `from..to` (a gap between candidates), for the trace. Every rule of
    /// a gap is ruled out by at least one of them, so the gap is one
    /// `rules_skipped` run however its rules interleave by attribute.
    ///
    /// Uses the sets the iterator already selected (no second lookup of the
    /// lead's values); each fact's scan stops at the first rule it rules
    /// out, and reads whole words in the middle of the gap.
    pub(crate) fn skipped_facts(&self, from: usize, to: usize) -> IndexedFacts {
        let mut by = IndexedFacts::new();
        if to <= from {
            return by;
        }
        // The lead's sets of the attributes (other than product interest)
        // that constrain some rule, in `IndexedFacts::ORDER`. Built here,
        // with the trace on only, not per evaluation.
        let (index, sets) = (self.index, self.sets);
        // Only an attribute a rule of the run needs can rule it out: every
        // value's set holds the rules that need none of it.
        let needed = match index.constrains.get(from..to) {
            Some(run) if to - from <= CONSTRAINED_RUN => {
                run.iter().fold(IndexedFacts::new(), |a, b| a.union(*b))
            }
            _ => IndexedFacts::all(),
        };
        // One call per attribute, not a loop over an array of them: the
        // array (six sets and flags, ~240 bytes) was built at every skip,
        // ~100 instructions (callgrind, seed policy).
        let mut check = |fact: IndexedFact, restricts: bool, set: SetRef<'_>| {
            if restricts && needed.contains(fact) && rules_out_any(set, from, to) {
                by.insert(fact);
            }
        };
        check(
            IndexedFact::Country,
            !index.country_trivial,
            SetRef::dense(sets.country),
        );
        check(IndexedFact::Region, !index.region.is_trivial(), sets.region);
        check(
            IndexedFact::EmailKind,
            !index.kind_trivial,
            SetRef::dense(sets.kind),
        );
        check(
            IndexedFact::PostalCode,
            !index.postal.is_trivial(),
            sets.postal,
        );
        check(
            IndexedFact::Employees,
            !index.employees.is_trivial(),
            sets.employees,
        );
        check(
            IndexedFact::AnnualRevenue,
            !index.revenue.is_trivial(),
            sets.revenue,
        );
        let product = &self.sets.product;
        if product.len > 0
            && needed.contains(IndexedFact::ProductInterest)
            && (from / 64..=(to - 1) / 64).any(|w| !product.word(w) & range_mask(w, from, to) != 0)
        {
            by.insert(IndexedFact::ProductInterest);
        }
        by
    }
}

/// Whether `set` misses any of the rules `from..to` (non-empty).
fn rules_out_any(set: SetRef<'_>, from: usize, to: usize) -> bool {
    if set.extra.is_some() {
        return (from / 64..=(to - 1) / 64).any(|w| !set.word(w) & range_mask(w, from, to) != 0);
    }
    let set: &[u64] = set.base;
    let (first, last) = (from / 64, (to - 1) / 64);
    let word = |w: usize| set.get(w).copied().unwrap_or(0);
    if !word(first) & range_mask(first, from, to) != 0 {
        return true;
    }
    if first == last {
        return false;
    }
    // Whole words between the ends: any rule missing from the set.
    let whole = set.get(first + 1..last).unwrap_or_default();
    whole.iter().any(|w| *w != u64::MAX) || !word(last) & range_mask(last, from, to) != 0
}

/// The bits of rules `from..to` (non-empty) within word `w`.
fn range_mask(w: usize, from: usize, to: usize) -> u64 {
    let lo = if w == from / 64 {
        u64::MAX << (from % 64)
    } else {
        u64::MAX
    };
    let hi = if w == (to - 1) / 64 {
        u64::MAX >> (63 - (to - 1) % 64)
    } else {
        u64::MAX
    };
    lo & hi
}

/// A union of up to [`MAX_UNION`] bitsets, without allocating.
pub(crate) struct Union<'a> {
    sets: [SetRef<'a>; MAX_UNION],
    len: usize,
    /// Too many sets to union: place no restriction (sound, just slower).
    unrestricted: bool,
}

impl<'a> Union<'a> {
    /// Word `w` of the union (all ones when it restricts nothing).
    fn word(&self, w: usize) -> u64 {
        if self.len == 0 {
            return u64::MAX;
        }
        self.sets
            .iter()
            .take(self.len)
            .fold(0, |acc, s| acc | s.word(w))
    }

    /// An empty union; `filler` fills the unused slots.
    fn new(filler: &'a Bits) -> Self {
        Union {
            sets: [SetRef::dense(filler); MAX_UNION],
            len: 0,
            unrestricted: false,
        }
    }

    fn unrestricted(filler: &'a Bits) -> Self {
        Union {
            unrestricted: true,
            ..Union::new(filler)
        }
    }

    /// Adds a set; `false` if full (the caller then uses "all rules").
    fn push(&mut self, bits: SetRef<'a>) -> bool {
        match self.sets.get_mut(self.len) {
            Some(slot) => {
                *slot = bits;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

/// Most sets ANDed per word: country, region, email kind, postal code,
/// employees, annual revenue and a single product set.
const MAX_AND: usize = 7;

/// The few index words a lead's candidates can be in, when the index knows
/// them: then the scan reads only those words, not all of them.
///
/// Why: a territory plan's rules mostly name a country *and* a postal
/// prefix (or a region), so the lead's country set and its postal set are
/// each dense, while they meet in few words. The block scan ANDs every set
/// over every word: for the 10,000-rule bench plan's late lead, four sets
/// of 157 words, about 900 instructions, to find one word where they meet.
///
/// A candidate is in the country's set and in the postal (or region) set,
/// and the latter is the attribute's unconstrained rules plus the value's
/// own rules (for a postal prefix, with its shorter prefixes'). So a word
/// with a candidate is either a word where the country's set meets the
/// unconstrained rules (`met`, kept per country) or a word where it meets
/// the value's own rules (`beyond`, kept with the value for that country;
/// [`ValueSet::beyond`]). The scan finds the first word of each sorted list
/// where every restricting set has a bit, and takes the earlier: the same
/// words, in the same order, as the full scan finds, so the candidates
/// (and the trace's skipped runs) are unchanged.
///
/// Used only when the lists are short (together at most a [`DRIVE_AT`]th
/// of the index's words): a listed word costs every set's load and a
/// branch, about 16 instructions (callgrind), where the full scan reads
/// eight words a block at about 6 a word. On the bench plan's late lead
/// the postal prefix's list for the lead's country has 13 of the 157
/// words: the scan went from 976 instructions to 323, finding the lists
/// cost `lead_sets` 83 more, and the whole evaluation (trace on) went
/// from 5,131 to 4,563; the seed policy's leads, with no lists, pay ~30
/// (3,413 -> 3,446) for the check and the larger iterator. Measured and
/// dropped on the way: one list per value for all countries together
/// (46 words for that prefix, above the threshold; the German `74` rules
/// under the US `745`), and reading the listed words through the sets'
/// checked `word` (not unrolled: ~84 instructions a word, slower than the
/// full scan).
#[derive(Clone, Copy)]
struct Drive<'a> {
    /// Words where the country's set meets the unconstrained rules.
    met: &'a [u32],
    /// Words of the value's own rules.
    beyond: &'a [u32],
}

impl Drive<'_> {
    fn len(&self) -> usize {
        self.met.len() + self.beyond.len()
    }

    fn fits(&self, words: usize) -> bool {
        drives(self.len(), words)
    }
}

/// Iterates candidate rule indices in increasing order: the words where
/// the lead's sets intersect, found by scanning them a word at a time in
/// one tight loop (no buffer, no per-chunk bookkeeping).
pub(crate) struct Candidates<'a> {
    index: &'a RuleIndex,
    /// The restricting sets, ANDed (at least one: `all` when nothing
    /// restricts, so no bit past the last rule is ever set).
    and: [SetRef<'a>; MAX_AND],
    n_and: usize,
    /// Whether a set of `and` has extra words (a sparse value's set): the
    /// scan then reads word by word.
    sparse: bool,
    /// Whether the product union (two or more tokens' sets) is ORed in too.
    union: bool,
    /// The lead's sets: the product union, and the reasons for skipped rules.
    sets: &'a LeadSets<'a>,
    /// The next word to scan.
    next_word: usize,
    /// The word `current` came from.
    word: usize,
    /// Candidates of `word` not yet returned.
    current: u64,
    /// The positions the scan has reached in the two lists of the lead's
    /// [`Drive`] (when it has one: `sets.drive`).
    at_met: u32,
    at_beyond: u32,
}

/// Words combined per step of the candidate scan: one branch per block.
const BLOCK: usize = 8;

/// The first word at or after `from` where all `N` sets have a bit, with
/// the intersection. The sets all have the index's word count. Scans a
/// block of [`BLOCK`] words per step (ANDs the compiler vectorizes, one
/// branch per block), since the sets of a large plan are dense while their
/// intersection is sparse.
#[inline]
// Indexing: every index is in bounds by construction (`from < words`, each
// set at least `words` long, blocks end at or before `len`), and the
// checked forms keep a branch per set per block (see below).
#[allow(clippy::indexing_slicing)]
fn first_common<const N: usize>(sets: [&[u64]; N], from: usize) -> Option<(usize, u64)> {
    let words = sets.iter().map(|s| s.len()).min().unwrap_or(0);
    if from >= words {
        return None;
    }
    // Every set cut to the same words (each holds at least `words`), read
    // by block index. Per-set `chunks_exact` iterators, plain or zipped,
    // kept a length check per set per block and cost 2-4 % more on the
    // 10,000-rule late lead with the trace on (4-6 % with it off;
    // callgrind), with a word-at-a-time tail after them.
    //
    // Measured and dropped (stop 26): the sets stored 16-byte aligned, so
    // that SSE2 could AND every set after the first straight from memory
    // (`pand` folds only an aligned load; a stand-alone copy of this loop
    // over `[[u128; 4]]` compiled to 4 loads and 12 folded `pand`s a block
    // where this one takes 16 loads and 12 `pand`s). In the index it did
    // not hold: as `Box<[u128]>` pairs the scan was no longer vectorized
    // (10,000-rule late lead, trace on, 5,133 -> 5,714), and as blocks of
    // four pairs it was again but cost 5,243, while every other row paid
    // 2-6 % more for reading single words out of the blocks (seed, trace
    // on: 3,413 -> 3,623).
    let len = words - from;
    let sets = sets.map(|s| &s[from..words]);
    let blocks = len / BLOCK;
    for b in 0..blocks {
        let at = b * BLOCK;
        let mut acc = [u64::MAX; BLOCK];
        for set in &sets {
            for (a, x) in acc.iter_mut().zip(&set[at..at + BLOCK]) {
                *a &= x;
            }
        }
        if acc.iter().fold(0, |any, a| any | a) != 0 {
            return acc
                .iter()
                .enumerate()
                .find_map(|(i, v)| (*v != 0).then_some((from + at + i, *v)));
        }
    }
    // The last words, fewer than a block.
    (blocks * BLOCK..len).find_map(|w| {
        let v = sets.iter().fold(u64::MAX, |acc, s| acc & s[w]);
        (v != 0).then_some((from + w, v))
    })
}

/// [`first_common`] over the words of `list` only (dense sets): the first
/// position in `list` whose word holds a common bit, the word and its bits.
// Indexing as `first_common` does: every set cut to the same words, so the
// one check of a listed word against them covers every set (with `get` per
// set the loop over the sets was not unrolled: ~50 instructions a word
// instead of ~16, callgrind).
#[allow(clippy::indexing_slicing)] // every set holds at least `words`
fn listed_common<const N: usize>(sets: [&[u64]; N], list: &[u32]) -> Option<(usize, usize, u64)> {
    let words = sets.iter().map(|s| s.len()).min().unwrap_or(0);
    let sets = sets.map(|s| &s[..words]);
    for (i, w) in list.iter().enumerate() {
        let w = *w as usize;
        if w >= words {
            return None;
        }
        let v = sets.iter().fold(u64::MAX, |acc, s| acc & s[w]);
        if v != 0 {
            return Some((i, w, v));
        }
    }
    None
}

/// [`first_common`] for sets some of which have extra words (sparse
/// values' sets). A word where all the sets meet either has a bit in all
/// their *bases* (the first such is found by the same block scan over the
/// bases) or lies on an extra word of some set (else some set lacks the bit
/// in its base and adds none). So: the block scan over the bases, then each
/// set's extra words before its hit, each checked in full; the earliest
/// wins. A sparse set costs the scan nothing per block, only a check per
/// extra word passed.
fn first_common_sparse<const N: usize>(sets: [SetRef<'_>; N], from: usize) -> Option<(usize, u64)> {
    let full = |w: usize| sets.iter().fold(u64::MAX, |acc, s| acc & s.word(w));
    let dense = first_common(sets.map(|s| &**s.base), from);
    let mut limit = dense.map_or(usize::MAX, |(w, _)| w);
    let mut best = None;
    for set in &sets {
        let extra = set.extra();
        let start = extra.partition_point(|(w, _)| (*w as usize) < from);
        for &(w, _) in extra.get(start..).unwrap_or_default() {
            let w = w as usize;
            if w >= limit {
                break;
            }
            let v = full(w);
            if v != 0 {
                best = Some((w, v));
                limit = w;
                break;
            }
        }
    }
    best.or_else(|| dense.map(|(w, _)| (w, full(w))))
}

/// Calls `scan` with the first `n` of the seven sets as an array of that
/// length, so each arity gets its own unrolled scan.
macro_rules! by_arity {
    ($scan:ident, $n:expr, $sets:expr, $from:expr) => {{
        let [a, b, c, d, e, f, g] = $sets;
        match $n {
            1 => $scan([a], $from),
            2 => $scan([a, b], $from),
            3 => $scan([a, b, c], $from),
            4 => $scan([a, b, c, d], $from),
            5 => $scan([a, b, c, d, e], $from),
            6 => $scan([a, b, c, d, e, f], $from),
            _ => $scan([a, b, c, d, e, f, g], $from),
        }
    }};
}

impl Candidates<'_> {
    /// The next word at or after `from` with a candidate.
    fn next_common(&mut self, from: usize) -> Option<(usize, u64)> {
        if let Some(drive) = self.sets.drive {
            return self.next_driven(drive, from);
        }
        if self.sparse && !self.union {
            return by_arity!(first_common_sparse, self.n_and, self.and, from);
        }
        if !self.union {
            let bases = self.and.map(|s| &**s.base);
            return by_arity!(first_common, self.n_and, bases, from);
        }
        // Several product tokens: their sets ORed, then ANDed with the rest.
        (from..self.index.words).find_map(|w| {
            let v = self.word_at(w);
            (v != 0).then_some((w, v))
        })
    }
}

impl Candidates<'_> {
    /// [`Self::next_common`] over the words of a [`Drive`]: the first hit
    /// at or after `from` in each of its two sorted lists (from the positions
    /// reached; `from` only grows), the earlier of the two. A word in both
    /// lists is the same word, with the same candidates.
    fn next_driven(&mut self, drive: Drive<'_>, from: usize) -> Option<(usize, u64)> {
        // Past the last word (a lead with an empty set starts there).
        if from >= self.index.words {
            return None;
        }
        let met = match drive.met {
            [] => None,
            list => self.first_listed(list, self.at_met as usize, from),
        };
        let beyond = match drive.beyond {
            [] => None,
            list => self.first_listed(list, self.at_beyond as usize, from),
        };
        // Each list resumes at its hit: the earlier hit is passed at the next
        // call (`from` is then past it), the later one is found again at once.
        self.at_met = idx32(met.map_or(drive.met.len(), |(at, ..)| at));
        self.at_beyond = idx32(beyond.map_or(drive.beyond.len(), |(at, ..)| at));
        match (met, beyond) {
            (Some((_, wa, va)), Some((_, wb, vb))) => {
                Some(if wa <= wb { (wa, va) } else { (wb, vb) })
            }
            (Some((_, w, v)), None) | (None, Some((_, w, v))) => Some((w, v)),
            (None, None) => None,
        }
    }

    /// The first word of `list` from position `at` that is at or after
    /// `from` and holds a candidate: its position, the word, the candidates.
    fn first_listed(&self, list: &[u32], at: usize, from: usize) -> Option<(usize, usize, u64)> {
        let rest = list.get(at..).unwrap_or_default();
        let skip = rest.iter().take_while(|w| (**w as usize) < from).count();
        let start = at + skip;
        let list = list.get(start..).unwrap_or_default();
        let found = if self.sparse || self.union {
            list.iter().enumerate().find_map(|(i, w)| {
                let v = self.word_at(*w as usize);
                (v != 0).then_some((i, *w as usize, v))
            })
        } else {
            let bases = self.and.map(|s| &**s.base);
            by_arity!(listed_common, self.n_and, bases, list)
        };
        found.map(|(i, w, v)| (start + i, w, v))
    }

    /// Word `w` of the candidates: every restricting set's word ANDed (and
    /// the product union's, when there is one).
    fn word_at(&self, w: usize) -> u64 {
        let and = self.and.get(..self.n_and).unwrap_or_default();
        let v = and.iter().fold(u64::MAX, |acc, s| acc & s.word(w));
        if self.union {
            v & self.sets.product.word(w)
        } else {
            v
        }
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if self.current != 0 {
                let bit = self.current.trailing_zeros() as usize;
                self.current &= self.current - 1;
                return Some(self.word * 64 + bit);
            }
            match self.next_common(self.next_word) {
                Some((w, v)) => {
                    self.word = w;
                    self.current = v;
                    self.next_word = w + 1;
                }
                None => {
                    self.next_word = self.index.words;
                    return None;
                }
            }
        }
    }
}

fn slot_of(c: CountryCode) -> usize {
    let [a, b] = c.as_bytes();
    usize::from(a.saturating_sub(b'A')) * 26 + usize::from(b.saturating_sub(b'A'))
}

fn countries_of(set: &CountrySet) -> Vec<CountryCode> {
    set.codes()
}

/// Necessary conditions of a condition tree, per attribute.
fn needs(c: &Cond, territories: &[Territory]) -> Needs {
    match c {
        Cond::Leaf(pred, _) => leaf_needs(pred, territories),
        Cond::All(items, _) => items.iter().fold(Needs::default(), |acc, x| {
            intersect(acc, needs(x, territories))
        }),
        Cond::Any(items, _) => {
            let mut parts = items.iter().map(|x| needs(x, territories));
            match parts.next() {
                // `any` of nothing never holds: the empty set rules it out everywhere.
                None => Needs {
                    country: Some(Vec::new()),
                    ..Needs::default()
                },
                Some(first) => parts.fold(first, union),
            }
        }
        Cond::Not(..) => Needs::default(),
    }
}

fn leaf_needs(pred: &Pred, territories: &[Territory]) -> Needs {
    let mut n = Needs::default();
    match pred {
        Pred::Always(false) => n.country = Some(Vec::new()),
        Pred::Country(set) => n.country = Some(countries_of(set)),
        Pred::Region(list) => n.region = Some(list.to_vec()),
        Pred::Postal(m) => {
            if let Some(c) = m.country {
                n.country = Some(vec![c]);
            }
            if m.ranges.is_empty() {
                n.postal = Some(m.prefixes.to_vec());
            }
        }
        Pred::Product(tokens) => n.product = Some(tokens.to_vec()),
        Pred::EmailKind(mask) => n.kind = Some(*mask),
        Pred::Employees(lo, hi) => n.employees = Some(band(*lo, *hi)),
        Pred::Revenue(lo, hi) => n.revenue = Some(band(*lo, *hi)),
        Pred::Territory(t) => {
            if let Some(t) = territories.get(*t as usize) {
                let inc = &t.include;
                let postal_countries: Option<Vec<CountryCode>> =
                    inc.postal.iter().map(|m| m.country).collect();
                // A lead is in the territory only through one of its includes;
                // each kind of include constrains a different attribute, so a
                // constraint exists only when every include constrains the same one.
                if inc.regions.is_empty() {
                    if let Some(mut cs) = postal_countries {
                        cs.extend(countries_of(&inc.countries));
                        n.country = Some(cs);
                    }
                } else if inc.countries.is_empty() && inc.postal.is_empty() {
                    n.region = Some(inc.regions.to_vec());
                }
            }
        }
        _ => {}
    }
    n
}

/// The band of a `within` condition (none: the bounds are inverted, so
/// nothing is within them).
fn band(lo: Option<u64>, hi: Option<u64>) -> Vec<Band> {
    let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(u64::MAX));
    if lo <= hi { vec![(lo, hi)] } else { Vec::new() }
}

/// Bands both needs admit: the pairwise overlaps, or (past [`MAX_BANDS`])
/// one side's bands alone, which still holds.
fn intersect_bands(a: Need<Band>, b: Need<Band>) -> Need<Band> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) if a.len().saturating_mul(b.len()) > MAX_BANDS => Some(a),
        (Some(a), Some(b)) => Some(
            a.iter()
                .flat_map(|x| b.iter().map(move |y| (x.0.max(y.0), x.1.min(y.1))))
                .filter(|(lo, hi)| lo <= hi)
                .collect(),
        ),
    }
}

/// Bands either need admits; past [`MAX_BANDS`], no need at all.
fn union_bands(a: Need<Band>, b: Need<Band>) -> Need<Band> {
    union_need(a, b).filter(|bands| bands.len() <= MAX_BANDS)
}

fn intersect_need<K: PartialEq>(a: Need<K>, b: Need<K>) -> Need<K> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a.into_iter().filter(|k| b.contains(k)).collect()),
    }
}

fn union_need<K: PartialEq>(a: Need<K>, b: Need<K>) -> Need<K> {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            for k in b {
                if !a.contains(&k) {
                    a.push(k);
                }
            }
            Some(a)
        }
        _ => None,
    }
}

/// Either constraint alone is necessary; used where intersecting would be
/// wrong: product tokens are many per lead (`{x}` and `{y}` can both hold),
/// and prefixes nest (`"9"` and `"94"` can both hold).
fn either<K>(a: Need<K>, b: Need<K>) -> Need<K> {
    a.or(b)
}

fn intersect(a: Needs, b: Needs) -> Needs {
    Needs {
        // Single-valued attributes: the value must be in both sets.
        country: intersect_need(a.country, b.country),
        region: intersect_need(a.region, b.region),
        postal: either(a.postal, b.postal),
        product: either(a.product, b.product),
        kind: match (a.kind, b.kind) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => Some(x & y),
        },
        employees: intersect_bands(a.employees, b.employees),
        revenue: intersect_bands(a.revenue, b.revenue),
    }
}

fn union(a: Needs, b: Needs) -> Needs {
    Needs {
        country: union_need(a.country, b.country),
        region: union_need(a.region, b.region),
        postal: union_need(a.postal, b.postal),
        product: union_need(a.product, b.product),
        kind: match (a.kind, b.kind) {
            (Some(x), Some(y)) => Some(x | y),
            _ => None,
        },
        employees: union_bands(a.employees, b.employees),
        revenue: union_bands(a.revenue, b.revenue),
    }
}

#[cfg(test)]
mod tests {
    use super::{first_common, listed_common};
    use proptest::prelude::*;
    use serde_json::json;

    /// The first word at or after `from` where every set has a bit: one
    /// word at a time, the scan's definition.
    fn reference<const N: usize>(sets: [&[u64]; N], from: usize) -> Option<(usize, u64)> {
        let words = sets.iter().map(|s| s.len()).min().unwrap_or(0);
        (from..words).find_map(|w| {
            let v = sets
                .iter()
                .fold(u64::MAX, |acc, s| acc & s.get(w).copied().unwrap_or(0));
            (v != 0).then_some((w, v))
        })
    }

    /// Sparse words (most zero), so that intersections are rare and the
    /// scan crosses many blocks and the tail.
    fn words(len: usize) -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::vec(
            prop_oneof![6 => Just(0u64), 1 => any::<u64>(), 1 => (0u32..64).prop_map(|b| 1u64 << b)],
            len..=len + 3,
        )
    }

    proptest! {
        #[test]
        fn block_scan_finds_the_first_common_word(
            (a, b, c, from) in (0usize..40).prop_flat_map(|len| (words(len), words(len), words(len), 0..len + 4)),
        ) {
            prop_assert_eq!(first_common([&a[..]], from), reference([&a[..]], from));
            prop_assert_eq!(first_common([&a[..], &b[..]], from), reference([&a[..], &b[..]], from));
            prop_assert_eq!(
                first_common([&a[..], &b[..], &c[..]], from),
                reference([&a[..], &b[..], &c[..]], from)
            );
        }
    }

    /// `listed_common` finds, among the listed words, the first where every
    /// set has a bit.
    fn listed_reference<const N: usize>(
        sets: [&[u64]; N],
        list: &[u32],
    ) -> Option<(usize, usize, u64)> {
        list.iter().enumerate().find_map(|(i, w)| {
            let w = *w as usize;
            let v = sets
                .iter()
                .fold(u64::MAX, |acc, s| acc & s.get(w).copied().unwrap_or(0));
            (v != 0).then_some((i, w, v))
        })
    }

    proptest! {
        #[test]
        fn listed_scan_finds_the_first_listed_common_word(
            (a, b, list) in (0usize..40).prop_flat_map(|len| (
                words(len),
                words(len),
                proptest::collection::btree_set(0u32..(len as u32 + 4), 0..12),
            )),
        ) {
            let list: Vec<u32> = list.into_iter().collect();
            prop_assert_eq!(listed_common([&a[..]], &list), listed_reference([&a[..]], &list));
            prop_assert_eq!(
                listed_common([&a[..], &b[..]], &list),
                listed_reference([&a[..], &b[..]], &list)
            );
        }
    }

    /// A territory plan of `rules` rules, every one in a country: most a
    /// postal prefix or a region, some the country alone or with an email
    /// kind; each with its own employee band, a third with a product; from
    /// `seed` (SplitMix64).
    fn plan(rules: usize, seed: u64) -> crate::Policy {
        let mut state = seed;
        let mut next = move |n: u64| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % n
        };
        // Split as territory plans are: by postal prefix in some countries,
        // by region in others, whole countries for the rest.
        let countries = ["US", "FR", "DE", "CA", "JP", "IT"];
        let regions = [["DE-BY", "DE-BE", "DE-HH"], ["CA-ON", "CA-QC", "CA-BC"]];
        let mut list = Vec::new();
        for i in 0..rules {
            let c = next(6) as usize;
            let country = countries[c];
            let digits = 2 + u32::from(next(4) != 0);
            let prefix =
                |n: u64| format!("{:0width$}", n % 10u64.pow(digits), width = digits as usize);
            let place = match c {
                0 | 1 => json!({"postal_code": {"country": country,
                    "prefixes": [prefix(next(1000)), prefix(next(1000))]}}),
                2 | 3 => json!({"all": [{"country": [country]},
                    {"region": [regions[c - 2][next(3) as usize]]}]}),
                4 => json!({"country": [country]}),
                _ => json!({"all": [{"country": [country]}, {"email_kind": ["business"]}]}),
            };
            // Overlapping bands, each rule's its own: no rule covers another
            // (an unreachable rule would not compile).
            let band = json!({"employees": {"min": i, "max": 50_000 + i}});
            let when = if next(3) == 0 {
                let product = ["crm", "billing"][next(2) as usize];
                json!({"all": [place, band, {"product_interest": [product]}]})
            } else {
                json!({"all": [place, band]})
            };
            list.push(
                json!({"id": format!("r{i}"), "when": when, "then": {"assign": {"owner": "ana"}}}),
            );
        }
        let spec = json!({
            "name": "drive", "version": "1",
            "owners": [{"id": "ana", "name": "Ana"}],
            "rules": list,
            "fallback": {"assign": {"owner": "ana"}}
        });
        crate::compile(&crate::PolicySpec::from_json_str(&spec.to_string()).expect("spec"))
            .expect("compiles")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

        /// The driven scan yields exactly the full scan's candidates, in
        /// order, and the generated plans do drive.
        #[test]
        fn driven_scan_yields_the_full_scans_candidates(
            rules in 2000usize..4000,
            seed in any::<u64>(),
            leads in proptest::collection::vec((0usize..7, 0u32..100_000, 0usize..8, 0u32..60_000, 0usize..3), 48),
        ) {
            let policy = plan(rules, seed);
            let index = &policy.program.index;
            let normalizer = crate::Normalizer::default();
            let mut driven = 0;
            for (country, zip, region, employees, product) in leads {
                let mut payload = json!({"email": "a@acme.com", "employees": employees.to_string(),
                    "zip": format!("{zip:05}")});
                if let Some(c) = ["US", "FR", "DE", "CA", "JP", "IT"].get(country) {
                    payload["country"] = json!(c);
                }
                if let Some(r) = ["BY", "BE", "ON", "QC", "CA"].get(region) {
                    payload["region"] = json!(r);
                }
                if let Some(p) = ["crm", "billing"].get(product) {
                    payload["product_interest"] = json!(p);
                }
                let lead = normalizer.normalize_json(&payload.to_string()).expect("lead").lead;
                let sets = index.lead_sets(&lead);
                driven += usize::from(sets.drive.is_some());
                let with: Vec<usize> = index.candidates(&sets).collect();
                let undriven = super::LeadSets { drive: None, ..sets };
                let without: Vec<usize> = index.candidates(&undriven).collect();
                prop_assert_eq!(with, without, "lead {}", payload);
            }
            prop_assert!(driven > 0, "no lead was driven");
        }
    }
}
