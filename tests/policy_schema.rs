//! The committed JSON Schema (`docs/policy.schema.json`) is current with
//! [`leadroute::policy::json_schema`], accepts the seed policies and rejects
//! broken ones.
//!
//! Regenerate the file with
//! `LEADROUTE_REGENERATE=1 cargo test --test policy_schema`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.schema.json");

/// The schema's committed text: pretty JSON with a final newline.
fn rendered() -> String {
    let mut text = serde_json::to_string_pretty(&leadroute::policy::json_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_schema_is_current() {
    let want = rendered();
    let have = std::fs::read_to_string(SCHEMA_FILE).unwrap_or_default();
    if have != want {
        if std::env::var_os("LEADROUTE_REGENERATE").is_some() {
            std::fs::write(SCHEMA_FILE, want).unwrap();
        } else {
            panic!(
                "docs/policy.schema.json is stale: run `LEADROUTE_REGENERATE=1 cargo test --test policy_schema`"
            );
        }
    }
}

fn validator() -> jsonschema::Validator {
    let schema = leadroute::policy::json_schema();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(policy: &Value) -> Vec<String> {
    validator()
        .iter_errors(policy)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn seed_json() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies/seed.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn schema_is_a_valid_draft_2020_12_schema() {
    let schema = leadroute::policy::json_schema();
    assert!(jsonschema::meta::is_valid(&schema));
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // The recursive condition goes through `$defs`.
    assert_eq!(
        schema["properties"]["rules"]["items"]["properties"]["when"]["$ref"],
        "#/$defs/condition"
    );
}

#[test]
fn seed_json_policy_is_valid() {
    let seed = seed_json();
    assert_eq!(errors(&seed), Vec::<String>::new());
}

#[cfg(feature = "toml")]
#[test]
fn seed_toml_policy_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies/seed.toml");
    let seed: Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(errors(&seed), Vec::<String>::new());
}

#[test]
fn the_module_docs_example_is_valid() {
    let policy = json!({
        "name": "inbound", "version": "1",
        "owners": [{"id": "ana", "email": null, "crm_ids": {"hubspot": "901"}}],
        "territories": [{"id": "west", "regions": ["US-CA"],
            "exclude": {"postal_codes": [{"country": "US", "prefixes": ["941"], "ranges": [["94000", "94100"]]}]}}],
        "pools": [{"id": "p", "members": [{"owner": "ana", "weight": 3}],
            "capacity": {"max": 20, "per": "day"}, "fallback": {"owner": "ana"}}],
        "rules": [{"id": "r", "when": {"all": [
                {"not": {"country": ["US"]}},
                {"attribute": {"key": "plan", "one_of": ["pro", 3]}},
                {"account": {"has_owner": true, "field": {"key": "tier", "exists": true}}},
                {"employees": {"min": 201, "max": null}}
            ]},
            "then": {"assign": "account_owner", "experience": {"book_meeting": {}},
                     "if_unavailable": {"assign": {"pool": "p"}}, "priority": "high", "sla_minutes": null}}],
        "fallback": {"assign": {"owner": "ana"}, "experience": "confirmation"}
    });
    assert_eq!(errors(&policy), Vec::<String>::new());
    leadroute::PolicySpec::from_json_str(&policy.to_string()).unwrap();
}

/// A way to break the seed policy.
type Breaker = Box<dyn Fn(&mut Value)>;

/// Each broken policy is rejected by the schema and by the reader.
#[test]
fn broken_policies_fail() {
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "unknown top-level key",
            Box::new(|p| p["rulez"] = json!([])),
        ),
        (
            "unknown owner key",
            Box::new(|p| p["owners"][0]["mail"] = json!("a@example.com")),
        ),
        (
            "a condition with two tests",
            Box::new(|p| {
                p["rules"][0]["when"] = json!({"country": ["US"], "employees": {"min": 1}})
            }),
        ),
        (
            "a wrong type",
            Box::new(|p| p["pools"][0]["members"][0]["weight"] = json!("3")),
        ),
        (
            "a negative weight",
            Box::new(|p| p["pools"][0]["members"][0]["weight"] = json!(-1)),
        ),
        (
            "an unknown word",
            Box::new(|p| p["fallback"]["priority"] = json!("asap")),
        ),
        (
            "a missing required key",
            Box::new(|p| {
                p.as_object_mut().unwrap().remove("name");
            }),
        ),
        (
            "a field test with two tests",
            Box::new(|p| {
                p["rules"][0]["when"] =
                    json!({"attribute": {"key": "plan", "equals": "pro", "exists": true}})
            }),
        ),
        (
            "a nested condition with an unknown test",
            Box::new(|p| p["rules"][0]["when"] = json!({"all": [{"not": {"countri": ["US"]}}]})),
        ),
    ];
    let validator = validator();
    for (what, break_it) in cases {
        let mut policy = seed_json();
        break_it(&mut policy);
        assert!(
            !validator.is_valid(&policy),
            "the schema accepts a policy with {what}"
        );
        assert!(
            leadroute::PolicySpec::from_json_str(&policy.to_string()).is_err(),
            "the reader accepts a policy with {what}"
        );
    }
}

/// A JSON policy may name its schema, for editors; the reader keeps it.
#[test]
fn a_policy_may_point_at_the_schema() {
    let mut policy = seed_json();
    policy["$schema"] = json!("../../docs/policy.schema.json");
    assert_eq!(errors(&policy), Vec::<String>::new());
    let spec = leadroute::PolicySpec::from_json_str(&policy.to_string()).unwrap();
    assert_eq!(
        spec.schema.as_deref(),
        Some("../../docs/policy.schema.json")
    );
    leadroute::compile(&spec).unwrap();
    let written = serde_json::to_value(&spec).unwrap();
    assert_eq!(written["$schema"], "../../docs/policy.schema.json");
    let without = leadroute::PolicySpec::from_json_str(&seed_json().to_string()).unwrap();
    assert!(
        serde_json::to_value(&without)
            .unwrap()
            .get("$schema")
            .is_none()
    );
    policy["$schema"] = json!(3);
    assert!(!validator().is_valid(&policy));
    assert!(leadroute::PolicySpec::from_json_str(&policy.to_string()).is_err());
}
