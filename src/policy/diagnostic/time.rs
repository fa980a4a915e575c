//! The diagnostics of schedules, time zones and the time conditions.

use super::{Diagnostic, DiagnosticCode, did_you_mean, q};

impl Diagnostic {
    /// A time-zone name the bundled IANA database does not know.
    pub(crate) fn unknown_time_zone(path: String, name: &str, suggestion: Option<&str>) -> Self {
        let help = suggestion.map_or_else(
            || "use an IANA name such as `America/New_York` or `Europe/Berlin`".to_owned(),
            did_you_mean,
        );
        Self::error(
            DiagnosticCode::UnknownTimeZone,
            path,
            format!("unknown time zone {}", q(name)),
        )
        .with_value(name)
        .with_help(Some(help))
    }
    /// A schedule id that does not exist.
    pub(crate) fn unknown_schedule(path: String, id: &str, suggestion: Option<&str>) -> Self {
        Self::error(
            DiagnosticCode::UnknownSchedule,
            path,
            format!("unknown schedule {}", q(id)),
        )
        .with_value(id)
        .with_help(suggestion.map(did_you_mean))
    }
    /// A block that is not `HH:MM-HH:MM`.
    pub(crate) fn invalid_block(path: String, text: &str) -> Self {
        Self::error(
            DiagnosticCode::InvalidTime,
            path,
            format!("{} is not a block of local time `HH:MM-HH:MM`", q(text)),
        )
        .with_value(text)
        .with_help(Some(
            "write e.g. \"09:00-17:30\" (24-hour clock; `24:00` may end a block)".to_owned(),
        ))
    }
    /// A block whose end is not after its start.
    pub(crate) fn inverted_block(path: String, text: &str) -> Self {
        Self::error(
            DiagnosticCode::InvertedRange,
            path,
            format!("the block {} ends before it starts", q(text)),
        )
        .with_value(text)
        .with_help(Some(
            "a shift past midnight is two blocks: \"22:00-24:00\" on the day and \"00:00-06:00\" on the next"
                .to_owned(),
        ))
    }
    /// Two blocks of one day that overlap.
    pub(crate) fn overlapping_blocks(path: String, day: &str, a: &str, b: &str) -> Self {
        Self::error(
            DiagnosticCode::OverlappingBlocks,
            path,
            format!("the blocks {} and {} overlap on `{day}`", q(a), q(b)),
        )
        .with_value(b)
        .with_help(Some(
            "merge them into one block, or end the first where the second starts (`weekdays` blocks count on every day from `mon` to `fri`)"
                .to_owned(),
        ))
    }
    /// A date that is not `YYYY-MM-DD` (or a range of two).
    pub(crate) fn invalid_date(path: String, text: &str) -> Self {
        Self::error(
            DiagnosticCode::InvalidTime,
            path,
            format!(
                "{} is not a date `YYYY-MM-DD` or a range `YYYY-MM-DD..YYYY-MM-DD`",
                q(text)
            ),
        )
        .with_value(text)
        .with_help(Some(
            "write e.g. \"2026-12-25\" or \"2026-12-24..2026-12-31\"".to_owned(),
        ))
    }
    /// A date range whose end is before its start.
    pub(crate) fn inverted_dates(path: String, text: &str) -> Self {
        Self::error(
            DiagnosticCode::InvertedRange,
            path,
            format!("the date range {} ends before it starts", q(text)),
        )
        .with_value(text)
        .with_help(Some("write the earlier date first".to_owned()))
    }
    /// A schedule with no open block at all (a warning).
    pub(crate) fn never_open(path: String, id: &str) -> Self {
        Self::warning(
            DiagnosticCode::Empty,
            path,
            format!(
                "schedule {} has no open hours: owners on it are never on shift",
                q(id)
            ),
        )
        .with_help(Some(
            "add blocks under `hours`, e.g. `weekdays = [\"09:00-17:00\"]`".to_owned(),
        ))
    }
}
