//! The [`Outbox`] trait: a durable queue of CRM writes with leases.

use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, SystemTime};

use super::entry::{DeadLetter, Enqueued, Lease, OutboxEntry, OutboxStats};
use crate::crm::CrmError;

/// The most entries one [`Outbox::claim`] or [`Outbox::dead_letters`] call
/// returns; larger limits are cut to it.
pub const MAX_BATCH: usize = 1000;

/// A durable queue of CRM writes, shared by every replica: the router
/// enqueues a write that failed (or, in write-ahead mode, every write before
/// it is attempted), and retry workers claim due entries under a lease,
/// attempt them and report back.
///
/// Methods are async and runtime-agnostic, and their futures must be `Send`
/// (as for [`PoolStore`](crate::PoolStore)). The outbox never reads a
/// clock: every time comes from the caller (`now`), so leases and schedules
/// follow the caller's [`Clock`](crate::Clock) and tests can use a manual
/// one. The retry schedule is the caller's too ([`RetryPolicy`](super::RetryPolicy));
/// the outbox only stores `next_attempt_at`.
///
/// # Lease semantics
///
/// - [`claim`](Self::claim) atomically takes up to `limit` entries that are
///   *due* at `now` — `pending` with `next_attempt_at <= now`, or `claimed`
///   with an expired lease (`lease.until <= now`) — earliest due first (then
///   in enqueue order), and for each one increments `attempts`, sets
///   `status = claimed` and `lease = {owner, attempt: attempts, until: now +
///   lease_for}`. No entry is handed to two claimers whose leases overlap:
///   an entry is claimable again only once its lease has expired. `dead`
///   entries are never claimed.
/// - [`complete`](Self::complete), [`fail`](Self::fail) and
///   [`dead_letter`](Self::dead_letter) apply only while the entry is
///   `claimed` under the *same hold* (lease `owner` and `attempt` equal;
///   [`Lease::same_hold`]) and return `true`; otherwise — the lease expired
///   and someone else claimed the entry, or it was completed or removed —
///   they change nothing and return `false`. A holder whose lease expired
///   but that nobody has claimed since may still report (its result is as
///   good as the next claimer's would be).
/// - A lease bounds how long a crashed or stalled holder delays an entry;
///   choose it longer than one attempt can take (the router's write budget,
///   twice when a conflict turns into an update, plus margin).
///
/// # Delivery: at least once, effectively once
///
/// An entry is removed only by `complete`, after the CRM accepted the write,
/// so a write survives every crash between enqueue and completion: a holder
/// killed mid-attempt leaves the entry `claimed` until the lease expires,
/// then another worker claims it. Delivery is therefore **at least once**:
/// the same write can reach the CRM more than once — a holder that wrote
/// but died before `complete`, a lease that expired while a slow write was
/// still in flight, a write whose outcome was unknown. That is safe because
/// [`Crm::upsert_lead`](crate::Crm::upsert_lead) is idempotent by the lead
/// id (the entry id): a repeated write finds or completes the record the
/// first one made instead of creating a second, so the CRM ends with
/// exactly one record per lead — **effectively once**.
///
/// # Idempotent enqueue
///
/// An outbox holds at most one entry per id (the lead id).
/// [`enqueue`](Self::enqueue) of an id already present, whatever its status,
/// changes nothing and returns [`Enqueued::AlreadyPresent`]: the same lead
/// routed twice (a replay, two replicas racing) queues one write. Completed
/// entries are gone, so a later write for the id is queued afresh.
///
/// # Implementing it
///
/// [`InMemoryOutbox`](super::InMemoryOutbox) is the reference
/// implementation and documents each operation's effect; a store must
/// refuse entries that fail [`OutboxEntry::validate`] with a typed error
/// and may hold times at millisecond precision (entries serialize times as
/// Unix milliseconds). Postgres maps `claim` onto `SELECT … FOR UPDATE SKIP
/// LOCKED` inside an `UPDATE`, and the hold checks onto `WHERE id = $1 AND
/// lease_owner = $2 AND attempts = $3`; Redis onto a sorted set of due
/// times and a Lua script per operation.
pub trait Outbox: Send + Sync {
    /// The outbox's error (connection loss, timeouts, a refused entry).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Adds `entry` unless an entry with its id is present (then changes
    /// nothing). The entry is stored as given — `pending`, already `claimed`
    /// (write-ahead: [`OutboxEntry::claimed_by`]) or `dead`
    /// ([`OutboxEntry::dead`]).
    fn enqueue(
        &self,
        entry: OutboxEntry,
    ) -> impl Future<Output = Result<Enqueued, Self::Error>> + Send;

    /// Claims up to `limit` (at most [`MAX_BATCH`]) due entries for `owner`
    /// until `now + lease_for`, and returns them as claimed (see
    /// [Lease semantics](Self#lease-semantics)).
    fn claim(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send;

    /// The write went through: removes the entry if it still holds `lease`.
    fn complete(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// The attempt failed with `error`: if the entry still holds `lease`,
    /// makes it `pending` again, due at `next_attempt_at`, with `last_error
    /// = error` (`attempts` is unchanged: the claim counted the attempt).
    fn fail(
        &self,
        id: &str,
        lease: &Lease,
        error: &CrmError,
        next_attempt_at: SystemTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Retrying cannot help: if the entry still holds `lease`, makes it
    /// `dead` with `letter` (and `last_error` = the letter's error, when it
    /// has one). A dead entry stays until [`requeue`](Self::requeue) or
    /// [`remove`](Self::remove).
    fn dead_letter(
        &self,
        id: &str,
        lease: &Lease,
        letter: &DeadLetter,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// The entry with this id, in any status.
    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<OutboxEntry>, Self::Error>> + Send;

    /// Up to `limit` (at most [`MAX_BATCH`]) dead entries, the earliest
    /// dead-lettered first (then by id).
    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send;

    /// Gives a dead entry another series of attempts (after a person fixed
    /// the cause): makes it `pending`, due at `now`, with `attempts = 0` and
    /// no dead letter (`last_error` is kept). Returns `false` if the entry
    /// is missing or not dead.
    fn requeue(
        &self,
        id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Removes the entry in whatever status (a dead letter a person
    /// resolved by hand). Returns whether it was there. A current holder's
    /// later `complete` or `fail` then returns `false`.
    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// How many entries there are, by status.
    fn stats(&self) -> impl Future<Output = Result<OutboxStats, Self::Error>> + Send;
}

/// A shared outbox is an outbox.
impl<T: Outbox + ?Sized> Outbox for std::sync::Arc<T> {
    type Error = T::Error;

    fn enqueue(
        &self,
        entry: OutboxEntry,
    ) -> impl Future<Output = Result<Enqueued, Self::Error>> + Send {
        (**self).enqueue(entry)
    }

    fn claim(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send {
        (**self).claim(owner, now, lease_for, limit)
    }

    fn complete(
        &self,
        id: &str,
        lease: &Lease,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).complete(id, lease)
    }

    fn fail(
        &self,
        id: &str,
        lease: &Lease,
        error: &CrmError,
        next_attempt_at: SystemTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).fail(id, lease, error, next_attempt_at)
    }

    fn dead_letter(
        &self,
        id: &str,
        lease: &Lease,
        letter: &DeadLetter,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).dead_letter(id, lease, letter)
    }

    fn get(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<OutboxEntry>, Self::Error>> + Send {
        (**self).get(id)
    }

    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send {
        (**self).dead_letters(limit)
    }

    fn requeue(
        &self,
        id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).requeue(id, now)
    }

    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        (**self).remove(id)
    }

    fn stats(&self) -> impl Future<Output = Result<OutboxStats, Self::Error>> + Send {
        (**self).stats()
    }
}

/// No outbox: the [`LeadRouter`](crate::LeadRouter)'s default, under which
/// a failed write comes back to the caller as a
/// [`PendingWrite`](crate::crm::PendingWrite). The type has no values, so
/// its methods can never run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoOutbox {}

impl Outbox for NoOutbox {
    type Error = Infallible;

    async fn enqueue(&self, _: OutboxEntry) -> Result<Enqueued, Infallible> {
        match *self {}
    }

    async fn claim(
        &self,
        _: &str,
        _: SystemTime,
        _: Duration,
        _: usize,
    ) -> Result<Vec<OutboxEntry>, Infallible> {
        match *self {}
    }

    async fn complete(&self, _: &str, _: &Lease) -> Result<bool, Infallible> {
        match *self {}
    }

    async fn fail(
        &self,
        _: &str,
        _: &Lease,
        _: &CrmError,
        _: SystemTime,
    ) -> Result<bool, Infallible> {
        match *self {}
    }

    async fn dead_letter(&self, _: &str, _: &Lease, _: &DeadLetter) -> Result<bool, Infallible> {
        match *self {}
    }

    async fn get(&self, _: &str) -> Result<Option<OutboxEntry>, Infallible> {
        match *self {}
    }

    async fn dead_letters(&self, _: usize) -> Result<Vec<OutboxEntry>, Infallible> {
        match *self {}
    }

    async fn requeue(&self, _: &str, _: SystemTime) -> Result<bool, Infallible> {
        match *self {}
    }

    async fn remove(&self, _: &str) -> Result<bool, Infallible> {
        match *self {}
    }

    async fn stats(&self) -> Result<OutboxStats, Infallible> {
        match *self {}
    }
}
