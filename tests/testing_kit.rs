//! The `testing` kit itself: failures reported at the caller's line.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use leadroute::PolicySpec;
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

fn t() -> PolicyTester {
    PolicyTester::from_toml(POLICY)
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
        case!("assert_owner", "expected owner `bob`, got Some(\"ana\")\n", t.route(ENT).assert_owner("bob")),
        case!("assert_unassigned", "expected no owner, got `ana`\n", t.route(ENT).assert_unassigned()),
        case!("assert_rule", "expected rule `smb`, got Some(\"us-enterprise\")\n", t.route(ENT).assert_rule("smb")),
        case!("assert_fallback", "expected the fallback, got rule Some(\"us-enterprise\")\n", t.route(ENT).assert_fallback()),
        case!("assert_experience", "expected experience `nurture`, got `book_meeting`\n", t.route(ENT).assert_experience("nurture")),
        case!("assert_meeting_with", "expected a meeting with `bob`, got BookMeeting { with: \"ana\" }\n", t.route(ENT).assert_meeting_with("bob")),
        case!("route", "lead {\"email\": \"not an email\"}: ", t.route(r#"{"email": "not an email"}"#)),
        case!("away", "expected owner `ana`, got Some(\"queue\")\n", away.route(ENT).assert_owner("ana")),
        case!("from_json", "policy JSON: ", PolicyTester::from_json("{")),
        case!("from_toml", "policy TOML: ", PolicyTester::from_toml("name = ")),
        case!("from_spec", "policy does not compile: 1 error\n  error: fallback.assign.owner: unknown owner `nobody-here`", PolicyTester::from_spec(&bad_spec)),
    ];
    assert_eq!(cases.len(), 11);
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
