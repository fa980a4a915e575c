//! `RedisPoolStore` against a real `redis-server` started for each test:
//! the scenarios every store runs (`leadroute_test_servers::pool_store_suite!`),
//! then what only Redis has (key prefixes, the server's own type errors).

mod support;

use leadroute::PoolStore;
use leadroute::pool::PoolState;
use leadroute_redis::{RedisConfig, RedisPoolStore, RedisStoreError};
use leadroute_test_servers::Redis;
use leadroute_test_servers::suite::{Timeouts, runtime};

leadroute_test_servers::pool_store_suite!(support::Harness);

#[test]
fn key_prefixes_separate_tenants_on_one_server() {
    let Some(redis) = Redis::start_or_skip("redis key prefixes") else {
        return;
    };
    runtime().block_on(async {
        let a = RedisPoolStore::connect_with(&redis.url(), RedisConfig::default().key_prefix("a:"))
            .await
            .unwrap();
        let b = RedisPoolStore::connect_with(&redis.url(), RedisConfig::default().key_prefix("b:"))
            .await
            .unwrap();
        assert_eq!(a.key("sales"), "a:pool:sales");
        let mut first = PoolState::default();
        first.version = 1;
        assert!(a.compare_and_swap("sales", 0, first).await.unwrap());
        assert_eq!(b.load("sales").await.unwrap().version, 0);
    });
}

#[test]
fn a_string_where_a_pool_hash_belongs_is_the_servers_command_error() {
    let Some(redis) = Redis::start_or_skip("redis wrong type") else {
        return;
    };
    runtime().block_on(async {
        let store = RedisPoolStore::connect_with(&redis.url(), support::config(Timeouts::PATIENT))
            .await
            .unwrap();
        // A string where a hash belongs: the server's WRONGTYPE, as a command error.
        let _: () = redis::cmd("SET")
            .arg("leadroute:pool:x")
            .arg("1")
            .query_async(&mut support::raw(&redis).await)
            .await
            .unwrap();
        let err = store.load("x").await.unwrap_err();
        assert!(matches!(err, RedisStoreError::Command { .. }), "{err:?}");
    });
}
