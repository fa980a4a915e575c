//! What the fuzz targets share: the invariants they check, and the
//! structured generators that build inputs the engine accepts (so the
//! fuzzer spends its time in evaluation, not in rejected syntax).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use leadroute::crm::Account;
use leadroute::decision::RouteDecision;
use leadroute::policy::EvalOptions;
use leadroute::submission::{
    OBSERVED_LIMIT, Screen, SignalKind, Signals, Submission, Verification,
};
use leadroute::{Facts, Lead, LeadInput, Normalizer, Policy, PolicySpec};
use serde_json::{Value, json};

/// The reference interpreter the differential test uses: a plain in-order
/// scan over the spec.
#[path = "../../benches/support/policy_gen.rs"]
#[allow(dead_code, clippy::all)]
pub mod policy_gen;

pub static NORMALIZER: LazyLock<Normalizer> = LazyLock::new(Normalizer::default);

// ------------------------------------------------------------- normalize

/// A normalized lead serialized to JSON normalizes to the same lead.
pub fn check_round_trip(lead: &Lead) {
    let json = serde_json::to_string(lead).expect("a lead serializes");
    match NORMALIZER.normalize_json(&json) {
        Ok(again) => assert_eq!(&again.lead, lead, "round trip changed the lead: {json}"),
        Err(e) => panic!("a normalized lead does not normalize again: {e}\n{json}"),
    }
}

/// Error output stays bounded whatever the input.
pub fn check_bounded(
    result: &Result<leadroute::lead::Normalized, leadroute::lead::NormalizeError>,
) {
    let max = NORMALIZER.limits().max_issues + 1;
    match result {
        Ok(n) => assert!(n.warnings.len() <= max, "{} warnings", n.warnings.len()),
        Err(e) => {
            assert!(!e.errors.is_empty());
            assert!(e.errors.len() <= max, "{} errors", e.errors.len());
            for i in &e.errors {
                assert!(
                    i.message.len() <= 2_000,
                    "message of {} bytes",
                    i.message.len()
                );
                assert!(i.value.as_ref().is_none_or(|v| v.chars().count() <= 65));
            }
        }
    }
}

// ------------------------------------------------------------- screen

/// The default screen, built once.
pub static SCREEN: LazyLock<Screen> = LazyLock::new(Screen::default);

/// Screens `lead` (a form started at `form_started` if it says so, judged
/// at a fixed time) and checks what the screen promises of its signals:
/// one per kind, in kind order, each observed text at most
/// `OBSERVED_LIMIT` characters (plus the `…` of a cut),
/// the score the sum of their weights, `fired` agreeing with the list, the
/// same signals when the lead is screened again, and a JSON round trip
/// that keeps them. Also with every verification outcome, which adds or
/// removes only the `unverified` signal.
pub fn check_signals(lead: &Lead) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let submission = Submission::default();
    let signals = SCREEN.assess(lead, &submission, &Verification::NotConfigured, now);
    let kinds: Vec<SignalKind> = signals.signals.iter().map(|s| s.kind).collect();
    assert!(
        kinds.windows(2).all(|w| w[0] < w[1]),
        "signals out of order or repeated: {kinds:?}"
    );
    for s in &signals.signals {
        let n = s.observed.chars().count();
        assert!(
            n <= OBSERVED_LIMIT || (n == OBSERVED_LIMIT + 1 && s.observed.ends_with('…')),
            "observed text too long: {s:?}"
        );
    }
    let sum = signals
        .signals
        .iter()
        .fold(0u32, |acc, s| acc.saturating_add(s.weight));
    assert_eq!(signals.score, sum);
    for kind in SignalKind::ALL {
        assert_eq!(signals.fired(kind), kinds.contains(&kind), "{kind:?}");
    }
    let again = SCREEN.assess(lead, &submission, &Verification::NotConfigured, now);
    assert_eq!(again, signals, "screening is not deterministic");
    let json = serde_json::to_string(&signals).expect("signals serialize");
    let back: Signals = serde_json::from_str(&json).expect("signals deserialize");
    assert_eq!(back, signals, "round trip changed the signals: {json}");
    for verification in [Verification::Missing, Verification::Passed] {
        let other = SCREEN.assess(lead, &submission, &verification, now);
        let without = |s: &Signals| -> Vec<SignalKind> {
            s.signals
                .iter()
                .map(|x| x.kind)
                .filter(|k| *k != SignalKind::Unverified)
                .collect()
        };
        assert_eq!(without(&other), without(&signals), "{verification:?}");
    }
}

/// A JSON value from a few shapes, numbers included (floats must survive).
#[derive(Debug, Arbitrary)]
pub enum AttrValue {
    Text(String),
    Float(f64),
    Int(i64),
    UInt(u64),
    Bool(bool),
    List(Vec<String>),
}

impl AttrValue {
    pub fn to_json(&self) -> Value {
        match self {
            AttrValue::Text(s) => json!(s),
            AttrValue::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
            AttrValue::Int(i) => json!(i),
            AttrValue::UInt(u) => json!(u),
            AttrValue::Bool(b) => json!(b),
            AttrValue::List(v) => json!(v),
        }
    }
}

/// Every field of a form, as arbitrary text, plus attributes.
#[derive(Debug, Arbitrary)]
pub struct FormInput {
    pub fields: [Option<String>; 19],
    /// Employees / revenue in the object form the crate writes.
    pub range: Option<(u64, Option<u64>)>,
    pub attributes: Vec<(String, AttrValue)>,
}

impl FormInput {
    pub fn to_input(&self) -> LeadInput {
        let mut i = LeadInput::default();
        let f = |k: usize| self.fields[k].clone();
        i.lead_id = f(0);
        i.email = f(1);
        i.first_name = f(2);
        i.last_name = f(3);
        i.company = f(4);
        i.website = f(5);
        i.country = f(6);
        i.region = f(7);
        i.postal_code = f(8);
        i.phone = f(9);
        i.employees = f(10);
        i.annual_revenue = f(11);
        i.product_interest = f(12);
        i.source = f(13);
        i.utm_source = f(14);
        i.utm_medium = f(15);
        i.utm_campaign = f(16);
        i.utm_term = f(17);
        i.utm_content = f(18);
        if let Some((min, max)) = self.range {
            i.employees = Some(match max {
                None => format!("{min}+"),
                Some(m) => format!("{}-{}", min.min(m), min.max(m)),
            });
        }
        for (k, v) in &self.attributes {
            i.attributes.insert(format!("x_{k}"), v.to_json());
        }
        i
    }
}

// ---------------------------------------------------------------- policy

/// Decisions equal except for their traces.
fn same_decision(a: &RouteDecision, b: &RouteDecision, what: &str) {
    let mut a = a.clone();
    a.trace = b.trace.clone();
    assert_eq!(&a, b, "{what}");
}

/// Evaluates with the trace on, off and capped; checks they decide alike
/// and that explain renders. Returns the traced decision.
pub fn evaluate_all_ways(policy: &Policy, lead: &Lead, facts: &Facts<'_>) -> RouteDecision {
    let on = policy.evaluate(lead, facts);
    let off = policy.evaluate_with(lead, facts, EvalOptions::without_trace());
    assert!(off.trace.events.is_empty());
    same_decision(&off, &on, "trace on vs off");
    let capped = policy.evaluate_with(lead, facts, EvalOptions::default().with_max_trace_events(3));
    assert!(capped.trace.events.len() <= 3);
    same_decision(&capped, &on, "trace capped vs full");
    assert!(on.trace.events.len() <= EvalOptions::default().max_trace_events);
    let explained = policy.explain(&on);
    let _ = explained.to_string();
    let _ = policy.explain(&capped).to_string();
    on
}

/// A few leads of different shapes, for policies read from text.
pub static SAMPLE_LEADS: LazyLock<Vec<Lead>> =
    LazyLock::new(|| {
        [
        json!({"email": "ana@acme.com", "country": "US", "region": "CA", "postal_code": "94105",
               "employees": "1000+", "product_interest": "crm, billing", "source": "web"}),
        json!({"email": "bo@gmail.com", "country": "GB", "employees": "11-50"}),
        json!({"email": "x@mailinator.com"}),
        json!({"email": "li@globex.io", "country": "CA", "region": "ON", "postal_code": "M5V 2T6",
               "annual_revenue": "$10M-$50M", "utm_source": "ads", "plan": "pro"}),
    ]
    .iter()
    .map(|v| NORMALIZER.normalize_json(&v.to_string()).expect("sample lead").lead)
    .collect()
    });

const COUNTRIES: [&str; 6] = ["US", "CA", "GB", "DE", "FR", "AU"];
const REGIONS: [&str; 6] = ["US-CA", "US-NY", "US-TX", "CA-ON", "GB-ENG", "DE-BY"];
const PREFIXES: [&str; 6] = ["9", "94", "941", "10", "M5", "8"];
const PRODUCTS: [&str; 3] = ["crm", "billing", "plg"];
const SOURCES: [&str; 3] = ["web", "ads", "event"];
const DOMAINS: [&str; 3] = ["acme.com", "globex.io", "initech.co.uk"];
const TIERS: [&str; 2] = ["gold", "silver"];
const KINDS: [&str; 3] = ["business", "free", "disposable"];
/// The directory: `queue` is always active (the fallback's owner).
const OWNERS: [&str; 5] = ["queue", "ana", "bob", "cara", "dev"];

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn picks(list: &[&str], idx: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = idx
        .iter()
        .take(4)
        .map(|&i| pick(list, i).to_owned())
        .collect();
    if out.is_empty() {
        out.push(list[0].to_owned());
    }
    out
}

/// A condition over the reference interpreter's vocabulary.
#[derive(Debug, Arbitrary)]
pub enum CondPlan {
    All(Vec<CondPlan>),
    Any(Vec<CondPlan>),
    Not(Box<CondPlan>),
    Always(bool),
    Territory(u8),
    Country(Vec<u8>),
    Region(Vec<u8>),
    Postal(u8, Vec<u8>),
    Employees(Option<u16>, Option<u16>),
    Revenue(Option<u32>, Option<u32>),
    Product(Vec<u8>),
    EmailKind(Vec<u8>),
    Source(Vec<u8>),
    Domain(Vec<u8>),
    Account {
        exists: Option<bool>,
        has_owner: Option<bool>,
        owner_active: Option<bool>,
        is_customer: Option<bool>,
        tier: Option<Vec<u8>>,
    },
    Contact {
        exists: Option<bool>,
        has_owner: Option<bool>,
    },
}

fn bounds(min: Option<u64>, max: Option<u64>) -> Value {
    let (min, max) = match (min, max) {
        (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
        other => other,
    };
    let mut m = serde_json::Map::new();
    if let Some(v) = min {
        m.insert("min".into(), json!(v));
    }
    if let Some(v) = max {
        m.insert("max".into(), json!(v));
    }
    Value::Object(m)
}

fn flags(pairs: &[(&str, Option<bool>)]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.map(|b| ((*k).to_owned(), json!(b))))
        .collect()
}

impl CondPlan {
    pub fn to_json(&self, territories: usize, depth: usize) -> Value {
        let sub = |items: &[CondPlan]| -> Vec<Value> {
            items
                .iter()
                .take(4)
                .map(|c| c.to_json(territories, depth + 1))
                .collect()
        };
        if depth > 4 {
            return json!({"always": true});
        }
        match self {
            CondPlan::All(items) => json!({"all": sub(items)}),
            CondPlan::Any(items) => json!({"any": sub(items)}),
            CondPlan::Not(inner) => json!({"not": inner.to_json(territories, depth + 1)}),
            CondPlan::Always(b) => json!({"always": b}),
            CondPlan::Territory(i) if territories > 0 => {
                json!({"territory": format!("t{}", usize::from(*i) % territories)})
            }
            CondPlan::Territory(_) => json!({"always": true}),
            CondPlan::Country(v) => json!({"country": picks(&COUNTRIES, v)}),
            CondPlan::Region(v) => json!({"region": picks(&REGIONS, v)}),
            CondPlan::Postal(c, v) => json!({"postal_code": {
                "country": pick(&COUNTRIES, *c), "prefixes": picks(&PREFIXES, v)}}),
            CondPlan::Employees(a, b) => {
                json!({"employees": bounds(a.map(u64::from), b.map(u64::from))})
            }
            CondPlan::Revenue(a, b) => json!({"annual_revenue": bounds(
                a.map(|x| u64::from(x) * 1000), b.map(|x| u64::from(x) * 1000))}),
            CondPlan::Product(v) => json!({"product_interest": picks(&PRODUCTS, v)}),
            CondPlan::EmailKind(v) => json!({"email_kind": picks(&KINDS, v)}),
            CondPlan::Source(v) => json!({"source": picks(&SOURCES, v)}),
            CondPlan::Domain(v) => json!({"company_domain": picks(&DOMAINS, v)}),
            CondPlan::Account {
                exists,
                has_owner,
                owner_active,
                is_customer,
                tier,
            } => {
                let mut m = flags(&[
                    ("exists", *exists),
                    ("has_owner", *has_owner),
                    ("owner_active", *owner_active),
                    ("is_customer", *is_customer),
                ]);
                if let Some(t) = tier {
                    m.insert("tier".into(), json!(picks(&TIERS, t)));
                }
                if m.is_empty() {
                    m.insert("exists".into(), json!(true));
                }
                json!({"account": m})
            }
            CondPlan::Contact { exists, has_owner } => {
                let mut m = flags(&[("exists", *exists), ("has_owner", *has_owner)]);
                if m.is_empty() {
                    m.insert("exists".into(), json!(false));
                }
                json!({"contact": m})
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
pub enum AssignPlan {
    Nobody,
    AccountOwner,
    ContactOwner,
    Owner(u8),
    Pool(u8),
}

#[derive(Debug, Arbitrary)]
pub struct RulePlan {
    pub when: CondPlan,
    pub assign: AssignPlan,
    pub to_fallback: bool,
}

#[derive(Debug, Arbitrary)]
pub struct PoolPlan {
    pub members: Vec<(u8, u8)>,
    pub fallback_to_queue: bool,
}

#[derive(Debug, Arbitrary)]
pub struct TerritoryPlan {
    pub countries: Vec<u8>,
    pub regions: Vec<u8>,
    pub exclude_regions: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
pub struct LeadPlan {
    pub email: (u8, u8),
    pub country: Option<u8>,
    pub region: Option<u8>,
    pub postal: Option<u8>,
    pub employees: Option<(u16, Option<u16>)>,
    pub revenue: Option<u32>,
    pub products: Vec<u8>,
    pub source: Option<u8>,
    pub website: Option<u8>,
    pub account: Option<(Option<u8>, bool, Option<u8>)>,
}

impl LeadPlan {
    pub fn lead(&self) -> Option<Lead> {
        let user = ["ana", "bo", "li"][usize::from(self.email.0) % 3];
        let domain =
            ["acme.com", "gmail.com", "mailinator.com", "globex.io"][usize::from(self.email.1) % 4];
        let mut v = json!({"email": format!("{user}@{domain}")});
        let o = v.as_object_mut()?;
        if let Some(c) = self.country {
            o.insert("country".into(), json!(pick(&COUNTRIES, c)));
        }
        if let Some(r) = self.region {
            o.insert("region".into(), json!(pick(&REGIONS, r)));
        }
        if let Some(p) = self.postal {
            let code = ["94105", "10001", "M5V 2T6", "90210", "SW1A 1AA", "80331"];
            o.insert("postal_code".into(), json!(pick(&code, p)));
        }
        if let Some((a, b)) = self.employees {
            let text = match b {
                None => format!("{a}+"),
                Some(b) => format!("{}-{}", a.min(b), a.max(b)),
            };
            o.insert("employees".into(), json!(text));
        }
        if let Some(r) = self.revenue {
            o.insert("annual_revenue".into(), json!(u64::from(r) * 1000));
        }
        if !self.products.is_empty() {
            o.insert(
                "product_interest".into(),
                json!(picks(&PRODUCTS, &self.products).join(",")),
            );
        }
        if let Some(s) = self.source {
            o.insert("source".into(), json!(pick(&SOURCES, s)));
        }
        if let Some(w) = self.website {
            o.insert("website".into(), json!(pick(&DOMAINS, w)));
        }
        normalized_lead(v.to_string())
    }

    pub fn account(&self) -> Option<Account> {
        let (owner, customer, tier) = self.account?;
        let mut a = Account::new("acc-1", "Account");
        a.owner = owner.map(|o| {
            // Owners of the directory, and one that is not in it.
            let all = ["queue", "ana", "bob", "cara", "dev", "stranger"];
            pick(&all, o).to_owned()
        });
        a.is_customer = customer;
        a.tier = tier.map(|t| pick(&TIERS, t).to_owned());
        Some(a)
    }
}

/// How many generated leads [`normalized_lead`] remembers before it
/// starts over (a bound on the harness's memory, not on what is tested).
const LEAD_CACHE_MAX: usize = 4096;

thread_local! {
    static LEAD_CACHE: RefCell<HashMap<String, Option<Lead>>> = RefCell::new(HashMap::new());
}

/// The generated lead `json` normalized, remembered by its text.
///
/// The generator's vocabulary is small, so the same few leads come back on
/// almost every input; normalizing them again was 7.6 % of
/// `policy_structured`'s time (a `perf` profile) and tests nothing this
/// target is about (the `normalize_*` targets fuzz the normalizer).
/// `Normalizer::normalize_json` is pure, so a remembered lead is the lead.
fn normalized_lead(json: String) -> Option<Lead> {
    LEAD_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(lead) = cache.get(&json) {
            return lead.clone();
        }
        let lead = NORMALIZER.normalize_json(&json).ok().map(|n| n.lead);
        if cache.len() >= LEAD_CACHE_MAX {
            cache.clear();
        }
        cache.insert(json, lead.clone());
        lead
    })
}

/// A whole policy, valid by construction except for what compile may still
/// find (unreachable rules, inactive direct owners): those rules are dropped.
#[derive(Debug, Arbitrary)]
pub struct PolicyPlan {
    /// Which of `ana`, `bob`, `cara`, `dev` are active.
    pub active: [bool; 4],
    pub territories: Vec<TerritoryPlan>,
    pub pools: Vec<PoolPlan>,
    pub rules: Vec<RulePlan>,
    pub fallback_nobody: bool,
    pub leads: Vec<LeadPlan>,
}

impl PolicyPlan {
    pub fn spec_json(&self) -> Value {
        let owners: Vec<Value> = OWNERS
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let active = i == 0 || self.active[i - 1];
                json!({"id": id, "name": id, "active": active})
            })
            .collect();
        let territories: Vec<Value> = self
            .territories
            .iter()
            .take(4)
            .enumerate()
            .map(|(i, t)| {
                let mut v =
                    json!({"id": format!("t{i}"), "countries": picks(&COUNTRIES, &t.countries)});
                if !t.regions.is_empty() {
                    v["regions"] = json!(picks(&REGIONS, &t.regions));
                }
                if !t.exclude_regions.is_empty() {
                    v["exclude"] = json!({"regions": picks(&REGIONS, &t.exclude_regions)});
                }
                v
            })
            .collect();
        let pools: Vec<Value> = self
            .pools
            .iter()
            .take(3)
            .enumerate()
            .map(|(i, p)| {
                let mut members: Vec<Value> = Vec::new();
                for (o, w) in p.members.iter().take(4) {
                    let id = pick(&OWNERS[1..], *o);
                    if !members.iter().any(|m| m["owner"] == id) {
                        members.push(json!({"owner": id, "weight": 1 + w % 3}));
                    }
                }
                if members.is_empty() {
                    members.push(json!({"owner": "ana"}));
                }
                let mut v = json!({"id": format!("p{i}"), "members": members});
                if p.fallback_to_queue {
                    v["fallback"] = json!({"owner": "queue"});
                }
                v
            })
            .collect();
        let n_terr = territories.len();
        let n_pools = pools.len();
        let rules: Vec<Value> = self
            .rules
            .iter()
            .take(24)
            .enumerate()
            .map(|(i, r)| {
                let assign = match r.assign {
                    AssignPlan::Nobody => json!("nobody"),
                    AssignPlan::AccountOwner => json!("account_owner"),
                    AssignPlan::ContactOwner => json!("contact_owner"),
                    AssignPlan::Owner(o) => json!({"owner": pick(&OWNERS, o)}),
                    AssignPlan::Pool(p) if n_pools > 0 => {
                        json!({"pool": format!("p{}", usize::from(p) % n_pools)})
                    }
                    AssignPlan::Pool(_) => json!("nobody"),
                };
                let mut then = json!({"assign": assign});
                if r.to_fallback {
                    then["if_unavailable"] = json!("fallback");
                }
                json!({"id": format!("r{i}"), "when": r.when.to_json(n_terr, 0), "then": then})
            })
            .collect();
        let fallback = if self.fallback_nobody {
            json!({"assign": "nobody"})
        } else {
            json!({"assign": {"owner": "queue"}})
        };
        json!({"name": "fuzz", "version": "1", "owners": owners, "territories": territories,
               "pools": pools, "rules": rules, "fallback": fallback})
    }
}

/// Compiles `spec`, dropping the rules compile rejects (unreachable, an
/// inactive direct owner), until it compiles. `None` if something other
/// than a rule is wrong, which the generator should never produce.
pub fn compile_dropping_bad_rules(mut spec: PolicySpec) -> (PolicySpec, Policy) {
    for _ in 0..32 {
        match leadroute::compile(&spec) {
            Ok(p) => return (spec, p),
            Err(e) => {
                let mut bad: Vec<usize> = e
                    .errors
                    .iter()
                    .map(|d| {
                        d.path
                            .strip_prefix("rules[")
                            .and_then(|rest| rest.split(']').next())
                            .and_then(|n| n.parse().ok())
                            .unwrap_or_else(|| {
                                panic!("a generated policy has a non-rule error: {e}")
                            })
                    })
                    .collect();
                bad.sort_unstable();
                bad.dedup();
                for i in bad.into_iter().rev() {
                    spec.rules.remove(i);
                }
            }
        }
    }
    panic!("a generated policy never compiled");
}
