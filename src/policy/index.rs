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

use crate::name::FxMap;

use super::compile::kind_bit;
use super::compiled::{Cond, CountrySet, Pred, Rule, Territory};
use crate::CountryCode;
use crate::lead::Lead;

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
    region: Attr<Box<str>>,
    postal: Attr<Box<str>>,
    postal_lengths: Vec<usize>,
    product: Attr<Box<str>>,
    /// Per email kind (business, free, disposable).
    kind: [Bits; 3],
}

/// Most postal prefix lengths and product tokens consulted per lead; the
/// rest fall back to the attribute's unconstrained set (still sound).
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

        let postal = Attr::build(words, needs.iter().map(|nd| nd.postal.clone()));
        let mut postal_lengths: Vec<usize> = postal.by_value.keys().map(|k| k.len()).collect();
        postal_lengths.sort_unstable();
        postal_lengths.dedup();

        let mut kind: [Bits; 3] = std::array::from_fn(|_| vec![0u64; words].into_boxed_slice());
        for (r, nd) in needs.iter().enumerate() {
            let mask = nd.kind.unwrap_or(0b111);
            for (i, bits) in kind.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    set(bits, r);
                }
            }
        }

        RuleIndex {
            words,
            rules: n,
            all,
            country,
            country_unconstrained,
            country_trivial,
            region: Attr::build(words, needs.iter().map(|nd| nd.region.clone())),
            postal,
            postal_lengths,
            product: Attr::build(words, needs.iter().map(|nd| nd.product.clone())),
            kind,
        }
    }

    /// The candidate rules for a lead, visited in rule order.
    pub(crate) fn candidates<'a>(&'a self, lead: &'a Lead) -> Candidates<'a> {
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
        let kind_slot = match kind_bit(lead.email_kind) {
            1 => 0,
            2 => 1,
            _ => 2,
        };
        let kind: &[u64] = self.kind.get(kind_slot).map_or(&self.all, |b| b);

        let mut postal = Union::default();
        if self.postal.is_trivial() {
            postal.push(&self.all);
        } else {
            postal.push(&self.postal.unconstrained);
            if let Some(code) = lead.postal_code.as_deref() {
                for len in &self.postal_lengths {
                    if let Some(bits) = code.get(..*len).and_then(|p| self.postal.by_value.get(p)) {
                        if !postal.push(bits) {
                            postal = Union::default();
                            postal.push(&self.all);
                            break;
                        }
                    }
                }
            }
        }
        let mut product = Union::default();
        if self.product.is_trivial() {
            product.push(&self.all);
        } else {
            product.push(&self.product.unconstrained);
            for token in &lead.product_interest {
                if let Some(bits) = self.product.by_value.get(token.as_str()) {
                    if !product.push(bits) {
                        product = Union::default();
                        product.push(&self.all);
                        break;
                    }
                }
            }
        }
        Candidates {
            index: self,
            fixed: [country, region, kind],
            postal,
            product,
            word: 0,
            current: 0,
            loaded: false,
        }
    }

    /// Number of rules indexed.
    pub(crate) fn len(&self) -> usize {
        self.rules
    }
}

/// A union of up to [`MAX_UNION`] bitsets, without allocating.
#[derive(Default)]
pub(crate) struct Union<'a> {
    sets: [&'a [u64]; MAX_UNION],
    len: usize,
}

impl<'a> Union<'a> {
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

    fn word(&self, w: usize) -> u64 {
        self.sets
            .iter()
            .take(self.len)
            .fold(0, |acc, s| acc | s.get(w).copied().unwrap_or(0))
    }
}

/// Iterates candidate rule indices in increasing order.
pub(crate) struct Candidates<'a> {
    index: &'a RuleIndex,
    fixed: [&'a [u64]; 3],
    postal: Union<'a>,
    product: Union<'a>,
    word: usize,
    current: u64,
    loaded: bool,
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if !self.loaded {
                if self.word >= self.index.words {
                    return None;
                }
                let w = self.word;
                self.current = self
                    .fixed
                    .iter()
                    .fold(u64::MAX, |acc, s| acc & s.get(w).copied().unwrap_or(0))
                    & self.postal.word(w)
                    & self.product.word(w);
                self.loaded = true;
            }
            if self.current == 0 {
                self.word += 1;
                self.loaded = false;
                continue;
            }
            let bit = self.current.trailing_zeros() as usize;
            self.current &= self.current - 1;
            let r = self.word * 64 + bit;
            if r < self.index.rules {
                return Some(r);
            }
        }
    }
}

fn slot_of(c: CountryCode) -> usize {
    let [a, b] = c.as_bytes();
    usize::from(a.saturating_sub(b'A')) * 26 + usize::from(b.saturating_sub(b'A'))
}

fn countries_of(set: &CountrySet) -> Vec<CountryCode> {
    let mut out = Vec::new();
    for a in b'A'..=b'Z' {
        for b in b'A'..=b'Z' {
            if let Ok(c) = std::str::from_utf8(&[a, b])
                .unwrap_or("??")
                .parse::<CountryCode>()
            {
                if set.contains(c) {
                    out.push(c);
                }
            }
        }
    }
    out
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
