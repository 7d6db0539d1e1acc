//! Everything [`super::save`] checks before it touches the file, each failure naming the
//! field to fix.

use super::{url, Settings, SettingsError};
use crate::config::PRIMARY;
use crate::filter::{effective_rules, RuleSet, RuleSpec};
use std::path::Path;

/// Longest retention a person could mean: a century.
const RETENTION_DAYS_MAX: u32 = 36_500;
/// The largest integer JavaScript holds exactly, which the window edits these in.
const JS_SAFE_MAX: u64 = (1 << 53) - 1;
/// A digest window longer than a day would hold notifications back for days.
const DIGEST_WINDOW_MAX: u64 = 86_400;
const RATE_LIMIT_MAX: u32 = 100_000;
const NAME_MAX: usize = 64;

/// The settings, checked, with what saving needs in written form.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The `amqp_url` to write for each connection, in order.
    pub amqp_urls: Vec<String>,
    pub rules: Vec<RuleSpec>,
}

/// A connection's name: it names the connection's keyring entries, so it is short and plain.
/// `i` is the connection's place, for an error about an empty name.
pub(crate) fn check_name(name: &str, i: usize) -> Result<(), SettingsError> {
    if name.trim().is_empty() {
        return Err(SettingsError::invalid(
            format!("connections.{i}.name"),
            "a connection needs a name",
        ));
    }
    if name.len() > NAME_MAX
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
    {
        return Err(SettingsError::invalid(
            format!("connections.{name}.name"),
            format!(
                "use at most {NAME_MAX} letters, digits, '-', '_' or '.' (it names the \
                 connection's keyring entries)"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn check(s: &Settings) -> Result<Checked, SettingsError> {
    match s.connections.first() {
        Some(c) if c.name == PRIMARY => {}
        _ => {
            return Err(SettingsError::invalid(
                "connections",
                format!("the first connection must be the primary one, named {PRIMARY:?}"),
            ))
        }
    }
    let mut amqp_urls = Vec::with_capacity(s.connections.len());
    for (i, c) in s.connections.iter().enumerate() {
        let field = |f: &str| format!("connections.{}.{f}", c.name);
        check_name(&c.name, i)?;
        if s.connections[..i].iter().any(|o| o.name == c.name) {
            return Err(SettingsError::invalid(
                field("name"),
                "two connections have this name",
            ));
        }
        amqp_urls.push(url::join(&c.url, c.username.as_deref(), &field("url"))?);
        let given = |p: &Option<String>| p.as_deref().is_some_and(|p| !p.trim().is_empty());
        if given(&c.certfile) != given(&c.keyfile) {
            let missing = if given(&c.certfile) {
                "keyfile"
            } else {
                "certfile"
            };
            return Err(SettingsError::invalid(
                field(missing),
                "a client certificate needs both its certificate file and its key file",
            ));
        }
    }

    for (_, field, names) in s.profile.lists() {
        if let Some(bad) = names.iter().find(|n| n.trim().is_empty() || n.trim() != *n) {
            return Err(SettingsError::invalid(
                format!("profile.{field}"),
                format!("{bad:?} is not a name (empty, or spaces around it)"),
            ));
        }
    }

    let rules = parse_rules(&s.rules_toml)?;
    let profile = crate::filter::Profile::from(&s.profile);
    for c in &s.connections {
        let list: Vec<RuleSpec> = effective_rules(&profile, &rules, &[])
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| r.applies_to(&c.name))
            .collect();
        RuleSet::compile(&list, &profile, s.unmatched)?;
    }

    let n = &s.notifications;
    if let Some(q) = &n.quiet_hours {
        crate::notify::QuietHours {
            start: q.start.clone(),
            end: q.end.clone(),
        }
        .validate()
        .map_err(|reason| SettingsError::invalid("notifications.quiet_hours", reason))?;
    }
    if n.digest_window_secs > DIGEST_WINDOW_MAX {
        return Err(SettingsError::invalid(
            "notifications.digest_window_secs",
            format!("at most {DIGEST_WINDOW_MAX} seconds (a day)"),
        ));
    }
    if n.rate_limit_per_minute > RATE_LIMIT_MAX {
        return Err(SettingsError::invalid(
            "notifications.rate_limit_per_minute",
            format!("at most {RATE_LIMIT_MAX} (0 means no limit)"),
        ));
    }
    if s.retention_days > RETENTION_DAYS_MAX {
        return Err(SettingsError::invalid(
            "retention_days",
            format!("at most {RETENTION_DAYS_MAX} days (0 keeps everything)"),
        ));
    }
    if s.retention_max_rows > JS_SAFE_MAX {
        return Err(SettingsError::invalid(
            "retention_max_rows",
            format!("at most {JS_SAFE_MAX} (0 means no limit)"),
        ));
    }
    super::catch_up::check(s)?;
    Ok(Checked { amqp_urls, rules })
}

/// The rules in the window's text: `[[herald.rules]]` tables (or `[[rules]]`, or one rule
/// table). Blank text, or only comments, is no rules.
pub(crate) fn parse_rules(text: &str) -> Result<Vec<RuleSpec>, SettingsError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| SettingsError::rules(&e))?;
    if table.is_empty() {
        return Ok(Vec::new());
    }
    // A rule without an id is refused by the rule parser itself.
    crate::config::edit::parse_rules(text, Path::new("rules_toml"))
        .map_err(|e| SettingsError::rules(&e))
}
