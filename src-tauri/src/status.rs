//! What the windows are told about Herald's state, and how they hear about it as it happens:
//! the page calls the `live` command with a channel, and the shell pushes every newly stored
//! message, every status change and every "show this message" (or "this package") request on
//! it until the window goes away.

use std::sync::Mutex;

use herald_core::history::Hit;
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;

/// A broker connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    Connecting,
    Connected,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ConnectionStatus {
    pub name: String,
    pub state: LinkState,
    /// Why it is offline.
    pub detail: Option<String>,
}

/// Herald's state as the windows show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Status {
    pub connections: Vec<ConnectionStatus>,
    /// Notified messages the user has not looked at yet (what the tray counts), not every
    /// unread message of the history.
    #[ts(type = "number")]
    pub unread: u64,
    pub paused: bool,
    /// RFC 3339; `None` when paused until resumed, or not paused.
    pub paused_until: Option<String>,
    /// Why Herald is not fully working, if it is not.
    pub error: Option<String>,
}

impl Status {
    /// What a window process shows while it cannot reach the tray process, which is the
    /// one that receives messages.
    pub fn tray_not_running() -> Status {
        Status {
            connections: Vec::new(),
            unread: 0,
            paused: false,
            paused_until: None,
            error: Some(
                "Herald is not running in the tray: no new messages are being received".to_owned(),
            ),
        }
    }
}

/// One thing pushed to a window.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A message was stored for the first time.
    Stored {
        hit: Box<Hit>,
    },
    Status {
        status: Status,
    },
    /// The user picked this message elsewhere (the tray menu): select it.
    Show {
        id: String,
    },
    /// The user picked this package elsewhere (the tray menu): show its timeline.
    ShowPackage {
        name: String,
    },
}

/// What a window is asked to bring into view when it opens (or comes to the front).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Focus {
    /// A stored message, by id.
    Message { id: String },
    /// A package's timeline, by name.
    Package { name: String },
}

impl Focus {
    /// What the page is sent for it.
    pub fn event(&self) -> LiveEvent {
        match self {
            Focus::Message { id } => LiveEvent::Show { id: id.clone() },
            Focus::Package { name } => LiveEvent::ShowPackage { name: name.clone() },
        }
    }
}

/// The windows listening, by window label (managed state of the app).
#[derive(Default)]
pub struct Live {
    listeners: Mutex<Vec<(String, Channel<LiveEvent>)>>,
    /// What to show in a window that is still loading, by window label.
    pending_show: Mutex<Option<(String, Focus)>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let windows: Vec<String> = self.lock().iter().map(|(l, _)| l.clone()).collect();
        f.debug_struct("Live").field("windows", &windows).finish()
    }
}

impl Live {
    /// Adds a window's channel, replacing the one it had (a reload of the page), after
    /// sending it `first()` (the status now). Both happen under the lock every send takes, so
    /// a status announced meanwhile reaches the window after `first`, never before it or not
    /// at all.
    pub fn listen(
        &self,
        window: &str,
        channel: Channel<LiveEvent>,
        first: impl FnOnce() -> LiveEvent,
    ) -> tauri::Result<()> {
        let mut listeners = self.lock();
        channel.send(first())?;
        listeners.retain(|(label, _)| label != window);
        listeners.push((window.to_owned(), channel));
        Ok(())
    }

    /// Asks `window` to show `focus`: at once if it listens, else when it starts to.
    pub fn show(&self, window: &str, focus: Focus) {
        let listening = self.lock().iter().any(|(label, _)| label == window);
        if listening {
            self.send(Some(window), &focus.event());
        } else {
            *self.pending_show.lock().unwrap_or_else(|e| e.into_inner()) =
                Some((window.to_owned(), focus));
        }
    }

    /// What `window` was asked to show before it listened, if anything.
    pub fn take_pending_show(&self, window: &str) -> Option<Focus> {
        let mut pending = self.pending_show.lock().unwrap_or_else(|e| e.into_inner());
        match pending.take() {
            Some((label, id)) if label == window => Some(id),
            other => {
                *pending = other;
                None
            }
        }
    }

    /// Forgets a window that was closed.
    pub fn forget(&self, window: &str) {
        self.lock().retain(|(label, _)| label != window);
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Sends `event` to every window listening (or only to `window`); a window whose channel
    /// fails is forgotten.
    pub fn send(&self, window: Option<&str>, event: &LiveEvent) {
        self.lock().retain(|(label, channel)| {
            if window.is_some_and(|w| w != label) {
                return true;
            }
            match channel.send(event.clone()) {
                Ok(()) => true,
                Err(err) => {
                    tracing::debug!(window = %label, "live channel closed: {err}");
                    false
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Channel<LiveEvent>)>> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }
}
