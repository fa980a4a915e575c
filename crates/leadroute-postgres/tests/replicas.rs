//! Many replicas on one PostgreSQL: worker processes (this test binary re-run
//! with `LEADROUTE_TEST_WORKER`), each with its own `LeadRouter`, share one
//! PostgreSQL server. The scenarios and their checks are in
//! `leadroute_test_servers::replicas`; this file connects them to PostgreSQL.

use std::time::{Duration, Instant};

use leadroute_postgres::{
    PgConnection, PostgresConfig, PostgresOutbox, PostgresPoolStore, migrate,
};
use leadroute_test_servers::Postgres;
use leadroute_test_servers::replicas::{self, DIR_ENV, INDEX_ENV, URL_ENV, WORKERS};
use leadroute_test_servers::scenario::{SharedDir, spawn_worker, wait_all, worker_role};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Patient enough to ride out a server restart (the router's pool budget in
/// these scenarios is 30 s).
fn patient() -> PostgresConfig {
    PostgresConfig::default()
        .op_timeout(Duration::from_secs(2))
        .retry_for(Duration::from_secs(20))
}

/// Connects and migrates (every process does: the migration is idempotent
/// and safe to run concurrently).
async fn connect(url: &str) -> PgConnection {
    let conn = PgConnection::connect(url, patient()).await.unwrap();
    migrate(&conn).await.unwrap();
    conn
}

/// The entry point of the worker processes the tests below start. In a
/// normal test run (no worker role in the environment) it does nothing.
#[test]
fn worker_entry() {
    let Some(role) = worker_role() else {
        return;
    };
    let (url, dir, k) = replicas::worker_env();
    rt().block_on(async {
        let conn = connect(&url).await;
        let (store, outbox) = (
            PostgresPoolStore::on(conn.clone()),
            PostgresOutbox::on(conn),
        );
        match role.as_str() {
            "route" => replicas::route_worker(k, &dir, store, outbox).await,
            "steady" => replicas::steady_worker(k, &dir, store).await,
            "hog" => replicas::hog_worker(&dir, outbox).await,
            "rescue" => replicas::drain_worker(&dir, outbox).await,
            other => panic!("unknown worker role `{other}`"),
        }
    });
}

fn spawn(role: &str, n: usize, url: &str, dir: &SharedDir) -> Vec<(String, std::process::Child)> {
    (0..n)
        .map(|k| {
            let env = [
                (URL_ENV, url.to_owned()),
                (DIR_ENV, dir.path().display().to_string()),
                (INDEX_ENV, k.to_string()),
            ];
            (
                format!("{role}-{k}"),
                spawn_worker("worker_entry", role, &env),
            )
        })
        .collect()
}

#[test]
fn four_processes_share_one_exact_rotation_and_a_crm_failing_30_percent_ends_with_one_record_per_lead()
 {
    let Some(pg) = Postgres::start_or_skip("postgres replicas") else {
        return;
    };
    let dir = SharedDir::new("postgres-replicas");
    wait_all(spawn("route", WORKERS, &pg.conninfo(), &dir));
    rt().block_on(async {
        let conn = connect(&pg.conninfo()).await;
        let (store, outbox) = (
            PostgresPoolStore::on(conn.clone()),
            PostgresOutbox::on(conn),
        );
        replicas::check_replicas("postgres", dir.path(), &store, &outbox).await;
    });
}

#[test]
fn a_store_restart_mid_run_keeps_the_counts_exact() {
    let Some(mut pg) = Postgres::start_or_skip("postgres restart mid-run") else {
        return;
    };
    let dir = SharedDir::new("postgres-restart");
    let workers = spawn("steady", WORKERS, &pg.conninfo(), &dir);
    let rt = rt();
    let store = rt.block_on(async { PostgresPoolStore::on(connect(&pg.conninfo()).await) });
    rt.block_on(replicas::wait_for_version(&store, 1000));
    let down = Instant::now();
    pg.restart().unwrap();
    let restart = down.elapsed();
    wait_all(workers);
    rt.block_on(replicas::check_steady(
        "postgres",
        dir.path(),
        &store,
        restart,
    ));
}

#[test]
fn a_killed_workers_claims_are_completed_by_another_after_the_lease() {
    let Some(pg) = Postgres::start_or_skip("postgres killed worker") else {
        return;
    };
    let dir = SharedDir::new("postgres-lease");
    let rt = rt();
    let outbox = rt.block_on(async { PostgresOutbox::on(connect(&pg.conninfo()).await) });
    rt.block_on(replicas::enqueue_held(&outbox));
    let mut hog = spawn("hog", 1, &pg.conninfo(), &dir);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dir.path().join("claimed").exists() {
        assert!(Instant::now() < deadline, "the hog never claimed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = rt
        .block_on(leadroute::outbox::Outbox::stats(&outbox))
        .unwrap();
    assert_eq!(stats.claimed, replicas::HELD as u64);
    let (_, mut child) = hog.pop().unwrap();
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let killed_at = Instant::now();
    wait_all(spawn("rescue", 1, &pg.conninfo(), &dir));
    rt.block_on(replicas::check_rescued(
        "postgres",
        dir.path(),
        &outbox,
        killed_at,
    ));
}
