//! leadroute on tokio: [`TokioClock`], a [`Clock`] over tokio's timer;
//! [`RetryRunner`], the loop that drains a [`LeadRouter`]'s outbox with its
//! [`RetryWorker`] and stops gracefully; and [`backoff`], the randomized wait
//! after a lost compare-and-swap that the server-backed pool stores share.
//!
//! The core crate stays sans-I/O — its retry worker is one step,
//! [`RetryWorker::drain`]`(now)` — so this crate owns what needs a runtime:
//! reading the clock, sleeping between drains, and stopping.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use leadroute::crm::CrmError;
//! use leadroute::outbox::{InMemoryOutbox, RetryPolicy};
//! use leadroute::policy::spec::{ActionSpec, OwnerSpec};
//! use leadroute::testing::{InMemoryCrm, Method, RecordingSink};
//! use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
//! use leadroute_tokio::{RetryRunner, TokioClock};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"));
//! let router = Arc::new(
//!     LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
//!         .with_clock(TokioClock)
//!         .with_outbox(InMemoryOutbox::new())
//!         .with_retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(20))),
//! );
//! let runner = RetryRunner::new().with_interval(Duration::from_millis(10)).spawn(router.clone());
//!
//! router.crm().fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
//! let routed = router.route(LeadInput::from_email("jane@acme.com")).await.unwrap();
//! assert!(routed.write.queued().is_some());
//! while router.crm().records().is_empty() {
//!     tokio::time::sleep(Duration::from_millis(5)).await; // the runner delivers it
//! }
//! let report = runner.stop().await;
//! assert_eq!(report.totals.written, 1);
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

pub mod backoff;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use leadroute::outbox::Outbox;
use leadroute::pool::PoolStore;
use leadroute::router::{DEFAULT_BATCH_SIZE, DrainReport, RetryWorker};
use leadroute::{Clock, Crm, EventSink, LeadRouter};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A [`Clock`] over tokio's timer: `now` is the system time, `sleep` is
/// [`tokio::time::sleep`] (needs a tokio runtime with the time driver; it
/// costs no thread, unlike the core's runtime-agnostic `SystemClock`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// How long the runner waits between drains unless
/// [`with_interval`](RetryRunner::with_interval) says otherwise: 1 s. Retry
/// delays start at a second, so a shorter wait would mostly find nothing
/// due, and a drain that finds nothing costs one claim round trip.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// A worker id unique to this process and call: `leadroute-<pid>-<start
/// time in µs, hex>-<n>`. Lease owners must differ between processes.
pub fn worker_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static STARTED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros())
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("leadroute-{}-{started:x}-{n}", std::process::id())
}

/// Runs a router's [`RetryWorker`] in a tokio task: drain what is due, wait
/// the interval (or less, when stopped), drain again.
///
/// A drain that fails to claim (the outbox unreachable; the router emits
/// `outbox_failed`) is counted and retried after the interval; the loop
/// never ends on its own. [`RunnerHandle::stop`] ends it gracefully.
#[derive(Debug, Clone)]
pub struct RetryRunner {
    owner: String,
    interval: Duration,
    batch_size: usize,
    lease: Option<Duration>,
}

impl Default for RetryRunner {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryRunner {
    /// A runner with a fresh [`worker_id`], [`DEFAULT_INTERVAL`],
    /// [`DEFAULT_BATCH_SIZE`] and the router's write-ahead lease.
    pub fn new() -> Self {
        RetryRunner {
            owner: worker_id(),
            interval: DEFAULT_INTERVAL,
            batch_size: DEFAULT_BATCH_SIZE,
            lease: None,
        }
    }

    /// Sets the worker's lease owner id (unique per process).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Sets the wait between drains.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets how many entries a claim takes ([`RetryWorker::with_batch_size`]).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n;
        self
    }

    /// Sets the claim lease ([`RetryWorker::with_lease`]).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Spawns the loop on the current tokio runtime.
    pub fn spawn<C, S, P, K, O>(self, router: Arc<LeadRouter<C, S, P, K, O>>) -> RunnerHandle
    where
        C: Crm + 'static,
        S: EventSink + 'static,
        P: PoolStore + 'static,
        K: Clock + 'static,
        O: Outbox + 'static,
    {
        let (stop, mut stopped) = watch::channel(false);
        let owner = self.owner.clone();
        let task = tokio::spawn(async move {
            let mut worker =
                RetryWorker::new(&*router, self.owner).with_batch_size(self.batch_size);
            if let Some(lease) = self.lease {
                worker = worker.with_lease(lease);
            }
            let mut report = RunnerReport::default();
            loop {
                if *stopped.borrow() {
                    break;
                }
                // A drain is never cut short: its claimed entries are
                // attempted and reported before the loop looks at `stop`.
                match worker.drain(router.clock().now()).await {
                    Ok(step) => report.add(&step),
                    Err(_) => report.claim_errors += 1,
                }
                report.drains += 1;
                tokio::select! {
                    () = tokio::time::sleep(self.interval) => {}
                    _ = stopped.changed() => {}
                }
            }
            report
        });
        RunnerHandle { owner, stop, task }
    }
}

/// A running [`RetryRunner`].
#[derive(Debug)]
pub struct RunnerHandle {
    owner: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<RunnerReport>,
}

impl RunnerHandle {
    /// The worker's lease owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Stops gracefully: the drain under way (if any) finishes — its writes
    /// complete and are reported to the outbox — then the loop ends.
    /// Returns what the runner did. Entries claimed but not finished
    /// because the task panicked stay claimed until their lease expires.
    pub async fn stop(self) -> RunnerReport {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }

    /// Whether the loop has ended (stopped, or its task panicked).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// What a [`RetryRunner`] did until stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerReport {
    /// Drains run.
    pub drains: u64,
    /// Drains whose claim failed.
    pub claim_errors: u64,
    /// The drains' totals.
    pub totals: DrainReport,
}

impl RunnerReport {
    fn add(&mut self, step: &DrainReport) {
        let t = &mut self.totals;
        t.rounds += step.rounds;
        t.claimed += step.claimed;
        t.written += step.written;
        t.queued += step.queued;
        t.dead_lettered += step.dead_lettered;
        t.lease_lost += step.lease_lost;
        t.outbox_errors += step.outbox_errors;
    }
}
