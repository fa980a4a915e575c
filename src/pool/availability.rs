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
/// Pool members are checked; owners named directly by a rule are not.
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
