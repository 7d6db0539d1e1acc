//! The words of a notification: a short title, a bounded plain-text body (the notifier
//! escapes it), the icon, the urgency and the actions — for one message, for the digest of a
//! burst ("Koji: 23 builds finished — 17 complete, 6 failed"), for what the rate limit held
//! ("12 more messages — Koji 7, Copr 5") and for the summary after quiet hours or a pause.

use super::{body, Candidate, Held};
use crate::clean;
use crate::notify::{Notification, NotifyAction, ShownId, Urgency};
use std::collections::BTreeMap;

/// The notification's title, in characters.
pub(super) const SUMMARY_MAX_CHARS: usize = 120;
/// The notification's body, in characters.
pub(super) const BODY_MAX_CHARS: usize = 500;
/// A message summary this short is the title itself.
const TITLE_FROM_SUMMARY_MAX: usize = 64;
/// Outcomes named in a digest's breakdown; the rest are "other".
const OUTCOMES_SHOWN: usize = 4;
/// Packages named in a digest.
const NAMES_SHOWN: usize = 3;
/// The icon of a notification about several sources.
const MIXED_ICON: &str = "generic";

/// What a digest sums up.
#[derive(Debug, Clone, Copy)]
pub(super) enum Digest<'a> {
    /// A burst of one source and kind.
    Burst { source: &'a str, kind: &'a str },
    /// What the rate limit held.
    More,
    /// What pause and quiet hours held.
    Away,
}

/// A value all held messages share, if they do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) enum Shared {
    #[default]
    Nothing,
    One(String),
    Many,
}

impl Shared {
    /// A message without a value breaks the sharing too.
    pub(super) fn add(&mut self, v: Option<&str>) {
        *self = match (std::mem::take(self), v) {
            (Shared::Nothing, Some(v)) => Shared::One(v.to_owned()),
            (Shared::One(s), Some(v)) if s == v => Shared::One(s),
            _ => Shared::Many,
        };
    }

    pub(super) fn merge(&mut self, other: Shared) {
        match other {
            Shared::Nothing => {}
            Shared::One(v) => self.add(Some(&v)),
            Shared::Many => *self = Shared::Many,
        }
    }

    fn one(&self) -> Option<&str> {
        match self {
            Shared::One(s) => Some(s),
            _ => None,
        }
    }
}

/// One message's notification: a title, the summary when it is too long to be the title, the
/// details one line per field, and Herald's line naming the link's host.
pub(super) fn single(c: &Candidate, replaces: Option<ShownId>, actions: bool) -> Notification {
    let summary = c.summary.trim();
    let (title, lead) = if !summary.is_empty() && summary.chars().count() <= TITLE_FROM_SUMMARY_MAX
    {
        (summary.to_owned(), "")
    } else {
        let (noun, _) = noun(&c.source, &c.kind);
        let title = match &c.outcome {
            Some(o) => format!("{} {noun} {o}", label(&c.source)),
            None => format!("{} {noun}", label(&c.source)),
        };
        (title, summary)
    };
    let mut lines = vec![body::lead_line(lead)];
    lines.extend(body::detail_lines(&c.details));
    let link = body::link_line(c.url.as_deref(), c.link_trusted, label(&c.source));
    Notification {
        summary: bound(&clean::one_line(&title), SUMMARY_MAX_CHARS),
        body: body::compose(&lines, link.as_deref(), BODY_MAX_CHARS),
        icon: c.icon.clone(),
        urgency: Urgency::from_severity(c.severity),
        replaces,
        actions: action_list(
            actions,
            c.url.as_deref().filter(|_| c.link_trusted),
            c.packages.first().map(String::as_str),
            c.rule.as_deref(),
        ),
    }
}

/// A notification summing up held messages.
pub(super) fn digest(
    h: &Held,
    what: Digest<'_>,
    replaces: Option<ShownId>,
    actions: bool,
) -> Notification {
    let (title, body, urgency) = match what {
        Digest::Burst { source, kind } => {
            let (one, many) = noun(source, kind);
            let n = h.objects();
            let finished = h
                .objects
                .iter()
                .all(|o| o.outcome.as_deref().is_some_and(terminal));
            let title = format!(
                "{}: {n} {}{}",
                label(source),
                if n == 1 { one } else { many },
                if finished { " finished" } else { "" }
            );
            let body = [breakdown(h), names(h)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("\n");
            (title, body, Urgency::from_severity(h.severity))
        }
        Digest::More => (
            format!("{} more {}", h.messages(), messages(h.messages())),
            by_label(h),
            Urgency::from_severity(h.severity),
        ),
        Digest::Away => (
            format!(
                "While you were away: {} {}",
                h.messages(),
                messages(h.messages())
            ),
            by_label(h),
            Urgency::Low,
        ),
    };
    // Held links are only ever ones a message alone could offer.
    let url = h.url.one();
    let link = body::link_line(url, true, "");
    let lines: Vec<String> = body.lines().map(body::lead_line).collect();
    Notification {
        summary: bound(&clean::one_line(&title), SUMMARY_MAX_CHARS),
        body: body::compose(&lines, link.as_deref(), BODY_MAX_CHARS),
        icon: h.icon.one().unwrap_or(MIXED_ICON).to_owned(),
        urgency,
        replaces,
        actions: action_list(actions, url, h.package.one(), h.rule.one()),
    }
}

fn messages(n: usize) -> &'static str {
    if n == 1 {
        "message"
    } else {
        "messages"
    }
}

/// Open (a link to a known host, http(s) only), Mute the package, Snooze the rule — when
/// the server shows actions.
fn action_list(
    shown: bool,
    url: Option<&str>,
    package: Option<&str>,
    rule: Option<&str>,
) -> Vec<NotifyAction> {
    let mut out = Vec::new();
    if !shown {
        return out;
    }
    if let Some(url) = url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        out.push(NotifyAction::Open {
            url: url.to_owned(),
        });
    }
    if let Some(package) = package.filter(|p| !p.is_empty()) {
        out.push(NotifyAction::Mute {
            package: package.to_owned(),
        });
    }
    if let Some(rule) = rule.filter(|r| !r.is_empty()) {
        out.push(NotifyAction::Snooze {
            rule: rule.to_owned(),
        });
    }
    out
}

/// "17 complete, 6 failed": the objects by outcome, most frequent first.
fn breakdown(h: &Held) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut other = h.overflow;
    for o in &h.objects {
        match &o.outcome {
            Some(w) => *counts.entry(w).or_default() += 1,
            None => other += 1,
        }
    }
    if counts.is_empty() {
        return None;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    other += counts
        .iter()
        .skip(OUTCOMES_SHOWN)
        .map(|c| c.1)
        .sum::<usize>();
    let mut parts: Vec<String> = counts
        .iter()
        .take(OUTCOMES_SHOWN)
        .map(|(w, n)| format!("{n} {w}"))
        .collect();
    if other > 0 {
        parts.push(format!("{other} other"));
    }
    Some(parts.join(", "))
}

/// "chromium, glibc, kernel and 20 more": the packages concerned.
fn names(h: &Held) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for p in h.objects.iter().filter_map(|o| o.package.as_deref()) {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    let (shown, rest) = seen.split_at(seen.len().min(NAMES_SHOWN));
    // Names are verbatim from messages: one line each.
    let shown = shown
        .iter()
        .map(|p| clean::line(p))
        .collect::<Vec<_>>()
        .join(", ");
    match (shown.is_empty(), rest.len()) {
        (true, _) => None,
        (false, 0) => Some(shown),
        (false, n) => Some(format!("{shown} and {n} more")),
    }
}

/// "Koji 9, Bodhi 5": the messages by source, most first.
fn by_label(h: &Held) -> String {
    let mut counts: Vec<_> = h.by_label.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The producer's name as people know it.
pub(super) fn label(source: &str) -> &'static str {
    match source {
        "koji" | "koji-messagebus" | "koji-protonmsg" => "Koji",
        "pulp" => "Pulp",
        "bodhi" => "Bodhi",
        "copr" => "Copr",
        "anitya" => "Anitya",
        "hotness" => "the-new-hotness",
        "bugzilla" => "Bugzilla",
        "dist-git" => "dist-git",
        "ci" => "CI",
        "resultsdb" => "ResultsDB",
        "greenwave" => "Greenwave",
        "waiverdb" => "WaiverDB",
        "koschei" => "Koschei",
        _ => "Other",
    }
}

/// What a source's messages of one kind are about, singular and plural.
fn noun(source: &str, kind: &str) -> (&'static str, &'static str) {
    let k = kind.to_ascii_lowercase();
    let has = |s: &str| k.contains(s);
    match source {
        "koji" | "koji-messagebus" | "koji-protonmsg" => {
            if has("build.state") || has("buildstatechange") {
                ("build", "builds")
            } else if has("task") {
                ("task", "tasks")
            } else if has("tag") {
                ("tag change", "tag changes")
            } else if has("package.list") || has("packagelist") {
                ("package list change", "package list changes")
            } else if has("repo") {
                ("repository regeneration", "repository regenerations")
            } else if has("sign") {
                ("signed RPM", "signed RPMs")
            } else if has("import") {
                ("import", "imports")
            } else {
                ("message", "messages")
            }
        }
        "copr" if has("build") || has("chroot") => ("build", "builds"),
        "pulp" if has("task") => ("task", "tasks"),
        "pulp" if has("sync") => ("repository sync", "repository syncs"),
        "pulp" if has("publish") => ("repository publish", "repository publishes"),
        "bodhi" if has("buildroot_override") => ("buildroot override", "buildroot overrides"),
        "bodhi" if has("compose") => ("compose", "composes"),
        "bodhi" if has("update") => ("update", "updates"),
        "anitya" if has("version") => ("release", "releases"),
        "anitya" if has("distro") => ("distribution change", "distribution changes"),
        "anitya" if has("project") => ("project change", "project changes"),
        "hotness" if has("bug") => ("bug filed", "bugs filed"),
        "hotness" if has("drop") => ("dropped update", "dropped updates"),
        "bugzilla" => ("bug change", "bug changes"),
        "dist-git" => ("push", "pushes"),
        "ci" if has("test") => ("test run", "test runs"),
        "resultsdb" => ("test result", "test results"),
        "greenwave" => ("gating decision", "gating decisions"),
        "waiverdb" => ("waiver", "waivers"),
        "koschei" if has("collection") => ("buildroot change", "buildroot changes"),
        "koschei" => ("package state change", "package state changes"),
        _ => ("message", "messages"),
    }
}

/// An outcome after which nothing more happens.
fn terminal(outcome: &str) -> bool {
    matches!(
        outcome,
        "complete"
            | "completed"
            | "failed"
            | "canceled"
            | "cancelled"
            | "deleted"
            | "closed"
            | "finished"
            | "error"
            | "succeeded"
            | "success"
            | "skipped"
    )
}

/// At most `max` characters, cut on a character boundary with "…".
pub(super) fn bound(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some(_) => {
            let keep = max.saturating_sub(1);
            let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
            let mut out = s[..end].trim_end().to_owned();
            out.push('…');
            out
        }
    }
}
