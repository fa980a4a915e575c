//! A rule index that keeps evaluation cost nearly flat as policies grow.
//!
//! For every rule we derive, from its condition tree, *necessary* conditions
//! on a few lead attributes: "if this rule's condition holds, the lead's
//! country is one of C", likewise for region, postal-code prefix, product
//! tokens and email kind. The derivation is conservative (it may fail to find
//! a constraint, never invent one), so a rule the index rules out could not
//! have matched.
//!
//! For each attribute value we store a bitset of the rules compatible with it
//! (rules without a constraint on that attribute are in every set). At
//! evaluation the lead's sets are ANDed word by word and the surviving rules
//! are visited in order, so first-match semantics are exactly those of a
//! plain in-order scan; no memory is allocated. A differential test checks
//! this against a reference scan on generated policies.

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
}

/// Bitsets per value of one attribute.
#[derive(Debug)]
struct Attr<K: std::hash::Hash + Eq> {
    by_value: FxMap<K, Bits>,
    unconstrained: Bits,
}

impl<K: std::hash::Hash + Eq + Clone> Attr<K> {
    fn build(words: usize, needs: impl Iterator<Item = Option<Vec<K>>>) -> Self {
        let needs: Vec<Option<Vec<K>>> = needs.collect();
        let mut unconstrained = vec![0u64; words].into_boxed_slice();
        for (r, need) in needs.iter().enumerate() {
            if need.is_none() {
                set(&mut unconstrained, r);
            }
        }
        let mut by_value: FxMap<K, Bits> = FxMap::default();
        for (r, need) in needs.iter().enumerate() {
            for k in need.iter().flatten() {
                let bits = by_value
                    .entry(k.clone())
                    .or_insert_with(|| unconstrained.clone());
                set(bits, r);
            }
        }
        Attr {
            by_value,
            unconstrained,
        }
    }

    fn is_trivial(&self) -> bool {
        self.by_value.is_empty()
    }
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
    country_trivial: bool,
    /// Per country slot: its set ANDed with the rules that need no region,
    /// precombined for the common lead without a region (one set, not two).
    country_no_region: Vec<Option<Bits>>,
    region: Attr<Box<str>>,
    postal: Attr<Box<str>>,
    postal_lengths: Vec<usize>,
    product: Attr<Box<str>>,
    /// Per email kind, by [`EmailKind::index`].
    kind: [Bits; KINDS],
    kind_trivial: bool,
}

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

        let mut postal = Attr::build(words, needs.iter().map(|nd| nd.postal.clone()));
        let mut postal_lengths: Vec<usize> = postal.by_value.keys().map(|k| k.len()).collect();
        postal_lengths.sort_unstable();
        postal_lengths.dedup();
        // Close each prefix over its shorter prefixes, so that one lookup (the
        // longest indexed prefix of a code) covers every prefix of the code.
        let mut keys: Vec<Box<str>> = postal.by_value.keys().cloned().collect();
        keys.sort_by_key(|k| k.len());
        for key in &keys {
            let shorter = (1..key.len())
                .rev()
                .filter_map(|n| key.get(..n))
                .find_map(|p| postal.by_value.get(p).cloned());
            if let (Some(shorter), Some(bits)) = (shorter, postal.by_value.get_mut(key)) {
                for (b, s) in bits.iter_mut().zip(shorter.iter()) {
                    *b |= *s;
                }
            }
        }
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
        let region = Attr::build(words, needs.iter().map(|nd| nd.region.clone()));
        let country_no_region = if region.is_trivial() || country_trivial {
            Vec::new()
        } else {
            country
                .iter()
                .map(|c| {
                    c.as_ref().map(|bits| {
                        bits.iter()
                            .zip(region.unconstrained.iter())
                            .map(|(a, b)| a & b)
                            .collect()
                    })
                })
                .collect()
        };
        RuleIndex {
            country_no_region,
            kind_trivial,
            words,
            rules: n,
            all,
            country,
            country_unconstrained,
            country_trivial,
            region,
            postal,
            postal_lengths,
            product: Attr::build(words, needs.iter().map(|nd| nd.product.clone())),
            kind,
        }
    }

    /// The rule sets a lead's indexed attributes select, one per attribute
    /// (`all` where the attribute constrains no rule).
    pub(crate) fn lead_sets<'a>(&'a self, lead: &'a Lead) -> LeadSets<'a> {
        let country: &[u64] = if self.country_trivial {
            &self.all
        } else {
            match lead.country {
                Some(c) => self
                    .country
                    .get(slot_of(c))
                    .and_then(Option::as_ref)
                    .unwrap_or(&self.country_unconstrained),
                None => &self.country_unconstrained,
            }
        };
        let region: &[u64] = if self.region.is_trivial() {
            &self.all
        } else {
            lead.region
                .as_deref()
                .and_then(|r| self.region.by_value.get(r))
                .unwrap_or(&self.region.unconstrained)
        };
        let kind: &[u64] = self
            .kind
            .get(lead.email_kind.index())
            .map_or(&self.all, |b| b);

        // The longest indexed prefix of the lead's code (closed over shorter
        // ones at build time); with none, only the rules without a postal need.
        let postal: &[u64] = if self.postal.is_trivial() {
            &self.all
        } else {
            lead.postal_code
                .as_deref()
                .and_then(|code| {
                    self.postal_lengths
                        .iter()
                        .find_map(|n| code.get(..*n).and_then(|p| self.postal.by_value.get(p)))
                })
                .unwrap_or(&self.postal.unconstrained)
        };
        // Each token's set already holds the rules without a product need, so
        // `unconstrained` is needed only when no token is indexed.
        let mut product = Union::default();
        if !self.product.is_trivial() {
            for token in &lead.product_interest {
                if let Some(bits) = self.product.by_value.get(token.as_str()) {
                    if !product.push(bits) {
                        product = Union::unrestricted();
                        break;
                    }
                }
            }
            if product.len == 0 && !product.unrestricted {
                product.push(&self.product.unconstrained);
            }
        }
        // A lead without a region, in an indexed country: its country set
        // already ANDed with the rules that need no region.
        let country_no_region = match (lead.region.as_deref(), lead.country) {
            (None, Some(c)) => self
                .country_no_region
                .get(slot_of(c))
                .and_then(Option::as_ref)
                .map(AsRef::as_ref),
            _ => None,
        };
        LeadSets {
            country,
            country_no_region,
            region,
            kind,
            postal,
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
        let mut and: [&[u64]; MAX_AND] = [&[]; MAX_AND];
        let mut n_and = 0;
        let single_product = match sets.product.sets.get(..sets.product.len) {
            Some([only]) => Some(*only),
            _ => None,
        };
        for (set, restricts) in [
            (country, !country_trivial),
            (sets.region, !region_trivial),
            (sets.kind, !self.kind_trivial),
            (sets.postal, !self.postal.is_trivial()),
            (single_product.unwrap_or_default(), single_product.is_some()),
        ] {
            if restricts {
                if let Some(slot) = and.get_mut(n_and) {
                    *slot = set;
                    n_and += 1;
                }
            }
        }
        let union = sets.product.len >= 2;
        let mut explain: [(IndexedFact, &[u64]); 4] = [(IndexedFact::Country, &[]); 4];
        let mut n_explain = 0;
        for (fact, set, restricts) in [
            (IndexedFact::Country, sets.country, !self.country_trivial),
            (IndexedFact::Region, sets.region, !self.region.is_trivial()),
            (IndexedFact::EmailKind, sets.kind, !self.kind_trivial),
            (
                IndexedFact::PostalCode,
                sets.postal,
                !self.postal.is_trivial(),
            ),
        ] {
            if restricts {
                if let Some(slot) = explain.get_mut(n_explain) {
                    *slot = (fact, set);
                    n_explain += 1;
                }
            }
        }
        if n_and == 0 && !union {
            // Nothing restricts: every rule (and no bit past the last).
            if let Some(first) = and.first_mut() {
                *first = &self.all;
                n_and = 1;
            }
        }
        Candidates {
            index: self,
            and,
            n_and,
            union,
            explain,
            n_explain,
            sets,
            next_word: 0,
            word: 0,
            current: 0,
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
        }
    }
}

/// The sets one lead selects, per indexed attribute.
pub(crate) struct LeadSets<'a> {
    country: &'a [u64],
    /// `country` ANDed with `region`, precombined for a lead without a region.
    country_no_region: Option<&'a [u64]>,
    region: &'a [u64],
    kind: &'a [u64],
    postal: &'a [u64],
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
        for (fact, set) in self.explain.iter().take(self.n_explain) {
            if rules_out_any(set, from, to) {
                by.insert(*fact);
            }
        }
        let product = &self.sets.product;
        if product.len > 0
            && (from / 64..=(to - 1) / 64).any(|w| !product.word(w) & range_mask(w, from, to) != 0)
        {
            by.insert(IndexedFact::ProductInterest);
        }
        by
    }
}

/// Whether `set` misses any of the rules `from..to` (non-empty).
fn rules_out_any(set: &[u64], from: usize, to: usize) -> bool {
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
#[derive(Default)]
pub(crate) struct Union<'a> {
    sets: [&'a [u64]; MAX_UNION],
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
            .fold(0, |acc, s| acc | s.get(w).copied().unwrap_or(0))
    }

    fn unrestricted() -> Self {
        Union {
            unrestricted: true,
            ..Union::default()
        }
    }

    /// Adds a set; `false` if full (the caller then uses "all rules").
    fn push(&mut self, bits: &'a [u64]) -> bool {
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

/// Most sets ANDed per word: country, region, email kind, postal code and
/// a single product set.
const MAX_AND: usize = 5;

/// Iterates candidate rule indices in increasing order: the words where
/// the lead's sets intersect, found by scanning them a word at a time in
/// one tight loop (no buffer, no per-chunk bookkeeping).
pub(crate) struct Candidates<'a> {
    index: &'a RuleIndex,
    /// The restricting sets, ANDed (at least one: `all` when nothing
    /// restricts, so no bit past the last rule is ever set).
    and: [&'a [u64]; MAX_AND],
    n_and: usize,
    /// Whether the product union (two or more tokens' sets) is ORed in too.
    union: bool,
    /// The lead's sets of the attributes (other than product interest)
    /// that constrain some rule, in [`IndexedFacts::ORDER`]: what a skipped
    /// run's `by` is made of.
    explain: [(IndexedFact, &'a [u64]); 4],
    n_explain: usize,
    /// The lead's sets: the product union, and the reasons for skipped rules.
    sets: &'a LeadSets<'a>,
    /// The next word to scan.
    next_word: usize,
    /// The word `current` came from.
    word: usize,
    /// Candidates of `word` not yet returned.
    current: u64,
}

/// Words combined per step of the candidate scan: one branch per block.
const BLOCK: usize = 4;

/// The first word at or after `from` where all `N` sets have a bit, with
/// the intersection. The sets all have the index's word count. Scans a
/// block of [`BLOCK`] words per step (ANDs the compiler vectorizes, one
/// branch per block), since the sets of a large plan are dense while their
/// intersection is sparse.
fn first_common<const N: usize>(sets: [&[u64]; N], from: usize) -> Option<(usize, u64)> {
    let words = sets.first().map_or(0, |s| s.len());
    let mut w = from;
    while w + BLOCK <= words {
        let mut acc = [u64::MAX; BLOCK];
        for set in sets {
            let block: Option<&[u64; BLOCK]> =
                set.get(w..w + BLOCK).and_then(|b| b.try_into().ok());
            let block = block.copied().unwrap_or([0; BLOCK]);
            for (a, x) in acc.iter_mut().zip(block) {
                *a &= x;
            }
        }
        if acc.iter().fold(0, |any, a| any | a) != 0 {
            return acc
                .iter()
                .enumerate()
                .find_map(|(i, v)| (*v != 0).then_some((w + i, *v)));
        }
        w += BLOCK;
    }
    (w..words).find_map(|w| {
        let v = sets
            .iter()
            .fold(u64::MAX, |acc, s| acc & s.get(w).copied().unwrap_or(0));
        (v != 0).then_some((w, v))
    })
}

impl Candidates<'_> {
    /// The next word at or after `from` with a candidate.
    fn next_common(&self, from: usize) -> Option<(usize, u64)> {
        let [a, b, c, d, e] = self.and;
        if !self.union {
            return match self.n_and {
                1 => first_common([a], from),
                2 => first_common([a, b], from),
                3 => first_common([a, b, c], from),
                4 => first_common([a, b, c, d], from),
                _ => first_common([a, b, c, d, e], from),
            };
        }
        let and = self.and.get(..self.n_and).unwrap_or_default();
        // Several product tokens: their sets ORed, then ANDed with the rest.
        (from..self.index.words).find_map(|w| {
            let v = and.iter().fold(self.sets.product.word(w), |acc, s| {
                acc & s.get(w).copied().unwrap_or(0)
            });
            (v != 0).then_some((w, v))
        })
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
    }
}
