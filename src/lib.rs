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
//! ## Design
//!
//! The core does no I/O, reads no clock and uses no randomness: time and
//! shared state are passed in, and adapters (CRM, event sink, pool store) are
//! traits the caller implements. Reference data (email provider lists,
//! country tables) lives in values the caller owns, never in global mutable
//! state.
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
