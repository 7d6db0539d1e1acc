//! The chain stage: folds what each written batch queued into the package model (off the
//! ingest path), then looks at the model of the profile's packages after every batch that
//! changed it and whenever time alone makes a notice due (a gating
//! decision settling, an upstream release waiting long enough), and hands the notices the
//! model calls for ([`crate::packages::notice`]) to the notification stage, where they meet
//! the same attention policy as messages: quiet hours and pause hold them, the rate limit
//! and digests apply, and what became of each is recorded with it.
//!
//! "Mine" (gating, stable) are updates whose submitter is one of `profile.users`; watched
//! (no build) are `profile.packages` and the packages those users built or submitted
//! updates for. Each notice is recorded once in the history before it is offered
//! ([`crate::packages::notice_once`]), so another Herald on the same history, a restart or
//! a rebuilt model never raises it again.

use super::notify::{hand_over, Offer};
use super::{error_chain, PipelineEvent};
use crate::config::Config;
use crate::history::HistoryStore;
use crate::notify::Candidate;
use crate::packages::notice::{self, Notice, NoticeKind, NoticeRules};
use crate::packages::{self, millis, Selection, Stage};
use crate::sources::RenderContext;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

/// The longest time between two looks: a safety net for clock jumps (a suspend) under the
/// looks the model's own times ask for.
const CHECK_EVERY: Duration = Duration::from_secs(60);
/// The shortest time between two looks prompted by writes: a catch-up writes many batches.
const WRITES_GAP: Duration = Duration::from_secs(1);
/// The shortest wait for a time the model asks for (its times are whole milliseconds).
const TIMER_MIN: Duration = Duration::from_millis(20);

/// A notice on its way to the notification stage, with what records its fate.
#[derive(Debug)]
pub(super) struct Raised {
    pub package: String,
    pub kind: NoticeKind,
    pub key: String,
    pub candidate: Candidate,
}

pub(super) struct Chain {
    pub store: HistoryStore,
    pub config: watch::Receiver<Arc<Config>>,
    pub notify: mpsc::Sender<Offer>,
    pub events: broadcast::Sender<PipelineEvent>,
    pub cancel: CancellationToken,
    /// Set once every session ended by itself (`--until-idle`).
    pub drain: CancellationToken,
}

impl Chain {
    /// Runs until shutdown or until the sessions are done.
    pub async fn run(self) {
        let mut changes = self.store.package_changes();
        // Notices already recorded (or offered) that are still due, so a look does not
        // write for them again; only the ones due now are kept.
        let mut handled: HashSet<(String, NoticeKind, String)> = HashSet::new();
        loop {
            // Seen before the look folds the queue in: a batch written during the look
            // wakes the next one.
            changes.borrow_and_update();
            let wait = self.look(&mut handled).await.unwrap_or(CHECK_EVERY);
            let timer = Instant::now() + wait.clamp(TIMER_MIN, CHECK_EVERY);
            let gap_end = Instant::now() + WRITES_GAP;
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = self.drain.cancelled() => break,
                _ = sleep_until(timer) => {}
                Ok(()) = changes.changed() => {
                    tokio::select! {
                        _ = self.cancel.cancelled() => break,
                        _ = self.drain.cancelled() => break,
                        _ = sleep_until(gap_end.min(timer)) => {}
                    }
                }
            }
        }
        if self.drain.is_cancelled() {
            // Readers fold what is queued anyway; this leaves nothing for them.
            self.catch_up().await;
        }
    }

    async fn catch_up(&self) {
        if let Err(e) = self.store.catch_up_packages().await {
            tracing::warn!(error = %error_chain(&e), "cannot fold new messages into the package model");
        }
    }

    /// Raises what is due now; returns how long until time alone makes more due.
    async fn look(&self, handled: &mut HashSet<(String, NoticeKind, String)>) -> Option<Duration> {
        // The writer only queues what concerns packages; folding it in here keeps it off
        // the ingest path, and a drain's many batches fold together.
        self.catch_up().await;
        let cfg = self.config.borrow().clone();
        let profile = &cfg.herald.profile;
        let rules = NoticeRules::new(&cfg.herald.packages, &profile.users);
        if !rules.any() || (profile.users.is_empty() && profile.packages.is_empty()) {
            handled.clear();
            return None;
        }
        let sel = Selection::of_profile(profile);
        let pool = self.store.pool();
        let states = match packages::states(pool, &sel).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "cannot read the package model");
                return None;
            }
        };
        let now = OffsetDateTime::now_utc();
        let now_ms = millis(now);
        let mut next: Option<i64> = None;
        let mut due = Vec::new();
        for (name, state, _) in &states {
            if let Some(t) = notice::next_due(state, now_ms, &rules) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            due.extend(notice::due(name, state, now_ms, &rules));
        }
        let ctx = cfg.render_context();
        let mut current = HashSet::with_capacity(due.len());
        let mut raised = Vec::new();
        for n in due {
            let id = (n.package.clone(), n.kind, n.key.clone());
            current.insert(id.clone());
            if handled.contains(&id) {
                continue;
            }
            match packages::notice_once(pool, &n.package, n.kind.as_str(), &n.key, now).await {
                Ok(first) => {
                    handled.insert(id);
                    if !first {
                        continue;
                    }
                }
                Err(e) => {
                    // Tried again at the next look.
                    tracing::warn!(error = %error_chain(&e), "cannot record a package notice");
                    continue;
                }
            }
            raised.push(self.raise(n, &ctx).await);
        }
        handled.retain(|id| current.contains(id));
        if !raised.is_empty() {
            tracing::debug!(notices = raised.len(), "package chain notices");
            hand_over(&self.notify, Offer::Chain(raised), &self.store).await;
        }
        next.map(|t| Duration::from_millis(u64::try_from(t - now_ms).unwrap_or(0) + 1))
    }

    /// The candidate for a notice just recorded; tells the front ends about it.
    async fn raise(&self, n: Notice, ctx: &RenderContext) -> Raised {
        let stages: &[Stage] = match n.kind {
            NoticeKind::Gating => &[Stage::Gating],
            NoticeKind::Stable => &[Stage::Update, Stage::Tag],
            NoticeKind::NoBuild => &[Stage::Upstream],
        };
        let origin = packages::event_message(self.store.pool(), &n.package, stages, n.event_at)
            .await
            .unwrap_or_else(|e| {
                tracing::debug!(error = %error_chain(&e), "no message behind a package notice");
                None
            });
        let (message, event_url) = origin.unzip();
        let candidate = candidate(&n, n.url.clone().or(event_url.flatten()), ctx);
        let _ = self.events.send(PipelineEvent::PackageNotice {
            package: n.package.clone(),
            kind: n.kind.as_str().to_owned(),
            summary: candidate.summary.clone(),
            message,
        });
        Raised {
            package: n.package,
            kind: n.kind,
            key: n.key,
            candidate,
        }
    }
}

/// A notice as the attention policy takes it. Its source is the producer whose page it
/// links to (Bodhi's update, Anitya's project), so the "Open: host" line and the trust in
/// the link are that producer's; a notice of one update replaces the previous one of the
/// same update still on screen.
pub(super) fn candidate(n: &Notice, url: Option<String>, ctx: &RenderContext) -> Candidate {
    let (source, kind, severity, outcome, thread) = match n.kind {
        NoticeKind::Gating => {
            let decision = n.decision.map_or("settled", |d| d.as_str());
            let severity = if decision == "failed" { 30 } else { 20 };
            let thread = format!("bodhi-update:{}", n.alias.as_deref().unwrap_or(&n.key));
            ("bodhi", "chain.update.gating", severity, decision, thread)
        }
        NoticeKind::Stable => (
            "bodhi",
            "chain.update.stable",
            20,
            "stable",
            format!("bodhi-update:{}", n.alias.as_deref().unwrap_or(&n.key)),
        ),
        NoticeKind::NoBuild => (
            "anitya",
            "chain.version.no_build",
            30,
            "no build",
            format!("upstream:{}", n.package),
        ),
    };
    let url = url.filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let link_trusted = url.as_deref().is_some_and(|u| ctx.trusts(source, u));
    Candidate {
        id: format!("{}:{}:{}", n.kind.as_str(), n.package, n.key),
        source: source.to_owned(),
        kind: kind.to_owned(),
        summary: crate::clean::one_line(&n.summary()),
        details: n.details(),
        url,
        link_trusted,
        severity,
        icon: source.to_owned(),
        packages: vec![n.package.clone()],
        rule: Some(n.kind.rule_id().to_owned()),
        outcome: Some(outcome.to_owned()),
        thread: Some(thread),
    }
}

#[cfg(test)]
mod tests;
