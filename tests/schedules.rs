//! Working hours, time zones and SLA deadlines: compile-time checks,
//! daylight-saving transitions, holidays, shifts past midnight, pool zones
//! for capacity, time conditions and a simulated week of leads.

use std::time::{Duration, SystemTime};

use jiff::tz::TimeZone;

use leadroute::decision::TraceEvent;
use leadroute::policy::DiagnosticCode;
use leadroute::pool::{InMemoryPoolStore, SkipReason};
use leadroute::router::decide_and_record;
use leadroute::testing::ManualClock;
use leadroute::{Clock, Facts, Policy};

#[path = "support/schedules.rs"]
mod support;
use support::{at, lead, local, policy};

const HEAD: &str = r#"
name = "p"
version = "1"
"#;

// ---------------------------------------------------------------- checks

#[test]
fn compile_reports_zones_blocks_overlaps_dates_and_references_with_paths() {
    let err = Policy::from_toml_str(
        r#"
name = "p"
version = "1"
owners = [
  { id = "ana", schedule = "berln" },
  { id = "bob", timezone = "America/New_Yrok", out_of_office = ["2026-08-14..2026-08-03"] },
]
[[schedules]]
id = "berlin"
timezone = "Europe/Berln"
hours = { weekdays = ["09:00-17:00"], mon = ["16:00-18:00"], tue = ["17:00-09:00", "9-5"] }
holidays = ["2026-02-30"]
[fallback]
assign = { owner = "ana" }
"#,
    )
    .unwrap_err();
    let found: Vec<_> = err
        .errors
        .iter()
        .map(|d| (d.code, d.path.as_str(), d.help.clone().unwrap_or_default()))
        .collect();
    let has = |code, path: &str, help: &str| {
        assert!(
            found
                .iter()
                .any(|(c, p, h)| *c == code && *p == path && h.contains(help)),
            "{code:?} at {path} with help {help:?} not in {found:#?}"
        );
    };
    has(
        DiagnosticCode::UnknownTimeZone,
        "schedules[0].timezone",
        "did you mean `Europe/Berlin`?",
    );
    has(
        DiagnosticCode::OverlappingBlocks,
        "schedules[0].hours.mon[0]",
        "merge them",
    );
    has(
        DiagnosticCode::InvertedRange,
        "schedules[0].hours.tue[0]",
        "\"22:00-24:00\" on the day and \"00:00-06:00\" on the next",
    );
    has(
        DiagnosticCode::InvalidTime,
        "schedules[0].hours.tue[1]",
        "09:00-17:30",
    );
    has(
        DiagnosticCode::InvalidTime,
        "schedules[0].holidays[0]",
        "2026-12-25",
    );
    has(
        DiagnosticCode::UnknownSchedule,
        "owners[0].schedule",
        "did you mean `berlin`?",
    );
    has(
        DiagnosticCode::UnknownTimeZone,
        "owners[1].timezone",
        "America/New_York",
    );
    has(
        DiagnosticCode::InvertedRange,
        "owners[1].out_of_office[0]",
        "earlier date first",
    );
    // The reader rejects unknown words before compile does.
    let err = Policy::from_json_str(
        r#"{"name": "p", "version": "1", "owners": [{"id": "a"}],
            "schedules": [{"id": "s", "timezone": "UTC", "hours": {"monday": ["09:00-17:00"]}}],
            "rules": [{"id": "w", "when": {"day_of_week": {"days": ["saturday"]}}, "then": {"assign": "nobody"}}],
            "fallback": {"assign": {"owner": "a"}}}"#,
    )
    .unwrap_err();
    let paths: Vec<_> = err.errors.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "schedules[0].hours.monday",
            "rules[0].when.day_of_week.days[0]"
        ]
    );
    assert_eq!(
        err.errors[0].help.as_deref(),
        Some("days are written `mon`, `tue`, …, `sun`")
    );
}

#[test]
fn a_schedule_without_hours_is_a_warning() {
    let p = policy(&format!(
        "{HEAD}owners = [{{ id = \"a\", schedule = \"never\" }}]\n\
         schedules = [{{ id = \"never\", timezone = \"UTC\" }}]\n\
         [fallback]\nassign = {{ owner = \"a\" }}"
    ));
    assert_eq!(p.warnings().len(), 1);
    assert_eq!(p.warnings()[0].path, "schedules[0].hours");
    let s = p.schedule("never").unwrap();
    assert!(!s.is_open(at("UTC", "2026-12-01T10:00")));
    assert_eq!(s.deadline(at("UTC", "2026-12-01T10:00"), 5), None);
}

// ------------------------------------------------------------------ DST

fn nine_to_five(zone: &str) -> Policy {
    policy(&format!(
        "{HEAD}owners = [{{ id = \"a\", schedule = \"s\" }}]\n\
         [[schedules]]\nid = \"s\"\ntimezone = \"{zone}\"\n\
         hours = {{ weekdays = [\"09:00-17:00\"], sun = [\"00:00-06:00\"] }}\n\
         [fallback]\nassign = {{ owner = \"a\" }}"
    ))
}

#[test]
fn new_york_march_and_november_transitions_follow_local_time() {
    let p = nine_to_five("America/New_York");
    let s = p.schedule("s").unwrap();
    // 13:30 UTC is 08:30 EST before the change, 09:30 EDT after it.
    let utc = |d: &str| at("UTC", d);
    assert!(!s.is_open(utc("2026-03-06T13:30")));
    assert!(s.is_open(utc("2026-03-09T13:30")));
    // Sunday 8 March: 02:00 jumps to 03:00, so 00:00-06:00 lasts 5 hours.
    let sunday = at("America/New_York", "2026-03-08T00:00");
    let due = s.deadline(sunday, 5 * 60).unwrap();
    assert_eq!(local("America/New_York", due), "2026-03-08T06:00");
    assert_eq!(due.duration_since(sunday).unwrap().as_secs(), 5 * 3600);
    // Six hours of work no longer fit: one spills into Monday.
    let due = s.deadline(sunday, 6 * 60).unwrap();
    assert_eq!(local("America/New_York", due), "2026-03-09T10:00");
    // Sunday 1 November: 02:00 falls back to 01:00, so the block lasts 7 hours.
    let sunday = at("America/New_York", "2026-11-01T00:00");
    let due = s.deadline(sunday, 7 * 60).unwrap();
    assert_eq!(local("America/New_York", due), "2026-11-01T06:00");
    assert_eq!(due.duration_since(sunday).unwrap().as_secs(), 7 * 3600);
    // 12:30 UTC is 08:30 EDT before, 07:30 EST after; 14:30 UTC is open both times.
    assert!(!s.is_open(utc("2026-10-30T12:30")));
    assert!(s.is_open(utc("2026-10-30T14:30")));
    assert!(s.is_open(utc("2026-11-02T14:30")));
    assert!(!s.is_open(utc("2026-11-02T13:30")));
}

#[test]
fn berlin_and_sydney_transitions() {
    let p = nine_to_five("Europe/Berlin");
    let s = p.schedule("s").unwrap();
    // Berlin springs forward on Sunday 29 March 2026.
    let sunday = at("Europe/Berlin", "2026-03-29T00:00");
    assert_eq!(
        s.deadline(sunday, 5 * 60).unwrap(),
        at("Europe/Berlin", "2026-03-29T06:00")
    );
    // and falls back on Sunday 25 October 2026.
    let sunday = at("Europe/Berlin", "2026-10-25T00:00");
    let due = s.deadline(sunday, 7 * 60).unwrap();
    assert_eq!(local("Europe/Berlin", due), "2026-10-25T06:00");
    assert!(s.is_open(at("UTC", "2026-03-30T07:30"))); // 09:30 CEST
    assert!(!s.is_open(at("UTC", "2026-03-27T07:30"))); // 08:30 CET

    // Sydney: daylight time ends Sunday 5 April 2026 (03:00 → 02:00) and
    // starts Sunday 4 October 2026 (02:00 → 03:00), in the southern spring.
    let p = nine_to_five("Australia/Sydney");
    let s = p.schedule("s").unwrap();
    let ends = at("Australia/Sydney", "2026-04-05T00:00");
    assert_eq!(
        s.deadline(ends, 7 * 60).unwrap(),
        at("Australia/Sydney", "2026-04-05T06:00")
    );
    let starts = at("Australia/Sydney", "2026-10-04T00:00");
    assert_eq!(
        s.deadline(starts, 5 * 60).unwrap(),
        at("Australia/Sydney", "2026-10-04T06:00")
    );
    // 22:30 UTC Sunday is 09:30 AEST on Monday after the April change.
    assert!(s.is_open(at("UTC", "2026-04-05T23:30")));
    assert!(!s.is_open(at("UTC", "2026-04-05T22:30")));
}

// ------------------------------------------------------- SLA in working time

const SLA_POLICY: &str = r#"
name = "p"
version = "1"
owners = [{ id = "ana", name = "Ana", schedule = "ny" }, { id = "queue" }]
[[schedules]]
id = "ny"
timezone = "America/New_York"
hours = { weekdays = ["09:00-18:00"] }
holidays = ["2026-12-25"]
[[rules]]
id = "demo"
when = { always = true }
then = { assign = { owner = "ana" }, sla_minutes = 15 }
[fallback]
assign = { owner = "queue" }
"#;

#[test]
fn friday_1755_with_a_15_minute_sla_is_due_monday_0910() {
    let p = policy(SLA_POLICY);
    let friday = at("America/New_York", "2026-12-04T17:55");
    let d = p.evaluate(&lead("cto@acme.com"), &Facts::new(friday));
    assert_eq!(d.owner_id(), Some("ana"));
    let due = d.sla_due.unwrap();
    assert_eq!(local("America/New_York", due), "2026-12-07T09:10");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["sla_due"], "2026-12-07T14:10:00Z");
    let back: leadroute::RouteDecision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
    // A holiday on the Friday after: Thursday 17:55 is due Monday 09:10.
    let thursday = at("America/New_York", "2026-12-24T17:55");
    let d = p.evaluate(&lead("cto@acme.com"), &Facts::new(thursday));
    assert_eq!(
        local("America/New_York", d.sla_due.unwrap()),
        "2026-12-28T09:10"
    );
    // The queue has no hours: plain minutes.
    let spec = leadroute::PolicySpec::from_toml_str(SLA_POLICY).unwrap();
    let mut spec = spec;
    spec.rules.clear();
    spec.fallback = Some(leadroute::policy::spec::ActionSpec::owner("queue").sla_minutes(15));
    let p = leadroute::compile(&spec).unwrap();
    let d = p.evaluate(&lead("cto@acme.com"), &Facts::new(friday));
    assert_eq!(d.sla_due, Some(friday + Duration::from_secs(15 * 60)));
}

#[test]
fn a_shift_past_midnight_is_one_stretch() {
    let p = policy(&format!(
        "{HEAD}owners = [{{ id = \"n\", schedule = \"night\" }}]\n\
         [[schedules]]\nid = \"night\"\ntimezone = \"Europe/London\"\n\
         hours = {{ mon = [\"22:00-24:00\"], tue = [\"00:00-06:00\"] }}\n\
         [fallback]\nassign = {{ owner = \"n\" }}"
    ));
    let s = p.schedule("night").unwrap();
    let z = "Europe/London";
    assert!(s.is_open(at(z, "2026-12-07T23:59")));
    assert!(s.is_open(at(z, "2026-12-08T00:00")));
    assert!(s.is_open(at(z, "2026-12-08T05:59")));
    assert!(!s.is_open(at(z, "2026-12-08T06:00")));
    assert!(!s.is_open(at(z, "2026-12-07T21:59")));
    let due = s.deadline(at(z, "2026-12-07T23:50"), 20).unwrap();
    assert_eq!(local(z, due), "2026-12-08T00:10");
    // A submission at 03:00 on Tuesday is worked at once; at 07:00 it waits a week.
    assert_eq!(
        local(z, s.deadline(at(z, "2026-12-08T03:00"), 30).unwrap()),
        "2026-12-08T03:30"
    );
    assert_eq!(
        local(z, s.deadline(at(z, "2026-12-08T07:00"), 30).unwrap()),
        "2026-12-14T22:30"
    );
}

// ------------------------------------------------------------ pools

const FOLLOW_THE_SUN: &str = r#"
name = "p"
version = "1"
owners = [
  { id = "ny-rep", schedule = "ny" },
  { id = "syd-rep", schedule = "sydney" },
  { id = "queue" },
]
[[schedules]]
id = "ny"
timezone = "America/New_York"
hours = { weekdays = ["09:00-17:00"] }
[[schedules]]
id = "sydney"
timezone = "Australia/Sydney"
hours = { weekdays = ["09:00-17:00"] }
[[schedules]]
id = "ny-office"
timezone = "America/New_York"
hours = { weekdays = ["08:00-18:00"] }
[[pools]]
id = "global"
members = [{ owner = "ny-rep" }, { owner = "syd-rep" }]
fallback = { owner = "queue" }
[[pools]]
id = "always"
respect_schedules = false
members = [{ owner = "ny-rep" }, { owner = "syd-rep" }]
[[rules]]
id = "weekend"
when = { day_of_week = { days = ["sat", "sun"], timezone = "America/New_York" } }
then = { assign = { owner = "queue" } }
[[rules]]
id = "after-hours"
when = { outside_schedule = "ny-office" }
then = { assign = { pool = "global" }, sla_minutes = 30 }
[fallback]
assign = { pool = "always" }
"#;

#[test]
fn a_0300_submission_goes_to_the_rep_on_shift_and_the_trace_says_why() {
    let p = policy(FOLLOW_THE_SUN);
    // Tuesday 03:00 in New York is Tuesday 19:00 in Sydney (AEDT): both off.
    let t = at("America/New_York", "2026-12-08T03:00");
    let d = p.evaluate(&lead("a@acme.com"), &Facts::new(t));
    assert_eq!(d.rule.as_deref(), Some("after-hours"));
    assert_eq!(d.owner_id(), Some("queue"));
    let text = p.explain(&d).to_string();
    assert!(text.contains("ny-rep skipped: off shift"), "{text}");
    assert!(
        text.contains("outside_schedule is ny-office: observed \"Tue 03:00\""),
        "{text}"
    );
    // Monday 19:00 in New York is Tuesday 11:00 in Sydney: the Sydney rep.
    let t = at("America/New_York", "2026-12-07T19:00");
    let d = p.evaluate(&lead("a@acme.com"), &Facts::new(t));
    assert_eq!(d.owner_id(), Some("syd-rep"));
    // Their SLA counts in Sydney working time: 30 minutes from 11:00.
    assert_eq!(
        local("Australia/Sydney", d.sla_due.unwrap()),
        "2026-12-08T11:30"
    );
    // During New York office hours the 24/7 pool ignores schedules.
    let t = at("America/New_York", "2026-12-08T08:30");
    let d = p.evaluate(&lead("a@acme.com"), &Facts::new(t));
    assert_eq!(d.rule, None);
    assert_eq!(d.owner_id(), Some("ny-rep"));
    // Saturday afternoon in New York: the weekend rule, observed as local time.
    let t = at("America/New_York", "2026-12-12T14:00");
    let d = p.evaluate(&lead("a@acme.com"), &Facts::new(t));
    assert_eq!(d.rule.as_deref(), Some("weekend"));
    assert!(p.explain(&d).to_string().contains("observed \"Sat 14:00\""));
}

#[test]
fn capacity_counts_days_in_the_pool_zone_not_the_owner_zone_or_utc() {
    // The owner works Berlin hours; the pool counts Los Angeles days.
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [{ id = "ana", schedule = "berlin" }, { id = "queue" }]
[[schedules]]
id = "berlin"
timezone = "Europe/Berlin"
hours = { mon = ["00:00-24:00"], tue = ["00:00-24:00"] }
[[pools]]
id = "team"
timezone = "America/Los_Angeles"
capacity = { max = 1, per = "day" }
members = [{ owner = "ana" }]
fallback = { owner = "queue" }
[fallback]
assign = { pool = "team" }
"#,
    );
    let lead = lead("x@acme.com");
    let mut states = leadroute::pool::PoolStates::new();
    let mut route = |t: SystemTime| {
        let d = p.evaluate(&lead, &Facts::new(t).pools(&states));
        if let Some(step) = d.pool_step() {
            let mut s = states.get(step.pool()).cloned().unwrap_or_default();
            step.apply(&mut s).unwrap();
            states.insert(step.pool(), s);
        }
        d.owner.map(|o| o.to_string())
    };
    // Monday 10:00 UTC = 02:00 in LA: ana's first lead of the LA day.
    assert_eq!(route(at("UTC", "2026-12-07T10:00")).as_deref(), Some("ana"));
    // Tuesday 01:00 UTC is still Monday in LA: at capacity.
    assert_eq!(
        route(at("UTC", "2026-12-08T01:00")).as_deref(),
        Some("queue")
    );
    // Tuesday 08:00 UTC = 00:00 in LA: a new day.
    assert_eq!(route(at("UTC", "2026-12-08T08:00")).as_deref(), Some("ana"));
}

#[test]
fn monthly_capacity_resets_on_the_first() {
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [{ id = "ana" }, { id = "queue" }]
[[pools]]
id = "team"
timezone = "Asia/Tokyo"
capacity = { max = 2, per = "month" }
members = [{ owner = "ana" }]
fallback = { owner = "queue" }
[fallback]
assign = { pool = "team" }
"#,
    );
    let lead = lead("x@acme.com");
    let mut states = leadroute::pool::PoolStates::new();
    let mut owners = Vec::new();
    for t in [
        "2026-11-03T10:00",
        "2026-11-20T10:00",
        "2026-11-30T23:00",
        "2026-12-01T00:30",
    ] {
        let d = p.evaluate(&lead, &Facts::new(at("Asia/Tokyo", t)).pools(&states));
        if let Some(step) = d.pool_step() {
            let mut s = states.get(step.pool()).cloned().unwrap_or_default();
            step.apply(&mut s).unwrap();
            states.insert(step.pool(), s);
        }
        owners.push(d.owner_id().unwrap().to_owned());
    }
    assert_eq!(owners, ["ana", "ana", "queue", "ana"]);
}

#[test]
fn out_of_office_dates_close_an_owner_without_a_schedule() {
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [{ id = "ana", timezone = "Europe/Madrid", out_of_office = ["2026-08-03..2026-08-14"] }, { id = "bob" }]
[[pools]]
id = "team"
members = [{ owner = "ana", weight = 5 }, { owner = "bob" }]
[fallback]
assign = { pool = "team" }
"#,
    );
    let lead = lead("x@acme.com");
    let away = p.evaluate(&lead, &Facts::new(at("Europe/Madrid", "2026-08-03T00:30")));
    assert_eq!(away.owner_id(), Some("bob"));
    // Said as out of office, not as off shift.
    assert!(away.trace.events.iter().any(|e| matches!(
        e,
        TraceEvent::PoolSkip {
            reason: SkipReason::OutOfOffice,
            ..
        }
    )));
    let back = p.evaluate(&lead, &Facts::new(at("Europe/Madrid", "2026-08-15T00:00")));
    assert_eq!(back.owner_id(), Some("ana"));
    // Still the 2nd in UTC, already the 3rd in Madrid: away.
    let t = at("UTC", "2026-08-02T22:30");
    assert_eq!(p.evaluate(&lead, &Facts::new(t)).owner_id(), Some("bob"));
}

// --------------------------------------------------- a week of leads

#[test]
fn a_simulated_week_never_reaches_an_off_shift_rep_and_caps_reset_at_local_midnight() {
    let p = policy(
        r#"
name = "p"
version = "1"
owners = [
  { id = "early", schedule = "early" },
  { id = "late", schedule = "late" },
  { id = "weekend", schedule = "weekend" },
  { id = "queue" },
]
[[schedules]]
id = "early"
timezone = "America/Chicago"
hours = { weekdays = ["06:00-14:00"] }
[[schedules]]
id = "late"
timezone = "America/Chicago"
hours = { weekdays = ["13:00-22:00"] }
[[schedules]]
id = "weekend"
timezone = "America/Chicago"
hours = { sat = ["10:00-16:00"], sun = ["10:00-16:00"] }
[[pools]]
id = "team"
timezone = "America/Chicago"
capacity = { max = 6, per = "day" }
members = [{ owner = "early", weight = 2 }, { owner = "late" }, { owner = "weekend" }]
fallback = { owner = "queue" }
[fallback]
assign = { pool = "team" }
"#,
    );
    // Monday 2026-12-07 00:00 in Chicago, one lead every 20 minutes for 7 days.
    let clock = ManualClock::at_unix(
        at("America/Chicago", "2026-12-07T00:00")
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    let store = InMemoryPoolStore::new();
    let chicago = TimeZone::get("America/Chicago").unwrap();
    let mut per_day: std::collections::BTreeMap<(String, String), u32> = Default::default();
    let mut assigned = 0;
    for i in 0..(7 * 24 * 3) {
        let now = clock.now();
        let lead = lead(&format!("lead{i}@acme.com"));
        let d = pollster::block_on(decide_and_record(&p, &lead, &Facts::new(now), &store)).unwrap();
        let owner = d.owner_id().unwrap().to_owned();
        let day = jiff::Timestamp::try_from(now)
            .unwrap()
            .to_zoned_datetime(chicago.clone())
            .date()
            .to_string();
        if owner != "queue" {
            assigned += 1;
            let schedule = p.owner_schedule(&owner).unwrap();
            assert!(
                schedule.is_open(now),
                "{owner} got a lead off shift at {}",
                local("America/Chicago", now)
            );
            let n = per_day.entry((owner.clone(), day.clone())).or_default();
            *n += 1;
            assert!(*n <= 6, "{owner} over the cap on {day}");
        }
        clock.advance(Duration::from_secs(20 * 60));
    }
    // Weekdays: early 06-14 (24 slots) and late 13-22 (27 slots) both reach
    // their cap of 6 each day, every day again: the cap resets at local midnight.
    for day in [
        "2026-12-07",
        "2026-12-08",
        "2026-12-09",
        "2026-12-10",
        "2026-12-11",
    ] {
        assert_eq!(per_day[&("early".to_owned(), day.to_owned())], 6, "{day}");
        assert_eq!(per_day[&("late".to_owned(), day.to_owned())], 6, "{day}");
    }
    for day in ["2026-12-12", "2026-12-13"] {
        assert_eq!(per_day[&("weekend".to_owned(), day.to_owned())], 6, "{day}");
    }
    assert_eq!(assigned, 5 * 12 + 2 * 6);
}
