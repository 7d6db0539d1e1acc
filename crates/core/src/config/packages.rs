//! `[herald.packages]`: how the package chain speaks up — when a package counts as behind
//! upstream for the tray, when a missing build after an upstream release is worth a
//! notification, how long gating must hold to count as settled, and which chain
//! notifications are raised at all.

use super::catch_up::span;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSettings {
    /// The tray lists watched packages behind upstream for longer than this (`7d`).
    #[serde(default = "default_behind_after")]
    pub behind_after: String,
    /// A watched package with a new upstream release and no build this long after it
    /// notifies once (`3d`).
    #[serde(default = "default_no_build_after")]
    pub no_build_after: String,
    /// How long Greenwave's decision on an update must hold to count as settled (`15m`).
    #[serde(default = "default_gating_settle")]
    pub gating_settle: String,
    /// Notify when one of my updates' gating settles.
    #[serde(default = "yes")]
    pub notify_gating: bool,
    /// Notify when one of my updates reaches stable.
    #[serde(default = "yes")]
    pub notify_stable: bool,
    /// Notify when a watched package's upstream release has had no build for `no_build_after`.
    #[serde(default = "yes")]
    pub notify_no_build: bool,
}

fn yes() -> bool {
    true
}
fn default_behind_after() -> String {
    "7d".to_owned()
}
fn default_no_build_after() -> String {
    "3d".to_owned()
}
fn default_gating_settle() -> String {
    "15m".to_owned()
}

impl Default for PackageSettings {
    fn default() -> Self {
        PackageSettings {
            behind_after: default_behind_after(),
            no_build_after: default_no_build_after(),
            gating_settle: default_gating_settle(),
            notify_gating: true,
            notify_stable: true,
            notify_no_build: true,
        }
    }
}

impl PackageSettings {
    pub fn is_default(&self) -> bool {
        *self == PackageSettings::default()
    }

    pub fn behind_after(&self) -> Duration {
        span(&self.behind_after).unwrap_or(Duration::from_secs(7 * 86_400))
    }

    pub fn no_build_after(&self) -> Duration {
        span(&self.no_build_after).unwrap_or(Duration::from_secs(3 * 86_400))
    }

    pub fn gating_settle(&self) -> Duration {
        span(&self.gating_settle).unwrap_or(Duration::from_secs(15 * 60))
    }

    pub(super) fn validate(&self) -> Result<(), crate::error::ConfigError> {
        for (key, value) in [
            ("herald.packages.behind_after", &self.behind_after),
            ("herald.packages.no_build_after", &self.no_build_after),
            ("herald.packages.gating_settle", &self.gating_settle),
        ] {
            if span(value).is_none() {
                return Err(crate::error::ConfigError::Invalid {
                    key: key.to_owned(),
                    reason: "a length such as 15m, 12h, 3d or 1w".to_owned(),
                });
            }
        }
        Ok(())
    }
}
