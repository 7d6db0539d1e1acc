//! Herald's windows: opening them on demand and what closing one means. Closing hides the
//! window; the app stays in the tray (see [`crate::on_run_event`]).

use tauri::{Manager, Runtime, WebviewWindow, WebviewWindowBuilder, Window, WindowEvent};

/// The label of the main window, as declared in `tauri.conf.json` and granted in
/// `capabilities/main.json`.
pub const MAIN: &str = "main";

/// Shows the main window, building it from its `tauri.conf.json` entry if it does not exist
/// yet, and brings it to the front.
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

/// Closing a window only hides it, so reopening it from the tray is instant and keeps its state.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        api.prevent_close();
        if let Err(err) = window.hide() {
            tracing::warn!(window = window.label(), "cannot hide window: {err}");
        }
    }
}
