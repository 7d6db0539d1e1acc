//! Typed errors, one enum per boundary, each carrying the context a person needs to act.

pub use crate::secrets::SecretError;
use std::path::PathBuf;
use std::time::Duration;

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// The wait before attempt `failures + 1` of something that failed `failures` times: `base`
/// doubled each time up to `cap`, then fully jittered in its upper half, so that many clients
/// failing together (a broker restart, an archive outage) do not come back in step.
pub fn backoff(base: Duration, cap: Duration, failures: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << failures.min(16).saturating_sub(1));
    let cap = exp.min(cap);
    cap / 2 + cap.mul_f64(fastrand::f64() * 0.5)
}

/// Reading recorded messages (fixtures, `fedora-messaging record` files).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}{}: not valid JSON", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        reason: String,
    },
}

/// Loading and validating configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("cannot write config file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no home directory: set HERALD_CONFIG and HERALD_DB, or HOME")]
    NoHome,
    /// Another Herald process (the tray, the settings window, `herald rules`) kept the
    /// config's lock for longer than a writer waits.
    #[error("another Herald process is changing config file {path}; try again in a moment")]
    Locked { path: PathBuf },
}

/// Showing a notification.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no notification server on the session bus ({0})")]
    NoServer(String),
    #[error("the notification server failed: {0}")]
    Server(String),
    /// The server was lost (gone, its bus gone, or not answering) and the next attempt to
    /// reach it is not due yet: nothing was sent.
    #[error(
        "the notification server is unreachable; trying again in {} s",
        .retry_in.as_secs().max(1)
    )]
    Unreachable { retry_in: std::time::Duration },
    #[error("cannot open link: {0}")]
    Link(String),
}

/// A rule that cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("rule {rule:?}: body regex {regex:?} is not valid")]
    Regex {
        rule: String,
        regex: String,
        #[source]
        source: Box<regex::Error>,
    },
    #[error("rule {rule:?}: {reason}")]
    Invalid { rule: String, reason: String },
    #[error("two rules have the id {0:?}")]
    DuplicateId(String),
}

/// The local history database.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot open history database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot create directory {path} for the history database")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot upgrade history database {path}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("history database {op} failed")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("invalid search: {0}")]
    BadQuery(String),
    #[error("cannot encode install state: {0}")]
    Encode(String),
    #[error(
        "history database {path} was written by a newer Herald (it has upgrade {version}, which \
         this Herald does not know). Nothing was changed: run the newer Herald, or point --db \
         (HERALD_DB) at another file"
    )]
    Newer { path: PathBuf, version: i64 },
    #[error(
        "{path} is not a Herald history or is damaged ({reason}). Nothing was overwritten: move \
         it aside (for example `mv {path} {path}.damaged`) and Herald starts a new history, or \
         point --db (HERALD_DB) at another file"
    )]
    Damaged { path: PathBuf, reason: String },
}

impl BusError {
    /// Whether only the user can fix this (a missing certificate or key, a wrong URL, a
    /// login or virtual host the broker refuses): retrying soon cannot help, so it is said
    /// once and retried slowly.
    pub fn needs_user(&self) -> bool {
        let refused = |e: &lapin::Error| {
            matches!(e.kind(), lapin::ErrorKind::ProtocolError(p)
                // ACCESS_REFUSED (login, permissions), NOT_ALLOWED (unknown vhost).
                if matches!(p.get_id(), 403 | 530))
        };
        match self {
            BusError::Url(_)
            | BusError::TlsFile { .. }
            | BusError::FedoraCertificates { .. }
            | BusError::EncryptedKey { .. }
            | BusError::Cleartext { .. }
            | BusError::Secret(_) => true,
            BusError::Connect { source, .. } | BusError::Topology { source, .. } => refused(source),
            _ => false,
        }
    }
}

/// SQLite's primary result codes Herald tells apart (`sqlite3.h`).
mod sqlite_code {
    pub const CORRUPT: i64 = 11;
    pub const TOOBIG: i64 = 18;
    pub const CONSTRAINT: i64 = 19;
    pub const MISMATCH: i64 = 20;
    pub const RANGE: i64 = 25;
    pub const NOTADB: i64 = 26;
}

/// The primary SQLite result code of an error from the database, if it is one.
pub(crate) fn sqlite_primary_code(e: &sqlx::Error) -> Option<i64> {
    match e {
        sqlx::Error::Database(d) => d.code()?.parse::<i64>().ok().map(|c| c & 0xff),
        _ => None,
    }
}

/// Whether an error says the file is not a database or is corrupt.
pub(crate) fn is_damaged(e: &sqlx::Error) -> bool {
    matches!(
        sqlite_primary_code(e),
        Some(sqlite_code::CORRUPT | sqlite_code::NOTADB)
    )
}

impl HistoryError {
    pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> HistoryError {
        move |source| HistoryError::Query { op, source }
    }

    /// Whether the database refused a write because of what the rows hold (a constraint, a
    /// value too big or of the wrong type): writing the same rows again fails the same way,
    /// so they are quarantined. Every other failure (busy, locked, full, read-only, I/O, a
    /// damaged file) is the store's, not the message's: writing pauses and is retried, and
    /// nothing is quarantined or acknowledged meanwhile.
    pub fn is_row_refusal(&self) -> bool {
        let HistoryError::Query { source, .. } = self else {
            return false;
        };
        match source {
            sqlx::Error::Encode(_) => true,
            e => matches!(
                sqlite_primary_code(e),
                Some(
                    sqlite_code::TOOBIG
                        | sqlite_code::CONSTRAINT
                        | sqlite_code::MISMATCH
                        | sqlite_code::RANGE
                )
            ),
        }
    }
}

/// Talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("invalid broker URL: {0}")]
    Url(String),
    #[error("cannot read TLS file {path} ({what})")]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the Fedora public broker needs the certificate {path}, which is missing. Install the \
         fedora-messaging package (`sudo dnf install fedora-messaging`), or copy cacert.pem, \
         fedora-cert.pem and fedora-key.pem from \
         https://github.com/fedora-infra/fedora-messaging/tree/stable/configs into {dir} or \
         ~/.config/herald/fedora-messaging (`./dev run` does this)"
    )]
    FedoraCertificates { path: PathBuf, dir: &'static str },
    #[error("the TLS client key {path} is encrypted, and {reason}")]
    EncryptedKey { path: PathBuf, reason: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(
        "Herald does not send a password to {endpoint} without TLS: anyone on the way could \
         read it. Use amqps:// (only a broker on this machine may be reached over amqp:// \
         with a password)"
    )]
    Cleartext { endpoint: String },
    #[error("cannot connect to {url}")]
    Connect {
        url: String,
        #[source]
        source: lapin::Error,
    },
    #[error("broker refused {op} {name}")]
    Topology {
        op: &'static str,
        name: String,
        #[source]
        source: lapin::Error,
    },
    #[error("broker channel failed during {op}")]
    Channel {
        op: &'static str,
        #[source]
        source: lapin::Error,
    },
    #[error("the history writer stopped")]
    WriterStopped,
    #[error("the broker closed the consumer (connection lost or queue deleted)")]
    ConsumerEnded,
    #[error("the pipeline task stopped unexpectedly: {0}")]
    Stopped(String),
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Talking to the bus archive (datagrepper).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive address: {0}")]
    Url(String),
    #[error("cannot set up the archive client: {0}")]
    Client(String),
    #[error("the archive did not answer in time")]
    Timeout,
    #[error("cannot reach the archive: {0}")]
    Transport(String),
    #[error("the archive answered {status}{}{}", if *html { " with an HTML page" } else { "" }, detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        status: u16,
        html: bool,
        detail: Option<String>,
    },
    #[error("the archive's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the archive's answer cannot be used: {0}")]
    Answer(String),
    #[error("history: {0}")]
    History(#[from] HistoryError),
}

impl ArchiveError {
    /// Whether the same request may succeed later: the server or the path to it is failing
    /// (5xx, 429, a timeout, an HTML page from a proxy), not refusing what was asked.
    pub fn is_transient(&self) -> bool {
        match self {
            ArchiveError::Timeout | ArchiveError::Transport(_) => true,
            ArchiveError::Status { status, html, .. } => {
                *html || *status >= 500 || *status == 429 || *status == 408
            }
            _ => false,
        }
    }
}
