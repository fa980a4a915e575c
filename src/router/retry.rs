//! [`RetryWorker`]: drains a router's outbox, one step at a time, without a
//! runtime (the `leadroute-tokio` crate loops it).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::pipeline::{LeadRouter, Retried};
use crate::clock::Clock;
use crate::crm::Crm;
use crate::events::EventSink;
use crate::outbox::{MAX_BATCH, Outbox};
use crate::pool::store::PoolStore;

/// How many entries a worker claims per step unless
/// [`with_batch_size`](RetryWorker::with_batch_size) says otherwise: 10.
/// A batch's writes run concurrently, so this is also the most CRM writes
/// one worker has in flight — modest next to CRM rate limits (HubSpot:
/// 100 or more per 10 s; Salesforce: 25 concurrent long requests).
pub const DEFAULT_BATCH_SIZE: usize = 10;

/// The most claim rounds one [`RetryWorker::drain`] makes (so a drain
/// always ends, even when writes keep failing with no backoff).
pub const MAX_DRAIN_ROUNDS: usize = 1000;

/// Delivers the writes a [`LeadRouter`]'s outbox holds: claims a batch of
/// due entries under a lease, writes each through the router (the same
/// idempotent [`Crm::upsert_lead`](crate::Crm::upsert_lead), the same
/// conflict handling and events as [`LeadRouter::retry_write`]), and
/// reports each outcome to the outbox:
///
/// | the write | the outbox | events |
/// |---|---|---|
/// | succeeded | `complete` (removed) | `crm_write_success` |
/// | failed, retryable, attempts left | `fail`, due after the [`RetryPolicy`](crate::outbox::RetryPolicy)'s delay (at least the CRM's `retry_after`) | `crm_write_failed`, `crm_write_queued` |
/// | failed, not retryable, or the last attempt | `dead_letter` | `crm_write_failed`, `crm_write_dead_lettered` |
/// | claimed more times than the policy allows (earlier holders died) | `dead_letter`, no attempt | `crm_write_dead_lettered` |
///
/// A write whose outcome was unknown (`unknown_outcome`) is retried like a
/// transient one; the adapter's idempotent upsert then finds the record
/// the first attempt may have made, so the CRM ends with one record.
///
/// The worker is sans-I/O in the core's sense: it never sleeps and never
/// reads a clock for its schedule — [`run_once`](Self::run_once) and
/// [`drain`](Self::drain) take `now`, and retry delays count from it. A
/// runtime loops it (the workspace's `leadroute-tokio` crate does, with a
/// graceful stop). Many workers, in one process or many, can drain one
/// shared outbox: leases keep them from taking the same entry at once.
///
/// ```
/// use leadroute::crm::CrmError;
/// use leadroute::outbox::InMemoryOutbox;
/// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
/// use leadroute::router::RetryWorker;
/// use leadroute::testing::{InMemoryCrm, ManualClock, Method, RecordingSink};
/// use leadroute::{Clock, LeadInput, LeadRouter, PolicySpec, compile};
/// use std::time::Duration;
///
/// let spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"));
/// let router = LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
///     .with_clock(ManualClock::at_unix(1_700_000_000))
///     .with_outbox(InMemoryOutbox::new());
/// router.crm().fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
/// let routed = pollster::block_on(router.route(LeadInput::from_email("jane@acme.com"))).unwrap();
/// let queued = routed.write.queued().unwrap(); // in the outbox, due in about a second
/// assert_eq!(queued.attempts, 1);
///
/// let worker = RetryWorker::new(&router, "worker-1");
/// let now = router.clock().now();
/// assert_eq!(pollster::block_on(worker.drain(now)).unwrap().claimed, 0); // not due yet
/// router.clock().advance(Duration::from_secs(1));
/// let report = pollster::block_on(worker.drain(router.clock().now())).unwrap();
/// assert_eq!((report.claimed, report.written), (1, 1));
/// assert_eq!(router.crm().records().len(), 1);
/// assert!(router.outbox().unwrap().is_empty());
/// ```
#[derive(Debug)]
pub struct RetryWorker<'r, C, S, P, K, O> {
    router: &'r LeadRouter<C, S, P, K, O>,
    owner: String,
    batch_size: usize,
    lease: Duration,
}

impl<'r, C: Crm, S: EventSink, P: PoolStore, K: Clock, O: Outbox> RetryWorker<'r, C, S, P, K, O> {
    /// A worker draining `router`'s outbox as `owner`: an id unique to this
    /// worker among all running processes (host, process id and a counter,
    /// say; the core has no randomness to make one up). Claims
    /// [`DEFAULT_BATCH_SIZE`] entries at a time, each under the router's
    /// [`write_ahead_lease`](LeadRouter::write_ahead_lease) (twice the write
    /// budget plus a second: the batch's writes run concurrently).
    pub fn new(router: &'r LeadRouter<C, S, P, K, O>, owner: impl Into<String>) -> Self {
        RetryWorker {
            router,
            owner: owner.into(),
            batch_size: DEFAULT_BATCH_SIZE,
            lease: router.write_ahead_lease(),
        }
    }

    /// Claims up to `n` entries per step (1 to [`MAX_BATCH`]).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.clamp(1, MAX_BATCH);
        self
    }

    /// Holds claimed entries for `lease`: longer than one write can take,
    /// or another worker may claim an entry whose write is still in flight
    /// (harmless — writes are idempotent — but wasted).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The worker's owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The lease it claims entries with.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// One step: claims a batch of entries due at `now` and attempts them
    /// all, concurrently. Without an outbox there is nothing to do. An
    /// error from the claim is returned (and emitted as `outbox_failed`);
    /// errors reporting single entries are emitted and counted in
    /// [`DrainReport::outbox_errors`] (those entries stay claimed until
    /// their lease expires, then are retried).
    pub async fn run_once(&self, now: SystemTime) -> Result<DrainReport, O::Error> {
        let batch = self
            .router
            .claim_due(&self.owner, now, self.lease, self.batch_size)
            .await?;
        let mut report = DrainReport {
            claimed: batch.len(),
            rounds: 1,
            ..DrainReport::default()
        };
        let attempts = batch
            .into_iter()
            .map(|entry| Box::pin(self.router.retry_entry(entry, now)))
            .collect();
        for outcome in join_all(attempts).await {
            match outcome {
                Retried::Written => report.written += 1,
                Retried::Queued => report.queued += 1,
                Retried::DeadLettered => report.dead_lettered += 1,
                Retried::LeaseLost => report.lease_lost += 1,
                Retried::OutboxError => report.outbox_errors += 1,
            }
        }
        Ok(report)
    }

    /// Steps until nothing more is due at `now`: a claim that returns less
    /// than a full batch ends it, and so does [`MAX_DRAIN_ROUNDS`]. Returns
    /// the totals. Entries rescheduled during the drain are due later than
    /// `now` (unless the policy's delay is zero), so they wait for a later
    /// drain.
    pub async fn drain(&self, now: SystemTime) -> Result<DrainReport, O::Error> {
        let mut total = DrainReport::default();
        for _ in 0..MAX_DRAIN_ROUNDS {
            let step = self.run_once(now).await?;
            let full = step.claimed >= self.batch_size;
            total.add(&step);
            if !full {
                break;
            }
        }
        Ok(total)
    }
}

/// What a [`RetryWorker`] step or drain did.
///
/// JSON: `{"rounds", "claimed", "written", "queued", "dead_lettered",
/// "lease_lost", "outbox_errors"}`, all counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DrainReport {
    /// Claim rounds.
    pub rounds: usize,
    /// Entries claimed.
    pub claimed: usize,
    /// Written to the CRM and completed.
    pub written: usize,
    /// Failed again and rescheduled.
    pub queued: usize,
    /// Dead-lettered.
    pub dead_lettered: usize,
    /// Reports the outbox refused because another worker holds the entry
    /// now (its lease expired during the attempt).
    pub lease_lost: usize,
    /// Reports the outbox failed to take (emitted as `outbox_failed`).
    pub outbox_errors: usize,
}

impl DrainReport {
    fn add(&mut self, other: &DrainReport) {
        self.rounds += other.rounds;
        self.claimed += other.claimed;
        self.written += other.written;
        self.queued += other.queued;
        self.dead_lettered += other.dead_lettered;
        self.lease_lost += other.lease_lost;
        self.outbox_errors += other.outbox_errors;
    }
}

/// Polls every future concurrently to completion; outputs in input order.
async fn join_all<F: Future>(futures: Vec<Pin<Box<F>>>) -> Vec<F::Output> {
    let mut futures: Vec<Option<Pin<Box<F>>>> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *out = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
