//! Choosing a member: smooth weighted round robin over the eligible members,
//! or a replay of an earlier assignment of the same lead id. The algorithm is
//! described on the [module page](super).

use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::availability::Availability;
use super::roster::{MemberSet, Period, Roster};
use super::state::PoolState;
use super::step::PoolStep;
use crate::name::Name;

/// Why a pool member was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Inactive in the owners directory.
    Inactive,
    /// The availability source says away.
    Unavailable,
    /// At the capacity cap for the period.
    AtCapacity {
        /// Leads in the period.
        count: u32,
        /// The cap.
        max: u32,
    },
    /// Eligible, but another member's counter was higher (or tied earlier).
    NotNext {
        /// Its counter after adding its weight.
        current: i64,
    },
}

/// Everything a choice depends on.
pub(crate) struct Ask<'a> {
    pub(crate) pool: &'a Name,
    pub(crate) roster: &'a Arc<Roster>,
    pub(crate) state: Option<&'a PoolState>,
    pub(crate) lead_id: Option<&'a str>,
    pub(crate) now: SystemTime,
    pub(crate) availability: &'a dyn Availability,
    /// Report every eligible member that was not chosen (for the trace).
    pub(crate) report_not_next: bool,
}

/// The member chosen, with the numbers that explain it.
pub(crate) struct Choice {
    pub(crate) member: u32,
    /// The chosen member's counter after adding its weight.
    pub(crate) current: i64,
    pub(crate) eligible_weight: u64,
    pub(crate) eligible: u32,
    pub(crate) step: PoolStep,
}

fn pos(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Chooses a member, reporting every member passed over to `skip`; `None`
/// when nobody is eligible.
pub(crate) fn choose(ask: &Ask<'_>, mut skip: impl FnMut(u32, SkipReason)) -> Option<Choice> {
    let version = ask.state.map_or(0, |s| s.version);
    // Only capacity periods need the date.
    let day = if ask.roster.capped() {
        ask.now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400)
    } else {
        0
    };
    let step = |member: u32, eligible: MemberSet, replay: bool| {
        PoolStep::new(
            ask.pool.clone(),
            ask.roster.clone(),
            member,
            eligible,
            replay,
            version,
            day,
            ask.lead_id,
        )
    };
    if let Some((member, current)) = replayed(ask) {
        return Some(Choice {
            member,
            current,
            eligible_weight: 0,
            eligible: 0,
            step: step(member, MemberSet::default(), true),
        });
    }
    let round = eligible(ask, day, &mut skip);
    let (chosen, current) = round.best?;
    if ask.report_not_next {
        report_not_next(ask, &round.eligible, chosen, &mut skip);
    }
    Some(Choice {
        member: pos(chosen),
        current,
        eligible_weight: round.total,
        eligible: round.count,
        step: step(pos(chosen), round.eligible, false),
    })
}

/// The member a lead id was already assigned to by this pool (if still an
/// active member), with its counter.
fn replayed(ask: &Ask<'_>) -> Option<(u32, i64)> {
    let (state, lead_id) = (ask.state?, ask.lead_id?);
    let prev = state.replayed_owner(lead_id)?;
    let i = ask
        .roster
        .seats
        .iter()
        .position(|s| s.active && *s.owner == *prev)?;
    Some((pos(i), state.member(prev).current))
}

/// One round of smooth weighted round robin: who is eligible, their total
/// weight, and the best (highest counter after adding its weight).
struct Round {
    eligible: MemberSet,
    count: u32,
    total: u64,
    best: Option<(usize, i64)>,
}

fn eligible(ask: &Ask<'_>, day: u64, skip: &mut impl FnMut(u32, SkipReason)) -> Round {
    let mut round = Round {
        eligible: MemberSet::default(),
        count: 0,
        total: 0,
        best: None,
    };
    for (i, seat) in ask.roster.seats.iter().enumerate() {
        if !seat.active {
            skip(pos(i), SkipReason::Inactive);
            continue;
        }
        if !ask.availability.is_available(&seat.owner, ask.now) {
            skip(pos(i), SkipReason::Unavailable);
            continue;
        }
        let ms = ask.state.map(|s| s.member(&seat.owner)).unwrap_or_default();
        if let Some(cap) = seat.capacity {
            let used = if ms.period == Period::key(Some(cap.per), day) {
                ms.in_period
            } else {
                0
            };
            if used >= cap.max {
                skip(
                    pos(i),
                    SkipReason::AtCapacity {
                        count: used,
                        max: cap.max,
                    },
                );
                continue;
            }
        }
        round.eligible.insert(i);
        round.count += 1;
        round.total += u64::from(seat.weight);
        let current = ms.current + i64::from(seat.weight);
        // Strictly greater: ties go to the earlier member.
        if round.best.is_none_or(|(_, c)| current > c) {
            round.best = Some((i, current));
        }
    }
    round
}

/// Reports every eligible member other than the chosen one, with its counter.
fn report_not_next(
    ask: &Ask<'_>,
    eligible: &MemberSet,
    chosen: usize,
    skip: &mut impl FnMut(u32, SkipReason),
) {
    for (i, seat) in ask.roster.seats.iter().enumerate() {
        if i != chosen && eligible.contains(i) {
            let current = ask
                .state
                .map(|s| s.member(&seat.owner).current)
                .unwrap_or_default()
                + i64::from(seat.weight);
            skip(pos(i), SkipReason::NotNext { current });
        }
    }
}
