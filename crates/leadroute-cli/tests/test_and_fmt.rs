//! Runs the `leadroute` binary's `test` and `fmt` subcommands: passing and
//! failing cases, coverage, JSON and JUnit output, formatting, and bad
//! input (missing, non-UTF-8 and malformed files, typos, exit codes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

/// A path relative to the repository root.
fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn leadroute() -> Command {
    let mut cmd = Command::cargo_bin("leadroute").unwrap();
    cmd.current_dir(fixtures());
    cmd
}

/// `leadroute test <seed policy> ARGS…`.
fn test_seed(args: &[&str]) -> Command {
    let mut cmd = leadroute();
    cmd.arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .args(args);
    cmd
}

fn stdout_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

// ------------------------------------------------------------------- test

#[test]
fn the_seed_cases_pass_with_full_coverage() {
    let cases = repo("examples/policies/seed.cases.toml");
    let out = stdout_of(
        &mut test_seed(&[cases.to_str().unwrap(), "--min-coverage", "100"]),
        0,
    );
    assert!(out.contains("coverage: 100.0% (15 of 15 items)"), "{out}");
    assert!(out.contains("  rules:          5/5\n"), "{out}");
    assert!(out.contains("  pool members:   6/6\n"), "{out}");
    assert!(out.ends_with("\n18 passed, 0 failed\n"), "{out}");
}

#[test]
fn json_case_files_pass() {
    test_seed(&["cases/passing.json"])
        .assert()
        .success()
        .stdout(contains("  ok    customer\n  ok    rotation\n"))
        .stdout(contains("3 passed, 0 failed"));
}

#[test]
fn a_failing_case_prints_every_mismatch_and_the_explanation() {
    let out = stdout_of(&mut test_seed(&["cases/failing.toml"]), 1);
    assert!(out.contains("  ok    US enterprise goes to Ana\n"), "{out}");
    assert!(
        out.contains(
            "  FAIL  a German lead <expected> to go to Bob & co\n        --> cases/failing.toml:7\n        expected owner `bob`, got `emma`\n        expected rule `us-enterprise`, got the fallback\n        expected tags [enterprise], got []\n        explanation:\n          Assigned to emma (round robin in pool `inbound` by the fallback) [policy seed-inbound v1]"
        ),
        "{out}"
    );
    assert!(
        out.contains("            fallback: no rule matched\n"),
        "{out}"
    );
    assert!(
        out.contains("  ERROR a lead without an email\n        --> cases/failing.toml:12\n        the lead does not normalize: email: is required\n"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 1 failed, 1 error\n"), "{out}");
}

#[test]
fn json_output_is_one_documented_document() {
    let out = stdout_of(
        &mut test_seed(&["cases/failing.toml", "--format", "json", "--coverage"]),
        1,
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["policy"]["name"], "seed-inbound");
    assert_eq!(doc["policy"]["version"], "1");
    assert_eq!(
        (
            doc["passed"].clone(),
            doc["failed"].clone(),
            doc["errors"].clone()
        ),
        (1.into(), 1.into(), 1.into())
    );
    assert_eq!(doc["input_errors"], serde_json::json!([]));
    let cases = doc["files"][0]["cases"].as_array().unwrap();
    assert_eq!(doc["files"][0]["file"], "cases/failing.toml");
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[0]["status"], "passed");
    assert_eq!(cases[0]["routes"][0]["owner"], "ana");
    assert_eq!(cases[0]["routes"][0]["rule"], "us-enterprise");
    assert!(cases[0].get("explanation").is_none());
    assert_eq!(cases[1]["status"], "failed");
    assert_eq!(cases[1]["line"], 7);
    assert_eq!(cases[1]["failures"][0], "expected owner `bob`, got `emma`");
    assert_eq!(cases[1]["routes"][0]["fallback"], true);
    assert!(cases[1]["explanation"]["steps"].as_array().unwrap().len() > 3);
    assert_eq!(cases[2]["status"], "error");
    assert_eq!(cases[2]["routes"], serde_json::json!([]));
    let cov = &doc["coverage"];
    assert_eq!(
        (cov["reached"].clone(), cov["total"].clone()),
        (4.into(), 15.into())
    );
    assert_eq!(cov["percent"], 26.6);
    assert_eq!(cov["fallback"], 1);
    assert_eq!(
        cov["rules"][3],
        serde_json::json!({"id": "us-enterprise", "routes": 1})
    );
    assert_eq!(
        cov["pool_members"][0],
        serde_json::json!({"id": "ana", "pool": "enterprise-us", "routes": 1})
    );
    assert!(
        cov["not_reached"]
            .as_array()
            .unwrap()
            .contains(&"rule `product-led`".into())
    );
    assert!(cov.get("min").is_none());
}

#[test]
fn coverage_lists_what_no_case_reached_and_min_coverage_fails_below() {
    let out = stdout_of(&mut test_seed(&["cases/partial.toml", "--coverage"]), 0);
    assert!(out.contains("coverage: 6.6% (1 of 15 items)"), "{out}");
    assert!(out.contains("    - rule `existing-customer`\n"), "{out}");
    assert!(out.contains("    - the policy fallback\n"), "{out}");
    assert!(
        out.contains("    - pool `enterprise-us` member `bob`\n"),
        "{out}"
    );
    assert!(out.contains("    - pool `inbound` fallback\n"), "{out}");
    let out = stdout_of(
        &mut test_seed(&["cases/partial.toml", "--min-coverage", "50"]),
        1,
    );
    assert!(
        out.contains("coverage 6.6% is below --min-coverage 50"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
    test_seed(&["cases/partial.toml", "--min-coverage", "6"])
        .assert()
        .success();
    let out = stdout_of(
        &mut test_seed(&[
            "cases/partial.toml",
            "--min-coverage",
            "50",
            "--format",
            "json",
        ]),
        1,
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["coverage"]["min"], 50.0);
    assert_eq!(doc["coverage"]["ok"], false);
}

#[test]
fn junit_output_is_well_formed_and_escaped() {
    let out = stdout_of(
        &mut test_seed(&[
            "cases/failing.toml",
            "cases/passing.json",
            "--format",
            "junit",
        ]),
        1,
    );
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"leadroute\" tests=\"6\" failures=\"1\" errors=\"1\">"), "{out}");
    assert!(out.contains("<testcase name=\"a German lead &lt;expected&gt; to go to Bob &amp; co\" classname=\"cases/failing.toml\" file=\"cases/failing.toml\" line=\"7\">"), "{out}");
    // Parse it: every element closes, every entity is valid; collect the
    // test cases and the failure text.
    let mut reader = quick_xml::Reader::from_str(&out);
    let mut names = Vec::new();
    let mut failure_text = String::new();
    let mut in_failure = false;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                if e.name().as_ref() == b"testcase" {
                    let name = e.try_get_attribute("name").unwrap().unwrap();
                    names.push(name.unescape_value().unwrap().into_owned());
                }
                in_failure = e.name().as_ref() == b"failure";
            }
            quick_xml::events::Event::Text(t) if in_failure => {
                failure_text.push_str(&t.decode().unwrap());
            }
            // quick-xml reports entities apart from the text around them.
            quick_xml::events::Event::GeneralRef(r) if in_failure => {
                let entity = match r.decode().unwrap().as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unexpected entity &{other};"),
                };
                failure_text.push(entity);
            }
            quick_xml::events::Event::End(_) => in_failure = false,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        names,
        [
            "US enterprise goes to Ana",
            "a German lead <expected> to go to Bob & co",
            "a lead without an email",
            "customer",
            "rotation",
            "contact owner is not used by the seed"
        ]
    );
    assert!(
        failure_text.starts_with("expected owner `bob`, got `emma`\n"),
        "{failure_text}"
    );
    assert!(
        failure_text.contains("explanation:\n  Assigned to emma"),
        "{failure_text}"
    );
}

#[test]
fn junit_reports_unreadable_case_files_as_errors() {
    let out = stdout_of(
        &mut test_seed(&["cases/missing.toml", "--format", "junit"]),
        2,
    );
    assert!(
        out.contains(
            "<testsuite name=\"leadroute\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">"
        ),
        "{out}"
    );
    assert!(
        out.contains("<error message=\"cannot read cases/missing.toml"),
        "{out}"
    );
}

#[test]
fn unknown_keys_and_ids_are_typed_diagnostics_with_suggestions() {
    test_seed(&["cases/typos.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "error[unknown_key]: unknown expectation key `ownr`\n  --> cases/typos.toml:4:19\n  = case: typo in an expectation\n  = path: cases[0].expect.ownr\n    |\n  4 | expect = { ownr = \"ana\" }\n    |                   ^^^^^\n  = help: did you mean `owner`?\n",
        ))
        .stderr(contains("error[unknown_id]: the policy has no owner `boob`\n  --> cases/typos.toml:9:9\n"))
        .stderr(contains("= help: did you mean `bob`?"))
        .stderr(contains("the policy has no owner `anna`"))
        .stderr(contains("error[unknown_id]: the policy has no rule `us-enterprize`\n  --> cases/typos.toml:10:35\n"))
        .stderr(contains("= help: did you mean `us-enterprise`?"))
        .stderr(contains("error[invalid_value]: `meeting` is not a valid `experience`"))
        .stderr(contains("error[unknown_key]: unknown case key `leed`\n  --> cases/typos.toml:14:8\n  = case: a case without a lead\n"))
        .stderr(contains("= help: did you mean `lead`?"))
        .stderr(contains("error[missing_key]: a case needs a `lead`: the form payload to route\n  --> cases/typos.toml:12:1\n"))
        .stderr(contains("1 case file could not be read"));
}

#[test]
fn input_errors_in_json_output() {
    let out = stdout_of(&mut test_seed(&["cases/typos.toml", "--format", "json"]), 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let errors = doc["input_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 7);
    assert_eq!(
        errors[0],
        serde_json::json!({
            "file": "cases/typos.toml", "code": "unknown_key",
            "message": "unknown expectation key `ownr`", "path": "cases[0].expect.ownr",
            "case": "typo in an expectation", "help": "did you mean `owner`?",
            "location": {"line": 4, "column": 19}
        })
    );
    assert_eq!(doc["files"], serde_json::json!([]));
}

#[test]
fn syntax_errors_give_line_and_column() {
    test_seed(&["cases/syntax.toml"])
        .assert()
        .code(2)
        .stderr(contains("error[syntax]: not valid TOML: "))
        .stderr(contains("  --> cases/syntax.toml:4:1\n"));
    test_seed(&["cases/syntax.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "error[syntax]: not valid JSON: key must be a string\n  --> cases/syntax.json:2:51\n",
        ));
}

#[test]
fn missing_non_utf8_and_unknown_files_exit_2_and_the_rest_still_run() {
    test_seed(&["cases/missing.toml", "cases/passing.json"])
        .assert()
        .code(2)
        .stderr(contains("error[io]: cannot read cases/missing.toml"))
        .stdout(contains("3 passed, 0 failed"));
    test_seed(&["cases/not_utf8.toml"])
        .assert()
        .code(2)
        .stderr(contains(
            "error[not_utf8]: cases/not_utf8.toml is not UTF-8 text (invalid byte at offset 21)",
        ));
    test_seed(&["policy.yaml"])
        .assert()
        .code(2)
        .stderr(contains("unknown case file format"));
}

#[test]
fn a_policy_that_does_not_compile_or_read_exits_2() {
    leadroute()
        .args(["test", "compile_errors.toml", "cases/passing.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "compile_errors.toml: policy does not compile: 2 errors",
        ))
        .stderr(contains("run `leadroute check compile_errors.toml`"));
    leadroute()
        .args(["test", "missing.toml", "cases/passing.json"])
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.toml"));
    leadroute()
        .args(["test", "not_utf8.toml", "cases/passing.json"])
        .assert()
        .code(2)
        .stderr(contains("not_utf8.toml is not UTF-8 text"));
}

#[test]
fn usage_errors_exit_2() {
    test_seed(&[]).assert().code(2);
    test_seed(&["cases/passing.json", "--min-coverage", "101"])
        .assert()
        .code(2)
        .stderr(contains("101 is not between 0 and 100"));
    test_seed(&["cases/passing.json", "--format", "xml"])
        .assert()
        .code(2);
}

/// Writes a case file into a fresh temp dir and returns its path.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("test-and-fmt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn context_keys_reach_the_decision() {
    // Every context key and expectation key in one file: defaults, a
    // contact, lookups, prior pool state, RFC 3339 time, sequences.
    let cases = temp_file(
        "context.toml",
        r#"
[defaults]
now = 1700000000
away = ["emma"]

[[cases]]
name = "defaults apply: emma away, finn takes it"
lead = { email = "a@smallshop.io" }
expect = { owner = "finn", owner_one_of = ["finn"], not_owner = ["emma", "ana"], assigned = true, fallback = true, pool = "inbound", experience = "confirmation", tags = [], priority = "normal", sla_minutes = 1440, write_to_crm = true, explanation_contains = ["emma skipped"] }

[[cases]]
name = "a case's away list replaces the default"
lead = { email = "a@smallshop.io" }
away = []
pools = { inbound = { members = { emma = { current = -5 } } } }
expect = { owner = "finn" }

[[cases]]
name = "a sequence starts from its first case's pools"
sequence = "s"
away = []
lead = { email = "a@smallshop.io" }
pools = { inbound = { version = 3, members = { emma = { current = -1 }, finn = { current = 1 } } } }
expect = { owner = "finn" }

[[cases]]
name = "and carries on"
sequence = "s"
away = []
lead = { email = "b@smallshop.io" }
expect = { owner = "emma" }

[[cases]]
name = "the person lookup failed"
lead = { email = "a@smallshop.io" }
contact = { owner = "dev", kind = "lead" }
person_lookup = "failed"
now = "2023-11-14T22:13:20Z"
expect = { explanation_contains = "CRM person lookup failed", tags_include = [] }
"#,
    );
    let out = stdout_of(&mut test_seed(&[cases.to_str().unwrap()]), 0);
    assert!(out.ends_with("5 passed, 0 failed\n"), "{out}");
}

/// Ana works Berlin weekdays and is named directly (no availability
/// check); the `load` pool picks by open leads.
const HOURS_AND_LOAD: &str = r#"
name = "hours-and-load"
version = "1"
owners = [
  { id = "ana", name = "Ana", schedule = "berlin" },
  { id = "bob", name = "Bob" },
  { id = "cara", name = "Cara" },
]
[[schedules]]
id = "berlin"
timezone = "Europe/Berlin"
hours = { weekdays = ["09:00-17:00"] }
[[pools]]
id = "load"
distribution = "least_loaded"
members = [{ owner = "bob" }, { owner = "cara" }]
[[rules]]
id = "named"
when = { country = ["DE"] }
then = { assign = { owner = "ana" } }
[fallback]
assign = { pool = "load" }
"#;

#[test]
fn open_leads_and_owner_unavailable_reach_the_decision() {
    let policy = temp_file("hours-and-load.toml", HOURS_AND_LOAD);
    // 2026-11-28 is a Saturday; 2026-11-24 10:30 Berlin a Tuesday.
    let cases = temp_file(
        "hours-and-load.cases.toml",
        r#"
[defaults]
open_leads = { bob = 4, cara = 1 }

[[cases]]
name = "the fewest open leads wins"
lead = { email = "a@shop.io" }
expect = { owner = "cara", pool = "load", owner_unavailable = "none" }

[[cases]]
name = "a case's counts replace the defaults"
lead = { email = "a@shop.io" }
open_leads = { bob = 0, cara = 9 }
expect = { owner = "bob", explanation_contains = "bob chosen: 0 open leads" }

[[cases]]
name = "ana named on a Saturday keeps the lead, off shift"
lead = { email = "a@shop.de", country = "DE" }
now = "2026-11-28T12:00:00Z"
expect = { owner = "ana", owner_unavailable = "off_shift" }

[[cases]]
name = "ana away on a Tuesday"
lead = { email = "a@shop.de", country = "DE" }
now = "2026-11-24T10:30:00+01:00"
away = ["ana"]
expect = { owner = "ana", owner_unavailable = "away" }

[[cases]]
name = "ana at work"
lead = { email = "a@shop.de", country = "DE" }
now = "2026-11-24T10:30:00+01:00"
expect = { owner = "ana", owner_unavailable = "none" }
"#,
    );
    let out = stdout_of(leadroute().arg("test").arg(&policy).arg(&cases), 0);
    assert!(out.ends_with("5 passed, 0 failed\n"), "{out}");

    // The same expectations fail when the decision says otherwise, with
    // what was expected and what came.
    let wrong = temp_file(
        "hours-and-load.wrong.toml",
        r#"
[[cases]]
name = "ana at work is not off shift"
lead = { email = "a@shop.de", country = "DE" }
now = "2026-11-24T10:30:00+01:00"
expect = { owner_unavailable = "off_shift" }

[[cases]]
name = "without counts the rotation decides"
lead = { email = "a@shop.io" }
expect = { owner = "cara" }
"#,
    );
    let out = stdout_of(leadroute().arg("test").arg(&policy).arg(&wrong), 1);
    assert!(
        out.contains("expected owner_unavailable = `off_shift`, got `none` (owner `ana`)"),
        "{out}"
    );
    assert!(out.contains("expected owner `cara`, got `bob`"), "{out}");
    assert!(out.ends_with("0 passed, 2 failed\n"), "{out}");
}

#[test]
fn open_leads_and_owner_unavailable_values_are_checked() {
    let policy = temp_file("hours-and-load-bad.toml", HOURS_AND_LOAD);
    let cases = temp_file(
        "hours-and-load.bad.toml",
        r#"
[[cases]]
name = "bad values"
lead = { email = "a@shop.io" }
open_leads = { bobb = 1, cara = -1 }
expect = { owner_unavailable = "offshift" }
"#,
    );
    let out = leadroute()
        .arg("test")
        .arg(&policy)
        .arg(&cases)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    for want in [
        "error[unknown_id]: the policy has no owner `bobb`",
        "= help: did you mean `bob`?",
        "error[wrong_type]: `cara` must be a whole number of open leads (0 to 4294967295), not a number",
        "error[invalid_value]: `offshift` is not a valid `owner_unavailable`",
        "= help: did you mean `off_shift`?",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn values_of_the_wrong_type_are_reported_with_their_case() {
    let cases = temp_file(
        "types.toml",
        r#"
[[cases]]
name = "wrong types"
lead = "not a table"
now = "tomorrow"
account_lookup = "timeout"
pools = { nope = {} }
expect = { owner = 3, sla_minutes = "fast", rotation = [] }
"#,
    );
    let out = leadroute()
        .arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .arg(&cases)
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    for want in [
        "error[wrong_type]: `lead` must be a table/object, not a string",
        "error[invalid_value]: `now` = \"tomorrow\": not an RFC 3339 time",
        "error[invalid_value]: `timeout` is not a valid `account_lookup`",
        "= help: did you mean `timed_out`?",
        "error[unknown_id]: the policy has no pool `nope`",
        "error[wrong_type]: `owner` must be a string, not a number",
        "error[wrong_type]: `sla_minutes` must be a whole number of minutes, not a string",
        "error[invalid_value]: `rotation` lists 0 owners; give 1 to 1000",
        "= case: wrong types",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[test]
fn a_later_case_of_a_sequence_cannot_reset_its_pools() {
    let cases = temp_file(
        "sequence.toml",
        r#"
[[cases]]
name = "first"
sequence = "s"
lead = { email = "a@smallshop.io" }
expect = { owner = "emma" }

[[cases]]
name = "second"
sequence = "s"
lead = { email = "b@smallshop.io" }
pools = { inbound = { version = 9 } }
expect = { owner = "finn" }
"#,
    );
    leadroute()
        .arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .arg(&cases)
        .assert()
        .code(2)
        .stderr(contains(
            "error[invalid_value]: sequence `s` started at cases[0]: its later cases carry on from the pool state before them and cannot set `pools`",
        ))
        .stderr(contains("= case: second
  = path: cases[1].pools
"));
}

#[test]
fn rotation_of_a_lead_with_an_id_is_refused() {
    let cases = temp_file(
        "rotation.toml",
        r#"
[[cases]]
name = "replays"
lead = { email = "a@smallshop.io", "Lead ID" = "L-1" }
expect = { rotation = ["emma", "finn"] }
"#,
    );
    leadroute()
        .arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .arg(&cases)
        .assert()
        .code(2)
        .stderr(contains("but the lead has a lead id"));
}

#[test]
fn duplicate_names_and_empty_files_are_refused() {
    let dup = temp_file(
        "dup.json",
        r#"{"cases": [
  {"name": "same", "lead": {"email": "a@b.io"}, "expect": {"fallback": true}},
  {"name": "same", "lead": {"email": "a@b.io"}, "expect": {}}
]}"#,
    );
    leadroute()
        .arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .arg(&dup)
        .assert()
        .code(2)
        .stderr(contains(
            "error[missing_key]: `expect` is empty: a case must expect something",
        ))
        .stderr(contains("--> "));
    let empty = temp_file("empty.toml", "# nothing yet\n");
    leadroute()
        .arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(contains("error[missing_key]: the file has no cases"));
    let twice = temp_file(
        "twice.toml",
        "[[cases]]\nname = \"a\"\nlead = { email = \"a@b.io\" }\nexpect = { fallback = true }\n[[cases]]\nname = \"a\"\nlead = { email = \"a@b.io\" }\nexpect = { fallback = true }\n",
    );
    leadroute()
        .arg("test")
        .arg(repo("examples/policies/seed.toml"))
        .arg(&twice)
        .assert()
        .code(2)
        .stderr(contains(
            "error[duplicate_case]: two cases are named `a` (cases[0] and cases[1])",
        ));
}

// -------------------------------------------------------------------- fmt

/// Copies fixtures into a fresh temp dir (fmt rewrites files).
fn scratch(names: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "fmt-{}-{}",
        std::process::id(),
        names.join("-").replace(['/', '.'], "_")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in names {
        let from = fixtures().join(name);
        let to = dir.join(std::path::Path::new(name).file_name().unwrap());
        std::fs::copy(from, to).unwrap();
    }
    dir
}

fn fmt_in(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("leadroute").unwrap();
    cmd.current_dir(dir).arg("fmt").args(args);
    cmd
}

#[test]
fn fmt_rewrites_policies_into_the_committed_canonical_form() {
    let dir = scratch(&["fmt/messy.toml", "fmt/messy.json"]);
    fmt_in(&dir, &["messy.toml", "messy.json"])
        .assert()
        .success()
        .stdout("formatted messy.toml\nformatted messy.json\n");
    for (got, want) in [
        ("messy.toml", "fmt/messy.formatted.toml"),
        ("messy.json", "fmt/messy.formatted.json"),
    ] {
        let got = std::fs::read_to_string(dir.join(got)).unwrap();
        let want = std::fs::read_to_string(fixtures().join(want)).unwrap();
        assert_eq!(got, want, "{got}");
    }
    // Formatted files are left alone, and say nothing.
    fmt_in(&dir, &["messy.toml", "messy.json"])
        .assert()
        .success()
        .stdout("");
    fmt_in(&dir, &["--check", "messy.toml", "messy.json"])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn fmt_keeps_every_comment_of_a_toml_policy() {
    let dir = scratch(&["fmt/messy.toml"]);
    let before = std::fs::read_to_string(dir.join("messy.toml")).unwrap();
    fmt_in(&dir, &["messy.toml"]).assert().success();
    let after = std::fs::read_to_string(dir.join("messy.toml")).unwrap();
    for comment in [
        "# A policy written by hand, in no particular order.\n# Second header line.\n\nname = \"messy\"\n",
        "version = \"2026-11-24\" # the release\n",
        "[[rules]]\n# Territory first.\nid = \"west\"\n",
        "description = 'single-quoted # not a comment'\n",
        "  { owner = \"ana\", weight = 2 }, # Ana carries more\n",
        "[fallback] # last resort\n",
        "# trailing comment at the end of the file\n",
    ] {
        assert!(after.contains(comment), "lost {comment:?} in\n{after}");
    }
    assert_ne!(before, after);
}

#[test]
fn fmt_check_lists_files_that_would_change_and_writes_nothing() {
    let dir = scratch(&["fmt/messy.toml", "fmt/messy.formatted.json"]);
    let before = std::fs::read_to_string(dir.join("messy.toml")).unwrap();
    fmt_in(&dir, &["--check", "messy.toml", "messy.formatted.json"])
        .assert()
        .code(1)
        .stdout("would reformat messy.toml\n")
        .stderr(contains("1 of 2 files would be reformatted"));
    assert_eq!(
        std::fs::read_to_string(dir.join("messy.toml")).unwrap(),
        before
    );
}

#[test]
fn the_seed_toml_policy_is_formatted() {
    leadroute()
        .args(["fmt", "--check"])
        .arg(repo("examples/policies/seed.toml"))
        .assert()
        .success();
}

#[test]
fn fmt_bad_input_exits_2_and_still_formats_the_rest() {
    let dir = scratch(&[
        "syntax_error.toml",
        "syntax_error.json",
        "not_utf8.toml",
        "policy.yaml",
        "fmt/messy.json",
    ]);
    fmt_in(&dir, &["syntax_error.toml", "messy.json"])
        .assert()
        .code(2)
        .stderr(contains("leadroute: syntax_error.toml: not valid TOML: "))
        .stderr(contains(" at line 4 column 10"))
        .stdout("formatted messy.json\n");
    fmt_in(&dir, &["syntax_error.json"])
        .assert()
        .code(2)
        .stderr(contains(
            "syntax_error.json: not valid JSON: key must be a string at line 4 column 48",
        ));
    fmt_in(&dir, &["not_utf8.toml"])
        .assert()
        .code(2)
        .stderr(contains("not_utf8.toml is not UTF-8 text"));
    fmt_in(&dir, &["missing.toml"])
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.toml"));
    fmt_in(&dir, &["policy.yaml"])
        .assert()
        .code(2)
        .stderr(contains("policy.yaml: unknown policy format"));
    fmt_in(&dir, &[]).assert().code(2);
}

// ----------------------------------------------------------- case schema

/// `leadroute schema --cases` is the committed `docs/cases.schema.json`
/// (regenerate with `LEADROUTE_REGENERATE=1 cargo test -p leadroute-cli
/// --test test_and_fmt`), and it accepts the case files this repository
/// ships and rejects a typo.
#[test]
fn the_case_file_schema_is_committed_and_accepts_the_shipped_cases() {
    let out = stdout_of(leadroute().args(["schema", "--cases"]), 0);
    let file = repo("docs/cases.schema.json");
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    if committed != out {
        if std::env::var_os("LEADROUTE_REGENERATE").is_some() {
            std::fs::write(&file, &out).unwrap();
        } else {
            panic!(
                "docs/cases.schema.json is stale: run `LEADROUTE_REGENERATE=1 cargo test -p leadroute-cli --test test_and_fmt`"
            );
        }
    }
    let schema: Value = serde_json::from_str(&out).unwrap();
    assert!(jsonschema::meta::is_valid(&schema));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let seed: toml::Table = toml::from_str(
        &std::fs::read_to_string(repo("examples/policies/seed.cases.toml")).unwrap(),
    )
    .unwrap();
    let seed = serde_json::to_value(seed).unwrap();
    let passing: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("cases/passing.json")).unwrap(),
    )
    .unwrap();
    for doc in [&seed, &passing] {
        let errors: Vec<String> = validator.iter_errors(doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
    let mut typo = passing.clone();
    typo["cases"][0]["expect"]["ownr"] = "ana".into();
    assert!(!validator.is_valid(&typo));
    let mut no_lead = passing;
    no_lead["cases"][0].as_object_mut().unwrap().remove("lead");
    assert!(!validator.is_valid(&no_lead));
}

#[test]
fn policy_warnings_go_to_stderr_and_inactive_members_are_not_counted() {
    let cases = temp_file(
        "warned.toml",
        r#"
[[cases]]
name = "US leads rotate past the inactive member"
lead = { email = "a@acme.com", country = "US" }
expect = { rotation = ["ana", "ana"], rule = "us", pool = "team" }

[[cases]]
name = "the rest go to the queue"
lead = { email = "a@acme.de", country = "DE" }
expect = { owner = "queue", fallback = true }
"#,
    );
    let assert = leadroute()
        .args(["test", "warnings.toml"])
        .arg(&cases)
        .arg("--min-coverage=100")
        .assert()
        .success()
        .stderr(contains(
            "warnings.toml: warning: pools[0].members[1].owner: owner `cara` is inactive and will always be skipped",
        ));
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(out.contains("coverage: 100.0% (3 of 3 items)"), "{out}");
    assert!(
        out.contains("  not counted (inactive owners): team/cara\n"),
        "{out}"
    );
}
