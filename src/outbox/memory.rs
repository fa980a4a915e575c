//! [`InMemoryOutbox`]: the reference [`Outbox`], in process memory.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::entry::{
    DeadLetter, Enqueued, EntryStatus, InvalidEntry, Lease, OutboxEntry, OutboxStats,
};
use super::store::{MAX_BATCH, Outbox};
use crate::crm::CrmError;

/// An [`Outbox`] in process memory: for tests, examples and single-process
/// services that accept losing queued writes on a restart (it is not
/// durable). It is the reference for the trait's semantics; each operation
/// is one atomic step under a lock, and claims cost O(k log n) for k
/// entries claimed out of n.
///
/// ```
/// use leadroute::crm::{CrmError, PendingWrite};
/// use leadroute::outbox::{EntryStatus, InMemoryOutbox, Outbox, OutboxEntry};
/// # use leadroute::policy::spec::{ActionSpec, OwnerSpec};
/// # use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
/// # let policy = compile(&PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"))).unwrap();
/// # let lead = Normalizer::default().normalize(&LeadInput::from_email("jo@acme.com")).unwrap().lead;
/// # let decision = policy.evaluate(&lead, &Facts::at_unix(0));
/// use std::time::{Duration, SystemTime};
///
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let outbox = InMemoryOutbox::new();
/// let write = PendingWrite::new("lead-1", lead, decision, CrmError::transient("502"));
/// pollster::block_on(async {
///     outbox.enqueue(OutboxEntry::new(write, t0)).await.unwrap();
///     let claimed = outbox.claim("worker-a", t0, Duration::from_secs(30), 10).await.unwrap();
///     let lease = claimed[0].lease.clone().unwrap();
///     assert_eq!((lease.owner.as_str(), lease.attempt), ("worker-a", 1));
///     // Held: nobody else gets it before the lease expires…
///     assert!(outbox.claim("worker-b", t0 + Duration::from_secs(29), Duration::from_secs(30), 10).await.unwrap().is_empty());
///     // …after that, worker-b does, and worker-a's late report is refused.
///     let again = outbox.claim("worker-b", t0 + Duration::from_secs(30), Duration::from_secs(30), 10).await.unwrap();
///     assert_eq!(again[0].attempts, 2);
///     assert!(!outbox.complete("lead-1", &lease).await.unwrap());
///     assert!(outbox.complete("lead-1", again[0].lease.as_ref().unwrap()).await.unwrap());
///     assert_eq!(outbox.get("lead-1").await.unwrap(), None);
/// });
/// ```
#[derive(Debug, Default)]
pub struct InMemoryOutbox {
    inner: Mutex<Inner>,
    capacity: Option<usize>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every entry with its enqueue sequence number.
    entries: HashMap<String, (u64, OutboxEntry)>,
    /// Pending and claimed entries by (due time, sequence, id).
    due: BTreeSet<(SystemTime, u64, String)>,
    /// Dead entries by (dead-letter time, id).
    dead: BTreeSet<(SystemTime, String)>,
    next_seq: u64,
}

/// Why an [`InMemoryOutbox`] refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InMemoryOutboxError {
    /// The outbox holds its capacity of entries.
    #[error("the in-memory outbox is full ({capacity} entries)")]
    Full {
        /// The capacity.
        capacity: usize,
    },
    /// The entry is malformed.
    #[error("outbox entry refused: {0}")]
    Invalid(#[from] InvalidEntry),
}

impl InMemoryOutbox {
    /// An empty outbox without a size limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty outbox that refuses entries past `capacity`
    /// ([`InMemoryOutboxError::Full`]); useful to bound memory, and to test
    /// what a service does when its outbox fails.
    pub fn with_capacity_limit(capacity: usize) -> Self {
        InMemoryOutbox {
            inner: Mutex::default(),
            capacity: Some(capacity),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every operation updates the map and its indexes before it can
        // panic (nothing in them panics), so a poisoned lock holds
        // consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every entry, in enqueue order (a snapshot, for tests and diagnostics).
    pub fn entries(&self) -> Vec<OutboxEntry> {
        let inner = self.lock();
        let mut all: Vec<&(u64, OutboxEntry)> = inner.entries.values().collect();
        all.sort_unstable_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, e)| e.clone()).collect()
    }

    /// How many entries there are (synchronous).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the outbox is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn enqueue_now(&self, entry: OutboxEntry) -> Result<Enqueued, InMemoryOutboxError> {
        entry.validate()?;
        let mut inner = self.lock();
        if let Some((_, existing)) = inner.entries.get(&entry.id) {
            return Ok(Enqueued::AlreadyPresent {
                status: existing.status,
            });
        }
        if let Some(capacity) = self.capacity {
            if inner.entries.len() >= capacity {
                return Err(InMemoryOutboxError::Full { capacity });
            }
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.index(seq, &entry);
        inner.entries.insert(entry.id.clone(), (seq, entry));
        Ok(Enqueued::Added)
    }

    fn claim_now(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> Vec<OutboxEntry> {
        let mut inner = self.lock();
        let limit = limit.min(MAX_BATCH);
        let until = now.checked_add(lease_for).unwrap_or(now);
        let mut claimed = Vec::new();
        while claimed.len() < limit {
            let Some(first) = inner.due.first().cloned() else {
                break;
            };
            if first.0 > now {
                break;
            }
            inner.due.remove(&first);
            let (_, _, id) = first;
            let Some((seq, entry)) = inner.entries.get_mut(&id) else {
                continue;
            };
            entry.attempts = entry.attempts.saturating_add(1);
            entry.status = EntryStatus::Claimed;
            entry.lease = Some(Lease::new(owner, entry.attempts, until));
            let seq = *seq;
            let entry = entry.clone();
            inner.due.insert((until, seq, id));
            claimed.push(entry);
        }
        claimed
    }

    /// Applies `change` to the entry if it is claimed under `lease`'s hold.
    fn with_hold(
        &self,
        id: &str,
        lease: &Lease,
        change: impl FnOnce(&mut Inner, u64, OutboxEntry),
    ) -> bool {
        let mut inner = self.lock();
        let held = inner.entries.get(id).is_some_and(|(_, e)| {
            e.status == EntryStatus::Claimed && e.lease.as_ref().is_some_and(|l| l.same_hold(lease))
        });
        if !held {
            return false;
        }
        if let Some((seq, entry)) = inner.remove(id) {
            change(&mut inner, seq, entry);
        }
        true
    }

    fn requeue_now(&self, id: &str, now: SystemTime) -> bool {
        let mut inner = self.lock();
        if !inner
            .entries
            .get(id)
            .is_some_and(|(_, e)| e.status == EntryStatus::Dead)
        {
            return false;
        }
        if let Some((seq, mut entry)) = inner.remove(id) {
            entry.attempts = 0;
            entry = entry.retry_at(now);
            inner.insert(seq, entry);
        }
        true
    }

    fn stats_now(&self) -> OutboxStats {
        let inner = self.lock();
        let mut stats = OutboxStats::default();
        for (_, e) in inner.entries.values() {
            match e.status {
                EntryStatus::Pending => stats.pending += 1,
                EntryStatus::Claimed => stats.claimed += 1,
                EntryStatus::Dead => stats.dead += 1,
            }
        }
        stats
    }
}

impl Inner {
    fn index(&mut self, seq: u64, entry: &OutboxEntry) {
        match (entry.status, entry.due_at(), &entry.dead_letter) {
            (EntryStatus::Dead, _, Some(letter)) => {
                self.dead.insert((letter.at, entry.id.clone()));
            }
            (_, Some(due), _) => {
                self.due.insert((due, seq, entry.id.clone()));
            }
            _ => {}
        }
    }

    fn unindex(&mut self, seq: u64, entry: &OutboxEntry) {
        match (entry.status, entry.due_at(), &entry.dead_letter) {
            (EntryStatus::Dead, _, Some(letter)) => {
                self.dead.remove(&(letter.at, entry.id.clone()));
            }
            (_, Some(due), _) => {
                self.due.remove(&(due, seq, entry.id.clone()));
            }
            _ => {}
        }
    }

    fn remove(&mut self, id: &str) -> Option<(u64, OutboxEntry)> {
        let (seq, entry) = self.entries.remove(id)?;
        self.unindex(seq, &entry);
        Some((seq, entry))
    }

    fn insert(&mut self, seq: u64, entry: OutboxEntry) {
        self.index(seq, &entry);
        self.entries.insert(entry.id.clone(), (seq, entry));
    }
}

impl Outbox for InMemoryOutbox {
    type Error = InMemoryOutboxError;

    fn enqueue(
        &self,
        entry: OutboxEntry,
    ) -> impl Future<Output = Result<Enqueued, Self::Error>> + Send {
        std::future::ready(self.enqueue_now(entry))
    }

    fn claim(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send {
        std::future::ready(Ok(self.claim_now(owner, now, lease_for, limit)))
    }

    fn complete(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(Ok(self.with_hold(id, lease, |_, _, _| {})))
    }

    fn fail(
        &self,
        id: &str,
        lease: &Lease,
        error: &CrmError,
        next_attempt_at: SystemTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(Ok(self.with_hold(id, lease, |inner, seq, entry| {
            let mut entry = entry.retry_at(next_attempt_at);
            entry.last_error = Some(error.clone());
            inner.insert(seq, entry);
        })))
    }

    fn dead_letter(
        &self,
        id: &str,
        lease: &Lease,
        letter: &DeadLetter,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(Ok(self.with_hold(id, lease, |inner, seq, entry| {
            inner.insert(seq, entry.dead(letter.clone()));
        })))
    }

    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<OutboxEntry>, Self::Error>> + Send {
        std::future::ready(Ok(self.lock().entries.get(id).map(|(_, e)| e.clone())))
    }

    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send {
        let inner = self.lock();
        let dead = inner
            .dead
            .iter()
            .take(limit.min(MAX_BATCH))
            .filter_map(|(_, id)| inner.entries.get(id).map(|(_, e)| e.clone()))
            .collect();
        std::future::ready(Ok(dead))
    }

    fn requeue(
        &self,
        id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(Ok(self.requeue_now(id, now)))
    }

    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(Ok(self.lock().remove(id).is_some()))
    }

    fn stats(&self) -> impl Future<Output = Result<OutboxStats, Self::Error>> + Send {
        std::future::ready(Ok(self.stats_now()))
    }
}
