//! The `spam` and `signal` conditions: read, checked, evaluated, explained,
//! and used by the unreachable-rule check.

use leadroute::policy::DiagnosticCode;
use leadroute::submission::{Signal, SignalKind, Signals};
use leadroute::{Facts, Normalizer, Policy, PolicySpec, compile};

fn policy(rules: &str) -> Result<Policy, leadroute::CompileError> {
    let text = format!(
        r#"name = "p"
version = "1"
owners = [{{ id = "q", name = "Q" }}, {{ id = "r", name = "R" }}]
{rules}
[fallback]
assign = {{ owner = "q" }}
"#
    );
    compile(&PolicySpec::from_toml_str(&text)?)
}

fn signals(list: &[(SignalKind, u32)]) -> Signals {
    Signals::from_signals(
        list.iter()
            .map(|(k, w)| Signal::new(*k, None, "seen", *w))
            .collect(),
    )
}

fn lead() -> leadroute::Lead {
    Normalizer::default()
        .normalize_json(r#"{"email": "jane@acme.com"}"#)
        .unwrap()
        .lead
}

#[test]
fn score_bounds_and_signals_decide() {
    let p = policy(
        r#"
[[rules]]
id = "bots"
when = { signal = ["honeypot", "known_bad_domain"] }
then = { assign = "nobody", experience = { reject = { reason = "spam" } } }
[[rules]]
id = "suspect"
when = { spam = { score_at_least = 40, score_below = 100 } }
then = { assign = { owner = "r" }, tags = ["suspected_spam"] }
"#,
    )
    .unwrap();
    let lead = lead();
    let at = |s: &Signals| {
        p.evaluate(&lead, &Facts::at_unix(0).signals(s))
            .rule
            .clone()
    };
    assert_eq!(
        at(&signals(&[(SignalKind::Honeypot, 0)])).as_deref(),
        Some("bots")
    );
    assert_eq!(
        at(&signals(&[(SignalKind::TooFast, 60)])).as_deref(),
        Some("suspect")
    );
    assert_eq!(at(&signals(&[(SignalKind::TooFast, 39)])), None);
    assert_eq!(
        at(&signals(&[
            (SignalKind::TooFast, 60),
            (SignalKind::ScriptLike, 40)
        ])),
        None
    );
    assert_eq!(
        at(&signals(&[(SignalKind::TooFast, 40)])).as_deref(),
        Some("suspect")
    );
    // Not screened: neither condition holds.
    let d = p.evaluate(&lead, &Facts::at_unix(0));
    assert!(d.fallback);
    let why = p.explain(&d).to_string();
    assert!(why.contains("spam.score"), "{why}");

    let d = p.evaluate(
        &lead,
        &Facts::at_unix(0).signals(&signals(&[(SignalKind::TooFast, 60)])),
    );
    let json = serde_json::to_value(p.explain(&d)).unwrap();
    let steps = json["steps"].as_array().unwrap();
    let signal = steps.iter().find(|s| s["field"] == "signal").unwrap();
    assert_eq!(signal["observed"], "too_fast");
    assert_eq!(signal["result"], false);
    let score = steps.iter().find(|s| s["field"] == "spam.score").unwrap();
    assert_eq!(score["observed"], 60);
    assert_eq!(score["expected"], "40..100");
}

#[test]
fn bad_spam_tests_are_diagnosed_with_their_paths() {
    let err = policy(
        r#"
[[rules]]
id = "a"
when = { spam = {} }
then = { assign = "nobody" }
[[rules]]
id = "b"
when = { spam = { score_at_least = 100, score_below = 50 } }
then = { assign = "nobody" }
[[rules]]
id = "c"
when = { signal = [] }
then = { assign = "nobody" }
"#,
    )
    .unwrap_err();
    let found: Vec<_> = err
        .errors
        .iter()
        .map(|d| (d.code, d.path.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (DiagnosticCode::Empty, "rules[0].when.spam"),
            (DiagnosticCode::InvertedRange, "rules[1].when.spam"),
            (DiagnosticCode::Empty, "rules[2].when.signal"),
            // `{}` bounds nothing, so it covers every later spam test.
            (DiagnosticCode::UnreachableRule, "rules[1].when"),
        ]
    );
    let err = PolicySpec::from_json_str(
        r#"{"name": "p", "version": "1", "rules": [{"id": "x", "when": {"signal": ["honeypott"]}, "then": {"assign": "nobody"}}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.errors[0].path, "rules[0].when.signal[0]");
    assert_eq!(
        err.errors[0].help.as_deref(),
        Some("did you mean `honeypot`?")
    );
}

#[test]
fn a_rule_covered_by_a_broader_spam_rule_is_unreachable() {
    let err = policy(
        r#"
[[rules]]
id = "review"
when = { spam = { score_at_least = 40 } }
then = { assign = "nobody", experience = "manual_review" }
[[rules]]
id = "reject"
when = { spam = { score_at_least = 100 } }
then = { assign = "nobody", experience = { reject = {} } }
[[rules]]
id = "hp"
when = { signal = ["honeypot"] }
then = { assign = "nobody" }
[[rules]]
id = "hp-or-bad"
when = { signal = ["honeypot"] }
then = { assign = "nobody" }
"#,
    )
    .unwrap_err();
    let found: Vec<_> = err
        .errors
        .iter()
        .map(|d| (d.code, d.path.as_str(), d.rule.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (
                DiagnosticCode::UnreachableRule,
                "rules[1].when",
                Some("reject")
            ),
            (
                DiagnosticCode::UnreachableRule,
                "rules[3].when",
                Some("hp-or-bad")
            ),
        ]
    );
}
