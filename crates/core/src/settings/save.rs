//! Writing the settings back: validate everything, then set only the keys whose value
//! changes. A key already saying the wanted value stays exactly as written (even when that
//! value is the default, or the same value spelled otherwise, as `72h` for `3d`); a key that
//! would change to its default is removed instead; any other change is written in place,
//! keeping the key's comment. The file is replaced atomically, and not at all when nothing
//! changed.
//!
//! All of it happens under the config's lock. When the file is no longer the text the window
//! read ([`Settings::base`]), the window's settings are first merged with the file's
//! ([`super::merge`]), and what is written is the merge.

use super::validate::Checked;
use super::{merge, url, validate, ConnectionSettings, SaveReport, Settings, SettingsError};
use crate::config::edit::ConfigEditor;
use crate::config::{Connection, HeraldSettings, Tls, FEDORA_PUBLIC_URL, PRIMARY};
use crate::filter::Action;
use std::path::{Path, PathBuf};

/// Validates `settings` and writes what differs into the config at `config_path` (created
/// when missing), merged with what changed in the file since `settings.base` was read.
/// Passwords are never written: a URL holding one is refused.
pub fn save(config_path: &Path, settings: &Settings) -> Result<SaveReport, SettingsError> {
    // The window's own mistakes are named by its fields, before any merge.
    let checked = validate::check(settings)?;
    let report = ConfigEditor::modify(config_path, |e| {
        let conflicts = match settings.base.as_deref() {
            Some(base) if base != e.original() => {
                let merged = merge::three_way(settings, base, e.original(), config_path)?;
                let checked = validate::check(&merged.settings)?;
                write(e, &merged.settings, &checked)?;
                merged.conflicts
            }
            _ => {
                write(e, settings, &checked)?;
                Vec::new()
            }
        };
        Ok::<_, SettingsError>(SaveReport {
            path: config_path.to_string_lossy().into_owned(),
            changed: e.is_changed(),
            conflicts,
        })
    })?;
    if report.changed {
        tracing::info!(
            path = %config_path.display(),
            conflicts = report.conflicts.len(),
            "settings saved"
        );
    }
    Ok(report)
}

/// Changes the keys of `e` whose value differs from `settings`; `checked` is what
/// validating them gave.
fn write(
    e: &mut ConfigEditor,
    settings: &Settings,
    checked: &Checked,
) -> Result<(), SettingsError> {
    let mut urls = checked.amqp_urls.iter();
    for c in &settings.connections {
        let amqp_url = urls.next().map(String::as_str).unwrap_or_default();
        connection(e, c, amqp_url)?;
    }
    if let Some(toml::Value::Table(extra)) = e.value(&["herald", "connections"]) {
        for name in extra.keys() {
            if !settings.connections.iter().any(|c| &c.name == name) {
                e.remove_value(&["herald", "connections", name]);
            }
        }
    }

    for (key, _, names) in settings.profile.lists() {
        let list =
            |v: &[String]| toml::Value::Array(v.iter().cloned().map(toml::Value::String).collect());
        apply(e, &["herald", "profile", key], list(names), list(&[]))?;
    }

    if e.rules()? != checked.rules {
        e.set_rules(&checked.rules)?;
    }

    notifications(e, settings)?;
    let defaults = HeraldSettings::default();
    apply(
        e,
        &["herald", "retention_days"],
        int(u64::from(settings.retention_days)),
        int(u64::from(defaults.retention_days)),
    )?;
    apply(
        e,
        &["herald", "retention_max_rows"],
        int(settings.retention_max_rows),
        int(defaults.retention_max_rows),
    )?;
    super::catch_up::write(e, settings)?;

    // Last: its default depends on whether any rule is in force once the rest is written.
    let with_rules = e.config()?;
    let implied = if with_rules.effective_rules().is_empty() {
        Action::History
    } else {
        Action::Drop
    };
    apply(
        e,
        &["herald", "unmatched"],
        toml::Value::String(settings.unmatched.as_str().to_owned()),
        toml::Value::String(implied.as_str().to_owned()),
    )?;

    // The file as Herald will read it: the last word on validity.
    e.config()?;
    Ok(())
}

/// Sets `path` to `wanted` unless the file already means it; `default` is what an absent
/// key means, and wanting it removes the key.
pub(super) fn apply(
    e: &mut ConfigEditor,
    path: &[&str],
    wanted: toml::Value,
    default: toml::Value,
) -> Result<(), SettingsError> {
    apply_by(e, path, wanted, default, |a, b| a == b)
}

/// [`apply`] for values that can be spelled more than one way, `same` saying when two mean
/// the same thing.
pub(super) fn apply_by(
    e: &mut ConfigEditor,
    path: &[&str],
    wanted: toml::Value,
    default: toml::Value,
    same: impl Fn(&toml::Value, &toml::Value) -> bool,
) -> Result<(), SettingsError> {
    let current = e.value(path);
    if same(current.as_ref().unwrap_or(&default), &wanted) {
        return Ok(());
    }
    if same(&wanted, &default) {
        e.remove_value(path);
    } else {
        e.set_value(path, edit_value(&wanted))?;
    }
    Ok(())
}

/// One connection's URL and TLS files: the top level of the file for the primary one,
/// `[herald.connections.<name>]` for the others.
fn connection(
    e: &mut ConfigEditor,
    c: &ConnectionSettings,
    amqp_url: &str,
) -> Result<(), SettingsError> {
    let primary = c.name == PRIMARY;
    let prefix: Vec<&str> = if primary {
        Vec::new()
    } else {
        vec!["herald", "connections", &c.name]
    };
    let at = |key: &'static str| {
        let mut p = prefix.clone();
        p.push(key);
        p
    };
    let written = match e.value(&at("amqp_url")) {
        Some(toml::Value::String(s)) => Some(s),
        _ => None,
    };
    let default_url = primary.then_some(FEDORA_PUBLIC_URL);
    let current = written.as_deref().or(default_url);
    let url_absent = if current.is_some_and(|cur| url::same_login(cur, amqp_url)) {
        written.is_none()
    } else if default_url.is_some_and(|d| url::same_login(d, amqp_url)) {
        e.remove_value(&at("amqp_url"));
        true
    } else {
        e.set_value(&at("amqp_url"), amqp_url)?;
        false
    };

    let wanted = Tls {
        ca_cert: path(&c.ca_cert),
        certfile: path(&c.certfile),
        keyfile: path(&c.keyfile),
    };
    // What no `tls` table means, once the URL is written.
    let default_tls = if primary && url_absent {
        Connection::fedora_public(PRIMARY).tls
    } else {
        Tls::default()
    };
    let written_tls: Option<Tls> = e.value(&at("tls")).and_then(|v| v.try_into().ok());
    if written_tls.as_ref().unwrap_or(&default_tls) == &wanted {
        return Ok(());
    }
    if wanted == default_tls {
        e.remove_value(&at("tls"));
        return Ok(());
    }
    if wanted == Tls::default() {
        // No keys at all would read as the Fedora profile's certificates again.
        return Err(SettingsError::invalid(
            format!("connections.{}.certfile", c.name),
            "the Fedora public broker logs in with a client certificate: give its certificate \
             and key files",
        ));
    }
    for (key, value) in [
        ("ca_cert", &wanted.ca_cert),
        ("certfile", &wanted.certfile),
        ("keyfile", &wanted.keyfile),
    ] {
        let mut p = at("tls");
        p.push(key);
        let was = written_tls.as_ref().and_then(|t| match key {
            "ca_cert" => t.ca_cert.clone(),
            "certfile" => t.certfile.clone(),
            _ => t.keyfile.clone(),
        });
        match value {
            Some(v) if was.as_ref() != Some(v) || written_tls.is_none() => {
                e.set_value(&p, v.to_string_lossy().as_ref())?;
            }
            Some(_) => {}
            None => {
                e.remove_value(&p);
            }
        }
    }
    Ok(())
}

fn notifications(e: &mut ConfigEditor, settings: &Settings) -> Result<(), SettingsError> {
    let n = &settings.notifications;
    let d = crate::notify::NotifySettings::default();
    let at = |key| ["herald", "notifications", key];
    apply(e, &at("enabled"), n.enabled.into(), d.enabled.into())?;
    apply(
        e,
        &at("digest_window_secs"),
        int(n.digest_window_secs),
        int(d.digest_window_secs),
    )?;
    apply(
        e,
        &at("rate_limit_per_minute"),
        int(u64::from(n.rate_limit_per_minute)),
        int(u64::from(d.rate_limit_per_minute)),
    )?;
    apply(
        e,
        &at("summary_after_quiet"),
        n.summary_after_quiet.into(),
        d.summary_after_quiet.into(),
    )?;
    let written = match e.value(&at("quiet_hours")) {
        Some(toml::Value::Table(t)) => Some((
            t.get("start")
                .and_then(toml::Value::as_str)
                .map(str::to_owned),
            t.get("end")
                .and_then(toml::Value::as_str)
                .map(str::to_owned),
        )),
        _ => None,
    };
    let wanted = n
        .quiet_hours
        .as_ref()
        .map(|q| (Some(q.start.clone()), Some(q.end.clone())));
    if written == wanted {
        return Ok(());
    }
    match &n.quiet_hours {
        None => {
            e.remove_value(&at("quiet_hours"));
        }
        Some(q) => {
            e.set_value(
                &["herald", "notifications", "quiet_hours", "start"],
                q.start.as_str(),
            )?;
            e.set_value(
                &["herald", "notifications", "quiet_hours", "end"],
                q.end.as_str(),
            )?;
        }
    }
    Ok(())
}

fn path(p: &Option<String>) -> Option<PathBuf> {
    p.as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// Validation keeps every number well inside `i64`.
fn int(n: u64) -> toml::Value {
    toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A plain value as the editor writes it.
fn edit_value(v: &toml::Value) -> toml_edit::Value {
    match v {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => toml_edit::Value::Array(a.iter().map(edit_value).collect()),
        toml::Value::Table(t) => toml_edit::Value::InlineTable(
            t.iter().map(|(k, v)| (k.as_str(), edit_value(v))).collect(),
        ),
    }
}
