//! Helpers of the working-hours tests (`tests/schedules.rs`,
//! `tests/owner_hours.rs`): instants from local wall-clock times and back,
//! leads and policies. Included with `#[path = "support/schedules.rs"]`.

use std::str::FromStr;
use std::time::SystemTime;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use leadroute::{Lead, LeadInput, Normalizer, Policy};

/// The instant a local wall-clock time (`2026-12-05T10:00`) happens in
/// `zone` (an IANA name).
pub fn at(zone: &str, local: &str) -> SystemTime {
    let tz = TimeZone::get(zone).unwrap();
    let ts = DateTime::from_str(local)
        .unwrap()
        .to_zoned_datetime(tz)
        .unwrap()
        .timestamp();
    SystemTime::try_from(ts).unwrap()
}

/// The local wall-clock time of `t` in `zone`, as `%Y-%m-%dT%H:%M`.
pub fn local(zone: &str, t: SystemTime) -> String {
    let ts = jiff::Timestamp::try_from(t).unwrap();
    ts.to_zoned_datetime(TimeZone::get(zone).unwrap())
        .datetime()
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// The normalized lead of a submission with only an email.
pub fn lead(email: &str) -> Lead {
    Normalizer::default()
        .normalize(&LeadInput::from_email(email))
        .unwrap()
        .lead
}

/// A compiled policy from TOML; panics with the diagnostics otherwise.
pub fn policy(toml: &str) -> Policy {
    Policy::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}"))
}
