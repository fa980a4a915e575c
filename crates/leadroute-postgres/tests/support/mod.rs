//! What the shared store tests (`leadroute_test_servers::suite`) need to
//! know about PostgreSQL: how to connect, how a corrupt pool row is written
//! and reported, and which errors mean what.

use leadroute::outbox::InvalidEntry;
use leadroute_postgres::{
    PgConnection, PostgresConfig, PostgresOutbox, PostgresPoolStore, PostgresStoreError, migrate,
};
use leadroute_test_servers::Postgres;
use leadroute_test_servers::suite::{StoreHarness, Timeouts};

/// `PostgresPoolStore` and `PostgresOutbox` on a throwaway PostgreSQL.
pub struct Harness;

/// The store's config with `timeouts` and four connections (the scenarios
/// run up to six routers, or four claimers, at once).
pub fn config(timeouts: Timeouts) -> PostgresConfig {
    PostgresConfig::default()
        .op_timeout(timeouts.op)
        .connect_timeout(timeouts.connect)
        .retry_for(timeouts.retry_for)
        .connections(4)
}

impl StoreHarness for Harness {
    type Server = Postgres;
    type Error = PostgresStoreError;
    type Pool = PostgresPoolStore;
    type Outbox = PostgresOutbox;
    const NAME: &'static str = "postgres";

    /// Connects and migrates (every process of a scenario does: the
    /// migration is idempotent and safe to run concurrently).
    async fn connect(conninfo: &str, timeouts: Timeouts) -> (PostgresPoolStore, PostgresOutbox) {
        let conn = PgConnection::connect(conninfo, config(timeouts))
            .await
            .unwrap();
        migrate(&conn).await.unwrap();
        (
            PostgresPoolStore::on(conn.clone()),
            PostgresOutbox::on(conn),
        )
    }

    /// A row whose `version` column (3) disagrees with its state's JSON (2).
    async fn corrupt_pool(pg: &Postgres, pool: &str) {
        let (client, conn) = tokio_postgres::connect(&pg.conninfo(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .execute(
                "INSERT INTO leadroute_pool_state (pool, version, state) \
                 VALUES ($1, 3, '{\"version\": 2, \"members\": {}, \"recent\": []}')",
                &[&pool],
            )
            .await
            .unwrap();
    }

    /// `Corrupt`, saying what disagrees.
    fn assert_corrupt(err: &PostgresStoreError, pool: &str) {
        assert!(matches!(err, PostgresStoreError::Corrupt { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "load of pool `{pool}`: the stored row is not valid: \
                 `version` is 3 but the state's JSON says 2"
            )
        );
    }

    fn is_transient(err: &PostgresStoreError) -> bool {
        err.is_transient()
    }

    fn is_outage(err: &PostgresStoreError) -> bool {
        matches!(
            err,
            PostgresStoreError::ConnectionLost { .. } | PostgresStoreError::Timeout { .. }
        )
    }

    fn invalid_entry(err: &PostgresStoreError) -> Option<&InvalidEntry> {
        match err {
            PostgresStoreError::InvalidEntry { source } => Some(source),
            _ => None,
        }
    }
}
