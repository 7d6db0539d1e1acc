//! What the tray shows, as plain data and pure functions, so it is tested without a display:
//! the pipeline's events and the user's clicks go into a [`TrayModel`]; out come the icon to
//! show ([`TrayState`]), the tooltip text and the menu ([`MenuModel`]). Time is passed in,
//! never read, so pauses are tested without waiting.
//!
//! Unread means "a message a rule marked `notify` (or a package chain notice stems from) that
//! the user has not looked at": clicking it in the menu marks it seen, opening the history
//! marks everything seen.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use herald_core::filter::Action;
use herald_core::pipeline::PipelineEvent;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::behind::Behind;
use super::catch_up::CatchUp;
pub use super::label::plain_label;
pub use super::menu::{MenuEntry, MenuId, MenuModel};
use crate::status::{ConnectionStatus, LinkState, Status};

/// How many of the latest notified messages the menu lists.
pub const LATEST_MAX: usize = 5;
/// Menu labels are cut to this many characters.
pub const LABEL_MAX: usize = 60;
/// Error texts in the tooltip and status line are cut to this many characters.
const ERROR_MAX: usize = 80;
/// Unread ids remembered one by one; beyond that only their number is kept.
const UNREAD_IDS_MAX: usize = 1000;
/// What "Pause 1 h" pauses for.
pub const PAUSE_HOUR: Duration = Duration::from_secs(3600);

/// What the tray icon tells at a glance; each state has its own picture in `icons/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    /// Running, nothing new.
    Normal,
    /// Notified messages not seen yet.
    Unread,
    /// A broker connection is down, the history cannot be written, or the pipeline is not
    /// running.
    Offline,
    /// Notifications are paused.
    Paused,
}

impl TrayState {
    pub const ALL: [TrayState; 4] = [
        TrayState::Normal,
        TrayState::Unread,
        TrayState::Offline,
        TrayState::Paused,
    ];
}

/// Everything the tray shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub state: TrayState,
    pub tooltip: String,
    pub menu: MenuModel,
}

/// A notified message in the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recent {
    pub id: String,
    /// The summary as a menu label: one line, plain, bounded.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Link {
    Connecting,
    Connected,
    /// Down since the last session ended, reconnect attempts included.
    Offline {
        error: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Pause {
    #[default]
    Off,
    Until(Instant),
    UntilResumed,
}

/// The tray's state; see the module documentation.
#[derive(Debug, Default)]
pub struct TrayModel {
    links: BTreeMap<String, Link>,
    store_error: Option<String>,
    /// Why the pipeline is not running (it failed to start, or stopped).
    halted: Option<String>,
    /// Newest first, at most [`LATEST_MAX`].
    latest: VecDeque<Recent>,
    /// Unseen message ids, oldest first, at most [`UNREAD_IDS_MAX`].
    unread: VecDeque<String>,
    /// Unseen messages whose ids were let go of.
    unread_forgotten: usize,
    pause: Pause,
    catch_up: CatchUp,
    /// The packages behind upstream for long enough to list, longest first.
    behind: Vec<Behind>,
}

impl TrayModel {
    /// Takes in one pipeline event; true when what the tray shows may have changed.
    pub fn apply(&mut self, event: &PipelineEvent) -> bool {
        match event {
            PipelineEvent::Connecting { connection, .. } => {
                let link = self
                    .links
                    .entry(connection.clone())
                    .or_insert(Link::Connecting);
                // A reconnect attempt: still offline until it succeeds.
                if *link == Link::Connected {
                    *link = Link::Connecting;
                }
                true
            }
            PipelineEvent::Connected { connection, .. }
            | PipelineEvent::Bound { connection, .. } => {
                self.links.insert(connection.clone(), Link::Connected) != Some(Link::Connected)
            }
            PipelineEvent::Disconnected {
                connection, error, ..
            } => {
                self.links.insert(
                    connection.clone(),
                    Link::Offline {
                        error: error.clone(),
                    },
                );
                true
            }
            PipelineEvent::StoreFailed { error } => {
                self.store_error = Some(error.clone());
                true
            }
            PipelineEvent::Committed(_) => self.store_error.take().is_some(),
            PipelineEvent::Stored {
                id,
                summary,
                action: Action::Notify,
                ..
            } => self.notified(id, summary),
            // A package chain notice opens the message it stems from.
            PipelineEvent::PackageNotice {
                message: Some(id),
                summary,
                ..
            } => self.notified(id, summary),
            PipelineEvent::Stopped => {
                self.halted.get_or_insert_with(|| "stopped".to_owned());
                true
            }
            PipelineEvent::QueuesChecked { .. }
            | PipelineEvent::GapFound { .. }
            | PipelineEvent::CatchingUp { .. }
            | PipelineEvent::CatchUpStalled { .. } => self.catch_up.apply(event),
            PipelineEvent::Stored { .. }
            | PipelineEvent::Dropped { .. }
            | PipelineEvent::Quarantined { .. }
            | PipelineEvent::PackageNotice { .. }
            | PipelineEvent::Notified { .. }
            | PipelineEvent::NotifyFailed { .. }
            | PipelineEvent::ReloadFailed { .. } => false,
        }
    }

    fn notified(&mut self, id: &str, summary: &str) -> bool {
        // A redelivery of a message already listed or counted is not news.
        if self.latest.iter().any(|r| r.id == id) || self.unread.iter().any(|u| u == id) {
            return false;
        }
        self.latest.push_front(Recent {
            id: id.to_owned(),
            label: plain_label(summary, LABEL_MAX),
        });
        self.latest.truncate(LATEST_MAX);
        self.unread.push_back(id.to_owned());
        if self.unread.len() > UNREAD_IDS_MAX {
            self.unread.pop_front();
            self.unread_forgotten += 1;
        }
        true
    }

    /// The packages behind upstream now; true when the submenu they make changed (how long
    /// each has waited moves at every read, what the menu says of it far less often).
    pub fn set_behind(&mut self, behind: Vec<Behind>) -> bool {
        let changed = super::behind::submenu(&self.behind) != super::behind::submenu(&behind);
        self.behind = behind;
        changed
    }

    /// Catch-up gaps are shown in this offset's local time.
    pub fn set_local_offset(&mut self, offset: time::UtcOffset) {
        self.catch_up.set_offset(offset);
    }

    /// The pipeline is not running, and why (shown in the tooltip).
    pub fn halt(&mut self, why: impl Into<String>) {
        self.halted = Some(why.into());
    }

    /// The pipeline is starting again after it could not start.
    pub fn resume_start(&mut self) {
        self.halted = None;
    }

    /// The user looked at message `id`; true if it was unread.
    pub fn mark_seen(&mut self, id: &str) -> bool {
        let before = self.unread.len();
        self.unread.retain(|u| u != id);
        self.unread.len() != before
    }

    /// The user opened the history: everything is seen.
    pub fn mark_all_seen(&mut self) {
        self.unread.clear();
        self.unread_forgotten = 0;
    }

    /// Notifications are paused until `until`, or until [`resume`](Self::resume) if `None`.
    pub fn pause(&mut self, until: Option<Instant>) {
        self.pause = match until {
            Some(t) => Pause::Until(t),
            None => Pause::UntilResumed,
        };
    }

    pub fn resume(&mut self) {
        self.pause = Pause::Off;
    }

    /// How long notifications stay paused from `now`: `None` when they are not paused,
    /// `Some(None)` until resumed.
    pub fn pause_left(&self, now: Instant) -> Option<Option<Duration>> {
        match self.pause {
            Pause::Until(t) if t > now => Some(Some(t - now)),
            Pause::Off | Pause::Until(_) => None,
            Pause::UntilResumed => Some(None),
        }
    }

    pub fn is_paused(&self, now: Instant) -> bool {
        match self.pause {
            Pause::Off => false,
            Pause::Until(t) => now < t,
            Pause::UntilResumed => true,
        }
    }

    pub fn unread(&self) -> usize {
        self.unread.len() + self.unread_forgotten
    }

    /// The latest notified messages, newest first.
    pub fn latest(&self) -> impl Iterator<Item = &Recent> {
        self.latest.iter()
    }

    /// When the view changes by itself (a timed pause ends), if it will.
    pub fn next_change(&self, now: Instant) -> Option<Instant> {
        match self.pause {
            Pause::Until(t) if t > now => Some(t),
            _ => None,
        }
    }

    /// Why Herald is not fully working, if it is not.
    fn trouble(&self) -> Option<String> {
        if let Some(why) = &self.halted {
            return Some(format!("not running: {}", plain_label(why, ERROR_MAX)));
        }
        if let Some(error) = &self.store_error {
            return Some(format!(
                "cannot write the history: {}",
                plain_label(error, ERROR_MAX)
            ));
        }
        let several = self.links.len() > 1;
        self.links.iter().find_map(|(name, link)| match link {
            Link::Offline { error } if several => Some(format!(
                "offline ({name}): {}",
                plain_label(error, ERROR_MAX)
            )),
            Link::Offline { error } => Some(format!("offline: {}", plain_label(error, ERROR_MAX))),
            _ => None,
        })
    }

    pub fn state(&self, now: Instant) -> TrayState {
        if self.trouble().is_some() {
            TrayState::Offline
        } else if self.is_paused(now) {
            TrayState::Paused
        } else if self.unread() > 0 {
            TrayState::Unread
        } else {
            TrayState::Normal
        }
    }

    /// "Herald — connected, 3 unread · Catching up 2,300 / 5,100 (missed 02:10–06:40)".
    pub fn tooltip(&self, now: Instant) -> String {
        let link = self.trouble().unwrap_or_else(|| {
            if self.links.is_empty() {
                "starting".to_owned()
            } else if self.links.values().all(|l| *l == Link::Connected) {
                "connected".to_owned()
            } else {
                "connecting".to_owned()
            }
        });
        let mut parts = vec![link];
        if self.is_paused(now) {
            parts.push(match self.pause {
                Pause::UntilResumed => "notifications paused".to_owned(),
                _ => "notifications paused for now".to_owned(),
            });
        }
        if self.unread() > 0 {
            parts.push(format!("{} unread", self.unread()));
        }
        let mut text = format!("Herald — {}", parts.join(", "));
        // A pipeline that is not running is not catching up either.
        let several = self.links.len() > 1;
        if let Some(line) = self
            .catch_up
            .line(several)
            .filter(|_| self.halted.is_none())
        {
            text = format!("{text} · {line}");
        }
        text
    }

    pub fn menu(&self, now: Instant) -> MenuModel {
        let item = |id: MenuId, enabled: bool| MenuEntry::Item {
            label: id.label().unwrap_or_default().to_owned(),
            id,
            enabled,
        };
        let mut entries = vec![
            MenuEntry::Item {
                id: MenuId::Status,
                label: self.tooltip(now),
                enabled: false,
            },
            MenuEntry::Separator,
        ];
        for recent in &self.latest {
            entries.push(MenuEntry::Item {
                id: MenuId::Message(recent.id.clone()),
                label: recent.label.clone(),
                enabled: true,
            });
        }
        if !self.latest.is_empty() {
            entries.push(MenuEntry::Separator);
        }
        if let Some(behind) = super::behind::submenu(&self.behind) {
            entries.extend([behind, MenuEntry::Separator]);
        }
        let paused = self.is_paused(now);
        let until_resumed = paused && self.pause == Pause::UntilResumed;
        entries.extend([
            item(MenuId::PauseHour, !paused),
            item(MenuId::PauseUntilResumed, !until_resumed),
            item(MenuId::Resume, paused),
            MenuEntry::Separator,
            item(MenuId::OpenHistory, true),
            item(MenuId::Settings, true),
            MenuEntry::Separator,
            item(MenuId::Quit, true),
        ]);
        MenuModel(entries)
    }

    /// The state for the windows: each connection, unread count, pause and trouble.
    pub fn status(&self, now: Instant, wall_now: OffsetDateTime) -> Status {
        let connections = self
            .links
            .iter()
            .map(|(name, link)| ConnectionStatus {
                name: name.clone(),
                state: match link {
                    Link::Connecting => LinkState::Connecting,
                    Link::Connected => LinkState::Connected,
                    Link::Offline { .. } => LinkState::Offline,
                },
                detail: match link {
                    Link::Offline { error } => Some(plain_label(error, ERROR_MAX)),
                    _ => None,
                },
            })
            .collect();
        let paused_until = match self.pause {
            Pause::Until(t) if t > now => {
                let left = time::Duration::try_from(t - now).unwrap_or(time::Duration::ZERO);
                (wall_now + left).format(&Rfc3339).ok()
            }
            _ => None,
        };
        Status {
            connections,
            unread: u64::try_from(self.unread()).unwrap_or(u64::MAX),
            paused: self.is_paused(now),
            paused_until,
            error: self.trouble(),
        }
    }

    pub fn view(&self, now: Instant) -> TrayView {
        TrayView {
            state: self.state(now),
            tooltip: self.tooltip(now),
            menu: self.menu(now),
        }
    }
}

#[cfg(test)]
mod tests;
