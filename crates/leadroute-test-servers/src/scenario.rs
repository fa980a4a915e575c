//! What the store crates' tests share: a 2:1 pool policy, routers over any
//! [`PoolStore`], an oracle for smooth weighted round robin, a Tokio
//! [`Clock`], and worker processes (the test binary re-running itself).

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use leadroute::events::NoEvents;
use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
use leadroute::testing::InMemoryCrm;
use leadroute::{Clock, LeadInput, LeadRouter, Policy, PolicySpec, PoolStore, compile};

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

/// A [`Clock`] over Tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// The pool budget of the scenarios' routers: 30 s. Tests on a loaded
/// 2-core machine must not degrade because a store answered slowly; the
/// degradation tests make the *store* fail fast instead (a short retry
/// window), which the router reports at once whatever its budget.
pub const PATIENT_POOL_BUDGET: Duration = Duration::from_secs(30);

/// The router the scenarios use: the 2:1 policy, an in-memory CRM, no
/// events, Tokio's clock, [`PATIENT_POOL_BUDGET`] and `store`.
pub fn router<P: PoolStore>(store: P) -> LeadRouter<InMemoryCrm, NoEvents, P, TokioClock> {
    LeadRouter::new(two_to_one(), InMemoryCrm::new(), NoEvents)
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
