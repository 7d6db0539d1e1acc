//! Messages held for a later notification (a burst's digest, the rate limit's "N more
//! messages", the summary after quiet hours or a pause), counted per source and per object:
//! reports of one thread count once, in their latest state.

use super::text::{label, Shared};
use super::{Candidate, MAX_HELD};
use std::collections::{BTreeMap, HashMap};

/// Messages folded into one later notification, counted by source and by object.
#[derive(Debug, Default)]
pub(super) struct Held {
    /// The message ids (the first `MAX_HELD`).
    pub(super) ids: Vec<String>,
    /// Every message, per source label.
    pub(super) by_label: BTreeMap<&'static str, usize>,
    /// The objects reported, one per thread (the first `MAX_HELD`).
    pub(super) objects: Vec<Object>,
    threads: HashMap<String, usize>,
    /// Objects beyond `MAX_HELD`.
    pub(super) overflow: usize,
    pub(super) severity: u8,
    pub(super) url: Shared,
    pub(super) package: Shared,
    pub(super) rule: Shared,
    pub(super) icon: Shared,
    /// The latest message, shown on its own when it is all there is.
    pub(super) last: Option<Candidate>,
}

/// One build, task or message, in its latest reported state.
#[derive(Debug, Clone)]
pub(super) struct Object {
    pub(super) thread: Option<String>,
    pub(super) outcome: Option<String>,
    pub(super) package: Option<String>,
}

impl Held {
    pub(super) fn push(&mut self, c: Candidate) {
        if self.ids.len() < MAX_HELD {
            self.ids.push(c.id.clone());
        }
        *self.by_label.entry(label(&c.source)).or_default() += 1;
        self.severity = self.severity.max(c.severity);
        // A digest offers only a link it could offer for each message alone.
        self.url.add(c.url.as_deref().filter(|_| c.link_trusted));
        self.package.add(c.packages.first().map(String::as_str));
        self.rule.add(c.rule.as_deref());
        self.icon.add(Some(&c.icon));
        self.object(Object {
            thread: c.thread.clone(),
            outcome: c.outcome.clone(),
            package: c.packages.first().cloned(),
        });
        self.last = Some(c);
    }

    fn object(&mut self, o: Object) {
        if let Some(i) = o.thread.as_ref().and_then(|t| self.threads.get(t)) {
            if let Some(slot) = self.objects.get_mut(*i) {
                *slot = o;
                return;
            }
        }
        if self.objects.len() >= MAX_HELD {
            self.overflow += 1;
            return;
        }
        if let Some(t) = &o.thread {
            self.threads.insert(t.clone(), self.objects.len());
        }
        self.objects.push(o);
    }

    /// Takes in what `other` held, after what this one did.
    pub(super) fn absorb(&mut self, other: Held) {
        let room = MAX_HELD.saturating_sub(self.ids.len());
        self.ids.extend(other.ids.into_iter().take(room));
        for (label, n) in other.by_label {
            *self.by_label.entry(label).or_default() += n;
        }
        for o in other.objects {
            self.object(o);
        }
        self.overflow += other.overflow;
        self.severity = self.severity.max(other.severity);
        self.url.merge(other.url);
        self.package.merge(other.package);
        self.rule.merge(other.rule);
        self.icon.merge(other.icon);
        if other.last.is_some() {
            self.last = other.last;
        }
    }

    pub(super) fn messages(&self) -> usize {
        self.by_label.values().sum()
    }

    pub(super) fn objects(&self) -> usize {
        self.objects.len() + self.overflow
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_label.is_empty()
    }
}
