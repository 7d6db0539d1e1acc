//! The write side of a session: batches go to the history in order, one transaction each, and
//! are acked only once committed. Messages marked notify are then offered to the notification
//! stage without waiting for it: when it is behind, their fate is recorded as overflow.
//!
//! Failures are told apart ([`HistoryError::is_row_refusal`]). When the database refuses a
//! batch because of what a row holds, the batch is written row by row and only the refused
//! rows are quarantined, so one bad row cannot block the queue. When the store itself cannot
//! write (busy, locked, full, read-only, I/O), nothing is quarantined or acked: the writer
//! says why, waits with backoff and writes the same batch again, while the session stops
//! taking deliveries (the broker holds the rest) and the channel, with its unacked
//! deliveries, stays open. Writing resumes by itself once the cause clears.

use super::{error_chain, PipelineEvent};
use crate::error::{BusError, HistoryError};
use crate::filter::Action;
use crate::history::{Entry, HistoryStore, InsertReport, Quarantined};
use crate::notify::Candidate;
use lapin::options::BasicAckOptions;
use std::collections::HashSet;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How often the newest committed message is recorded as heard live.
const LIVE_NOTE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

pub(super) struct Writer {
    pub store: HistoryStore,
    pub channel: lapin::Channel,
    pub events: broadcast::Sender<PipelineEvent>,
    /// Committed messages marked notify, for the notification stage.
    pub notify: mpsc::Sender<super::notify::Offer>,
    /// Fault injection for the redelivery test: die between commit and ack.
    pub abort_after_commit: bool,
    /// Ends a wait for the store to recover; the batch then stays unacked.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Where the newest live message committed is recorded: the start of any later gap.
    pub ledger: crate::catchup::Ledger,
    /// Set while a batch waits for the store: the session then does not claim to be caught up.
    pub stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Set while the notification stage is behind, so that is told once, not per batch.
    pub behind: std::sync::atomic::AtomicBool,
}

impl Writer {
    /// Starts the writer. One batch may wait while another is written, which bounds memory.
    pub fn spawn(
        self,
    ) -> (
        mpsc::Sender<Batch>,
        JoinHandle<Result<InsertReport, BusError>>,
    ) {
        let (tx, mut rx) = mpsc::channel::<Batch>(1);
        let task = tokio::spawn(async move {
            let mut total = InsertReport::default();
            // The newest committed message not yet recorded as heard live, and when the
            // last one was: a write of its own per batch would cost a second fsync each.
            let mut pending: Option<i64> = None;
            let mut noted = Instant::now();
            while let Some(batch) = rx.recv().await {
                let newest = batch
                    .entries
                    .iter()
                    .map(|e| e.message().sent_at.unix_timestamp())
                    .max();
                total.add(self.flush(batch).await?);
                pending = pending.max(newest);
                if noted.elapsed() >= LIVE_NOTE_EVERY {
                    self.note_live(pending.take()).await;
                    noted = Instant::now();
                }
            }
            self.note_live(pending).await;
            Ok(total)
        });
        (tx, task)
    }

    async fn flush(&self, batch: Batch) -> Result<InsertReport, BusError> {
        if batch.tags.is_empty() {
            return Ok(InsertReport::default());
        }
        let mut failures: u32 = 0;
        let (written, added) = loop {
            match self.write(&batch.entries).await {
                Ok(r) => break r,
                Err(e) => {
                    self.stalled
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    failures = failures.saturating_add(1);
                    let retry_in = super::backoff(failures);
                    let error = format!(
                        "{}; consuming paused, nothing acknowledged, retrying in {} s",
                        error_chain(&e),
                        retry_in.as_secs().max(1)
                    );
                    // The event carries it to the CLI and the tray; a log line would say it twice.
                    tracing::debug!(%error, "cannot write to the history");
                    let _ = self.events.send(PipelineEvent::StoreFailed { error });
                    tokio::select! {
                        _ = self.cancel.cancelled() => return Err(e.into()),
                        _ = tokio::time::sleep(retry_in) => {}
                    }
                }
            }
        };
        self.stalled
            .store(false, std::sync::atomic::Ordering::SeqCst);
        if failures > 0 {
            tracing::info!(
                attempts = failures + 1,
                "history writable again; consuming resumed"
            );
        }
        if self.abort_after_commit && written.stored > 0 {
            std::process::abort();
        }
        batch.ack(&self.channel).await?;
        // Messages this batch added, and redeliveries of stored ones whose notification was
        // never decided (the previous run stopped between commit and notification); the others
        // were notified, or deliberately not, the first time.
        let repeated: Vec<&str> = batch
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Stored(s) if s.action == Action::Notify && !added.contains(&s.msg.id) => {
                    Some(s.msg.id.as_str())
                }
                _ => None,
            })
            .collect();
        let undecided = if repeated.is_empty() {
            HashSet::new()
        } else {
            self.store.unnotified(&repeated).await.unwrap_or_else(|e| {
                tracing::warn!(error = %error_chain(&e), "cannot tell which redeliveries were notified");
                HashSet::new()
            })
        };
        let mut offered = HashSet::new();
        let notify: Vec<Candidate> = batch
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Stored(s)
                    if s.action == Action::Notify
                        && (added.contains(&s.msg.id) || undecided.contains(&s.msg.id))
                        && offered.insert(s.msg.id.as_str()) =>
                {
                    Some(Candidate::from_stored(s))
                }
                _ => None,
            })
            .collect();
        if !notify.is_empty() {
            self.offer(notify).await;
        }
        if self.events.receiver_count() > 0 {
            for e in &batch.entries {
                let _ = self.events.send(match e {
                    // A redelivery of a stored message is not news.
                    Entry::Stored(s) if !added.contains(&s.msg.id) => continue,
                    Entry::Stored(s) => PipelineEvent::Stored {
                        id: s.msg.id.clone(),
                        topic: s.msg.topic.clone(),
                        source: s.rendered.source.clone(),
                        severity: s.rendered.severity,
                        summary: s.rendered.summary.clone(),
                        action: s.action,
                        rule: s.rule.as_deref().map(str::to_owned),
                    },
                    Entry::Quarantined(q) => PipelineEvent::Quarantined {
                        id: q.msg.id.clone(),
                        topic: q.msg.topic.clone(),
                        reason: q.reason.clone(),
                    },
                });
            }
            let _ = self.events.send(PipelineEvent::Committed(written));
        }
        Ok(written)
    }

    /// Hands committed candidates to the notification stage without waiting: when it is
    /// behind (a slow or hung notification server), their fate is recorded as overflow and
    /// ingestion goes on. A stage that is gone (it panicked) loses them the same way.
    async fn offer(&self, notify: Vec<Candidate>) {
        use std::sync::atomic::Ordering;
        let offer = super::notify::Offer::Live(notify);
        let taken = super::notify::hand_over(&self.notify, offer, &self.store).await;
        let was_behind = self.behind.swap(!taken, Ordering::Relaxed);
        if taken && was_behind {
            tracing::info!("the notification stage caught up");
        } else if !taken && !was_behind {
            tracing::warn!(
                "the notification stage is behind (a slow notification server?); messages \
                 are stored without notifying until it catches up"
            );
        }
    }

    /// Records the newest committed message as the last one heard live. After the ack, and
    /// at most every few seconds: a crash in between leaves an older mark, which only widens
    /// a later gap (by far less than its margin).
    async fn note_live(&self, newest: Option<i64>) {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if let Some(sent_at) = newest {
            if let Err(e) = self.ledger.note_live(sent_at, now).await {
                tracing::warn!(error = %error_chain(&e), "cannot record the last live message");
            }
        }
    }

    /// Writes a batch; when the database refuses it for what a row holds, finds those rows.
    async fn write(
        &self,
        entries: &[Entry],
    ) -> Result<(InsertReport, HashSet<String>), HistoryError> {
        match self.store.insert_batch_new(entries).await {
            Err(e) if e.is_row_refusal() => {
                tracing::warn!(error = %error_chain(&e), "batch refused; writing one by one");
                self.write_one_by_one(entries).await
            }
            done => done,
        }
    }

    /// A batch was refused as a whole: find the rows the database refuses and quarantine them
    /// with its reason. A store failure on the way is returned, not quarantined.
    async fn write_one_by_one(
        &self,
        entries: &[Entry],
    ) -> Result<(InsertReport, HashSet<String>), HistoryError> {
        let mut total = InsertReport::default();
        let mut added = HashSet::new();
        for e in entries {
            match self.store.insert_batch_new(std::slice::from_ref(e)).await {
                Ok((r, new)) => {
                    total.add(r);
                    added.extend(new);
                }
                Err(err) if err.is_row_refusal() => {
                    let q = Entry::Quarantined(Box::new(Quarantined {
                        msg: e.message().clone(),
                        reason: format!("could not be stored: {}", error_chain(&err)),
                    }));
                    total.add(self.store.insert_batch(std::slice::from_ref(&q)).await?);
                }
                Err(err) => return Err(err),
            }
        }
        Ok((total, added))
    }
}

#[derive(Default)]
pub(super) struct Batch {
    /// Entries to write, in delivery order.
    pub entries: Vec<Entry>,
    /// Every delivery of the batch, written or dropped by a rule: all are acked together.
    tags: Vec<u64>,
    pub started: Option<Instant>,
}

impl Batch {
    pub fn push(&mut self, e: Entry, tag: u64) {
        self.started.get_or_insert_with(Instant::now);
        self.entries.push(e);
        self.tags.push(tag);
    }

    /// A delivery a rule dropped: nothing to write, but it is acked with the batch so acks
    /// stay in delivery order.
    pub fn push_dropped(&mut self, tag: u64) {
        self.started.get_or_insert_with(Instant::now);
        self.tags.push(tag);
    }

    /// Deliveries in the batch.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Hands the batch over and starts an empty one.
    pub fn take(&mut self) -> Batch {
        std::mem::take(self)
    }

    /// One `multiple` ack when the batch is every outstanding delivery (one queue), else one
    /// ack per delivery, so a delivery still in flight from another queue is never acked.
    async fn ack(&self, channel: &lapin::Channel) -> Result<(), BusError> {
        let mut tags = self.tags.clone();
        tags.sort_unstable();
        let (Some(&min), Some(&max)) = (tags.first(), tags.last()) else {
            return Ok(());
        };
        let contiguous = max - min + 1 == tags.len() as u64;
        let ack = |tag, multiple| channel.basic_ack(tag, BasicAckOptions { multiple });
        if contiguous && self.tags.len() > 1 {
            ack(max, true)
                .await
                .map_err(|source| BusError::Channel { op: "ack", source })?;
        } else {
            for t in tags {
                ack(t, false)
                    .await
                    .map_err(|source| BusError::Channel { op: "ack", source })?;
            }
        }
        Ok(())
    }
}
