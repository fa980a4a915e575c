//! `Policy::lint`: each lint finds what it is for, says where, and stays
//! quiet on policies without the problem (the seed policies among them).

use leadroute::policy::{Diagnostic, DiagnosticCode, Severity};
use leadroute::{Policy, PolicySpec, compile};

fn lints(toml_body: &str) -> Vec<Diagnostic> {
    let text = format!(
        r#"
name = "p"
version = "1"
owners = [{{ id = "ana", name = "Ana" }}, {{ id = "bob", name = "Bob" }}, {{ id = "queue", name = "Queue" }}]
{toml_body}
"#
    );
    let (policy, spec) = compiled(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let out = policy.lint(&spec);
    assert!(out.iter().all(|d| d.severity == Severity::Warning));
    out
}

/// A TOML policy and the spec it was compiled from (what `lint` reads).
fn compiled(text: &str) -> Result<(Policy, PolicySpec), leadroute::policy::CompileError> {
    let spec = PolicySpec::from_toml_str(text)?;
    Ok((compile(&spec)?, spec))
}

fn of(lints: &[Diagnostic], code: DiagnosticCode) -> Vec<&Diagnostic> {
    lints.iter().filter(|d| d.code == code).collect()
}

const FALLBACK: &str = "[fallback]\nassign = { owner = \"queue\" }\n";

#[test]
fn the_seed_policies_have_no_lints() {
    for text in [
        include_str!("../examples/policies/seed.toml"),
        include_str!("../examples/policies/seed.json"),
    ] {
        let spec = PolicySpec::from_toml_str(text)
            .or_else(|_| PolicySpec::from_json_str(text))
            .unwrap();
        let policy = compile(&spec).unwrap();
        assert_eq!(policy.lint(&spec), Vec::<Diagnostic>::new());
    }
}

#[test]
fn unused_owners_pools_and_territories() {
    let out = lints(&format!(
        r#"
territories = [{{ id = "emea", countries = ["DE"] }}, {{ id = "apac", countries = ["JP"] }}]
pools = [
  {{ id = "used", members = [{{ owner = "ana" }}], fallback = {{ pool = "overflow" }} }},
  {{ id = "overflow", members = [{{ owner = "ana" }}] }},
  {{ id = "orphan", members = [{{ owner = "ana" }}] }},
]
[[rules]]
id = "emea"
when = {{ territory = "emea" }}
then = {{ assign = {{ pool = "used" }} }}
{FALLBACK}"#
    ));
    let territory = of(&out, DiagnosticCode::UnusedTerritory);
    assert_eq!(territory.len(), 1);
    assert_eq!(territory[0].path, "territories[1].id");
    assert_eq!(territory[0].value.as_deref(), Some("apac"));
    // `overflow` is used through `used`'s fallback; only `orphan` is not.
    let pools = of(&out, DiagnosticCode::UnusedPool);
    assert_eq!(pools.len(), 1, "{pools:?}");
    assert_eq!(pools[0].path, "pools[2].id");
    assert_eq!(
        pools[0].message,
        "pool `orphan` is never used: no rule, fallback or used pool's fallback names it"
    );
    let owners = of(&out, DiagnosticCode::UnusedOwner);
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0].path, "owners[1].id");
    assert_eq!(owners[0].value.as_deref(), Some("bob"));
}

#[test]
fn an_availability_check_on_a_pool_or_nobody_is_ignored_and_said_so() {
    let out = lints(
        r#"
pools = [{ id = "team", members = [{ owner = "ana" }, { owner = "bob" }] }]
[[rules]]
id = "pool"
when = { country = ["DE"] }
then = { assign = { pool = "team" }, check_availability = true }
[[rules]]
id = "named"
when = { country = ["FR"] }
then = { assign = { owner = "ana" }, check_availability = true }
[[rules]]
id = "account"
when = { account = { has_owner = true } }
then = { assign = "account_owner", check_availability = true }
[fallback]
assign = "nobody"
check_availability = true
"#,
    );
    let ignored = of(&out, DiagnosticCode::IgnoredAvailabilityCheck);
    let paths: Vec<&str> = ignored.iter().map(|d| d.path.as_str()).collect();
    // A named owner and the account's owner are what the key is for.
    assert_eq!(
        paths,
        [
            "rules[0].then.check_availability",
            "fallback.check_availability"
        ]
    );
    assert_eq!(
        ignored[0].message,
        "`check_availability` has no effect here: the action assigns pool `team`, and it only applies to an owner the action names (`owner`, `account_owner`, `contact_owner`)"
    );
    assert!(
        ignored[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("respect_schedules")),
        "{:?}",
        ignored[0].help
    );
    assert_eq!(
        ignored[1].help.as_deref(),
        Some("remove `check_availability`")
    );
}

#[test]
fn owners_count_as_used_where_record_owners_are_assigned() {
    let out = lints(&format!(
        r#"
[[rules]]
id = "account"
when = {{ account = {{ has_owner = true }} }}
then = {{ assign = "account_owner" }}
{FALLBACK}"#
    ));
    assert_eq!(
        of(&out, DiagnosticCode::UnusedOwner),
        Vec::<&Diagnostic>::new()
    );
    // Calendars and if_unavailable targets are uses too.
    let out = lints(&format!(
        r#"
[[rules]]
id = "us"
when = {{ country = ["US"] }}
then = {{ assign = {{ owner = "ana" }}, experience = {{ book_meeting = {{ calendar = {{ owner = "bob" }} }} }} }}
{FALLBACK}"#
    ));
    assert_eq!(
        of(&out, DiagnosticCode::UnusedOwner),
        Vec::<&Diagnostic>::new()
    );
}

#[test]
fn overlapping_territories_name_the_shared_places() {
    let out = lints(&format!(
        r#"
territories = [
  {{ id = "na", countries = ["US", "CA"] }},
  {{ id = "west", regions = ["US-CA", "US-WA"] }},
  {{ id = "ca-only", regions = ["CA-BC"], exclude = {{ regions = ["CA-BC"] }}, countries = ["MX"] }},
  {{ id = "bay", postal_codes = [{{ country = "US", prefixes = ["941"] }}] }},
  {{ id = "sf", postal_codes = [{{ country = "US", prefixes = ["9410"] }}] }},
  {{ id = "not-sf", countries = ["US"], exclude = {{ postal_codes = [{{ country = "US", prefixes = ["94"] }}], regions = ["US-CA", "US-WA"] }} }},
]
[[rules]]
id = "t"
when = {{ any = [{{ territory = "na" }}, {{ territory = "west" }}, {{ territory = "ca-only" }}, {{ territory = "bay" }}, {{ territory = "sf" }}, {{ territory = "not-sf" }}] }}
then = {{ assign = {{ owner = "ana" }} }}
[[rules]]
id = "bob"
when = {{ always = true }}
then = {{ assign = {{ owner = "bob" }} }}
{FALLBACK}"#
    ));
    let overlaps: Vec<String> = of(&out, DiagnosticCode::OverlappingTerritories)
        .iter()
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    assert_eq!(
        overlaps,
        [
            "territories[1]: territories `na` and `west` overlap: both include US-CA, US-WA",
            "territories[3]: territories `na` and `bay` overlap: both include US 941*",
            "territories[4]: territories `na` and `sf` overlap: both include US 9410*",
            "territories[4]: territories `bay` and `sf` overlap: both include US 9410*",
            // `not-sf` excludes the regions and the 94 area; it still shares the rest of the US.
            "territories[5]: territories `na` and `not-sf` overlap: both include US",
        ]
    );
}

#[test]
fn disjoint_territories_do_not_overlap() {
    let out = lints(&format!(
        r#"
territories = [
  {{ id = "east", regions = ["US-NY"] }},
  {{ id = "west", regions = ["US-CA"] }},
  {{ id = "rest", countries = ["US"], exclude = {{ regions = ["US-NY", "US-CA"] }} }},
  {{ id = "a", postal_codes = [{{ country = "MX", prefixes = ["10"] }}] }},
  {{ id = "b", postal_codes = [{{ country = "MX", prefixes = ["11"] }}, {{ country = "CA", prefixes = ["10"] }}] }},
]
[[rules]]
id = "t"
when = {{ any = [{{ territory = "east" }}, {{ territory = "west" }}, {{ territory = "rest" }}, {{ territory = "a" }}, {{ territory = "b" }}] }}
then = {{ assign = {{ owner = "ana" }} }}
[[rules]]
id = "bob"
when = {{ always = true }}
then = {{ assign = {{ owner = "bob" }} }}
{FALLBACK}"#
    ));
    assert_eq!(out, Vec::<Diagnostic>::new());
}

#[test]
fn a_rule_covered_by_one_that_can_pass_leads_on_is_shadowed() {
    let out = lints(&format!(
        r#"
pools = [{{ id = "team", members = [{{ owner = "ana" }}] }}]
[[rules]]
id = "us"
when = {{ country = ["US", "CA"] }}
then = {{ assign = {{ pool = "team" }} }}
[[rules]]
id = "us-big"
when = {{ all = [{{ country = ["US"] }}, {{ employees = {{ min = 500 }} }}] }}
then = {{ assign = {{ owner = "bob" }} }}
{FALLBACK}"#
    ));
    let shadowed = of(&out, DiagnosticCode::ShadowedRule);
    assert_eq!(shadowed.len(), 1, "{out:?}");
    assert_eq!(shadowed[0].path, "rules[1].when");
    assert_eq!(shadowed[0].rule.as_deref(), Some("us-big"));
    assert_eq!(
        shadowed[0].message,
        "rule `us-big` only sees leads that earlier rule `us` passes on: its condition is covered by theirs"
    );
}

#[test]
fn a_rule_covered_by_several_earlier_rules_together_is_shadowed() {
    let out = lints(&format!(
        r#"
[[rules]]
id = "us"
when = {{ country = ["US"] }}
then = {{ assign = {{ owner = "ana" }} }}
[[rules]]
id = "ca"
when = {{ country = ["CA"] }}
then = {{ assign = {{ owner = "bob" }} }}
[[rules]]
id = "na-plg"
when = {{ all = [{{ product_interest = ["plg"] }}, {{ country = ["US", "CA"] }}] }}
then = {{ assign = {{ owner = "queue" }} }}
[[rules]]
id = "na-or-mx"
when = {{ country = ["US", "MX"] }}
then = {{ assign = {{ owner = "queue" }} }}
{FALLBACK}"#
    ));
    let shadowed = of(&out, DiagnosticCode::ShadowedRule);
    assert_eq!(shadowed.len(), 1, "{shadowed:?}");
    assert_eq!(shadowed[0].rule.as_deref(), Some("na-plg"));
    assert_eq!(
        shadowed[0].message,
        "rule `na-plg` can never match: together, earlier rules `us`, `ca` decide every lead its condition matches"
    );
    // `na-or-mx` is only partly covered (MX is not): no lint.
}

#[test]
fn a_hole_between_segments_is_fallback_only() {
    let out = lints(&format!(
        r#"
[[rules]]
id = "us-smb"
when = {{ all = [{{ country = ["US"] }}, {{ employees = {{ max = 50 }} }}] }}
then = {{ assign = {{ owner = "ana" }} }}
[[rules]]
id = "us-ent"
when = {{ all = [{{ country = ["US"] }}, {{ employees = {{ min = 201 }} }}] }}
then = {{ assign = {{ owner = "bob" }} }}
[[rules]]
id = "ca"
when = {{ all = [{{ country = ["CA"] }}, {{ employees = {{ min = 201 }} }}] }}
then = {{ assign = {{ owner = "bob" }} }}
[[rules]]
id = "plg"
when = {{ product_interest = ["plg"] }}
then = {{ assign = {{ owner = "ana" }} }}
{FALLBACK}"#
    ));
    let holes = of(&out, DiagnosticCode::FallbackOnly);
    assert_eq!(holes.len(), 1, "{out:?}");
    assert_eq!(holes[0].path, "rules[0].when");
    assert_eq!(holes[0].value.as_deref(), Some("US"));
    assert_eq!(
        holes[0].message,
        "leads from `US` with 51–200 employees match no rule on country or company size: only rules on other facts, or the fallback, decide them"
    );
    // CA below 201 is an open end, not a hole; `plg` is not a segment.
}

#[test]
fn segments_that_tile_or_overlap_have_no_hole() {
    let out = lints(&format!(
        r#"
territories = [{{ id = "na", countries = ["US", "CA"] }}]
[[rules]]
id = "small"
when = {{ all = [{{ territory = "na" }}, {{ employees = {{ max = 50 }} }}] }}
then = {{ assign = {{ owner = "ana" }} }}
[[rules]]
id = "mid"
when = {{ all = [{{ country = ["US"] }}, {{ employees = {{ min = 51, max = 500 }} }}] }}
then = {{ assign = {{ owner = "bob" }} }}
[[rules]]
id = "big"
when = {{ all = [{{ any = [{{ country = ["CA"] }}, {{ region = ["US-NY"] }}] }}, {{ employees = {{ min = 40 }} }}] }}
then = {{ assign = {{ owner = "bob" }} }}
[[rules]]
id = "us-big"
when = {{ all = [{{ country = ["US"] }}, {{ employees = {{ min = 501 }} }}] }}
then = {{ assign = {{ owner = "bob" }} }}
{FALLBACK}"#
    ));
    assert_eq!(
        of(&out, DiagnosticCode::FallbackOnly),
        Vec::<&Diagnostic>::new()
    );
}

#[test]
fn a_named_country_no_rule_can_match_is_fallback_only() {
    let out = lints(&format!(
        r#"
territories = [{{ id = "dach", countries = ["DE", "AT", "CH"] }}]
[[rules]]
id = "de"
when = {{ all = [{{ territory = "dach" }}, {{ country = ["DE", "FR"] }}] }}
then = {{ assign = {{ owner = "ana" }} }}
[[rules]]
id = "bob"
when = {{ not = {{ country = ["IT"] }} }}
then = {{ assign = {{ owner = "bob" }} }}
{FALLBACK}"#
    ));
    let found: Vec<Option<&str>> = of(&out, DiagnosticCode::FallbackOnly)
        .iter()
        .map(|d| d.value.as_deref())
        .collect();
    // AT, CH and FR are named by rule `de` but it only matches DE; IT is
    // named only under `not`.
    assert_eq!(found, [Some("AT"), Some("CH"), Some("FR")]);
}

#[test]
fn lints_are_bounded_per_code() {
    let territories: Vec<String> = (0..30)
        .map(|i| format!("{{ id = \"t{i}\", countries = [\"US\"] }}"))
        .collect();
    let out = lints(&format!(
        "territories = [{}]\n{FALLBACK}",
        territories.join(", ")
    ));
    // 435 overlapping pairs, 30 unused territories.
    assert_eq!(of(&out, DiagnosticCode::OverlappingTerritories).len(), 100);
    assert_eq!(of(&out, DiagnosticCode::UnusedTerritory).len(), 30);
}

// ------------------------------------------------------------ properties

mod properties {
    use std::sync::OnceLock;

    use leadroute::policy::DiagnosticCode;
    use leadroute::{Facts, Normalizer, Policy, PolicySpec};
    use proptest::prelude::*;

    use super::compiled;

    /// A rule on countries and employee bounds: (countries, min, max, whether
    /// to test the countries).
    type SizeRule = (Vec<&'static str>, Option<u64>, Option<u64>, bool);
    /// A rule on countries and products: (countries, products, assigns a pool).
    type ListRule = (Vec<&'static str>, Option<Vec<&'static str>>, bool);

    fn normalizer() -> &'static Normalizer {
        static N: OnceLock<Normalizer> = OnceLock::new();
        N.get_or_init(Normalizer::default)
    }

    /// Rules on country and employee bounds only, over few values so that
    /// segments meet, overlap and leave holes.
    fn rules() -> impl Strategy<Value = Vec<SizeRule>> {
        let country = proptest::sample::subsequence(vec!["US", "CA", "GB"], 1..=2);
        let bound = proptest::option::of(prop_oneof![
            Just(10u64),
            Just(50),
            Just(51),
            Just(200),
            Just(201),
            Just(500)
        ]);
        proptest::collection::vec((country, bound.clone(), bound, any::<bool>()), 1..7)
    }

    fn policy(rules: &[SizeRule]) -> Option<(Policy, PolicySpec)> {
        let mut text = String::from(
            "name = \"p\"\nversion = \"1\"\nowners = [{ id = \"ana\", name = \"Ana\" }, { id = \"queue\", name = \"Queue\" }]\n",
        );
        for (i, (countries, min, max, by_country)) in rules.iter().enumerate() {
            let list = countries
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let mut tests = Vec::new();
            if *by_country || (min.is_none() && max.is_none()) {
                tests.push(format!("{{ country = [{list}] }}"));
            }
            let mut b = Vec::new();
            if let Some(v) = min {
                b.push(format!("min = {v}"));
            }
            if let Some(v) = max {
                b.push(format!("max = {v}"));
            }
            if !b.is_empty() {
                tests.push(format!("{{ employees = {{ {} }} }}", b.join(", ")));
            }
            text.push_str(&format!(
                "[[rules]]\nid = \"r{i}\"\nwhen = {{ all = [{}] }}\nthen = {{ assign = {{ owner = \"ana\" }} }}\n",
                tests.join(", ")
            ));
        }
        text.push_str("[fallback]\nassign = { owner = \"queue\" }\n");
        // Unreachable rules and inverted bounds do not compile: not a case.
        compiled(&text).ok()
    }

    fn decided_by_fallback(policy: &Policy, country: &str, employees: u64) -> bool {
        let json = format!(
            r#"{{"email": "a@acme.com", "country": "{country}", "employees": "{employees}"}}"#
        );
        let lead = normalizer().normalize_json(&json).unwrap().lead;
        policy.evaluate(&lead, &Facts::at_unix(0)).fallback
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Every hole `fallback_only` reports is one: with only country and
        /// size rules, a lead of that country at either end of the reported
        /// range (and in its middle) is decided by the fallback; and the
        /// counts right outside it are not.
        #[test]
        fn reported_holes_are_holes(rules in rules()) {
            let Some((policy, spec)) = policy(&rules) else { return Ok(()) };
            for d in policy.lint(&spec).iter().filter(|d| d.code == DiagnosticCode::FallbackOnly) {
                let country = d.value.clone().unwrap();
                let Some((lo, hi)) = d.message.split(" with ").nth(1)
                    .and_then(|m| m.split(" employees").next())
                    .map(|r| match r.split_once('–') {
                        Some((a, b)) => (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()),
                        None => (r.parse().unwrap(), r.parse().unwrap()),
                    })
                else {
                    // A country no rule can match at all.
                    prop_assert!(decided_by_fallback(&policy, &country, 1));
                    continue;
                };
                for n in [lo, (lo + hi) / 2, hi] {
                    prop_assert!(decided_by_fallback(&policy, &country, n), "{country} {n}: {}", d.message);
                }
                prop_assert!(!decided_by_fallback(&policy, &country, lo - 1), "{country} below {lo}");
                prop_assert!(!decided_by_fallback(&policy, &country, hi + 1), "{country} above {hi}");
            }
        }
    }

    /// Rules on country and product lists, some assigning a pool (which can
    /// pass leads on), some an owner.
    fn list_rules() -> impl Strategy<Value = Vec<ListRule>> {
        let countries = proptest::sample::subsequence(vec!["US", "CA", "GB"], 1..=3);
        let products =
            proptest::option::of(proptest::sample::subsequence(vec!["plg", "crm"], 1..=2));
        proptest::collection::vec((countries, products, any::<bool>()), 1..7)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A rule `shadowed_rule` reports never decides while pools have
        /// members to give: every lead it matches is decided first.
        #[test]
        fn shadowed_rules_never_decide(rules in list_rules()) {
            let mut text = String::from(
                "name = \"p\"\nversion = \"1\"\nowners = [{ id = \"ana\", name = \"Ana\" }, { id = \"queue\", name = \"Queue\" }]\npools = [{ id = \"team\", members = [{ owner = \"ana\" }] }]\n",
            );
            for (i, (countries, products, pool)) in rules.iter().enumerate() {
                let list = |v: &[&str]| v.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
                let mut tests = vec![format!("{{ country = [{}] }}", list(countries))];
                if let Some(p) = products {
                    tests.push(format!("{{ product_interest = [{}] }}", list(p)));
                }
                let assign = if *pool { "{ pool = \"team\" }" } else { "{ owner = \"ana\" }" };
                text.push_str(&format!(
                    "[[rules]]\nid = \"r{i}\"\nwhen = {{ all = [{}] }}\nthen = {{ assign = {assign} }}\n",
                    tests.join(", ")
                ));
            }
            text.push_str("[fallback]\nassign = { owner = \"queue\" }\n");
            let Ok((policy, spec)) = compiled(&text) else { return Ok(()) };
            let shadowed: Vec<String> = policy
                .lint(&spec)
                .iter()
                .filter(|d| d.code == DiagnosticCode::ShadowedRule)
                .filter_map(|d| d.rule.clone())
                .collect();
            for country in ["US", "CA", "GB"] {
                for product in [None, Some("plg"), Some("crm"), Some("plg, crm")] {
                    let json = match product {
                        Some(p) => format!(r#"{{"email": "a@acme.com", "country": "{country}", "product_interest": "{p}"}}"#),
                        None => format!(r#"{{"email": "a@acme.com", "country": "{country}"}}"#),
                    };
                    let lead = normalizer().normalize_json(&json).unwrap().lead;
                    let decision = policy.evaluate(&lead, &Facts::at_unix(0));
                    if let Some(rule) = decision.rule.as_deref() {
                        prop_assert!(!shadowed.iter().any(|s| s == rule), "{rule} decided {json}\n{text}");
                    }
                }
            }
        }
    }
}

/// `lint` reads the spec it is given; given a spec that is not the policy's
/// own, it lints that spec (compiling it), and returns its compile errors
/// if it does not compile.
#[test]
fn lint_of_another_spec_describes_that_spec() {
    let (seed, seed_spec) = compiled(include_str!("../examples/policies/seed.toml")).unwrap();
    assert_eq!(seed.lint(&seed_spec), Vec::<Diagnostic>::new());
    let other = PolicySpec::from_toml_str(
        r#"
name = "p"
version = "1"
owners = [{ id = "ana", name = "Ana" }, { id = "queue", name = "Queue" }]
territories = [{ id = "emea", countries = ["DE", "FR"] }, { id = "dach", countries = ["DE", "AT"] }]
[[rules]]
id = "emea"
when = { territory = "emea" }
then = { assign = { owner = "ana" } }
[[rules]]
id = "dach"
when = { territory = "dach" }
then = { assign = { owner = "ana" } }
[fallback]
assign = { owner = "queue" }
"#,
    )
    .unwrap();
    let lints = seed.lint(&other);
    assert_eq!(lints, compile(&other).unwrap().lint(&other));
    assert_eq!(
        of(&lints, DiagnosticCode::OverlappingTerritories).len(),
        1,
        "{lints:?}"
    );
    let mut broken = other.clone();
    broken.fallback = None;
    let errors = seed.lint(&broken);
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|d| d.severity == Severity::Error));
    assert!(
        errors
            .iter()
            .any(|d| d.code == DiagnosticCode::MissingFallback),
        "{errors:?}"
    );
}
