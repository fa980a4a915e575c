//! **Time**: working hours in a time zone — weekly blocks, holidays,
//! out-of-office dates — and the questions routing asks of them: is this
//! owner on shift at `now`, and when is an SLA of `n` working minutes due.
//!
//! A [`Schedule`] is compiled from a policy's `schedules` (see
//! [`ScheduleSpec`](crate::policy::spec::ScheduleSpec)); owners and pools
//! refer to one by id. Everything here is pure: the time comes from the
//! caller ([`Facts::now`](crate::Facts)), and the IANA time-zone database is
//! compiled into the crate (`jiff` with its bundled tzdb), so a decision
//! never reads `/usr/share/zoneinfo`, the `TZ` variable or the clock, and
//! is the same on every machine.
//!
//! # How time is counted
//!
//! - Blocks are local wall-clock times on a weekday (`"09:00-17:00"`),
//!   half-open: 17:00 itself is off shift. `24:00` ends a block at
//!   midnight; a shift past midnight is written as two blocks (`mon =
//!   ["22:00-24:00"]`, `tue = ["00:00-06:00"]`) and counts as one
//!   continuous stretch.
//! - On a daylight-saving day a block lasts the real time between its ends:
//!   `00:00-06:00` is 5 hours on the night clocks spring forward. A block
//!   end that falls in the skipped hour moves to the first instant after it.
//! - Holidays and out-of-office dates close whole local days.
//! - An SLA deadline counts only open time: 15 minutes from Friday 17:55
//!   with `09:00-18:00` on weekdays is due Monday 09:10 (or Tuesday, if
//!   Monday is a holiday). It is never earlier than the start plus the SLA.
//!
//! ```
//! use leadroute::Policy;
//! use std::time::{Duration, SystemTime};
//!
//! let policy = Policy::from_toml_str(r#"
//!     name = "p"
//!     version = "1"
//!     owners = [{ id = "ana", name = "Ana", schedule = "berlin" }]
//!     [[schedules]]
//!     id = "berlin"
//!     timezone = "Europe/Berlin"
//!     hours = { weekdays = ["09:00-12:00", "13:00-18:00"] }
//!     holidays = ["2026-12-24..2026-12-26"]
//!     [fallback]
//!     assign = { owner = "ana" }
//! "#)?;
//! let berlin = policy.schedule("berlin").unwrap();
//! // Friday 2026-12-04 16:55 UTC is 17:55 in Berlin.
//! let friday = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_403_300);
//! assert!(berlin.is_open(friday));
//! let due = berlin.deadline(friday, 15).unwrap();
//! // 5 minutes on Friday, 10 on Monday: Monday 09:10 Berlin is 08:10 UTC.
//! assert_eq!(due.duration_since(SystemTime::UNIX_EPOCH)?.as_secs(), 1_796_631_000);
//! assert_eq!(berlin.local_label(due), "Mon 09:10");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod civil;

use std::time::SystemTime;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

use crate::name::Name;

/// Minutes in a day: the end of a block that runs to midnight.
pub(crate) const DAY_MINUTES: u16 = 24 * 60;

/// How far ahead [`Schedule::deadline`] looks for open time (two years of
/// days) before it gives up on a schedule that is never open.
pub const DEADLINE_HORIZON_DAYS: u32 = 731;

/// One open stretch of a day, in local minutes since midnight: `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Block {
    pub(crate) start: u16,
    pub(crate) end: u16,
}

/// Working hours in a time zone: weekly blocks, holidays and out-of-office
/// dates, compiled and checked. Cheap to share (`Arc`), `Send + Sync`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub(crate) id: Name,
    pub(crate) zone: TimeZone,
    /// Blocks by weekday, Monday first, each day sorted and disjoint.
    pub(crate) week: [Box<[Block]>; 7],
    /// Closed local dates, as sorted, disjoint, inclusive ranges.
    pub(crate) closed: Box<[(Date, Date)]>,
    /// The owner's own out-of-office dates among `closed` (sorted,
    /// disjoint, inclusive; empty for a named schedule): read only to say
    /// why a member was skipped, never to decide whether the schedule is
    /// open.
    pub(crate) out_of_office: Box<[(Date, Date)]>,
}

impl Schedule {
    /// The schedule's id (for an owner's own out-of-office dates, the id of
    /// the schedule they were added to).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The IANA name of the schedule's time zone.
    pub fn time_zone(&self) -> &str {
        self.zone.iana_name().unwrap_or("UTC")
    }

    /// Whether `at` falls in an open block (and not on a closed date).
    pub fn is_open(&self, at: SystemTime) -> bool {
        self.is_open_at(timestamp(at))
    }

    pub(crate) fn is_open_at(&self, at: Timestamp) -> bool {
        let local = self.zone.to_datetime(at);
        if self.is_closed(local.date()) {
            return false;
        }
        let minute = minute_of_day(local);
        self.blocks(local.date())
            .iter()
            .any(|b| b.start <= minute && minute < b.end)
    }

    /// When an SLA of `minutes` working minutes that starts at `from` is due:
    /// `from` plus `minutes` of open time. `None` when the schedule has less
    /// open time than that in the next [`DEADLINE_HORIZON_DAYS`] days.
    pub fn deadline(&self, from: SystemTime, minutes: u32) -> Option<SystemTime> {
        self.deadline_at(timestamp(from), minutes)
            .and_then(|t| SystemTime::try_from(t).ok())
    }

    pub(crate) fn deadline_at(&self, from: Timestamp, minutes: u32) -> Option<Timestamp> {
        let mut remaining = i64::from(minutes) * 60;
        if remaining == 0 {
            return Some(from);
        }
        let mut at = from;
        let mut day = self.zone.to_datetime(from).date();
        for _ in 0..DEADLINE_HORIZON_DAYS {
            if !self.is_closed(day) {
                for b in self.blocks(day).iter() {
                    let (Some(start), Some(end)) =
                        (self.instant(day, b.start), self.instant(day, b.end))
                    else {
                        continue;
                    };
                    if end <= at {
                        continue;
                    }
                    let open_from = start.max(at);
                    let open = end.as_second() - open_from.as_second();
                    if open >= remaining {
                        return Timestamp::from_second(open_from.as_second() + remaining)
                            .ok()
                            .map(|t| t.max(from));
                    }
                    remaining -= open;
                    at = end;
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// `at` in the schedule's zone, as a trace shows it: `"Fri 17:55"`.
    pub fn local_label(&self, at: SystemTime) -> String {
        let mut out = String::new();
        let _ = write_label(&mut out, self.zone.to_datetime(timestamp(at)));
        out
    }

    fn blocks(&self, day: Date) -> &[Block] {
        let i = usize::try_from(day.weekday().to_monday_zero_offset()).unwrap_or(0);
        self.week.get(i).map_or(&[][..], |b| &b[..])
    }

    fn is_closed(&self, day: Date) -> bool {
        in_ranges(&self.closed, day)
    }

    /// Whether `at` falls on one of the owner's own out-of-office dates (a
    /// closed date; holidays of the schedule are not out of office).
    /// Asked only of a schedule found closed, to say why.
    pub(crate) fn is_out_of_office(&self, at: SystemTime) -> bool {
        !self.out_of_office.is_empty()
            && in_ranges(
                &self.out_of_office,
                self.zone.to_datetime(timestamp(at)).date(),
            )
    }

    /// The instant a local `minute` of `day` happens (midnight of the next
    /// day for `24:00`; the first instant after a skipped hour).
    fn instant(&self, day: Date, minute: u16) -> Option<Timestamp> {
        let (day, minute) = if minute >= DAY_MINUTES {
            (day.tomorrow().ok()?, 0)
        } else {
            (day, minute)
        };
        let time = Time::new(
            i8::try_from(minute / 60).ok()?,
            i8::try_from(minute % 60).ok()?,
            0,
            0,
        )
        .ok()?;
        self.zone
            .to_ambiguous_timestamp(day.to_datetime(time))
            .compatible()
            .ok()
    }
}

/// Whether `day` is in one of `ranges` (sorted, disjoint, inclusive).
fn in_ranges(ranges: &[(Date, Date)], day: Date) -> bool {
    // The last range starting on or before `day` is the only one that can
    // hold it.
    let i = ranges.partition_point(|(from, _)| *from <= day);
    i > 0 && ranges.get(i - 1).is_some_and(|(_, until)| day <= *until)
}

/// `SystemTime` → `Timestamp`, saturating at the ends of jiff's range.
pub(crate) fn timestamp(t: SystemTime) -> Timestamp {
    Timestamp::try_from(t).unwrap_or_else(|_| {
        if t < SystemTime::UNIX_EPOCH {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        }
    })
}

pub(crate) fn minute_of_day(dt: DateTime) -> u16 {
    u16::try_from(i32::from(dt.hour()) * 60 + i32::from(dt.minute())).unwrap_or(0)
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Writes `"Fri 17:55"` (no allocation into a stack buffer).
pub(crate) fn write_label(out: &mut impl std::fmt::Write, dt: DateTime) -> std::fmt::Result {
    let day = usize::try_from(dt.weekday().to_monday_zero_offset()).unwrap_or(0);
    write!(
        out,
        "{} {:02}:{:02}",
        WEEKDAYS.get(day).copied().unwrap_or("?"),
        dt.hour(),
        dt.minute()
    )
}

/// Resolves an IANA time-zone name from the bundled database.
pub(crate) fn zone(name: &str) -> Option<TimeZone> {
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok()
}

/// Serde for an optional instant as RFC 3339 UTC text
/// (`"2026-12-07T08:10:00Z"`), the decision's `sla_due`.
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&crate::schedule::timestamp(*t)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            t.parse::<jiff::Timestamp>()
                .map_err(serde::de::Error::custom)
                .and_then(|t| SystemTime::try_from(t).map_err(serde::de::Error::custom))
        })
        .transpose()
    }
}
