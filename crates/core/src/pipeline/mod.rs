//! The long-running core: bus → decode → render → history, with one owner of the AMQP
//! connection. The CLI and the tray app both start a [`Pipeline`] and listen to its
//! [`PipelineEvent`]s through the [`PipelineHandle`].
//!
//! Ack policy: a delivery is acked only after the transaction holding its row (or its
//! quarantine record) has committed. Deliveries are written in batches (one transaction per
//! batch, flushed when full or after a short interval) and acked together. A redelivery of a
//! stored message is recognised by its id and acked without a second row. If the store
//! fails (disk full), nothing is acked: the session ends, the broker requeues the deliveries
//! and the outer loop reconnects with capped, jittered backoff.

use crate::bus;
use crate::config::Config;
use crate::error::BusError;
use crate::history::{Entry, HistoryStore, InsertReport};
use crate::message::{Envelope, Message};
use crate::sources::RenderContext;
use futures_util::StreamExt;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use writer::{Batch, Writer};

mod writer;

/// Tuning for a pipeline run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Stop after this long without a delivery (for scripts and tests).
    pub until_idle: Option<Duration>,
    /// A partly filled batch is written after this long.
    pub flush_interval: Duration,
    /// How often retention is applied.
    pub prune_interval: Duration,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            until_idle: None,
            flush_interval: Duration::from_millis(50),
            prune_interval: Duration::from_secs(3600),
        }
    }
}

/// Everything a front end hears from the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineEvent {
    Connecting {
        url: String,
    },
    Connected {
        url: String,
        queues: Vec<String>,
    },
    /// The session ended with an error; the next attempt follows after `retry_in`.
    Disconnected {
        error: String,
        retry_in: Duration,
    },
    Stored {
        id: String,
        topic: String,
        source: String,
        severity: u8,
        summary: String,
    },
    Quarantined {
        id: String,
        topic: String,
        reason: String,
    },
    /// A batch is durable and acked.
    Committed(InsertReport),
    /// Writing failed; nothing from the batch was acked.
    StoreFailed {
        error: String,
    },
    Stopped,
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub totals: InsertReport,
    pub sessions: u32,
}

/// Control over a running pipeline.
#[derive(Debug)]
pub struct PipelineHandle {
    events: broadcast::Sender<PipelineEvent>,
    cancel: CancellationToken,
    task: JoinHandle<Result<RunReport, BusError>>,
}

impl PipelineHandle {
    pub fn subscribe(&self) -> broadcast::Receiver<PipelineEvent> {
        self.events.subscribe()
    }

    /// Stops consuming, writes and acks the batch in flight, closes the connection.
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
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
        let runner = Runner {
            ctx: cfg.render_context(),
            cfg,
            store,
            opts,
            events: events.clone(),
            cancel: cancel.clone(),
            abort_after_commit: std::env::var_os("HERALD_FAULT_ABORT_AFTER_COMMIT").is_some(),
        };
        let task = tokio::spawn(runner.run());
        PipelineHandle {
            events,
            cancel,
            task,
        }
    }
}

struct Runner {
    cfg: Config,
    ctx: RenderContext,
    store: HistoryStore,
    opts: PipelineOptions,
    events: broadcast::Sender<PipelineEvent>,
    cancel: CancellationToken,
    /// Fault injection for the redelivery test: die between commit and ack.
    abort_after_commit: bool,
}

enum End {
    Shutdown,
    Idle,
}

const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

impl Runner {
    fn emit(&self, e: PipelineEvent) {
        // No listener is fine: the CLI without -v does not subscribe.
        let _ = self.events.send(e);
    }

    async fn run(self) -> Result<RunReport, BusError> {
        let mut report = RunReport::default();
        let mut failures: u32 = 0;
        let mut last_progress = Instant::now();
        let mut next_prune = Instant::now();
        loop {
            if Instant::now() >= next_prune {
                self.prune().await;
                next_prune = Instant::now() + self.opts.prune_interval;
            }
            self.emit(PipelineEvent::Connecting {
                url: self.cfg.redacted_url(),
            });
            let mut connected = false;
            let result = self.session(&mut report, &mut connected).await;
            if connected {
                report.sessions += 1;
                failures = 0;
                last_progress = Instant::now();
            }
            let error = match result {
                Ok(End::Shutdown | End::Idle) => break,
                Err(e) => e,
            };
            if self.cancel.is_cancelled() {
                break;
            }
            if let Some(idle) = self.opts.until_idle {
                if last_progress.elapsed() >= idle {
                    self.emit(PipelineEvent::Stopped);
                    return Err(error);
                }
            }
            failures = failures.saturating_add(1);
            let retry_in = backoff(failures);
            tracing::warn!(error = %error_chain(&error), ?retry_in, "broker session ended");
            self.emit(PipelineEvent::Disconnected {
                error: error_chain(&error),
                retry_in,
            });
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = tokio::time::sleep(retry_in) => {}
            }
        }
        self.emit(PipelineEvent::Stopped);
        Ok(report)
    }

    async fn prune(&self) {
        let h = &self.cfg.herald;
        let age = (h.retention_days > 0)
            .then(|| Duration::from_secs(u64::from(h.retention_days) * 86_400));
        let rows = (h.retention_max_rows > 0).then_some(h.retention_max_rows);
        match self.store.prune(age, rows).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "retention applied"),
            Err(e) => tracing::warn!(error = %error_chain(&e), "retention failed"),
        }
    }

    async fn session(&self, report: &mut RunReport, connected: &mut bool) -> Result<End, BusError> {
        let conn = bus::connect(&self.cfg).await?;
        let channel = conn
            .create_channel()
            .await
            .map_err(|source| BusError::Channel {
                op: "channel.open",
                source,
            })?;
        let queues = bus::topology::declare(&channel, &self.cfg).await?;
        let mut consumers = Vec::new();
        let mut tags = Vec::new();
        for q in &queues {
            let tag = format!("herald-{}", uuid::Uuid::new_v4());
            let c = channel
                .basic_consume(
                    q.as_str().into(),
                    tag.as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|source| BusError::Topology {
                    op: "consume",
                    name: q.clone(),
                    source,
                })?;
            consumers.push(c);
            tags.push(tag);
        }
        *connected = true;
        tracing::info!(url = %self.cfg.redacted_url(), ?queues, "connected");
        self.emit(PipelineEvent::Connected {
            url: self.cfg.redacted_url(),
            queues,
        });

        let mut stream = futures_util::stream::select_all(consumers);
        // Decoding and rendering here overlap with the previous batch being written there.
        let (writer_tx, writer) = Writer {
            store: self.store.clone(),
            channel: channel.clone(),
            events: self.events.clone(),
            abort_after_commit: self.abort_after_commit,
        }
        .spawn();
        let mut batch = Batch::default();
        let batch_size = self.cfg.herald.batch_size;
        let mut idle_deadline = self.opts.until_idle.map(|d| Instant::now() + d);
        let ended: Result<End, BusError> = loop {
            let flush_at = batch.started.map(|t| t + self.opts.flush_interval);
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break Ok(End::Shutdown),
                next = stream.next() => match next {
                    Some(Ok(delivery)) => {
                        let tag = delivery.delivery_tag;
                        let env = Envelope::from_delivery(delivery, OffsetDateTime::now_utc());
                        batch.push(Entry::new(Message::decode(env), &self.ctx), tag);
                        if batch.entries.len() >= batch_size && writer_tx.send(batch.take()).await.is_err() {
                            break Err(BusError::WriterStopped);
                        }
                        idle_deadline = self.opts.until_idle.map(|d| Instant::now() + d);
                    }
                    Some(Err(source)) => break Err(BusError::Channel { op: "consume", source }),
                    None => break Err(BusError::ConsumerEnded),
                },
                _ = sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                    if writer_tx.send(batch.take()).await.is_err() {
                        break Err(BusError::WriterStopped);
                    }
                }
                _ = sleep_until(idle_deadline.unwrap_or_else(Instant::now)),
                    if idle_deadline.is_some() && batch.entries.is_empty() => break Ok(End::Idle),
            }
        };

        if ended.is_ok() {
            // Stop deliveries, keep what already arrived.
            for tag in &tags {
                let _ = channel
                    .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                    .await;
            }
            while let Ok(Some(Ok(delivery))) =
                tokio::time::timeout(Duration::from_millis(200), stream.next()).await
            {
                let tag = delivery.delivery_tag;
                let env = Envelope::from_delivery(delivery, OffsetDateTime::now_utc());
                batch.push(Entry::new(Message::decode(env), &self.ctx), tag);
                if batch.entries.len() >= batch_size {
                    let _ = writer_tx.send(batch.take()).await;
                }
            }
            if !batch.entries.is_empty() {
                let _ = writer_tx.send(batch.take()).await;
            }
        }
        drop(writer_tx);
        // The writer's own error (a full disk) explains a stopped writer best.
        let written = match writer.await {
            Ok(r) => r,
            Err(e) => Err(BusError::Stopped(e.to_string())),
        };
        match written {
            Ok(r) => report.totals.add(r),
            Err(e) => return Err(e),
        }
        let end = ended?;
        // Close the channel before the connection, or the connection close can fail.
        let _ = channel.close(200, "Herald stopping".into()).await;
        let _ = conn.close(200, "Herald stopping".into()).await;
        Ok(end)
    }
}

/// Exponential backoff with full jitter, capped, so many clients do not reconnect in step.
fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << failures.min(16).saturating_sub(1));
    let cap = exp.min(BACKOFF_CAP);
    let half = cap / 2;
    half + cap.mul_f64(fastrand::f64() * 0.5)
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

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
