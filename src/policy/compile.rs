//! `compile`: validate a [`PolicySpec`] and lower it to a [`Policy`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use regex::RegexBuilder;

use super::diagnostic::{CompileError, Diagnostic, Sink};
use super::implies::{ShadowIndex, implies};
use super::index::RuleIndex;
use super::ir::*;
use super::limits::PolicyLimits;
use super::program::Program;
use super::size_check;
use super::spec::*;
use super::suggest;
use crate::lead::email::EmailKind;
use crate::lead::geo::Geo;
use crate::lead::model::CountryCode;
use crate::lead::normalizer::product_token;
use crate::name::{FxMap, Name};
use crate::pool::roster::{MAX_POOL_MEMBERS, Roster, Seat};
use crate::submission::signal::{SignalKind, SignalSet};

mod schedules;

/// Validates a spec and lowers it to the compiled [`Program`], or returns
/// every problem found. The public entry point is
/// [`compile`](super::compiled::compile).
pub(crate) fn program(spec: &PolicySpec, limits: &PolicyLimits) -> Result<Program, CompileError> {
    // Size first: a policy over a limit gets no further work at all.
    let mut sink = Sink::default();
    size_check::check(spec, limits, &mut sink);
    if sink.has_errors() {
        return Err(sink.into_error());
    }
    let mut c = Compiler {
        limits: limits.clone(),
        geo: Geo::default(),
        sink: Sink::default(),
        nodes: Vec::new(),
        owner_index: FxMap::default(),
        pool_index: HashMap::new(),
        territory_index: HashMap::new(),
        pool_ids: spec.pools.iter().map(|p| p.id.clone()).collect(),
        territory_ids: spec.territories.iter().map(|t| t.id.clone()).collect(),
        rule: None,
        schedule_index: HashMap::new(),
        schedule_ids: spec.schedules.iter().map(|s| s.id.clone()).collect(),
        schedules: Vec::new(),
        texts: Texts::default(),
        rule_root: String::new(),
        country_sets: FxMap::default(),
    };
    let policy = c.compile(spec);
    match policy {
        Some(mut program) if !c.sink.has_errors() => {
            program.warnings = c.sink.into_warnings();
            Ok(program)
        }
        _ => Err(c.sink.into_error()),
    }
}

struct Compiler {
    limits: PolicyLimits,
    geo: Geo,
    sink: Sink,
    nodes: Vec<NodeInfo>,
    owner_index: FxMap<Box<str>, u32>,
    pool_index: HashMap<Box<str>, u32>,
    territory_index: HashMap<Box<str>, u32>,
    /// Pool and territory ids in spec order, for suggestions.
    pool_ids: Vec<String>,
    territory_ids: Vec<String>,
    /// The rule being compiled: (index, id).
    rule: Option<(u32, String)>,
    schedule_index: HashMap<Box<str>, u32>,
    /// Schedule ids in spec order, for suggestions.
    schedule_ids: Vec<String>,
    /// The compiled named schedules.
    schedules: Vec<Arc<crate::schedule::Schedule>>,
    /// Shared node texts.
    texts: Texts,
    /// `rules[i].when` of the rule being compiled (empty outside rules).
    rule_root: String,
    /// Shared country sets of `country` tests.
    country_sets: FxMap<CountrySet, Arc<CountrySet>>,
}

/// Collects the texts of a policy's condition nodes (paths below their
/// rule, expected values, field and operator pairs), each once; lives only
/// while compiling.
#[derive(Default)]
struct Texts {
    index: FxMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
    kind_index: FxMap<(&'static str, &'static str), u16>,
    kinds: Vec<(&'static str, &'static str)>,
}

impl Texts {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = idx(self.texts.len());
        self.texts.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    fn kind(&mut self, field: &'static str, op: &'static str) -> u16 {
        if let Some(&i) = self.kind_index.get(&(field, op)) {
            return i;
        }
        // There are a few dozen (field, operator) pairs in all.
        let i = u16::try_from(self.kinds.len()).unwrap_or(u16::MAX);
        self.kinds.push((field, op));
        self.kind_index.insert((field, op), i);
        i
    }

    fn finish(self) -> NodeTexts {
        NodeTexts {
            texts: self.texts.into_boxed_slice(),
            kinds: self.kinds.into_boxed_slice(),
        }
    }
}

fn idx(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn arc_list(items: &[String]) -> Arc<[Arc<str>]> {
    items.iter().map(|s| Arc::from(s.as_str())).collect()
}

/// `path.key`, without the formatting machinery (a large plan builds one
/// per condition).
fn dotted(path: &str, key: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1 + key.len());
    out.push_str(path);
    out.push('.');
    out.push_str(key);
    out
}

/// `path.key[i]`.
fn item_path(path: &str, key: &str, i: usize) -> String {
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(d) = digits.get_mut(start) {
            // `n % 10` is a single digit.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    let digits = std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or("0");
    let mut out = String::with_capacity(path.len() + key.len() + digits.len() + 3);
    out.push_str(path);
    out.push('.');
    out.push_str(key);
    out.push('[');
    out.push_str(digits);
    out.push(']');
    out
}

/// Displays ASCII letters upper-cased, without allocating.
struct Upper<'a>(&'a str);

impl std::fmt::Display for Upper<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        self.0
            .chars()
            .try_for_each(|c| f.write_char(c.to_ascii_uppercase()))
    }
}

/// `[a, b, c]`, written into one string (a large plan renders tens of
/// thousands of these).
fn render_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    out.push(']');
    out
}

/// What kind of JSON value this is, for messages.
fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

impl Compiler {
    /// Records a diagnostic, in the rule being compiled.
    fn report(&mut self, d: Diagnostic) {
        let rule = self.rule.as_ref().map(|(_, id)| id.clone());
        self.sink.push(d.in_rule(rule));
    }

    /// The closest of `ids` to `id`, unless the error would not be kept anyway.
    fn suggest<'a>(&self, id: &str, ids: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        if self.sink.has_room() {
            suggest::closest_word(id, ids)
        } else {
            None
        }
    }

    fn compile(&mut self, spec: &PolicySpec) -> Option<Program> {
        if spec.name.trim().is_empty() || spec.version.trim().is_empty() {
            self.report(Diagnostic::missing_name("name".into()));
        }
        let mut owners = self.owners(spec);
        self.schedules(spec);
        self.owner_schedules(spec, &mut owners);
        let territories = self.territories(spec);
        // Index pools first so rules and pool fallbacks can refer to any pool.
        for (i, p) in spec.pools.iter().enumerate() {
            if self
                .pool_index
                .insert(p.id.as_str().into(), idx(i))
                .is_some()
            {
                self.report(Diagnostic::duplicate_id(
                    format!("pools[{i}].id"),
                    "pool",
                    &p.id,
                ));
            }
        }
        let pools: Vec<Pool> = spec
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| self.pool(i, p, &owners))
            .collect();
        self.pool_cycles(&pools, spec);
        let rules = self.rules(spec, &owners);
        self.unreachable(spec);
        let fallback = self.fallback(spec, &owners);

        let index = RuleIndex::build(&rules, &territories);
        let owner_index = std::mem::take(&mut self.owner_index);
        let load_owners = super::program::load_owners(&pools);
        let mut program = Program {
            name: Name::from(spec.name.as_str()),
            version: Name::from(spec.version.as_str()),
            owners,
            owner_index,
            territories,
            pools,
            rules,
            fallback: fallback?,
            nodes: {
                let mut nodes = std::mem::take(&mut self.nodes);
                nodes.shrink_to_fit();
                nodes
            },
            node_texts: std::mem::take(&mut self.texts).finish(),
            warnings: Vec::new(),
            index,
            schedules: std::mem::take(&mut self.schedules),
            load_owners,
            folded: Box::default(),
        };
        program.folded = super::eval::fold_screening(&program);
        Some(program)
    }

    fn rules(&mut self, spec: &PolicySpec, owners: &[Owner]) -> Vec<Rule> {
        let mut rule_ids = HashSet::new();
        let mut rules = Vec::with_capacity(spec.rules.len());
        for (i, r) in spec.rules.iter().enumerate() {
            self.rule = Some((idx(i), r.id.clone()));
            if r.id.trim().is_empty() {
                self.report(Diagnostic::missing_id(format!("rules[{i}].id"), "a rule"));
            } else if !rule_ids.insert(r.id.as_str()) {
                self.report(Diagnostic::duplicate_id(
                    format!("rules[{i}].id"),
                    "rule",
                    &r.id,
                ));
            }
            let root = format!("rules[{i}].when");
            self.rule_root.clone_from(&root);
            let cond = self.cond(&r.when, &root);
            let action = self.action(&r.then, &format!("rules[{i}].then"), owners);
            if never_holds(&r.when) {
                self.report(Diagnostic::never_matches(root.clone()));
            }
            rules.push(Rule {
                id: Name::from(r.id.as_str()),
                cond,
                action,
            });
        }
        self.rule = None;
        self.rule_root.clear();
        rules
    }

    fn fallback(&mut self, spec: &PolicySpec, owners: &[Owner]) -> Option<Action> {
        let Some(f) = &spec.fallback else {
            self.report(Diagnostic::missing_fallback("fallback".into()));
            return None;
        };
        match f.assign {
            Assignee::AccountOwner => self.report(Diagnostic::fallback_can_fail(
                "fallback.assign".into(),
                "account_owner",
            )),
            Assignee::ContactOwner => self.report(Diagnostic::fallback_can_fail(
                "fallback.assign".into(),
                "contact_owner",
            )),
            _ => {}
        }
        if f.if_unavailable == IfUnavailable::Fallback {
            self.report(Diagnostic::fallback_to_itself(
                "fallback.if_unavailable".into(),
            ));
        }
        Some(self.action(f, "fallback", owners))
    }

    fn owners(&mut self, spec: &PolicySpec) -> Vec<Owner> {
        let mut owners = Vec::with_capacity(spec.owners.len());
        for (i, o) in spec.owners.iter().enumerate() {
            if o.id.trim().is_empty() {
                self.report(Diagnostic::missing_id(
                    format!("owners[{i}].id"),
                    "an owner",
                ));
            }
            if self
                .owner_index
                .insert(o.id.as_str().into(), idx(i))
                .is_some()
            {
                self.report(Diagnostic::duplicate_id(
                    format!("owners[{i}].id"),
                    "owner",
                    &o.id,
                ));
            }
            owners.push(Owner {
                id: Name::from(o.id.as_str()),
                active: o.active,
                spec: o.clone(),
                schedule: None,
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
                self.report(Diagnostic::duplicate_id(
                    dotted(&path, "id"),
                    "territory",
                    &t.id,
                ));
            }
            let include = self.place_set(&t.include, &path);
            let exclude = self.place_set(&t.exclude, &dotted(&path, "exclude"));
            if include.is_empty() {
                let listed = !t.include.is_empty();
                self.report(Diagnostic::empty_territory(path, &t.id, listed));
            }
            out.push(Territory { include, exclude });
        }
        out
    }

    fn place_set(&mut self, s: &PlaceSetSpec, path: &str) -> PlaceSet {
        let countries = self.countries(&s.countries, &dotted(path, "countries"));
        let regions = self.regions(&s.regions, &dotted(path, "regions"));
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

    /// `path` is rendered only for an error (a plan lists many countries).
    fn country(&mut self, raw: &str, path: &dyn std::fmt::Display) -> Option<CountryCode> {
        match raw.trim().parse::<CountryCode>() {
            Ok(c) if self.geo.is_alpha2(c.as_str()) => Some(c),
            _ => {
                let suggestion = if self.sink.has_room() {
                    suggest::country(&self.geo, raw)
                } else {
                    None
                };
                self.report(Diagnostic::unknown_country(
                    path.to_string(),
                    raw,
                    suggestion,
                ));
                None
            }
        }
    }

    fn countries(&mut self, raw: &[String], path: &str) -> CountrySet {
        let mut set = CountrySet::default();
        for (i, c) in raw.iter().enumerate() {
            if let Some(code) = self.country(c, &format_args!("{path}[{i}]")) {
                set.insert(code);
            }
        }
        set
    }

    /// Whether `code` (upper case) is a region code the policy may use.
    fn is_region(&self, code: &str) -> bool {
        match code.split_once('-') {
            Some((cc, sub)) => {
                self.geo.is_alpha2(cc)
                    && (1..=3).contains(&sub.len())
                    && sub.chars().all(|c| c.is_ascii_alphanumeric())
                    && (self.geo.is_region_code(code) || !self.geo.has_region_table(cc))
            }
            None => false,
        }
    }

    fn regions(&mut self, raw: &[String], path: &str) -> Box<[Box<str>]> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, r) in raw.iter().enumerate() {
            let code = r.trim().to_ascii_uppercase();
            if self.is_region(&code) {
                out.push(code.into_boxed_str());
            } else {
                let suggestion = if self.sink.has_room() {
                    suggest::region(&self.geo, r)
                } else {
                    None
                };
                self.report(Diagnostic::unknown_region(
                    format!("{path}[{i}]"),
                    r,
                    suggestion.as_deref(),
                ));
            }
        }
        out.into_boxed_slice()
    }

    fn postal(&mut self, p: &PostalSpec, path: &str) -> PostalMatcher {
        let country = self.country(&p.country, &format_args!("{path}.country"));
        let mut prefixes = Vec::with_capacity(p.prefixes.len());
        for (i, x) in p.prefixes.iter().enumerate() {
            let x = x.trim().to_uppercase();
            if x.is_empty() {
                self.report(Diagnostic::empty_prefix(format!("{path}.prefixes[{i}]")));
            } else {
                prefixes.push(x.into_boxed_str());
            }
        }
        let mut ranges = Vec::with_capacity(p.ranges.len());
        for (i, (from, to)) in p.ranges.iter().enumerate() {
            if let Some(range) = self.postal_range(from, to, &format!("{path}.ranges[{i}]")) {
                ranges.push(range);
            }
        }
        if p.prefixes.is_empty() && p.ranges.is_empty() {
            self.report(Diagnostic::empty_postal_set(path.into()));
        }
        PostalMatcher {
            country,
            prefixes: prefixes.into_boxed_slice(),
            ranges: ranges.into_boxed_slice(),
        }
    }

    fn postal_range(&mut self, from: &str, to: &str, path: &str) -> Option<(Box<str>, Box<str>)> {
        let (from, to) = (from.trim().to_uppercase(), to.trim().to_uppercase());
        let problem = if from.is_empty() || to.is_empty() {
            Diagnostic::empty_range_end(path.into())
        } else if from.len() != to.len() {
            Diagnostic::range_ends_differ(path.into(), &from, &to)
        } else if from > to {
            Diagnostic::inverted_postal_range(path.into(), &from, &to)
        } else {
            return Some((from.into_boxed_str(), to.into_boxed_str()));
        };
        self.report(problem);
        None
    }

    fn owner_ref(&mut self, id: &str, path: &str, direct: bool, owners: &[Owner]) -> Option<u32> {
        match self.owner_index.get(id).copied() {
            Some(i) => {
                if direct && owners.get(i as usize).is_some_and(|o| !o.active) {
                    self.report(Diagnostic::inactive_owner(path.into(), id));
                }
                Some(i)
            }
            None => {
                let suggestion = self.suggest(id, owners.iter().map(|o| &*o.id));
                self.report(Diagnostic::unknown_owner(path.into(), id, suggestion));
                None
            }
        }
    }

    fn pool_ref(&mut self, id: &str, path: &str) -> Option<u32> {
        let found = self.pool_index.get(id).copied();
        if found.is_none() {
            let suggestion = self
                .suggest(id, self.pool_ids.iter().map(String::as_str))
                .map(str::to_owned);
            self.report(Diagnostic::unknown_pool(
                path.into(),
                id,
                suggestion.as_deref(),
            ));
        }
        found
    }

    fn target(&mut self, t: &Target, path: &str, owners: &[Owner]) -> Option<TargetC> {
        match t {
            Target::Owner(id) => self
                .owner_ref(id, &dotted(path, "owner"), true, owners)
                .map(TargetC::Owner),
            Target::Pool(id) => self.pool_ref(id, &dotted(path, "pool")).map(TargetC::Pool),
        }
    }

    fn pool(&mut self, i: usize, p: &PoolSpec, owners: &[Owner]) -> Pool {
        let path = format!("pools[{i}]");
        if p.members.is_empty() {
            self.report(Diagnostic::empty_pool(dotted(&path, "members"), &p.id));
        }
        if p.members.len() > MAX_POOL_MEMBERS {
            self.report(Diagnostic::too_many_members(
                dotted(&path, "members"),
                &p.id,
                p.members.len(),
                MAX_POOL_MEMBERS,
            ));
        }
        // A zero pool-level cap matters only if some member inherits it.
        if p.capacity.is_some_and(|c| c.max == 0) && p.members.iter().any(|m| m.capacity.is_none())
        {
            self.report(Diagnostic::zero_capacity(
                format!("{path}.capacity.max"),
                false,
            ));
        }
        let mut seen = HashSet::new();
        let mut seats = Vec::with_capacity(p.members.len());
        for (m, member) in p.members.iter().enumerate() {
            let mpath = format!("{path}.members[{m}]");
            if !seen.insert(member.owner.as_str()) {
                self.report(Diagnostic::duplicate_member(
                    dotted(&mpath, "owner"),
                    &member.owner,
                    &p.id,
                ));
            }
            if let Some(seat) = self.seat(p, member, &mpath, owners) {
                seats.push(seat);
            }
        }
        let fallback = p
            .fallback
            .as_ref()
            .and_then(|t| self.target(t, &dotted(&path, "fallback"), owners));
        let time = self.pool_time(i, p, &seats, owners);
        let uses_load = p.distribution == Distribution::LeastLoaded
            || time.seat_rules.iter().any(|r| r.max_open.is_some());
        Pool {
            id: Name::from(p.id.as_str()),
            key: p.id.as_str().into(),
            roster: Arc::new(Roster {
                seats: seats.into_boxed_slice(),
            }),
            fallback,
            seat_rules: time.seat_rules,
            distribution: p.distribution,
            respect_schedules: p.respect_schedules.unwrap_or(true),
            zone: time.zone,
            schedule: time.schedule,
            uses_load,
        }
    }

    /// A pool member's seat, or `None` for an unknown owner.
    fn seat(
        &mut self,
        p: &PoolSpec,
        member: &MemberSpec,
        mpath: &str,
        owners: &[Owner],
    ) -> Option<Seat> {
        if member.weight == 0 {
            self.report(Diagnostic::zero_weight(dotted(mpath, "weight")));
        }
        let capacity = member.capacity.or(p.capacity);
        if member.capacity.is_some_and(|c| c.max == 0) {
            self.report(Diagnostic::zero_capacity(
                format!("{mpath}.capacity.max"),
                true,
            ));
        }
        let o = self.owner_ref(&member.owner, &dotted(mpath, "owner"), false, owners)?;
        let active = owners.get(o as usize).is_some_and(|x| x.active);
        if !active {
            self.report(Diagnostic::inactive_pool_member(
                dotted(mpath, "owner"),
                &member.owner,
            ));
        }
        Some(Seat {
            owner: Name::from(member.owner.as_str()),
            weight: member.weight.max(1),
            capacity,
            active,
        })
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
                    self.report(Diagnostic::pool_cycle(
                        format!("pools[{start}].fallback"),
                        id,
                    ));
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
                .owner_ref(id, &dotted(path, "assign.owner"), true, owners)
                .map_or(AssignC::Nobody, |o| AssignC::Target(TargetC::Owner(o))),
            Assignee::Pool(id) => self
                .pool_ref(id, &dotted(path, "assign.pool"))
                .map_or(AssignC::Nobody, |p| AssignC::Target(TargetC::Pool(p))),
            Assignee::Nobody => AssignC::Nobody,
        };
        let experience = self.experience(a, path, owners);
        let if_unavailable = match &a.if_unavailable {
            IfUnavailable::NextRule => NextC::NextRule,
            IfUnavailable::Fallback => NextC::Fallback,
            IfUnavailable::Assign(t) => self
                .target(t, &dotted(path, "if_unavailable.assign"), owners)
                .map_or(NextC::NextRule, NextC::Target),
        };
        Action {
            assign,
            experience,
            if_unavailable,
            check_availability: a.check_availability,
            tags: arc_list(&a.tags),
            priority: a.priority,
            sla_minutes: a.sla_minutes,
            // Spam and other rejections are kept out of the CRM unless asked.
            write_to_crm: a
                .write_to_crm
                .unwrap_or(!matches!(a.experience, ExperienceSpec::Reject { .. })),
        }
    }

    fn experience(&mut self, a: &ActionSpec, path: &str, owners: &[Owner]) -> ExperienceC {
        match &a.experience {
            ExperienceSpec::BookMeeting { calendar } => match calendar {
                CalendarSpec::AssignedOwner => {
                    if a.assign == Assignee::Nobody {
                        self.report(Diagnostic::no_calendar(dotted(path, "experience")));
                    }
                    ExperienceC::BookMeeting(None)
                }
                CalendarSpec::Owner(id) => ExperienceC::BookMeeting(self.owner_ref(
                    id,
                    &dotted(path, "experience.book_meeting.calendar.owner"),
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
        }
    }

    fn node(&mut self, path: &str, field: &'static str, op: &'static str, expected: String) -> u32 {
        let rule = self.rule.as_ref().map(|(i, _)| *i);
        // Every rule condition's path starts with `rules[i].when`; a node
        // keeps only what follows, shared with other rules' nodes.
        let below_root = match path.strip_prefix(self.rule_root.as_str()) {
            Some(rest) if rule.is_some() && !self.rule_root.is_empty() => Some(rest),
            _ => None,
        };
        let (relative, below) = below_root.map_or((false, path), |rest| (true, rest));
        let path = self.texts.intern(below);
        let expected = self.texts.intern(&expected);
        let kind = self.texts.kind(field, op);
        self.nodes.push(NodeInfo {
            rule,
            relative,
            path,
            expected,
            kind,
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
            self.report(Diagnostic::empty_list(path.into()));
        }
        raw.iter()
            .map(|s| fold_case(s.trim()).into_boxed_str())
            .collect()
    }

    /// Reports an empty "any of" list.
    fn non_empty<T>(&mut self, list: &[T], path: &str) {
        if list.is_empty() {
            self.report(Diagnostic::empty_list(path.into()));
        }
    }

    fn cond(&mut self, c: &Condition, path: &str) -> Cond {
        match c {
            Condition::All(items) => self.all_or_any(items, path, true),
            Condition::Any(items) => self.all_or_any(items, path, false),
            Condition::Not(inner) => {
                let child = self.cond(inner, &dotted(path, "not"));
                let n = self.node(path, "not", "not", String::new());
                Cond::Not(Box::new(child), n)
            }
            Condition::Always(b) => {
                self.leaf(Pred::Always(*b), path, "always", "is", b.to_string())
            }
            Condition::Territory(id) => self.territory_cond(id, path),
            Condition::Country(list) => self.country_cond(list, path),
            Condition::Region(list) => self.region_cond(list, path),
            Condition::PostalCode(spec) => self.postal_cond(spec, path),
            Condition::Employees(b) => self.bounds_cond(b, path, true),
            Condition::AnnualRevenue(b) => self.bounds_cond(b, path, false),
            Condition::ProductInterest(list) => self.product_cond(list, path),
            Condition::EmailKind(kinds) => self.email_kind_cond(kinds, path),
            Condition::Source(l) => self.text(TextField::Source, "source", l, path),
            Condition::UtmSource(l) => self.text(TextField::UtmSource, "utm_source", l, path),
            Condition::UtmMedium(l) => self.text(TextField::UtmMedium, "utm_medium", l, path),
            Condition::UtmCampaign(l) => self.text(TextField::UtmCampaign, "utm_campaign", l, path),
            Condition::UtmTerm(l) => self.text(TextField::UtmTerm, "utm_term", l, path),
            Condition::UtmContent(l) => self.text(TextField::UtmContent, "utm_content", l, path),
            Condition::CompanyDomain(l) => {
                self.text(TextField::CompanyDomain, "company_domain", l, path)
            }
            Condition::Attribute(test) => self.attribute_cond(test, path),
            Condition::Account(t) => self.record_test(Record::Account, t, path),
            Condition::Contact(t) => self.record_test(Record::Contact, t, path),
            Condition::WithinSchedule(id) => self.schedule_cond(id, path, true),
            Condition::OutsideSchedule(id) => self.schedule_cond(id, path, false),
            Condition::DayOfWeek(d) => self.day_of_week_cond(d, path),
            Condition::AccountMatch(t) => self.match_test(t, path),
            Condition::Spam(t) => self.spam_cond(t, path),
            Condition::Signal(kinds) => self.signal_cond(kinds, path),
        }
    }

    /// `{"account_match": {…}}`: one leaf per test given, as an implicit
    /// `all`.
    fn match_test(&mut self, t: &MatchTest, path: &str) -> Cond {
        let p = dotted(path, "account_match");
        let mut parts = Vec::new();
        if let Some(b) = t.matched {
            let fp = dotted(&p, "matched");
            parts.push(self.leaf(
                Pred::Matched(b),
                &fp,
                "account_match.matched",
                "is",
                b.to_string(),
            ));
        }
        if let Some(methods) = &t.matched_by {
            let fp = dotted(&p, "matched_by");
            self.non_empty(methods, &fp);
            let mask = methods.iter().fold(0u16, |m, x| m | x.bit());
            let expected = render_list(methods.iter().map(|m| m.as_str()));
            parts.push(self.leaf(
                Pred::MatchedBy(mask),
                &fp,
                "account_match.method",
                "in",
                expected,
            ));
        }
        if let Some(c) = t.min_confidence {
            let fp = dotted(&p, "min_confidence");
            // A fraction from 0 to 1, so this fits.
            let permille = (c.get() * 1000.0).round().clamp(0.0, 1000.0) as u16;
            parts.push(self.leaf(
                Pred::MinConfidence(permille),
                &fp,
                "account_match.confidence",
                ">=",
                format!("{:.2}", c.get()),
            ));
        }
        if let Some(b) = t.ambiguous {
            let fp = dotted(&p, "ambiguous");
            parts.push(self.leaf(
                Pred::Ambiguous(b),
                &fp,
                "account_match.ambiguous",
                "is",
                b.to_string(),
            ));
        }
        self.group(parts, &p, "account_match")
    }

    /// `{"all": [...]}` / `{"any": [...]}`: the children, then the group.
    fn all_or_any(&mut self, items: &[Condition], path: &str, all: bool) -> Cond {
        let key = if all { "all" } else { "any" };
        let children: Box<[Cond]> = items
            .iter()
            .enumerate()
            .map(|(i, x)| self.cond(x, &item_path(path, key, i)))
            .collect();
        let n = self.node(path, key, key, format!("{} conditions", items.len()));
        if all {
            Cond::All(children, n)
        } else {
            Cond::Any(children, n)
        }
    }

    fn territory_cond(&mut self, id: &str, path: &str) -> Cond {
        let p = dotted(path, "territory");
        let pred = match self.territory_index.get(id).copied() {
            Some(t) => Pred::Territory(t),
            None => {
                let suggestion = self
                    .suggest(id, self.territory_ids.iter().map(String::as_str))
                    .map(str::to_owned);
                self.report(Diagnostic::unknown_territory(
                    p.clone(),
                    id,
                    suggestion.as_deref(),
                ));
                Pred::Always(false)
            }
        };
        self.leaf(pred, &p, "territory", "in", id.to_owned())
    }

    fn country_cond(&mut self, list: &[String], path: &str) -> Cond {
        let p = dotted(path, "country");
        self.non_empty(list, &p);
        let set = self.countries(list, &p);
        let expected = render_list(list.iter().map(|c| Upper(c)));
        let set = match self.country_sets.get(&set) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared = Arc::new(set.clone());
                self.country_sets.insert(set, Arc::clone(&shared));
                shared
            }
        };
        self.leaf(Pred::Country(set), &p, "country", "in", expected)
    }

    fn region_cond(&mut self, list: &[String], path: &str) -> Cond {
        let p = dotted(path, "region");
        self.non_empty(list, &p);
        let regions = self.regions(list, &p);
        let expected = render_list(regions.iter());
        self.leaf(Pred::Region(regions), &p, "region", "in", expected)
    }

    fn postal_cond(&mut self, spec: &PostalSpec, path: &str) -> Cond {
        let p = dotted(path, "postal_code");
        let m = self.postal(spec, &p);
        let expected = format!(
            "{} prefixes {} ranges {}",
            spec.country,
            render_list(&spec.prefixes),
            render_list(spec.ranges.iter().map(|(a, b)| format!("{a}..{b}")))
        );
        self.leaf(Pred::Postal(m), &p, "postal_code", "matches", expected)
    }

    /// `employees` (or, with `employees` false, `annual_revenue`) bounds.
    fn bounds_cond(&mut self, b: &Bounds, path: &str, employees: bool) -> Cond {
        let field = if employees {
            "employees"
        } else {
            "annual_revenue"
        };
        let p = dotted(path, field);
        if let (Some(lo), Some(hi)) = (b.min, b.max) {
            if lo > hi {
                self.report(Diagnostic::inverted_bounds(p.clone(), lo, hi));
            }
        }
        if b.min.is_none() && b.max.is_none() {
            self.report(Diagnostic::empty_bounds(p.clone()));
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

    fn product_cond(&mut self, list: &[String], path: &str) -> Cond {
        let p = dotted(path, "product_interest");
        self.non_empty(list, &p);
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

    fn email_kind_cond(&mut self, kinds: &[EmailKind], path: &str) -> Cond {
        let p = dotted(path, "email_kind");
        self.non_empty(kinds, &p);
        let mask = kinds.iter().fold(0u8, |m, k| m | k.bit());
        let expected = render_list(kinds.iter().map(|k| k.as_str()));
        self.leaf(Pred::EmailKind(mask), &p, "email_kind", "in", expected)
    }

    /// `{"spam": {"score_at_least": a, "score_below": b}}`.
    fn spam_cond(&mut self, t: &SpamTest, path: &str) -> Cond {
        let p = dotted(path, "spam");
        let (lo, hi) = (t.score_at_least, t.score_below);
        match (lo, hi) {
            (None, None) => self.report(Diagnostic::empty_spam_test(p.clone())),
            (Some(lo), Some(hi)) if lo >= hi => {
                self.report(Diagnostic::empty_score_range(p.clone(), lo, hi));
            }
            _ => {}
        }
        let expected = match (lo, hi) {
            (Some(lo), Some(hi)) => format!("{lo}..{hi}"),
            (Some(lo), None) => format!(">= {lo}"),
            (None, Some(hi)) => format!("< {hi}"),
            (None, None) => "anything".into(),
        };
        self.leaf(
            Pred::SpamScore(lo, hi),
            &p,
            "spam.score",
            "within",
            expected,
        )
    }

    /// `{"signal": [...]}`.
    fn signal_cond(&mut self, kinds: &[SignalKind], path: &str) -> Cond {
        let p = dotted(path, "signal");
        self.non_empty(kinds, &p);
        let set: SignalSet = kinds.iter().copied().collect();
        let expected = render_list(set.iter().map(SignalKind::as_str));
        self.leaf(Pred::Signal(set), &p, "signal", "any_of", expected)
    }

    fn attribute_cond(&mut self, test: &FieldTest, path: &str) -> Cond {
        let p = dotted(path, "attribute");
        let (m, op, expected) = self.value_test(&test.test, &p);
        self.leaf(
            Pred::Attribute(test.key.as_str().into(), m),
            &p,
            "attribute",
            op,
            format!("{} {expected}", test.key),
        )
    }

    /// `{"account": {…}}` or `{"contact": {…}}`: one leaf per fact given,
    /// as an implicit `all`.
    fn record_test(&mut self, record: Record, t: &RecordTest, path: &str) -> Cond {
        let what = record.as_str();
        let p = format!("{path}.{what}");
        let mut parts = self.record_flags(record, t, &p);
        if let Some(tiers) = &t.tier {
            let tp = dotted(&p, "tier");
            if record == Record::Contact {
                self.report(Diagnostic::not_a_contact_fact(tp, "tier"));
            } else {
                let list = self.text_list(tiers, &tp);
                let expected = render_list(list.iter());
                parts.push(self.leaf(Pred::AccountTier(list), &tp, "account.tier", "in", expected));
            }
        }
        if let Some(f) = &t.field {
            let fp = dotted(&p, "field");
            if record == Record::Contact {
                self.report(Diagnostic::not_a_contact_fact(fp, "field"));
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

    /// The boolean facts of a record test, one leaf each.
    fn record_flags(&mut self, record: Record, t: &RecordTest, p: &str) -> Vec<Cond> {
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
                self.report(Diagnostic::not_a_contact_fact(fp, key));
                continue;
            }
            let field = flag.field(record);
            parts.push(self.leaf(Pred::Flag(record, flag, b), &fp, field, "is", b.to_string()));
        }
        parts
    }

    /// One part stands alone; several are an implicit `all`.
    fn group(&mut self, mut parts: Vec<Cond>, path: &str, what: &str) -> Cond {
        match parts.len() {
            0 => {
                self.report(Diagnostic::empty_record_test(path.into(), what));
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
            ValueTest::Equals(v) => self.compare(std::slice::from_ref(v), path, "equals"),
            ValueTest::OneOf(vs) => self.compare(vs, path, "one_of"),
            ValueTest::Exists(b) => (ValueMatch::Exists(*b), "exists", b.to_string()),
            ValueTest::Regex(re) => match RegexBuilder::new(re)
                .size_limit(self.limits.max_regex_program_bytes)
                .build()
            {
                Ok(r) => (ValueMatch::Regex(r), "regex", format!("/{re}/")),
                Err(e) => {
                    self.report(Diagnostic::invalid_regex(
                        dotted(path, "regex"),
                        re,
                        &e.to_string(),
                    ));
                    (ValueMatch::Exists(false), "regex", format!("/{re}/"))
                }
            },
        }
    }

    /// `equals` (one value) or `one_of` (several): text, numbers or booleans.
    fn compare(
        &mut self,
        items: &[serde_json::Value],
        path: &str,
        op: &'static str,
    ) -> (ValueMatch, &'static str, String) {
        let mut texts = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match scalar_text(item) {
                Some(text) => texts.push(text.into_boxed_str()),
                None => {
                    // `equals` holds one value, `one_of` a list.
                    let at = if op == "equals" {
                        dotted(path, "equals")
                    } else {
                        format!("{path}.{op}[{i}]")
                    };
                    let text = serde_json::to_string(item).unwrap_or_default();
                    self.report(Diagnostic::type_mismatch(at, json_kind(item), &text));
                }
            }
        }
        if texts.is_empty() && op == "one_of" {
            self.report(Diagnostic::empty_list(dotted(path, "one_of")));
        }
        let expected = render_list(texts.iter());
        (ValueMatch::OneOf(texts.into_boxed_slice()), op, expected)
    }

    /// Rule `j` can never match if an earlier rule `i` always wins whenever
    /// `j`'s condition holds: `when_j` implies `when_i`, and rule `i` cannot
    /// fall through to the next rule.
    fn unreachable(&mut self, spec: &PolicySpec) {
        let mut shadows = ShadowIndex::default();
        let budget = self.limits.max_shadow_comparisons;
        let mut spent = 0usize;
        for (j, later) in spec.rules.iter().enumerate() {
            // A rule that can never match is already a `never_matches` warning.
            if !never_holds(&later.when) {
                let mut over = false;
                let cover = shadows.candidates(&later.when).find_map(|i| {
                    if spent >= budget {
                        over = true;
                        return Some(None);
                    }
                    spent += 1;
                    let earlier = spec.rules.get(i)?;
                    implies(&later.when, &earlier.when).then_some(Some(earlier))
                });
                if over {
                    self.rule = Some((idx(j), later.id.clone()));
                    self.report(Diagnostic::shadow_check_skipped(
                        format!("rules[{j}].when"),
                        &later.id,
                        spent,
                    ));
                    self.rule = None;
                    return;
                }
                let cover = cover.flatten();
                if let Some(earlier) = cover {
                    self.rule = Some((idx(j), later.id.clone()));
                    let how = if later.when == earlier.when {
                        "the same as"
                    } else {
                        "covered by"
                    };
                    self.report(Diagnostic::unreachable_rule(
                        format!("rules[{j}].when"),
                        &later.id,
                        how,
                        &earlier.id,
                    ));
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
pub(crate) fn never_holds(c: &Condition) -> bool {
    match c {
        Condition::Always(b) => !b,
        Condition::Any(items) => items.iter().all(never_holds),
        Condition::All(items) => items.iter().any(never_holds),
        _ => false,
    }
}

/// Whether a matched rule can hand the lead on to the next rule.
pub(crate) fn falls_through(a: &ActionSpec) -> bool {
    // Named owners are checked active at compile time (but can be off shift
    // when the action checks availability); pools can run out of eligible
    // members at run time, so they count as able to fail.
    let can_fail = match a.assign {
        Assignee::AccountOwner | Assignee::ContactOwner | Assignee::Pool(_) => true,
        Assignee::Owner(_) => a.check_availability,
        _ => false,
    };
    can_fail
        && match &a.if_unavailable {
            IfUnavailable::NextRule => true,
            IfUnavailable::Fallback => false,
            IfUnavailable::Assign(Target::Owner(_)) => false,
            IfUnavailable::Assign(Target::Pool(_)) => true,
        }
}
