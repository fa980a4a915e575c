//! Pool rotation state: plain serde data with a version, as a
//! [`PoolStore`](super::PoolStore) keeps it.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// How many recent (lead id → owner) assignments a pool remembers for
/// idempotent replays (documented on [`PoolState::recent`]; not a contract).
pub(crate) const REPLAY_WINDOW: usize = 256;

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
#[non_exhaustive]
pub struct RecentAssignment {
    /// The lead id.
    pub lead_id: String,
    /// The owner it went to.
    pub owner: String,
}

impl RecentAssignment {
    /// A recent assignment of `lead_id` to `owner`.
    pub fn new(lead_id: impl Into<String>, owner: impl Into<String>) -> Self {
        RecentAssignment {
            lead_id: lead_id.into(),
            owner: owner.into(),
        }
    }
}

/// The rotation state of one pool.
///
/// JSON: `{"version": 7, "members": {"ana": {"current": -1, "assigned": 5,
/// "period": 20000, "in_period": 2}}, "recent": [{"lead_id": "…", "owner":
/// "ana"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PoolState {
    /// Incremented by every applied [`PoolStep`](super::PoolStep).
    pub version: u64,
    /// Counters by owner id.
    pub members: BTreeMap<String, MemberState>,
    /// The most recent assignments that carried a lead id, oldest first. The
    /// window is bounded (currently the last 256 per pool), so a replay of a
    /// much older lead id advances the rotation again.
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

    /// One member's counters (zero for a member never assigned).
    pub fn member(&self, owner: &str) -> MemberState {
        self.members.get(owner).copied().unwrap_or_default()
    }
}

/// Snapshots of pool states by pool id, handed to evaluation in the
/// [`Facts`](crate::Facts). A pool missing here is evaluated from a fresh
/// (all-zero) state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PoolStates(BTreeMap<String, PoolState>);

/// The empty snapshot (a `static`, so facts can borrow it for free).
pub(crate) static NO_POOL_STATE: PoolStates = PoolStates(BTreeMap::new());

impl PoolStates {
    /// No pool state at all.
    pub fn new() -> Self {
        Self::default()
    }
    /// The state of a pool, if present.
    pub fn get(&self, pool: &str) -> Option<&PoolState> {
        self.0.get(pool)
    }
    /// The state of a pool, for changing it in place.
    pub fn get_mut(&mut self, pool: &str) -> Option<&mut PoolState> {
        self.0.get_mut(pool)
    }
    /// Sets the state of a pool.
    pub fn insert(&mut self, pool: impl Into<String>, state: PoolState) {
        self.0.insert(pool.into(), state);
    }
    /// Whether a pool's state is present.
    pub fn contains(&self, pool: &str) -> bool {
        self.0.contains_key(pool)
    }
    /// Every pool's state, by pool id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PoolState)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl PoolStates {
    /// Whether no pool's state is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every pool's state, by pool id, in id order.
impl IntoIterator for PoolStates {
    type Item = (String, PoolState);
    type IntoIter = std::collections::btree_map::IntoIter<String, PoolState>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, PoolState)> for PoolStates {
    fn from_iter<I: IntoIterator<Item = (String, PoolState)>>(iter: I) -> Self {
        PoolStates(iter.into_iter().collect())
    }
}
