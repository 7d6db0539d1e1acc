//! One connection's catch-up worker: walks the windows its session found missing (kept in the
//! history, so a restart resumes them from their saved cursor) through the archive, one page
//! at a time, with the rules in force at that moment. New messages a rule marks notify are
//! held until the window is done and then offered together, which the notification stage
//! turns into one "While you were away" digest per source instead of a burst. A failing
//! archive pauses the walk (the job keeps its cursor) and it is tried again later.

use super::{error_chain, PipelineEvent};
use crate::bus::topology;
use crate::catchup::{Archive, Filler, Job, Ledger};
use crate::config::Config;
use crate::history::HistoryStore;
use crate::notify::Candidate;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;

/// The wait before walking again after the archive failed a whole request (its own retries
/// with back-off included): the archive is likely down or overloaded for a while.
const STALLED_RETRY: Duration = Duration::from_secs(300);
/// Notify candidates held per window at most; beyond, only their count per source is kept
/// (the digest names a few and counts the rest).
const HELD_CANDIDATES: usize = 5_000;

pub(super) struct Worker {
    pub ledger: Ledger,
    pub store: HistoryStore,
    pub config: watch::Receiver<Arc<Config>>,
    pub events: broadcast::Sender<PipelineEvent>,
    pub notify: mpsc::Sender<super::notify::Offer>,
    /// Poked when the session saved a new job.
    pub wake: Arc<Notify>,
    pub cancel: CancellationToken,
    /// Set when the sessions ended by themselves: walk what is ready, then stop.
    pub drain: CancellationToken,
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

impl Worker {
    pub async fn run(mut self) {
        let mut stalled_until: Option<tokio::time::Instant> = None;
        loop {
            let jobs = match self.ledger.jobs().await {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %error_chain(&e), "cannot read catch-up jobs");
                    Vec::new()
                }
            };
            let t = now();
            // Switched off, saved jobs wait too (for `herald backfill`, or switching it on).
            let on = self.config.borrow().herald.catch_up;
            let ready = jobs
                .iter()
                .position(|j| on && !j.waits_for_user && j.not_before.is_none_or(|nb| nb <= t));
            let stalled = stalled_until.is_some_and(|s| s > tokio::time::Instant::now());
            let wait = match (ready, stalled) {
                (Some(_), false) => None,
                _ => {
                    // Sleep until the next tail is due, a stall ends, or a new job comes.
                    let next_due = jobs
                        .iter()
                        .filter(|j| !j.waits_for_user)
                        .filter_map(|j| j.not_before)
                        .min()
                        .map(|nb| Duration::from_secs(u64::try_from(nb - t).unwrap_or(0)));
                    let stall = stalled_until
                        .filter(|_| stalled)
                        .map(|s| s - tokio::time::Instant::now());
                    Some(match (next_due, stall) {
                        (Some(a), Some(b)) => a.max(b),
                        (a, b) => a.or(b).unwrap_or(Duration::from_secs(3600)),
                    })
                }
            };
            if let Some(wait) = wait {
                if self.drain.is_cancelled() {
                    return;
                }
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    _ = self.drain.cancelled() => {}
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            let Some(i) = ready else { continue };
            match self.walk(jobs[i].clone()).await {
                Ok(()) => stalled_until = None,
                Err(Stop::Cancelled) => return,
                Err(Stop::Stalled) => {
                    stalled_until = Some(tokio::time::Instant::now() + STALLED_RETRY);
                }
            }
        }
    }

    /// Walks `job` to its end, saving its cursor after every page.
    async fn walk(&mut self, mut job: Job) -> Result<(), Stop> {
        let cfg = self.config.borrow().clone();
        let connection = self.ledger.connection().to_owned();
        let Some(conn) = cfg.connections.iter().find(|c| c.name == connection) else {
            return Err(Stop::Cancelled);
        };
        let rules = match cfg.rule_set(&connection) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "catch-up waits for valid rules");
                return Err(Stop::Stalled);
            }
        };
        let plan = topology::plan(conn, &cfg.rules_for(&connection), cfg.unmatched(), false);
        let narrow = crate::catchup::narrowing(&plan);
        let tuning = cfg.herald.catch_up_tuning;
        let mut archive = match Archive::new(&cfg.herald.datagrepper_url, (&tuning).into()) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "catch-up cannot use the archive");
                return Err(Stop::Stalled);
            }
        };
        let ctx = cfg.render_context();
        let mut filler = Filler {
            store: &self.store,
            archive: &mut archive,
            rules: &rules,
            ctx: &ctx,
            narrow,
            dry_run: false,
            recent: Default::default(),
        };
        let mut held = Held::default();
        tracing::info!(%connection, start = job.walk.start, end = job.walk.end, reason = %job.reason, "catching up from the archive");
        loop {
            let page = tokio::select! {
                _ = self.cancel.cancelled() => return Err(Stop::Cancelled),
                p = filler.next_page(&mut job) => p,
            };
            match page {
                Ok(Some(page)) => {
                    held.add(page.notify);
                    self.progress(&job, false);
                    if let Err(e) = self.ledger.save_job(&job).await {
                        // Walking on unsaved would only be walked again after a restart; a
                        // store that cannot write now is better waited for.
                        tracing::warn!(error = %error_chain(&e), "cannot save catch-up progress; pausing");
                        self.offer(held).await;
                        return Err(Stop::Stalled);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let error = error_chain(&e);
                    tracing::warn!(%connection, %error, "catch-up paused");
                    let _ = self.events.send(PipelineEvent::CatchUpStalled {
                        connection: connection.clone(),
                        error,
                        retry_in: STALLED_RETRY,
                    });
                    // What was stored so far is offered now; the rest follows when it resumes.
                    self.offer(held).await;
                    return Err(Stop::Stalled);
                }
            }
        }
        let delay = i64::try_from(tuning.tail_delay_s).unwrap_or(i64::MAX);
        let tail = (!job.is_tail()).then(|| job.tail(now().saturating_add(delay)));
        if let Err(e) = self.ledger.finish_job(job.id, tail).await {
            tracing::warn!(error = %error_chain(&e), "cannot save the end of a catch-up; pausing");
            self.offer(held).await;
            return Err(Stop::Stalled);
        }
        self.progress(&job, true);
        tracing::info!(%connection, fetched = job.counts.fetched, stored = job.counts.stored, known = job.counts.known, dropped = job.counts.dropped, requests = archive.requests, "caught up");
        self.offer(held).await;
        Ok(())
    }

    fn progress(&self, job: &Job, done: bool) {
        let _ = self.events.send(PipelineEvent::CatchingUp {
            connection: self.ledger.connection().to_owned(),
            start: job.walk.start,
            end: job.walk.end,
            counts: job.counts,
            total: job.total,
            done,
        });
    }

    /// Hands the digest to the notification stage without waiting, as the live writer does:
    /// a stage that is behind (a hung notification server) must not hold the catch-up back.
    /// The messages it could not take are recorded as overflow.
    async fn offer(&self, held: Held) {
        if held.listed.is_empty() {
            return;
        }
        let count = held.listed.len();
        let offer = super::notify::Offer::Away(held.listed, held.unlisted);
        if !super::notify::hand_over(&self.notify, offer, &self.store).await {
            tracing::warn!(
                messages = count,
                "the notification stage is behind: the while-away digest is not shown"
            );
        }
    }
}

/// What a walk will tell in its digest.
#[derive(Default)]
struct Held {
    listed: Vec<Candidate>,
    /// Per source, the candidates beyond [`HELD_CANDIDATES`].
    unlisted: std::collections::BTreeMap<String, usize>,
}

impl Held {
    fn add(&mut self, cs: Vec<Candidate>) {
        for c in cs {
            if self.listed.len() < HELD_CANDIDATES {
                self.listed.push(c);
            } else {
                *self.unlisted.entry(c.source).or_default() += 1;
            }
        }
    }
}

enum Stop {
    Cancelled,
    Stalled,
}
