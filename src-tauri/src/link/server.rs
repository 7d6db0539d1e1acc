//! The tray process's end of the link: who may connect, what each peer is told and heard,
//! and the window process being started.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec};

use super::{own_uid, parse, write_line, Throttle, ToTray, ToWindows, MAX_LINE, QUEUE};
use crate::status::Focus;
use crate::window::Window;

/// How many window processes may be connected at once; Herald runs one at a time, and a
/// window process of an earlier tray may linger.
pub const MAX_PEERS: usize = 16;

/// How many windows asked of a starting window process are kept for it (the newest).
const MAX_QUEUED: usize = 16;

/// After an accept error (out of descriptors, most likely), the first wait and the longest.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(1));

/// Whom the tray takes for its own window processes: asked to open windows, and heard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trust {
    /// The window processes it started, known by pid.
    #[default]
    Started,
    /// Every process of the same user. Only under WebDriver automation, where the driver
    /// starts the window processes and drives every window anyway.
    SameUser,
}

/// The tray process's end: the window processes connected, and one being started.
#[derive(Debug, Default)]
pub struct Server {
    trust: Trust,
    state: Mutex<ServerState>,
}

#[derive(Debug, Default)]
struct ServerState {
    next_id: u64,
    /// Oldest first.
    peers: Vec<Peer>,
    /// A window process started and not connected yet, with what was asked of it meanwhile.
    starting: Option<(u32, Vec<ToWindows>)>,
    /// The window processes this tray started that have not ended.
    started: HashSet<u32>,
    /// Peers dropped for not reading.
    stuck: Throttle,
}

#[derive(Debug)]
struct Peer {
    id: u64,
    /// A window process this tray started: asked to open windows, and heard.
    ours: bool,
    tx: mpsc::Sender<ToWindows>,
    /// Dropped with the peer, which closes its link at once.
    _close: oneshot::Sender<()>,
}

impl Peer {
    /// Queues `msg`; false when the peer is gone or stuck (its queue full) and is to be
    /// dropped: a peer is never buffered for beyond its queue.
    fn offer(&self, msg: ToWindows, stuck: &mut Throttle) -> bool {
        match self.tx.try_send(msg) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                if let Some(more) = stuck.allow() {
                    tracing::warn!(
                        peer = self.id,
                        more,
                        "a window process stopped reading: its link is closed"
                    );
                }
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }
}

/// How [`Server::open`] had a window opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// Asked of a connected window process.
    Sent,
    /// Kept for the window process that is starting.
    Queued,
    /// A new window process was started, with this pid.
    Started(u32),
}

type OnMessage = dyn Fn(ToTray) -> Option<ToWindows> + Send + Sync;

/// What the accept loop logs at a bounded rate.
#[derive(Debug, Default)]
struct AcceptLog {
    errors: Throttle,
    strangers: Throttle,
    crowd: Throttle,
}

impl Server {
    /// A server that takes `trust` for its own; [`Server::default`] trusts those it started.
    pub fn new(trust: Trust) -> Server {
        Server {
            trust,
            state: Mutex::default(),
        }
    }

    /// Listens at `path`, in a folder that is the user's alone (created 0700, fixed to 0700,
    /// refused when it is a symbolic link or another user's), replacing a socket left by a
    /// process that is gone; refuses to take over one that another process still answers on,
    /// and a path longer than a socket address holds. A plain (non-blocking) listener, so it
    /// can be bound before the async runtime runs: the first window process must find it.
    pub fn bind(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
        super::folder::bind(path)
    }

    /// Accepts window processes for as long as the tray runs: an accept error is logged and
    /// waited out. A peer of another user, or one beyond [`MAX_PEERS`], is closed at once.
    /// Each one admitted is first sent `hello()` (the status now) and, when this tray
    /// started it, what was queued for it; each line a peer this tray started sends goes to
    /// `on_message`, whose answer, if any, goes back to it alone.
    pub async fn serve(
        self: Arc<Self>,
        listener: UnixListener,
        hello: impl Fn() -> ToWindows + Send + Sync + 'static,
        on_message: impl Fn(ToTray) -> Option<ToWindows> + Send + Sync + 'static,
    ) {
        let on_message: Arc<OnMessage> = Arc::new(on_message);
        let mut log = AcceptLog::default();
        let mut backoff = ACCEPT_BACKOFF.0;
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    backoff = ACCEPT_BACKOFF.0;
                    self.admit(stream, &hello, &on_message, &mut log);
                }
                Err(err) => {
                    if let Some(more) = log.errors.allow() {
                        tracing::error!(
                            more,
                            "cannot accept a window process ({err}); trying again"
                        );
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                }
            }
        }
    }

    /// Checks who connected, and registers and serves it if it may stay.
    fn admit(
        self: &Arc<Self>,
        stream: UnixStream,
        hello: &dyn Fn() -> ToWindows,
        on_message: &Arc<OnMessage>,
        log: &mut AcceptLog,
    ) {
        let cred = match stream.peer_cred() {
            Ok(cred) => cred,
            Err(err) => {
                tracing::debug!("closing a connection whose sender is unknown: {err}");
                return;
            }
        };
        if cred.uid() != own_uid() {
            if let Some(more) = log.strangers.allow() {
                tracing::warn!(
                    uid = cred.uid(),
                    pid = cred.pid(),
                    more,
                    "refused a connection from another user"
                );
            }
            return;
        }
        let pid = cred.pid().and_then(|p| u32::try_from(p).ok());
        let (tx, rx) = mpsc::channel(QUEUE);
        let (close, closed) = oneshot::channel();
        let Some((id, ours)) = self.connected(tx.clone(), close, pid, hello) else {
            if let Some(more) = log.crowd.allow() {
                tracing::warn!(
                    pid,
                    more,
                    "refused a window process: {MAX_PEERS} are connected already"
                );
            }
            return;
        };
        tracing::debug!(peer = id, pid, ours, "a window process connected");
        let server = Arc::clone(self);
        let on_message = Arc::clone(on_message);
        tokio::spawn(async move {
            if let Err(why) = peer(stream, tx, rx, closed, ours, &*on_message).await {
                tracing::debug!(peer = id, "closing the link to a window process: {why}");
            }
            server.lock().peers.retain(|p| p.id != id);
            tracing::debug!(peer = id, "a window process went away");
        });
    }

    /// Registers a window process, first sending it `hello()` and, if this tray started it,
    /// what was queued for it; `None` when there is no room for it. All under the lock every
    /// broadcast takes, so a status announced meanwhile reaches it after the greeting, never
    /// before it or not at all.
    fn connected(
        &self,
        tx: mpsc::Sender<ToWindows>,
        close: oneshot::Sender<()>,
        pid: Option<u32>,
        hello: &dyn Fn() -> ToWindows,
    ) -> Option<(u64, bool)> {
        let mut state = self.lock();
        let ours = self.trust == Trust::SameUser || pid.is_some_and(|p| state.started.contains(&p));
        if state.peers.len() >= MAX_PEERS {
            // A window process this tray started makes room by closing the oldest peer it
            // did not start: others filling every place must not keep Herald's own out.
            let stranger = state.peers.iter().position(|p| !p.ours).filter(|_| ours)?;
            state.peers.remove(stranger);
            tracing::info!("closed a window process Herald did not start, to make room");
        }
        // A new queue holds the greeting and the few lines kept for it.
        let _ = tx.try_send(hello());
        if ours {
            if let Some((_, queued)) = state.starting.take() {
                for msg in queued {
                    let _ = tx.try_send(msg);
                }
            }
        }
        state.next_id += 1;
        let id = state.next_id;
        state.peers.push(Peer {
            id,
            ours,
            tx,
            _close: close,
        });
        Some((id, ours))
    }

    /// Has `window` opened: by the newest window process this tray started that is
    /// connected, else by the one starting, else by a new one that `start(window, show)`
    /// starts (returning its pid, which is then known as this tray's own).
    pub fn open(
        &self,
        window: Window,
        show: Option<Focus>,
        start: impl FnOnce(Window, Option<&Focus>) -> io::Result<u32>,
    ) -> io::Result<Opened> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let msg = ToWindows::Open {
            window,
            show: show.clone(),
        };
        while let Some(newest) = state.peers.iter().rposition(|p| p.ours) {
            if state.peers[newest].offer(msg.clone(), &mut state.stuck) {
                return Ok(Opened::Sent);
            }
            state.peers.remove(newest);
        }
        if let Some((_, queued)) = state.starting.as_mut() {
            if queued.len() >= MAX_QUEUED {
                queued.remove(0);
            }
            queued.push(msg);
            return Ok(Opened::Queued);
        }
        let pid = start(window, show.as_ref())?;
        state.started.insert(pid);
        state.starting = Some((pid, Vec::new()));
        Ok(Opened::Started(pid))
    }

    /// The window process `pid` ended: it is no longer this tray's own (its pid may be
    /// reused by anything), and if it never connected, what was queued for it is dropped
    /// and the next request starts another.
    pub fn exited(&self, pid: u32) {
        let mut state = self.lock();
        state.started.remove(&pid);
        if state.starting.as_ref().is_some_and(|(p, _)| *p == pid) {
            tracing::warn!(pid, "a window process ended before it connected");
            state.starting = None;
        }
    }

    /// Tells every window process; forgets those that went away, and drops those that
    /// stopped reading.
    pub fn broadcast(&self, msg: &ToWindows) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let stuck = &mut state.stuck;
        state.peers.retain(|p| p.offer(msg.clone(), stuck));
    }

    /// Whether any window process is connected.
    pub fn has_peers(&self) -> bool {
        !self.lock().peers.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Serves one peer until it goes away, breaks the link, stops reading or is dropped by the
/// server (`closed`): writes what is queued for it, and hands what it sends to `on_message`
/// if it is `ours`, queueing the answer behind what is queued already.
async fn peer(
    stream: UnixStream,
    tx: mpsc::Sender<ToWindows>,
    mut rx: mpsc::Receiver<ToWindows>,
    mut closed: oneshot::Receiver<()>,
    ours: bool,
    on_message: &OnMessage,
) -> Result<(), String> {
    let (input, mut out) = stream.into_split();
    let mut lines = FramedRead::new(input, LinesCodec::new_with_max_length(MAX_LINE));
    let mut warned = false;
    loop {
        tokio::select! {
            _ = &mut closed => return Err("dropped by the tray".into()),
            next = lines.next() => {
                let text = match next {
                    Some(Ok(text)) => text,
                    Some(Err(err)) => return Err(err.to_string()),
                    None => return Ok(()),
                };
                let Some(msg) = parse::<ToTray>(&text, &mut warned) else { continue };
                let answer = if ours {
                    on_message(msg)
                } else {
                    not_heard(msg)
                };
                if let Some(answer) = answer {
                    if tx.try_send(answer).is_err() {
                        return Err("it does not read its answers".into());
                    }
                }
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                tokio::select! {
                    _ = &mut closed => return Err("dropped by the tray".into()),
                    written = write_line(&mut out, &msg) => written?,
                }
            }
        }
    }
}

/// What a peer this tray did not start is answered: nothing it says is acted on.
fn not_heard(msg: ToTray) -> Option<ToWindows> {
    tracing::debug!(
        ?msg,
        "ignored: the window process was not started by this tray"
    );
    match msg {
        // Said at once rather than left to time out.
        ToTray::Reload => Some(ToWindows::Reloaded {
            error: Some(
                "saved, but this window was not opened by the Herald that runs now, \
                 which applies the settings when it starts again"
                    .into(),
            ),
        }),
        ToTray::Seen { .. } | ToTray::AllSeen => None,
    }
}
