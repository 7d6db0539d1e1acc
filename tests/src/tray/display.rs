//! The X side of the tray tests: a throw-away X server ([`Xvfb`]) and a window-manager view
//! of its top-level windows ([`X11`]).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// An X server of its own on a free display (`Xvfb -displayfd`, so no display number is
/// guessed), killed on drop.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    display: String,
    _stdout: BufReader<ChildStdout>,
}

impl Xvfb {
    pub fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            // The display number is written to fd 1: our pipe.
            .args(["-displayfd", "1", "-noreset", "-nolisten", "tcp"])
            .args(["-screen", "0", "1280x800x24"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run Xvfb ({e}). The tray tests need it: install the xvfb package \
                     (apt-get install xvfb / dnf install xorg-x11-server-Xvfb); ./dev test does"
                )
            });
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let number = line.trim();
        if read.is_err() || number.is_empty() || number.parse::<u32>().is_err() {
            let _ = child.kill();
            let status = child.wait();
            panic!("Xvfb printed no display number ({read:?}, {line:?}, exit {status:?})");
        }
        Xvfb {
            display: format!(":{number}"),
            child,
            _stdout: stdout,
        }
    }

    /// For `DISPLAY`.
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Top-level windows on an X display, seen and closed the way a window manager does.
pub struct X11 {
    conn: x11rb::rust_connection::RustConnection,
    root: u32,
    wm_protocols: u32,
    wm_delete_window: u32,
    net_wm_name: u32,
    utf8_string: u32,
}

impl std::fmt::Debug for X11 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X11").field("root", &self.root).finish()
    }
}

impl X11 {
    pub fn connect(display: &str) -> X11 {
        use x11rb::connection::Connection as _;
        let (conn, screen) = x11rb::connect(Some(display))
            .unwrap_or_else(|e| panic!("cannot connect to X display {display}: {e}"));
        let root = conn.setup().roots[screen].root;
        let atom = |name: &str| {
            use x11rb::protocol::xproto::ConnectionExt as _;
            conn.intern_atom(false, name.as_bytes())
                .map_err(x11rb::errors::ReplyError::from)
                .and_then(|c| c.reply())
                .unwrap_or_else(|e| panic!("intern atom {name}: {e}"))
                .atom
        };
        X11 {
            wm_protocols: atom("WM_PROTOCOLS"),
            wm_delete_window: atom("WM_DELETE_WINDOW"),
            net_wm_name: atom("_NET_WM_NAME"),
            utf8_string: atom("UTF8_STRING"),
            conn,
            root,
        }
    }

    /// The mapped top-level windows titled `title`.
    pub fn windows(&self, title: &str) -> Vec<u32> {
        use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, MapState};
        let Ok(tree) = self.conn.query_tree(self.root).map(|c| c.reply()) else {
            return Vec::new();
        };
        let Ok(tree) = tree else {
            return Vec::new();
        };
        tree.children
            .into_iter()
            .filter(|&w| {
                let mapped = self
                    .conn
                    .get_window_attributes(w)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .is_some_and(|a| a.map_state == MapState::VIEWABLE);
                let name = |property: u32, kind: u32| {
                    self.conn
                        .get_property(false, w, property, kind, 0, 1024)
                        .ok()
                        .and_then(|c| c.reply().ok())
                        .map(|p| String::from_utf8_lossy(&p.value).into_owned())
                        .unwrap_or_default()
                };
                let named = name(self.net_wm_name, self.utf8_string) == title
                    || name(AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()) == title;
                mapped && named
            })
            .collect()
    }

    /// Asks `window` to close, as a window manager's close button does (`WM_DELETE_WINDOW`).
    pub fn close(&self, window: u32) {
        use x11rb::connection::Connection as _;
        use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt as _, EventMask};
        let event = ClientMessageEvent::new(
            32,
            window,
            self.wm_protocols,
            [self.wm_delete_window, 0, 0, 0, 0],
        );
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, event)
            .and_then(|_| self.conn.flush())
            .unwrap_or_else(|e| panic!("cannot send WM_DELETE_WINDOW: {e}"));
    }
}
