//! A pool's members as the rotation sees them: owner, weight, capacity.
//! Compiled from the policy once and shared (`Arc`) by every decision and
//! [`PoolStep`](super::PoolStep) that needs it.

use serde::{Deserialize, Serialize};

use crate::name::Name;

/// At most `max` leads per `per`.
///
/// JSON and TOML: `{"max": 20, "per": "day"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Capacity {
    /// Most leads in one period.
    pub max: u32,
    /// The period (local to the pool's zone).
    pub per: Period,
}

impl Capacity {
    /// At most `max` leads per `per`.
    pub fn new(max: u32, per: Period) -> Self {
        Capacity { max, per }
    }
}

/// A capacity period, counted in the pool's time zone (`timezone`, else
/// its schedule's zone, else UTC): days start at local midnight, weeks on
/// Monday, months on the 1st.
///
/// JSON and TOML: `"day"`, `"week"` or `"month"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Period {
    /// 00:00–24:00 local.
    Day,
    /// Monday 00:00 local to the next Monday.
    Week,
    /// The 1st 00:00 local to the next 1st.
    Month,
}

impl Period {
    /// The period a day (local days since the Unix epoch) belongs to: the
    /// day itself, ISO-style weeks (Monday start) or calendar months since
    /// the epoch.
    pub(crate) fn key(per: Option<Period>, day: u64) -> u64 {
        match per {
            // 1970-01-01 was a Thursday: shift by 3 days so weeks start on Monday.
            Some(Period::Week) => (day + 3) / 7,
            Some(Period::Month) => crate::schedule::civil::month_since_epoch(day),
            Some(Period::Day) | None => day,
        }
    }
}

/// One member of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seat {
    /// The owner id.
    pub(crate) owner: Name,
    pub(crate) weight: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) capacity: Option<Capacity>,
    /// Inactive owners stay in the roster (their counters are kept) but are
    /// never chosen.
    pub(crate) active: bool,
}

/// A pool's members, in tie-break order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Roster {
    pub(crate) seats: Box<[Seat]>,
}

impl Roster {
    /// Whether any member has a capacity cap (else the date is never needed).
    pub(crate) fn capped(&self) -> bool {
        self.seats.iter().any(|s| s.capacity.is_some())
    }

    pub(crate) fn seat(&self, i: u32) -> Option<&Seat> {
        self.seats.get(i as usize)
    }
}

/// The most members a pool may have (eligibility is a fixed-size bitset, so
/// evaluation never allocates for it). Documented on
/// [`PoolSpec::members`](crate::policy::spec::PoolSpec::members).
pub(crate) const MAX_POOL_MEMBERS: usize = 256;

/// A set of seat positions (a bitset over [`MAX_POOL_MEMBERS`]).
/// Serializes as the ascending list of positions.
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
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_POOL_MEMBERS).filter(|i| self.contains(*i))
    }
}

impl Serialize for MemberSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.positions())
    }
}

impl<'de> Deserialize<'de> for MemberSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let positions = Vec::<usize>::deserialize(d)?;
        let mut set = MemberSet::default();
        for p in positions {
            if p >= MAX_POOL_MEMBERS {
                return Err(serde::de::Error::custom(format_args!(
                    "member position {p} is beyond the {MAX_POOL_MEMBERS} a pool may have"
                )));
            }
            set.insert(p);
        }
        Ok(set)
    }
}
