//! What the store crates' tests share: a 2:1 pool policy, routers over any
//! [`PoolStore`], an oracle for smooth weighted round robin, a Tokio
//! [`Clock`](leadroute::Clock), and worker processes (the test binary re-running itself).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use leadroute::Crm;
use leadroute::crm::{Account, Contact, CrmError, LeadWrite, WriteReceipt};
use leadroute::router::{Routed, WriteOutcome};
use serde::{Deserialize, Serialize};

use leadroute::events::NoEvents;
use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
use leadroute::testing::InMemoryCrm;
use leadroute::{LeadInput, LeadRouter, Policy, PolicySpec, PoolStore, compile};

/// The pool every scenario routes into.
pub const POOL: &str = "team";

/// A policy whose fallback is pool `team`: `ana` weight 2, `bob` weight 1.
pub fn two_to_one() -> Policy {
    let spec = PolicySpec::new("replicas", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("bob", "Bob"))
        .pool(PoolSpec::new(POOL).member("ana", 2).member("bob", 1))
        .fallback(ActionSpec::pool(POOL));
    compile(&spec).expect("the scenario policy compiles")
}

/// A submission with its own lead id.
pub fn lead(id: &str) -> LeadInput {
    let mut input = LeadInput::from_email(format!("{id}@example.com"));
    input.lead_id = Some(id.to_owned());
    input
}

/// The counts smooth weighted round robin gives after `n` assignments with
/// these weights, all members always eligible: an independent
/// implementation of the algorithm, the tests' oracle.
pub fn smooth_wrr_counts(weights: &[i64], n: u64) -> Vec<u64> {
    let total: i64 = weights.iter().sum();
    let mut current = vec![0i64; weights.len()];
    let mut counts = vec![0u64; weights.len()];
    for _ in 0..n {
        for (c, w) in current.iter_mut().zip(weights) {
            *c += w;
        }
        // Highest counter wins; ties go to the earlier member.
        let best = (0..weights.len()).fold(
            0,
            |best, i| if current[i] > current[best] { i } else { best },
        );
        current[best] -= total;
        counts[best] += 1;
    }
    counts
}

/// Tokio's clock, from `leadroute-tokio`.
pub use leadroute_tokio::TokioClock;

/// The pool budget of the scenarios' routers: 30 s. Tests on a loaded
/// 2-core machine must not degrade because a store answered slowly; the
/// degradation tests make the *store* fail fast instead (a short retry
/// window), which the router reports at once whatever its budget.
pub const PATIENT_POOL_BUDGET: Duration = Duration::from_secs(30);

/// The router the scenarios use: the 2:1 policy, an in-memory CRM, no
/// events, Tokio's clock, [`PATIENT_POOL_BUDGET`] and `store`.
pub fn router<P: PoolStore>(store: P) -> LeadRouter<InMemoryCrm, NoEvents, P, TokioClock> {
    router_with(InMemoryCrm::new(), store)
}

/// [`router`] with `crm` instead of the in-memory CRM.
pub fn router_with<C: Crm, P: PoolStore>(
    crm: C,
    store: P,
) -> LeadRouter<C, NoEvents, P, TokioClock> {
    LeadRouter::new(two_to_one(), crm, NoEvents)
        .with_clock(TokioClock)
        .with_pool_budget(PATIENT_POOL_BUDGET)
        .with_pool_store(store)
}

/// The environment variable that tells a re-run test binary which worker
/// it is.
pub const WORKER_ENV: &str = "LEADROUTE_TEST_WORKER";

/// This process's worker role, if it was started by [`spawn_worker`]: the
/// role string given there.
pub fn worker_role() -> Option<String> {
    std::env::var(WORKER_ENV).ok()
}

/// Starts the current test binary again as a worker that runs only the test
/// `test` (which must check [`worker_role`] first and act on it), with
/// `role` and extra environment variables. Its stderr is inherited, so its
/// figures show in the test's output.
pub fn spawn_worker(test: &str, role: &str, env: &[(&str, String)]) -> Child {
    let exe: PathBuf = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, role)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawning a worker process")
}

/// A CRM whose records are files in one directory, shared by every process
/// of a test: a record is created with `O_CREAT | O_EXCL` (so two processes
/// writing the same lead id make one record) and updated by replacing the
/// file. Writes are idempotent by lead id, as the [`Crm`] contract asks.
///
/// [`FileCrm::failing`] makes a share of writes fail: half of them before writing (a `transient` error),
/// half after writing (an `unknown_outcome`: the record exists, the caller
/// cannot know), the two failures a real CRM's retries must survive.
#[derive(Debug)]
pub struct FileCrm {
    dir: PathBuf,
    /// Failure rate in parts per thousand.
    fail_per_mille: u64,
    seed: u64,
    calls: AtomicU64,
    injected: AtomicU64,
}

/// One record of a [`FileCrm`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The lead id (the record's key).
    pub lead_id: String,
    /// The owner id last written.
    pub owner: Option<String>,
    /// How many writes reached the record (1 = created only).
    pub writes: u32,
}

impl FileCrm {
    /// A CRM over `dir` (created if missing) that never fails.
    pub fn new(dir: impl Into<PathBuf>) -> FileCrm {
        FileCrm::failing(dir, 0.0, 0)
    }

    /// A CRM over `dir` failing a share `rate` (0–1) of writes, picked
    /// pseudo-randomly (a hash of `seed`, the lead id, the process id and the
    /// process's call number).
    pub fn failing(dir: impl Into<PathBuf>, rate: f64, seed: u64) -> FileCrm {
        let dir = dir.into();
        fs::create_dir_all(&dir).expect("creating the CRM directory");
        FileCrm {
            dir,
            fail_per_mille: (rate.clamp(0.0, 1.0) * 1000.0) as u64,
            seed,
            calls: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    /// How many failures this process's instance injected.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// Every record in the directory.
    pub fn records(dir: &Path) -> Vec<FileRecord> {
        let mut out: Vec<FileRecord> = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .map(|e| {
                let text = fs::read_to_string(e.path()).expect("reading a CRM record");
                serde_json::from_str(&text).expect("a CRM record is JSON")
            })
            .collect();
        out.sort_by(|a, b| a.lead_id.cmp(&b.lead_id));
        out
    }

    fn path(&self, lead_id: &str) -> PathBuf {
        // Lead ids in these tests are [A-Za-z0-9-]; anything else is escaped.
        let name: String = lead_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{name}.json"))
    }

    fn write(&self, lead_id: &str, owner: Option<&str>) -> std::io::Result<WriteReceipt> {
        let path = self.path(lead_id);
        let record = |writes| {
            serde_json::to_vec(&FileRecord {
                lead_id: lead_id.to_owned(),
                owner: owner.map(str::to_owned),
                writes,
            })
            .expect("a record serializes")
        };
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(&record(1))?;
                Ok(WriteReceipt::new(lead_id, true))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // Another write made it (maybe a moment ago, maybe still
                // writing it): update by atomic replacement.
                let writes = fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<FileRecord>(&t).ok())
                    .map_or(1, |r| r.writes);
                let tmp = self.dir.join(format!(
                    ".{}.{}.tmp",
                    std::process::id(),
                    self.calls.fetch_add(1, Ordering::Relaxed)
                ));
                fs::write(&tmp, record(writes + 1))?;
                fs::rename(&tmp, &path)?;
                Ok(WriteReceipt::new(lead_id, false))
            }
            Err(e) => Err(e),
        }
    }
}

impl Crm for FileCrm {
    async fn find_account(&self, _: &str) -> Result<Option<Account>, CrmError> {
        Ok(None)
    }

    async fn find_person(&self, _: &str) -> Result<Option<Contact>, CrmError> {
        Ok(None)
    }

    async fn upsert_lead(&self, write: &LeadWrite<'_>) -> Result<WriteReceipt, CrmError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        // DefaultHasher::new() has fixed keys: the same calls fail on every run.
        let mut h = std::hash::DefaultHasher::new();
        (self.seed, write.lead_id, call, std::process::id()).hash(&mut h);
        let pick = h.finish() % 1000;
        let owner = write.decision.owner.as_deref();
        let io = |e: std::io::Error| CrmError::transient(format!("file CRM: {e}"));
        if pick < self.fail_per_mille {
            self.injected.fetch_add(1, Ordering::Relaxed);
            if pick % 2 == 0 {
                return Err(CrmError::transient("503 Service Unavailable (injected)"));
            }
            self.write(write.lead_id, owner).map_err(io)?;
            return Err(CrmError::unknown_outcome(
                "connection reset after the request was sent (injected)",
            ));
        }
        self.write(write.lead_id, owner).map_err(io)
    }
}

/// What a worker routed: one line of its output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutedLine {
    /// The lead id.
    pub lead_id: String,
    /// The owner decided.
    pub owner: String,
    /// Whether the pool store failed (the decision was made locally).
    pub pool_store_failed: bool,
    /// `written`, `queued`, `dead_lettered`, `pending` or `skipped`.
    pub write: String,
}

impl RoutedLine {
    /// The line for a route.
    pub fn of(routed: &Routed) -> RoutedLine {
        let write = match &routed.write {
            WriteOutcome::Written(_) => "written",
            WriteOutcome::Queued(_) => "queued",
            WriteOutcome::DeadLettered(_) => "dead_lettered",
            WriteOutcome::Pending(_) => "pending",
            _ => "skipped",
        };
        RoutedLine {
            lead_id: routed.lead_id.clone(),
            owner: routed.decision.owner_id().unwrap_or_default().to_owned(),
            pool_store_failed: routed.pool_store.is_some(),
            write: write.to_owned(),
        }
    }
}

/// Appends `lines` to `path` as JSON lines.
pub fn write_lines(path: &Path, lines: &[RoutedLine]) {
    let mut text = String::new();
    for l in lines {
        text.push_str(&serde_json::to_string(l).expect("a line serializes"));
        text.push('\n');
    }
    fs::write(path, text).expect("writing a worker's output");
}

/// Every line of every `{prefix}*.jsonl` file in `dir`.
pub fn read_lines(dir: &Path, prefix: &str) -> Vec<RoutedLine> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)
        .expect("reading the shared directory")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && name.ends_with(".jsonl") {
            let text = fs::read_to_string(e.path()).expect("reading a worker's output");
            out.extend(
                text.lines()
                    .map(|l| serde_json::from_str(l).expect("a worker's line")),
            );
        }
    }
    out
}

/// Waits until `n` files named `{name}-*` exist in `dir` (a barrier for
/// worker processes), for at most `limit`.
pub fn barrier(dir: &Path, name: &str, me: &str, n: usize, limit: Duration) {
    fs::write(dir.join(format!("{name}-{me}")), b"").expect("joining the barrier");
    let deadline = std::time::Instant::now() + limit;
    loop {
        let count = fs::read_dir(dir)
            .expect("reading the shared directory")
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{name}-"))
            })
            .count();
        if count >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "barrier `{name}`: {count} of {n} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A fresh directory shared by the processes of one test, removed on drop.
#[derive(Debug)]
pub struct SharedDir(PathBuf);

impl SharedDir {
    /// A new empty directory.
    pub fn new(name: &str) -> SharedDir {
        let nanos = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("leadroute-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).expect("creating a shared directory");
        SharedDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Waits for every worker; panics naming the first that failed.
pub fn wait_all(workers: Vec<(String, Child)>) {
    for (name, mut child) in workers {
        let status = child.wait().expect("waiting for a worker");
        assert!(status.success(), "worker `{name}` failed: {status}");
    }
}

/// Checks one multi-process run: every lead id of `expected_ids` routed
/// exactly once (no id assigned twice), none decided outside the store, and
/// returns the owner counts by owner id.
pub fn tally(lines: &[RoutedLine], expected_ids: usize) -> BTreeMap<String, u64> {
    let mut seen = HashSet::new();
    for l in lines {
        assert!(
            seen.insert(l.lead_id.clone()),
            "lead `{}` was assigned twice",
            l.lead_id
        );
        assert!(
            !l.pool_store_failed,
            "lead `{}` was decided without the store",
            l.lead_id
        );
    }
    assert_eq!(seen.len(), expected_ids, "routed lead ids");
    let mut counts = BTreeMap::new();
    for l in lines {
        *counts.entry(l.owner.clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_interleaves_two_to_one_and_three_to_one() {
        assert_eq!(smooth_wrr_counts(&[2, 1], 3000), [2000, 1000]);
        assert_eq!(smooth_wrr_counts(&[2, 1], 3001), [2001, 1000]);
        assert_eq!(smooth_wrr_counts(&[2, 1], 3002), [2001, 1001]);
        assert_eq!(smooth_wrr_counts(&[3, 1], 4), [3, 1]);
    }
}
