//! Which part of Herald this process is (managed state of the app), and what that changes:
//! where the status comes from, where read marks and saved settings go, and where a window
//! opens. See [`crate::link`] for why the windows live in a process of their own.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use herald_core::config::Config;
use herald_core::ConfigError;
use tauri::{AppHandle, Manager, Runtime};

use crate::backend::Backend;
use crate::error::{CommandError, ErrorKind};
use crate::link::{self, Opened, ToTray, ToWindows};
use crate::status::{Focus, Live, LiveEvent, Status};
use crate::tray::{Tray, TrayModel};
use crate::window::{self, Window};

/// This process's part in Herald.
#[derive(Debug)]
pub enum Host {
    /// Pipeline, tray and windows in one process: how the IPC tests boot the app.
    Single,
    /// The pipeline and the tray; windows open in a window process, over the link.
    Tray(Arc<link::Server>),
    /// A window process: the history and settings windows, told the news by the tray
    /// process over the link.
    Window(Arc<link::Client>),
}

/// Where the tray process listens for window processes.
pub fn socket_path() -> Result<PathBuf, ConfigError> {
    Ok(link::socket_path(
        &herald_core::config::default_paths()?.database,
    ))
}

/// Herald's state now: from the tray's model, or as the tray process last told it.
pub fn status<R: Runtime>(app: &AppHandle<R>) -> Status {
    match &*app.state::<Host>() {
        Host::Window(client) => client.status(),
        Host::Single | Host::Tray(_) => app.state::<Tray>().status(),
    }
}

/// The user read these messages: the tray stops counting them.
pub fn seen<R: Runtime>(app: &AppHandle<R>, ids: &[String]) {
    match &*app.state::<Host>() {
        Host::Window(client) => {
            client.send(ToTray::Seen { ids: ids.to_vec() });
        }
        Host::Single | Host::Tray(_) => {
            app.state::<Tray>().update(|m| {
                for id in ids {
                    m.mark_seen(id);
                }
            });
            publish_status(app);
        }
    }
}

/// The user read everything.
pub fn all_seen<R: Runtime>(app: &AppHandle<R>) {
    match &*app.state::<Host>() {
        Host::Window(client) => {
            client.send(ToTray::AllSeen);
        }
        Host::Single | Host::Tray(_) => {
            app.state::<Tray>().update(TrayModel::mark_all_seen);
            publish_status(app);
        }
    }
}

/// Puts the config just saved at `path` in force: rules, profile, notification preferences
/// and broker settings apply without a restart. In a window process the tray process does
/// it, and this returns once it has (at once when no tray process runs: it reads the file
/// when it starts).
pub async fn apply_settings<R: Runtime>(
    app: &AppHandle<R>,
    path: &Path,
) -> Result<(), CommandError> {
    let client = match &*app.state::<Host>() {
        Host::Window(client) => Arc::clone(client),
        Host::Single | Host::Tray(_) => return Ok(reload(app, path)?),
    };
    match client.reload().await {
        Ok(applied) => {
            if !applied {
                tracing::info!("settings saved; Herald applies them when it starts");
            }
            Ok(())
        }
        Err(message) => Err(CommandError {
            kind: ErrorKind::Config,
            message,
        }),
    }
}

/// Reads the config at `path` and hands it to the running pipeline.
fn reload<R: Runtime>(app: &AppHandle<R>, path: &Path) -> Result<(), ConfigError> {
    crate::pipeline::reload(app, Config::load(path, false)?);
    Ok(())
}

/// Opens (or brings to the front) `which`, and brings `show` into view in it.
pub fn open<R: Runtime>(app: &AppHandle<R>, which: Window, show: Option<Focus>) {
    let server = match &*app.state::<Host>() {
        Host::Tray(server) => Arc::clone(server),
        Host::Single | Host::Window(_) => {
            if let Err(err) = window::show(app, which) {
                tracing::error!("cannot open the {} window: {err}", which.label());
                return;
            }
            if let Some(focus) = show {
                app.state::<Live>().show(which.label(), focus);
            }
            return;
        }
    };
    let starter = Arc::clone(&server);
    match server.open(which, show, |w, s| start_window_process(&starter, w, s)) {
        Ok(Opened::Started(pid)) => tracing::info!(pid, window = which.label(), "window process"),
        Ok(Opened::Sent | Opened::Queued) => {}
        Err(err) => tracing::error!("cannot start a window process: {err}"),
    }
}

/// `herald-desktop --window WHICH [--show ID | --package NAME]`, reaped (and forgotten by
/// `server`) when it ends.
fn start_window_process(
    server: &Arc<link::Server>,
    which: Window,
    show: Option<&Focus>,
) -> io::Result<u32> {
    let spawn = |program: &std::ffi::OsStr| {
        let mut command = std::process::Command::new(program);
        command.arg("--window").arg(which.label());
        match show {
            Some(Focus::Message { id }) => command.arg("--show").arg(id),
            Some(Focus::Package { name }) => command.arg("--package").arg(name),
            None => &mut command,
        };
        command.stdin(Stdio::null()).spawn()
    };
    let mut child = match std::env::current_exe().and_then(|exe| spawn(exe.as_os_str())) {
        Ok(child) => child,
        // The binary was replaced (an upgrade) since the tray started: the name it was
        // started by finds the new one.
        Err(err) if err.kind() == io::ErrorKind::NotFound => match std::env::args_os().next() {
            Some(argv0) => spawn(&argv0)?,
            None => return Err(err),
        },
        Err(err) => return Err(err),
    };
    let pid = child.id();
    let server = Arc::clone(server);
    tauri::async_runtime::spawn_blocking(move || {
        match child.wait() {
            Ok(status) if status.success() => tracing::debug!(pid, "window process ended"),
            Ok(status) => tracing::warn!(pid, "window process ended: {status}"),
            Err(err) => tracing::warn!(pid, "cannot wait for the window process: {err}"),
        }
        server.exited(pid);
    });
    Ok(pid)
}

/// Tells the open windows, wherever they live, the current status.
pub fn publish_status<R: Runtime>(app: &AppHandle<R>) {
    match &*app.state::<Host>() {
        Host::Tray(server) => {
            if server.has_peers() {
                server.broadcast(&ToWindows::Status {
                    status: status(app),
                });
            }
        }
        Host::Single | Host::Window(_) => {
            let live = app.state::<Live>();
            if !live.is_empty() {
                live.send(
                    None,
                    &LiveEvent::Status {
                        status: status(app),
                    },
                );
            }
        }
    }
}

/// Tells the window processes that Herald is quitting.
pub fn quitting<R: Runtime>(app: &AppHandle<R>) {
    if let Host::Tray(server) = &*app.state::<Host>() {
        server.broadcast(&ToWindows::Quit);
    }
}

/// What the tray process answers a window process.
pub fn on_message<R: Runtime>(app: &AppHandle<R>, msg: ToTray) -> Option<ToWindows> {
    match msg {
        ToTray::Seen { ids } => seen(app, &ids),
        ToTray::AllSeen => all_seen(app),
        ToTray::Reload => {
            let error = match app.state::<Backend>().config_path() {
                None => Some("Herald is still starting".to_owned()),
                Some(path) => reload(app, &path)
                    .err()
                    .map(|err| herald_core::pipeline::error_chain(&err)),
            };
            return Some(ToWindows::Reloaded { error });
        }
    }
    None
}
