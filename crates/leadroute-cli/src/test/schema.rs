//! The JSON Schema (draft 2020-12) of test-case files, for editors: what
//! `leadroute schema --cases` prints and `docs/cases.schema.json` commits.
//!
//! Built from the same key lists the reader checks ([`super::cases`]), so
//! a key the reader accepts is a key the schema describes; a test keeps the
//! two and the committed file in step. The reader checks more than the
//! schema can say (ids the policy defines, RFC 3339 times, duplicate case
//! names): the schema is for completion and early red squiggles, the
//! reader is the authority.

use serde_json::{Value, json};

use super::cases::{CONTEXT_KEYS, EXPECT_KEYS};

fn strings() -> Value {
    json!({"type": "array", "items": {"type": "string"}})
}

fn one_or_many(description: &str) -> Value {
    json!({"description": description, "oneOf": [{"type": "string"}, strings()]})
}

fn lookup(description: &str) -> Value {
    json!({
        "description": description,
        "enum": ["found", "not_found", "skipped", "failed", "timed_out"]
    })
}

/// The context keys (of a case, and of `defaults`).
fn context_properties() -> serde_json::Map<String, Value> {
    let account = json!({
        "description": "The CRM account the lead matched (the account lookup is then `found`).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "description": "CRM id (default `test-account`)."},
            "name": {"type": "string"},
            "domain": {"type": "string"},
            "owner": {"type": "string", "description": "The owner's id in the policy's owners directory."},
            "is_customer": {"type": "boolean"},
            "customer": {"type": "boolean", "description": "Alias of `is_customer`."},
            "tier": {"type": "string"},
            "fields": {"type": "object", "description": "Other account fields a policy may test."}
        }
    });
    let contact = json!({
        "description": "The existing CRM contact or lead with the lead's email (the person lookup is then `found`).",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "id": {"type": "string", "description": "CRM id (default `test-contact`)."},
            "kind": {"enum": ["contact", "lead"]},
            "owner": {"type": "string"},
            "account_id": {"type": "string"}
        }
    });
    let counters = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "current": {"type": "integer", "description": "Smooth weighted round-robin counter."},
            "assigned": {"type": "integer", "minimum": 0},
            "period": {"type": "integer", "minimum": 0, "description": "Days (or weeks) since 1970 that `in_period` counts for."},
            "in_period": {"type": "integer", "minimum": 0}
        }
    });
    let pools = json!({
        "description": "Prior pool rotation state, by pool id (pools not named start fresh); every key optional.",
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "version": {"type": "integer", "minimum": 0},
                "members": {"type": "object", "additionalProperties": counters},
                "recent": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["lead_id", "owner"],
                        "additionalProperties": false,
                        "properties": {"lead_id": {"type": "string"}, "owner": {"type": "string"}}
                    }
                }
            }
        }
    });
    let mut m = serde_json::Map::new();
    for key in CONTEXT_KEYS {
        let v = match *key {
            "account" => account.clone(),
            "contact" => contact.clone(),
            "account_lookup" => {
                lookup("How the account lookup ended; any status but `found` drops `account`.")
            }
            "person_lookup" => {
                lookup("How the person lookup ended; any status but `found` drops `contact`.")
            }
            "away" => {
                json!({"description": "Owner ids that are away (replaces the default list).", "type": "array", "items": {"type": "string"}})
            }
            "open_leads" => json!({
                "description": "Open leads per owner id (what least-loaded pools and `max_open` caps read); without it the counts are unknown.",
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": u32::MAX}
            }),
            "now" => json!({
                "description": "The decision time: seconds since 1970, or an RFC 3339 time with an offset (default 2023-11-14T22:13:20Z).",
                "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]
            }),
            _ => pools.clone(),
        };
        m.insert((*key).to_owned(), v);
    }
    m
}

fn expect_properties() -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for key in EXPECT_KEYS {
        let v = match *key {
            "owner" => json!({"type": "string", "description": "The owner id."}),
            "owner_one_of" => {
                json!({"description": "The owner is one of these ids.", "type": "array", "items": {"type": "string"}})
            }
            "not_owner" => one_or_many("The owner is none of these ids (nobody also passes)."),
            "assigned" => {
                json!({"type": "boolean", "description": "true: someone is assigned; false: nobody is."})
            }
            "rule" => json!({"type": "string", "description": "The rule that decided."}),
            "fallback" => {
                json!({"type": "boolean", "description": "Whether the policy fallback decided."})
            }
            "pool" => json!({"type": "string", "description": "The pool that chose the owner."}),
            "experience" => {
                json!({"enum": ["book_meeting", "confirmation", "customer_success", "nurture", "manual_review", "reject"]})
            }
            "meeting_with" => {
                json!({"type": "string", "description": "The experience is a meeting with this owner."})
            }
            "tags" => {
                json!({"description": "Exactly these tags, in any order.", "type": "array", "items": {"type": "string"}})
            }
            "tags_include" => one_or_many("At least these tags."),
            "priority" => json!({"enum": ["low", "normal", "high", "urgent"]}),
            "sla_minutes" => json!({"type": "integer", "minimum": 0}),
            "owner_unavailable" => json!({
                "description": "The decision's `owner_unavailable`: the owner was assigned although off shift or away; `none`: not set.",
                "enum": super::cases::OWNER_UNAVAILABLE
            }),
            "write_to_crm" => json!({"type": "boolean"}),
            "explanation_contains" => one_or_many("Text the rendered explanation contains."),
            _ => json!({
                "description": "Route the lead once per entry; the owners, in order. Every other expectation must hold on every route.",
                "type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": super::cases::MAX_ROTATION
            }),
        };
        m.insert((*key).to_owned(), v);
    }
    m
}

/// The schema.
pub(crate) fn cases_schema() -> Value {
    let mut case = context_properties();
    case.insert("name".to_owned(), json!({"type": "string", "description": "Unique within the file; names the case in reports."}));
    case.insert("description".to_owned(), json!({"type": "string"}));
    case.insert(
        "lead".to_owned(),
        json!({"type": "object", "description": "The form payload, as the normalizer reads it (any keys; `email` is required to route)."}),
    );
    case.insert(
        "sequence".to_owned(),
        json!({"type": "string", "description": "Cases with the same sequence share pool state, in file order."}),
    );
    case.insert(
        "expect".to_owned(),
        json!({
            "type": "object",
            "description": "What the decision must be: every key given must hold.",
            "additionalProperties": false,
            "minProperties": 1,
            "properties": expect_properties()
        }),
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "leadroute test cases",
        "description": "A file of test cases for `leadroute test POLICY CASES…` (TOML or JSON).",
        "type": "object",
        "additionalProperties": false,
        "required": ["cases"],
        "properties": {
            "$schema": {"type": "string"},
            "defaults": {
                "type": "object",
                "description": "Context applied to every case that does not set the key itself.",
                "additionalProperties": false,
                "properties": context_properties()
            },
            "cases": {
                "type": "array",
                "maxItems": super::cases::MAX_CASES,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "lead", "expect"],
                    "properties": case
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::cases::{ACCOUNT_KEYS, CONTACT_KEYS};
    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    fn sorted<'a>(k: &[&'a str]) -> Vec<&'a str> {
        let mut k = k.to_vec();
        k.sort_unstable();
        k
    }

    #[test]
    fn the_schema_describes_exactly_the_keys_the_reader_accepts() {
        let s = cases_schema();
        let case = &s["properties"]["cases"]["items"]["properties"];
        assert_eq!(keys(&case["expect"]["properties"]), sorted(EXPECT_KEYS));
        assert_eq!(
            keys(&s["properties"]["defaults"]["properties"]),
            sorted(CONTEXT_KEYS)
        );
        assert_eq!(keys(&case["account"]["properties"]), sorted(ACCOUNT_KEYS));
        assert_eq!(keys(&case["contact"]["properties"]), sorted(CONTACT_KEYS));
        let mut all: Vec<&str> = CONTEXT_KEYS.to_vec();
        all.extend(["name", "description", "lead", "sequence", "expect"]);
        assert_eq!(keys(case), sorted(&all));
    }
}
