//! # leadroute
//!
//! Capture-to-owner routing for inbound B2B leads, as a library with no I/O
//! of its own: **capture → validate → assign → confirm**. This page follows
//! one lead down that path; each stage has a module page that teaches it.
//!
//! ```text
//! form payload ─▶ LeadInput ─normalize─▶ Lead ──────────────┐          lead: capture, validate
//!                  (field errors)                           │
//! Crm::find_candidates / find_person (your I/O, budgeted)              crm
//!                    Matcher: lead × candidate accounts ─▶ AccountMatch matching
//!                                                           ▼
//!                                                         Facts        facts
//!                                                           │
//!                    Policy::evaluate(&Lead, &Facts) ─▶ RouteDecision  policy, decision: assign
//!                                                           │   { owner, experience, trace, pool_step }
//!                    PoolStore: record the pool step (compare-and-swap)  pool: distribute
//!                                                           │
//!                    Crm::upsert_lead ─▶ written │ pending │ skipped       crm: confirm
//!                    EventSink: form_submitted … owner_assigned … crm_write_*   events
//! ```
//!
//! ## 1. Capture and validate: [`lead`]
//!
//! A [`Normalizer`] turns a raw form payload ([`LeadInput`]) into a clean
//! [`Lead`]: email kind, registrable company domain, company key, ISO country
//! and region, postal code, size and revenue ranges, product interest, UTM.
//! Every problem is a field-level issue; nothing panics, nothing is dropped.
//!
//! ```
//! use leadroute::Normalizer;
//! use leadroute::lead::EmailKind;
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
//! # Ok::<(), leadroute::lead::NormalizeError>(())
//! ```
//!
//! ## 1½. Match: [`matching`]
//!
//! Which existing account is the lead's? A [`Matcher`](matching::Matcher)
//! weighs domains, brands across suffixes, contacts, names, acronyms and
//! supporting signals over the CRM's candidates, and returns the account,
//! none, or an explicit *ambiguous* result, with every candidate's evidence.
//! The policy tests it with the `account_match` condition.
//!
//! ## 2. Assign: [`policy`] and [`decision`]
//!
//! RevOps writes a [`PolicySpec`] (JSON, TOML or Rust setters); [`compile`]
//! checks it once — every problem a [`Diagnostic`](policy::Diagnostic) with
//! its path and help — into a [`Policy`], which evaluates a lead against the
//! [`Facts`] (CRM records, time, availability, pool state) into a
//! [`RouteDecision`]: owner, post-submit experience, tags, priority, SLA and a
//! trace that [`Policy::explain`] renders.
//!
//! ```
//! use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
//!
//! let spec = PolicySpec::from_toml_str(r#"
//!     name = "inbound"
//!     version = "1"
//!     owners = [{ id = "ana", name = "Ana" }, { id = "queue", name = "Queue" }]
//!     [[rules]]
//!     id = "uk"
//!     when = { country = ["GB"] }
//!     then = { assign = { owner = "ana" }, experience = { book_meeting = {} } }
//!     [fallback]
//!     assign = { owner = "queue" }
//! "#)?;
//! let policy = compile(&spec)?;
//! let mut input = LeadInput::from_email("jane@acme.co.uk");
//! input.country = Some("United Kingdom".into());
//! let lead = Normalizer::default().normalize(&input)?.lead;
//! let decision = policy.evaluate(&lead, &Facts::at_unix(1_700_000_000));
//! assert_eq!(decision.owner_id(), Some("ana"));
//! assert_eq!(decision.meeting_with(), Some("ana"));
//! assert!(policy.explain(&decision).to_string().contains("rule `uk`: matched"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## 3. Distribute: [`pool`]
//!
//! Pools share leads by smooth weighted round robin with capacity, inactive
//! and away members skipped. Evaluation only *proposes* the rotation step
//! ([`RouteDecision::pool_step`]); a [`PoolStore`] records it by
//! compare-and-swap, or your own transaction applies it.
//!
//! ## 4. Confirm: [`crm`], [`events`] and the [`router`]
//!
//! A [`LeadRouter`] runs the whole path over the adapter traits you implement
//! — [`Crm`], [`EventSink`], [`PoolStore`], [`Clock`], [`Availability`] —
//! with time budgets on every CRM call, and degrades instead of failing: a
//! CRM outage still yields a decision, a failed write comes back as a
//! [`PendingWrite`](crm::PendingWrite) to retry — or, given an
//! [`outbox`], is queued there for a retry worker — and a rejected lead is
//! not written. The `testing` module (feature `testing`) has in-memory adapters
//! with fault injection and a policy tester.
//!
//! ## Layout
//!
//! | module | stage | what it owns |
//! |---|---|---|
//! | [`lead`] | capture, validate | [`LeadInput`], [`Normalizer`], [`Lead`], field issues, reference data |
//! | [`policy`] | assign | the spec ([`policy::spec`]), [`compile`] and its diagnostics, [`Policy`]: evaluate, explain |
//! | [`decision`] | assign | [`RouteDecision`], experiences, the trace |
//! | [`pool`] | distribute | rotation, [`PoolStep`](pool::PoolStep), [`PoolState`](pool::PoolState), [`PoolStore`], [`Availability`] |
//! | [`crm`] | confirm | the [`Crm`] trait, records, candidate queries, writes, errors, [`PendingWrite`](crm::PendingWrite) |
//! | [`matching`] | match | lead-to-account matching: signals, weights, tie-breakers, [`AccountMatch`](matching::AccountMatch) |
//! | [`events`] | all | the event vocabulary and [`EventSink`] |
//! | [`submission`] | screen | [`Screen`](submission::Screen), spam [`Signals`](submission::Signals), the [`Verifier`](submission::Verifier) adapter |
//! | [`schedule`] | assign, distribute | working hours in a time zone, holidays, SLA deadlines in working time |
//! | [`outbox`] | confirm | the [`Outbox`](outbox::Outbox) trait for durable CRM writes, [`RetryPolicy`](outbox::RetryPolicy), [`InMemoryOutbox`](outbox::InMemoryOutbox) |
//! | [`router`] | all | [`LeadRouter`], [`RetryWorker`](router::RetryWorker) and [`decide_and_record`](router::decide_and_record): every `await` lives here |
//! | [`clock`] | — | the injected [`Clock`] |
//!
//! Modules depend on each other in one direction only (the crate's
//! `tests/architecture.rs` checks that no file imports from a file that
//! imports it, and that nothing under `policy` is async).
//!
//! ## Design
//!
//! - **Pure core, I/O at the edges.** Normalization and evaluation do no
//!   I/O, read no clock and use no randomness: time and shared state are
//!   passed in, and adapters are traits the caller implements (async,
//!   runtime-agnostic). Reference data lives in values the caller owns
//!   (a [`Normalizer`], a [`Policy`]), never in global mutable state.
//! - **Compile once, evaluate many.** A policy is validated once and indexed,
//!   so evaluation cost stays nearly flat as policies grow to thousands of
//!   rules; a compiled [`Policy`] is `Send + Sync` and cheap to clone.
//! - **The trace is the product.** Every decision records each rule and
//!   condition considered, with observed values, compactly; turning it off
//!   never changes the decision.
//! - **Every branch ends somewhere.** A policy without a fallback does not
//!   compile; pools fall back visibly; a failed CRM write returns everything
//!   needed to retry it.
//! - **Data in, data out.** Leads, policies, decisions, traces, pool steps and
//!   events serialize with serde under stable snake_case names.
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

pub mod clock;
pub mod crm;
pub mod decision;
pub mod events;
mod facts;
pub mod lead;
pub mod matching;
mod name;
pub mod outbox;
pub mod policy;
pub mod pool;
pub mod router;
pub mod schedule;
pub mod submission;
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::Clock;
pub use crm::Crm;
pub use decision::RouteDecision;
pub use events::EventSink;
pub use facts::Facts;
pub use lead::{Lead, LeadInput, Normalizer};
pub use policy::spec::PolicySpec;
pub use policy::{CompileError, Policy, compile};
pub use pool::{Availability, PoolStore};
pub use router::LeadRouter;

/// The README's code examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
