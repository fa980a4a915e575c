//! Working hours beyond pool members: an owner a rule names directly and the
//! matched account's (or contact's) owner. By default they keep the lead off
//! shift — ownership is not rotation — and the decision, trace and SLA say
//! so; `check_availability` makes them unavailable so `if_unavailable`
//! applies. Also: the SLA deadline in the explanation.

use std::time::Duration;

use leadroute::crm::Account;
use leadroute::decision::{AssignedBy, Observed, TraceEvent, Unavailable};
use leadroute::policy::DiagnosticCode;
use leadroute::pool::{AwayList, AwayUntil, SkipReason};
use leadroute::{Facts, Lead, LeadInput, Normalizer, Policy, RouteDecision};
use proptest::prelude::*;

#[path = "support/schedules.rs"]
mod support;
use support::{at, local, policy};

/// The lead every test routes: `cto@acme.de`.
fn lead() -> Lead {
    support::lead("cto@acme.de")
}

/// Ana owns accounts and works Berlin weekdays; Kai covers the weekend
/// from a pool; the queue has no hours. `{CHECK}` and `{NEXT}` are filled in
/// by each test.
const TEMPLATE: &str = r#"
name = "owners"
version = "1"
owners = [
  { id = "ana", name = "Ana", schedule = "berlin" },
  { id = "kai", name = "Kai", schedule = "weekend" },
  { id = "queue", name = "Queue" },
]
[[schedules]]
id = "berlin"
timezone = "Europe/Berlin"
hours = { weekdays = ["09:00-17:00"] }
holidays = ["2026-12-24..2026-12-26"]
[[schedules]]
id = "weekend"
timezone = "Europe/Berlin"
hours = { sat = ["08:00-20:00"], sun = ["08:00-20:00"] }
[[pools]]
id = "cover"
members = [{ owner = "kai" }]
[[rules]]
id = "existing-account"
when = { account = { has_owner = true } }
then = { assign = "account_owner", sla_minutes = 15 {CHECK} {NEXT} }
[[rules]]
id = "named"
when = { always = true }
then = { assign = { owner = "ana" }, sla_minutes = 30 {CHECK} }
[fallback]
assign = { owner = "queue" }
sla_minutes = 60
"#;

fn variant(check: bool, next: &str) -> Policy {
    let check = if check {
        ", check_availability = true"
    } else {
        ""
    };
    policy(&TEMPLATE.replace("{CHECK}", check).replace("{NEXT}", next))
}

fn account() -> Account {
    Account::new("001", "Acme").owner("ana")
}

fn off_shift_events(d: &RouteDecision) -> Vec<(u32, Unavailable, Observed)> {
    d.trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::OwnerOffShift {
                owner,
                reason,
                local,
            } => Some((*owner, *reason, *local)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_account_owner_off_shift_keeps_the_lead_and_the_sla_counts_in_their_hours() {
    let p = variant(false, "");
    let saturday = at("Europe/Berlin", "2026-12-05T10:00");
    let account = account();
    let d = p.evaluate(&lead(), &Facts::new(saturday).account(&account));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.assigned_by, AssignedBy::AccountOwner);
    assert_eq!(d.rule.as_deref(), Some("existing-account"));
    assert_eq!(d.owner_unavailable, Some(Unavailable::OffShift));
    let events = off_shift_events(&d);
    assert_eq!(events.len(), 1, "{:?}", d.trace);
    assert_eq!(events[0].1, Unavailable::OffShift);
    assert_eq!(events[0].2.to_string(), "\"Sat 10:00\"");
    // 15 working minutes from Saturday: Monday 09:15 in Berlin.
    assert_eq!(
        local("Europe/Berlin", d.sla_due.unwrap()),
        "2026-12-07T09:15"
    );
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("ana is off shift (Sat 10:00 local time); assigned anyway"),
        "{text}"
    );
    assert!(
        text.contains(
            "SLA 15 min in ana's working hours, counted from ana's next working time: \
             due Mon 09:15 Europe/Berlin (2026-12-07T08:15:00Z)"
        ),
        "{text}"
    );
    // The decision's JSON carries it; it reads back the same.
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["owner_unavailable"], "off_shift");
    assert!(
        json["trace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "owner_off_shift" && e["local"] == "Sat 10:00"),
        "{json}"
    );
    let back: RouteDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
    let explained = serde_json::to_value(p.explain(&d)).unwrap();
    assert_eq!(
        explained["sla"],
        "SLA 15 min in ana's working hours, counted from ana's next working time: \
         due Mon 09:15 Europe/Berlin (2026-12-07T08:15:00Z)"
    );
}

#[test]
fn on_shift_nothing_is_noted_and_a_holiday_counts_as_off_shift() {
    let p = variant(false, "");
    let account = account();
    let monday = at("Europe/Berlin", "2026-12-07T10:00");
    let d = p.evaluate(&lead(), &Facts::new(monday).account(&account));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.owner_unavailable, None);
    assert!(off_shift_events(&d).is_empty());
    assert_eq!(
        local("Europe/Berlin", d.sla_due.unwrap()),
        "2026-12-07T10:15"
    );
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("SLA 15 min in ana's working hours: due Mon 10:15 Europe/Berlin"),
        "{text}"
    );
    assert!(!text.contains("off shift"), "{text}");
    // Thursday 24 December is a holiday: off shift at 10:00, due Monday.
    let christmas = at("Europe/Berlin", "2026-12-24T10:00");
    let d = p.evaluate(&lead(), &Facts::new(christmas).account(&account));
    assert_eq!(d.owner_unavailable, Some(Unavailable::OffShift));
    assert_eq!(
        local("Europe/Berlin", d.sla_due.unwrap()),
        "2026-12-28T09:15"
    );
}

#[test]
fn a_named_owner_off_shift_keeps_the_lead_too() {
    let p = variant(false, "");
    let sunday = at("Europe/Berlin", "2026-12-06T12:00");
    let d = p.evaluate(&lead(), &Facts::new(sunday));
    assert_eq!(d.rule.as_deref(), Some("named"));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.assigned_by, AssignedBy::Owner);
    assert_eq!(d.owner_unavailable, Some(Unavailable::OffShift));
    assert_eq!(
        local("Europe/Berlin", d.sla_due.unwrap()),
        "2026-12-07T09:30"
    );
}

#[test]
fn check_availability_sends_an_off_shift_account_owner_to_if_unavailable() {
    let p = variant(
        true,
        r#", if_unavailable = { assign = { pool = "cover" } }"#,
    );
    let saturday = at("Europe/Berlin", "2026-12-05T10:00");
    let account = account();
    let d = p.evaluate(&lead(), &Facts::new(saturday).account(&account));
    assert_eq!(d.rule.as_deref(), Some("existing-account"));
    assert_eq!(d.owner_id(), Some("kai"));
    assert_eq!(d.assigned_by, AssignedBy::Pool("cover".into()));
    assert_eq!(d.owner_unavailable, None);
    assert!(d.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::Unavailable {
            rule: Some(0),
            reason: Unavailable::OffShift
        }
    )));
    // Kai's SLA counts in Kai's weekend hours: 10:15 the same day.
    assert_eq!(
        local("Europe/Berlin", d.sla_due.unwrap()),
        "2026-12-05T10:15"
    );
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("rule `existing-account` could not assign: off_shift"),
        "{text}"
    );
    assert!(
        text.contains("SLA 15 min in kai's working hours: due Sat 10:15 Europe/Berlin"),
        "{text}"
    );
    // On shift the owner keeps it.
    let monday = at("Europe/Berlin", "2026-12-07T10:00");
    let d = p.evaluate(&lead(), &Facts::new(monday).account(&account));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.assigned_by, AssignedBy::AccountOwner);
}

#[test]
fn check_availability_with_next_rule_falls_through_to_the_fallback() {
    // Both rules check: off shift, neither can assign Ana, the queue does.
    let p = variant(true, "");
    let saturday = at("Europe/Berlin", "2026-12-05T10:00");
    let account = account();
    let d = p.evaluate(&lead(), &Facts::new(saturday).account(&account));
    assert_eq!(d.rule, None);
    assert!(d.fallback);
    assert_eq!(d.owner_id(), Some("queue"));
    // The queue has no hours: plain minutes.
    assert_eq!(d.sla_due, Some(saturday + Duration::from_secs(60 * 60)));
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("rule `named` could not assign: off_shift"),
        "{text}"
    );
    assert!(
        text.contains("SLA 60 min in plain minutes: due 2026-12-05T10:00:00Z"),
        "{text}"
    );
}

#[test]
fn the_callers_availability_and_away_marks_count_for_direct_owners() {
    let account = account();
    let monday = at("Europe/Berlin", "2026-12-07T10:00");
    // Default: away, but kept, and said.
    let p = variant(false, "");
    let away = AwayList::new(["ana"]);
    let d = p.evaluate(
        &lead(),
        &Facts::new(monday).account(&account).availability(&away),
    );
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.owner_unavailable, Some(Unavailable::Away));
    let text = p.explain(&d).to_string();
    assert!(
        text.contains("ana is away (per the availability source) (Mon 10:00 local time)"),
        "{text}"
    );
    // Checking: a reassignment's away mark sends the next lead elsewhere
    // until it ends.
    let p = variant(true, r#", if_unavailable = "fallback""#);
    let mut marks = AwayUntil::default();
    marks.insert("ana", monday + Duration::from_secs(3_600));
    let d = p.evaluate(
        &lead(),
        &Facts::new(monday).account(&account).availability(&marks),
    );
    assert_eq!(d.owner_id(), Some("queue"));
    assert!(d.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::Unavailable {
            rule: Some(0),
            reason: Unavailable::Away
        }
    )));
    let later = monday + Duration::from_secs(3_600);
    let d = p.evaluate(
        &lead(),
        &Facts::new(later).account(&account).availability(&marks),
    );
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.owner_unavailable, None);
}

#[test]
fn a_pools_fallback_owner_is_noted_but_not_checked() {
    // `check_availability` is about the owner an action names; a pool's own
    // fallback owner is assigned as named, with the note.
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [{ id = "kai", schedule = "weekend" }, { id = "ana", schedule = "weekend" }]
[[schedules]]
id = "weekend"
timezone = "UTC"
hours = { sat = ["08:00-20:00"] }
[[pools]]
id = "cover"
members = [{ owner = "kai" }]
fallback = { owner = "ana" }
[fallback]
assign = { pool = "cover" }
check_availability = true
"#,
    );
    let monday = at("UTC", "2026-12-07T10:00");
    let d = p.evaluate(&lead(), &Facts::new(monday));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.owner_unavailable, Some(Unavailable::OffShift));
}

#[test]
fn checking_availability_makes_a_named_owner_rule_fall_through_for_the_unreachable_check() {
    // Without the check the second rule can never decide: compile says so.
    let base = r#"
name = "p"
version = "1"
owners = [{ id = "ana", schedule = "s" }, { id = "bob" }]
[[schedules]]
id = "s"
timezone = "UTC"
hours = { weekdays = ["09:00-17:00"] }
[[rules]]
id = "first"
when = { country = ["DE"] }
then = { assign = { owner = "ana" } CHECK }
[[rules]]
id = "second"
when = { country = ["DE"] }
then = { assign = { owner = "bob" } }
[fallback]
assign = { owner = "bob" }
"#;
    let err = Policy::from_toml_str(&base.replace("CHECK", "")).unwrap_err();
    assert!(
        err.errors
            .iter()
            .any(|d| d.code == DiagnosticCode::UnreachableRule
                && d.rule.as_deref() == Some("second")),
        "{err}"
    );
    let p = policy(&base.replace("CHECK", ", check_availability = true"));
    let night = at("UTC", "2026-12-07T20:00");
    let mut input = LeadInput::from_email("cto@acme.de");
    input.country = Some("DE".into());
    let de = Normalizer::default().normalize(&input).unwrap().lead;
    let d = p.evaluate(&de, &Facts::new(night));
    assert_eq!(d.rule.as_deref(), Some("second"));
    assert_eq!(d.owner_id(), Some("bob"));
}

#[test]
fn the_explanation_names_a_pool_schedule_nobody_and_a_schedule_never_open() {
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [{ id = "ana" }, { id = "never", schedule = "closed" }]
[[schedules]]
id = "emea"
timezone = "Europe/Berlin"
hours = { weekdays = ["09:00-17:00"] }
[[schedules]]
id = "closed"
timezone = "UTC"
hours = { mon = ["09:00-10:00"] }
holidays = ["2026-01-01..2030-12-31"]
[[pools]]
id = "team"
members = [{ owner = "ana" }]
schedule = "emea"
[[rules]]
id = "nobody"
when = { email_kind = ["disposable"] }
then = { assign = "nobody", sla_minutes = 5 }
[[rules]]
id = "never"
when = { country = ["FR"] }
then = { assign = { owner = "never" }, sla_minutes = 5 }
[fallback]
assign = { pool = "team" }
sla_minutes = 15
"#,
    );
    let monday = at("Europe/Berlin", "2026-12-07T16:55");
    let d = p.evaluate(&lead(), &Facts::new(monday));
    assert_eq!(d.owner_id(), Some("ana"));
    let text = p.explain(&d).to_string();
    assert!(
        text.contains(
            "SLA 15 min in pool `team`'s working hours: due Tue 09:10 Europe/Berlin (2026-12-08T08:10:00Z)"
        ),
        "{text}"
    );
    let spam = Normalizer::default()
        .normalize(&LeadInput::from_email("x@mailinator.com"))
        .unwrap()
        .lead;
    let d = p.evaluate(&spam, &Facts::new(monday));
    assert_eq!(d.owner, None);
    assert_eq!(
        p.explain(&d).sla.as_deref(),
        Some("SLA 5 min: nobody assigned, no deadline")
    );
    let mut input = LeadInput::from_email("a@acme.fr");
    input.country = Some("FR".into());
    let fr = Normalizer::default().normalize(&input).unwrap().lead;
    let d = p.evaluate(&fr, &Facts::new(monday));
    assert_eq!(d.owner_id(), Some("never"));
    assert_eq!(d.sla_due, None);
    let text = p.explain(&d).to_string();
    assert!(
        text.contains(
            "SLA 5 min in never's working hours: no deadline (schedule `closed` has no working time in the next 731 days)"
        ),
        "{text}"
    );
    // Without an SLA the explanation says nothing about one.
    let p = policy(
        "name = \"p\"\nversion = \"1\"\nowners = [{ id = \"ana\" }]\n[fallback]\nassign = { owner = \"ana\" }",
    );
    let d = p.evaluate(&lead(), &Facts::new(monday));
    assert_eq!(p.explain(&d).sla, None);
    assert!(!p.explain(&d).to_string().contains("SLA"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// At any time of a fortnight: an account owner is noted off shift
    /// exactly when their schedule is closed, keeps the lead either way, and
    /// the deadline is never earlier than now plus the SLA.
    #[test]
    fn account_owner_off_shift_iff_schedule_closed(minutes in 0u64..(14 * 24 * 60)) {
        let p = variant(false, "");
        let account = account();
        let now = at("Europe/Berlin", "2026-12-19T00:00") + Duration::from_secs(minutes * 60);
        let d = p.evaluate(&lead(), &Facts::new(now).account(&account));
        prop_assert_eq!(d.owner_id(), Some("ana"));
        let open = p.owner_schedule("ana").unwrap().is_open(now);
        prop_assert_eq!(d.owner_unavailable.is_none(), open);
        prop_assert_eq!(off_shift_events(&d).len(), usize::from(!open));
        let due = d.sla_due.unwrap();
        prop_assert!(due >= now + Duration::from_secs(15 * 60));
        // The deadline is inside working time (the end of an open stretch
        // counts: half-open blocks end there).
        prop_assert!(p.owner_schedule("ana").unwrap().is_open(due - Duration::from_secs(60)));
        // With the check on, the owner is assigned only when on shift.
        let checked = variant(true, r#", if_unavailable = { assign = { pool = "cover" } }"#);
        let d = checked.evaluate(&lead(), &Facts::new(now).account(&account));
        prop_assert_eq!(d.owner_id() == Some("ana"), open);
    }
}

#[test]
fn a_fallback_that_checks_availability_leaves_the_lead_unassigned_or_uses_its_target() {
    let base = r#"
name = "p"
version = "1"
owners = [{ id = "ana", schedule = "s" }, { id = "queue" }]
[[schedules]]
id = "s"
timezone = "UTC"
hours = { weekdays = ["09:00-17:00"] }
[fallback]
assign = { owner = "ana" }
check_availability = true
sla_minutes = 10
"#;
    let night = at("UTC", "2026-12-07T20:00");
    let p = policy(base);
    let d = p.evaluate(&lead(), &Facts::new(night));
    assert_eq!(d.owner, None);
    assert_eq!(d.sla_due, None);
    assert!(d.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::Unavailable {
            rule: None,
            reason: Unavailable::OffShift
        }
    )));
    let p = policy(&format!(
        "{base}if_unavailable = {{ assign = {{ owner = \"queue\" }} }}\n"
    ));
    let d = p.evaluate(&lead(), &Facts::new(night));
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(d.sla_due, Some(night + Duration::from_secs(600)));
    // On shift, Ana.
    let d = p.evaluate(&lead(), &Facts::new(at("UTC", "2026-12-07T10:00")));
    assert_eq!(d.owner_id(), Some("ana"));
}

/// Kai and Bea work Berlin weekdays; Bea is out of office on Monday
/// 2026-12-07 and Christmas Eve is a holiday of the schedule. The `emea`
/// pool falls back to the queue, which has no hours.
const POOL_HOURS: &str = r#"
name = "p"
version = "1"
owners = [
  { id = "kai", schedule = "berlin" },
  { id = "bea", schedule = "berlin", out_of_office = ["2026-12-07", "2026-12-24"] },
  { id = "queue" },
]
[[schedules]]
id = "berlin"
timezone = "Europe/Berlin"
hours = { weekdays = ["09:00-17:00"] }
holidays = ["2026-12-24"]
[[pools]]
id = "emea"
members = [{ owner = "kai" }, { owner = "bea" }]
fallback = { owner = "queue" }
[[rules]]
id = "emea"
when = { always = true }
then = { assign = { pool = "emea" }, experience = "confirmation" }
[fallback]
assign = { owner = "queue" }
"#;

#[test]
fn a_pools_fallback_owner_is_credited_to_the_pool_not_to_the_rule() {
    let p = policy(POOL_HOURS);
    // Tuesday 20:00: both off shift, so the queue takes the lead as the
    // pool's fallback owner; the rule named the pool, not the queue.
    let d = p.evaluate(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-08T20:00")),
    );
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(d.assigned_by, AssignedBy::PoolFallback("emea".into()));
    assert_eq!(
        d.assigned_by.to_string(),
        "the fallback owner of pool `emea`"
    );
    assert_eq!(
        p.explain(&d).summary,
        "Assigned to queue (the fallback owner of pool `emea`: every member off shift; by rule `emea`) [policy p v1]; experience: confirmation"
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(
        json["assigned_by"],
        serde_json::json!({"pool_fallback": "emea"})
    );
    let back: RouteDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
    // Monday 20:00: Kai off shift, Bea out of office.
    let d = p.evaluate(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-07T20:00")),
    );
    assert_eq!(
        p.explain(&d).summary,
        "Assigned to queue (the fallback owner of pool `emea`: no member could take the lead: 1 off shift, 1 out of office; by rule `emea`) [policy p v1]; experience: confirmation"
    );
    // Monday 10:00, Kai away: a member the rotation chose is still the pool's.
    let away = AwayList::new(["kai"]);
    let d = p.evaluate(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-07T10:00")).availability(&away),
    );
    assert_eq!(
        p.explain(&d).summary,
        "Assigned to queue (the fallback owner of pool `emea`: no member could take the lead: 1 unavailable, 1 out of office; by rule `emea`) [policy p v1]; experience: confirmation"
    );
    // Without a trace the explanation cannot say why.
    let quiet = p.evaluate_with(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-08T20:00")),
        leadroute::policy::EvalOptions::without_trace(),
    );
    assert_eq!(quiet.assigned_by, AssignedBy::PoolFallback("emea".into()));
    assert_eq!(
        p.explain(&quiet).summary,
        "Assigned to queue (the fallback owner of pool `emea`: no member could take the lead; by rule `emea`) [policy p v1]; experience: confirmation"
    );
    // On shift, round robin as before.
    let d = p.evaluate(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-08T10:00")),
    );
    assert_eq!(d.assigned_by, AssignedBy::Pool("emea".into()));
    assert!(
        p.explain(&d)
            .summary
            .starts_with("Assigned to kai (round robin in pool `emea` by rule `emea`)")
    );
}

#[test]
fn a_fallback_chain_credits_the_pool_whose_fallback_the_owner_is() {
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [{ id = "kai", schedule = "weekend" }, { id = "ana" }, { id = "queue" }]
[[schedules]]
id = "weekend"
timezone = "UTC"
hours = { sat = ["08:00-20:00"] }
[[pools]]
id = "first"
members = [{ owner = "kai" }]
fallback = { pool = "second" }
[[pools]]
id = "second"
members = [{ owner = "kai" }]
fallback = { owner = "queue" }
[[pools]]
id = "third"
members = [{ owner = "kai" }]
fallback = { pool = "open" }
[[pools]]
id = "open"
members = [{ owner = "ana" }]
[[rules]]
id = "chain"
when = { email_kind = ["business"] }
then = { assign = { pool = "first" } }
[fallback]
assign = { pool = "third" }
"#,
    );
    let monday = at("UTC", "2026-12-07T10:00");
    let d = p.evaluate(&lead(), &Facts::new(monday));
    assert_eq!(d.owner_id(), Some("queue"));
    assert_eq!(d.assigned_by, AssignedBy::PoolFallback("second".into()));
    assert_eq!(
        p.explain(&d).summary,
        "Assigned to queue (the fallback owner of pool `second`: its only member off shift; by rule `chain`) [policy p v1]; experience: confirmation"
    );
    // A fallback pool's own choice is that pool's round robin.
    let free = support::lead("someone@gmail.com");
    let d = p.evaluate(&free, &Facts::new(monday));
    assert_eq!(d.owner_id(), Some("ana"));
    assert_eq!(d.assigned_by, AssignedBy::Pool("open".into()));
}

#[test]
fn out_of_office_is_its_own_skip_reason_in_the_trace_and_the_explanation() {
    let p = policy(POOL_HOURS);
    // Monday 10:00: Kai on shift, Bea out of office.
    let d = p.evaluate(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-07T10:00")),
    );
    assert_eq!(d.owner_id(), Some("kai"));
    let skip = TraceEvent::PoolSkip {
        pool: 0,
        member: 1,
        reason: SkipReason::OutOfOffice,
    };
    assert!(d.trace.events.contains(&skip), "{:?}", d.trace);
    assert_eq!(
        serde_json::to_value(skip).unwrap(),
        serde_json::json!({"event": "pool_skip", "pool": 0, "member": 1, "reason": "out_of_office"})
    );
    let explained = p.explain(&d);
    assert!(
        explained
            .to_string()
            .contains("    pool `emea`: bea skipped: out of office (an `out_of_office` date)\n"),
        "{explained}"
    );
    let steps = serde_json::to_value(&explained.steps).unwrap();
    assert!(
        steps.as_array().unwrap().contains(&serde_json::json!(
            {"step": "pool_skip", "pool": "emea", "owner": "bea", "reason": "out_of_office"}
        )),
        "{steps}"
    );
    // The decision's JSON reads back with the new reason.
    let back: RouteDecision = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
    assert_eq!(back, d);
    // The whole out-of-office day, not only its working hours.
    let d = p.evaluate(
        &lead(),
        &Facts::new(at("Europe/Berlin", "2026-12-07T20:00")),
    );
    let reasons: Vec<SkipReason> = d
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::PoolSkip { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [SkipReason::OffShift, SkipReason::OutOfOffice]);
    // The next evening both are off shift; on a holiday of the schedule
    // Kai is off shift and Bea, out of office that day too, out of office.
    for (when, bea) in [
        ("2026-12-08T20:00", SkipReason::OffShift),
        ("2026-12-24T10:00", SkipReason::OutOfOffice),
    ] {
        let d = p.evaluate(&lead(), &Facts::new(at("Europe/Berlin", when)));
        assert!(
            d.trace.events.contains(&TraceEvent::PoolSkip {
                pool: 0,
                member: 0,
                reason: SkipReason::OffShift
            }) && d.trace.events.contains(&TraceEvent::PoolSkip {
                pool: 0,
                member: 1,
                reason: bea
            }),
            "{when}: {:?}",
            d.trace
        );
    }
}
