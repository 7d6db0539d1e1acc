//! One connection's loop: connect, bind as the rules ask, consume, decide, hand batches to
//! the writer; reconnect with backoff when the session ends; re-bind when the rules change.

use super::gap::{alive, gap_deadline, next_sleep, refused_kept_queue, unix_now, Verdict};
use super::writer::{Batch, Writer};
use super::{backoff, error_chain, PipelineEvent, PipelineOptions, RunReport};
use crate::bus::{self, topology};
use crate::catchup::sleep::SleepEvent;
use crate::catchup::{Absence, Ledger};
use crate::config::{Config, Connection};
use crate::error::BusError;
use crate::filter::RuleSet;
use crate::history::{Entry, HistoryStore};
use crate::message::{Envelope, Message};
use futures_util::StreamExt;
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

/// How often a connected session records that it missed nothing so far.
const ALIVE_EVERY: Duration = Duration::from_secs(60);

/// How long a reconnect for new broker settings may spend consuming a vanishing queue empty.
const EMPTYING_LIMIT: Duration = Duration::from_secs(30);

/// Messages ready in `queues` (passive declares; a failure counts as none left to take).
async fn ready(channel: &lapin::Channel, queues: &[&String]) -> u64 {
    let mut n = 0;
    for q in queues {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        if let Ok(q) = channel
            .queue_declare(q.as_str().into(), passive, FieldTable::default())
            .await
        {
            n += u64::from(q.message_count());
        }
    }
    n
}

/// The shortest wait before retrying what only the user (or the broker's admin) can fix: not
/// a loop twice a second, yet back soon after someone restores a login or permission.
const NEEDS_USER_RETRY: Duration = Duration::from_secs(15);

pub(super) struct Runner {
    pub connection: String,
    pub config: watch::Receiver<Arc<Config>>,
    /// Committed messages marked notify go here.
    pub notify: mpsc::Sender<super::notify::Offer>,
    pub store: HistoryStore,
    pub opts: PipelineOptions,
    pub events: broadcast::Sender<PipelineEvent>,
    pub cancel: CancellationToken,
    /// Fault injection for the redelivery test: die between commit and ack.
    pub abort_after_commit: bool,
    /// Whether this runner applies retention.
    pub prunes: bool,
    /// The install's queue name for a config that names none (set when the runner starts).
    pub generated_queue: String,
    /// What the catch-up remembers for this connection.
    pub ledger: Ledger,
    /// Pokes the connection's catch-up worker after a new job is saved.
    pub catch_up: Arc<Notify>,
    /// Suspend and resume, from logind or the clock.
    pub sleep: Option<broadcast::Receiver<SleepEvent>>,
    /// The broker refused to keep the generated queue: use a private one.
    pub kept_refused: bool,
    /// How the previous session ended, for the next one to say.
    pub absence: Option<Absence>,
    /// The previous session ended for new broker settings, having consumed its vanishing
    /// queues empty: the next one has no gap to look for.
    pub handed_over: bool,
}

pub(super) enum End {
    Shutdown,
    Idle,
    /// The connection's broker settings changed: reconnect now.
    Reconfigured,
}

/// The rules and settings a session works with, swapped as a whole on reload.
pub(super) struct Active {
    pub cfg: Arc<Config>,
    pub conn: Connection,
    pub rules: RuleSet,
}

impl Runner {
    pub(super) fn emit(&self, e: PipelineEvent) {
        // No listener is fine: the CLI without -v does not subscribe.
        let _ = self.events.send(e);
    }

    /// The current config's view of this connection, or why it cannot be used.
    pub(super) fn active(&self) -> Result<Active, String> {
        let cfg = self.config.borrow().clone();
        let conn = cfg
            .connections
            .iter()
            .find(|c| c.name == self.connection)
            .cloned()
            .ok_or_else(|| format!("connection {:?} is no longer configured", self.connection))?
            .with_generated_queue(
                &self.generated_queue,
                (!self.kept_refused).then_some(&cfg.herald.catch_up_tuning),
            );
        let rules = cfg
            .rule_set(&self.connection)
            .map_err(|e| error_chain(&e))?;
        Ok(Active { cfg, conn, rules })
    }

    pub async fn run(mut self) -> Result<RunReport, BusError> {
        self.generated_queue = match self.store.generated_queue(&self.connection).await {
            Ok(name) => name,
            Err(e) => {
                // Still consume: a queue of this run's own is better than none.
                tracing::warn!(connection = %self.connection, error = %error_chain(&e), "cannot keep a queue name for this install; using one for this run");
                uuid::Uuid::new_v4().to_string()
            }
        };
        self.absence = match self.ledger.start_session(unix_now()).await {
            Ok(before) => before.and_then(|m| m.absence),
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "cannot record the session");
                None
            }
        };
        let result = self.sessions().await;
        if let Err(e) = self.ledger.end_session(Absence::Stopped, unix_now()).await {
            tracing::warn!(error = %error_chain(&e), "cannot record the end of the session");
        }
        result
    }

    /// Connects, consumes and reconnects until stopped, idle, or a fatal error.
    async fn sessions(&mut self) -> Result<RunReport, BusError> {
        let mut report = RunReport::default();
        let mut failures: u32 = 0;
        let mut last_progress = Instant::now();
        let mut next_prune = Instant::now();
        let mut last_said: Option<String> = None;
        loop {
            if self.prunes && Instant::now() >= next_prune {
                self.prune().await;
                next_prune = Instant::now() + self.opts.prune_interval;
            }
            let active = match self.active() {
                Ok(a) => a,
                Err(error) => return Err(BusError::Stopped(error)),
            };
            self.config.mark_unchanged();
            self.emit(PipelineEvent::Connecting {
                connection: self.connection.clone(),
                url: active.conn.redacted_url(),
            });
            let mut connected = false;
            let result = self.session(active, &mut report, &mut connected).await;
            if connected {
                last_said = None;
                report.sessions += 1;
                failures = 0;
                last_progress = Instant::now();
            }
            let error = match result {
                Ok(End::Shutdown | End::Idle) => break,
                Ok(End::Reconfigured) => {
                    // Its vanishing queues were consumed empty: nothing to catch up.
                    self.handed_over = true;
                    continue;
                }
                Err(e) => e,
            };
            if self.absence.is_none() {
                self.absence = Some(Absence::NetworkLost);
            }
            // The queue consumed empty before a reconnect may be gone by the next connect.
            self.handed_over = false;
            // Only the Fedora public broker is known to have rules of its own about queues;
            // elsewhere a refusal is a permission for the admin to fix, and is said as such.
            let public = self
                .config
                .borrow()
                .connections
                .iter()
                .any(|c| c.name == self.connection && c.fedora_public_profile);
            if public && !self.kept_refused && refused_kept_queue(&error, &self.generated_queue) {
                tracing::warn!(connection = %self.connection, "the broker does not keep a queue for Herald; using a private one (gaps are filled from the archive)");
                self.kept_refused = true;
            }
            if self.cancel.is_cancelled() {
                break;
            }
            if let Some(idle) = self.opts.until_idle {
                if last_progress.elapsed() >= idle {
                    return Err(error);
                }
            }
            failures = failures.saturating_add(1);
            let text = error_chain(&error);
            let retry_in = if error.needs_user() {
                backoff(failures).max(NEEDS_USER_RETRY)
            } else {
                backoff(failures)
            };
            // Said once while it stays the same: a wrong password is not news every minute.
            if !error.needs_user() || last_said.as_deref() != Some(text.as_str()) {
                tracing::debug!(connection = %self.connection, error = %text, ?retry_in, "broker session ended");
                self.emit(PipelineEvent::Disconnected {
                    connection: self.connection.clone(),
                    error: text.clone(),
                    retry_in,
                });
            }
            last_said = Some(text);
            // With --until-idle, come back in time to give up when the idle time is over.
            let wait = match self.opts.until_idle {
                Some(idle) => retry_in.min(idle.saturating_sub(last_progress.elapsed())),
                None => retry_in,
            };
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        Ok(report)
    }

    async fn prune(&self) {
        let h = &self.config.borrow().herald.clone();
        let age = (h.retention_days > 0)
            .then(|| Duration::from_secs(u64::from(h.retention_days) * 86_400));
        let rows = (h.retention_max_rows > 0).then_some(h.retention_max_rows);
        match self.store.prune(age, rows).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "retention applied"),
            Err(e) => tracing::warn!(error = %error_chain(&e), "retention failed"),
        }
    }

    async fn session(
        &mut self,
        mut active: Active,
        report: &mut RunReport,
        connected: &mut bool,
    ) -> Result<End, BusError> {
        let conn = bus::connect(&active.conn).await?;
        let mut watch = self.check_gap(&conn, &active).await;
        let rules = active.cfg.rules_for(&self.connection);
        let applied = topology::setup(&conn, &active.conn, &rules, active.cfg.unmatched()).await?;
        let channel = applied.channel.clone();
        let mut plan = applied.plan;
        let server_side_headers = applied.server_side_headers;
        let queues = applied.queues;
        let queues_consumed = queues.clone();
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
        tracing::info!(connection = %self.connection, url = %active.conn.redacted_url(), ?queues, "connected");
        for note in &plan.notes {
            tracing::info!(connection = %self.connection, "{note}");
        }
        self.emit(PipelineEvent::Connected {
            connection: self.connection.clone(),
            url: active.conn.redacted_url(),
            queues,
        });
        self.emit(PipelineEvent::Bound {
            connection: self.connection.clone(),
            rules: rules.len(),
            bindings: plan.bindings.len(),
            server_side_headers,
        });

        let mut stream = futures_util::stream::select_all(consumers);
        let stalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut alive_tick = tokio::time::interval(ALIVE_EVERY);
        // Decoding and rendering here overlap with the previous batch being written there.
        let (writer_tx, writer) = Writer {
            store: self.store.clone(),
            channel: channel.clone(),
            events: self.events.clone(),
            notify: self.notify.clone(),
            abort_after_commit: self.abort_after_commit,
            cancel: self.cancel.clone(),
            ledger: self.ledger.clone(),
            stalled: stalled.clone(),
            behind: Default::default(),
        }
        .spawn();
        let ctx = active.cfg.render_context();
        let mut batch = Batch::default();
        let batch_size = active.cfg.herald.batch_size;
        let mut idle_deadline = self.opts.until_idle.map(|d| Instant::now() + d);
        // Retention also runs while connected: a healthy session may last for weeks.
        let mut prune_at = Instant::now() + self.opts.prune_interval;
        let ended: Result<End, BusError> = loop {
            let flush_at = batch.started.map(|t| t + self.opts.flush_interval);
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break Ok(End::Shutdown),
                changed = self.config.changed() => {
                    if changed.is_err() {
                        break Ok(End::Shutdown);
                    }
                    match self.reload(&conn, &mut active, &mut plan, server_side_headers).await {
                        Ok(true) => {}
                        Ok(false) => break Ok(End::Reconfigured),
                        Err(e) => break Err(e),
                    }
                }
                next = stream.next() => match next {
                    Some(Ok(delivery)) => {
                        let (sent_at, len) = self.take(&mut batch, delivery, &ctx, &active.rules, report);
                        if let Some(w) = &mut watch {
                            let verdict = w.delivered(sent_at, len);
                            self.gap_verdict(&mut watch, verdict).await;
                        }
                        if batch.len() >= batch_size && writer_tx.send(batch.take()).await.is_err() {
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
                _ = sleep_until(prune_at), if self.prunes => {
                    self.prune().await;
                    prune_at = Instant::now() + self.opts.prune_interval;
                }
                _ = sleep_until(idle_deadline.unwrap_or_else(Instant::now)),
                    if idle_deadline.is_some() && batch.is_empty() => break Ok(End::Idle),
                _ = sleep_until(gap_deadline(&watch)), if watch.as_ref().is_some_and(|w| w.deadline().is_some()) => {
                    let verdict = watch.as_ref().map_or(Verdict::NoGap, |w| w.timed_out(unix_now()));
                    self.gap_verdict(&mut watch, verdict).await;
                }
                // Not while a gap is being found: the mark would move past it.
                _ = alive_tick.tick(), if watch.is_none() => {
                    self.note_alive(&batch, &stalled).await;
                }
                event = next_sleep(&mut self.sleep) => match event {
                    SleepEvent::Sleeping => {
                        tracing::info!(connection = %self.connection, "the computer is going to sleep");
                        if watch.is_none() {
                            self.note_alive(&batch, &stalled).await;
                        }
                        self.absence = Some(Absence::Suspended);
                    }
                    SleepEvent::Woke { slept } => {
                        self.absence = Some(Absence::Suspended);
                        if !alive(&conn, &queues_consumed).await {
                            tracing::info!(connection = %self.connection, ?slept, "the connection did not survive the sleep; reconnecting");
                            break Err(BusError::Stopped("the connection did not survive the computer's sleep".to_owned()));
                        }
                        tracing::info!(connection = %self.connection, ?slept, "the connection survived the sleep");
                        self.absence = None;
                    }
                },
            }
        };

        // A session that ends before its watch concluded still knows a gap (see `unfinished`).
        if let Some(verdict) = watch.as_ref().map(|w| w.unfinished(unix_now())) {
            self.gap_verdict(&mut watch, verdict).await;
        }
        if ended.is_ok() {
            if matches!(ended, Ok(End::Reconfigured)) {
                // A queue that goes with this connection (exclusive, or auto-deleted as soon
                // as its consumer is cancelled) would take what the broker already routed to
                // it along: consume it empty before letting go. A lasting queue keeps its
                // messages for the next session.
                let vanishing: Vec<&String> = queues_consumed
                    .iter()
                    .filter(|q| {
                        active
                            .conn
                            .queues
                            .get(q.as_str())
                            .is_some_and(|s| s.exclusive || s.auto_delete)
                    })
                    .collect();
                let give_up = Instant::now() + EMPTYING_LIMIT;
                while !vanishing.is_empty() && Instant::now() < give_up {
                    match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
                        Ok(Some(Ok(delivery))) => {
                            let _ = self.take(&mut batch, delivery, &ctx, &active.rules, report);
                            if batch.len() >= batch_size {
                                let _ = writer_tx.send(batch.take()).await;
                            }
                        }
                        Ok(_) => break,
                        Err(_quiet) => {
                            // Acks let the broker send the rest of a full prefetch window.
                            if !batch.is_empty() {
                                let _ = writer_tx.send(batch.take()).await;
                            }
                            if ready(&channel, &vanishing).await == 0 {
                                break;
                            }
                        }
                    }
                }
            }
            // Stop deliveries, keep what already arrived.
            for tag in &tags {
                let _ = channel
                    .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                    .await;
            }
            while let Ok(Some(Ok(delivery))) =
                tokio::time::timeout(Duration::from_millis(200), stream.next()).await
            {
                let _ = self.take(&mut batch, delivery, &ctx, &active.rules, report);
                if batch.len() >= batch_size {
                    let _ = writer_tx.send(batch.take()).await;
                }
            }
            if !batch.is_empty() {
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

    /// Decodes a delivery as it arrives and admits it to the batch. Returns when it was sent
    /// (Unix seconds) and its body's length, which tell the end of a gap.
    fn take(
        &self,
        batch: &mut Batch,
        delivery: lapin::message::Delivery,
        ctx: &crate::sources::RenderContext,
        rules: &RuleSet,
        report: &mut RunReport,
    ) -> (i64, usize) {
        let tag = delivery.delivery_tag;
        let len = delivery.data.len();
        let env = Envelope::from_delivery(delivery, OffsetDateTime::now_utc());
        let msg = Message::decode(env);
        let sent_at = msg.sent_at.unix_timestamp();
        self.admit(batch, Entry::new(msg, ctx), tag, rules, report);
        (sent_at, len)
    }

    /// Applies the rules to one decoded delivery and adds it to the batch: stored with its
    /// decision, quarantined as it is, or (dropped) only acked.
    fn admit(
        &self,
        batch: &mut Batch,
        entry: Entry,
        tag: u64,
        rules: &RuleSet,
        report: &mut RunReport,
    ) {
        match crate::catchup::judge(entry, rules) {
            Ok(entry) => batch.push(entry, tag),
            Err((entry, rule)) => {
                report.dropped += 1;
                if self.events.receiver_count() > 0 {
                    let msg = entry.message();
                    self.emit(PipelineEvent::Dropped {
                        id: msg.id.clone(),
                        topic: msg.topic.clone(),
                        rule: rule.as_deref().map(str::to_owned),
                    });
                }
                batch.push_dropped(tag);
            }
        }
    }
}
