//! Reading a lead's own time (`diff --time-field`): Unix seconds or an RFC
//! 3339 timestamp, without a date-time dependency.

use serde_json::Value;

/// The time in `value` as Unix seconds (fractions dropped): a non-negative
/// number of seconds, or RFC 3339 text (`2026-11-30T09:15:00Z`,
/// `2026-11-30T10:15:00.250+01:00`; a space may replace the `T`).
pub(crate) fn unix_seconds(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(s), _) => Ok(s),
            (None, Some(f)) if f >= 0.0 && f.is_finite() => Ok(f as u64),
            _ => Err(format!("{n} is not a time in seconds since 1970")),
        },
        Value::String(s) => rfc3339(s.trim()).ok_or_else(|| {
            format!(
                "`{}` is not an RFC 3339 time such as 2026-11-30T09:15:00Z",
                short(s)
            )
        }),
        other => Err(format!(
            "expected seconds since 1970 or an RFC 3339 time, found {}",
            match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Array(_) => "a list",
                _ => "an object",
            }
        )),
    }
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn rfc3339(s: &str) -> Option<u64> {
    let date = s.get(..10)?;
    let sep = s.get(10..11)?;
    if !matches!(sep, "T" | "t" | " ") {
        return None;
    }
    let rest = s.get(11..)?;
    let (y, m, d) = (
        digits(date.get(..4)?)?,
        digits(date.get(5..7)?)?,
        digits(date.get(8..10)?)?,
    );
    if date.get(4..5)? != "-" || date.get(7..8)? != "-" {
        return None;
    }
    let (hh, mm, ss) = (
        digits(rest.get(..2)?)?,
        digits(rest.get(3..5)?)?,
        digits(rest.get(6..8)?)?,
    );
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(frac) = zone.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        zone = frac.get(n..)?;
    }
    let offset: i64 = match zone {
        "Z" | "z" => 0,
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && z.get(3..4)? == ":" => {
            let h = i64::try_from(digits(z.get(1..3)?)?).ok()?;
            let m = i64::try_from(digits(z.get(4..6)?)?).ok()?;
            if h > 23 || m > 59 {
                return None;
            }
            let sign = if z.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = *month_days.get(usize::try_from(m).ok()?.checked_sub(1)?)?;
    if !(1..=max_day).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(i64::try_from(y).ok()?, m, d);
    let secs = days * 86_400 + i64::try_from(hh * 3600 + mm * 60 + ss).ok()? - offset;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let (m, d) = (m as i64, d as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;
    use serde_json::json;

    #[test]
    fn reads_seconds_and_rfc3339() {
        assert_eq!(unix_seconds(&json!(1_700_000_000)), Ok(1_700_000_000));
        assert_eq!(unix_seconds(&json!(1_700_000_000.75)), Ok(1_700_000_000));
        assert_eq!(unix_seconds(&json!("1970-01-01T00:00:00Z")), Ok(0));
        assert_eq!(
            unix_seconds(&json!("2023-11-14T22:13:20Z")),
            Ok(1_700_000_000)
        );
        assert_eq!(
            unix_seconds(&json!("2023-11-14T23:13:20.5+01:00")),
            Ok(1_700_000_000)
        );
        assert_eq!(
            unix_seconds(&json!("2023-11-14 17:13:20-05:00")),
            Ok(1_700_000_000)
        );
        assert_eq!(
            unix_seconds(&json!("2024-02-29T00:00:00Z")),
            Ok(1_709_164_800)
        );
        assert_eq!(
            unix_seconds(&json!("2000-03-01T00:00:00Z")),
            Ok(951_868_800)
        );
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            json!(-1),
            json!("2023-02-29T00:00:00Z"),
            json!("2023-13-01T00:00:00Z"),
            json!("2023-11-14T22:13:20"),
            json!("2023-11-14"),
            json!("yesterday"),
            json!("1969-12-31T23:59:59Z"),
            json!(null),
            json!([1]),
        ] {
            assert!(unix_seconds(&bad).is_err(), "{bad}");
        }
    }
}
