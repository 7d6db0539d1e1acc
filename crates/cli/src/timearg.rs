//! Times on the command line: `2024-05-02`, `2024-05-02T10:00:00Z`, or relative `7d`, `12h`,
//! `30m`, `45s` (ago).

use crate::UsageError;
use time::{Date, Duration, OffsetDateTime};

pub fn parse(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, UsageError> {
    let s = s.trim();
    if let Some(t) = herald_core::message::parse_time(s) {
        return Ok(t);
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, &day) {
        return Ok(d.midnight().assume_utc());
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad(s))?;
    let d = match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => return Err(bad(s)),
    };
    Ok(now - d)
}

/// A Unix time as people read it, in UTC.
pub fn show(unix: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn bad(s: &str) -> UsageError {
    UsageError(format!(
        "cannot read time {s:?}: use 2024-05-02, 2024-05-02T10:00:00Z, or 30m / 12h / 7d / 2w ago"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative_times() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time");
        assert_eq!(
            parse("7d", now).expect("7d").unix_timestamp(),
            1_700_000_000 - 7 * 86_400
        );
        assert_eq!(
            parse("30m", now).expect("30m").unix_timestamp(),
            1_700_000_000 - 1800
        );
        assert_eq!(
            parse("2024-05-02", now).expect("date").unix_timestamp(),
            1_714_608_000
        );
        assert_eq!(
            parse("2024-05-02T10:00:00+00:00", now)
                .expect("rfc3339")
                .unix_timestamp(),
            1_714_644_000
        );
        assert!(parse("yesterday", now).is_err());
        assert!(parse("5y", now).is_err());
    }
}
