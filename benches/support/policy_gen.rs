//! Deterministic generator of territory-plan routing policies and of leads
//! that hit early, late and no rules, plus a reference evaluator.
//!
//! Shared by `benches/evaluate.rs`, `benches/compare` and the differential
//! test: include it with `#[path = "support/policy_gen.rs"] mod policy_gen;`.
//!
//! A generated policy has `n` rules shaped like a real territory plan:
//!
//! ```text
//! country set × (territory | region list | postal prefixes) × employee band × product interest
//!     → a named owner (about 70 %) or a pool
//! ```
//!
//! plus a fallback pool. Slices of the map (a territory of regions, a group
//! of postal prefixes, a set of countries) are disjoint, so a lead with one
//! place, one exact head count and one product token usually matches a single
//! rule; about one rule in ten uses a wider band or a product bundle, so some
//! leads match several rules and the first one must win. Rules an earlier
//! named-owner rule would make unreachable (a compile error) are never
//! generated.
//!
//! [`reference`] is deliberately naive: a plain in-order scan over the *spec*
//! (not the compiled policy) with a tiny interpreter of the conditions the
//! generator and the seed policy use. It is what the engine, however it is
//! indexed, must agree with.
//!
//! Randomness is a SplitMix64 stream from a fixed seed: the same seed gives
//! the same policy and leads on every machine.
#![allow(dead_code)]

use std::collections::HashMap;

use leadroute::PolicySpec;
use leadroute::crm::Account;
use leadroute::lead::EmailKind;
use leadroute::policy::spec::{
    ActionSpec, Assignee, Bounds, Condition, IfUnavailable, OwnerSpec, PoolSpec, PostalSpec,
    RecordTest, Target, TerritorySpec,
};
use leadroute::{Lead, LeadInput, Normalizer};

/// Policy sizes measured by the `scale` benchmarks.
pub const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// The seed every benchmark uses.
pub const DEFAULT_SEED: u64 = 0x00C0_FFEE_1EAD_2026;

/// SplitMix64: tiny, fast, good enough for test data, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        // Multiply-shift: no modulo bias worth caring about for test data.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below((hi - lo + 1) as usize) as u64
    }

    /// True with probability `percent / 100`.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------
// Reference data: places, bands, products.

/// Countries split into region groups (ISO 3166-2 codes the crate knows).
const REGION_COUNTRIES: &[(&str, &[&str])] = &[
    (
        "CA",
        &[
            "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
        ],
    ),
    ("AU", &["ACT", "NSW", "NT", "QLD", "SA", "TAS", "VIC", "WA"]),
    (
        "BR",
        &[
            "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
            "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
        ],
    ),
    (
        "MX",
        &[
            "AGU", "BCN", "BCS", "CAM", "CHP", "CHH", "CMX", "COA", "COL", "DUR", "GUA", "GRO",
            "HID", "JAL", "MEX", "MIC", "MOR", "NAY", "NLE", "OAX", "PUE", "QUE", "ROO", "SLP",
            "SIN", "SON", "TAB", "TAM", "TLA", "VER", "YUC", "ZAC",
        ],
    ),
    (
        "IN",
        &[
            "AN", "AP", "AR", "AS", "BR", "CH", "CG", "DH", "DL", "GA", "GJ", "HR", "HP", "JK",
            "JH", "KA", "KL", "LA", "LD", "MP", "MH", "MN", "ML", "MZ", "NL", "OD", "PY", "PB",
            "RJ", "SK", "TN", "TS", "TR", "UP", "UK", "WB",
        ],
    ),
    ("GB", &["ENG", "NIR", "SCT", "WLS"]),
];

/// Countries split by postal prefix: (country, prefix digits, first, last,
/// digits of a full code).
const POSTAL_COUNTRIES: &[(&str, usize, u32, u32, usize)] = &[
    ("US", 3, 10, 999, 5),
    ("DE", 2, 1, 99, 5),
    ("FR", 2, 1, 95, 5),
    ("NL", 2, 10, 99, 4),
];

/// Countries sold as a set, with no finer split.
const COUNTRY_SETS: &[&[&str]] = &[
    &["AT", "CH"],
    &["SE", "NO", "DK", "FI"],
    &["ES", "PT"],
    &["IT"],
    &["JP"],
    &["SG", "MY", "TH"],
    &["NZ"],
    &["IE"],
    &["BE", "LU"],
    &["PL", "CZ"],
    &["IL"],
    &["ZA"],
    &["AR", "CL"],
    &["KR"],
    &["AE", "SA"],
];

/// Countries no generated rule mentions.
const UNCOVERED_COUNTRIES: &[&str] = &["KE", "VN", "EG", "PE", "IS"];

/// Employee bands: four disjoint ones first, then wider ones.
fn bands() -> [Bounds; 7] {
    [
        Bounds::between(1, 50),
        Bounds::between(51, 200),
        Bounds::between(201, 1000),
        Bounds::at_least(1001),
        Bounds::at_least(201),
        Bounds::at_most(200),
        Bounds::between(51, 1000),
    ]
}
const DISJOINT_BANDS: usize = 4;

/// Product groups: five disjoint ones first, then bundles.
const PRODUCTS: &[&[&str]] = &[
    &["analytics"],
    &["crm", "sales cloud"],
    &["billing"],
    &["payments"],
    &["data platform"],
    &["analytics", "data platform"],
    &["billing", "payments"],
];
const DISJOINT_PRODUCTS: usize = 5;

/// A product no rule mentions.
const UNKNOWN_PRODUCT: &str = "hardware";

// ---------------------------------------------------------------------------
// Slices of the map.

/// How a slice is written in a rule.
#[derive(Debug, Clone)]
pub enum SliceKind {
    /// `{"territory": id}` over a territory of regions of one country.
    Territory { id: String, regions: Vec<String> },
    /// `{"region": [...]}` inline.
    Regions(Vec<String>),
    /// `{"postal_code": {"country": c, "prefixes": [...]}}`.
    Postal {
        prefixes: Vec<String>,
        code_len: usize,
    },
    /// Only `{"country": [...]}`.
    Countries,
}

/// A disjoint piece of the map.
#[derive(Debug, Clone)]
pub struct Slice {
    pub countries: Vec<String>,
    pub kind: SliceKind,
}

fn slices(rng: &mut Rng) -> (Vec<Slice>, Vec<TerritorySpec>) {
    let mut out = Vec::new();
    let mut territories = Vec::new();
    for &(country, regions) in REGION_COUNTRIES {
        let mut i = 0;
        while i < regions.len() {
            let n = (1 + rng.below(3)).min(regions.len() - i);
            let codes: Vec<String> = regions[i..i + n]
                .iter()
                .map(|r| format!("{country}-{r}"))
                .collect();
            i += n;
            let kind = if rng.percent(50) {
                let id = format!("t-{}-{}", country.to_ascii_lowercase(), territories.len());
                territories
                    .push(TerritorySpec::countries(&id, Vec::<String>::new()).regions(&codes));
                SliceKind::Territory { id, regions: codes }
            } else {
                SliceKind::Regions(codes)
            };
            out.push(Slice {
                countries: vec![country.to_string()],
                kind,
            });
        }
    }
    for &(country, digits, first, last, code_len) in POSTAL_COUNTRIES {
        let mut p = first;
        while p <= last {
            let n = (1 + rng.below(2) as u32).min(last - p + 1);
            let prefixes = (p..p + n)
                .map(|x| format!("{x:0digits$}"))
                .collect::<Vec<_>>();
            p += n;
            out.push(Slice {
                countries: vec![country.to_string()],
                kind: SliceKind::Postal { prefixes, code_len },
            });
        }
    }
    for set in COUNTRY_SETS {
        out.push(Slice {
            countries: set.iter().map(|c| c.to_string()).collect(),
            kind: SliceKind::Countries,
        });
    }
    (out, territories)
}

// ---------------------------------------------------------------------------
// Policies.

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    /// Total number of rules (preamble included).
    pub rules: usize,
    pub seed: u64,
    /// Start with `reject-disposable` and `existing-account` rules, as real
    /// plans do.
    pub preamble: bool,
    /// Allow wider bands and product bundles (overlapping rules).
    pub overlap: bool,
    /// Only country-set slices (no regions, territories or postal codes):
    /// the shape of the 24-rule table in `ANCHORS.md`.
    pub countries_only: bool,
}

impl GenOptions {
    /// The benchmark shape: `rules` territory rules, light overlap, no preamble.
    pub fn bench(rules: usize) -> Self {
        GenOptions {
            rules,
            seed: DEFAULT_SEED,
            preamble: false,
            overlap: true,
            countries_only: false,
        }
    }

    /// The `ANCHORS.md` shape: country set × employee band × product, named
    /// owners and pools, first match, plus a fallback.
    pub fn anchor(rules: usize) -> Self {
        GenOptions {
            rules,
            seed: DEFAULT_SEED,
            preamble: false,
            overlap: false,
            countries_only: true,
        }
    }
}

/// One generated territory rule, as the generator thinks of it.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub slice: usize,
    pub band: usize,
    pub product: usize,
}

/// A generated policy and what it was generated from.
#[derive(Debug, Clone)]
pub struct Generated {
    pub spec: PolicySpec,
    pub slices: Vec<Slice>,
    /// The slices the rules use.
    pub active: Vec<usize>,
    /// Per rule of `spec.rules`; `None` for preamble rules.
    pub meta: Vec<Option<RuleMeta>>,
    /// Owner ids that are active, for accounts.
    pub active_owners: Vec<String>,
}

/// The inactive owner (kept in the directory, as departed reps are).
pub const DEPARTED: &str = "departed";

/// Generates a policy. The spec always compiles.
pub fn policy(opts: GenOptions) -> Generated {
    let mut rng = Rng::new(opts.seed);
    let (slices, territories) = slices(&mut rng);

    let n_owners = (opts.rules / 4).clamp(8, 400);
    let owners: Vec<String> = (0..n_owners).map(|i| format!("rep-{i:04}")).collect();
    let n_pools = (opts.rules / 20).clamp(2, 60);

    let mut b = PolicySpec::new(
        format!("generated-{}", opts.rules),
        format!("{:x}", opts.seed),
    );
    for o in &owners {
        b = b.owner(OwnerSpec::new(o, o.to_uppercase()).email(format!("{o}@example.com")));
    }
    b = b
        .owner(OwnerSpec::new(DEPARTED, "Departed Rep").inactive())
        .owner(OwnerSpec::new("queue-a", "Inbound A"))
        .owner(OwnerSpec::new("queue-b", "Inbound B"));
    for t in territories {
        b = b.territory(t);
    }
    for p in 0..n_pools {
        let mut pool = PoolSpec::new(format!("pool-{p:02}"));
        let mut members: Vec<&String> = Vec::new();
        let size = 2 + rng.below(3);
        while members.len() < size {
            let o = rng.pick(&owners);
            if !members.contains(&o) {
                members.push(o);
            }
        }
        for o in members {
            pool = pool.member(o.as_str(), 1 + rng.below(3) as u32);
        }
        b = b.pool(pool);
    }
    b = b.pool(
        PoolSpec::new("inbound")
            .member("queue-a", 1)
            .member("queue-b", 1),
    );

    let mut meta = Vec::with_capacity(opts.rules);
    let mut n = 0;
    if opts.preamble && opts.rules >= 2 {
        b = b.rule(
            "reject-disposable",
            Condition::email_kind([EmailKind::Disposable]),
            ActionSpec::nobody(),
        );
        b = b.rule(
            "existing-account",
            Condition::account_has_owner(),
            ActionSpec::account_owner(),
        );
        meta.push(None);
        meta.push(None);
        n = 2;
    }

    // (band, product, named owner) already used per slice, to keep every
    // rule reachable.
    let mut used: HashMap<usize, Vec<(usize, usize, bool)>> = HashMap::new();
    // A plan of n rules covers about n / 8 slices of the map, each split by
    // band and product.
    let mut active: Vec<usize> = (0..slices.len())
        .filter(|&i| !opts.countries_only || matches!(slices[i].kind, SliceKind::Countries))
        .collect();
    rng.shuffle(&mut active);
    active.truncate((opts.rules / 8).clamp(2, active.len()));
    let mut attempts = 0usize;
    while n < opts.rules {
        attempts += 1;
        assert!(
            attempts < 100 * opts.rules + 1000,
            "generator ran out of distinct rules"
        );
        let slice = *rng.pick(&active);
        let wide = opts.overlap && rng.percent(10);
        let band = if wide && rng.percent(50) {
            DISJOINT_BANDS + rng.below(bands().len() - DISJOINT_BANDS)
        } else {
            rng.below(DISJOINT_BANDS)
        };
        let product = if wide && rng.percent(50) {
            DISJOINT_PRODUCTS + rng.below(PRODUCTS.len() - DISJOINT_PRODUCTS)
        } else {
            rng.below(DISJOINT_PRODUCTS)
        };
        let to_owner = rng.percent(70);
        let earlier = used.entry(slice).or_default();
        // Same combination again, or an earlier named-owner rule that covers
        // this one: skip (an identical pool rule would compile, but it is
        // not what a plan looks like).
        let clash = earlier.iter().any(|&(eb, ep, eo)| {
            (eb == band && ep == product)
                || (eo && band_within(band, eb) && products_within(product, ep))
        });
        if clash {
            continue;
        }
        earlier.push((band, product, to_owner));

        let s = &slices[slice];
        let mut parts = vec![Condition::country(s.countries.iter().cloned())];
        match &s.kind {
            SliceKind::Territory { id, .. } => parts.push(Condition::territory(id)),
            SliceKind::Regions(r) => parts.push(Condition::Region(r.clone())),
            SliceKind::Postal { prefixes, .. } => {
                let mut p = PostalSpec::default();
                p.country = s.countries[0].clone();
                p.prefixes = prefixes.clone();
                parts.push(Condition::PostalCode(p));
            }
            SliceKind::Countries => {}
        }
        parts.push(Condition::Employees(bands()[band]));
        parts.push(Condition::product_interest(
            PRODUCTS[product].iter().copied(),
        ));
        let action = if to_owner {
            ActionSpec::owner(rng.pick(&owners).as_str())
        } else {
            ActionSpec::pool(format!("pool-{:02}", rng.below(n_pools)))
        };
        b = b.rule(format!("r{n:05}"), Condition::All(parts), action);
        meta.push(Some(RuleMeta {
            slice,
            band,
            product,
        }));
        n += 1;
    }
    let spec = b.fallback(ActionSpec::pool("inbound"));
    let mut active_owners = owners;
    active_owners.push("queue-a".into());
    Generated {
        spec,
        slices,
        active,
        meta,
        active_owners,
    }
}

/// Band `a` lies within band `b`.
fn band_within(a: usize, b: usize) -> bool {
    let (x, y) = (bands()[a], bands()[b]);
    let lo = match (x.min, y.min) {
        (_, None) => true,
        (Some(p), Some(q)) => p >= q,
        (None, Some(_)) => false,
    };
    let hi = match (x.max, y.max) {
        (_, None) => true,
        (Some(p), Some(q)) => p <= q,
        (None, Some(_)) => false,
    };
    lo && hi
}

/// Product group `a` is a subset of group `b`.
fn products_within(a: usize, b: usize) -> bool {
    PRODUCTS[a].iter().all(|p| PRODUCTS[b].contains(p))
}

// ---------------------------------------------------------------------------
// Leads.

/// A lead with the CRM account the caller matched (if any) and what the
/// reference scan says must happen to it.
#[derive(Debug, Clone)]
pub struct Case {
    pub lead: Lead,
    pub account: Option<Account>,
    pub expected: Expected,
}

/// The early / late / fallback leads of one policy.
#[derive(Debug, Clone)]
pub struct BenchCases {
    pub early: Case,
    pub late: Case,
    pub fallback: Case,
}

fn business_input(rng: &mut Rng) -> LeadInput {
    let k = rng.below(1_000_000);
    let mut input = LeadInput::from_email(format!("buyer{k}@company{k}.com"));
    input.company = Some(format!("Company {k} Inc"));
    input
}

fn place(rng: &mut Rng, slice: &Slice, input: &mut LeadInput) {
    let country = rng.pick(&slice.countries).clone();
    match &slice.kind {
        SliceKind::Territory { regions, .. } | SliceKind::Regions(regions) => {
            input.region = Some(rng.pick(regions).clone());
        }
        SliceKind::Postal { prefixes, code_len } => {
            let prefix = rng.pick(prefixes);
            let rest = code_len - prefix.len();
            let mut code = prefix.clone();
            for _ in 0..rest {
                code.push(char::from(b'0' + rng.below(10) as u8));
            }
            if country == "NL" {
                code.push_str("AB");
            }
            input.postal_code = Some(code);
        }
        SliceKind::Countries => {}
    }
    input.country = Some(country);
}

fn head_count(rng: &mut Rng, band: usize) -> u64 {
    let b = bands()[band];
    let lo = b.min.unwrap_or(1);
    let hi = b.max.unwrap_or(lo.max(1001) * 20);
    rng.range(lo, hi)
}

impl Generated {
    /// A lead input that satisfies territory rule `i` (it may also satisfy
    /// an earlier rule: ask [`reference`]).
    pub fn input_for_rule(&self, i: usize, rng: &mut Rng) -> LeadInput {
        let m = self.meta[i].expect("a territory rule");
        let mut input = business_input(rng);
        place(rng, &self.slices[m.slice], &mut input);
        input.employees = Some(head_count(rng, m.band).to_string());
        input.product_interest = Some(rng.pick(PRODUCTS[m.product]).to_string());
        input
    }

    /// A lead input in a covered place with a product no rule mentions.
    pub fn input_for_no_rule(&self, rng: &mut Rng) -> LeadInput {
        let mut input = business_input(rng);
        let slice = *rng.pick(&self.active);
        place(rng, &self.slices[slice], &mut input);
        let band = rng.below(DISJOINT_BANDS);
        input.employees = Some(head_count(rng, band).to_string());
        input.product_interest = Some(UNKNOWN_PRODUCT.to_string());
        input
    }

    /// Any lead input: aimed at a rule, near a band edge, in an uncovered
    /// place, with several products, a free or disposable email, missing
    /// fields…
    pub fn random_input(&self, rng: &mut Rng) -> LeadInput {
        let territory: Vec<usize> = (0..self.meta.len())
            .filter(|&i| self.meta[i].is_some())
            .collect();
        let mut input = if !territory.is_empty() && rng.percent(55) {
            self.input_for_rule(*rng.pick(&territory), rng)
        } else {
            let mut input = business_input(rng);
            if rng.percent(85) {
                let slice = if rng.percent(75) {
                    *rng.pick(&self.active)
                } else {
                    rng.below(self.slices.len())
                };
                place(rng, &self.slices[slice], &mut input);
            } else {
                input.country = Some(rng.pick(UNCOVERED_COUNTRIES).to_string());
            }
            let band = rng.below(bands().len());
            input.employees = Some(head_count(rng, band).to_string());
            let group = rng.pick(PRODUCTS);
            input.product_interest = Some(if rng.percent(10) {
                UNKNOWN_PRODUCT.to_string()
            } else {
                rng.pick(group).to_string()
            });
            input
        };
        // Perturbations, each independently.
        if rng.percent(15) {
            let edges = ["1", "50", "51", "200", "201", "1000", "1001", "1000000"];
            input.employees = Some(rng.pick(&edges).to_string());
        }
        if rng.percent(8) {
            let ranges = [
                "51-200", "150-300", "201-1000", "1,000+", "10-50", "1-10000",
            ];
            input.employees = Some(rng.pick(&ranges).to_string());
        }
        if rng.percent(5) {
            input.employees = None;
        }
        if rng.percent(12) {
            let group = *rng.pick(PRODUCTS);
            let extra = rng.pick(group).to_string();
            let first = input.product_interest.take().unwrap_or_default();
            input.product_interest = Some(if rng.percent(50) {
                format!("{first}; {}", extra.to_uppercase())
            } else {
                format!("{extra} | {first}")
            });
        }
        if rng.percent(4) {
            input.product_interest = None;
        }
        if rng.percent(5) {
            input.country = None;
        }
        if rng.percent(6) {
            let provider = if rng.percent(50) {
                "gmail.com"
            } else {
                "mailinator.com"
            };
            input.email = Some(format!("someone{}@{provider}", rng.below(1000)));
        }
        input
    }

    /// A random CRM account (or none): active, inactive or unknown owner,
    /// or no owner.
    pub fn random_account(&self, rng: &mut Rng) -> Option<Account> {
        let owner = match rng.below(20) {
            0..=11 => return None,
            12..=14 => Some(rng.pick(&self.active_owners).clone()),
            15..=16 => Some(DEPARTED.to_string()),
            17 => Some("not-in-directory".to_string()),
            _ => None,
        };
        let mut a = Account::new(format!("acc-{}", rng.below(10_000)), "Account");
        a.owner = owner;
        a.is_customer = rng.percent(30);
        Some(a)
    }

    /// The early / late / fallback leads the `scale` benchmarks use.
    pub fn bench_cases(&self, normalizer: &Normalizer) -> BenchCases {
        let mut rng = Rng::new(DEFAULT_SEED ^ self.spec.rules.len() as u64);
        let case = |input: LeadInput| -> Case {
            let lead = normalizer
                .normalize(&input)
                .expect("generated leads normalize")
                .lead;
            let expected = reference(&self.spec, &lead, None);
            Case {
                lead,
                account: None,
                expected,
            }
        };
        let first = self.meta.iter().position(Option::is_some).expect("rules");
        let early = case(self.input_for_rule(first, &mut rng));
        // The lead aimed at one of the last rules that the reference sends
        // furthest down the list.
        let n = self.meta.len();
        let late = (n.saturating_sub(16)..n)
            .filter(|&i| self.meta[i].is_some())
            .flat_map(|i| (0..4).map(move |_| i))
            .map(|i| case(self.input_for_rule(i, &mut rng)))
            .max_by_key(|c| c.expected.rule.unwrap_or(0))
            .expect("late case");
        let fallback = case(self.input_for_no_rule(&mut rng));
        assert!(fallback.expected.fallback, "the fallback lead hits no rule");
        BenchCases {
            early,
            late,
            fallback,
        }
    }
}

// ---------------------------------------------------------------------------
// The reference: a plain in-order scan over the spec.

/// What must happen to a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Index of the deciding rule; `None` when the fallback decided.
    pub rule: Option<usize>,
    pub rule_id: Option<String>,
    pub owner: Option<String>,
    pub fallback: bool,
}

impl Expected {
    /// What `d` decided differently from this (the rule, the owner or the
    /// fallback flag, in that order), or `None` when it agrees.
    pub fn mismatch(&self, d: &leadroute::RouteDecision) -> Option<String> {
        if d.rule.as_deref() != self.rule_id.as_deref() {
            return Some(format!("rule: got {:?}, want {:?}", d.rule, self.rule_id));
        }
        if d.owner.as_deref() != self.owner.as_deref() {
            return Some(format!("owner: got {:?}, want {:?}", d.owner, self.owner));
        }
        if d.fallback != self.fallback {
            return Some(format!(
                "fallback: got {}, want {}",
                d.fallback, self.fallback
            ));
        }
        None
    }
}

/// Evaluates `spec` for `lead` (with `account` as the CRM match, no
/// contact, everyone available, fresh pool state) by scanning the rules in
/// order. Supports the conditions and actions the generator and the seed
/// policy use; panics on anything else.
pub fn reference(spec: &PolicySpec, lead: &Lead, account: Option<&Account>) -> Expected {
    for (i, rule) in spec.rules.iter().enumerate() {
        if !holds(spec, &rule.when, lead, account) {
            continue;
        }
        match assignee(spec, &rule.then.assign, account) {
            Ok(owner) => {
                return Expected {
                    rule: Some(i),
                    rule_id: Some(rule.id.clone()),
                    owner,
                    fallback: false,
                };
            }
            Err(()) => match &rule.then.if_unavailable {
                IfUnavailable::NextRule => continue,
                IfUnavailable::Fallback => break,
                other => panic!("reference: if_unavailable {other:?} not supported"),
            },
        }
    }
    let fallback = spec.fallback.as_ref().expect("a fallback");
    let owner = assignee(spec, &fallback.assign, account).unwrap_or(None);
    Expected {
        rule: None,
        rule_id: None,
        owner,
        fallback: true,
    }
}

fn owner_active(spec: &PolicySpec, id: &str) -> bool {
    spec.owners.iter().any(|o| o.id == id && o.active)
}

/// `Ok(owner)` or `Err(())` when the assignee cannot take the lead.
fn assignee(
    spec: &PolicySpec,
    assign: &Assignee,
    account: Option<&Account>,
) -> Result<Option<String>, ()> {
    match assign {
        Assignee::Nobody => Ok(None),
        Assignee::AccountOwner => match account.and_then(|a| a.owner.as_deref()) {
            Some(o) if owner_active(spec, o) => Ok(Some(o.to_string())),
            _ => Err(()),
        },
        Assignee::ContactOwner => Err(()),
        Assignee::Owner(o) => {
            if owner_active(spec, o) {
                Ok(Some(o.clone()))
            } else {
                Err(())
            }
        }
        Assignee::Pool(p) => pool_pick(spec, p, 0).map(Some),
        other => panic!("reference: assign {other:?} not supported"),
    }
}

/// Fresh rotation state, everyone available, no one at capacity: the first
/// active member with the highest weight; else the pool's fallback.
fn pool_pick(spec: &PolicySpec, id: &str, depth: usize) -> Result<String, ()> {
    let pool = spec.pools.iter().find(|p| p.id == id).ok_or(())?;
    let mut best: Option<(&str, u32)> = None;
    for m in &pool.members {
        if owner_active(spec, &m.owner) && best.is_none_or(|(_, w)| m.weight > w) {
            best = Some((&m.owner, m.weight));
        }
    }
    if let Some((o, _)) = best {
        return Ok(o.to_string());
    }
    match &pool.fallback {
        Some(Target::Owner(o)) if owner_active(spec, o) => Ok(o.clone()),
        Some(Target::Pool(p)) if depth < spec.pools.len() => pool_pick(spec, p, depth + 1),
        _ => Err(()),
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

fn token(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn within(range: Option<leadroute::lead::Range>, b: &Bounds) -> bool {
    let Some(r) = range else { return false };
    let lo = b.min.is_none_or(|m| r.min >= m);
    let hi = match (b.max, r.max) {
        (None, _) => true,
        (Some(m), Some(x)) => x <= m,
        (Some(_), None) => false,
    };
    lo && hi
}

fn postal_matches(p: &PostalSpec, lead: &Lead) -> bool {
    let Some(code) = lead.postal_code.as_deref() else {
        return false;
    };
    if !p.country.trim().is_empty() && !lead.country.is_some_and(|c| eq_ci(c.as_str(), &p.country))
    {
        return false;
    }
    p.prefixes
        .iter()
        .any(|x| code.starts_with(x.trim().to_uppercase().as_str()))
        || p.ranges.iter().any(|(from, to)| {
            let (from, to) = (from.trim().to_uppercase(), to.trim().to_uppercase());
            code.get(..from.len())
                .is_some_and(|head| head >= from.as_str() && head <= to.as_str())
        })
}

fn place_matches(set: &leadroute::policy::spec::PlaceSetSpec, lead: &Lead) -> bool {
    lead.country
        .is_some_and(|c| set.countries.iter().any(|x| eq_ci(x, c.as_str())))
        || lead
            .region
            .as_deref()
            .is_some_and(|r| set.regions.iter().any(|x| eq_ci(x, r)))
        || set.postal_codes.iter().any(|p| postal_matches(p, lead))
}

fn any_text(value: Option<&str>, list: &[String]) -> bool {
    value.is_some_and(|v| list.iter().any(|x| eq_ci(x, v)))
}

fn holds(spec: &PolicySpec, c: &Condition, lead: &Lead, account: Option<&Account>) -> bool {
    match c {
        Condition::All(items) => items.iter().all(|x| holds(spec, x, lead, account)),
        Condition::Any(items) => items.iter().any(|x| holds(spec, x, lead, account)),
        Condition::Not(inner) => !holds(spec, inner, lead, account),
        Condition::Always(b) => *b,
        Condition::Territory(id) => {
            let t = spec
                .territories
                .iter()
                .find(|t| t.id == *id)
                .expect("known territory");
            place_matches(&t.include, lead) && !place_matches(&t.exclude, lead)
        }
        Condition::Country(list) => lead
            .country
            .is_some_and(|c| list.iter().any(|x| eq_ci(x, c.as_str()))),
        Condition::Region(list) => any_text(lead.region.as_deref(), list),
        Condition::PostalCode(p) => postal_matches(p, lead),
        Condition::Employees(b) => within(lead.employees, b),
        Condition::AnnualRevenue(b) => within(lead.annual_revenue, b),
        Condition::ProductInterest(list) => lead
            .product_interest
            .iter()
            .any(|t| list.iter().any(|x| token(x) == *t)),
        Condition::EmailKind(kinds) => kinds.contains(&lead.email_kind),
        Condition::Source(l) => any_text(lead.source.as_deref(), l),
        Condition::CompanyDomain(l) => any_text(lead.company_domain.as_deref(), l),
        Condition::Account(t) => account_holds(spec, t, account),
        Condition::Contact(t) => contact_holds(t),
        other => panic!("reference: condition {other:?} not supported"),
    }
}

fn account_holds(spec: &PolicySpec, t: &RecordTest, account: Option<&Account>) -> bool {
    let owner = account.and_then(|a| a.owner.as_deref());
    let facts = [
        (t.exists, account.is_some()),
        (t.has_owner, owner.is_some()),
        (t.owner_active, owner.is_some_and(|o| owner_active(spec, o))),
        (t.is_customer, account.is_some_and(|a| a.is_customer)),
    ];
    assert!(
        t.field.is_none(),
        "reference: account field tests not supported"
    );
    facts
        .iter()
        .all(|(want, have)| want.is_none_or(|w| w == *have))
        && t.tier
            .as_ref()
            .is_none_or(|tiers| any_text(account.and_then(|a| a.tier.as_deref()), tiers))
}

/// The generated policies never see a contact: every fact is "absent".
fn contact_holds(t: &RecordTest) -> bool {
    [t.exists, t.has_owner, t.owner_active]
        .iter()
        .all(|want| want.is_none_or(|w| !w))
}
