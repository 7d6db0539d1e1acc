//! Herald's core pipeline inside the app: found and configured the way the `herald` CLI does
//! (`HERALD_CONFIG`, `HERALD_DB`, XDG defaults), started on Tauri's async runtime, its
//! events fed to the tray, paused and resumed from the menu, and shut down cleanly on Quit.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use herald_core::config::Config;
use herald_core::history::HistoryStore;
use herald_core::notify::{Freedesktop, Notifier};
use herald_core::pipeline::{
    error_chain, watch_config, ConfigChange, FileChanges, Pipeline, PipelineEvent, PipelineHandle,
    PipelineOptions,
};
use tauri::{AppHandle, Manager, Runtime};
use time::UtcOffset;
use tokio::sync::broadcast::error::RecvError;

use crate::backend::{Backend, Parts};
use crate::host::{self, Host};
use crate::link::ToWindows;
use crate::status::{Live, LiveEvent};
use crate::tray::{Tray, TrayModel};
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

/// Starts the pipeline in the background and feeds its events to the tray until it stops.
/// A pipeline that cannot start (bad config, unwritable history) leaves the app running with
/// the reason in the tray; it tries again each time the config file changes, so fixing the
/// file is enough.
pub fn spawn<R: Runtime>(app: &AppHandle<R>, local_offset: UtcOffset) {
    app.state::<Tray>()
        .update(|m| m.set_local_offset(local_offset));
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let Err(err) = run(&app, local_offset).await else {
                return;
            };
            tracing::error!("the pipeline is not running: {err:#}");
            app.state::<Backend>().set_failed(format!("{err:#}"));
            app.state::<Tray>().halt(format!("{err:#}"));
            host::publish_status(&app);
            if !config_changed().await {
                return;
            }
            tracing::info!("the config changed: starting the pipeline again");
            app.state::<Backend>().set_starting();
            app.state::<Tray>().update(TrayModel::resume_start);
            host::publish_status(&app);
        }
    });
}

/// Waits until the config file changes (is written, appears or goes); false when it cannot
/// be found to watch. Quit needs no check here: it ends the process, and a pipeline asked to
/// start after Quit does not.
async fn config_changed() -> bool {
    match herald_core::config::default_paths() {
        Ok(paths) => {
            FileChanges::new(paths.config).next().await;
            true
        }
        Err(err) => {
            tracing::warn!("cannot watch the config for a fix: {err}");
            false
        }
    }
}

async fn run<R: Runtime>(app: &AppHandle<R>, local_offset: UtcOffset) -> anyhow::Result<()> {
    let (parts, config) = Parts::open(true).await?;
    app.state::<Backend>().set_ready(parts.clone());
    let Parts {
        store, config_path, ..
    } = parts;
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
        config = %config_path.display(),
        history = %store.path().display(),
        broker = %config.redacted_url(),
        "starting the pipeline"
    );
    let (mut events, watcher) = {
        let mut slot = app.state::<Running>().inner().lock();
        if !matches!(*slot, Slot::Starting) {
            return Ok(()); // Quit came first.
        }
        let handle = Pipeline::start(
            config,
            store.clone(),
            PipelineOptions {
                notifier,
                config_path: Some(config_path.clone()),
                local_offset,
                ..PipelineOptions::default()
            },
        );
        let events = handle.subscribe();
        // Edits made outside the settings window (`herald rules add`, an editor) apply too.
        let watcher = tauri::async_runtime::spawn(watch_config(
            config_path,
            handle.reloader(),
            |path, change| match change {
                ConfigChange::Applied => {
                    tracing::info!("config {} re-read; applying", path.display())
                }
                ConfigChange::Gone => tracing::warn!(
                    "config {} is gone; keeping the settings in force",
                    path.display()
                ),
                ConfigChange::Rejected(err) => tracing::warn!(
                    "config {} not applied: {}",
                    path.display(),
                    error_chain(&err)
                ),
            },
        ));
        // A pause picked while the pipeline was starting.
        if let Some(how_long) = app.state::<Tray>().pause_left() {
            handle.pause_notifications(how_long);
        }
        *slot = Slot::Running(handle);
        (events, watcher)
    };
    let tray = app.state::<Tray>();
    let lifetime = app.state::<Lifetime>();
    loop {
        match events.recv().await {
            Ok(event) => {
                // Quitting: the tray goes away with the app; the shutdown is not news.
                if !lifetime.quitting() {
                    if tray.apply(&event) {
                        host::publish_status(app);
                    }
                    publish_stored(app, &store, &event).await;
                }
                if event == PipelineEvent::Stopped {
                    break;
                }
            }
            Err(RecvError::Lagged(n)) => tracing::debug!("tray missed {n} pipeline events"),
            Err(RecvError::Closed) => break,
        }
    }
    watcher.abort();
    // Stopped by Quit (which waits on the handle itself), or by a fatal error: say which.
    if let Some(handle) = app.state::<Running>().take() {
        match handle.wait().await {
            Ok(_) => tray.halt("stopped".to_owned()),
            Err(err) => {
                tracing::error!("the pipeline stopped: {}", error_chain(&err));
                tray.halt(error_chain(&err));
            }
        }
        host::publish_status(app);
    }
    Ok(())
}

/// Tells the open windows about a message stored for the first time: a window process
/// reads it from the history itself.
async fn publish_stored<R: Runtime>(
    app: &AppHandle<R>,
    store: &HistoryStore,
    event: &PipelineEvent,
) {
    let PipelineEvent::Stored { id, .. } = event else {
        return;
    };
    if let Host::Tray(server) = &*app.state::<Host>() {
        if server.has_peers() {
            server.broadcast(&ToWindows::Stored { id: id.clone() });
        }
        return;
    }
    send_hit(app, store, id).await;
}

/// Reads back message `id`'s hit and shows it in this process's windows, if any listen.
pub async fn send_hit<R: Runtime>(app: &AppHandle<R>, store: &HistoryStore, id: &str) {
    if app.state::<Live>().is_empty() {
        return;
    }
    match store.hit(id).await {
        Ok(Some(hit)) => app
            .state::<Live>()
            .send(None, &LiveEvent::Stored { hit: Box::new(hit) }),
        Ok(None) => {} // Pruned already.
        Err(err) => tracing::warn!("cannot read back message {id}: {}", error_chain(&err)),
    }
}

/// Applies a config just saved by the settings window: rules, profile, notification
/// preferences and broker settings take effect without a restart.
pub fn reload<R: Runtime>(app: &AppHandle<R>, config: Config) {
    if let Slot::Running(handle) = &*app.state::<Running>().lock() {
        handle.reload(config);
    }
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
