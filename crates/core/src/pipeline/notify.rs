//! The notification stage: messages a rule marked `notify`, once committed, go through the
//! attention policy; what it lets through is shown by the notifier (from a blocking task, as
//! D-Bus calls block, each for at most the notifier's call timeout); every message's fate is
//! written back to the history. The writers hand batches over without waiting (see
//! [`Offer`]): when this stage is behind, a batch's messages are recorded as
//! [`Fate::Overflow`] by the writer instead, so a slow or hung notification server never
//! slows ingestion. Actions invoked on a notification come back here: open the link, mute a
//! package (a rule written to the config and applied at once), snooze the rule for an hour.

use super::{error_chain, PipelineEvent, Reloader};
use crate::config::Config;
use crate::error::NotifyError;
use crate::history::HistoryStore;
use crate::notify::{Attention, Candidate, Fate, Notifier, NotifyAction, NotifySettings, Planned};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::{broadcast, mpsc};

/// How long "Snooze" pauses a rule.
const SNOOZE: Duration = Duration::from_secs(3600);
/// Priority of "Mute <package>" rules: before every default and ordinary rule.
const MUTE_PRIORITY: i32 = 5;

/// Messages handed to the stage once committed, over a bounded channel: the writer uses
/// `try_send` and records an offer that does not fit as overflow.
#[derive(Debug)]
pub(super) enum Offer {
    /// Delivered by the broker: the attention policy decides.
    Live(Vec<Candidate>),
    /// Filled in from the archive: one "While you were away" digest per source.
    /// Per source, more filled in than listed.
    Away(Vec<Candidate>, std::collections::BTreeMap<String, usize>),
    /// The package chain's notices: the attention policy decides, as for live messages;
    /// their fates are recorded with the notices.
    Chain(Vec<super::chain::Raised>),
}

impl Offer {
    /// Records every candidate it lists as having met `fate`.
    async fn record(self, fate: Fate, store: &HistoryStore) {
        let recorded = match self {
            Offer::Live(c) | Offer::Away(c, _) => {
                let fates: Vec<(String, Fate)> = c.into_iter().map(|c| (c.id, fate)).collect();
                store.set_fates(&fates).await
            }
            Offer::Chain(raised) => {
                let fates: Vec<_> = raised
                    .into_iter()
                    .map(|r| (r.package, r.kind.as_str(), r.key, fate))
                    .collect();
                crate::packages::set_notice_fates(store.pool(), &fates).await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %error_chain(&e), "could not record notification decisions");
        }
    }

    fn len(&self) -> usize {
        match self {
            Offer::Live(c) | Offer::Away(c, _) => c.len(),
            Offer::Chain(r) => r.len(),
        }
    }
}

/// Hands `offer` to the stage without waiting: a stage that is behind (a slow or hung
/// notification server) must not hold up what feeds it. What it has no room for (or a stage
/// that is gone) is recorded in `store` as [`Fate::Overflow`]. True when it was taken.
pub(super) async fn hand_over(
    stage: &mpsc::Sender<Offer>,
    offer: Offer,
    store: &HistoryStore,
) -> bool {
    let refused = match stage.try_send(offer) {
        Ok(()) => return true,
        Err(mpsc::error::TrySendError::Full(o) | mpsc::error::TrySendError::Closed(o)) => o,
    };
    tracing::debug!(messages = refused.len(), "not notified: stage behind");
    refused.record(Fate::Overflow, store).await;
    false
}

/// Commands from the front ends.
#[derive(Debug)]
pub(super) enum Control {
    Pause(Option<Duration>),
    Resume,
    Settings(NotifySettings),
}

pub(super) struct Stage {
    pub notifier: Option<Arc<dyn Notifier>>,
    pub attention: Attention,
    pub store: HistoryStore,
    pub events: broadcast::Sender<PipelineEvent>,
    pub candidates: mpsc::Receiver<Offer>,
    pub control: mpsc::UnboundedReceiver<Control>,
    pub config_path: Option<PathBuf>,
    pub reloader: Reloader,
    pub local_offset: UtcOffset,
}

impl Stage {
    fn local_now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().to_offset(self.local_offset)
    }

    /// Runs until every connection's writer is gone.
    pub async fn run(mut self) {
        let mut actions = self.notifier.as_ref().and_then(|n| n.take_actions());
        // A re-read config brings its notification preferences with it.
        let mut config = self.reloader.subscribe();
        config.mark_unchanged();
        loop {
            let due = self
                .attention
                .next_due()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                batch = self.candidates.recv() => match batch {
                    Some(Offer::Live(batch)) => self.offer(batch).await,
                    Some(Offer::Away(batch, more)) => self.away(batch, &more).await,
                    Some(Offer::Chain(raised)) => self.chain(raised).await,
                    None => break,
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    let planned = self.attention.due(Instant::now(), self.local_now());
                    for p in planned {
                        self.show(p).await;
                    }
                }
                Some(c) = self.control.recv() => match c {
                    Control::Pause(d) => self.attention.pause(d.map(|d| Instant::now() + d)),
                    Control::Resume => self.attention.resume(),
                    Control::Settings(s) => self.attention.set_settings(s),
                },
                Some(a) = recv(&mut actions) => self.act(a).await,
                Ok(()) = config.changed() => {
                    let settings = config.borrow_and_update().herald.notifications.clone();
                    self.attention.set_settings(settings);
                }
            }
        }
    }

    async fn offer(&mut self, batch: Vec<Candidate>) {
        let mut fates = Vec::with_capacity(batch.len());
        for c in batch {
            let id = c.id.clone();
            fates.push((id, self.decide(c).await));
        }
        if let Err(e) = self.store.set_fates(&fates).await {
            tracing::warn!(error = %error_chain(&e), "could not record notification decisions");
        }
    }

    /// The package chain's notices take the live messages' path; their fates are kept with
    /// the notices.
    async fn chain(&mut self, raised: Vec<super::chain::Raised>) {
        let mut fates = Vec::with_capacity(raised.len());
        for r in raised {
            let fate = self.decide(r.candidate).await;
            fates.push((r.package, r.kind.as_str(), r.key, fate));
        }
        if let Err(e) = crate::packages::set_notice_fates(self.store.pool(), &fates).await {
            tracing::warn!(error = %error_chain(&e), "could not record notification decisions");
        }
    }

    /// One candidate through the attention policy, shown if it says so now.
    async fn decide(&mut self, c: Candidate) -> Fate {
        if self.notifier.is_none() {
            return Fate::Disabled;
        }
        let verdict = self.attention.offer(c, Instant::now(), self.local_now());
        let shown = match verdict.show {
            Some(p) => self.show(p).await,
            None => true,
        };
        if shown {
            verdict.fate
        } else {
            Fate::Failed
        }
    }

    /// Tells what a catch-up filled in, once per source. Quiet hours and a pause hold live
    /// notifications and their own summary follows; these are history already, so then they
    /// are only recorded.
    async fn away(
        &mut self,
        batch: Vec<Candidate>,
        more: &std::collections::BTreeMap<String, usize>,
    ) {
        let held =
            self.notifier.is_none() || self.attention.holds(Instant::now(), self.local_now());
        let mut fates = Vec::new();
        for p in crate::notify::while_away(batch, more) {
            let fate = if self.notifier.is_none() {
                Fate::Disabled
            } else if held {
                Fate::Quiet
            } else if self.show(p.clone()).await {
                Fate::Coalesced
            } else {
                Fate::Failed
            };
            fates.extend(p.covers.into_iter().map(|id| (id, fate)));
        }
        if let Err(e) = self.store.set_fates(&fates).await {
            tracing::warn!(error = %error_chain(&e), "could not record notification decisions");
        }
    }

    /// Shows one planned notification; false when the server failed.
    async fn show(&mut self, p: Planned) -> bool {
        let Some(notifier) = self.notifier.clone() else {
            return false;
        };
        let n = p.notification.clone();
        let shown = tokio::task::spawn_blocking(move || notifier.show(&n)).await;
        match shown {
            Ok(Ok(id)) => {
                self.attention.shown(&p.slot, id);
                let _ = self.events.send(PipelineEvent::Notified {
                    summary: p.notification.summary.clone(),
                    messages: p.covers.len(),
                });
                true
            }
            // The notifier said once that the server is lost; saying so again for every
            // message while it is would bury everything else.
            Ok(Err(e @ NotifyError::Unreachable { .. })) => {
                tracing::debug!(error = %e, "notification not shown");
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %error_chain(&e), "notification not shown");
                let _ = self.events.send(PipelineEvent::NotifyFailed {
                    error: error_chain(&e),
                });
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "notification task failed");
                false
            }
        }
    }

    async fn act(&mut self, a: NotifyAction) {
        match a {
            NotifyAction::Open { url } => {
                let opened =
                    tokio::task::spawn_blocking(move || crate::notify::open_link(&url)).await;
                if let Ok(Err(e)) = opened {
                    tracing::warn!(error = %error_chain(&e), "link not opened");
                }
            }
            NotifyAction::Snooze { rule } => {
                tracing::info!(%rule, "rule snoozed for an hour");
                self.attention.snooze(&rule, Instant::now() + SNOOZE);
            }
            NotifyAction::Mute { package } => match self.mute(&package) {
                Ok(cfg) => {
                    tracing::info!(%package, "package muted");
                    self.reloader.reload(cfg);
                }
                Err(e) => tracing::warn!(%package, error = %e, "could not mute the package"),
            },
        }
    }

    /// Writes a rule that drops messages about `package` and returns the new config.
    fn mute(&self, package: &str) -> Result<Config, String> {
        let path = self
            .config_path
            .as_ref()
            .ok_or("Herald runs without a config file")?;
        // Under the config's lock: a settings window saving at the same moment keeps this
        // rule, and this keeps what the window saved.
        crate::config::edit::mute_package(path, package, MUTE_PRIORITY).map_err(|e| error_chain(&e))
    }
}

async fn recv(rx: &mut Option<mpsc::UnboundedReceiver<NotifyAction>>) -> Option<NotifyAction> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
