//! Herald's windows: opening them on demand. Closing one destroys it, so its web view and
//! the processes behind it go away and the app idles in the tray (see
//! [`crate::on_run_event`]); the tray menu builds it again from its `tauri.conf.json` entry.

use tauri::{Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

/// The label of the main window, as declared in `tauri.conf.json` and granted in
/// `capabilities/main.json`.
pub const MAIN: &str = "main";

/// Shows the main window, building it from its `tauri.conf.json` entry if it does not exist
/// (any more), and brings it to the front.
pub fn show_main<R: Runtime, M: Manager<R>>(app: &M) -> tauri::Result<WebviewWindow<R>> {
    let window = match app.get_webview_window(MAIN) {
        Some(window) => window,
        None => {
            let config = app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == MAIN)
                .ok_or(tauri::Error::WindowNotFound)?;
            WebviewWindowBuilder::from_config(app, config)?.build()?
        }
    };
    window.unminimize()?;
    window.show()?;
    window.set_focus()?;
    Ok(window)
}
