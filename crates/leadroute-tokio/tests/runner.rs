//! The retry runner on a real tokio runtime: it delivers queued writes,
//! and a stop waits for the writes in flight.

use std::sync::Arc;
use std::time::Duration;

use leadroute::crm::CrmError;
use leadroute::outbox::{InMemoryOutbox, RetryPolicy};
use leadroute::policy::spec::{ActionSpec, OwnerSpec};
use leadroute::testing::{InMemoryCrm, Method, RecordingSink};
use leadroute::{LeadInput, LeadRouter, PolicySpec, compile};
use leadroute_tokio::{RetryRunner, TokioClock, worker_id};

type Router = LeadRouter<
    InMemoryCrm,
    RecordingSink,
    leadroute::pool::InMemoryPoolStore,
    TokioClock,
    InMemoryOutbox,
>;

fn router() -> Arc<Router> {
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("q", "Queue"))
        .fallback(ActionSpec::owner("q"));
    Arc::new(
        LeadRouter::new(
            compile(&spec).unwrap(),
            InMemoryCrm::new(),
            RecordingSink::new(),
        )
        .with_clock(TokioClock)
        .with_outbox(InMemoryOutbox::new())
        .with_retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(10))
                .with_jitter(0.0),
        ),
    )
}

fn lead(i: usize) -> LeadInput {
    let mut input = LeadInput::from_email(format!("b{i}@c{i}.com"));
    input.lead_id = Some(format!("lead-{i}"));
    input
}

/// Waits (bounded) until `done` holds.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_delivers_every_queued_write() {
    let r = router();
    r.crm()
        .fail_next(Method::UpsertLead, 20, CrmError::transient("503"));
    for i in 0..20 {
        let routed = r.route(lead(i)).await.unwrap();
        assert!(routed.write.queued().is_some(), "lead {i}");
    }
    let runner = RetryRunner::new()
        .with_interval(Duration::from_millis(5))
        .spawn(r.clone());
    until(|| r.crm().records().len() == 20).await;
    let report = runner.stop().await;
    assert_eq!(report.totals.written, 20);
    assert_eq!(report.totals.dead_lettered, 0);
    assert_eq!(report.claim_errors, 0);
    assert!(report.drains >= 1);
    assert!(r.outbox().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_waits_for_the_writes_in_flight() {
    let r = router();
    r.crm()
        .fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
    let routed = r.route(lead(1)).await.unwrap();
    assert!(routed.write.queued().is_some());
    // The retry will take 300 ms of real time.
    r.crm()
        .delay_next(Method::UpsertLead, 1, Duration::from_millis(300));
    let runner = RetryRunner::new()
        .with_interval(Duration::from_millis(5))
        .spawn(r.clone());
    // Wait until the retry is in flight, then stop.
    until(|| r.crm().calls(Method::UpsertLead) == 2).await;
    assert!(r.crm().records().is_empty());
    let report = runner.stop().await;
    assert_eq!(report.totals.written, 1, "the in-flight write finished");
    assert_eq!(r.crm().records().len(), 1);
    assert!(
        r.outbox().unwrap().is_empty(),
        "and was reported to the outbox"
    );
}

#[test]
fn worker_ids_differ_within_a_process() {
    let (a, b) = (worker_id(), worker_id());
    assert_ne!(a, b);
    assert!(a.starts_with(&format!("leadroute-{}-", std::process::id())));
}
