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
pub mod pipeline;
pub mod status;
pub mod tray;
pub mod window;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use tauri::{App, AppHandle, Builder, Manager, RunEvent, Runtime, WindowEvent};

pub use commands::AppInfo;
pub use error::{CommandError, ErrorKind};

/// Registers Herald's commands and state on `builder` and builds the app, with no window
/// open. The tray and the pipeline are not part of it: they need a desktop session and a
/// broker, see [`run`].
pub fn run_app<R: Runtime>(builder: Builder<R>) -> tauri::Result<App<R>> {
    builder
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
            commands::get_settings,
            commands::save_settings,
            commands::set_secret,
            commands::test_connection,
            commands::dry_run,
        ])
        .build(tauri::generate_context!())
}

/// How the app was asked to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// In the tray only (at login): no window, no web view.
    Tray,
    /// From the menu or a terminal: the history window opens.
    History,
}

impl Start {
    /// `--tray` starts in the tray only; anything else opens the history.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Start {
        if args.into_iter().skip(1).any(|a| a == "--tray") {
            Start::Tray
        } else {
            Start::History
        }
    }
}

/// Runs the desktop app until the user picks Quit in the tray menu (or the session ends it
/// with SIGTERM, which quits the same way).
pub fn run() -> anyhow::Result<()> {
    // Read while the process has one thread: the `time` crate refuses afterwards.
    let local_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    lighten_webview();
    init_logging();
    require_display()?;
    // First, so a second launch is handed to the first before it sets anything up.
    let start = Start::from_args(std::env::args());
    let single = tauri_plugin_single_instance::init(|app, argv, _cwd| {
        // A second `--tray` launch (a second login autostart) has nothing to show.
        if Start::from_args(argv) == Start::Tray {
            return;
        }
        tracing::info!("Herald was launched again: showing the history");
        if let Err(err) = window::show(app, window::Window::History) {
            tracing::error!("cannot open the history window for a second launch: {err}");
        }
    });
    let app = run_app(Builder::default().plugin(single)).context("cannot start Herald")?;
    tray::create(app.handle()).context("cannot create the tray icon")?;
    if start == Start::History {
        window::show(&app, window::Window::History).context("cannot open the history window")?;
    }
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

/// Herald's pages are lists and text: WebKit's accelerated compositing buys them nothing and
/// costs ~90 MB (a GL stack, software-rendered where there is no GPU) in the web process
/// while a window is open. Set before GTK starts, while the process has one thread; a value
/// the user set wins.
fn lighten_webview() {
    const KEY: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if cfg!(target_os = "linux") && std::env::var_os(KEY).is_none() {
        std::env::set_var(KEY, "1");
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
