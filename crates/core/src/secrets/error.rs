//! What can go wrong with the keyring. Never holds a secret: keyring errors are kept as
//! text, because `keyring::Error::BadEncoding` carries the bytes.

use super::SecretKind;

/// The OS keyring, where connection passwords and key passphrases live. Never holds a secret:
/// keyring errors are kept as text, because `keyring::Error::BadEncoding` carries the bytes.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "this build of Herald has no keyring backend: the {kind} of connection {connection:?} \
         would only be kept in memory and lost, so it is not stored (build herald-core with \
         keyring's sync-secret-service feature)"
    )]
    NotPersistent {
        connection: String,
        kind: SecretKind,
    },
    #[error(
        "cannot {op} the {kind} of connection {connection:?}: the keyring is locked or refused \
         access ({reason})"
    )]
    Locked {
        op: &'static str,
        connection: String,
        kind: SecretKind,
        reason: String,
    },
    #[error(
        "cannot {op} the {kind} of connection {connection:?}: no keyring ({reason}). Is a \
         Secret Service such as gnome-keyring or KeePassXC running on the session bus?"
    )]
    Unavailable {
        op: &'static str,
        connection: String,
        kind: SecretKind,
        reason: String,
    },
    #[error("cannot {op} the {kind} of connection {connection:?} in the keyring: {reason}")]
    Keyring {
        op: &'static str,
        connection: String,
        kind: SecretKind,
        reason: String,
    },
    #[error("the {kind} stored for connection {connection:?} is not UTF-8 text")]
    NotText {
        connection: String,
        kind: SecretKind,
    },
    #[error("a connection needs a name before its {kind} can go into the keyring")]
    NoConnectionName { kind: SecretKind },
    #[error("cannot put a password into broker URL {url}: {reason}")]
    Url { url: String, reason: String },
    #[error(
        "the {kind} stored for connection {connection:?} was saved for {stored_for}, not for \
         {wanted}: Herald uses a secret only where it was saved for; enter it again in the \
         settings"
    )]
    Elsewhere {
        connection: String,
        kind: SecretKind,
        stored_for: String,
        wanted: String,
    },
    #[error("broker URL {url} cannot hold a secret: {reason}")]
    Address { url: String, reason: String },
}
