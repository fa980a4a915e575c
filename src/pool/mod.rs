//! **Distribute**: sharing leads within a team by smooth weighted round
//! robin, with capacity caps, availability skipping and idempotent replays;
//! state as explicit data behind a compare-and-swap store.
//!
//! # The algorithm
//!
//! Each member keeps a `current` counter. For every lead, the *eligible*
//! members (active, [available](Availability), under their
//! [cap](Capacity)) each add their weight to `current`; the one with the
//! highest `current` wins (ties: earlier in the pool's member list) and has
//! the sum of eligible weights subtracted. With weights 3:1 this gives
//! `A A B A, A A B A…` rather than bursts, and over any window every eligible
//! member's share stays within about one lead of its weight share.
//!
//! Ineligible members do not accumulate anything while away, so a member who
//! returns from vacation gets no burst of catch-up leads. A member added to a
//! pool starts at zero and the others keep their counters; a removed
//! member's counter is dropped on the next assignment.
//!
//! # Three steps, three owners
//!
//! 1. **Choose** (pure): [`Policy::evaluate`](crate::Policy::evaluate) reads a
//!    snapshot of the pool's [`PoolState`] from the [`Facts`](crate::Facts)
//!    and proposes a [`PoolStep`] on the decision
//!    ([`RouteDecision::pool_step`](crate::RouteDecision::pool_step)).
//! 2. **Apply** (pure): [`PoolStep::apply`] turns the state the decision was
//!    made on into the next state, or says the state is stale.
//! 3. **Record** (I/O): a [`PoolStore`] replaces the stored state by
//!    compare-and-swap on its `version`, which maps onto Redis (`WATCH`/`MULTI`
//!    or a Lua script comparing the version) and Postgres (`UPDATE … SET
//!    state = $1, version = version + 1 WHERE pool = $2 AND version = $3`).
//!    [`decide_and_record`](crate::router::decide_and_record) runs the load →
//!    evaluate → compare-and-swap loop, so concurrent replicas never lose or
//!    double a count; a caller with its own transaction applies the step
//!    itself.
//!
//! Routing the same lead id twice replays the first assignment from a
//! bounded window of recent assignments instead of advancing the rotation
//! again.
//!
//! ```
//! use leadroute::{Facts, LeadInput, Normalizer, compile};
//! use leadroute::PolicySpec;
//! use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
//! use leadroute::pool::InMemoryPoolStore;
//! use leadroute::router::decide_and_record;
//!
//! let spec = PolicySpec::new("p", "1")
//!     .owner(OwnerSpec::new("ana", "Ana"))
//!     .owner(OwnerSpec::new("bob", "Bob"))
//!     .pool(PoolSpec::new("team").member("ana", 3).member("bob", 1))
//!     .fallback(ActionSpec::pool("team"));
//! let policy = compile(&spec).unwrap();
//! let store = InMemoryPoolStore::new();
//! let lead = Normalizer::default().normalize(&LeadInput::from_email("x@acme.com")).unwrap().lead;
//! let owners: Vec<String> = (0..4)
//!     .map(|_| pollster::block_on(decide_and_record(&policy, &lead, &Facts::at_unix(0), &store)).unwrap())
//!     .map(|d| d.owner_id().unwrap().to_owned())
//!     .collect();
//! assert_eq!(owners, ["ana", "ana", "bob", "ana"]);
//! assert_eq!(store.get("team").version, 4);
//! ```
//!
//! # When open-lead counts are missing
//!
//! Counts the caller does not know are not guessed. With no counts at all
//! ([`Facts::new`](crate::Facts::new)'s default, or a load source that
//! failed or ran out of time) [`OpenLeads::is_known`] is `false`: a
//! least-loaded pool chooses by its rotation (smooth weighted round robin,
//! the same order it breaks ties by), open-lead caps (`max_open`) are not
//! applied, and the trace says so
//! ([`TraceEvent::OpenLeadsUnknown`](crate::decision::TraceEvent::OpenLeadsUnknown)).
//! Failing closed instead (nobody eligible while the CRM is down) would
//! stop every lead at once; rotation keeps leads moving and the counts
//! even out when they come back.

pub(crate) mod availability;
pub(crate) mod credit;
pub(crate) mod load;
pub(crate) mod roster;
pub(crate) mod rotation;
pub(crate) mod state;
pub(crate) mod step;
pub(crate) mod store;

pub use availability::{AllAvailable, AllOf, Availability, AwayList, AwayUntil};
pub use credit::PoolCredit;
pub use load::{
    Distribution, InMemoryOpenLeads, LoadError, LoadSource, MAX_LOAD_OWNERS, OpenLeadCounts,
    OpenLeads,
};
pub use roster::{Capacity, Period};
pub use rotation::SkipReason;
pub use state::{MemberState, PoolState, PoolStates, RecentAssignment};
pub use step::{PoolStep, StaleState};
pub use store::{InMemoryPoolStore, PoolStore};
