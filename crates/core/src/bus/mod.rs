//! The broker side: connecting (amqp or amqps, verified TLS, client certificates with SASL
//! EXTERNAL as fedora-messaging does), declaring the topology and consuming. The ack policy
//! and the reconnect loop live in [`crate::pipeline`], the one owner of the connection.
//! Passwords and key passphrases come from the OS keyring ([`crate::secrets`]), never from
//! the config, and only for the address they were saved for; a password never travels
//! without TLS to another machine. [`probe()`] tries a connection for the settings window,
//! with secrets typed for the attempt where the connection is not the saved one.

use crate::config::{self, FEDORA_CERT_DIR};
use crate::error::BusError;
use crate::secrets::{Binding, Secret, SecretKind, SecretStore};
use lapin::tcp::{OwnedIdentity, OwnedTLSConfig};
use lapin::types::LongString;
use lapin::uri::{AMQPUri, SASLMechanism};
use lapin::{Connection, ConnectionProperties};
use std::path::Path;
use std::str::FromStr;

mod key;
mod probe;
pub mod topology;

pub use probe::{probe, TestResult};

/// Where a login's secrets come from: typed for this one attempt, and the keyring for what
/// was not typed, when the connection is the one the config saves.
#[derive(Debug, Default)]
pub struct Credentials<'a> {
    /// Consulted only for a connection exactly as the config file saves it: the keyring's
    /// secrets go nowhere else (and one saved before secrets were bound is bound to the
    /// address asked for).
    pub keyring: Option<&'a SecretStore>,
    pub password: Option<Secret<String>>,
    pub key_passphrase: Option<Secret<String>>,
}

impl<'a> Credentials<'a> {
    /// The keyring alone, for a connection from the config file.
    pub fn keyring(store: &'a SecretStore) -> Credentials<'a> {
        Credentials {
            keyring: Some(store),
            ..Credentials::default()
        }
    }

    /// The `kind` secret: typed, else from the keyring for `binding`, else none.
    async fn get(
        &self,
        connection: &str,
        kind: SecretKind,
        binding: &Binding,
    ) -> Result<Source, BusError> {
        let typed = match kind {
            SecretKind::Password => &self.password,
            SecretKind::KeyPassphrase => &self.key_passphrase,
        };
        if let Some(value) = typed.as_ref().filter(|v| !v.expose().is_empty()) {
            return Ok(Source::Typed(value.clone()));
        }
        let Some(store) = self.keyring else {
            return Ok(Source::NotAsked);
        };
        let (store, name, binding) = (*store, connection.to_owned(), binding.clone());
        let stored = tokio::task::spawn_blocking(move || store.get(&name, kind, &binding))
            .await
            .map_err(|e| BusError::Stopped(format!("keyring lookup: {e}")))??;
        Ok(match stored {
            Some(value) => Source::Keyring(value),
            None => Source::NotStored,
        })
    }
}

/// Where a secret came from, or why there is none.
enum Source {
    Typed(Secret<String>),
    Keyring(Secret<String>),
    /// The keyring holds none for the connection.
    NotStored,
    /// The keyring was not to be asked (a connection that is not the saved one).
    NotAsked,
}

impl Source {
    fn value(self) -> Option<Secret<String>> {
        match self {
            Source::Typed(v) | Source::Keyring(v) => Some(v),
            Source::NotStored | Source::NotAsked => None,
        }
    }
}

/// Opens a connection as the config describes, with its password and key passphrase from
/// the OS keyring (see [`connect_with`]).
pub async fn connect(cfg: &config::Connection) -> Result<Connection, BusError> {
    connect_with(cfg, &SecretStore::new()).await
}

/// Opens a connection as the config describes. When the URL names a user but no password
/// (and no client certificate logs in instead), the password is the connection's
/// [`SecretKind::Password`] in `secrets`; an encrypted client key is opened with its
/// [`SecretKind::KeyPassphrase`]. A keyring that cannot be read is an error, not a reason
/// to try without.
pub async fn connect_with(
    cfg: &config::Connection,
    secrets: &SecretStore,
) -> Result<Connection, BusError> {
    let login = Login::prepare(cfg, &Credentials::keyring(secrets)).await?;
    let runtime = lapin::runtime::default_runtime().map_err(|source| BusError::Connect {
        url: cfg.redacted_url(),
        source,
    })?;
    Connection::connect_uri_with_config(login.uri, properties(cfg), login.tls, runtime)
        .await
        .map_err(|source| BusError::Connect {
            url: cfg.redacted_url(),
            source,
        })
}

/// Everything needed to log in, secrets included.
struct Login {
    uri: AMQPUri,
    tls: OwnedTLSConfig,
    /// Where the password came from (`None`: none was needed).
    password: Option<PasswordFrom>,
}

/// Where a login's password came from, for the words of a failed login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PasswordFrom {
    Typed,
    Keyring,
    NotStored,
    NotAsked,
}

impl Login {
    async fn prepare(cfg: &config::Connection, creds: &Credentials<'_>) -> Result<Login, BusError> {
        let mut uri = AMQPUri::from_str(&cfg.amqp_url).map_err(|e| {
            // The parser's message may quote the URL; rebuild it from the redacted form.
            BusError::Url(format!(
                "{} ({})",
                cfg.redacted_url(),
                e.replace(&cfg.amqp_url, "")
            ))
        })?;
        let binding = Binding::of_uri(&uri);
        let tls = tls_config(cfg, &binding, creds).await?;
        let mut password = None;
        if tls.identity.is_some() {
            uri.query.auth_mechanism = Some(SASLMechanism::External);
        } else if names_user_without_password(&cfg.amqp_url) {
            // Refused before the keyring is even asked: a plain-text login to another
            // machine hands the password to every hop on the way.
            if !binding.is_tls() && !binding.is_loopback() {
                return Err(BusError::Cleartext {
                    endpoint: format!("{}:{}", binding.host(), binding.port()),
                });
            }
            let found = creds.get(&cfg.name, SecretKind::Password, &binding).await?;
            password = Some(match &found {
                Source::Typed(_) => PasswordFrom::Typed,
                Source::Keyring(_) => PasswordFrom::Keyring,
                Source::NotStored => PasswordFrom::NotStored,
                Source::NotAsked => PasswordFrom::NotAsked,
            });
            // Straight into the parsed URI: the password never becomes part of a string that
            // could be logged. Without one, an empty password rather than the parser's
            // default "guest", which would log some brokers in as somebody else's guess.
            uri.authority.userinfo.password =
                found.value().map(Secret::into_inner).unwrap_or_default();
        }
        Ok(Login { uri, tls, password })
    }
}

/// True for `amqp://user@host/…`: a user, and no password (not even an empty one, as in the
/// Fedora public broker's `fedora:@`).
fn names_user_without_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => !userinfo.is_empty() && !userinfo.contains(':'),
        None => false,
    }
}

fn properties(cfg: &config::Connection) -> ConnectionProperties {
    let mut props = ConnectionProperties::default()
        .with_connection_name("Herald".into())
        .with_client_property("product".into(), "Herald".into())
        .with_client_property("version".into(), env!("CARGO_PKG_VERSION").into())
        .with_client_property(
            "information".into(),
            "Herald, a desktop client of the Fedora messaging bus".into(),
        );
    for (k, v) in &cfg.client_properties {
        props =
            props.with_client_property(k.as_str().into(), LongString::from(v.as_bytes().to_vec()));
    }
    props
}

/// Reads the TLS files the config names; an encrypted client key is opened with the
/// passphrase from the keyring. Verification is never turned off: without a `ca_cert`, the
/// system's trusted roots apply.
async fn tls_config(
    cfg: &config::Connection,
    binding: &Binding,
    creds: &Credentials<'_>,
) -> Result<OwnedTLSConfig, BusError> {
    if !binding.is_tls() {
        return Ok(OwnedTLSConfig::default());
    }
    let read = |what: &'static str, path: &Path| {
        std::fs::read(path).map_err(|source| {
            if cfg.fedora_public_profile && source.kind() == std::io::ErrorKind::NotFound {
                BusError::FedoraCertificates {
                    path: path.to_owned(),
                    dir: FEDORA_CERT_DIR,
                }
            } else {
                BusError::TlsFile {
                    what,
                    path: path.to_owned(),
                    source,
                }
            }
        })
    };
    let cert_chain = match &cfg.tls.ca_cert {
        Some(p) => Some(String::from_utf8_lossy(&read("CA certificate", p)?).into_owned()),
        None => None,
    };
    let identity = match (&cfg.tls.certfile, &cfg.tls.keyfile) {
        (Some(cert), Some(key_path)) => {
            let pem = read("client certificate", cert)?;
            let key = read("client key", key_path)?;
            let encrypted = |reason: String| BusError::EncryptedKey {
                path: key_path.clone(),
                reason,
            };
            let key = match key::protection(&key) {
                key::KeyProtection::None => key,
                key::KeyProtection::Legacy => return Err(encrypted(key::LEGACY_REASON.to_owned())),
                key::KeyProtection::Pkcs8 => {
                    let found = creds
                        .get(&cfg.name, SecretKind::KeyPassphrase, binding)
                        .await?;
                    let Some(passphrase) = found.value() else {
                        return Err(encrypted(format!(
                            "no key passphrase is stored for connection {:?}: set it in the \
                             settings",
                            cfg.name
                        )));
                    };
                    key::decrypt(&key, &passphrase)
                        .map_err(encrypted)?
                        .into_inner()
                }
            };
            Some(OwnedIdentity::PKCS8 { pem, key })
        }
        _ => None,
    };
    Ok(OwnedTLSConfig {
        identity,
        cert_chain,
    })
}
