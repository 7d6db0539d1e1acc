//! Trying settings before saving them: a connection test and a dry run of draft rules over
//! the stored history.

use super::{url, validate, ConnectionSettings, SettingsError, TestResult};
use crate::config::{self, Config, Tls, FEDORA_PUBLIC_URL, PRIMARY};
use crate::filter::{self, DryRun};
use crate::history::HistoryStore;
use crate::secrets::SecretStore;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Tries the connection as the window shows it (with the password and key passphrase
/// stored for its name): see [`crate::bus::probe()`]. Settings that cannot work are
/// answered without connecting.
pub async fn probe(c: &ConnectionSettings, secrets: &SecretStore, timeout: Duration) -> TestResult {
    match connection_of(c) {
        Ok(conn) => crate::bus::probe(&conn, secrets, timeout).await,
        Err(e) => TestResult {
            ok: false,
            message: e.to_string(),
            elapsed_ms: 0,
        },
    }
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
