//! The attention policy: which notify-worthy messages become desktop notifications. Pure —
//! no I/O and no clocks; every instant and the local time come in as arguments.
//!
//! In order, a candidate is
//! 1. dropped when notifications are off ([`Fate::Disabled`]);
//! 2. held while paused or while its rule is snoozed ([`Fate::Paused`]), or during quiet
//!    hours ([`Fate::Quiet`]); what pause and quiet hours held is summed up in one
//!    notification when they end (snoozed rules are not: the user asked not to hear of them);
//! 3. shown at once replacing the notification of the same build or task when that one is
//!    on screen ([`Fate::Shown`], no rate-limit token: nothing is added to the screen);
//! 4. held when a burst of its source and kind is open ([`Fate::Coalesced`]); when the burst's
//!    window closes one digest replaces the burst's first notification;
//! 5. shown as a new notification when the rate limit allows ([`Fate::Shown`], opening a
//!    burst), else held ([`Fate::RateLimited`]) for one "N more messages" digest once a
//!    token is available again.
//!
//! Held messages are counted per object: reports of one thread (a Pulp task going waiting →
//! running → finished) count once, in their latest state.

use super::outcome::{outcome, thread};
use super::{Fate, Notification, NotifySettings, ShownId};
use crate::record::Stored;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

mod away;
mod body;
mod held;
mod screen;
mod text;
pub use away::while_away;
use held::Held;
use screen::{Bucket, Slots};
use text::Digest;

/// Held messages remembered one by one; beyond this they are only counted.
const MAX_HELD: usize = 10_000;
/// Notifications whose server id is remembered for replacing them.
const MAX_SLOTS: usize = 512;

/// A message a rule marked `notify`, as the policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The message id.
    pub id: String,
    pub source: String,
    pub kind: String,
    pub summary: String,
    pub details: String,
    pub url: Option<String>,
    /// The link goes to a host its producer is known to use; only then is it offered.
    pub link_trusted: bool,
    pub severity: u8,
    /// A source icon key (`koji`, `pulp`, …); the notifier resolves it.
    pub icon: String,
    pub packages: Vec<String>,
    /// The rule that marked it `notify`.
    pub rule: Option<String>,
    /// The state it reports (`complete`, `failed`, `finished`, …), if any.
    pub outcome: Option<String>,
    /// The build or task it updates (`koji-build:<id>`, `pulp-task:<id>`, …), if any.
    pub thread: Option<String>,
}

impl Candidate {
    pub fn from_stored(s: &Stored) -> Candidate {
        let r = &s.rendered;
        Candidate {
            id: s.msg.id.clone(),
            source: r.source.clone(),
            kind: r.kind.clone(),
            summary: r.summary.clone(),
            details: r.details.clone(),
            url: r.url.clone(),
            link_trusted: s.link_trusted,
            severity: r.severity,
            icon: r.icon.clone(),
            packages: r.packages.clone(),
            rule: s.rule.as_deref().map(str::to_owned),
            outcome: outcome(s),
            thread: thread(s),
        }
    }
}

/// A notification the policy wants shown now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub notification: Notification,
    /// Pass back to [`Attention::shown`] with the server's id once shown.
    pub slot: String,
    /// The ids of the messages this notification reports (at most `MAX_HELD` of them).
    pub covers: Vec<String>,
}

/// What the policy did with one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub fate: Fate,
    /// The notification to show now, if any.
    pub show: Option<Planned>,
}

/// The policy state: open bursts, held messages, the rate-limit bucket, pause and snoozes,
/// and the notifications on screen that a later one may replace.
#[derive(Debug)]
pub struct Attention {
    settings: NotifySettings,
    actions: bool,
    bursts: Vec<Burst>,
    /// Over the rate limit, for the next "N more messages" digest.
    limited: Held,
    /// Held by pause or quiet hours, for the summary when they end.
    away: Held,
    bucket: Bucket,
    slots: Slots,
    /// `Some(None)`: paused until resumed.
    pause: Option<Option<Instant>>,
    /// Resumed since the last [`Attention::due`].
    resumed: bool,
    snoozed: HashMap<String, Instant>,
    /// The latest time seen, for [`Attention::next_due`].
    last: Option<(Instant, OffsetDateTime)>,
}

impl Attention {
    /// `actions`: the notification server shows action buttons.
    pub fn new(settings: NotifySettings, actions: bool) -> Attention {
        Attention {
            settings,
            actions,
            bursts: Vec::new(),
            limited: Held::default(),
            away: Held::default(),
            bucket: Bucket::default(),
            slots: Slots::default(),
            pause: None,
            resumed: false,
            snoozed: HashMap::new(),
            last: None,
        }
    }

    /// Decides one candidate's fate, and what to show now.
    pub fn offer(&mut self, c: Candidate, now: Instant, local: OffsetDateTime) -> Verdict {
        self.observe(now, local);
        let held = |fate| Verdict { fate, show: None };
        if !self.settings.enabled {
            return held(Fate::Disabled);
        }
        if self.paused(now) {
            self.away.push(c);
            return held(Fate::Paused);
        }
        let snoozed = c.rule.as_ref().and_then(|r| self.snoozed.get(r));
        if snoozed.is_some_and(|until| now < *until) {
            return held(Fate::Paused);
        }
        if self.quiet(local) {
            self.away.push(c);
            return held(Fate::Quiet);
        }
        if let Some((slot, id)) = c.thread.as_deref().and_then(|t| self.slots.on_screen(t)) {
            // A burst's digest counts this object in its latest state.
            if let Some(b) = self.bursts.iter_mut().find(|b| b.slot == slot) {
                b.first.push(c.clone());
            }
            let planned = self.single(c, slot, Some(id));
            return Verdict {
                fate: Fate::Shown,
                show: Some(planned),
            };
        }
        let window = self.settings.digest_window();
        self.bursts
            .retain(|b| !b.expired(now, window) || !b.rest.is_empty());
        if let Some(b) = self
            .bursts
            .iter_mut()
            .find(|b| b.source == c.source && b.kind == c.kind && !b.expired(now, window))
        {
            b.rest.push(c);
            return held(Fate::Coalesced);
        }
        if !self.bucket.take(self.settings.rate_limit_per_minute, now) {
            self.limited.push(c);
            return held(Fate::RateLimited);
        }
        let slot = self.slots.open(c.thread.as_deref());
        if !window.is_zero() {
            let mut first = Held::default();
            first.push(c.clone());
            self.bursts.push(Burst {
                source: c.source.clone(),
                kind: c.kind.clone(),
                since: now,
                slot: slot.clone(),
                first,
                rest: Held::default(),
            });
        }
        Verdict {
            fate: Fate::Shown,
            show: Some(self.single(c, slot, None)),
        }
    }

    /// What is due now: digests of bursts whose window closed, the digest of rate-limited
    /// messages once a token is available, and the summary after pause or quiet hours.
    pub fn due(&mut self, now: Instant, local: OffsetDateTime) -> Vec<Planned> {
        self.observe(now, local);
        self.resumed = false;
        let mut out = Vec::new();
        if !self.settings.enabled {
            self.forget_held();
            return out;
        }
        let away = self.paused(now) || self.quiet(local);
        let window = self.settings.digest_window();
        let (expired, open) = std::mem::take(&mut self.bursts)
            .into_iter()
            .partition::<Vec<_>, _>(|b| b.expired(now, window));
        self.bursts = open;
        for b in expired.into_iter().filter(|b| !b.rest.is_empty()) {
            if away {
                self.away.absorb(b.rest);
            } else {
                out.push(self.burst_digest(b, now));
            }
        }
        if !self.limited.is_empty() {
            if away {
                let limited = std::mem::take(&mut self.limited);
                self.away.absorb(limited);
            } else if self.bucket.take(self.settings.rate_limit_per_minute, now) {
                let limited = std::mem::take(&mut self.limited);
                out.push(self.more_digest(limited));
            }
        }
        if !away && !self.away.is_empty() {
            let held = std::mem::take(&mut self.away);
            if self.settings.summary_after_quiet {
                // A summary is one notification in place of many; it never waits for a token.
                self.bucket.take(self.settings.rate_limit_per_minute, now);
                let slot = self.slots.open(None);
                let notification = text::digest(&held, Digest::Away, None, self.actions);
                out.push(Planned {
                    notification,
                    slot,
                    covers: held.ids,
                });
            }
        }
        out
    }

    /// When [`Attention::due`] next has something to do, if ever.
    pub fn next_due(&self) -> Option<Instant> {
        let mut due = None;
        let window = self.settings.digest_window();
        for b in self.bursts.iter().filter(|b| !b.rest.is_empty()) {
            earliest(&mut due, b.since.checked_add(window).unwrap_or(b.since));
        }
        if !self.limited.is_empty() {
            let at = self
                .bucket
                .next(self.settings.rate_limit_per_minute)
                .or(self.last.map(|(now, _)| now));
            if let Some(at) = at {
                earliest(&mut due, at);
            }
        }
        if !self.away.is_empty() {
            if let Some(at) = self.away_ends() {
                earliest(&mut due, at);
            }
        }
        due
    }

    /// Remembers the server's id for a shown notification, so a later one can replace it.
    pub fn shown(&mut self, slot: &str, id: ShownId) {
        self.slots.shown(slot, id);
    }

    /// Pauses notifications until `until`, or until resumed (`None`).
    pub fn pause(&mut self, until: Option<Instant>) {
        self.pause = Some(until);
        self.resumed = false;
    }

    pub fn resume(&mut self) {
        if self.pause.take().is_some() {
            self.resumed = true;
        }
    }

    pub fn paused(&self, now: Instant) -> bool {
        match self.pause {
            Some(None) => true,
            Some(Some(until)) => now < until,
            None => false,
        }
    }

    /// Whether nothing should be shown now: notifications off, paused, or quiet hours.
    pub fn holds(&self, now: Instant, local: OffsetDateTime) -> bool {
        !self.settings.enabled || self.paused(now) || self.quiet(local)
    }

    /// Holds the candidates of `rule` until `until`.
    pub fn snooze(&mut self, rule: &str, until: Instant) {
        self.snoozed.insert(rule.to_owned(), until);
    }

    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    pub fn set_settings(&mut self, s: NotifySettings) {
        self.bucket
            .resize(self.settings.rate_limit_per_minute, s.rate_limit_per_minute);
        self.settings = s;
        if !self.settings.enabled {
            self.forget_held();
        }
    }

    fn observe(&mut self, now: Instant, local: OffsetDateTime) {
        if self.last.is_none_or(|(last, _)| last <= now) {
            self.last = Some((now, local));
        }
        if matches!(self.pause, Some(Some(until)) if now >= until) {
            self.pause = None;
        }
        self.snoozed.retain(|_, until| now < *until);
    }

    fn quiet(&self, local: OffsetDateTime) -> bool {
        self.settings
            .quiet_hours
            .as_ref()
            .is_some_and(|q| q.contains(local.time()))
    }

    /// When pause and quiet hours, as last seen, are both over; `None` while paused until
    /// resumed.
    fn away_ends(&self) -> Option<Instant> {
        let (now, local) = self.last?;
        if self.resumed {
            return Some(now);
        }
        let pause_end = match self.pause {
            Some(None) => return None,
            Some(Some(until)) => Some(until.max(now)),
            None => None,
        };
        let quiet_end = self
            .settings
            .quiet_hours
            .as_ref()
            .and_then(|q| q.remaining(local.time()))
            .and_then(|d| now.checked_add(d));
        Some(pause_end.max(quiet_end).unwrap_or(now))
    }

    fn forget_held(&mut self) {
        self.bursts.clear();
        self.limited = Held::default();
        self.away = Held::default();
    }

    fn single(&mut self, c: Candidate, slot: String, replaces: Option<ShownId>) -> Planned {
        Planned {
            notification: text::single(&c, replaces, self.actions),
            slot,
            covers: vec![c.id],
        }
    }

    /// The digest of a closed burst, replacing its first notification; a burst that turns
    /// out to be about one object shows that object's latest message instead.
    fn burst_digest(&mut self, b: Burst, now: Instant) -> Planned {
        let mut all = b.first;
        all.absorb(b.rest);
        let replaces = self.slots.id(&b.slot);
        if replaces.is_none() {
            // Not on screen (the first failed): this one is new.
            self.bucket.take(self.settings.rate_limit_per_minute, now);
        }
        if all.objects() == 1 {
            if let Some(c) = all.last.take() {
                self.slots.bind(&b.slot, c.thread.as_deref());
                return Planned {
                    notification: text::single(&c, replaces, self.actions),
                    slot: b.slot,
                    covers: all.ids,
                };
            }
        }
        self.slots.bind(&b.slot, None);
        let what = Digest::Burst {
            source: &b.source,
            kind: &b.kind,
        };
        Planned {
            notification: text::digest(&all, what, replaces, self.actions),
            slot: b.slot,
            covers: all.ids,
        }
    }

    /// The digest of what the rate limit held; one object is shown as itself.
    fn more_digest(&mut self, mut held: Held) -> Planned {
        if held.objects() == 1 {
            if let Some(c) = held.last.take() {
                let slot = self.slots.open(c.thread.as_deref());
                return Planned {
                    notification: text::single(&c, None, self.actions),
                    slot,
                    covers: held.ids,
                };
            }
        }
        let slot = self.slots.open(None);
        Planned {
            notification: text::digest(&held, Digest::More, None, self.actions),
            slot,
            covers: held.ids,
        }
    }
}

fn earliest(due: &mut Option<Instant>, at: Instant) {
    *due = Some(due.map_or(at, |d| d.min(at)));
}

/// Notifications of one source and kind since the first of them was shown.
#[derive(Debug)]
struct Burst {
    source: String,
    kind: String,
    since: Instant,
    /// The first notification's slot, which the digest replaces.
    slot: String,
    first: Held,
    /// Coalesced since.
    rest: Held,
}

impl Burst {
    fn expired(&self, now: Instant, window: Duration) -> bool {
        self.since.checked_add(window).is_none_or(|end| now >= end)
    }
}

#[cfg(test)]
mod tests;
