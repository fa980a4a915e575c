//! When to try a failed write again, and when to stop: [`RetryPolicy`], as
//! data.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::entry::DeadReason;
use crate::crm::CrmError;

/// The longest wait any schedule yields, whatever the policy or the CRM's
/// `retry_after` says: 24 h. A CRM asking for more is treated as asking
/// for a day, so an entry is never parked out of sight indefinitely.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Backoff with deterministic jitter and an attempt limit.
///
/// # The schedule
///
/// After attempt `n` (1 for the first) fails with a retryable error, the
/// next attempt is due `delay(n)` later:
///
/// ```text
/// backoff(n) = min(max_delay, base_delay × 2^(n−1))
/// delay(n)   = backoff(n) × (1 − jitter × u)       u ∈ [0, 1), from the entry id and n
///            , in whole ms, then at least the CRM's retry_after (a rate limit's wait), at most 24 h
/// ```
///
/// Jitter spreads the retries of many entries that failed together (a CRM
/// outage) so they do not all return at once. It is randomness, which the
/// core does not have: `u` is a hash (FNV-1a) of the entry id and the
/// attempt number, so entries spread out as if at random while a given
/// entry's schedule is reproducible — the same in every replica, every
/// test and every rerun. `jitter = 0` gives plain exponential backoff.
///
/// A write is dead-lettered instead of scheduled when the error is not
/// retryable ([`CrmError::is_retryable`]: `permanent`, or a `conflict` the
/// router could not turn into an update) or when `max_attempts` attempts
/// have been made.
///
/// The defaults (1 s base, 15 min cap, 25 % jitter, 14 attempts) retry for
/// about an hour before giving up: waits of 1, 2, 4 … 512 s, then three of
/// 15 min (62 min in all without jitter, each wait up to a quarter shorter
/// with it), which outlasts the usual CRM
/// incident and rate-limit window while a dead letter still reaches a
/// person the same working hour.
///
/// JSON: `{"base_delay_ms": n, "max_delay_ms": n, "jitter": 0.0–1.0,
/// "max_attempts": n}` (missing keys take the defaults).
///
/// ```
/// use leadroute::crm::CrmError;
/// use leadroute::outbox::{DeadReason, RetryPolicy};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default().with_jitter(0.0);
/// let transient = CrmError::transient("503");
/// assert_eq!(policy.delay("lead-1", 1, &transient), Duration::from_secs(1));
/// assert_eq!(policy.delay("lead-1", 4, &transient), Duration::from_secs(8));
/// assert_eq!(policy.delay("lead-1", 30, &transient), Duration::from_secs(15 * 60)); // capped
/// // A rate limit's wait is honoured when longer than the backoff.
/// let limited = CrmError::rate_limited("429", Some(Duration::from_secs(30)));
/// assert_eq!(policy.delay("lead-1", 1, &limited), Duration::from_secs(30));
/// // Permanent errors and the last attempt dead-letter.
/// assert_eq!(policy.dead_reason(1, &CrmError::permanent("401")), Some(DeadReason::NotRetryable));
/// assert_eq!(policy.dead_reason(14, &transient), Some(DeadReason::AttemptsExhausted));
/// assert_eq!(policy.dead_reason(13, &transient), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The wait after the first failed attempt.
    #[serde(rename = "base_delay_ms", with = "duration_ms")]
    pub base_delay: Duration,
    /// The longest backoff (before a CRM's `retry_after`).
    #[serde(rename = "max_delay_ms", with = "duration_ms")]
    pub max_delay: Duration,
    /// How much of each backoff may be taken off at random-looking, from 0
    /// (none) to 1 (anything down to zero).
    pub jitter: f64,
    /// How many attempts before the write is dead-lettered (at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            jitter: 0.25,
            max_attempts: 14,
        }
    }
}

impl RetryPolicy {
    /// Sets the first wait.
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// Sets the longest backoff.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets the jitter fraction (clamped to 0–1; NaN counts as 0).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// Sets the attempt limit (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Whether a write that failed with `error` on attempt `attempts`
    /// should stop being retried, and why.
    pub fn dead_reason(&self, attempts: u32, error: &CrmError) -> Option<DeadReason> {
        if !error.is_retryable() {
            Some(DeadReason::NotRetryable)
        } else if attempts >= self.max_attempts.max(1) {
            Some(DeadReason::AttemptsExhausted)
        } else {
            None
        }
    }

    /// The wait before the attempt after attempt `attempts` (≥ 1) of entry
    /// `entry_id` failed with `error`.
    pub fn delay(&self, entry_id: &str, attempts: u32, error: &CrmError) -> Duration {
        let exponent = attempts.saturating_sub(1).min(63);
        let factor = 1u64 << exponent;
        let backoff = self
            .base_delay
            .checked_mul(u32::try_from(factor).unwrap_or(u32::MAX))
            .unwrap_or(Duration::MAX)
            .min(self.max_delay);
        let jitter = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        let jittered = backoff.mul_f64(1.0 - jitter * unit(entry_id, attempts));
        // Whole milliseconds: the precision outboxes store times at.
        let jittered =
            Duration::from_millis(u64::try_from(jittered.as_millis()).unwrap_or(u64::MAX));
        let wait = match error {
            CrmError::RateLimited {
                retry_after: Some(after),
                ..
            } => jittered.max(*after),
            _ => jittered,
        };
        wait.min(MAX_RETRY_DELAY)
    }

    /// When the next attempt is due: `now` plus [`delay`](Self::delay).
    pub fn next_attempt_at(
        &self,
        entry_id: &str,
        attempts: u32,
        error: &CrmError,
        now: SystemTime,
    ) -> SystemTime {
        let delay = self.delay(entry_id, attempts, error);
        now.checked_add(delay).unwrap_or(now)
    }
}

/// A number in [0, 1) from the entry id and the attempt: FNV-1a, 64-bit,
/// top 53 bits as the fraction.
fn unit(entry_id: &str, attempt: u32) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let attempt = attempt.to_le_bytes();
    let bytes = entry_id.as_bytes().iter().chain(b"\x00").chain(&attempt);
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix so ids differing only in their last byte still spread.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    #[allow(clippy::cast_precision_loss)] // 53 bits fit an f64 exactly
    let top = (h >> 11) as f64;
    top / (1u64 << 53) as f64
}

/// `Duration` as whole milliseconds.
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_unit_is_in_range_and_spreads() {
        let values: Vec<f64> = (0..1000).map(|i| unit(&format!("lead-{i}"), 1)).collect();
        assert!(values.iter().all(|u| (0.0..1.0).contains(u)));
        let low = values.iter().filter(|u| **u < 0.5).count();
        assert!((400..600).contains(&low), "{low} of 1000 below 0.5");
        assert_eq!(unit("lead-1", 1), unit("lead-1", 1));
        assert_ne!(unit("lead-1", 1), unit("lead-1", 2));
    }

    #[test]
    fn json_uses_milliseconds_and_fills_defaults() {
        let p: RetryPolicy = serde_json::from_str(r#"{"base_delay_ms": 500}"#).unwrap();
        assert_eq!(p.base_delay, Duration::from_millis(500));
        assert_eq!(p.max_attempts, RetryPolicy::default().max_attempts);
        assert_eq!(
            serde_json::to_value(RetryPolicy::default()).unwrap(),
            serde_json::json!({"base_delay_ms": 1000, "max_delay_ms": 900_000, "jitter": 0.25, "max_attempts": 14})
        );
    }

    #[test]
    fn a_huge_retry_after_is_capped_at_a_day() {
        let e = CrmError::rate_limited("429", Some(Duration::from_secs(10 * 24 * 3600)));
        assert_eq!(RetryPolicy::default().delay("x", 1, &e), MAX_RETRY_DELAY);
    }

    proptest! {
        #[test]
        fn delays_stay_within_the_jittered_backoff(
            id in "[a-z0-9-]{1,40}",
            attempts in 1u32..200,
            jitter in 0.0f64..=1.0,
            base_ms in 1u64..10_000,
            max_s in 1u64..100_000,
        ) {
            let p = RetryPolicy::default()
                .with_base_delay(Duration::from_millis(base_ms))
                .with_max_delay(Duration::from_secs(max_s))
                .with_jitter(jitter);
            let e = CrmError::transient("503");
            let d = p.delay(&id, attempts, &e);
            let exp = attempts.saturating_sub(1).min(63);
            let full = Duration::from_millis(base_ms)
                .checked_mul(u32::try_from(1u64 << exp).unwrap_or(u32::MAX))
                .unwrap_or(Duration::MAX)
                .min(Duration::from_secs(max_s))
                .min(MAX_RETRY_DELAY);
            prop_assert!(d <= full);
            prop_assert!(d + Duration::from_millis(1) > full.mul_f64(1.0 - jitter));
            prop_assert_eq!(d, p.delay(&id, attempts, &e));
            // Never sooner than a rate limit asks.
            let wait = Duration::from_millis(base_ms * 3);
            let limited = CrmError::rate_limited("429", Some(wait));
            prop_assert!(p.delay(&id, attempts, &limited) >= wait);
        }
    }
}
