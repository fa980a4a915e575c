//! `RedisPoolStore` against a real `redis-server` started for each test.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use std::time::Duration;

use leadroute::PoolStore;
use leadroute::pool::{PoolState, RecentAssignment};
use leadroute::router::PoolStoreFailureKind;
use leadroute_redis::{RedisConfig, RedisPoolStore, RedisStoreError};
use leadroute_test_servers::Redis;
use leadroute_test_servers::scenario::{POOL, lead, router, smooth_wrr_counts};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Generous timeouts: a loaded test machine must not turn into an outage.
fn patient() -> RedisConfig {
    RedisConfig::default()
        .op_timeout(Duration::from_secs(5))
        .retry_for(Duration::from_secs(10))
}

fn state(version: u64) -> PoolState {
    let mut s = PoolState::default();
    s.version = version;
    s
}

#[test]
fn compare_and_swap_replaces_only_the_expected_version_and_keeps_the_replay_window() {
    let Some(redis) = Redis::start_or_skip("redis compare_and_swap") else {
        return;
    };
    rt().block_on(async {
        let store = RedisPoolStore::connect_with(&redis.url(), patient())
            .await
            .unwrap();
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
        // Stale expected version: refused, state unchanged.
        assert!(!store.compare_and_swap("sales", 0, state(1)).await.unwrap());
        // A new state whose version is not expected + 1: refused.
        assert!(!store.compare_and_swap("sales", 1, state(5)).await.unwrap());
        assert!(store.compare_and_swap("sales", 1, state(2)).await.unwrap());
        assert_eq!(store.load("sales").await.unwrap().version, 2);
        // Other pools are independent.
        assert_eq!(store.load("other").await.unwrap().version, 0);
    });
}

#[test]
fn key_prefixes_separate_tenants_on_one_server() {
    let Some(redis) = Redis::start_or_skip("redis key prefixes") else {
        return;
    };
    rt().block_on(async {
        let a = RedisPoolStore::connect_with(&redis.url(), RedisConfig::default().key_prefix("a:"))
            .await
            .unwrap();
        let b = RedisPoolStore::connect_with(&redis.url(), RedisConfig::default().key_prefix("b:"))
            .await
            .unwrap();
        assert_eq!(a.key("sales"), "a:pool:sales");
        assert!(a.compare_and_swap("sales", 0, state(1)).await.unwrap());
        assert_eq!(b.load("sales").await.unwrap().version, 0);
    });
}

#[test]
fn concurrent_routers_share_one_exact_rotation() {
    let Some(redis) = Redis::start_or_skip("redis concurrent routers") else {
        return;
    };
    rt().block_on(async {
        let store = RedisPoolStore::connect_with(&redis.url(), patient())
            .await
            .unwrap();
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

#[test]
fn one_lead_routed_by_many_replicas_at_once_gets_one_owner_and_one_step() {
    let Some(redis) = Redis::start_or_skip("redis concurrent replay") else {
        return;
    };
    rt().block_on(async {
        let store = RedisPoolStore::connect_with(&redis.url(), patient())
            .await
            .unwrap();
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

#[test]
fn a_corrupt_value_is_a_typed_error_naming_the_key() {
    let Some(redis) = Redis::start_or_skip("redis corrupt value") else {
        return;
    };
    rt().block_on(async {
        let store = RedisPoolStore::connect_with(&redis.url(), patient())
            .await
            .unwrap();
        let client = redis::Client::open(redis.url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("HSET")
            .arg("leadroute:pool:sales")
            .arg("version")
            .arg("3")
            .arg("state")
            .arg("not json")
            .query_async(&mut c)
            .await
            .unwrap();
        let err = store.load("sales").await.unwrap_err();
        assert!(matches!(err, RedisStoreError::Corrupt { .. }), "{err:?}");
        assert!(!err.is_transient());
        assert!(
            err.to_string().starts_with(
                "load of pool `sales`: the value at key `leadroute:pool:sales` is not valid"
            ),
            "{err}"
        );
        // A string where a hash belongs: the server's WRONGTYPE, as a command error.
        let _: () = redis::cmd("SET")
            .arg("leadroute:pool:x")
            .arg("1")
            .query_async(&mut c)
            .await
            .unwrap();
        let err = store.load("x").await.unwrap_err();
        assert!(matches!(err, RedisStoreError::Command { .. }), "{err:?}");
    });
}

#[test]
fn a_server_outage_degrades_the_router_and_a_restart_recovers_it() {
    let Some(mut redis) = Redis::start_or_skip("redis outage") else {
        return;
    };
    rt().block_on(async {
        let config = RedisConfig::default()
            .op_timeout(Duration::from_millis(300))
            .retry_for(Duration::from_millis(200));
        let store = RedisPoolStore::connect_with(&redis.url(), config)
            .await
            .unwrap();
        let router = router(store.clone());
        for i in 0..3 {
            let routed = router.route(lead(&format!("before-{i}"))).await.unwrap();
            assert_eq!(routed.pool_store, None);
        }
        redis.kill();
        // The store reports the outage as a typed, transient error…
        let err = store.load(POOL).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(
            matches!(
                err,
                RedisStoreError::ConnectionLost { .. } | RedisStoreError::Timeout { .. }
            ),
            "{err:?}"
        );
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
        redis.start_again().unwrap();
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
#[test]
fn the_store_behaves_like_the_in_memory_reference() {
    let Some(server) = Redis::start_or_skip("redis model test") else {
        return;
    };
    let rt = rt();
    let store = rt.block_on(redis_store(&server));
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

async fn redis_store(r: &Redis) -> RedisPoolStore {
    RedisPoolStore::connect_with(&r.url(), patient())
        .await
        .unwrap()
}
