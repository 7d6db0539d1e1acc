//! Secrets: broker passwords and client-key passphrases, kept only in the OS keyring (the
//! freedesktop Secret Service on Linux: gnome-keyring, KeePassXC, KWallet) under Herald's
//! app id, never in the config, a log line, an IPC payload or a printed URL.
//!
//! A value read from the keyring travels as a [`Secret`], whose `Debug` and `Display` print
//! `<redacted>` and which has no `Serialize`, so it cannot leak through a log line or an IPC
//! reply by accident; [`Secret::expose`] is the one, greppable way to the value.
//! [`SecretStore`] keeps one entry per connection and [`SecretKind`] (keyring user
//! `<connection>/password` or `<connection>/key-passphrase`, service [`SERVICE`]).
//! Each secret is bound to the address it was saved for ([`Binding`]: scheme, host, port,
//! vhost, user, stored as keyring attributes), and a lookup for another address is refused
//! ([`SecretError::Elsewhere`]), so no URL change sends a stored password somewhere new.
//! [`apply_password`] puts a password into a connection's `amqp_url`.
//!
//! Built without a keyring backend, the `keyring` crate silently keeps entries in process
//! memory, where they vanish the moment they are written. [`SecretStore::backend`] tells that
//! case apart, and every [`SecretStore`] operation refuses it ([`SecretError::NotPersistent`])
//! rather than pretend a secret was saved.
//!
//! The calls block on D-Bus: from async code, run them in `tokio::task::spawn_blocking`.

use keyring::Entry;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;
use std::fmt;

mod binding;
mod error;

pub use binding::Binding;
use binding::Bound;
pub use error::SecretError;

/// The keyring service every Herald secret is stored under: the app id.
pub const SERVICE: &str = "org.fedoraproject.Herald";

/// A value that must not be shown: `Debug` and `Display` print `<redacted>`. There is
/// deliberately no `Serialize`; read the value with [`Secret::expose`] where it is used.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself: pass it on to what needs it, never to a log or a message.
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Secret<T> {
        Secret(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What a secret unlocks. Over IPC: `"password"` or `"key_passphrase"` (the keyring user
/// name uses [`SecretKind::as_str`] instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SecretKind {
    /// The broker password of the connection's `amqp_url` user.
    Password,
    /// The passphrase of the connection's TLS client key (`tls.keyfile`).
    KeyPassphrase,
}

impl SecretKind {
    pub const ALL: [SecretKind; 2] = [SecretKind::Password, SecretKind::KeyPassphrase];

    /// The suffix of the keyring user name: `password` or `key-passphrase`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::Password => "password",
            SecretKind::KeyPassphrase => "key-passphrase",
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretKind::Password => "password",
            SecretKind::KeyPassphrase => "key passphrase",
        })
    }
}

/// The keyring user of a connection's secret: `<connection>/<kind>`. The kind is always the
/// last segment, so two (connection, kind) pairs never share a user, even when a connection
/// name contains `/`.
pub fn keyring_user(connection: &str, kind: SecretKind) -> String {
    format!("{connection}/{}", kind.as_str())
}

/// Where the keyring crate keeps entries in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The freedesktop Secret Service over D-Bus (gnome-keyring, KeePassXC, KWallet).
    SecretService,
    /// Another platform store that outlives the process.
    Platform,
    /// The keyring crate's mock: each entry holds its own secret and loses it when dropped.
    /// Nothing survives; [`SecretStore`] refuses to work with it.
    InMemory,
}

impl Backend {
    /// True when a stored secret outlives the process.
    pub fn is_persistent(self) -> bool {
        self != Backend::InMemory
    }

    fn of(entry: &Entry) -> Backend {
        let credential = entry.get_credential();
        if credential.is::<keyring::mock::MockCredential>() {
            return Backend::InMemory;
        }
        #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
        if credential.is::<keyring::secret_service::SsCredential>() {
            return Backend::SecretService;
        }
        Backend::Platform
    }
}

/// Herald's secrets in the OS keyring, one entry per connection and [`SecretKind`], under
/// the service [`SERVICE`]. Every call blocks on the keyring (D-Bus on Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretStore {
    service: &'static str,
}

impl Default for SecretStore {
    fn default() -> SecretStore {
        SecretStore::new()
    }
}

impl SecretStore {
    pub fn new() -> SecretStore {
        SecretStore { service: SERVICE }
    }

    /// The keyring service the entries live under.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// Which store the keyring crate uses. Does not contact it: a Secret Service that is
    /// not running shows up as an error of the first real operation.
    pub fn backend(&self) -> Backend {
        match Entry::new(self.service, "backend-probe") {
            Ok(entry) => Backend::of(&entry),
            // The mock accepts any name; a real store that rejects the probe is not the mock.
            Err(_) => Backend::Platform,
        }
    }

    /// False when secrets would only be kept in memory (a build without a keyring backend):
    /// then the product must say so instead of offering to remember a password.
    pub fn backend_is_persistent(&self) -> bool {
        self.backend().is_persistent()
    }

    /// Stores (or replaces) the `kind` secret of `connection`, bound to `binding`: it will be
    /// given out for that address only.
    pub fn set(
        &self,
        connection: &str,
        kind: SecretKind,
        binding: &Binding,
        value: &Secret<String>,
    ) -> Result<(), SecretError> {
        let entry = self.entry(connection, kind)?;
        require_persistent(&entry, connection, kind)?;
        // Replacing the secret of an existing item would keep that item's old binding for a
        // moment (or for good, if the update failed): start from no item instead.
        delete_entry(&entry, connection, kind)?;
        let attributes = binding.attributes();
        #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
        if Backend::of(&entry) == Backend::SecretService {
            // Created with its attributes in one call, so it is never stored unbound.
            let mut credential = keyring::secret_service::SsCredential::new_with_target(
                None,
                self.service,
                &keyring_user(connection, kind),
            )
            .map_err(|e| keyring_error("store", connection, kind, e))?;
            credential
                .attributes
                .extend(attributes.into_iter().map(|(k, v)| (k.to_owned(), v)));
            let bound = Entry::new_with_credential(Box::new(credential));
            return set_entry(&bound, connection, kind, value);
        }
        set_entry(&entry, connection, kind, value)?;
        let attributes: HashMap<&str, &str> =
            attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Err(e) = entry.update_attributes(&attributes) {
            // Unbound, it would be adopted by whatever address asked first: take it back.
            let _ = entry.delete_credential();
            return Err(keyring_error("store", connection, kind, e));
        }
        Ok(())
    }

    /// The `kind` secret of `connection` for `binding`, or `None` if none is stored. A secret
    /// saved for another address is [`SecretError::Elsewhere`]. One saved before secrets were
    /// bound is bound to `binding` now: pass only the address of the connection as the
    /// config file saves it, never one a page or a message chose.
    pub fn get(
        &self,
        connection: &str,
        kind: SecretKind,
        binding: &Binding,
    ) -> Result<Option<Secret<String>>, SecretError> {
        let entry = self.entry(connection, kind)?;
        require_persistent(&entry, connection, kind)?;
        match self.bound(&entry, connection, kind, binding)? {
            Found::Missing => return Ok(None),
            Found::Here => {}
            Found::Unbound => {
                let attributes = binding.attributes();
                let attributes: HashMap<&str, &str> =
                    attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
                entry
                    .update_attributes(&attributes)
                    .map_err(|e| keyring_error("bind", connection, kind, e))?;
                tracing::info!(connection, %kind, "secret saved unbound now bound to {binding}");
            }
        }
        get_entry(&entry, connection, kind)
    }

    /// Whether a `kind` secret of `connection` usable for `binding` is stored (one saved
    /// before secrets were bound counts: [`SecretStore::get`] would bind it). The value is
    /// never read.
    pub fn contains(
        &self,
        connection: &str,
        kind: SecretKind,
        binding: &Binding,
    ) -> Result<bool, SecretError> {
        let entry = self.entry(connection, kind)?;
        require_persistent(&entry, connection, kind)?;
        match self.bound(&entry, connection, kind, binding) {
            Ok(Found::Here | Found::Unbound) => Ok(true),
            Ok(Found::Missing) | Err(SecretError::Elsewhere { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Where the stored item of `entry` is bound, compared with `binding`.
    fn bound(
        &self,
        entry: &Entry,
        connection: &str,
        kind: SecretKind,
        binding: &Binding,
    ) -> Result<Found, SecretError> {
        let attributes = match entry.get_attributes() {
            Ok(a) => a,
            Err(keyring::Error::NoEntry) => return Ok(Found::Missing),
            Err(e) => return Err(keyring_error("read", connection, kind, e)),
        };
        let elsewhere = |stored_for: String| SecretError::Elsewhere {
            connection: connection.to_owned(),
            kind,
            stored_for,
            wanted: binding.to_string(),
        };
        match Binding::from_attributes(&attributes) {
            None => Ok(Found::Unbound),
            Some(Bound::To(b)) if b == *binding => Ok(Found::Here),
            Some(Bound::To(b)) => Err(elsewhere(b.to_string())),
            Some(Bound::Damaged) => Err(elsewhere("an address Herald cannot read".to_owned())),
        }
    }

    /// Deletes the `kind` secret of `connection`; false if there was none.
    pub fn delete(&self, connection: &str, kind: SecretKind) -> Result<bool, SecretError> {
        let entry = self.entry(connection, kind)?;
        delete_entry(&entry, connection, kind)
    }

    /// Deletes every secret of `connection` (when the connection itself is removed); the
    /// number deleted.
    pub fn delete_all(&self, connection: &str) -> Result<usize, SecretError> {
        let mut deleted = 0;
        for kind in SecretKind::ALL {
            deleted += usize::from(self.delete(connection, kind)?);
        }
        Ok(deleted)
    }

    fn entry(&self, connection: &str, kind: SecretKind) -> Result<Entry, SecretError> {
        if connection.is_empty() {
            return Err(SecretError::NoConnectionName { kind });
        }
        Entry::new(self.service, &keyring_user(connection, kind))
            .map_err(|e| keyring_error("open", connection, kind, e))
    }
}

/// What [`SecretStore::bound`] found.
enum Found {
    Missing,
    /// Bound to the address asked for.
    Here,
    /// Saved before secrets were bound.
    Unbound,
}

/// Refuses the in-memory mock before any call: it would "succeed" and keep nothing (and
/// keyring's own debug log prints a mock entry's bytes).
fn require_persistent(
    entry: &Entry,
    connection: &str,
    kind: SecretKind,
) -> Result<(), SecretError> {
    if Backend::of(entry).is_persistent() {
        Ok(())
    } else {
        Err(SecretError::NotPersistent {
            connection: connection.to_owned(),
            kind,
        })
    }
}

fn set_entry(
    entry: &Entry,
    connection: &str,
    kind: SecretKind,
    value: &Secret<String>,
) -> Result<(), SecretError> {
    require_persistent(entry, connection, kind)?;
    entry
        .set_password(value.expose())
        .map_err(|e| keyring_error("store", connection, kind, e))?;
    tracing::debug!(connection, %kind, "secret stored in the keyring");
    Ok(())
}

fn get_entry(
    entry: &Entry,
    connection: &str,
    kind: SecretKind,
) -> Result<Option<Secret<String>>, SecretError> {
    require_persistent(entry, connection, kind)?;
    match entry.get_password() {
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keyring_error("read", connection, kind, e)),
    }
}

fn delete_entry(entry: &Entry, connection: &str, kind: SecretKind) -> Result<bool, SecretError> {
    require_persistent(entry, connection, kind)?;
    match entry.delete_credential() {
        Ok(()) => {
            tracing::debug!(connection, %kind, "secret deleted from the keyring");
            Ok(true)
        }
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error("delete", connection, kind, e)),
    }
}

/// Keeps only the text of a keyring error: `keyring::Error::BadEncoding` carries the secret's
/// bytes, so the error itself is never kept as a source.
fn keyring_error(
    op: &'static str,
    connection: &str,
    kind: SecretKind,
    error: keyring::Error,
) -> SecretError {
    let connection = connection.to_owned();
    match error {
        keyring::Error::BadEncoding(_) => SecretError::NotText { connection, kind },
        keyring::Error::NoStorageAccess(reason) => SecretError::Locked {
            op,
            connection,
            kind,
            reason: reason.to_string(),
        },
        keyring::Error::PlatformFailure(reason) => SecretError::Unavailable {
            op,
            connection,
            kind,
            reason: reason.to_string(),
        },
        other => SecretError::Keyring {
            op,
            connection,
            kind,
            reason: other.to_string(),
        },
    }
}

/// `amqps://user:secret@host/vhost` → `amqps://user:***@host/vhost`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some_and(|p| !p.is_empty()) {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        // Never echo an unparsable URL: it may hold a secret in a place we cannot find.
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

/// RFC 3986 userinfo, strictly: everything but unreserved characters is percent-encoded.
/// (`url::Url::set_password` alone leaves `%` as it is, so `100%41` would arrive as `100A`.)
const PASSWORD: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `url` (an `amqp://` or `amqps://` URL naming a user) with `password` as its password,
/// percent-encoded so any character survives; a password already in `url` is replaced. The
/// result is itself a [`Secret`]: hand it to the AMQP client, log
/// [`redact_url`] of the original instead.
pub fn apply_password(url: &str, password: &Secret<String>) -> Result<Secret<String>, SecretError> {
    let invalid = |reason: String| SecretError::Url {
        url: redact_url(url),
        reason,
    };
    // url's parse errors never quote the input.
    let mut parsed = url::Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "amqp" | "amqps") {
        return Err(invalid(format!(
            "scheme {:?} is not amqp or amqps",
            parsed.scheme()
        )));
    }
    if parsed.username().is_empty() {
        return Err(invalid(
            "it names no user; write amqp://USER@host/vhost and keep only the password in the \
             keyring"
                .to_owned(),
        ));
    }
    if password.expose().is_empty() {
        // An AMQP URL cannot carry an empty password: the client would send "guest".
        return Err(invalid("the password is empty".to_owned()));
    }
    let encoded = utf8_percent_encode(password.expose(), PASSWORD).to_string();
    parsed
        .set_password(Some(&encoded))
        .map_err(|()| invalid("it has no host to log in to".to_owned()))?;
    Ok(Secret::new(parsed.into()))
}

#[cfg(test)]
mod tests;
