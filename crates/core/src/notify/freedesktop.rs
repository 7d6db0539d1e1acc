//! The freedesktop notifier: `org.freedesktop.Notifications` on the session bus.
//!
//! [`Freedesktop`] builds each notification with notify-rust (its builder and hint encoding)
//! and sends it over a D-Bus connection of its own, which also listens for `ActionInvoked`.
//! Both must be the same connection: some servers (dunst among them) send `ActionInvoked`
//! only to the connection that sent `Notify`, and notify-rust's `show()` opens a new
//! connection per notification that is gone by the time anyone clicks. A listener thread
//! drives that connection and maps each (notification id, action key) back to the
//! [`NotifyAction`] that notification offered, from a bounded map of the most recent ids.
//!
//! The connection, what the server said about itself and the listener form a link
//! (`link.rs`) that lasts as long as the server and the bus do. A `Notify` that finds the
//! server gone, the bus connection broken, or no answer within [`CALL_TIMEOUT`] drops the
//! link; a later notification opens a new one (a fresh connection, the server asked again who
//! it is and what it can do, the listener subscribed again, the old server's ids forgotten).
//! Attempts are spaced by a backoff from 1 s to 30 s; until the next is due, `show` fails at
//! once with [`NotifyError::Unreachable`], so a dead server costs nothing per message. The
//! loss and the return are logged once each.
//!
//! Text is made safe here: the summary is plain text, the body is escaped with
//! [`escape_markup`] when the server reads markup, and an `Open` action is only offered for
//! an http(s) link.

use super::text::{escape_markup, plain_text};
use super::{Notification, Notifier, NotifyAction, ShownId, Urgency};
use crate::error::NotifyError;
use icon::{absolute, resolve_icon};
use link::{Link, Outlets};
use offer::{offers, Offered};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

mod icon;
mod link;
mod offer;

const BUS_NAME: &str = "org.freedesktop.Notifications";
const OBJECT_PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
const APP_NAME: &str = "Herald";
/// A server that has not answered a call in this time is taken for lost. Servers answer
/// `Notify` in milliseconds; each call holds a blocking thread and delays the notifications
/// behind it, so waiting longer only makes a hung server costlier.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// The first and the longest wait before trying a lost server again.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What the notification server says about itself (`GetServerInformation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub name: String,
    pub vendor: String,
    pub version: String,
    pub spec_version: String,
}

/// Notifications over D-Bus, to whatever owns `org.freedesktop.Notifications` on the session
/// bus (GNOME Shell, Plasma, dunst, mako, …).
pub struct Freedesktop {
    /// The bus to reach the server on; `None` for the session bus.
    address: Option<String>,
    icon_dir: Option<PathBuf>,
    link: Mutex<Reach>,
    /// The most recent server's description (kept while it is lost).
    known: Mutex<Known>,
    outlets: Outlets,
    offered: Arc<Mutex<Offered>>,
    /// The first receiver, holding whatever was invoked before anyone asked.
    first_receiver: Mutex<Option<mpsc::UnboundedReceiver<NotifyAction>>>,
}

/// How the server is reached now.
#[derive(Default)]
struct Reach {
    link: Option<Arc<Link>>,
    /// Failed attempts since a notification was last shown: the next is spaced by them.
    failures: u32,
    /// No new link is opened before this.
    retry_at: Option<Instant>,
    /// The server was lost and has not shown a notification since.
    lost: bool,
}

struct Known {
    server: ServerInfo,
    capabilities: Vec<String>,
    actions: bool,
}

impl std::fmt::Debug for Freedesktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known = lock(&self.known);
        f.debug_struct("Freedesktop")
            .field("server", &known.server)
            .field("capabilities", &known.capabilities)
            .field("icon_dir", &self.icon_dir)
            .finish_non_exhaustive()
    }
}

impl Freedesktop {
    /// Connects to the notification server on the session bus. `icon_dir` holds the
    /// `source-<key>.png` icons; `None` means [`Freedesktop::default_icon_dir`].
    ///
    /// No session bus, or nothing owning `org.freedesktop.Notifications` on it, is
    /// [`NotifyError::NoServer`]. Blocks for a few D-Bus round trips.
    pub fn connect(icon_dir: Option<PathBuf>) -> Result<Freedesktop, NotifyError> {
        Freedesktop::start(None, icon_dir)
    }

    /// Like [`Freedesktop::connect`], on the bus at `address` (a D-Bus address such as
    /// `unix:path=/run/user/1000/bus`) instead of the session bus.
    pub fn connect_to(
        address: &str,
        icon_dir: Option<PathBuf>,
    ) -> Result<Freedesktop, NotifyError> {
        Freedesktop::start(Some(address.to_owned()), icon_dir)
    }

    /// Where Herald's icons are: `HERALD_ICON_DIR` if set, else the first existing
    /// `herald/icons` under `$XDG_DATA_HOME`, then each of `$XDG_DATA_DIRS`, else the `icons/`
    /// folder of the source tree this was built from, if it exists.
    pub fn default_icon_dir() -> Option<PathBuf> {
        icon::default_dir()
    }

    fn start(
        address: Option<String>,
        icon_dir: Option<PathBuf>,
    ) -> Result<Freedesktop, NotifyError> {
        let icon_dir = icon_dir
            .map(absolute)
            .or_else(Freedesktop::default_icon_dir);
        let (action_tx, action_rx) = mpsc::unbounded_channel();
        let offered = Arc::new(Mutex::new(Offered::default()));
        let outlets = Outlets {
            sender: Arc::new(Mutex::new(action_tx)),
            offered: offered.clone(),
        };
        let link = Link::open(address.as_deref(), outlets.clone())?;
        let known = Known {
            server: link.server.clone(),
            capabilities: link.capabilities.clone(),
            actions: link.has("actions"),
        };
        Ok(Freedesktop {
            address,
            icon_dir,
            link: Mutex::new(Reach {
                link: Some(Arc::new(link)),
                ..Reach::default()
            }),
            known: Mutex::new(known),
            outlets,
            offered,
            first_receiver: Mutex::new(Some(action_rx)),
        })
    }

    /// The server's name, vendor, version and spec version (the last server reached).
    pub fn server(&self) -> ServerInfo {
        lock(&self.known).server.clone()
    }

    /// The server's capabilities (`actions`, `body`, `body-markup`, `persistence`, …).
    pub fn capabilities(&self) -> Vec<String> {
        lock(&self.known).capabilities.clone()
    }

    /// Whether the server reads the body as markup (so Herald escapes it).
    pub fn supports_body_markup(&self) -> bool {
        lock(&self.known)
            .capabilities
            .iter()
            .any(|c| c == "body-markup")
    }

    /// The folder icons are taken from, if any.
    pub fn icon_dir(&self) -> Option<&Path> {
        self.icon_dir.as_deref()
    }

    /// The icon sent for `key`: an absolute path passes through; a source key such as `koji`
    /// becomes `<icon_dir>/source-koji.png` when that file exists, any other key the generic
    /// source icon; without icon files, a freedesktop icon name.
    pub fn icon_for(&self, key: &str) -> String {
        resolve_icon(key, self.icon_dir.as_deref())
    }

    /// The actions users invoke, as the notification that offered them described them. One
    /// listener serves every notification; an action key the notification did not offer, or
    /// a signal from anyone but the notification server, yields nothing. The first call gets
    /// every action invoked since [`Freedesktop::connect`]; a later call takes the stream over
    /// (the previous receiver then ends).
    pub fn actions(&self) -> mpsc::UnboundedReceiver<NotifyAction> {
        if let Some(rx) = lock(&self.first_receiver).take() {
            return rx;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        *lock(&self.outlets.sender) = tx;
        rx
    }

    /// The link to show over: the current one while its connection lives, else a new one
    /// when an attempt is due, else [`NotifyError::Unreachable`] at once. The lock is held
    /// while a link opens, so only one attempt is made at a time.
    fn link(&self) -> Result<Arc<Link>, NotifyError> {
        let mut reach = lock(&self.link);
        if let Some(link) = &reach.link {
            if link.alive() {
                return Ok(link.clone());
            }
            // The bus connection ended under it: try a new one now, the bus may be back.
            reach.link = None;
            self.tell_lost(&mut reach, "the session bus connection closed");
        }
        let now = Instant::now();
        if let Some(at) = reach.retry_at.filter(|at| *at > now) {
            return Err(NotifyError::Unreachable { retry_in: at - now });
        }
        match Link::open(self.address.as_deref(), self.outlets.clone()) {
            Ok(link) => {
                // Ids of the previous server mean nothing to this one.
                *lock(&self.offered) = Offered::default();
                *lock(&self.known) = Known {
                    server: link.server.clone(),
                    capabilities: link.capabilities.clone(),
                    actions: link.has("actions"),
                };
                let link = Arc::new(link);
                reach.link = Some(link.clone());
                reach.retry_at = None;
                Ok(link)
            }
            Err(e) => {
                self.fail(&mut reach, &e.to_string());
                Err(e)
            }
        }
    }

    /// `link` lost its server (gone, not answering, or its bus gone): it is dropped and the
    /// next attempt spaced.
    fn lost(&self, link: &Arc<Link>, e: &NotifyError) {
        let mut reach = lock(&self.link);
        if reach.link.as_ref().is_some_and(|l| Arc::ptr_eq(l, link)) {
            reach.link = None;
        }
        self.fail(&mut reach, &e.to_string());
    }

    fn fail(&self, reach: &mut Reach, why: &str) {
        reach.failures = reach.failures.saturating_add(1);
        let wait = crate::error::backoff(RETRY_FIRST, RETRY_MAX, reach.failures);
        reach.retry_at = Some(Instant::now() + wait);
        self.tell_lost(reach, why);
        tracing::debug!(
            failures = reach.failures,
            "notification server unreachable ({why}); next attempt in {:.1} s",
            wait.as_secs_f64()
        );
    }

    /// Says once that the server was lost.
    fn tell_lost(&self, reach: &mut Reach, why: &str) {
        if !reach.lost {
            reach.lost = true;
            tracing::warn!(
                "lost the notification server ({why}); notifications fail until it is back"
            );
        }
    }

    /// A notification was shown over `link`: the server is back, if it was lost.
    fn reached(&self, link: &Link) {
        let mut reach = lock(&self.link);
        reach.failures = 0;
        if reach.lost {
            reach.lost = false;
            tracing::warn!(
                server = %link.server.name,
                "the notification server is back; notifications are shown again"
            );
        }
    }
}

impl Notifier for Freedesktop {
    fn supports_actions(&self) -> bool {
        lock(&self.known).actions
    }

    fn take_actions(&self) -> Option<mpsc::UnboundedReceiver<NotifyAction>> {
        Some(self.actions())
    }

    fn show(&self, n: &Notification) -> Result<ShownId, NotifyError> {
        let link = self.link()?;
        let offers = if link.has("actions") {
            offers(&n.actions)
        } else {
            Vec::new()
        };
        let body = if link.has("body-markup") {
            escape_markup(&n.body)
        } else {
            plain_text(&n.body)
        };
        let mut note = notify_rust::Notification::new();
        note.appname(APP_NAME)
            .summary(&plain_text(&n.summary))
            .body(&body)
            .icon(&self.icon_for(&n.icon))
            .urgency(match n.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            })
            .timeout(notify_rust::Timeout::Default)
            // Lets the server show Herald's name and icon, and its per-app settings apply.
            .hint(notify_rust::Hint::DesktopEntry(crate::APP_ID.to_owned()));
        for offer in &offers {
            note.action(&offer.key, &offer.label);
        }
        let hints: HashMap<&str, zbus::Variant<'_>> = note.hints.iter().map(Into::into).collect();
        let body = (
            note.appname.as_str(),
            link.replaceable(n.replaces),
            note.icon.as_str(),
            note.summary.as_str(),
            note.body.as_str(),
            &note.actions,
            hints,
            i32::from(note.timeout),
        );
        match link.notify(&body) {
            Ok(id) => {
                lock(&self.offered).remember(id, offers);
                self.reached(&link);
                Ok(id)
            }
            Err(e) => {
                if matches!(e, NotifyError::NoServer(_)) {
                    self.lost(&link, &e);
                }
                Err(e)
            }
        }
    }
}

/// Locks a mutex, taking the data over if a panicking thread poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
