//! Numbers survive exactly; error output stays bounded on hostile payloads.

use leadroute::lead::{Field, IssueCode, Range};
use leadroute::{LeadInput, Normalizer};
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
    // (An unreadable range is a warning: the lead stands without it.)
    let n = Normalizer::default().normalize_json(text).unwrap();
    assert_eq!(n.lead.employees, None);
    assert_eq!(n.warnings[0].field, Field::Employees);
    assert_eq!(n.warnings[0].message, "is too large; treated as absent");
    let text = r#"{"email": "ann@acme.com", "employees": 2.5e3}"#;
    let n = Normalizer::default().normalize_json(text).unwrap();
    assert_eq!(n.lead.employees, Some(Range::exactly(2500)));
}

#[test]
fn a_hundred_thousand_bad_duplicate_keys_give_a_bounded_error() {
    let mut text = String::from(r#"{"email": "ann@acme.com""#);
    for _ in 0..100_000 {
        // (An object: `[1]` is read as `1` since form builders send
        // one-item arrays.)
        text.push_str(r#", "employees": {"lo": 1}"#);
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
fn a_hundred_thousand_unusable_arrays_give_bounded_warnings() {
    let mut text = String::from(r#"{"email": "ann@acme.com""#);
    for _ in 0..100_000 {
        text.push_str(r#", "employees": [1, 2]"#);
    }
    text.push('}');
    // Several values in an optional field: warnings, and the lead stands.
    let n = Normalizer::default().normalize_json(&text).unwrap();
    let max = Normalizer::default().limits().max_issues;
    assert_eq!(n.lead.employees, None);
    assert_eq!(n.warnings.len(), max + 1);
    assert!(
        n.warnings[..max]
            .iter()
            .all(|w| w.code == IssueCode::WrongType)
    );
    assert_eq!(n.warnings[max].code, IssueCode::Omitted);
    assert_eq!(n.omitted_warnings, 100_000 - max);
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

#[test]
fn spoofing_characters_are_warnings_not_errors() {
    let n = normalize(
        json!({"email": "ann@xn--pple-43d.com", "company": "Acme\u{202E}moc",
        "first_name": "Ann", "website": "https://pαypal.com"}),
    );
    let found: Vec<_> = n
        .warnings
        .iter()
        .filter(|w| w.code == IssueCode::Confusable)
        .map(|w| (w.field.clone(), w.message.clone()))
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].0, Field::Company);
    assert!(found[0].1.contains("U+202E"), "{}", found[0].1);
    assert_eq!(found[1].0, Field::Email);
    assert!(
        found[1]
            .1
            .contains("`аpple` mixes the Cyrillic and Latin scripts"),
        "{}",
        found[1].1
    );
    assert_eq!(found[2].0, Field::Website);
    assert!(found[2].1.contains("Greek"), "{}", found[2].1);
    // The values are kept.
    assert_eq!(n.lead.company_name.as_deref(), Some("Acme\u{202E}moc"));
    // Single-script names and domains say nothing.
    let n = normalize(json!({"email": "ivan@яндекс.рф", "company": "Müller GmbH",
        "last_name": "Иванов"}));
    assert!(
        n.warnings.iter().all(|w| w.code != IssueCode::Confusable),
        "{:?}",
        n.warnings
    );
}

#[test]
fn domains_written_wholly_in_look_alike_letters_are_warnings() {
    // All-Cyrillic `аррӏе` (а р р ӏ е) and all-Greek `ορα`: no script mix,
    // yet they read as ASCII domains.
    let n = normalize(json!({"email": "ann@аррӏе.com", "website": "https://ορα.net/about"}));
    let found: Vec<_> = n
        .warnings
        .iter()
        .filter(|w| w.code == IssueCode::Confusable)
        .map(|w| (w.field.clone(), w.message.clone()))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, Field::Email);
    assert!(
        found[0]
            .1
            .contains("`аррӏе` is written in Cyrillic letters that each look like a Latin one: it reads as `apple`"),
        "{}",
        found[0].1
    );
    assert_eq!(found[1].0, Field::Website);
    assert!(
        found[1].1.contains("Greek") && found[1].1.contains("reads as `opa`"),
        "{}",
        found[1].1
    );
    // A warning: the lead is kept (its domain in the ASCII form).
    assert_eq!(n.lead.email, "ann@xn--80ak6aa92e.com");
    // Real words in those scripts, and under a Cyrillic top-level domain.
    for email in [
        "ivan@пример.com",
        "nikos@ελλάδα.gr",
        "li@中文网.cn",
        "ivan@сор.рф",
    ] {
        let n = normalize(json!({ "email": email }));
        assert!(
            n.warnings.iter().all(|w| w.code != IssueCode::Confusable),
            "{email}: {:?}",
            n.warnings
        );
    }
}

/// Found by the `normalize_json` fuzz target (its input is now a seed): a
/// website whose host has a label starting with `-` gave the company domain
/// `-3d.com`, which the same field refused when the lead was read back, so
/// normalize → JSON → normalize changed the lead.
#[test]
fn a_website_label_with_an_edge_hyphen_is_refused_so_the_lead_round_trips() {
    let text = include_str!("../fuzz/seeds/normalize_json/website-hyphen-label.json");
    let n = Normalizer::default().normalize_json(text).unwrap();
    assert_eq!(
        n.lead.company_domain.as_deref(),
        Some("globex-industries.com"),
        "the email's domain, not `-3d.com`"
    );
    let w = n
        .warnings
        .iter()
        .find(|w| w.field == Field::Website)
        .expect("a website warning");
    assert_eq!(w.code, IssueCode::Invalid);
    let again = Normalizer::default()
        .normalize_json(&serde_json::to_string(&n.lead).unwrap())
        .unwrap();
    assert_eq!(again.lead, n.lead);
}

/// Found by the `normalize_structured` fuzz target (its input is now a
/// seed): an attribute whose value is `null` in a `LeadInput` was kept, but
/// `normalize_json` drops a `null` (it is an absent value), so the lead's
/// own JSON read back as a lead without it.
#[test]
fn a_null_attribute_is_absent_in_a_lead_input_as_in_json() {
    let mut input = LeadInput::default();
    input.email = Some("ann@acme.com".into());
    input
        .attributes
        .insert("plan".into(), serde_json::Value::Null);
    input.attributes.insert("seats".into(), json!(12));
    let n = Normalizer::default().normalize(&input).unwrap();
    assert_eq!(n.lead.attributes.len(), 1, "{:?}", n.lead.attributes);
    assert_eq!(n.lead.attributes["seats"], json!(12));
    let from_json = Normalizer::default()
        .normalize_json(r#"{"email": "ann@acme.com", "plan": null, "seats": 12}"#)
        .unwrap();
    assert_eq!(from_json.lead, n.lead);
    let again = Normalizer::default()
        .normalize_json(&serde_json::to_string(&n.lead).unwrap())
        .unwrap();
    assert_eq!(again.lead, n.lead);
}
