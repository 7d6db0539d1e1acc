//! The long-running core: bus → decode → render → rules → history, with one owner of each
//! AMQP connection. The CLI and the tray app both start a [`Pipeline`] and listen to its
//! [`PipelineEvent`]s through the [`PipelineHandle`].
//!
//! Each configured connection runs its own session loop; all of them write to the same
//! history. Every delivery is decoded, rendered and checked against the connection's rules:
//! `drop` acks it without a row, `notify` and `history` store it with the deciding rule.
//!
//! Ack policy: a delivery is acked only after the transaction holding its row (or its
//! quarantine record) has committed. Deliveries are written in batches (one transaction per
//! batch, flushed when full or after a short interval) and acked together. A redelivery of a
//! stored message is recognised by its id and acked without a second row. If the store
//! fails (disk full), nothing is acked: the session ends, the broker requeues the deliveries
//! and the outer loop reconnects with capped, jittered backoff.
//!
//! Beside the messages, the chain stage (`chain`) raises the package chain's own
//! notifications — one of my updates' gating settled or reached stable, a watched package's
//! upstream release without a build — after each batch that changed the package model and
//! whenever time alone makes one due; they go through the same notification stage.
//!
//! Rules change at run time through [`PipelineHandle::reload`]: the new rules take effect
//! first, then the queue is re-bound (new bindings before old ones go), on a control channel,
//! so the consumer and its queue are never interrupted.

use crate::catchup::{Absence, Counts};
use crate::config::Config;
use crate::error::BusError;
use crate::filter::Action;
use crate::history::{HistoryStore, InsertReport};
use crate::notify::Notifier;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use time::UtcOffset;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod catch_up;
mod chain;
mod config_watch;
mod gap;
mod notify;
mod reload;
mod session;
mod writer;

pub use config_watch::{watch_config, ConfigChange, FileChanges};

/// Committed batches the notification stage may be behind by. Writers never wait for it:
/// a batch that does not fit is recorded as not notified (overflow). Enough to ride out a
/// burst while notifications are shown one by one; a server that hangs still fills it, after
/// which ingestion goes on without notifications.
const NOTIFY_BACKLOG: usize = 256;

/// Tuning for a pipeline run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Stop after this long without a delivery (for scripts and tests).
    pub until_idle: Option<Duration>,
    /// A partly filled batch is written after this long.
    pub flush_interval: Duration,
    /// How often retention is applied.
    pub prune_interval: Duration,
    /// Shows notifications; `None` records every notify message as `disabled`.
    pub notifier: Option<Arc<dyn Notifier>>,
    /// The config file, where "Mute `<package>`" writes its rule.
    pub config_path: Option<PathBuf>,
    /// The desktop's UTC offset for quiet hours. Read it before the runtime starts threads:
    /// the `time` crate cannot read it safely afterwards.
    pub local_offset: UtcOffset,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            until_idle: None,
            flush_interval: Duration::from_millis(50),
            prune_interval: Duration::from_secs(3600),
            notifier: None,
            config_path: None,
            local_offset: UtcOffset::UTC,
        }
    }
}

/// Everything a front end hears from the pipeline. `connection` names the configured
/// connection an event comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    Connecting {
        connection: String,
        url: String,
    },
    Connected {
        connection: String,
        url: String,
        queues: Vec<String>,
    },
    /// The bindings in force on a connection, after connecting or after a reload.
    Bound {
        connection: String,
        rules: usize,
        bindings: usize,
        /// False when the broker refused Herald's own headers exchanges and header filters
        /// run only client-side.
        server_side_headers: bool,
    },
    /// The session ended with an error; the next attempt follows after `retry_in`.
    Disconnected {
        connection: String,
        error: String,
        retry_in: Duration,
    },
    /// A message was added to the history (a redelivery of a stored one is not reported).
    Stored {
        id: String,
        topic: String,
        source: String,
        severity: u8,
        summary: String,
        action: Action,
        rule: Option<String>,
    },
    /// A rule said `drop` (or no rule matched and unmatched messages are dropped).
    Dropped {
        id: String,
        topic: String,
        rule: Option<String>,
    },
    Quarantined {
        id: String,
        topic: String,
        reason: String,
    },
    /// A batch is durable and acked.
    Committed(InsertReport),
    /// Writing failed; nothing from the batch was acked. Consuming pauses and the same batch
    /// is written again after a wait (the text says how long); the next `Committed` says the
    /// history is writable again.
    StoreFailed {
        error: String,
    },
    /// A notification was shown, reporting `messages` messages.
    Notified {
        summary: String,
        messages: usize,
    },
    /// The package chain raised a notice (gating settled, reached stable, no build after
    /// an upstream release) about `package`; `message` is the stored message it stems from,
    /// while the history still has it. Whether it was shown follows as `Notified`.
    PackageNotice {
        package: String,
        /// `gating`, `stable` or `no_build`.
        kind: String,
        summary: String,
        message: Option<String>,
    },
    /// The notification server failed; the messages stay in the history.
    NotifyFailed {
        error: String,
    },
    /// A reload could not be applied; the previous rules stay in force.
    ReloadFailed {
        connection: String,
        error: String,
    },
    /// After connecting again: whether the queues kept what the broker routed meanwhile.
    QueuesChecked {
        connection: String,
        /// How the previous session ended.
        absence: Option<Absence>,
        /// Every queue survived (and held `waiting` messages).
        kept: bool,
        waiting: u64,
    },
    /// Messages were missed between `start` and `end` (Unix seconds); they are fetched from
    /// the archive, or (`waits`) wait for `herald backfill` because the gap is too long or
    /// catch-up is off.
    GapFound {
        connection: String,
        start: i64,
        end: i64,
        reason: String,
        waits: bool,
    },
    /// Progress of a catch-up after each archive page, and its end (`done`).
    CatchingUp {
        connection: String,
        start: i64,
        end: i64,
        counts: Counts,
        /// The archive's count for the window.
        total: Option<u64>,
        done: bool,
    },
    /// The archive failed; the catch-up keeps its place and resumes after `retry_in`.
    CatchUpStalled {
        connection: String,
        error: String,
        retry_in: Duration,
    },
    Stopped,
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub totals: InsertReport,
    /// Deliveries acked without a row because a rule dropped them.
    pub dropped: usize,
    pub sessions: u32,
}

impl RunReport {
    fn add(&mut self, other: &RunReport) {
        self.totals.add(other.totals);
        self.dropped += other.dropped;
        self.sessions += other.sessions;
    }
}

/// Control over a running pipeline.
#[derive(Debug)]
pub struct PipelineHandle {
    events: broadcast::Sender<PipelineEvent>,
    cancel: CancellationToken,
    config: Reloader,
    control: mpsc::UnboundedSender<notify::Control>,
    task: JoinHandle<Result<RunReport, BusError>>,
}

/// Applies changed configs to a running pipeline; cheap to clone and hand to a watcher.
#[derive(Debug, Clone)]
pub struct Reloader {
    config: Arc<watch::Sender<Arc<Config>>>,
}

impl Reloader {
    /// A reloader holding `cfg`, for a pipeline about to start on it.
    fn new(cfg: Config) -> Reloader {
        Reloader {
            config: Arc::new(watch::channel(Arc::new(cfg)).0),
        }
    }

    /// Applies a changed config. New rules and profile take effect on the running sessions
    /// without losing a message; a connection whose broker settings changed reconnects.
    /// Connections added or removed need a restart (logged).
    pub fn reload(&self, cfg: Config) {
        let current = self.config.borrow().clone();
        let names = |c: &Config| {
            c.connections
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        if names(&current) != names(&cfg) {
            tracing::warn!("connections were added or removed; restart Herald to apply that");
        }
        self.config.send_replace(Arc::new(cfg));
    }

    /// The config in force, as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.config.subscribe()
    }
}

impl PipelineHandle {
    pub fn subscribe(&self) -> broadcast::Receiver<PipelineEvent> {
        self.events.subscribe()
    }

    /// Stops consuming, writes and acks the batch in flight, closes the connections.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// See [`Reloader::reload`].
    pub fn reload(&self, cfg: Config) {
        self.config.reload(cfg);
    }

    pub fn reloader(&self) -> Reloader {
        self.config.clone()
    }

    /// Holds notifications (for `for_how_long`, or until [`resume_notifications`](Self::resume_notifications)); messages
    /// are still stored, and a summary follows when the pause ends.
    pub fn pause_notifications(&self, for_how_long: Option<Duration>) {
        let _ = self.control.send(notify::Control::Pause(for_how_long));
    }

    pub fn resume_notifications(&self) {
        let _ = self.control.send(notify::Control::Resume);
    }

    /// Applies new notification preferences at once.
    pub fn set_notify_settings(&self, s: crate::notify::NotifySettings) {
        let _ = self.control.send(notify::Control::Settings(s));
    }

    /// Waits for the pipeline to end (after [`shutdown`](Self::shutdown), when idle, or on a
    /// fatal error).
    pub async fn wait(self) -> Result<RunReport, BusError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(BusError::Stopped(e.to_string())),
        }
    }
}

/// The pipeline itself; see the module documentation.
#[derive(Debug)]
pub struct Pipeline;

impl Pipeline {
    pub fn start(cfg: Config, store: HistoryStore, opts: PipelineOptions) -> PipelineHandle {
        let (events, _) = broadcast::channel(1024);
        let cancel = CancellationToken::new();
        let names: Vec<String> = cfg.connections.iter().map(|c| c.name.clone()).collect();
        let settings = cfg.herald.notifications.clone();
        let reloader = Reloader::new(cfg);
        let (candidates_tx, candidates) = mpsc::channel(NOTIFY_BACKLOG);
        // Every connection hears the machine sleep and wake.
        let sleep = crate::catchup::sleep::watch(cancel.clone());
        // Once every session ended by itself (`--until-idle`), the catch-up workers finish
        // the windows they can walk now and stop.
        let drain = CancellationToken::new();
        let mut workers = Vec::new();
        let (control_tx, control) = mpsc::unbounded_channel();
        let actions = opts.notifier.as_ref().is_some_and(|n| n.supports_actions());
        let stage = notify::Stage {
            notifier: opts.notifier.clone(),
            attention: crate::notify::Attention::new(settings, actions),
            store: store.clone(),
            events: events.clone(),
            candidates,
            control,
            config_path: opts.config_path.clone(),
            reloader: reloader.clone(),
            local_offset: opts.local_offset,
        };
        let stage = tokio::spawn(stage.run());
        // Die between commit and ack, for the redelivery tests; absent from other builds.
        let abort_after_commit = cfg!(feature = "fault-injection")
            && std::env::var_os("HERALD_FAULT_ABORT_AFTER_COMMIT").is_some();
        let runners: Vec<JoinHandle<Result<RunReport, BusError>>> = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let ledger = crate::catchup::Ledger::new(store.clone(), &name);
                let wake = Arc::new(tokio::sync::Notify::new());
                workers.push(tokio::spawn(
                    catch_up::Worker {
                        ledger: ledger.clone(),
                        store: store.clone(),
                        config: reloader.config.subscribe(),
                        events: events.clone(),
                        notify: candidates_tx.clone(),
                        wake: wake.clone(),
                        cancel: cancel.clone(),
                        drain: drain.clone(),
                    }
                    .run(),
                ));
                let runner = session::Runner {
                    connection: name,
                    config: reloader.config.subscribe(),
                    notify: candidates_tx.clone(),
                    store: store.clone(),
                    opts: opts.clone(),
                    events: events.clone(),
                    cancel: cancel.clone(),
                    abort_after_commit,
                    // Retention is one job for the whole history.
                    prunes: i == 0,
                    generated_queue: String::new(),
                    ledger,
                    catch_up: wake,
                    sleep: Some(sleep.subscribe()),
                    kept_refused: false,
                    absence: None,
                    handed_over: false,
                };
                tokio::spawn(runner.run())
            })
            .collect();
        workers.push(tokio::spawn(
            chain::Chain {
                store: store.clone(),
                config: reloader.config.subscribe(),
                notify: candidates_tx.clone(),
                events: events.clone(),
                cancel: cancel.clone(),
                drain: drain.clone(),
            }
            .run(),
        ));
        drop(candidates_tx);
        let task = tokio::spawn(supervise(
            runners,
            (workers, drain),
            stage,
            events.clone(),
            cancel.clone(),
        ));
        PipelineHandle {
            events,
            cancel,
            config: reloader,
            control: control_tx,
            task,
        }
    }
}

/// Waits for every connection's loop; the first fatal error stops the others.
async fn supervise(
    runners: Vec<JoinHandle<Result<RunReport, BusError>>>,
    (workers, drain): (Vec<JoinHandle<()>>, CancellationToken),
    stage: JoinHandle<()>,
    events: broadcast::Sender<PipelineEvent>,
    cancel: CancellationToken,
) -> Result<RunReport, BusError> {
    let mut report = RunReport::default();
    let mut first_error = None;
    let mut pending: futures_util::stream::FuturesUnordered<_> = runners.into_iter().collect();
    use futures_util::StreamExt;
    while let Some(done) = pending.next().await {
        match done {
            Ok(Ok(r)) => report.add(&r),
            Ok(Err(e)) => {
                cancel.cancel();
                first_error.get_or_insert(e);
            }
            Err(e) => {
                cancel.cancel();
                first_error.get_or_insert(BusError::Stopped(e.to_string()));
            }
        }
    }
    drain.cancel();
    for w in workers {
        let _ = w.await;
    }
    // The runners' writers, the catch-up workers and the chain were the stage's only
    // senders: it ends once it has recorded what they handed over.
    let _ = stage.await;
    let _ = events.send(PipelineEvent::Stopped);
    match first_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Exponential backoff with full jitter, capped, so many clients do not reconnect in step.
fn backoff(failures: u32) -> Duration {
    crate::error::backoff(BACKOFF_BASE, BACKOFF_CAP, failures)
}

pub use crate::error::error_chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for f in 1..40 {
            let d = backoff(f);
            assert!(d <= BACKOFF_CAP, "{d:?}");
            assert!(d >= BACKOFF_BASE / 2, "{d:?}");
        }
        assert!(backoff(1) <= BACKOFF_BASE);
        assert!(backoff(20) >= BACKOFF_CAP / 2);
    }
}
