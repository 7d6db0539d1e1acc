//! Trying settings before saving them: a connection test, the secrets that go with a
//! connection, and a dry run of draft rules over the stored history.
//!
//! The window's page names the connection to test, so the test must not become a way to
//! send a stored secret somewhere else: the keyring is asked only when the connection is
//! exactly the one the config file saves (and then only for the address each secret was
//! saved for); any other connection is tested with the secrets typed for it, or none.

use super::{url, validate, ConnectionSettings, SettingsError, TestResult};
use crate::bus::Credentials;
use crate::config::{self, Config, Tls, FEDORA_PUBLIC_URL, PRIMARY};
use crate::filter::{self, DryRun};
use crate::history::HistoryStore;
use crate::secrets::{Binding, Secret, SecretKind, SecretStore};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Secrets typed in the window for one connection test; kept nowhere.
#[derive(Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Typed {
    pub password: Option<String>,
    pub key_passphrase: Option<String>,
}

impl std::fmt::Debug for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Typed")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field(
                "key_passphrase",
                &self.key_passphrase.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Tries the connection as the window shows it: see [`crate::bus::probe()`]. `typed` secrets
/// are used first; the keyring only for the connection the config at `config_path` saves
/// under that name, unchanged. Settings that cannot work are answered without connecting.
pub async fn probe(
    c: &ConnectionSettings,
    typed: Typed,
    config_path: &Path,
    secrets: &SecretStore,
    timeout: Duration,
) -> TestResult {
    let refused = |message: String| TestResult {
        ok: false,
        message,
        elapsed_ms: 0,
    };
    let conn = match connection_of(c) {
        Ok(conn) => conn,
        Err(e) => return refused(e.to_string()),
    };
    let saved = match is_saved(&conn, config_path) {
        Ok(saved) => saved,
        Err(e) => return refused(e.to_string()),
    };
    let creds = Credentials {
        keyring: saved.then_some(secrets),
        password: typed.password.map(Secret::new),
        key_passphrase: typed.key_passphrase.map(Secret::new),
    };
    crate::bus::probe(&conn, &creds, timeout).await
}

/// Whether `conn` is the connection of its name in the config at `config_path`, with the
/// same address, user and TLS files.
fn is_saved(conn: &config::Connection, config_path: &Path) -> Result<bool, SettingsError> {
    let config = Config::load(config_path, false)?;
    let Some(saved) = config.connections.iter().find(|s| s.name == conn.name) else {
        return Ok(false);
    };
    let same_address = match (
        Binding::of_url(&saved.amqp_url),
        Binding::of_url(&conn.amqp_url),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    Ok(same_address && saved.tls == conn.tls)
}

/// Stores `value` as the `kind` secret of connection `c`, bound to the address the window
/// shows for it; an empty or missing value deletes the stored one. Blocks on the keyring.
pub fn store_secret(
    c: &ConnectionSettings,
    kind: SecretKind,
    value: Option<Secret<String>>,
    secrets: &SecretStore,
) -> Result<(), SettingsError> {
    validate::check_name(&c.name, 0)?;
    match value.filter(|v| !v.expose().is_empty()) {
        Some(value) => {
            let conn = connection_of(c)?;
            let binding = Binding::of_url(&conn.amqp_url)?;
            secrets.set(&c.name, kind, &binding, &value)?;
        }
        None => {
            secrets.delete(&c.name, kind)?;
        }
    }
    Ok(())
}

/// The connection the pipeline would make of `c`.
pub(crate) fn connection_of(c: &ConnectionSettings) -> Result<config::Connection, SettingsError> {
    let amqp_url = url::join(
        &c.url,
        c.username.as_deref(),
        &format!("connections.{}.url", c.name),
    )?;
    let path = |p: &Option<String>| {
        p.as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    };
    let mut conn = config::Connection::fedora_public(&c.name);
    conn.fedora_public_profile = url::same_login(&amqp_url, FEDORA_PUBLIC_URL);
    conn.amqp_url = amqp_url;
    conn.tls = Tls {
        ca_cert: path(&c.ca_cert),
        certfile: path(&c.certfile),
        keyfile: path(&c.keyfile),
    };
    Ok(conn)
}

/// What the primary connection's rules would do to the newest `limit` stored messages if
/// the config's `[[herald.rules]]` were `rules_toml` (profile and default rules as
/// configured). Nothing is saved.
pub async fn dry_run(
    config_path: &Path,
    rules_toml: &str,
    store: &HistoryStore,
    limit: usize,
) -> Result<DryRun, SettingsError> {
    let mut config = Config::load(config_path, false)?;
    config.herald.rules = validate::parse_rules(rules_toml)?;
    let rules = config.rules_for(PRIMARY);
    let unmatched = config.unmatched();
    Ok(filter::dry_run(&rules, &config.herald.profile, unmatched, store, limit).await?)
}

impl From<filter::DryRunError> for SettingsError {
    fn from(e: filter::DryRunError) -> SettingsError {
        match e {
            filter::DryRunError::Rules(e) => SettingsError::from(e),
            filter::DryRunError::History(e) => SettingsError::History(e),
        }
    }
}
