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
//! user read and that the settings were saved ([`ToTray`]).
//!
//! The socket is a door into the tray, so both ends check who stands at the other side:
//!
//! - **Same user only.** The folder the socket is in is private ([`Server::bind`] creates it
//!   0700, refuses one that is a symbolic link or someone else's, and takes group and other
//!   permissions off one that has them), but a folder's mode is one lock among several that
//!   a mistake can open. So the tray also asks the kernel who connected (`SO_PEERCRED`) and
//!   closes any process of another user before it hears a word: every stored id, the unread
//!   count and the connection names are the user's business. The window process checks the
//!   tray's user the same way before believing what it is told.
//! - **Only the window process Herald started is heard.** Another process of the same user
//!   (a window process left by an earlier tray, or anything else that connects) could
//!   otherwise swallow the tray's "Open" requests, mark messages read or have the config
//!   reloaded. The tray knows the pids it started; a peer whose pid is one of them is asked
//!   to open windows and heard, any other gets a read-only view (status, news, quit). Under
//!   WebDriver automation the driver starts the window processes and controls every window
//!   anyway, so there the tray hears them all ([`Trust::SameUser`]).
//! - **No peer can make the tray grow or stop.** Each peer has a bounded queue: one that stops
//!   reading is dropped, never buffered, and a write that takes too long ends its link. At
//!   most [`MAX_PEERS`] are connected at once; an accept error (out of descriptors) is
//!   waited out, never fatal. Lines are bounded ([`MAX_LINE`]), and one that does not parse
//!   is logged and skipped. Repeated trouble is logged at a bounded rate.

mod client;
mod folder;
mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use tokio::net::unix::OwnedWriteHalf;

use crate::status::{Focus, Status};
use crate::window::Window;

pub use client::Client;
pub use folder::MAX_PATH;
pub use server::{Opened, Server, Trust, MAX_PEERS};

/// The longest line either end accepts; the longest real one is a status with a few
/// connections.
pub const MAX_LINE: usize = 64 * 1024;

/// How many lines may wait for one end of a link; a peer that falls this far behind is
/// taken for stuck. A window process reads each line at once, so only a peer that stopped
/// reading (or never reads) gets there.
pub const QUEUE: usize = 256;

/// How long one line may take to be written before the link is taken for stuck and closed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// Open (or bring to the front) `window`, and bring `show` into view in it.
    Open {
        window: Window,
        show: Option<Focus>,
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

/// `$XDG_RUNTIME_DIR/herald/desktop.sock`, private to the user and gone at logout. Without a
/// runtime folder, in a folder of its own beside the history (`<history folder>/run/`), so
/// that making the socket's folder private never changes the user's data folder.
pub fn socket_path(database: &Path) -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("herald").join("desktop.sock"),
        None => database
            .parent()
            .unwrap_or(Path::new(""))
            .join("run")
            .join("desktop.sock"),
    }
}

/// The user this process acts as: the one whose files it makes, so the one a peer must be.
fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
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

/// Writes `msg` as one line, within [`WRITE_TIMEOUT`]; an error means the link is broken or
/// stuck and is to be closed.
async fn write_line<T: Serialize>(out: &mut OwnedWriteHalf, msg: &T) -> Result<(), String> {
    let Some(bytes) = line(msg) else {
        return Ok(());
    };
    match tokio::time::timeout(WRITE_TIMEOUT, out.write_all(&bytes)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!(
            "the other end read nothing for {} s",
            WRITE_TIMEOUT.as_secs()
        )),
    }
}

/// Parses one line; one that does not parse is logged (as a warning the first time on a
/// link, so a peer sending nonsense cannot flood the log) and skipped.
fn parse<T: for<'de> Deserialize<'de>>(text: &str, warned: &mut bool) -> Option<T> {
    match serde_json::from_str(text) {
        Ok(msg) => Some(msg),
        Err(err) if !*warned => {
            *warned = true;
            tracing::warn!("ignoring a line on the link that does not parse: {err}");
            None
        }
        Err(err) => {
            tracing::debug!("ignoring a line on the link that does not parse: {err}");
            None
        }
    }
}

/// At most one log line per [`Throttle::EVERY`] for trouble that a peer can cause at will
/// (connecting again and again, never reading), so the log cannot be flooded; the line that
/// is logged counts those that were not.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    quiet: u64,
}

impl Throttle {
    const EVERY: Duration = Duration::from_secs(10);

    /// `Some(how many went unlogged since the last line)` when this one may be logged.
    fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Self::EVERY)
        {
            self.quiet += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.quiet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_lets_one_line_through_and_counts_the_rest() {
        let mut throttle = Throttle::default();
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), None);
        assert_eq!(throttle.allow(), None);
        throttle.last = Instant::now().checked_sub(Throttle::EVERY);
        assert_eq!(throttle.allow(), Some(2), "the two held back are counted");
        assert_eq!(throttle.allow(), None);
    }
}
