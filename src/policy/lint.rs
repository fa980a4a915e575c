//! Lints: what compiles but is probably not what the policy's author meant,
//! found by [`Policy::lint`]. Every finding is a warning [`Diagnostic`]
//! with a stable code; none of them stops a policy from running.
//!
//! The compiler already reports, as errors, rules that one earlier rule
//! always decides first ([`UnreachableRule`](DiagnosticCode::UnreachableRule))
//! and, as warnings, conditions that never hold and inactive pool members.
//! The lints look further:
//!
//! | code | finds |
//! |---|---|
//! | `unused_territory` | a territory no rule tests (not even under `not`) |
//! | `unused_pool` | a pool that no rule, no fallback and no *used* pool's fallback names |
//! | `ignored_availability_check` | `check_availability = true` on an action that assigns a pool (pools check their members themselves) or nobody, where it changes nothing |
//! | `unused_owner` | an owner that no rule, pool, fallback, `if_unavailable` or calendar names — only in policies that never assign an account or contact owner nor test `owner_active` (there the directory is also what CRM record owners are looked up in) |
//! | `overlapping_territories` | two territories that include the same country, region or postal prefix (after their exclusions) |
//! | `shadowed_rule` | a rule covered by an earlier rule that can pass leads on (its pool may have nobody eligible, its record no owner): it only sees those leads; or a rule covered by several earlier rules together (each of its listed values by one of them) |
//! | `fallback_only` | a country the rules name that no rule on country or size can match, and an employee-count range *between* two segments of a country that no such rule matches (a hole in the segmentation) |
//!
//! # How
//!
//! `shadowed_rule` uses the compiler's conservative implication test
//! between conditions (it may miss a cover, never claims a false one); a
//! cover by several rules is found by splitting one list test of the rule
//! (`country`, `region`, `product_interest`, `source`, the UTM fields,
//! `company_domain`) into its values.
//!
//! `fallback_only` over-approximates each rule's condition as a union of
//! boxes *countries × employee-count range*: `country`, `territory`,
//! `region` and `postal_code` tests bound the countries, `employees` the
//! range; every other test, and anything under `not`, is taken as "may
//! hold". A box bounded on neither axis (a rule on product interest, on the
//! account, …) is left out: it is not a segment. Per country named in a
//! rule, the ranges of the boxes that may hold there are merged; a gap
//! between two of them is a hole, reported as exact employee counts (a lead
//! whose employee count is a range, such as `51-200`, matches a bound only
//! when the whole range lies within it, so it can fall into a hole even
//! when its ends do not). Open ends (no rule below the smallest segment or
//! above the largest) and leads without an employee count are not reported:
//! leaving them to the fallback is the common, deliberate case.
//!
//! `overlapping_territories` compares countries, regions (a region overlaps
//! its own country) and postal-code prefixes (one prefix of the other in the
//! same country, or a postal area in a country the other includes); postal
//! ranges are not compared.
//!
//! Each code reports at most [`CompileError::LIMIT`](super::CompileError::LIMIT)
//! findings.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::compile::{falls_through, never_holds};
use super::compiled::Policy;
use super::diagnostic::{CompileError, Diagnostic, DiagnosticCode};
use super::implies::{ShadowIndex, implies};
use super::ir::{Cond, CountrySet, PlaceSet, Pred, Territory};
use super::program::Program;
use super::spec::{
    Assignee, CalendarSpec, Condition, ExperienceSpec, IfUnavailable, PolicySpec, RecordTest,
    Target,
};
use crate::lead::model::CountryCode;

impl Policy {
    /// The policy's lints: warnings about what compiles but is probably not
    /// meant — overlapping territories, shadowed rules, owners, pools and
    /// territories nothing uses, and countries or employee-count ranges only
    /// the fallback decides. See the [`lint`](self) module for each code and
    /// how it is found. Pure; in spec order within each code.
    ///
    /// `spec` is the spec this policy was compiled from: the lints reason
    /// about conditions as written, and a compiled policy does not keep a
    /// copy of its spec (for a 10,000-rule plan that copy was most of its
    /// memory). A spec that is not this policy's (another name, version,
    /// rule ids or number of territories) is compiled on its own and linted
    /// as such; if it does not compile, its compile errors are returned.
    ///
    /// ```
    /// use leadroute::{PolicySpec, compile};
    /// use leadroute::policy::DiagnosticCode;
    ///
    /// let spec = PolicySpec::from_toml_str(r#"
    /// name = "inbound"
    /// version = "1"
    /// owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }, { id = "queue", name = "Queue" }]
    /// territories = [{ id = "emea", countries = ["DE", "FR", "GB"] }, { id = "dach", countries = ["DE", "AT", "CH"] }]
    /// [[rules]]
    /// id = "emea"
    /// when = { territory = "emea" }
    /// then = { assign = { owner = "ana" } }
    /// [[rules]]
    /// id = "dach"
    /// when = { territory = "dach" }
    /// then = { assign = { owner = "ana" } }
    /// [fallback]
    /// assign = { owner = "queue" }
    /// "#).unwrap();
    /// let policy = compile(&spec).unwrap();
    /// let lints = policy.lint(&spec);
    /// let codes: Vec<DiagnosticCode> = lints.iter().map(|d| d.code).collect();
    /// assert_eq!(codes, [DiagnosticCode::UnusedOwner, DiagnosticCode::OverlappingTerritories]);
    /// assert_eq!(lints[0].value.as_deref(), Some("bob"));
    /// assert_eq!(lints[1].message, "territories `emea` and `dach` overlap: both include DE");
    /// ```
    pub fn lint(&self, spec: &PolicySpec) -> Vec<Diagnostic> {
        if !compiled_from(&self.program, spec) {
            return match super::compiled::compile(spec) {
                Ok(own) => lint_program(&own.program, spec),
                Err(e) => e.errors,
            };
        }
        lint_program(&self.program, spec)
    }
}

/// Whether `p` was (as far as a cheap look can tell) compiled from `spec`:
/// same name, version, rule ids in order and number of territories.
fn compiled_from(p: &Program, spec: &PolicySpec) -> bool {
    *p.name == *spec.name
        && *p.version == *spec.version
        && p.territories.len() == spec.territories.len()
        && p.rules.len() == spec.rules.len()
        && p.rules.iter().zip(&spec.rules).all(|(c, s)| *c.id == *s.id)
}

fn lint_program(p: &Program, spec: &PolicySpec) -> Vec<Diagnostic> {
    let mut out = Lints::default();
    unused(spec, &mut out);
    ignored_availability_checks(spec, &mut out);
    overlapping_territories(spec, &p.territories, &mut out);
    shadowed_rules(spec, &mut out);
    fallback_only(p, spec, &mut out);
    out.items
}

/// Collects lints, at most [`CompileError::LIMIT`] per code.
#[derive(Default)]
struct Lints {
    items: Vec<Diagnostic>,
    per_code: HashMap<DiagnosticCode, usize>,
}

impl Lints {
    fn has_room(&self, code: DiagnosticCode) -> bool {
        self.per_code.get(&code).copied().unwrap_or(0) < CompileError::LIMIT
    }
    fn push(&mut self, d: Diagnostic) {
        let n = self.per_code.entry(d.code).or_default();
        if *n < CompileError::LIMIT {
            *n += 1;
            self.items.push(d);
        }
    }
}

// ---------------------------------------------------- availability checks

/// `check_availability` only changes an owner the action names; on a pool
/// or nobody it is a no-op the author probably did not mean.
fn ignored_availability_checks(spec: &PolicySpec, out: &mut Lints) {
    let actions = spec
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("rules[{i}].then"), &r.then))
        .chain(spec.fallback.iter().map(|f| ("fallback".to_owned(), f)));
    for (path, action) in actions {
        if !action.check_availability {
            continue;
        }
        let assignee = match &action.assign {
            Assignee::Pool(id) => format!("pool `{id}`"),
            Assignee::Nobody => "nobody".to_owned(),
            _ => continue,
        };
        out.push(Diagnostic::ignored_availability_check(
            format!("{path}.check_availability"),
            &assignee,
        ));
    }
}

// ------------------------------------------------------------------ unused

fn conditions_of<'a>(c: &'a Condition, f: &mut impl FnMut(&'a Condition)) {
    f(c);
    match c {
        Condition::All(items) | Condition::Any(items) => {
            items.iter().for_each(|x| conditions_of(x, f));
        }
        Condition::Not(inner) => conditions_of(inner, f),
        _ => {}
    }
}

fn unused(spec: &PolicySpec, out: &mut Lints) {
    let mut territories = HashSet::new();
    let mut record_owners = false;
    for r in &spec.rules {
        conditions_of(&r.when, &mut |c| match c {
            Condition::Territory(id) => {
                territories.insert(id.as_str());
            }
            Condition::Account(RecordTest {
                owner_active: Some(_),
                ..
            })
            | Condition::Contact(RecordTest {
                owner_active: Some(_),
                ..
            }) => record_owners = true,
            _ => {}
        });
    }
    for (i, t) in spec.territories.iter().enumerate() {
        if !territories.contains(t.id.as_str()) {
            out.push(Diagnostic::unused_territory(
                format!("territories[{i}].id"),
                &t.id,
            ));
        }
    }

    // Owners and pools named by actions; pools then reached through pool
    // fallbacks.
    let mut owners: HashSet<&str> = HashSet::new();
    let mut pools: Vec<&str> = Vec::new();
    let actions = spec
        .rules
        .iter()
        .map(|r| &r.then)
        .chain(spec.fallback.as_ref());
    for a in actions {
        match &a.assign {
            Assignee::AccountOwner | Assignee::ContactOwner => record_owners = true,
            Assignee::Owner(id) => {
                owners.insert(id);
            }
            Assignee::Pool(id) => pools.push(id),
            Assignee::Nobody => {}
        }
        match &a.if_unavailable {
            IfUnavailable::Assign(Target::Owner(id)) => {
                owners.insert(id);
            }
            IfUnavailable::Assign(Target::Pool(id)) => pools.push(id),
            IfUnavailable::NextRule | IfUnavailable::Fallback => {}
        }
        if let ExperienceSpec::BookMeeting {
            calendar: CalendarSpec::Owner(id),
        } = &a.experience
        {
            owners.insert(id);
        }
    }
    let by_id: HashMap<&str, usize> = spec
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let mut used_pools = HashSet::new();
    while let Some(id) = pools.pop() {
        if !used_pools.insert(id) {
            continue;
        }
        if let Some(p) = by_id.get(id).and_then(|&i| spec.pools.get(i)) {
            match &p.fallback {
                Some(Target::Pool(next)) => pools.push(next),
                Some(Target::Owner(o)) => {
                    owners.insert(o);
                }
                None => {}
            }
        }
    }
    for (i, p) in spec.pools.iter().enumerate() {
        if !used_pools.contains(p.id.as_str()) {
            out.push(Diagnostic::unused_pool(format!("pools[{i}].id"), &p.id));
        }
        // Members of every pool count: an unused pool is reported itself.
        owners.extend(p.members.iter().map(|m| m.owner.as_str()));
        if let Some(Target::Owner(o)) = &p.fallback {
            owners.insert(o);
        }
    }
    // Where record owners are assigned or tested, the directory is also
    // where their CRM owners are found: any owner may be one.
    if !record_owners {
        for (i, o) in spec.owners.iter().enumerate() {
            if !owners.contains(o.id.as_str()) {
                out.push(Diagnostic::unused_owner(format!("owners[{i}].id"), &o.id));
            }
        }
    }
}

// ------------------------------------------------------------ territories

/// The country of a region code (`US-CA` → `US`).
fn region_country(region: &str) -> Option<CountryCode> {
    region.split_once('-')?.0.parse().ok()
}

/// Whether `set` excludes the region (itself or its whole country).
fn excludes_region(exclude: &PlaceSet, region: &str) -> bool {
    exclude.regions.iter().any(|r| **r == *region)
        || region_country(region).is_some_and(|c| exclude.countries.contains(c))
}

/// Whether the exclusions of a territory cover a postal area (a country and
/// prefix).
fn excludes_postal(exclude: &PlaceSet, country: Option<CountryCode>, prefix: &str) -> bool {
    country.is_some_and(|c| exclude.countries.contains(c))
        || exclude.postal.iter().any(|m| {
            (m.country.is_none() || m.country == country)
                && m.prefixes.iter().any(|p| prefix.starts_with(&**p))
        })
}

/// Places both territories include, as written for a message (sorted,
/// deduplicated).
fn shared_places(a: &Territory, b: &Territory) -> BTreeSet<String> {
    let mut shared = BTreeSet::new();
    let both = a
        .include
        .countries
        .and(&b.include.countries)
        .minus(&a.exclude.countries)
        .minus(&b.exclude.countries);
    shared.extend(both.codes().iter().map(|c| c.to_string()));
    for (x, y) in [(a, b), (b, a)] {
        for r in x.include.regions.iter() {
            if excludes_region(&x.exclude, r) || excludes_region(&y.exclude, r) {
                continue;
            }
            let in_y = y.include.regions.contains(r)
                || region_country(r).is_some_and(|c| y.include.countries.contains(c));
            if in_y {
                shared.insert(r.to_string());
            }
        }
        for m in x.include.postal.iter() {
            for p in m.prefixes.iter() {
                if excludes_postal(&x.exclude, m.country, p)
                    || excludes_postal(&y.exclude, m.country, p)
                {
                    continue;
                }
                let in_country = m.country.is_some_and(|c| y.include.countries.contains(c));
                let in_prefix = y.include.postal.iter().any(|n| {
                    (n.country.is_none() || m.country.is_none() || n.country == m.country)
                        && n.prefixes.iter().any(|q| p.starts_with(&**q))
                });
                if in_country || in_prefix {
                    let country = m.country.map(|c| c.to_string()).unwrap_or_default();
                    shared.insert(format!("{country} {p}*").trim_start().to_owned());
                }
            }
        }
    }
    shared
}

fn overlapping_territories(spec: &PolicySpec, territories: &[Territory], out: &mut Lints) {
    for (j, b) in territories.iter().enumerate() {
        for (i, a) in territories.iter().enumerate().take(j) {
            if !out.has_room(DiagnosticCode::OverlappingTerritories) {
                return;
            }
            let shared = shared_places(a, b);
            if shared.is_empty() {
                continue;
            }
            let (Some(sa), Some(sb)) = (spec.territories.get(i), spec.territories.get(j)) else {
                continue;
            };
            let examples: Vec<String> = shared.iter().take(5).cloned().collect();
            out.push(Diagnostic::overlapping_territories(
                format!("territories[{j}]"),
                &sa.id,
                &sb.id,
                &examples,
                shared.len().saturating_sub(examples.len()),
            ));
        }
    }
}

// ------------------------------------------------------------------ shadows

/// The list tests a flat condition (one test, or `all` of tests) could be
/// split on: (position in the `all`, or 0 for a lone test; the values).
fn list_tests(c: &Condition) -> Vec<(usize, &[String])> {
    fn list(c: &Condition) -> Option<&[String]> {
        use Condition::*;
        match c {
            Country(v) | Region(v) | ProductInterest(v) | Source(v) | UtmSource(v)
            | UtmMedium(v) | UtmCampaign(v) | UtmTerm(v) | UtmContent(v) | CompanyDomain(v) => {
                Some(v)
            }
            _ => None,
        }
    }
    match c {
        Condition::All(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| list(x).map(|v| (i, v)))
            .collect(),
        leaf => list(leaf).map(|v| vec![(0, v)]).unwrap_or_default(),
    }
}

/// `c` with the list test at `at` narrowed to the single `value`.
fn narrowed(c: &Condition, at: usize, value: &str) -> Condition {
    fn one(c: &Condition, value: &str) -> Condition {
        use Condition::*;
        let v = vec![value.to_owned()];
        match c {
            Country(_) => Country(v),
            Region(_) => Region(v),
            ProductInterest(_) => ProductInterest(v),
            Source(_) => Source(v),
            UtmSource(_) => UtmSource(v),
            UtmMedium(_) => UtmMedium(v),
            UtmCampaign(_) => UtmCampaign(v),
            UtmTerm(_) => UtmTerm(v),
            UtmContent(_) => UtmContent(v),
            CompanyDomain(_) => CompanyDomain(v),
            other => other.clone(),
        }
    }
    match c {
        Condition::All(items) => Condition::All(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| if i == at { one(x, value) } else { x.clone() })
                .collect(),
        ),
        leaf => one(leaf, value),
    }
}

fn shadowed_rules(spec: &PolicySpec, out: &mut Lints) {
    // Every earlier rule, whether or not it can pass leads on.
    let mut index = ShadowIndex::default();
    for (j, rule) in spec.rules.iter().enumerate() {
        if !out.has_room(DiagnosticCode::ShadowedRule) {
            return;
        }
        let cover = |c: &Condition| {
            index.candidates(c).into_iter().find(|&i| {
                spec.rules
                    .get(i)
                    .is_some_and(|earlier| implies(c, &earlier.when))
            })
        };
        if !never_holds(&rule.when) {
            // One earlier rule covers it (it must be able to pass leads on:
            // otherwise the rule is the compiler's `unreachable_rule`).
            let mut by: Option<Vec<usize>> = cover(&rule.when).map(|i| vec![i]);
            if by.is_none() {
                // Several together: each value of one list test by one of them.
                by = list_tests(&rule.when)
                    .into_iter()
                    .filter(|(_, values)| values.len() > 1)
                    .find_map(|(at, values)| {
                        let mut rules = BTreeSet::new();
                        for v in values {
                            rules.insert(cover(&narrowed(&rule.when, at, v))?);
                        }
                        Some(rules.into_iter().collect())
                    });
            }
            if let Some(by) = by {
                let earlier: Vec<_> = by.iter().filter_map(|&i| spec.rules.get(i)).collect();
                let passed_on = earlier.iter().any(|r| falls_through(&r.then));
                let ids: Vec<&str> = earlier.iter().map(|r| r.id.as_str()).collect();
                out.push(
                    Diagnostic::shadowed_rule(
                        format!("rules[{j}].when"),
                        &rule.id,
                        &ids,
                        passed_on,
                    )
                    .in_rule(Some(rule.id.clone())),
                );
            }
        }
        index.add(j, &rule.when);
    }
}

// ------------------------------------------------------------- fallback only

/// Countries × an inclusive employee-count range; `countries: None` is every
/// country.
#[derive(Debug, Clone)]
struct Segment {
    countries: Option<CountrySet>,
    lo: u64,
    hi: u64,
}

impl Segment {
    const ANY: Segment = Segment {
        countries: None,
        lo: 0,
        hi: u64::MAX,
    };
    fn is_any(&self) -> bool {
        self.countries.is_none() && self.lo == 0 && self.hi == u64::MAX
    }
    fn and(&self, other: &Segment) -> Option<Segment> {
        let countries = match (&self.countries, &other.countries) {
            (None, c) | (c, None) => c.clone(),
            (Some(a), Some(b)) => Some(a.and(b)),
        };
        let s = Segment {
            countries,
            lo: self.lo.max(other.lo),
            hi: self.hi.min(other.hi),
        };
        (s.lo <= s.hi && !s.countries.as_ref().is_some_and(CountrySet::is_empty)).then_some(s)
    }
    fn includes(&self, c: CountryCode) -> bool {
        self.countries.as_ref().is_none_or(|s| s.contains(c))
    }
}

/// The most segments one condition is widened from: beyond it, "anything".
const MAX_SEGMENTS: usize = 256;

/// The countries a territory's leads can be from.
fn territory_countries(t: &Territory) -> Option<CountrySet> {
    let mut set = t.include.countries.clone();
    for r in t.include.regions.iter() {
        if let Some(c) = region_country(r) {
            set.insert(c);
        }
    }
    for m in t.include.postal.iter() {
        set.insert(m.country?);
    }
    Some(set.minus(&t.exclude.countries))
}

/// An over-approximation of where `c` may hold, as a union of segments.
fn segments(p: &Program, c: &Cond) -> Vec<Segment> {
    let countries = |set: CountrySet| {
        vec![Segment {
            countries: Some(set),
            ..Segment::ANY
        }]
    };
    match c {
        Cond::Leaf(pred, _) => match pred {
            Pred::Always(false) => Vec::new(),
            Pred::Country(set) => countries(CountrySet::clone(set)),
            Pred::Territory(t) => match p.territories.get(*t as usize) {
                Some(t) => territory_countries(t).map_or(vec![Segment::ANY], countries),
                None => vec![Segment::ANY],
            },
            Pred::Region(regions) => {
                let mut set = CountrySet::default();
                regions
                    .iter()
                    .filter_map(|r| region_country(r))
                    .for_each(|c| set.insert(c));
                countries(set)
            }
            Pred::Postal(m) => match m.country {
                Some(c) => {
                    let mut set = CountrySet::default();
                    set.insert(c);
                    countries(set)
                }
                None => vec![Segment::ANY],
            },
            Pred::Employees(lo, hi) => {
                let s = Segment {
                    countries: None,
                    lo: lo.unwrap_or(0),
                    hi: hi.unwrap_or(u64::MAX),
                };
                if s.lo <= s.hi { vec![s] } else { Vec::new() }
            }
            _ => vec![Segment::ANY],
        },
        Cond::Not(..) => vec![Segment::ANY],
        Cond::Any(items, _) => {
            let mut out = Vec::new();
            for x in items.iter() {
                out.extend(segments(p, x));
                if out.len() > MAX_SEGMENTS {
                    return vec![Segment::ANY];
                }
            }
            out
        }
        Cond::All(items, _) => {
            let mut acc = vec![Segment::ANY];
            for x in items.iter() {
                let mine = segments(p, x);
                let mut next = Vec::new();
                for a in &acc {
                    for b in &mine {
                        next.extend(a.and(b));
                    }
                }
                if next.len() > MAX_SEGMENTS {
                    // Widening by skipping this test keeps it an over-approximation.
                    continue;
                }
                acc = next;
            }
            acc
        }
    }
}

/// Countries a condition names outside any `not`, with the first rule
/// naming each.
fn named_countries(p: &Program, c: &Cond, rule: usize, out: &mut BTreeMap<CountryCode, usize>) {
    let mut add = |set: &CountrySet| {
        for c in set.codes() {
            out.entry(c).or_insert(rule);
        }
    };
    match c {
        Cond::Leaf(pred, _) => match pred {
            Pred::Country(set) => add(set),
            Pred::Territory(t) => {
                if let Some(set) = p.territories.get(*t as usize).and_then(territory_countries) {
                    add(&set);
                }
            }
            Pred::Region(regions) => {
                for c in regions.iter().filter_map(|r| region_country(r)) {
                    out.entry(c).or_insert(rule);
                }
            }
            Pred::Postal(m) => {
                if let Some(c) = m.country {
                    out.entry(c).or_insert(rule);
                }
            }
            _ => {}
        },
        Cond::Not(..) => {}
        Cond::All(items, _) | Cond::Any(items, _) => {
            for x in items.iter() {
                named_countries(p, x, rule, out);
            }
        }
    }
}

fn fallback_only(p: &Program, spec: &PolicySpec, out: &mut Lints) {
    let mut named = BTreeMap::new();
    // (rule, segment) for every segment bounded on some axis.
    let mut bounded: Vec<(usize, Segment)> = Vec::new();
    for (i, r) in p.rules.iter().enumerate() {
        named_countries(p, &r.cond, i, &mut named);
        bounded.extend(
            segments(p, &r.cond)
                .into_iter()
                .filter(|s| !s.is_any())
                .map(|s| (i, s)),
        );
    }
    let rule_id = |i: usize| spec.rules.get(i).map_or("", |r| r.id.as_str());
    for (country, first_rule) in named {
        if !out.has_room(DiagnosticCode::FallbackOnly) {
            return;
        }
        let mut ranges: Vec<(u64, u64, usize)> = bounded
            .iter()
            .filter(|(_, s)| s.includes(country))
            .map(|(i, s)| (s.lo, s.hi, *i))
            .collect();
        let path = |i: usize| format!("rules[{i}].when");
        if ranges.is_empty() {
            out.push(
                Diagnostic::fallback_only(
                    path(first_rule),
                    country.as_str(),
                    None,
                    &[rule_id(first_rule)],
                )
                .in_rule(Some(rule_id(first_rule).to_owned())),
            );
            continue;
        }
        ranges.sort_unstable();
        // Merge, and report every gap between merged ranges.
        let mut iter = ranges.into_iter();
        let Some((_, mut hi, mut below)) = iter.next() else {
            continue;
        };
        for (lo, h, rule) in iter {
            if lo > hi.saturating_add(1) {
                out.push(
                    Diagnostic::fallback_only(
                        path(below),
                        country.as_str(),
                        Some((hi + 1, lo - 1)),
                        &[rule_id(below), rule_id(rule)],
                    )
                    .in_rule(Some(rule_id(below).to_owned())),
                );
            }
            if h >= hi {
                hi = h;
                below = rule;
            }
        }
    }
}
