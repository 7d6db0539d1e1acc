//! The freedesktop notifier: `org.freedesktop.Notifications` on the session bus.
//!
//! [`Freedesktop`] builds each notification with notify-rust (its builder and hint encoding)
//! and sends it over one D-Bus connection of its own, which also listens for
//! `ActionInvoked`. Both must be the same connection: some servers (dunst among them) send
//! `ActionInvoked` only to the connection that sent `Notify`, and notify-rust's `show()` opens
//! a new connection per notification that is gone by the time anyone clicks. A single
//! listener thread drives that connection and maps each (notification id, action key) back to
//! the [`NotifyAction`] that notification offered, from a bounded map of the most recent ids.
//!
//! Text is made safe here: the summary is plain text, the body is escaped with
//! [`escape_markup`] when the server reads markup, and an `Open` action is only offered for
//! an http(s) link.

use super::text::{escape_markup, plain_text};
use super::{Notification, Notifier, NotifyAction, ShownId, Urgency};
use crate::error::NotifyError;
use futures_util::future::{select, Either};
use futures_util::StreamExt as _;
use icon::{absolute, resolve_icon};
use offer::{offers, Offered};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zbus::{Connection, MatchRule, MessageStream};

mod icon;
mod offer;

const BUS_NAME: &str = "org.freedesktop.Notifications";
const OBJECT_PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
const APP_NAME: &str = "Herald";
/// A notification server that does not answer in this time is treated as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

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
    conn: Connection,
    server: ServerInfo,
    capabilities: Vec<String>,
    actions: bool,
    body_markup: bool,
    icon_dir: Option<PathBuf>,
    offered: Arc<Mutex<Offered>>,
    /// Where the listener sends invoked actions; replaced by each [`Freedesktop::actions`].
    sender: Arc<Mutex<mpsc::UnboundedSender<NotifyAction>>>,
    /// The first receiver, holding whatever was invoked before anyone asked.
    first_receiver: Mutex<Option<mpsc::UnboundedReceiver<NotifyAction>>>,
    /// Dropping it stops the listener thread.
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for Freedesktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Freedesktop")
            .field("server", &self.server)
            .field("capabilities", &self.capabilities)
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

    /// Where Herald's icons are: `HERALD_ICON_DIR` if set, else `$XDG_DATA_HOME/herald/icons`
    /// if it exists, else the `icons/` folder of the source tree this was built from, if it
    /// exists.
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
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let (action_tx, action_rx) = mpsc::unbounded_channel();
        let listener = Listener {
            sender: Arc::new(Mutex::new(action_tx)),
            offered: Arc::new(Mutex::new(Offered::default())),
        };
        let (sender, offered) = (listener.sender.clone(), listener.offered.clone());
        std::thread::Builder::new()
            .name("herald-notify".into())
            .spawn(move || zbus::block_on(listener.run(address, ready_tx, stop_rx)))
            .map_err(|e| {
                NotifyError::Server(format!("cannot start the D-Bus listener thread: {e}"))
            })?;
        let ready = ready_rx.recv().map_err(|_| {
            NotifyError::Server("the D-Bus listener stopped while connecting".into())
        })??;
        let has = |cap: &str| ready.capabilities.iter().any(|c| c == cap);
        Ok(Freedesktop {
            actions: has("actions"),
            body_markup: has("body-markup"),
            conn: ready.conn,
            server: ready.server,
            capabilities: ready.capabilities,
            icon_dir,
            offered,
            sender,
            first_receiver: Mutex::new(Some(action_rx)),
            _stop: stop_tx,
        })
    }

    /// The server's name, vendor, version and spec version.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// The server's capabilities (`actions`, `body`, `body-markup`, `persistence`, …).
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// Whether the server reads the body as markup (so Herald escapes it).
    pub fn supports_body_markup(&self) -> bool {
        self.body_markup
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
        *lock(&self.sender) = tx;
        rx
    }
}

impl Notifier for Freedesktop {
    fn supports_actions(&self) -> bool {
        self.actions
    }

    fn take_actions(&self) -> Option<mpsc::UnboundedReceiver<NotifyAction>> {
        Some(self.actions())
    }

    fn show(&self, n: &Notification) -> Result<ShownId, NotifyError> {
        let offers = if self.actions {
            offers(&n.actions)
        } else {
            Vec::new()
        };
        let body = if self.body_markup {
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
            .timeout(notify_rust::Timeout::Default);
        for offer in &offers {
            note.action(&offer.key, &offer.label);
        }
        let hints: HashMap<&str, zbus::Variant<'_>> = note.hints.iter().map(Into::into).collect();
        let body = (
            note.appname.as_str(),
            n.replaces.unwrap_or(0),
            note.icon.as_str(),
            note.summary.as_str(),
            note.body.as_str(),
            &note.actions,
            hints,
            i32::from(note.timeout),
        );
        let reply = zbus::block_on(self.conn.call_method(
            Some(BUS_NAME),
            OBJECT_PATH,
            Some(INTERFACE),
            "Notify",
            &body,
        ))
        .map_err(|e| call_error("Notify", e))?;
        let id: u32 = reply
            .body()
            .deserialize()
            .map_err(|e| NotifyError::Server(format!("Notify returned no id: {e}")))?;
        lock(&self.offered).remember(id, offers);
        Ok(id)
    }
}

/// What `connect` needs from the listener thread once the server has answered.
struct Ready {
    conn: Connection,
    server: ServerInfo,
    capabilities: Vec<String>,
}

/// The one listener for `ActionInvoked`, on the thread that drives the connection.
struct Listener {
    sender: Arc<Mutex<mpsc::UnboundedSender<NotifyAction>>>,
    offered: Arc<Mutex<Offered>>,
}

impl Listener {
    async fn run(
        self,
        address: Option<String>,
        ready: std::sync::mpsc::Sender<Result<Ready, NotifyError>>,
        stop: oneshot::Receiver<()>,
    ) {
        let (conn, stream) = match setup(address.as_deref()).await {
            Ok((r, stream)) => {
                let conn = r.conn.clone();
                if ready.send(Ok(r)).is_err() {
                    return;
                }
                (conn, stream)
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        self.listen(&conn, stream, stop).await;
    }

    async fn listen(
        &self,
        conn: &Connection,
        mut stream: MessageStream,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut server_owner = name_owner(conn).await;
        loop {
            let msg = match select(stream.next(), &mut stop).await {
                Either::Left((Some(Ok(msg)), _)) => msg,
                Either::Left((Some(Err(e)), _)) => {
                    tracing::debug!("D-Bus listener: {e}");
                    continue;
                }
                // The connection closed, or the notifier was dropped.
                Either::Left((None, _)) | Either::Right(_) => return,
            };
            let header = msg.header();
            if header
                .member()
                .is_none_or(|m| m.as_str() != "ActionInvoked")
            {
                continue;
            }
            let Some(sender) = header.sender().map(|s| s.as_str().to_owned()) else {
                continue;
            };
            // A signal addressed to us reaches us whoever sends it: only the server's count.
            if server_owner.as_deref() != Some(sender.as_str()) {
                server_owner = name_owner(conn).await;
                if server_owner.as_deref() != Some(sender.as_str()) {
                    tracing::debug!(
                        "ignoring ActionInvoked from {sender}, not the notification server"
                    );
                    continue;
                }
            }
            let Ok((id, key)) = msg.body().deserialize::<(u32, String)>() else {
                continue;
            };
            let action = lock(&self.offered).action(id, &key);
            match action {
                Some(action) => {
                    tracing::debug!("notification {id}: action {key:?} invoked");
                    // Nobody listening is not an error: the action is simply not taken.
                    let _ = lock(&self.sender).send(action);
                }
                None => tracing::debug!("notification {id}: action {key:?} was not offered"),
            }
        }
    }
}

/// Connects, subscribes to `ActionInvoked` (before anything is shown, so none is missed) and
/// asks the server who it is and what it can do.
async fn setup(address: Option<&str>) -> Result<(Ready, MessageStream), NotifyError> {
    let builder = match address {
        Some(a) => zbus::connection::Builder::address(a),
        None => zbus::connection::Builder::session(),
    };
    let conn = builder
        .method_timeout(CALL_TIMEOUT)
        .build()
        .await
        .map_err(|e| NotifyError::NoServer(format!("cannot connect to the session bus: {e}")))?;
    let server: (String, String, String, String) = call(&conn, "GetServerInformation").await?;
    let capabilities: Vec<String> = call(&conn, "GetCapabilities").await?;
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(BUS_NAME)
        .path(OBJECT_PATH)
        .interface(INTERFACE)
        .member("ActionInvoked")
        .build()
        .map_err(|e| {
            NotifyError::Server(format!("cannot build the ActionInvoked match rule: {e}"))
        })?;
    let stream = MessageStream::for_match_rule(rule, &conn, None)
        .await
        .map_err(|e| NotifyError::Server(format!("cannot listen for ActionInvoked: {e}")))?;
    let (name, vendor, version, spec_version) = server;
    let server = ServerInfo {
        name,
        vendor,
        version,
        spec_version,
    };
    Ok((
        Ready {
            conn,
            server,
            capabilities,
        },
        stream,
    ))
}

/// Calls a method of the notification server that takes no argument.
async fn call<T>(conn: &Connection, method: &str) -> Result<T, NotifyError>
where
    T: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    let reply = conn
        .call_method(Some(BUS_NAME), OBJECT_PATH, Some(INTERFACE), method, &())
        .await
        .map_err(|e| call_error(method, e))?;
    reply
        .body()
        .deserialize()
        .map_err(|e| NotifyError::Server(format!("{method} returned an unexpected reply: {e}")))
}

/// The unique bus name of whoever owns `org.freedesktop.Notifications` now.
async fn name_owner(conn: &Connection) -> Option<String> {
    let reply = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "GetNameOwner",
            &(BUS_NAME,),
        )
        .await
        .ok()?;
    reply.body().deserialize::<String>().ok()
}

fn call_error(method: &str, e: zbus::Error) -> NotifyError {
    match &e {
        zbus::Error::FDO(fdo)
            if matches!(
                **fdo,
                zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
            ) =>
        {
            NotifyError::NoServer(format!(
                "nothing owns {BUS_NAME} and no service can be started for it: {e}"
            ))
        }
        zbus::Error::InputOutput(_) => NotifyError::NoServer(format!(
            "the session bus connection failed during {method}: {e}"
        )),
        _ => NotifyError::Server(format!("{method} failed: {e}")),
    }
}

/// Locks a mutex, taking the data over if a panicking thread poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
