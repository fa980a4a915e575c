//! The matching case table (`tests/fixtures/matching_cases.json`): leads
//! written from real-world naming patterns against small CRMs ("worlds"),
//! each with the account it belongs to, `none` or `ambiguous`.
//!
//! Reports precision, recall and the false-match count, and fails on any
//! false match: a wrong match routes a stranger to an account owner, so
//! precision comes before recall. `cargo test --test matching_cases --
//! --nocapture` prints the report.

use std::collections::BTreeMap;

use leadroute::crm::{Account, CandidateQuery};
use leadroute::matching::{AccountMatch, CandidateSet, Candidates, MatchOutcome, Matcher};
use leadroute::{LeadInput, Normalizer};
use serde::Deserialize;

#[derive(Deserialize)]
struct Table {
    worlds: BTreeMap<String, Vec<Account>>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    world: String,
    pattern: String,
    expect: String,
    lead: LeadInput,
}

fn got(m: &AccountMatch) -> String {
    match m.outcome {
        MatchOutcome::Matched => m.account_id.clone().unwrap_or_default(),
        MatchOutcome::Ambiguous => "ambiguous".into(),
        _ => "none".into(),
    }
}

#[test]
fn the_case_table_has_no_false_matches_and_reports_precision_and_recall() {
    let table: Table = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/matching_cases.json").expect("fixture"),
    )
    .expect("the fixture reads");
    assert!(table.cases.len() >= 150, "{} cases", table.cases.len());
    let normalizer = Normalizer::default();
    let matcher = Matcher::default();
    let active = |owner: &str| owner != "inactive-owner";

    let (mut tp, mut false_matches, mut missed, mut id_cases) = (0, 0, 0, 0);
    let (mut exact, mut ambiguous_cases, mut ambiguous_right) = (0, 0, 0);
    let mut report = Vec::new();
    for case in &table.cases {
        let accounts = table.worlds.get(&case.world).expect("the case's world");
        let lead = normalizer
            .normalize(&case.lead)
            .unwrap_or_else(|e| panic!("{}: the lead does not normalize: {e:?}", case.id))
            .lead;
        let m = matcher.match_accounts_with(&lead, accounts, &active);
        let got = got(&m);
        let expects_account = case.expect != "none" && case.expect != "ambiguous";
        if expects_account {
            id_cases += 1;
        }
        if case.expect == "ambiguous" {
            ambiguous_cases += 1;
            ambiguous_right += usize::from(got == "ambiguous");
        }
        if got == case.expect {
            exact += 1;
            tp += usize::from(expects_account);
            continue;
        }
        let verdict = if got != "none" && got != "ambiguous" {
            false_matches += 1;
            "FALSE MATCH"
        } else {
            missed += usize::from(expects_account);
            "missed"
        };
        report.push(format!(
            "  {verdict:<11} {} ({}): expected {}, got {got}: {m}",
            case.id, case.pattern, case.expect
        ));
    }
    let precision = tp as f64 / (tp + false_matches).max(1) as f64;
    let recall = tp as f64 / id_cases.max(1) as f64;
    println!(
        "matching cases: {} ({} expecting an account, {} ambiguous, {} none)\n\
         outcome as expected: {exact}/{}\n\
         precision {precision:.3} ({tp} right of {} matches), recall {recall:.3} ({tp} of {id_cases}), \
         false matches {false_matches}, missed {missed}, ambiguous recognised {ambiguous_right}/{ambiguous_cases}",
        table.cases.len(),
        id_cases,
        ambiguous_cases,
        table.cases.len() - id_cases - ambiguous_cases,
        table.cases.len(),
        tp + false_matches,
    );
    for line in &report {
        println!("{line}");
    }
    assert_eq!(false_matches, 0, "false matches:\n{}", report.join("\n"));
    // Recall is second to precision, but a matcher that matches nothing
    // is useless: keep it from sliding back.
    assert!(recall >= 0.85, "recall {recall:.3}:\n{}", report.join("\n"));
    assert!(
        ambiguous_right == ambiguous_cases,
        "ambiguous cases not recognised:\n{}",
        report.join("\n")
    );
}

/// The prepared path ([`CandidateSet`], built once per world) gives exactly
/// the result of preparing the accounts per match, on every case.
#[test]
fn prepared_candidates_match_exactly_like_fresh_accounts() {
    let table: Table = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/matching_cases.json").expect("fixture"),
    )
    .expect("the fixture reads");
    let normalizer = Normalizer::default();
    let matcher = Matcher::default();
    let active = |owner: &str| owner != "inactive-owner";
    let sets: BTreeMap<&str, CandidateSet> = table
        .worlds
        .iter()
        .map(|(name, accounts)| (name.as_str(), matcher.prepare(accounts.iter().cloned())))
        .collect();
    // A matcher with its own (equal) lists prepares the set again: same
    // results through the other branch.
    let other = Matcher::default()
        .with_normalizer(Normalizer::default().with_free_email_domains(["free-mail.test"]));
    let mut compared = 0;
    for case in &table.cases {
        let accounts = table.worlds.get(&case.world).expect("the case's world");
        let set = sets.get(case.world.as_str()).expect("the set");
        let lead = normalizer.normalize(&case.lead).expect("normalizes").lead;
        let fresh = matcher.match_accounts_with(&lead, accounts, &active);
        let prepared = matcher.match_set_with(&lead, set, &active);
        assert_eq!(prepared, fresh, "{}", case.id);
        let wrapped = matcher.match_candidates_with(
            &lead,
            &Candidates::Prepared(std::sync::Arc::new(set.clone())),
            &active,
        );
        assert_eq!(wrapped, fresh, "{}", case.id);
        assert_eq!(
            other.match_set_with(&lead, set, &active),
            other.match_accounts_with(&lead, accounts, &active),
            "{}",
            case.id
        );
        // A lead read once for the query and the match (the router's way)
        // asks and matches as the lead itself does, with fresh or
        // prepared candidates, and with a matcher whose lists differ from
        // the one that read it.
        let read = matcher.prepare_lead(&lead);
        assert_eq!(
            CandidateQuery::for_prepared_lead(&read, 50),
            CandidateQuery::for_lead(&lead, 50),
            "{}",
            case.id
        );
        let found = Candidates::Fresh(accounts.clone());
        assert_eq!(
            matcher.match_prepared_with(&read, &found, &active),
            fresh,
            "{}",
            case.id
        );
        assert_eq!(
            matcher.match_prepared_with(
                &read,
                &Candidates::Prepared(std::sync::Arc::new(set.clone())),
                &active
            ),
            fresh,
            "{}",
            case.id
        );
        assert_eq!(
            other.match_prepared_with(&read, &found, &active),
            other.match_accounts_with(&lead, accounts, &active),
            "{}",
            case.id
        );
        compared += 1;
    }
    assert_eq!(compared, table.cases.len());
}
