//! Distribution within a team: smooth weighted round robin with capacity
//! caps, availability skipping and idempotent replays; state as explicit data
//! behind a compare-and-swap store.
//!
//! # The algorithm
//!
//! Each member keeps a `current` counter. For every lead, the *eligible*
//! members (active, available, under their cap) each add their weight to
//! `current`; the one with the highest `current` wins (ties: earlier in the
//! pool's member list) and has the sum of eligible weights subtracted. With
//! weights 3:1 this gives `A A B A, A A B A…` rather than bursts, and over any
//! window every eligible member's share stays within one lead of its weight
//! share.
//!
//! Ineligible members do not accumulate anything while away, so a member who
//! returns from vacation gets no burst of catch-up leads. A member added to a
//! pool starts at zero and the others keep their counters; a removed
//! member's counter is dropped on the next assignment.
//!
//! # Shared state
//!
//! [`PoolState`] is plain serde data with a `version`. A [`PoolStore`] loads
//! it and replaces it with compare-and-swap on that version, which maps onto
//! Redis (`WATCH`/`MULTI` or a Lua script comparing the version) and Postgres
//! (`UPDATE … SET state = $1, version = version + 1 WHERE pool = $2 AND
//! version = $3`). [`Policy::assign`](crate::Policy::assign) runs the
//! load → evaluate → compare-and-swap loop, so concurrent replicas never lose
//! or double a count. Routing the same lead id twice replays the first
//! assignment from a bounded window of recent assignments instead of
//! advancing the rotation again.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// How many recent (lead id → owner) assignments a pool remembers for
/// idempotent replays.
pub const REPLAY_WINDOW: usize = 256;

/// The most members a pool may have (eligibility is a fixed-size bitset, so
/// evaluation never allocates for it).
pub const MAX_POOL_MEMBERS: usize = 256;

/// One member's rotation counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemberState {
    /// Smooth-WRR counter.
    pub current: i64,
    /// Leads assigned in total.
    pub assigned: u64,
    /// The capacity period `in_period` counts for (days or weeks since the
    /// Unix epoch, UTC).
    pub period: u64,
    /// Leads assigned within `period`.
    pub in_period: u32,
}

/// A recent assignment, for idempotent replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentAssignment {
    /// The lead id.
    pub lead_id: String,
    /// The owner it went to.
    pub owner: String,
}

/// The rotation state of one pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PoolState {
    /// Incremented by every successful compare-and-swap.
    pub version: u64,
    /// Counters by owner id.
    pub members: BTreeMap<String, MemberState>,
    /// The last [`REPLAY_WINDOW`] assignments, oldest first.
    pub recent: VecDeque<RecentAssignment>,
}

impl PoolState {
    /// The owner a lead id was recently assigned to.
    pub fn replayed_owner(&self, lead_id: &str) -> Option<&str> {
        self.recent
            .iter()
            .rev()
            .find(|r| r.lead_id == lead_id)
            .map(|r| r.owner.as_str())
    }

    pub(crate) fn member(&self, owner: &str) -> MemberState {
        self.members.get(owner).copied().unwrap_or_default()
    }
}

/// Snapshots of pool states by pool id, handed to evaluation in the
/// [`Context`](crate::Context). A pool missing here is evaluated from a fresh
/// (all-zero) state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStates(BTreeMap<String, PoolState>);

/// The empty snapshot (a `const`, so contexts can borrow it for free).
pub(crate) static NO_POOL_STATE: PoolStates = PoolStates(BTreeMap::new());

impl PoolStates {
    /// The state of a pool, if present.
    pub fn get(&self, pool: &str) -> Option<&PoolState> {
        self.0.get(pool)
    }
    /// Sets the state of a pool.
    pub fn insert(&mut self, pool: impl Into<String>, state: PoolState) {
        self.0.insert(pool.into(), state);
    }
    /// Whether a pool's state is present.
    pub fn contains(&self, pool: &str) -> bool {
        self.0.contains_key(pool)
    }
}

/// A set of pool-member positions (bitset over [`MAX_POOL_MEMBERS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct MemberSet([u64; MAX_POOL_MEMBERS / 64]);

impl MemberSet {
    pub(crate) fn insert(&mut self, i: usize) {
        if let Some(word) = self.0.get_mut(i / 64) {
            *word |= 1 << (i % 64);
        }
    }
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// What evaluation picked from a pool: enough to apply the transition later
/// without re-reading availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolPick {
    pub(crate) pool: u32,
    pub(crate) member: u32,
    pub(crate) eligible: MemberSet,
    pub(crate) replay: bool,
    pub(crate) expected_version: u64,
    pub(crate) period_day: u64,
}

/// Stores pool states for many routing processes.
///
/// Implementations must make [`compare_and_swap`](Self::compare_and_swap)
/// atomic: it replaces the state only if the stored version still equals
/// `expected_version` (a missing state has version 0), and the new state's
/// version is `expected_version + 1`. Methods are async and runtime-agnostic.
pub trait PoolStore: Send + Sync {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The pool's current state (a default state if none is stored).
    fn load(&self, pool: &str) -> impl Future<Output = Result<PoolState, Self::Error>> + Send;

    /// Replaces the state if its version is still `expected_version`;
    /// returns whether it did.
    fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// A [`PoolStore`] in process memory, for single-process services and tests.
///
/// ```
/// use leadroute::{InMemoryPoolStore, PoolState};
///
/// let store = InMemoryPoolStore::new();
/// assert_eq!(store.get("sales").version, 0);
/// let mut next = PoolState::default();
/// next.version = 1;
/// assert!(store.compare_and_swap_now("sales", 0, next.clone()));
/// assert!(!store.compare_and_swap_now("sales", 0, next)); // stale version
/// ```
#[derive(Debug, Default)]
pub struct InMemoryPoolStore {
    pools: Mutex<HashMap<String, PoolState>>,
}

impl InMemoryPoolStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state of a pool (synchronous).
    pub fn get(&self, pool: &str) -> PoolState {
        self.lock().get(pool).cloned().unwrap_or_default()
    }

    /// Compare-and-swap (synchronous).
    pub fn compare_and_swap_now(&self, pool: &str, expected_version: u64, new: PoolState) -> bool {
        let mut pools = self.lock();
        let current = pools.get(pool).map_or(0, |s| s.version);
        if current != expected_version || new.version != expected_version + 1 {
            return false;
        }
        pools.insert(pool.to_owned(), new);
        true
    }

    /// Every pool's state.
    pub fn snapshot(&self) -> PoolStates {
        PoolStates(
            self.lock()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PoolState>> {
        // A panic in another thread cannot leave a half-written state: every
        // write is a single `insert`, so the data is consistent even if poisoned.
        self.pools.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PoolStore for InMemoryPoolStore {
    type Error = Infallible;

    fn load(&self, pool: &str) -> impl Future<Output = Result<PoolState, Infallible>> + Send {
        std::future::ready(Ok(self.get(pool)))
    }

    fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> impl Future<Output = Result<bool, Infallible>> + Send {
        std::future::ready(Ok(self.compare_and_swap_now(pool, expected_version, new)))
    }
}
