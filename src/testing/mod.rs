//! A kit for testing routing policies and services built on the
//! [`LeadRouter`](crate::LeadRouter): an in-memory CRM with fault injection, a
//! recording event sink, a manual clock, and [`PolicyTester`] for unit tests
//! of a policy in a few lines.
//!
//! ```
//! use leadroute::testing::PolicyTester;
//! use leadroute::crm::Account;
//!
//! let t = PolicyTester::from_toml(r#"
//!     name = "inbound"
//!     version = "1"
//!     owners = [{ id = "ana", name = "Ana" }, { id = "queue", name = "Queue" }]
//!     [[rules]]
//!     id = "us"
//!     when = { country = ["US"] }
//!     then = { assign = { owner = "ana" }, experience = { book_meeting = {} } }
//!     [fallback]
//!     assign = { owner = "queue" }
//! "#);
//! t.route(r#"{"email": "cto@bigco.com", "country": "USA"}"#)
//!     .assert_owner("ana")
//!     .assert_rule("us")
//!     .assert_experience("book_meeting");
//! t.route(r#"{"email": "cto@bigco.de", "country": "DE"}"#).assert_owner("queue").assert_fallback();
//! ```
//!
//! The assertions panic with the decision's full explanation, so a failing
//! test says why the lead went where it went.
#![allow(clippy::panic, clippy::expect_used)] // test helpers assert by panicking

mod checked;
mod clock;
mod crm;
mod session;
mod sink;
mod tester;

pub use checked::Checked;
pub use clock::ManualClock;
pub use crm::{Fault, InMemoryCrm, Method, WrittenRecord};
pub use session::PolicySession;
pub use sink::RecordingSink;
pub use tester::PolicyTester;

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
