//! Open-lead counts as an input: the `LoadSource` adapter and its in-memory
//! implementation, the owners a policy reads counts for, and what a pool that
//! reads counts does without them (rotation, no caps, said in the trace).

use leadroute::crm::LookupStatus;
use leadroute::decision::TraceEvent;
use leadroute::policy::spec::{ActionSpec, Distribution, OwnerSpec, PoolSpec};
use leadroute::policy::{Reassign, ReassignReason};
use leadroute::pool::LoadError;
use leadroute::pool::{
    InMemoryOpenLeads, InMemoryPoolStore, LoadSource, MAX_LOAD_OWNERS, OpenLeadCounts, OpenLeads,
};
use leadroute::router::decide_and_record;
use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
use leadroute::{Facts, Lead, LeadInput, LeadRouter, Normalizer, Policy, PolicySpec, compile};
use proptest::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

fn lead() -> Lead {
    Normalizer::default()
        .normalize(&LeadInput::from_email("cto@acme.com"))
        .unwrap()
        .lead
}

fn team(distribution: Distribution, weights: &[u32], max_open: Option<u32>) -> Policy {
    let mut pool = PoolSpec::new("team").distribution(distribution);
    if let Some(max) = max_open {
        pool = pool.max_open(max);
    }
    let mut spec = PolicySpec::new("p", "1").owner(OwnerSpec::new("queue", "Queue"));
    for (i, w) in weights.iter().enumerate() {
        let id = format!("m{i}");
        spec = spec.owner(OwnerSpec::new(&id, &id));
        pool = pool.member(id, *w);
    }
    compile(&spec.pool(pool).fallback(ActionSpec::pool("team"))).unwrap()
}

fn unknown(d: &leadroute::RouteDecision) -> bool {
    d.trace
        .events
        .iter()
        .any(|e| matches!(e, TraceEvent::OpenLeadsUnknown { pool: 0 }))
}

#[test]
fn without_counts_a_least_loaded_pool_rotates_and_says_so() {
    let p = team(Distribution::LeastLoaded, &[1, 1], None);
    let store = InMemoryPoolStore::new();
    let owners: Vec<String> = (0..4)
        .map(|_| {
            let d = pollster::block_on(decide_and_record(&p, &lead(), &Facts::at_unix(0), &store))
                .unwrap();
            assert!(unknown(&d), "{:?}", d.trace);
            assert!(
                !d.trace
                    .events
                    .iter()
                    .any(|e| matches!(e, TraceEvent::PoolLoad { .. })),
                "no load claimed without counts"
            );
            d.owner_id().unwrap().to_owned()
        })
        .collect();
    assert_eq!(owners, ["m0", "m1", "m0", "m1"]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0));
    let text = p.explain(&d).to_string();
    assert!(
        text.contains(
            "pool `team`: no open-lead counts (none given, or the load source failed); choosing by rotation, open-lead caps not applied"
        ),
        "{text}"
    );
    assert!(
        text.contains("m0 chosen: highest rotation counter"),
        "{text}"
    );
    // With counts the note is gone and the load explains the choice.
    let counts = OpenLeadCounts::new([("m0", 4), ("m1", 2)]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&counts));
    assert!(!unknown(&d));
    assert_eq!(d.owner_id(), Some("m1"));
    assert!(
        p.explain(&d)
            .to_string()
            .contains("m1 chosen: 2 open leads, fewest among 2 eligible")
    );
}

#[test]
fn without_counts_open_lead_caps_are_not_applied() {
    let p = team(Distribution::RoundRobin, &[1], Some(2));
    let d = p.evaluate(&lead(), &Facts::at_unix(0));
    assert_eq!(d.owner_id(), Some("m0"));
    assert!(unknown(&d));
    // With counts the cap holds: nobody eligible, no pool fallback, the
    // policy fallback (the same pool) cannot assign.
    let counts = OpenLeadCounts::new([("m0", 2)]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&counts));
    assert_eq!(d.owner_id(), None);
    assert!(!unknown(&d));
}

#[test]
fn a_pool_that_reads_no_counts_says_nothing_about_them() {
    let p = team(Distribution::RoundRobin, &[1, 1], None);
    let d = p.evaluate(&lead(), &Facts::at_unix(0));
    assert!(!unknown(&d));
    assert!(p.load_owners().is_empty());
}

#[test]
fn in_memory_counts_feed_evaluation_and_answer_as_a_load_source() {
    let p = team(Distribution::LeastLoaded, &[1, 1, 1], None);
    let open = InMemoryOpenLeads::new();
    open.set("m0", 5);
    open.set("m1", 1);
    open.set("m2", 3);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&open));
    assert_eq!(d.owner_id(), Some("m1"));
    // The assignment raises m1's count; the next lead sees it.
    open.add("m1", 3);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&open));
    assert_eq!(d.owner_id(), Some("m2"));
    // As a load source it answers for the owners asked, once each.
    let owners = p.load_owners();
    assert_eq!(owners, ["m0", "m1", "m2"]);
    let answer = pollster::block_on(open.open_lead_counts(&owners[..2])).unwrap();
    assert_eq!(answer, OpenLeadCounts::new([("m0", 5), ("m1", 4)]));
    assert!(answer.is_known());
    assert_eq!(open.snapshot().len(), 3);
    // Counts never go below zero.
    open.add("m2", -10);
    assert_eq!(OpenLeads::open_leads(&open, "m2"), Some(0));
    // Fixed counts are a source too, answering only for the owners asked.
    let fixed = OpenLeadCounts::new([("m0", 1), ("zed", 9)]);
    let answer = pollster::block_on(fixed.open_lead_counts(&["m0", "m1"])).unwrap();
    assert_eq!(answer, OpenLeadCounts::new([("m0", 1)]));
}

#[test]
fn load_owners_are_bounded_and_deduplicated() {
    // 20 least-loaded pools of 256 members (every pool after the first also
    // lists `o0`): 5,101 owners, more than one request is asked about.
    let mut spec = PolicySpec::new("big", "1");
    for i in 0..20 * 256 {
        spec = spec.owner(OwnerSpec::new(format!("o{i}"), ""));
    }
    let mut expected: Vec<String> = Vec::new();
    for p in 0..20 {
        let mut pool = PoolSpec::new(format!("p{p}")).distribution(Distribution::LeastLoaded);
        let first = if p == 0 { 0 } else { 1 };
        for m in first..256 {
            let id = format!("o{}", p * 256 + m);
            expected.push(id.clone());
            pool = pool.member(id, 1);
        }
        if p > 0 {
            pool = pool.member("o0", 1);
        }
        spec = spec.pool(pool);
    }
    let policy = compile(&spec.fallback(ActionSpec::pool("p0"))).unwrap();
    let owners = policy.load_owners();
    assert!(expected.len() > MAX_LOAD_OWNERS);
    assert_eq!(owners.len(), MAX_LOAD_OWNERS);
    assert_eq!(owners, expected[..MAX_LOAD_OWNERS]);
    assert_eq!(owners.iter().filter(|o| **o == "o0").count(), 1);
}

// ------------------------------------------------------------ the router

/// A load source that counts its calls and fails, hangs or answers from
/// fixed counts.
struct Scripted {
    calls: AtomicU32,
    asked: std::sync::Mutex<Vec<String>>,
    mode: Mode,
}

enum Mode {
    Answer(OpenLeadCounts),
    Fail,
    Hang,
}

impl Scripted {
    fn new(mode: Mode) -> Arc<Self> {
        Arc::new(Scripted {
            calls: AtomicU32::new(0),
            asked: std::sync::Mutex::new(Vec::new()),
            mode,
        })
    }
}

impl LoadSource for Scripted {
    async fn open_lead_counts(&self, owners: &[&str]) -> Result<OpenLeadCounts, LoadError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.asked.lock().unwrap() = owners.iter().map(|o| (*o).to_owned()).collect();
        match &self.mode {
            Mode::Answer(counts) => Ok(counts.clone()),
            Mode::Fail => Err(LoadError::new("CRM search returned 503")),
            Mode::Hang => std::future::pending().await,
        }
    }
}

fn router(
    policy: Policy,
    source: Arc<Scripted>,
) -> LeadRouter<InMemoryCrm, RecordingSink, InMemoryPoolStore, ManualClock> {
    LeadRouter::new(policy, InMemoryCrm::new(), RecordingSink::new())
        .with_clock(ManualClock::at_unix(1_800_000_000))
        .with_load_source(source)
}

fn route(
    r: &LeadRouter<InMemoryCrm, RecordingSink, InMemoryPoolStore, ManualClock>,
    email: &str,
) -> leadroute::router::Routed {
    pollster::block_on(r.route(LeadInput::from_email(email))).unwrap()
}

#[test]
fn the_router_asks_the_load_source_for_the_pools_members_and_uses_the_counts() {
    let counts = OpenLeadCounts::new([("m0", 6), ("m1", 2), ("m2", 4)]);
    let source = Scripted::new(Mode::Answer(counts.clone()));
    let r = router(
        team(Distribution::LeastLoaded, &[1, 1, 1], None),
        source.clone(),
    );
    let routed = route(&r, "a@acme.com");
    assert_eq!(routed.decision.owner_id(), Some("m1"));
    assert_eq!(routed.lookups.open_leads, LookupStatus::Found);
    assert_eq!(routed.lookups.open_lead_counts.as_ref(), Some(&counts));
    assert_eq!(routed.lookups.open_leads_error, None);
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    assert_eq!(*source.asked.lock().unwrap(), ["m0", "m1", "m2"]);
    assert!(!unknown(&routed.decision));
    let text = r.policy().explain(&routed.decision).to_string();
    assert!(
        text.contains("m1 chosen: 2 open leads, fewest among 3 eligible"),
        "{text}"
    );
    // The report's JSON carries the lookup and reads back the same.
    let json = serde_json::to_value(&routed).unwrap();
    assert_eq!(json["lookups"]["open_leads"], "found");
    assert_eq!(json["lookups"]["open_lead_counts"]["m1"], 2);
    let back: leadroute::router::Routed = serde_json::from_value(json).unwrap();
    assert_eq!(back, routed);
}

#[test]
fn a_failing_load_source_degrades_to_rotation_and_the_trace_says_so() {
    let source = Scripted::new(Mode::Fail);
    let r = router(
        team(Distribution::LeastLoaded, &[1, 1], Some(1)),
        source.clone(),
    );
    let owners: Vec<String> = (0..4)
        .map(|i| {
            let routed = route(&r, &format!("lead{i}@acme.com"));
            assert_eq!(routed.lookups.open_leads, LookupStatus::Failed);
            assert_eq!(
                routed
                    .lookups
                    .open_leads_error
                    .as_ref()
                    .map(|e| e.message.as_str()),
                Some("CRM search returned 503")
            );
            assert!(unknown(&routed.decision), "{:?}", routed.decision.trace);
            routed.decision.owner_id().unwrap().to_owned()
        })
        .collect();
    // Rotation, and the cap of 1 open lead not applied without counts.
    assert_eq!(owners, ["m0", "m1", "m0", "m1"]);
    assert_eq!(source.calls.load(Ordering::SeqCst), 4);
    let routed = route(&r, "again@acme.com");
    let text = r.policy().explain(&routed.decision).to_string();
    assert!(
        text.contains(
            "no open-lead counts (none given, or the load source failed); choosing by rotation"
        ),
        "{text}"
    );
}

#[test]
fn a_load_source_out_of_budget_times_out_and_the_lead_is_still_routed() {
    // The manual clock's sleep completes at once: a source not ready on its
    // first poll is out of budget.
    let source = Scripted::new(Mode::Hang);
    let r = router(team(Distribution::LeastLoaded, &[1, 1], None), source);
    let routed = route(&r, "a@acme.com");
    assert_eq!(routed.lookups.open_leads, LookupStatus::TimedOut);
    assert_eq!(routed.decision.owner_id(), Some("m0"));
    assert!(unknown(&routed.decision));
}

#[test]
fn the_router_asks_nothing_when_no_pool_reads_counts() {
    let source = Scripted::new(Mode::Fail);
    let r = router(
        team(Distribution::RoundRobin, &[1, 1], None),
        source.clone(),
    );
    let routed = route(&r, "a@acme.com");
    assert_eq!(routed.lookups.open_leads, LookupStatus::Skipped);
    assert_eq!(source.calls.load(Ordering::SeqCst), 0);
    assert!(!unknown(&routed.decision));
    // Nor without a source: skipped, and the pool says it had no counts.
    let r = LeadRouter::new(
        team(Distribution::LeastLoaded, &[1], None),
        InMemoryCrm::new(),
        RecordingSink::new(),
    )
    .with_clock(ManualClock::at_unix(1_800_000_000));
    let routed = pollster::block_on(r.route(LeadInput::from_email("a@acme.com"))).unwrap();
    assert_eq!(routed.lookups.open_leads, LookupStatus::Skipped);
    assert!(unknown(&routed.decision));
}

#[test]
fn reassignment_through_the_router_reads_counts_too() {
    let counts = OpenLeadCounts::new([("m0", 1), ("m1", 5), ("m2", 3)]);
    let source = Scripted::new(Mode::Answer(counts));
    let r = router(
        team(Distribution::LeastLoaded, &[1, 1, 1], None),
        source.clone(),
    );
    let routed = route(&r, "a@acme.com");
    assert_eq!(routed.decision.owner_id(), Some("m0"));
    let ask = Reassign::new(ReassignReason::Rejected);
    let again = pollster::block_on(r.reassign(&routed.lead, &[routed.decision], None, &ask));
    // Never m0 again; of the others m2 has fewer open leads.
    assert_eq!(again.reassignment.decision.owner_id(), Some("m2"));
    assert_eq!(source.calls.load(Ordering::SeqCst), 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Without counts a least-loaded pool (with or without caps) assigns
    /// exactly the sequence the same pool gives by round robin.
    #[test]
    fn without_counts_least_loaded_is_round_robin(
        weights in proptest::collection::vec(1u32..5, 1..6),
        cap in proptest::option::of(1u32..3),
        leads in 1usize..24,
    ) {
        let ll = team(Distribution::LeastLoaded, &weights, cap);
        let rr = team(Distribution::RoundRobin, &weights, None);
        let (s1, s2) = (InMemoryPoolStore::new(), InMemoryPoolStore::new());
        for _ in 0..leads {
            let a = pollster::block_on(decide_and_record(&ll, &lead(), &Facts::at_unix(0), &s1)).unwrap();
            let b = pollster::block_on(decide_and_record(&rr, &lead(), &Facts::at_unix(0), &s2)).unwrap();
            prop_assert_eq!(a.owner_id(), b.owner_id());
            prop_assert!(unknown(&a));
        }
    }
}
