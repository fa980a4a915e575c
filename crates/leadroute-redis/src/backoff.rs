//! Randomized backoff after a lost compare-and-swap.
//!
//! The router's record loop reloads and retries at once when a
//! compare-and-swap loses. On one hot pool shared by *k* busy routers the
//! contenders stay in step: every round all *k* load, all swap, one wins and
//! the other swaps are wasted work on the server. The store therefore waits
//! a random time before it reports a lost swap, so the losers spread out and
//! fewer swaps collide. The wait is drawn uniformly from
//! `[0, 2 · rtt · min(n, 4))`, where `rtt` is how long the losing swap took
//! (the collision window is about one load plus one swap) and `n` counts the
//! consecutive losses of the same assignment (keyed by the lead id the new
//! state records, so concurrent routes back off independently), capped at
//! [`MAX_WAIT`] per wait. The growth is deliberately mild: a doubling
//! backoff starves a route that lost a few times (it sleeps ever longer
//! while fresh routes swap at once), which under steady load turned into
//! routes running out of the router's pool budget. A wait under half a
//! millisecond only yields to other tasks ([`pause`]), since Tokio's timer
//! rounds up to whole milliseconds. Only losers wait; an uncontended swap
//! costs nothing.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The longest single wait.
pub(crate) const MAX_WAIT: Duration = Duration::from_millis(5);

/// How many assignments' loss counts are remembered at most (an assignment
/// is forgotten when it wins; this bounds what abandoned ones can leave).
const TRACKED: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct Backoff {
    losses: Mutex<HashMap<String, u32>>,
    draws: AtomicU64,
}

impl Backoff {
    /// How long to wait after assignment `key` lost a swap that took `rtt`.
    pub(crate) fn lost(&self, key: &str, rtt: Duration) -> Duration {
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

    /// Assignment `key` won: forget its losses.
    pub(crate) fn won(&self, key: &str) {
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
pub(crate) async fn pause(wait: Duration) {
    if wait < Duration::from_micros(500) {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(wait).await;
    }
}

/// The key an assignment backs off under: the lead id the new state records
/// last, or the pool when the lead has none.
pub(crate) fn assignment_key(pool: &str, new: &leadroute::pool::PoolState) -> String {
    match new.recent.back() {
        Some(r) => format!("{pool}\u{0}{}", r.lead_id),
        None => pool.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
