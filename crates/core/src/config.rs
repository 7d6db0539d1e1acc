//! Configuration: a fedora-messaging `config.toml`, read unchanged, plus Herald's own
//! `[herald]` table. Built in one place — defaults, then the user's file, then command-line
//! and environment overrides — and validated once into typed values.
//!
//! With no broker settings at all Herald uses the Fedora public broker profile, the same one
//! the fedora-messaging package ships as `/etc/fedora-messaging/fedora.toml`.

use crate::error::{ConfigError, FilterError};
use crate::filter::{effective_rules, Action, Profile, RuleOrigin, RuleSet, RuleSpec};
use crate::notify::NotifySettings;
use crate::sources::hosts::{check_root, KnownHosts};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod catch_up;
mod connection;
pub mod edit;
mod packages;
mod write;

pub use crate::secrets::redact_url;
pub use catch_up::{archive_base_url, span, CatchUpTuning, FEDORA_DATAGREPPER};
pub use connection::{Connection, GENERATED_QUEUE};
pub use packages::PackageSettings;

/// The Fedora public broker. The password is empty: the client certificate identifies users.
pub const FEDORA_PUBLIC_URL: &str = "amqps://fedora:@rabbitmq.fedoraproject.org/%2Fpublic_pubsub";
/// Where the fedora-messaging package installs the public broker's certificates.
pub const FEDORA_CERT_DIR: &str = "/etc/fedora-messaging";

/// The example written beside a missing config on first run; every line is a comment.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");

/// Everything that decides what Herald connects to and where it keeps data.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The brokers, the file's top level first (named [`PRIMARY`]), then each
    /// `[herald.connections.<name>]` table.
    pub connections: Vec<Connection>,
    pub herald: HeraldSettings,
    /// The file this came from, if any.
    pub source: Option<PathBuf>,
}

/// The name of the connection the top level of the file describes.
pub const PRIMARY: &str = "default";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub ca_cert: Option<PathBuf>,
    pub certfile: Option<PathBuf>,
    pub keyfile: Option<PathBuf>,
}

impl Tls {
    /// A client certificate means SASL EXTERNAL, as fedora-messaging does it.
    pub fn has_client_cert(&self) -> bool {
        self.certfile.is_some() && self.keyfile.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeSpec {
    #[serde(rename = "type", default = "default_exchange_type")]
    pub kind: String,
    #[serde(default = "yes")]
    pub durable: bool,
    #[serde(default)]
    pub auto_delete: bool,
    #[serde(default)]
    pub arguments: toml::Table,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueSpec {
    #[serde(default = "yes")]
    pub durable: bool,
    #[serde(default)]
    pub auto_delete: bool,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub arguments: toml::Table,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindingSpec {
    pub queue: String,
    pub exchange: String,
    #[serde(default)]
    pub routing_keys: Vec<String>,
    /// Binding arguments, e.g. `x-match` and header values for a headers exchange.
    #[serde(default)]
    pub arguments: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qos {
    #[serde(default)]
    pub prefetch_size: u32,
    #[serde(default = "default_prefetch")]
    pub prefetch_count: u16,
}

impl Default for Qos {
    fn default() -> Self {
        Qos {
            prefetch_size: 0,
            prefetch_count: default_prefetch(),
        }
    }
}

/// Herald's own settings, in the `[herald]` table of the same file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeraldSettings {
    /// History database; default `$XDG_DATA_HOME/herald/history.db`.
    #[serde(default)]
    pub database: Option<PathBuf>,
    /// Delete messages older than this many days (0 keeps everything).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// Keep at most this many messages (0 means no limit).
    #[serde(default = "default_retention_rows")]
    pub retention_max_rows: u64,
    /// Koji web base for raw Koji hub messages, which carry no server address.
    #[serde(default)]
    pub koji_web_base: Option<String>,
    /// Pulp server base for task links.
    #[serde(default)]
    pub pulp_base: Option<String>,
    /// The web roots each producer's links may go to and be offered to open.
    #[serde(default, skip_serializing_if = "KnownHosts::is_default")]
    pub hosts: KnownHosts,
    /// Messages written per transaction at most.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Who the user is and what they watch; implies the default rules.
    #[serde(default, skip_serializing_if = "Profile::is_empty")]
    pub profile: Profile,
    /// The user's rules; a rule with a default rule's id replaces it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
    /// What happens to a message no rule matches. Default: `drop` when there are rules (the
    /// point of rules is to narrow), `history` when there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmatched: Option<Action>,
    /// Notification preferences: digest window, rate limit, quiet hours.
    #[serde(default, skip_serializing_if = "NotifySettings::is_default")]
    pub notifications: NotifySettings,
    /// The bus archive (datagrepper) that fills gaps, by itself and for `herald backfill`.
    #[serde(default = "catch_up::default_datagrepper_url")]
    pub datagrepper_url: String,
    /// Fill gaps from the archive by itself after Herald was away.
    #[serde(default = "yes")]
    pub catch_up: bool,
    /// Longer gaps wait for the user (`herald backfill`): `12h`, `3d`, `1w`.
    #[serde(default = "catch_up::default_catch_up_max")]
    pub catch_up_max: String,
    #[serde(default, skip_serializing_if = "CatchUpTuning::is_default")]
    pub catch_up_tuning: CatchUpTuning,
    /// The package chain: when packages count as behind, and its notifications.
    #[serde(default, skip_serializing_if = "PackageSettings::is_default")]
    pub packages: PackageSettings,
    /// More brokers, each with the same keys as the top level of a fedora-messaging file.
    #[serde(default, skip_serializing)]
    connections: BTreeMap<String, RawConnection>,
}

impl HeraldSettings {
    /// The configured history path, with a leading `~` meaning the home directory.
    pub fn database_path(&self) -> Option<PathBuf> {
        let p = self.database.as_deref()?;
        Some(match (p.strip_prefix("~"), std::env::var_os("HOME")) {
            (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
            _ => p.to_owned(),
        })
    }
}

impl Default for HeraldSettings {
    fn default() -> Self {
        HeraldSettings {
            database: None,
            retention_days: default_retention_days(),
            retention_max_rows: default_retention_rows(),
            koji_web_base: None,
            pulp_base: None,
            hosts: KnownHosts::default(),
            batch_size: default_batch_size(),
            profile: Profile::default(),
            rules: Vec::new(),
            unmatched: None,
            notifications: NotifySettings::default(),
            datagrepper_url: catch_up::default_datagrepper_url(),
            catch_up: true,
            catch_up_max: catch_up::default_catch_up_max(),
            catch_up_tuning: CatchUpTuning::default(),
            packages: PackageSettings::default(),
            connections: BTreeMap::new(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_exchange_type() -> String {
    "topic".to_owned()
}
fn default_prefetch() -> u16 {
    25
}
fn default_retention_days() -> u32 {
    365
}
fn default_retention_rows() -> u64 {
    2_000_000
}
fn default_batch_size() -> usize {
    // Bounded by the prefetch window anyway; large enough to amortise a commit's fsync and
    // the index pages it touches when draining a backlog.
    1000
}

/// The file as written: every key optional, unknown fedora-messaging keys (callback,
/// log_config, consumer_config, …) accepted and ignored.
#[derive(Debug, Default, Deserialize)]
struct RawFile {
    #[serde(flatten)]
    connection: RawConnection,
    #[serde(default)]
    herald: HeraldSettings,
}

/// One broker's keys as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct RawConnection {
    amqp_url: Option<String>,
    tls: Option<Tls>,
    #[serde(default)]
    client_properties: BTreeMap<String, toml::Value>,
    exchanges: Option<BTreeMap<String, ExchangeSpec>>,
    queues: Option<BTreeMap<String, QueueSpec>>,
    bindings: Option<Vec<BindingSpec>>,
    qos: Option<Qos>,
    #[serde(default)]
    passive_declares: bool,
}

/// Where Herald keeps its files, after overrides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paths {
    pub config: PathBuf,
    pub database: PathBuf,
}

/// A loaded config and where things are, resolved the same way for the CLI and the tray app.
#[derive(Debug)]
pub struct Located {
    pub config: Config,
    /// The config file (which may not exist yet).
    pub config_path: PathBuf,
    pub database: PathBuf,
}

/// Finds and loads the config: `config` (a `--config` flag), else `HERALD_CONFIG`, else
/// `$XDG_CONFIG_HOME/herald/config.toml`; the history at `database` (`--db`), else
/// `HERALD_DB`, else the config's `database`, else `$XDG_DATA_HOME/herald/history.db`. The
/// commented example is written only at the default location, when `write_example` is set.
pub fn locate(
    config: Option<PathBuf>,
    database: Option<PathBuf>,
    write_example: bool,
) -> Result<Located, ConfigError> {
    let given = |key: &str| std::env::var_os(key).is_some_and(|v| !v.is_empty());
    let defaults = default_paths()?;
    let at_default = config.is_none() && !given("HERALD_CONFIG");
    let config_path = config.unwrap_or(defaults.config);
    let loaded = Config::load(&config_path, write_example && at_default)?;
    let database = match database {
        Some(db) => db,
        None if given("HERALD_DB") => defaults.database,
        None => loaded.herald.database_path().unwrap_or(defaults.database),
    };
    Ok(Located {
        config: loaded,
        config_path,
        database,
    })
}

/// The default locations: `$XDG_CONFIG_HOME/herald/config.toml` and
/// `$XDG_DATA_HOME/herald/history.db`, unless `HERALD_CONFIG` / `HERALD_DB` say otherwise.
pub fn default_paths() -> Result<Paths, ConfigError> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dirs = directories::ProjectDirs::from("", "", "herald");
    let config = match env("HERALD_CONFIG") {
        Some(p) => p,
        None => dirs
            .as_ref()
            .ok_or(ConfigError::NoHome)?
            .config_dir()
            .join("config.toml"),
    };
    let database = match env("HERALD_DB") {
        Some(p) => p,
        None => dirs
            .as_ref()
            .ok_or(ConfigError::NoHome)?
            .data_dir()
            .join("history.db"),
    };
    Ok(Paths { config, database })
}

impl Config {
    /// The built-in profile used when no broker is configured.
    pub fn fedora_public() -> Config {
        Config {
            connections: vec![Connection::fedora_public(PRIMARY)],
            herald: HeraldSettings::default(),
            source: None,
        }
    }

    /// Parses a config file's text. `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        let mut connections = vec![Connection::from_raw(PRIMARY, raw.connection)];
        for (name, c) in &raw.herald.connections {
            if c.amqp_url.is_none() {
                return Err(ConfigError::Invalid {
                    key: format!("herald.connections.{name}.amqp_url"),
                    reason: "each extra connection needs its broker URL".to_owned(),
                });
            }
            connections.push(Connection::from_raw(name, c.clone()));
        }
        let cfg = Config {
            connections,
            herald: raw.herald,
            source: Some(path.to_owned()),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Loads `path`; a missing file means the defaults (and writes the commented example there
    /// when `write_example` is set, so people find what they can change).
    pub fn load(path: &Path, write_example: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if write_example {
                    write_example_config(path)?;
                }
                Ok(Config::fedora_public())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_owned(),
            reason,
        };
        for c in &self.connections {
            c.validate()?;
        }
        if let Some(q) = &self.herald.notifications.quiet_hours {
            q.validate()
                .map_err(|reason| invalid("herald.notifications.quiet_hours", reason))?;
        }
        catch_up::validate(&self.herald)?;
        self.herald.packages.validate()?;
        for (key, root) in self.herald.hosts.entries() {
            check_root(root).map_err(|reason| invalid(&format!("herald.hosts.{key}"), reason))?;
        }
        if self.herald.batch_size == 0 {
            return Err(invalid(
                "herald.batch_size",
                "must be at least 1".to_owned(),
            ));
        }
        for c in &self.connections {
            self.rule_set(&c.name)
                .map_err(|e| invalid("herald.rules", e.to_string()))?;
        }
        Ok(())
    }

    /// The first connection: the top level of the file.
    pub fn primary(&self) -> &Connection {
        // `from_toml` and `fedora_public` always create it.
        &self.connections[0]
    }

    pub fn primary_mut(&mut self) -> &mut Connection {
        &mut self.connections[0]
    }

    /// The primary broker URL with any password replaced, safe for logs and messages.
    pub fn redacted_url(&self) -> String {
        self.primary().redacted_url()
    }

    pub fn render_context(&self) -> crate::sources::RenderContext {
        crate::sources::RenderContext {
            koji_web_base: self.herald.koji_web_base.clone(),
            pulp_base: self.herald.pulp_base.clone(),
            hosts: self.herald.hosts.clone(),
        }
    }

    /// The connections that carry Pulp (they bind an exchange whose name starts with `pulp`,
    /// like Pulp 2's `pulp.api.v2`); the default Pulp rules apply there.
    pub fn pulp_connections(&self) -> Vec<String> {
        self.connections
            .iter()
            .filter(|c| c.bindings.iter().any(|b| b.exchange.starts_with("pulp")))
            .map(|c| c.name.clone())
            .collect()
    }

    /// Every rule in force, with where it comes from, in evaluation order.
    pub fn effective_rules(&self) -> Vec<(RuleSpec, RuleOrigin)> {
        effective_rules(
            &self.herald.profile,
            &self.herald.rules,
            &self.pulp_connections(),
        )
    }

    /// The rules that apply on one connection, in evaluation order.
    pub fn rules_for(&self, connection: &str) -> Vec<RuleSpec> {
        self.effective_rules()
            .into_iter()
            .map(|(r, _)| r)
            .filter(|r| r.applies_to(connection))
            .collect()
    }

    /// What happens to messages no rule matches.
    pub fn unmatched(&self) -> Action {
        self.herald.unmatched.unwrap_or_else(|| {
            if self.effective_rules().is_empty() {
                Action::History
            } else {
                Action::Drop
            }
        })
    }

    /// The compiled rules of one connection.
    pub fn rule_set(&self, connection: &str) -> Result<RuleSet, FilterError> {
        RuleSet::compile(
            &self.rules_for(connection),
            &self.herald.profile,
            self.unmatched(),
        )
    }
}

/// Where the public broker certificates are: the fedora-messaging package's directory, else
/// the same files in Herald's own config directory (for systems without that package).
pub fn fedora_cert_dir() -> PathBuf {
    let system = Path::new(FEDORA_CERT_DIR);
    if system.join("cacert.pem").exists() {
        return system.to_owned();
    }
    let user = directories::ProjectDirs::from("", "", "herald")
        .map(|d| d.config_dir().join("fedora-messaging"));
    match user {
        Some(u) if u.join("cacert.pem").exists() => u,
        _ => system.to_owned(),
    }
}

fn write_example_config(path: &Path) -> Result<(), ConfigError> {
    write::replace(path, EXAMPLE_CONFIG.as_bytes())
}

#[cfg(test)]
mod tests;
