//! Randomized backoff after a lost compare-and-swap, for [`PoolStore`]
//! implementations on a shared server (the Redis and PostgreSQL stores use
//! it).
//!
//! The router's record loop reloads and retries at once when a
//! compare-and-swap loses. On one hot pool shared by *k* busy routers the
//! contenders stay in step: every round all *k* load, all swap, one wins and
//! the other swaps are wasted work on the server. A store therefore waits
//! a random time before it reports a lost swap, so the losers spread out and
//! fewer swaps collide. The wait is drawn uniformly from
//! `[0, 2 · rtt · min(n, 4))`, where `rtt` is how long the losing swap took
//! (the collision window is about one load plus one swap) and `n` counts the
//! consecutive losses of the same assignment (keyed by the lead id the new
//! state records, see [`assignment_key`], so concurrent routes back off
//! independently), capped at [`MAX_WAIT`] per wait. The growth is
//! deliberately mild: a doubling backoff starves a route that lost a few
//! times (it sleeps ever longer while fresh routes swap at once), which
//! under steady load turned into routes running out of the router's pool
//! budget. A wait under half a millisecond only yields to other tasks
//! ([`pause`]), since Tokio's timer rounds up to whole milliseconds. Only
//! losers wait; an uncontended swap costs nothing.
//!
//! A store keeps one [`Backoff`] for all its clones (behind an `Arc`) and
//! runs each compare-and-swap through [`Backoff::swap`]:
//!
//! ```
//! use std::convert::Infallible;
//! use leadroute::pool::{PoolState, RecentAssignment};
//! use leadroute_tokio::backoff::Backoff;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let backoff = Backoff::new();
//! let mut new = PoolState::default();
//! new.version = 1;
//! new.recent.push_back(RecentAssignment::new("lead-1", "ana"));
//! // The server's compare-and-swap; here one that another replica won.
//! let attempt = async { Ok::<bool, Infallible>(false) };
//! // Lost: waits a little (at most 5 ms) before it says so.
//! assert_eq!(backoff.swap("sales", &new, attempt).await, Ok(false));
//! # }
//! ```
//!
//! [`Backoff::lost`], [`Backoff::won`], [`pause`] and [`assignment_key`] are
//! the parts `swap` is made of, for a store whose swap does not fit one
//! future.
//!
//! [`PoolStore`]: leadroute::PoolStore

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use leadroute::pool::PoolState;

/// The longest single wait: 5 ms.
pub const MAX_WAIT: Duration = Duration::from_millis(5);

/// How many assignments' loss counts are remembered at most (an assignment
/// is forgotten when it wins; this bounds what abandoned ones can leave).
const TRACKED: usize = 4096;

/// The consecutive losses of each assignment and the random draws of one
/// store (see the [module docs](self)). `Send + Sync`: share one among a
/// store's clones.
#[derive(Debug, Default)]
pub struct Backoff {
    losses: Mutex<HashMap<String, u32>>,
    draws: AtomicU64,
}

impl Backoff {
    /// A backoff that remembers no losses yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long to wait after assignment `key` lost a swap that took `rtt`:
    /// uniform in `[0, 2 · max(rtt, 50 µs) · min(n, 4))`, at most
    /// [`MAX_WAIT`], where `n` counts this loss and the ones since `key`
    /// last [`won`](Self::won). Remembers at most 4096 assignments (all are
    /// forgotten when a new one would exceed that).
    pub fn lost(&self, key: &str, rtt: Duration) -> Duration {
        let n = {
            let mut losses = self.losses.lock().unwrap_or_else(|e| e.into_inner());
            if losses.len() >= TRACKED && !losses.contains_key(key) {
                losses.clear();
            }
            let n = losses.entry(key.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let window = rtt
            .max(Duration::from_micros(50))
            .saturating_mul(2 * n.min(4))
            .min(MAX_WAIT);
        let unit = self.random() as f64 / u64::MAX as f64;
        window.mul_f64(unit)
    }

    /// Runs `attempt`, one compare-and-swap of `new` into `pool` on the
    /// server (`Ok(true)` if it replaced the state), with the backoff around
    /// it: a win forgets the assignment's losses ([`won`](Self::won)); a
    /// loss [`pause`]s for [`lost`](Self::lost) (`rtt` timed from the start
    /// of `attempt`) before it returns `Ok(false)`; an error is returned at
    /// once and counts as neither. The assignment is
    /// [`assignment_key`]`(pool, new)`.
    pub async fn swap<E>(
        &self,
        pool: &str,
        new: &PoolState,
        attempt: impl Future<Output = Result<bool, E>>,
    ) -> Result<bool, E> {
        let key = assignment_key(pool, new);
        let started = Instant::now();
        let swapped = attempt.await?;
        if swapped {
            self.won(&key);
        } else {
            pause(self.lost(&key, started.elapsed())).await;
        }
        Ok(swapped)
    }

    /// Assignment `key` won: forget its losses.
    pub fn won(&self, key: &str) {
        let mut losses = self.losses.lock().unwrap_or_else(|e| e.into_inner());
        losses.remove(key);
    }

    /// A random number: std's randomly keyed hasher over a counter (no
    /// extra dependency; statistical quality is all a backoff needs).
    fn random(&self) -> u64 {
        static KEYS: std::sync::LazyLock<std::hash::RandomState> =
            std::sync::LazyLock::new(std::hash::RandomState::new);
        KEYS.hash_one(self.draws.fetch_add(1, Ordering::Relaxed))
    }
}

/// Waits `wait`: Tokio's timer has millisecond granularity, so a wait
/// under half a millisecond only yields to the other tasks once (enough to
/// reorder contenders in one process) instead of sleeping a whole tick.
/// Needs a Tokio runtime with the time driver.
pub async fn pause(wait: Duration) {
    if wait < Duration::from_micros(500) {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(wait).await;
    }
}

/// The key an assignment backs off under: `{pool}\0{lead id}` for the lead
/// id the new state records last, or the pool alone when it records none.
pub fn assignment_key(pool: &str, new: &PoolState) -> String {
    match new.recent.back() {
        Some(r) => format!("{pool}\u{0}{}", r.lead_id),
        None => pool.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use leadroute::pool::RecentAssignment;

    #[test]
    fn waits_grow_with_consecutive_losses_up_to_the_cap_and_reset_on_a_win() {
        let b = Backoff::default();
        let rtt = Duration::from_millis(1);
        for n in 1..=12u32 {
            let window = (rtt * 2 * n.min(4)).min(MAX_WAIT);
            let wait = b.lost("x", rtt);
            assert!(wait <= window, "loss {n}: {wait:?} > {window:?}");
        }
        assert_eq!(b.losses.lock().unwrap()["x"], 12);
        b.won("x");
        assert!(b.losses.lock().unwrap().is_empty());
        // Draws differ (a constant would keep contenders in step).
        let waits: std::collections::HashSet<_> = (0..20).map(|_| b.lost("y", rtt)).collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn a_fast_swap_still_spreads_over_at_least_100_microseconds_and_keys_are_independent() {
        let b = Backoff::new();
        // First loss of a swap that took no time: the window is 2 · 50 µs.
        for i in 0..50 {
            assert!(b.lost(&format!("k{i}"), Duration::ZERO) <= Duration::from_micros(100));
        }
        // Losses of one key do not count for another.
        for _ in 0..3 {
            b.lost("a", Duration::from_millis(1));
        }
        assert!(b.lost("b", Duration::from_millis(1)) <= Duration::from_millis(2));
        assert_eq!(b.losses.lock().unwrap()["b"], 1);
    }

    #[test]
    fn abandoned_assignments_are_forgotten_past_the_bound() {
        let b = Backoff::new();
        for i in 0..TRACKED {
            b.lost(&format!("k{i}"), Duration::ZERO);
        }
        assert_eq!(b.losses.lock().unwrap().len(), TRACKED);
        b.lost("k0", Duration::ZERO); // known: kept
        assert_eq!(b.losses.lock().unwrap()["k0"], 2);
        b.lost("new", Duration::ZERO); // one more: the table starts again
        assert_eq!(b.losses.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_key_is_the_last_recorded_lead_or_the_pool() {
        let mut s = PoolState::default();
        assert_eq!(assignment_key("sales", &s), "sales");
        s.recent.push_back(RecentAssignment::new("l1", "ana"));
        s.recent.push_back(RecentAssignment::new("l2", "bob"));
        assert_eq!(assignment_key("sales", &s), "sales\u{0}l2");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_short_pause_only_yields_and_a_longer_one_sleeps() {
        let t0 = tokio::time::Instant::now();
        pause(Duration::from_micros(499)).await;
        assert_eq!(t0.elapsed(), Duration::ZERO);
        pause(Duration::from_millis(3)).await;
        assert!(t0.elapsed() >= Duration::from_millis(3));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn swap_forgets_on_a_win_counts_a_loss_and_passes_an_error_through() {
        let b = Backoff::new();
        let mut new = PoolState::default();
        new.recent.push_back(RecentAssignment::new("l1", "ana"));
        let key = assignment_key("sales", &new);
        let lose = || async { Ok::<bool, String>(false) };
        assert_eq!(b.swap("sales", &new, lose()).await, Ok(false));
        assert_eq!(b.swap("sales", &new, lose()).await, Ok(false));
        assert_eq!(b.losses.lock().unwrap()[&key], 2);
        let failed = async { Err::<bool, String>("connection lost".into()) };
        assert_eq!(
            b.swap("sales", &new, failed).await,
            Err("connection lost".into())
        );
        assert_eq!(b.losses.lock().unwrap()[&key], 2);
        assert_eq!(
            b.swap("sales", &new, async { Ok::<bool, String>(true) })
                .await,
            Ok(true)
        );
        assert!(b.losses.lock().unwrap().is_empty());
    }

    #[test]
    fn a_backoff_is_shareable() {
        fn shared<T: Send + Sync>() {}
        shared::<Backoff>();
    }
}
