//! The router's screening step: signals reach the policy and the events, a
//! rejected submission is never written, control fields never reach the
//! CRM, and the verifier — passing, rejecting, failing, hanging or slow —
//! never turns a submission away by itself.

use std::sync::Arc;
use std::time::Duration;

use leadroute::clock::SystemClock;
use leadroute::decision::Experience;
use leadroute::policy::spec::{ActionSpec, OwnerSpec};
use leadroute::router::Routed;
use leadroute::submission::{self, ScreenConfig, SignalKind, Submission};
use leadroute::testing::{FakeVerifier, InMemoryCrm, ManualClock, RecordingSink};
use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};

const NOW: u64 = 1_700_000_000;

fn policy() -> leadroute::Policy {
    let mut spec = PolicySpec::new("inbound", "1")
        .owner(OwnerSpec::new("queue", "Queue"))
        .fallback(ActionSpec::owner("queue"));
    spec.rules.splice(0..0, submission::recommended_rules());
    compile(&spec).unwrap()
}

fn router()
-> LeadRouter<InMemoryCrm, RecordingSink, leadroute::pool::InMemoryPoolStore, ManualClock> {
    LeadRouter::new(policy(), InMemoryCrm::new(), RecordingSink::new())
        .with_clock(ManualClock::at_unix(NOW))
        .with_screen(ScreenConfig::default().build().unwrap())
}

fn input(json: &str) -> LeadInput {
    serde_json::from_str(json).unwrap()
}

fn kinds(routed: &Routed) -> Vec<SignalKind> {
    routed.screening.as_ref().unwrap().kinds().iter().collect()
}

#[test]
fn a_honeypot_hit_is_rejected_with_its_signals_and_never_written() {
    let r = router();
    let routed = pollster::block_on(r.route(input(
        r#"{"email": "bot@gmail.com", "first_name": "Bob", "leadroute_hp": "http://x.example", "form_started": 1699999999800}"#,
    )))
    .unwrap();
    assert_eq!(kinds(&routed), [SignalKind::Honeypot, SignalKind::TooFast]);
    assert_eq!(routed.decision.rule.as_deref(), Some("spam-reject"));
    assert!(matches!(
        routed.decision.experience,
        Experience::Reject { .. }
    ));
    assert!(routed.write.is_skipped());
    assert!(r.crm().records().is_empty());
    let events = r.events().events();
    let names: Vec<_> = events.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "form_submitted",
            "submission_screened",
            "account_not_matched",
            "lead_rejected",
            "crm_write_skipped"
        ]
    );
    let screened = serde_json::to_value(&events[1]).unwrap();
    assert_eq!(screened["score"], 160);
    assert_eq!(screened["signals"][0]["kind"], "honeypot");
    assert_eq!(screened["signals"][0]["field"], "leadroute_hp");
    assert_eq!(screened["signals"][0]["observed"], "http://x.example");
    assert_eq!(
        screened["signals"][1]["observed"],
        "0.2 s after the form was started (minimum 3.0 s)"
    );
    let rejected = serde_json::to_value(&events[3]).unwrap();
    assert_eq!(
        rejected["signals"],
        serde_json::json!(["honeypot", "too_fast"])
    );
    assert_eq!(rejected["score"], 160);
    // The explanation shows what the rule saw.
    let why = r.policy().explain(&routed.decision).to_string();
    assert!(why.contains("signal"), "{why}");
}

#[test]
fn a_clean_lead_is_written_without_its_control_fields() {
    let r = router();
    let routed = pollster::block_on(r.route(input(
        r#"{"email": "jane@acme.com", "first_name": "Jane", "leadroute_hp": "", "form_started": 1699999950000, "budget": "50k"}"#,
    )))
    .unwrap();
    assert_eq!(kinds(&routed), []);
    assert_eq!(routed.screening.as_ref().unwrap().score, 0);
    assert_eq!(routed.decision.owner_id(), Some("queue"));
    let records = r.crm().records();
    assert_eq!(records.len(), 1);
    let keys: Vec<_> = records[0].lead.attributes.keys().collect();
    assert_eq!(keys, ["budget"]);
}

#[test]
fn the_caller_s_recent_submissions_count_replays_excluded() {
    let r = router();
    let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    let recent = |i: u64, id: &str| {
        submission::RecentSubmission::new("jane@acme.com", now - Duration::from_secs(60 * i))
            .lead_id(id)
    };
    let sub = Submission::default()
        .recent(recent(1, "a"))
        .recent(recent(2, "b"))
        .recent(recent(3, "sub-1")); // a replay of this submission
    let routed = pollster::block_on(r.route_submission(
        input(r#"{"email": "jane@acme.com", "lead_id": "sub-1"}"#),
        sub.clone().recent(recent(4, "c")),
    ))
    .unwrap();
    assert_eq!(kinds(&routed), [SignalKind::RepeatedSubmission]);
    assert_eq!(routed.decision.rule.as_deref(), Some("spam-review"));
    assert_eq!(routed.decision.experience, Experience::ManualReview);
    assert!(routed.write.is_ok(), "a held lead is still written");
    // Two others and a replay are below the limit of three.
    let routed = pollster::block_on(r.route_submission(
        input(r#"{"email": "jane@acme.com", "lead_id": "sub-1"}"#),
        sub,
    ))
    .unwrap();
    assert_eq!(kinds(&routed), []);
}

fn verified(verifier: FakeVerifier, body: &str) -> (Routed, Arc<FakeVerifier>) {
    let verifier = Arc::new(verifier);
    let r = router().with_verifier(verifier.clone());
    let routed = pollster::block_on(r.route(input(body))).unwrap();
    (routed, verifier)
}

#[test]
fn a_passing_token_adds_nothing_and_is_not_written() {
    let (routed, v) = verified(
        FakeVerifier::accepting(["tok"]),
        r#"{"email": "jane@acme.com", "cf-turnstile-response": "tok"}"#,
    );
    assert_eq!(kinds(&routed), []);
    assert_eq!(v.calls(), ["tok"]);
    assert!(!routed.lead.attributes.contains_key("cf-turnstile-response"));
}

#[test]
fn a_missing_or_rejected_token_is_a_signal_not_a_refusal() {
    let (routed, v) = verified(
        FakeVerifier::accepting(["tok"]),
        r#"{"email": "jane@acme.com"}"#,
    );
    assert_eq!(kinds(&routed), [SignalKind::Unverified]);
    assert!(v.calls().is_empty(), "no token, no call");
    assert_eq!(routed.decision.owner_id(), Some("queue"));

    let (routed, _) = verified(
        FakeVerifier::accepting(["tok"]),
        r#"{"email": "jane@acme.com", "captcha_token": "forged"}"#,
    );
    assert_eq!(kinds(&routed), [SignalKind::VerificationFailed]);
    let s = routed.screening.as_ref().unwrap();
    assert_eq!(
        s.get(SignalKind::VerificationFailed).unwrap().observed,
        "invalid-input-response"
    );
    assert_eq!(routed.decision.rule.as_deref(), Some("spam-review"));
}

#[test]
fn a_failed_or_hung_verifier_degrades_to_verification_unavailable() {
    let v = FakeVerifier::accepting(["tok"]);
    v.fail_next("503 from the provider");
    let (routed, _) = verified(v, r#"{"email": "jane@acme.com", "captcha_token": "tok"}"#);
    assert_eq!(kinds(&routed), [SignalKind::VerificationUnavailable]);
    let s = routed.screening.as_ref().unwrap();
    assert_eq!(s.score, 0, "the provider's outage is not the buyer's fault");
    assert_eq!(s.signals[0].observed, "503 from the provider");
    assert_eq!(routed.decision.owner_id(), Some("queue"));
    assert!(routed.write.is_ok());

    // A hung verifier: the manual clock's budget expires at once.
    let v = FakeVerifier::accepting(["tok"]);
    v.hang_next();
    let (routed, _) = verified(v, r#"{"email": "jane@acme.com", "captcha_token": "tok"}"#);
    assert_eq!(kinds(&routed), [SignalKind::VerificationUnavailable]);
    assert!(
        routed.screening.as_ref().unwrap().signals[0]
            .observed
            .contains("did not answer within its budget (2000 ms)")
    );
    assert!(routed.write.is_ok());
}

#[test]
fn a_slow_verifier_is_cut_off_by_the_budget_in_real_time() {
    let v = Arc::new(FakeVerifier::accepting(["tok"]));
    v.delay_next(Duration::from_secs(5));
    let r = LeadRouter::new(policy(), InMemoryCrm::new(), RecordingSink::new())
        .with_clock(SystemClock)
        .with_verifier(v.clone())
        .with_verification_budget(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let routed = pollster::block_on(r.route(input(
        r#"{"email": "jane@acme.com", "captcha_token": "tok"}"#,
    )))
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the budget, not the verifier, ended the call"
    );
    assert_eq!(kinds(&routed), [SignalKind::VerificationUnavailable]);
    assert!(
        routed.screening.as_ref().unwrap().signals[0]
            .observed
            .contains("(50 ms)")
    );
    // The next call is answered in time.
    let routed = pollster::block_on(r.route(input(
        r#"{"email": "jane@acme.com", "captcha_token": "tok", "lead_id": "2"}"#,
    )))
    .unwrap();
    assert_eq!(kinds(&routed), []);
}

#[test]
fn without_a_screen_nothing_is_screened_and_spam_conditions_do_not_hold() {
    let r = LeadRouter::new(policy(), InMemoryCrm::new(), RecordingSink::new())
        .with_clock(ManualClock::at_unix(NOW));
    let routed =
        pollster::block_on(r.route(input(r#"{"email": "bot@gmail.com", "leadroute_hp": "x"}"#)))
            .unwrap();
    assert_eq!(routed.screening, None);
    assert_eq!(routed.decision.owner_id(), Some("queue"));
    assert!(!r.events().names().contains(&"submission_screened"));
    // The field is then just an attribute.
    assert!(routed.lead.attributes.contains_key("leadroute_hp"));
}
