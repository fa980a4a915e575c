//! # leadroute
//!
//! Capture-to-owner routing for inbound B2B leads, as a library with no I/O
//! of its own: **capture → validate → assign → confirm**.
//!
//! 1. **Normalize** a raw form payload ([`LeadInput`]) into a clean [`Lead`]
//!    with a [`Normalizer`]: email syntax and kind (business / free /
//!    disposable), registrable company domain, company match key, ISO country
//!    and region, postal code, size and revenue ranges, product interest,
//!    UTM fields. Every problem is a field-level [`FieldIssue`].
//!
//! ```
//! use leadroute::{EmailKind, Normalizer};
//!
//! let normalizer = Normalizer::default(); // build once, share everywhere
//! let out = normalizer.normalize_json(r#"{
//!     "email": " mailto:Jane@Acme.co.uk ", "company": "ACME Ltd.",
//!     "website": "https://www.acme.co.uk/about", "country": "United Kingdom",
//!     "zip": "sw1a1aa", "company_size": "51 – 200", "revenue": "$10M-$50M",
//!     "product_interest": "Analytics; PLG", "utm_source": "google"
//! }"#)?;
//! let lead = out.lead;
//! assert_eq!(lead.email, "Jane@acme.co.uk");
//! assert_eq!(lead.email_kind, EmailKind::Business);
//! assert_eq!(lead.company_domain.as_deref(), Some("acme.co.uk"));
//! assert_eq!(lead.company_key.as_deref(), Some("acme"));
//! assert_eq!(lead.country.map(|c| c.to_string()).as_deref(), Some("GB"));
//! assert_eq!(lead.postal_code.as_deref(), Some("SW1A 1AA"));
//! assert_eq!(lead.product_interest, ["analytics", "plg"]);
//! assert!(out.warnings.is_empty());
//! # Ok::<(), leadroute::NormalizeError>(())
//! ```
//!
//! 2. **Route**: [`compile`] a [`policy::PolicySpec`] (JSON, TOML or the Rust
//!    builder) into a [`Policy`], then [`Policy::evaluate`] a lead against a
//!    [`Context`] (CRM facts, time, availability, pool state) into a
//!    [`RouteDecision`]: owner, experience, tags, priority, SLA and a compact
//!    [`Trace`] that [`Policy::explain`] renders.
//! 3. **Distribute** within [`pool`]s by smooth weighted round robin, with
//!    shared state behind the compare-and-swap [`PoolStore`] trait
//!    ([`Policy::assign`]).
//! 4. **Orchestrate** with a [`Router`] over the adapter traits [`Crm`],
//!    [`EventSink`], [`PoolStore`] and [`Clock`]: lookups within a time
//!    budget, the decision, the CRM write and funnel [`Event`]s, degrading
//!    safely when the CRM fails. The [`testing`] module has in-memory
//!    adapters with fault injection and [`testing::PolicyTester`].
//!
//! ## The path a lead takes
//!
//! ```text
//! form JSON ─▶ LeadInput ─normalize─▶ Lead ─┬─▶ Crm::find_account / find_person (caller's I/O, budgeted)
//!                 (field errors)            │        │
//!                                           ▼        ▼
//!                           Policy::evaluate(&Lead, &Context) ─▶ RouteDecision { owner, experience, trace }
//!                                           │
//!                                           ▼
//!                 Crm::upsert_lead ─▶ Routed { receipt | PendingWrite, timings } + Events
//! ```
//!
//! ## Design
//!
//! - **Pure core, I/O at the edges.** Normalization and evaluation do no
//!   I/O, read no clock and use no randomness: time and shared state are
//!   passed in, and adapters are traits the caller implements (async,
//!   runtime-agnostic). Reference data lives in values the caller owns
//!   (a [`Normalizer`], a [`Policy`]), never in global mutable state.
//! - **Compile once, evaluate many.** A policy is validated once (every
//!   problem reported, with rule id and path) and indexed, so evaluation
//!   cost stays nearly flat as policies grow to thousands of rules; a
//!   compiled [`Policy`] is `Send + Sync` and cheap to clone.
//! - **The trace is the product.** Every decision records each rule and
//!   condition considered, with observed values, compactly; turning it off
//!   never changes the decision.
//! - **Every branch ends somewhere.** A policy without a fallback does not
//!   compile; pools fall back visibly; a failed CRM write returns everything
//!   needed to retry it.
//! - **Data in, data out.** Leads, policies, decisions, traces and events
//!   serialize with serde under stable snake_case names.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod clock;
mod context;
mod crm;
mod decision;
mod events;
mod lead;
mod name;
pub mod policy;
pub mod pool;
mod router;
pub mod testing;

pub use clock::{Clock, SystemClock};
pub use context::{
    Account, AllAvailable, Availability, AwayList, Contact, Context, CrmStatus, PersonKind,
};
pub use crm::{Crm, CrmError, LeadWrite, WriteReceipt};
pub use decision::{
    AssignedBy, Experience, FallbackReason, Observed, RouteDecision, ShortText, SkipReason, Trace,
    TraceEvent, Unavailable,
};
pub use events::{Event, EventKind, EventSink, LookupStatus, NoEvents};
pub use lead::{
    CountryCode, CountryCodeError, EmailKind, Field, FieldIssue, IssueCode, Lead, LeadInput,
    Limits, NormalizeError, Normalized, Normalizer, QUOTE_LIMIT, Range, RangeError, Utm,
};
pub use name::Name;
pub use policy::{CompileError, Policy, compile};
pub use pool::{InMemoryPoolStore, PoolState, PoolStates, PoolStore};
pub use router::{Lookups, PendingWrite, Routed, Router, Timings};

/// The README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
