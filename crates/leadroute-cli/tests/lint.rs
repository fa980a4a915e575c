//! Runs `leadroute check` on policies with lints: reported as warnings
//! with their codes and source lines, fatal only with --deny-warnings.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn leadroute() -> Command {
    let mut cmd = Command::cargo_bin("leadroute").unwrap();
    cmd.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"));
    cmd
}

#[test]
fn lints_are_warnings_with_codes_and_locations() {
    leadroute()
        .args(["check", "lints.toml"])
        .assert()
        .success()
        .stdout(contains(
            "warning[unused_territory]: territory `dach` is never tested by a rule\n  --> lints.toml:11:10\n",
        ))
        .stdout(contains(
            "warning[unused_pool]: pool `orphan` is never used: no rule, fallback or used pool's fallback names it\n  --> lints.toml:19:6\n",
        ))
        .stdout(contains("warning[unused_owner]: owner `bob` is never assigned"))
        .stdout(contains(
            "warning[overlapping_territories]: territories `emea` and `dach` overlap: both include DE\n",
        ))
        .stdout(contains(
            "warning[shadowed_rule]: rule `us-small-again` only sees leads that earlier rule `us-smb` passes on",
        ))
        .stdout(contains("  = rule: us-small-again\n"))
        .stdout(contains(
            "warning[fallback_only]: leads from `US` with 51–200 employees match no rule on country or company size",
        ))
        .stdout(contains("lints.toml: ok (0 errors, 6 warnings)"));
}

#[test]
fn deny_warnings_makes_lints_fatal() {
    leadroute()
        .args(["check", "--deny-warnings", "lints.toml"])
        .assert()
        .code(1)
        .stdout(contains("lints.toml: FAILED (0 errors, 6 warnings)"));
}

#[test]
fn lints_in_json() {
    let out = leadroute()
        .args(["check", "--format", "json", "lints.toml"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let warnings = doc["files"][0]["warnings"].as_array().unwrap();
    let codes: Vec<&str> = warnings
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "unused_territory",
            "unused_pool",
            "unused_owner",
            "overlapping_territories",
            "shadowed_rule",
            "fallback_only"
        ]
    );
    let shadowed = &warnings[4];
    assert_eq!(shadowed["severity"], "warning");
    assert_eq!(shadowed["path"], "rules[2].when");
    assert_eq!(shadowed["rule"], "us-small-again");
    assert_eq!(shadowed["value"], "us-smb");
    assert!(
        shadowed["help"]
            .as_str()
            .unwrap()
            .contains("if_unavailable")
    );
    assert_eq!(shadowed["location"]["line"], 34);
}
