//! Who can take a lead right now: the [`Availability`] adapter trait and two
//! ready-made sources.

use std::collections::HashSet;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// What the caller knows about each owner's availability right now
/// (out-of-office, working hours, PTO, a rep's "away" toggle).
///
/// Implement it over your HR or calendar data; [`AwayList`] is a ready-made
/// set of owner ids. Inactive owners (policy data) are skipped regardless.
/// Pool members are checked. An owner named directly by a rule, or a
/// record's owner, is checked too, but only an action with
/// `check_availability` passes them over when away; otherwise they keep
/// the lead and the decision says they were away
/// ([`RouteDecision::owner_unavailable`](crate::RouteDecision::owner_unavailable)).
pub trait Availability: Send + Sync {
    /// Whether `owner` (a policy owner id) can take a lead at `now`.
    fn is_available(&self, owner: &str, now: SystemTime) -> bool;
}

impl<T: Availability + ?Sized> Availability for std::sync::Arc<T> {
    fn is_available(&self, owner: &str, now: SystemTime) -> bool {
        (**self).is_available(owner, now)
    }
}

impl<T: Availability + ?Sized> Availability for &T {
    fn is_available(&self, owner: &str, now: SystemTime) -> bool {
        (**self).is_available(owner, now)
    }
}

/// A source behind a lock is a source: hand a router an
/// `Arc<RwLock<AwayUntil>>` (or any source) once and replace what it holds
/// while it runs — e.g. away marks shared by several replicas, reloaded in
/// the background from a shared store (see
/// [`LeadRouter::mark_away`](crate::LeadRouter::mark_away)). Evaluation only
/// takes the read lock for a lookup.
///
/// ```
/// use leadroute::Availability;
/// use leadroute::pool::AwayUntil;
/// use std::sync::{Arc, RwLock};
/// use std::time::{Duration, SystemTime};
///
/// let shared = Arc::new(RwLock::new(AwayUntil::default()));
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
/// assert!(shared.is_available("ana", now));
/// // A background task reloads the marks every replica writes.
/// let mut fresh = AwayUntil::default();
/// fresh.insert("ana", now + Duration::from_secs(3_600));
/// *shared.write().unwrap() = fresh;
/// assert!(!shared.is_available("ana", now));
/// ```
impl<T: Availability> Availability for std::sync::RwLock<T> {
    fn is_available(&self, owner: &str, now: SystemTime) -> bool {
        self.read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_available(owner, now)
    }
}

impl std::fmt::Debug for dyn Availability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Availability")
    }
}

/// Everyone is available.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllAvailable;

impl Availability for AllAvailable {
    fn is_available(&self, _owner: &str, _now: SystemTime) -> bool {
        true
    }
}

pub(crate) static ALL_AVAILABLE: AllAvailable = AllAvailable;

/// A set of owner ids who are away.
///
/// ```
/// use leadroute::Availability;
/// use leadroute::pool::AwayList;
/// use std::time::SystemTime;
///
/// let away = AwayList::new(["bob"]);
/// assert!(!away.is_available("bob", SystemTime::UNIX_EPOCH));
/// assert!(away.is_available("ana", SystemTime::UNIX_EPOCH));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AwayList(HashSet<String>);

impl AwayList {
    /// Builds the list.
    pub fn new<I, S>(owners: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AwayList(owners.into_iter().map(Into::into).collect())
    }
    /// Marks an owner away.
    pub fn insert(&mut self, owner: impl Into<String>) {
        self.0.insert(owner.into());
    }
    /// Marks an owner back.
    pub fn remove(&mut self, owner: &str) {
        self.0.remove(owner);
    }
    /// Whether the owner is away.
    pub fn contains(&self, owner: &str) -> bool {
        self.0.contains(owner)
    }
}

impl Availability for AwayList {
    fn is_available(&self, owner: &str, _now: SystemTime) -> bool {
        !self.0.contains(owner)
    }
}

/// Available only when both sources say so: combine the policy's
/// schedules ([`Policy::schedule_availability`](crate::Policy::schedule_availability))
/// with your own (calendar out-of-office, a rep's "away" toggle), or any two
/// sources. Nest it for more.
///
/// ```
/// use leadroute::Availability;
/// use leadroute::pool::{AllOf, AwayList};
/// use std::time::SystemTime;
///
/// let both = AllOf(AwayList::new(["bob"]), AwayList::new(["cara"]));
/// assert!(!both.is_available("bob", SystemTime::UNIX_EPOCH));
/// assert!(!both.is_available("cara", SystemTime::UNIX_EPOCH));
/// assert!(both.is_available("ana", SystemTime::UNIX_EPOCH));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AllOf<A, B>(pub A, pub B);

impl<A: Availability, B: Availability> Availability for AllOf<A, B> {
    fn is_available(&self, owner: &str, now: SystemTime) -> bool {
        self.0.is_available(owner, now) && self.1.is_available(owner, now)
    }
}

/// Owners away until a given time: what a reassignment's "mark the
/// non-responder unavailable for a period" records. An owner is available
/// again from `until` on.
///
/// JSON: `{"bob": {"secs_since_epoch": …, "nanos_since_epoch": …}}` (serde's
/// `SystemTime`).
///
/// ```
/// use leadroute::Availability;
/// use leadroute::pool::AwayUntil;
/// use std::time::{Duration, SystemTime};
///
/// let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
/// let mut away = AwayUntil::default();
/// away.insert("bob", t + Duration::from_secs(3_600));
/// assert!(!away.is_available("bob", t));
/// assert!(away.is_available("bob", t + Duration::from_secs(3_600)));
/// assert!(away.is_available("ana", t));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AwayUntil(std::collections::BTreeMap<String, SystemTime>);

impl AwayUntil {
    /// Marks `owner` away until `until` (a later time than one already set
    /// wins; an earlier one is ignored).
    pub fn insert(&mut self, owner: impl Into<String>, until: SystemTime) {
        let slot = self.0.entry(owner.into()).or_insert(until);
        if until > *slot {
            *slot = until;
        }
    }
    /// Until when `owner` is away, if marked.
    pub fn until(&self, owner: &str) -> Option<SystemTime> {
        self.0.get(owner).copied()
    }
    /// Forgets every mark that ended at or before `now`.
    pub fn expire(&mut self, now: SystemTime) {
        self.0.retain(|_, until| *until > now);
    }
}

impl Availability for AwayUntil {
    fn is_available(&self, owner: &str, now: SystemTime) -> bool {
        self.0.get(owner).is_none_or(|until| now >= *until)
    }
}
