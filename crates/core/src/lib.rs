//! Herald's engine, with no GUI dependency: the message model and per-source rendering, the
//! bus consumer, the local history, configuration and the pipeline that ties them together.
//! The `herald` CLI and the tray app are both thin front ends over this crate.

pub mod bus;
pub mod catchup;
pub mod clean;
pub mod config;
pub mod error;
pub mod filter;
pub mod history;
pub mod message;
pub mod notify;
pub mod packages;
pub mod pipeline;
pub mod record;
pub mod recorded;
pub mod secrets;
pub mod settings;
pub mod sources;
#[cfg(test)]
pub(crate) mod testing;

/// Herald's application id (reverse DNS): the desktop entry, AppStream component, icon,
/// autostart entry, Flatpak and the notifications' `desktop-entry` hint all use it.
pub const APP_ID: &str = "io.github.herald.Herald";

pub use error::{
    BusError, ConfigError, FilterError, HistoryError, NotifyError, RecordError, SecretError,
};
pub use message::{Envelope, Message};
pub use settings::SettingsError;
