//! Reconfiguring a running router: a new policy or availability source takes
//! effect for the routes that start afterwards, routes under way finish with
//! what they started with, and pool rotation carries on.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use leadroute::crm::{Account, Contact, CrmError, LeadWrite, WriteReceipt};
use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
use leadroute::pool::{AllAvailable, AwayList, InMemoryPoolStore};
use leadroute::router::Routed;
use leadroute::testing::{InMemoryCrm, RecordingSink};
use leadroute::{Clock, Crm, LeadInput, LeadRouter, Policy, PolicySpec, compile};

/// A CRM whose person lookup waits while the gate is closed, so a test can
/// hold a route in flight.
#[derive(Debug, Default)]
struct GatedCrm {
    inner: InMemoryCrm,
    closed: AtomicBool,
}

impl Crm for GatedCrm {
    fn find_account(
        &self,
        domain: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send {
        self.inner.find_account(domain)
    }
    fn find_person(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<Contact>, CrmError>> + Send {
        let found = self.inner.find_person(email);
        async move {
            std::future::poll_fn(|_| {
                if self.closed.load(Ordering::SeqCst) {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
            .await;
            found.await
        }
    }
    fn upsert_lead(
        &self,
        write: &LeadWrite<'_>,
    ) -> impl Future<Output = Result<WriteReceipt, CrmError>> + Send {
        self.inner.upsert_lead(write)
    }
}

/// A clock that stands still and whose timers never fire, so the gated
/// lookup is not cut short by its budget.
#[derive(Debug)]
struct StillClock;

impl Clock for StillClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000)
    }
    fn sleep(&self, _: Duration) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

type Router = LeadRouter<GatedCrm, RecordingSink, InMemoryPoolStore, StillClock>;

fn policy(version: &str, members: &[&str]) -> Policy {
    let mut spec = PolicySpec::new("team-policy", version);
    let mut pool = PoolSpec::new("team");
    for m in ["ana", "bob", "cleo"] {
        spec = spec.owner(OwnerSpec::new(m, m));
    }
    for m in members {
        pool = pool.member(*m, 1);
    }
    compile(&spec.pool(pool).fallback(ActionSpec::pool("team"))).unwrap()
}

fn router(policy: Policy) -> Arc<Router> {
    Arc::new(
        LeadRouter::new(policy, GatedCrm::default(), RecordingSink::new()).with_clock(StillClock),
    )
}

fn input(i: usize) -> LeadInput {
    LeadInput::from_email(format!("lead{i}@acme{i}.com"))
}

fn route(r: &Router, i: usize) -> Routed {
    pollster::block_on(r.route(input(i))).unwrap()
}

fn summary(r: &Routed) -> (String, String) {
    (
        r.decision.policy_version.to_string(),
        r.decision.owner_id().unwrap().to_owned(),
    )
}

fn pair(version: &str, owner: &str) -> (String, String) {
    (version.to_owned(), owner.to_owned())
}

/// Starts a route, holds it at the person lookup, runs `meanwhile`, then
/// lets it finish.
fn in_flight(r: &Router, i: usize, meanwhile: impl FnOnce()) -> Routed {
    r.crm().closed.store(true, Ordering::SeqCst);
    let mut route = pin!(r.route(input(i)));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        route.as_mut().poll(&mut cx).is_pending(),
        "held at the lookup"
    );
    meanwhile();
    r.crm().closed.store(false, Ordering::SeqCst);
    match route.as_mut().poll(&mut cx) {
        Poll::Ready(routed) => routed.unwrap(),
        Poll::Pending => panic!("the route should have finished"),
    }
}

#[test]
fn a_policy_swap_applies_to_new_routes_and_keeps_the_rotation() {
    let r = router(policy("1", &["ana", "bob"]));
    let first = route(&r, 0);
    // Started under v1, finished after the swap to v2 (which adds cleo).
    let held = in_flight(&r, 1, || {
        let old = r.set_policy(policy("2", &["ana", "bob", "cleo"]));
        assert_eq!(old.version(), "1");
    });
    assert_eq!(r.policy().version(), "2");
    let after: Vec<_> = (2..5).map(|i| summary(&route(&r, i))).collect();
    assert_eq!(summary(&first), pair("1", "ana"));
    assert_eq!(summary(&held), pair("1", "bob"));
    // The rotation went on from the stored state: ana and bob at zero, cleo
    // new at zero, ties to the earlier member.
    assert_eq!(
        after,
        [pair("2", "ana"), pair("2", "bob"), pair("2", "cleo")]
    );
    let state = r.pool_store().get("team");
    assert_eq!(state.version, 5);
    assert_eq!(
        ["ana", "bob", "cleo"].map(|m| state.member(m).assigned),
        [2, 2, 1]
    );
    // The in-flight route's CRM write used its own decision.
    let records = r.crm().inner.records();
    assert_eq!(records[1].owner.as_deref(), Some("bob"));

    // A policy that removes bob: his counters go with the next step.
    r.set_policy(policy("3", &["ana", "cleo"]));
    let next = route(&r, 5);
    assert_eq!(next.decision.policy_version.as_ref(), "3");
    let state = r.pool_store().get("team");
    assert_eq!(state.version, 6);
    assert_eq!(
        state.members.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ana", "cleo"]
    );
}

#[test]
fn an_availability_swap_applies_to_new_routes() {
    let r = router(policy("1", &["ana", "bob"]));
    r.set_availability(AwayList::new(["ana"]));
    let held = in_flight(&r, 0, || r.set_availability(AllAvailable));
    assert_eq!(
        held.decision.owner_id(),
        Some("bob"),
        "ana was away when it started"
    );
    // Everyone is back: ana's turn (she accumulated nothing while away).
    assert_eq!(route(&r, 1).decision.owner_id(), Some("ana"));
    // A source shared with other code, through an `Arc`.
    let shared = Arc::new(AwayList::new(["bob"]));
    r.set_availability(shared.clone());
    assert_eq!(route(&r, 2).decision.owner_id(), Some("ana"));
    assert_eq!(route(&r, 3).decision.owner_id(), Some("ana"));
    assert_eq!(Arc::strong_count(&shared), 2);
}
