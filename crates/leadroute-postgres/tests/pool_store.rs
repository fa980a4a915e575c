//! `PostgresPoolStore` against a real PostgreSQL started for each test: the
//! scenarios every store runs (`leadroute_test_servers::pool_store_suite!`),
//! then what only PostgreSQL has (the migration).

mod support;

use leadroute::PoolStore;
use leadroute::pool::PoolState;
use leadroute_postgres::{PostgresPoolStore, PostgresStoreError, migrate};
use leadroute_test_servers::Postgres;
use leadroute_test_servers::suite::{Timeouts, runtime};

leadroute_test_servers::pool_store_suite!(support::Harness);

#[test]
fn before_the_migration_calls_say_to_migrate_and_the_migration_is_idempotent_and_concurrent() {
    let Some(pg) = Postgres::start_or_skip("postgres migration") else {
        return;
    };
    let patient = || support::config(Timeouts::PATIENT);
    runtime().block_on(async {
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
