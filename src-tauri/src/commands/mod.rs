//! The IPC commands the page may call. Each one takes what it needs from Tauri, calls one core
//! function and maps its error; every name here must also be listed in `build.rs`, which is
//! what grants it to a window.

mod history;
mod packages;
mod settings;

pub use history::*;
pub use packages::*;
pub use settings::*;

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State, WebviewWindow};

use crate::error::CommandError;
use crate::status::{Live, LiveEvent, Status};
use crate::window::{self, Window};

/// What the about box shows: who we are and where Herald keeps its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub config_path: String,
    pub database_path: String,
}

#[tauri::command]
pub fn app_info<R: Runtime>(app: AppHandle<R>) -> Result<AppInfo, CommandError> {
    let paths = herald_core::config::default_paths()?;
    let package = app.package_info();
    Ok(AppInfo {
        name: package.name.clone(),
        version: package.version.to_string(),
        // Shown to a person, so a lossy rendering of an odd path beats an error.
        config_path: paths.config.display().to_string(),
        database_path: paths.database.display().to_string(),
    })
}

/// Herald's state now: connections, unread count, pause.
#[tauri::command]
pub fn status<R: Runtime>(app: AppHandle<R>) -> Status {
    crate::host::status(&app)
}

/// Pushes new messages and status changes to the calling window on `channel` from now on,
/// starting with the current status (and a message or package the tray asked it to show, if
/// any).
#[tauri::command]
pub fn live<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    channel: Channel<LiveEvent>,
    live: State<'_, Live>,
) -> Result<(), CommandError> {
    let label = window.label().to_owned();
    live.listen(&label, channel, || LiveEvent::Status {
        status: crate::host::status(&app),
    })?;
    if let Some(focus) = live.take_pending_show(&label) {
        live.send(Some(&label), &focus.event());
    }
    Ok(())
}

/// Opens a message's link in the browser: http(s) links only.
#[tauri::command]
pub async fn open_link(url: String) -> Result<(), CommandError> {
    // Starting the opener forks a process: off the async threads.
    tauri::async_runtime::spawn_blocking(move || herald_core::notify::open_link(&url))
        .await
        .map_err(|e| CommandError::internal(&e))??;
    Ok(())
}

/// Opens (or brings to the front) one of Herald's windows.
#[tauri::command]
pub fn open_window<R: Runtime>(app: AppHandle<R>, which: Window) -> Result<(), CommandError> {
    window::show(&app, which)?;
    Ok(())
}

/// Whether Herald starts at login.
#[tauri::command]
pub fn autostart() -> Result<bool, CommandError> {
    Ok(crate::autostart::enabled()?)
}

/// Turns starting at login on or off. Async: in a Flatpak the desktop may ask the user.
#[tauri::command]
pub async fn set_autostart(enabled: bool) -> Result<(), CommandError> {
    crate::autostart::set(enabled).await?;
    Ok(())
}
