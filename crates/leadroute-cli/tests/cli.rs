//! Runs the `leadroute` binary: every subcommand's happy path, its JSON
//! output, and bad input (missing, non-UTF-8 and broken files, exit codes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

mod support;
use support::{fixture, leadroute, repo};

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).unwrap()
}

const NOW: &str = "1700000000";

// ------------------------------------------------------------------ check

#[test]
fn check_accepts_the_seed_policies() {
    leadroute()
        .arg("check")
        .arg(repo("examples/policies/seed.toml"))
        .arg(repo("examples/policies/seed.json"))
        .assert()
        .success()
        .stdout(contains("seed.toml: ok (0 errors, 0 warnings)"))
        .stdout(contains("seed.json: ok (0 errors, 0 warnings)"));
}

#[test]
fn check_json_of_a_good_policy() {
    let out = leadroute()
        .args(["check", "--format", "json"])
        .arg(repo("examples/policies/seed.toml"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc = json_of(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["files"][0]["ok"], true);
    assert_eq!(doc["files"][0]["errors"], serde_json::json!([]));
}

#[test]
fn check_shows_compile_errors_with_excerpts_in_json_policies() {
    leadroute()
        .args(["check", "compile_errors.json"])
        .assert()
        .code(1)
        .stdout(contains(
            "error[unknown_country]: `UK` is not an ISO 3166-1 alpha-2 country code\n  --> compile_errors.json:5:39\n  = path: rules[0].when.country[0]\n  = rule: uk\n",
        ))
        .stdout(contains(
            "  5 |     {\"id\": \"uk\", \"when\": {\"country\": [\"UK\"]}, \"then\": {\"assign\": {\"owner\": \"queue\"}}}\n    |                                       ^^^^\n  = help: did you mean `GB`?",
        ))
        .stdout(contains("--> compile_errors.json:7:36"))
        .stdout(contains("= help: did you mean `queue`?"))
        .stdout(contains("compile_errors.json: FAILED (2 errors, 0 warnings)"));
}

#[test]
fn check_shows_compile_errors_with_excerpts_in_toml_policies() {
    leadroute()
        .args(["check", "compile_errors.toml"])
        .assert()
        .code(1)
        .stdout(contains(
            "  --> compile_errors.toml:11:20\n  = path: fallback.assign.owner\n     |\n  11 | assign = { owner = \"queeu\" }\n     |                    ^^^^^^^\n  = help: did you mean `queue`?",
        ))
        .stdout(contains("--> compile_errors.toml:7:21"));
}

#[test]
fn check_json_carries_diagnostics_and_locations() {
    let out = leadroute()
        .args(["check", "--format", "json", "compile_errors.toml"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let doc = json_of(&out);
    assert_eq!(doc["ok"], false);
    let file = &doc["files"][0];
    assert_eq!(file["file"], "compile_errors.toml");
    assert_eq!(file["ok"], false);
    let errors = file["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["code"], "unknown_country");
    assert_eq!(errors[0]["severity"], "error");
    assert_eq!(errors[0]["rule"], "uk");
    assert_eq!(errors[0]["path"], "rules[0].when.country[0]");
    assert_eq!(errors[0]["help"], "did you mean `GB`?");
    assert_eq!(
        errors[0]["location"],
        serde_json::json!({"line": 7, "column": 21})
    );
    assert_eq!(errors[1]["code"], "unknown_owner");
    assert_eq!(
        errors[1]["location"],
        serde_json::json!({"line": 11, "column": 20})
    );
}

#[test]
fn check_shows_toml_syntax_errors_at_their_line_and_column() {
    leadroute()
        .args(["check", "syntax_error.toml"])
        .assert()
        .code(1)
        .stdout(contains("error[syntax]: not valid TOML: unclosed table"))
        .stdout(contains(
            "  --> syntax_error.toml:4:10\n    |\n  4 | [fallback\n    |          ^\n",
        ));
}

#[test]
fn check_shows_json_syntax_errors_at_their_line_and_column() {
    leadroute()
        .args(["check", "syntax_error.json"])
        .assert()
        .code(1)
        .stdout(contains(
            "error[syntax]: not valid JSON: key must be a string",
        ))
        .stdout(contains("  --> syntax_error.json:4:48\n"))
        .stdout(contains(
            "  4 |   \"owners\": [{\"id\": \"queue\", \"name\": \"Queue\"}],,\n",
        ));
}

#[test]
fn warnings_pass_unless_denied() {
    leadroute()
        .args(["check", "warnings.toml"])
        .assert()
        .success()
        .stdout(contains(
            "warning[inactive_pool_member]: owner `cara` is inactive and will always be skipped\n  --> warnings.toml:11:41",
        ))
        .stdout(contains("warnings.toml: ok (0 errors, 1 warning)"));
    leadroute()
        .args(["check", "--deny-warnings", "warnings.toml"])
        .assert()
        .code(1)
        .stdout(contains("warnings.toml: FAILED (0 errors, 1 warning)"));
}

#[test]
fn check_reports_a_missing_file_and_still_checks_the_others() {
    leadroute()
        .args(["check", "missing.toml", "compile_errors.toml"])
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.toml"))
        .stdout(contains("compile_errors.toml: FAILED"));
    let out = leadroute()
        .args(["check", "--format", "json", "missing.toml"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let doc = json_of(&out);
    assert_eq!(doc["files"][0]["file"], "missing.toml");
    assert!(
        doc["files"][0]["io_error"]
            .as_str()
            .unwrap()
            .contains("cannot read missing.toml")
    );
}

#[test]
fn check_rejects_non_utf8_files_and_unknown_extensions() {
    leadroute()
        .args(["check", "not_utf8.toml"])
        .assert()
        .code(2)
        .stderr(contains("not_utf8.toml is not UTF-8 text"));
    leadroute()
        .args(["check", "policy.yaml"])
        .assert()
        .code(2)
        .stderr(contains("policy.yaml: unknown policy format"));
}

#[test]
fn usage_errors_exit_2() {
    leadroute().arg("check").assert().code(2);
    leadroute().arg("frobnicate").assert().code(2);
    leadroute()
        .args(["check", "--format", "yaml", "compile_errors.toml"])
        .assert()
        .code(2);
}

// ------------------------------------------------------------------ route

#[test]
fn route_routes_the_example_leads() {
    leadroute()
        .arg("route")
        .arg(repo("examples/policies/seed.toml"))
        .arg("--accounts")
        .arg(repo("examples/accounts.json"))
        .args(["--now", NOW])
        .pipe_stdin(repo("examples/leads.jsonl"))
        .unwrap()
        .assert()
        // Line 6 of the example leads is not JSON.
        .code(1)
        .stdout(contains(
            "1: dana.whitfield@globex-industries.com: Assigned to ana (round robin in pool `enterprise-us` by rule `us-enterprise`) [policy seed-inbound v1]; experience: book_meeting\n",
        ))
        .stdout(contains(
            "2: ops@initech.co.uk: Assigned to cleo (the matched account's owner by rule `existing-customer`)",
        ))
        .stdout(contains("5: not routed: email: is not an email address"))
        .stdout(contains("10: sam@smallshop.io: Assigned to dev"))
        .stderr(contains("line 6: not valid JSON"));
}

#[test]
fn route_reports_broken_lines_and_processes_the_rest() {
    let out = leadroute()
        .arg("route")
        .arg(repo("examples/policies/seed.json"))
        .args(["--now", NOW, "--format", "json"])
        .pipe_stdin(fixture("leads_broken.jsonl"))
        .unwrap()
        .assert()
        .code(1)
        .stderr(contains(
            "line 2: not valid JSON: expected value at line 1 column 11",
        ))
        .stderr(contains("line 5: not a JSON object"))
        .stderr(contains("2 of 5 lines could not be read"))
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["email"], "ana@initech.co.uk");
    assert_eq!(lines[0]["decision"]["policy_name"], "seed-inbound");
    assert!(
        lines[0]["explanation"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Assigned to ")
    );
    assert_eq!(lines[1]["line"], 4);
    assert_eq!(lines[1]["email"], "raj@hooli.com");
    assert_eq!(lines[1]["decision"]["owner"], "ana");
    assert_eq!(lines[1]["decision"]["rule"], "us-enterprise");
}

#[test]
fn route_rotates_pools_across_the_run() {
    let lead = r#"{"email": "raj@hooli.com", "country": "US", "company_size": "1,000+"}"#;
    let out = leadroute()
        .arg("route")
        .arg(repo("examples/policies/seed.toml"))
        .args(["--now", NOW, "--format", "json"])
        .write_stdin(format!("{lead}\n{lead}\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let owners: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            json_of(l.as_bytes())["decision"]["owner"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(owners.len(), 2);
    assert_ne!(owners[0], owners[1], "the pool rotates: {owners:?}");
}

#[test]
fn route_reports_non_utf8_lines() {
    leadroute()
        .arg("route")
        .arg(repo("examples/policies/seed.toml"))
        .args(["--now", NOW])
        .pipe_stdin(fixture("leads_not_utf8.jsonl"))
        .unwrap()
        .assert()
        .code(1)
        .stderr(contains("line 1: not UTF-8 text"))
        .stdout(contains("2: raj@hooli.com: Assigned to"));
}

#[test]
fn route_refuses_a_policy_that_does_not_compile() {
    leadroute()
        .args(["route", "compile_errors.toml"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(contains(
            "compile_errors.toml: policy does not compile: 2 errors",
        ))
        .stderr(contains("run `leadroute check compile_errors.toml`"));
}

#[test]
fn route_reports_a_missing_accounts_file() {
    leadroute()
        .arg("route")
        .arg(repo("examples/policies/seed.toml"))
        .args(["--accounts", "missing.json"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.json"));
}

// ------------------------------------------------------------------ explain

#[test]
fn explain_prints_the_explanation() {
    leadroute()
        .arg("explain")
        .arg(repo("examples/policies/seed.toml"))
        .arg("lead.json")
        .arg("--accounts")
        .arg(repo("examples/accounts.json"))
        .args(["--now", NOW])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Assigned to cleo (the matched account's owner by rule `existing-customer`) [policy seed-inbound v1]; experience: customer_success\n",
        ))
        .stdout(contains("  rule `existing-customer`: matched\n"))
        .stdout(contains("account.is_customer is true: observed true → true"));
}

#[test]
fn explain_shows_the_account_match_over_every_account_of_the_file() {
    // No account has acme.co.uk: the matcher finds Acme Corporation by its
    // brand under another suffix, and says so.
    leadroute()
        .arg("explain")
        .arg(repo("examples/policies/seed.toml"))
        .arg(r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd", "country": "UK"}"#)
        .arg("--accounts")
        .arg(repo("examples/accounts.json"))
        .args(["--now", NOW])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Assigned to emma (the matched account's owner by rule `existing-customer`)",
        ))
        .stdout(contains(
            "  account match: matched Acme Corporation (acme.com) by cross-TLD domain acme.co.uk, confidence 0.75",
        ));
    // A stricter matcher config leaves it unmatched.
    let dir = std::env::temp_dir().join(format!("leadroute-cli-match-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("match.json");
    std::fs::write(&config, r#"{"min_confidence": 0.8}"#).unwrap();
    let out = leadroute()
        .arg("explain")
        .arg(repo("examples/policies/seed.toml"))
        .arg(r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd", "country": "UK"}"#)
        .arg("--accounts")
        .arg(repo("examples/accounts.json"))
        .arg("--match-config")
        .arg(&config)
        .args(["--now", NOW, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let m = &v["decision"]["account_match"];
    assert_eq!(m["outcome"], "no_match");
    assert_eq!(m["candidates"][0]["account_id"], "001E");
    assert_eq!(m["candidates"][0]["status"], "below_threshold");
    assert_eq!(m["candidates"].as_array().unwrap().len(), 5);
    // A bad config is a usage error that says what is wrong.
    std::fs::write(&config, r#"{"min_confidence": 2}"#).unwrap();
    leadroute()
        .arg("explain")
        .arg(repo("examples/policies/seed.toml"))
        .arg(r#"{"email": "jane@acme.co.uk"}"#)
        .arg("--match-config")
        .arg(&config)
        .assert()
        .code(2)
        .stderr(contains("`min_confidence` is 2, must be between 0 and 1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_takes_inline_json_and_prints_json() {
    let out = leadroute()
        .arg("explain")
        .arg(repo("examples/policies/seed.json"))
        .arg(r#"{"email": "raj@hooli.com", "country": "US", "company_size": "1,000+"}"#)
        .args(["--now", NOW, "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc = json_of(&out);
    assert_eq!(doc["email"], "raj@hooli.com");
    assert_eq!(doc["decision"]["rule"], "us-enterprise");
    assert_eq!(
        doc["decision"]["assigned_by"],
        serde_json::json!({"pool": "enterprise-us"})
    );
    assert!(
        doc["explanation"]["steps"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(doc.get("line").is_none());
}

#[test]
fn explain_credits_a_pools_fallback_owner_to_the_pool_and_says_out_of_office() {
    let lead = r#"{"email": "a@bigco.com", "country": "DE"}"#;
    leadroute()
        .args(["explain", "pool_fallback.toml", lead, "--now", NOW])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "Assigned to queue (the fallback owner of pool `emea`: no member could take the lead: 1 off shift, 1 out of office; by rule `emea`) [policy pool-fallback v1]; experience: confirmation\n",
        ))
        .stdout(contains(
            "    pool `emea`: kai skipped: off shift (outside working hours)\n    pool `emea`: bea skipped: out of office (an `out_of_office` date)\n    pool `emea`: nobody eligible; using the pool's fallback\n",
        ));
    let out = leadroute()
        .args(["explain", "pool_fallback.toml", lead, "--now", NOW])
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc = json_of(&out);
    assert_eq!(doc["decision"]["owner"], "queue");
    assert_eq!(
        doc["decision"]["assigned_by"],
        serde_json::json!({"pool_fallback": "emea"})
    );
    let skips: Vec<&Value> = doc["decision"]["trace"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "pool_skip")
        .collect();
    assert_eq!(
        skips,
        [
            &serde_json::json!({"event": "pool_skip", "pool": 0, "member": 0, "reason": "off_shift"}),
            &serde_json::json!({"event": "pool_skip", "pool": 0, "member": 1, "reason": "out_of_office"}),
        ]
    );
    assert!(
        doc["explanation"]["steps"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(
                {"step": "pool_skip", "pool": "emea", "owner": "bea", "reason": "out_of_office"}
            )),
        "{doc}"
    );
}

#[test]
fn explain_bad_leads() {
    let seed = repo("examples/policies/seed.toml");
    leadroute()
        .arg("explain")
        .arg(&seed)
        .arg(r#"{"email": "x"}"#)
        .assert()
        .code(1)
        .stderr(contains(
            "the lead does not normalize:\n  email: is not an email address",
        ));
    leadroute()
        .arg("explain")
        .arg(&seed)
        .arg(r#"{"email": "#)
        .assert()
        .code(2)
        .stderr(contains("the lead is not valid JSON"));
    leadroute()
        .arg("explain")
        .arg(&seed)
        .arg("missing.json")
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.json"));
    leadroute()
        .arg("explain")
        .arg(&seed)
        .arg("not_utf8.toml")
        .assert()
        .code(2)
        .stderr(contains("not_utf8.toml is not UTF-8 text"));
}

// ----------------------------------------------------------------- schema

#[test]
fn schema_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(repo("docs/policy.schema.json")).unwrap();
    leadroute()
        .arg("schema")
        .assert()
        .success()
        .stdout(predicate::eq(committed));
}

#[test]
fn schema_output_writes_the_committed_schema() {
    let committed = std::fs::read_to_string(repo("docs/policy.schema.json")).unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-policy.schema.json");
    let _ = std::fs::remove_file(&out);
    leadroute()
        .arg("schema")
        .arg("--output")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), committed);
    leadroute()
        .args(["schema", "--output", "no-such-dir/schema.json"])
        .assert()
        .code(2)
        .stderr(contains("cannot write no-such-dir/schema.json"));
}
