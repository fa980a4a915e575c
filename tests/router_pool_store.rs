//! A pool store outage: the router keeps rotating on its local pool state,
//! says so in the trace, the events and `Routed::pool_store`, and goes back
//! to the store when it answers again.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use leadroute::PolicySpec;
use leadroute::decision::TraceEvent;
use leadroute::events::EventKind;
use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
use leadroute::pool::{InMemoryPoolStore, PoolState};
use leadroute::router::{PoolStoreFailure, PoolStoreFailureKind, Routed};
use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
use leadroute::{LeadInput, LeadRouter, Policy, PoolStore, compile};

/// What the store does with each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Healthy,
    /// Every call fails.
    Down,
    /// Loads work, compare-and-swaps fail.
    WritesFail,
    /// Loads work, compare-and-swaps always lose (another replica won).
    AlwaysStale,
    /// Nothing ever answers (a hung connection).
    Hung,
}

#[derive(Debug, thiserror::Error)]
#[error("connection refused")]
struct Refused;

#[derive(Debug)]
struct FlakyStore {
    inner: InMemoryPoolStore,
    mode: Mutex<Mode>,
    loads: AtomicU32,
    swaps: AtomicU32,
}

impl FlakyStore {
    fn new(mode: Mode) -> Self {
        FlakyStore {
            inner: InMemoryPoolStore::new(),
            mode: Mutex::new(mode),
            loads: AtomicU32::new(0),
            swaps: AtomicU32::new(0),
        }
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap()
    }
}

impl PoolStore for FlakyStore {
    type Error = Refused;

    fn load(&self, pool: &str) -> impl Future<Output = Result<PoolState, Refused>> + Send {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let mode = self.mode();
        let r = match mode {
            Mode::Down => Err(Refused),
            _ => Ok(self.inner.get(pool)),
        };
        async move {
            if mode == Mode::Hung {
                std::future::pending::<()>().await;
            }
            r
        }
    }

    fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> impl Future<Output = Result<bool, Refused>> + Send {
        self.swaps.fetch_add(1, Ordering::SeqCst);
        let r = match self.mode() {
            Mode::Down | Mode::WritesFail => Err(Refused),
            Mode::AlwaysStale | Mode::Hung => Ok(false),
            Mode::Healthy => Ok(self.inner.compare_and_swap_now(pool, expected_version, new)),
        };
        std::future::ready(r)
    }
}

fn team(weights: [u32; 2]) -> Policy {
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("bob", "Bob"))
        .pool(
            PoolSpec::new("team")
                .member("ana", weights[0])
                .member("bob", weights[1]),
        )
        .fallback(ActionSpec::pool("team"));
    compile(&spec).unwrap()
}

type Router = LeadRouter<InMemoryCrm, RecordingSink, FlakyStore, ManualClock>;

fn router(policy: Policy, mode: Mode) -> Router {
    LeadRouter::new(policy, InMemoryCrm::new(), RecordingSink::new())
        .with_clock(ManualClock::at_unix(1_764_000_000))
        .with_pool_store(FlakyStore::new(mode))
}

fn route(r: &Router, i: usize) -> Routed {
    let input = LeadInput::from_email(format!("lead{i}@acme{i}.com"));
    pollster::block_on(r.route(input)).unwrap()
}

fn owners(r: &Router, range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|i| route(r, i).decision.owner_id().unwrap().to_owned())
        .collect()
}

fn refused() -> Option<PoolStoreFailure> {
    Some(PoolStoreFailure::new(
        "team",
        PoolStoreFailureKind::StoreError,
        "connection refused",
    ))
}

#[test]
fn a_store_outage_keeps_a_one_to_one_pool_fair() {
    let r = router(team([1, 1]), Mode::Down);
    let routed: Vec<Routed> = (0..6).map(|i| route(&r, i)).collect();
    let owners: Vec<&str> = routed
        .iter()
        .map(|x| x.decision.owner_id().unwrap())
        .collect();
    assert_eq!(owners, ["ana", "bob", "ana", "bob", "ana", "bob"]);
    assert_eq!(owners.iter().filter(|o| **o == "ana").count(), 3);
    for x in &routed {
        assert_eq!(x.pool_store, refused());
        // The trace ends saying the choice was made on local state.
        assert_eq!(
            x.decision.trace.events.last(),
            Some(&TraceEvent::PoolStoreUnavailable { pool: 0 })
        );
        assert!(x.write.receipt().is_some(), "the lead is still written");
    }
    let text = r.policy().explain(&routed[1].decision).to_string();
    assert!(
        text.ends_with(
            "    pool `team`: bob chosen: highest rotation counter (2) among 2 eligible member(s) with total weight 2\n    \
             pool `team`: the pool store failed; chosen on this process's last known state, not recorded in the store\n"
        ),
        "{text}"
    );
    // Nothing reached the store: one failed load per lead, no compare-and-swap.
    assert_eq!(r.pool_store().loads.load(Ordering::SeqCst), 6);
    assert_eq!(r.pool_store().swaps.load(Ordering::SeqCst), 0);
    assert_eq!(r.pool_store().inner.get("team").version, 0);

    // Each lead's events say so, before the decision.
    let events = r.events().events();
    assert_eq!(
        events.iter().take(6).map(|e| e.name()).collect::<Vec<_>>(),
        [
            "form_submitted",
            "account_not_matched",
            "pool_store_failed",
            "owner_assigned",
            "routing_fallback",
            "crm_write_success"
        ]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.name() == "pool_store_failed")
            .count(),
        6
    );
    let json = serde_json::to_value(&events[2]).unwrap();
    assert_eq!(json["event"], "pool_store_failed");
    assert_eq!(json["pool"], "team");
    assert_eq!(json["kind"], "store_error");
    assert_eq!(json["message"], "connection refused");
    assert_eq!(json["lead_id"], routed[0].lead_id.as_str());
    assert!(matches!(
        &events[2].kind,
        EventKind::PoolStoreFailed(f) if Some(f) == refused().as_ref()
    ));
    // And `Routed` carries it as data.
    let v = serde_json::to_value(&routed[0]).unwrap();
    assert_eq!(
        v["pool_store"],
        serde_json::json!({"pool": "team", "kind": "store_error", "message": "connection refused"})
    );
    assert_eq!(serde_json::from_value::<Routed>(v).unwrap(), routed[0]);
}

#[test]
fn a_store_outage_keeps_weights_in_ratio() {
    let healthy = router(team([3, 1]), Mode::Healthy);
    let down = router(team([3, 1]), Mode::Down);
    let expected = owners(&healthy, 0..12);
    assert_eq!(
        expected,
        [
            "ana", "ana", "bob", "ana", "ana", "ana", "bob", "ana", "ana", "ana", "bob", "ana"
        ]
    );
    assert_eq!(owners(&down, 0..12), expected);
    assert_eq!(healthy.pool_store().inner.get("team").version, 12);
    assert_eq!(down.pool_store().inner.get("team").version, 0);
}

#[test]
fn failed_writes_continue_from_the_last_loaded_state_and_recovery_goes_back_to_the_store() {
    let r = router(team([1, 1]), Mode::Healthy);
    assert_eq!(owners(&r, 0..3), ["ana", "bob", "ana"]);
    assert_eq!(r.pool_store().inner.get("team").version, 3);

    // Loads work but writes fail: the rotation goes on from the loaded state.
    r.pool_store().set(Mode::WritesFail);
    let during: Vec<Routed> = (3..6).map(|i| route(&r, i)).collect();
    let during_owners: Vec<_> = during
        .iter()
        .map(|x| x.decision.owner_id().unwrap())
        .collect();
    // Each route loads the stored state (version 3), so the store's turn
    // (bob) is also the first local one; the local steps then advance.
    assert_eq!(during_owners, ["bob", "ana", "bob"]);
    assert!(during.iter().all(|x| x.pool_store == refused()));
    assert_eq!(r.pool_store().inner.get("team").version, 3);

    // The store is back: its state (not the local steps) decides again, and
    // the local steps are not replayed into it.
    r.pool_store().set(Mode::Healthy);
    let after = route(&r, 6);
    assert_eq!(after.decision.owner_id(), Some("bob"));
    assert_eq!(after.pool_store, None);
    assert!(
        !after
            .decision
            .trace
            .events
            .iter()
            .any(|e| matches!(e, TraceEvent::PoolStoreUnavailable { .. }))
    );
    let state = r.pool_store().inner.get("team");
    assert_eq!(state.version, 4);
    assert_eq!(
        (state.member("ana").assigned, state.member("bob").assigned),
        (2, 2)
    );
}

#[test]
fn endless_contention_gives_up_after_the_routers_attempts_and_rotates_locally() {
    let r = router(team([1, 1]), Mode::AlwaysStale);
    let first = route(&r, 0);
    assert_eq!(r.pool_store().swaps.load(Ordering::SeqCst), 1024);
    assert_eq!(r.pool_store().loads.load(Ordering::SeqCst), 1024);
    assert_eq!(
        first.pool_store,
        Some(PoolStoreFailure::new(
            "team",
            PoolStoreFailureKind::Contention,
            "pool `team` changed under us 1024 times in a row; giving up",
        ))
    );
    assert_eq!(
        serde_json::to_value(&first.pool_store).unwrap()["kind"],
        "contention"
    );
    let second = route(&r, 1);
    assert_eq!(
        (first.decision.owner_id(), second.decision.owner_id()),
        (Some("ana"), Some("bob"))
    );
}

#[test]
fn a_replay_during_an_outage_repeats_the_local_assignment() {
    let r = router(team([1, 1]), Mode::Down);
    let mut input = LeadInput::from_email("jo@acme.com");
    input.lead_id = Some("s-1".into());
    let a = pollster::block_on(r.route(input.clone())).unwrap();
    let b = route(&r, 1);
    let again = pollster::block_on(r.route(input)).unwrap();
    assert_eq!(
        [
            a.decision.owner_id(),
            b.decision.owner_id(),
            again.decision.owner_id()
        ],
        [Some("ana"), Some("bob"), Some("ana")]
    );
    assert!(again.decision.pool_step().unwrap().is_replay());
    // The replay did not advance the local rotation.
    assert_eq!(route(&r, 2).decision.owner_id(), Some("ana"));
}

#[test]
fn a_hung_store_is_cut_off_by_the_pool_budget_and_rotates_locally() {
    // No budget set: the default applies (ManualClock's sleep ends at once,
    // so a store call that is not ready on its first poll runs out).
    let r = router(team([1, 1]), Mode::Hung);
    let routed: Vec<Routed> = (0..4).map(|i| route(&r, i)).collect();
    let owners: Vec<&str> = routed
        .iter()
        .map(|x| x.decision.owner_id().unwrap())
        .collect();
    assert_eq!(owners, ["ana", "bob", "ana", "bob"]);
    let failure = routed[0].pool_store.clone().unwrap();
    assert_eq!(
        (failure.pool.as_str(), failure.kind),
        ("team", PoolStoreFailureKind::TimedOut)
    );
    assert_eq!(
        failure.message,
        "the pool store did not answer within 1000 ms"
    );
    assert_eq!(
        routed[0].decision.trace.events.last(),
        Some(&TraceEvent::PoolStoreUnavailable { pool: 0 })
    );
    assert_eq!(serde_json::to_value(&failure).unwrap()["kind"], "timed_out");
    // A longer budget is the caller's to choose.
    let patient =
        router(team([1, 1]), Mode::Hung).with_pool_budget(std::time::Duration::from_secs(5));
    let x = route(&patient, 0);
    assert!(x.pool_store.unwrap().message.ends_with("within 5000 ms"));
}
