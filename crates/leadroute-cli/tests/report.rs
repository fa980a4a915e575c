//! Runs `leadroute report`: measures from a hand-checked events file and
//! from events a real router recorded, the baseline, the HTML page, and
//! bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use leadroute::crm::{Account, CrmError};
use leadroute::events::EventKind;
use leadroute::testing::{InMemoryCrm, ManualClock, Method, RecordingSink};
use leadroute::{LeadRouter, Policy};
use predicates::str::contains;
use serde_json::{Value, json};

mod support;
use support::{leadroute, repo};

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn json_report(args: &[&str], code: i32) -> Value {
    let out = leadroute()
        .arg("report")
        .args(args)
        .args(["--format", "json"])
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn row<'a>(doc: &'a Value, table: &str, key: &str, value: Value) -> &'a Value {
    doc[table]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {key} {value} in {table}: {doc:#}"))
}

#[test]
fn report_measures_per_rule_and_per_owner() {
    // events.jsonl: four us-enterprise leads (10, 20, 30, 400 ms; one failed
    // write; four meetings shown, two booked), one fallback lead later
    // reassigned, one rejection, one validation failure; line 6 is broken
    // and line 10 names an unknown event.
    let doc = json_report(&["events.jsonl"], 1);
    let events = &doc["events"];
    assert_eq!(events["events"], 32);
    assert_eq!(events["broken_lines"], 1);
    assert_eq!(events["broken"][0]["line"], 6);
    assert_eq!(events["unknown_events"], 1);
    assert_eq!(events["submitted"], 7);
    assert_eq!(events["validation_failed"], 1);
    assert_eq!(doc["baseline"], Value::Null);

    let us = row(&doc, "rules", "rule", json!("us-enterprise"));
    assert_eq!(us["leads"], 4);
    assert_eq!(
        us["submit_to_assigned_ms"],
        json!({"samples": 4, "p50": 20, "p90": 400, "p99": 400})
    );
    assert_eq!(us["crm_writes"], 4);
    assert_eq!(us["crm_write_success_rate"], 0.75);
    assert_eq!(us["meetings_shown"], 4);
    assert_eq!(us["meeting_booked_rate"], 0.5);
    assert_eq!(us["fallback_rate"], 0.0);
    assert_eq!(us["reassignment_rate"], 0.0);

    let fallback = row(&doc, "rules", "rule", Value::Null);
    assert_eq!(fallback["leads"], 1);
    assert_eq!(fallback["fallback_rate"], 1.0);
    assert_eq!(fallback["reassignment_rate"], 1.0);
    assert_eq!(fallback["meeting_booked_rate"], Value::Null);

    let rejected = row(&doc, "rules", "rule", json!("reject-disposable"));
    assert_eq!(rejected["crm_write_success_rate"], Value::Null);

    let bob = row(&doc, "owners", "owner", json!("bob"));
    assert_eq!(bob["leads"], 2);
    assert_eq!(bob["crm_write_success_rate"], 0.5);
    assert_eq!(bob["submit_to_assigned_ms"]["p50"], 20);
    // The reassigned lead stays with its first owner.
    assert_eq!(row(&doc, "owners", "owner", json!("emma"))["leads"], 1);
    assert_eq!(row(&doc, "owners", "owner", Value::Null)["leads"], 1);

    assert_eq!(doc["total"]["leads"], 6);
    assert_eq!(doc["total"]["crm_write_success_rate"], 0.8);
    // Rows: most leads first.
    assert_eq!(doc["rules"][0]["rule"], "us-enterprise");
}

#[test]
fn report_text_and_markdown_tables() {
    leadroute()
        .args(["report", "events.jsonl"])
        .assert()
        .code(1)
        .stderr(contains(
            "events.jsonl: line 6: not valid JSON: EOF while parsing a value",
        ))
        .stdout(contains(
            "events.jsonl: 32 events, 7 leads submitted, 6 decided, 1 with validation errors; 1 broken line skipped; 1 event of unknown kinds skipped\n",
        ))
        .stdout(contains(
            "  us-enterprise          4  20 ms  400 ms  400 ms        75.0 %          50.0 %     0.0 %       0.0 %\n",
        ));
    leadroute()
        .args(["report", "events.jsonl", "--format", "markdown"])
        .assert()
        .code(1)
        .stdout(contains("| rule | leads | p50 | p90 | p99 | CRM write ok | shown → booked | fallback | reassigned |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n| (all) | 6 | 20 ms | 400 ms | 400 ms | 80.0 % | 50.0 % | 16.7 % | 16.7 % |\n"))
        .stdout(contains("| (fallback) | 1 | 50 ms | 50 ms | 50 ms | 100.0 % | – | 100.0 % | 100.0 % |\n"));
}

#[test]
fn report_compares_with_a_baseline() {
    let doc = json_report(&["events.jsonl", "--baseline", "events_baseline.jsonl"], 1);
    assert_eq!(doc["baseline"]["file"], "events_baseline.jsonl");
    assert_eq!(doc["baseline"]["submitted"], 3);
    let us = row(&doc, "rules", "rule", json!("us-enterprise"));
    assert_eq!(us["baseline"]["leads"], 2);
    assert_eq!(us["baseline"]["submit_to_assigned_ms"]["p50"], 100);
    assert_eq!(us["change"]["leads"], 2);
    assert_eq!(us["change"]["p50_ms"], -80);
    assert_eq!(us["change"]["p90_ms"], 200);
    assert_eq!(us["change"]["crm_write_success_rate"], -0.25);
    assert_eq!(us["change"]["meeting_booked_rate"], -0.5);
    // A rule only the baseline has is there, with no leads now.
    let gone = row(&doc, "rules", "rule", json!("existing-account"));
    assert_eq!(gone["leads"], 0);
    assert_eq!(gone["baseline"]["leads"], 1);
    assert_eq!(gone["change"]["leads"], -1);
    assert_eq!(doc["total"]["change"]["leads"], 3);
    leadroute()
        .args([
            "report",
            "events.jsonl",
            "--baseline",
            "events_baseline.jsonl",
        ])
        .assert()
        .code(1)
        .stdout(contains("baseline events_baseline.jsonl: 3 leads decided"))
        .stdout(contains(
            "  us-enterprise      4 (+2)  20 ms (-80 ms)  400 ms (+200 ms)",
        ));
}

#[test]
fn report_writes_a_self_contained_html_page() {
    let page = tmp("report.html");
    let _ = std::fs::remove_file(&page);
    leadroute()
        .args([
            "report",
            "events.jsonl",
            "--baseline",
            "events_baseline.jsonl",
            "--html",
        ])
        .arg(&page)
        .assert()
        .code(1);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    // Self-contained: no scripts, no links, no remote anything.
    for banned in [
        "<script", "<link", "http://", "https://", "src=", "@import", "url(",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
    // A chart per measure and table: six per table, two tables.
    assert_eq!(html.matches("<svg ").count(), 12);
    assert_eq!(html.matches("<table>").count(), 2);
    assert!(html.contains("<figcaption>Submit → owner assigned, p90</figcaption>"));
    // The bars carry their values; the baseline's bar is there too.
    assert!(html.contains("<title>75.0 %</title>"));
    assert!(html.contains("<title>baseline: 100.0 %</title>"));
    assert!(html.contains("<th>us-enterprise</th><td>4 (+2)</td>"));
    // Names are escaped.
    assert!(!html.contains("<nobody>"));
}

#[test]
fn report_reads_what_a_real_router_records() {
    let policy = Policy::from_toml_str(
        &std::fs::read_to_string(repo("examples/policies/seed.toml")).unwrap(),
    )
    .unwrap();
    let crm = InMemoryCrm::new().with_account(
        Account::new("001", "Initech")
            .domain("initech.co.uk")
            .owner("cleo")
            .customer(),
    );
    crm.fail_next(
        Method::UpsertLead,
        1,
        CrmError::permanent("a required field is missing"),
    );
    let clock = std::sync::Arc::new(ManualClock::at_unix(1_700_000_000));
    let router = LeadRouter::new(policy, crm, RecordingSink::new()).with_clock(clock.clone());
    let submitted = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let bodies = [
        r#"{"lead_id": "e1", "email": "a@bigco.com", "country": "US", "employees": "1000+"}"#,
        r#"{"lead_id": "e2", "email": "b@bigco2.com", "country": "US", "employees": "1000+"}"#,
        r#"{"lead_id": "c1", "email": "ops@initech.co.uk"}"#,
        r#"{"lead_id": "s1", "email": "x@mailinator.com"}"#,
        r#"{"lead_id": "f1", "email": "sam@smallshop.io", "country": "US", "employees": "11-50"}"#,
        r#"{"lead_id": "bad", "email": "not-an-email"}"#,
    ];
    for body in bodies {
        let _ = pollster::block_on(router.route_json(body));
        clock.advance(Duration::from_secs(1));
    }
    let e1 = "e1";
    let owner = router
        .events()
        .events()
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::OwnerAssigned { owner, .. } if e.lead_id == e1 => owner.clone(),
            _ => None,
        })
        .unwrap();
    router.track(
        EventKind::MeetingShown {
            owner: owner.clone(),
        },
        e1,
        Some(submitted),
    );
    router.track(
        EventKind::MeetingBooked {
            owner,
            meeting_id: None,
        },
        e1,
        Some(submitted),
    );
    router.track(
        EventKind::MeetingShown {
            owner: "bob".into(),
        },
        "e2",
        Some(submitted),
    );

    let path = tmp("router_events.jsonl");
    let lines: Vec<String> = router
        .events()
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let doc = json_report(&[path.to_str().unwrap()], 0);
    assert_eq!(doc["events"]["broken_lines"], 0);
    assert_eq!(doc["events"]["unknown_events"], 0);
    assert_eq!(doc["events"]["submitted"], 6);
    assert_eq!(doc["events"]["validation_failed"], 1);
    assert_eq!(doc["total"]["leads"], 5);
    let us = row(&doc, "rules", "rule", json!("us-enterprise"));
    assert_eq!(us["leads"], 2);
    // The first write failed (injected), the second succeeded.
    assert_eq!(us["crm_writes"], 2);
    assert_eq!(us["crm_write_success_rate"], 0.5);
    assert_eq!(us["meetings_shown"], 2);
    assert_eq!(us["meeting_booked_rate"], 0.5);
    // The manual clock stands still during a route.
    assert_eq!(us["submit_to_assigned_ms"]["p99"], 0);
    assert_eq!(
        row(&doc, "rules", "rule", json!("existing-customer"))["leads"],
        1
    );
    assert_eq!(
        row(&doc, "owners", "owner", json!("cleo"))["crm_write_success_rate"],
        1.0
    );
    let rejected = row(&doc, "rules", "rule", json!("reject-disposable"));
    assert_eq!(rejected["leads"], 1);
    assert_eq!(rejected["crm_writes"], 0);
    let fallback = row(&doc, "rules", "rule", Value::Null);
    assert_eq!(fallback["leads"], 1);
    assert_eq!(fallback["fallback_rate"], 1.0);
}

#[test]
fn report_bounds_open_leads() {
    // With a window of one lead, each lead is closed when the next arrives;
    // meetings for closed leads are counted as unattributed.
    let doc = json_report(&["events.jsonl", "--max-open-leads", "1"], 1);
    assert_eq!(doc["total"]["leads"], 6);
    assert_eq!(doc["events"]["unattributed"], 0);
    let path = tmp("late_meeting.jsonl");
    std::fs::write(
        &path,
        [
            r#"{"event": "form_submitted", "lead_id": "a", "at_ms": 1, "since_submit_ms": 0}"#,
            r#"{"event": "owner_assigned", "owner": "ana", "rule": "r", "assigned_by": "owner", "experience": "confirmation", "lead_id": "a", "at_ms": 2, "since_submit_ms": 1}"#,
            r#"{"event": "form_submitted", "lead_id": "b", "at_ms": 3, "since_submit_ms": 0}"#,
            r#"{"event": "meeting_booked", "owner": "ana", "lead_id": "a", "at_ms": 4, "since_submit_ms": 3}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let doc = json_report(&[path.to_str().unwrap(), "--max-open-leads", "1"], 0);
    assert_eq!(doc["events"]["unattributed"], 1);
    assert_eq!(doc["events"]["undecided"], 1);
    assert_eq!(doc["total"]["leads"], 1);
    let doc = json_report(&[path.to_str().unwrap()], 0);
    assert_eq!(doc["events"]["unattributed"], 0);
    assert_eq!(doc["total"]["meeting_booked_rate"], 1.0);
}

#[test]
fn report_bad_input() {
    leadroute()
        .args(["report", "missing.jsonl"])
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.jsonl"));
    leadroute()
        .args(["report", "events.jsonl", "--baseline", "missing.jsonl"])
        .assert()
        .code(2)
        .stderr(contains("cannot read missing.jsonl"));
    // Not UTF-8: every such line is reported, the others measured.
    leadroute()
        .args(["report", "leads_not_utf8.jsonl", "--format", "json"])
        .assert()
        .code(1)
        .stderr(contains("leads_not_utf8.jsonl: line 1: not UTF-8 text"))
        .stderr(contains(
            "leads_not_utf8.jsonl: line 2: not an event: no `event` name",
        ));
    leadroute()
        .args(["report", "events.jsonl", "--html", "no-such-dir/r.html"])
        .assert()
        .code(2)
        .stderr(contains("cannot write no-such-dir/r.html"));
}

#[test]
fn report_counts_the_outbox_and_reassignments_a_real_router_records() {
    use leadroute::outbox::InMemoryOutbox;
    use leadroute::policy::{Reassign, ReassignReason};
    let policy = Policy::from_json_str(
        r#"{"name": "p", "version": "1",
            "owners": [{"id": "ana"}, {"id": "bob"}],
            "pools": [{"id": "team", "members": [{"owner": "ana"}, {"owner": "bob"}]}],
            "fallback": {"assign": {"pool": "team"}, "sla_minutes": 5}}"#,
    )
    .unwrap();
    let crm = InMemoryCrm::new();
    // Lead 1's write is queued, lead 2's dead-lettered (a permanent error).
    crm.fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
    let clock = std::sync::Arc::new(ManualClock::at_unix(1_700_000_000));
    let router = LeadRouter::new(policy, crm, RecordingSink::new())
        .with_clock(clock.clone())
        .with_outbox(InMemoryOutbox::new());
    let first =
        pollster::block_on(router.route_json(r#"{"lead_id": "l1", "email": "a@acme.com"}"#))
            .unwrap();
    assert!(first.write.queued().is_some());
    router.crm().fail_next(
        Method::UpsertLead,
        1,
        CrmError::permanent("a required field is missing"),
    );
    let second =
        pollster::block_on(router.route_json(r#"{"lead_id": "l2", "email": "b@acme.com"}"#))
            .unwrap();
    assert!(second.write.dead_lettered().is_some());
    // Lead 1's owner misses the SLA: reassigned to the other member.
    clock.advance(Duration::from_secs(600));
    let again = pollster::block_on(router.reassign(
        &first.lead,
        std::slice::from_ref(&first.decision),
        None,
        &Reassign::new(ReassignReason::SlaMissed),
    ));
    assert_ne!(
        again.reassignment.decision.owner_id(),
        first.decision.owner_id()
    );

    let path = tmp("outbox_events.jsonl");
    let lines: Vec<String> = router
        .events()
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let doc = json_report(&[path.to_str().unwrap()], 0);
    let events = &doc["events"];
    assert_eq!(events["unknown_events"], 0, "{doc:#}");
    assert_eq!(events["crm_writes_queued"], 1);
    assert_eq!(events["crm_writes_dead_lettered"], 1);
    assert_eq!(events["outbox_failed"], 0);
    assert_eq!(events["sla_breached"], 1);
    assert_eq!(doc["total"]["leads"], 2);
    // Lead 1 was reassigned (owner_reassigned), lead 2 was not.
    assert_eq!(doc["total"]["reassignment_rate"], 0.5);
    // Lead 1's reassignment write succeeded after its first failed: a
    // success; lead 2's only write failed.
    assert_eq!(doc["total"]["crm_write_success_rate"], 0.5);
}
