//! The three-way merge behind a save that finds the file changed since the window read it:
//! the settings the window read (the base), the window's settings and the file's current
//! ones are compared setting by setting — each connection by name, each profile list, each
//! rule by id, each notification field, retention, catch-up, what happens to unmatched
//! messages. The window's value is taken where it differs from the base, the file's
//! everywhere else, so a `mute-…` rule written by the tray while the window was open stays,
//! and a rule the window deleted goes. Where both sides changed a setting to different
//! values the window's wins, and the setting is named in the conflicts.

use super::{validate, ConnectionSettings, NotifySettings, Profile, Settings, SettingsError};
use crate::config::edit::rule_snippet;
use crate::filter::RuleSpec;
use std::path::Path;

/// The settings to write, and the settings both sides changed differently.
#[derive(Debug)]
pub(super) struct Merged {
    pub settings: Settings,
    pub conflicts: Vec<String>,
}

/// Merges `mine` (the window's settings, read from `base`) with the file's `current` text.
pub(super) fn three_way(
    mine: &Settings,
    base: &str,
    current: &str,
    path: &Path,
) -> Result<Merged, SettingsError> {
    let base = read(base, path).map_err(|_| {
        SettingsError::invalid(
            "base",
            "the settings were read from a file that no longer makes sense; close the \
             settings and open them again",
        )
    })?;
    let theirs = read(current, path)?;
    let rules = |s: &Settings| validate::parse_rules(&s.rules_toml);
    let (my_rules, base_rules, their_rules) = (rules(mine)?, rules(&base)?, rules(&theirs)?);

    let mut m = Merge::default();
    let connections = m.keyed(
        "connection",
        &mine.connections,
        &base.connections,
        &theirs.connections,
        |c| &c.name,
        same_connection,
    );
    let rules = m.keyed(
        "rule",
        &my_rules,
        &base_rules,
        &their_rules,
        |r| &r.id,
        |a, b| a == b,
    );
    let profile = m.profile(&mine.profile, &base.profile, &theirs.profile);
    let notifications = m.notifications(
        &mine.notifications,
        &base.notifications,
        &theirs.notifications,
    );
    let settings = Settings {
        connections,
        profile,
        rules_toml: rules_text(&rules)?,
        unmatched: m.pick(
            "unmatched",
            &mine.unmatched,
            &base.unmatched,
            &theirs.unmatched,
        ),
        notifications,
        retention_days: m.field(mine, &base, &theirs, "retention_days", |s| {
            &s.retention_days
        }),
        retention_max_rows: m.field(mine, &base, &theirs, "retention_max_rows", |s| {
            &s.retention_max_rows
        }),
        catch_up: m.field(mine, &base, &theirs, "catch_up", |s| &s.catch_up),
        catch_up_max: m.field(mine, &base, &theirs, "catch_up_max", |s| &s.catch_up_max),
        datagrepper_url: m.field(mine, &base, &theirs, "datagrepper_url", |s| {
            &s.datagrepper_url
        }),
        config_path: mine.config_path.clone(),
        base: mine.base.clone(),
    };
    Ok(Merged {
        settings,
        conflicts: m.conflicts,
    })
}

/// The settings a config text says, as loading them would (no keyring: whether a secret
/// is stored plays no part in a merge). Empty text is no file.
fn read(text: &str, path: &Path) -> Result<Settings, SettingsError> {
    let text = Some(text).filter(|t| !t.is_empty());
    Settings::from_text(text, path, |_, _| Ok(false))
}

/// The window's connection settings, without what is read-only.
fn same_connection(a: &ConnectionSettings, b: &ConnectionSettings) -> bool {
    (&a.url, &a.username, &a.ca_cert, &a.certfile, &a.keyfile)
        == (&b.url, &b.username, &b.ca_cert, &b.certfile, &b.keyfile)
}

/// The rules as the window's text would hold them.
fn rules_text(rules: &[RuleSpec]) -> Result<String, SettingsError> {
    let mut out = String::new();
    for r in rules {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&rule_snippet(r)?);
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Merge {
    conflicts: Vec<String>,
}

impl Merge {
    /// The merged value of one setting.
    fn pick<T: PartialEq + Clone>(&mut self, name: &str, mine: &T, base: &T, theirs: &T) -> T {
        self.pick_by(name, Some(mine), Some(base), Some(theirs), |a, b| a == b)
            .cloned()
            .unwrap_or_else(|| mine.clone())
    }

    /// [`Merge::pick`] of a field of [`Settings`].
    fn field<T: PartialEq + Clone>(
        &mut self,
        mine: &Settings,
        base: &Settings,
        theirs: &Settings,
        name: &str,
        get: impl Fn(&Settings) -> &T,
    ) -> T {
        self.pick(name, get(mine), get(base), get(theirs))
    }

    /// The merge of one setting that may be absent on any side (a rule, a connection);
    /// `None` is absent in the result.
    fn pick_by<'a, T>(
        &mut self,
        name: &str,
        mine: Option<&'a T>,
        base: Option<&'a T>,
        theirs: Option<&'a T>,
        same: impl Fn(&T, &T) -> bool,
    ) -> Option<&'a T> {
        let eq = |a: Option<&T>, b: Option<&T>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => same(a, b),
            _ => false,
        };
        if eq(mine, base) {
            return theirs;
        }
        if !eq(theirs, base) && !eq(theirs, mine) {
            self.conflicts.push(name.to_owned());
        }
        mine
    }

    /// Lists of settings with names (rules by id, connections by name), merged name by name.
    /// The window's order is kept; what only the file has is put after the entry it follows
    /// in the file.
    fn keyed<T: Clone>(
        &mut self,
        kind: &str,
        mine: &[T],
        base: &[T],
        theirs: &[T],
        key: impl Fn(&T) -> &String,
        same: impl Fn(&T, &T) -> bool,
    ) -> Vec<T> {
        let find =
            |list: &'_ [T], k: &String| -> Option<usize> { list.iter().position(|x| key(x) == k) };
        let mut out: Vec<T> = Vec::new();
        for m in mine {
            let k = key(m);
            let b = find(base, k).and_then(|i| base.get(i));
            let t = find(theirs, k).and_then(|i| theirs.get(i));
            if let Some(v) = self.pick_by(&format!("{kind} {k}"), Some(m), b, t, &same) {
                out.push(v.clone());
            }
        }
        for (i, t) in theirs.iter().enumerate() {
            let k = key(t);
            if find(mine, k).is_some() {
                continue;
            }
            let b = find(base, k).and_then(|i| base.get(i));
            let Some(v) = self.pick_by(&format!("{kind} {k}"), None, b, Some(t), &same) else {
                continue;
            };
            let at = theirs[..i]
                .iter()
                .rev()
                .find_map(|before| out.iter().position(|o| key(o) == key(before)))
                .map_or(0, |p| p + 1);
            out.insert(at, v.clone());
        }
        out
    }

    fn profile(&mut self, mine: &Profile, base: &Profile, theirs: &Profile) -> Profile {
        let mut list = |name: &str, get: fn(&Profile) -> &Vec<String>| {
            self.pick(
                &format!("profile.{name}"),
                get(mine),
                get(base),
                get(theirs),
            )
        };
        Profile {
            users: list("users", |p| &p.users),
            groups: list("groups", |p| &p.groups),
            packages: list("packages", |p| &p.packages),
            containers: list("containers", |p| &p.containers),
            modules: list("modules", |p| &p.modules),
            flatpaks: list("flatpaks", |p| &p.flatpaks),
            follows: list("follows", |p| &p.follows),
        }
    }

    fn notifications(
        &mut self,
        mine: &NotifySettings,
        base: &NotifySettings,
        theirs: &NotifySettings,
    ) -> NotifySettings {
        let at = |key: &str| format!("notifications.{key}");
        NotifySettings {
            enabled: self.pick(
                &at("enabled"),
                &mine.enabled,
                &base.enabled,
                &theirs.enabled,
            ),
            digest_window_secs: self.pick(
                &at("digest_window_secs"),
                &mine.digest_window_secs,
                &base.digest_window_secs,
                &theirs.digest_window_secs,
            ),
            rate_limit_per_minute: self.pick(
                &at("rate_limit_per_minute"),
                &mine.rate_limit_per_minute,
                &base.rate_limit_per_minute,
                &theirs.rate_limit_per_minute,
            ),
            quiet_hours: self.pick(
                &at("quiet_hours"),
                &mine.quiet_hours,
                &base.quiet_hours,
                &theirs.quiet_hours,
            ),
            summary_after_quiet: self.pick(
                &at("summary_after_quiet"),
                &mine.summary_after_quiet,
                &base.summary_after_quiet,
                &theirs.summary_after_quiet,
            ),
        }
    }
}
