//! `PostgresOutbox` against a real PostgreSQL: the trait's contract, and
//! concurrent claimers.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leadroute::outbox::{Enqueued, EntryStatus, InvalidEntry, Outbox, OutboxEntry};
use leadroute::testing::{check_outbox, sample_write};
use leadroute_postgres::{
    PgConnection, PostgresConfig, PostgresOutbox, PostgresStoreError, migrate,
};
use leadroute_test_servers::Postgres;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn outbox(pg: &Postgres) -> PostgresOutbox {
    let conn = PgConnection::connect(&pg.conninfo(), PostgresConfig::default().connections(4))
        .await
        .unwrap();
    migrate(&conn).await.unwrap();
    PostgresOutbox::on(conn)
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
}

#[test]
fn the_outbox_contract_holds() {
    let Some(pg) = Postgres::start_or_skip("postgres outbox contract") else {
        return;
    };
    rt().block_on(async {
        let outbox = outbox(&pg).await;
        check_outbox(&outbox, t0()).await;
        // Twice: the contract leaves the outbox empty, ids can be reused.
        check_outbox(&outbox, t0() + Duration::from_secs(3600)).await;
    });
}

#[test]
fn an_invalid_entry_is_refused_with_a_typed_error() {
    let Some(pg) = Postgres::start_or_skip("postgres outbox invalid entry") else {
        return;
    };
    rt().block_on(async {
        let outbox = outbox(&pg).await;
        let entry = OutboxEntry::new(sample_write("x"), t0()).with_id("");
        let err = outbox.enqueue(entry).await.unwrap_err();
        assert!(
            matches!(
                err,
                PostgresStoreError::InvalidEntry {
                    source: InvalidEntry::EmptyId,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(outbox.stats().await.unwrap().pending, 0);
    });
}

#[test]
fn concurrent_claimers_take_disjoint_batches_and_together_take_everything() {
    let Some(pg) = Postgres::start_or_skip("postgres outbox concurrent claims") else {
        return;
    };
    rt().block_on(async {
        let outbox = outbox(&pg).await;
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
