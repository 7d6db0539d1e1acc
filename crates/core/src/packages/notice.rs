//! The chain's own notifications, decided from a package's state and the clock alone: one of
//! my updates' gating settled, one of my updates reached stable, a watched package's new
//! upstream release has waited `no_build_after` without a build. Pure: no I/O, `now` comes
//! in as an argument, so the rules are tested without waiting.
//!
//! Each notice has a key that makes it once (the pipeline's chain stage records it with
//! [`super::notice_once`]): gating by update, decision and the moment the decision last
//! changed — Greenwave flips failed → waiting → failed → passed while results arrive
//! (bodhi#4219), so a decision counts only once it has held for `gating_settle`, and a later
//! flip that settles again is news again; stable by update; no build by upstream version.
//!
//! A notice is raised only about something that became true within the lookback
//! (`no_build_after` + `gating_settle`, 3 days 15 minutes by default). In steady running that
//! is always so; it keeps a first start, an upgrade that rebuilds the model, a newly watched
//! package or a back-fill of old history from raising notices about the distant past, while
//! what happened during a weekend off (and came back through the catch-up) is still told.

use super::evr::{compare_versions, Nvr};
use super::extract::Decision;
use super::model::{PackageState, UpdateState};
use crate::config::PackageSettings;
use crate::filter::Profile;
use std::cmp::Ordering;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The update statuses after which its gating is no longer news.
const CLOSED: &[&str] = &["stable", "obsolete", "unpushed", "revoked"];

/// Which of the chain's notifications a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    Gating,
    Stable,
    NoBuild,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 3] = [NoticeKind::Gating, NoticeKind::Stable, NoticeKind::NoBuild];

    /// The name it is recorded under in `package_notices`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Gating => "gating",
            NoticeKind::Stable => "stable",
            NoticeKind::NoBuild => "no_build",
        }
    }

    /// The id it goes by where rules are listed, and the rule a snooze holds.
    pub fn rule_id(self) -> &'static str {
        match self {
            NoticeKind::Gating => "chain-gating",
            NoticeKind::Stable => "chain-stable",
            NoticeKind::NoBuild => "chain-no-build",
        }
    }
}

/// What the notices are judged by: the profile's people and `[herald.packages]`, with
/// every length in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRules {
    /// "Mine": updates submitted by one of these.
    pub users: Vec<String>,
    pub settle_ms: i64,
    pub no_build_ms: i64,
    /// Nothing that became true longer ago than this is told.
    pub lookback_ms: i64,
    pub gating: bool,
    pub stable: bool,
    pub no_build: bool,
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl NoticeRules {
    pub fn new(settings: &PackageSettings, users: &[String]) -> NoticeRules {
        let settle_ms = ms(settings.gating_settle());
        let no_build_ms = ms(settings.no_build_after());
        NoticeRules {
            users: users.to_vec(),
            settle_ms,
            no_build_ms,
            lookback_ms: no_build_ms.saturating_add(settle_ms),
            gating: settings.notify_gating,
            stable: settings.notify_stable,
            no_build: settings.notify_no_build,
        }
    }

    /// Whether any notice can be raised at all.
    pub fn any(&self) -> bool {
        ((self.gating || self.stable) && !self.users.is_empty()) || self.no_build
    }

    fn mine(&self, u: &UpdateState) -> bool {
        u.user.as_ref().is_some_and(|n| self.users.contains(n))
    }

    /// Became true at `at`, recently enough to tell.
    fn recent(&self, at: i64, now_ms: i64) -> bool {
        now_ms.saturating_sub(at) <= self.lookback_ms
    }
}

/// One notice about one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub package: String,
    pub kind: NoticeKind,
    /// What makes it once, with the package and the kind.
    pub key: String,
    pub branch: Option<String>,
    /// When it became true (unix milliseconds).
    pub since: i64,
    /// The send time of the event it stems from, to find that message.
    pub event_at: i64,
    /// The update it is about (gating, stable).
    pub alias: Option<String>,
    pub decision: Option<Decision>,
    pub nvr: Option<String>,
    pub user: Option<String>,
    /// The update's page (gating, stable); for no build the caller finds Anitya's.
    pub url: Option<String>,
    /// The upstream version (no build).
    pub version: Option<String>,
    /// The newest version in Fedora (no build).
    pub fedora_version: Option<String>,
    /// How long the upstream release has waited, in milliseconds (no build).
    pub waited_ms: i64,
}

impl Notice {
    fn about(package: &str, kind: NoticeKind, key: String, since: i64, event_at: i64) -> Notice {
        Notice {
            package: package.to_owned(),
            kind,
            key,
            branch: None,
            since,
            event_at,
            alias: None,
            decision: None,
            nvr: None,
            user: None,
            url: None,
            version: None,
            fedora_version: None,
            waited_ms: 0,
        }
    }

    fn update(mut self, branch: &str, u: &UpdateState) -> Notice {
        self.branch = Some(branch.to_owned());
        self.alias = Some(u.alias.clone());
        self.nvr = u.nvr.clone();
        self.user = u.user.clone();
        self.url = u.url.clone();
        self
    }

    /// The title: "python-rich: gating passed (FEDORA-2026-1a2b3c, f43)", "python-rich
    /// 14.1.0 reached stable in f43", "python-rich: upstream 14.1.0 for 3 days, no build".
    pub fn summary(&self) -> String {
        let p = &self.package;
        let alias = self.alias.as_deref().unwrap_or("an update");
        match self.kind {
            NoticeKind::Gating => {
                let decision = self.decision.map_or("settled", Decision::as_str);
                match &self.branch {
                    Some(b) => format!("{p}: gating {decision} ({alias}, {b})"),
                    None => format!("{p}: gating {decision} ({alias})"),
                }
            }
            NoticeKind::Stable => {
                let what = match self.nvr.as_deref().and_then(Nvr::parse) {
                    Some(n) => format!("{p} {}", n.version),
                    None => format!("{p}: {alias}"),
                };
                match &self.branch {
                    Some(b) => format!("{what} reached stable in {b}"),
                    None => format!("{what} reached stable"),
                }
            }
            NoticeKind::NoBuild => format!(
                "{p}: upstream {} for {}, no build",
                self.version.as_deref().unwrap_or("release"),
                span(self.waited_ms)
            ),
        }
    }

    /// The body's lines, `Key: value` as the renderers write them.
    pub fn details(&self) -> String {
        let mut lines = Vec::new();
        let mut field = |k: &str, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                lines.push(format!("{k}: {}", crate::clean::one_line(v)));
            }
        };
        match self.kind {
            NoticeKind::Gating | NoticeKind::Stable => {
                field("Update", self.alias.as_deref());
                field("Build", self.nvr.as_deref());
                field("Branch", self.branch.as_deref());
                field("Submitter", self.user.as_deref());
            }
            NoticeKind::NoBuild => {
                field("Upstream", self.version.as_deref());
                field("Fedora", self.fedora_version.as_deref());
                field("Waiting", Some(&span(self.waited_ms)));
            }
        }
        lines.join("\n")
    }
}

/// "3 days", "1 day", "12 hours", "45 minutes".
fn span(ms: i64) -> String {
    let (n, unit) = if ms >= DAY_MS {
        (ms / DAY_MS, "day")
    } else if ms >= HOUR_MS {
        (ms / HOUR_MS, "hour")
    } else {
        (ms.max(0) / MINUTE_MS, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The notices `state` calls for at `now_ms`, whether raised before or not.
pub fn due(package: &str, state: &PackageState, now_ms: i64, rules: &NoticeRules) -> Vec<Notice> {
    let mut out = Vec::new();
    for (branch, b) in &state.branches {
        let Some(u) = b.update.as_ref().filter(|u| rules.mine(u)) else {
            continue;
        };
        if let (true, Some(at)) = (rules.stable, u.stable_at) {
            if rules.recent(at, now_ms) {
                let n = Notice::about(package, NoticeKind::Stable, u.alias.clone(), at, at);
                out.push(n.update(branch, u));
            }
        }
        if !rules.gating || gating_over(u) {
            continue;
        }
        let Some(g) = u
            .gating
            .as_ref()
            .filter(|g| g.settled(now_ms, rules.settle_ms))
        else {
            continue;
        };
        let settled_at = g.since.saturating_add(rules.settle_ms);
        if rules.recent(settled_at, now_ms) {
            let key = format!("{}:{}:{}", u.alias, g.decision.as_str(), g.since);
            let mut n = Notice::about(package, NoticeKind::Gating, key, settled_at, g.since);
            n.decision = Some(g.decision);
            out.push(n.update(branch, u));
        }
    }
    if let Some(since) = no_build_from(state, rules) {
        if now_ms >= since && rules.recent(since, now_ms) {
            if let Some(up) = &state.upstream {
                let mut n = Notice::about(
                    package,
                    NoticeKind::NoBuild,
                    up.version.clone(),
                    since,
                    up.since,
                );
                n.version = Some(up.version.clone());
                n.fedora_version = state.fedora_version.clone();
                n.waited_ms = now_ms.saturating_sub(up.since);
                out.push(n);
            }
        }
    }
    out
}

/// When `state` next calls for a notice by time passing alone (a decision settling, a
/// release waiting long enough), if it will.
pub fn next_due(state: &PackageState, now_ms: i64, rules: &NoticeRules) -> Option<i64> {
    let mut next: Option<i64> = None;
    let mut consider = |t: i64| {
        if t > now_ms {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    };
    if rules.gating {
        for u in state.branches.values().filter_map(|b| b.update.as_ref()) {
            if !rules.mine(u) || gating_over(u) {
                continue;
            }
            if let Some(g) = u
                .gating
                .as_ref()
                .filter(|g| g.decision != Decision::Waiting)
            {
                consider(g.since.saturating_add(rules.settle_ms));
            }
        }
    }
    if let Some(t) = no_build_from(state, rules) {
        consider(t);
    }
    next
}

/// Once stable (or withdrawn), an update's gating is no longer news.
fn gating_over(u: &UpdateState) -> bool {
    u.stable_at.is_some() || u.status.as_deref().is_some_and(|s| CLOSED.contains(&s))
}

/// When the newest upstream release will have waited `no_build_after` with no build of it:
/// Fedora is behind it, and no build or update of that version (or newer, in any state) has
/// been seen.
fn no_build_from(state: &PackageState, rules: &NoticeRules) -> Option<i64> {
    if !rules.no_build || state.behind_upstream() != Some(true) {
        return None;
    }
    let up = state.upstream.as_ref()?;
    let reaches = |nvr: Option<&str>| {
        nvr.and_then(Nvr::parse)
            .is_some_and(|n| compare_versions(n.version, &up.version) != Ordering::Less)
    };
    let built = state.branches.values().any(|b| {
        reaches(b.build.as_ref().map(|x| x.nvr.as_str()))
            || reaches(b.update.as_ref().and_then(|u| u.nvr.as_deref()))
    });
    (!built).then(|| up.since.saturating_add(rules.no_build_ms))
}

/// One of the chain's notifications as `herald rules list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainRule {
    pub id: &'static str,
    pub enabled: bool,
    /// The `[herald.packages]` key that turns it off.
    pub toggle: &'static str,
    pub description: String,
    /// Why it is on but cannot fire, if so.
    pub note: Option<String>,
}

/// The chain's notifications with the settings in force.
pub fn chain_rules(settings: &PackageSettings, profile: &Profile) -> Vec<ChainRule> {
    let no_users = profile
        .users
        .is_empty()
        .then(|| "no users in [herald.profile]: no update is mine".to_owned());
    let nothing_watched = (profile.users.is_empty() && profile.packages.is_empty())
        .then(|| "no users or packages in [herald.profile]: nothing is watched".to_owned());
    NoticeKind::ALL
        .into_iter()
        .map(|kind| {
            let (enabled, toggle, description, note) = match kind {
                NoticeKind::Gating => (
                    settings.notify_gating,
                    "notify_gating",
                    format!(
                        "My update's gating decision held for {} (one notification when it \
                         settles, again if it settles differently)",
                        settings.gating_settle
                    ),
                    no_users.clone(),
                ),
                NoticeKind::Stable => (
                    settings.notify_stable,
                    "notify_stable",
                    "My update reached stable (once per update)".to_owned(),
                    no_users.clone(),
                ),
                NoticeKind::NoBuild => (
                    settings.notify_no_build,
                    "notify_no_build",
                    format!(
                        "A watched package's new upstream release has no build after {} \
                         (once per version)",
                        settings.no_build_after
                    ),
                    nothing_watched.clone(),
                ),
            };
            ChainRule {
                id: kind.rule_id(),
                enabled,
                toggle,
                description,
                note: note.filter(|_| enabled),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
