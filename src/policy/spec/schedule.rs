//! The time parts of the policy format: named working-hours schedules and
//! the day-of-week condition.

use serde::{Deserialize, Serialize};

/// Named working hours: an entry of the policy's `schedules`. Owners
/// (`"schedule": id`) and pools refer to it; rules test it with
/// `within_schedule` / `outside_schedule`.
///
/// - `timezone` (required): an IANA name such as `"America/New_York"`; the
///   blocks, holidays and dates are local to it.
/// - `hours`: [`WeeklyHoursSpec`], blocks `"HH:MM-HH:MM"` per weekday.
/// - `holidays`: closed dates, `"2026-12-25"` or inclusive ranges
///   `"2026-12-24..2026-12-26"`.
///
/// Compile checks the zone, each block (`"17:00-09:00"` is inverted: a shift
/// past midnight is two blocks, `"22:00-24:00"` and the next day's
/// `"00:00-06:00"`), overlapping blocks on a day, and each date.
///
/// ```
/// use leadroute::policy::spec::ScheduleSpec;
///
/// let json: ScheduleSpec = serde_json::from_str(r#"{
///   "id": "ny", "timezone": "America/New_York",
///   "hours": {"weekdays": ["09:00-12:00", "13:00-17:00"], "sat": ["10:00-14:00"]},
///   "holidays": ["2026-11-26", "2026-12-24..2026-12-26"]
/// }"#)?;
/// let toml: ScheduleSpec = toml::from_str(r#"
/// id = "ny"
/// timezone = "America/New_York"
/// hours = { weekdays = ["09:00-12:00", "13:00-17:00"], sat = ["10:00-14:00"] }
/// holidays = ["2026-11-26", "2026-12-24..2026-12-26"]
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScheduleSpec {
    /// Unique id.
    pub id: String,
    /// IANA time zone name.
    pub timezone: String,
    /// Weekly open blocks.
    #[serde(default)]
    pub hours: WeeklyHoursSpec,
    /// Closed dates and inclusive date ranges (local).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

impl ScheduleSpec {
    /// A schedule with no open hours yet.
    pub fn new(id: impl Into<String>, timezone: impl Into<String>) -> Self {
        ScheduleSpec {
            id: id.into(),
            timezone: timezone.into(),
            ..ScheduleSpec::default()
        }
    }
    /// Adds blocks (`"09:00-17:00"`) to every weekday, Monday to Friday.
    pub fn weekdays<I, S>(mut self, blocks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hours
            .weekdays
            .extend(blocks.into_iter().map(Into::into));
        self
    }
    /// Adds a holiday (`"2026-12-25"`) or a range (`"2026-12-24..2026-12-26"`).
    pub fn holiday(mut self, dates: impl Into<String>) -> Self {
        self.holidays.push(dates.into());
        self
    }
}

/// Open blocks by weekday: `mon` … `sun`, plus `weekdays` (Monday to
/// Friday, in addition to a day's own blocks). Each block is
/// `"HH:MM-HH:MM"`, local, half-open, `24:00` allowed as an end. A day
/// without blocks is closed.
///
/// JSON: `{"weekdays": ["09:00-17:00"], "sat": ["10:00-14:00"]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WeeklyHoursSpec {
    /// Monday to Friday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<String>,
    /// Monday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mon: Vec<String>,
    /// Tuesday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tue: Vec<String>,
    /// Wednesday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wed: Vec<String>,
    /// Thursday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thu: Vec<String>,
    /// Friday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fri: Vec<String>,
    /// Saturday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sat: Vec<String>,
    /// Sunday.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sun: Vec<String>,
}

impl WeeklyHoursSpec {
    /// Each weekday's own key and blocks, Monday first.
    pub(crate) fn days(&self) -> [(&'static str, &[String]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// A day of the week, as conditions write it: `"mon"` … `"sun"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Monday is 0.
    pub(crate) fn index(self) -> u8 {
        self as u8
    }
}

/// The `day_of_week` condition: the decision time's local weekday (in
/// `timezone`, default `"UTC"`) is one of `days`.
///
/// JSON: `{"day_of_week": {"days": ["sat", "sun"], "timezone": "Europe/Berlin"}}`;
/// TOML: `when = { day_of_week = { days = ["sat", "sun"], timezone = "Europe/Berlin" } }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DayOfWeekSpec {
    /// The days.
    pub days: Vec<Weekday>,
    /// IANA time zone name (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl DayOfWeekSpec {
    /// The days, in `timezone`.
    pub fn new(days: impl IntoIterator<Item = Weekday>, timezone: Option<&str>) -> Self {
        DayOfWeekSpec {
            days: days.into_iter().collect(),
            timezone: timezone.map(str::to_owned),
        }
    }
}
