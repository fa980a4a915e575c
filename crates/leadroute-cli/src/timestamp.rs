//! Reading a lead's own time (`diff --time-field`): Unix seconds or an RFC
//! 3339 timestamp (parsed by `jiff`), shared by `diff --time-field` and
//! the `now` of `test` cases.

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
        Value::String(s) => parse_rfc3339(s).map_err(|e| {
            // "`yesterday` is not an RFC 3339 time …"; other reasons follow a colon.
            let joint = if e.starts_with("not ") { " is" } else { ":" };
            format!("`{}`{joint} {e}", short(s))
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

/// Seconds since the Unix epoch of an RFC 3339 time (`2026-11-24T09:30:00Z`,
/// `2026-11-24 09:30:00.250+01:00`; fractions are dropped), read by `jiff`.
/// Times before 1970 are refused; a time without a UTC offset is refused
/// with a message saying so.
pub(crate) fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let s = s.trim();
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => u64::try_from(t.as_second())
            .map_err(|_| "times before 1970 are not supported".to_owned()),
        Err(_) if s.parse::<jiff::civil::DateTime>().is_ok() => {
            Err("the time has no UTC offset (add `Z` for UTC)".to_owned())
        }
        Err(_) => Err("not an RFC 3339 time such as 2026-11-24T09:30:00Z".to_owned()),
    }
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
