//! The error shape every command returns: `{ kind, message }`. The page branches on `kind`,
//! a closed set, and shows `message` to a person; it never parses message text.

use std::error::Error as StdError;

use serde::Serialize;

/// What went wrong, as far as the UI needs to know to choose a reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Settings or their location: the user can fix it in the config file or the environment.
    Config,
    /// Anything else; a bug or an environment problem worth reporting.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
