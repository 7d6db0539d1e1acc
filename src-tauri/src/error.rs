//! The error shape every command returns: `{ kind, message }`. The page branches on `kind`,
//! a closed set, and shows `message` to a person; it never parses message text.

use std::error::Error as StdError;

use serde::Serialize;

/// What went wrong, as far as the UI needs to know to choose a reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Settings or their location: the user can fix it in the config file or the environment.
    Config,
    /// What the page sent is not acceptable (a bad search, a link that is not http(s)).
    Invalid,
    /// The history cannot be read or written.
    History,
    /// The broker refused or could not be reached.
    Bus,
    /// The OS keyring refused or is not available.
    Secret,
    /// Herald has not finished starting (or could not start): try again later.
    Starting,
    /// Anything else; a bug or an environment problem worth reporting.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct CommandError {
    pub kind: ErrorKind,
    /// The error and each of its causes, outermost first, joined by ": ".
    pub message: String,
}

impl CommandError {
    pub fn new(kind: ErrorKind, err: &(dyn StdError + 'static)) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self { kind, message }
    }
}

impl CommandError {
    /// A failure that is nobody's input: a task that panicked, a channel that broke.
    pub fn internal(err: &(dyn StdError + 'static)) -> Self {
        Self::new(ErrorKind::Internal, err)
    }

    /// What the page sent cannot be used.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for CommandError {}

impl From<herald_core::ConfigError> for CommandError {
    fn from(err: herald_core::ConfigError) -> Self {
        Self::new(ErrorKind::Config, &err)
    }
}

impl From<herald_core::HistoryError> for CommandError {
    fn from(err: herald_core::HistoryError) -> Self {
        let kind = match err {
            herald_core::HistoryError::BadQuery(_) => ErrorKind::Invalid,
            _ => ErrorKind::History,
        };
        Self::new(kind, &err)
    }
}

impl From<herald_core::settings::SettingsError> for CommandError {
    fn from(err: herald_core::settings::SettingsError) -> Self {
        use herald_core::settings::SettingsErrorKind as K;
        let kind = match err.kind() {
            K::Invalid => ErrorKind::Invalid,
            K::Config => ErrorKind::Config,
            K::Secret => ErrorKind::Secret,
            K::History => ErrorKind::History,
        };
        Self::new(kind, &err)
    }
}

impl From<herald_core::SecretError> for CommandError {
    fn from(err: herald_core::SecretError) -> Self {
        Self::new(ErrorKind::Secret, &err)
    }
}

impl From<herald_core::NotifyError> for CommandError {
    fn from(err: herald_core::NotifyError) -> Self {
        let kind = match err {
            herald_core::NotifyError::Link(_) => ErrorKind::Invalid,
            _ => ErrorKind::Internal,
        };
        Self::new(kind, &err)
    }
}

impl From<crate::autostart::AutostartError> for CommandError {
    fn from(err: crate::autostart::AutostartError) -> Self {
        Self::new(ErrorKind::Internal, &err)
    }
}

impl From<tauri::Error> for CommandError {
    fn from(err: tauri::Error) -> Self {
        Self::new(ErrorKind::Internal, &err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_kind_and_the_whole_cause_chain() {
        let err = herald_core::ConfigError::Read {
            path: "/etc/herald/config.toml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        let json = serde_json::to_value(CommandError::from(err)).expect("serializable");
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "config",
                "message": "cannot read config file /etc/herald/config.toml: no such file",
            })
        );
    }
}
