//! Shared pool state: the compare-and-swap [`PoolStore`] trait and the
//! in-process [`InMemoryPoolStore`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Mutex;

use super::state::{PoolState, PoolStates};

/// Stores pool states for many routing processes.
///
/// Implementations must make [`compare_and_swap`](Self::compare_and_swap)
/// atomic: it replaces the state only if the stored version still equals
/// `expected_version` (a missing state has version 0), and the new state's
/// version is `expected_version + 1`. Methods are async and runtime-agnostic.
pub trait PoolStore: Send + Sync {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The pool's current state (a default state if none is stored).
    fn load(&self, pool: &str) -> impl Future<Output = Result<PoolState, Self::Error>> + Send;

    /// Replaces the state if its version is still `expected_version`;
    /// returns whether it did.
    fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}

/// A shared pool store is a pool store.
impl<T: PoolStore + ?Sized> PoolStore for std::sync::Arc<T> {
    type Error = T::Error;

    fn load(&self, pool: &str) -> impl Future<Output = Result<PoolState, Self::Error>> + Send {
        (**self).load(pool)
    }

    fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).compare_and_swap(pool, expected_version, new)
    }
}

/// A [`PoolStore`] in process memory, for single-process services and tests.
///
/// ```
/// use leadroute::pool::{InMemoryPoolStore, PoolState};
///
/// let store = InMemoryPoolStore::new();
/// assert_eq!(store.get("sales").version, 0);
/// let mut next = PoolState::default();
/// next.version = 1;
/// assert!(store.compare_and_swap_now("sales", 0, next.clone()));
/// assert!(!store.compare_and_swap_now("sales", 0, next)); // stale version
/// ```
#[derive(Debug, Default)]
pub struct InMemoryPoolStore {
    pools: Mutex<HashMap<String, PoolState>>,
}

impl InMemoryPoolStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state of a pool (synchronous).
    pub fn get(&self, pool: &str) -> PoolState {
        self.lock().get(pool).cloned().unwrap_or_default()
    }

    /// Compare-and-swap (synchronous).
    pub fn compare_and_swap_now(&self, pool: &str, expected_version: u64, new: PoolState) -> bool {
        let mut pools = self.lock();
        let current = pools.get(pool).map_or(0, |s| s.version);
        if current != expected_version || new.version != expected_version + 1 {
            return false;
        }
        pools.insert(pool.to_owned(), new);
        true
    }

    /// Every pool's state.
    pub fn snapshot(&self) -> PoolStates {
        self.lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PoolState>> {
        // A panic in another thread cannot leave a half-written state: every
        // write is a single `insert`, so the data is consistent even if poisoned.
        self.pools.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PoolStore for InMemoryPoolStore {
    type Error = Infallible;

    fn load(&self, pool: &str) -> impl Future<Output = Result<PoolState, Infallible>> + Send {
        std::future::ready(Ok(self.get(pool)))
    }

    fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> impl Future<Output = Result<bool, Infallible>> + Send {
        std::future::ready(Ok(self.compare_and_swap_now(pool, expected_version, new)))
    }
}
