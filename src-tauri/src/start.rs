//! Starting Herald's processes: the tray process (pipeline, tray icon, single instance,
//! listening for window processes) and a window process (`--window history|settings`),
//! which shows its windows and ends with the last of them. See [`crate::link`] for why they
//! are apart.

use std::sync::Arc;

use anyhow::Context as _;
use tauri::{AppHandle, Builder, Manager, Runtime};
use tokio::sync::mpsc;

use crate::backend::{Backend, Parts};
use crate::host::{self, Host};
use crate::link::{self, ToWindows};
use crate::status::{Focus, Live, LiveEvent};
use crate::window::{self, Window};
use crate::{pipeline, quit, run_app_as, tray};

/// How the app was asked to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// In the tray only (at login): no window.
    Tray,
    /// From the menu or a terminal: the tray, and the history window.
    History,
    /// A window process, started by the tray: `--window history|settings [--show ID |
    /// --package NAME]`.
    Window { which: Window, show: Option<Focus> },
}

impl Start {
    /// `--tray` starts in the tray only, `--window NAME [--show ID | --package NAME]` a
    /// window process (the last of `--show` and `--package` wins);
    /// anything else opens the history. Arguments Herald does not know (a launcher's) are
    /// left alone.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Start, String> {
        let mut tray = false;
        let mut which = None;
        let mut show = None;
        let mut args = args.into_iter().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--tray" => tray = true,
                "--window" => {
                    let name = args.next().unwrap_or_default();
                    which = Some(Window::from_label(&name).ok_or_else(|| {
                        format!("--window takes `history` or `settings`, not {name:?}")
                    })?);
                }
                "--show" => {
                    let id = args.next().ok_or("--show takes a message id")?;
                    show = Some(Focus::Message { id });
                }
                "--package" => {
                    let name = args.next().ok_or("--package takes a package name")?;
                    show = Some(Focus::Package { name });
                }
                _ => {}
            }
        }
        Ok(match (which, tray) {
            (Some(which), _) => Start::Window { which, show },
            (None, true) => Start::Tray,
            (None, false) => Start::History,
        })
    }
}

/// Runs Herald as asked on the command line: the tray process until the user picks Quit (or
/// the session ends it with SIGTERM, which quits the same way), or a window process until
/// its last window closes.
pub fn run() -> anyhow::Result<()> {
    // Read while the process has one thread: the `time` crate refuses afterwards.
    let local_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    lighten_webview();
    init_logging();
    require_display()?;
    match Start::from_args(std::env::args()).map_err(anyhow::Error::msg)? {
        Start::Window { which, show } => window_process(which, show),
        start => tray_process(start == Start::History, local_offset),
    }
}

fn tray_process(open_history: bool, local_offset: time::UtcOffset) -> anyhow::Result<()> {
    // First, so a second launch is handed to the first before it sets anything up.
    let single = tauri_plugin_single_instance::init(|app, argv, _cwd| {
        // A second `--tray` launch (a second login autostart) has nothing to show.
        if Start::from_args(argv) == Ok(Start::Tray) {
            return;
        }
        tracing::info!("Herald was launched again: showing the history");
        host::open(app, Window::History, None);
    });
    let server = Arc::new(link::Server::new(window_trust()));
    let app = run_app_as(
        Builder::default().plugin(single),
        Host::Tray(Arc::clone(&server)),
    )
    .context("cannot start Herald")?;
    tray::create(app.handle()).context("cannot create the tray icon")?;
    serve_windows(app.handle(), server);
    if open_history {
        host::open(app.handle(), Window::History, None);
    }
    pipeline::spawn(app.handle(), local_offset);
    tray::keep_behind_current(app.handle());
    quit_on_signals(app.handle());
    app.run(crate::on_run_event);
    Ok(())
}

/// Whom the tray hears on the link: the window processes it started, but under WebDriver
/// automation (`TAURI_WEBVIEW_AUTOMATION=true`, which also opens every web view to the
/// driver) the driver starts them, so every process of the user is.
fn window_trust() -> link::Trust {
    if std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() == Ok("true") {
        tracing::warn!(
            "under WebDriver automation: every window process of this user is heard, \
             not only those Herald started"
        );
        link::Trust::SameUser
    } else {
        link::Trust::Started
    }
}

/// Listens for window processes. Bound before any is started, so the first one finds it;
/// without it the windows still open, with no live news.
fn serve_windows<R: Runtime>(app: &AppHandle<R>, server: Arc<link::Server>) {
    let bound = host::socket_path()
        .map_err(|e| e.to_string())
        .and_then(|path| link::Server::bind(&path).map_err(|e| format!("{}: {e}", path.display())));
    let listener = match bound {
        Ok(listener) => listener,
        Err(err) => {
            tracing::error!("windows will not hear from the tray: cannot listen at {err}");
            return;
        }
    };
    let hello = {
        let app = app.clone();
        move || ToWindows::Status {
            status: host::status(&app),
        }
    };
    let answer = {
        let app = app.clone();
        move |msg| host::on_message(&app, msg)
    };
    tauri::async_runtime::spawn(async move {
        match tokio::net::UnixListener::from_std(listener) {
            Ok(listener) => server.serve(listener, hello, answer).await,
            Err(err) => tracing::error!("windows will not hear from the tray: {err}"),
        }
    });
}

fn window_process(which: Window, show: Option<Focus>) -> anyhow::Result<()> {
    let client = Arc::new(link::Client::default());
    let app = run_app_as(Builder::default(), Host::Window(Arc::clone(&client)))
        .context("cannot start Herald's window")?;
    window::show(&app, which)
        .with_context(|| format!("cannot open the {} window", which.label()))?;
    if let Some(focus) = show {
        app.state::<Live>().show(which.label(), focus);
    }
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(open_history(handle.clone()));
    let (stored, news) = mpsc::channel(STORED_BACKLOG);
    tauri::async_runtime::spawn(show_stored(handle.clone(), news));
    match host::socket_path() {
        Ok(path) => {
            tauri::async_runtime::spawn(client.run(path, move |msg| {
                on_tray_message(&handle, &stored, msg);
            }));
        }
        Err(err) => tracing::error!("cannot find Herald's tray process: {err}"),
    }
    app.run(crate::on_run_event);
    Ok(())
}

/// Opens the history the tray process writes (either may run its migrations first).
async fn open_history<R: Runtime>(app: AppHandle<R>) {
    match Parts::open(false).await {
        Ok((parts, _)) => app.state::<Backend>().set_ready(parts),
        Err(err) => {
            tracing::error!("{err:#}");
            app.state::<Backend>().set_failed(format!("{err:#}"));
        }
    }
}

/// How many newly stored messages may wait to be shown in a window process: a burst
/// beyond it (a long catch-up) is not held in memory; those messages are in the history.
const STORED_BACKLOG: usize = 4096;

/// What a window process does with what the tray process tells it.
fn on_tray_message<R: Runtime>(app: &AppHandle<R>, stored: &mpsc::Sender<String>, msg: ToWindows) {
    match msg {
        ToWindows::Status { status } => {
            app.state::<Live>()
                .send(None, &LiveEvent::Status { status });
        }
        ToWindows::Stored { id } => {
            if let Err(mpsc::error::TrySendError::Full(id)) = stored.try_send(id) {
                tracing::debug!(id, "too many new messages at once to show them all live");
            }
        }
        ToWindows::Open { window, show } => host::open(app, window, show),
        ToWindows::Quit => app.exit(0),
        // The link's client takes these itself.
        ToWindows::Reloaded { .. } => {}
    }
}

/// Shows newly stored messages in the windows, one after another so they keep their order.
async fn show_stored<R: Runtime>(app: AppHandle<R>, mut news: mpsc::Receiver<String>) {
    while let Some(id) = news.recv().await {
        if app.state::<Live>().is_empty() {
            continue;
        }
        let Ok(parts) = app.state::<Backend>().parts().await else {
            continue;
        };
        pipeline::send_hit(&app, &parts.store, &id).await;
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
