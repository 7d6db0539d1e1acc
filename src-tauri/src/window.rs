//! Herald's windows: the history and the settings, opened on demand. Closing one destroys
//! it, so its web view and the processes behind it go away and the app idles in the tray (see
//! [`crate::on_run_event`]); the tray menu builds it again from its `tauri.conf.json` entry.

use serde::{Deserialize, Serialize};
use tauri::{Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

/// Herald's windows. Their labels are declared in `tauri.conf.json` and granted Herald's
/// commands in `capabilities/main.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    History,
    Settings,
}

impl Window {
    pub const ALL: [Window; 2] = [Window::History, Window::Settings];

    /// The window labelled `label`.
    pub fn from_label(label: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.label() == label)
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::History => "history",
            Window::Settings => "settings",
        }
    }
}

/// Shows `which`, building it from its `tauri.conf.json` entry if it does not exist (any
/// more), and brings it to the front.
pub fn show<R: Runtime, M: Manager<R>>(app: &M, which: Window) -> tauri::Result<WebviewWindow<R>> {
    let label = which.label();
    let window = match app.get_webview_window(label) {
        Some(window) => window,
        None => {
            let config = app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == label)
                .ok_or(tauri::Error::WindowNotFound)?;
            WebviewWindowBuilder::from_config(app, config)?.build()?
        }
    };
    window.unminimize()?;
    window.show()?;
    window.set_focus()?;
    Ok(window)
}
