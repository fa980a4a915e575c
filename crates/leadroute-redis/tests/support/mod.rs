//! What the shared store tests (`leadroute_test_servers::suite`) need to
//! know about Redis: how to connect, how a corrupt pool state is written
//! and reported, and which errors mean what.

use leadroute::outbox::InvalidEntry;
use leadroute_redis::{RedisConfig, RedisConnection, RedisOutbox, RedisPoolStore, RedisStoreError};
use leadroute_test_servers::Redis;
use leadroute_test_servers::suite::{StoreHarness, Timeouts};

/// `RedisPoolStore` and `RedisOutbox` on a throwaway `redis-server`.
pub struct Harness;

/// The store's config with `timeouts` (and the default key prefix,
/// `leadroute:`).
pub fn config(timeouts: Timeouts) -> RedisConfig {
    RedisConfig::default()
        .op_timeout(timeouts.op)
        .connect_timeout(timeouts.connect)
        .retry_for(timeouts.retry_for)
}

/// A connection of the `redis` crate's own, to write behind the store's back.
pub async fn raw(redis: &Redis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

impl StoreHarness for Harness {
    type Server = Redis;
    type Error = RedisStoreError;
    type Pool = RedisPoolStore;
    type Outbox = RedisOutbox;
    const NAME: &'static str = "redis";

    async fn connect(url: &str, timeouts: Timeouts) -> (RedisPoolStore, RedisOutbox) {
        let conn = RedisConnection::connect(url, config(timeouts))
            .await
            .unwrap();
        (RedisPoolStore::on(conn.clone()), RedisOutbox::on(conn))
    }

    /// The pool's hash with a `version` but a `state` that is not JSON.
    async fn corrupt_pool(redis: &Redis, pool: &str) {
        let _: () = redis::cmd("HSET")
            .arg(format!("leadroute:pool:{pool}"))
            .arg("version")
            .arg("3")
            .arg("state")
            .arg("not json")
            .query_async(&mut raw(redis).await)
            .await
            .unwrap();
    }

    /// `Corrupt`, naming the operation and the key.
    fn assert_corrupt(err: &RedisStoreError, pool: &str) {
        assert!(matches!(err, RedisStoreError::Corrupt { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!(
                "load of pool `{pool}`: the value at key `leadroute:pool:{pool}` is not valid"
            )),
            "{err}"
        );
    }

    fn is_transient(err: &RedisStoreError) -> bool {
        err.is_transient()
    }

    fn is_outage(err: &RedisStoreError) -> bool {
        matches!(
            err,
            RedisStoreError::ConnectionLost { .. } | RedisStoreError::Timeout { .. }
        )
    }

    fn invalid_entry(err: &RedisStoreError) -> Option<&InvalidEntry> {
        match err {
            RedisStoreError::InvalidEntry { source, .. } => Some(source),
            _ => None,
        }
    }
}
