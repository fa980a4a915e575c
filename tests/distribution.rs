//! Least-loaded distribution, open-lead caps, and reassignment that never
//! returns an earlier assignee; property tests for reassignment and SLA
//! deadlines.

use std::time::{Duration, SystemTime};

use leadroute::decision::{TraceEvent, Unavailable};
use leadroute::policy::spec::{ActionSpec, Distribution, OwnerSpec, PoolSpec, ScheduleSpec};
use leadroute::policy::{Reassign, ReassignReason};
use leadroute::pool::{AwayList, OpenLeadCounts, PoolStates, SkipReason};
use leadroute::{Facts, Lead, LeadInput, Normalizer, Policy, PolicySpec, compile};
use proptest::prelude::*;

fn lead() -> Lead {
    Normalizer::default()
        .normalize(&LeadInput::from_email("cto@acme.com"))
        .unwrap()
        .lead
}

fn least_loaded(weights: &[(&str, u32)]) -> Policy {
    let mut pool = PoolSpec::new("team").distribution(Distribution::LeastLoaded);
    let mut spec = PolicySpec::new("p", "1");
    for (id, w) in weights {
        spec = spec.owner(OwnerSpec::new(*id, *id));
        pool = pool.member(*id, *w);
    }
    compile(&spec.pool(pool).fallback(ActionSpec::pool("team"))).unwrap()
}

#[test]
fn least_loaded_picks_the_fewest_open_leads_and_explains_it() {
    let p = least_loaded(&[("bob", 1), ("ana", 1), ("cara", 1), ("dan", 1)]);
    let counts = OpenLeadCounts::new([("ana", 3), ("bob", 5), ("cara", 4), ("dan", 7)]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&counts));
    assert_eq!(d.owner_id(), Some("ana"));
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("pool `team`: ana chosen: 3 open leads, fewest among 4 eligible"),
        "{text}"
    );
    assert!(text.contains("bob skipped: more open leads (5)"), "{text}");
    assert!(d.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::PoolLoad {
            open: 3,
            eligible: 4,
            ..
        }
    )));
}

#[test]
fn least_loaded_weighs_counts_and_breaks_ties_by_rotation() {
    // bob (weight 2) with 5 open is lighter than ana (weight 1) with 3.
    let p = least_loaded(&[("ana", 1), ("bob", 2)]);
    let counts = OpenLeadCounts::new([("ana", 3), ("bob", 5)]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&counts));
    assert_eq!(d.owner_id(), Some("bob"));
    // With equal loads the rotation decides, so ties spread evenly.
    let p = least_loaded(&[("ana", 1), ("bob", 1), ("cara", 1)]);
    let mut states = PoolStates::new();
    let mut owners = Vec::new();
    for _ in 0..6 {
        let d = p.evaluate(&lead(), &Facts::at_unix(0).pools(&states));
        let step = d.pool_step().unwrap();
        let mut s = states.get("team").cloned().unwrap_or_default();
        step.apply(&mut s).unwrap();
        states.insert("team", s);
        owners.push(d.owner_id().unwrap().to_owned());
    }
    assert_eq!(owners, ["ana", "bob", "cara", "ana", "bob", "cara"]);
}

#[test]
fn open_lead_caps_skip_full_members_in_any_distribution() {
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("bob", "Bob"))
        .owner(OwnerSpec::new("queue", "Queue"))
        .pool(
            PoolSpec::new("team")
                .member("ana", 3)
                .member("bob", 1)
                .max_open(4)
                .fallback(leadroute::policy::spec::Target::Owner("queue".into())),
        )
        .fallback(ActionSpec::pool("team"));
    let p = compile(&spec).unwrap();
    let counts = OpenLeadCounts::new([("ana", 4), ("bob", 2)]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&counts));
    assert_eq!(d.owner_id(), Some("bob"));
    assert!(
        p.explain(&d)
            .to_string()
            .contains("ana skipped: at the open-lead cap (4/4)")
    );
    let counts = OpenLeadCounts::new([("ana", 9), ("bob", 4)]);
    let d = p.evaluate(&lead(), &Facts::at_unix(0).open_leads(&counts));
    assert_eq!(d.owner_id(), Some("queue"));
}

// ---------------------------------------------------------- reassignment

const REASSIGN: &str = r#"
name = "p"
version = "1"
owners = [{ id = "acct" }, { id = "ana" }, { id = "bob" }, { id = "queue" }]
[[pools]]
id = "team"
members = [{ owner = "ana" }, { owner = "bob" }]
[[rules]]
id = "existing"
when = { account = { has_owner = true } }
then = { assign = "account_owner", if_unavailable = { assign = { pool = "team" } }, sla_minutes = 10 }
[fallback]
assign = { owner = "queue" }
"#;

#[test]
fn reassignment_walks_past_every_earlier_assignee_with_reasons_in_the_trace() {
    let p = Policy::from_toml_str(REASSIGN).unwrap();
    let account = leadroute::crm::Account::new("001", "Acme").owner("acct");
    let facts = Facts::at_unix(1_800_000_000).account(&account);
    let first = p.evaluate(&lead(), &facts);
    assert_eq!(first.owner_id(), Some("acct"));
    let ask = Reassign::new(ReassignReason::Rejected);
    let second = p.reassign(&lead(), &facts, std::slice::from_ref(&first), &ask);
    assert_eq!(second.decision.owner_id(), Some("ana"));
    assert_eq!(second.previous.as_deref(), Some("acct"));
    assert!(
        second
            .decision
            .trace
            .events
            .contains(&TraceEvent::Unavailable {
                rule: Some(0),
                reason: Unavailable::EarlierAssignee
            })
    );
    let text = p.explain(&second.decision).to_string();
    assert!(
        text.contains("rule `existing` could not assign: earlier_assignee"),
        "{text}"
    );
    // The new owner's SLA starts again.
    assert_eq!(
        second.decision.sla_due,
        Some(facts.now + Duration::from_secs(600))
    );
    let third = p.reassign(
        &lead(),
        &facts,
        &[first.clone(), second.decision.clone()],
        &ask,
    );
    assert_eq!(third.decision.owner_id(), Some("bob"));
    assert!(
        p.explain(&third.decision)
            .to_string()
            .contains("ana skipped: had this lead before")
    );
    let fourth = p.reassign(
        &lead(),
        &facts,
        &[
            first.clone(),
            second.decision.clone(),
            third.decision.clone(),
        ],
        &ask,
    );
    // The pool is exhausted, the rule falls through to the fallback.
    assert_eq!(fourth.decision.owner_id(), Some("queue"));
    let fifth = p.reassign(
        &lead(),
        &facts,
        &[first, second.decision, third.decision, fourth.decision],
        &ask.clone().away_for(Duration::from_secs(3600)),
    );
    assert_eq!(fifth.decision.owner_id(), None);
    assert_eq!(
        fifth.away,
        Some(("queue".into(), facts.now + Duration::from_secs(3600)))
    );
}

fn arb_pool() -> impl Strategy<Value = (usize, Vec<bool>, Vec<bool>, Vec<u32>)> {
    (2usize..7).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(1u32..5, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Reassignment never returns an earlier assignee, and finds someone
    /// whenever an eligible member is left.
    #[test]
    fn reassignment_never_returns_an_earlier_assignee(
        (n, earlier, away, weights) in arb_pool(),
        least in any::<bool>(),
    ) {
        let ids: Vec<String> = (0..n).map(|i| format!("rep{i}")).collect();
        let mut pool = PoolSpec::new("team");
        if least {
            pool = pool.distribution(Distribution::LeastLoaded);
        }
        let mut spec = PolicySpec::new("p", "1");
        for (id, w) in ids.iter().zip(&weights) {
            spec = spec.owner(OwnerSpec::new(id, id));
            pool = pool.member(id, *w);
        }
        let p = compile(&spec.pool(pool).fallback(ActionSpec::pool("team"))).unwrap();
        let away_list = AwayList::new(ids.iter().zip(&away).filter(|(_, a)| **a).map(|(i, _)| i.clone()));
        let facts = Facts::at_unix(1_800_000_000).availability(&away_list);
        // Earlier decisions: one per excluded member, as a real history would hold.
        let earlier: Vec<_> = ids
            .iter()
            .zip(&earlier)
            .filter(|(_, e)| **e)
            .map(|(id, _)| {
                let one = PolicySpec::new("p", "1").owner(OwnerSpec::new(id, id)).fallback(ActionSpec::owner(id));
                compile(&one).unwrap().evaluate(&lead(), &facts)
            })
            .collect();
        let earlier_ids: Vec<&str> = earlier.iter().filter_map(|d| d.owner_id()).collect();
        let out = p.reassign(&lead(), &facts, &earlier, &Reassign::new(ReassignReason::SlaMissed));
        if let Some(owner) = out.decision.owner_id() {
            prop_assert!(!earlier_ids.contains(&owner), "{owner} was an earlier assignee");
            prop_assert!(!away_list.contains(owner));
        }
        let someone_left = ids.iter().any(|id| !earlier_ids.contains(&id.as_str()) && !away_list.contains(id));
        prop_assert_eq!(out.decision.owner.is_some(), someone_left);
    }

    /// An SLA deadline is never earlier than the start plus the SLA, and a
    /// schedule open around the clock gives exactly that.
    #[test]
    fn sla_deadline_is_never_earlier_than_now_plus_the_sla(
        zone in prop::sample::select(vec![
            "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata",
            "America/Sao_Paulo", "Pacific/Chatham", "UTC",
        ]),
        start_h in 0u16..23, len_h in 1u16..12, extra in 0u16..60,
        secs in 1_700_000_000u64..1_900_000_000, minutes in 0u32..5_000,
    ) {
        let end = (start_h * 60 + len_h * 60 + extra).min(24 * 60);
        let block = format!(
            "{:02}:{:02}-{:02}:{:02}", start_h, 0, end / 60, end % 60
        );
        let spec = PolicySpec::new("p", "1")
            .schedule(ScheduleSpec::new("s", zone).weekdays([block.as_str()]).holiday("2027-01-01"))
            .schedule(ScheduleSpec::new("always", zone))
            .owner(OwnerSpec::new("a", "A").schedule("s"))
            .fallback(ActionSpec::owner("a"));
        let mut spec = spec;
        spec.schedules[1].hours.weekdays = vec!["00:00-24:00".into()];
        spec.schedules[1].hours.sat = vec!["00:00-24:00".into()];
        spec.schedules[1].hours.sun = vec!["00:00-24:00".into()];
        let p = compile(&spec).unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        let floor = now + Duration::from_secs(u64::from(minutes) * 60);
        let due = p.schedule("s").unwrap().deadline(now, minutes).unwrap();
        prop_assert!(due >= floor, "{due:?} < {floor:?}");
        // The deadline is inside (or at the end of) an open block.
        if minutes > 0 {
            prop_assert!(p.schedule("s").unwrap().is_open(due - Duration::from_secs(1)));
        }
        let always = p.schedule("always").unwrap().deadline(now, minutes).unwrap();
        prop_assert_eq!(always, floor);
    }
}

#[test]
fn off_shift_members_are_skipped_but_a_24_7_pool_ignores_schedules() {
    let spec = PolicySpec::new("p", "1")
        .schedule(ScheduleSpec::new("days", "UTC").weekdays(["09:00-17:00"]))
        .owner(OwnerSpec::new("ana", "Ana").schedule("days"))
        .owner(OwnerSpec::new("bob", "Bob"))
        .pool(PoolSpec::new("team").member("ana", 10).member("bob", 1))
        .pool(
            PoolSpec::new("all-day")
                .member("ana", 10)
                .member("bob", 1)
                .respect_schedules(false),
        )
        .rule(
            "night",
            leadroute::policy::spec::Condition::OutsideSchedule("days".into()),
            ActionSpec::pool("all-day"),
        )
        .fallback(ActionSpec::pool("team"));
    let p = compile(&spec).unwrap();
    // Monday 1970-01-05 20:00 UTC: ana is off, but the 24/7 pool takes her.
    let night = Facts::at_unix(4 * 86_400 + 20 * 3600);
    assert_eq!(p.evaluate(&lead(), &night).owner_id(), Some("ana"));
    // Saturday 10:00 is outside too.
    let saturday = Facts::at_unix(9 * 86_400 + 10 * 3600);
    assert_eq!(
        p.evaluate(&lead(), &saturday).rule.as_deref(),
        Some("night")
    );
    // The built-in availability skips her in pools that respect schedules.
    let mut spec2 = spec.clone();
    spec2.rules.clear();
    let p2 = compile(&spec2).unwrap();
    let d = p2.evaluate(&lead(), &night);
    assert_eq!(d.owner_id(), Some("bob"));
    assert!(d.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::PoolSkip {
            member: 0,
            reason: SkipReason::OffShift,
            ..
        }
    )));
}

// ------------------------------------------------------------- the router

fn team_router(
    credit: bool,
) -> (
    leadroute::LeadRouter<
        leadroute::testing::InMemoryCrm,
        leadroute::testing::RecordingSink,
        leadroute::pool::InMemoryPoolStore,
        leadroute::testing::ManualClock,
    >,
    Reassign,
) {
    let policy = Policy::from_json_str(
        r#"{"name": "p", "version": "1",
        "owners": [{"id": "ana"}, {"id": "bob"}],
        "pools": [{"id": "team", "members": [{"owner": "ana"}, {"owner": "bob"}]}],
        "fallback": {"assign": {"pool": "team"}, "sla_minutes": 5}}"#,
    )
    .unwrap();
    let router = leadroute::LeadRouter::new(
        policy,
        leadroute::testing::InMemoryCrm::new(),
        leadroute::testing::RecordingSink::new(),
    )
    .with_clock(leadroute::testing::ManualClock::at_unix(1_800_000_000));
    let ask = Reassign::new(ReassignReason::SlaMissed)
        .away_for(Duration::from_secs(3600))
        .credit_back(credit);
    (router, ask)
}

#[test]
fn the_router_reassigns_emits_events_writes_the_crm_and_gives_the_turn_back() {
    let (router, ask) = team_router(true);
    let route = |email: &str| {
        router.clock().advance(Duration::from_secs(1));
        pollster::block_on(router.route(LeadInput::from_email(email))).unwrap()
    };
    let first = route("a@acme.com");
    assert_eq!(first.decision.owner_id(), Some("ana"));
    router.clock().advance(Duration::from_secs(600));
    let record = first.write.receipt().map(|r| r.record_id.clone());
    let again = pollster::block_on(router.reassign(
        &first.lead,
        std::slice::from_ref(&first.decision),
        record.as_deref(),
        &ask,
    ));
    assert_eq!(again.reassignment.decision.owner_id(), Some("bob"));
    assert!(again.credited);
    // The CRM record now belongs to bob: updated, not duplicated.
    let records = router.crm().records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].owner.as_deref(), Some("bob"));
    assert_eq!(records[0].writes, 2);
    // The events: the breach, then the reassignment, then the write.
    let events = router.events().events();
    let names: Vec<_> = events.iter().map(|e| e.name()).collect();
    assert_eq!(
        &names[names.len() - 3..],
        ["sla_breached", "owner_reassigned", "crm_write_success"]
    );
    let breach = serde_json::to_value(&events[names.len() - 3]).unwrap();
    assert_eq!(breach["owner"], "ana");
    assert_eq!(breach["sla_minutes"], 5);
    assert_eq!(breach["due_ms"], 1_800_000_001_000u64 + 5 * 60 * 1000);
    let moved = serde_json::to_value(&events[names.len() - 2]).unwrap();
    assert_eq!(moved["from"], "ana");
    assert_eq!(moved["to"], "bob");
    assert_eq!(moved["reason"], "sla_missed");
    assert_eq!(moved["away_until_ms"], 1_800_000_601_000u64 + 3_600_000);
    // Ana is away for an hour: the next lead goes to bob anyway...
    assert_eq!(route("b@acme.com").decision.owner_id(), Some("bob"));
    // ...and once she is back she has her turn (the credit): ana, not bob.
    router.clock().advance(Duration::from_secs(3600));
    assert_eq!(route("c@acme.com").decision.owner_id(), Some("ana"));
}

#[test]
fn without_credit_the_member_who_lost_the_lead_loses_its_turn() {
    let (router, ask) = team_router(false);
    let route = |email: &str| {
        router.clock().advance(Duration::from_secs(1));
        pollster::block_on(router.route(LeadInput::from_email(email))).unwrap()
    };
    let first = route("a@acme.com");
    let again = pollster::block_on(router.reassign(
        &first.lead,
        std::slice::from_ref(&first.decision),
        None,
        &ask.away_for(Duration::ZERO),
    ));
    assert!(!again.credited);
    assert_eq!(again.reassignment.decision.owner_id(), Some("bob"));
    // bob: his own lead back from ana, then the next one too.
    assert_eq!(route("b@acme.com").decision.owner_id(), Some("bob"));
}
