//! `compile`: validate a [`PolicySpec`] and lower it to a [`Policy`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use regex::Regex;

use super::compiled::Policy;
use super::diagnostic::{CompileError, Diagnostic, DiagnosticCode as Code, Severity};
use super::implies::{ShadowIndex, implies};
use super::index::RuleIndex;
use super::ir::*;
use super::program::Program;
use super::spec::*;
use crate::lead::geo::Geo;
use crate::lead::model::CountryCode;
use crate::lead::normalizer::product_token;
use crate::name::{FxMap, Name};
use crate::pool::roster::{MAX_POOL_MEMBERS, Roster, Seat};

/// Validates a spec and compiles it into a [`Policy`], or returns every
/// problem found ([`CompileError`]), each naming the rule and the field path.
///
/// Warnings of a policy that compiles are on [`Policy::warnings`].
///
/// ```
/// use leadroute::PolicySpec;
///
/// let spec = PolicySpec::from_json_str(r#"{
///   "name": "inbound", "version": "1",
///   "rules": [{"id": "us", "when": {"country": ["US", "XX"]}, "then": {"assign": {"pool": "nope"}}}]
/// }"#).unwrap();
/// let err = leadroute::compile(&spec).unwrap_err();
/// let messages: Vec<String> = err.errors.iter().map(|d| d.to_string()).collect();
/// assert_eq!(messages, [
///     "error: rules[0].when.country[1] (rule `us`): `XX` is not an ISO 3166-1 alpha-2 country code",
///     "error: rules[0].then.assign.pool (rule `us`): unknown pool `nope`",
///     "error: fallback: the policy has no fallback; every policy needs one so every lead gets a decision",
/// ]);
/// ```
pub fn compile(spec: &PolicySpec) -> Result<Policy, CompileError> {
    let mut c = Compiler {
        geo: Geo::default(),
        diags: Vec::new(),
        nodes: Vec::new(),
        owner_index: FxMap::default(),
        pool_index: HashMap::new(),
        territory_index: HashMap::new(),
        rule: None,
    };
    let policy = c.compile(spec);
    let (errors, warnings): (Vec<_>, Vec<_>) = c
        .diags
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    match policy {
        Some(mut program) if errors.is_empty() => {
            program.warnings = warnings;
            Ok(Policy::from_program(program))
        }
        _ => Err(CompileError { errors, warnings }),
    }
}

struct Compiler {
    geo: Geo,
    diags: Vec<Diagnostic>,
    nodes: Vec<NodeInfo>,
    owner_index: FxMap<Box<str>, u32>,
    pool_index: HashMap<Box<str>, u32>,
    territory_index: HashMap<Box<str>, u32>,
    /// The rule being compiled: (index, id).
    rule: Option<(u32, String)>,
}

fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn arc_list(items: &[String]) -> Arc<[Arc<str>]> {
    items.iter().map(|s| Arc::from(s.as_str())).collect()
}

fn render_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let parts: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

impl Compiler {
    fn diag(
        &mut self,
        severity: Severity,
        code: Code,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.diags.push(Diagnostic {
            severity,
            code,
            rule: self.rule.as_ref().map(|(_, id)| id.clone()),
            path: path.into(),
            message: message.into(),
        });
    }
    fn error(&mut self, code: Code, path: impl Into<String>, message: impl Into<String>) {
        self.diag(Severity::Error, code, path, message);
    }
    fn warn(&mut self, code: Code, path: impl Into<String>, message: impl Into<String>) {
        self.diag(Severity::Warning, code, path, message);
    }

    fn compile(&mut self, spec: &PolicySpec) -> Option<Program> {
        if spec.name.trim().is_empty() || spec.version.trim().is_empty() {
            self.warn(
                Code::MissingName,
                "name",
                "the policy has no name or version; decisions will not say which policy made them",
            );
        }
        let owners = self.owners(spec);
        let territories = self.territories(spec);
        // Index pools first so rules and pool fallbacks can refer to any pool.
        for (i, p) in spec.pools.iter().enumerate() {
            if self
                .pool_index
                .insert(p.id.as_str().into(), idx(i))
                .is_some()
            {
                self.error(
                    Code::DuplicateId,
                    format!("pools[{i}].id"),
                    format!("duplicate pool id `{}`", p.id),
                );
            }
        }
        let pools: Vec<Pool> = spec
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| self.pool(i, p, &owners))
            .collect();
        self.pool_cycles(&pools, spec);

        let mut rule_ids = HashSet::new();
        let mut rules = Vec::with_capacity(spec.rules.len());
        for (i, r) in spec.rules.iter().enumerate() {
            self.rule = Some((idx(i), r.id.clone()));
            if r.id.trim().is_empty() {
                self.error(Code::Empty, format!("rules[{i}].id"), "a rule needs an id");
            } else if !rule_ids.insert(r.id.as_str()) {
                self.error(
                    Code::DuplicateId,
                    format!("rules[{i}].id"),
                    format!("duplicate rule id `{}`", r.id),
                );
            }
            let cond = self.cond(&r.when, &format!("rules[{i}].when"));
            let action = self.action(&r.then, &format!("rules[{i}].then"), &owners);
            if never_holds(&r.when) {
                self.warn(Code::NeverMatches, format!("rules[{i}].when"), "the condition can never hold (`always: false` or an empty `any`); the rule never matches");
            }
            rules.push(Rule {
                id: Name::from(r.id.as_str()),
                cond,
                action,
            });
        }
        self.rule = None;
        self.unreachable(spec);

        let fallback = match &spec.fallback {
            Some(f) => {
                if matches!(f.assign, Assignee::AccountOwner | Assignee::ContactOwner) {
                    self.error(Code::MissingFallback, "fallback.assign", "the fallback must assign a named owner, a pool or nobody: an account or contact owner may not exist");
                }
                if f.if_unavailable == IfUnavailable::Fallback {
                    self.error(Code::PoolCycle, "fallback.if_unavailable", "the fallback cannot send leads to itself; use `{\"assign\": …}` or leave it out");
                }
                Some(self.action(f, "fallback", &owners))
            }
            None => {
                self.error(Code::MissingFallback, "fallback", "the policy has no fallback; every policy needs one so every lead gets a decision");
                None
            }
        };

        // Room for a typical trace without growing, while staying at most
        // 24 events (960 bytes), inside the allocator's small-size fast path.
        let trace_capacity = (self.nodes.len() + 2 * rules.len() + 8).min(24);
        let index = RuleIndex::build(&rules, &territories);
        let owner_index = std::mem::take(&mut self.owner_index);
        Some(Program {
            name: Name::from(spec.name.as_str()),
            version: Name::from(spec.version.as_str()),
            owners,
            owner_index,
            territories,
            pools,
            rules,
            fallback: fallback?,
            nodes: std::mem::take(&mut self.nodes),
            warnings: Vec::new(),
            trace_capacity,
            index,
        })
    }

    fn owners(&mut self, spec: &PolicySpec) -> Vec<Owner> {
        let mut owners = Vec::with_capacity(spec.owners.len());
        for (i, o) in spec.owners.iter().enumerate() {
            if o.id.trim().is_empty() {
                self.error(
                    Code::Empty,
                    format!("owners[{i}].id"),
                    "an owner needs an id",
                );
            }
            if self
                .owner_index
                .insert(o.id.as_str().into(), idx(i))
                .is_some()
            {
                self.error(
                    Code::DuplicateId,
                    format!("owners[{i}].id"),
                    format!("duplicate owner id `{}`", o.id),
                );
            }
            owners.push(Owner {
                id: Name::from(o.id.as_str()),
                active: o.active,
                spec: o.clone(),
            });
        }
        owners
    }

    fn territories(&mut self, spec: &PolicySpec) -> Vec<Territory> {
        let mut out = Vec::with_capacity(spec.territories.len());
        for (i, t) in spec.territories.iter().enumerate() {
            let path = format!("territories[{i}]");
            if self
                .territory_index
                .insert(t.id.as_str().into(), idx(i))
                .is_some()
            {
                self.error(
                    Code::DuplicateId,
                    format!("{path}.id"),
                    format!("duplicate territory id `{}`", t.id),
                );
            }
            let include = self.place_set(&t.include, &path);
            let exclude = self.place_set(&t.exclude, &format!("{path}.exclude"));
            if include.is_empty() {
                self.error(
                    Code::Empty,
                    path,
                    format!(
                        "territory `{}` includes no country, region or postal code",
                        t.id
                    ),
                );
            }
            out.push(Territory { include, exclude });
        }
        out
    }

    fn place_set(&mut self, s: &PlaceSetSpec, path: &str) -> PlaceSet {
        let countries = self.countries(&s.countries, &format!("{path}.countries"));
        let regions = self.regions(&s.regions, &format!("{path}.regions"));
        let postal = s
            .postal_codes
            .iter()
            .enumerate()
            .map(|(i, p)| self.postal(p, &format!("{path}.postal_codes[{i}]")))
            .collect();
        PlaceSet {
            countries,
            regions,
            postal,
        }
    }

    fn country(&mut self, raw: &str, path: &str) -> Option<CountryCode> {
        match raw.trim().parse::<CountryCode>() {
            Ok(c) if self.geo.is_alpha2(c.as_str()) => Some(c),
            _ => {
                self.error(
                    Code::UnknownCountry,
                    path,
                    format!("`{raw}` is not an ISO 3166-1 alpha-2 country code"),
                );
                None
            }
        }
    }

    fn countries(&mut self, raw: &[String], path: &str) -> CountrySet {
        let mut set = CountrySet::default();
        for (i, c) in raw.iter().enumerate() {
            if let Some(code) = self.country(c, &format!("{path}[{i}]")) {
                set.insert(code);
            }
        }
        set
    }

    fn regions(&mut self, raw: &[String], path: &str) -> Box<[Box<str>]> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, r) in raw.iter().enumerate() {
            let code = r.trim().to_ascii_uppercase();
            let ok = match code.split_once('-') {
                Some((cc, sub)) => {
                    self.geo.is_alpha2(cc)
                        && (1..=3).contains(&sub.len())
                        && sub.chars().all(|c| c.is_ascii_alphanumeric())
                        && (self.geo.is_region_code(&code) || !self.geo.has_region_table(cc))
                }
                None => false,
            };
            if ok {
                out.push(code.into_boxed_str());
            } else {
                self.error(
                    Code::UnknownRegion,
                    format!("{path}[{i}]"),
                    format!("`{r}` is not an ISO 3166-2 subdivision code such as `US-CA`"),
                );
            }
        }
        out.into_boxed_slice()
    }

    fn postal(&mut self, p: &PostalSpec, path: &str) -> PostalMatcher {
        let country = self.country(&p.country, &format!("{path}.country"));
        let mut prefixes = Vec::with_capacity(p.prefixes.len());
        for (i, x) in p.prefixes.iter().enumerate() {
            let x = x.trim().to_uppercase();
            if x.is_empty() {
                self.error(
                    Code::Empty,
                    format!("{path}.prefixes[{i}]"),
                    "an empty prefix would match every postal code",
                );
            } else {
                prefixes.push(x.into_boxed_str());
            }
        }
        let prefixes = prefixes.into_boxed_slice();
        let mut ranges = Vec::with_capacity(p.ranges.len());
        for (i, (from, to)) in p.ranges.iter().enumerate() {
            let (from, to) = (from.trim().to_uppercase(), to.trim().to_uppercase());
            if from.len() != to.len() || from.is_empty() {
                self.error(
                    Code::InvertedRange,
                    format!("{path}.ranges[{i}]"),
                    format!("range [`{from}`, `{to}`] needs two ends of the same length"),
                );
            } else if from > to {
                self.error(
                    Code::InvertedRange,
                    format!("{path}.ranges[{i}]"),
                    format!("range [`{from}`, `{to}`] starts after it ends"),
                );
            } else {
                ranges.push((from.into_boxed_str(), to.into_boxed_str()));
            }
        }
        if p.prefixes.is_empty() && p.ranges.is_empty() {
            self.error(
                Code::Empty,
                path,
                "a postal-code set needs prefixes or ranges",
            );
        }
        PostalMatcher {
            country,
            prefixes,
            ranges: ranges.into_boxed_slice(),
        }
    }

    fn owner_ref(&mut self, id: &str, path: &str, direct: bool, owners: &[Owner]) -> Option<u32> {
        match self.owner_index.get(id).copied() {
            Some(i) => {
                if direct && owners.get(i as usize).is_some_and(|o| !o.active) {
                    self.error(
                        Code::InactiveOwner,
                        path,
                        format!("owner `{id}` is inactive and cannot be assigned directly"),
                    );
                }
                Some(i)
            }
            None => {
                self.error(Code::UnknownOwner, path, format!("unknown owner `{id}`"));
                None
            }
        }
    }

    fn pool_ref(&mut self, id: &str, path: &str) -> Option<u32> {
        let found = self.pool_index.get(id).copied();
        if found.is_none() {
            self.error(Code::UnknownPool, path, format!("unknown pool `{id}`"));
        }
        found
    }

    fn target(&mut self, t: &Target, path: &str, owners: &[Owner]) -> Option<TargetC> {
        match t {
            Target::Owner(id) => self
                .owner_ref(id, &format!("{path}.owner"), true, owners)
                .map(TargetC::Owner),
            Target::Pool(id) => self
                .pool_ref(id, &format!("{path}.pool"))
                .map(TargetC::Pool),
        }
    }

    fn pool(&mut self, i: usize, p: &PoolSpec, owners: &[Owner]) -> Pool {
        let path = format!("pools[{i}]");
        if p.members.is_empty() {
            self.error(
                Code::EmptyPool,
                format!("{path}.members"),
                format!("pool `{}` has no members", p.id),
            );
        }
        if p.members.len() > MAX_POOL_MEMBERS {
            self.error(
                Code::TooManyMembers,
                format!("{path}.members"),
                format!(
                    "pool `{}` has {} members; the limit is {MAX_POOL_MEMBERS}",
                    p.id,
                    p.members.len()
                ),
            );
        }
        // A zero pool-level cap matters only if some member inherits it.
        if p.capacity.is_some_and(|c| c.max == 0) && p.members.iter().any(|m| m.capacity.is_none())
        {
            self.error(
                Code::InvalidNumber,
                format!("{path}.capacity.max"),
                "a capacity of 0 would never assign",
            );
        }
        let mut seen = HashSet::new();
        let mut seats = Vec::with_capacity(p.members.len());
        for (m, member) in p.members.iter().enumerate() {
            let mpath = format!("{path}.members[{m}]");
            if !seen.insert(member.owner.as_str()) {
                self.error(
                    Code::DuplicateId,
                    format!("{mpath}.owner"),
                    format!("owner `{}` is in pool `{}` twice", member.owner, p.id),
                );
            }
            if member.weight == 0 {
                self.error(
                    Code::InvalidNumber,
                    format!("{mpath}.weight"),
                    "weight must be at least 1 (remove the member instead)",
                );
            }
            let capacity = member.capacity.or(p.capacity);
            if member.capacity.is_some_and(|c| c.max == 0) {
                self.error(
                    Code::InvalidNumber,
                    format!("{mpath}.capacity.max"),
                    "a capacity of 0 would never assign; remove the member instead",
                );
            }
            if let Some(o) = self.owner_ref(&member.owner, &format!("{mpath}.owner"), false, owners)
            {
                if owners.get(o as usize).is_some_and(|x| !x.active) {
                    self.warn(
                        Code::InactivePoolMember,
                        format!("{mpath}.owner"),
                        format!(
                            "owner `{}` is inactive and will always be skipped",
                            member.owner
                        ),
                    );
                }
                seats.push(Seat {
                    owner: Name::from(member.owner.as_str()),
                    weight: member.weight.max(1),
                    capacity,
                    active: owners.get(o as usize).is_some_and(|x| x.active),
                });
            }
        }
        let fallback = p
            .fallback
            .as_ref()
            .and_then(|t| self.target(t, &format!("{path}.fallback"), owners));
        Pool {
            id: Name::from(p.id.as_str()),
            key: p.id.as_str().into(),
            roster: Arc::new(Roster {
                seats: seats.into_boxed_slice(),
            }),
            fallback,
        }
    }

    fn pool_cycles(&mut self, pools: &[Pool], spec: &PolicySpec) {
        for (start, _) in pools.iter().enumerate() {
            let mut seen = HashSet::new();
            let mut at = start;
            while let Some(TargetC::Pool(next)) = pools.get(at).and_then(|p| p.fallback) {
                if !seen.insert(at) {
                    break;
                }
                if next as usize == start {
                    let id = spec
                        .pools
                        .get(start)
                        .map(|p| p.id.as_str())
                        .unwrap_or_default();
                    self.error(
                        Code::PoolCycle,
                        format!("pools[{start}].fallback"),
                        format!("pool `{id}`'s fallbacks lead back to itself"),
                    );
                    break;
                }
                at = next as usize;
            }
        }
    }

    fn action(&mut self, a: &ActionSpec, path: &str, owners: &[Owner]) -> Action {
        let assign = match &a.assign {
            Assignee::AccountOwner => AssignC::AccountOwner,
            Assignee::ContactOwner => AssignC::ContactOwner,
            Assignee::Owner(id) => self
                .owner_ref(id, &format!("{path}.assign.owner"), true, owners)
                .map_or(AssignC::Nobody, |o| AssignC::Target(TargetC::Owner(o))),
            Assignee::Pool(id) => self
                .pool_ref(id, &format!("{path}.assign.pool"))
                .map_or(AssignC::Nobody, |p| AssignC::Target(TargetC::Pool(p))),
            Assignee::Nobody => AssignC::Nobody,
        };
        let experience = match &a.experience {
            ExperienceSpec::BookMeeting { calendar } => match calendar {
                CalendarSpec::AssignedOwner => {
                    if a.assign == Assignee::Nobody {
                        self.error(Code::NoCalendar, format!("{path}.experience"), "book_meeting on the assigned owner's calendar, but the action assigns nobody");
                    }
                    ExperienceC::BookMeeting(None)
                }
                CalendarSpec::Owner(id) => ExperienceC::BookMeeting(self.owner_ref(
                    id,
                    &format!("{path}.experience.book_meeting.calendar.owner"),
                    true,
                    owners,
                )),
            },
            ExperienceSpec::Confirmation => ExperienceC::Confirmation,
            ExperienceSpec::CustomerSuccess => ExperienceC::CustomerSuccess,
            ExperienceSpec::Nurture => ExperienceC::Nurture,
            ExperienceSpec::ManualReview => ExperienceC::ManualReview,
            ExperienceSpec::Reject { reason } => {
                ExperienceC::Reject(reason.as_deref().map(Arc::from))
            }
        };
        let if_unavailable = match &a.if_unavailable {
            IfUnavailable::NextRule => NextC::NextRule,
            IfUnavailable::Fallback => NextC::Fallback,
            IfUnavailable::Assign(t) => self
                .target(t, &format!("{path}.if_unavailable.assign"), owners)
                .map_or(NextC::NextRule, NextC::Target),
        };
        Action {
            assign,
            experience,
            if_unavailable,
            tags: arc_list(&a.tags),
            priority: a.priority,
            sla_minutes: a.sla_minutes,
            // Spam and other rejections are kept out of the CRM unless asked.
            write_to_crm: a
                .write_to_crm
                .unwrap_or(!matches!(a.experience, ExperienceSpec::Reject { .. })),
        }
    }

    fn node(&mut self, path: &str, field: &'static str, op: &'static str, expected: String) -> u32 {
        self.nodes.push(NodeInfo {
            rule: self.rule.as_ref().map(|(i, _)| *i),
            path: path.to_owned(),
            field,
            op,
            expected,
        });
        idx(self.nodes.len() - 1)
    }

    fn leaf(
        &mut self,
        pred: Pred,
        path: &str,
        field: &'static str,
        op: &'static str,
        expected: String,
    ) -> Cond {
        let n = self.node(path, field, op, expected);
        Cond::Leaf(pred, n)
    }

    fn text_list(&mut self, raw: &[String], path: &str) -> Box<[Box<str>]> {
        if raw.is_empty() {
            self.error(Code::Empty, path, "an empty list never matches");
        }
        raw.iter()
            .map(|s| fold_case(s.trim()).into_boxed_str())
            .collect()
    }

    fn cond(&mut self, c: &Condition, path: &str) -> Cond {
        match c {
            Condition::All(items) | Condition::Any(items) => {
                let all = matches!(c, Condition::All(_));
                let key = if all { "all" } else { "any" };
                let children: Vec<Cond> = items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.cond(x, &format!("{path}.{key}[{i}]")))
                    .collect();
                let n = self.node(path, key, key, format!("{} conditions", items.len()));
                if all {
                    Cond::All(children.into_boxed_slice(), n)
                } else {
                    Cond::Any(children.into_boxed_slice(), n)
                }
            }
            Condition::Not(inner) => {
                let child = self.cond(inner, &format!("{path}.not"));
                let n = self.node(path, "not", "not", String::new());
                Cond::Not(Box::new(child), n)
            }
            Condition::Always(b) => {
                self.leaf(Pred::Always(*b), path, "always", "is", b.to_string())
            }
            Condition::Territory(id) => {
                let p = format!("{path}.territory");
                match self.territory_index.get(id.as_str()).copied() {
                    Some(t) => self.leaf(Pred::Territory(t), &p, "territory", "in", id.clone()),
                    None => {
                        self.error(
                            Code::UnknownTerritory,
                            p.clone(),
                            format!("unknown territory `{id}`"),
                        );
                        self.leaf(Pred::Always(false), &p, "territory", "in", id.clone())
                    }
                }
            }
            Condition::Country(list) => {
                let p = format!("{path}.country");
                if list.is_empty() {
                    self.error(Code::Empty, p.clone(), "an empty list never matches");
                }
                let set = self.countries(list, &p);
                self.leaf(
                    Pred::Country(set),
                    &p,
                    "country",
                    "in",
                    render_list(list.iter().map(|c| c.to_ascii_uppercase())),
                )
            }
            Condition::Region(list) => {
                let p = format!("{path}.region");
                if list.is_empty() {
                    self.error(Code::Empty, p.clone(), "an empty list never matches");
                }
                let regions = self.regions(list, &p);
                let expected = render_list(regions.iter());
                self.leaf(Pred::Region(regions), &p, "region", "in", expected)
            }
            Condition::PostalCode(spec) => {
                let p = format!("{path}.postal_code");
                let m = self.postal(spec, &p);
                let expected = format!(
                    "{} prefixes {} ranges {}",
                    spec.country,
                    render_list(&spec.prefixes),
                    render_list(spec.ranges.iter().map(|(a, b)| format!("{a}..{b}")))
                );
                self.leaf(Pred::Postal(m), &p, "postal_code", "matches", expected)
            }
            Condition::Employees(b) | Condition::AnnualRevenue(b) => {
                let employees = matches!(c, Condition::Employees(_));
                let field = if employees {
                    "employees"
                } else {
                    "annual_revenue"
                };
                let p = format!("{path}.{field}");
                if let (Some(lo), Some(hi)) = (b.min, b.max) {
                    if lo > hi {
                        self.error(
                            Code::InvertedRange,
                            p.clone(),
                            format!("min {lo} is above max {hi}"),
                        );
                    }
                }
                if b.min.is_none() && b.max.is_none() {
                    self.error(Code::Empty, p.clone(), "bounds need a min, a max or both");
                }
                let expected = match (b.min, b.max) {
                    (Some(lo), Some(hi)) => format!("{lo}..={hi}"),
                    (Some(lo), None) => format!(">= {lo}"),
                    (None, Some(hi)) => format!("<= {hi}"),
                    (None, None) => "anything".into(),
                };
                let pred = if employees {
                    Pred::Employees(b.min, b.max)
                } else {
                    Pred::Revenue(b.min, b.max)
                };
                self.leaf(pred, &p, field, "within", expected)
            }
            Condition::ProductInterest(list) => {
                let p = format!("{path}.product_interest");
                if list.is_empty() {
                    self.error(Code::Empty, p.clone(), "an empty list never matches");
                }
                let tokens: Box<[Box<str>]> = list
                    .iter()
                    .map(|t| product_token(t).into_boxed_str())
                    .collect();
                let expected = render_list(tokens.iter());
                self.leaf(
                    Pred::Product(tokens),
                    &p,
                    "product_interest",
                    "any_of",
                    expected,
                )
            }
            Condition::EmailKind(kinds) => {
                let p = format!("{path}.email_kind");
                if kinds.is_empty() {
                    self.error(Code::Empty, p.clone(), "an empty list never matches");
                }
                let mask = kinds.iter().fold(0u8, |m, k| m | k.bit());
                self.leaf(
                    Pred::EmailKind(mask),
                    &p,
                    "email_kind",
                    "in",
                    render_list(kinds.iter().map(|k| k.as_str())),
                )
            }
            Condition::Source(l) => self.text(TextField::Source, "source", l, path),
            Condition::UtmSource(l) => self.text(TextField::UtmSource, "utm_source", l, path),
            Condition::UtmMedium(l) => self.text(TextField::UtmMedium, "utm_medium", l, path),
            Condition::UtmCampaign(l) => self.text(TextField::UtmCampaign, "utm_campaign", l, path),
            Condition::UtmTerm(l) => self.text(TextField::UtmTerm, "utm_term", l, path),
            Condition::UtmContent(l) => self.text(TextField::UtmContent, "utm_content", l, path),
            Condition::CompanyDomain(l) => {
                self.text(TextField::CompanyDomain, "company_domain", l, path)
            }
            Condition::Attribute(test) => {
                let p = format!("{path}.attribute");
                let (m, op, expected) = self.value_test(&test.test, &p);
                self.leaf(
                    Pred::Attribute(test.key.as_str().into(), m),
                    &p,
                    "attribute",
                    op,
                    format!("{} {expected}", test.key),
                )
            }
            Condition::Account(t) => self.record_test(Record::Account, t, path),
            Condition::Contact(t) => self.record_test(Record::Contact, t, path),
        }
    }

    /// `{"account": {…}}` or `{"contact": {…}}`: one leaf per fact given,
    /// as an implicit `all`.
    fn record_test(&mut self, record: Record, t: &RecordTest, path: &str) -> Cond {
        let what = record.as_str();
        let p = format!("{path}.{what}");
        let mut parts = Vec::new();
        for (flag, key) in Flag::ALL {
            let value = match flag {
                Flag::Exists => t.exists,
                Flag::HasOwner => t.has_owner,
                Flag::OwnerActive => t.owner_active,
                Flag::IsCustomer => t.is_customer,
            };
            let Some(b) = value else { continue };
            let fp = format!("{p}.{key}");
            if flag == Flag::IsCustomer && record == Record::Contact {
                self.not_a_contact_fact(key, &fp);
                continue;
            }
            let field = flag.field(record);
            parts.push(self.leaf(Pred::Flag(record, flag, b), &fp, field, "is", b.to_string()));
        }
        if let Some(tiers) = &t.tier {
            let tp = format!("{p}.tier");
            if record == Record::Contact {
                self.not_a_contact_fact("tier", &tp);
            } else {
                let list = self.text_list(tiers, &tp);
                let expected = render_list(list.iter());
                parts.push(self.leaf(Pred::AccountTier(list), &tp, "account.tier", "in", expected));
            }
        }
        if let Some(f) = &t.field {
            let fp = format!("{p}.field");
            if record == Record::Contact {
                self.not_a_contact_fact("field", &fp);
            } else {
                let (m, op, expected) = self.value_test(&f.test, &fp);
                parts.push(self.leaf(
                    Pred::AccountField(f.key.as_str().into(), m),
                    &fp,
                    "account.field",
                    op,
                    format!("{} {expected}", f.key),
                ));
            }
        }
        self.group(parts, &p, what)
    }

    fn not_a_contact_fact(&mut self, key: &str, path: &str) {
        self.error(
            Code::UnknownField,
            path,
            format!(
                "`{key}` is an account fact; a contact has `exists`, `has_owner` and `owner_active`"
            ),
        );
    }

    /// One part stands alone; several are an implicit `all`.
    fn group(&mut self, mut parts: Vec<Cond>, path: &str, what: &str) -> Cond {
        match parts.len() {
            0 => {
                self.error(
                    Code::Empty,
                    path,
                    format!("the {what} test names no fact to check"),
                );
                self.leaf(Pred::Always(false), path, "always", "is", "false".into())
            }
            1 => parts.pop().unwrap_or(Cond::Leaf(Pred::Always(false), 0)),
            n => {
                let node = self.node(path, "all", "all", format!("{n} conditions"));
                Cond::All(parts.into_boxed_slice(), node)
            }
        }
    }

    fn text(&mut self, field: TextField, name: &'static str, list: &[String], path: &str) -> Cond {
        let p = format!("{path}.{name}");
        let values = self.text_list(list, &p);
        let expected = render_list(values.iter());
        self.leaf(Pred::Text(field, values), &p, name, "in", expected)
    }

    fn value_test(&mut self, t: &ValueTest, path: &str) -> (ValueMatch, &'static str, String) {
        match t {
            ValueTest::Equals(_) | ValueTest::OneOf(_) => {
                let (items, op): (Vec<&serde_json::Value>, _) = match t {
                    ValueTest::OneOf(vs) => (vs.iter().collect(), "one_of"),
                    ValueTest::Equals(v) => (vec![v], "equals"),
                    _ => (Vec::new(), "equals"),
                };
                let mut texts = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match scalar_text(item) {
                        Some(text) => texts.push(text.into_boxed_str()),
                        None => self.error(
                            Code::Empty,
                            format!("{path}.{op}[{i}]"),
                            "compare with text, numbers or booleans (use `exists` for presence)",
                        ),
                    }
                }
                if texts.is_empty() && op == "one_of" {
                    self.error(
                        Code::Empty,
                        format!("{path}.one_of"),
                        "an empty list never matches",
                    );
                }
                let expected = render_list(texts.iter());
                (ValueMatch::OneOf(texts.into_boxed_slice()), op, expected)
            }
            ValueTest::Exists(b) => (ValueMatch::Exists(*b), "exists", b.to_string()),
            ValueTest::Regex(re) => match Regex::new(re) {
                Ok(r) => (ValueMatch::Regex(r), "regex", format!("/{re}/")),
                Err(e) => {
                    self.error(
                        Code::InvalidRegex,
                        format!("{path}.regex"),
                        format!("invalid regular expression: {e}"),
                    );
                    (ValueMatch::Exists(false), "regex", format!("/{re}/"))
                }
            },
        }
    }

    /// Rule `j` can never match if an earlier rule `i` always wins whenever
    /// `j`'s condition holds: `when_j` implies `when_i`, and rule `i` cannot
    /// fall through to the next rule.
    fn unreachable(&mut self, spec: &PolicySpec) {
        let mut shadows = ShadowIndex::default();
        for (j, later) in spec.rules.iter().enumerate() {
            // A rule that can never match is already a `never_matches` warning.
            if !never_holds(&later.when) {
                let cover = shadows.candidates(&later.when).into_iter().find_map(|i| {
                    let earlier = spec.rules.get(i)?;
                    implies(&later.when, &earlier.when).then_some(earlier)
                });
                if let Some(earlier) = cover {
                    self.rule = Some((idx(j), later.id.clone()));
                    let how = if later.when == earlier.when {
                        "the same as"
                    } else {
                        "covered by"
                    };
                    self.error(
                        Code::UnreachableRule,
                        format!("rules[{j}].when"),
                        format!("rule `{}` can never match: its condition is {how} that of earlier rule `{}`, which always decides first", later.id, earlier.id),
                    );
                    self.rule = None;
                }
            }
            if !falls_through(&later.then) {
                shadows.add(j, &later.when);
            }
        }
    }
}

/// Whether a condition is false for every lead (e.g. a rule switched off
/// with `always: false`).
fn never_holds(c: &Condition) -> bool {
    match c {
        Condition::Always(b) => !b,
        Condition::Any(items) => items.iter().all(never_holds),
        Condition::All(items) => items.iter().any(never_holds),
        _ => false,
    }
}

/// Whether a matched rule can hand the lead on to the next rule.
fn falls_through(a: &ActionSpec) -> bool {
    // Named owners are checked active at compile time; pools can run out of
    // eligible members at run time, so they count as able to fail.
    let can_fail = matches!(
        a.assign,
        Assignee::AccountOwner | Assignee::ContactOwner | Assignee::Pool(_)
    );
    can_fail
        && match &a.if_unavailable {
            IfUnavailable::NextRule => true,
            IfUnavailable::Fallback => false,
            IfUnavailable::Assign(Target::Owner(_)) => false,
            IfUnavailable::Assign(Target::Pool(_)) => true,
        }
}
