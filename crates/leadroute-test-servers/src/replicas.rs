//! The multi-process scenarios both store crates run: worker processes
//! (the test binary re-run with [`WORKER_ENV`](crate::scenario::WORKER_ENV)),
//! each with its own [`LeadRouter`], sharing one
//! store, and the checks the parent test makes afterwards.
//!
//! The tests themselves are the generic functions at the end
//! ([`worker_entry`] and the three scenarios), which a store crate's
//! `tests/replicas.rs` turns into its tests with
//! [`replicas_suite!`](crate::replicas_suite) on its
//! [`StoreHarness`]; the parent passes each worker the server's address,
//! the shared directory and the worker's index ([`URL_ENV`], [`DIR_ENV`],
//! [`INDEX_ENV`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

use leadroute::events::NoEvents;
use leadroute::outbox::{Outbox, OutboxEntry, RetryPolicy};
use leadroute::router::RetryWorker;
use leadroute::testing::sample_write;
use leadroute::{LeadRouter, PoolStore};

use crate::scenario::{
    FileCrm, POOL, RoutedLine, SharedDir, TokioClock, barrier, lead, read_lines, router_with,
    smooth_wrr_counts, spawn_worker, tally, two_to_one, wait_all, worker_role, write_lines,
};
use crate::suite::{StoreHarness, TestServer, Timeouts, runtime, start};

/// Worker processes per scenario.
pub const WORKERS: usize = 4;
/// Leads with distinct ids routed across the workers.
pub const LEADS: usize = 3000;
/// Leads every worker routes at once (after the distinct ones).
pub const SHARED_LEADS: usize = 120;
/// Entries the "hog" worker claims before it is killed.
pub const HELD: usize = 50;
/// The hog's lease.
pub const HOG_LEASE: Duration = Duration::from_secs(3);

/// The server's address, for workers.
pub const URL_ENV: &str = "LEADROUTE_TEST_URL";
/// The shared directory, for workers.
pub const DIR_ENV: &str = "LEADROUTE_TEST_DIR";
/// The worker's index (0..WORKERS).
pub const INDEX_ENV: &str = "LEADROUTE_TEST_INDEX";

/// The environment a worker was given: (server address, shared directory,
/// index).
pub fn worker_env() -> (String, PathBuf, usize) {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("worker without {k}"));
    (
        var(URL_ENV),
        PathBuf::from(var(DIR_ENV)),
        var(INDEX_ENV).parse().expect("a numeric worker index"),
    )
}

/// Retries for the tests: quick (10 ms doubling to 100 ms) and many (50),
/// so a write failing 30 % of the time is delivered within the test.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(100))
        .with_max_attempts(50)
}

/// Drains `router`'s outbox as `owner` until nothing is pending or claimed.
async fn drain_until_empty<C, S, P, O>(
    router: &LeadRouter<C, S, P, TokioClock, O>,
    outbox: &O,
    owner: &str,
    lease: Duration,
    limit: Duration,
) -> (usize, usize)
where
    C: leadroute::Crm,
    S: leadroute::EventSink,
    P: PoolStore,
    O: Outbox,
{
    let worker = RetryWorker::new(router, owner).with_lease(lease);
    let deadline = Instant::now() + limit;
    let (mut claimed, mut written) = (0, 0);
    loop {
        let report = worker
            .drain(SystemTime::now())
            .await
            .expect("draining the outbox");
        claimed += report.claimed;
        written += report.written;
        let stats = outbox.stats().await.expect("outbox statistics");
        if stats.pending + stats.claimed == 0 {
            assert_eq!(stats.dead, 0, "dead letters");
            return (claimed, written);
        }
        assert!(
            Instant::now() < deadline,
            "{owner}: the outbox did not drain in {limit:?}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Worker `k` of the main scenario: routes its share of [`LEADS`] (ids
/// `lead-{i}`, `i ≡ k mod WORKERS`) through `store` into a CRM failing 30 %
/// of writes with `outbox` for the failures; then, with every worker at a
/// barrier, all [`SHARED_LEADS`] (ids `shared-{j}`); then drains the shared
/// outbox with the others until it is empty.
pub async fn route_worker<P: PoolStore, O: Outbox + Clone>(
    k: usize,
    dir: &Path,
    store: P,
    outbox: O,
) {
    let crm = FileCrm::failing(dir.join("crm"), 0.3, k as u64);
    let router = router_with(crm, store)
        .with_outbox(outbox.clone())
        .with_retry_policy(quick_retries());
    // Every worker waits here for the others (five minutes at most).
    let meet = |name| barrier(dir, name, &k.to_string(), WORKERS, Duration::from_secs(300));
    let mut lines = Vec::new();
    for i in (k..LEADS).step_by(WORKERS) {
        let routed = router
            .route(lead(&format!("lead-{i}")))
            .await
            .expect("a valid lead");
        lines.push(RoutedLine::of(&routed));
    }
    write_lines(&dir.join(format!("out-{k}.jsonl")), &lines);
    meet("shared");
    let mut shared = Vec::new();
    for j in 0..SHARED_LEADS {
        let routed = router
            .route(lead(&format!("shared-{j}")))
            .await
            .expect("a valid lead");
        shared.push(RoutedLine::of(&routed));
    }
    write_lines(&dir.join(format!("shared-{k}.jsonl")), &shared);
    let queued = lines
        .iter()
        .chain(&shared)
        .filter(|l| l.write == "queued")
        .count();
    meet("routed");
    let (claimed, written) = drain_until_empty(
        &router,
        &outbox,
        &format!("worker-{k}"),
        Duration::from_secs(30),
        Duration::from_secs(180),
    )
    .await;
    eprintln!(
        "worker {k}: routed {} + {} shared leads; CRM faults injected {}; writes queued {queued}; \
         retry worker claimed {claimed}, delivered {written}",
        lines.len(),
        shared.len(),
        router.crm().injected(),
    );
}

/// The parent's checks after [`route_worker`]s: exact counts, one owner per
/// lead id, the version, one CRM record per lead with the decided owner, an
/// empty outbox. Prints the figures.
pub async fn check_replicas<P: PoolStore, O: Outbox>(
    label: &str,
    dir: &Path,
    store: &P,
    outbox: &O,
) {
    let lines = read_lines(dir, "out-");
    let counts = tally(&lines, LEADS);
    let expected = smooth_wrr_counts(&[2, 1], LEADS as u64);
    assert_eq!(
        counts,
        owners(&expected),
        "{label}: owners of the {LEADS} distinct leads"
    );

    // Every shared lead: routed by all workers, one owner.
    let shared = read_lines(dir, "shared-");
    assert_eq!(shared.len(), WORKERS * SHARED_LEADS);
    let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in &shared {
        assert!(
            !l.pool_store_failed,
            "{label}: shared lead `{}` decided without the store",
            l.lead_id
        );
        by_id.entry(&l.lead_id).or_default().push(&l.owner);
    }
    assert_eq!(by_id.len(), SHARED_LEADS);
    for (id, owners) in &by_id {
        assert!(
            owners.iter().all(|o| o == &owners[0]),
            "{label}: `{id}` got owners {owners:?}"
        );
    }
    let total = (LEADS + SHARED_LEADS) as u64;
    let state = store.load(POOL).await.expect("loading the pool");
    assert_eq!(state.version, total, "{label}: version = assignments");
    let expected_total = smooth_wrr_counts(&[2, 1], total);
    assert_eq!(
        [state.member("ana").assigned, state.member("bob").assigned],
        [expected_total[0], expected_total[1]],
        "{label}: stored counts"
    );

    // The CRM: exactly one record per lead, with the decided owner.
    let records = FileCrm::records(&dir.join("crm"));
    let decided: BTreeMap<&str, &str> = lines
        .iter()
        .chain(&shared)
        .map(|l| (l.lead_id.as_str(), l.owner.as_str()))
        .collect();
    assert_eq!(records.len(), decided.len(), "{label}: CRM records");
    let mut rewrites = 0;
    for r in &records {
        assert_eq!(
            r.owner.as_deref(),
            decided.get(r.lead_id.as_str()).copied(),
            "{label}: owner of CRM record `{}`",
            r.lead_id
        );
        rewrites += u64::from(r.writes - 1);
    }
    let stats = outbox.stats().await.expect("outbox statistics");
    assert_eq!(
        (stats.pending, stats.claimed, stats.dead),
        (0, 0, 0),
        "{label}: outbox at the end"
    );
    let queued = lines
        .iter()
        .chain(&shared)
        .filter(|l| l.write == "queued")
        .count();
    eprintln!(
        "{label}: {WORKERS} processes, {LEADS} distinct leads -> ana {} / bob {} (smooth WRR exact: {} / {}); \
         then {SHARED_LEADS} leads routed by all {WORKERS} at once -> one owner each; version {} = {} assignments; \
         CRM failing 30% of writes: {} records for {} leads ({} writes queued to the outbox, {} repeated writes \
         absorbed by idempotent upserts); outbox empty, 0 dead letters",
        counts["ana"],
        counts["bob"],
        expected[0],
        expected[1],
        state.version,
        total,
        records.len(),
        decided.len(),
        queued,
        rewrites,
    );
}

fn owners(counts: &[u64]) -> BTreeMap<String, u64> {
    [("ana".to_owned(), counts[0]), ("bob".to_owned(), counts[1])]
        .into_iter()
        .collect()
}

/// Worker `k` of the restart scenario: routes its share of [`LEADS`]
/// (ids `lead-{i}`) through `store`, no outbox, a CRM that never fails.
pub async fn steady_worker<P: PoolStore>(k: usize, dir: &Path, store: P) {
    let router = router_with(FileCrm::new(dir.join("crm")), store);
    let mut lines = Vec::new();
    let mut slowest = Duration::ZERO;
    for i in (k..LEADS).step_by(WORKERS) {
        let started = Instant::now();
        let routed = router
            .route(lead(&format!("lead-{i}")))
            .await
            .expect("a valid lead");
        slowest = slowest.max(started.elapsed());
        lines.push(RoutedLine::of(&routed));
    }
    write_lines(&dir.join(format!("out-{k}.jsonl")), &lines);
    eprintln!(
        "worker {k}: routed {} leads; slowest route {slowest:?}",
        lines.len()
    );
}

/// Polls `store` until the pool's version reaches `version` (for timing a
/// fault mid-run), for at most five minutes.
pub async fn wait_for_version<P: PoolStore>(store: &P, version: u64) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if store.load(POOL).await.is_ok_and(|s| s.version >= version) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the pool never reached version {version}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The parent's checks after [`steady_worker`]s with a store restart in the
/// middle: exact counts and version. Prints the figures.
pub async fn check_steady<P: PoolStore>(label: &str, dir: &Path, store: &P, restart: Duration) {
    let lines = read_lines(dir, "out-");
    let counts = tally(&lines, LEADS);
    let expected = smooth_wrr_counts(&[2, 1], LEADS as u64);
    assert_eq!(
        counts,
        owners(&expected),
        "{label}: owners after the restart"
    );
    let state = store.load(POOL).await.expect("loading the pool");
    assert_eq!(
        state.version, LEADS as u64,
        "{label}: version = assignments"
    );
    assert_eq!(
        [state.member("ana").assigned, state.member("bob").assigned],
        [expected[0], expected[1]]
    );
    assert_eq!(FileCrm::records(&dir.join("crm")).len(), LEADS);
    eprintln!(
        "{label}: server killed and restarted after 1000 of {LEADS} assignments (down {restart:?}); \
         {WORKERS} processes went on: ana {} / bob {} (exact), version {}, no lead decided outside the store",
        counts["ana"], counts["bob"], state.version,
    );
}

/// The parent's setup of the lease scenario: [`HELD`] pending writes.
pub async fn enqueue_held<O: Outbox>(outbox: &O) {
    let now = SystemTime::now();
    for i in 0..HELD {
        outbox
            .enqueue(OutboxEntry::new(sample_write(&format!("held-{i}")), now))
            .await
            .expect("enqueue");
    }
}

/// The "hog" worker: claims every due entry under [`HOG_LEASE`], says so in
/// `claimed` in the shared directory, and hangs until it is killed.
pub async fn hog_worker<O: Outbox>(dir: &Path, outbox: O) -> ! {
    let claimed = outbox
        .claim("hog", SystemTime::now(), HOG_LEASE, HELD)
        .await
        .expect("claiming");
    assert_eq!(claimed.len(), HELD);
    std::fs::write(dir.join("claimed"), claimed.len().to_string()).expect("writing the marker");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// The worker that takes over after the hog was killed: drains until the
/// outbox is empty, and reports how long that took.
pub async fn drain_worker<O: Outbox + Clone>(dir: &Path, outbox: O) {
    let router = LeadRouter::new(two_to_one(), FileCrm::new(dir.join("crm")), NoEvents)
        .with_clock(TokioClock)
        .with_outbox(outbox.clone())
        .with_retry_policy(quick_retries());
    let started = Instant::now();
    let (claimed, written) = drain_until_empty(
        &router,
        &outbox,
        "rescuer",
        Duration::from_secs(30),
        Duration::from_secs(60),
    )
    .await;
    eprintln!(
        "rescuer: claimed {claimed} and delivered {written} entries the killed worker held, \
         {:?} after it started (the killed worker's lease was {HOG_LEASE:?})",
        started.elapsed()
    );
}

/// The parent's checks after the rescue: one CRM record per held entry,
/// each written once (the killed worker wrote nothing), an empty outbox.
pub async fn check_rescued<O: Outbox>(label: &str, dir: &Path, outbox: &O, killed_at: Instant) {
    let records = FileCrm::records(&dir.join("crm"));
    assert_eq!(records.len(), HELD, "{label}: CRM records");
    assert!(
        records.iter().all(|r| r.writes == 1),
        "{label}: each written once"
    );
    let stats = outbox.stats().await.expect("outbox statistics");
    assert_eq!((stats.pending, stats.claimed, stats.dead), (0, 0, 0));
    eprintln!(
        "{label}: worker holding {HELD} claimed entries killed with SIGKILL; another worker completed all {HELD} \
         after the {HOG_LEASE:?} lease expired ({:?} after the kill); {} CRM records, outbox empty",
        killed_at.elapsed(),
        records.len()
    );
}

// ------------------------------------------------------------ the tests

/// The entry point of the worker processes the scenarios below start: it
/// connects `H`'s store ([`Timeouts::RIDE_OUT_RESTART`]) and runs the
/// worker its role names. In a normal test run (no worker role in the
/// environment) it does nothing.
pub fn worker_entry<H: StoreHarness>() {
    let Some(role) = worker_role() else {
        return;
    };
    let (url, dir, k) = worker_env();
    runtime().block_on(async {
        let (store, outbox) = H::connect(&url, Timeouts::RIDE_OUT_RESTART).await;
        match role.as_str() {
            "route" => route_worker(k, &dir, store, outbox).await,
            "steady" => steady_worker(k, &dir, store).await,
            "hog" => hog_worker(&dir, outbox).await,
            "rescue" => drain_worker(&dir, outbox).await,
            other => panic!("unknown worker role `{other}`"),
        }
    });
}

/// Starts `n` workers in `role` (`worker_entry` of this test binary).
fn spawn(role: &str, n: usize, address: &str, dir: &SharedDir) -> Vec<(String, Child)> {
    (0..n)
        .map(|k| {
            let env = [
                (URL_ENV, address.to_owned()),
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

/// [`WORKERS`] [`route_worker`] processes on one server, then
/// [`check_replicas`].
pub fn four_processes_share_one_exact_rotation_and_a_crm_failing_30_percent_ends_with_one_record_per_lead<
    H: StoreHarness,
>() {
    let Some(server) = start::<H>("replicas") else {
        return;
    };
    let dir = SharedDir::new(&format!("{}-replicas", H::NAME));
    wait_all(spawn("route", WORKERS, &server.address(), &dir));
    runtime().block_on(async {
        let (store, outbox) = H::connect(&server.address(), Timeouts::RIDE_OUT_RESTART).await;
        check_replicas(H::NAME, dir.path(), &store, &outbox).await;
    });
}

/// [`WORKERS`] [`steady_worker`] processes; the server is killed and
/// started again once the pool reached version 1000; then
/// [`check_steady`].
pub fn a_store_restart_mid_run_keeps_the_counts_exact<H: StoreHarness>() {
    let Some(mut server) = start::<H>("restart mid-run") else {
        return;
    };
    let dir = SharedDir::new(&format!("{}-restart", H::NAME));
    let workers = spawn("steady", WORKERS, &server.address(), &dir);
    let rt = runtime();
    let (store, _) = rt.block_on(H::connect(&server.address(), Timeouts::RIDE_OUT_RESTART));
    rt.block_on(wait_for_version(&store, 1000));
    let down = Instant::now();
    server.start_again().unwrap(); // kills it first
    let restart = down.elapsed();
    wait_all(workers);
    rt.block_on(check_steady(H::NAME, dir.path(), &store, restart));
}

/// A [`hog_worker`] claims [`HELD`] entries and is killed with SIGKILL; a
/// [`drain_worker`] completes them after the lease; then
/// [`check_rescued`].
pub fn a_killed_workers_claims_are_completed_by_another_after_the_lease<H: StoreHarness>() {
    let Some(server) = start::<H>("killed worker") else {
        return;
    };
    let dir = SharedDir::new(&format!("{}-lease", H::NAME));
    let rt = runtime();
    let (_, outbox) = rt.block_on(H::connect(&server.address(), Timeouts::RIDE_OUT_RESTART));
    rt.block_on(enqueue_held(&outbox));
    let mut hog = spawn("hog", 1, &server.address(), &dir);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dir.path().join("claimed").exists() {
        assert!(Instant::now() < deadline, "the hog never claimed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = rt.block_on(outbox.stats()).unwrap();
    assert_eq!(stats.claimed, HELD as u64);
    let (_, mut child) = hog.pop().unwrap();
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    let killed_at = Instant::now();
    wait_all(spawn("rescue", 1, &server.address(), &dir));
    rt.block_on(check_rescued(H::NAME, dir.path(), &outbox, killed_at));
}
