//! `PostgresPoolStore` against a real PostgreSQL started for each test.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use std::time::Duration;

use leadroute::PoolStore;
use leadroute::pool::{PoolState, RecentAssignment};
use leadroute::router::PoolStoreFailureKind;
use leadroute_postgres::{PostgresConfig, PostgresPoolStore, PostgresStoreError, migrate};
use leadroute_test_servers::Postgres;
use leadroute_test_servers::scenario::{POOL, lead, router, smooth_wrr_counts};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Generous timeouts: a loaded test machine must not turn into an outage.
fn patient() -> PostgresConfig {
    PostgresConfig::default()
        .op_timeout(Duration::from_secs(5))
        .retry_for(Duration::from_secs(10))
}

fn state(version: u64) -> PoolState {
    let mut s = PoolState::default();
    s.version = version;
    s
}

async fn store(pg: &Postgres) -> PostgresPoolStore {
    let store = PostgresPoolStore::connect_with(&pg.conninfo(), patient())
        .await
        .unwrap();
    migrate(store.connection()).await.unwrap();
    store
}

#[test]
fn before_the_migration_calls_say_to_migrate_and_the_migration_is_idempotent_and_concurrent() {
    let Some(pg) = Postgres::start_or_skip("postgres migration") else {
        return;
    };
    rt().block_on(async {
        let store = PostgresPoolStore::connect_with(&pg.conninfo(), patient())
            .await
            .unwrap();
        let err = store.load("sales").await.unwrap_err();
        assert!(
            matches!(err, PostgresStoreError::NotMigrated { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("run leadroute_postgres::migrate() first"),
            "{err}"
        );
        // Four replicas migrating at once, then again: no error.
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let url = pg.conninfo();
                tokio::spawn(async move {
                    let s = PostgresPoolStore::connect_with(&url, patient())
                        .await
                        .unwrap();
                    migrate(s.connection()).await
                })
            })
            .collect();
        for r in runs {
            r.await.unwrap().unwrap();
        }
        migrate(store.connection()).await.unwrap();
        assert_eq!(store.load("sales").await.unwrap(), PoolState::default());
    });
}

#[test]
fn compare_and_swap_replaces_only_the_expected_version_and_keeps_the_replay_window() {
    let Some(pg) = Postgres::start_or_skip("postgres compare_and_swap") else {
        return;
    };
    rt().block_on(async {
        let store = store(&pg).await;
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
        assert!(!store.compare_and_swap("sales", 0, state(1)).await.unwrap());
        assert!(!store.compare_and_swap("sales", 1, state(5)).await.unwrap());
        assert!(!store.compare_and_swap("sales", 2, state(3)).await.unwrap());
        assert!(store.compare_and_swap("sales", 1, state(2)).await.unwrap());
        assert_eq!(store.load("sales").await.unwrap().version, 2);
        assert_eq!(store.load("other").await.unwrap().version, 0);
    });
}

#[test]
fn concurrent_routers_share_one_exact_rotation() {
    let Some(pg) = Postgres::start_or_skip("postgres concurrent routers") else {
        return;
    };
    rt().block_on(async {
        let store = store(&pg).await;
        let routers: Vec<_> = (0..6).map(|_| Arc::new(router(store.clone()))).collect();
        let tasks: Vec<_> = routers
            .iter()
            .enumerate()
            .map(|(r, router)| {
                let router = router.clone();
                tokio::spawn(async move {
                    let mut ana = 0u64;
                    for i in 0..100 {
                        let routed = router.route(lead(&format!("r{r}-{i}"))).await.unwrap();
                        assert_eq!(routed.pool_store, None, "{:?}", routed.pool_store);
                        ana += u64::from(routed.decision.owner_id() == Some("ana"));
                    }
                    ana
                })
            })
            .collect();
        let mut ana = 0;
        for t in tasks {
            ana += t.await.unwrap();
        }
        let stored = store.load(POOL).await.unwrap();
        assert_eq!(stored.version, 600);
        assert_eq!(smooth_wrr_counts(&[2, 1], 600), [400, 200]);
        assert_eq!(ana, 400);
        assert_eq!(
            (stored.member("ana").assigned, stored.member("bob").assigned),
            (400, 200)
        );
    });
}

#[test]
fn one_lead_routed_by_many_replicas_at_once_gets_one_owner_and_one_step() {
    let Some(pg) = Postgres::start_or_skip("postgres concurrent replay") else {
        return;
    };
    rt().block_on(async {
        let store = store(&pg).await;
        let routers: Vec<_> = (0..4).map(|_| Arc::new(router(store.clone()))).collect();
        for i in 0..40 {
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
        assert_eq!(store.load(POOL).await.unwrap().version, 40);
    });
}

#[test]
fn a_corrupt_row_is_a_typed_error() {
    let Some(pg) = Postgres::start_or_skip("postgres corrupt row") else {
        return;
    };
    rt().block_on(async {
        let store = store(&pg).await;
        let (client, conn) = tokio_postgres::connect(&pg.conninfo(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(
                "INSERT INTO leadroute_pool_state (pool, version, state) VALUES ('sales', 3, '{\"version\": 2, \"members\": {}, \"recent\": []}')",
            )
            .await
            .unwrap();
        let err = store.load("sales").await.unwrap_err();
        assert!(matches!(err, PostgresStoreError::Corrupt { .. }), "{err:?}");
        assert!(!err.is_transient());
        assert_eq!(
            err.to_string(),
            "load of pool `sales`: the stored row is not valid: `version` is 3 but the state's JSON says 2"
        );
    });
}

#[test]
fn a_server_outage_degrades_the_router_and_a_restart_recovers_it() {
    let Some(mut pg) = Postgres::start_or_skip("postgres outage") else {
        return;
    };
    rt().block_on(async {
        let config = PostgresConfig::default()
            .op_timeout(Duration::from_millis(300))
            .connect_timeout(Duration::from_millis(300))
            .retry_for(Duration::from_millis(200));
        let store = PostgresPoolStore::connect_with(&pg.conninfo(), config)
            .await
            .unwrap();
        migrate(store.connection()).await.unwrap();
        let router = router(store.clone());
        for i in 0..3 {
            assert_eq!(
                router
                    .route(lead(&format!("before-{i}")))
                    .await
                    .unwrap()
                    .pool_store,
                None
            );
        }
        pg.kill();
        let err = store.load(POOL).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(
            err.to_string().starts_with("load of pool `team`: "),
            "{err}"
        );
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
        pg.start_again().unwrap();
        let mut recovered = false;
        for i in 0..50 {
            if router
                .route(lead(&format!("after-{i}")))
                .await
                .unwrap()
                .pool_store
                .is_none()
            {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(recovered, "the router never used the store again");
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
#[test]
fn the_store_behaves_like_the_in_memory_reference() {
    let Some(server) = Postgres::start_or_skip("postgres model test") else {
        return;
    };
    let rt = rt();
    let store = rt.block_on(store(&server));
    let case = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 1..40), |ops| {
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let pools = [format!("case{n}-a"), format!("case{n}-b")];
            let reference = leadroute::pool::InMemoryPoolStore::new();
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
