//! `compile`: one test per kind of problem, each checking the exact
//! diagnostic code, severity, rule id and path, and that every problem in a
//! spec is reported at once.

use leadroute::compile;
use leadroute::policy::{Diagnostic, DiagnosticCode as Code, Severity};
use leadroute::{CompileError, PolicySpec};
use serde_json::{Value, json};

use Severity::{Error, Warning};

/// A diagnostic reduced to what the tests compare.
type Key = (Severity, Code, Option<String>, String);

fn key(d: &Diagnostic) -> Key {
    (d.severity, d.code, d.rule.clone(), d.path.clone())
}

fn keys(ds: &[Diagnostic]) -> Vec<Key> {
    ds.iter().map(key).collect()
}

fn err(code: Code, rule: Option<&str>, path: &str) -> Key {
    (Error, code, rule.map(str::to_owned), path.to_owned())
}

fn warn(code: Code, rule: Option<&str>, path: &str) -> Key {
    (Warning, code, rule.map(str::to_owned), path.to_owned())
}

/// A valid spec: owners `ana`, `bob`, `queue` and inactive `cara`; no
/// territories, pools or rules; the fallback assigns `queue`.
fn base() -> Value {
    json!({
        "name": "inbound",
        "version": "1",
        "owners": [
            {"id": "ana", "name": "Ana"},
            {"id": "bob", "name": "Bob"},
            {"id": "queue", "name": "Queue"},
            {"id": "cara", "name": "Cara", "active": false}
        ],
        "fallback": {"assign": {"owner": "queue"}}
    })
}

/// `base()` with top-level keys replaced (a `null` value removes the key).
fn spec(patch: Value) -> PolicySpec {
    let mut spec = base();
    let obj = spec.as_object_mut().unwrap();
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(spec).unwrap()
}

fn compile_err(patch: Value) -> CompileError {
    match compile(&spec(patch)) {
        Ok(_) => panic!("expected the spec not to compile"),
        Err(e) => e,
    }
}

/// Compiles and expects exactly these errors and no warnings.
fn assert_errors(patch: Value, expected: &[Key]) -> CompileError {
    let e = compile_err(patch);
    assert_eq!(keys(&e.errors), expected, "{e}");
    assert!(e.warnings.is_empty(), "{e}");
    e
}

/// Compiles and expects success with exactly these warnings.
fn assert_compiles(patch: Value, expected_warnings: &[Key]) {
    match compile(&spec(patch)) {
        Ok(p) => assert_eq!(keys(p.warnings()), expected_warnings),
        Err(e) => panic!("expected the spec to compile:\n{e}"),
    }
}

fn rule(id: &str, when: Value, then: Value) -> Value {
    json!({"id": id, "when": when, "then": then})
}

fn to(owner: &str) -> Value {
    json!({"assign": {"owner": owner}})
}

// ---------------------------------------------------------------- duplicates

#[test]
fn duplicate_owner_id() {
    let mut owners = base()["owners"].clone();
    owners
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "ana", "name": "Other Ana"}));
    let e = assert_errors(
        json!({ "owners": owners }),
        &[err(Code::DuplicateId, None, "owners[4].id")],
    );
    assert!(e.errors[0].message.contains("`ana`"));
}

#[test]
fn duplicate_territory_id() {
    assert_errors(
        json!({"territories": [
            {"id": "west", "countries": ["US"]},
            {"id": "west", "countries": ["CA"]}
        ]}),
        &[err(Code::DuplicateId, None, "territories[1].id")],
    );
}

#[test]
fn duplicate_pool_id() {
    assert_errors(
        json!({"pools": [
            {"id": "sales", "members": [{"owner": "ana"}]},
            {"id": "sales", "members": [{"owner": "bob"}]}
        ]}),
        &[err(Code::DuplicateId, None, "pools[1].id")],
    );
}

#[test]
fn duplicate_rule_id() {
    assert_errors(
        json!({"rules": [
            rule("geo", json!({"country": ["US"]}), to("ana")),
            rule("geo", json!({"country": ["CA"]}), to("bob"))
        ]}),
        &[err(Code::DuplicateId, Some("geo"), "rules[1].id")],
    );
}

#[test]
fn duplicate_pool_member() {
    let e = assert_errors(
        json!({"pools": [
            {"id": "sales", "members": [{"owner": "ana"}, {"owner": "bob"}, {"owner": "ana"}]}
        ]}),
        &[err(Code::DuplicateId, None, "pools[0].members[2].owner")],
    );
    assert!(e.errors[0].message.contains("`ana`"));
}

#[test]
fn empty_ids() {
    let mut owners = base()["owners"].clone();
    owners
        .as_array_mut()
        .unwrap()
        .push(json!({"id": " ", "name": "Nobody"}));
    assert_errors(
        json!({
            "owners": owners,
            "rules": [rule("", json!({"country": ["US"]}), to("ana"))]
        }),
        &[
            err(Code::Empty, None, "owners[4].id"),
            err(Code::Empty, Some(""), "rules[0].id"),
        ],
    );
}

// ---------------------------------------------------------- unknown owners

#[test]
fn unknown_owner_in_rule_assign() {
    let e = assert_errors(
        json!({"rules": [rule("r", json!({"country": ["US"]}), to("zed"))]}),
        &[err(
            Code::UnknownOwner,
            Some("r"),
            "rules[0].then.assign.owner",
        )],
    );
    assert_eq!(e.errors[0].message, "unknown owner `zed`");
    assert_eq!(e.errors[0].value.as_deref(), Some("zed"));
    assert_eq!(e.errors[0].help, None);
}

#[test]
fn unknown_owner_suggests_the_closest_id() {
    let e = assert_errors(
        json!({
            "pools": [{"id": "sales", "members": [{"owner": "ana"}, {"owner": "Bob"}]}],
            "rules": [rule("r", json!({"country": ["US"]}), to("quee"))]
        }),
        &[
            err(Code::UnknownOwner, None, "pools[0].members[1].owner"),
            err(Code::UnknownOwner, Some("r"), "rules[0].then.assign.owner"),
        ],
    );
    assert_eq!(e.errors[0].help.as_deref(), Some("did you mean `bob`?"));
    assert_eq!(e.errors[1].value.as_deref(), Some("quee"));
    assert_eq!(e.errors[1].help.as_deref(), Some("did you mean `queue`?"));
    assert_eq!(
        e.errors[1].to_string(),
        "error: rules[0].then.assign.owner (rule `r`): unknown owner `quee` (help: did you mean `queue`?)"
    );
}

#[test]
fn unknown_owner_far_from_every_id_gets_no_suggestion() {
    let e = assert_errors(
        json!({"fallback": to("maximilian")}),
        &[err(Code::UnknownOwner, None, "fallback.assign.owner")],
    );
    assert_eq!(e.errors[0].help, None);
}

#[test]
fn unknown_owner_in_fallback() {
    assert_errors(
        json!({"fallback": to("zed")}),
        &[err(Code::UnknownOwner, None, "fallback.assign.owner")],
    );
}

#[test]
fn unknown_owner_as_pool_member() {
    assert_errors(
        json!({"pools": [{"id": "sales", "members": [{"owner": "ana"}, {"owner": "zed"}]}]}),
        &[err(Code::UnknownOwner, None, "pools[0].members[1].owner")],
    );
}

#[test]
fn unknown_owner_as_pool_fallback() {
    assert_errors(
        json!({"pools": [
            {"id": "sales", "members": [{"owner": "ana"}], "fallback": {"owner": "zed"}}
        ]}),
        &[err(Code::UnknownOwner, None, "pools[0].fallback.owner")],
    );
}

#[test]
fn unknown_calendar_owner() {
    assert_errors(
        json!({"rules": [rule("r", json!({"country": ["US"]}), json!({
            "assign": {"owner": "ana"},
            "experience": {"book_meeting": {"calendar": {"owner": "zed"}}}
        }))]}),
        &[err(
            Code::UnknownOwner,
            Some("r"),
            "rules[0].then.experience.book_meeting.calendar.owner",
        )],
    );
}

#[test]
fn inactive_calendar_owner_is_an_error() {
    assert_errors(
        json!({"rules": [rule("r", json!({"country": ["US"]}), json!({
            "assign": {"owner": "ana"},
            "experience": {"book_meeting": {"calendar": {"owner": "cara"}}}
        }))]}),
        &[err(
            Code::InactiveOwner,
            Some("r"),
            "rules[0].then.experience.book_meeting.calendar.owner",
        )],
    );
}

#[test]
fn unknown_owner_in_if_unavailable() {
    assert_errors(
        json!({"rules": [rule("r", json!({"account": {"has_owner": true}}), json!({
            "assign": "account_owner",
            "if_unavailable": {"assign": {"owner": "zed"}}
        }))]}),
        &[err(
            Code::UnknownOwner,
            Some("r"),
            "rules[0].then.if_unavailable.assign.owner",
        )],
    );
}

// ----------------------------------------------- unknown pools, territories

#[test]
fn unknown_pool_references() {
    assert_errors(
        json!({
            "pools": [{"id": "sales", "members": [{"owner": "ana"}], "fallback": {"pool": "nope1"}}],
            "rules": [
                rule("a", json!({"country": ["US"]}), json!({"assign": {"pool": "nope2"}})),
                rule("b", json!({"country": ["CA"]}), json!({
                    "assign": "account_owner",
                    "if_unavailable": {"assign": {"pool": "nope3"}}
                }))
            ],
            "fallback": {"assign": {"pool": "nope4"}}
        }),
        &[
            err(Code::UnknownPool, None, "pools[0].fallback.pool"),
            err(Code::UnknownPool, Some("a"), "rules[0].then.assign.pool"),
            err(
                Code::UnknownPool,
                Some("b"),
                "rules[1].then.if_unavailable.assign.pool",
            ),
            err(Code::UnknownPool, None, "fallback.assign.pool"),
        ],
    );
}

#[test]
fn unknown_pool_suggests_the_closest_id() {
    let e = assert_errors(
        json!({
            "pools": [
                {"id": "enterprise-us", "members": [{"owner": "ana"}]},
                {"id": "smb", "members": [{"owner": "bob"}]}
            ],
            "rules": [
                rule("a", json!({"country": ["US"]}), json!({"assign": {"pool": "enterprize-us"}})),
                rule("b", json!({"country": ["CA"]}), json!({"assign": {"pool": "mid-market"}}))
            ]
        }),
        &[
            err(Code::UnknownPool, Some("a"), "rules[0].then.assign.pool"),
            err(Code::UnknownPool, Some("b"), "rules[1].then.assign.pool"),
        ],
    );
    assert_eq!(
        e.errors[0].help.as_deref(),
        Some("did you mean `enterprise-us`?")
    );
    assert_eq!(e.errors[0].value.as_deref(), Some("enterprize-us"));
    assert_eq!(e.errors[1].help, None);
}

#[test]
fn unknown_territory() {
    let e = assert_errors(
        json!({
            "territories": [{"id": "west", "regions": ["US-CA"]}],
            "rules": [
                rule("a", json!({"territory": "east"}), to("ana")),
                rule("b", json!({"all": [{"country": ["US"]}, {"territory": "north"}]}), to("bob"))
            ]
        }),
        &[
            err(Code::UnknownTerritory, Some("a"), "rules[0].when.territory"),
            err(
                Code::UnknownTerritory,
                Some("b"),
                "rules[1].when.all[1].territory",
            ),
        ],
    );
    assert_eq!(e.errors[0].message, "unknown territory `east`");
    assert_eq!(e.errors[0].help, None);
}

#[test]
fn unknown_territory_suggests_the_closest_id() {
    let e = assert_errors(
        json!({
            "territories": [{"id": "us-west", "regions": ["US-CA"]}, {"id": "emea", "countries": ["DE"]}],
            "rules": [rule("a", json!({"territory": "us_wst"}), to("ana"))]
        }),
        &[err(
            Code::UnknownTerritory,
            Some("a"),
            "rules[0].when.territory",
        )],
    );
    assert_eq!(e.errors[0].help.as_deref(), Some("did you mean `us-west`?"));
}

// ------------------------------------------------------------------ regexes

#[test]
fn invalid_regex_in_attribute_test() {
    assert_errors(
        json!({"rules": [rule("r", json!({"attribute": {"key": "title", "regex": "(vp|head"}}), to("ana"))]}),
        &[err(
            Code::InvalidRegex,
            Some("r"),
            "rules[0].when.attribute.regex",
        )],
    );
}

#[test]
fn invalid_regex_in_account_field_test() {
    assert_errors(
        json!({"rules": [rule("r", json!({"account": {"field": {"key": "industry", "regex": "[a-"}}}), to("ana"))]}),
        &[err(
            Code::InvalidRegex,
            Some("r"),
            "rules[0].when.account.field.regex",
        )],
    );
}

#[test]
fn valid_regexes_compile() {
    assert_compiles(
        json!({"rules": [
            rule("a", json!({"attribute": {"key": "title", "regex": "(?i)^(vp|head)\\b"}}), to("ana")),
            rule("b", json!({"account": {"exists": true, "field": {"key": "industry", "regex": "^saas$"}}}), to("bob"))
        ]}),
        &[],
    );
}

// ---------------------------------------------------------------- countries

#[test]
fn unknown_country_in_condition() {
    let e = assert_errors(
        json!({"rules": [rule("r", json!({"country": ["US", "XX", "USA", "UK"]}), to("ana"))]}),
        &[
            err(Code::UnknownCountry, Some("r"), "rules[0].when.country[1]"),
            err(Code::UnknownCountry, Some("r"), "rules[0].when.country[2]"),
            err(Code::UnknownCountry, Some("r"), "rules[0].when.country[3]"),
        ],
    );
    assert_eq!(
        e.errors[0].message,
        "`XX` is not an ISO 3166-1 alpha-2 country code"
    );
    let helps: Vec<Option<&str>> = e.errors.iter().map(|d| d.help.as_deref()).collect();
    assert_eq!(
        helps,
        [None, Some("did you mean `US`?"), Some("did you mean `GB`?")]
    );
    let values: Vec<Option<&str>> = e.errors.iter().map(|d| d.value.as_deref()).collect();
    assert_eq!(values, [Some("XX"), Some("USA"), Some("UK")]);
}

#[test]
fn country_names_and_typos_suggest_the_code() {
    let e = assert_errors(
        json!({"territories": [{"id": "eu", "countries": ["Germany", "Frnace", "Atlantis"]}]}),
        &[
            err(Code::UnknownCountry, None, "territories[0].countries[0]"),
            err(Code::UnknownCountry, None, "territories[0].countries[1]"),
            err(Code::UnknownCountry, None, "territories[0].countries[2]"),
            err(Code::Empty, None, "territories[0]"),
        ],
    );
    let helps: Vec<Option<&str>> = e.errors.iter().map(|d| d.help.as_deref()).collect();
    assert_eq!(
        helps,
        [
            Some("did you mean `DE`?"),
            Some("did you mean `FR`?"),
            None,
            None
        ]
    );
}

#[test]
fn country_codes_are_case_insensitive() {
    assert_compiles(
        json!({"rules": [rule("r", json!({"country": ["us", "Ca"]}), to("ana"))]}),
        &[],
    );
}

#[test]
fn unknown_country_in_territory() {
    assert_errors(
        json!({"territories": [
            {"id": "na", "countries": ["US", "ZZ"], "exclude": {"countries": ["QQ"]}}
        ]}),
        &[
            err(Code::UnknownCountry, None, "territories[0].countries[1]"),
            err(
                Code::UnknownCountry,
                None,
                "territories[0].exclude.countries[0]",
            ),
        ],
    );
}

#[test]
fn unknown_country_in_postal_spec() {
    assert_errors(
        json!({
            "territories": [{"id": "bay", "postal_codes": [{"country": "XX", "prefixes": ["94"]}]}],
            "rules": [rule("r", json!({"postal_code": {"country": "QQ", "prefixes": ["10"]}}), to("ana"))]
        }),
        &[
            err(
                Code::UnknownCountry,
                None,
                "territories[0].postal_codes[0].country",
            ),
            err(
                Code::UnknownCountry,
                Some("r"),
                "rules[0].when.postal_code.country",
            ),
        ],
    );
}

// ------------------------------------------------------------------ regions

#[test]
fn unknown_region_codes() {
    let e = assert_errors(
        json!({"rules": [rule("r", json!({"region": ["US-CA", "US-ZZ", "CA-XX", "California", "XX-01", "US-ABCD"]}), to("ana"))]}),
        &[
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[1]"),
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[2]"),
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[3]"),
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[4]"),
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[5]"),
        ],
    );
    assert!(e.errors[0].message.contains("`US-ZZ`"));
    let helps: Vec<Option<&str>> = e.errors.iter().map(|d| d.help.as_deref()).collect();
    assert_eq!(
        helps,
        [None, None, Some("did you mean `US-CA`?"), None, None,]
    );
}

#[test]
fn region_names_and_typos_suggest_the_code() {
    let e = assert_errors(
        json!({"rules": [rule("r", json!({"region": ["US-California", "US-Texsa", "UK-ENG"]}), to("ana"))]}),
        &[
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[0]"),
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[1]"),
            err(Code::UnknownRegion, Some("r"), "rules[0].when.region[2]"),
        ],
    );
    let helps: Vec<Option<&str>> = e.errors.iter().map(|d| d.help.as_deref()).collect();
    assert_eq!(
        helps,
        [
            Some("did you mean `US-CA`?"),
            Some("did you mean `US-TX`?"),
            Some("did you mean `GB-ENG`?"),
        ]
    );
}

#[test]
fn region_of_a_country_without_a_builtin_table_is_accepted() {
    // FR has no built-in subdivision table, so any well-formed FR code passes.
    assert_compiles(
        json!({"rules": [rule("r", json!({"region": ["FR-75", "us-ca", "CA-ON"]}), to("ana"))]}),
        &[],
    );
}

#[test]
fn unknown_region_in_territory() {
    assert_errors(
        json!({"territories": [
            {"id": "west", "regions": ["US-CA", "US-ZZ"], "exclude": {"regions": ["CA-XX"]}}
        ]}),
        &[
            err(Code::UnknownRegion, None, "territories[0].regions[1]"),
            err(
                Code::UnknownRegion,
                None,
                "territories[0].exclude.regions[0]",
            ),
        ],
    );
}

// ----------------------------------------------------------- inverted ranges

#[test]
fn inverted_employee_and_revenue_bounds() {
    let e = assert_errors(
        json!({"rules": [
            rule("a", json!({"employees": {"min": 500, "max": 100}}), to("ana")),
            rule("b", json!({"annual_revenue": {"min": 50000000, "max": 10000000}}), to("bob"))
        ]}),
        &[
            err(Code::InvertedRange, Some("a"), "rules[0].when.employees"),
            err(
                Code::InvertedRange,
                Some("b"),
                "rules[1].when.annual_revenue",
            ),
        ],
    );
    assert_eq!(e.errors[0].message, "min 500 is above max 100");
}

#[test]
fn equal_bounds_are_fine() {
    assert_compiles(
        json!({"rules": [rule("a", json!({"employees": {"min": 100, "max": 100}}), to("ana"))]}),
        &[],
    );
}

#[test]
fn inverted_and_uneven_postal_ranges() {
    assert_errors(
        json!({
            "territories": [{"id": "t", "postal_codes": [
                {"country": "US", "ranges": [["10000", "14999"], ["95000", "94000"]]}
            ]}],
            "rules": [rule("r", json!({"postal_code": {"country": "US", "ranges": [["940", "94999"]]}}), to("ana"))]
        }),
        &[
            err(
                Code::InvertedRange,
                None,
                "territories[0].postal_codes[0].ranges[1]",
            ),
            err(
                Code::RangeEndsDiffer,
                Some("r"),
                "rules[0].when.postal_code.ranges[0]",
            ),
        ],
    );
}

#[test]
fn postal_range_ends_of_different_lengths() {
    let e = assert_errors(
        json!({"rules": [rule("r", json!({"postal_code": {"country": "US", "ranges": [["940", "94999"]]}}), to("ana"))]}),
        &[err(
            Code::RangeEndsDiffer,
            Some("r"),
            "rules[0].when.postal_code.ranges[0]",
        )],
    );
    assert_eq!(
        e.errors[0].message,
        "range [`940`, `94999`] needs two ends of the same length"
    );
    assert_eq!(e.errors[0].value.as_deref(), Some("940..94999"));
}

#[test]
fn postal_range_with_an_empty_end() {
    assert_errors(
        json!({"rules": [rule("r", json!({"postal_code": {"country": "US", "ranges": [["", "94999"], [" ", " "]]}}), to("ana"))]}),
        &[
            err(
                Code::Empty,
                Some("r"),
                "rules[0].when.postal_code.ranges[0]",
            ),
            err(
                Code::Empty,
                Some("r"),
                "rules[0].when.postal_code.ranges[1]",
            ),
        ],
    );
}

// -------------------------------------------------------------------- pools

#[test]
fn empty_pool() {
    let e = assert_errors(
        json!({"pools": [{"id": "sales", "members": []}]}),
        &[err(Code::EmptyPool, None, "pools[0].members")],
    );
    assert_eq!(e.errors[0].message, "pool `sales` has no members");
}

#[test]
fn zero_weight() {
    assert_errors(
        json!({"pools": [{"id": "sales", "members": [{"owner": "ana", "weight": 0}, {"owner": "bob"}]}]}),
        &[err(Code::InvalidNumber, None, "pools[0].members[0].weight")],
    );
}

#[test]
fn zero_capacity_on_a_member() {
    assert_errors(
        json!({"pools": [{"id": "sales", "members": [
            {"owner": "ana"},
            {"owner": "bob", "capacity": {"max": 0, "per": "day"}}
        ]}]}),
        &[err(
            Code::InvalidNumber,
            None,
            "pools[0].members[1].capacity.max",
        )],
    );
}

#[test]
fn zero_pool_capacity_overridden_by_every_member_compiles() {
    // Members overriding the pool's capacity with a valid one are fine.
    assert_compiles(
        json!({"pools": [{"id": "sales", "capacity": {"max": 0, "per": "day"}, "members": [
            {"owner": "ana", "capacity": {"max": 5, "per": "day"}}
        ]}]}),
        &[],
    );
}

#[test]
fn zero_capacity_on_a_pool() {
    assert_errors(
        json!({"pools": [{"id": "sales", "capacity": {"max": 0, "per": "week"}, "members": [
            {"owner": "ana"},
            {"owner": "bob"}
        ]}]}),
        &[err(Code::InvalidNumber, None, "pools[0].capacity.max")],
    );
}

#[test]
fn pool_fallback_cycle() {
    let e = assert_errors(
        json!({"pools": [
            {"id": "a", "members": [{"owner": "ana"}], "fallback": {"pool": "b"}},
            {"id": "b", "members": [{"owner": "bob"}], "fallback": {"pool": "a"}},
            {"id": "c", "members": [{"owner": "bob"}], "fallback": {"pool": "a"}}
        ]}),
        &[
            err(Code::PoolCycle, None, "pools[0].fallback"),
            err(Code::PoolCycle, None, "pools[1].fallback"),
        ],
    );
    assert!(e.errors[0].message.contains("`a`"));
}

#[test]
fn pool_falling_back_to_itself() {
    assert_errors(
        json!({"pools": [{"id": "a", "members": [{"owner": "ana"}], "fallback": {"pool": "a"}}]}),
        &[err(Code::PoolCycle, None, "pools[0].fallback")],
    );
}

#[test]
fn pool_fallback_chain_without_cycle_compiles() {
    assert_compiles(
        json!({"pools": [
            {"id": "a", "members": [{"owner": "ana"}], "fallback": {"pool": "b"}},
            {"id": "b", "members": [{"owner": "bob"}], "fallback": {"owner": "queue"}}
        ]}),
        &[],
    );
}

#[test]
fn inactive_pool_fallback_owner_is_an_error() {
    assert_errors(
        json!({"pools": [{"id": "a", "members": [{"owner": "ana"}], "fallback": {"owner": "cara"}}]}),
        &[err(Code::InactiveOwner, None, "pools[0].fallback.owner")],
    );
}

#[test]
fn too_many_pool_members() {
    let n = 256 + 1;
    let owners: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("o{i}"), "name": "x"}))
        .chain([json!({"id": "queue", "name": "Queue"})])
        .collect();
    let members: Vec<Value> = (0..n).map(|i| json!({"owner": format!("o{i}")})).collect();
    assert_errors(
        json!({"owners": owners, "pools": [{"id": "big", "members": members}]}),
        &[err(Code::TooManyMembers, None, "pools[0].members")],
    );
}

// ----------------------------------------------------------------- fallback

#[test]
fn missing_fallback() {
    let e = assert_errors(
        json!({"fallback": null}),
        &[err(Code::MissingFallback, None, "fallback")],
    );
    assert!(e.errors[0].message.contains("no fallback"));
}

#[test]
fn fallback_assigning_account_or_contact_owner() {
    for assign in ["account_owner", "contact_owner"] {
        let e = assert_errors(
            json!({"fallback": {"assign": assign}}),
            &[err(Code::FallbackCanFail, None, "fallback.assign")],
        );
        assert_eq!(e.errors[0].value.as_deref(), Some(assign));
        assert_eq!(
            e.errors[0].help.as_deref(),
            Some(
                "assign `{\"owner\": …}`, `{\"pool\": …}` or `\"nobody\"`; route account owners in a rule"
            )
        );
    }
}

#[test]
fn fallback_falling_back_to_itself() {
    let e = assert_errors(
        json!({"fallback": {"assign": {"owner": "queue"}, "if_unavailable": "fallback"}}),
        &[err(Code::FallbackToItself, None, "fallback.if_unavailable")],
    );
    assert_eq!(
        e.errors[0].message,
        "the fallback cannot send leads to itself"
    );
}

#[test]
fn fallback_to_a_pool_or_nobody_compiles() {
    assert_compiles(
        json!({
            "pools": [{"id": "sales", "members": [{"owner": "ana"}]}],
            "fallback": {"assign": {"pool": "sales"}}
        }),
        &[],
    );
    assert_compiles(
        json!({"fallback": {"assign": "nobody", "experience": "nurture"}}),
        &[],
    );
}

// ---------------------------------------------------------- unreachable rules

#[test]
fn unreachable_identical_condition() {
    let e = assert_errors(
        json!({"rules": [
            rule("first", json!({"country": ["US"]}), to("ana")),
            rule("second", json!({"country": ["US"]}), to("bob"))
        ]}),
        &[err(Code::UnreachableRule, Some("second"), "rules[1].when")],
    );
    assert_eq!(
        e.errors[0].message,
        "rule `second` can never match: its condition is the same as that of earlier rule `first`, which always decides first"
    );
}

#[test]
fn unreachable_strictly_broader_earlier_condition() {
    let e = assert_errors(
        json!({"rules": [
            rule("na", json!({"country": ["US", "CA"]}), to("ana")),
            rule("us", json!({"country": ["US"]}), to("bob"))
        ]}),
        &[err(Code::UnreachableRule, Some("us"), "rules[1].when")],
    );
    assert!(e.errors[0].message.contains("covered by"));
    assert!(e.errors[0].message.contains("`na`"));
}

#[test]
fn unreachable_all_containing_the_earlier_condition() {
    assert_errors(
        json!({"rules": [
            rule("us", json!({"country": ["US"]}), to("ana")),
            rule("us-big", json!({"all": [{"country": ["US"]}, {"employees": {"min": 201}}]}), to("bob"))
        ]}),
        &[err(Code::UnreachableRule, Some("us-big"), "rules[1].when")],
    );
}

#[test]
fn unreachable_after_always_true_and_after_nobody() {
    assert_errors(
        json!({"rules": [
            rule("spam", json!({"email_kind": ["disposable"]}), json!({
                "assign": "nobody", "experience": {"reject": {"reason": "spam"}}
            })),
            rule("spam2", json!({"email_kind": ["disposable"]}), to("ana")),
            rule("everyone", json!({"always": true}), to("bob")),
            rule("us", json!({"country": ["US"]}), to("ana"))
        ]}),
        &[
            err(Code::UnreachableRule, Some("spam2"), "rules[1].when"),
            err(Code::UnreachableRule, Some("us"), "rules[3].when"),
        ],
    );
}

#[test]
fn narrower_earlier_rule_does_not_make_a_later_one_unreachable() {
    assert_compiles(
        json!({"rules": [
            rule("us-big", json!({"all": [{"country": ["US"]}, {"employees": {"min": 201}}]}), to("bob")),
            rule("us", json!({"country": ["US"]}), to("ana")),
            rule("na", json!({"country": ["US", "CA"]}), to("bob"))
        ]}),
        &[],
    );
}

#[test]
fn earlier_account_owner_rule_can_fall_through() {
    assert_compiles(
        json!({"rules": [
            rule("owned", json!({"account": {"has_owner": true}}), json!({"assign": "account_owner"})),
            rule("owned-backup", json!({"account": {"has_owner": true}}), to("bob")),
            rule("contact", json!({"contact": {"has_owner": true}}), json!({"assign": "contact_owner"})),
            rule("contact-backup", json!({"contact": {"has_owner": true}}), to("ana"))
        ]}),
        &[],
    );
}

#[test]
fn earlier_pool_rule_can_fall_through() {
    assert_compiles(
        json!({
            "pools": [{"id": "sales", "members": [{"owner": "ana"}]}],
            "rules": [
                rule("us-pool", json!({"country": ["US"]}), json!({"assign": {"pool": "sales"}})),
                rule("us-bob", json!({"country": ["US"]}), to("bob"))
            ]
        }),
        &[],
    );
}

#[test]
fn earlier_rule_falling_back_to_a_pool_can_fall_through() {
    // A pool as `if_unavailable` target can be exhausted too.
    assert_compiles(
        json!({
            "pools": [{"id": "sales", "members": [{"owner": "ana"}]}],
            "rules": [
                rule("owned", json!({"account": {"has_owner": true}}), json!({
                    "assign": "account_owner", "if_unavailable": {"assign": {"pool": "sales"}}
                })),
                rule("owned-backup", json!({"account": {"has_owner": true}}), to("bob"))
            ]
        }),
        &[],
    );
}

#[test]
fn earlier_account_owner_rule_that_goes_to_fallback_does_shadow() {
    // `if_unavailable: fallback` or a named owner means the rule always decides.
    for next in [json!("fallback"), json!({"assign": {"owner": "queue"}})] {
        assert_errors(
            json!({"rules": [
                rule("owned", json!({"account": {"has_owner": true}}), json!({
                    "assign": "account_owner", "if_unavailable": next
                })),
                rule("owned-backup", json!({"account": {"has_owner": true}}), to("bob"))
            ]}),
            &[err(
                Code::UnreachableRule,
                Some("owned-backup"),
                "rules[1].when",
            )],
        );
    }
}

// ------------------------------------------------------------ inactive owners

#[test]
fn direct_assignment_to_inactive_owner_is_an_error() {
    let e = assert_errors(
        json!({
            "rules": [rule("r", json!({"country": ["US"]}), to("cara"))],
            "fallback": to("cara")
        }),
        &[
            err(Code::InactiveOwner, Some("r"), "rules[0].then.assign.owner"),
            err(Code::InactiveOwner, None, "fallback.assign.owner"),
        ],
    );
    assert!(e.errors[0].message.contains("`cara`"));
}

#[test]
fn inactive_if_unavailable_owner_is_an_error() {
    assert_errors(
        json!({"rules": [rule("r", json!({"country": ["US"]}), json!({
            "assign": "account_owner", "if_unavailable": {"assign": {"owner": "cara"}}
        }))]}),
        &[err(
            Code::InactiveOwner,
            Some("r"),
            "rules[0].then.if_unavailable.assign.owner",
        )],
    );
}

#[test]
fn inactive_pool_member_is_a_warning() {
    let patch = json!({
        "pools": [{"id": "sales", "members": [{"owner": "cara"}, {"owner": "ana"}]}],
        "rules": [rule("r", json!({"country": ["US"]}), json!({"assign": {"pool": "sales"}}))]
    });
    assert_compiles(
        patch.clone(),
        &[warn(
            Code::InactivePoolMember,
            None,
            "pools[0].members[0].owner",
        )],
    );
    let policy = compile(&spec(patch)).unwrap();
    assert!(policy.warnings()[0].message.contains("`cara`"));
}

#[test]
fn warnings_are_also_reported_with_errors() {
    let e = compile_err(json!({
        "pools": [{"id": "sales", "members": [{"owner": "cara"}]}],
        "fallback": null
    }));
    assert_eq!(
        keys(&e.errors),
        [err(Code::MissingFallback, None, "fallback")]
    );
    assert_eq!(
        keys(&e.warnings),
        [warn(
            Code::InactivePoolMember,
            None,
            "pools[0].members[0].owner"
        )]
    );
}

// -------------------------------------------------------------- experiences

#[test]
fn book_meeting_with_nobody_assigned() {
    let e = assert_errors(
        json!({
            "rules": [rule("r", json!({"country": ["US"]}), json!({
                "assign": "nobody", "experience": {"book_meeting": {}}
            }))],
            "fallback": {"assign": "nobody", "experience": {"book_meeting": {"calendar": "assigned_owner"}}}
        }),
        &[
            err(Code::NoCalendar, Some("r"), "rules[0].then.experience"),
            err(Code::NoCalendar, None, "fallback.experience"),
        ],
    );
    assert!(e.errors[0].message.contains("assigns nobody"));
}

#[test]
fn book_meeting_with_nobody_but_a_named_calendar_compiles() {
    assert_compiles(
        json!({"rules": [rule("r", json!({"country": ["US"]}), json!({
            "assign": "nobody", "experience": {"book_meeting": {"calendar": {"owner": "bob"}}}
        }))]}),
        &[],
    );
}

// ------------------------------------------------------------- empty things

#[test]
fn empty_lists() {
    assert_errors(
        json!({"rules": [
            rule("a", json!({"country": []}), to("ana")),
            rule("b", json!({"region": []}), to("ana")),
            rule("c", json!({"product_interest": []}), to("ana")),
            rule("d", json!({"email_kind": []}), to("ana")),
            rule("e", json!({"source": []}), to("ana")),
            rule("f", json!({"utm_campaign": []}), to("ana")),
            rule("g", json!({"company_domain": []}), to("ana")),
            rule("h", json!({"attribute": {"key": "k", "one_of": []}}), to("ana")),
            rule("i", json!({"account": {"tier": []}}), to("ana"))
        ]}),
        &[
            err(Code::Empty, Some("a"), "rules[0].when.country"),
            err(Code::Empty, Some("b"), "rules[1].when.region"),
            err(Code::Empty, Some("c"), "rules[2].when.product_interest"),
            err(Code::Empty, Some("d"), "rules[3].when.email_kind"),
            err(Code::Empty, Some("e"), "rules[4].when.source"),
            err(Code::Empty, Some("f"), "rules[5].when.utm_campaign"),
            err(Code::Empty, Some("g"), "rules[6].when.company_domain"),
            err(Code::Empty, Some("h"), "rules[7].when.attribute.one_of"),
            err(Code::Empty, Some("i"), "rules[8].when.account.tier"),
        ],
    );
}

#[test]
fn empty_tests_territories_bounds_and_postal_sets() {
    let e = assert_errors(
        json!({
            "territories": [{"id": "nowhere"}],
            "rules": [
                rule("a", json!({"account": {}}), to("ana")),
                rule("b", json!({"contact": {}}), to("ana")),
                rule("c", json!({"employees": {}}), to("ana")),
                rule("d", json!({"postal_code": {"country": "US"}}), to("ana"))
            ]
        }),
        &[
            err(Code::Empty, None, "territories[0]"),
            err(Code::Empty, Some("a"), "rules[0].when.account"),
            err(Code::Empty, Some("b"), "rules[1].when.contact"),
            err(Code::Empty, Some("c"), "rules[2].when.employees"),
            err(Code::Empty, Some("d"), "rules[3].when.postal_code"),
        ],
    );
    assert_eq!(
        e.errors[0].help.as_deref(),
        Some("list `countries`, `regions` or `postal_codes` at the territory's top level")
    );
}

#[test]
fn non_scalar_equals_is_an_error() {
    assert_errors(
        json!({"rules": [rule("r", json!({"attribute": {"key": "k", "equals": {"a": 1}}}), to("ana"))]}),
        &[err(
            Code::TypeMismatch,
            Some("r"),
            "rules[0].when.attribute.equals",
        )],
    );
}

#[test]
fn non_scalar_one_of_items_are_errors() {
    let e = assert_errors(
        json!({"rules": [rule("r", json!({"account": {"field": {"key": "k", "one_of": ["a", ["b"], null]}}}), to("ana"))]}),
        &[
            err(
                Code::TypeMismatch,
                Some("r"),
                "rules[0].when.account.field.one_of[1]",
            ),
            err(
                Code::TypeMismatch,
                Some("r"),
                "rules[0].when.account.field.one_of[2]",
            ),
        ],
    );
    assert_eq!(
        e.errors[0].message,
        "compare with text, numbers or booleans, not a list"
    );
    assert_eq!(e.errors[0].value.as_deref(), Some(r#"["b"]"#));
    assert_eq!(e.errors[1].value.as_deref(), Some("null"));
}

// ----------------------------------------------------------------- warnings

#[test]
fn always_false_rule_is_a_warning() {
    assert_compiles(
        json!({"rules": [rule("off", json!({"always": false}), to("ana"))]}),
        &[warn(Code::NeverMatches, Some("off"), "rules[0].when")],
    );
}

#[test]
fn always_false_rule_after_another_rule_is_only_a_warning() {
    // A disabled rule anywhere in the list: documented as a warning.
    assert_compiles(
        json!({"rules": [
            rule("us", json!({"country": ["US"]}), to("ana")),
            rule("off", json!({"always": false}), to("bob"))
        ]}),
        &[warn(Code::NeverMatches, Some("off"), "rules[1].when")],
    );
}

#[test]
fn missing_name_or_version_is_a_warning() {
    assert_compiles(
        json!({"name": ""}),
        &[warn(Code::MissingName, None, "name")],
    );
    assert_compiles(
        json!({"version": "  "}),
        &[warn(Code::MissingName, None, "name")],
    );
}

// ------------------------------------------------------- everything at once

#[test]
fn every_problem_is_reported_at_once() {
    let e = compile_err(json!({
        "name": "",
        "territories": [{"id": "west", "regions": ["US-ZZ", "US-CA"]}],
        "pools": [
            {"id": "sales", "members": [{"owner": "zed"}, {"owner": "cara", "weight": 0}]},
            {"id": "empty"}
        ],
        "rules": [
            rule("a", json!({"all": [{"country": ["XX"]}, {"territory": "east"}]}), json!({"assign": {"pool": "nope"}})),
            rule("b", json!({"employees": {"min": 10, "max": 1}}), to("bob")),
            rule("b", json!({"employees": {"min": 10, "max": 1}}), to("ana")),
            rule("c", json!({"country": ["CA"]}), to("cara"))
        ],
        "fallback": null
    }));
    assert_eq!(
        keys(&e.errors),
        [
            err(Code::UnknownRegion, None, "territories[0].regions[0]"),
            err(Code::UnknownOwner, None, "pools[0].members[0].owner"),
            err(Code::InvalidNumber, None, "pools[0].members[1].weight"),
            err(Code::EmptyPool, None, "pools[1].members"),
            err(
                Code::UnknownCountry,
                Some("a"),
                "rules[0].when.all[0].country[0]"
            ),
            err(
                Code::UnknownTerritory,
                Some("a"),
                "rules[0].when.all[1].territory"
            ),
            err(Code::UnknownPool, Some("a"), "rules[0].then.assign.pool"),
            err(Code::InvertedRange, Some("b"), "rules[1].when.employees"),
            err(Code::DuplicateId, Some("b"), "rules[2].id"),
            err(Code::InvertedRange, Some("b"), "rules[2].when.employees"),
            err(Code::InactiveOwner, Some("c"), "rules[3].then.assign.owner"),
            err(Code::UnreachableRule, Some("b"), "rules[2].when"),
            err(Code::MissingFallback, None, "fallback"),
        ]
    );
    assert_eq!(
        keys(&e.warnings),
        [
            warn(Code::MissingName, None, "name"),
            warn(Code::InactivePoolMember, None, "pools[0].members[1].owner"),
        ]
    );
}

#[test]
fn display_lists_each_diagnostic_on_its_own_line() {
    let e = compile_err(json!({
        "version": "",
        "rules": [rule("us", json!({"country": ["US", "XX"]}), json!({"assign": {"pool": "nope"}}))],
        "fallback": null
    }));
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "policy does not compile: 3 errors",
            "  error: rules[0].when.country[1] (rule `us`): `XX` is not an ISO 3166-1 alpha-2 country code",
            "  error: rules[0].then.assign.pool (rule `us`): unknown pool `nope`",
            "  error: fallback: the policy has no fallback; every policy needs one so every lead gets a decision",
            "  warning: name: the policy has no name or version; decisions will not say which policy made them",
        ]
    );
    for (line, d) in lines[1..].iter().zip(e.errors.iter().chain(&e.warnings)) {
        assert_eq!(line.trim_start(), d.to_string());
    }
}

#[test]
fn display_singular_error() {
    let e = compile_err(json!({"fallback": null}));
    assert_eq!(
        e.to_string().lines().next(),
        Some("policy does not compile: 1 error")
    );
}

// ----------------------------------------------------------- JSON and TOML

const FULL_JSON: &str = r#"{
  "name": "inbound", "version": "2026-11-24",
  "owners": [
    {"id": "ana", "name": "Ana Ruiz", "email": "ana@example.com", "crm_ids": {"hubspot": "901"},
     "attributes": {"languages": ["en", "es"], "seniority": 3}},
    {"id": "bob", "name": "Bob Li", "timezone": "America/New_York"},
    {"id": "cara", "name": "Cara Diaz", "active": false},
    {"id": "queue", "name": "Inbound queue"}
  ],
  "territories": [
    {"id": "us-west", "regions": ["US-CA", "US-WA"],
     "postal_codes": [{"country": "US", "ranges": [["97000", "97999"]]}],
     "exclude": {"postal_codes": [{"country": "US", "prefixes": ["941"]}]}}
  ],
  "pools": [
    {"id": "enterprise", "members": [{"owner": "ana", "weight": 3}, {"owner": "bob", "capacity": {"max": 5, "per": "week"}}],
     "capacity": {"max": 20, "per": "day"}, "fallback": {"pool": "smb"}},
    {"id": "smb", "members": [{"owner": "bob"}, {"owner": "cara"}], "fallback": {"owner": "queue"}}
  ],
  "rules": [
    {"id": "off", "when": {"always": false}, "then": {"assign": {"owner": "ana"}}},
    {"id": "existing", "description": "Owned accounts go to their owner",
     "when": {"account": {"has_owner": true, "owner_active": true, "tier": ["enterprise"]}},
     "then": {"assign": "account_owner", "experience": {"book_meeting": {"calendar": "assigned_owner"}},
              "if_unavailable": {"assign": {"pool": "enterprise"}}}},
    {"id": "west-big",
     "when": {"all": [{"territory": "us-west"}, {"employees": {"min": 201}},
                      {"not": {"email_kind": ["free", "disposable"]}},
                      {"any": [{"utm_source": ["google"]}, {"attribute": {"key": "budget", "equals": 50}}]}]},
     "then": {"assign": {"pool": "enterprise"}, "experience": {"book_meeting": {"calendar": {"owner": "ana"}}},
              "tags": ["enterprise", "west"], "priority": "high", "sla_minutes": 15, "if_unavailable": "fallback"}},
    {"id": "zip", "when": {"postal_code": {"country": "US", "prefixes": ["10"], "ranges": [["11000", "11999"]]}},
     "then": {"assign": {"owner": "bob"}, "experience": "customer_success"}},
    {"id": "spam", "when": {"email_kind": ["disposable"]},
     "then": {"assign": "nobody", "experience": {"reject": {"reason": "disposable email"}}}},
    {"id": "contact", "when": {"contact": {"exists": true, "has_owner": true}},
     "then": {"assign": "contact_owner", "experience": "manual_review"}},
    {"id": "field", "when": {"account": {"field": {"key": "industry", "one_of": ["SaaS", "fintech"]}}},
     "then": {"assign": {"owner": "bob"}, "experience": "nurture", "priority": "low"}}
  ],
  "fallback": {"assign": {"owner": "queue"}, "experience": "confirmation"}
}"#;

const FULL_TOML: &str = r#"
name = "inbound"
version = "2026-11-24"

[[owners]]
id = "ana"
name = "Ana Ruiz"
email = "ana@example.com"
crm_ids = { hubspot = "901" }
attributes = { languages = ["en", "es"], seniority = 3 }

[[owners]]
id = "bob"
name = "Bob Li"
timezone = "America/New_York"

[[owners]]
id = "cara"
name = "Cara Diaz"
active = false

[[owners]]
id = "queue"
name = "Inbound queue"

[[territories]]
id = "us-west"
regions = ["US-CA", "US-WA"]
postal_codes = [{ country = "US", ranges = [["97000", "97999"]] }]
exclude = { postal_codes = [{ country = "US", prefixes = ["941"] }] }

[[pools]]
id = "enterprise"
members = [{ owner = "ana", weight = 3 }, { owner = "bob", capacity = { max = 5, per = "week" } }]
capacity = { max = 20, per = "day" }
fallback = { pool = "smb" }

[[pools]]
id = "smb"
members = [{ owner = "bob" }, { owner = "cara" }]
fallback = { owner = "queue" }

[[rules]]
id = "off"
when = { always = false }
then = { assign = { owner = "ana" } }

[[rules]]
id = "existing"
description = "Owned accounts go to their owner"
when = { account = { has_owner = true, owner_active = true, tier = ["enterprise"] } }
then = { assign = "account_owner", experience = { book_meeting = { calendar = "assigned_owner" } }, if_unavailable = { assign = { pool = "enterprise" } } }

[[rules]]
id = "west-big"
when = { all = [
  { territory = "us-west" },
  { employees = { min = 201 } },
  { not = { email_kind = ["free", "disposable"] } },
  { any = [{ utm_source = ["google"] }, { attribute = { key = "budget", equals = 50 } }] },
] }

[rules.then]
assign = { pool = "enterprise" }
experience = { book_meeting = { calendar = { owner = "ana" } } }
tags = ["enterprise", "west"]
priority = "high"
sla_minutes = 15
if_unavailable = "fallback"

[[rules]]
id = "zip"
when = { postal_code = { country = "US", prefixes = ["10"], ranges = [["11000", "11999"]] } }
then = { assign = { owner = "bob" }, experience = "customer_success" }

[[rules]]
id = "spam"
when = { email_kind = ["disposable"] }
then = { assign = "nobody", experience = { reject = { reason = "disposable email" } } }

[[rules]]
id = "contact"
when = { contact = { exists = true, has_owner = true } }
then = { assign = "contact_owner", experience = "manual_review" }

[[rules]]
id = "field"
when = { account = { field = { key = "industry", one_of = ["SaaS", "fintech"] } } }
then = { assign = { owner = "bob" }, experience = "nurture", priority = "low" }

[fallback]
assign = { owner = "queue" }
experience = "confirmation"
"#;

#[test]
fn json_and_toml_give_the_same_spec() {
    let from_json = PolicySpec::from_json_str(FULL_JSON).unwrap();
    let from_toml = PolicySpec::from_toml_str(FULL_TOML).unwrap();
    assert_eq!(from_json, from_toml);
    assert_eq!(from_json.rules.len(), 7);
    assert_eq!(
        from_json.territories[0].exclude.postal_codes[0].prefixes,
        ["941"]
    );
}

#[test]
fn the_full_spec_compiles_with_expected_warnings() {
    let policy = compile(&PolicySpec::from_json_str(FULL_JSON).unwrap()).unwrap();
    assert_eq!(
        keys(policy.warnings()),
        [
            warn(Code::InactivePoolMember, None, "pools[1].members[1].owner"),
            warn(Code::NeverMatches, Some("off"), "rules[0].when"),
        ]
    );
    assert_eq!(
        policy.rule_ids().collect::<Vec<_>>(),
        [
            "off", "existing", "west-big", "zip", "spam", "contact", "field"
        ]
    );
}

#[test]
fn json_round_trip() {
    let spec = PolicySpec::from_json_str(FULL_JSON).unwrap();
    let text = spec.to_json_string().unwrap();
    assert_eq!(PolicySpec::from_json_str(&text).unwrap(), spec);
}

#[test]
fn toml_round_trip() {
    let spec = PolicySpec::from_json_str(FULL_JSON).unwrap();
    let text = spec.to_toml_string().unwrap();
    assert_eq!(PolicySpec::from_toml_str(&text).unwrap(), spec, "{text}");
}

#[test]
fn builder_produces_the_same_data_as_json() {
    use leadroute::policy::spec::{ActionSpec, Condition, ExperienceSpec, OwnerSpec, PoolSpec};
    let built = PolicySpec::new("inbound", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("cara", "Cara").inactive())
        .pool(PoolSpec::new("sales").member("ana", 2))
        .rule(
            "existing",
            Condition::account_has_owner(),
            ActionSpec::account_owner(),
        )
        .rule(
            "us",
            Condition::country(["US"]).and(Condition::employees_at_least(201)),
            ActionSpec::pool("sales")
                .experience(ExperienceSpec::Nurture)
                .tag("big"),
        )
        .fallback(ActionSpec::owner("ana"));
    let json = PolicySpec::from_json_str(
        r#"{
        "name": "inbound", "version": "1",
        "owners": [{"id": "ana", "name": "Ana"}, {"id": "cara", "name": "Cara", "active": false}],
        "pools": [{"id": "sales", "members": [{"owner": "ana", "weight": 2}]}],
        "rules": [
            {"id": "existing", "when": {"account": {"has_owner": true}}, "then": {"assign": "account_owner"}},
            {"id": "us", "when": {"all": [{"country": ["US"]}, {"employees": {"min": 201}}]},
             "then": {"assign": {"pool": "sales"}, "experience": "nurture", "tags": ["big"]}}
        ],
        "fallback": {"assign": {"owner": "ana"}}
    }"#,
    )
    .unwrap();
    assert_eq!(built, json);
}
