//! Recording pool steps: the load → evaluate → compare-and-swap loop
//! ([`decide_and_record`]).

use crate::decision::RouteDecision;
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::policy::Policy;
use crate::pool::store::PoolStore;

/// How many compare-and-swaps [`decide_and_record`] tries before it reports
/// contention.
const RECORD_ATTEMPTS: u32 = 16;

/// Why [`decide_and_record`] could not record a pool step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError<E: std::error::Error + 'static> {
    /// The pool store failed.
    #[error("pool store error: {0}")]
    Store(#[source] E),
    /// Other replicas kept updating the pool between our read and write.
    #[error("pool `{pool}` changed under us {attempts} times in a row; giving up")]
    Contention {
        /// The pool.
        pool: String,
        /// How many compare-and-swaps failed.
        attempts: u32,
    },
}

/// Evaluates and records the decision's pool step in `store`, atomically:
/// load the pool's state, evaluate, compare-and-swap; on a concurrent update,
/// reload and evaluate again. A replay of a lead id the pool already
/// assigned writes nothing.
///
/// This is the loop [`LeadRouter`](super::LeadRouter) runs; call it directly when you route
/// without a router, or drive [`PoolStep::apply`](crate::pool::PoolStep::apply)
/// inside your own transaction instead.
pub async fn decide_and_record<S: PoolStore>(
    policy: &Policy,
    lead: &Lead,
    facts: &Facts<'_>,
    store: &S,
) -> Result<RouteDecision, RecordError<S::Error>> {
    let mut states = facts.pools.clone();
    let mut failures = 0;
    loop {
        let decision = policy.evaluate(lead, &facts.pools(&states));
        let Some(step) = decision.pool_step() else {
            return Ok(decision);
        };
        let pool = step.pool().to_owned();
        let Some(state) = states.get(&pool) else {
            // Decide again on the stored state rather than a fresh one.
            let loaded = store.load(&pool).await.map_err(RecordError::Store)?;
            states.insert(pool, loaded);
            continue;
        };
        if step.is_replay() {
            return Ok(decision);
        }
        if let Ok(next) = step.next_state(state) {
            if store
                .compare_and_swap(&pool, step.expected_version(), next)
                .await
                .map_err(RecordError::Store)?
            {
                return Ok(decision);
            }
        }
        failures += 1;
        if failures >= RECORD_ATTEMPTS {
            return Err(RecordError::Contention {
                pool,
                attempts: failures,
            });
        }
        let loaded = store.load(&pool).await.map_err(RecordError::Store)?;
        states.insert(pool, loaded);
    }
}
