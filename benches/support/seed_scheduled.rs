//! The seed policy with working hours: every owner on a New York or Berlin
//! schedule (two blocks a day, holidays), pools counting capacity in their
//! zone, and a day-of-week rule evaluated for every lead. At `NOW_UNIX`
//! (Monday 16:00 UTC) both schedules are open, so every seed lead gets the
//! same owner as in the plain seed policy, now with SLA deadlines counted in
//! working time.

use leadroute::PolicySpec;
use leadroute::policy::spec::{
    ActionSpec, Condition, DayOfWeekSpec, RuleSpec, ScheduleSpec, Weekday,
};

/// The scheduled seed policy, built from the plain one.
pub fn scheduled_seed_spec(seed_json: &str) -> PolicySpec {
    let mut spec = PolicySpec::from_json_str(seed_json).expect("seed policy");
    spec.schedules.push(
        ScheduleSpec::new("ny", "America/New_York")
            .weekdays(["09:00-12:00", "13:00-18:00"])
            .holiday("2025-11-27")
            .holiday("2025-12-24..2025-12-26"),
    );
    spec.schedules.push(
        ScheduleSpec::new("berlin", "Europe/Berlin")
            .weekdays(["08:00-12:00", "13:00-18:00"])
            .holiday("2025-12-24..2025-12-26"),
    );
    for owner in &mut spec.owners {
        let zone = match owner.id.as_str() {
            "cleo" | "dev" | "finn" => "berlin",
            _ => "ny",
        };
        owner.schedule = Some(zone.to_owned());
    }
    for pool in &mut spec.pools {
        pool.timezone = Some("America/New_York".to_owned());
    }
    // Never true on a Monday, but evaluated (time conditions are not indexed).
    spec.rules.insert(
        1,
        RuleSpec::new(
            "sunday-hold",
            Condition::DayOfWeek(DayOfWeekSpec::new([Weekday::Sun], Some("America/New_York"))),
            ActionSpec::owner("inbound-queue"),
        ),
    );
    spec
}
