//! Herald's tray app: a thin Tauri shell over `herald-core`. It owns the windows, the tray icon
//! and the IPC commands the page may call; everything else belongs in the core.
//!
//! [`run_app`] builds the app for any [`Runtime`], so `tauri::test::mock_builder()` can boot
//! it in `cargo test`. [`run`] adds what needs a real desktop and a real bus (single instance,
//! the tray, the pipeline) and runs the event loop until Quit.

pub mod autostart;
pub mod backend;
pub mod commands;
pub mod error;
pub mod host;
pub mod link;
pub mod pipeline;
mod start;
pub mod status;
pub mod tray;
pub mod window;

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::{App, AppHandle, Builder, Manager, RunEvent, Runtime, WindowEvent};

pub use commands::AppInfo;
pub use error::{CommandError, ErrorKind};
pub use start::{run, Start};

/// Registers Herald's commands and state on `builder` and builds the app, with no window
/// open, as one process that would run the pipeline, the tray and the windows. The tray and
/// the pipeline are not part of it: they need a desktop session and a broker, see [`run`].
pub fn run_app<R: Runtime>(builder: Builder<R>) -> tauri::Result<App<R>> {
    run_app_as(builder, host::Host::Single)
}

/// [`run_app`] for the given part of Herald.
pub fn run_app_as<R: Runtime>(builder: Builder<R>, host: host::Host) -> tauri::Result<App<R>> {
    builder
        .manage(host)
        .manage(tray::Tray::default())
        .manage(pipeline::Running::default())
        .manage(backend::Backend::default())
        .manage(status::Live::default())
        .manage(Lifetime::default())
        .on_window_event(|window, event| {
            if let WindowEvent::Destroyed = event {
                window.state::<status::Live>().forget(window.label());
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::status,
            commands::live,
            commands::open_link,
            commands::open_window,
            commands::autostart,
            commands::set_autostart,
            commands::search,
            commands::facets,
            commands::highlight_terms,
            commands::message,
            commands::mark_read,
            commands::mark_all_read,
            commands::packages,
            commands::package_timeline,
            commands::get_settings,
            commands::save_settings,
            commands::set_secret,
            commands::test_connection,
            commands::dry_run,
        ])
        .build(tauri::generate_context!())
}

/// Whether the user asked to quit (managed state of the app).
#[derive(Debug, Default)]
pub struct Lifetime {
    quitting: AtomicBool,
}

impl Lifetime {
    pub fn quitting(&self) -> bool {
        self.quitting.load(Ordering::SeqCst)
    }
}

/// Quits Herald: the pipeline writes and acks its batch in flight and closes its connections,
/// then the app exits with status 0. Asking again while quitting does nothing.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    if app
        .state::<Lifetime>()
        .quitting
        .swap(true, Ordering::SeqCst)
    {
        return;
    }
    tracing::info!("quitting");
    host::quitting(app);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        pipeline::stop(&app).await;
        app.exit(0);
    });
}

/// Herald lives in the tray: with every window closed it keeps running, and only [`quit`]
/// ends it. A window process ends with its last window.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::ExitRequested { api, code, .. } = event {
        let window_process = matches!(*app.state::<host::Host>(), host::Host::Window(_));
        if !window_process && !app.state::<Lifetime>().quitting() {
            tracing::debug!(?code, "exit requested without Quit; staying in the tray");
            api.prevent_exit();
        }
    }
}
