//! Why settings could not be read, saved or tried, with the field a person has to fix.

use crate::error::{ConfigError, FilterError, HistoryError, SecretError};

/// A settings operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value the window sent cannot be used; `field` names it the way [`super::Settings`]
    /// does (`connections.default.url`, `rules_toml`, `notifications.quiet_hours`).
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The config file cannot be read, parsed or written.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The keyring cannot say whether a secret is stored.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The history cannot be read (dry runs).
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// The kinds the desktop app's `CommandError` distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsErrorKind {
    /// The user's input: fix the named field.
    Invalid,
    /// The config file.
    Config,
    /// The OS keyring.
    Secret,
    /// The history database.
    History,
}

impl SettingsErrorKind {
    /// `invalid`, `config`, `secret` or `history`, as in the IPC contract.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingsErrorKind::Invalid => "invalid",
            SettingsErrorKind::Config => "config",
            SettingsErrorKind::Secret => "secret",
            SettingsErrorKind::History => "history",
        }
    }
}

impl SettingsError {
    pub fn kind(&self) -> SettingsErrorKind {
        match self {
            SettingsError::Invalid { .. } => SettingsErrorKind::Invalid,
            SettingsError::Config(_) => SettingsErrorKind::Config,
            SettingsError::Secret(_) => SettingsErrorKind::Secret,
            SettingsError::History(HistoryError::BadQuery(_)) => SettingsErrorKind::Invalid,
            SettingsError::History(_) => SettingsErrorKind::History,
        }
    }

    /// The field to fix, for [`SettingsError::Invalid`].
    pub fn field(&self) -> Option<&str> {
        match self {
            SettingsError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SettingsError {
        SettingsError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Rules that do not parse or compile, as an error of the rules text.
    pub(crate) fn rules(e: &(dyn std::error::Error + 'static)) -> SettingsError {
        SettingsError::invalid("rules_toml", crate::pipeline::error_chain(e))
    }
}

impl From<FilterError> for SettingsError {
    fn from(e: FilterError) -> SettingsError {
        SettingsError::rules(&e)
    }
}
