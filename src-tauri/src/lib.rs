//! Herald's tray app: a thin Tauri shell over `herald-core`. It owns the windows, the tray icon
//! and the IPC commands the page may call; everything else belongs in the core.
//!
//! [`run_app`] builds the app for any [`Runtime`], so `tauri::test::mock_builder()` can boot
//! it in `cargo test`. [`run`] adds what needs a real desktop (the tray) and runs the event loop.

pub mod commands;
pub mod error;
pub mod tray;
pub mod window;

use anyhow::Context as _;
use tauri::{App, AppHandle, Builder, RunEvent, Runtime};

pub use commands::AppInfo;
pub use error::{CommandError, ErrorKind};

/// Registers Herald's commands and window behaviour on `builder` and builds the app with the
/// main window open. The tray is not part of it: it needs a desktop session, see [`run`].
pub fn run_app<R: Runtime>(builder: Builder<R>) -> tauri::Result<App<R>> {
    let app = builder
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .on_window_event(window::on_window_event)
        .build(tauri::generate_context!())?;
    // Opened here rather than in a setup hook, which would only run once the event loop
    // starts: callers (and tests) get an app whose window already exists.
    window::show_main(&app)?;
    Ok(app)
}

/// Runs the desktop app until the user picks Quit in the tray menu.
pub fn run() -> anyhow::Result<()> {
    init_logging();
    require_display()?;
    let app = run_app(Builder::default()).context("cannot start the Herald window")?;
    tray::create(app.handle()).context("cannot create the tray icon")?;
    app.run(on_run_event);
    Ok(())
}

/// Herald lives in the tray: with every window closed it keeps running, and only an explicit
/// exit (Quit, which passes an exit code) ends it.
pub fn on_run_event<R: Runtime>(_app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::ExitRequested {
        code: None, api, ..
    } = event
    {
        api.prevent_exit();
    }
}

/// Without a display GTK fails to start and the windowing library panics with a backtrace;
/// say what is missing instead.
fn require_display() -> anyhow::Result<()> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        anyhow::bail!(
            "no graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set \
             (`herald run` consumes the bus without one)"
        );
    }
    Ok(())
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HERALD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // A second subscriber (e.g. in tests) is not an error worth stopping for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
