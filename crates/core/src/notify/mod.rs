//! Notifications: Herald's voice, kept useful. Messages a rule marks `notify` go through
//! [`Attention`] (coalescing bursts into digests, replacing updates of the same build or task,
//! a rate limit, quiet hours and pause) and what survives is shown by a [`Notifier`] — on
//! Linux the freedesktop notification server over D-Bus. Every message's fate is recorded as
//! a [`Fate`] in the history.

use serde::{Deserialize, Serialize};

mod attention;
mod freedesktop;
mod open;
mod outcome;
mod settings;
mod text;

pub use attention::{while_away, Attention, Candidate, Planned, Verdict};
pub use freedesktop::{Freedesktop, ServerInfo};
pub use open::open_link;
pub use outcome::outcome;
pub use settings::{NotifySettings, QuietHours};
pub use text::escape_markup;

/// How a notification should interrupt, from the message's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

impl Urgency {
    /// 40 (error) → critical, 30 (warning) → normal, lower → low.
    pub fn from_severity(severity: u8) -> Urgency {
        match severity {
            40.. => Urgency::Critical,
            30..=39 => Urgency::Normal,
            _ => Urgency::Low,
        }
    }
}

/// What the user can do from a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NotifyAction {
    /// Open the message's link in the browser (only ever an https/http URL).
    Open { url: String },
    /// Add a rule that drops messages about this package.
    Mute { package: String },
    /// Pause the rule that fired for an hour.
    Snooze { rule: String },
}

/// One notification to show. Text is plain: the notifier escapes it for the server's markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub summary: String,
    pub body: String,
    /// An icon file path or a freedesktop icon name.
    pub icon: String,
    pub urgency: Urgency,
    /// The server id of the notification this one replaces (an update of the same build,
    /// task or digest).
    pub replaces: Option<u32>,
    /// Offered when the server supports actions; the first is also the default action.
    pub actions: Vec<NotifyAction>,
}

/// The notification server's id for a shown notification.
pub type ShownId = u32;

/// Shows notifications. Implementations block (D-Bus round trips, each bounded by a short
/// timeout); call them from a blocking task.
pub trait Notifier: Send + Sync + std::fmt::Debug {
    /// Whether the server shows action buttons.
    fn supports_actions(&self) -> bool;
    fn show(&self, n: &Notification) -> Result<ShownId, crate::error::NotifyError>;
    /// The actions people invoke on shown notifications, handed out once (to the pipeline).
    fn take_actions(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<NotifyAction>> {
        None
    }
}

/// What became of a message a rule marked `notify`; stored with the message and counted in
/// `herald stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Shown on its own (or replacing the previous notification of the same build or task).
    Shown,
    /// Folded into a digest notification of its source and kind.
    Coalesced,
    /// Over the rate limit; counted in a later digest.
    RateLimited,
    /// Arrived during quiet hours.
    Quiet,
    /// Arrived while notifications were paused.
    Paused,
    /// Notifications are off (`--no-notify`, or no notification server).
    Disabled,
    /// The notification server refused or failed, or was unreachable.
    Failed,
    /// Not shown: the notification stage was behind (a slow or hung notification server)
    /// when the message was stored, and ingestion does not wait for it.
    Overflow,
}

impl Fate {
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Shown => "shown",
            Fate::Coalesced => "coalesced",
            Fate::RateLimited => "rate_limited",
            Fate::Quiet => "quiet",
            Fate::Paused => "paused",
            Fate::Disabled => "disabled",
            Fate::Failed => "failed",
            Fate::Overflow => "overflow",
        }
    }

    /// Every fate, in the order they are described.
    pub const ALL: [Fate; 8] = [
        Fate::Shown,
        Fate::Coalesced,
        Fate::RateLimited,
        Fate::Quiet,
        Fate::Paused,
        Fate::Disabled,
        Fate::Failed,
        Fate::Overflow,
    ];

    /// The fate stored as `name` ([`Fate::as_str`]).
    pub fn from_name(name: &str) -> Option<Fate> {
        Fate::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Fate::Shown => "shown",
            Fate::Coalesced => "shown in a digest",
            Fate::RateLimited => "held by the rate limit, counted in a digest",
            Fate::Quiet => "arrived during quiet hours",
            Fate::Paused => "arrived while notifications were paused",
            Fate::Disabled => "notifications were off",
            Fate::Failed => "not shown: the notification server failed or was unreachable",
            Fate::Overflow => "not shown: the notification stage was behind",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fate;

    #[test]
    fn every_fate_is_stored_under_a_name_of_its_own() {
        let names: std::collections::HashSet<&str> = Fate::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names.len(), Fate::ALL.len());
        for f in Fate::ALL {
            assert_eq!(Fate::from_name(f.as_str()), Some(f));
            // Serde and the stored name agree: the JSON of a fate is its name.
            assert_eq!(
                serde_json::to_value(f).expect("serialize"),
                serde_json::Value::from(f.as_str())
            );
        }
        assert_eq!(Fate::from_name("overflow"), Some(Fate::Overflow));
        assert_eq!(Fate::from_name("nope"), None);
    }
}
