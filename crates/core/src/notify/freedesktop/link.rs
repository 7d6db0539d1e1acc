//! One link to the notification server: a D-Bus connection of its own, what the server said
//! about itself over it, and the thread that drives it and listens for `ActionInvoked`.
//!
//! A link is never repaired: when its server or its bus goes away, [`super::Freedesktop`]
//! drops it and opens a new one, so a new server is asked again who it is and what it can do,
//! and the listener subscribes again on a connection that works.

use super::offer::Offered;
use super::{lock, ServerInfo, BUS_NAME, CALL_TIMEOUT, INTERFACE, OBJECT_PATH};
use crate::error::NotifyError;
use crate::notify::NotifyAction;
use futures_util::future::{select, Either};
use futures_util::StreamExt as _;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use zbus::{Connection, MatchRule, MessageStream};

/// How long opening a link may take in all: the bus handshake and two calls. A bus that does
/// not answer the handshake is as unreachable as one that refuses it.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Ids shown over a link that a later notification may replace. An id from an earlier server
/// means nothing to this one (or, worse, names another notification), so it is not sent.
const SHOWN_KEPT: usize = 1024;

/// Where a link's listener delivers what it hears.
#[derive(Clone)]
pub(super) struct Outlets {
    /// Where invoked actions go; replaced by each [`super::Freedesktop::actions`].
    pub sender: Arc<Mutex<mpsc::UnboundedSender<NotifyAction>>>,
    pub offered: Arc<Mutex<Offered>>,
}

pub(super) struct Link {
    conn: Connection,
    pub server: ServerInfo,
    pub capabilities: Vec<String>,
    /// Set by the listener when the connection ends (the bus went away).
    closed: Arc<AtomicBool>,
    shown: Mutex<VecDeque<u32>>,
    /// Dropping it stops the listener thread.
    _stop: oneshot::Sender<()>,
}

impl Link {
    /// Connects to the bus at `address` (the session bus if `None`), subscribes to
    /// `ActionInvoked` and asks the server who it is. Blocks for a few round trips.
    pub fn open(address: Option<&str>, outlets: Outlets) -> Result<Link, NotifyError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let closed = Arc::new(AtomicBool::new(false));
        let listener = Listener {
            outlets,
            closed: closed.clone(),
        };
        let address = address.map(str::to_owned);
        std::thread::Builder::new()
            .name("herald-notify".into())
            .spawn(move || zbus::block_on(listener.run(address, ready_tx, stop_rx)))
            .map_err(|e| {
                NotifyError::Server(format!("cannot start the D-Bus listener thread: {e}"))
            })?;
        // A thread left behind here ends by itself: its setup fails or finds nobody waiting.
        let ready = match ready_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(ready) => ready?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(NotifyError::NoServer(format!(
                    "the session bus did not answer within {} s",
                    OPEN_TIMEOUT.as_secs()
                )))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(NotifyError::Server(
                    "the D-Bus listener stopped while connecting".into(),
                ))
            }
        };
        Ok(Link {
            conn: ready.conn,
            server: ready.server,
            capabilities: ready.capabilities,
            closed,
            shown: Mutex::new(VecDeque::new()),
            _stop: stop_tx,
        })
    }

    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// False once the connection has ended.
    pub fn alive(&self) -> bool {
        !self.closed.load(Ordering::SeqCst)
    }

    /// `replaces` if this server showed it, else 0 (a new notification).
    pub fn replaceable(&self, replaces: Option<u32>) -> u32 {
        replaces
            .filter(|id| lock(&self.shown).contains(id))
            .unwrap_or(0)
    }

    /// Calls `Notify` with `body` (its arguments, in order); the server's id.
    pub fn notify<B>(&self, body: &B) -> Result<u32, NotifyError>
    where
        B: serde::Serialize + zbus::DynamicType,
    {
        let reply = zbus::block_on(self.conn.call_method(
            Some(BUS_NAME),
            OBJECT_PATH,
            Some(INTERFACE),
            "Notify",
            body,
        ))
        .map_err(|e| call_error("Notify", e))?;
        let id: u32 = reply
            .body()
            .deserialize()
            .map_err(|e| NotifyError::Server(format!("Notify returned no id: {e}")))?;
        let mut shown = lock(&self.shown);
        if !shown.contains(&id) {
            if shown.len() == SHOWN_KEPT {
                shown.pop_front();
            }
            shown.push_back(id);
        }
        Ok(id)
    }
}

/// What `open` needs from the listener thread once the server has answered.
struct Ready {
    conn: Connection,
    server: ServerInfo,
    capabilities: Vec<String>,
}

/// The one listener for `ActionInvoked` of a link, on the thread that drives its connection.
struct Listener {
    outlets: Outlets,
    closed: Arc<AtomicBool>,
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
        self.closed.store(true, Ordering::SeqCst);
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
                // The connection closed, or the link was dropped.
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
            let action = lock(&self.outlets.offered).action(id, &key);
            match action {
                Some(action) => {
                    tracing::debug!("notification {id}: action {key:?} invoked");
                    // Nobody listening is not an error: the action is simply not taken.
                    let _ = lock(&self.outlets.sender).send(action);
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
        .map_err(|e| call_error("AddMatch", e))?;
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

/// Failures that mean the server or the bus is gone (or not answering) are
/// [`NotifyError::NoServer`]: the link is then dropped and another opened later.
fn call_error(method: &str, e: zbus::Error) -> NotifyError {
    match &e {
        zbus::Error::FDO(fdo)
            if matches!(
                **fdo,
                zbus::fdo::Error::ServiceUnknown(_)
                    | zbus::fdo::Error::NameHasNoOwner(_)
                    | zbus::fdo::Error::NoReply(_)
                    | zbus::fdo::Error::Disconnected(_)
                    | zbus::fdo::Error::TimedOut(_)
            ) =>
        {
            NotifyError::NoServer(format!(
                "nothing answers for {BUS_NAME} and no service can be started for it: {e}"
            ))
        }
        zbus::Error::InputOutput(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            NotifyError::NoServer(format!(
                "{BUS_NAME} did not answer {method} within {} s",
                CALL_TIMEOUT.as_secs()
            ))
        }
        zbus::Error::InputOutput(_) => NotifyError::NoServer(format!(
            "the session bus connection failed during {method}: {e}"
        )),
        _ => NotifyError::Server(format!("{method} failed: {e}")),
    }
}
