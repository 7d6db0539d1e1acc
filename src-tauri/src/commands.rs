//! The IPC commands the page may call. Each one takes what it needs from Tauri, calls one core
//! function and maps its error; every name here must also be listed in `build.rs`, which is
//! what grants it to a window.

use serde::Serialize;
use tauri::{AppHandle, Runtime};

use crate::error::CommandError;

/// What the about box shows: who we are and where Herald keeps its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
