//! Explanations say as much as the trace knows: rules the index skipped name
//! the fact, the lead's value and what each rule needs; conditions on a CRM
//! record that is absent say so (and why) instead of "observed nothing".

use leadroute::crm::{Account, LookupStatus};
use leadroute::decision::{IndexedFact, Observed, TraceEvent};
use leadroute::policy::Step;
use leadroute::{Facts, Lead, Normalizer, Policy, PolicySpec, compile};
use serde_json::{Value, json};

fn policy(rules: Value) -> Policy {
    let spec = PolicySpec::from_json_str(
        &json!({
            "name": "p", "version": "1",
            "owners": [{"id": "ana", "name": "Ana"}, {"id": "queue", "name": "Queue"}],
            "rules": rules,
            "fallback": {"assign": {"owner": "queue"}}
        })
        .to_string(),
    )
    .unwrap();
    compile(&spec).unwrap()
}

fn lead(payload: Value) -> Lead {
    Normalizer::default()
        .normalize_json(&payload.to_string())
        .unwrap()
        .lead
}

fn rule(id: &str, when: Value) -> Value {
    json!({"id": id, "when": when, "then": {"assign": {"owner": "ana"}}})
}

#[test]
fn a_rule_skipped_for_the_email_kind_names_the_kind_the_lead_has() {
    let p = policy(json!([rule("spam", json!({"email_kind": ["disposable"]}))]));
    let d = p.evaluate(&lead(json!({"email": "cto@acme.com"})), &Facts::at_unix(0));
    assert_eq!(
        d.trace.events[..2],
        [
            TraceEvent::LeadValue {
                fact: IndexedFact::EmailKind,
                observed: serde_json::from_value(json!("business")).unwrap(),
            },
            TraceEvent::RulesSkipped {
                first: 0,
                count: 1,
                by: IndexedFact::EmailKind.into()
            },
        ]
    );
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("rule `spam`: skipped (ruled out by the index): it requires email_kind in [disposable]; the lead's email_kind is \"business\""),
        "{text}"
    );
}

#[test]
fn a_lead_without_the_fact_is_told_so() {
    let p = policy(json!([rule("us", json!({"country": ["US", "CA"]}))]));
    let d = p.evaluate(&lead(json!({"email": "cto@acme.com"})), &Facts::at_unix(0));
    let explained = p.explain(&d);
    match &explained.steps[0] {
        Step::RulesSkipped {
            by, rules, count, ..
        } => {
            assert_eq!(*count, 1);
            assert_eq!(
                by.iter().map(|b| (b.fact, b.observed)).collect::<Vec<_>>(),
                [(IndexedFact::Country, Observed::None)]
            );
            assert_eq!(
                (rules[0].rule.as_str(), rules[0].by),
                ("us", IndexedFact::Country)
            );
            // Countries are listed in code order.
            assert_eq!(rules[0].requires, ["CA", "US"]);
        }
        other => panic!("expected a skipped run, got {other:?}"),
    }
    assert!(
        explained
            .to_string()
            .contains("it requires country in [CA, US]; the lead has no country"),
        "{explained}"
    );
}

#[test]
fn long_runs_list_the_first_rules_and_count_the_rest() {
    let rules: Vec<Value> = (0..25)
        .map(|i| {
            rule(
                &format!("fr{i}"),
                json!({"all": [{"country": ["FR"]}, {"utm_campaign": [format!("c{i}")]}]}),
            )
        })
        .collect();
    let p = policy(json!(rules));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.de", "country": "DE"})),
        &Facts::at_unix(0),
    );
    let explained = p.explain(&d);
    let Step::RulesSkipped { count, rules, .. } = &explained.steps[0] else {
        panic!("{explained}")
    };
    assert_eq!((*count, rules.len()), (25, 10));
    let text = explained.to_string();
    assert!(text.contains("25 rules `fr0` … `fr24`: skipped (ruled out by the index): the lead's country is \"DE\""), "{text}");
    assert!(
        text.contains("    rule `fr9` requires country in [FR]\n    … and 15 more"),
        "{text}"
    );
    // The JSON form carries the same facts.
    let v = serde_json::to_value(&explained.steps[0]).unwrap();
    assert_eq!(v["step"], "rules_skipped");
    assert_eq!(v["by"], json!([{"fact": "country", "observed": "DE"}]));
    assert_eq!(
        v["rules"][0],
        json!({"rule": "fr0", "by": "country", "requires": ["FR"]})
    );
}

#[test]
fn a_rule_that_can_never_match_says_so() {
    let p = policy(json!([
        rule(
            "us-ads",
            json!({"all": [{"country": ["US"]}, {"utm_source": ["ads"]}]})
        ),
        rule(
            "off",
            json!({"all": [{"country": ["US"]}, {"always": false}]})
        ),
    ]));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.com", "country": "US"})),
        &Facts::at_unix(0),
    );
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("rule `off`: skipped (ruled out by the index): it can never match"),
        "{text}"
    );
}

#[test]
fn tracing_the_reasons_never_changes_the_decision() {
    let rules: Vec<Value> = (0..40)
        .map(|i| {
            let cc = ["US", "DE", "FR", "GB"][i % 4];
            rule(
                &format!("r{i}"),
                json!({"all": [{"country": [cc]}, {"product_interest": [format!("p{i}")]}]}),
            )
        })
        .collect();
    let p = policy(json!(rules));
    for (cc, product) in [("DE", "p5"), ("GB", "p0"), ("JP", "p1"), ("US", "zzz")] {
        let l = lead(json!({"email": "a@acme.com", "country": cc, "product_interest": product}));
        let on = p.evaluate(&l, &Facts::at_unix(0));
        let off = p.evaluate_with(
            &l,
            &Facts::at_unix(0),
            leadroute::policy::EvalOptions::without_trace(),
        );
        assert_eq!(
            (on.owner_id(), on.rule.clone()),
            (off.owner_id(), off.rule.clone())
        );
        assert!(off.trace.events.is_empty());
        // Every rule is accounted for exactly once: evaluated or skipped.
        let accounted: u32 = on
            .trace
            .events
            .iter()
            .map(|e| match e {
                TraceEvent::Rule { .. } => 1,
                TraceEvent::RulesSkipped { count, .. } => *count,
                _ => 0,
            })
            .sum();
        let decided_at = on
            .rule
            .as_deref()
            .map_or(40, |r| r[1..].parse::<u32>().unwrap() + 1);
        assert_eq!(accounted, decided_at, "{cc} {product}");
    }
}

#[test]
fn absent_crm_records_read_as_no_record_not_as_false() {
    let p = policy(json!([
        rule("owned", json!({"account": {"has_owner": true}})),
        rule("contact", json!({"contact": {"exists": true}})),
    ]));
    let l = lead(json!({"email": "a@acme.com"}));
    let text = p.explain(&p.evaluate(&l, &Facts::at_unix(0))).to_string();
    assert!(
        text.contains("account.has_owner is true: no account matched → false"),
        "{text}"
    );
    assert!(
        text.contains("contact.exists is true: no contact matched → false"),
        "{text}"
    );

    let down = Facts::at_unix(0).account_lookup(LookupStatus::TimedOut);
    let text = p.explain(&p.evaluate(&l, &down)).to_string();
    assert!(
        text.contains("CRM account lookup timed out; routed without it"),
        "{text}"
    );
    assert!(
        text.contains("account.has_owner is true: no account: the CRM lookup timed out → false"),
        "{text}"
    );

    // With a record, the observed value is shown as before.
    let unowned = Account::new("001", "Acme");
    let text = p
        .explain(&p.evaluate(&l, &Facts::at_unix(0).account(&unowned)))
        .to_string();
    assert!(
        text.contains("account.has_owner is true: observed false → false"),
        "{text}"
    );
}

#[test]
fn a_gap_of_rules_interleaved_by_attribute_is_one_run_and_each_rule_gets_its_reason() {
    // Rules ruled out alternately by country, region and product, then the
    // one candidate: one run names all three facts, and the explanation says
    // which one rules out each rule.
    let p = policy(json!([
        rule("fr", json!({"country": ["FR"]})),
        rule(
            "bavaria",
            json!({"all": [{"country": ["DE"]}, {"region": ["DE-BY"]}]})
        ),
        rule(
            "de-crm",
            json!({"all": [{"country": ["DE"]}, {"product_interest": ["crm"]}]})
        ),
        rule("gb", json!({"country": ["GB"]})),
        rule(
            "de-billing",
            json!({"all": [{"country": ["DE"]}, {"product_interest": ["billing"]}]})
        ),
    ]));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.de", "country": "DE", "state": "Berlin", "product_interest": "billing"})),
        &Facts::at_unix(0),
    );
    assert_eq!(d.rule.as_deref(), Some("de-billing"));
    let runs: Vec<_> = d
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::RulesSkipped { first, count, by } => {
                Some((*first, *count, by.iter().collect::<Vec<_>>()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        runs,
        [(
            0,
            4,
            vec![
                IndexedFact::Country,
                IndexedFact::Region,
                IndexedFact::ProductInterest
            ]
        )]
    );
    // The JSON names the set.
    let json = serde_json::to_value(&d.trace).unwrap();
    let run = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "rules_skipped")
        .unwrap();
    assert_eq!(run["by"], json!(["country", "region", "product_interest"]));

    let explained = p.explain(&d);
    let Step::RulesSkipped { by, rules, .. } = &explained.steps[0] else {
        panic!("{explained}")
    };
    assert_eq!(by.len(), 3);
    let reasons: Vec<(&str, IndexedFact, Vec<&str>)> = rules
        .iter()
        .map(|r| {
            (
                r.rule.as_str(),
                r.by,
                r.requires.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("fr", IndexedFact::Country, vec!["FR"]),
            ("bavaria", IndexedFact::Region, vec!["DE-BY"]),
            ("de-crm", IndexedFact::ProductInterest, vec!["crm"]),
            ("gb", IndexedFact::Country, vec!["GB"]),
        ]
    );
    let text = explained.to_string();
    for expected in [
        "4 rules `fr` … `gb`: skipped (ruled out by the index): the lead's country is \"DE\"; the lead's region is \"DE-BE\"; the lead's product_interest is \"billing\"",
        "    rule `bavaria` requires region in [DE-BY]",
        "    rule `de-crm` requires product_interest in [crm]",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn traces_written_with_one_fact_per_run_are_still_read_and_explained() {
    let p = policy(json!([rule("us", json!({"country": ["US"]}))]));
    let d = p.evaluate(
        &lead(json!({"email": "a@acme.de", "country": "DE"})),
        &Facts::at_unix(0),
    );
    let mut v = serde_json::to_value(&d).unwrap();
    let run = v["trace"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["event"] == "rules_skipped")
        .unwrap();
    assert_eq!(run["by"], json!(["country"]));
    // The form earlier versions wrote.
    run["by"] = json!("country");
    let old: leadroute::RouteDecision = serde_json::from_value(v).unwrap();
    assert_eq!(old, d);
    assert_eq!(p.explain(&old), p.explain(&d));
    // Anything else is a descriptive error.
    let err = serde_json::from_value::<TraceEvent>(
        json!({"event": "rules_skipped", "first": 0, "count": 1, "by": 3}),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("an array of indexed facts"),
        "{err}"
    );
}
