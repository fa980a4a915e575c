//! The `testing` kit itself: every assertion passing and failing (with its
//! message), failures reported at the caller's line, rotation sequences
//! without a store, CRM lookup outcomes and the decision time.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact, LookupStatus};
use leadroute::decision::{Priority, Unavailable};
use leadroute::policy::spec::{ActionSpec, OwnerSpec};
use leadroute::testing::PolicyTester;

const POLICY: &str = r#"
name = "kit"
version = "3"
owners = [
    { id = "ana", name = "Ana" },
    { id = "bob", name = "Bob" },
    { id = "cleo", name = "Cleo" },
    { id = "queue", name = "Queue" },
]
pools = [
    { id = "enterprise-us", members = [{ owner = "ana", weight = 3 }, { owner = "bob", weight = 1 }] },
    { id = "smb", members = [{ owner = "bob" }, { owner = "cleo" }], capacity = { max = 1, per = "day" } },
]

[[rules]]
id = "spam"
when = { email_kind = ["disposable"] }
then = { assign = "nobody", experience = { reject = { reason = "use your work email" } }, tags = ["spam"] }

[[rules]]
id = "customer"
when = { account = { is_customer = true, has_owner = true } }
then = { assign = "account_owner", experience = "customer_success", tags = ["customer"], sla_minutes = 240 }

[[rules]]
id = "known-contact"
when = { contact = { has_owner = true } }
then = { assign = "contact_owner", experience = { book_meeting = {} } }

[[rules]]
id = "us-enterprise"
when = { all = [{ country = ["US"] }, { employees = { min = 1000 } }] }
then = { assign = { pool = "enterprise-us" }, experience = { book_meeting = {} }, tags = ["enterprise", "us"], priority = "high", sla_minutes = 15 }

[[rules]]
id = "smb"
when = { employees = { max = 200 } }
then = { assign = { pool = "smb" }, tags = ["smb"] }

[fallback]
assign = { owner = "queue" }
experience = "nurture"
priority = "normal"
sla_minutes = 1440
"#;

/// US enterprise: the `enterprise-us` pool (3:1), a meeting, tags, high priority.
const ENT: &str = r#"{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}"#;
/// Small company: the `smb` pool (1 a day each).
const SMB: &str = r#"{"email": "founder@tiny.io", "company_size": "11-50"}"#;
/// Nothing matches: the fallback (queue, nurture).
const OTHER: &str = r#"{"email": "cto@bigco.de"}"#;
/// Disposable email: rejected, not written.
const SPAM: &str = r#"{"email": "x@mailinator.com"}"#;

fn t() -> PolicyTester {
    PolicyTester::from_toml(POLICY)
}

fn customer() -> Account {
    Account::new("001", "Initech")
        .domain("initech.com")
        .owner("cleo")
        .customer()
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => message(payload),
    }
}

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "<non-string panic payload>".to_owned(),
        },
    }
}

// ---------------------------------------------------------------------------
// Failures point at the caller.

/// Serializes the tests that replace the process-wide panic hook.
static HOOK: Mutex<()> = Mutex::new(());

type Hook = Box<dyn Fn(&panic::PanicHookInfo<'_>) + Send + Sync + 'static>;

/// Runs `f`, which must panic, and returns where the panic says it happened
/// and its message. Panics on other threads (tests running in parallel) go
/// to the previous hook untouched; the previous hook is restored after.
fn panic_site(f: &dyn Fn()) -> (String, u32, String) {
    let _serial = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::thread::current().id();
    let seen: Arc<Mutex<Option<(String, u32)>>> = Arc::default();
    let previous: Arc<Hook> = Arc::new(panic::take_hook());
    {
        let (previous, seen) = (previous.clone(), seen.clone());
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == me {
                let site = info.location().map(|l| (l.file().to_owned(), l.line()));
                *seen.lock().unwrap_or_else(|e| e.into_inner()) = site;
            } else {
                previous(info);
            }
        }));
    }
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    drop(panic::take_hook()); // ours, with its handle on the previous hook
    match Arc::try_unwrap(previous) {
        Ok(previous) => panic::set_hook(previous),
        // Another thread is still inside our hook's call to it: wrap it.
        Err(previous) => panic::set_hook(Box::new(move |info| previous(info))),
    }
    let msg = match result {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => message(payload),
    };
    let (file, line) = seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .expect("the hook saw the panic");
    (file, line, msg)
}

/// `(name, how the message starts, line of this invocation, the failing
/// call)`: the call must be on the invocation's line.
macro_rules! case {
    ($name:literal, $starts:literal, $call:expr) => {
        (
            $name,
            $starts,
            line!(),
            Box::new(|| {
                $call;
            }) as Box<dyn Fn() + '_>,
        )
    };
}

#[test]
fn every_failing_assertion_reports_the_callers_file_and_line() {
    let t = t();
    let away = t.with_away(["ana", "bob"]);
    let away_cleo = t.with_account(customer()).with_away(["cleo"]);
    let bad_spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("a", "A"));
    let bad_spec = bad_spec.fallback(ActionSpec::owner("nobody-here"));
    #[rustfmt::skip] // one case a line: the line is what the test checks
    let cases = vec![
        case!("assert_owner", "expected owner `bob`, got `ana`\n", t.route(ENT).assert_owner("bob")),
        case!("assert_unassigned", "expected no owner, got `ana`\n", t.route(ENT).assert_unassigned()),
        case!("assert_rule", "expected rule `smb`, got rule `us-enterprise`\n", t.route(ENT).assert_rule("smb")),
        case!("assert_fallback", "expected the fallback, got rule `us-enterprise`\n", t.route(ENT).assert_fallback()),
        case!("assert_experience", "expected experience `nurture`, got `book_meeting`\n", t.route(ENT).assert_experience("nurture")),
        case!("assert_meeting_with", "expected a meeting with `bob`, got a meeting with `ana`\n", t.route(ENT).assert_meeting_with("bob")),
        case!("assert_rejected", "expected the lead to be rejected", t.route(ENT).assert_rejected()),
        case!("assert_tag", "expected tag `smb`", t.route(ENT).assert_tag("smb")),
        case!("assert_tags", "expected tags [enterprise], got [enterprise, us]\n", t.route(ENT).assert_tags(["enterprise"])),
        case!("assert_priority", "expected priority `low`, got `high`\n", t.route(ENT).assert_priority(Priority::Low)),
        case!("assert_sla_minutes", "expected an SLA of 60 minutes, got 15 minutes\n", t.route(ENT).assert_sla_minutes(60)),
        case!("assert_pool", "expected the owner to be chosen by pool `smb`", t.route(ENT).assert_pool("smb")),
        case!("assert_owner_unavailable", "expected `ana` to be assigned while `away`, got no `owner_unavailable`\n", t.route(ENT).assert_owner_unavailable(Unavailable::Away)),
        case!("assert_owner_available", "expected no `owner_unavailable`, got `cleo` assigned while `away`\n", away_cleo.route(OTHER).assert_owner_available()),
        case!("assert_written", "expected the lead to be written", t.route(SPAM).assert_written()),
        case!("assert_not_written", "expected the lead not to be written", t.route(ENT).assert_not_written()),
        case!("explanation", "expected the explanation to contain \"xyz\"", t.route(ENT).assert_explanation_contains("xyz")),
        case!("route", "lead {\"email\": \"not an email\"}: ", t.route(r#"{"email": "not an email"}"#)),
        case!("session.route", "lead []: ", t.session().route("[]")),
        case!("assert_rotation", "expected rotation [\"bob\"], got [\"ana\"]", t.assert_rotation(ENT, ["bob"])),
        case!("lead id", "assert_rotation routes the same payload 2 times, but it has lead id `1`", t.assert_rotation(r#"{"email": "a@b.com", "id": "1"}"#, ["a", "a"])),
        case!("session", "expected rotation [\"ana\", \"bob\"], got [\"ana\", \"ana\"]", t.session().assert_rotation(ENT, ["ana", "bob"]).now()),
        case!("away", "expected owner `ana`, got `queue`\n", away.route(ENT).assert_owner("ana")),
        case!("from_json", "policy JSON: ", PolicyTester::from_json("{")),
        case!("from_toml", "policy TOML: ", PolicyTester::from_toml("name = ")),
        case!("from_spec", "policy does not compile: 1 error\n  error: fallback.assign.owner: unknown owner `nobody-here`", PolicyTester::from_spec(&bad_spec)),
    ];
    assert_eq!(cases.len(), 26);
    for (name, starts, line, call) in &cases {
        let (file, at, msg) = panic_site(call);
        assert!(msg.starts_with(starts), "{name}: {msg}");
        assert_eq!(
            (file.as_str(), at),
            ("tests/testing_kit.rs", *line),
            "{name}: {msg}"
        );
    }
}

// ---------------------------------------------------------------------------
// Assertions: each passes on a decision that has it and fails, saying
// expected vs got and then the explanation, on one that does not.

#[test]
fn existing_assertions_pass() {
    let t = t();
    t.route(ENT)
        .assert_owner("ana")
        .assert_rule("us-enterprise")
        .assert_experience("book_meeting")
        .assert_meeting_with("ana");
    t.route(OTHER)
        .assert_owner("queue")
        .assert_fallback()
        .assert_experience("nurture");
    t.route(SPAM).assert_unassigned().assert_rule("spam");
}

#[test]
fn owner_mismatch_says_expected_got_and_why() {
    let msg = panic_message(|| {
        t().route(OTHER).assert_owner("ana");
    });
    let mut lines = msg.lines();
    assert_eq!(lines.next(), Some("expected owner `ana`, got `queue`"));
    assert_eq!(
        lines.next(),
        Some(
            "Assigned to queue (owner named by the fallback) [policy kit v3]; experience: nurture"
        )
    );
    assert!(msg.contains("\n  fallback: no rule matched\n"), "{msg}");
    let msg = panic_message(|| {
        t().route(SPAM).assert_owner("ana");
    });
    assert!(
        msg.starts_with("expected owner `ana`, got nobody\n"),
        "{msg}"
    );
}

#[test]
#[should_panic(expected = "expected no owner, got `ana`\nAssigned to ana")]
fn assert_unassigned_fails_on_an_owner() {
    t().route(ENT).assert_unassigned();
}

#[test]
#[should_panic(expected = "expected rule `smb`, got the fallback\n")]
fn assert_rule_fails_on_the_fallback() {
    t().route(OTHER).assert_rule("smb");
}

#[test]
#[should_panic(expected = "expected the fallback, got rule `us-enterprise`\n")]
fn assert_fallback_fails_on_a_rule() {
    t().route(ENT).assert_fallback();
}

#[test]
#[should_panic(expected = "expected experience `book_meeting`, got `nurture`\n")]
fn assert_experience_fails() {
    t().route(OTHER).assert_experience("book_meeting");
}

#[test]
fn assert_meeting_with_fails_on_another_owner_or_no_meeting() {
    let msg = panic_message(|| {
        t().route(ENT).assert_meeting_with("bob");
    });
    assert!(
        msg.starts_with("expected a meeting with `bob`, got a meeting with `ana`\n"),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(OTHER).assert_meeting_with("bob");
    });
    assert!(
        msg.starts_with("expected a meeting with `bob`, got experience `nurture`\n"),
        "{msg}"
    );
}

#[test]
fn assert_rejected_passes_on_a_rejection_only() {
    t().route(SPAM)
        .assert_rejected()
        .assert_experience("reject")
        .assert_tags(["spam"]);
    let msg = panic_message(|| {
        t().route(ENT).assert_rejected();
    });
    assert!(
        msg.starts_with(
            "expected the lead to be rejected, got experience `book_meeting`\nAssigned to ana"
        ),
        "{msg}"
    );
}

#[test]
fn assert_tag_passes_on_any_of_the_tags() {
    t().route(ENT).assert_tag("enterprise").assert_tag("us");
    let msg = panic_message(|| {
        t().route(ENT).assert_tag("smb");
    });
    assert!(
        msg.starts_with("expected tag `smb`, got tags [enterprise, us]\n"),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(OTHER).assert_tag("smb");
    });
    assert!(
        msg.starts_with("expected tag `smb`, got tags []\n"),
        "{msg}"
    );
}

#[test]
fn assert_tags_is_the_exact_set_in_any_order() {
    t().route(ENT)
        .assert_tags(["us", "enterprise"])
        .assert_tags(vec!["enterprise".to_owned(), "us".to_owned()])
        .assert_tags(["us", "enterprise", "us"]);
    t().route(OTHER).assert_tags([] as [&str; 0]);
    let msg = panic_message(|| {
        t().route(ENT).assert_tags(["enterprise"]);
    });
    assert!(
        msg.starts_with("expected tags [enterprise], got [enterprise, us]\n"),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(ENT).assert_tags(["enterprise", "us", "vip"]);
    });
    assert!(
        msg.starts_with("expected tags [enterprise, us, vip], got [enterprise, us]\n"),
        "{msg}"
    );
}

#[test]
fn assert_priority_compares_the_label() {
    t().route(ENT).assert_priority(Priority::High);
    t().route(OTHER).assert_priority(Priority::Normal);
    let msg = panic_message(|| {
        t().route(ENT).assert_priority(Priority::Urgent);
    });
    assert!(
        msg.starts_with("expected priority `urgent`, got `high`\n"),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(SPAM).assert_priority(Priority::Low);
    });
    assert!(
        msg.starts_with("expected priority `low`, got `none`\n"),
        "{msg}"
    );
}

#[test]
fn assert_sla_minutes_compares_minutes() {
    t().route(ENT).assert_sla_minutes(15);
    t().route(OTHER).assert_sla_minutes(1440);
    let msg = panic_message(|| {
        t().route(ENT).assert_sla_minutes(60);
    });
    assert!(
        msg.starts_with("expected an SLA of 60 minutes, got 15 minutes\n"),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(SPAM).assert_sla_minutes(60);
    });
    assert!(
        msg.starts_with("expected an SLA of 60 minutes, got no SLA\n"),
        "{msg}"
    );
}

#[test]
fn owner_unavailable_assertions_follow_the_decision() {
    // The customer rule assigns the account owner without an availability
    // check: cleo keeps the lead while away, and the decision says so.
    let away = t().with_account(customer()).with_away(["cleo"]);
    away.route(OTHER)
        .assert_owner("cleo")
        .assert_owner_unavailable(Unavailable::Away);
    t().with_account(customer())
        .route(OTHER)
        .assert_owner("cleo")
        .assert_owner_available();
    let msg = panic_message(|| {
        away.route(OTHER)
            .assert_owner_unavailable(Unavailable::OffShift);
    });
    assert!(
        msg.starts_with(
            "expected `cleo` to be assigned while `off_shift`, got `owner_unavailable = away`\n"
        ),
        "{msg}"
    );
}

#[test]
fn open_lead_counts_reach_least_loaded_pools_and_the_trace() {
    let t = PolicyTester::from_toml(
        r#"
name = "load"
version = "1"
owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }]
pools = [{ id = "team", distribution = "least_loaded", members = [{ owner = "ana" }, { owner = "bob" }] }]
[fallback]
assign = { pool = "team" }
"#,
    );
    t.with_open_leads([("ana", 7), ("bob", 2)])
        .route(OTHER)
        .assert_owner("bob")
        .assert_explanation_contains("bob chosen: 2 open leads, fewest among 2 eligible");
    t.with_open_leads([("ana", 0), ("bob", 2)])
        .route(OTHER)
        .assert_owner("ana");
    // No counts: the pool says it chose by rotation.
    let unknown = t.route(OTHER);
    assert!(
        unknown
            .explanation
            .to_string()
            .to_lowercase()
            .contains("open-lead counts"),
        "{}",
        unknown.explanation
    );
    // The counts stay as given across a session's routes.
    let mut s = t.with_open_leads([("ana", 7), ("bob", 2)]).session();
    s.route(OTHER).assert_owner("bob");
    s.route(OTHER).assert_owner("bob");
}

#[test]
fn assert_pool_names_the_pool_that_chose() {
    t().route(ENT).assert_pool("enterprise-us");
    t().route(SMB).assert_pool("smb").assert_owner("bob");
    let msg = panic_message(|| {
        t().route(ENT).assert_pool("smb");
    });
    assert!(
        msg.starts_with(
            "expected the owner to be chosen by pool `smb`, got `ana` chosen by pool `enterprise-us`\n"
        ),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(OTHER).assert_pool("smb");
    });
    assert!(
        msg.starts_with(
            "expected the owner to be chosen by pool `smb`, got `queue` chosen by an owner named by the policy\n"
        ),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().with_account(customer())
            .route(r#"{"email": "it@initech.com"}"#)
            .assert_pool("smb");
    });
    assert!(
        msg.contains("got `cleo` chosen by the matched account's owner\n"),
        "{msg}"
    );
}

#[test]
fn assert_written_and_not_written_follow_write_to_crm() {
    t().route(ENT).assert_written();
    t().route(OTHER).assert_written();
    t().route(SPAM).assert_not_written();
    let msg = panic_message(|| {
        t().route(SPAM).assert_written();
    });
    assert!(
        msg.starts_with(
            "expected the lead to be written to the CRM, got write_to_crm = false (experience `reject`)\nNot assigned to anyone (by rule `spam`)"
        ),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().route(ENT).assert_not_written();
    });
    assert!(
        msg.starts_with(
            "expected the lead not to be written to the CRM, got write_to_crm = true (experience `book_meeting`)\n"
        ),
        "{msg}"
    );
}

#[test]
fn assert_explanation_contains_searches_the_rendered_text() {
    t().route(ENT)
        .assert_explanation_contains("rule `us-enterprise`: matched")
        .assert_explanation_contains("pool `enterprise-us`: ana chosen");
    let msg = panic_message(|| {
        t().route(ENT).assert_explanation_contains("bob chosen");
    });
    assert!(
        msg.starts_with("expected the explanation to contain \"bob chosen\"; it does not\n"),
        "{msg}"
    );
}

#[test]
fn a_bad_payload_or_policy_panics_with_the_reason() {
    let msg = panic_message(|| {
        t().route(r#"{"email": "not an email"}"#);
    });
    assert!(
        msg.starts_with(r#"lead {"email": "not an email"}: "#),
        "{msg}"
    );
    let msg = panic_message(|| {
        PolicyTester::from_json("{");
    });
    assert!(msg.starts_with("policy JSON: "), "{msg}");
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("a", "A"))
        .fallback(ActionSpec::owner("ghost"));
    let msg = panic_message(|| {
        PolicyTester::from_spec(&spec);
    });
    assert!(msg.contains("unknown owner `ghost`"), "{msg}");
}

// ---------------------------------------------------------------------------
// Rotation sequences.

#[test]
fn weights_three_to_one_rotate_a_a_b_a() {
    let s = t().assert_rotation(
        ENT,
        ["ana", "ana", "bob", "ana", "ana", "ana", "bob", "ana"],
    );
    let state = s.pool_state("enterprise-us");
    assert_eq!(state.version, 8);
    assert_eq!(
        (state.member("ana").assigned, state.member("bob").assigned),
        (6, 2)
    );
    // A whole number of cycles brings the counters back to zero.
    assert_eq!(
        (state.member("ana").current, state.member("bob").current),
        (0, 0)
    );
    // Only the pool that chose moved.
    assert_eq!(s.pool_state("smb").version, 0);
    assert_eq!(s.pool_states().iter().count(), 1);
}

#[test]
fn a_session_keeps_state_between_different_leads() {
    let t = t();
    let mut s = t.session();
    s.route(ENT)
        .assert_owner("ana")
        .assert_pool("enterprise-us");
    s.route(SMB).assert_owner("bob").assert_pool("smb");
    s.route(r#"{"email": "vp@other.com", "country": "US", "employees": "5000"}"#)
        .assert_owner("ana");
    s.route(OTHER).assert_owner("queue"); // no pool: no state change
    s.route(ENT).assert_owner("bob");
    assert_eq!(s.pool_state("enterprise-us").version, 3);
    assert_eq!(s.pool_state("smb").member("bob").in_period, 1);
    // `route` on the tester records nothing: still the first owner.
    t.route(ENT).assert_owner("ana");
    // The session carries on where it was.
    s.assert_rotation(ENT, ["ana", "ana"]);
    assert_eq!(s.pool_state("enterprise-us").version, 5);
}

#[test]
fn an_away_member_is_skipped_and_resumes_without_a_burst() {
    let t = t();
    t.with_away(["ana"])
        .assert_rotation(ENT, ["bob", "bob", "bob"]);
    t.with_away(["bob"])
        .assert_rotation(ENT, ["ana", "ana", "ana", "ana"]);
    let mut s = t.with_away(["bob"]).session();
    s.assert_rotation(ENT, ["ana", "ana"]);
    s.route(ENT)
        .assert_owner("ana")
        .assert_explanation_contains("pool `enterprise-us`: bob skipped: unavailable");
    // Bob is back: he accumulated nothing while away (no catch-up run of
    // bobs), and Ana's counter is back at zero: the 3:1 pattern starts over.
    s.set_away([] as [&str; 0]);
    s.assert_rotation(ENT, ["ana", "ana", "bob", "ana"]);
    // Everyone away: the rule cannot assign and the fallback takes it.
    t.with_away(["ana", "bob"])
        .route(ENT)
        .assert_owner("queue")
        .assert_fallback();
}

#[test]
fn a_replayed_lead_id_gets_the_same_owner_and_does_not_advance() {
    let mut s = t().session();
    let first =
        r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+", "lead_id": "L-1"}"#;
    let second =
        r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+", "lead_id": "L-2"}"#;
    let third =
        r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+", "lead_id": "L-3"}"#;
    let fourth =
        r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+", "lead_id": "L-4"}"#;
    s.route(first).assert_owner("ana");
    s.route(second).assert_owner("ana");
    s.route(third).assert_owner("bob");
    assert_eq!(s.pool_state("enterprise-us").version, 3);
    // Replays: same owner, nothing recorded, and the trace says so.
    s.route(third)
        .assert_owner("bob")
        .assert_pool("enterprise-us")
        .assert_explanation_contains("this lead id was already assigned by this pool");
    s.route(first).assert_owner("ana");
    let state = s.pool_state("enterprise-us");
    assert_eq!(state.version, 3);
    assert_eq!(state.replayed_owner("L-3"), Some("bob"));
    assert_eq!(state.member("bob").assigned, 1);
    // A new id continues the rotation as if the replays never happened.
    s.route(fourth).assert_owner("ana");
    assert_eq!(s.pool_state("enterprise-us").version, 4);
}

#[test]
fn assert_rotation_refuses_a_payload_with_a_lead_id() {
    let with_id = r#"{"email": "cto@bigco.com", "country": "US", "employees": "1000+", "submission_id": "S-9"}"#;
    // One route is fine: there is nothing to replay yet.
    t().assert_rotation(with_id, ["ana"]);
    let msg = panic_message(|| {
        t().assert_rotation(with_id, ["ana", "ana", "bob"]);
    });
    assert_eq!(
        msg,
        "assert_rotation routes the same payload 3 times, but it has lead id `S-9`: every route \
         after the first would replay the first assignment. Remove the id, or route distinct \
         lead ids with session().route(…)"
    );
}

#[test]
fn a_wrong_rotation_shows_both_sequences_and_explains_the_first_miss() {
    let msg = panic_message(|| {
        t().assert_rotation(ENT, ["ana", "bob", "ana", "ana"]);
    });
    let (head, why) = msg.split_once('\n').unwrap();
    assert_eq!(
        head,
        r#"expected rotation ["ana", "bob", "ana", "ana"], got ["ana", "ana", "bob", "ana"] ("-": nobody); lead 2 went to `ana` instead of `bob`:"#
    );
    assert!(
        why.starts_with(
            "Assigned to ana (round robin in pool `enterprise-us` by rule `us-enterprise`)"
        ),
        "{why}"
    );
    // The second lead's numbers: ana at -1 + 3 = 2, bob at 1 + 1 = 2; the tie goes to ana.
    assert!(
        why.contains("ana chosen: highest rotation counter (2) among 2 eligible member(s) with total weight 4"),
        "{why}"
    );
    let msg = panic_message(|| {
        t().with_away(["ana", "bob"]).assert_rotation(ENT, ["ana"]);
    });
    assert!(
        msg.starts_with(r#"expected rotation ["ana"], got ["queue"] ("-": nobody); lead 1 went to `queue` instead of `ana`:"#),
        "{msg}"
    );
    let msg = panic_message(|| {
        t().assert_rotation(SPAM, ["ana"]);
    });
    assert!(
        msg.starts_with(r#"expected rotation ["ana"], got ["-"] ("-": nobody); lead 1 went to `-` instead of `ana`:"#),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------
// CRM facts and lookup outcomes.

#[test]
fn crm_facts_route_to_their_owners() {
    let t = t();
    t.with_account(customer())
        .route(r#"{"email": "it@initech.com"}"#)
        .assert_owner("cleo")
        .assert_rule("customer")
        .assert_experience("customer_success")
        .assert_tags(["customer"])
        .assert_sla_minutes(240);
    t.with_contact(Contact::new("003").owner("bob"))
        .route(OTHER)
        .assert_owner("bob")
        .assert_rule("known-contact")
        .assert_meeting_with("bob");
}

#[test]
fn a_timed_out_account_lookup_routes_without_the_account() {
    let t = t().with_account(customer());
    let lead = r#"{"email": "it@initech.com", "country": "US", "employees": "1000+"}"#;
    t.route(lead).assert_rule("customer").assert_owner("cleo");
    let down = t.with_account_lookup(LookupStatus::TimedOut);
    down.route(lead)
        .assert_rule("us-enterprise")
        .assert_owner("ana")
        .assert_explanation_contains("CRM account lookup timed out; routed without it");
    let first = down.route(lead).explanation.to_string();
    assert_eq!(
        first.lines().nth(1),
        Some("  CRM account lookup timed out; routed without it")
    );
    // Failed is reported as such; not_found and skipped are definite answers, not outages.
    t.with_account_lookup(LookupStatus::Failed)
        .route(OTHER)
        .assert_owner("queue")
        .assert_explanation_contains("CRM account lookup failed; routed without it");
    for status in [LookupStatus::NotFound, LookupStatus::Skipped] {
        let text = t
            .with_account_lookup(status)
            .route(lead)
            .assert_rule("us-enterprise")
            .explanation
            .to_string();
        assert!(!text.contains("CRM account lookup"), "{status:?}: {text}");
    }
    // The last of with_account / with_account_lookup wins.
    down.with_account(customer())
        .route(lead)
        .assert_rule("customer");
}

#[test]
fn a_failed_person_lookup_routes_without_the_contact() {
    let t = t().with_contact(Contact::new("003").owner("bob"));
    t.route(OTHER).assert_rule("known-contact");
    t.with_person_lookup(LookupStatus::Failed)
        .route(OTHER)
        .assert_owner("queue")
        .assert_fallback()
        .assert_explanation_contains("CRM person lookup failed; routed without it");
    // Both down at once: two events, account first.
    let text = t
        .with_account_lookup(LookupStatus::TimedOut)
        .with_person_lookup(LookupStatus::TimedOut)
        .route(OTHER)
        .explanation
        .to_string();
    let lines: Vec<&str> = text.lines().skip(1).take(2).collect();
    assert_eq!(
        lines,
        [
            "  CRM account lookup timed out; routed without it",
            "  CRM person lookup timed out; routed without it"
        ]
    );
}

// ---------------------------------------------------------------------------
// The decision time.

const DAY: u64 = 86_400;
/// Some 10:00 UTC.
const MORNING: u64 = 20_000 * DAY + 10 * 3600;

#[test]
fn capacity_periods_follow_the_decision_time() {
    let t = t().at_unix(MORNING);
    assert_eq!(
        t.now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(MORNING)
    );
    let mut s = t.session();
    assert_eq!(s.now(), t.now());
    s.assert_rotation(SMB, ["bob", "cleo"]);
    // Bob was capped when Cleo took the second lead, so he did not accumulate:
    // Cleo is owed the next one.
    let state = s.pool_state("smb");
    assert_eq!(
        (state.member("bob").current, state.member("cleo").current),
        (-1, 1)
    );
    // Both at their cap of 1 a day: the smb rule cannot assign; the fallback takes it.
    s.route(SMB)
        .assert_owner("queue")
        .assert_fallback()
        .assert_explanation_contains("pool `smb`: bob skipped: at capacity (1/1)");
    // Later the same UTC day: still capped.
    s.advance(Duration::from_secs(13 * 3600));
    s.route(SMB).assert_owner("queue");
    // Past midnight UTC: the caps reset.
    s.advance(Duration::from_secs(3600));
    s.assert_rotation(SMB, ["cleo", "bob"]);
    assert_eq!(s.pool_state("smb").member("bob").assigned, 2);
    assert_eq!(s.pool_state("smb").member("bob").in_period, 1);

    // A tester can start from a session's state, at another time.
    let capped = t.with_pools(s.pool_states().clone()).at(s.now());
    capped.route(SMB).assert_owner("queue");
    capped
        .at_unix(MORNING + 2 * DAY)
        .route(SMB)
        .assert_owner("bob");
    // …and the state is only read: routing again is the same decision.
    capped.route(SMB).assert_owner("queue");
}

#[test]
fn the_default_time_is_documented() {
    assert_eq!(
        t().now(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    );
}
