//! The rule index prunes rules that cannot match, and only those.

use leadroute::PolicySpec;
use leadroute::decision::{IndexedFact, IndexedFacts, TraceEvent};
use leadroute::{Facts, Normalizer, compile};
use serde_json::json;

fn policy(rules: serde_json::Value) -> leadroute::Policy {
    let spec = json!({
        "name": "ix", "version": "1",
        "owners": [{"id": "ana", "name": "Ana"}, {"id": "queue", "name": "Queue"}],
        "rules": rules,
        "fallback": {"assign": {"owner": "queue"}}
    });
    compile(&PolicySpec::from_json_str(&spec.to_string()).unwrap()).unwrap()
}

fn lead(payload: serde_json::Value) -> leadroute::Lead {
    Normalizer::default()
        .normalize_json(&payload.to_string())
        .unwrap()
        .lead
}

#[test]
fn several_product_conditions_in_an_all_are_each_necessary_not_intersected() {
    let p = policy(
        json!([{"id": "both", "when": {"all": [{"product_interest": ["crm"]}, {"product_interest": ["billing"]}]},
                           "then": {"assign": {"owner": "ana"}}}]),
    );
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "product_interest": "CRM, Billing"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("both"));
}

#[test]
fn nested_postal_prefixes_in_an_all_still_match() {
    let p = policy(json!([{"id": "bay", "when": {"all": [
        {"postal_code": {"country": "US", "prefixes": ["9"]}},
        {"postal_code": {"country": "US", "prefixes": ["941"]}}
    ]}, "then": {"assign": {"owner": "ana"}}}]));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "country": "US", "zip": "94105"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("bay"));
}

#[test]
fn a_large_territory_plan_evaluates_only_the_candidates() {
    // 600 rules: 10 countries × 600 distinct products; one fits the lead.
    let codes = ["US", "CA", "GB", "DE", "FR", "JP", "AU", "BR", "IN", "MX"];
    let mut rules = Vec::new();
    for i in 0..600 {
        rules.push(json!({"id": format!("r{i}"), "when": {"all": [
            {"country": [codes[i % codes.len()]]},
            {"product_interest": [format!("p{i}")]}
        ]}, "then": {"assign": {"owner": "ana"}}}));
    }
    let p = policy(json!(rules));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "country": "DE", "product_interest": "p33"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("r33"));
    let evaluated = d
        .trace
        .events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Rule { .. }))
        .count();
    let skipped: u32 = d
        .trace
        .events
        .iter()
        .map(|e| match e {
            TraceEvent::RulesSkipped { count, .. } => *count,
            _ => 0,
        })
        .sum();
    assert_eq!(evaluated, 1, "only the one candidate is evaluated");
    assert_eq!(skipped, 33, "every rule before it is ruled out");
    // The gap is one run naming every fact that rules out some of its
    // rules, each lead value once; the explanation works out each rule's
    // own reason: country where it needs another country, else product.
    let lead_values: Vec<_> = d
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::LeadValue { fact, observed } => Some((*fact, observed.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        lead_values,
        [
            (IndexedFact::Country, "\"DE\"".to_owned()),
            (IndexedFact::ProductInterest, "\"p33\"".to_owned())
        ],
        "each lead value is recorded once"
    );
    let runs: Vec<_> = d
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::RulesSkipped { first, count, by } => Some((*first, *count, *by)),
            _ => None,
        })
        .collect();
    let by: IndexedFacts = [IndexedFact::Country, IndexedFact::ProductInterest]
        .into_iter()
        .collect();
    assert_eq!(runs, [(0, 33, by)], "one run covers the gap");
    let text = p.explain(&d).to_string();
    for expected in [
        "33 rules `r0` … `r32`: skipped (ruled out by the index): the lead's country is \"DE\"; the lead's product_interest is \"p33\"",
        "    rule `r1` requires country in [CA]",
        "    rule `r3` requires product_interest in [p3]",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn a_lead_with_more_products_than_the_index_unions_still_matches() {
    // 14 rules on distinct tokens, and a lead naming all 14: more sets than
    // the index unions per lead (12), so it must place no restriction rather
    // than keep only unconstrained rules (which would skip them all).
    let rules: Vec<_> = (0..14)
        .map(|i| json!({"id": format!("t{i}"), "when": {"product_interest": [format!("t{i}")]}, "then": {"assign": {"owner": "ana"}}}))
        .collect();
    let p = policy(json!(rules));
    let tokens: Vec<String> = (0..14).rev().map(|i| format!("t{i}")).collect();
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "product_interest": tokens.join(",")})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("t0"));
}

#[test]
fn policies_with_no_rules_or_exactly_64_rules_have_no_phantom_candidates() {
    let empty = policy(json!([]));
    let d = empty.evaluate(&lead(json!({"email": "a@acme.com"})), &Facts::at_unix(0));
    assert!(d.fallback);
    assert_eq!(
        d.trace
            .events
            .iter()
            .filter(|e| matches!(e, TraceEvent::Rule { .. } | TraceEvent::RulesSkipped { .. }))
            .count(),
        0
    );
    let rules: Vec<_> = (0..64)
        .map(|i| json!({"id": format!("r{i}"), "when": {"source": [format!("s{i}")]}, "then": {"assign": {"owner": "ana"}}}))
        .collect();
    let p = policy(json!(rules));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "source": "s63"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("r63"));
    let d = p.evaluate(&lead(json!({"email": "a@acme.com"})), &Facts::at_unix(0));
    let rules_seen = d
        .trace
        .events
        .iter()
        .filter(|e| matches!(e, TraceEvent::Rule { .. }))
        .count();
    assert_eq!(
        rules_seen, 64,
        "source is not indexed: every rule is evaluated, none twice"
    );
}

#[test]
fn head_count_and_revenue_bands_rule_out_rules_without_evaluating_them() {
    // 300 rules, one 10-wide head-count band each, then 300 revenue bands.
    let mut rules = Vec::new();
    for i in 0..300u64 {
        rules.push(
            json!({"id": format!("e{i}"), "when": {"employees": {"min": i * 10, "max": i * 10 + 9}},
                          "then": {"assign": {"owner": "ana"}}}),
        );
    }
    for i in 0..300u64 {
        rules.push(json!({"id": format!("r{i}"), "when": {"annual_revenue": {"min": i * 1_000_000 + 1, "max": (i + 1) * 1_000_000}},
                          "then": {"assign": {"owner": "ana"}}}));
    }
    let p = policy(json!(rules));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "company_size": "1234"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("e123"));
    assert_eq!(evaluated(&d), [123], "only the lead's band is evaluated");
    assert!(d.trace.events.iter().any(|e| matches!(e,
        TraceEvent::RulesSkipped { first: 0, count: 123, by } if *by == IndexedFacts::from(IndexedFact::Employees))));
    assert!(d.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::LeadValue {
            fact: IndexedFact::Employees,
            ..
        }
    )));

    // A range must lie within the bounds: 1,230-1,250 spans two bands, so
    // no head-count rule holds, and the revenue rules need a revenue.
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "company_size": "1230-1250"})),
        &Facts::at_unix(0),
    );
    assert!(d.fallback, "{:?}", d.rule);
    assert_eq!(
        evaluated(&d),
        [123],
        "only the band holding the range's start is a candidate"
    );

    // Revenue of 3.5M: the band 3,000,001..=4,000,000, and only it.
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "annual_revenue": "3500000"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("r3"));
    assert_eq!(evaluated(&d), [303], "r3 is rule 303, the only candidate");
}

/// The rules a decision's trace shows evaluated, in order.
fn evaluated(d: &leadroute::RouteDecision) -> Vec<u32> {
    d.trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Rule { rule, .. } => Some(*rule),
            _ => None,
        })
        .collect()
}
