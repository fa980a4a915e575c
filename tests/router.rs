//! The capture-to-owner pipeline end to end, with every degradation path.

use std::sync::Arc;
use std::time::Duration;

use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact, CrmError, Lookup, LookupStatus};
use leadroute::decision::{Experience, TraceEvent};
use leadroute::events::EventKind;
use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
use leadroute::router::{LookupError, WriteOutcome};
use leadroute::testing::InMemoryCrm;
use leadroute::testing::ManualClock;
use leadroute::testing::Method;
use leadroute::testing::RecordingSink;
use leadroute::{LeadInput, LeadRouter, compile};

const NOW: u64 = 1_764_000_000;

fn seed() -> leadroute::Policy {
    compile(&PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap())
        .unwrap()
}

fn crm() -> InMemoryCrm {
    InMemoryCrm::new()
        .with_account(
            Account::new("001A", "Initech")
                .domain("initech.co.uk")
                .owner("cleo")
                .customer(),
        )
        .with_account(
            Account::new("001B", "Umbrella")
                .domain("umbrella.com")
                .owner("bob"),
        )
        .with_person("known@umbrella.com", Contact::new("003-known").owner("bob"))
}

type TestRouter =
    LeadRouter<InMemoryCrm, RecordingSink, leadroute::pool::InMemoryPoolStore, ManualClock>;

fn router() -> TestRouter {
    LeadRouter::new(seed(), crm(), RecordingSink::new()).with_clock(ManualClock::at_unix(NOW))
}

fn input(json: &str) -> LeadInput {
    serde_json::from_str(json).unwrap()
}

fn route(r: &TestRouter, json: &str) -> leadroute::router::Routed {
    pollster::block_on(r.route(input(json))).unwrap()
}

#[test]
fn happy_path_end_to_end() {
    let r = router();
    let routed = route(
        &r,
        r#"{"email": "CTO@BigCo.com", "company": "BigCo", "country": "US", "employees": "1000+", "submission_id": "s-1"}"#,
    );
    assert_eq!(routed.lead_id, "s-1");
    assert_eq!(routed.decision.owner_id(), Some("ana"));
    assert_eq!(routed.decision.rule.as_deref(), Some("us-enterprise"));
    assert_eq!(routed.decision.meeting_with(), Some("ana"));
    assert_eq!(
        (routed.lookups.account, routed.lookups.person),
        (LookupStatus::NotFound, LookupStatus::NotFound)
    );
    let receipt = routed.write.receipt().unwrap();
    assert!(receipt.created);
    let records = r.crm().records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].owner.as_deref(), Some("ana"));
    assert_eq!(records[0].lead.email, "CTO@bigco.com");
    assert_eq!(records[0].lead.lead_id.as_deref(), Some("s-1"));

    let events = r.events().events();
    let names: Vec<_> = events.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "form_submitted",
            "account_not_matched",
            "owner_assigned",
            "crm_write_success"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.lead_id == "s-1" && e.at_ms == NOW * 1000 && e.since_submit_ms == Some(0))
    );
    match &events[2].kind {
        EventKind::OwnerAssigned {
            owner,
            rule,
            experience,
            ..
        } => {
            assert_eq!(owner.as_deref(), Some("ana"));
            assert_eq!(rule.as_deref(), Some("us-enterprise"));
            assert!(matches!(experience, Experience::BookMeeting { with } if &**with == "ana"));
        }
        other => panic!("{other:?}"),
    }
    match &events[3].kind {
        EventKind::CrmWriteSuccess { record_id, created } => assert_eq!(
            (record_id.as_str(), *created),
            (receipt.record_id.as_str(), true)
        ),
        other => panic!("{other:?}"),
    }
    // The event JSON contract: every account of the CRM was a candidate.
    let json = serde_json::to_value(&events[1]).unwrap();
    let candidates = r.crm().accounts().len();
    assert!(candidates > 0);
    assert_eq!(
        json,
        serde_json::json!({"event": "account_not_matched", "domain": "bigco.com", "status": "not_found", "candidates": candidates, "lead_id": "s-1", "at_ms": NOW * 1000, "since_submit_ms": 0})
    );
}

#[test]
fn existing_customer_is_matched_and_takes_the_customer_success_path() {
    let r = router();
    let routed = route(&r, r#"{"email": "ops@initech.co.uk"}"#);
    assert_eq!(routed.lookups.account, LookupStatus::Found);
    assert_eq!(routed.decision.owner_id(), Some("cleo"));
    assert_eq!(routed.decision.experience, Experience::CustomerSuccess);
    assert_eq!(r.crm().records()[0].account_id.as_deref(), Some("001A"));
    assert_eq!(r.events().names()[1], "account_matched");
}

#[test]
fn an_existing_contact_is_updated_not_duplicated() {
    let r = router();
    let routed = route(&r, r#"{"email": "Known@Umbrella.com", "country": "US"}"#);
    assert_eq!(routed.lookups.person, LookupStatus::Found);
    assert_eq!(routed.decision.owner_id(), Some("bob"));
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("003-known", false)
    );
    assert_eq!(r.crm().records().len(), 1);
    assert_eq!(r.crm().calls(Method::UpsertLead), 1);
}

#[test]
fn account_lookup_error_still_yields_a_decision_and_says_so() {
    let r = router();
    r.crm().fail_next(
        Method::FindAccount,
        1,
        CrmError::transient("503 Service Unavailable"),
    );
    let routed = route(
        &r,
        r#"{"email": "it@umbrella.com", "country": "US", "employees": "5000+"}"#,
    );
    assert_eq!(routed.lookups.account, LookupStatus::Failed);
    assert_eq!(
        routed.lookups.errors,
        [LookupError::new(
            Lookup::Account,
            CrmError::transient("503 Service Unavailable")
        )]
    );
    assert_eq!(routed.lookups.error(Lookup::Person), None);
    // Without the account fact the enterprise pool decides instead of bob's account rule.
    assert_eq!(routed.decision.rule.as_deref(), Some("us-enterprise"));
    assert!(matches!(
        routed.decision.trace.events[0],
        TraceEvent::CrmUnavailable {
            lookup: Lookup::Account,
            status: LookupStatus::Failed
        }
    ));
    assert!(
        routed.write.receipt().is_some(),
        "the lead is still written"
    );
    assert!(r.events().events().iter().any(|e| matches!(
        &e.kind,
        EventKind::AccountNotMatched {
            status: LookupStatus::Failed,
            ..
        }
    )));
}

#[test]
fn lookup_timeout_still_yields_a_decision() {
    let r = router().with_lookup_budget(Duration::from_millis(50));
    r.crm().hang_next(Method::FindAccount, 1);
    r.crm().hang_next(Method::FindPerson, 1);
    let routed = route(
        &r,
        r#"{"email": "it@umbrella.com", "country": "US", "employees": "5000+"}"#,
    );
    assert_eq!(
        (routed.lookups.account, routed.lookups.person),
        (LookupStatus::TimedOut, LookupStatus::TimedOut)
    );
    assert!(matches!(
        routed.decision.trace.events[0],
        TraceEvent::CrmUnavailable {
            lookup: Lookup::Account,
            status: LookupStatus::TimedOut
        }
    ));
    assert_eq!(routed.decision.rule.as_deref(), Some("us-enterprise"));
    assert!(routed.write.receipt().is_some());
}

#[test]
fn real_time_budget_cuts_a_slow_lookup_with_the_system_clock() {
    let r = LeadRouter::new(seed(), crm(), RecordingSink::new())
        .with_lookup_budget(Duration::from_millis(30));
    r.crm()
        .delay_next(Method::FindAccount, 1, Duration::from_secs(5));
    let start = std::time::Instant::now();
    let routed = pollster::block_on(r.route(input(r#"{"email": "it@umbrella.com"}"#))).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(routed.lookups.account, LookupStatus::TimedOut);
    assert!(routed.write.receipt().is_some());
}

#[test]
fn write_error_loses_nothing_and_can_be_retried() {
    let r = router();
    r.crm().fail_next(
        Method::UpsertLead,
        1,
        CrmError::transient("502 Bad Gateway"),
    );
    let routed = route(
        &r,
        r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+"}"#,
    );
    let pending = routed.write.pending().unwrap().clone();
    assert_eq!(pending.error, CrmError::transient("502 Bad Gateway"));
    // `Routed` round-trips through JSON, the pending write tagged by `outcome`.
    let json = serde_json::to_value(&routed).unwrap();
    assert_eq!(json["write"]["outcome"], "pending");
    assert_eq!(json["write"]["error"]["class"], "transient");
    assert_eq!(json["write"]["lead"]["email"], "cto@bigco.com");
    assert_eq!(json["pool_store"], serde_json::Value::Null);
    assert_eq!(
        serde_json::from_value::<leadroute::router::Routed>(json).unwrap(),
        routed
    );
    assert!(pending.error.is_retryable());
    assert_eq!(pending.lead, routed.lead);
    assert_eq!(pending.decision, routed.decision);
    assert!(r.crm().records().is_empty());
    // The event carries the same pending write, serializable for a retry queue.
    let failed = r
        .events()
        .events()
        .into_iter()
        .find(|e| e.name() == "crm_write_failed")
        .unwrap();
    let EventKind::CrmWriteFailed {
        error,
        pending: from_event,
    } = &failed.kind
    else {
        panic!()
    };
    assert_eq!(error.class(), "transient");
    assert_eq!(**from_event, pending);
    let json = serde_json::to_string(&failed).unwrap();
    let back: leadroute::events::Event = serde_json::from_str(&json).unwrap();
    assert_eq!(back, failed);
    // Later: retry from the stored pending write.
    let receipt = pollster::block_on(r.retry_write(pending)).unwrap();
    assert!(receipt.created);
    assert_eq!(r.crm().records().len(), 1);
    assert_eq!(r.crm().records()[0].owner.as_deref(), Some("ana"));
    assert_eq!(r.events().names().last(), Some(&"crm_write_success"));
}

#[test]
fn rate_limited_write_carries_the_wait() {
    let r = router();
    r.crm()
        .rate_limit_next(Method::UpsertLead, 1, Some(Duration::from_secs(10)));
    let routed = route(&r, r#"{"email": "a@bigco.com"}"#);
    let pending = routed.write.pending().unwrap();
    assert!(
        matches!(pending.error, CrmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(10))
    );
    assert!(pending.error.is_retryable());
    assert_eq!(
        routed.decision.owner_id(),
        Some("emma"),
        "the decision stands regardless"
    );
}

#[test]
fn write_timeout_is_a_retryable_failure() {
    let r = router().with_write_budget(Duration::from_millis(10));
    r.crm().hang_next(Method::UpsertLead, 1);
    let routed = route(&r, r#"{"email": "a@bigco.com"}"#);
    let pending = routed.write.into_pending().unwrap();
    assert_eq!(
        pending.error,
        CrmError::unknown_outcome("the CRM write exceeded its time budget (10ms)")
    );
    assert!(pending.error.is_retryable());
    assert!(pollster::block_on(r.retry_write(pending)).is_ok());
}

#[test]
fn conflict_on_create_becomes_an_update_of_the_existing_record() {
    let r = router();
    // The person lookup fails, so the router does not know the contact exists…
    r.crm()
        .fail_next(Method::FindPerson, 1, CrmError::transient("timeout"));
    let routed = route(&r, r#"{"email": "known@umbrella.com"}"#);
    // …the create conflicts with the existing id, and the router updates it instead.
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("003-known", false)
    );
    assert_eq!(r.crm().calls(Method::UpsertLead), 2);
    assert_eq!(r.crm().records().len(), 1);
}

#[test]
fn conflict_without_an_id_is_reported_not_looped() {
    let r = router();
    r.crm().fail_next(
        Method::UpsertLead,
        3,
        CrmError::conflict("DUPLICATES_DETECTED", None),
    );
    let routed = route(&r, r#"{"email": "a@bigco.com"}"#);
    let pending = routed.write.pending().unwrap();
    assert_eq!(pending.error.class(), "conflict");
    assert_eq!(r.crm().calls(Method::UpsertLead), 1);
}

#[test]
fn invalid_input_makes_no_crm_call() {
    let r = router();
    let err = pollster::block_on(r.route(input(r#"{"email": "nope", "company": {"x": 1}}"#)))
        .unwrap_err();
    assert_eq!(err.errors.len(), 2);
    for m in [Method::FindAccount, Method::FindPerson, Method::UpsertLead] {
        assert_eq!(r.crm().calls(m), 0);
    }
    assert_eq!(r.events().names(), ["form_submitted", "validation_failed"]);
    let err = pollster::block_on(r.route_json("not json")).unwrap_err();
    assert_eq!(err.errors[0].field, leadroute::lead::Field::Payload);
}

#[test]
fn free_email_skips_the_account_lookup() {
    let r = router();
    let routed = route(
        &r,
        r#"{"email": "someone@gmail.com", "product_interest": "plg"}"#,
    );
    assert_eq!(routed.lookups.account, LookupStatus::Skipped);
    assert_eq!(r.crm().calls(Method::FindAccount), 0);
    assert_eq!(r.crm().calls(Method::FindPerson), 1);
    assert_eq!(routed.decision.rule.as_deref(), Some("product-led"));
}

#[test]
fn front_end_events_go_through_the_same_sink_and_clock() {
    let r = router();
    let routed = route(
        &r,
        r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+"}"#,
    );
    r.clock().advance(Duration::from_secs(90));
    r.track(
        EventKind::MeetingBooked {
            owner: "ana".into(),
            meeting_id: Some("m-1".into()),
        },
        &routed.lead_id,
        Some(std::time::UNIX_EPOCH + Duration::from_secs(NOW)),
    );
    let last = r.events().events().pop().unwrap();
    assert_eq!(last.name(), "meeting_booked");
    assert_eq!(last.since_submit_ms, Some(90_000));
}

#[test]
fn concurrent_routing_through_one_router() {
    // The seed without its daily cap, so every lead stays in the 2:1 pool.
    let mut spec =
        PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    spec.pools[0].capacity = None;
    let r = Arc::new(
        LeadRouter::new(
            compile(&spec).unwrap(),
            InMemoryCrm::new(),
            RecordingSink::new(),
        )
        .with_clock(ManualClock::at_unix(NOW)),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let r = r.clone();
            std::thread::spawn(move || {
                for i in 0..40 {
                    let body = format!(r#"{{"email": "u{t}x{i}@bigco{t}.com", "country": "US", "employees": "1000+"}}"#);
                    let routed = pollster::block_on(r.route_json(&body)).unwrap();
                    assert!(routed.write.receipt().is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let records = r.crm().records();
    assert_eq!(records.len(), 320, "no lead lost");
    let ana = records
        .iter()
        .filter(|x| x.owner.as_deref() == Some("ana"))
        .count();
    // Weights 2:1 over 320 leads: within one lead of 213.3.
    assert!((213..=214).contains(&ana), "ana got {ana}");
    let state = r.pool_store().get("enterprise-us");
    assert_eq!(state.version, 320);
    assert_eq!(
        r.events()
            .names()
            .iter()
            .filter(|n| **n == "crm_write_success")
            .count(),
        320
    );
}

// ------------------------------------------------------------ rejections

const DISPOSABLE: &str =
    r#"{"email": "x7@mailinator.com", "company": "Test", "country": "US", "employees": "5000+"}"#;

#[test]
fn a_rejected_lead_is_not_written_to_the_crm() {
    let r = router();
    let routed = route(&r, DISPOSABLE);
    assert!(routed.decision.is_rejected());
    assert!(!routed.decision.write_to_crm);
    assert_eq!(routed.write, WriteOutcome::Skipped);
    assert_eq!(r.crm().calls(Method::UpsertLead), 0);
    assert!(r.crm().records().is_empty());
    assert_eq!(routed.timings.write, Duration::ZERO);

    let events = r.events().events();
    let names: Vec<_> = events.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "form_submitted",
            "account_not_matched",
            "lead_rejected",
            "crm_write_skipped"
        ]
    );
    assert_eq!(
        events[2].kind,
        EventKind::LeadRejected {
            rule: Some("reject-disposable".into()),
            reason: Some("please use your work email".into()),
            owner: None,
            score: None,
            signals: Default::default(),
        }
    );
    let id = routed.lead_id.as_str();
    assert_eq!(
        serde_json::to_value(&events[3]).unwrap(),
        serde_json::json!({"event": "crm_write_skipped", "rule": "reject-disposable", "lead_id": id, "at_ms": NOW * 1000, "since_submit_ms": 0})
    );
    assert_eq!(
        serde_json::to_value(&routed).unwrap()["write"],
        serde_json::json!({"outcome": "skipped"})
    );
}

#[test]
fn a_rejection_whose_rule_says_write_to_crm_is_written() {
    let mut spec =
        PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    spec.rules[0].then.write_to_crm = Some(true);
    let r = LeadRouter::new(compile(&spec).unwrap(), crm(), RecordingSink::new())
        .with_clock(ManualClock::at_unix(NOW));
    let routed = route(&r, DISPOSABLE);
    assert!(routed.decision.is_rejected());
    assert_eq!(
        routed.write.receipt().map(|w| w.record_id.as_str()),
        Some("lead-1")
    );
    assert_eq!(r.crm().calls(Method::UpsertLead), 1);
    assert_eq!(r.crm().records()[0].owner, None);
    assert_eq!(
        r.events().names(),
        [
            "form_submitted",
            "account_not_matched",
            "lead_rejected",
            "crm_write_success"
        ]
    );
}

// ------------------------------------------------------- default budgets

#[test]
fn without_budgets_set_a_hung_crm_still_yields_a_decision() {
    let r = router();
    assert_eq!(r.lookup_budget(), Duration::from_secs(2));
    assert_eq!(r.write_budget(), Duration::from_secs(10));
    assert_eq!(r.lookup_budget(), leadroute::router::DEFAULT_LOOKUP_BUDGET);
    assert_eq!(r.write_budget(), leadroute::router::DEFAULT_WRITE_BUDGET);
    r.crm().hang_next(Method::FindAccount, 1);
    r.crm().hang_next(Method::UpsertLead, 1);
    let routed = route(
        &r,
        r#"{"email": "it@umbrella.com", "country": "US", "employees": "5000+"}"#,
    );
    assert_eq!(
        (routed.lookups.account, routed.lookups.person),
        (LookupStatus::TimedOut, LookupStatus::NotFound)
    );
    assert!(routed.lookups.errors.is_empty());
    // Without bob's account the enterprise pool decides.
    assert_eq!(routed.decision.rule.as_deref(), Some("us-enterprise"));
    let pending = routed.write.into_pending().unwrap();
    assert_eq!(
        pending.error,
        CrmError::unknown_outcome("the CRM write exceeded its time budget (10s)")
    );
    assert_eq!(
        r.events().names(),
        [
            "form_submitted",
            "account_not_matched",
            "owner_assigned",
            "crm_write_failed"
        ]
    );
}

// -------------------------------------------------------------- lead ids

/// One 1:1 pool for every lead.
fn pool_router() -> TestRouter {
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("bob", "Bob"))
        .pool(PoolSpec::new("team").member("ana", 1).member("bob", 1))
        .fallback(ActionSpec::pool("team"));
    LeadRouter::new(
        compile(&spec).unwrap(),
        InMemoryCrm::new(),
        RecordingSink::new(),
    )
    .with_clock(ManualClock::at_unix(NOW))
}

#[test]
fn two_different_submissions_from_one_email_in_one_tick_get_different_ids() {
    let r = pool_router();
    let a = pollster::block_on(
        r.route_json(r#"{"email": "jo@acme.com", "product_interest": "analytics"}"#),
    )
    .unwrap();
    let b = pollster::block_on(
        r.route_json(r#"{"email": "jo@acme.com", "product_interest": "billing"}"#),
    )
    .unwrap();
    assert_ne!(a.lead_id, b.lead_id);
    assert!(a.lead_id.starts_with(&format!("lr-{}-", NOW * 1000)));
    // Both advance the rotation: two owners, two recorded steps.
    assert_eq!(
        (a.decision.owner_id(), b.decision.owner_id()),
        (Some("ana"), Some("bob"))
    );
    assert!(!b.decision.pool_step().unwrap().is_replay());
    assert_eq!(r.pool_store().get("team").version, 2);
}

#[test]
fn the_same_submission_twice_in_one_tick_is_a_replay() {
    let r = pool_router();
    let body = r#"{"email": "jo@acme.com", "company": "Acme", "utm_source": "ads"}"#;
    // The same fields, spelled and ordered differently: the same submission.
    let again = r#"{"utm_source": "ads", "Company": "Acme", "Email": "jo@acme.com"}"#;
    let first = pollster::block_on(r.route_json(body)).unwrap();
    let second = pollster::block_on(r.route_json(again)).unwrap();
    assert_eq!(first.lead_id, second.lead_id);
    assert_eq!(first.decision.owner_id(), Some("ana"));
    assert_eq!(second.decision.owner_id(), Some("ana"));
    assert!(second.decision.pool_step().unwrap().is_replay());
    assert_eq!(r.pool_store().get("team").version, 1, "advanced once");
    // The next submission is bob's turn.
    let other = pollster::block_on(r.route_json(r#"{"email": "sam@acme.com"}"#)).unwrap();
    assert_eq!(other.decision.owner_id(), Some("bob"));
    // A tick later the same payload is a new submission.
    r.clock().advance(Duration::from_millis(1));
    let later = pollster::block_on(r.route_json(body)).unwrap();
    assert_ne!(later.lead_id, first.lead_id);
    assert_eq!(r.pool_store().get("team").version, 3);
}
