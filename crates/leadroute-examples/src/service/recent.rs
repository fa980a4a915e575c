//! [`RecentSubmissions`]: this service's memory of who submitted lately,
//! the "recent submissions" the core's `repeated_submission` signal reads
//! (the core keeps no state; a service with replicas would keep this in
//! its shared store).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use leadroute::submission::RecentSubmission;

/// At most this many submissions are kept per email (enough to pass any
/// sensible repeat limit).
const PER_EMAIL: usize = 32;
/// At most this many emails are tracked; past it, stale ones are dropped,
/// and if none is stale, all are (memory stays bounded; the cost is a
/// forgotten window).
const EMAILS: usize = 100_000;

/// Recent submissions by email, within a window; bounded in memory.
#[derive(Debug)]
pub struct RecentSubmissions {
    window: Duration,
    by_email: Mutex<HashMap<String, VecDeque<(String, SystemTime)>>>,
}

impl RecentSubmissions {
    /// A store keeping submissions for `window`.
    pub fn new(window: Duration) -> Self {
        RecentSubmissions {
            window,
            by_email: Mutex::new(HashMap::new()),
        }
    }

    fn key(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// The recent submissions of `email` at `now`.
    pub fn of(&self, email: &str, now: SystemTime) -> Vec<RecentSubmission> {
        let since = now
            .checked_sub(self.window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let map = self.by_email.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Self::key(email))
            .map(|entries| {
                entries
                    .iter()
                    .filter(|(_, at)| *at >= since)
                    .map(|(id, at)| RecentSubmission::new(email, *at).lead_id(id.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records a submission.
    pub fn record(&self, email: &str, lead_id: &str, at: SystemTime) {
        let since = at
            .checked_sub(self.window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut map = self.by_email.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= EMAILS {
            map.retain(|_, entries| entries.back().is_some_and(|(_, t)| *t >= since));
            if map.len() >= EMAILS {
                map.clear();
            }
        }
        let entries = map.entry(Self::key(email)).or_default();
        entries.retain(|(_, t)| *t >= since);
        if entries.len() >= PER_EMAIL {
            entries.pop_front();
        }
        entries.push_back((lead_id.to_owned(), at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_window_per_email() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let r = RecentSubmissions::new(Duration::from_secs(60));
        r.record("Jane@Acme.com", "a", t - Duration::from_secs(120));
        r.record("jane@acme.com", "b", t - Duration::from_secs(10));
        r.record("bob@acme.com", "c", t);
        let ids: Vec<_> = r
            .of("jane@acme.com", t)
            .into_iter()
            .map(|s| s.lead_id)
            .collect();
        assert_eq!(ids, [Some("b".to_owned())]);
    }
}
