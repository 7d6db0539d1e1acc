//! The catch-up settings of `[herald]`: where the bus archive is, whether gaps are filled by
//! themselves and up to what length, and the rarely changed tuning of the kept queue and the
//! archive client (`[herald.catch_up_tuning]`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The Fedora bus archive.
pub const FEDORA_DATAGREPPER: &str = "https://apps.fedoraproject.org/datagrepper/";

pub(super) fn default_datagrepper_url() -> String {
    FEDORA_DATAGREPPER.to_owned()
}
pub(super) fn default_catch_up_max() -> String {
    "3d".to_owned()
}

/// Knobs nobody needs to touch on the Fedora bus; the tests turn them down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatchUpTuning {
    /// Least time between the starts of two archive requests.
    pub spacing_ms: u64,
    /// First wait after a failed archive request (doubled, jittered, capped at 2 min).
    pub retry_ms: u64,
    /// Attempts per archive request before the walk pauses until the next try.
    pub attempts: u32,
    /// How long one archive request may take: above the server's own 60 s statement timeout,
    /// whose answer (even a late one) beats a retry.
    pub request_timeout_ms: u64,
    /// How long the first message back after a gap may take to arrive, whose `sent-at` (in
    /// the publishers' clock, as the archive's) ends the gap; after that, this machine's
    /// clock ends it.
    pub first_live_wait_ms: u64,
    /// When the last minutes of a filled gap are fetched again (the archive lags the bus).
    pub tail_delay_s: u64,
    /// `x-expires` of a queue Herald generates: the broker deletes it after this long
    /// unused. The Fedora broker's own policy says an hour and only allows shorter.
    pub queue_expires_ms: u64,
    /// `x-max-length-bytes` of a queue Herald generates (oldest messages dropped beyond it).
    pub queue_max_bytes: u64,
}

impl Default for CatchUpTuning {
    fn default() -> Self {
        CatchUpTuning {
            spacing_ms: 1000,
            retry_ms: 2000,
            attempts: 6,
            request_timeout_ms: 90_000,
            first_live_wait_ms: 30_000,
            tail_delay_s: 300,
            queue_expires_ms: 3_600_000,
            queue_max_bytes: 50 * 1024 * 1024,
        }
    }
}

impl CatchUpTuning {
    pub fn is_default(&self) -> bool {
        *self == CatchUpTuning::default()
    }
}

impl super::HeraldSettings {
    /// Gaps longer than this wait for the user; an unreadable value (refused at load) is
    /// taken as the default three days.
    pub fn catch_up_max(&self) -> Duration {
        span(&self.catch_up_max).unwrap_or(Duration::from_secs(3 * 86_400))
    }
}

pub(super) fn validate(h: &super::HeraldSettings) -> Result<(), crate::error::ConfigError> {
    let invalid = |key: &str, reason: String| crate::error::ConfigError::Invalid {
        key: key.to_owned(),
        reason,
    };
    if span(&h.catch_up_max).is_none() {
        return Err(invalid(
            "herald.catch_up_max",
            "a length such as 12h, 3d or 1w".to_owned(),
        ));
    }
    archive_base_url(&h.datagrepper_url).map_err(|e| invalid("herald.datagrepper_url", e))?;
    Ok(())
}

/// The archive's root as a URL ending in `/`: http(s) only, with a host, and no user or
/// password (nothing secret ever goes into a request or a message about one).
pub fn archive_base_url(base: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(base.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("the archive must be an http:// or https:// address".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the archive address must not hold a user or password".to_owned());
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A length of time as people write it: `45s`, `30m`, `12h`, `3d`, `2w`.
pub fn span(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_people_write_them() {
        assert_eq!(span("3d"), Some(Duration::from_secs(259_200)));
        assert_eq!(span(" 45s "), Some(Duration::from_secs(45)));
        assert_eq!(span("2w"), Some(Duration::from_secs(1_209_600)));
        for bad in ["", "d", "3", "3y", "-3d", "99999999999999999999d"] {
            assert_eq!(span(bad), None, "{bad}");
        }
    }
}
