//! Herald's core pipeline inside the app: found and configured the way the `herald` CLI does
//! (`HERALD_CONFIG`, `HERALD_DB`, XDG defaults), started on Tauri's async runtime, its
//! events fed to the tray, paused and resumed from the menu, and shut down cleanly on Quit.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use herald_core::config::{default_paths, Config};
use herald_core::history::HistoryStore;
use herald_core::notify::{Freedesktop, Notifier};
use herald_core::pipeline::{
    error_chain, Pipeline, PipelineEvent, PipelineHandle, PipelineOptions,
};
use tauri::{AppHandle, Manager, Runtime};
use time::UtcOffset;
use tokio::sync::broadcast::error::RecvError;

use crate::tray::Tray;
use crate::Lifetime;

/// How long Quit waits for the batch in flight to be written and acked.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The running pipeline, if any (managed state of the app).
#[derive(Debug, Default)]
pub struct Running(Mutex<Slot>);

#[derive(Debug, Default)]
enum Slot {
    #[default]
    Starting,
    Running(PipelineHandle),
    /// Quit was asked, or the pipeline ended.
    Done,
}

impl Running {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the handle out, for waiting on it; later callers get `None`.
    fn take(&self) -> Option<PipelineHandle> {
        match std::mem::replace(&mut *self.lock(), Slot::Done) {
            Slot::Running(handle) => Some(handle),
            Slot::Starting | Slot::Done => None,
        }
    }
}

/// Where the config and the history are, resolved like the CLI: `HERALD_CONFIG` or
/// `$XDG_CONFIG_HOME/herald/config.toml`; `HERALD_DB`, else the config's `database`, else
/// `$XDG_DATA_HOME/herald/history.db`.
#[derive(Debug)]
struct Setup {
    config: Config,
    config_path: PathBuf,
    db: PathBuf,
}

impl Setup {
    fn load() -> anyhow::Result<Setup> {
        let given = |key: &str| std::env::var_os(key).is_some_and(|v| !v.is_empty());
        let paths = default_paths().context("cannot find Herald's default locations")?;
        // The commented example is written only at the default location, as the CLI does.
        let config = Config::load(&paths.config, !given("HERALD_CONFIG"))
            .with_context(|| format!("cannot load config {}", paths.config.display()))?;
        let db = if given("HERALD_DB") {
            paths.database
        } else {
            config.herald.database_path().unwrap_or(paths.database)
        };
        Ok(Setup {
            config,
            config_path: paths.config,
            db,
        })
    }
}

/// Starts the pipeline in the background and feeds its events to the tray until it stops.
/// A pipeline that cannot start (bad config, unwritable history) leaves the app running with
/// the reason in the tray, so the user can read it and quit.
pub fn spawn<R: Runtime>(app: &AppHandle<R>, local_offset: UtcOffset) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(err) = run(&app, local_offset).await {
            tracing::error!("the pipeline is not running: {err:#}");
            app.state::<Tray>().halt(format!("{err:#}"));
        }
    });
}

async fn run<R: Runtime>(app: &AppHandle<R>, local_offset: UtcOffset) -> anyhow::Result<()> {
    let setup = Setup::load()?;
    let store = HistoryStore::open(&setup.db, &setup.config.render_context())
        .await
        .with_context(|| format!("cannot open the history at {}", setup.db.display()))?;
    // D-Bus round trips: off the async threads.
    let notifier = match tokio::task::spawn_blocking(|| Freedesktop::connect(None)).await {
        Ok(Ok(n)) => Some(Arc::new(n) as Arc<dyn Notifier>),
        Ok(Err(err)) => {
            tracing::warn!(
                "{}; notifications are off, messages are still stored",
                error_chain(&err)
            );
            None
        }
        Err(err) => {
            tracing::warn!("cannot connect to the notification server: {err}");
            None
        }
    };
    tracing::info!(
        config = %setup.config_path.display(),
        history = %setup.db.display(),
        broker = %setup.config.redacted_url(),
        "starting the pipeline"
    );
    let mut events = {
        let mut slot = app.state::<Running>().inner().lock();
        if !matches!(*slot, Slot::Starting) {
            return Ok(()); // Quit came first.
        }
        let handle = Pipeline::start(
            setup.config,
            store,
            PipelineOptions {
                notifier,
                config_path: Some(setup.config_path),
                local_offset,
                ..PipelineOptions::default()
            },
        );
        let events = handle.subscribe();
        // A pause picked while the pipeline was starting.
        if let Some(how_long) = app.state::<Tray>().pause_left() {
            handle.pause_notifications(how_long);
        }
        *slot = Slot::Running(handle);
        events
    };
    let tray = app.state::<Tray>();
    let lifetime = app.state::<Lifetime>();
    loop {
        match events.recv().await {
            Ok(event) => {
                // Quitting: the tray goes away with the app; the shutdown is not news.
                if !lifetime.quitting() {
                    tray.apply(&event);
                }
                if event == PipelineEvent::Stopped {
                    break;
                }
            }
            Err(RecvError::Lagged(n)) => tracing::debug!("tray missed {n} pipeline events"),
            Err(RecvError::Closed) => break,
        }
    }
    // Stopped by Quit (which waits on the handle itself), or by a fatal error: say which.
    if let Some(handle) = app.state::<Running>().take() {
        match handle.wait().await {
            Ok(_) => tray.halt("stopped".to_owned()),
            Err(err) => {
                tracing::error!("the pipeline stopped: {}", error_chain(&err));
                tray.halt(error_chain(&err));
            }
        }
    }
    Ok(())
}

/// Holds notifications for `how_long`, or until [`resume`].
pub fn pause<R: Runtime>(app: &AppHandle<R>, how_long: Option<Duration>) {
    if let Slot::Running(handle) = &*app.state::<Running>().lock() {
        handle.pause_notifications(how_long);
    }
}

pub fn resume<R: Runtime>(app: &AppHandle<R>) {
    if let Slot::Running(handle) = &*app.state::<Running>().lock() {
        handle.resume_notifications();
    }
}

/// Stops consuming, waits (at most 10 s) until the batch in flight is written and
/// acked and the connections are closed. A pipeline still starting never starts.
pub async fn stop<R: Runtime>(app: &AppHandle<R>) {
    let Some(handle) = app.state::<Running>().take() else {
        return;
    };
    handle.shutdown();
    match tokio::time::timeout(STOP_TIMEOUT, handle.wait()).await {
        Ok(Ok(report)) => tracing::info!(
            stored = report.totals.stored,
            dropped = report.dropped,
            "pipeline stopped"
        ),
        Ok(Err(err)) => tracing::warn!("the pipeline ended with an error: {}", error_chain(&err)),
        Err(_) => tracing::warn!("the pipeline did not stop within {STOP_TIMEOUT:?}; exiting"),
    }
}
