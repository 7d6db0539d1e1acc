//! Reading the settings: the config as Herald would load it, the rules as written, and
//! whether the keyring holds each connection's secrets, all from one read of the file, whose
//! text comes along as the save's base.

use super::{url, ConnectionSettings, NotifySettings, Profile, Settings, SettingsError};
use crate::config::edit::ConfigEditor;
use crate::config::Config;
use crate::error::ConfigError;
use crate::secrets::{SecretKind, SecretStore};
use std::path::Path;

impl Settings {
    /// The settings in `config_path` (the defaults when there is no such file), with
    /// `has_password` / `has_key_passphrase` from `secrets`. Blocks on the keyring.
    pub fn load(config_path: &Path, secrets: &SecretStore) -> Result<Settings, SettingsError> {
        Settings::load_with(config_path, |connection, kind| {
            // A secret saved for another address is of no use to this one: not "stored".
            let binding = crate::secrets::Binding::of_url(&connection.amqp_url)?;
            secrets.contains(&connection.name, kind, &binding)
        })
    }

    /// [`Settings::load`] with `stored` saying whether a connection's secret is stored.
    pub fn load_with(
        config_path: &Path,
        stored: impl FnMut(
            &crate::config::Connection,
            SecretKind,
        ) -> Result<bool, crate::error::SecretError>,
    ) -> Result<Settings, SettingsError> {
        let text = match std::fs::read_to_string(config_path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ConfigError::Read {
                    path: config_path.to_owned(),
                    source,
                }
                .into())
            }
        };
        Settings::from_text(text.as_deref(), config_path, stored)
    }

    /// The settings `text` says (`None`: there is no file), `base` included.
    pub(super) fn from_text(
        text: Option<&str>,
        config_path: &Path,
        mut stored: impl FnMut(
            &crate::config::Connection,
            SecretKind,
        ) -> Result<bool, crate::error::SecretError>,
    ) -> Result<Settings, SettingsError> {
        let config = match text {
            Some(t) => Config::from_toml(t, config_path)?,
            None => Config::fedora_public(),
        };
        let editor = ConfigEditor::from_text(text.unwrap_or_default(), config_path)?;
        let mut connections = Vec::with_capacity(config.connections.len());
        for c in &config.connections {
            let (url, username) = url::split(&c.amqp_url);
            let path = |p: &Option<std::path::PathBuf>| {
                p.as_ref().map(|p| p.to_string_lossy().into_owned())
            };
            connections.push(ConnectionSettings {
                name: c.name.clone(),
                url,
                username,
                ca_cert: path(&c.tls.ca_cert),
                certfile: path(&c.tls.certfile),
                keyfile: path(&c.tls.keyfile),
                has_password: stored(c, SecretKind::Password)?,
                has_key_passphrase: stored(c, SecretKind::KeyPassphrase)?,
            });
        }
        let h = &config.herald;
        Ok(Settings {
            connections,
            profile: Profile::from(&h.profile),
            rules_toml: editor.rules_text()?,
            unmatched: config.unmatched(),
            notifications: NotifySettings::from(&h.notifications),
            retention_days: h.retention_days,
            retention_max_rows: h.retention_max_rows,
            catch_up: h.catch_up,
            catch_up_max: h.catch_up_max.clone(),
            datagrepper_url: h.datagrepper_url.clone(),
            config_path: config_path.to_string_lossy().into_owned(),
            base: Some(editor.original().to_owned()),
        })
    }
}
