//! Reading a policy's text (`PolicySpec::from_json_str` / `from_toml_str`):
//! every structural problem is a diagnostic with its exact code, path,
//! offending value and help, in JSON and in TOML, all reported in one pass.

use leadroute::policy::{Diagnostic, DiagnosticCode as Code, Severity};
use leadroute::{CompileError, Policy, PolicySpec};
use proptest::prelude::*;

/// A diagnostic reduced to code, path, value and help.
type Key = (Code, String, Option<String>, Option<String>);

fn key(d: &Diagnostic) -> Key {
    (d.code, d.path.clone(), d.value.clone(), d.help.clone())
}

fn k(code: Code, path: &str, value: Option<&str>, help: Option<&str>) -> Key {
    (
        code,
        path.to_owned(),
        value.map(str::to_owned),
        help.map(str::to_owned),
    )
}

fn json_err(text: &str) -> CompileError {
    match PolicySpec::from_json_str(text) {
        Ok(spec) => panic!("expected an error, read {spec:?}"),
        Err(e) => e,
    }
}

fn toml_err(text: &str) -> CompileError {
    match PolicySpec::from_toml_str(text) {
        Ok(spec) => panic!("expected an error, read {spec:?}"),
        Err(e) => e,
    }
}

fn keys(e: &CompileError) -> Vec<Key> {
    assert!(e.warnings.is_empty(), "{e}");
    assert!(e.errors.iter().all(|d| d.severity == Severity::Error));
    assert!(e.errors.iter().all(|d| d.rule.is_none()));
    e.errors.iter().map(key).collect()
}

/// A valid JSON policy with `rules` spliced in.
fn json_with_rules(rules: &str) -> String {
    format!(
        r#"{{"name": "inbound", "version": "1",
  "owners": [{{"id": "ana", "name": "Ana"}}],
  "rules": [{rules}],
  "fallback": {{"assign": {{"owner": "ana"}}}}}}"#
    )
}

/// A valid TOML policy with `body` appended.
fn toml_with(body: &str) -> String {
    format!(
        "name = \"inbound\"\nversion = \"1\"\nowners = [{{ id = \"ana\", name = \"Ana\" }}]\n\
         fallback = {{ assign = {{ owner = \"ana\" }} }}\n{body}"
    )
}

// ------------------------------------------------------------------ syntax

#[test]
fn json_syntax_error_names_line_column_and_path() {
    let e = json_err("{\"name\": \"x\", \"version\": \"1\",\n \"rules\": [{\"id\": \"a\",}]}");
    assert_eq!(keys(&e), [k(Code::Syntax, "rules[0]", None, None)]);
    assert_eq!(
        e.errors[0].message,
        "not valid JSON: trailing comma at line 2 column 23"
    );
}

#[test]
fn json_syntax_error_at_the_top_has_no_path() {
    let e = json_err("{\"name\": \"x\"} trailing");
    assert_eq!(keys(&e), [k(Code::Syntax, "", None, None)]);
    assert_eq!(
        e.errors[0].message,
        "not valid JSON: trailing characters at line 1 column 15"
    );
    assert_eq!(
        e.errors[0].to_string(),
        "error: not valid JSON: trailing characters at line 1 column 15"
    );
    let e = json_err("");
    assert_eq!(keys(&e), [k(Code::Syntax, "", None, None)]);
    assert!(e.errors[0].message.contains("EOF"), "{e}");
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let e = toml_err("name = \"x\"\nversion = \n");
    assert_eq!(keys(&e), [k(Code::Syntax, "", None, None)]);
    let m = &e.errors[0].message;
    assert!(m.starts_with("not valid TOML: "), "{m}");
    assert!(m.ends_with("at line 2 column 11"), "{m}");
}

#[test]
fn deep_nesting_is_a_syntax_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // The default limits stop it at 64 levels ...
    let e = json_err(&deep);
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].code, Code::LimitExceeded);
    assert!(e.errors[0].message.contains("max_depth"), "{e}");
    // ... and without them serde_json's own limit of 128 does.
    let e = leadroute::PolicySpec::from_json_str_with_limits(
        &deep,
        &leadroute::policy::PolicyLimits::unlimited(),
    )
    .unwrap_err();
    assert_eq!(e.errors[0].code, Code::Syntax);
    assert!(e.errors[0].message.contains("recursion limit"), "{e}");
    // TOML: the pre-scan stops it at the depth limit before the parser
    // builds anything ...
    let toml_deep = format!("a = {}{}", "[".repeat(10_000), "]".repeat(10_000));
    let e = toml_err(&toml_deep);
    assert_eq!(e.errors[0].code, Code::LimitExceeded);
    assert!(e.errors[0].message.contains("max_depth"), "{e}");
    assert!(e.to_string().len() < 1_000, "{}", e.to_string().len());
    // ... and without limits at the reader's own ceiling of 128 levels.
    let e = PolicySpec::from_toml_str_with_limits(
        &toml_deep,
        &leadroute::policy::PolicyLimits::unlimited(),
    )
    .unwrap_err();
    assert_eq!(e.errors[0].code, Code::LimitExceeded);
    assert!(e.errors[0].message.contains("128"), "{e}");
    assert!(e.to_string().len() < 1_000, "{}", e.to_string().len());
}

#[test]
fn a_document_that_is_not_an_object() {
    let e = json_err("[1, 2]");
    assert_eq!(keys(&e), [k(Code::WrongType, "", Some("[1, 2]"), None)]);
    assert_eq!(
        e.errors[0].message,
        "expected a policy (an object), found a list"
    );
}

// ----------------------------------------------------------- unknown keys

#[test]
fn unknown_key_at_the_top_level() {
    let e = json_err(r#"{"name": "x", "version": "1", "rule": []}"#);
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownField,
            "rule",
            Some("rule"),
            Some("did you mean `rules`?")
        )]
    );
    assert_eq!(e.errors[0].message, "a policy has no key `rule`");
    let e = toml_err("name = \"x\"\nversion = \"1\"\nfalback = { assign = \"nobody\" }\n");
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownField,
            "falback",
            Some("falback"),
            Some("did you mean `fallback`?")
        )]
    );
}

#[test]
fn unknown_key_without_a_close_match_lists_the_valid_keys() {
    let e = json_err(r#"{"name": "x", "version": "1", "settings": {}}"#);
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownField,
            "settings",
            Some("settings"),
            Some(
                "expected `name`, `version`, `owners`, `territories`, `pools`, `schedules`, `rules`, `fallback` or `$schema`"
            )
        )]
    );
}

#[test]
fn unknown_keys_in_owners_pools_members_and_capacities() {
    let text = r#"{"name": "x", "version": "1",
      "owners": [{"id": "ana", "emial": "a@x.com"}],
      "pools": [{"id": "p", "member": [], "members": [{"owner": "ana", "wieght": 2, "capacity": {"max": 1, "pre": "day"}}]}]}"#;
    assert_eq!(
        keys(&json_err(text)),
        [
            k(
                Code::UnknownField,
                "owners[0].emial",
                Some("emial"),
                Some("did you mean `email`?")
            ),
            k(
                Code::UnknownField,
                "pools[0].member",
                Some("member"),
                Some("did you mean `members`?")
            ),
            k(
                Code::UnknownField,
                "pools[0].members[0].wieght",
                Some("wieght"),
                Some("did you mean `weight`?")
            ),
            k(
                Code::UnknownField,
                "pools[0].members[0].capacity.pre",
                Some("pre"),
                Some("did you mean `per`?")
            ),
            k(
                Code::MissingField,
                "pools[0].members[0].capacity.per",
                None,
                None
            ),
        ]
    );
    let toml = r#"
name = "x"
version = "1"
[[owners]]
id = "ana"
emial = "a@x.com"
[[pools]]
id = "p"
members = [{ owner = "ana", wieght = 2 }]
"#;
    assert_eq!(
        keys(&toml_err(toml)),
        [
            k(
                Code::UnknownField,
                "owners[0].emial",
                Some("emial"),
                Some("did you mean `email`?")
            ),
            k(
                Code::UnknownField,
                "pools[0].members[0].wieght",
                Some("wieght"),
                Some("did you mean `weight`?")
            ),
        ]
    );
}

#[test]
fn territory_include_explains_where_includes_go() {
    let help = "a territory's includes are written at its top level: `countries`, \
                `regions` and `postal_codes`; excludes go under `exclude`";
    let e = json_err(
        r#"{"name": "x", "version": "1",
        "territories": [{"id": "west", "include": {"regions": ["US-CA"]}, "exclude": {"region": ["US-NV"]}}]}"#,
    );
    assert_eq!(
        keys(&e),
        [
            k(
                Code::UnknownField,
                "territories[0].include",
                Some("include"),
                Some(help)
            ),
            k(
                Code::UnknownField,
                "territories[0].exclude.region",
                Some("region"),
                Some("did you mean `regions`?")
            ),
        ]
    );
    assert_eq!(e.errors[0].message, "a territory has no key `include`");
    let e = toml_err(
        "name = \"x\"\nversion = \"1\"\n[[territories]]\nid = \"west\"\ninclude = { regions = [\"US-CA\"] }\n",
    );
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownField,
            "territories[0].include",
            Some("include"),
            Some(help)
        )]
    );
}

#[test]
fn unknown_keys_in_rules_actions_and_experiences() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"always": true}, "then": {"asign": {"owner": "ana"}}},
           {"id": "b", "condition": {"always": true}, "then": {"assign": "nobody"}},
           {"id": "c", "when": {"always": true},
            "then": {"assign": {"owner": "ana"}, "experience": {"book_meeting": {"calender": {"owner": "ana"}}}}}"#,
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::UnknownField,
                "rules[0].then.asign",
                Some("asign"),
                Some("did you mean `assign`?")
            ),
            k(Code::MissingField, "rules[0].then.assign", None, None),
            k(
                Code::UnknownField,
                "rules[1].condition",
                Some("condition"),
                Some("a rule's condition goes under `when`")
            ),
            k(Code::MissingField, "rules[1].when", None, None),
            k(
                Code::UnknownField,
                "rules[2].then.experience.book_meeting.calender",
                Some("calender"),
                Some("did you mean `calendar`?")
            ),
        ]
    );
    let e = toml_err(&toml_with(
        "[[rules]]\nid = \"a\"\nwhen = { always = true }\nthen = { asign = \"nobody\" }\n",
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::UnknownField,
                "rules[0].then.asign",
                Some("asign"),
                Some("did you mean `assign`?")
            ),
            k(Code::MissingField, "rules[0].then.assign", None, None),
        ]
    );
}

#[test]
fn unknown_keys_in_postal_specs_record_tests_and_field_tests() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"all": [
              {"postal_code": {"country": "US", "prefix": ["94"]}},
              {"account": {"has_owners": true}},
              {"attribute": {"key": "k", "regexp": "^a"}}
           ]}, "then": {"assign": "nobody"}}"#,
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::UnknownField,
                "rules[0].when.all[0].postal_code.prefix",
                Some("prefix"),
                Some("did you mean `prefixes`?")
            ),
            k(
                Code::UnknownField,
                "rules[0].when.all[1].account.has_owners",
                Some("has_owners"),
                Some("did you mean `has_owner`?")
            ),
            k(
                Code::UnknownField,
                "rules[0].when.all[2].attribute.regexp",
                Some("regexp"),
                Some("did you mean `regex`?")
            ),
            k(
                Code::ExpectedOneKey,
                "rules[0].when.all[2].attribute",
                None,
                Some("write one of `equals`, `one_of`, `exists` or `regex`")
            ),
        ]
    );
}

#[test]
fn unknown_condition_suggests_the_closest_test() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"contry": ["US"]}, "then": {"assign": "nobody"}}"#,
    ));
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownField,
            "rules[0].when.contry",
            Some("contry"),
            Some("did you mean `country`?")
        )]
    );
    assert_eq!(e.errors[0].message, "a condition has no key `contry`");
    let e = toml_err(&toml_with(
        "[[rules]]\nid = \"a\"\nwhen = { all = [{ always = true }, { emplyees = { min = 5 } }] }\nthen = { assign = \"nobody\" }\n",
    ));
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownField,
            "rules[0].when.all[1].emplyees",
            Some("emplyees"),
            Some("did you mean `employees`?")
        )]
    );
}

// ------------------------------------------------------- one-key objects

#[test]
fn a_condition_with_two_tests() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"country": ["US"], "employees": {"min": 5}}, "then": {"assign": "nobody"}}"#,
    ));
    assert_eq!(
        keys(&e),
        [k(
            Code::ExpectedOneKey,
            "rules[0].when",
            None,
            Some("use `\"all\": [...]` to combine conditions")
        )]
    );
    assert_eq!(
        e.errors[0].message,
        "a condition names exactly one test; this one names 2: `country`, `employees`"
    );
    let e = toml_err(&toml_with(
        "[[rules]]\nid = \"a\"\nwhen = { country = [\"US\"], employees = { min = 5 } }\nthen = { assign = \"nobody\" }\n",
    ));
    // TOML tables come sorted by key.
    assert_eq!(
        keys(&e),
        [k(
            Code::ExpectedOneKey,
            "rules[0].when",
            None,
            Some("use `all = [...]` to combine conditions")
        )]
    );
}

#[test]
fn an_empty_condition_and_an_assign_with_two_targets() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {}, "then": {"assign": {"owner": "ana", "pool": "p"}}}"#,
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::ExpectedOneKey,
                "rules[0].when",
                None,
                Some(
                    "write one of `all`, `any`, `not`, `always`, `territory`, `country`, `region`, `postal_code`, `employees`, `annual_revenue`, `product_interest`, `email_kind`, `source`, `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`, `company_domain`, `attribute`, `account`, `contact`, `within_schedule`, `outside_schedule`, `day_of_week`, `account_match`, `spam` or `signal`"
                )
            ),
            k(
                Code::ExpectedOneKey,
                "rules[0].then.assign",
                None,
                Some("write one of `owner` or `pool`")
            ),
        ]
    );
    assert_eq!(
        e.errors[0].message,
        "a condition names exactly one test; this one names none"
    );
}

#[test]
fn a_problem_inside_a_condition_with_two_tests_is_also_reported() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"country": "US", "regon": ["US-CA"]}, "then": {"assign": "nobody"}}"#,
    ));
    assert_eq!(
        keys(&e)
            .iter()
            .map(|k| (k.0, k.1.as_str()))
            .collect::<Vec<_>>(),
        [
            (Code::ExpectedOneKey, "rules[0].when"),
            (Code::WrongType, "rules[0].when.country"),
            (Code::UnknownField, "rules[0].when.regon"),
        ]
    );
}

// ------------------------------------------------------------ wrong types

#[test]
fn a_quoted_number() {
    let text = r#"{"name": "x", "version": "1",
      "pools": [{"id": "p", "members": [{"owner": "ana", "weight": "3"}]}]}"#;
    let e = json_err(text);
    assert_eq!(
        keys(&e),
        [k(
            Code::WrongType,
            "pools[0].members[0].weight",
            Some("\"3\""),
            Some("write the number without quotes: 3")
        )]
    );
    assert_eq!(
        e.errors[0].message,
        "expected a whole number from 0 to 4294967295, found text"
    );
    let e = toml_err(
        "name = \"x\"\nversion = \"1\"\n[[pools]]\nid = \"p\"\nmembers = [{ owner = \"ana\", weight = \"3\" }]\n",
    );
    assert_eq!(
        keys(&e),
        [k(
            Code::WrongType,
            "pools[0].members[0].weight",
            Some("\"3\""),
            Some("write the number without quotes: 3")
        )]
    );
}

#[test]
fn numbers_out_of_range() {
    let e = json_err(
        r#"{"name": "x", "version": "1",
        "pools": [{"id": "p", "members": [{"owner": "a", "weight": -1}, {"owner": "b", "weight": 1.5}, {"owner": "c", "weight": 4294967296}]}]}"#,
    );
    assert_eq!(
        keys(&e),
        [
            k(
                Code::WrongType,
                "pools[0].members[0].weight",
                Some("-1"),
                None
            ),
            k(
                Code::WrongType,
                "pools[0].members[1].weight",
                Some("1.5"),
                None
            ),
            k(
                Code::WrongType,
                "pools[0].members[2].weight",
                Some("4294967296"),
                None
            ),
        ]
    );
}

#[test]
fn text_where_a_list_is_expected() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"country": "US"}, "then": {"assign": "nobody", "tags": "vip"}}"#,
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::WrongType,
                "rules[0].when.country",
                Some("\"US\""),
                Some("write a list: [\"US\"]")
            ),
            k(
                Code::WrongType,
                "rules[0].then.tags",
                Some("\"vip\""),
                Some("write a list: [\"vip\"]")
            ),
        ]
    );
    assert_eq!(e.errors[0].message, "expected a list, found text");
}

#[test]
fn an_unquoted_toml_date_or_number_where_text_is_expected() {
    let e = toml_err("name = \"x\"\nversion = 2026-11-24\n[[owners]]\nid = 7\n");
    assert_eq!(
        keys(&e),
        [
            k(
                Code::WrongType,
                "owners[0].id",
                Some("7"),
                Some("quote it: \"7\"")
            ),
            k(
                Code::WrongType,
                "version",
                Some("2026-11-24"),
                Some("quote it: \"2026-11-24\"")
            ),
        ]
    );
    assert_eq!(e.errors[1].message, "expected text, found a TOML date-time");
}

#[test]
fn a_quoted_boolean_and_null_where_a_value_is_required() {
    let e = json_err(
        r#"{"name": "x", "version": "1", "owners": [{"id": "a", "active": "false"}], "rules": null}"#,
    );
    assert_eq!(
        keys(&e),
        [
            k(
                Code::WrongType,
                "owners[0].active",
                Some("\"false\""),
                Some("write it without quotes: false")
            ),
            k(Code::WrongType, "rules", Some("null"), None),
        ]
    );
}

#[test]
fn null_is_fine_where_the_spec_has_an_option() {
    let spec = PolicySpec::from_json_str(
        r#"{"name": "x", "version": "1", "owners": [{"id": "a", "email": null}],
            "rules": [{"id": "r", "description": null, "when": {"employees": {"min": 5, "max": null}},
                       "then": {"assign": "nobody", "priority": null}}],
            "fallback": null}"#,
    )
    .unwrap();
    assert_eq!(spec.fallback, None);
    assert_eq!(spec.owners[0].email, None);
}

// ---------------------------------------------------------- unknown words

#[test]
fn unknown_words_suggest_the_closest_one() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"email_kind": ["disposible"]},
            "then": {"assign": "acount_owner", "experience": "nurtur", "priority": "urgnet"}}"#,
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::UnknownValue,
                "rules[0].when.email_kind[0]",
                Some("disposible"),
                Some("did you mean `disposable`?")
            ),
            k(
                Code::UnknownValue,
                "rules[0].then.assign",
                Some("acount_owner"),
                Some("did you mean `account_owner`?")
            ),
            k(
                Code::UnknownValue,
                "rules[0].then.experience",
                Some("nurtur"),
                Some("did you mean `nurture`?")
            ),
            k(
                Code::UnknownValue,
                "rules[0].then.priority",
                Some("urgnet"),
                Some("did you mean `urgent`?")
            ),
        ]
    );
    assert_eq!(e.errors[1].message, "`acount_owner` is not an assignee");
}

#[test]
fn an_unknown_word_far_from_every_word_lists_them() {
    let e = toml_err(
        "name = \"x\"\nversion = \"1\"\n[[pools]]\nid = \"p\"\ncapacity = { max = 5, per = \"fortnight\" }\n",
    );
    assert_eq!(
        keys(&e),
        [k(
            Code::UnknownValue,
            "pools[0].capacity.per",
            Some("fortnight"),
            Some("expected a period: `day`, `week` or `month`")
        )]
    );
}

#[test]
fn a_form_that_takes_a_value_written_as_a_word() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"always": true}, "then": {"assign": "owner", "experience": "book_meeting"}}"#,
    ));
    assert_eq!(
        keys(&e),
        [
            k(
                Code::WrongType,
                "rules[0].then.assign",
                Some("\"owner\""),
                Some("`owner` takes a value: {\"owner\": …}")
            ),
            k(
                Code::WrongType,
                "rules[0].then.experience",
                Some("\"book_meeting\""),
                Some("`book_meeting` takes a value: {\"book_meeting\": …}")
            ),
        ]
    );
    assert_eq!(
        e.errors[0].message,
        "expected an assignee: `account_owner`, `contact_owner`, `nobody`, or an object with one key, `owner` or `pool`, found text"
    );
}

// ---------------------------------------------------------- missing keys

#[test]
fn missing_required_keys() {
    let e = json_err(
        r#"{"name": "x",
        "owners": [{"name": "Ana"}],
        "rules": [
          {"id": "a", "when": {"always": true}, "then": {"assign": "nobody"}},
          {"id": "b", "when": {"always": true}, "then": {"assign": "nobody"}},
          {"id": "c", "when": {"always": true}}
        ]}"#,
    );
    assert_eq!(
        keys(&e),
        [
            k(Code::MissingField, "owners[0].id", None, None),
            k(Code::MissingField, "rules[2].then", None, None),
            k(Code::MissingField, "version", None, None),
        ]
    );
    assert_eq!(e.errors[1].message, "a rule needs `then`");
    let e = toml_err(
        "name = \"x\"\nversion = \"1\"\n[[rules]]\nid = \"c\"\nwhen = { always = true }\n",
    );
    assert_eq!(
        keys(&e),
        [k(Code::MissingField, "rules[0].then", None, None)]
    );
}

#[test]
fn duplicate_json_keys() {
    let e = json_err(r#"{"name": "x", "version": "1", "name": "y"}"#);
    assert_eq!(
        keys(&e),
        [k(
            Code::DuplicateKey,
            "name",
            Some("name"),
            Some("keep one of them")
        )]
    );
}

// ------------------------------------------------------- all at once, bounded

#[test]
fn every_structural_problem_is_reported_in_one_pass() {
    let e = json_err(
        r#"{"name": "x", "version": 1,
        "owners": [{"id": "a", "actve": true}],
        "pools": [{"id": "p", "members": [{"owner": "a", "weight": "2"}]}],
        "rules": [{"id": "r", "when": {"contry": ["US"]}, "then": {"assign": "nobdy"}}]}"#,
    );
    assert_eq!(
        keys(&e)
            .iter()
            .map(|k| (k.0, k.1.as_str()))
            .collect::<Vec<_>>(),
        [
            (Code::WrongType, "version"),
            (Code::UnknownField, "owners[0].actve"),
            (Code::WrongType, "pools[0].members[0].weight"),
            (Code::UnknownField, "rules[0].when.contry"),
            (Code::UnknownValue, "rules[0].then.assign"),
        ]
    );
    assert_eq!(
        e.to_string().lines().next(),
        Some("policy does not compile: 5 errors")
    );
}

#[test]
fn at_most_a_hundred_errors_are_kept() {
    let owners: Vec<String> = (0..150)
        .map(|i| format!(r#"{{"id": "o{i}", "nmae": "x"}}"#))
        .collect();
    let text = format!(
        r#"{{"name": "x", "version": "1", "owners": [{}]}}"#,
        owners.join(",")
    );
    let e = json_err(&text);
    assert_eq!(e.errors.len(), CompileError::LIMIT);
    assert_eq!(e.omitted_errors, 50);
    assert_eq!(e.error_count(), 150);
    assert_eq!(e.errors[99].path, "owners[99].nmae");
    assert!(e.to_string().ends_with("\n  … and 50 more"));
}

// ------------------------------------------------------- the happy path

const SEED_JSON: &str = include_str!("../examples/policies/seed.json");
const SEED_TOML: &str = include_str!("../examples/policies/seed.toml");

#[test]
fn valid_policies_read_as_serde_reads_them() {
    let spec = PolicySpec::from_json_str(SEED_JSON).unwrap();
    assert_eq!(spec, serde_json::from_str::<PolicySpec>(SEED_JSON).unwrap());
    let spec = PolicySpec::from_toml_str(SEED_TOML).unwrap();
    assert_eq!(spec, toml::from_str::<PolicySpec>(SEED_TOML).unwrap());
}

#[test]
fn policy_reads_and_compiles_in_one_call() {
    let policy = Policy::from_json_str(SEED_JSON).unwrap();
    assert_eq!(
        policy.rule_ids().collect::<Vec<_>>(),
        Policy::from_toml_str(SEED_TOML)
            .unwrap()
            .rule_ids()
            .collect::<Vec<_>>()
    );
    // A reading error and a compile error come back the same way.
    let e = Policy::from_json_str(r#"{"name": "x", "version": "1", "fallbak": {}}"#).unwrap_err();
    assert_eq!(e.errors[0].code, Code::UnknownField);
    let e = Policy::from_json_str(r#"{"name": "x", "version": "1"}"#).unwrap_err();
    assert_eq!(keys(&e), [k(Code::MissingFallback, "fallback", None, None)]);
}

#[test]
fn diagnostics_serialize_with_value_and_help() {
    let e = json_err(&json_with_rules(
        r#"{"id": "a", "when": {"contry": ["US"]}, "then": {"assign": "nobody"}}"#,
    ));
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        serde_json::json!({
            "errors": [{
                "severity": "error",
                "code": "unknown_field",
                "path": "rules[0].when.contry",
                "message": "a condition has no key `contry`",
                "value": "contry",
                "help": "did you mean `country`?"
            }],
            "warnings": []
        })
    );
}

// ------------------------------------------------------------- properties

/// Every diagnostic says where, except a syntax error outside any value and
/// a document that is not an object at all.
fn assert_located(e: &CompileError) -> Result<(), TestCaseError> {
    for d in &e.errors {
        let root_type = d.code == Code::WrongType && d.message.starts_with("expected a policy");
        prop_assert!(
            !d.path.is_empty() || d.code == Code::Syntax || root_type,
            "{d}"
        );
        prop_assert!(!d.message.is_empty());
        prop_assert!(d.value.as_ref().is_none_or(|v| v.chars().count() <= 65));
    }
    prop_assert!(e.errors.len() <= CompileError::LIMIT);
    prop_assert!(!e.errors.is_empty());
    Ok(())
}

/// JSON values built from the format's own words, nested, so the checks
/// below reach deep into the schema.
fn words_json() -> impl Strategy<Value = serde_json::Value> {
    let word = prop::sample::select(vec![
        "name",
        "version",
        "owners",
        "rules",
        "id",
        "when",
        "then",
        "assign",
        "all",
        "any",
        "not",
        "country",
        "employees",
        "min",
        "owner",
        "pool",
        "members",
        "weight",
        "capacity",
        "per",
        "day",
        "fallback",
        "experience",
        "book_meeting",
        "calendar",
        "attribute",
        "key",
        "equals",
        "one_of",
        "account",
        "tier",
        "territories",
        "exclude",
        "postal_codes",
        "ranges",
        "US",
        "nobody",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        word.clone().prop_map(|w| serde_json::json!(w)),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(word.clone().prop_map(str::to_owned), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        if let Err(e) = PolicySpec::from_json_str(&text) {
            assert_located(&e)?;
        }
        if let Err(e) = PolicySpec::from_toml_str(&text) {
            assert_located(&e)?;
        }
    }

    #[test]
    fn arbitrary_json_never_panics_and_every_diagnostic_is_located(v in words_json()) {
        let text = v.to_string();
        match PolicySpec::from_json_str(&text) {
            Err(e) => assert_located(&e)?,
            // Whatever the reader accepts, serde reads the same way.
            Ok(spec) => prop_assert_eq!(Some(spec), serde_json::from_str::<PolicySpec>(&text).ok()),
        }
    }

    #[test]
    fn arbitrary_policy_shaped_json_never_panics(rules in prop::collection::vec(words_json(), 0..4)) {
        let text = serde_json::json!({
            "name": "x", "version": "1", "owners": [{"id": "x"}],
            "rules": rules, "fallback": {"assign": "nobody"}
        })
        .to_string();
        match PolicySpec::from_json_str(&text) {
            Err(e) => assert_located(&e)?,
            Ok(spec) => prop_assert_eq!(Some(spec), serde_json::from_str::<PolicySpec>(&text).ok()),
        }
    }
}
