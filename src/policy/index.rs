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
use crate::decision::IndexedFact;
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
    fn lead_sets<'a>(&'a self, lead: &'a Lead) -> LeadSets<'a> {
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
        LeadSets {
            country,
            region,
            kind,
            postal,
            product,
        }
    }

    /// The candidate rules for a lead, visited in rule order.
    pub(crate) fn candidates<'a>(&'a self, lead: &'a Lead) -> Candidates<'a> {
        let sets = self.lead_sets(lead);
        let (country, region, kind, postal) = (sets.country, sets.region, sets.kind, sets.postal);
        // A lead without a region, in an indexed country: one precombined set.
        let combined = match (lead.region.as_deref(), lead.country) {
            (None, Some(c)) => self
                .country_no_region
                .get(slot_of(c))
                .and_then(Option::as_ref),
            _ => None,
        };
        let (country, country_trivial, region_trivial) = match combined {
            Some(bits) => (bits.as_ref(), false, true),
            None => (country, self.country_trivial, self.region.is_trivial()),
        };
        let mut fixed: [&[u64]; 4] = [&[]; 4];
        let mut n_fixed = 0;
        for (set, trivial) in [
            (country, country_trivial),
            (region, region_trivial),
            (kind, self.kind_trivial),
            (postal, self.postal.is_trivial()),
        ] {
            if !trivial {
                if let Some(slot) = fixed.get_mut(n_fixed) {
                    *slot = set;
                    n_fixed += 1;
                }
            }
        }
        let mut candidates = Candidates {
            index: self,
            fixed,
            n_fixed,
            sets,
            chunk: [0; CHUNK],
            start: 0,
            pos: 0,
            current: 0,
            started: false,
        };
        candidates.fill(0);
        candidates
    }

    /// Number of rules indexed.
    pub(crate) fn len(&self) -> usize {
        self.rules
    }
}

/// What a rule's condition requires of one indexed attribute, as the trace
/// shows it: the values one of which the lead must have (empty: the rule
/// can never match), or `None` when it requires nothing of it.
pub(crate) fn requirement(
    cond: &Cond,
    territories: &[Territory],
    fact: IndexedFact,
) -> Option<Vec<String>> {
    let n = needs(cond, territories);
    let strings = |v: Vec<Box<str>>| v.into_iter().map(String::from).collect();
    match fact {
        IndexedFact::Country => n
            .country
            .map(|v| v.iter().map(|c| c.as_str().to_owned()).collect()),
        IndexedFact::Region => n.region.map(strings),
        IndexedFact::PostalCode => n.postal.map(strings),
        IndexedFact::ProductInterest => n.product.map(strings),
        IndexedFact::EmailKind => n.kind.map(|mask| {
            EmailKind::ALL
                .iter()
                .filter(|k| mask & k.bit() != 0)
                .map(|k| k.as_str().to_owned())
                .collect()
        }),
    }
}

/// The sets one lead selects, per indexed attribute.
struct LeadSets<'a> {
    country: &'a [u64],
    region: &'a [u64],
    kind: &'a [u64],
    postal: &'a [u64],
    product: Union<'a>,
}

/// The order in which the trace prefers an attribute when several rule out
/// the same run equally far.
const FACT_ORDER: [IndexedFact; 5] = [
    IndexedFact::Country,
    IndexedFact::Region,
    IndexedFact::EmailKind,
    IndexedFact::PostalCode,
    IndexedFact::ProductInterest,
];

impl Candidates<'_> {
    /// The longest run of rules from `r` (ending before `to`) that one
    /// indexed attribute rules out, for the trace: that attribute and the
    /// run's end (exclusive); `None` if no attribute rules out `r`. Uses
    /// the sets the iterator already selected (no second lookup of the
    /// lead's values) and scans them a 64-rule word at a time.
    ///
    /// Taking the longest run at each step splits a gap between candidate
    /// rules into the fewest runs that each have one reason, so a large
    /// plan whose rules are ruled out alternately by country and by product
    /// still gives a short trace.
    pub(crate) fn skipped_run(&self, r: usize, to: usize) -> Option<(IndexedFact, usize)> {
        let mut best: Option<(IndexedFact, usize)> = None;
        for fact in FACT_ORDER {
            let end = self.next_allowed(fact, r, to);
            if end > r && best.is_none_or(|(_, e)| end > e) {
                best = Some((fact, end));
                if end == to {
                    break; // none can go further
                }
            }
        }
        best
    }

    /// The rules of word `w` that `fact`'s set for this lead allows.
    fn allowed_word(&self, fact: IndexedFact, w: usize) -> u64 {
        let s = &self.sets;
        let word = |bits: &[u64]| bits.get(w).copied().unwrap_or(0);
        match fact {
            IndexedFact::Country => word(s.country),
            IndexedFact::Region => word(s.region),
            IndexedFact::EmailKind => word(s.kind),
            IndexedFact::PostalCode => word(s.postal),
            IndexedFact::ProductInterest => s.product.word(w),
        }
    }

    /// The first rule from `r` on that `fact` allows, or `to`.
    fn next_allowed(&self, fact: IndexedFact, r: usize, to: usize) -> usize {
        let mut w = r / 64;
        let mut m = self.allowed_word(fact, w) & (u64::MAX << (r % 64));
        loop {
            if m != 0 {
                return (w * 64 + m.trailing_zeros() as usize).min(to);
            }
            w += 1;
            if w * 64 >= to {
                return to;
            }
            m = self.allowed_word(fact, w);
        }
    }
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

/// Words combined per step: the sets are ANDed (unions ORed) chunk by
/// chunk into a stack buffer, in tight loops the compiler can vectorize.
const CHUNK: usize = 8;

/// Iterates candidate rule indices in increasing order.
pub(crate) struct Candidates<'a> {
    index: &'a RuleIndex,
    fixed: [&'a [u64]; 4],
    n_fixed: usize,
    /// The lead's sets (the product union is ANDed per chunk; all of them
    /// explain skipped rules).
    sets: LeadSets<'a>,
    /// The combined words `start .. start + CHUNK`.
    chunk: [u64; CHUNK],
    start: usize,
    /// Position in `chunk` of `current`.
    pos: usize,
    current: u64,
    started: bool,
}

/// `buf &= src[start..]` over the chunk (every set has exactly `words`
/// words, and `fill` has zeroed the chunk beyond the last word).
fn and_into(buf: &mut [u64; CHUNK], src: &[u64], start: usize) {
    let src = src.get(start..).unwrap_or_default();
    for (b, s) in buf.iter_mut().zip(src) {
        *b &= *s;
    }
}

impl Union<'_> {
    fn and_into(&self, buf: &mut [u64; CHUNK], start: usize) {
        if self.len == 0 {
            return; // unrestricted
        }
        let mut acc = [0u64; CHUNK];
        for set in self.sets.iter().take(self.len) {
            let src = set.get(start..).unwrap_or_default();
            for (a, s) in acc.iter_mut().zip(src) {
                *a |= *s;
            }
        }
        for (b, a) in buf.iter_mut().zip(acc) {
            *b &= a;
        }
    }
}

impl Candidates<'_> {
    /// Combines the chunk of words starting at `start`.
    fn fill(&mut self, start: usize) {
        let mut buf = [u64::MAX; CHUNK];
        let live = self.index.words.saturating_sub(start).min(CHUNK);
        for b in buf.iter_mut().skip(live) {
            *b = 0;
        }
        // Bits past the last rule (only in the last word) are cleared here
        // rather than by ANDing a whole "all rules" set.
        if start + live == self.index.words {
            // Rules in the last word: 1..=64, or 0 for a policy without rules.
            let rem = self.index.rules - (self.index.words - 1) * 64;
            if let Some(last) = buf.get_mut(live.saturating_sub(1)) {
                *last &= if rem >= 64 {
                    u64::MAX
                } else {
                    (1u64 << rem) - 1
                };
            }
        }
        for set in self.fixed.iter().take(self.n_fixed) {
            and_into(&mut buf, set, start);
        }
        self.sets.product.and_into(&mut buf, start);
        self.chunk = buf;
        self.start = start;
    }
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if self.current != 0 {
                let bit = self.current.trailing_zeros() as usize;
                self.current &= self.current - 1;
                return Some((self.start + self.pos) * 64 + bit);
            }
            // Next non-zero word of this chunk, else the next chunk.
            let from = if self.started { self.pos + 1 } else { 0 };
            self.started = true;
            match self.chunk.iter().skip(from).position(|w| *w != 0) {
                Some(offset) => {
                    self.pos = from + offset;
                    self.current = self.chunk.get(self.pos).copied().unwrap_or(0);
                }
                None => {
                    let next = self.start + CHUNK;
                    if next >= self.index.words {
                        return None;
                    }
                    self.fill(next);
                    self.started = false;
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
