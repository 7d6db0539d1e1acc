//! Driving the tray app in tests, with no visible desktop: a throw-away X server ([`Xvfb`]),
//! a fake `org.kde.StatusNotifierWatcher` ([`FakeWatcher`]) that the app's tray icon
//! registers with, and a client for the registered item ([`StatusItem`]) that reads its
//! properties and its menu through `com.canonical.dbusmenu` and clicks menu entries the way
//! a panel does. [`TrayApp`] runs the `herald-desktop` binary in a temporary home.
//!
//! `Xvfb` and `dbus-daemon` must be installed (Debian `xvfb dbus-daemon`, Fedora
//! `xorg-x11-server-Xvfb dbus-daemon`); the tests fail with that advice rather than skip.
//!
//! The parts, all re-exported here: `display` (the X server and its windows), `watcher` (the
//! fake watcher), `item` (the registered item and its menu), `icons` (decoded pictures and the
//! tray icons) and `app` (the app process and its temporary home).

use std::time::{Duration, Instant};

mod app;
mod display;
mod icons;
mod item;
mod watcher;

pub use app::{descendants, desktop_bin, desktop_comm, running, DesktopHome, TrayApp};
pub use display::{Xvfb, X11};
pub use icons::{icons_dir, Pixels, TrayIcons};
pub use item::{MenuEntry, StatusItem};
pub use watcher::{FakeWatcher, Registration};

pub const WATCHER_NAME: &str = "org.kde.StatusNotifierWatcher";
pub const WATCHER_PATH: &str = "/StatusNotifierWatcher";
pub const ITEM_INTERFACE: &str = "org.kde.StatusNotifierItem";
pub const MENU_INTERFACE: &str = "com.canonical.dbusmenu";

/// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout`; panics with
/// `what` and `context()` (the last state seen, the app's log) after that.
pub fn poll<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
