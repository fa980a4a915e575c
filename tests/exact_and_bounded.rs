//! Numbers survive exactly; error output stays bounded on hostile payloads.

use leadroute::Normalizer;
use leadroute::lead::{Field, IssueCode, Range};
use serde_json::json;

fn normalize(v: serde_json::Value) -> leadroute::lead::Normalized {
    Normalizer::default()
        .normalize_json(&v.to_string())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_float_attribute_round_trips_exactly() {
    let text = r#"{"email": "ann@acme.com", "x": 3.556748311166766e-304}"#;
    let mut lead = Normalizer::default().normalize_json(text).unwrap().lead;
    let want = 3.556748311166766e-304_f64;
    for _ in 0..5 {
        assert_eq!(lead.attributes["x"].as_f64(), Some(want));
        let json = serde_json::to_string(&lead).unwrap();
        lead = Normalizer::default().normalize_json(&json).unwrap().lead;
    }
}

#[test]
fn counts_are_integers_all_the_way() {
    let n = normalize(
        json!({"email": "ann@acme.com", "employees": "9007199254740993",
        "annual_revenue": {"min": u64::MAX}}),
    );
    assert_eq!(
        n.lead.employees,
        Some(Range::exactly(9_007_199_254_740_993))
    );
    assert_eq!(n.lead.annual_revenue, Some(Range::at_least(u64::MAX)));
    // What the crate writes, it reads back.
    let again = normalize(serde_json::to_value(&n.lead).unwrap());
    assert_eq!(again.lead, n.lead);
}

#[test]
fn a_huge_json_number_is_too_large_not_not_a_number() {
    let text = r#"{"email": "ann@acme.com", "employees": 1e308}"#;
    let e = Normalizer::default().normalize_json(text).unwrap_err();
    assert_eq!(e.errors[0].field, Field::Employees);
    assert_eq!(e.errors[0].message, "is too large");
    let text = r#"{"email": "ann@acme.com", "employees": 2.5e3}"#;
    let n = Normalizer::default().normalize_json(text).unwrap();
    assert_eq!(n.lead.employees, Some(Range::exactly(2500)));
}

#[test]
fn a_hundred_thousand_bad_duplicate_keys_give_a_bounded_error() {
    let mut text = String::from(r#"{"email": "ann@acme.com""#);
    for _ in 0..100_000 {
        text.push_str(r#", "employees": [1]"#);
    }
    text.push('}');
    let e = Normalizer::default().normalize_json(&text).unwrap_err();
    let max = Normalizer::default().limits().max_issues;
    assert_eq!(e.errors.len(), max + 1);
    let last = e.errors.last().unwrap();
    assert_eq!(last.code, IssueCode::Omitted);
    assert_eq!(last.message, "and 99,980 more");
    assert_eq!(e.omitted, 100_000 - max);
    let message = e.to_string();
    assert!(
        message.starts_with("100000 invalid fields: "),
        "{}",
        &message[..80]
    );
    assert!(message.len() < 4_000, "{}", message.len());
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.len() < 6_000, "{}", json.len());
    assert!(json.contains(r#""omitted":99980"#), "{json}");
}

#[test]
fn a_payload_error_quotes_a_shortened_value() {
    let long = "x".repeat(100_000);
    let text = format!(r#"{{"email": "ann@acme.com", "attributes": "{long}"}}"#);
    let e = Normalizer::default()
        .normalize_json(&format!("[\"{long}\""))
        .unwrap_err();
    assert!(e.to_string().len() < 1_000, "{}", e.to_string().len());
    // An attribute that is too large names its size, not its text.
    let e = Normalizer::default().normalize_json(&text);
    let shown = match e {
        Ok(n) => format!("{:?}", n.warnings),
        Err(e) => e.to_string(),
    };
    assert!(shown.len() < 1_000, "{}", shown.len());
}
