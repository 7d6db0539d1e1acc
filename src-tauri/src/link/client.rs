//! A window process's end of the link: connected to the tray process of the same user while
//! it runs, the last status it told, and the saves waiting to be applied.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec};

use super::{own_uid, parse, write_line, ToTray, ToWindows, MAX_LINE, QUEUE};
use crate::status::Status;

/// How long a window process waits for the tray to apply saved settings.
const RELOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Between attempts to reach a tray process that is not (or no longer) running.
const RETRY: Duration = Duration::from_secs(2);

/// A window process's end: connected to the tray process when it runs, the last status it
/// told, and the saves waiting to be applied.
#[derive(Debug)]
pub struct Client {
    state: Mutex<ClientState>,
}

#[derive(Debug)]
struct ClientState {
    tx: Option<mpsc::Sender<ToTray>>,
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

impl Client {
    /// Stays connected to the tray process at `path` for as long as the window process
    /// lives, reconnecting when it goes away; hands every message but the reload answers
    /// (which [`Client::reload`] waits for) to `on_message`. A lost link is told to
    /// `on_message` as a status saying so. A socket served by another user's process is not
    /// listened to: what it would tell (a status, messages to show, windows to open) could
    /// be anything.
    pub async fn run(self: Arc<Self>, path: PathBuf, on_message: impl Fn(ToWindows)) {
        let mut told_down = false;
        let mut told_stranger = false;
        loop {
            match UnixStream::connect(&path).await {
                Ok(stream) => match stream.peer_cred().map(|cred| cred.uid()) {
                    Ok(uid) if uid == own_uid() => {
                        tracing::info!("connected to Herald's tray process");
                        told_down = false;
                        told_stranger = false;
                        self.talk(stream, &on_message).await;
                        tracing::warn!("the link to Herald's tray process closed");
                    }
                    answer => {
                        if !told_stranger {
                            told_stranger = true;
                            let who = match answer {
                                Ok(uid) => format!("uid {uid}"),
                                Err(err) => format!("an unknown user ({err})"),
                            };
                            tracing::warn!(
                                "not listening to {}: it is served by {who}, not by this user",
                                path.display()
                            );
                        }
                    }
                },
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

    /// Exchanges lines with the tray process until the link closes, breaks or is stuck.
    async fn talk(&self, stream: UnixStream, on_message: &impl Fn(ToWindows)) {
        let (input, mut out) = stream.into_split();
        let (tx, mut rx) = mpsc::channel(QUEUE);
        self.lock().tx = Some(tx);
        let writer = async move {
            while let Some(msg) = rx.recv().await {
                if let Err(why) = write_line(&mut out, &msg).await {
                    tracing::debug!("cannot tell the tray process: {why}");
                    break;
                }
            }
        };
        let mut lines = FramedRead::new(input, LinesCodec::new_with_max_length(MAX_LINE));
        let mut warned = false;
        let reader = async {
            while let Some(next) = lines.next().await {
                let text = match next {
                    Ok(text) => text,
                    Err(err) => {
                        tracing::warn!("the link broke: {err}");
                        break;
                    }
                };
                match parse::<ToWindows>(&text, &mut warned) {
                    Some(ToWindows::Reloaded { error }) => {
                        if let Some(waiter) = self.lock().reloads.pop_front() {
                            let _ = waiter.send(error);
                        }
                    }
                    Some(ToWindows::Status { status }) => {
                        self.lock().status = status.clone();
                        on_message(ToWindows::Status { status });
                    }
                    Some(other) => on_message(other),
                    None => {}
                }
            }
        };
        tokio::select! {
            () = reader => {}
            () = writer => {}
        }
    }

    /// The status the tray process last told, or that it is not running.
    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// Tells the tray process, if connected and keeping up; says whether it was queued.
    pub fn send(&self, msg: ToTray) -> bool {
        self.lock()
            .tx
            .as_ref()
            .is_some_and(|tx| tx.try_send(msg).is_ok())
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
            if tx.try_send(ToTray::Reload).is_err() {
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
