//! Reading the schedule format's small texts (`"09:00-17:00"`,
//! `"2026-12-24..2026-12-26"`) and counting local days for capacity
//! periods, without allocating.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{Block, DAY_MINUTES};

/// Why a block text was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockError {
    /// Not `HH:MM-HH:MM` with valid times.
    Syntax,
    /// The end is not after the start.
    Inverted,
}

/// Reads `"HH:MM-HH:MM"` (end may be `24:00`).
pub(crate) fn parse_block(text: &str) -> Result<Block, BlockError> {
    let (a, b) = text.trim().split_once('-').ok_or(BlockError::Syntax)?;
    let start = parse_time(a.trim()).ok_or(BlockError::Syntax)?;
    let end = parse_time(b.trim()).ok_or(BlockError::Syntax)?;
    if start >= DAY_MINUTES {
        return Err(BlockError::Syntax);
    }
    if end <= start {
        return Err(BlockError::Inverted);
    }
    Ok(Block { start, end })
}

/// `HH:MM` as minutes since midnight; `24:00` is allowed (as 1440).
fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let digits = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Reads `"YYYY-MM-DD"` or an inclusive range `"YYYY-MM-DD..YYYY-MM-DD"`;
/// `Err(true)` for a range whose end is before its start.
pub(crate) fn parse_dates(text: &str) -> Result<(Date, Date), bool> {
    let text = text.trim();
    let date = |s: &str| -> Result<Date, bool> {
        let s = s.trim();
        if s.len() != 10 {
            return Err(false);
        }
        s.parse::<Date>().map_err(|_| false)
    };
    match text.split_once("..") {
        Some((a, b)) => {
            let (from, until) = (date(a)?, date(b)?);
            if until < from {
                Err(true)
            } else {
                Ok((from, until))
            }
        }
        None => date(text).map(|d| (d, d)),
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), for dates
/// on or after the epoch (earlier ones count as day 0).
pub(crate) fn days_since_epoch(date: Date) -> u64 {
    // Howard Hinnant's days_from_civil, in integers.
    let (y, m, d) = (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146_097 + doe - 719_468).unwrap_or(0)
}

/// Months since January 1970 of the day `days` since the epoch.
pub(crate) fn month_since_epoch(days: u64) -> u64 {
    // Hinnant's civil_from_days, year and month only.
    let z = i64::try_from(days).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    u64::try_from((year - 1970) * 12 + month - 1).unwrap_or(0)
}

/// The local day (days since the epoch) of `at` in `zone`.
pub(crate) fn local_day(zone: &TimeZone, at: Timestamp) -> u64 {
    days_since_epoch(zone.to_datetime(at).date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_dates_read_and_reject() {
        assert_eq!(
            parse_block("09:00-17:30"),
            Ok(Block {
                start: 540,
                end: 1050
            })
        );
        assert_eq!(parse_block(" 22:00 - 24:00 ").map(|b| b.end), Ok(1440));
        assert_eq!(parse_block("17:00-09:00"), Err(BlockError::Inverted));
        assert_eq!(parse_block("09:00-09:00"), Err(BlockError::Inverted));
        for bad in [
            "9-17",
            "09:00",
            "25:00-26:00",
            "09:60-10:00",
            "24:00-24:00",
            "a:bc-d",
        ] {
            assert_eq!(parse_block(bad), Err(BlockError::Syntax), "{bad}");
        }
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(
            parse_dates("2026-12-25"),
            Ok((d("2026-12-25"), d("2026-12-25")))
        );
        assert_eq!(
            parse_dates("2026-12-24..2026-12-31"),
            Ok((d("2026-12-24"), d("2026-12-31")))
        );
        assert_eq!(parse_dates("2026-12-31..2026-12-24"), Err(true));
        assert_eq!(parse_dates("2026-02-30"), Err(false));
        assert_eq!(parse_dates("25.12.2026"), Err(false));
    }

    #[test]
    fn day_and_month_counts_agree_with_jiff() {
        let epoch = Date::constant(1970, 1, 1);
        for (y, m, dd) in [(1970, 1, 1), (2000, 2, 29), (2024, 12, 31), (2026, 3, 8)] {
            let date = Date::constant(y, m, dd);
            let days = days_since_epoch(date);
            let span = epoch.until(date).unwrap();
            assert_eq!(days as i64, i64::from(span.get_days()), "{date}");
            let months = (i64::from(y) - 1970) * 12 + i64::from(m) - 1;
            assert_eq!(month_since_epoch(days) as i64, months, "{date}");
        }
        // Every day of 2023–2025 maps to its own month.
        let mut date = Date::constant(2023, 1, 1);
        while date.year() < 2026 {
            let months = (i64::from(date.year()) - 1970) * 12 + i64::from(date.month()) - 1;
            assert_eq!(month_since_epoch(days_since_epoch(date)) as i64, months);
            date = date.tomorrow().unwrap();
        }
    }
}
