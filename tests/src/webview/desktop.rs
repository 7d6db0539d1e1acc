//! The desktop a webview test runs the app in: a throw-away X server, a private session bus
//! with gnome-keyring serving the Secret Service (login keyring unlocked), a temporary HOME
//! with its `XDG_*` folders, Herald's config and database inside that HOME, and one log file
//! that WebKitWebDriver and the app it starts both write to.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::keyring::{DesktopHome, GnomeKeyring};
use crate::tray::Xvfb;

/// The password the test keyring is unlocked with.
const KEYRING_UNLOCK: &str = "herald-webview-keyring";

/// Everything the app needs around it, torn down on drop (keyring, bus, X server, HOME).
#[derive(Debug)]
pub struct Desktop {
    // Dropped in declaration order: the keyring before its bus and HOME.
    _keyring: GnomeKeyring,
    home: DesktopHome,
    x: Xvfb,
    config: PathBuf,
    db: PathBuf,
    log: PathBuf,
}

impl Desktop {
    /// A fresh desktop whose Herald config (`HERALD_CONFIG`, under `XDG_CONFIG_HOME`) holds
    /// `config_toml`; the history (`HERALD_DB`) goes under `XDG_DATA_HOME`.
    pub fn start(config_toml: &str) -> Desktop {
        let x = Xvfb::start();
        let home = DesktopHome::start();
        let keyring = GnomeKeyring::start(&home, KEYRING_UNLOCK);
        let config = home.config_dir().join("herald/config.toml");
        let db = home.data_dir().join("herald/history.db");
        for dir in [config.parent(), db.parent()].into_iter().flatten() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        std::fs::write(&config, config_toml)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config.display()));
        let log = home.home().join("app.log");
        Desktop {
            _keyring: keyring,
            home,
            x,
            config,
            db,
            log,
        }
    }

    /// For `DISPLAY`.
    pub fn display(&self) -> &str {
        self.x.display()
    }

    /// The temporary HOME, its bus and its keyring.
    pub fn home(&self) -> &DesktopHome {
        &self.home
    }

    /// `HERALD_CONFIG`.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// `HERALD_DB`.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// Where WebKitWebDriver and the app write their output (`HERALD_LOG=debug`, SQL aside).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The environment of WebKitWebDriver, which passes it on to the app: this HOME, bus,
    /// display, config and database, debug logging, and WebKit's automation switch, which the
    /// app's web views only honour when `TAURI_WEBVIEW_AUTOMATION` is set.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut env = self.home.env();
        env.extend([
            ("DISPLAY", self.display().into()),
            ("GDK_BACKEND", "x11".into()),
            // No accessibility bus to find on a private session bus.
            ("NO_AT_BRIDGE", "1".into()),
            ("HERALD_CONFIG", self.config.clone().into_os_string()),
            ("HERALD_DB", self.db.clone().into_os_string()),
            // Every SQL statement at debug level would bury the rest.
            ("HERALD_LOG", "debug,sqlx=info".into()),
            ("TAURI_WEBVIEW_AUTOMATION", "true".into()),
        ]);
        env
    }
}
