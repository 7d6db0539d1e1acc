//! The settings window's view of the config: the values a person edits (brokers, profile,
//! rules as TOML text, notifications, retention, catch-up from the bus archive), read from
//! the config file and the keyring ([`Settings::load`]) and written back with [`save()`],
//! which validates everything first and then changes only the keys whose value changed — a
//! value equal to its default removes its key — through the format-preserving
//! [`crate::config::edit::ConfigEditor`], so comments and layout survive and an unchanged
//! file is not rewritten.
//!
//! Saving holds the config's lock ([`crate::config::edit::ConfigEditor::modify`]) from
//! reading to writing, and the window sends back the text its settings were read from
//! ([`Settings::base`]). When the file changed meanwhile (Mute from a notification, `herald
//! rules`, an editor), the save merges three ways: a setting the window left as it was read
//! keeps the file's current value, one the window changed gets the window's value, and
//! where both changed the same setting differently the window wins and the report names it
//! ([`SaveReport::conflicts`]). Nothing changed elsewhere is lost without a word.
//!
//! No secret is ever part of [`Settings`]: only whether one is stored. A broker URL typed
//! with a password in it is refused; passwords go to the keyring
//! ([`crate::secrets::SecretStore`]).
//!
//! These types are the IPC contract of the desktop app: field names and shapes are fixed.

use crate::filter::Action;
use serde::{Deserialize, Serialize};

mod catch_up;
mod error;
mod load;
mod merge;
mod save;
mod try_it;
mod url;
mod validate;

pub use crate::bus::TestResult;
pub use error::{SettingsError, SettingsErrorKind};
pub use save::save;
pub use try_it::{dry_run, probe, store_secret, Typed};

/// Everything the settings window edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Settings {
    /// The primary connection (named `default`) first.
    pub connections: Vec<ConnectionSettings>,
    pub profile: Profile,
    /// The `[[herald.rules]]` tables as TOML text.
    pub rules_toml: String,
    /// What happens to messages no rule matches.
    pub unmatched: Action,
    pub notifications: NotifySettings,
    pub retention_days: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub retention_max_rows: u64,
    /// Fill gaps from the bus archive by itself after Herald was away.
    pub catch_up: bool,
    /// Longer gaps wait for `herald backfill`: `12h`, `3d`, `1w`.
    pub catch_up_max: String,
    /// The bus archive (datagrepper), an http(s) address.
    pub datagrepper_url: String,
    /// Read-only: the file these settings live in.
    pub config_path: String,
    /// Opaque: what the settings were read from, sent back unchanged with a save so that
    /// changes made to the file since are merged rather than overwritten. It holds no secret
    /// (passwords live in the keyring). `None` (a page that does not send it) saves over the
    /// file as it is.
    #[serde(default)]
    pub base: Option<String>,
}

/// One broker connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionSettings {
    /// `default` is the primary connection (the top level of the file).
    pub name: String,
    /// `amqp(s)://host:port/vhost`, without user or password.
    pub url: String,
    /// The user of the URL.
    pub username: Option<String>,
    pub ca_cert: Option<String>,
    pub certfile: Option<String>,
    pub keyfile: Option<String>,
    /// Read-only: a password is stored in the keyring.
    #[serde(default)]
    pub has_password: bool,
    /// Read-only: a key passphrase is stored in the keyring.
    #[serde(default)]
    pub has_key_passphrase: bool,
}

/// Who the user is and what they watch (`[herald.profile]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Profile {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub packages: Vec<String>,
    pub containers: Vec<String>,
    pub modules: Vec<String>,
    pub flatpaks: Vec<String>,
    /// People whose actions the user follows (`follow` in the file).
    pub follows: Vec<String>,
}

/// `[herald.notifications]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotifySettings {
    pub enabled: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub digest_window_secs: u64,
    pub rate_limit_per_minute: u32,
    pub quiet_hours: Option<QuietHours>,
    pub summary_after_quiet: bool,
}

/// A daily quiet period, `HH:MM` to `HH:MM` local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// What [`save`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SaveReport {
    pub path: String,
    /// False when the file already said all of it (and was left untouched).
    pub changed: bool,
    /// Settings changed both in the window and in the file since the window read it, to
    /// different values: the window's value was saved. Named as `rule mute-foo`,
    /// `connection pulp`, `profile.users`, `notifications.enabled`, `retention_days`.
    #[serde(default)]
    pub conflicts: Vec<String>,
}

impl Profile {
    /// Each list with its key in `[herald.profile]` and its field name here (they differ
    /// only for `follow` / `follows`).
    pub(crate) fn lists(&self) -> [(&'static str, &'static str, &Vec<String>); 7] {
        [
            ("users", "users", &self.users),
            ("groups", "groups", &self.groups),
            ("packages", "packages", &self.packages),
            ("containers", "containers", &self.containers),
            ("modules", "modules", &self.modules),
            ("flatpaks", "flatpaks", &self.flatpaks),
            ("follow", "follows", &self.follows),
        ]
    }
}

impl From<&crate::filter::Profile> for Profile {
    fn from(p: &crate::filter::Profile) -> Profile {
        Profile {
            users: p.users.clone(),
            groups: p.groups.clone(),
            packages: p.packages.clone(),
            containers: p.containers.clone(),
            modules: p.modules.clone(),
            flatpaks: p.flatpaks.clone(),
            follows: p.follow.clone(),
        }
    }
}

impl From<&Profile> for crate::filter::Profile {
    fn from(p: &Profile) -> crate::filter::Profile {
        crate::filter::Profile {
            users: p.users.clone(),
            groups: p.groups.clone(),
            packages: p.packages.clone(),
            containers: p.containers.clone(),
            modules: p.modules.clone(),
            flatpaks: p.flatpaks.clone(),
            follow: p.follows.clone(),
        }
    }
}

impl From<&crate::notify::NotifySettings> for NotifySettings {
    fn from(n: &crate::notify::NotifySettings) -> NotifySettings {
        NotifySettings {
            enabled: n.enabled,
            digest_window_secs: n.digest_window_secs,
            rate_limit_per_minute: n.rate_limit_per_minute,
            quiet_hours: n.quiet_hours.as_ref().map(|q| QuietHours {
                start: q.start.clone(),
                end: q.end.clone(),
            }),
            summary_after_quiet: n.summary_after_quiet,
        }
    }
}

impl From<&NotifySettings> for crate::notify::NotifySettings {
    fn from(n: &NotifySettings) -> crate::notify::NotifySettings {
        crate::notify::NotifySettings {
            enabled: n.enabled,
            digest_window_secs: n.digest_window_secs,
            rate_limit_per_minute: n.rate_limit_per_minute,
            quiet_hours: n.quiet_hours.as_ref().map(|q| crate::notify::QuietHours {
                start: q.start.clone(),
                end: q.end.clone(),
            }),
            summary_after_quiet: n.summary_after_quiet,
        }
    }
}

#[cfg(test)]
mod tests;
