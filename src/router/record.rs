//! Recording pool steps: the load → evaluate → compare-and-swap loop
//! ([`decide_and_record`]) and the router's local copy of pool states that
//! keeps rotation fair while the store is down.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::report::{PoolStoreFailure, PoolStoreFailureKind};
use crate::decision::RouteDecision;
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::policy::compiled::Policy;
use crate::pool::state::PoolStates;
use crate::pool::store::PoolStore;

/// How many compare-and-swaps [`decide_and_record`] tries before it reports
/// contention.
///
/// [`LeadRouter`](super::LeadRouter) allows [`ROUTER_RECORD_ATTEMPTS`]
/// (1,024) instead, within its pool budget: on one pool shared by *k* busy
/// routers each round of compare-and-swaps has one winner, so a count of 16
/// gives up on a route with probability about ((k − 1)/k)^16 (1 % at 4
/// routers, 36 % at 16) even though the store is healthy, and the route
/// would be decided outside the shared counts.
pub const RECORD_ATTEMPTS: u32 = 16;

/// How many compare-and-swaps [`LeadRouter`](super::LeadRouter) tries
/// before it reports contention (its pool budget, 1 s by default, usually
/// ends a contended loop first). The count still matters for a store that
/// answers at once, which a time budget cannot interrupt.
pub const ROUTER_RECORD_ATTEMPTS: u32 = 1024;

/// Why [`decide_and_record`] could not record a pool step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError<E: std::error::Error + 'static> {
    /// The pool store failed loading or replacing a pool's state.
    #[error("pool store error on pool `{pool}`: {error}")]
    Store {
        /// The pool.
        pool: String,
        /// The store's error.
        #[source]
        error: E,
    },
    /// Other replicas kept updating the pool between our read and write.
    #[error("pool `{pool}` changed under us {attempts} times in a row; giving up")]
    Contention {
        /// The pool.
        pool: String,
        /// How many compare-and-swaps failed.
        attempts: u32,
    },
}

impl<E: std::error::Error + 'static> RecordError<E> {
    /// The pool whose state could not be loaded or replaced.
    pub fn pool(&self) -> &str {
        match self {
            RecordError::Store { pool, .. } | RecordError::Contention { pool, .. } => pool,
        }
    }

    /// The same failure as data, for [`Routed::pool_store`](super::Routed::pool_store)
    /// and the `pool_store_failed` event.
    pub fn to_failure(&self) -> PoolStoreFailure {
        match self {
            RecordError::Store { pool, error } => PoolStoreFailure::new(
                pool.as_str(),
                PoolStoreFailureKind::StoreError,
                error.to_string(),
            ),
            RecordError::Contention { pool, .. } => PoolStoreFailure::new(
                pool.as_str(),
                PoolStoreFailureKind::Contention,
                self.to_string(),
            ),
        }
    }
}

/// Evaluates and records the decision's pool step in `store`, atomically:
/// load the pool's state, evaluate, compare-and-swap; on a concurrent update,
/// reload and evaluate again (at most [`RECORD_ATTEMPTS`] compare-and-swaps).
/// A replay of a lead id the pool already assigned writes nothing.
///
/// States in `facts.pools` are taken as the starting guess (the
/// compare-and-swap corrects a stale one); pools missing there are loaded.
///
/// This is the loop [`LeadRouter`](super::LeadRouter) runs; call it directly
/// when you route without a router, or drive
/// [`PoolStep::apply`](crate::pool::PoolStep::apply) inside your own
/// transaction instead.
///
/// ```
/// use leadroute::pool::InMemoryPoolStore;
/// use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
/// use leadroute::router::decide_and_record;
/// use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
///
/// let spec = PolicySpec::new("p", "1")
///     .owner(OwnerSpec::new("ana", "Ana"))
///     .owner(OwnerSpec::new("bob", "Bob"))
///     .pool(PoolSpec::new("team").member("ana", 1).member("bob", 1))
///     .fallback(ActionSpec::pool("team"));
/// let policy = compile(&spec).unwrap();
/// let store = InMemoryPoolStore::new();
/// let lead = Normalizer::default().normalize(&LeadInput::from_email("x@acme.com")).unwrap().lead;
/// let first = pollster::block_on(decide_and_record(&policy, &lead, &Facts::at_unix(0), &store)).unwrap();
/// let second = pollster::block_on(decide_and_record(&policy, &lead, &Facts::at_unix(0), &store)).unwrap();
/// assert_eq!((first.owner_id(), second.owner_id()), (Some("ana"), Some("bob")));
/// assert_eq!(store.get("team").version, 2);
/// ```
pub async fn decide_and_record<S: PoolStore>(
    policy: &Policy,
    lead: &Lead,
    facts: &Facts<'_>,
    store: &S,
) -> Result<RouteDecision, RecordError<S::Error>> {
    let mut states = facts.pools.clone();
    record(
        policy,
        lead,
        facts,
        store,
        &mut states,
        &[],
        RECORD_ATTEMPTS,
    )
    .await
}

/// [`decide_and_record`] over `states`, which ends up holding every state
/// the store returned or accepted (plus the starting guesses not replaced),
/// giving up after `attempts` lost compare-and-swaps.
pub(crate) async fn record<S: PoolStore>(
    policy: &Policy,
    lead: &Lead,
    facts: &Facts<'_>,
    store: &S,
    states: &mut PoolStates,
    excluded: &[String],
    attempts: u32,
) -> Result<RouteDecision, RecordError<S::Error>> {
    let mut failures = 0;
    loop {
        let decision = policy.evaluate_excluding(lead, &facts.pools(states), excluded);
        let Some(step) = decision.pool_step() else {
            return Ok(decision);
        };
        let pool = step.pool();
        let store_error = |error| RecordError::Store {
            pool: pool.to_owned(),
            error,
        };
        let Some(state) = states.get(pool) else {
            // Decide again on the stored state rather than a fresh one.
            let loaded = store.load(pool).await.map_err(store_error)?;
            states.insert(pool, loaded);
            continue;
        };
        if step.is_replay() {
            return Ok(decision);
        }
        if let Ok(next) = step.next_state(state) {
            if store
                .compare_and_swap(pool, step.expected_version(), next)
                .await
                .map_err(store_error)?
            {
                // Keep what the store now holds: the same step, applied here.
                if let Some(state) = states.get_mut(pool) {
                    let _ = step.apply(state);
                }
                return Ok(decision);
            }
        }
        failures += 1;
        if failures >= attempts {
            return Err(RecordError::Contention {
                pool: pool.to_owned(),
                attempts: failures,
            });
        }
        let loaded = store.load(pool).await.map_err(store_error)?;
        states.insert(pool, loaded);
    }
}

/// A router's own copy of pool states: each pool's state as last loaded from
/// or recorded in the store, advanced by the steps taken locally while the
/// store was failing.
#[derive(Debug, Default)]
pub(crate) struct LocalPools {
    inner: Mutex<Local>,
}

#[derive(Debug, Default)]
struct Local {
    states: PoolStates,
    /// Pools whose state includes steps the store never saw, with the store
    /// version those local steps started from.
    diverged: BTreeMap<String, u64>,
}

impl LocalPools {
    fn lock(&self) -> MutexGuard<'_, Local> {
        // Every change is a whole-state insert, so a poisoned lock still
        // holds consistent states.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the states the store returned or accepted.
    ///
    /// A state that diverged locally during an outage is kept while the
    /// store still reports the version the local steps started from (the
    /// store has not moved, so the local state is the same history, further
    /// on: a store that loads but cannot write must not reset the rotation
    /// on every lead); any other stored version replaces it. Otherwise a
    /// stored state replaces the local one unless the local one is newer (a
    /// slower concurrent route reporting an older read).
    pub(crate) fn confirm(&self, from_store: PoolStates) {
        if from_store.is_empty() {
            return;
        }
        let mut local = self.lock();
        let Local { states, diverged } = &mut *local;
        for (pool, state) in from_store {
            let replace = match diverged.get(&pool) {
                Some(base) => *base != state.version,
                None => states
                    .get(&pool)
                    .is_none_or(|known| known.version <= state.version),
            };
            if replace {
                diverged.remove(&pool);
                states.insert(pool, state);
            }
        }
    }

    /// Evaluates on the local states and applies the decision's pool step to
    /// them, as one atomic step (so concurrent routes during an outage still
    /// take turns).
    pub(crate) fn decide(
        &self,
        policy: &Policy,
        lead: &Lead,
        facts: &Facts<'_>,
        excluded: &[String],
    ) -> RouteDecision {
        let mut local = self.lock();
        let decision = policy.evaluate_excluding(lead, &facts.pools(&local.states), excluded);
        if let Some(step) = decision.pool_step() {
            let pool = step.pool();
            let mut state = local.states.get(pool).cloned().unwrap_or_default();
            let base = state.version;
            if !step.is_replay() && step.apply(&mut state).is_ok() {
                local.states.insert(pool, state);
                local.diverged.entry(pool.to_owned()).or_insert(base);
            }
        }
        decision
    }

    /// A copy of the local states (for tests and diagnostics).
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> PoolStates {
        self.lock().states.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::state::PoolState;

    fn at(version: u64) -> PoolStates {
        let s = PoolState {
            version,
            ..PoolState::default()
        };
        [("team".to_owned(), s)].into_iter().collect()
    }

    fn version(local: &LocalPools) -> Option<u64> {
        local.snapshot().get("team").map(|s| s.version)
    }

    #[test]
    fn an_older_read_does_not_replace_a_newer_state() {
        let local = LocalPools::default();
        local.confirm(at(6));
        local.confirm(at(5));
        assert_eq!(version(&local), Some(6));
        local.confirm(at(7));
        assert_eq!(version(&local), Some(7));
    }

    #[test]
    fn a_diverged_state_survives_reads_of_its_base_and_yields_to_any_other() {
        let local = LocalPools::default();
        local.confirm(at(5));
        // Two local steps during an outage: 5 → 7, diverged from 5.
        let mut l = local.lock();
        l.states.insert("team", at(7).get("team").cloned().unwrap());
        l.diverged.insert("team".to_owned(), 5);
        drop(l);
        // The store still says 5 (it loads but cannot write): keep the local state.
        local.confirm(at(5));
        assert_eq!(version(&local), Some(7));
        // The store moved on (recovered, or other replicas wrote): it wins,
        // even at a lower version than the local one.
        local.confirm(at(6));
        assert_eq!(version(&local), Some(6));
        assert!(local.lock().diverged.is_empty());
    }
}
