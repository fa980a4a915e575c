//! Choosing a member: smooth weighted round robin over the eligible members,
//! or a replay of an earlier assignment of the same lead id. The algorithm is
//! described on the [module page](super).

use std::sync::Arc;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::availability::Availability;
use super::load::{Distribution, OpenLeads, SeatRules, lighter, same_load};
use super::roster::{MemberSet, Period, Roster};
use super::state::PoolState;
use super::step::PoolStep;
use crate::name::Name;
use crate::schedule::{civil, timestamp};

/// Why a pool member was passed over.
///
/// JSON (the `reason` of a `pool_skip` trace event): `"inactive"`,
/// `"unavailable"`, `{"at_capacity": {"count": 30, "max": 30}}`,
/// `{"not_next": {"current": -2}}`, `"off_shift"`, `"out_of_office"`,
/// `"earlier_assignee"`, `{"at_open_cap": {"open": 40, "max": 40}}`,
/// `{"more_open_leads": {"open": 3}}`.
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
    /// Outside the member's working hours (or on a holiday of their
    /// schedule), in a pool that respects schedules.
    OffShift,
    /// An earlier assignee of the lead being reassigned.
    EarlierAssignee,
    /// On one of the member's own `out_of_office` dates, in a pool that
    /// respects schedules (JSON: `"out_of_office"`). A date that is both a
    /// holiday of their schedule and out of office is out of office.
    OutOfOffice,
    /// At the pool's cap on open leads.
    AtOpenCap {
        /// Open leads.
        open: u32,
        /// The cap.
        max: u32,
    },
    /// Eligible, but another member had fewer open leads for its weight
    /// (least-loaded pools).
    MoreOpenLeads {
        /// Its open leads.
        open: u32,
    },
}

/// Everything a choice depends on.
pub(crate) struct Ask<'a> {
    pub(crate) roster: &'a Arc<Roster>,
    pub(crate) state: Option<&'a PoolState>,
    pub(crate) lead_id: Option<&'a str>,
    pub(crate) now: SystemTime,
    pub(crate) availability: &'a dyn Availability,
    /// Report every eligible member that was not chosen (for the trace).
    pub(crate) report_not_next: bool,
    /// Schedules and open caps by seat position (may be shorter than the
    /// roster: missing seats have none).
    pub(crate) seat_rules: &'a [SeatRules],
    /// Skip members off shift.
    pub(crate) respect_schedules: bool,
    /// The zone capacity periods count local days in (`None`: UTC).
    pub(crate) zone: Option<&'a jiff::tz::TimeZone>,
    pub(crate) distribution: Distribution,
    pub(crate) open_leads: &'a dyn OpenLeads,
    /// Owners never to choose (earlier assignees of a reassigned lead).
    pub(crate) excluded: &'a [String],
}

/// The member chosen, with the numbers that explain it.
pub(crate) struct Choice {
    pub(crate) member: u32,
    /// The chosen member's counter after adding its weight.
    pub(crate) current: i64,
    pub(crate) eligible_weight: u64,
    pub(crate) eligible: u32,
    pub(crate) step: StepDraft,
    /// The chosen member's open leads (least-loaded pools).
    pub(crate) open: Option<u32>,
}

/// What a [`PoolStep`] records, without the ids it copies: the step is
/// built once, for the decision, not at every hand-over of the choice.
#[derive(Clone, Copy)]
pub(crate) struct StepDraft {
    member: u32,
    eligible: MemberSet,
    replay: bool,
    version: u64,
    day: u64,
}

impl StepDraft {
    pub(crate) fn is_replay(&self) -> bool {
        self.replay
    }

    /// The step, for pool `pool` with `roster`, for lead `lead_id`.
    #[inline]
    pub(crate) fn build(
        &self,
        pool: &Name,
        roster: &Arc<Roster>,
        lead_id: Option<&str>,
    ) -> PoolStep {
        PoolStep::new(
            pool.clone(),
            roster.clone(),
            self.member,
            self.eligible,
            self.replay,
            self.version,
            self.day,
            lead_id,
        )
    }
}

fn pos(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Chooses a member, reporting every member passed over to `skip`; `None`
/// when nobody is eligible.
// Inlined into its one caller (the evaluator), with `eligible`: out of
// line, the `Ask`, `Round` and `Choice` they pass cost ~150 instructions
// per pool choice (callgrind).
#[inline(always)]
pub(crate) fn choose(ask: &Ask<'_>, mut skip: impl FnMut(u32, SkipReason)) -> Option<Choice> {
    let version = ask.state.map_or(0, |s| s.version);
    // Only capacity periods need the date.
    let periods = if ask.roster.capped() {
        // A copy of the time: `duration_since` takes `&self`, and a
        // reference into the `Ask` made the caller store the whole `Ask` on
        // the stack up front on every choice (~25 instructions, callgrind).
        let now = ask.now;
        Periods::of(
            ask.roster,
            match ask.zone {
                Some(zone) => civil::local_day(zone, timestamp(now)),
                None => now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() / 86_400),
            },
        )
    } else {
        Periods::default()
    };
    let day = periods.day;
    let step = |member: u32, eligible: MemberSet, replay: bool| StepDraft {
        member,
        eligible,
        replay,
        version,
        day,
    };
    let replay = match (ask.state, ask.lead_id) {
        (Some(state), Some(lead_id)) => replayed(ask.roster, state, lead_id, ask.excluded),
        _ => None,
    };
    if let Some((member, current)) = replay {
        return Some(Choice {
            member,
            current,
            eligible_weight: 0,
            eligible: 0,
            step: step(member, MemberSet::default(), true),
            open: None,
        });
    }
    let round = eligible(ask, &periods, &mut skip);
    let (chosen, current, chosen_weight) = round.best?;
    let open = match ask.distribution {
        Distribution::LeastLoaded => Some(round.best_open),
        _ => None,
    };
    if ask.report_not_next {
        report_not_next(ask, &round, chosen, chosen_weight, open, &mut skip);
    }
    Some(Choice {
        member: pos(chosen),
        current,
        eligible_weight: round.total,
        eligible: round.count,
        step: step(pos(chosen), round.eligible, false),
        open,
    })
}

/// The member a lead id was already assigned to by this pool (if still an
/// active member), with its counter.
// Called only with a state and a lead id, and given the fields it reads
// rather than the `Ask`: a call taking `&Ask` on every choice made the
// caller store the whole `Ask` on the stack (callgrind).
fn replayed(
    roster: &Roster,
    state: &PoolState,
    lead_id: &str,
    excluded: &[String],
) -> Option<(u32, i64)> {
    let prev = state.replayed_owner(lead_id)?;
    if excluded.iter().any(|x| **x == *prev) {
        return None;
    }
    let i = roster
        .seats
        .iter()
        .position(|s| s.active && *s.owner == *prev)?;
    Some((pos(i), state.member(prev).current))
}

/// The capacity period keys of the decision day ([`Period::key`]), worked
/// out once per choice and only for a pool with caps. Keyed inside the
/// member walk instead, the month (a civil-date conversion, ~90
/// instructions) was hoisted out of the loop by the compiler and paid on
/// every pool choice, capped or not (callgrind).
#[derive(Default)]
struct Periods {
    day: u64,
    week: u64,
    month: u64,
}

impl Periods {
    fn of(roster: &Roster, day: u64) -> Self {
        let monthly = roster
            .seats
            .iter()
            .any(|s| s.capacity.is_some_and(|c| c.per == Period::Month));
        Periods {
            day,
            week: Period::key(Some(Period::Week), day),
            month: if monthly {
                Period::key(Some(Period::Month), day)
            } else {
                0
            },
        }
    }

    /// [`Period::key`]`(Some(per), day)`.
    fn key(&self, per: Period) -> u64 {
        match per {
            Period::Day => self.day,
            Period::Week => self.week,
            Period::Month => self.month,
        }
    }
}

/// One round of smooth weighted round robin: who is eligible, their total
/// weight, and the best (highest counter after adding its weight).
struct Round {
    eligible: MemberSet,
    count: u32,
    total: u64,
    /// Position, counter after adding its weight, and weight.
    best: Option<(usize, i64, u32)>,
    /// The counters (after adding the weight) of the eligible members among
    /// the first [`CACHED`], so the not-next events need no second state
    /// lookup; members past them are looked up again.
    currents: [i64; CACHED],
    /// The best member's open leads (least-loaded pools).
    best_open: u32,
}

#[inline(always)]
fn eligible(ask: &Ask<'_>, periods: &Periods, skip: &mut impl FnMut(u32, SkipReason)) -> Round {
    let mut round = Round {
        eligible: MemberSet::default(),
        count: 0,
        total: 0,
        best: None,
        currents: [0; CACHED],
        best_open: 0,
    };
    let least_loaded = ask.distribution == Distribution::LeastLoaded;
    for (i, seat) in ask.roster.seats.iter().enumerate() {
        if !seat.active {
            skip(pos(i), SkipReason::Inactive);
            continue;
        }
        // The id as `&str` once per member, not once per lookup.
        let owner: &str = &seat.owner;
        if ask.excluded.iter().any(|x| **x == *owner) {
            skip(pos(i), SkipReason::EarlierAssignee);
            continue;
        }
        if !ask.availability.is_available(owner, ask.now) {
            skip(pos(i), SkipReason::Unavailable);
            continue;
        }
        let rules = ask.seat_rules.get(i);
        if ask.respect_schedules {
            if let Some(schedule) = rules.and_then(|r| r.schedule.as_deref()) {
                if !schedule.is_open(ask.now) {
                    // Why, only for a member found closed: most owners have
                    // no out-of-office dates, and then it is one length check.
                    let why = if schedule.is_out_of_office(ask.now) {
                        SkipReason::OutOfOffice
                    } else {
                        SkipReason::OffShift
                    };
                    skip(pos(i), why);
                    continue;
                }
            }
        }
        let ms = ask.state.map(|s| s.member(owner)).unwrap_or_default();
        if let Some(cap) = seat.capacity {
            let used = if ms.period == periods.key(cap.per) {
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
        let max_open = rules.and_then(|r| r.max_open);
        // Counts are read only where they decide something (a least-loaded
        // pool, an open cap): a round-robin member without a cap asked
        // for its count for nothing (~10 instructions each, callgrind).
        let open = if least_loaded || max_open.is_some() {
            ask.open_leads.open_leads(owner).unwrap_or(0)
        } else {
            0
        };
        if let Some(max) = max_open {
            if open >= max {
                skip(pos(i), SkipReason::AtOpenCap { open, max });
                continue;
            }
        }
        round.eligible.insert(i);
        round.count += 1;
        round.total += u64::from(seat.weight);
        let current = ms.current + i64::from(seat.weight);
        if let Some(slot) = round.currents.get_mut(i) {
            *slot = current;
        }
        let better = match round.best {
            None => true,
            Some((_, c, bw)) => {
                if least_loaded && !same_load(open, seat.weight, round.best_open, bw) {
                    lighter(open, seat.weight, round.best_open, bw)
                } else {
                    // Strictly greater: ties go to the earlier member.
                    current > c
                }
            }
        };
        if better {
            round.best = Some((i, current, seat.weight));
            round.best_open = open;
        }
    }
    round
}

/// How many members' counters [`Round`] keeps from the walk. A pool may
/// have up to 256 members, but room for more costs every choice: with the
/// fresh state of `instr_evaluate` (3 members), 4 measured 5,197
/// instructions for plan_10000/late/trace_on, 8 measured 5,222 and 16
/// 5,224 (callgrind); members past them are looked up again.
const CACHED: usize = 4;

/// Reports every eligible member other than the chosen one, with its counter.
// Inlined into `choose` (its one caller) in each of the evaluator's two
// copies: out of line it cost ~150 instructions per traced pool choice.
#[inline(always)]
fn report_not_next(
    ask: &Ask<'_>,
    round: &Round,
    chosen: usize,
    chosen_weight: u32,
    chosen_open: Option<u32>,
    skip: &mut impl FnMut(u32, SkipReason),
) {
    for (i, seat) in ask.roster.seats.iter().enumerate() {
        if i != chosen && round.eligible.contains(i) {
            if let Some(best) = chosen_open {
                let open = ask.open_leads.open_leads(&seat.owner).unwrap_or(0);
                if !same_load(open, seat.weight, best, chosen_weight) {
                    skip(pos(i), SkipReason::MoreOpenLeads { open });
                    continue;
                }
            }
            let current = match round.currents.get(i) {
                Some(c) => *c,
                None => {
                    ask.state
                        .map(|s| s.member(&seat.owner).current)
                        .unwrap_or_default()
                        + i64::from(seat.weight)
                }
            };
            skip(pos(i), SkipReason::NotNext { current });
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    use crate::pool::roster::{Capacity, Seat};

    fn seat(per: Option<Period>) -> Seat {
        Seat {
            owner: Name::from("a"),
            weight: 1,
            capacity: per.map(|per| Capacity::new(1, per)),
            active: true,
        }
    }

    /// The walk as it was before the counters were kept (the reference for
    /// `one_walk_matches_two_walks`): eligibility first, then a second walk
    /// over the members that looks every counter up again.
    fn two_walks(
        ask: &Ask<'_>,
        periods: &Periods,
        skip: &mut impl FnMut(u32, SkipReason),
    ) -> Option<(usize, i64, u64, u32, MemberSet, Option<u32>)> {
        let least_loaded = ask.distribution == Distribution::LeastLoaded;
        let (mut set, mut count, mut total) = (MemberSet::default(), 0u32, 0u64);
        let mut best: Option<(usize, i64)> = None;
        let mut best_open = 0;
        for (i, seat) in ask.roster.seats.iter().enumerate() {
            if !seat.active {
                skip(pos(i), SkipReason::Inactive);
                continue;
            }
            let owner: &str = &seat.owner;
            if ask.excluded.iter().any(|x| **x == *owner) {
                skip(pos(i), SkipReason::EarlierAssignee);
                continue;
            }
            if !ask.availability.is_available(owner, ask.now) {
                skip(pos(i), SkipReason::Unavailable);
                continue;
            }
            let rules = ask.seat_rules.get(i);
            let ms = ask.state.map(|s| s.member(owner)).unwrap_or_default();
            if let Some(cap) = seat.capacity {
                let used = if ms.period == Period::key(Some(cap.per), periods.day) {
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
            let open = ask.open_leads.open_leads(owner).unwrap_or(0);
            if let Some(max) = rules.and_then(|r| r.max_open) {
                if open >= max {
                    skip(pos(i), SkipReason::AtOpenCap { open, max });
                    continue;
                }
            }
            set.insert(i);
            count += 1;
            total += u64::from(seat.weight);
            let current = ms.current + i64::from(seat.weight);
            let better = match best {
                None => true,
                Some((b, c)) => {
                    let bw = ask.roster.seats.get(b).map_or(1, |s| s.weight);
                    if least_loaded && !same_load(open, seat.weight, best_open, bw) {
                        lighter(open, seat.weight, best_open, bw)
                    } else {
                        current > c
                    }
                }
            };
            if better {
                best = Some((i, current));
                best_open = open;
            }
        }
        let (chosen, current) = best?;
        let chosen_open = least_loaded.then_some(best_open);
        if ask.report_not_next {
            let chosen_weight = ask.roster.seats.get(chosen).map_or(1, |s| s.weight);
            for (i, seat) in ask.roster.seats.iter().enumerate() {
                if i != chosen && set.contains(i) {
                    if let Some(best) = chosen_open {
                        let open = ask.open_leads.open_leads(&seat.owner).unwrap_or(0);
                        if !same_load(open, seat.weight, best, chosen_weight) {
                            skip(pos(i), SkipReason::MoreOpenLeads { open });
                            continue;
                        }
                    }
                    let current = ask
                        .state
                        .map(|s| s.member(&seat.owner).current)
                        .unwrap_or_default()
                        + i64::from(seat.weight);
                    skip(pos(i), SkipReason::NotNext { current });
                }
            }
        }
        Some((chosen, current, total, count, set, chosen_open))
    }

    /// One member of a generated roster: weight, cap (max, period), active,
    /// away, excluded, open leads, open cap, stored counter (current,
    /// period offset from the day, in period).
    type Member = (
        u32,
        Option<(u32, u8)>,
        bool,
        bool,
        bool,
        Option<u32>,
        Option<u32>,
        Option<(i64, u8, u32)>,
    );

    fn member() -> impl Strategy<Value = Member> {
        (
            0u32..4,
            proptest::option::of((0u32..3, 0u8..3)),
            proptest::bool::weighted(0.85),
            proptest::bool::weighted(0.15),
            proptest::bool::weighted(0.1),
            proptest::option::of(0u32..4),
            proptest::option::weighted(0.2, 0u32..4),
            proptest::option::weighted(0.7, (-6i64..6, 0u8..2, 0u32..3)),
        )
    }

    proptest! {
        /// The one walk (counters kept for the not-next events) reports the
        /// same events in the same order, and chooses the same member with
        /// the same numbers, as the two walks it replaced, on rosters
        /// longer and shorter than the counters it keeps.
        #[test]
        fn one_walk_matches_two_walks(
            members in proptest::collection::vec(member(), 0..10),
            least_loaded in any::<bool>(),
            stored in any::<bool>(),
            report in any::<bool>(),
            day in 18_000u64..22_000,
        ) {
            let pers = [Period::Day, Period::Week, Period::Month];
            let seats: Vec<Seat> = members
                .iter()
                .enumerate()
                .map(|(i, m)| Seat {
                    owner: Name::from(format!("o{i}").as_str()),
                    weight: m.0,
                    capacity: m.1.map(|(max, per)| Capacity::new(max, pers[usize::from(per)])),
                    active: m.2,
                })
                .collect();
            let roster = Arc::new(Roster { seats: seats.into() });
            let periods = Periods::of(&roster, day);
            let id = |i: usize| format!("o{i}");
            let away = crate::pool::AwayList::new(
                members.iter().enumerate().filter(|(_, m)| m.3).map(|(i, _)| id(i)),
            );
            let excluded: Vec<String> =
                members.iter().enumerate().filter(|(_, m)| m.4).map(|(i, _)| id(i)).collect();
            let open = crate::pool::OpenLeadCounts::new(
                members.iter().enumerate().filter_map(|(i, m)| m.5.map(|n| (id(i), n))),
            );
            let seat_rules: Vec<SeatRules> = members
                .iter()
                .map(|m| SeatRules { schedule: None, max_open: m.6 })
                .collect();
            let mut state = PoolState::default();
            for (i, m) in members.iter().enumerate() {
                if let Some((current, offset, in_period)) = m.7 {
                    let per = m.1.map(|(_, p)| pers[usize::from(p)]);
                    let ms = state.members.entry(id(i)).or_default();
                    ms.current = current;
                    ms.period = Period::key(per, day) + u64::from(offset);
                    ms.in_period = in_period;
                }
            }
            let ask = Ask {
                roster: &roster,
                state: stored.then_some(&state),
                lead_id: None,
                now: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(day * 86_400),
                availability: &away,
                report_not_next: report,
                seat_rules: &seat_rules,
                respect_schedules: false,
                zone: None,
                distribution: if least_loaded {
                    Distribution::LeastLoaded
                } else {
                    Distribution::RoundRobin
                },
                open_leads: &open,
                excluded: &excluded,
            };
            let mut got = Vec::new();
            let choice = choose(&ask, |m, r| got.push((m, r)));
            let mut want = Vec::new();
            let reference = two_walks(&ask, &periods, &mut |m, r| want.push((m, r)));
            prop_assert_eq!(&got, &want);
            match (choice, reference) {
                (None, None) => {}
                (Some(c), Some((member, current, total, count, set, open))) => {
                    prop_assert_eq!(c.member, pos(member));
                    prop_assert_eq!(c.current, current);
                    prop_assert_eq!(c.eligible_weight, total);
                    prop_assert_eq!(c.eligible, count);
                    prop_assert_eq!(c.step.eligible, set);
                    prop_assert_eq!(c.step.member, pos(member));
                    prop_assert_eq!(c.step.day, if roster.capped() { day } else { 0 });
                    prop_assert_eq!(c.open, open);
                }
                (c, r) => prop_assert!(false, "chose {:?}, reference {:?}", c.map(|c| c.member), r),
            }
        }

        /// The keys worked out once per choice are the ones `Period::key`
        /// gives, for every period a capped roster uses.
        #[test]
        fn periods_match_period_key(day in 0u64..200_000, monthly in any::<bool>()) {
            let mut seats = vec![seat(Some(Period::Day)), seat(Some(Period::Week)), seat(None)];
            if monthly {
                seats.push(seat(Some(Period::Month)));
            }
            let roster = Roster { seats: seats.into() };
            let periods = Periods::of(&roster, day);
            prop_assert_eq!(periods.day, day);
            let mut pers = vec![Period::Day, Period::Week];
            if monthly {
                pers.push(Period::Month);
            }
            for per in pers {
                prop_assert_eq!(periods.key(per), Period::key(Some(per), day));
            }
        }
    }
}
