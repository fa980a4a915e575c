//! [`PoolCredit`]: giving a pool member back the rotation credit of a lead
//! that was reassigned away from it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::step::PoolStep;
use crate::name::Name;
use crate::pool::roster::{MemberSet, Period, Roster};
use crate::pool::state::PoolState;

/// The undo of a [`PoolStep`]'s rotation change, for a lead that was
/// reassigned away from the member it chose: applied to the pool's state,
/// the member's round-robin counter, assignment count and capacity count go
/// back as if that lead had never been dealt, so a reassignment does not
/// cost the member its turn (fairness survives reassignments).
///
/// Counters are additive, so a credit applies to whatever state the pool
/// has moved on to (no version check); record it with the same
/// compare-and-swap as a step. [`Policy::reassign`](crate::Policy::reassign)
/// returns one when asked ([`Reassign::credit_back`](crate::policy::Reassign::credit_back)).
///
/// ```
/// use leadroute::{Facts, LeadInput, Normalizer, Policy};
/// use leadroute::pool::PoolState;
///
/// let policy = Policy::from_json_str(r#"{"name": "p", "version": "1",
///   "owners": [{"id": "ana"}, {"id": "bob"}],
///   "pools": [{"id": "team", "members": [{"owner": "ana"}, {"owner": "bob"}]}],
///   "fallback": {"assign": {"pool": "team"}}}"#).unwrap();
/// let lead = Normalizer::default().normalize(&LeadInput::from_email("x@acme.com")).unwrap().lead;
/// let mut state = PoolState::default();
/// let first = policy.evaluate(&lead, &Facts::at_unix(0));
/// first.pool_step().unwrap().apply(&mut state).unwrap();
/// assert_eq!(state.member("ana").assigned, 1);
/// // The lead is taken from ana: she gets her turn back.
/// first.pool_step().unwrap().credit().unwrap().apply(&mut state);
/// assert_eq!(state.member("ana").assigned, 0);
/// assert_eq!(state.member("ana").current, 0);
/// let mut states = leadroute::pool::PoolStates::new();
/// states.insert("team", state);
/// let next = policy.evaluate(&lead, &Facts::at_unix(0).pools(&states));
/// assert_eq!(next.owner_id(), Some("ana"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolCredit {
    pool: Name,
    owner: Name,
    member: u32,
    day: u64,
    #[serde(default)]
    lead_id: Option<Name>,
    eligible: MemberSet,
    roster: Arc<Roster>,
}

impl PoolStep {
    /// The credit that undoes this step's rotation change (`None` for a
    /// replay, which changed nothing).
    pub fn credit(&self) -> Option<PoolCredit> {
        (!self.replay).then(|| PoolCredit {
            pool: self.pool.clone(),
            owner: self.owner.clone(),
            member: self.member,
            day: self.day,
            lead_id: self.lead_id.clone(),
            eligible: self.eligible,
            roster: self.roster.clone(),
        })
    }
}

impl PoolCredit {
    /// The pool id.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// The member who gets the credit back.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Gives the credit back: every member that was eligible for the lead
    /// loses the weight it gained, the chosen member regains the total it
    /// gave up, and its assignment and period counts drop by one. The
    /// lead id leaves the replay window. Bumps the version.
    pub fn apply(&self, state: &mut PoolState) {
        let seats = &self.roster.seats;
        let mut total: i64 = 0;
        for (i, seat) in seats.iter().enumerate() {
            if self.eligible.contains(i) {
                total += i64::from(seat.weight);
                if let Some(ms) = state.members.get_mut(seat.owner.as_str()) {
                    ms.current -= i64::from(seat.weight);
                }
            }
        }
        if let Some(seat) = self.roster.seat(self.member) {
            let ms = state.members.entry(seat.owner.to_string()).or_default();
            ms.current += total;
            ms.assigned = ms.assigned.saturating_sub(1);
            if ms.period == Period::key(seat.capacity.map(|c| c.per), self.day) {
                ms.in_period = ms.in_period.saturating_sub(1);
            }
        }
        if let Some(id) = &self.lead_id {
            state
                .recent
                .retain(|r| !(r.lead_id == id.as_str() && r.owner == self.owner.as_str()));
        }
        state.version += 1;
    }
}
