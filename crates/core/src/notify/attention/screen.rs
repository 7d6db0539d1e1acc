//! What is on screen, and how much more may go there: the rate-limit bucket and the slots
//! of shown notifications (their server ids, and the build or task each shows) that a later
//! notification may replace.

use super::{ShownId, MAX_SLOTS};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The rate limit: a bucket of `rate` tokens refilled at `rate` per minute.
#[derive(Debug, Default)]
pub(super) struct Bucket {
    tokens: u32,
    /// When the tokens were last counted; `None`: never, the bucket is full.
    since: Option<Instant>,
}

impl Bucket {
    fn per_token(rate: u32) -> Duration {
        Duration::from_secs(60) / rate.max(1)
    }

    fn refill(&mut self, rate: u32, now: Instant) {
        let Some(since) = self.since else {
            self.tokens = rate;
            self.since = Some(now);
            return;
        };
        let per = Self::per_token(rate);
        let n = now.saturating_duration_since(since).as_nanos() / per.as_nanos().max(1);
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(n).min(rate);
        // While not full, keep the part of a token already earned.
        self.since = Some(if self.tokens >= rate {
            now.max(since)
        } else {
            per.checked_mul(n)
                .and_then(|d| since.checked_add(d))
                .unwrap_or(now)
        });
    }

    /// Takes a token if one is there; always succeeds without a limit (`rate` 0).
    pub(super) fn take(&mut self, rate: u32, now: Instant) -> bool {
        if rate == 0 {
            return true;
        }
        self.refill(rate, now);
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }

    /// When a token is available.
    pub(super) fn next(&self, rate: u32) -> Option<Instant> {
        let since = self.since?;
        if rate == 0 || self.tokens > 0 {
            return Some(since);
        }
        since.checked_add(Self::per_token(rate))
    }

    pub(super) fn resize(&mut self, old: u32, new: u32) {
        if old == 0 || new == 0 {
            *self = Bucket::default();
        } else {
            self.tokens = self.tokens.min(new);
        }
    }
}

/// Shown notifications by slot: their server ids, and which build or task each shows.
#[derive(Debug, Default)]
pub(super) struct Slots {
    next: u64,
    ids: HashMap<String, Option<ShownId>>,
    order: VecDeque<String>,
    /// thread → the slot showing it.
    threads: HashMap<String, String>,
    /// slot → the thread it shows.
    thread_of: HashMap<String, String>,
}

impl Slots {
    /// A slot for a new notification, showing `thread` if given.
    pub(super) fn open(&mut self, thread: Option<&str>) -> String {
        let slot = format!("n{}", self.next);
        self.next += 1;
        self.ids.insert(slot.clone(), None);
        self.order.push_back(slot.clone());
        self.bind(&slot, thread);
        while self.order.len() > MAX_SLOTS {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
                self.bind(&old, None);
            }
        }
        slot
    }

    /// Says which thread `slot` now shows (none: a digest took it over).
    pub(super) fn bind(&mut self, slot: &str, thread: Option<&str>) {
        if let Some(old) = self.thread_of.remove(slot) {
            if self.threads.get(&old).is_some_and(|s| s == slot) {
                self.threads.remove(&old);
            }
        }
        if let Some(t) = thread {
            if let Some(prev) = self.threads.insert(t.to_owned(), slot.to_owned()) {
                if prev != slot {
                    self.thread_of.remove(&prev);
                }
            }
            self.thread_of.insert(slot.to_owned(), t.to_owned());
        }
    }

    pub(super) fn shown(&mut self, slot: &str, id: ShownId) {
        if let Some(known) = self.ids.get_mut(slot) {
            *known = Some(id);
        }
    }

    pub(super) fn id(&self, slot: &str) -> Option<ShownId> {
        self.ids.get(slot).copied().flatten()
    }

    /// The slot and server id of the notification showing `thread`, when one is on screen.
    pub(super) fn on_screen(&self, thread: &str) -> Option<(String, ShownId)> {
        let slot = self.threads.get(thread)?;
        Some((slot.clone(), self.id(slot)?))
    }
}
