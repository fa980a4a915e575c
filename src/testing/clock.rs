//! [`ManualClock`]: a clock that stands still until advanced.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::clock::Clock;

/// A clock that stands still until advanced. Its `sleep` completes at once
/// (virtual time), so a time budget expires exactly when the guarded work is
/// still pending — deterministic timeouts without waiting.
///
/// Two consequences for router tests: every budgeted call (CRM lookups and
/// writes, the pool step — budgets are always on) that is not ready on its
/// first poll times out at once; and, because the clock stands still, two
/// submissions of the same payload get the same derived lead id, so the
/// second is a replay of the first (advance the clock, or send a `lead_id`,
/// to make it a new lead).
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock at `secs` after the Unix epoch.
    pub fn at_unix(secs: u64) -> Self {
        ManualClock {
            now: Mutex::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep(&self, _duration: Duration) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}
