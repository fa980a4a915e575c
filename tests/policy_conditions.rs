//! Evaluation: one test per condition and per action, each on a tiny policy
//! and a normalized lead, checking the decision and the trace.

use std::sync::{Arc, LazyLock};

use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact, Lookup, LookupStatus};
use leadroute::decision::{
    AssignedBy, Experience, FallbackReason, Name, Observed, Trace, TraceEvent, Unavailable,
};
use leadroute::lead::Range;
use leadroute::policy::{EvalOptions, Step};
use leadroute::pool::{AwayList, SkipReason};
use leadroute::{Facts, Lead, Normalizer, Policy, RouteDecision, compile};
use serde_json::{Value, json};

static NORMALIZER: LazyLock<Normalizer> = LazyLock::new(Normalizer::default);

/// A normalized lead; `jane@acme.com` unless the payload names an email.
fn lead(payload: Value) -> Lead {
    let mut payload = payload;
    let obj = payload.as_object_mut().unwrap();
    obj.entry("email").or_insert(json!("jane@acme.com"));
    NORMALIZER
        .normalize_json(&payload.to_string())
        .unwrap()
        .lead
}

/// A policy with owners `ana`, `bob`, `queue` and inactive `cara`, whose
/// fallback assigns `queue`; top-level keys of `patch` replace the base's.
fn policy(patch: Value) -> Policy {
    let mut spec = json!({
        "name": "inbound",
        "version": "7",
        "owners": [
            {"id": "ana", "name": "Ana"},
            {"id": "bob", "name": "Bob"},
            {"id": "queue", "name": "Queue"},
            {"id": "cara", "name": "Cara", "active": false}
        ],
        "fallback": {"assign": {"owner": "queue"}}
    });
    let obj = spec.as_object_mut().unwrap();
    for (k, v) in patch.as_object().unwrap() {
        obj.insert(k.clone(), v.clone());
    }
    let spec: PolicySpec = serde_json::from_value(spec).unwrap();
    match compile(&spec) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn rule(id: &str, when: Value, then: Value) -> Value {
    json!({"id": id, "when": when, "then": then})
}

/// One rule `r`: `when` → assign `ana`.
fn one_rule(when: Value) -> Policy {
    policy(json!({"rules": [rule("r", when, json!({"assign": {"owner": "ana"}}))]}))
}

fn ctx() -> Facts<'static> {
    Facts::at_unix(1_700_000_000)
}

fn text(s: &str) -> Observed {
    serde_json::from_value(json!(s)).unwrap()
}

fn range(min: u64, max: Option<u64>) -> Observed {
    Observed::Range(Range::new(min, max))
}

/// The condition steps of a decision: (path, observed, result).
fn conds(policy: &Policy, d: &RouteDecision) -> Vec<(String, Observed, bool)> {
    policy
        .explain(d)
        .steps
        .into_iter()
        .filter_map(|s| match s {
            Step::Condition {
                path,
                observed,
                result,
                ..
            } => Some((path, observed, result)),
            _ => None,
        })
        .collect()
}

/// Evaluates the one-rule policy for `cond` and returns whether the rule
/// matched and what its top condition node observed. Also checks that the
/// decision agrees with the trace.
fn check_in(cond: Value, payload: Value, ctx: &Facts<'_>) -> (bool, Observed) {
    let p = one_rule(cond.clone());
    let d = p.evaluate(&lead(payload.clone()), ctx);
    if d.trace.events.iter().any(|e| {
        matches!(
            e,
            TraceEvent::RulesSkipped {
                first: 0,
                count: 1,
                ..
            }
        )
    }) {
        // The rule index ruled the rule out without evaluating it: it must
        // not have matched. Observe the condition through `not(not(…))`,
        // which the index cannot see through, so it is evaluated.
        assert_eq!(d.rule, None);
        assert!(
            conds(&p, &d).is_empty(),
            "a skipped rule records no condition"
        );
        let wrapped = one_rule(json!({"not": {"not": cond}}));
        let d = wrapped.evaluate(&lead(payload), ctx);
        let steps = conds(&wrapped, &d);
        // Post-order: the condition's own top node comes right before the two `not`s.
        let (_, observed, result) = steps[steps.len() - 3].clone();
        assert!(!result, "the index ruled out a rule whose condition holds");
        return (result, observed);
    }
    let steps = conds(&p, &d);
    let (path, observed, result) = steps.last().cloned().expect("a condition step");
    assert!(path.starts_with("rules[0].when"), "{path}");
    assert!(d.trace.events.contains(&TraceEvent::Rule {
        rule: 0,
        matched: result
    }));
    if result {
        assert_eq!(d.rule.as_deref(), Some("r"));
        assert_eq!(d.owner_id(), Some("ana"));
        assert!(!d.fallback);
    } else {
        assert_eq!(d.rule, None);
        assert_eq!(d.owner_id(), Some("queue"));
        assert!(d.fallback);
        assert_eq!(
            d.trace.events.last(),
            Some(&TraceEvent::Fallback {
                reason: FallbackReason::NoRuleMatched
            })
        );
    }
    (result, observed)
}

fn check(cond: Value, payload: Value) -> (bool, Observed) {
    check_in(cond, payload, &ctx())
}

// ------------------------------------------------------------ combinators

#[test]
fn always() {
    assert_eq!(
        check(json!({"always": true}), json!({})),
        (true, Observed::Bool(true))
    );
    assert_eq!(
        check(json!({"always": false}), json!({})),
        (false, Observed::Bool(false))
    );
}

#[test]
fn all_holds_when_every_part_holds() {
    let cond = json!({"all": [{"country": ["US"]}, {"employees": {"min": 201}}]});
    let p = one_rule(cond.clone());
    let d = p.evaluate(
        &lead(json!({"country": "US", "employees": "201-500"})),
        &ctx(),
    );
    assert_eq!(d.rule.as_deref(), Some("r"));
    assert_eq!(
        conds(&p, &d),
        [
            ("rules[0].when.all[0].country".into(), text("US"), true),
            (
                "rules[0].when.all[1].employees".into(),
                range(201, Some(500)),
                true
            ),
            ("rules[0].when".into(), Observed::None, true),
        ]
    );
    assert_eq!(
        check(cond, json!({"country": "US", "employees": "51-200"})),
        (false, Observed::None)
    );
    assert!(check(json!({"all": []}), json!({})).0);
}

#[test]
fn any_holds_when_one_part_holds() {
    let cond = json!({"any": [{"country": ["CA"]}, {"country": ["US"]}]});
    let p = one_rule(cond.clone());
    let d = p.evaluate(&lead(json!({"country": "US"})), &ctx());
    assert_eq!(d.rule.as_deref(), Some("r"));
    assert_eq!(
        conds(&p, &d),
        [
            ("rules[0].when.any[0].country".into(), text("US"), false),
            ("rules[0].when.any[1].country".into(), text("US"), true),
            ("rules[0].when".into(), Observed::None, true),
        ]
    );
    assert!(!check(cond, json!({"country": "MX"})).0);
    assert!(!check(json!({"any": []}), json!({})).0);
}

#[test]
fn not_inverts() {
    let cond = json!({"not": {"country": ["US"]}});
    let p = one_rule(cond.clone());
    let d = p.evaluate(&lead(json!({"country": "CA"})), &ctx());
    assert_eq!(d.rule.as_deref(), Some("r"));
    assert_eq!(
        conds(&p, &d),
        [
            ("rules[0].when.not.country".into(), text("CA"), false),
            ("rules[0].when".into(), Observed::None, true),
        ]
    );
    assert!(!check(cond.clone(), json!({"country": "US"})).0);
    // A missing value never matches, so `not` routes unknowns.
    assert!(check(cond, json!({})).0);
}

// -------------------------------------------------------------- geography

fn territory_policy() -> Policy {
    policy(json!({
        "territories": [
            {"id": "us-west", "regions": ["US-CA", "US-WA"],
             "exclude": {"postal_codes": [{"country": "US", "prefixes": ["941"]}]}},
            {"id": "northeast", "postal_codes": [{"country": "US", "ranges": [["010", "149"]]}]},
            {"id": "dach", "countries": ["DE", "AT", "CH"], "exclude": {"regions": ["DE-BY"]}}
        ],
        "rules": [
            rule("west", json!({"territory": "us-west"}), json!({"assign": {"owner": "ana"}})),
            rule("ne", json!({"territory": "northeast"}), json!({"assign": {"owner": "bob"}})),
            rule("dach", json!({"territory": "dach"}), json!({"assign": {"owner": "bob"}}))
        ]
    }))
}

#[test]
fn territory_includes_by_region() {
    let p = territory_policy();
    let d = p.evaluate(
        &lead(json!({"country": "US", "state": "California", "zip": "90210"})),
        &ctx(),
    );
    assert_eq!(d.rule.as_deref(), Some("west"));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(
        conds(&p, &d),
        [("rules[0].when.territory".into(), text("US-CA"), true)]
    );
}

#[test]
fn territory_excludes_by_postal_prefix() {
    let p = territory_policy();
    let d = p.evaluate(
        &lead(json!({"country": "US", "state": "CA", "zip": "94105"})),
        &ctx(),
    );
    assert_eq!(d.rule, None);
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(
        conds(&p, &d)[0],
        ("rules[0].when.territory".into(), text("US-CA"), false)
    );
}

#[test]
fn territory_includes_by_postal_range() {
    let p = territory_policy();
    let boston = lead(json!({"country": "US", "state": "MA", "zip": "02110"}));
    assert_eq!(p.evaluate(&boston, &ctx()).rule.as_deref(), Some("ne"));
    let nyc = lead(json!({"country": "US", "zip": "10001"}));
    let d = p.evaluate(&nyc, &ctx());
    assert_eq!(d.rule.as_deref(), Some("ne"));
    // Without a region the territory observes the country.
    let ne = conds(&p, &d)
        .into_iter()
        .find(|(path, ..)| path == "rules[1].when.territory")
        .expect("rule 1 evaluated");
    assert_eq!(ne, ("rules[1].when.territory".into(), text("US"), true));
    let pa = lead(json!({"country": "US", "zip": "15001"}));
    assert_eq!(p.evaluate(&pa, &ctx()).rule, None);
    // The same digits in another country are not in a US range.
    let de = lead(json!({"country": "DE", "state": "DE-BY", "zip": "10115"}));
    assert_eq!(p.evaluate(&de, &ctx()).rule, None);
}

#[test]
fn territory_by_country_with_excluded_region() {
    let p = territory_policy();
    let berlin = lead(json!({"country": "Germany", "state": "Berlin"}));
    assert_eq!(p.evaluate(&berlin, &ctx()).rule.as_deref(), Some("dach"));
    let vienna = lead(json!({"country": "AT"}));
    assert_eq!(p.evaluate(&vienna, &ctx()).rule.as_deref(), Some("dach"));
    let munich = lead(json!({"country": "DE", "state": "Bavaria"}));
    assert_eq!(p.evaluate(&munich, &ctx()).rule, None);
    assert_eq!(p.evaluate(&lead(json!({})), &ctx()).rule, None);
}

#[test]
fn country() {
    let cond = json!({"country": ["us", "CA"]});
    assert_eq!(
        check(cond.clone(), json!({"country": "United States"})),
        (true, text("US"))
    );
    assert_eq!(
        check(cond.clone(), json!({"country": "Canada"})),
        (true, text("CA"))
    );
    assert_eq!(
        check(cond.clone(), json!({"country": "MX"})),
        (false, text("MX"))
    );
    assert_eq!(check(cond, json!({})), (false, Observed::None));
}

#[test]
fn region() {
    let cond = json!({"region": ["US-CA", "ca-on"]});
    assert_eq!(
        check(
            cond.clone(),
            json!({"country": "US", "state": "California"})
        ),
        (true, text("US-CA"))
    );
    assert_eq!(
        check(
            cond.clone(),
            json!({"country": "CA", "province": "Ontario"})
        ),
        (true, text("CA-ON"))
    );
    assert_eq!(
        check(cond.clone(), json!({"country": "US", "state": "NY"})),
        (false, text("US-NY"))
    );
    assert_eq!(
        check(cond, json!({"country": "US"})),
        (false, Observed::None)
    );
    // FR has no built-in table: an ISO code passes through both sides.
    assert_eq!(
        check(
            json!({"region": ["FR-75"]}),
            json!({"country": "FR", "region": "FR-75"})
        ),
        (true, text("FR-75"))
    );
}

#[test]
fn postal_code_prefixes_and_ranges() {
    let cond = json!({"postal_code": {"country": "US", "prefixes": ["941"], "ranges": [["10000", "14999"]]}});
    assert_eq!(
        check(cond.clone(), json!({"country": "US", "zip": "94105"})),
        (true, text("94105"))
    );
    assert_eq!(
        check(cond.clone(), json!({"country": "US", "zip": "123456789"})),
        (true, text("12345-6789"))
    );
    assert_eq!(
        check(cond.clone(), json!({"country": "US", "zip": "15000"})),
        (false, text("15000"))
    );
    // Right digits, wrong country.
    assert_eq!(
        check(cond.clone(), json!({"country": "DE", "zip": "12345"})),
        (false, text("12345"))
    );
    assert_eq!(
        check(cond, json!({"country": "US"})),
        (false, Observed::None)
    );
    // Prefixes compare on the normalized code, case-insensitively.
    assert_eq!(
        check(
            json!({"postal_code": {"country": "GB", "prefixes": ["sw1a"]}}),
            json!({"country": "UK", "zip": "sw1a1aa"})
        ),
        (true, text("SW1A 1AA"))
    );
}

// ---------------------------------------------------------------- firmographics

#[test]
fn employees_min_holds_when_the_whole_range_is_within() {
    let cond = json!({"employees": {"min": 201}});
    for (size, expected) in [
        ("201-500", true),
        ("1000+", true),
        ("201", true),
        ("51-200", false),
        ("100-500", false),
    ] {
        let (result, observed) = check(cond.clone(), json!({"employees": size}));
        assert_eq!(result, expected, "{size}");
        assert_eq!(observed, Observed::Range(size.parse().unwrap()), "{size}");
    }
    assert_eq!(check(cond, json!({})), (false, Observed::None));
}

#[test]
fn employees_max_and_both_bounds() {
    let max = json!({"employees": {"max": 50}});
    assert_eq!(
        check(max.clone(), json!({"employees": "1000+"})),
        (false, range(1000, None))
    );
    assert!(check(max.clone(), json!({"employees": "11-50"})).0);
    assert!(!check(max.clone(), json!({"employees": "11-51"})).0);
    assert!(!check(max, json!({})).0);
    let both = json!({"employees": {"min": 51, "max": 200}});
    assert!(check(both.clone(), json!({"employees": "51 – 200"})).0);
    assert!(check(both.clone(), json!({"employees": 100})).0);
    assert!(!check(both.clone(), json!({"employees": "51-201"})).0);
    assert!(!check(both, json!({"employees": "200+"})).0);
}

#[test]
fn annual_revenue_bounds() {
    let cond = json!({"annual_revenue": {"min": 10000000}});
    assert_eq!(
        check(cond.clone(), json!({"revenue": "$10M-$50M"})),
        (true, range(10_000_000, Some(50_000_000)))
    );
    assert!(check(cond.clone(), json!({"annual_revenue": "over 1B"})).0);
    assert!(!check(cond.clone(), json!({"revenue": "$5M-$20M"})).0);
    assert_eq!(check(cond, json!({})), (false, Observed::None));
    assert!(
        check(
            json!({"annual_revenue": {"max": 1000000}}),
            json!({"revenue": "500k"})
        )
        .0
    );
}

#[test]
fn product_interest_tokens_ignore_case_and_whitespace() {
    let cond = json!({"product_interest": ["  Data   Platform ", "PLG"]});
    assert_eq!(
        check(
            cond.clone(),
            json!({"product_interest": "Analytics; DATA platform"})
        ),
        (true, text("data platform"))
    );
    assert_eq!(
        check(cond.clone(), json!({"products": "plg"})),
        (true, text("plg"))
    );
    // No hit: the first token is shown.
    assert_eq!(
        check(cond.clone(), json!({"product_interest": "Analytics, Data"})),
        (false, text("analytics"))
    );
    assert_eq!(check(cond, json!({})), (false, Observed::None));
}

#[test]
fn email_kind() {
    let cond = json!({"email_kind": ["free", "disposable"]});
    assert_eq!(
        check(cond.clone(), json!({"email": "jane@gmail.com"})),
        (true, text("free"))
    );
    assert_eq!(
        check(cond.clone(), json!({"email": "x@mailinator.com"})),
        (true, text("disposable"))
    );
    assert_eq!(
        check(cond, json!({"email": "jane@acme.com"})),
        (false, text("business"))
    );
}

#[test]
fn source_is_case_insensitive() {
    let cond = json!({"source": ["Webinar", "trade show"]});
    assert_eq!(
        check(cond.clone(), json!({"lead_source": "webinar"})),
        (true, text("webinar"))
    );
    assert_eq!(
        check(cond.clone(), json!({"source": "Trade  Show"})),
        (true, text("Trade Show"))
    );
    assert_eq!(
        check(cond.clone(), json!({"source": "ads"})),
        (false, text("ads"))
    );
    assert_eq!(check(cond, json!({})), (false, Observed::None));
}

#[test]
fn text_comparison_folds_non_ascii_case_consistently() {
    let cond = json!({"source": ["ΟΔΟΣ"]});
    assert!(check(cond.clone(), json!({"source": "οδος"})).0);
    // The very same text must match itself.
    assert!(check(cond, json!({"source": "ΟΔΟΣ"})).0);
}

#[test]
fn text_comparison_folds_non_ascii_case() {
    let cond = json!({"source": ["Événement"]});
    assert_eq!(
        check(cond.clone(), json!({"source": "ÉVÉNEMENT"})),
        (true, text("ÉVÉNEMENT"))
    );
    assert!(check(cond, json!({"source": "événement"})).0);
}

#[test]
fn utm_fields_are_case_insensitive() {
    for field in [
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
    ] {
        let cond = json!({ field: ["Spring-Launch"] });
        assert_eq!(
            check(cond.clone(), json!({ field: "SPRING-launch" })),
            (true, text("SPRING-launch")),
            "{field}"
        );
        assert_eq!(
            check(cond.clone(), json!({ field: "other" })),
            (false, text("other")),
            "{field}"
        );
        assert_eq!(check(cond, json!({})), (false, Observed::None), "{field}");
    }
    // The nested `utm` object form of the payload.
    assert!(
        check(
            json!({"utm_medium": ["cpc"]}),
            json!({"utm": {"medium": "CPC"}})
        )
        .0
    );
}

#[test]
fn company_domain() {
    let cond = json!({"company_domain": ["Acme.com", "globex.co.uk"]});
    assert_eq!(
        check(cond.clone(), json!({"email": "jane@sales.acme.com"})),
        (true, text("acme.com"))
    );
    assert_eq!(
        check(
            cond.clone(),
            json!({"email": "j@gmail.com", "website": "https://www.globex.co.uk/"})
        ),
        (true, text("globex.co.uk"))
    );
    assert_eq!(
        check(cond, json!({"email": "jane@gmail.com"})),
        (false, Observed::None)
    );
}

// -------------------------------------------------------------- attributes

#[test]
fn attribute_equals_string_ignores_case() {
    let cond = json!({"attribute": {"key": "budget", "equals": "50K"}});
    assert_eq!(
        check(cond.clone(), json!({"budget": "50k"})),
        (true, text("50k"))
    );
    assert_eq!(
        check(cond.clone(), json!({"budget": "500k"})),
        (false, text("500k"))
    );
    assert_eq!(check(cond, json!({})), (false, Observed::None));
}

#[test]
fn attribute_equals_compares_numbers_and_strings_by_text() {
    let number = json!({"attribute": {"key": "seats", "equals": 50}});
    assert_eq!(
        check(number.clone(), json!({"seats": 50})),
        (true, Observed::Count(50))
    );
    assert_eq!(
        check(number.clone(), json!({"seats": "50"})),
        (true, text("50"))
    );
    assert!(!check(number, json!({"seats": 51})).0);
    let string = json!({"attribute": {"key": "seats", "equals": "50"}});
    assert_eq!(
        check(string, json!({"seats": 50})),
        (true, Observed::Count(50))
    );
    let boolean = json!({"attribute": {"key": "gdpr", "equals": true}});
    assert_eq!(
        check(boolean.clone(), json!({"gdpr": true})),
        (true, Observed::Bool(true))
    );
    assert!(!check(boolean, json!({"gdpr": false})).0);
}

#[test]
fn attribute_one_of() {
    let cond = json!({"attribute": {"key": "role", "one_of": ["CTO", "vp engineering", 7]}});
    assert!(check(cond.clone(), json!({"role": "cto"})).0);
    assert!(check(cond.clone(), json!({"role": "VP Engineering"})).0);
    assert!(check(cond.clone(), json!({"role": 7})).0);
    assert_eq!(
        check(cond, json!({"role": "intern"})),
        (false, text("intern"))
    );
}

#[test]
fn attribute_exists() {
    let yes = json!({"attribute": {"key": "referrer", "exists": true}});
    let no = json!({"attribute": {"key": "referrer", "exists": false}});
    assert_eq!(
        check(yes.clone(), json!({"referrer": "partner"})),
        (true, text("partner"))
    );
    assert_eq!(check(yes.clone(), json!({})), (false, Observed::None));
    assert_eq!(
        check(yes, json!({"referrer": null})),
        (false, Observed::None)
    );
    assert_eq!(check(no.clone(), json!({})), (true, Observed::None));
    assert!(!check(no, json!({"referrer": "x"})).0);
}

#[test]
fn attribute_regex() {
    let cond = json!({"attribute": {"key": "title", "regex": "^(VP|Head) of"}});
    assert_eq!(
        check(cond.clone(), json!({"title": "VP of Sales"})),
        (true, text("VP of Sales"))
    );
    assert!(!check(cond.clone(), json!({"title": "vp of sales"})).0);
    assert!(
        check(
            json!({"attribute": {"key": "title", "regex": "(?i)^vp"}}),
            json!({"title": "VP of Sales"})
        )
        .0
    );
    assert!(
        check(
            json!({"attribute": {"key": "seats", "regex": "^5\\d$"}}),
            json!({"seats": 55})
        )
        .0
    );
    assert!(!check(cond, json!({})).0);
}

#[test]
fn explain_names_the_attribute_test() {
    let p = one_rule(json!({"attribute": {"key": "budget", "equals": "50k"}}));
    let d = p.evaluate(&lead(json!({"budget": "50K"})), &ctx());
    let step = p
        .explain(&d)
        .steps
        .into_iter()
        .find(|s| matches!(s, Step::Condition { .. }))
        .unwrap();
    match step {
        Step::Condition {
            rule,
            path,
            field,
            op,
            expected,
            observed,
            result,
        } => {
            assert_eq!(rule, "r");
            assert_eq!(path, "rules[0].when.attribute");
            assert_eq!(field, "attribute");
            assert_eq!(op, "equals");
            assert_eq!(expected, "budget [50k]");
            assert_eq!(observed, text("50K"));
            assert!(result);
        }
        _ => unreachable!(),
    }
}

// ------------------------------------------------------------------ account

#[test]
fn account_exists() {
    let acct = Account::new("001", "Acme");
    let yes = json!({"account": {"exists": true}});
    let no = json!({"account": {"exists": false}});
    let with = ctx().account(&acct);
    assert_eq!(
        check_in(yes.clone(), json!({}), &with),
        (true, Observed::Bool(true))
    );
    assert_eq!(check_in(yes, json!({}), &ctx()), (false, Observed::None));
    assert_eq!(
        check_in(no.clone(), json!({}), &ctx()),
        (true, Observed::None)
    );
    assert!(!check_in(no, json!({}), &with).0);
}

#[test]
fn account_has_owner() {
    let owned = Account::new("001", "Acme").owner("ghost");
    let unowned = Account::new("002", "Globex");
    let cond = json!({"account": {"has_owner": true}});
    // Any owner id counts, even one not in the directory.
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&owned)),
        (true, Observed::Bool(true))
    );
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&unowned)),
        (false, Observed::Bool(false))
    );
    assert!(!check_in(cond, json!({}), &ctx()).0);
    assert!(
        check_in(
            json!({"account": {"has_owner": false}}),
            json!({}),
            &ctx().account(&unowned)
        )
        .0
    );
}

#[test]
fn account_owner_active() {
    let cond = json!({"account": {"owner_active": true}});
    let active = Account::new("1", "A").owner("ana");
    let inactive = Account::new("2", "B").owner("cara");
    let unknown = Account::new("3", "C").owner("ghost");
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&active)),
        (true, Observed::Bool(true))
    );
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&inactive)),
        (false, Observed::Bool(false))
    );
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&unknown)),
        (false, Observed::Bool(false))
    );
    assert!(!check_in(cond, json!({}), &ctx()).0);
    assert!(
        check_in(
            json!({"account": {"owner_active": false}}),
            json!({}),
            &ctx().account(&inactive)
        )
        .0
    );
}

#[test]
fn account_is_customer() {
    let customer = Account::new("1", "A").customer();
    let prospect = Account::new("2", "B");
    let cond = json!({"account": {"is_customer": true}});
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&customer)),
        (true, Observed::Bool(true))
    );
    assert_eq!(
        check_in(cond, json!({}), &ctx().account(&prospect)),
        (false, Observed::Bool(false))
    );
}

#[test]
fn account_tier() {
    let cond = json!({"account": {"tier": ["Enterprise", "strategic"]}});
    let ent = Account::new("1", "A").tier("ENTERPRISE");
    let smb = Account::new("2", "B").tier("smb");
    let none = Account::new("3", "C");
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&ent)),
        (true, text("ENTERPRISE"))
    );
    assert_eq!(
        check_in(cond.clone(), json!({}), &ctx().account(&smb)),
        (false, text("smb"))
    );
    assert_eq!(
        check_in(cond, json!({}), &ctx().account(&none)),
        (false, Observed::None)
    );
}

#[test]
fn account_field() {
    let acct = Account::new("1", "A")
        .field("industry", "SaaS")
        .field("arr", 120000);
    let with = ctx().account(&acct);
    assert_eq!(
        check_in(
            json!({"account": {"field": {"key": "industry", "one_of": ["saas", "fintech"]}}}),
            json!({}),
            &with
        ),
        (true, text("SaaS"))
    );
    assert_eq!(
        check_in(
            json!({"account": {"field": {"key": "arr", "equals": "120000"}}}),
            json!({}),
            &with
        ),
        (true, Observed::Count(120_000))
    );
    assert!(
        check_in(
            json!({"account": {"field": {"key": "industry", "regex": "^Saa"}}}),
            json!({}),
            &with
        )
        .0
    );
    assert!(
        check_in(
            json!({"account": {"field": {"key": "region", "exists": false}}}),
            json!({}),
            &with
        )
        .0
    );
    assert!(
        !check_in(
            json!({"account": {"field": {"key": "industry", "exists": true}}}),
            json!({}),
            &ctx()
        )
        .0
    );
}

#[test]
fn account_facts_combine_as_all() {
    let p = one_rule(json!({"account": {"has_owner": true, "is_customer": true}}));
    let acct = Account::new("1", "A").owner("ana");
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
    assert_eq!(d.rule, None);
    assert_eq!(
        conds(&p, &d),
        [
            (
                "rules[0].when.account.has_owner".into(),
                Observed::Bool(true),
                true
            ),
            (
                "rules[0].when.account.is_customer".into(),
                Observed::Bool(false),
                false
            ),
            ("rules[0].when.account".into(), Observed::None, false),
        ]
    );
}

// ------------------------------------------------------------------ contact

#[test]
fn contact_exists_has_owner_owner_active() {
    let owned = Contact::new("c1").owner("bob");
    let inactive = Contact::new("c2").owner("cara");
    let unknown = Contact::new("c3").owner("ghost");
    let unowned = Contact::new("c4");
    let exists = json!({"contact": {"exists": true}});
    let has_owner = json!({"contact": {"has_owner": true}});
    let active = json!({"contact": {"owner_active": true}});

    assert_eq!(
        check_in(exists.clone(), json!({}), &ctx().contact(&unowned)),
        (true, Observed::Bool(true))
    );
    assert_eq!(check_in(exists, json!({}), &ctx()), (false, Observed::None));
    assert_eq!(
        check_in(has_owner.clone(), json!({}), &ctx().contact(&unknown)),
        (true, Observed::Bool(true))
    );
    assert_eq!(
        check_in(has_owner, json!({}), &ctx().contact(&unowned)),
        (false, Observed::Bool(false))
    );
    assert_eq!(
        check_in(active.clone(), json!({}), &ctx().contact(&owned)),
        (true, Observed::Bool(true))
    );
    assert_eq!(
        check_in(active.clone(), json!({}), &ctx().contact(&inactive)),
        (false, Observed::Bool(false))
    );
    assert_eq!(
        check_in(active, json!({}), &ctx().contact(&unknown)),
        (false, Observed::Bool(false))
    );
    assert!(check_in(json!({"contact": {"exists": false}}), json!({}), &ctx()).0);
}

// ------------------------------------------------------------------ actions

#[test]
fn assign_account_owner() {
    let p = policy(json!({"rules": [
        rule("owned", json!({"account": {"has_owner": true}}), json!({"assign": "account_owner"}))
    ]}));
    let acct = Account::new("1", "A").owner("bob");
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
    assert_eq!(d.owner_id(), Some("bob"));
    assert_eq!(d.assigned_by, AssignedBy::AccountOwner);
    assert_eq!(d.rule.as_deref(), Some("owned"));
    assert!(!d.fallback);
    assert_eq!(d.experience, Experience::Confirmation);
    assert!(p.explain(&d).summary.starts_with(
        "Assigned to bob (the matched account's owner by rule `owned`) [policy inbound v7]"
    ));
}

#[test]
fn assign_account_owner_unavailable_goes_to_next_rule() {
    let p = policy(json!({"rules": [
        rule("owned", json!({"account": {"exists": true}}), json!({"assign": "account_owner"})),
        rule("any", json!({"always": true}), json!({"assign": {"owner": "ana"}}))
    ]}));
    for (acct, reason) in [
        (Account::new("1", "A"), Unavailable::NoAccountOwner),
        (
            Account::new("2", "B").owner("cara"),
            Unavailable::InactiveOwner,
        ),
        (
            Account::new("3", "C").owner("ghost"),
            Unavailable::UnknownOwner,
        ),
    ] {
        let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
        assert_eq!(d.rule.as_deref(), Some("any"), "{reason:?}");
        assert_eq!(d.owner_id(), Some("ana"));
        assert_eq!(d.assigned_by, AssignedBy::Owner);
        let at = d
            .trace
            .events
            .iter()
            .position(|e| {
                *e == TraceEvent::Unavailable {
                    rule: Some(0),
                    reason,
                }
            })
            .expect("an Unavailable event");
        assert_eq!(
            d.trace.events[at - 1],
            TraceEvent::Rule {
                rule: 0,
                matched: true
            }
        );
        assert!(d.trace.events[at + 1..].contains(&TraceEvent::Rule {
            rule: 1,
            matched: true
        }));
    }
}

#[test]
fn assign_contact_owner() {
    let p = policy(json!({"rules": [
        rule("known", json!({"contact": {"exists": true}}), json!({"assign": "contact_owner", "experience": "customer_success"}))
    ]}));
    let c = Contact::new("c1").owner("ana");
    let d = p.evaluate(&lead(json!({})), &ctx().contact(&c));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.assigned_by, AssignedBy::ContactOwner);
    assert_eq!(d.rule.as_deref(), Some("known"));
    assert_eq!(d.experience, Experience::CustomerSuccess);

    let orphan = Contact::new("c2");
    let d = p.evaluate(&lead(json!({})), &ctx().contact(&orphan));
    assert!(d.fallback);
    assert_eq!(d.owner_id(), Some("queue"));
    assert!(d.trace.events.contains(&TraceEvent::Unavailable {
        rule: Some(0),
        reason: Unavailable::NoContactOwner
    }));
    assert_eq!(
        d.trace.events.last(),
        Some(&TraceEvent::Fallback {
            reason: FallbackReason::NoRuleMatched
        })
    );
}

#[test]
fn assign_named_owner_with_tags_priority_and_sla() {
    let p = policy(json!({"rules": [
        rule("us", json!({"country": ["US"]}), json!({
            "assign": {"owner": "bob"}, "tags": ["us", "inbound"], "priority": "urgent", "sla_minutes": 15
        }))
    ]}));
    let d = p.evaluate(&lead(json!({"country": "US"})), &ctx());
    assert_eq!(d.owner_id(), Some("bob"));
    assert_eq!(d.assigned_by, AssignedBy::Owner);
    assert_eq!(d.rule.as_deref(), Some("us"));
    assert_eq!(&*d.policy_name, "inbound");
    assert_eq!(&*d.policy_version, "7");
    let tags: Vec<&str> = d.tags.iter().map(|t| &**t).collect();
    assert_eq!(tags, ["us", "inbound"]);
    assert_eq!(d.priority, Some(leadroute::decision::Priority::Urgent));
    assert_eq!(d.sla_minutes, Some(15));
    // The fallback's own (empty) pass-throughs when it decides.
    let d = p.evaluate(&lead(json!({"country": "CA"})), &ctx());
    assert!(d.tags.is_empty());
    assert_eq!(d.priority, None);
    assert_eq!(d.sla_minutes, None);
}

fn pool_policy(pool: Value, then: Value) -> Policy {
    policy(json!({
        "pools": [pool],
        "rules": [
            rule("r", json!({"always": true}), then),
            rule("next", json!({"always": true}), json!({"assign": {"owner": "bob"}}))
        ]
    }))
}

#[test]
fn assign_pool() {
    let p = pool_policy(
        json!({"id": "sales", "members": [{"owner": "cara"}, {"owner": "ana", "weight": 2}, {"owner": "bob"}]}),
        json!({"assign": {"pool": "sales"}}),
    );
    let d = p.evaluate(&lead(json!({})), &ctx());
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.assigned_by, AssignedBy::Pool(Name::from("sales")));
    assert_eq!(d.rule.as_deref(), Some("r"));
    let events = &d.trace.events;
    assert!(events.contains(&TraceEvent::PoolSkip {
        pool: 0,
        member: 0,
        reason: SkipReason::Inactive
    }));
    assert!(events.contains(&TraceEvent::PoolSkip {
        pool: 0,
        member: 2,
        reason: SkipReason::NotNext { current: 1 }
    }));
    assert!(events.contains(&TraceEvent::PoolChoice {
        pool: 0,
        member: 1,
        current: 2,
        eligible_weight: 3,
        eligible: 2,
        replay: false
    }));
}

#[test]
fn pool_with_everyone_away_uses_its_fallback() {
    let p = pool_policy(
        json!({"id": "sales", "members": [{"owner": "ana"}, {"owner": "bob"}], "fallback": {"owner": "queue"}}),
        json!({"assign": {"pool": "sales"}, "experience": "nurture"}),
    );
    let away = AwayList::new(["ana", "bob"]);
    let d = p.evaluate(&lead(json!({})), &ctx().availability(&away));
    assert_eq!(d.owner_id(), Some("queue"));
    // The pool's fallback owner, not an owner the rule named.
    assert_eq!(d.assigned_by, AssignedBy::PoolFallback("sales".into()));
    assert_eq!(d.rule.as_deref(), Some("r"));
    assert_eq!(d.experience, Experience::Nurture);
    assert_eq!(
        d.trace.events[1..],
        [
            TraceEvent::Rule {
                rule: 0,
                matched: true
            },
            TraceEvent::PoolSkip {
                pool: 0,
                member: 0,
                reason: SkipReason::Unavailable
            },
            TraceEvent::PoolSkip {
                pool: 0,
                member: 1,
                reason: SkipReason::Unavailable
            },
            TraceEvent::PoolFallback { pool: 0 },
        ]
    );
    // Only one away: the other member gets it.
    let one_away = AwayList::new(["ana"]);
    let d = p.evaluate(&lead(json!({})), &ctx().availability(&one_away));
    assert_eq!(d.owner_id(), Some("bob"));
    assert_eq!(d.assigned_by, AssignedBy::Pool(Name::from("sales")));
}

#[test]
fn pool_fallback_to_another_pool() {
    let p = policy(json!({
        "pools": [
            {"id": "a", "members": [{"owner": "ana"}], "fallback": {"pool": "b"}},
            {"id": "b", "members": [{"owner": "bob"}]}
        ],
        "rules": [rule("r", json!({"always": true}), json!({"assign": {"pool": "a"}}))]
    }));
    let away = AwayList::new(["ana"]);
    let d = p.evaluate(&lead(json!({})), &ctx().availability(&away));
    assert_eq!(d.owner_id(), Some("bob"));
    assert_eq!(d.assigned_by, AssignedBy::Pool(Name::from("b")));
    assert!(
        d.trace
            .events
            .contains(&TraceEvent::PoolFallback { pool: 0 })
    );
}

#[test]
fn exhausted_pool_without_fallback_goes_to_next_rule() {
    let p = pool_policy(
        json!({"id": "sales", "members": [{"owner": "ana"}]}),
        json!({"assign": {"pool": "sales"}}),
    );
    let away = AwayList::new(["ana"]);
    let d = p.evaluate(&lead(json!({})), &ctx().availability(&away));
    assert_eq!(d.rule.as_deref(), Some("next"));
    assert_eq!(d.owner_id(), Some("bob"));
    assert!(d.trace.events.contains(&TraceEvent::Unavailable {
        rule: Some(0),
        reason: Unavailable::PoolExhausted
    }));
}

#[test]
fn assign_nobody_with_reject_reason() {
    let p = policy(json!({"rules": [
        rule("spam", json!({"email_kind": ["disposable"]}), json!({
            "assign": "nobody", "experience": {"reject": {"reason": "disposable email"}}
        }))
    ]}));
    let d = p.evaluate(&lead(json!({"email": "x@mailinator.com"})), &ctx());
    assert_eq!(d.owner, None);
    assert_eq!(d.assigned_by, AssignedBy::Nobody);
    assert_eq!(d.rule.as_deref(), Some("spam"));
    assert_eq!(
        d.experience,
        Experience::Reject {
            reason: Some(Arc::from("disposable email"))
        }
    );
    let summary = p.explain(&d).summary;
    assert!(summary.starts_with("Not assigned to anyone"), "{summary}");
    assert!(summary.contains("by rule `spam`"), "{summary}");
}

// -------------------------------------------------------------- experiences

fn experience_of(then: Value) -> Experience {
    let p = policy(json!({"rules": [rule("r", json!({"always": true}), then)]}));
    p.evaluate(&lead(json!({})), &ctx()).experience
}

#[test]
fn experiences() {
    let ana = |experience: Value| json!({"assign": {"owner": "ana"}, "experience": experience});
    assert_eq!(
        experience_of(ana(json!({"book_meeting": {}}))),
        Experience::BookMeeting {
            with: Name::from("ana")
        }
    );
    assert_eq!(
        experience_of(ana(json!({"book_meeting": {"calendar": "assigned_owner"}}))),
        Experience::BookMeeting {
            with: Name::from("ana")
        }
    );
    assert_eq!(
        experience_of(ana(json!({"book_meeting": {"calendar": {"owner": "bob"}}}))),
        Experience::BookMeeting {
            with: Name::from("bob")
        }
    );
    assert_eq!(
        experience_of(
            json!({"assign": "nobody", "experience": {"book_meeting": {"calendar": {"owner": "bob"}}}})
        ),
        Experience::BookMeeting {
            with: Name::from("bob")
        }
    );
    assert_eq!(
        experience_of(json!({"assign": {"owner": "ana"}})),
        Experience::Confirmation
    );
    assert_eq!(
        experience_of(ana(json!("confirmation"))),
        Experience::Confirmation
    );
    assert_eq!(
        experience_of(ana(json!("customer_success"))),
        Experience::CustomerSuccess
    );
    assert_eq!(experience_of(ana(json!("nurture"))), Experience::Nurture);
    assert_eq!(
        experience_of(ana(json!("manual_review"))),
        Experience::ManualReview
    );
    assert_eq!(
        experience_of(ana(json!({"reject": {}}))),
        Experience::Reject { reason: None }
    );
}

#[test]
fn book_meeting_with_a_pool_member() {
    let p = pool_policy(
        json!({"id": "sales", "members": [{"owner": "bob"}, {"owner": "ana"}]}),
        json!({"assign": {"pool": "sales"}, "experience": {"book_meeting": {}}}),
    );
    let d = p.evaluate(&lead(json!({})), &ctx());
    assert_eq!(
        d.experience,
        Experience::BookMeeting {
            with: Name::from("bob")
        }
    );
}

// ----------------------------------------------------------- if_unavailable

fn unavailable_policy(if_unavailable: Value) -> Policy {
    policy(json!({
        "pools": [{"id": "backup", "members": [{"owner": "bob"}]}],
        "rules": [
            rule("owned", json!({"account": {"exists": true}}), json!({
                "assign": "account_owner",
                "experience": {"book_meeting": {}},
                "tags": ["owned"],
                "if_unavailable": if_unavailable
            })),
            rule("next", json!({"always": true}), json!({"assign": {"owner": "ana"}}))
        ]
    }))
}

#[test]
fn if_unavailable_next_rule() {
    let p = unavailable_policy(json!("next_rule"));
    let acct = Account::new("1", "A");
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
    assert_eq!(d.rule.as_deref(), Some("next"));
    assert_eq!(d.owner_id(), Some("ana"));
    assert!(!d.fallback);
    let steps = p.explain(&d).steps;
    assert!(steps.contains(&Step::Unavailable {
        rule: Some("owned".into()),
        reason: Unavailable::NoAccountOwner
    }));
    assert!(steps.contains(&Step::Rule {
        rule: "next".into(),
        matched: true
    }));
}

#[test]
fn if_unavailable_fallback() {
    let p = unavailable_policy(json!("fallback"));
    let acct = Account::new("1", "A").owner("cara");
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
    assert!(d.fallback);
    assert_eq!(d.rule, None);
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(d.assigned_by, AssignedBy::Owner);
    assert_eq!(d.experience, Experience::Confirmation);
    assert!(d.tags.is_empty());
    let tail = &d.trace.events[d.trace.events.len() - 3..];
    assert_eq!(
        tail,
        [
            TraceEvent::Rule {
                rule: 0,
                matched: true
            },
            TraceEvent::Unavailable {
                rule: Some(0),
                reason: Unavailable::InactiveOwner
            },
            TraceEvent::Fallback {
                reason: FallbackReason::RuleAsked { rule: 0 }
            },
        ]
    );
    // The next rule was never evaluated.
    assert!(
        !d.trace
            .events
            .iter()
            .any(|e| matches!(e, TraceEvent::Rule { rule: 1, .. }))
    );
    assert!(p.explain(&d).steps.contains(&Step::Fallback {
        why: "rule `owned` could not assign and sends such leads to the fallback".into()
    }));
}

#[test]
fn if_unavailable_assign_owner() {
    let p = unavailable_policy(json!({"assign": {"owner": "queue"}}));
    let acct = Account::new("1", "A");
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
    assert_eq!(d.rule.as_deref(), Some("owned"));
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(d.assigned_by, AssignedBy::Owner);
    assert!(!d.fallback);
    // The rule's experience and tags are kept.
    assert_eq!(
        d.experience,
        Experience::BookMeeting {
            with: Name::from("queue")
        }
    );
    assert_eq!(d.tags.len(), 1);
    assert_eq!(
        d.trace.events.last(),
        Some(&TraceEvent::Unavailable {
            rule: Some(0),
            reason: Unavailable::NoAccountOwner
        })
    );
}

#[test]
fn if_unavailable_assign_pool() {
    let p = unavailable_policy(json!({"assign": {"pool": "backup"}}));
    let acct = Account::new("1", "A").owner("ghost");
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct));
    assert_eq!(d.rule.as_deref(), Some("owned"));
    assert_eq!(d.owner_id(), Some("bob"));
    assert_eq!(d.assigned_by, AssignedBy::Pool(Name::from("backup")));
    let n = d.trace.events.len();
    assert_eq!(
        d.trace.events[n - 2..],
        [
            TraceEvent::Unavailable {
                rule: Some(0),
                reason: Unavailable::UnknownOwner
            },
            TraceEvent::PoolChoice {
                pool: 0,
                member: 0,
                current: 1,
                eligible_weight: 1,
                eligible: 1,
                replay: false
            },
        ]
    );

    // The backup pool exhausted too: on to the next rule.
    let away = AwayList::new(["bob"]);
    let d = p.evaluate(&lead(json!({})), &ctx().account(&acct).availability(&away));
    assert_eq!(d.rule.as_deref(), Some("next"));
    let unavailable: Vec<&TraceEvent> = d
        .trace
        .events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Unavailable { .. }))
        .collect();
    assert_eq!(
        unavailable,
        [
            &TraceEvent::Unavailable {
                rule: Some(0),
                reason: Unavailable::UnknownOwner
            },
            &TraceEvent::Unavailable {
                rule: Some(0),
                reason: Unavailable::PoolExhausted
            },
        ]
    );
}

#[test]
fn the_fallback_decides_when_no_rule_matches() {
    let p = one_rule(json!({"country": ["US"]}));
    let d = p.evaluate(&lead(json!({"country": "CA"})), &ctx());
    assert!(d.fallback);
    assert_eq!(d.rule, None);
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(d.assigned_by, AssignedBy::Owner);
    assert_eq!(
        d.trace.events.last(),
        Some(&TraceEvent::Fallback {
            reason: FallbackReason::NoRuleMatched
        })
    );
    let explanation = p.explain(&d);
    assert!(
        explanation
            .summary
            .starts_with("Assigned to queue (owner named by the fallback)")
    );
    assert_eq!(
        explanation.steps.last(),
        Some(&Step::Fallback {
            why: "no rule matched".into()
        })
    );
}

#[test]
fn an_exhausted_fallback_pool_assigns_nobody() {
    let p = policy(json!({
        "pools": [{"id": "sales", "members": [{"owner": "ana"}]}],
        "fallback": {"assign": {"pool": "sales"}, "experience": {"book_meeting": {}}}
    }));
    let away = AwayList::new(["ana"]);
    let d = p.evaluate(&lead(json!({})), &ctx().availability(&away));
    assert!(d.fallback);
    assert_eq!(d.owner, None);
    assert_eq!(d.assigned_by, AssignedBy::Nobody);
    // Nobody to meet: a human follows up.
    assert_eq!(d.experience, Experience::ManualReview);
    assert_eq!(
        d.trace.events.last(),
        Some(&TraceEvent::Unavailable {
            rule: None,
            reason: Unavailable::PoolExhausted
        })
    );
}

#[test]
fn the_fallback_honours_its_if_unavailable_assign() {
    let p = policy(json!({
        "pools": [{"id": "sales", "members": [{"owner": "ana"}]}],
        "fallback": {"assign": {"pool": "sales"}, "if_unavailable": {"assign": {"owner": "queue"}}}
    }));
    let away = AwayList::new(["ana"]);
    let d = p.evaluate(&lead(json!({})), &ctx().availability(&away));
    assert_eq!(d.owner_id(), Some("queue"));
}

// ----------------------------------------------------------------- context

#[test]
fn crm_failure_is_the_first_trace_event() {
    let p = policy(json!({"rules": [
        rule("owned", json!({"account": {"has_owner": true}}), json!({"assign": "account_owner"}))
    ]}));
    for status in [LookupStatus::Failed, LookupStatus::TimedOut] {
        let d = p.evaluate(&lead(json!({})), &ctx().account_lookup(status));
        let lookup = Lookup::Account;
        assert_eq!(
            d.trace.events[0],
            TraceEvent::CrmUnavailable { lookup, status }
        );
        assert_eq!(
            p.explain(&d).steps[0],
            Step::CrmUnavailable { lookup, status }
        );
        assert_eq!(d.owner_id(), Some("queue"));
        // The person lookup is reported as such, after the account lookup.
        let d = p.evaluate(
            &lead(json!({})),
            &ctx().account_lookup(status).person_lookup(status),
        );
        assert_eq!(
            d.trace.events[1],
            TraceEvent::CrmUnavailable {
                lookup: Lookup::Person,
                status
            }
        );
    }
    for status in [
        LookupStatus::Found,
        LookupStatus::NotFound,
        LookupStatus::Skipped,
    ] {
        let d = p.evaluate(
            &lead(json!({})),
            &ctx().account_lookup(status).person_lookup(status),
        );
        assert!(
            !d.trace
                .events
                .iter()
                .any(|e| matches!(e, TraceEvent::CrmUnavailable { .. }))
        );
    }
}

#[test]
fn without_trace_gives_the_same_decision_and_an_empty_trace() {
    let p = policy(json!({
        "territories": [{"id": "west", "regions": ["US-CA"]}],
        "pools": [{"id": "sales", "members": [{"owner": "ana", "weight": 2}, {"owner": "bob"}, {"owner": "cara"}]}],
        "rules": [
            rule("owned", json!({"account": {"owner_active": true}}), json!({"assign": "account_owner"})),
            rule("west", json!({"all": [{"territory": "west"}, {"not": {"email_kind": ["free"]}}]}), json!({
                "assign": {"pool": "sales"}, "experience": {"book_meeting": {}}, "tags": ["west"], "sla_minutes": 5
            }))
        ]
    }));
    let acct = Account::new("1", "A").owner("cara");
    let away = AwayList::new(["ana"]);
    let leads = [
        lead(json!({"country": "US", "state": "CA"})),
        lead(json!({"country": "US", "state": "NY"})),
        lead(json!({"email": "x@gmail.com", "country": "US", "state": "CA"})),
    ];
    let contexts = [
        ctx(),
        ctx().account(&acct),
        ctx().availability(&away),
        ctx().account_lookup(LookupStatus::Failed),
    ];
    for lead in &leads {
        for c in &contexts {
            let traced = p.evaluate(lead, c);
            let untraced = p.evaluate_with(lead, c, EvalOptions::without_trace());
            assert!(!traced.trace.events.is_empty());
            assert!(untraced.trace.events.is_empty());
            let mut expected = traced.clone();
            expected.trace = Trace::default();
            assert_eq!(untraced, expected);
        }
    }
}
