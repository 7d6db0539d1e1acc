//! Secrets: broker passwords and client-key passphrases, kept only in the OS keyring (the
//! freedesktop Secret Service on Linux: gnome-keyring, KeePassXC, KWallet) under Herald's
//! app id, never in the config, a log line, an IPC payload or a printed URL.
//!
//! A value read from the keyring travels as a [`Secret`], whose `Debug` and `Display` print
//! `<redacted>` and which has no `Serialize`, so it cannot leak through a log line or an IPC
//! reply by accident; [`Secret::expose`] is the one, greppable way to the value.
//! [`SecretStore`] keeps one entry per connection and [`SecretKind`] (keyring user
//! `<connection>/password` or `<connection>/key-passphrase`, service [`SERVICE`]).
//! [`apply_password`] puts a password into a connection's `amqp_url` for `bus::connect`.
//!
//! Built without a keyring backend, the `keyring` crate silently keeps entries in process
//! memory, where they vanish the moment they are written. [`SecretStore::backend`] tells that
//! case apart, and every [`SecretStore`] operation refuses it ([`SecretError::NotPersistent`])
//! rather than pretend a secret was saved.
//!
//! The calls block on D-Bus: from async code, run them in `tokio::task::spawn_blocking`.

use crate::config::redact_url;
use crate::error::SecretError;
use keyring::Entry;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;

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

    /// Stores (or replaces) the `kind` secret of `connection`.
    pub fn set(
        &self,
        connection: &str,
        kind: SecretKind,
        value: &Secret<String>,
    ) -> Result<(), SecretError> {
        let entry = self.entry(connection, kind)?;
        set_entry(&entry, connection, kind, value)
    }

    /// The `kind` secret of `connection`, or `None` if none is stored.
    pub fn get(
        &self,
        connection: &str,
        kind: SecretKind,
    ) -> Result<Option<Secret<String>>, SecretError> {
        let entry = self.entry(connection, kind)?;
        get_entry(&entry, connection, kind)
    }

    /// Whether a `kind` secret of `connection` is stored. The value is read (the Secret
    /// Service has no cheaper question) and dropped at once.
    pub fn contains(&self, connection: &str, kind: SecretKind) -> Result<bool, SecretError> {
        Ok(self.get(connection, kind)?.is_some())
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
mod tests {
    use super::*;
    use lapin::uri::AMQPUri;
    use proptest::prelude::*;
    use rstest::rstest;
    use std::str::FromStr;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[test]
    fn secret_debug_and_display_are_redacted() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Login {
            user: String,
            password: Secret<String>,
            passphrase: Option<Secret<String>>,
        }
        let login = Login {
            user: "alice".into(),
            password: secret("hunter2"),
            passphrase: Some(secret("open sesame")),
        };
        for shown in [
            format!("{login:?}"),
            format!("{login:#?}"),
            format!("{}", login.password),
            format!("{:>20}", login.password),
            format!("{:?}", Secret::new(b"bytes".to_vec())),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("open sesame"), "{shown}");
            assert!(!shown.contains("bytes"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        assert!(format!("{login:?}").contains("alice"));
        assert_eq!(login.password.expose(), "hunter2");
        assert_eq!(Secret::from(7).into_inner(), 7);
    }

    #[test]
    fn secret_kinds_travel_as_snake_case_and_name_keyring_users_with_dashes() {
        let json = serde_json::to_string(&SecretKind::ALL).expect("serialise");
        assert_eq!(json, r#"["password","key_passphrase"]"#);
        let back: Vec<SecretKind> = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, SecretKind::ALL);
        assert!(serde_json::from_str::<SecretKind>(r#""key-passphrase""#).is_err());
        assert_eq!(SecretKind::KeyPassphrase.as_str(), "key-passphrase");
    }

    #[rstest]
    #[case("default", SecretKind::Password, "default/password")]
    #[case("default", SecretKind::KeyPassphrase, "default/key-passphrase")]
    #[case("a/b", SecretKind::Password, "a/b/password")]
    fn keyring_user_is_connection_then_kind(
        #[case] connection: &str,
        #[case] kind: SecretKind,
        #[case] user: &str,
    ) {
        assert_eq!(keyring_user(connection, kind), user);
    }

    /// keyring 3 without a backend feature silently falls back to its in-memory mock.
    #[cfg(target_os = "linux")]
    #[test]
    fn linux_builds_use_the_secret_service_not_the_mock() {
        let store = SecretStore::new();
        assert_eq!(store.service(), "org.fedoraproject.Herald");
        assert_eq!(store.backend(), Backend::SecretService);
        assert!(store.backend_is_persistent());
    }

    fn mock_entry() -> Entry {
        let credential = keyring::mock::default_credential_builder()
            .build(None, SERVICE, "default/password")
            .expect("mock credential");
        Entry::new_with_credential(credential)
    }

    #[test]
    fn the_in_memory_mock_is_detected_and_refused() {
        let entry = mock_entry();
        assert_eq!(Backend::of(&entry), Backend::InMemory);
        assert!(!Backend::InMemory.is_persistent());
        let kind = SecretKind::Password;
        let refused = [
            set_entry(&entry, "default", kind, &secret("hunter2")).err(),
            get_entry(&entry, "default", kind).err(),
            delete_entry(&entry, "default", kind).err(),
        ];
        for err in refused {
            let err = err.expect("the mock is refused");
            assert!(matches!(err, SecretError::NotPersistent { .. }), "{err:?}");
            assert!(!format!("{err} {err:?}").contains("hunter2"));
            assert!(err.to_string().contains("\"default\""), "{err}");
        }
        // Nothing was written into the mock either.
        assert!(matches!(entry.get_password(), Err(keyring::Error::NoEntry)));
    }

    #[test]
    fn a_connection_needs_a_name() {
        let err = SecretStore::new()
            .set("", SecretKind::KeyPassphrase, &secret("x"))
            .expect_err("empty name");
        assert!(matches!(
            err,
            SecretError::NoConnectionName {
                kind: SecretKind::KeyPassphrase
            }
        ));
    }

    #[test]
    fn bad_encoding_errors_drop_the_bytes() {
        let err = keyring_error(
            "read",
            "default",
            SecretKind::Password,
            keyring::Error::BadEncoding(b"hunter2\xff".to_vec()),
        );
        assert!(matches!(err, SecretError::NotText { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        assert!(!format!("{err:?}").contains("104, 117")); // "hu" as bytes
    }

    #[rstest]
    #[case::plain("hunter2", "hunter2")]
    #[case::unreserved("a-b.c_d~e", "a-b.c_d~e")]
    #[case::at_and_colon("p@ss:word", "p%40ss%3Aword")]
    #[case::slash_and_query("a/b?c#d", "a%2Fb%3Fc%23d")]
    #[case::percent("100%41", "100%2541")]
    #[case::space_plus_amp("a b+c&d=e", "a%20b%2Bc%26d%3De")]
    #[case::non_ascii("pässwörd", "p%C3%A4ssw%C3%B6rd")]
    #[case::brackets_quotes("[x]'\"\\", "%5Bx%5D%27%22%5C")]
    fn apply_password_percent_encodes(#[case] password: &str, #[case] encoded: &str) {
        let url = "amqps://alice@broker.example:5671/%2Fpublic_pubsub?heartbeat=30";
        let with = apply_password(url, &secret(password)).expect("password applied");
        assert_eq!(
            with.expose(),
            &format!("amqps://alice:{encoded}@broker.example:5671/%2Fpublic_pubsub?heartbeat=30")
        );
        let uri = AMQPUri::from_str(with.expose()).expect("lapin parses it");
        assert_eq!(uri.authority.userinfo.password, password);
        assert_eq!(uri.authority.userinfo.username, "alice");
        assert_eq!(uri.authority.host, "broker.example");
        assert_eq!(uri.authority.port, 5671);
        assert_eq!(uri.vhost, "/public_pubsub");
        assert_eq!(uri.query.heartbeat, Some(30));
    }

    #[test]
    fn apply_password_replaces_a_password_already_in_the_url() {
        let with = apply_password("amqp://bob:old@localhost/", &secret("n:ew")).expect("applied");
        assert_eq!(with.expose(), "amqp://bob:n%3Aew@localhost/");
        assert_eq!(format!("{with:?}"), "<redacted>");
    }

    #[rstest]
    #[case::no_user("amqp://localhost/%2F", "names no user")]
    #[case::empty_user("amqp://:old@localhost/%2F", "names no user")]
    #[case::scheme("https://carol:old@localhost/", "not amqp")]
    #[case::unparsable("amqp://carol:old@[::1/", "")]
    fn apply_password_rejects_urls_without_leaking(#[case] url: &str, #[case] reason: &str) {
        let err = apply_password(url, &secret("hunter2")).expect_err("rejected");
        let shown = format!("{err} {err:?}");
        assert!(matches!(err, SecretError::Url { .. }), "{shown}");
        assert!(shown.contains(reason), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("old"), "{shown}");
    }

    #[test]
    fn apply_password_rejects_an_empty_password() {
        let err = apply_password("amqp://dan@localhost/", &secret("")).expect_err("empty");
        assert!(err.to_string().contains("empty"), "{err}");
    }

    proptest! {
        #[test]
        fn any_password_survives_the_url(password in "\\PC{1,40}") {
            let with = apply_password("amqp://eve@localhost:5672/%2F", &Secret::new(password.clone()))
                .expect("applied");
            let uri = AMQPUri::from_str(with.expose()).expect("lapin parses it");
            prop_assert_eq!(&uri.authority.userinfo.password, &password);
            prop_assert_eq!(uri.authority.userinfo.username.as_str(), "eve");
            prop_assert_eq!(uri.vhost.as_str(), "/");
        }
    }
}
