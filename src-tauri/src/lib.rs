//! Herald's tray app: a thin Tauri shell over `herald-core`. It owns the windows, the tray icon
//! and the IPC commands the page may call; everything else belongs in the core.
//!
//! [`run_app`] builds the app for any [`Runtime`], so `tauri::test::mock_builder()` can boot
//! it in `cargo test`. [`run`] adds what needs a real desktop and a real bus (single instance,
//! the tray, the pipeline) and runs the event loop until Quit.

pub mod commands;
pub mod error;
pub mod pipeline;
pub mod tray;
pub mod window;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use tauri::{App, AppHandle, Builder, Manager, RunEvent, Runtime};

pub use commands::AppInfo;
pub use error::{CommandError, ErrorKind};

/// Registers Herald's commands and state on `builder` and builds the app with the main window
/// open. The tray and the pipeline are not part of it: they need a desktop session and a
/// broker, see [`run`].
pub fn run_app<R: Runtime>(builder: Builder<R>) -> tauri::Result<App<R>> {
    let app = builder
        .manage(tray::Tray::default())
        .manage(pipeline::Running::default())
        .manage(Lifetime::default())
        .invoke_handler(tauri::generate_handler![commands::app_info])
        .build(tauri::generate_context!())?;
    // Opened here rather than in a setup hook, which would only run once the event loop
    // starts: callers (and tests) get an app whose window already exists.
    window::show_main(&app)?;
    Ok(app)
}

/// Runs the desktop app until the user picks Quit in the tray menu (or the session ends it
/// with SIGTERM, which quits the same way).
pub fn run() -> anyhow::Result<()> {
    // Read while the process has one thread: the `time` crate refuses afterwards.
    let local_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    init_logging();
    require_display()?;
    // First, so a second launch is handed to the first before it sets anything up.
    let single = tauri_plugin_single_instance::init(|app, _argv, _cwd| {
        tracing::info!("Herald was launched again: showing the main window");
        if let Err(err) = window::show_main(app) {
            tracing::error!("cannot open the main window for a second launch: {err}");
        }
    });
    let app =
        run_app(Builder::default().plugin(single)).context("cannot start the Herald window")?;
    tray::create(app.handle()).context("cannot create the tray icon")?;
    pipeline::spawn(app.handle(), local_offset);
    quit_on_signals(app.handle());
    app.run(on_run_event);
    Ok(())
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
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        pipeline::stop(&app).await;
        app.exit(0);
    });
}

/// Herald lives in the tray: with every window closed it keeps running, and only [`quit`]
/// ends it.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::ExitRequested { api, code, .. } = event {
        if !app.state::<Lifetime>().quitting() {
            tracing::debug!(?code, "exit requested without Quit; staying in the tray");
            api.prevent_exit();
        }
    }
}

#[cfg(unix)]
fn quit_on_signals<R: Runtime>(app: &AppHandle<R>) {
    use tokio::signal::unix::{signal, SignalKind};
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM/SIGINT; only Quit stops Herald cleanly");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        quit(&app);
    });
}

#[cfg(not(unix))]
fn quit_on_signals<R: Runtime>(_app: &AppHandle<R>) {}

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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
