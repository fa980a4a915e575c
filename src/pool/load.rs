//! Open-lead counts for least-loaded distribution and open-lead caps: the
//! [`OpenLeads`] source the caller passes in the [`Facts`](crate::Facts),
//! and a ready-made map.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;

/// How many leads each owner has open right now (not yet worked, per your
/// CRM or queue), for pools with `"distribution": "least_loaded"` and for
/// `max_open` caps.
///
/// Implement it over your CRM's counts; [`OpenLeadCounts`] is a ready-made
/// map. An owner without a count has none open.
pub trait OpenLeads: Send + Sync {
    /// Open leads of `owner` (a policy owner id), if known.
    fn open_leads(&self, owner: &str) -> Option<u32>;
}

impl<T: OpenLeads + ?Sized> OpenLeads for Arc<T> {
    fn open_leads(&self, owner: &str) -> Option<u32> {
        (**self).open_leads(owner)
    }
}

impl<T: OpenLeads + ?Sized> OpenLeads for &T {
    fn open_leads(&self, owner: &str) -> Option<u32> {
        (**self).open_leads(owner)
    }
}

impl std::fmt::Debug for dyn OpenLeads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn OpenLeads")
    }
}

/// Open-lead counts by owner id.
///
/// JSON: `{"ana": 3, "bob": 1}`.
///
/// ```
/// use leadroute::pool::{OpenLeadCounts, OpenLeads};
///
/// let counts = OpenLeadCounts::new([("ana", 3), ("bob", 1)]);
/// assert_eq!(counts.open_leads("ana"), Some(3));
/// assert_eq!(counts.open_leads("cara"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OpenLeadCounts(HashMap<String, u32>);

impl OpenLeadCounts {
    /// Builds the map.
    pub fn new<I, S>(counts: I) -> Self
    where
        I: IntoIterator<Item = (S, u32)>,
        S: Into<String>,
    {
        OpenLeadCounts(counts.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// Sets an owner's count.
    pub fn set(&mut self, owner: impl Into<String>, open: u32) {
        self.0.insert(owner.into(), open);
    }
}

impl OpenLeads for OpenLeadCounts {
    fn open_leads(&self, owner: &str) -> Option<u32> {
        self.0.get(owner).copied()
    }
}

/// How a pool picks among its eligible members.
///
/// JSON and TOML: `"round_robin"` (the default) or `"least_loaded"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Distribution {
    /// Smooth weighted round robin (3:1 gives `A A B A`).
    #[default]
    RoundRobin,
    /// The member with the fewest open leads for its weight (open ÷ weight,
    /// counts from [`Facts::open_leads`](crate::Facts)); ties go to the
    /// member round robin would pick. A member whose count is unknown
    /// counts as 0.
    LeastLoaded,
}

/// No counts at all: everybody has none open.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoOpenLeads;

impl OpenLeads for NoOpenLeads {
    fn open_leads(&self, _owner: &str) -> Option<u32> {
        None
    }
}

pub(crate) static NO_OPEN_LEADS: NoOpenLeads = NoOpenLeads;

/// A seat's time and load rules, compiled from the policy (parallel to the
/// roster; kept out of it so a [`PoolStep`](super::PoolStep)'s JSON stays
/// as it was).
#[derive(Debug, Clone, Default)]
pub(crate) struct SeatRules {
    /// The member's working hours (its own, else the pool's).
    pub(crate) schedule: Option<Arc<Schedule>>,
    /// The cap on open leads.
    pub(crate) max_open: Option<u32>,
}

/// Whether load `a` for weight `wa` is lighter than `b` for `wb`
/// (`a / wa < b / wb`, in integers).
pub(crate) fn lighter(a: u32, wa: u32, b: u32, wb: u32) -> bool {
    u64::from(a) * u64::from(wb.max(1)) < u64::from(b) * u64::from(wa.max(1))
}

/// Whether two loads are equal for their weights.
pub(crate) fn same_load(a: u32, wa: u32, b: u32, wb: u32) -> bool {
    u64::from(a) * u64::from(wb.max(1)) == u64::from(b) * u64::from(wa.max(1))
}
