//! The line between Herald's tray process and its window processes.
//!
//! The tray process runs the pipeline all day and never builds a web view. The history and
//! settings windows live in a window process (`herald-desktop --window …`) that the tray
//! starts when one is asked for and that exits when its last window closes, so closing the
//! windows gives back everything WebKit took: its web and network processes, and the GL and
//! heap pages a web view leaves in the process that hosted it.
//!
//! The tray process listens on a Unix socket in the user's runtime folder ([`socket_path`]).
//! A window process connects and is told, one JSON line at a time, Herald's status, each
//! newly stored message and which window to open ([`ToWindows`]); it tells the tray what the
//! user read and that the settings were saved ([`ToTray`]). Both ends are the same user's
//! processes of the same binary; lines are still bounded, and one that does not parse is
//! logged and skipped, never fatal.

use std::collections::VecDeque;
use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec};

use crate::status::Status;
use crate::window::Window;

/// The longest line either end accepts; the longest real one is a status with a few
/// connections.
pub const MAX_LINE: usize = 64 * 1024;

/// How long a window process waits for the tray to apply saved settings.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the tray process tells a window process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToWindows {
    Status {
        status: Status,
    },
    /// A message was stored for the first time; the window process reads it from the history.
    Stored {
        id: String,
    },
    /// Open (or bring to the front) `window`, and select message `show` in it.
    Open {
        window: Window,
        show: Option<String>,
    },
    /// The answer to [`ToTray::Reload`]: `None` once the settings are in force.
    Reloaded {
        error: Option<String>,
    },
    /// Herald is quitting: close the windows.
    Quit,
}

/// What a window process tells the tray process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToTray {
    /// The user read these messages.
    Seen {
        ids: Vec<String>,
    },
    AllSeen,
    /// The config file was saved: read it and apply it.
    Reload,
}

/// `$XDG_RUNTIME_DIR/herald/desktop.sock`, private to the user and gone at logout; without a
/// runtime folder, beside the history.
pub fn socket_path(database: &Path) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("herald").join("desktop.sock"),
        None => {
            let mut name = database.file_name().unwrap_or_default().to_os_string();
            name.push(".desktop.sock");
            database.with_file_name(name)
        }
    }
}

/// One JSON line.
fn line<T: Serialize>(msg: &T) -> Option<Vec<u8>> {
    match serde_json::to_vec(msg) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            Some(bytes)
        }
        Err(err) => {
            tracing::error!("cannot encode a message for the link: {err}");
            None
        }
    }
}

/// Writes what arrives on `rx` to `out`, a line each, until either end goes away.
async fn write_lines<T: Serialize>(
    mut out: tokio::net::unix::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<T>,
) {
    while let Some(msg) = rx.recv().await {
        let Some(bytes) = line(&msg) else { continue };
        if let Err(err) = out.write_all(&bytes).await {
            tracing::debug!("link closed while writing: {err}");
            break;
        }
    }
}

/// Reads lines from `input` and hands each one that parses to `on_message`, until the other
/// end closes.
async fn read_lines<T: for<'de> Deserialize<'de>>(
    input: tokio::net::unix::OwnedReadHalf,
    mut on_message: impl FnMut(T),
) {
    let mut lines = FramedRead::new(input, LinesCodec::new_with_max_length(MAX_LINE));
    while let Some(next) = lines.next().await {
        match next {
            Ok(text) => match serde_json::from_str::<T>(&text) {
                Ok(msg) => on_message(msg),
                Err(err) => {
                    tracing::warn!("ignoring a line on the link that does not parse: {err}")
                }
            },
            Err(err) => {
                tracing::warn!("the link broke: {err}");
                break;
            }
        }
    }
}

/// The tray process's end: the window processes connected, and one being started.
#[derive(Debug, Default)]
pub struct Server {
    state: Mutex<ServerState>,
}

#[derive(Debug, Default)]
struct ServerState {
    next_id: u64,
    /// Oldest first.
    peers: Vec<(u64, mpsc::UnboundedSender<ToWindows>)>,
    /// A window process started and not connected yet, with what was asked of it meanwhile.
    starting: Option<(u32, Vec<ToWindows>)>,
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

impl Server {
    /// Listens at `path`, replacing a socket left by a process that is gone; refuses to take
    /// over one that another process still answers on. A plain (non-blocking) listener, so it
    /// can be bound before the async runtime runs: the first window process must find it.
    pub fn bind(path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
        if let Some(dir) = path.parent().filter(|d| !d.exists()) {
            // Ours alone: another user must not reach the tray through it. A folder that
            // exists already (the history's, without a runtime folder) is left as it is.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("another Herald answers on {}", path.display()),
            ));
        }
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }

    /// Accepts window processes until the listener fails. Each one is first sent `hello()`
    /// (the status now) and what was queued for it; each line it sends goes to `on_message`,
    /// whose answer, if any, goes back to it alone.
    pub async fn serve(
        self: Arc<Self>,
        listener: UnixListener,
        hello: impl Fn() -> ToWindows + Send + Sync + 'static,
        on_message: impl Fn(ToTray) -> Option<ToWindows> + Send + Sync + 'static,
    ) {
        let hello = Arc::new(hello);
        let on_message = Arc::new(on_message);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::error!("window processes can no longer connect: {err}");
                    return;
                }
            };
            let (input, out) = stream.into_split();
            let (tx, rx) = mpsc::unbounded_channel();
            let id = self.connected(tx.clone(), &*hello);
            tracing::debug!(peer = id, "a window process connected");
            tokio::spawn(write_lines(out, rx));
            let server = Arc::clone(&self);
            let on_message = Arc::clone(&on_message);
            tokio::spawn(async move {
                read_lines(input, |msg: ToTray| {
                    if let Some(answer) = on_message(msg) {
                        let _ = tx.send(answer);
                    }
                })
                .await;
                server.lock().peers.retain(|(p, _)| *p != id);
                tracing::debug!(peer = id, "a window process went away");
            });
        }
    }

    /// Registers a window process, first sending it `hello()` and what was queued for it.
    /// All under the lock every broadcast takes, so a status announced meanwhile reaches it
    /// after the greeting, never before it or not at all.
    fn connected(
        &self,
        tx: mpsc::UnboundedSender<ToWindows>,
        hello: &dyn Fn() -> ToWindows,
    ) -> u64 {
        let mut state = self.lock();
        let _ = tx.send(hello());
        if let Some((_, queued)) = state.starting.take() {
            for msg in queued {
                let _ = tx.send(msg);
            }
        }
        state.next_id += 1;
        let id = state.next_id;
        state.peers.push((id, tx));
        id
    }

    /// Has `window` opened: by the newest window process connected, else by the one starting,
    /// else by a new one that `start(window, show)` starts (returning its pid).
    pub fn open(
        &self,
        window: Window,
        show: Option<String>,
        start: impl FnOnce(Window, Option<&str>) -> io::Result<u32>,
    ) -> io::Result<Opened> {
        let mut state = self.lock();
        let msg = ToWindows::Open {
            window,
            show: show.clone(),
        };
        while let Some((_, tx)) = state.peers.last() {
            if tx.send(msg.clone()).is_ok() {
                return Ok(Opened::Sent);
            }
            state.peers.pop();
        }
        if let Some((_, queued)) = state.starting.as_mut() {
            queued.push(msg);
            return Ok(Opened::Queued);
        }
        let pid = start(window, show.as_deref())?;
        state.starting = Some((pid, Vec::new()));
        Ok(Opened::Started(pid))
    }

    /// The window process `pid` ended; if it never connected, what was queued for it is
    /// dropped and the next request starts another.
    pub fn exited(&self, pid: u32) {
        let mut state = self.lock();
        if state.starting.as_ref().is_some_and(|(p, _)| *p == pid) {
            tracing::warn!(pid, "a window process ended before it connected");
            state.starting = None;
        }
    }

    /// Tells every window process; forgets those that went away.
    pub fn broadcast(&self, msg: &ToWindows) {
        self.lock()
            .peers
            .retain(|(_, tx)| tx.send(msg.clone()).is_ok());
    }

    /// Whether any window process is connected.
    pub fn has_peers(&self) -> bool {
        !self.lock().peers.is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A window process's end: connected to the tray process when it runs, the last status it
/// told, and the saves waiting to be applied.
#[derive(Debug)]
pub struct Client {
    state: Mutex<ClientState>,
}

#[derive(Debug)]
struct ClientState {
    tx: Option<mpsc::UnboundedSender<ToTray>>,
    status: Status,
    reloads: VecDeque<oneshot::Sender<Option<String>>>,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            state: Mutex::new(ClientState {
                tx: None,
                status: Status::tray_not_running(),
                reloads: VecDeque::new(),
            }),
        }
    }
}

/// Between attempts to reach a tray process that is not (or no longer) running.
const RETRY: Duration = Duration::from_secs(2);

impl Client {
    /// Stays connected to the tray process at `path` for as long as the window process
    /// lives, reconnecting when it goes away; hands every message but the reload answers
    /// (which [`Client::reload`] waits for) to `on_message`. A lost link is told to
    /// `on_message` as a status saying so.
    pub async fn run(self: Arc<Self>, path: PathBuf, on_message: impl Fn(ToWindows)) {
        let mut told_down = false;
        loop {
            match UnixStream::connect(&path).await {
                Ok(stream) => {
                    tracing::info!("connected to Herald's tray process");
                    told_down = false;
                    let (input, out) = stream.into_split();
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.lock().tx = Some(tx);
                    let writer = tokio::spawn(write_lines(out, rx));
                    read_lines(input, |msg: ToWindows| match msg {
                        ToWindows::Reloaded { error } => {
                            if let Some(waiter) = self.lock().reloads.pop_front() {
                                let _ = waiter.send(error);
                            }
                        }
                        ToWindows::Status { status } => {
                            self.lock().status = status.clone();
                            on_message(ToWindows::Status { status });
                        }
                        other => on_message(other),
                    })
                    .await;
                    writer.abort();
                    tracing::warn!("the link to Herald's tray process closed");
                }
                Err(err) => tracing::debug!("Herald's tray process is not answering: {err}"),
            }
            if !told_down {
                told_down = true;
                let status = {
                    let mut state = self.lock();
                    state.tx = None;
                    state.reloads.clear();
                    state.status = Status::tray_not_running();
                    state.status.clone()
                };
                on_message(ToWindows::Status { status });
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// The status the tray process last told, or that it is not running.
    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// Tells the tray process, if connected; says whether it was.
    pub fn send(&self, msg: ToTray) -> bool {
        self.lock()
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(msg).is_ok())
    }

    /// Has the tray process apply the saved config, and waits until it has. `Ok(false)` when
    /// no tray process runs to apply it (it will read the file when it starts).
    pub async fn reload(&self) -> Result<bool, String> {
        let (done, answer) = oneshot::channel();
        {
            let mut state = self.lock();
            let Some(tx) = state.tx.as_ref() else {
                return Ok(false);
            };
            if tx.send(ToTray::Reload).is_err() {
                return Ok(false);
            }
            state.reloads.push_back(done);
        }
        match tokio::time::timeout(RELOAD_TIMEOUT, answer).await {
            Ok(Ok(None)) => Ok(true),
            Ok(Ok(Some(error))) => Err(error),
            // The link went away before the answer: the next tray reads the file anyway.
            Ok(Err(_)) => Ok(false),
            Err(_) => Err(format!(
                "Herald did not apply the settings within {} s",
                RELOAD_TIMEOUT.as_secs()
            )),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ClientState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
