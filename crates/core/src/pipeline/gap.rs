//! Knowing the gap after a session comes back. Before declaring anything, each queue is
//! looked up passively: a queue that outlived the connection holds what arrived meanwhile; one
//! that did not (exclusive or auto-deleted, or expired on the broker) lost it. A surviving
//! queue may still have overflowed its length limit, dropping its oldest messages: when the
//! backlog it hands over fills nine tenths of the limit, the head is taken as lost. Either way
//! the gap runs from a margin before the last live message committed to a margin after the
//! first message back (its `sent-at` is in the publishers' clock, as the archive's is).

use super::session::{Active, Runner};
use super::{error_chain, PipelineEvent};
use crate::catchup::sleep::SleepEvent;
use crate::catchup::{Absence, Job, LiveMark};
use crate::config::Connection;
use crate::error::BusError;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// What became of one queue while the connection was down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fate {
    /// Still there, with this many messages waiting.
    Kept { ready: u64 },
    /// Gone: it went with the connection, or the broker deleted it.
    Lost,
}

/// Looks each configured queue up without declaring it, on a channel of its own (a missing
/// queue closes the channel that asked).
pub(super) async fn survival(conn: &lapin::Connection, c: &Connection) -> Vec<(String, Fate)> {
    let mut out = Vec::new();
    for (name, spec) in &c.queues {
        if spec.exclusive || spec.auto_delete {
            out.push((name.clone(), Fate::Lost));
            continue;
        }
        let fate = match conn.create_channel().await {
            Ok(ch) => {
                let passive = QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                };
                let fate = match ch
                    .queue_declare(name.as_str().into(), passive, FieldTable::default())
                    .await
                {
                    Ok(q) => Fate::Kept {
                        ready: u64::from(q.message_count()),
                    },
                    Err(_) => Fate::Lost,
                };
                let _ = ch.close(200, "checked".into()).await;
                fate
            }
            Err(_) => Fate::Lost,
        };
        out.push((name.clone(), fate));
    }
    out
}

/// What a [`Watch`] concluded.
#[derive(Debug, PartialEq)]
pub(super) enum Verdict {
    /// Not known yet.
    Pending,
    /// Nothing was missed.
    NoGap,
    Gap(Job),
}

/// Watches the first deliveries of a session for the end of a gap.
#[derive(Debug)]
pub(super) struct Watch {
    last_live: LiveMark,
    reason: String,
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// A queue was lost: the first message back ends the gap (or the deadline, with this
    /// machine's clock). Never before `connected_at` (this machine's clock when the session
    /// came back): a first message sent long ago (a replay, a publisher's clock behind) must
    /// not shrink the gap.
    FirstLive {
        deadline: Instant,
        connected_at: i64,
    },
    /// Every queue survived holding `remaining` messages: were they a full queue?
    Backlog {
        remaining: u64,
        bytes: u64,
        limit: Option<u64>,
        first_sent: Option<i64>,
    },
}

impl Watch {
    /// After a session that lost a queue.
    pub fn lost(last_live: LiveMark, reason: String, wait: Duration) -> Watch {
        Watch {
            last_live,
            reason,
            mode: Mode::FirstLive {
                deadline: Instant::now() + wait,
                connected_at: unix_now(),
            },
        }
    }

    /// After a session whose queues all survived with `ready` messages waiting, the smallest
    /// byte limit among them being `limit`.
    pub fn kept(last_live: LiveMark, reason: String, ready: u64, limit: Option<u64>) -> Watch {
        Watch {
            last_live,
            reason,
            mode: Mode::Backlog {
                remaining: ready,
                bytes: 0,
                limit,
                first_sent: None,
            },
        }
    }

    /// What is known before any delivery.
    pub fn verdict(&self) -> Verdict {
        match self.mode {
            Mode::Backlog { remaining: 0, .. } => Verdict::NoGap,
            _ => Verdict::Pending,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        match self.mode {
            Mode::FirstLive { deadline, .. } => Some(deadline),
            Mode::Backlog { .. } => None,
        }
    }

    /// One delivery, sent at `sent_at` (Unix seconds) with a body of `len` bytes.
    pub fn delivered(&mut self, sent_at: i64, len: usize) -> Verdict {
        match &mut self.mode {
            Mode::FirstLive { connected_at, .. } => Verdict::Gap(Job::for_gap(
                self.last_live.sent_at,
                sent_at.max(*connected_at),
                self.reason.clone(),
            )),
            Mode::Backlog {
                remaining,
                bytes,
                limit,
                first_sent,
            } => {
                *remaining = remaining.saturating_sub(1);
                *bytes += len as u64;
                let first = *first_sent.get_or_insert(sent_at);
                if *remaining > 0 {
                    return Verdict::Pending;
                }
                match limit {
                    Some(l) if bytes.saturating_mul(10) >= l.saturating_mul(9) => {
                        Verdict::Gap(Job::for_gap(
                            self.last_live.sent_at,
                            first,
                            format!(
                                "{}; the queue kept {} of its {} byte limit, so its oldest \
                                 messages were dropped",
                                self.reason, bytes, l
                            ),
                        ))
                    }
                    _ => Verdict::NoGap,
                }
            }
        }
    }

    /// The session ended before the watch concluded. A backlog not read to the end cannot
    /// tell whether the queue overflowed, and the live mark has moved on meanwhile: the gap up
    /// to the first message it did hand over is checked in the archive (cheap when nothing
    /// is missing). A lost queue's gap ends now.
    pub fn unfinished(&self, now: i64) -> Verdict {
        match &self.mode {
            Mode::FirstLive { .. } => self.timed_out(now),
            Mode::Backlog {
                first_sent: Some(first),
                ..
            } => Verdict::Gap(Job::for_gap(
                self.last_live.sent_at,
                *first,
                format!(
                    "{}; the queue's backlog was not read to the end",
                    self.reason
                ),
            )),
            Mode::Backlog { .. } => Verdict::NoGap,
        }
    }

    /// The deadline passed with no message back: the gap ends now, by this machine's clock.
    pub fn timed_out(&self, now: i64) -> Verdict {
        Verdict::Gap(Job::for_gap(
            self.last_live.sent_at,
            now,
            self.reason.clone(),
        ))
    }
}

/// Now, in Unix seconds.
pub(super) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// When a watch waiting for the first message back gives up (far away when it does not wait).
pub(super) fn gap_deadline(w: &Option<Watch>) -> Instant {
    w.as_ref()
        .and_then(Watch::deadline)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
}

/// The next sleep event; never, once the watcher is gone.
pub(super) async fn next_sleep(rx: &mut Option<broadcast::Receiver<SleepEvent>>) -> SleepEvent {
    loop {
        let Some(r) = rx else {
            return std::future::pending().await;
        };
        match r.recv().await {
            Ok(e) => return e,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => *rx = None,
        }
    }
}

/// How long a connection may take to prove it is alive after the machine woke.
const ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether the connection still answers: a channel opened and a queue looked up in time. A
/// connection that died while the machine slept would otherwise go unnoticed until the
/// broker heartbeat, a minute or more.
pub(super) async fn alive(conn: &lapin::Connection, queues: &[String]) -> bool {
    let check = async {
        let ch = conn.create_channel().await.ok()?;
        if let Some(q) = queues.first() {
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            ch.queue_declare(q.as_str().into(), passive, FieldTable::default())
                .await
                .ok()?;
        }
        let _ = ch.close(200, "alive".into()).await;
        Some(())
    };
    matches!(
        tokio::time::timeout(ALIVE_TIMEOUT, check).await,
        Ok(Some(()))
    )
}

/// Whether the session failed because the broker refused to keep the generated queue.
pub(super) fn refused_kept_queue(e: &BusError, generated: &str) -> bool {
    // Only a refusal for who asks: a 406 (the queue exists with other arguments) would be
    // refused again under any flags, for as long as the old queue lives.
    matches!(e, BusError::Topology { op: "queue", name, source } if name == generated && crate::bus::topology::access_refused(source))
}

/// The smallest `x-max-length-bytes` among the connection's queues, if any sets one.
fn byte_limit(c: &Connection) -> Option<u64> {
    c.queues
        .values()
        .filter_map(|q| q.arguments.get("x-max-length-bytes")?.as_integer())
        .filter_map(|n| u64::try_from(n).ok())
        .min()
}

impl Runner {
    /// Checks the queues before they are declared again, says what survived, and returns
    /// the watch that finds the gap (none when nothing can have been missed, or when there
    /// was no live message before: a new install starts from now).
    pub(super) async fn check_gap(
        &mut self,
        conn: &lapin::Connection,
        active: &Active,
    ) -> Option<Watch> {
        let handed_over = std::mem::take(&mut self.handed_over);
        let absence = self.absence.take();
        let fates = survival(conn, &active.conn).await;
        let kept = fates.iter().all(|(_, f)| matches!(f, Fate::Kept { .. }));
        let waiting = fates
            .iter()
            .map(|(_, f)| match f {
                Fate::Kept { ready } => *ready,
                Fate::Lost => 0,
            })
            .sum();
        let _ = self.events.send(PipelineEvent::QueuesChecked {
            connection: self.connection.clone(),
            absence,
            kept,
            waiting,
        });
        if handed_over {
            return None;
        }
        let last = match self.ledger.last_heard().await {
            Ok(Some(m)) => m,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "cannot read the last live message; no catch-up");
                return None;
            }
        };
        let mut reason = absence
            .map_or("Herald was away", Absence::describe)
            .to_owned();
        if kept {
            tracing::info!(connection = %self.connection, waiting, "the queue kept what arrived meanwhile");
            let w = Watch::kept(last, reason, waiting, byte_limit(&active.conn));
            return (w.verdict() == Verdict::Pending).then_some(w);
        }
        let lost: Vec<&str> = fates
            .iter()
            .filter(|(_, f)| *f == Fate::Lost)
            .map(|(q, _)| q.as_str())
            .collect();
        reason.push_str(&format!("; the queue {} did not survive", lost.join(", ")));
        tracing::info!(connection = %self.connection, %reason, "messages were missed");
        let wait = Duration::from_millis(active.cfg.herald.catch_up_tuning.first_live_wait_ms);
        Some(Watch::lost(last, reason, wait))
    }

    /// Records the connection up and caught up, unless deliveries wait for the writer (their
    /// queue, if it is lost, must still count as unheard).
    pub(super) async fn note_alive(
        &self,
        batch: &super::writer::Batch,
        stalled: &std::sync::atomic::AtomicBool,
    ) {
        if !batch.is_empty() || stalled.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.ledger.note_alive(unix_now()).await {
            tracing::debug!(error = %error_chain(&e), "cannot record the connection alive");
        }
    }

    /// Acts on what the watch concluded: a gap is saved as a catch-up job (waiting for the
    /// user when too long, or when catch-up is off) and handed to the worker.
    pub(super) async fn gap_verdict(&mut self, watch: &mut Option<Watch>, verdict: Verdict) {
        let mut job = match verdict {
            Verdict::Pending => return,
            Verdict::NoGap => {
                *watch = None;
                return;
            }
            Verdict::Gap(job) => {
                *watch = None;
                job
            }
        };
        let cfg = self.config.borrow().clone();
        let h = &cfg.herald;
        // The archive records one bus: the Fedora one unless the config names another
        // archive, which then stands for the first connection's broker.
        let archived = cfg.primary().name == self.connection
            && (cfg.primary().fedora_public_profile
                || h.datagrepper_url != crate::config::FEDORA_DATAGREPPER);
        if !archived {
            tracing::warn!(connection = %self.connection, start = job.walk.start, end = job.walk.end, reason = %job.reason, "messages were missed; no archive records this broker");
            let _ = self.events.send(PipelineEvent::GapFound {
                connection: self.connection.clone(),
                start: job.walk.start,
                end: job.walk.end,
                reason: format!("{}; no archive records this broker", job.reason),
                waits: true,
            });
            return;
        }
        let max = i64::try_from(h.catch_up_max().as_secs()).unwrap_or(i64::MAX);
        job.waits_for_user = !h.catch_up || job.span_seconds() > max;
        if let Err(e) = self.ledger.add_job(job.clone()).await {
            tracing::warn!(error = %error_chain(&e), "cannot save the gap; it is not filled");
            return;
        }
        let _ = self.events.send(PipelineEvent::GapFound {
            connection: self.connection.clone(),
            start: job.walk.start,
            end: job.walk.end,
            reason: job.reason.clone(),
            waits: job.waits_for_user,
        });
        self.catch_up.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catchup::job::MARGIN;

    const MARK: LiveMark = LiveMark {
        sent_at: 1_000,
        committed_at: 1_001,
    };

    #[test]
    fn a_lost_queue_gaps_to_the_first_message_back() {
        let mut w = Watch::lost(MARK, "lost".into(), Duration::from_secs(30));
        assert_eq!(w.verdict(), Verdict::Pending);
        assert!(w.deadline().is_some());
        let back = unix_now() + 60;
        let Verdict::Gap(job) = w.delivered(back, 10) else {
            panic!("a gap")
        };
        assert_eq!(
            (job.walk.start, job.walk.end),
            (1_000 - MARGIN, back + MARGIN)
        );
        let Verdict::Gap(late) = w.timed_out(9_000) else {
            panic!("a gap")
        };
        assert_eq!(late.walk.end, 9_000 + MARGIN);
        // A first message sent long ago (a replay) does not end the gap before the return.
        let Verdict::Gap(replay) = w.delivered(1_200, 10) else {
            panic!("a gap")
        };
        assert!(replay.walk.end >= unix_now() + MARGIN - 5, "{replay:?}");
    }

    #[test]
    fn a_kept_queue_gaps_only_when_its_backlog_filled_it() {
        let w = Watch::kept(MARK, "kept".into(), 0, Some(1000));
        assert_eq!(
            w.verdict(),
            Verdict::NoGap,
            "nothing waiting, nothing missed"
        );

        let mut under = Watch::kept(MARK, "kept".into(), 3, Some(1000));
        assert_eq!(under.delivered(2_000, 100), Verdict::Pending);
        assert_eq!(under.delivered(2_001, 100), Verdict::Pending);
        assert_eq!(under.delivered(2_002, 100), Verdict::NoGap);

        let mut full = Watch::kept(MARK, "kept".into(), 2, Some(1000));
        assert_eq!(full.delivered(3_000, 460), Verdict::Pending);
        let Verdict::Gap(job) = full.delivered(3_001, 460) else {
            panic!("an overflow gap")
        };
        assert_eq!(
            (job.walk.start, job.walk.end),
            (1_000 - MARGIN, 3_000 + MARGIN),
            "up to the oldest message the queue still held"
        );
        assert!(job.reason.contains("oldest messages were dropped"));

        let mut unlimited = Watch::kept(MARK, "kept".into(), 1, None);
        assert_eq!(unlimited.delivered(3_000, 1 << 30), Verdict::NoGap);

        // Cut short: checked up to the first message it handed over, nothing if none came.
        let mut cut = Watch::kept(MARK, "kept".into(), 5, Some(1000));
        assert_eq!(cut.unfinished(9_000), Verdict::NoGap);
        assert_eq!(cut.delivered(4_000, 10), Verdict::Pending);
        let Verdict::Gap(job) = cut.unfinished(9_000) else {
            panic!("checked")
        };
        assert_eq!(job.walk.end, 4_000 + MARGIN);
    }
}
