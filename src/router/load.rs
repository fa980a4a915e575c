//! The router's open-lead counts: the caller's [`LoadSource`] behind a
//! pointer, asked for the owners the policy reads counts for, within the
//! lookup budget, concurrently with the CRM lookups.

use std::future::Future;
use std::pin::Pin;

use crate::clock::{Clock, within};
use crate::crm::records::LookupStatus;
use crate::policy::compiled::Policy;
use crate::pool::load::{LoadError, LoadSource, OpenLeadCounts};

type LoadFuture<'a> = Pin<Box<dyn Future<Output = Result<OpenLeadCounts, LoadError>> + Send + 'a>>;

/// A [`LoadSource`] behind a pointer, so the router needs no type parameter
/// for it (one boxed future per route, next to a network call).
pub(crate) trait DynLoadSource: Send + Sync {
    fn open_lead_counts_boxed<'a>(&'a self, owners: &'a [&'a str]) -> LoadFuture<'a>;
}

impl<L: LoadSource> DynLoadSource for L {
    fn open_lead_counts_boxed<'a>(&'a self, owners: &'a [&'a str]) -> LoadFuture<'a> {
        Box::pin(self.open_lead_counts(owners))
    }
}

/// How asking for counts went: the status, the counts (when found) and
/// the source's error (when it failed).
pub(crate) type Loaded = (LookupStatus, Option<OpenLeadCounts>, Option<LoadError>);

/// Asks `source` for the open leads of the policy's
/// [load owners](Policy::load_owners) within `budget`. Skipped without a
/// source or when no pool reads counts; never fails (a failure or silence
/// is a status, and the pools choose by rotation).
pub(crate) async fn load<K: Clock>(
    source: Option<&dyn DynLoadSource>,
    policy: &Policy,
    clock: &K,
    budget: std::time::Duration,
) -> Loaded {
    let Some(source) = source else {
        return (LookupStatus::Skipped, None, None);
    };
    let owners = policy.load_owners();
    if owners.is_empty() {
        return (LookupStatus::Skipped, None, None);
    }
    match within(clock, budget, source.open_lead_counts_boxed(&owners)).await {
        None => (LookupStatus::TimedOut, None, None),
        Some(Err(e)) => (LookupStatus::Failed, None, Some(e)),
        Some(Ok(counts)) => (LookupStatus::Found, Some(counts), None),
    }
}

impl std::fmt::Debug for dyn DynLoadSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn LoadSource")
    }
}
