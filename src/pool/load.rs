//! Open-lead counts for least-loaded distribution and open-lead caps: the
//! [`OpenLeads`] counts the caller passes in the [`Facts`](crate::Facts), a
//! ready-made map, and the async [`LoadSource`] a
//! [`LeadRouter`](crate::LeadRouter) asks for them (your CRM's or queue's
//! count of unworked leads), with an in-memory one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

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

    /// Whether this holds counts at all (default `true`). `false` for "no
    /// counts" — the default facts, or a [`LoadSource`] that failed — so
    /// least-loaded pools choose by rotation and the trace says why (see
    /// the [module docs](crate::pool#when-open-lead-counts-are-missing)).
    fn is_known(&self) -> bool {
        true
    }
}

impl<T: OpenLeads + ?Sized> OpenLeads for Arc<T> {
    fn open_leads(&self, owner: &str) -> Option<u32> {
        (**self).open_leads(owner)
    }
    fn is_known(&self) -> bool {
        (**self).is_known()
    }
}

impl<T: OpenLeads + ?Sized> OpenLeads for &T {
    fn open_leads(&self, owner: &str) -> Option<u32> {
        (**self).open_leads(owner)
    }
    fn is_known(&self) -> bool {
        (**self).is_known()
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

impl OpenLeadCounts {
    /// How many owners have a count.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether no owner has a count.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The most owners one [`LoadSource::open_lead_counts`] call is asked about: a
/// pool has at most 256 members; a policy's load owners are capped here
/// so one request stays bounded (owners past it count as unknown, 0).
pub const MAX_LOAD_OWNERS: usize = 4096;

/// A [`LoadSource`] could not answer (the CRM is down, the query timed out,
/// the answer could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("open-lead counts unavailable: {message}")]
#[non_exhaustive]
pub struct LoadError {
    /// What went wrong.
    pub message: String,
}

impl LoadError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        LoadError {
            message: message.into(),
        }
    }
}

/// Where a [`LeadRouter`](crate::LeadRouter) gets open-lead counts: your
/// adapter to the CRM's or queue's count of each owner's unworked leads
/// (a HubSpot search on `hs_lead_status`, a Salesforce `COUNT()` grouped by
/// `OwnerId`, your own table).
///
/// The router asks once per route, for the owners whose counts the policy
/// can read ([`Policy::load_owners`](crate::Policy::load_owners): members of
/// least-loaded pools and of pools with `max_open` caps), within its
/// budget, and not at all when no pool uses counts. An owner missing from
/// the answer has none open. When the source fails or is too slow, the
/// route goes on without counts (see the
/// [module docs](crate::pool#when-open-lead-counts-are-missing)).
///
/// Methods are async and runtime-agnostic; their futures must be `Send`.
/// [`InMemoryOpenLeads`] is one in process memory; fixed
/// [`OpenLeadCounts`] are one too.
///
/// ```
/// use leadroute::pool::{LoadError, LoadSource, OpenLeadCounts};
///
/// /// A source whose backend is down (a test double).
/// struct Down;
///
/// impl LoadSource for Down {
///     async fn open_lead_counts(&self, _owners: &[&str]) -> Result<OpenLeadCounts, LoadError> {
///         Err(LoadError::new("connection refused"))
///     }
/// }
/// let err = pollster::block_on(Down.open_lead_counts(&["ana"])).unwrap_err();
/// assert_eq!(err.to_string(), "open-lead counts unavailable: connection refused");
/// let fixed = OpenLeadCounts::new([("ana", 3)]);
/// let counts = pollster::block_on(fixed.open_lead_counts(&["ana", "bob"])).unwrap();
/// assert_eq!(counts, OpenLeadCounts::new([("ana", 3)]));
/// ```
pub trait LoadSource: Send + Sync {
    /// Open leads of each of `owners` (policy owner ids, each once): one
    /// round trip for all of them. Owners missing from the answer have
    /// none open; owners not asked about are ignored.
    fn open_lead_counts(
        &self,
        owners: &[&str],
    ) -> impl Future<Output = Result<OpenLeadCounts, LoadError>> + Send;
}

impl<T: LoadSource + ?Sized> LoadSource for Arc<T> {
    fn open_lead_counts(
        &self,
        owners: &[&str],
    ) -> impl Future<Output = Result<OpenLeadCounts, LoadError>> + Send {
        (**self).open_lead_counts(owners)
    }
}

/// Fixed counts are a load source: the asked owners' counts.
impl LoadSource for OpenLeadCounts {
    fn open_lead_counts(
        &self,
        owners: &[&str],
    ) -> impl Future<Output = Result<OpenLeadCounts, LoadError>> + Send {
        std::future::ready(Ok(pick(&self.0, owners)))
    }
}

fn pick(counts: &HashMap<String, u32>, owners: &[&str]) -> OpenLeadCounts {
    OpenLeadCounts(
        owners
            .iter()
            .filter_map(|o| counts.get(*o).map(|n| ((*o).to_owned(), *n)))
            .collect(),
    )
}

/// Open-lead counts in process memory, shared and updated as leads are
/// assigned and worked: a [`LoadSource`] for single-process services and
/// tests, and an [`OpenLeads`] for direct evaluation.
///
/// ```
/// use leadroute::pool::{InMemoryOpenLeads, LoadSource, OpenLeadCounts, OpenLeads};
///
/// let open = InMemoryOpenLeads::new();
/// open.set("ana", 3);
/// open.add("ana", 1); // assigned one more
/// open.add("bob", 2);
/// open.add("bob", -5); // worked: never below zero
/// assert_eq!(open.open_leads("ana"), Some(4));
/// assert_eq!(open.open_leads("bob"), Some(0));
/// let asked = pollster::block_on(open.open_lead_counts(&["ana"])).unwrap();
/// assert_eq!(asked, OpenLeadCounts::new([("ana", 4)]));
/// ```
#[derive(Debug, Default)]
pub struct InMemoryOpenLeads {
    counts: RwLock<HashMap<String, u32>>,
}

impl InMemoryOpenLeads {
    /// No counts yet (everyone has none open).
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets an owner's count.
    pub fn set(&self, owner: impl Into<String>, open: u32) {
        self.write().insert(owner.into(), open);
    }
    /// Adds `delta` to an owner's count (negative when leads were worked),
    /// saturating at 0 and `u32::MAX`.
    pub fn add(&self, owner: &str, delta: i64) {
        let mut counts = self.write();
        let slot = counts.entry(owner.to_owned()).or_insert(0);
        let next = i64::from(*slot).saturating_add(delta);
        *slot = u32::try_from(next.max(0)).unwrap_or(u32::MAX);
    }
    /// Every count, as a map.
    pub fn snapshot(&self) -> OpenLeadCounts {
        OpenLeadCounts(self.read().clone())
    }

    // A panic elsewhere cannot leave a half-written count: every write is a
    // single insert, so a poisoned lock's data is still consistent.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, u32>> {
        self.counts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, u32>> {
        self.counts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl OpenLeads for InMemoryOpenLeads {
    fn open_leads(&self, owner: &str) -> Option<u32> {
        self.read().get(owner).copied()
    }
}

impl LoadSource for InMemoryOpenLeads {
    fn open_lead_counts(
        &self,
        owners: &[&str],
    ) -> impl Future<Output = Result<OpenLeadCounts, LoadError>> + Send {
        std::future::ready(Ok(pick(&self.read(), owners)))
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
    /// counts as 0; with no counts at all the pool chooses by rotation
    /// (see the [module docs](crate::pool#when-open-lead-counts-are-missing)).
    LeastLoaded,
}

/// No counts at all: everybody has none open.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoOpenLeads;

impl OpenLeads for NoOpenLeads {
    fn open_leads(&self, _owner: &str) -> Option<u32> {
        None
    }
    fn is_known(&self) -> bool {
        false
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
