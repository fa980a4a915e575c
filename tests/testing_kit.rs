//! The `testing` kit itself: every assertion passing and failing (with its
//! message), failures reported at the caller's line.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use leadroute::PolicySpec;
use leadroute::crm::Account;
use leadroute::decision::Priority;
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
        case!("assert_written", "expected the lead to be written", t.route(SPAM).assert_written()),
        case!("assert_not_written", "expected the lead not to be written", t.route(ENT).assert_not_written()),
        case!("explanation", "expected the explanation to contain \"xyz\"", t.route(ENT).assert_explanation_contains("xyz")),
        case!("route", "lead {\"email\": \"not an email\"}: ", t.route(r#"{"email": "not an email"}"#)),
        case!("away", "expected owner `ana`, got `queue`\n", away.route(ENT).assert_owner("ana")),
        case!("from_json", "policy JSON: ", PolicyTester::from_json("{")),
        case!("from_toml", "policy TOML: ", PolicyTester::from_toml("name = ")),
        case!("from_spec", "policy does not compile: 1 error\n  error: fallback.assign.owner: unknown owner `nobody-here`", PolicyTester::from_spec(&bad_spec)),
    ];
    assert_eq!(cases.len(), 20);
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
