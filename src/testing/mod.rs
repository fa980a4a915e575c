//! A kit for testing routing policies and the services built on the
//! [`LeadRouter`](crate::LeadRouter) (feature `testing`, no extra
//! dependencies):
//!
//! - [`PolicyTester`]: unit tests of a policy in a few lines — route a lead
//!   payload with the CRM facts, CRM lookup outcomes, availability, time and
//!   pool state you choose, and assert on the [`Checked`] decision.
//! - [`PolicySession`] and [`PolicyTester::assert_rotation`]: leads routed in
//!   sequence with pool rotation state kept between them, purely (no store,
//!   no executor).
//! - [`InMemoryCrm`]: a [`Crm`](crate::Crm) seeded from data, with fault
//!   injection (fail, hang, delay or rate-limit the next calls of a
//!   [`Method`]) and duplicate detection; [`RecordingSink`] keeps every
//!   event; [`ManualClock`] stands still, so time budgets expire
//!   deterministically; [`FakeVerifier`] accepts the CAPTCHA tokens you
//!   name, and fails, hangs or is slow when told.
//!
//! Every assertion panics with what it expected, what it got and the
//! decision's full explanation — so a failing test says why the lead went
//! where it went — and reports the line of *your* test that called it.
//!
//! # A policy, a rotation and a CRM outage
//!
//! ```
//! use std::time::Duration;
//! use leadroute::LeadRouter;
//! use leadroute::crm::{Account, LookupStatus};
//! use leadroute::decision::Priority;
//! use leadroute::testing::{InMemoryCrm, ManualClock, Method, PolicyTester, RecordingSink};
//!
//! let t = PolicyTester::from_toml(r#"
//!     name = "inbound"
//!     version = "1"
//!     owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }, { id = "queue", name = "Queue" }]
//!     pools = [{ id = "enterprise-us", members = [{ owner = "ana", weight = 3 }, { owner = "bob", weight = 1 }] }]
//!     [[rules]]
//!     id = "known-account"
//!     when = { account = { has_owner = true } }
//!     then = { assign = "account_owner", experience = { book_meeting = {} } }
//!     [[rules]]
//!     id = "us-enterprise"
//!     when = { all = [{ country = ["US"] }, { employees = { min = 1000 } }] }
//!     then = { assign = { pool = "enterprise-us" }, tags = ["enterprise"], priority = "high", sla_minutes = 15 }
//!     [fallback]
//!     assign = { owner = "queue" }
//! "#);
//! let enterprise = r#"{"email": "cto@bigco.com", "country": "USA", "company_size": "1000+"}"#;
//!
//! // 1. One lead: who, by which rule, with which tags, priority and SLA.
//! t.route(enterprise)
//!     .assert_rule("us-enterprise")
//!     .assert_pool("enterprise-us")
//!     .assert_tags(["enterprise"])
//!     .assert_priority(Priority::High)
//!     .assert_sla_minutes(15);
//!
//! // 2. A rotation: weights 3:1 interleave; an away member is skipped.
//! t.assert_rotation(enterprise, ["ana", "ana", "bob", "ana"]);
//! t.with_away(["ana"]).assert_rotation(enterprise, ["bob", "bob"]);
//!
//! // 3. The CRM is down. As a policy test: route without the account…
//! let bigco = Account::new("001", "BigCo").domain("bigco.com").owner("bob");
//! t.with_account(bigco.clone()).route(enterprise).assert_rule("known-account");
//! t.with_account(bigco.clone())
//!     .with_account_lookup(LookupStatus::TimedOut)
//!     .route(enterprise)
//!     .assert_rule("us-enterprise")
//!     .assert_explanation_contains("CRM account lookup timed out");
//!
//! // …and end to end, with a hung CRM call and a lookup budget.
//! let crm = InMemoryCrm::new().with_account(bigco);
//! crm.hang_next(Method::FindAccount, 1);
//! let router = LeadRouter::new(t.policy().clone(), crm, RecordingSink::new())
//!     .with_clock(ManualClock::at_unix(1_700_000_000)) // its sleeps end at once
//!     .with_lookup_budget(Duration::from_millis(300));
//! let routed = pollster::block_on(router.route_json(enterprise))?;
//! assert_eq!(routed.lookups.account, LookupStatus::TimedOut);
//! assert_eq!(routed.decision.rule.as_deref(), Some("us-enterprise"));
//! assert!(routed.write.is_ok());
//! assert_eq!(router.crm().calls(Method::FindAccount), 1);
//! assert_eq!(router.crm().records().len(), 1);
//! # Ok::<(), leadroute::lead::NormalizeError>(())
//! ```
#![allow(clippy::panic, clippy::expect_used)] // test helpers assert by panicking

mod checked;
mod clock;
mod crm;
mod outbox;
mod session;
mod sink;
mod tester;
mod verifier;

pub use checked::Checked;
pub use clock::ManualClock;
pub use crm::{Fault, InMemoryCrm, Method, WrittenRecord};
pub use outbox::{check_outbox, sample_write};
pub use session::PolicySession;
pub use sink::RecordingSink;
pub use tester::PolicyTester;
pub use verifier::{FakeVerifier, VerifierFault};

// Compile-time proof that what tests share across threads can be shared.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<PolicyTester>();
    shared::<PolicySession>();
    shared::<Checked>();
    shared::<InMemoryCrm>();
    shared::<RecordingSink>();
    shared::<ManualClock>();
};
