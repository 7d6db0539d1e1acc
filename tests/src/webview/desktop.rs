//! The desktop a webview test runs the app in: a throw-away X server, a private session bus
//! with gnome-keyring serving the Secret Service (login keyring unlocked), a temporary HOME
//! with its `XDG_*` folders, Herald's config and database inside that HOME, Herald's tray
//! process (`herald-desktop --tray`, which runs the pipeline and tells the window processes
//! the news), and one log file that WebKitWebDriver, the tray process and the window process
//! all write to.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::keyring::{DesktopHome, GnomeKeyring};
use crate::tray::{desktop_bin, Xvfb};

/// The password the test keyring is unlocked with.
const KEYRING_UNLOCK: &str = "herald-webview-keyring";

/// Starting the tray process as far as listening for windows.
const TRAY_START: Duration = Duration::from_secs(60);
/// Quitting cleanly: the pipeline acks its batch and closes its connection.
const TRAY_QUIT: Duration = Duration::from_secs(15);

/// Everything the app needs around it, torn down on drop (tray process, keyring, bus, X
/// server, HOME).
#[derive(Debug)]
pub struct Desktop {
    tray: Option<Child>,
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
            tray: None,
            _keyring: keyring,
            home,
            x,
            config,
            db,
            log,
        }
    }

    /// Starts Herald's tray process, unless it runs already, and waits until it listens for
    /// window processes, so a window started next hears every message from its first one.
    pub fn start_tray(&mut self) {
        if self.tray.is_some() {
            return;
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.log.display()));
        let err = log.try_clone().expect("clone the log handle");
        let mut command = self.home.command(desktop_bin());
        let child = command
            .envs(self.env())
            .arg("--tray")
            .current_dir(self.home.home())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", desktop_bin().display()));
        self.tray = Some(child);
        let socket = self.socket_path();
        let deadline = Instant::now() + TRAY_START;
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Some(Ok(Some(status))) = self.tray.as_mut().map(Child::try_wait) {
                panic!(
                    "the tray process exited with {status}\n--- log\n{}",
                    self.log_tail(60)
                );
            }
            assert!(
                Instant::now() < deadline,
                "the tray process did not listen at {} within {TRAY_START:?}\n--- log\n{}",
                socket.display(),
                self.log_tail(60)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The tray process's id, once started.
    pub fn tray_pid(&self) -> Option<u32> {
        self.tray.as_ref().map(Child::id)
    }

    /// Where the tray process listens for window processes.
    pub fn socket_path(&self) -> PathBuf {
        self.home.runtime_dir().join("herald/desktop.sock")
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

impl Drop for Desktop {
    /// Quits the tray process the way the session does (SIGTERM), before its bus and HOME go.
    fn drop(&mut self) {
        let Some(mut tray) = self.tray.take() else {
            return;
        };
        let _ = std::process::Command::new("kill")
            .arg(tray.id().to_string())
            .status();
        let deadline = Instant::now() + TRAY_QUIT;
        while Instant::now() < deadline {
            if !matches!(tray.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = tray.kill();
        let _ = tray.wait();
    }
}
