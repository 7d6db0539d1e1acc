//! The `[herald.notifications]` table: whether Herald notifies at all, how bursts coalesce,
//! the rate limit, and a daily quiet period. Every field has a default, so an empty or absent
//! table means "notify, sensibly".

use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::Time;

/// `[herald.notifications]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// Show notifications at all.
    pub enabled: bool,
    /// Messages of the same source and kind within this many seconds of the first one
    /// coalesce into one digest (0 = never coalesce).
    pub digest_window_secs: u64,
    /// New notifications per minute, digests included (0 = no limit).
    pub rate_limit_per_minute: u32,
    /// A daily period (local time) in which nothing is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// After quiet hours or a pause, one notification summing up what was held.
    pub summary_after_quiet: bool,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            enabled: true,
            digest_window_secs: 30,
            rate_limit_per_minute: 10,
            quiet_hours: None,
            summary_after_quiet: true,
        }
    }
}

impl NotifySettings {
    /// For `skip_serializing_if`: the table is written only when it differs from the defaults.
    pub fn is_default(&self) -> bool {
        *self == NotifySettings::default()
    }

    /// The coalescing window.
    pub fn digest_window(&self) -> Duration {
        Duration::from_secs(self.digest_window_secs)
    }
}

/// A daily quiet period in local time, `start` inclusive and `end` exclusive; it wraps
/// midnight when `end` is earlier than `start` (`22:00`–`07:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, 24-hour clock.
    pub start: String,
    /// `HH:MM`, 24-hour clock.
    pub end: String,
}

impl QuietHours {
    /// Whether `t` falls in the quiet period. A period that does not parse (see
    /// [`QuietHours::validate`]) or is empty contains nothing.
    pub fn contains(&self, t: Time) -> bool {
        let Some((start, end)) = self.bounds() else {
            return false;
        };
        if start <= end {
            start <= t && t < end
        } else {
            t >= start || t < end
        }
    }

    /// Both ends are `HH:MM` times of day and differ.
    pub fn validate(&self) -> Result<(), String> {
        let start = parse_hhmm(&self.start).ok_or_else(|| {
            format!(
                "quiet hours start {:?} is not a time of day (HH:MM)",
                self.start
            )
        })?;
        let end = parse_hhmm(&self.end).ok_or_else(|| {
            format!(
                "quiet hours end {:?} is not a time of day (HH:MM)",
                self.end
            )
        })?;
        if start == end {
            return Err(format!(
                "quiet hours start and end are both {:?}; use pause to silence a whole day",
                self.start
            ));
        }
        Ok(())
    }

    /// How long from `t` until the quiet period ends, when `t` is inside it.
    pub(crate) fn remaining(&self, t: Time) -> Option<Duration> {
        if !self.contains(t) {
            return None;
        }
        let (_, end) = self.bounds()?;
        let day = 24 * 3600;
        let secs = |x: Time| -> i64 {
            i64::from(x.hour()) * 3600 + i64::from(x.minute()) * 60 + i64::from(x.second())
        };
        let mut left = secs(end) - secs(t);
        if left <= 0 {
            left += day;
        }
        // Whole seconds, then back off the sub-second part already gone.
        let left = Duration::from_secs(u64::try_from(left).ok()?);
        Some(left.saturating_sub(Duration::from_nanos(u64::from(t.nanosecond()))))
    }

    fn bounds(&self) -> Option<(Time, Time)> {
        let start = parse_hhmm(&self.start)?;
        let end = parse_hhmm(&self.end)?;
        (start != end).then_some((start, end))
    }
}

/// `HH:MM` (or `H:MM`), hours 0–23, minutes 0–59.
fn parse_hhmm(s: &str) -> Option<Time> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use time::macros::time;

    fn q(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: start.to_owned(),
            end: end.to_owned(),
        }
    }

    #[test]
    fn notify_defaults_and_empty_table() {
        let s: NotifySettings = toml::from_str("").expect("empty table");
        assert_eq!(s, NotifySettings::default());
        assert!(s.is_default());
        assert!(s.enabled && s.summary_after_quiet);
        assert_eq!((s.digest_window_secs, s.rate_limit_per_minute), (30, 10));
        assert_eq!(s.quiet_hours, None);
        assert!(!toml::to_string(&s)
            .expect("serialise")
            .contains("quiet_hours"));
    }

    #[test]
    fn notify_settings_round_trip_and_reject_unknown_fields() {
        let text = "enabled = false\nrate_limit_per_minute = 0\n\
                    [quiet_hours]\nstart = \"22:00\"\nend = \"07:00\"\n";
        let s: NotifySettings = toml::from_str(text).expect("parse");
        assert!(!s.enabled && !s.is_default());
        assert_eq!(s.digest_window_secs, 30);
        assert_eq!(s.quiet_hours, Some(q("22:00", "07:00")));
        let back: NotifySettings = toml::from_str(&toml::to_string(&s).expect("ser")).expect("de");
        assert_eq!(back, s);
        assert!(toml::from_str::<NotifySettings>("enable = true").is_err());
        assert!(toml::from_str::<NotifySettings>("[quiet_hours]\nstart = \"1:00\"").is_err());
    }

    #[rstest]
    #[case::before_wrap("22:00", "07:00", time!(21:59:59), false)]
    #[case::start_inclusive("22:00", "07:00", time!(22:00), true)]
    #[case::midnight("22:00", "07:00", time!(00:00), true)]
    #[case::early("22:00", "07:00", time!(06:59:59), true)]
    #[case::end_exclusive("22:00", "07:00", time!(07:00), false)]
    #[case::noon("22:00", "07:00", time!(12:00), false)]
    #[case::day_inside("09:00", "17:30", time!(17:29), true)]
    #[case::day_end("09:00", "17:30", time!(17:30), false)]
    #[case::day_before("09:00", "17:30", time!(08:59), false)]
    #[case::empty("08:00", "08:00", time!(08:00), false)]
    #[case::invalid("25:00", "07:00", time!(01:00), false)]
    fn notify_quiet_hours_contain(
        #[case] start: &str,
        #[case] end: &str,
        #[case] t: Time,
        #[case] inside: bool,
    ) {
        assert_eq!(q(start, end).contains(t), inside);
    }

    #[rstest]
    #[case("22:00", "07:00", true)]
    #[case("7:05", "23:59", true)]
    #[case("00:00", "24:00", false)]
    #[case("22:60", "07:00", false)]
    #[case("22", "07:00", false)]
    #[case("22:00", "7:0", false)]
    #[case("+1:00", "07:00", false)]
    #[case("", "07:00", false)]
    #[case("10:00", "10:00", false)]
    fn notify_quiet_hours_validate(#[case] start: &str, #[case] end: &str, #[case] ok: bool) {
        assert_eq!(q(start, end).validate().is_ok(), ok, "{start}–{end}");
    }

    #[test]
    fn notify_quiet_hours_remaining() {
        let night = q("22:00", "07:00");
        assert_eq!(night.remaining(time!(12:00)), None);
        assert_eq!(
            night.remaining(time!(23:30)),
            Some(Duration::from_secs(7 * 3600 + 1800))
        );
        assert_eq!(
            night.remaining(time!(06:59:59.5)),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            q("09:00", "17:00").remaining(time!(16:00)),
            Some(Duration::from_secs(3600))
        );
    }
}
