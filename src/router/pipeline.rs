//! [`LeadRouter`]: the pipeline itself — normalize, look up, decide, record
//! the pool step, write (through the outbox when it has one), emit.

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::Poll;
use std::time::{Duration, SystemTime};

use super::lead_id;
use super::load::{self, DynLoadSource};
use super::observe::{self, RetrySpan, RouteSpan};
use super::record::{self, LocalPools};
use super::report::{
    DeadLetteredWrite, LookupError, Lookups, PoolStoreFailure, PoolStoreFailureKind, QueuedWrite,
    Routed, Timings, WriteOutcome,
};
use super::screening::Screening;
use crate::clock::{Clock, SystemClock, within};
use crate::crm::query::CandidateQuery;
use crate::crm::records::{Lookup, LookupStatus};
use crate::crm::{Crm, CrmError, LeadWrite, PendingWrite, WriteReceipt};
use crate::decision::{Experience, RouteDecision, TraceEvent};
use crate::events::{Event, EventKind, EventSink, unix_ms};
use crate::facts::Facts;
use crate::lead::input::LeadInput;
use crate::lead::model::Lead;
use crate::lead::normalizer::{NormalizeError, Normalizer};
use crate::matching::Matcher;
use crate::outbox::{
    DeadLetter, DeadReason, Enqueued, EntryStatus, Lease, NoOutbox, Outbox, OutboxEntry,
    RetryPolicy, WRITE_AHEAD_OWNER,
};
use crate::policy::compiled::Policy;
use crate::pool::availability::{AllAvailable, AllOf, Availability, AwayUntil};
use crate::pool::load::LoadSource;
use crate::pool::state::PoolStates;
use crate::pool::store::{InMemoryPoolStore, PoolStore};
use crate::submission::screen::{Screen, Submission};
use crate::submission::signal::Signals;
use crate::submission::verify::Verifier;

/// The time each CRM lookup gets unless
/// [`with_lookup_budget`](LeadRouter::with_lookup_budget) says otherwise: 2 s.
///
/// The lookups stand between the buyer's submit and the next screen (a
/// meeting booker, a confirmation), and both run concurrently, so this is
/// also the most the lookup stage adds to the response. CRM search and
/// record APIs answer in well under a second when healthy; 2 s leaves room
/// for a slow moment while keeping the form responsive, and a lookup cut
/// short only means the policy routes without that fact.
pub const DEFAULT_LOOKUP_BUDGET: Duration = Duration::from_secs(2);

/// The time each CRM write attempt gets unless
/// [`with_write_budget`](LeadRouter::with_write_budget) says otherwise: 10 s.
///
/// The decision is already made when the write starts, and a write cut
/// short is not lost but becomes a retryable [`PendingWrite`]. Cutting too
/// early has a cost of its own: the CRM may still complete a write the router
/// reported as failed (an `unknown_outcome`), and the retry then has to find
/// the record that write made rather than create another. So the budget is
/// generous compared with a healthy write (well under a second) yet far
/// below the 30–60 s after which load balancers and HTTP clients give up on
/// the request that carries the form.
pub const DEFAULT_WRITE_BUDGET: Duration = Duration::from_secs(10);

/// The time the pool step gets — loading the pool's state, deciding and
/// recording it by compare-and-swap, retries included — unless
/// [`with_pool_budget`](LeadRouter::with_pool_budget) says otherwise: 1 s.
///
/// A pool store is a nearby Redis or Postgres answering in milliseconds;
/// one that has not answered in a second is treated like one that failed:
/// the decision is made on this router's local copy of the pool state.
pub const DEFAULT_POOL_BUDGET: Duration = Duration::from_secs(1);

/// The time the [`Verifier`] gets unless
/// [`with_verification_budget`](LeadRouter::with_verification_budget) says
/// otherwise: 2 s.
///
/// Verification runs concurrently with the CRM lookups, so within this
/// budget it adds nothing to the response; CAPTCHA providers' verify
/// endpoints answer in a few hundred milliseconds. A verifier that has not
/// answered by then makes the `verification_unavailable` signal, never a
/// refused submission.
pub const DEFAULT_VERIFICATION_BUDGET: Duration = Duration::from_secs(2);

/// Orchestrates one submission at a time (many concurrently): normalize →
/// CRM lookups → policy and pool step → CRM write → events.
///
/// Generic over its adapters so everything stays statically dispatched:
/// `C` the [`Crm`], `S` the [`EventSink`], `P` the [`PoolStore`] and `K` the
/// [`Clock`]. `LeadRouter` is `Send + Sync` when they are; share one behind an
/// `Arc`.
///
/// # Degradation
///
/// Every submission that passes validation gets a decision, whatever the
/// adapters do; nothing is lost.
///
/// - **CRM lookups.** Each lookup (account by company domain, person by
///   email; concurrent) gets the lookup budget, [`DEFAULT_LOOKUP_BUDGET`]
///   (2 s) unless set. A lookup that fails or runs out of budget yields a
///   decision made without that CRM fact: the trace starts with
///   `crm_unavailable`, [`Routed::lookups`] has status `failed` or
///   `timed_out`, a failure's error is in [`Lookups::errors`] with the lookup
///   that raised it ([`LookupError`]), and `account_not_matched` carries the
///   account lookup's status. The account lookup asks the CRM for
///   candidates ([`Crm::find_prepared_candidates`]: fresh accounts, or a
///   set the adapter keeps prepared) and runs the router's
///   [`Matcher`] on them ([`with_matcher`](Self::with_matcher)): the match
///   is in [`Lookups::account_match`], in the facts the policy reads, in
///   the decision and in the `account_matched` event. A lead with no
///   company domain, business email or company name skips it.
/// - **Pool store.** When loading or compare-and-swapping a pool's state
///   fails, other replicas win the compare-and-swap
///   [`ROUTER_RECORD_ATTEMPTS`](record::ROUTER_RECORD_ATTEMPTS) (1,024) times in a row, or the whole pool step takes
///   longer than the pool budget ([`DEFAULT_POOL_BUDGET`], 1 s, unless
///   set), the decision is made on this
///   router's local copy of the pool states — each as last loaded from or
///   recorded in the store, plus the steps taken locally since — and its
///   pool step is applied to that copy, so the rotation keeps advancing
///   fairly during an outage instead of sending every lead to the same
///   member. The trace ends with `pool_store_unavailable` for the pool that
///   chose (or, if the local state made no pool choose, the pool that
///   failed), [`Routed::pool_store`] holds a [`PoolStoreFailure`] (`pool`,
///   `kind`: `store_error`, `contention` or `timed_out`, `message`), and a
///   `pool_store_failed` event with the same details precedes the decision's
///   event. Once the store answers again, routes decide on its state and
///   record there, and what it returns replaces the local copy (except that
///   a store still reporting the very version the local steps started from
///   — one that loads but cannot write — does not rewind the local
///   rotation). Steps taken
///   locally during an outage are **not** replayed into the store: other
///   replicas may have moved the stored state on meanwhile, so replaying
///   steps decided on a different state would double-count or over-fill
///   capacity, and an errored compare-and-swap may even have been applied.
///   The cost is bounded: at most the leads routed locally during the outage
///   are missing from the shared counts (and from the store's replay window).
/// - **Open-lead counts.** With a [`LoadSource`]
///   ([`with_load_source`](Self::with_load_source)) the router asks it,
///   concurrently with the lookups and within the lookup budget, for the
///   owners whose counts the policy reads. A source that fails or runs out
///   of budget leaves the route without counts: [`Lookups::open_leads`] is
///   `failed` (the error in `open_leads_error`) or `timed_out`, least-loaded
///   pools choose by rotation, `max_open` caps are not applied, and the
///   trace says so (`open_leads_unknown`).
/// - **Rejected or not-to-be-written leads.** A decision whose
///   [`write_to_crm`](RouteDecision::write_to_crm) is `false` (a `reject`
///   experience, unless its rule says `write_to_crm = true`) makes no CRM
///   write: [`Routed::write`] is [`WriteOutcome::Skipped`] and a
///   `crm_write_skipped` event follows the decision. A rejection emits
///   `lead_rejected { rule, reason }` in place of `owner_assigned`.
/// - **CRM write.** Each write attempt gets the write budget,
///   [`DEFAULT_WRITE_BUDGET`] (10 s) unless set. A write that fails or runs
///   out of budget never loses the lead: [`Routed::write`] is
///   [`WriteOutcome::Pending`] and the `crm_write_failed` event carries the
///   same [`PendingWrite`] (normalized lead, decision, classified error) for
///   [`LeadRouter::retry_write`]. Running out of budget is an
///   `unknown_outcome` error ([`CrmError::UnknownOutcome`]): the request
///   may have reached the CRM, which may still apply it. Adapters classify a
///   write whose result they could not read the same way (a 2xx with an
///   unreadable body, a timeout or a connection lost after sending). Such a
///   write is retryable like a `transient` one and is retried through the
///   same idempotent [`Crm::upsert_lead`] (by lead id), so a retry finds or
///   completes the record instead of duplicating it. A conflict that names
///   the existing record is retried once as an update of that record (a
///   second attempt, with a budget of its own).
/// - **Invalid input** makes no CRM call and returns the field errors
///   (`validation_failed`).
///
/// The pool store's own calls have no time budget (a store that never
/// answers holds the route: bound them in the store adapter, e.g. with the
/// client's command timeout), and the [`EventSink`] is called synchronously.
///
/// Budgets are measured by the router's [`Clock`], and the adapter's future
/// is polled before the timer, so a call that is ready at once always
/// succeeds. With the testing kit's `ManualClock`, whose sleep completes at
/// once, a CRM call that is not ready on its first poll therefore times out.
///
/// # The outbox
///
/// Without an outbox a failed write comes back to the caller as a
/// [`WriteOutcome::Pending`], and keeping it is the caller's job. Given one
/// ([`with_outbox`](Self::with_outbox): the in-memory
/// [`InMemoryOutbox`](crate::outbox::InMemoryOutbox), or the workspace's
/// Redis and Postgres outboxes shared by every replica), the router keeps
/// it:
///
/// - **After a failed write** (the default), the write is enqueued before
///   `route` returns: [`WriteOutcome::Queued`] and a `crm_write_queued`
///   event, due after the [`RetryPolicy`]'s first delay (at least the
///   CRM's `retry_after`). A write retrying cannot fix (a `permanent`
///   error, a `conflict` naming no record) is enqueued as a dead letter
///   instead: [`WriteOutcome::DeadLettered`] and `crm_write_dead_lettered`.
///   A [`RetryWorker`](super::RetryWorker) delivers queued writes;
///   [`dead_letters`](Self::dead_letters) lists the dead ones. The
///   successful path costs nothing extra. A process killed after the
///   decision but before the write finished loses that write — the window
///   is the write's own duration.
/// - **Write-ahead** ([`with_write_ahead`](Self::with_write_ahead)) closes
///   that window: the write is enqueued *before* the CRM call, already
///   claimed by the router for [`write_ahead_lease`](Self::write_ahead_lease),
///   then completed (removed) after a successful write or rescheduled after
///   a failed one. A process killed at any point leaves the entry in the
///   outbox, and once the lease expires a worker delivers it. The price is
///   latency on every route: two more outbox round trips (enqueue before
///   the write, complete after it) — sub-millisecond in memory, about one
///   network round trip each for Redis or Postgres on the same network
///   (typically 0.2–2 ms) — plus the outbox's write load on every lead
///   instead of only on failures.
/// - **When the outbox fails** (unreachable, full), routing does not:
///   an `outbox_failed` event names the operation, and a failed write comes
///   back as [`WriteOutcome::Pending`], as without an outbox. A failure to
///   complete a write-ahead entry after a successful write only means the
///   write is made once more, idempotently, after the lease expires.
/// - **The same lead id twice** (a replay, two replicas racing) queues one
///   entry: the outbox keeps the first. If that id is already a dead
///   letter, a new failed write for it comes back as `Pending`.
///
/// Delivery through the outbox is at least once; the CRM adapters' upserts,
/// idempotent by lead id, make it effectively once (see
/// [`Outbox`](crate::outbox::Outbox#delivery-at-least-once-effectively-once)).
///
/// # Reconfiguring while running
///
/// [`set_policy`](Self::set_policy) and
/// [`set_availability`](Self::set_availability) take `&self`, so a router
/// shared behind an `Arc` can be updated in place. A route reads both once,
/// at its start, and finishes with what it read (its decision's
/// `policy_version` says which policy decided). Pool state survives a policy
/// swap — it lives in the store and the router's local copy, keyed by pool
/// id — so rotation continues; a member the new policy removes from a pool
/// is dropped from its state on the pool's next step, and a member it adds
/// starts at zero.
///
/// ```
/// use leadroute::testing::InMemoryCrm;
/// use leadroute::testing::ManualClock;
/// use leadroute::testing::RecordingSink;
/// use leadroute::PolicySpec;
/// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
/// use leadroute::{LeadInput, LeadRouter, compile};
///
/// let spec = PolicySpec::new("p", "1")
///     .owner(OwnerSpec::new("queue", "Queue"))
///     .fallback(ActionSpec::owner("queue"));
/// let router = LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
///     .with_clock(ManualClock::at_unix(1_700_000_000));
/// let routed = pollster::block_on(router.route(LeadInput::from_email("jane@acme.com"))).unwrap();
/// assert_eq!(routed.decision.owner_id(), Some("queue"));
/// assert_eq!(routed.write.receipt().map(|r| r.record_id.as_str()), Some("lead-1"));
/// assert_eq!(routed.pool_store, None);
/// assert_eq!(router.events().names(), ["form_submitted", "account_not_matched", "owner_assigned", "routing_fallback", "crm_write_success"]);
/// ```
#[derive(Debug)]
pub struct LeadRouter<C, S, P = InMemoryPoolStore, K = SystemClock, O = NoOutbox> {
    pub(super) policy: RwLock<Policy>,
    normalizer: Normalizer,
    matcher: Matcher,
    pub(super) crm: C,
    sink: S,
    pub(super) pools: P,
    local_pools: LocalPools,
    pub(super) clock: K,
    availability: RwLock<Arc<dyn Availability>>,
    /// Owners a reassignment marked away for a while.
    pub(super) away: RwLock<AwayUntil>,
    lookup_budget: Duration,
    pub(super) pool_budget: Duration,
    write_budget: Duration,
    screening: Screening,
    /// Where open-lead counts come from (none by default).
    load: Option<Arc<dyn DynLoadSource>>,
    pub(super) outbox: Option<O>,
    retry: RetryPolicy,
    write_ahead: bool,
}

impl<C: Crm, S: EventSink> LeadRouter<C, S> {
    /// A router with the default normalizer, an in-memory pool store, the
    /// system clock, everyone available and the default time budgets
    /// ([`DEFAULT_LOOKUP_BUDGET`], [`DEFAULT_WRITE_BUDGET`]).
    pub fn new(policy: Policy, crm: C, sink: S) -> Self {
        LeadRouter {
            policy: RwLock::new(policy),
            normalizer: Normalizer::default(),
            matcher: Matcher::default(),
            crm,
            sink,
            pools: InMemoryPoolStore::new(),
            local_pools: LocalPools::default(),
            clock: SystemClock,
            availability: RwLock::new(Arc::new(AllAvailable)),
            away: RwLock::default(),
            lookup_budget: DEFAULT_LOOKUP_BUDGET,
            pool_budget: DEFAULT_POOL_BUDGET,
            write_budget: DEFAULT_WRITE_BUDGET,
            screening: Screening::new(DEFAULT_VERIFICATION_BUDGET),
            load: None,
            outbox: None,
            retry: RetryPolicy::default(),
            write_ahead: false,
        }
    }
}

impl<C: Crm, S: EventSink, P: PoolStore, K: Clock, O: Outbox> LeadRouter<C, S, P, K, O> {
    /// Replaces the clock.
    pub fn with_clock<K2: Clock>(self, clock: K2) -> LeadRouter<C, S, P, K2, O> {
        LeadRouter {
            policy: self.policy,
            normalizer: self.normalizer,
            matcher: self.matcher,
            crm: self.crm,
            sink: self.sink,
            pools: self.pools,
            local_pools: self.local_pools,
            clock,
            availability: self.availability,
            away: self.away,
            lookup_budget: self.lookup_budget,
            pool_budget: self.pool_budget,
            write_budget: self.write_budget,
            screening: self.screening,
            load: self.load,
            outbox: self.outbox,
            retry: self.retry,
            write_ahead: self.write_ahead,
        }
    }

    /// Replaces the pool store (e.g. one over Redis or Postgres), and
    /// forgets the local copy of pool states kept for store outages.
    pub fn with_pool_store<P2: PoolStore>(self, pools: P2) -> LeadRouter<C, S, P2, K, O> {
        LeadRouter {
            policy: self.policy,
            normalizer: self.normalizer,
            matcher: self.matcher,
            crm: self.crm,
            sink: self.sink,
            pools,
            local_pools: LocalPools::default(),
            clock: self.clock,
            availability: self.availability,
            away: self.away,
            lookup_budget: self.lookup_budget,
            pool_budget: self.pool_budget,
            write_budget: self.write_budget,
            screening: self.screening,
            load: self.load,
            outbox: self.outbox,
            retry: self.retry,
            write_ahead: self.write_ahead,
        }
    }

    /// Gives the router an [outbox](crate::outbox): a write that fails is
    /// enqueued there before [`route`](Self::route) returns
    /// ([`WriteOutcome::Queued`], or [`WriteOutcome::DeadLettered`] when
    /// retrying cannot help), and a
    /// [`RetryWorker`](super::RetryWorker) delivers it later. See
    /// [The outbox](Self#the-outbox).
    pub fn with_outbox<O2: Outbox>(self, outbox: O2) -> LeadRouter<C, S, P, K, O2> {
        LeadRouter {
            policy: self.policy,
            normalizer: self.normalizer,
            matcher: self.matcher,
            crm: self.crm,
            sink: self.sink,
            pools: self.pools,
            local_pools: self.local_pools,
            clock: self.clock,
            availability: self.availability,
            away: self.away,
            lookup_budget: self.lookup_budget,
            pool_budget: self.pool_budget,
            write_budget: self.write_budget,
            screening: self.screening,
            load: self.load,
            outbox: Some(outbox),
            retry: self.retry,
            write_ahead: self.write_ahead,
        }
    }

    /// Sets when failed writes are retried and when they are dead-lettered
    /// (default [`RetryPolicy::default`]); used by `route` when it queues a
    /// write and by the retry worker.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Write-ahead mode (off by default; needs an outbox): every write is
    /// enqueued, already claimed by the router, *before* the CRM call, so a
    /// process killed between the decision and the write's end loses
    /// nothing — the entry's lease expires and a retry worker delivers it.
    /// Costs one or two more outbox round trips on every route (see
    /// [The outbox](Self#the-outbox)).
    pub fn with_write_ahead(mut self, on: bool) -> Self {
        self.write_ahead = on;
        self
    }

    /// The outbox, if the router has one.
    pub fn outbox(&self) -> Option<&O> {
        self.outbox.as_ref()
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether write-ahead mode is on (and there is an outbox to write ahead to).
    pub fn writes_ahead(&self) -> bool {
        self.write_ahead && self.outbox.is_some()
    }

    /// The lease a write-ahead entry is enqueued with: twice the write
    /// budget (a conflict turned into an update is a second attempt) plus a
    /// second of margin. If the router has not reported by then, it is
    /// presumed dead and a worker may claim the entry.
    pub fn write_ahead_lease(&self) -> Duration {
        self.write_budget
            .saturating_mul(2)
            .saturating_add(Duration::from_secs(1))
    }

    /// Up to `limit` (at most [`MAX_BATCH`](crate::outbox::MAX_BATCH)) dead
    /// letters, the oldest first; none without an outbox. Each holds the
    /// whole write, its last error and why it is dead; fix the cause, then
    /// [`requeue_dead_letter`](Self::requeue_dead_letter) or remove it with
    /// [`Outbox::remove`].
    pub async fn dead_letters(&self, limit: usize) -> Result<Vec<OutboxEntry>, O::Error> {
        match &self.outbox {
            Some(outbox) => outbox.dead_letters(limit).await,
            None => Ok(Vec::new()),
        }
    }

    /// Gives a dead letter a fresh series of attempts, due now (by the
    /// router's clock). Returns whether there was such a dead letter.
    pub async fn requeue_dead_letter(&self, id: &str) -> Result<bool, O::Error> {
        match &self.outbox {
            Some(outbox) => outbox.requeue(id, self.clock.now()).await,
            None => Ok(false),
        }
    }

    /// Replaces the normalizer (the matcher uses its free-mail and
    /// disposable lists too).
    pub fn with_normalizer(mut self, normalizer: Normalizer) -> Self {
        self.matcher = self.matcher.with_normalizer(normalizer.clone());
        self.normalizer = normalizer;
        self
    }

    /// Replaces the account matcher (weights, thresholds, tie-breakers,
    /// `route_to_parent`, `max_candidates`; see
    /// [`matching`](crate::matching)). It keeps the router's normalizer.
    ///
    /// ```
    /// use leadroute::crm::Account;
    /// use leadroute::matching::{MatchConfig, Matcher};
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
    /// use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
    /// use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
    ///
    /// let spec = PolicySpec::new("p", "1")
    ///     .owner(OwnerSpec::new("ana", "Ana"))
    ///     .owner(OwnerSpec::new("raj", "Raj"))
    ///     .rule("existing", leadroute::policy::spec::Condition::account_has_owner(), ActionSpec::account_owner())
    ///     .fallback(ActionSpec::nobody());
    /// let crm = InMemoryCrm::new()
    ///     .with_account(Account::new("ibm", "IBM").domain("ibm.com").owner("ana"))
    ///     .with_account(Account::new("ibm-in", "IBM India").domain("in.ibm.com").owner("raj").parent("ibm"));
    /// let config = MatchConfig::from_json_str(r#"{"route_to_parent": true}"#).unwrap();
    /// let router = LeadRouter::new(compile(&spec).unwrap(), crm, RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_700_000_000))
    ///     .with_matcher(Matcher::new(config).unwrap());
    /// let routed = pollster::block_on(router.route(LeadInput::from_email("ravi@in.ibm.com"))).unwrap();
    /// let m = routed.lookups.account_match.as_deref().unwrap();
    /// assert_eq!(m.account_id.as_deref(), Some("ibm-in"));
    /// assert_eq!(routed.decision.owner_id(), Some("ana")); // the parent's owner
    /// ```
    pub fn with_matcher(mut self, matcher: Matcher) -> Self {
        self.matcher = matcher.with_normalizer(self.normalizer.clone());
        self
    }

    /// The account matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Sets the availability source (everyone is available by default):
    /// pools skip members it says are away; an owner named directly, or a
    /// record's owner, is passed over only by an action with
    /// `check_availability` (else kept, and the decision says they were
    /// away). Reassignment away marks are added to it. See also
    /// [`set_availability`](Self::set_availability).
    pub fn with_availability(self, availability: impl Availability + 'static) -> Self {
        self.set_availability(availability);
        self
    }

    /// Gives each CRM lookup at most this long (default
    /// [`DEFAULT_LOOKUP_BUDGET`], 2 s); past it, routing goes on without that
    /// fact.
    pub fn with_lookup_budget(mut self, budget: Duration) -> Self {
        self.lookup_budget = budget;
        self
    }

    /// Gives the pool step (load, decide, compare-and-swap, retries) at most
    /// this long (default [`DEFAULT_POOL_BUDGET`], 1 s); past it, the
    /// decision is made on the local copy of the pool state, as when the
    /// store fails.
    pub fn with_pool_budget(mut self, budget: Duration) -> Self {
        self.pool_budget = budget;
        self
    }

    /// Gives each CRM write attempt at most this long (default
    /// [`DEFAULT_WRITE_BUDGET`], 10 s); past it, the write is a retryable
    /// failure.
    pub fn with_write_budget(mut self, budget: Duration) -> Self {
        self.write_budget = budget;
        self
    }

    /// Screens every submission with `screen`: its signals go to the
    /// policy ([`Facts::signals`]), to a `submission_screened` event and to
    /// [`Routed::screening`], and its control fields (honeypots, start
    /// time, tokens) are removed from the lead before it is written.
    pub fn with_screen(mut self, screen: Screen) -> Self {
        self.screening.screen = Some(Arc::new(screen));
        self
    }

    /// Verifies each submission's token (see
    /// [`ScreenConfig::token_fields`](crate::submission::ScreenConfig::token_fields))
    /// with `verifier`, within the verification budget, concurrently with
    /// the CRM lookups. Screens with the default [`Screen`] unless
    /// [`with_screen`](Self::with_screen) set one. A missing token is the
    /// `unverified` signal, a rejected one `verification_failed`, and a
    /// verifier that fails or runs out of budget `verification_unavailable`:
    /// the submission is routed either way, and the policy decides.
    pub fn with_verifier(mut self, verifier: impl Verifier + 'static) -> Self {
        if self.screening.screen.is_none() {
            self.screening.screen = Some(Arc::new(Screen::default()));
        }
        self.screening.verifier = Some(Arc::new(verifier));
        self
    }

    /// Sets the time the verifier gets (default
    /// [`DEFAULT_VERIFICATION_BUDGET`], 2 s).
    pub fn with_verification_budget(mut self, budget: Duration) -> Self {
        self.screening.budget = budget;
        self
    }

    /// Asks `source` for open-lead counts on every route and reassignment,
    /// for the owners the policy reads counts for
    /// ([`Policy::load_owners`]: members of least-loaded pools and of pools
    /// with `max_open` caps; nothing is asked when there are none),
    /// concurrently with the CRM lookups and within the same lookup budget.
    /// [`Lookups::open_leads`] says how it went. A source that fails or runs
    /// out of budget degrades like no counts at all: least-loaded pools
    /// choose by rotation, open-lead caps are not applied, and the trace
    /// says so (`open_leads_unknown`; see
    /// [the pool docs](crate::pool#when-open-lead-counts-are-missing)).
    ///
    /// ```
    /// use leadroute::pool::InMemoryOpenLeads;
    /// use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
    /// use leadroute::{LeadInput, LeadRouter, Policy};
    /// use std::sync::Arc;
    ///
    /// let policy = Policy::from_toml_str(r#"
    ///     name = "p"
    ///     version = "1"
    ///     owners = [{ id = "ana" }, { id = "bob" }]
    ///     [[pools]]
    ///     id = "team"
    ///     members = [{ owner = "ana" }, { owner = "bob" }]
    ///     distribution = "least_loaded"
    ///     [fallback]
    ///     assign = { pool = "team" }
    /// "#).unwrap();
    /// let open = Arc::new(InMemoryOpenLeads::new());
    /// open.set("ana", 4);
    /// open.set("bob", 1);
    /// let router = LeadRouter::new(policy, InMemoryCrm::new(), RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_700_000_000))
    ///     .with_load_source(open.clone());
    /// let routed = pollster::block_on(router.route(LeadInput::from_email("cto@acme.com"))).unwrap();
    /// assert_eq!(routed.decision.owner_id(), Some("bob"));
    /// ```
    pub fn with_load_source(mut self, source: impl LoadSource + 'static) -> Self {
        self.load = Some(Arc::new(source));
        self
    }

    /// The policy routes start with now (a cheap clone: a compiled policy is
    /// an `Arc`).
    pub fn policy(&self) -> Policy {
        self.policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Swaps in a new compiled policy for the routes that start from now on,
    /// and returns the previous one. Routes already under way finish with
    /// the policy they started with; pool state carries over (see
    /// [Reconfiguring while running](Self#reconfiguring-while-running)).
    ///
    /// ```
    /// use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
    /// use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
    /// use std::sync::Arc;
    ///
    /// let v = |version: &str, owner: &str| {
    ///     compile(&PolicySpec::new("p", version).owner(OwnerSpec::new(owner, owner)).fallback(ActionSpec::owner(owner))).unwrap()
    /// };
    /// let router = Arc::new(
    ///     LeadRouter::new(v("1", "ana"), InMemoryCrm::new(), RecordingSink::new())
    ///         .with_clock(ManualClock::at_unix(1_700_000_000)),
    /// );
    /// let old = router.set_policy(v("2", "bob"));
    /// assert_eq!(old.version(), "1");
    /// let routed = pollster::block_on(router.route(LeadInput::from_email("jane@acme.com"))).unwrap();
    /// assert_eq!((&*routed.decision.policy_version, routed.decision.owner_id()), ("2", Some("bob")));
    /// ```
    pub fn set_policy(&self, policy: Policy) -> Policy {
        let mut current = self.policy.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, policy)
    }

    /// Swaps the availability source for the routes that start from now on
    /// (routes under way keep the one they started with). To share one
    /// source with other code, pass an `Arc` of it: the adapter traits are
    /// implemented for `Arc<T>`.
    ///
    /// ```
    /// use leadroute::pool::AwayList;
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
    /// use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
    /// use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
    ///
    /// let spec = PolicySpec::new("p", "1")
    ///     .owner(OwnerSpec::new("ana", "Ana"))
    ///     .owner(OwnerSpec::new("bob", "Bob"))
    ///     .pool(PoolSpec::new("team").member("ana", 1).member("bob", 1))
    ///     .fallback(ActionSpec::pool("team"));
    /// let router = LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_700_000_000));
    /// router.set_availability(AwayList::new(["ana"]));
    /// let owner = |email: &str| {
    ///     let routed = pollster::block_on(router.route(LeadInput::from_email(email))).unwrap();
    ///     routed.decision.owner_id().map(str::to_owned)
    /// };
    /// assert_eq!(owner("a@acme.com").as_deref(), Some("bob"));
    /// assert_eq!(owner("b@acme.com").as_deref(), Some("bob"));
    /// ```
    pub fn set_availability(&self, availability: impl Availability + 'static) {
        *self
            .availability
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(availability);
    }

    /// The owners reassignments marked away, as of now (expired marks
    /// dropped).
    pub(super) fn away_marks(&self) -> AwayUntil {
        let now = self.clock.now();
        let mut away = self.away.write().unwrap_or_else(PoisonError::into_inner);
        away.expire(now);
        away.clone()
    }

    pub(super) fn availability(&self) -> Arc<dyn Availability> {
        self.availability
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The time each CRM lookup gets.
    pub fn lookup_budget(&self) -> Duration {
        self.lookup_budget
    }

    /// The time each CRM write attempt gets.
    pub fn write_budget(&self) -> Duration {
        self.write_budget
    }

    /// The CRM adapter.
    pub fn crm(&self) -> &C {
        &self.crm
    }

    /// The event sink.
    pub fn events(&self) -> &S {
        &self.sink
    }

    /// The clock.
    pub fn clock(&self) -> &K {
        &self.clock
    }

    /// The pool store.
    pub fn pool_store(&self) -> &P {
        &self.pools
    }

    pub(super) fn emit(&self, kind: EventKind, lead_id: &str, submitted: Option<SystemTime>) {
        let event = Event::new(kind, lead_id, self.clock.now(), submitted);
        observe::on_event(&event);
        self.sink.emit(event);
    }

    /// Records a front-end event (`form_started`, `meeting_shown`,
    /// `meeting_booked`) through the same sink and clock.
    pub fn track(&self, kind: EventKind, lead_id: &str, submitted: Option<SystemTime>) {
        self.emit(kind, lead_id, submitted);
    }

    /// Routes a JSON payload (a form post body). A body that is not a JSON
    /// object is a [`Field::Payload`](crate::lead::Field::Payload) error (its
    /// events carry an id derived from the body and the time).
    pub async fn route_json(&self, body: &str) -> Result<Routed, NormalizeError> {
        match serde_json::from_str::<LeadInput>(body) {
            Ok(input) => self.route(input).await,
            Err(e) => {
                let err = NormalizeError::payload(&e);
                let lead_id = lead_id::for_body(body, unix_ms(self.clock.now()));
                self.emit(EventKind::FormSubmitted { email: None }, &lead_id, None);
                self.emit(
                    EventKind::ValidationFailed {
                        errors: err.errors.clone(),
                    },
                    &lead_id,
                    None,
                );
                Err(err)
            }
        }
    }

    /// Routes one submission end to end, with the policy and availability
    /// source current when it starts.
    ///
    /// A submission without a `lead_id` gets one derived from the whole
    /// submission and the submit time (`lr-<unix ms>-<hash>`): every field
    /// of the [`LeadInput`] counts, canonically (JSON key spelling and order
    /// do not), so only the same submission in the same millisecond — a
    /// double-click, a retry racing the first request, on any replica — gets
    /// the same id and replays its pool assignment, while two different
    /// submissions from one email never collide. Send a `lead_id` (or
    /// `submission_id`) for retries that may come later.
    pub async fn route(&self, input: LeadInput) -> Result<Routed, NormalizeError> {
        self.route_submission(input, Submission::default()).await
    }

    /// Routes a JSON payload with what the caller knows about the
    /// submission (see [`route_submission`](Self::route_submission)).
    pub async fn route_json_submission(
        &self,
        body: &str,
        submission: Submission,
    ) -> Result<Routed, NormalizeError> {
        match serde_json::from_str::<LeadInput>(body) {
            Ok(input) => self.route_submission(input, submission).await,
            Err(_) => self.route_json(body).await,
        }
    }

    /// Routes one submission end to end, like [`route`](Self::route), with
    /// what the caller knows about it: when the form was started, a
    /// verification token from outside the form, and recent submissions of
    /// the same email from the caller's store (the router keeps none). Used
    /// only when the router screens ([`with_screen`](Self::with_screen),
    /// [`with_verifier`](Self::with_verifier)).
    ///
    /// ```
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
    /// use leadroute::submission::{self, ScreenConfig, SignalKind, Submission};
    /// use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
    /// use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
    /// use std::time::Duration;
    ///
    /// let mut spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"));
    /// spec.rules.splice(0..0, submission::recommended_rules());
    /// let router = LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_700_000_000))
    ///     .with_screen(ScreenConfig::default().build().unwrap());
    /// let mut input = LeadInput::from_email("jane@acme.com");
    /// input.attributes.insert("leadroute_hp".into(), "http://spam.example".into());
    /// let started = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) - Duration::from_millis(800);
    /// let routed = pollster::block_on(router.route_submission(input, Submission::default().started_at(started))).unwrap();
    /// let signals = routed.screening.as_ref().unwrap();
    /// assert!(signals.fired(SignalKind::Honeypot) && signals.fired(SignalKind::TooFast));
    /// assert_eq!(routed.decision.rule.as_deref(), Some("spam-reject"));
    /// assert!(routed.write.is_skipped()); // never written to the CRM
    /// assert_eq!(router.events().names(), ["form_submitted", "submission_screened", "account_not_matched", "lead_rejected", "crm_write_skipped"]);
    /// ```
    pub async fn route_submission(
        &self,
        input: LeadInput,
        submission: Submission,
    ) -> Result<Routed, NormalizeError> {
        let span = RouteSpan::new();
        // The route's future, and the lookup and write futures inside it,
        // are boxed: with an HTTP adapter's futures they are hundreds of KB,
        // and in debug builds each poll frame copies them, which overflowed
        // a 2 MiB thread stack (the adapters' tests). Three allocations per
        // route, against ~85 the route makes anyway.
        span.instrument(Box::pin(self.route_in(input, submission, &span)))
            .await
    }

    async fn route_in(
        &self,
        input: LeadInput,
        submission: Submission,
        span: &RouteSpan,
    ) -> Result<Routed, NormalizeError> {
        let policy = self.policy();
        let availability = self.availability();
        let away = self.away_marks();
        let availability = AllOf(&*availability, &away);
        let submitted = self.clock.now();
        let lead_id = submission_id(&input, submitted);
        span.started(&lead_id, policy.version());
        let at = Some(submitted);
        let since = |a: SystemTime, b: SystemTime| b.duration_since(a).unwrap_or_default();
        let emit = |kind: EventKind| self.emit(kind, &lead_id, at);
        emit(EventKind::FormSubmitted {
            email: input.email.clone(),
        });

        // Capture and validate.
        let stage = span.stage("normalize");
        let normalized = stage.in_scope(|| self.normalizer.normalize_owned(input));
        let t_normalized = self.clock.now();
        stage.flag("valid", normalized.is_ok());
        stage.done(since(submitted, t_normalized));
        let normalized = normalized.inspect_err(|err| {
            emit(EventKind::ValidationFailed {
                errors: err.errors.clone(),
            });
        })?;
        let mut lead = normalized.lead;
        lead.lead_id = Some(lead_id.clone());

        // What the CRM knows, which account the lead belongs to, and
        // (concurrently) what the verifier says.
        let stage = span.stage("lookups");
        let (lookups, verification) = stage
            .instrument(Box::pin(join(
                self.lookups(&lead, &policy),
                self.screening.verify(&self.clock, &lead, &submission),
            )))
            .await;
        let screening: Option<Signals> = self.screening.screen.as_deref().map(|screen| {
            let signals = screen.assess(&lead, &submission, &verification, submitted);
            screen.strip_controls(&mut lead);
            signals
        });
        if let Some(signals) = &screening {
            emit(EventKind::SubmissionScreened {
                score: signals.score,
                signals: signals.signals.clone(),
            });
        }
        emit(account_result(&lookups, &lead));
        let t_looked_up = self.clock.now();
        stage.record("account_lookup", lookups.account.as_str());
        stage.record("person_lookup", lookups.person.as_str());
        stage.record("open_leads", lookups.open_leads.as_str());
        stage.done(since(t_normalized, t_looked_up));

        // Assign.
        let stage = span.stage("decide");
        let mut facts = Facts::new(submitted)
            .account_lookup(lookups.account)
            .person_lookup(lookups.person)
            .availability(&availability);
        if let Some(a) = &lookups.matched_account {
            facts = facts.account(a);
        }
        if let Some(m) = &lookups.account_match {
            facts = facts.account_match(m);
        }
        if let Some(c) = &lookups.existing_person {
            facts = facts.contact(c);
        }
        if let Some(signals) = &screening {
            facts = facts.signals(signals);
        }
        if let Some(counts) = &lookups.open_lead_counts {
            facts = facts.open_leads(counts);
        }
        let (decision, pool_store) = stage
            .instrument(self.decide(&policy, &lead, &facts, &[]))
            .await;
        if let Some(failure) = &pool_store {
            emit(EventKind::PoolStoreFailed(failure.clone()));
        }
        emit(decided(&decision, screening.as_ref()));
        if decision.fallback {
            emit(EventKind::RoutingFallback {
                owner: decision.owner.as_deref().map(str::to_owned),
            });
        }
        let t_decided = self.clock.now();
        if let Some(rule) = decision.rule.as_deref() {
            stage.record("rule", rule);
        }
        if let Some(owner) = decision.owner_id() {
            stage.record("owner", owner);
        }
        stage.flag("pool_store_failed", pool_store.is_some());
        stage.done(since(t_looked_up, t_decided));

        // Confirm.
        let stage = span.stage("write");
        let (lead, decision, write) = if decision.write_to_crm {
            let pending = PendingWrite {
                lead_id: lead_id.clone(),
                lead,
                decision,
                existing: lookups.existing_person.as_ref().map(|c| c.id.clone()),
                account: lookups.matched_account.clone(),
                error: CrmError::transient("not attempted"),
            };
            let (write, pending) = stage
                .instrument(Box::pin(
                    self.deliver(&policy, pending, &lead_id, submitted),
                ))
                .await;
            (pending.lead, pending.decision, write)
        } else {
            emit(EventKind::CrmWriteSkipped {
                rule: decision.rule.as_deref().map(str::to_owned),
            });
            (lead, decision, WriteOutcome::Skipped)
        };
        let t_written = self.clock.now();
        stage.record("write", observe::write_name(&write));
        stage.done(since(t_decided, t_written));

        let routed = Routed {
            lead_id,
            lead,
            warnings: normalized.warnings,
            decision,
            lookups,
            write,
            pool_store,
            screening,
            timings: Timings {
                normalize: since(submitted, t_normalized),
                lookup: since(t_normalized, t_looked_up),
                decide: since(t_looked_up, t_decided),
                write: since(t_decided, t_written),
                total: since(submitted, t_written),
            },
        };
        span.finish(&routed);
        Ok(routed)
    }

    /// Evaluates and records the pool step in the store; when the store
    /// fails, decides on the local pool states instead (see
    /// [Degradation](Self#degradation)).
    pub(super) async fn decide(
        &self,
        policy: &Policy,
        lead: &Lead,
        facts: &Facts<'_>,
        excluded: &[String],
    ) -> (RouteDecision, Option<PoolStoreFailure>) {
        let mut from_store = PoolStates::new();
        let recorded = within(
            &self.clock,
            self.pool_budget,
            record::record(
                policy,
                lead,
                facts,
                &self.pools,
                &mut from_store,
                excluded,
                record::ROUTER_RECORD_ATTEMPTS,
            ),
        )
        .await;
        self.local_pools.confirm(from_store);
        let failed = match recorded {
            Some(Ok(decision)) => return (decision, None),
            Some(Err(e)) => Some(e.to_failure()),
            None => None,
        };
        let mut decision = self.local_pools.decide(policy, lead, facts, excluded);
        let chose = decision.pool_step().map(|s| s.pool().to_owned());
        let failure = failed.unwrap_or_else(|| {
            PoolStoreFailure::new(
                chose.clone().unwrap_or_default(),
                PoolStoreFailureKind::TimedOut,
                format!(
                    "the pool store did not answer within {} ms",
                    self.pool_budget.as_millis()
                ),
            )
        });
        let traced = chose.as_deref().unwrap_or(failure.pool.as_str());
        if let Some(pool) = policy.pool_index(traced) {
            decision
                .trace
                .events
                .push(TraceEvent::PoolStoreUnavailable { pool });
        }
        (decision, Some(failure))
    }

    /// Retries a write that failed earlier (from [`Routed::write`] or a
    /// `crm_write_failed` event), with the current policy's owners
    /// directory, the same conflict handling and the same events.
    ///
    /// ```
    /// use leadroute::crm::CrmError;
    /// use leadroute::testing::{InMemoryCrm, ManualClock, Method, RecordingSink};
    /// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
    /// use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
    ///
    /// let spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"));
    /// let router = LeadRouter::new(compile(&spec).unwrap(), InMemoryCrm::new(), RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_700_000_000));
    /// router.crm().fail_next(Method::UpsertLead, 1, CrmError::transient("502"));
    /// let routed = pollster::block_on(router.route(LeadInput::from_email("jane@acme.com"))).unwrap();
    /// let pending = routed.write.into_pending().unwrap(); // store it; later:
    /// let receipt = pollster::block_on(router.retry_write(pending)).unwrap();
    /// assert!(receipt.created);
    /// ```
    pub async fn retry_write(
        &self,
        pending: PendingWrite,
    ) -> Result<WriteReceipt, Box<PendingWrite>> {
        self.write(&self.policy(), pending, None).await.0
    }

    /// The route's CRM write, through the outbox when there is one (see
    /// [The outbox](Self#the-outbox)), under outbox entry id `entry_id`
    /// (the lead id for a route; a reassignment's own id, so it never
    /// collides with the first write's entry).
    pub(super) async fn deliver(
        &self,
        policy: &Policy,
        pending: PendingWrite,
        entry_id: &str,
        submitted: SystemTime,
    ) -> (WriteOutcome, PendingWrite) {
        let at = Some(submitted);
        let Some(outbox) = &self.outbox else {
            let (result, pending) = self.write(policy, pending, at).await;
            return (
                result.map_or_else(WriteOutcome::Pending, WriteOutcome::Written),
                pending,
            );
        };
        let id = entry_id.to_owned();
        // Write-ahead: the entry exists, held by this route, before the CRM
        // call starts.
        let mut hold = None;
        if self.write_ahead {
            let entry = OutboxEntry::new(pending.clone(), self.clock.now())
                .with_id(id.as_str())
                .submitted_at(submitted)
                .claimed_by(WRITE_AHEAD_OWNER, self.write_ahead_lease());
            let lease = entry.lease.clone();
            match outbox.enqueue(entry).await {
                Ok(Enqueued::Added) => hold = lease,
                // An earlier route of this lead id queued it: write anyway
                // (idempotently); that entry stays as it is.
                Ok(_) => {}
                Err(e) => self.outbox_failed("enqueue", &id, &e, at),
            }
        }
        let (result, pending) = self.write(policy, pending, at).await;
        let error = match result {
            Ok(receipt) => {
                if let Some(lease) = &hold {
                    if let Err(e) = outbox.complete(&id, lease).await {
                        // The entry stays claimed; once its lease expires a
                        // worker writes it again, idempotently.
                        self.outbox_failed("complete", &id, &e, at);
                    }
                }
                return (WriteOutcome::Written(receipt), pending);
            }
            Err(failed) => failed.error,
        };
        let how = match &hold {
            Some(lease) => Settle::Hold(lease),
            None => Settle::Enqueue(&pending, submitted),
        };
        let now = self.clock.now();
        let outcome = match self.settle(outbox, &id, how, 1, &error, now, at).await {
            Settled::Queued(q) | Settled::LeaseLost(q) => WriteOutcome::Queued(Box::new(q)),
            Settled::Dead(d) => WriteOutcome::DeadLettered(Box::new(d)),
            Settled::NotTaken => WriteOutcome::Pending(Box::new(pending.clone())),
        };
        (outcome, pending)
    }

    /// Records a failed attempt in the outbox: rescheduled by the retry
    /// policy, or dead-lettered; emits `crm_write_queued`,
    /// `crm_write_dead_lettered` or `outbox_failed`.
    #[allow(clippy::too_many_arguments)] // one call site per mode; a struct would only rename them
    async fn settle(
        &self,
        outbox: &O,
        id: &str,
        how: Settle<'_>,
        attempts: u32,
        error: &CrmError,
        now: SystemTime,
        at: Option<SystemTime>,
    ) -> Settled {
        let verdict = self.retry.dead_reason(attempts, error);
        let next = self.retry.next_attempt_at(id, attempts, error, now);
        let letter = verdict.map(|reason| DeadLetter::new(reason, now, Some(error.clone())));
        let (operation, result) = match (&letter, how) {
            (Some(letter), Settle::Hold(lease)) => (
                "dead_letter",
                outbox.dead_letter(id, lease, letter).await.map(Some),
            ),
            (None, Settle::Hold(lease)) => {
                ("fail", outbox.fail(id, lease, error, next).await.map(Some))
            }
            (letter, Settle::Enqueue(write, submitted)) => {
                let mut entry = OutboxEntry::new(write.clone(), now)
                    .with_id(id)
                    .submitted_at(submitted)
                    .after_attempts(attempts, error.clone());
                entry = match letter {
                    Some(letter) => entry.dead(letter.clone()),
                    None => entry.retry_at(next),
                };
                let enqueued = outbox.enqueue(entry).await.map(|e| match e {
                    Enqueued::AlreadyPresent {
                        status: EntryStatus::Dead,
                    } => None,
                    // Added, or queued by an earlier route of this lead id.
                    _ => Some(true),
                });
                ("enqueue", enqueued)
            }
        };
        let queued = || QueuedWrite::new(id, attempts, next, error.clone());
        match result {
            Err(e) => {
                self.outbox_failed(operation, id, &e, at);
                Settled::NotTaken
            }
            // An older dead letter holds this id: hand the write back.
            Ok(None) => Settled::NotTaken,
            // The lease expired and another worker holds the entry now.
            Ok(Some(false)) => Settled::LeaseLost(queued()),
            Ok(Some(true)) => match letter {
                Some(letter) => {
                    self.emit(
                        EventKind::CrmWriteDeadLettered {
                            entry_id: id.to_owned(),
                            reason: letter.reason,
                            attempts,
                            error: letter.error.clone(),
                        },
                        id,
                        at,
                    );
                    Settled::Dead(DeadLetteredWrite::new(id, letter.reason, letter.error))
                }
                None => {
                    self.emit(EventKind::CrmWriteQueued(queued()), id, at);
                    Settled::Queued(queued())
                }
            },
        }
    }

    /// One claimed entry, for the retry worker: attempt the write and report
    /// the outcome to the outbox.
    pub(super) async fn retry_entry(&self, entry: OutboxEntry, now: SystemTime) -> Retried {
        let span = RetrySpan::new(&entry.id, entry.attempts);
        let retried = span.instrument(self.retry_entry_in(entry, now)).await;
        span.outcome(retried.as_str());
        retried
    }

    async fn retry_entry_in(&self, entry: OutboxEntry, now: SystemTime) -> Retried {
        let (Some(outbox), Some(lease)) = (&self.outbox, entry.lease.clone()) else {
            return Retried::LeaseLost;
        };
        let at = entry.submitted_at;
        let id = entry.id.clone();
        if entry.attempts > self.retry.max_attempts.max(1) {
            // Earlier holders died mid-attempt (each claim counts): stop
            // without another attempt.
            let letter = DeadLetter::new(DeadReason::AttemptsExhausted, now, entry.last_error);
            return match outbox.dead_letter(&id, &lease, &letter).await {
                Ok(true) => {
                    self.emit(
                        EventKind::CrmWriteDeadLettered {
                            entry_id: id.clone(),
                            reason: letter.reason,
                            attempts: entry.attempts,
                            error: letter.error,
                        },
                        &id,
                        at,
                    );
                    Retried::DeadLettered
                }
                Ok(false) => Retried::LeaseLost,
                Err(e) => {
                    self.outbox_failed("dead_letter", &id, &e, at);
                    Retried::OutboxError
                }
            };
        }
        let policy = self.policy();
        let (result, _) = self.write(&policy, entry.write, at).await;
        match result {
            Ok(_) => match outbox.complete(&id, &lease).await {
                Ok(true) => Retried::Written,
                // Written, but the entry is someone else's now; their write
                // will find this record (idempotent by lead id).
                Ok(false) => Retried::LeaseLost,
                Err(e) => {
                    self.outbox_failed("complete", &id, &e, at);
                    Retried::OutboxError
                }
            },
            Err(failed) => {
                let how = Settle::Hold(&lease);
                match self
                    .settle(outbox, &id, how, entry.attempts, &failed.error, now, at)
                    .await
                {
                    Settled::Queued(_) => Retried::Queued,
                    Settled::Dead(_) => Retried::DeadLettered,
                    Settled::LeaseLost(_) => Retried::LeaseLost,
                    Settled::NotTaken => Retried::OutboxError,
                }
            }
        }
    }

    /// Claims due entries for the retry worker; an outbox error is emitted
    /// as `outbox_failed` and returned.
    pub(super) async fn claim_due(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, O::Error> {
        let Some(outbox) = &self.outbox else {
            return Ok(Vec::new());
        };
        outbox
            .claim(owner, now, lease_for, limit)
            .await
            .inspect_err(|e| {
                self.emit(
                    EventKind::OutboxFailed {
                        operation: "claim".into(),
                        entry_id: None,
                        message: e.to_string(),
                    },
                    "",
                    None,
                );
            })
    }

    fn outbox_failed(
        &self,
        operation: &str,
        id: &str,
        error: &dyn std::error::Error,
        at: Option<SystemTime>,
    ) {
        self.emit(
            EventKind::OutboxFailed {
                operation: operation.to_owned(),
                entry_id: Some(id.to_owned()),
                message: error.to_string(),
            },
            id,
            at,
        );
    }

    /// Writes, turning a conflict with a known record into an update of it.
    /// Returns the result and the (possibly updated) pending write.
    async fn write(
        &self,
        policy: &Policy,
        mut pending: PendingWrite,
        at: Option<SystemTime>,
    ) -> (Result<WriteReceipt, Box<PendingWrite>>, PendingWrite) {
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            let owner = pending
                .decision
                .owner
                .as_deref()
                .and_then(|o| policy.owner(o));
            let write = LeadWrite {
                lead_id: &pending.lead_id,
                lead: &pending.lead,
                decision: &pending.decision,
                owner,
                existing: pending.existing.as_deref(),
                account: pending.account.as_ref(),
            };
            let result = within(&self.clock, self.write_budget, self.crm.upsert_lead(&write))
                .await
                .unwrap_or_else(|| {
                    // The call was cut off mid-flight: the CRM may still
                    // apply it.
                    Err(CrmError::unknown_outcome(format!(
                        "the CRM write exceeded its time budget ({:?})",
                        self.write_budget
                    )))
                });
            match result {
                Err(CrmError::Conflict {
                    existing_id: Some(id),
                    ..
                }) if attempts == 1 && pending.existing.as_deref() != Some(id.as_str()) => {
                    // The record exists: update it rather than fail or duplicate.
                    pending.existing = Some(id);
                }
                other => break other,
            }
        };
        match result {
            Ok(receipt) => {
                self.emit(
                    EventKind::CrmWriteSuccess {
                        record_id: receipt.record_id.clone(),
                        created: receipt.created,
                    },
                    &pending.lead_id,
                    at,
                );
                (Ok(receipt), pending)
            }
            Err(error) => {
                pending.error = error.clone();
                self.emit(
                    EventKind::CrmWriteFailed {
                        error,
                        pending: Box::new(pending.clone()),
                    },
                    &pending.lead_id,
                    at,
                );
                (Err(Box::new(pending.clone())), pending)
            }
        }
    }

    /// Runs both lookups concurrently, each within the lookup budget; the
    /// account lookup asks for candidates and runs the matcher on them.
    pub(super) async fn lookups(&self, lead: &Lead, policy: &Policy) -> Lookups {
        let account = async {
            // The lead is read once, for the query and the match.
            let prepared = self.matcher.prepare_lead(lead);
            let query =
                CandidateQuery::for_prepared_lead(&prepared, self.matcher.config().max_candidates);
            if query.domain.is_none()
                && query.email_domain.is_none()
                && query.company_name.is_none()
            {
                return (LookupStatus::Skipped, None, None, None);
            }
            let found = within(
                &self.clock,
                self.lookup_budget,
                self.crm.find_prepared_candidates(&query),
            )
            .await;
            match found {
                None => (LookupStatus::TimedOut, None, None, None),
                Some(Err(e)) => (
                    LookupStatus::Failed,
                    None,
                    None,
                    Some(LookupError::new(Lookup::Account, e)),
                ),
                Some(Ok(candidates)) => {
                    let active = |o: &str| policy.owner(o).is_some_and(|v| v.active);
                    let m = self
                        .matcher
                        .match_prepared_with(&prepared, &candidates, &active);
                    let chosen = m
                        .routed_account_id
                        .as_deref()
                        .and_then(|id| candidates.take(id));
                    let status = if chosen.is_some() {
                        LookupStatus::Found
                    } else {
                        LookupStatus::NotFound
                    };
                    (status, chosen, Some(Arc::new(m)), None)
                }
            }
        };
        let person = async {
            classify(
                Lookup::Person,
                within(
                    &self.clock,
                    self.lookup_budget,
                    self.crm.find_person(&lead.email),
                )
                .await,
            )
        };
        let counts = load::load(
            self.load.as_deref(),
            policy,
            &self.clock,
            self.lookup_budget,
        );
        let (
            ((account, matched_account, account_match, e1), (person, existing_person, e2)),
            (open_leads, open_lead_counts, open_leads_error),
        ) = join(join(account, person), counts).await;
        Lookups {
            account,
            person,
            matched_account,
            account_match,
            existing_person,
            errors: e1.into_iter().chain(e2).collect(),
            open_leads,
            open_lead_counts,
            open_leads_error,
        }
    }
}

/// How a failed attempt reaches the outbox.
enum Settle<'a> {
    /// Through the lease the caller holds on the entry.
    Hold(&'a Lease),
    /// As a new entry for this write (submitted at this time).
    Enqueue(&'a PendingWrite, SystemTime),
}

/// Where a failed attempt ended up.
enum Settled {
    Queued(QueuedWrite),
    Dead(DeadLetteredWrite),
    /// Another holder has the entry (its lease expired); it stays queued.
    LeaseLost(QueuedWrite),
    /// The outbox did not take it: the caller keeps the write.
    NotTaken,
}

/// What became of one entry the retry worker claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retried {
    Written,
    Queued,
    DeadLettered,
    LeaseLost,
    OutboxError,
}

impl Retried {
    fn as_str(self) -> &'static str {
        match self {
            Retried::Written => "written",
            Retried::Queued => "queued",
            Retried::DeadLettered => "dead_lettered",
            Retried::LeaseLost => "lease_lost",
            Retried::OutboxError => "outbox_error",
        }
    }
}

/// The decision's event: `lead_rejected` for a rejection, `owner_assigned`
/// otherwise.
fn decided(decision: &RouteDecision, screening: Option<&Signals>) -> EventKind {
    let owner = decision.owner.as_deref().map(str::to_owned);
    let rule = decision.rule.as_deref().map(str::to_owned);
    match &decision.experience {
        Experience::Reject { reason } => EventKind::LeadRejected {
            rule,
            reason: reason.as_deref().map(str::to_owned),
            owner,
            score: screening.map(|s| s.score),
            signals: screening.map(Signals::kinds).unwrap_or_default(),
        },
        experience => EventKind::OwnerAssigned {
            owner,
            rule,
            assigned_by: decision.assigned_by.clone(),
            experience: experience.clone(),
        },
    }
}

fn classify<T>(
    lookup: Lookup,
    r: Option<Result<Option<T>, CrmError>>,
) -> (LookupStatus, Option<T>, Option<LookupError>) {
    match r {
        None => (LookupStatus::TimedOut, None, None),
        Some(Err(e)) => (
            LookupStatus::Failed,
            None,
            Some(LookupError::new(lookup, e)),
        ),
        Some(Ok(None)) => (LookupStatus::NotFound, None, None),
        Some(Ok(Some(v))) => (LookupStatus::Found, Some(v), None),
    }
}

/// Polls two futures concurrently to completion.
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                ra = x;
                rb = y;
                Poll::Pending
            }
        }
    })
    .await
}

/// The submission's lead id: the one it brings, or one derived from the
/// whole submission and its time.
fn submission_id(input: &LeadInput, submitted: SystemTime) -> String {
    input
        .lead_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map_or_else(
            || lead_id::for_input(input, unix_ms(submitted)),
            str::to_owned,
        )
}

/// `account_matched` or `account_not_matched`, with the domain and why.
fn account_result(lookups: &Lookups, lead: &Lead) -> EventKind {
    let m = lookups.account_match.as_deref();
    match &lookups.matched_account {
        Some(a) => EventKind::AccountMatched {
            account_id: a.id.clone(),
            domain: lead
                .company_domain
                .clone()
                .or_else(|| a.domain.clone())
                .unwrap_or_default(),
            method: m.and_then(|m| m.method),
            confidence: m.map(|m| m.confidence),
        },
        None => EventKind::AccountNotMatched {
            domain: lead.company_domain.clone(),
            status: lookups.account,
            ambiguous: m.is_some_and(|m| m.is_ambiguous()),
            candidates: m.map_or(0, |m| m.candidates.len()),
        },
    }
}
