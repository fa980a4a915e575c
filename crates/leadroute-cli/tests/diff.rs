//! Runs `leadroute diff`: grouped changes with examples in every format,
//! exit statuses, pool rotation per version, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn leadroute() -> Command {
    let mut cmd = Command::cargo_bin("leadroute").unwrap();
    cmd.current_dir(fixture(""));
    cmd
}

const NOW: &str = "1700000000";

fn diff(old: &str, new: &str, leads: &str, format: &str) -> Command {
    let mut cmd = leadroute();
    cmd.arg("diff")
        .arg(old)
        .arg(new)
        .args(["--leads", leads, "--now", NOW, "--format", format]);
    cmd
}

fn seed() -> String {
    repo("examples/policies/seed.toml").display().to_string()
}

#[test]
fn diff_groups_changed_decisions_with_an_example_each() {
    let out = diff(&seed(), "seed_v2.toml", "diff_leads.jsonl", "json")
        .assert()
        // Line 5 is broken: reported, the rest compared, exit status 2.
        .code(2)
        .stderr(contains(
            "diff_leads.jsonl: line 5: not valid JSON: expected ident at line 1 column 2",
        ))
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["old"]["version"], "1");
    assert_eq!(doc["new"]["version"], "2");
    assert_eq!(doc["new"]["file"], "seed_v2.toml");
    // 9 lines: one blank, one broken, one that does not normalize.
    assert_eq!(doc["lines"], 9);
    assert_eq!(doc["leads"], 6);
    assert_eq!(doc["invalid"], 1);
    assert_eq!(doc["broken_lines"], 1);
    assert_eq!(doc["broken"][0]["line"], 5);
    assert_eq!(doc["changed"], 5);
    assert_eq!(doc["unchanged"], 1);
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    // The rule change: US 51-200 and Canada move from the fallback to the enterprise pool.
    let moved = &groups[0];
    assert_eq!(moved["count"], 3);
    assert_eq!(moved["old_rule"], Value::Null);
    assert_eq!(moved["new_rule"], "us-enterprise");
    assert_eq!(moved["old_assignee"], "pool:inbound");
    assert_eq!(moved["new_assignee"], "pool:enterprise-us");
    assert_eq!(
        moved["changes"],
        serde_json::json!([
            "rule",
            "assignee",
            "owner",
            "experience",
            "priority",
            "sla_minutes",
            "tags"
        ])
    );
    let example = &moved["example"];
    assert_eq!(example["line"], 2);
    assert_eq!(example["lead"]["email"], "mia@midco.com");
    assert_eq!(example["old"]["decision"]["fallback"], true);
    assert_eq!(example["new"]["decision"]["rule"], "us-enterprise");
    assert!(
        example["old"]["explanation"]["summary"]
            .as_str()
            .unwrap()
            .contains("by the fallback")
    );
    assert!(
        example["new"]["explanation"]["summary"]
            .as_str()
            .unwrap()
            .contains("by rule `us-enterprise`")
    );
    // The other two groups are rotation: each version rotates its own pools,
    // so leads that stay in a pool can meet another member.
    assert_eq!(doc["rotation_only"], 2);
    for g in &groups[1..] {
        assert_eq!(g["changes"], serde_json::json!(["owner"]));
        assert_eq!(g["old_rule"], g["new_rule"]);
        assert_eq!(g["old_assignee"], g["new_assignee"]);
        assert_ne!(
            g["example"]["old"]["decision"]["owner"],
            g["example"]["new"]["decision"]["owner"]
        );
    }
}

#[test]
fn diff_text_and_markdown() {
    diff(&seed(), "seed_v2.toml", "diff_leads.jsonl", "text")
        .assert()
        .code(2)
        .stdout(contains("new: seed_v2.toml (seed-inbound v2)\n"))
        .stdout(contains("5 of 6 leads change (83.3 %); 2 of them only in rotation order"))
        .stdout(contains(
            "3 leads: rule (fallback) → `us-enterprise`, pool:inbound → pool:enterprise-us (changes: rule, assignee, owner, experience, priority, sla_minutes, tags)\n  example, line 2: {\"email\": \"mia@midco.com\", \"country\": \"US\", \"employees\": \"51-200\"}\n  old:\n    Assigned to emma (round robin in pool `inbound` by the fallback) [policy seed-inbound v1]",
        ))
        .stdout(contains("  new:\n    Assigned to bob (round robin in pool `enterprise-us` by rule `us-enterprise`) [policy seed-inbound v2]"));
    diff(&seed(), "seed_v2.toml", "diff_leads.jsonl", "markdown")
        .assert()
        .code(2)
        .stdout(contains("### leadroute diff: `seed-inbound` v1 → `seed-inbound` v2\n"))
        .stdout(contains("| leads | rule | assignee | changes |\n|---:|---|---|---|\n| 3 | *fallback* → `us-enterprise` | `pool:inbound` → `pool:enterprise-us` | rule, assignee, owner, experience, priority, sla_minutes, tags |\n"))
        .stdout(contains("<details><summary>*fallback* → `us-enterprise`, `pool:inbound` → `pool:enterprise-us`: 3 leads (example: line 2)</summary>"))
        .stdout(contains("Before:\n\n```text\nAssigned to emma"))
        .stdout(contains("After:\n\n```text\nAssigned to bob"))
        .stdout(contains("</details>"));
}

#[test]
fn diff_exit_status_says_whether_anything_changed() {
    let clean = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diff_clean.jsonl");
    let text = std::fs::read_to_string(fixture("diff_leads.jsonl")).unwrap();
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains("not JSON")).collect();
    std::fs::write(&clean, kept.join("\n")).unwrap();
    let clean = clean.display().to_string();
    // The same policy in two formats: nothing changes.
    diff(
        &seed(),
        &repo("examples/policies/seed.json").display().to_string(),
        &clean,
        "text",
    )
    .assert()
    .code(0)
    .stdout(contains(
        "0 of 6 leads change (0.0 %); 1 did not normalize\n",
    ));
    diff(&seed(), "seed_v2.toml", &clean, "text")
        .assert()
        .code(1);
}

#[test]
fn diff_reads_leads_from_stdin_and_matches_accounts() {
    // With the account, the Initech lead goes to its owner in both versions.
    leadroute()
        .arg("diff")
        .arg(seed())
        .arg("seed_v2.toml")
        .args(["--leads", "-", "--now", NOW, "--format", "json"])
        .arg("--accounts")
        .arg(repo("examples/accounts.json"))
        .write_stdin(
            "{\"email\": \"ops@initech.co.uk\", \"employees\": \"51-200\", \"country\": \"US\"}\n",
        )
        .assert()
        .code(0)
        .stdout(contains("\"changed\": 0"));
    leadroute()
        .arg("diff")
        .arg(seed())
        .arg("seed_v2.toml")
        .args(["--leads", "-", "--now", NOW, "--format", "json"])
        .write_stdin(
            "{\"email\": \"ops@initech.co.uk\", \"employees\": \"51-200\", \"country\": \"US\"}\n",
        )
        .assert()
        .code(1)
        .stdout(contains("\"changed\": 1"));
}

#[test]
fn diff_bad_input() {
    diff(&seed(), "seed_v2.toml", "missing.jsonl", "text")
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.jsonl"));
    diff(&seed(), "missing.toml", "diff_leads.jsonl", "text")
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.toml"));
    diff(&seed(), "syntax_error.toml", "diff_leads.jsonl", "text")
        .assert()
        .code(2)
        .stderr(contains("syntax_error.toml: policy does not compile"));
    diff("not_utf8.toml", "seed_v2.toml", "diff_leads.jsonl", "text")
        .assert()
        .code(2)
        .stderr(contains("not_utf8.toml is not UTF-8 text"));
    // A leads file that is not UTF-8: its lines are reported, the good one compared.
    diff(&seed(), "seed_v2.toml", "leads_not_utf8.jsonl", "json")
        .assert()
        .code(2)
        .stderr(contains("leads_not_utf8.jsonl: line 1: not UTF-8 text"))
        .stdout(contains("\"leads\": 1"));
    leadroute()
        .args(["diff", "a.toml", "b.toml"])
        .assert()
        .code(2);
}

#[test]
fn diff_reports_overlong_lines_and_draws_no_progress_off_a_terminal() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("diff_long_line.jsonl");
    let long = format!(
        "{{\"email\": \"a@b.com\", \"company\": \"{}\"}}",
        "x".repeat(1 << 20)
    );
    let good = r#"{"email": "mia@midco.com", "country": "US", "employees": "51-200"}"#;
    std::fs::write(&path, format!("{good}\n{long}\n{good}\n")).unwrap();
    let out = diff(&seed(), "seed_v2.toml", path.to_str().unwrap(), "json")
        .assert()
        .code(2)
        .stderr(contains("line 2: longer than 1048576 bytes"))
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // stderr is a pipe here: the broken line only, no progress line.
    assert!(
        !stderr.contains("leads/s") && !stderr.contains('\r'),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["lines"], 3);
    assert_eq!(doc["leads"], 2);
    assert_eq!(doc["changed"], 2);
}

#[test]
fn diff_evaluates_each_lead_at_its_own_time_with_time_field() {
    let leads = [
        r#"{"email": "mia@midco.com", "country": "US", "employees": "51-200", "submitted_at": "2026-11-30T09:15:00Z"}"#,
        r#"{"email": "zoe@midco2.com", "country": "US", "employees": "51-200", "submitted_at": 1700000000}"#,
        r#"{"email": "no@time.com", "country": "US", "employees": "51-200"}"#,
        r#"{"email": "bad@time.com", "country": "US", "employees": "51-200", "submitted_at": "yesterday"}"#,
    ];
    let out = leadroute()
        .arg("diff")
        .arg(seed())
        .arg("seed_v2.toml")
        .args([
            "--leads",
            "-",
            "--time-field",
            "submitted_at",
            "--format",
            "json",
        ])
        .write_stdin(leads.join("\n"))
        .assert()
        .code(2)
        .stderr(contains("line 3: no `submitted_at` time"))
        .stderr(contains(
            "line 4: `submitted_at`: `yesterday` is not an RFC 3339 time",
        ))
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["leads"], 2);
    assert_eq!(doc["broken_lines"], 2);
    let example = &doc["groups"][0]["example"];
    assert_eq!(example["line"], 1);
    // The pool step records the lead's own day: 2026-11-30 is day 20,787 since 1970-01-01.
    assert_eq!(example["new"]["decision"]["pool_step"]["day"], 20_787);
}
