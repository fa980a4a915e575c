//! The match as policies, routers, events and explanations see it: the
//! `account_match` condition end to end.

use std::sync::Arc;

use leadroute::crm::{Account, LookupStatus};
use leadroute::events::EventKind;
use leadroute::matching::{MatchMethod, Matcher};
use leadroute::policy::DiagnosticCode;
use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
use leadroute::{Facts, LeadInput, LeadRouter, Normalizer, Policy};

const POLICY: &str = r#"
name = "matching"
version = "1"
owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }, { id = "review", name = "Review queue" },
          { id = "queue", name = "Queue" }, { id = "gone", name = "Gone", active = false }]

[[rules]]
id = "ambiguous-to-review"
when = { account_match = { ambiguous = true } }
then = { assign = { owner = "review" }, experience = "manual_review" }

[[rules]]
id = "confident-domain-match"
when = { account_match = { matched_by = ["exact_domain", "additional_domain", "subdomain"], min_confidence = 0.9 } }
then = { assign = "account_owner", experience = "customer_success" }

[[rules]]
id = "weaker-match"
when = { account_match = { matched = true } }
then = { assign = "account_owner", experience = "confirmation" }

[fallback]
assign = { owner = "queue" }
"#;

fn lead(json: &str) -> leadroute::Lead {
    Normalizer::default().normalize_json(json).unwrap().lead
}

fn crm() -> InMemoryCrm {
    InMemoryCrm::new()
        .with_account(
            Account::new("acme", "Acme Corporation")
                .domain("acme.com")
                .owner("ana"),
        )
        .with_account(
            Account::new("initech-1", "Initech")
                .domain("initech.com")
                .owner("bob"),
        )
        .with_account(
            Account::new("initech-2", "Initech Inc.")
                .domain("initech.com")
                .owner("ana"),
        )
}

type Router =
    LeadRouter<InMemoryCrm, RecordingSink, leadroute::pool::InMemoryPoolStore, ManualClock>;

fn router() -> Router {
    LeadRouter::new(
        Policy::from_toml_str(POLICY).unwrap(),
        crm(),
        RecordingSink::new(),
    )
    .with_clock(ManualClock::at_unix(1_700_000_000))
}

fn route(r: &Router, json: &str) -> leadroute::router::Routed {
    pollster::block_on(r.route(serde_json::from_str::<LeadInput>(json).unwrap())).unwrap()
}

#[test]
fn an_ambiguous_match_goes_to_review_instead_of_a_guess() {
    let r = router();
    let routed = route(&r, r#"{"email": "x@initech.com"}"#);
    assert_eq!(routed.decision.rule.as_deref(), Some("ambiguous-to-review"));
    assert_eq!(routed.decision.owner_id(), Some("review"));
    assert_eq!(routed.lookups.account, LookupStatus::NotFound);
    assert!(routed.lookups.matched_account.is_none());
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert!(m.is_ambiguous());
    let event = r
        .events()
        .events()
        .into_iter()
        .find(|e| e.name() == "account_not_matched")
        .unwrap();
    assert!(matches!(
        event.kind,
        EventKind::AccountNotMatched {
            ambiguous: true,
            candidates: 3,
            ..
        }
    ));
    let explained = r.policy().explain(&routed.decision).to_string();
    assert!(
        explained.contains(
            "account match: ambiguous: 2 accounts fit equally well (Initech, Initech Inc.)"
        ),
        "{explained}"
    );
    assert!(
        explained.contains("account_match.ambiguous is true: observed true → true"),
        "{explained}"
    );
}

#[test]
fn a_confident_domain_match_routes_to_the_owner_and_events_carry_method_and_confidence() {
    let r = router();
    let routed = route(&r, r#"{"email": "cto@acme.com"}"#);
    assert_eq!(
        routed.decision.rule.as_deref(),
        Some("confident-domain-match")
    );
    assert_eq!(routed.decision.owner_id(), Some("ana"));
    let m = routed.decision.account_match.as_deref().unwrap();
    assert_eq!(m.method, Some(MatchMethod::ExactDomain));
    let event = r
        .events()
        .events()
        .into_iter()
        .find(|e| e.name() == "account_matched")
        .unwrap();
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["account_id"], "acme");
    assert_eq!(json["method"], "exact_domain");
    assert_eq!(json["confidence"], 1.0);
    // The decision's JSON carries the whole match, and reads back.
    let back: leadroute::RouteDecision =
        serde_json::from_value(serde_json::to_value(&routed.decision).unwrap()).unwrap();
    assert_eq!(back, routed.decision);
}

#[test]
fn a_cross_tld_match_is_weaker_and_the_explanation_says_so_in_words() {
    let r = router();
    let routed = route(&r, r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd"}"#);
    assert_eq!(routed.decision.rule.as_deref(), Some("weaker-match"));
    let explained = r.policy().explain(&routed.decision).to_string();
    assert!(
        explained.contains(
            "account match: matched Acme Corporation (acme.com) by cross-TLD domain acme.co.uk, confidence 0.85"
        ),
        "{explained}"
    );
    assert!(
        explained.contains(
            r#"account_match.method in [exact_domain, additional_domain, subdomain]: observed "cross_tld" → false"#
        ),
        "{explained}"
    );
}

#[test]
fn the_in_memory_crm_finds_a_brand_in_either_spelling_like_the_crm_adapters() {
    // `acme-corp` and `acmecorp` are one brand to the matcher; the
    // in-memory CRM hands every account to it, so a dry run matches across
    // the spellings as the adapters' searches (which ask for both) do.
    let crm = InMemoryCrm::new()
        .with_account(
            Account::new("de", "Acme Corp GmbH")
                .domain("acme-corp.de")
                .owner("ana"),
        )
        .with_account(Account::new("other", "Acme Labs").domain("acmelabs.io"));
    let r = LeadRouter::new(
        Policy::from_toml_str(POLICY).unwrap(),
        crm,
        RecordingSink::new(),
    )
    .with_clock(ManualClock::at_unix(1_700_000_000));
    for email in ["jo@acmecorp.co.uk", "jo@acme-corp.com"] {
        let routed = route(
            &r,
            &format!(r#"{{"email": "{email}", "company": "Acme Corp Ltd"}}"#),
        );
        let m = routed.lookups.account_match.as_deref().unwrap();
        assert_eq!(m.account_id.as_deref(), Some("de"), "{email}: {m}");
        assert_eq!(m.method, Some(MatchMethod::CrossTld), "{email}");
        let lead = lead(&format!(
            r#"{{"email": "{email}", "company": "Acme Corp Ltd"}}"#
        ));
        let query = leadroute::crm::CandidateQuery::for_lead(&lead, 50);
        assert!(
            query.brand_spellings.iter().any(|b| b == "acme-corp")
                && query.brand_spellings.iter().any(|b| b == "acmecorp"),
            "{email}: {:?}",
            query.brand_spellings
        );
    }
}

#[test]
fn without_a_match_result_every_match_test_is_false() {
    let policy = Policy::from_toml_str(POLICY).unwrap();
    let d = policy.evaluate(&lead(r#"{"email": "x@initech.com"}"#), &Facts::at_unix(0));
    assert_eq!(d.rule, None);
    assert!(d.account_match.is_none());
    // With one, evaluation reads it (and shares it rather than copying).
    let m = Arc::new(
        Matcher::default()
            .match_accounts(&lead(r#"{"email": "x@initech.com"}"#), &crm().accounts()),
    );
    let d = policy.evaluate(
        &lead(r#"{"email": "x@initech.com"}"#),
        &Facts::at_unix(0).account_match(&m),
    );
    assert_eq!(d.rule.as_deref(), Some("ambiguous-to-review"));
    assert!(Arc::ptr_eq(d.account_match.as_ref().unwrap(), &m));
}

#[test]
fn bad_match_tests_are_diagnosed_with_their_paths() {
    let bad = |when: &str| {
        Policy::from_json_str(&format!(
            r#"{{"name": "p", "version": "1", "owners": [{{"id": "q", "name": "Q"}}],
                "rules": [{{"id": "r", "when": {when}, "then": {{"assign": "nobody"}}}}],
                "fallback": {{"assign": {{"owner": "q"}}}}}}"#
        ))
        .unwrap_err()
    };
    let e = bad(r#"{"account_match": {"min_confidence": 80}}"#);
    assert_eq!(
        e.errors[0].path,
        "rules[0].when.account_match.min_confidence"
    );
    assert_eq!(e.errors[0].code, DiagnosticCode::WrongType);
    assert_eq!(
        e.errors[0].help.as_deref(),
        Some("a confidence is a fraction: write 0.8 for 80 %")
    );
    let e = bad(r#"{"account_match": {"matched_by": ["exact_domian"]}}"#);
    assert_eq!(
        e.errors[0].path,
        "rules[0].when.account_match.matched_by[0]"
    );
    assert_eq!(
        e.errors[0].help.as_deref(),
        Some("did you mean `exact_domain`?")
    );
    let e = bad(r#"{"account_match": {}}"#);
    assert_eq!(e.errors[0].path, "rules[0].when.account_match");
    let e = bad(r#"{"account_match": {"matched_by": []}}"#);
    assert_eq!(e.errors[0].path, "rules[0].when.account_match.matched_by");
}

#[test]
fn a_rule_shadowed_by_a_broader_match_test_is_reported_unreachable() {
    let err = Policy::from_json_str(
        r#"{"name": "p", "version": "1", "owners": [{"id": "q", "name": "Q"}],
            "rules": [
              {"id": "any-domain", "when": {"account_match": {"matched_by": ["exact_domain", "subdomain"]}}, "then": {"assign": "nobody"}},
              {"id": "exact", "when": {"account_match": {"matched_by": ["exact_domain"], "min_confidence": 0.5}}, "then": {"assign": "nobody"}},
              {"id": "confident", "when": {"account_match": {"min_confidence": 0.9, "matched": true}}, "then": {"assign": "nobody"}}
            ],
            "fallback": {"assign": {"owner": "q"}}}"#,
    )
    .unwrap_err();
    let unreachable: Vec<_> = err
        .errors
        .iter()
        .filter(|d| d.code == DiagnosticCode::UnreachableRule)
        .filter_map(|d| d.rule.as_deref())
        .collect();
    // `confident` is not covered: a name match of 0.9 is not a domain match.
    assert_eq!(unreachable, ["exact"]);
}

#[test]
fn the_decision_trace_records_the_match_and_the_explanation_steps_through_it() {
    let r = router();
    let routed = route(&r, r#"{"email": "jane@acme.com"}"#);
    let d = &routed.decision;
    let first = d.trace.events.first().expect("a trace");
    let json = serde_json::to_value(first).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"event": "account_match", "outcome": "matched", "method": "exact_domain",
            "confidence": d.account_match.as_ref().unwrap().confidence, "account": "acme", "candidates": 3})
    );
    let explanation = r.policy().explain(d);
    let step = serde_json::to_value(&explanation.steps[0]).unwrap();
    assert_eq!(step["step"], "account_match");
    assert_eq!(step["account"], "acme");

    // Ambiguous: no account, and the trace says so.
    let routed = route(&r, r#"{"email": "x@initech.com"}"#);
    let json = serde_json::to_value(routed.decision.trace.events[0]).unwrap();
    assert_eq!(json["outcome"], "ambiguous");
    assert_eq!(json["account"], serde_json::Value::Null);
    assert_eq!(json["candidates"], 3);
}
