//! `cargo run --release -p leadroute-load [-- ROUTES_PER_RUN]`: starts a
//! throwaway `redis-server` and PostgreSQL (as the tests do), then measures
//! in one run, for the in-memory, Redis and PostgreSQL pool stores at 1, 4
//! and 16 concurrent routers (each its own `LeadRouter`, all sharing the
//! store and one 2:1 pool — the hottest case, every route contends):
//! assignments per second and the p50/p99 latency of a whole route; then the
//! outbox's throughput (enqueue, and claim + complete in batches of 100)
//! for the in-memory, Redis and PostgreSQL outboxes at 1 and 4 workers.
//! Prints a Markdown table. Not run by CI; results in BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use leadroute::PoolStore;
use leadroute::outbox::{InMemoryOutbox, Outbox, OutboxEntry};
use leadroute::pool::InMemoryPoolStore;
use leadroute::testing::sample_write;
use leadroute_postgres::{
    PgConnection, PostgresConfig, PostgresOutbox, PostgresPoolStore, migrate,
};
use leadroute_redis::{RedisConfig, RedisConnection, RedisOutbox, RedisPoolStore};
use leadroute_test_servers::scenario::{POOL, lead, router};
use leadroute_test_servers::{Postgres, Redis};

const CONCURRENCY: [usize; 3] = [1, 4, 16];

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `total` routes split over `routers` concurrent routers sharing `store`.
async fn route_load<P: PoolStore + Clone + 'static>(
    store: P,
    routers: usize,
    total: usize,
    run: usize,
) -> Figures {
    let per = total / routers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..routers)
        .map(|r| {
            let router = router(store.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per);
                for i in 0..per {
                    let t = Instant::now();
                    let routed = router
                        .route(lead(&format!("run{run}-r{r}-{i}")))
                        .await
                        .unwrap();
                    assert!(routed.pool_store.is_none(), "{:?}", routed.pool_store);
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    Figures {
        per_sec: all.len() as f64 / wall.as_secs_f64(),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    }
}

/// Enqueue `total` entries from `workers` tasks, then claim and complete
/// them all in batches of 100 with `workers` tasks: (enqueues/s, completions/s).
async fn outbox_load<O: Outbox + Clone + 'static>(
    outbox: O,
    workers: usize,
    total: usize,
    run: usize,
) -> (f64, f64) {
    let now = SystemTime::now();
    let per = total / workers;
    // One write, cloned under each id: building a write (policy, lead) is
    // not what is measured.
    let template = Arc::new(sample_write("template"));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let outbox = outbox.clone();
            let template = template.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    let mut write = (*template).clone();
                    write.lead_id = format!("o{run}-{w}-{i}");
                    let e = OutboxEntry::new(write, now);
                    outbox.enqueue(e).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let enqueue = (per * workers) as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut done = 0;
                loop {
                    let batch = outbox
                        .claim(&format!("w{w}"), now, Duration::from_secs(60), 100)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return done;
                    }
                    for e in batch {
                        assert!(
                            outbox
                                .complete(&e.id, e.lease.as_ref().unwrap())
                                .await
                                .unwrap()
                        );
                        done += 1;
                    }
                }
            })
        })
        .collect();
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap();
    }
    assert_eq!(done, per * workers);
    (enqueue, done as f64 / started.elapsed().as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(4800);
    let redis = Redis::start().expect("redis-server");
    let pg = Postgres::start().expect("postgres");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let rconn = RedisConnection::connect(
            &redis.url(),
            RedisConfig::default().op_timeout(Duration::from_secs(5)),
        )
        .await
        .unwrap();
        let pconn = PgConnection::connect(
            &pg.conninfo(),
            PostgresConfig::default()
                .op_timeout(Duration::from_secs(5))
                .connections(4),
        )
        .await
        .unwrap();
        migrate(&pconn).await.unwrap();
        println!("## Pool stores: {total} routes per cell, one shared 2:1 pool\n");
        println!("| store | routers | routes/s | p50 ms | p99 ms | vs in-memory |");
        println!("|---|---:|---:|---:|---:|---:|");
        let mut run = 0;
        for &c in &CONCURRENCY {
            run += 1;
            let mem = route_load(Arc::new(InMemoryPoolStore::new()), c, total, run).await;
            let row = |name: &str, f: &Figures| {
                println!(
                    "| {name} | {c} | {:.0} | {} | {} | {:.2}× |",
                    f.per_sec,
                    ms(f.p50),
                    ms(f.p99),
                    f.per_sec / mem.per_sec
                )
            };
            row("in-memory", &mem);
            run += 1;
            let store = RedisPoolStore::on(rconn.clone());
            let before = store.load(POOL).await.unwrap().version;
            let r = route_load(store.clone(), c, total, run).await;
            assert_eq!(
                store.load(POOL).await.unwrap().version - before,
                (total / c * c) as u64
            );
            row("redis", &r);
            run += 1;
            let store = PostgresPoolStore::on(pconn.clone());
            let before = store.load(POOL).await.unwrap().version;
            let p = route_load(store.clone(), c, total, run).await;
            assert_eq!(
                store.load(POOL).await.unwrap().version - before,
                (total / c * c) as u64
            );
            row("postgres", &p);
        }
        println!("\n## Outboxes: {total} entries per cell\n");
        println!("| outbox | workers | enqueue/s | claim+complete/s |");
        println!("|---|---:|---:|---:|");
        for &w in &[1usize, 4] {
            run += 1;
            let (e, c) = outbox_load(Arc::new(InMemoryOutbox::new()), w, total, run).await;
            println!("| in-memory | {w} | {e:.0} | {c:.0} |");
            let (e, c) = outbox_load(RedisOutbox::on(rconn.clone()), w, total, run).await;
            println!("| redis | {w} | {e:.0} | {c:.0} |");
            let (e, c) = outbox_load(PostgresOutbox::on(pconn.clone()), w, total, run).await;
            println!("| postgres | {w} | {e:.0} | {c:.0} |");
        }
    });
}
