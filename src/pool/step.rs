//! [`PoolStep`]: the state transition a decision asks of a pool, as data.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::roster::{MemberSet, Period, Roster};
use super::state::{PoolState, REPLAY_WINDOW, RecentAssignment};
use crate::name::Name;

/// What a decision chose from a pool, as data: enough to apply the rotation
/// step to the pool's state later, without the policy and without
/// re-reading availability.
///
/// Evaluation is pure, so it only *proposes* the step
/// ([`RouteDecision::pool_step`](crate::RouteDecision::pool_step)); whoever
/// owns the state records it. [`LeadRouter`](crate::LeadRouter) does that
/// through its [`PoolStore`](super::PoolStore) with compare-and-swap; a
/// caller with its own transaction (a Postgres row lock, an outbox) can do it
/// directly:
///
/// ```
/// use leadroute::{Facts, LeadInput, Normalizer, compile};
/// use leadroute::PolicySpec;
/// use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
/// use leadroute::pool::{PoolState, PoolStates};
///
/// let spec = PolicySpec::new("p", "1")
///     .owner(OwnerSpec::new("ana", "Ana"))
///     .owner(OwnerSpec::new("bob", "Bob"))
///     .pool(PoolSpec::new("team").member("ana", 1).member("bob", 1))
///     .fallback(ActionSpec::pool("team"));
/// let policy = compile(&spec).unwrap();
/// let lead = Normalizer::default().normalize(&LeadInput::from_email("x@acme.com")).unwrap().lead;
///
/// let mut states = PoolStates::new();
/// let mut owners = Vec::new();
/// for _ in 0..4 {
///     // In a service: SELECT … FOR UPDATE, evaluate, apply, UPDATE, COMMIT.
///     let decision = policy.evaluate(&lead, &Facts::at_unix(0).pools(&states));
///     let step = decision.pool_step().unwrap();
///     let mut state = states.get(step.pool()).cloned().unwrap_or_default();
///     step.apply(&mut state).unwrap();
///     states.insert(step.pool(), state);
///     owners.push(decision.owner_id().unwrap().to_owned());
/// }
/// assert_eq!(owners, ["ana", "bob", "ana", "bob"]);
/// assert_eq!(states.get("team").unwrap().version, 4);
/// ```
///
/// # JSON contract
///
/// `{"pool": id, "owner": id, "member": position, "replay": bool,
/// "expected_version": n, "day": days since the epoch (local to the pool's zone), "lead_id": id | null,
/// "eligible": [positions], "roster": [{"owner", "weight", "capacity",
/// "active"}]}`: store it and apply it later; it is not meant to be edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolStep {
    pub(crate) pool: Name,
    pub(crate) owner: Name,
    pub(crate) member: u32,
    pub(crate) replay: bool,
    expected_version: u64,
    pub(crate) day: u64,
    #[serde(default)]
    pub(crate) lead_id: Option<Name>,
    pub(crate) eligible: MemberSet,
    pub(crate) roster: Arc<Roster>,
}

/// [`PoolStep::apply`] was given a state other than the one the decision was
/// made on: another replica (or another lead) moved the pool on since.
/// Evaluate again on the newer state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "pool `{pool}` is at version {found}, but the decision was made at version {expected}; evaluate again"
)]
#[non_exhaustive]
pub struct StaleState {
    /// The pool.
    pub pool: String,
    /// The version the decision was made on.
    pub expected: u64,
    /// The version of the state given.
    pub found: u64,
}

impl PoolStep {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        pool: Name,
        roster: Arc<Roster>,
        member: u32,
        eligible: MemberSet,
        replay: bool,
        expected_version: u64,
        day: u64,
        lead_id: Option<&str>,
    ) -> Self {
        let owner = roster
            .seat(member)
            .map(|s| s.owner.clone())
            .unwrap_or_else(|| Name::from(""));
        PoolStep {
            pool,
            owner,
            member,
            replay,
            expected_version,
            day,
            lead_id: lead_id.map(Name::from),
            eligible,
            roster,
        }
    }

    /// The pool id.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// The chosen owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether the lead id was already assigned by this pool: the decision
    /// repeats that owner and the step changes nothing.
    pub fn is_replay(&self) -> bool {
        self.replay
    }

    /// The state version the decision was made on.
    pub fn expected_version(&self) -> u64 {
        self.expected_version
    }

    /// The lead id the step remembers for replays, if the lead had one.
    pub fn lead_id(&self) -> Option<&str> {
        self.lead_id.as_deref()
    }

    /// Applies the step to the state the decision was made on: the smooth
    /// weighted round-robin update over the members that were eligible,
    /// the capacity count, the replay window and the version. A replay
    /// changes nothing.
    ///
    /// Fails, leaving `state` untouched, when `state` is not at
    /// [`expected_version`](Self::expected_version).
    pub fn apply(&self, state: &mut PoolState) -> Result<(), StaleState> {
        if state.version != self.expected_version {
            return Err(StaleState {
                pool: self.pool.to_string(),
                expected: self.expected_version,
                found: state.version,
            });
        }
        if self.replay {
            return Ok(());
        }
        let seats = &self.roster.seats;
        let mut total: i64 = 0;
        for (i, seat) in seats.iter().enumerate() {
            if self.eligible.contains(i) {
                total += i64::from(seat.weight);
                state
                    .members
                    .entry(seat.owner.to_string())
                    .or_default()
                    .current += i64::from(seat.weight);
            }
        }
        if let Some(seat) = self.roster.seat(self.member) {
            let ms = state.members.entry(seat.owner.to_string()).or_default();
            ms.current -= total;
            ms.assigned += 1;
            let period = Period::key(seat.capacity.map(|c| c.per), self.day);
            if ms.period != period {
                ms.period = period;
                ms.in_period = 0;
            }
            ms.in_period = ms.in_period.saturating_add(1);
            if let Some(id) = &self.lead_id {
                state
                    .recent
                    .push_back(RecentAssignment::new(id.as_str(), seat.owner.as_str()));
                while state.recent.len() > REPLAY_WINDOW {
                    state.recent.pop_front();
                }
            }
        }
        // Members removed from the pool stop being tracked.
        state
            .members
            .retain(|id, _| seats.iter().any(|s| *s.owner == **id));
        state.version += 1;
        Ok(())
    }

    /// The state after this step, for a compare-and-swap
    /// ([`PoolStore::compare_and_swap`](super::PoolStore::compare_and_swap)).
    pub fn next_state(&self, state: &PoolState) -> Result<PoolState, StaleState> {
        let mut next = state.clone();
        self.apply(&mut next)?;
        Ok(next)
    }
}
