//! The tests every server-backed store runs, written once: a store crate
//! implements [`StoreHarness`] for its server (how to connect, how to
//! corrupt a stored pool state, how to read its error type) and invokes
//! [`pool_store_suite!`](crate::pool_store_suite),
//! [`outbox_suite!`](crate::outbox_suite) and
//! [`replicas_suite!`](crate::replicas_suite), each in its own test file.
//! The macros expand to one `#[test]` per scenario, named as the scenario
//! function here (or in [`replicas`](crate::replicas)), so a failing test
//! names the scenario in each crate's output.
//!
//! ```text
//! // tests/pool_store.rs of a store crate
//! mod support; // `pub struct Harness;` and its `impl StoreHarness`
//! leadroute_test_servers::pool_store_suite!(support::Harness);
//! // … then the tests only this store has.
//! ```
//!
//! Each scenario starts its own server ([`TestServer::start_or_skip`],
//! labelled `"{NAME} …"`) and its own Tokio runtime ([`runtime`]).

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leadroute::PoolStore;
use leadroute::outbox::{Enqueued, EntryStatus, InvalidEntry, Outbox, OutboxEntry};
use leadroute::pool::{InMemoryPoolStore, PoolState, RecentAssignment};
use leadroute::router::PoolStoreFailureKind;
use leadroute::testing::{check_outbox, sample_write};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

use crate::ServerError;
use crate::scenario::{POOL, lead, router, smooth_wrr_counts};

/// What the scenarios do with a server: [`Redis`](crate::Redis) and
/// [`Postgres`](crate::Postgres).
pub trait TestServer: Sized {
    /// Starts a server, or returns `None` after printing `SKIPPED: {test}: …`
    /// when its binaries are missing (a panic under
    /// `LEADROUTE_REQUIRE_SERVICES=1`).
    fn start_or_skip(test: &str) -> Option<Self>;

    /// The address a store connects to.
    fn address(&self) -> String;

    /// Stops the server as a crash would.
    fn kill(&mut self);

    /// Starts the server again on the same port and data (killing it first
    /// if it runs).
    fn start_again(&mut self) -> Result<(), ServerError>;
}

/// A store's call timeouts, which each harness maps onto its own config
/// type (`op_timeout`, `connect_timeout`, `retry_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long one attempt of a call may take.
    pub op: Duration,
    /// How long one connection attempt may take.
    pub connect: Duration,
    /// For how long a call keeps retrying after a fault.
    pub retry_for: Duration,
}

impl Timeouts {
    /// Generous (5 s a call, retried for 10 s): a loaded test machine must
    /// not turn into an outage.
    pub const PATIENT: Timeouts = Timeouts {
        op: Duration::from_secs(5),
        connect: Duration::from_secs(2),
        retry_for: Duration::from_secs(10),
    };

    /// Patient enough to ride out a server restart (2 s a call, retried for
    /// 20 s; the scenario routers' pool budget is 30 s).
    pub const RIDE_OUT_RESTART: Timeouts = Timeouts {
        op: Duration::from_secs(2),
        connect: Duration::from_secs(2),
        retry_for: Duration::from_secs(20),
    };

    /// Reports an outage quickly (300 ms a call or connection, retried for
    /// 200 ms), so the router degrades at once.
    pub const FAIL_FAST: Timeouts = Timeouts {
        op: Duration::from_millis(300),
        connect: Duration::from_millis(300),
        retry_for: Duration::from_millis(200),
    };
}

/// A store crate under test: its server, its types, and the few things the
/// scenarios cannot say generically. Implemented by a unit struct in each
/// store crate's `tests/support/mod.rs`.
pub trait StoreHarness: 'static {
    /// The server the store runs on.
    type Server: TestServer;
    /// The store's error (pool store and outbox alike).
    type Error: std::error::Error + Send + Sync + 'static;
    /// The pool store.
    type Pool: PoolStore<Error = Self::Error> + Clone + 'static;
    /// The outbox.
    type Outbox: Outbox<Error = Self::Error> + Clone + 'static;

    /// The server's name: the first word of the skip labels and of the
    /// figures the multi-process scenarios print (`"redis"`, `"postgres"`).
    const NAME: &'static str;

    /// A pool store and an outbox on one connection to `address` with
    /// `timeouts`, ready to use (migrated, where the store needs that).
    /// Every process of the multi-process scenarios calls it.
    fn connect(
        address: &str,
        timeouts: Timeouts,
    ) -> impl Future<Output = (Self::Pool, Self::Outbox)>;

    /// Writes, behind the store's back, a stored state of `pool` that the
    /// store must refuse to load (after [`connect`](Self::connect)).
    fn corrupt_pool(server: &Self::Server, pool: &str) -> impl Future<Output = ()>;

    /// Asserts that `err`, from loading the state
    /// [`corrupt_pool`](Self::corrupt_pool) wrote for `pool`, is the store's
    /// error for a corrupt state, with the message its docs promise.
    fn assert_corrupt(err: &Self::Error, pool: &str);

    /// Whether the store calls `err` transient (a retry later may succeed).
    fn is_transient(err: &Self::Error) -> bool;

    /// Whether `err` says the server is unreachable: the connection lost or
    /// a call timed out.
    fn is_outage(err: &Self::Error) -> bool;

    /// What is wrong with the entry, if `err` is the outbox refusing one.
    fn invalid_entry(err: &Self::Error) -> Option<&InvalidEntry>;
}

/// The runtime each scenario runs on: multi-threaded, two workers, timers
/// and I/O enabled.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// Starts `H`'s server for the scenario `what`, or skips (`None`).
pub fn start<H: StoreHarness>(what: &str) -> Option<H::Server> {
    H::Server::start_or_skip(&format!("{} {what}", H::NAME))
}

fn state(version: u64) -> PoolState {
    let mut s = PoolState::default();
    s.version = version;
    s
}

// ------------------------------------------------------------ pool store

/// A compare-and-swap replaces the state only from the expected version and
/// only with the next version, keeps the replay window, and leaves other
/// pools alone.
pub fn compare_and_swap_replaces_only_the_expected_version_and_keeps_the_replay_window<
    H: StoreHarness,
>() {
    let Some(server) = start::<H>("compare_and_swap") else {
        return;
    };
    runtime().block_on(async {
        let (store, _) = H::connect(&server.address(), Timeouts::PATIENT).await;
        assert_eq!(store.load("sales").await.unwrap(), PoolState::default());
        let mut first = state(1);
        first
            .recent
            .push_back(RecentAssignment::new("lead-9", "ana"));
        assert!(
            store
                .compare_and_swap("sales", 0, first.clone())
                .await
                .unwrap()
        );
        assert_eq!(store.load("sales").await.unwrap(), first);
        assert_eq!(
            store.load("sales").await.unwrap().replayed_owner("lead-9"),
            Some("ana")
        );
        // Stale expected version: refused.
        assert!(!store.compare_and_swap("sales", 0, state(1)).await.unwrap());
        // A new state whose version is not expected + 1: refused.
        assert!(!store.compare_and_swap("sales", 1, state(5)).await.unwrap());
        // An expected version ahead of the stored one: refused.
        assert!(!store.compare_and_swap("sales", 2, state(3)).await.unwrap());
        // The refusals changed nothing.
        assert_eq!(store.load("sales").await.unwrap(), first);
        assert!(store.compare_and_swap("sales", 1, state(2)).await.unwrap());
        assert_eq!(store.load("sales").await.unwrap().version, 2);
        // Other pools are independent.
        assert_eq!(store.load("other").await.unwrap().version, 0);
    });
}

/// Six routers on one store, 100 leads each: the stored counts and every
/// router's decisions add up to smooth weighted round robin's exact 2:1.
pub fn concurrent_routers_share_one_exact_rotation<H: StoreHarness>() {
    let Some(server) = start::<H>("concurrent routers") else {
        return;
    };
    runtime().block_on(async {
        let (store, _) = H::connect(&server.address(), Timeouts::PATIENT).await;
        let routers: Vec<_> = (0..6).map(|_| Arc::new(router(store.clone()))).collect();
        let tasks: Vec<_> = routers
            .iter()
            .enumerate()
            .map(|(r, router)| {
                let router = router.clone();
                tokio::spawn(async move {
                    let mut owners = Vec::new();
                    for i in 0..100 {
                        let routed = router.route(lead(&format!("r{r}-{i}"))).await.unwrap();
                        assert_eq!(routed.pool_store, None, "{routed:?}");
                        owners.push(routed.decision.owner_id().unwrap().to_owned());
                    }
                    owners
                })
            })
            .collect();
        let mut ana = 0;
        for t in tasks {
            ana += t.await.unwrap().iter().filter(|o| *o == "ana").count() as u64;
        }
        let stored = store.load(POOL).await.unwrap();
        assert_eq!(stored.version, 600);
        assert_eq!(ana, 400);
        assert_eq!(smooth_wrr_counts(&[2, 1], 600), [400, 200]);
        assert_eq!(
            (stored.member("ana").assigned, stored.member("bob").assigned),
            (400, 200)
        );
    });
}

/// Fifty leads, each routed by four routers at once: one owner per lead and
/// one step of the rotation per lead.
pub fn one_lead_routed_by_many_replicas_at_once_gets_one_owner_and_one_step<H: StoreHarness>() {
    let Some(server) = start::<H>("concurrent replay") else {
        return;
    };
    runtime().block_on(async {
        let (store, _) = H::connect(&server.address(), Timeouts::PATIENT).await;
        let routers: Vec<_> = (0..4).map(|_| Arc::new(router(store.clone()))).collect();
        for i in 0..50 {
            let id = format!("dup-{i}");
            let tasks: Vec<_> = routers
                .iter()
                .map(|r| {
                    let (r, id) = (r.clone(), id.clone());
                    tokio::spawn(async move { r.route(lead(&id)).await.unwrap() })
                })
                .collect();
            let mut owners = Vec::new();
            for t in tasks {
                let routed = t.await.unwrap();
                assert_eq!(routed.pool_store, None);
                owners.push(routed.decision.owner_id().unwrap().to_owned());
            }
            owners.dedup();
            assert_eq!(owners.len(), 1, "lead {id} got owners {owners:?}");
        }
        let stored = store.load(POOL).await.unwrap();
        assert_eq!(stored.version, 50);
        assert_eq!(
            stored.member("ana").assigned + stored.member("bob").assigned,
            50
        );
    });
}

/// A stored state the store did not write is a typed, permanent error with
/// the store's message ([`StoreHarness::assert_corrupt`]).
pub fn a_corrupt_stored_state_is_a_typed_error<H: StoreHarness>() {
    let Some(server) = start::<H>("corrupt state") else {
        return;
    };
    runtime().block_on(async {
        let (store, _) = H::connect(&server.address(), Timeouts::PATIENT).await;
        H::corrupt_pool(&server, "sales").await;
        let err = store.load("sales").await.unwrap_err();
        assert!(!H::is_transient(&err), "{err:?}");
        H::assert_corrupt(&err, "sales");
    });
}

/// A killed server: the store reports a typed, transient error, the router
/// goes on deciding on its local copy (continuing the rotation), and after
/// a restart the router records in the store again.
pub fn a_server_outage_degrades_the_router_and_a_restart_recovers_it<H: StoreHarness>() {
    let Some(mut server) = start::<H>("outage") else {
        return;
    };
    runtime().block_on(async {
        let (store, _) = H::connect(&server.address(), Timeouts::FAIL_FAST).await;
        let router = router(store.clone());
        for i in 0..3 {
            let routed = router.route(lead(&format!("before-{i}"))).await.unwrap();
            assert_eq!(routed.pool_store, None);
        }
        server.kill();
        // The store reports the outage as a typed, transient error…
        let err = store.load(POOL).await.unwrap_err();
        assert!(H::is_transient(&err), "{err:?}");
        assert!(H::is_outage(&err), "{err:?}");
        assert!(
            err.to_string().starts_with("load of pool `team`: "),
            "{err}"
        );
        // …and the router still decides, on its local copy, continuing the
        // rotation (the store was at 3: ana bob ana; next is ana, bob).
        let mut local = Vec::new();
        for i in 0..2 {
            let routed = router.route(lead(&format!("during-{i}"))).await.unwrap();
            let failure = routed.pool_store.expect("the store is down");
            assert_eq!(failure.pool, POOL);
            assert!(
                matches!(
                    failure.kind,
                    PoolStoreFailureKind::StoreError | PoolStoreFailureKind::TimedOut
                ),
                "{failure:?}"
            );
            local.push(routed.decision.owner_id().unwrap().to_owned());
        }
        assert_eq!(local, ["ana", "bob"]);
        server.start_again().unwrap();
        // Recovered: routes record in the store again (from its version 3:
        // the local steps are not replayed into it).
        let mut recovered = None;
        for i in 0..50 {
            let routed = router.route(lead(&format!("after-{i}"))).await.unwrap();
            if routed.pool_store.is_none() {
                recovered = Some(i);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(recovered.is_some(), "the router never used the store again");
        assert_eq!(store.load(POOL).await.unwrap().version, 4);
    });
}

/// One step of the model test: load pool `p`, or compare-and-swap pool `p`
/// expecting `expected` with a new state at `expected + delta` (1 is the
/// only delta a store accepts) recording lead `id`.
#[derive(Debug, Clone)]
enum Op {
    Load(usize),
    Cas(usize, u64, u64, String),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize).prop_map(Op::Load),
        (0..2usize, 0..4u64, 0..3u64, "[a-z]{1,6}").prop_map(|(p, e, d, id)| Op::Cas(p, e, d, id)),
    ]
}

/// Any sequence of loads and compare-and-swaps gives the same answers and
/// states as the in-memory store, the reference (proptest, 24 sequences of
/// up to 40 operations, each on pools of its own).
pub fn the_store_behaves_like_the_in_memory_reference<H: StoreHarness>() {
    let Some(server) = start::<H>("model test") else {
        return;
    };
    let rt = runtime();
    let (store, _) = rt.block_on(H::connect(&server.address(), Timeouts::PATIENT));
    let case = AtomicU32::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..40), |ops| {
            let n = case.fetch_add(1, Ordering::Relaxed);
            let pools = [format!("case{n}-a"), format!("case{n}-b")];
            let reference = InMemoryPoolStore::new();
            for op in ops {
                match op {
                    Op::Load(p) => {
                        let got = rt.block_on(store.load(&pools[p])).unwrap();
                        prop_assert_eq!(got, reference.get(&pools[p]));
                    }
                    Op::Cas(p, expected, delta, id) => {
                        let mut new = reference.get(&pools[p]);
                        new.version = expected + delta;
                        new.recent.push_back(RecentAssignment::new(id, "ana"));
                        let got = rt
                            .block_on(store.compare_and_swap(&pools[p], expected, new.clone()))
                            .unwrap();
                        prop_assert_eq!(
                            got,
                            reference.compare_and_swap_now(&pools[p], expected, new)
                        );
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------- outbox

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
}

/// The core's outbox contract ([`check_outbox`]), twice on one outbox (the
/// contract leaves it empty, so ids can be reused).
pub fn the_outbox_contract_holds<H: StoreHarness>() {
    let Some(server) = start::<H>("outbox contract") else {
        return;
    };
    runtime().block_on(async {
        let (_, outbox) = H::connect(&server.address(), Timeouts::PATIENT).await;
        check_outbox(&outbox, t0()).await;
        check_outbox(&outbox, t0() + Duration::from_secs(3600)).await;
    });
}

/// An entry that fails validation is refused with the store's typed error
/// and is not stored.
pub fn an_invalid_entry_is_refused_with_a_typed_error<H: StoreHarness>() {
    let Some(server) = start::<H>("outbox invalid entry") else {
        return;
    };
    runtime().block_on(async {
        let (_, outbox) = H::connect(&server.address(), Timeouts::PATIENT).await;
        let entry = OutboxEntry::new(sample_write("x"), t0()).with_id("");
        let err = outbox.enqueue(entry).await.unwrap_err();
        assert_eq!(
            H::invalid_entry(&err),
            Some(&InvalidEntry::EmptyId),
            "{err:?}"
        );
        assert_eq!(outbox.stats().await.unwrap().pending, 0);
    });
}

/// Four claimers in batches of seven: disjoint batches, each entry claimed
/// by the claimer that holds its lease, all 400 claimed in the end.
pub fn concurrent_claimers_take_disjoint_batches_and_together_take_everything<H: StoreHarness>() {
    let Some(server) = start::<H>("outbox concurrent claims") else {
        return;
    };
    runtime().block_on(async {
        let (_, outbox) = H::connect(&server.address(), Timeouts::PATIENT).await;
        for i in 0..400 {
            let e = OutboxEntry::new(sample_write(&format!("lead-{i}")), t0());
            assert_eq!(outbox.enqueue(e).await.unwrap(), Enqueued::Added);
        }
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let outbox = outbox.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let batch = outbox
                            .claim(&format!("w{w}"), t0(), Duration::from_secs(60), 7)
                            .await
                            .unwrap();
                        if batch.is_empty() {
                            return got;
                        }
                        for e in &batch {
                            assert_eq!(e.status, EntryStatus::Claimed);
                            assert_eq!(e.lease.as_ref().unwrap().owner, format!("w{w}"));
                        }
                        got.extend(batch.into_iter().map(|e| e.id));
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!((all.len(), distinct.len()), (400, 400));
        let stats = outbox.stats().await.unwrap();
        assert_eq!((stats.pending, stats.claimed, stats.dead), (0, 400, 0));
    });
}

// ---------------------------------------------------------------- macros

/// One `#[test] fn NAME() { $crate::MODULE::NAME::<HARNESS>() }` per name.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_tests {
    ($harness:ty, $module:ident: $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::$module::$name::<$harness>();
            }
        )+
    };
}

/// The pool-store scenarios of [`suite`](crate::suite) as tests on
/// `$harness` (a [`StoreHarness`](crate::suite::StoreHarness)):
/// `compare_and_swap_replaces_only_the_expected_version_and_keeps_the_replay_window`,
/// `concurrent_routers_share_one_exact_rotation`,
/// `one_lead_routed_by_many_replicas_at_once_gets_one_owner_and_one_step`,
/// `a_corrupt_stored_state_is_a_typed_error`,
/// `a_server_outage_degrades_the_router_and_a_restart_recovers_it` and
/// `the_store_behaves_like_the_in_memory_reference`.
#[macro_export]
macro_rules! pool_store_suite {
    ($harness:ty) => {
        $crate::__store_tests!($harness, suite:
            compare_and_swap_replaces_only_the_expected_version_and_keeps_the_replay_window,
            concurrent_routers_share_one_exact_rotation,
            one_lead_routed_by_many_replicas_at_once_gets_one_owner_and_one_step,
            a_corrupt_stored_state_is_a_typed_error,
            a_server_outage_degrades_the_router_and_a_restart_recovers_it,
            the_store_behaves_like_the_in_memory_reference,
        );
    };
}

/// The outbox scenarios of [`suite`](crate::suite) as tests on `$harness`:
/// `the_outbox_contract_holds`,
/// `an_invalid_entry_is_refused_with_a_typed_error` and
/// `concurrent_claimers_take_disjoint_batches_and_together_take_everything`.
#[macro_export]
macro_rules! outbox_suite {
    ($harness:ty) => {
        $crate::__store_tests!($harness, suite:
            the_outbox_contract_holds,
            an_invalid_entry_is_refused_with_a_typed_error,
            concurrent_claimers_take_disjoint_batches_and_together_take_everything,
        );
    };
}

/// The multi-process scenarios of [`replicas`](crate::replicas) as tests
/// on `$harness`: `worker_entry` (the workers' entry point: the scenarios
/// re-run the test binary with `worker_entry --exact`, so this macro must
/// be invoked at the root of its test file) and the three scenarios,
/// `four_processes_share_one_exact_rotation_and_a_crm_failing_30_percent_ends_with_one_record_per_lead`,
/// `a_store_restart_mid_run_keeps_the_counts_exact` and
/// `a_killed_workers_claims_are_completed_by_another_after_the_lease`.
#[macro_export]
macro_rules! replicas_suite {
    ($harness:ty) => {
        $crate::__store_tests!($harness, replicas:
            worker_entry,
            four_processes_share_one_exact_rotation_and_a_crm_failing_30_percent_ends_with_one_record_per_lead,
            a_store_restart_mid_run_keeps_the_counts_exact,
            a_killed_workers_claims_are_completed_by_another_after_the_lease,
        );
    };
}
