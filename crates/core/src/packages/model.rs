//! One package's state as the chain has told it so far, and how an event changes it.
//!
//! Every part keeps the send time (`at`, unix milliseconds) of the event it came from, and
//! an event older than that leaves it alone: a catch-up that back-fills this morning's
//! messages after this afternoon's must not turn a stable update back into "testing".

use super::evr::{self, compare_versions};
use super::extract::{Change, Decision, Event};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The most branches kept for one package (a hostile stream of made-up branch names must
/// not grow a row without bound).
const BRANCHES_MAX: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Upstream>,
    /// The newest version built (complete) or pushed in Fedora, in RPM order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fedora_version: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub branches: BTreeMap<String, BranchState>,
    /// Koschei's view per collection: failing or not, and since when.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub koschei: BTreeMap<String, Koschei>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub version: String,
    /// When this version was first announced.
    pub since: i64,
    /// The newest announcement of it.
    pub at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateState>,
    /// The newest build tagged where stable builds land (`f43-updates`, or Rawhide's `f44`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Build {
    pub nvr: String,
    pub state: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A value with the NVR it is about and when it was said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub nvr: String,
    pub value: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub karma: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gating: Option<Gating>,
    /// When it reached stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_at: Option<i64>,
    pub at: i64,
}

impl UpdateState {
    /// An update known by its alias only, as of `at`.
    fn new(alias: &str, at: i64) -> UpdateState {
        UpdateState {
            alias: alias.to_owned(),
            status: None,
            request: None,
            user: None,
            karma: None,
            url: None,
            nvr: None,
            gating: None,
            stable_at: None,
            at,
        }
    }
}

/// Greenwave's decision on an update. It flips (failed → waiting → failed → passed) while
/// results come in; `since` is when it last changed, so it counts as settled once it has
/// held for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gating {
    pub decision: Decision,
    pub since: i64,
    pub at: i64,
}

impl Gating {
    /// Settled: a verdict (not "waiting") that has held for `window_ms` by `now_ms`.
    pub fn settled(&self, now_ms: i64, window_ms: i64) -> bool {
        self.decision != Decision::Waiting && now_ms.saturating_sub(self.since) >= window_ms
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Koschei {
    pub failing: bool,
    pub at: i64,
}

impl PackageState {
    /// Whether the newest Fedora version is older than the newest upstream stable one, in
    /// RPM order; unknown until both are known.
    pub fn behind_upstream(&self) -> Option<bool> {
        let upstream = self.upstream.as_ref()?;
        let fedora = self.fedora_version.as_deref()?;
        Some(compare_versions(fedora, &upstream.version) == Ordering::Less)
    }

    /// Failing to build from source in any collection Koschei watches; unknown without it.
    pub fn ftbfs(&self) -> Option<bool> {
        (!self.koschei.is_empty()).then(|| self.koschei.values().any(|k| k.failing))
    }

    /// Applies one event sent at `at`; returns the people it names as the package's
    /// builders or update submitters.
    pub fn apply(&mut self, e: &Event, at: i64) -> Option<String> {
        match &e.change {
            Change::Nothing => None,
            Change::Upstream => {
                self.upstream_version(e, at);
                None
            }
            Change::Build { owner } => {
                let branch = self.branch(e.branch.as_deref())?;
                let nvr = e.nvr.clone()?;
                if branch.build.as_ref().is_none_or(|b| at >= b.at) {
                    branch.build = Some(Build {
                        nvr,
                        state: e.state.clone().unwrap_or_default(),
                        at,
                        url: e.url.clone(),
                        owner: owner.clone(),
                    });
                }
                if e.state.as_deref() == Some("complete") {
                    self.fedora(e.version.as_deref());
                }
                owner.clone()
            }
            Change::Tag { tag, added } => {
                if *added {
                    self.tagged(e, tag, at);
                }
                None
            }
            Change::Update(u) => {
                let branch = self.update_branch(e.branch.as_deref(), &u.alias)?;
                let current = branch
                    .update
                    .get_or_insert_with(|| UpdateState::new(&u.alias, i64::MIN));
                if current.alias != u.alias {
                    if at < current.at {
                        return None;
                    }
                    *current = UpdateState::new(&u.alias, at);
                }
                if u.stable {
                    current.stable_at = Some(current.stable_at.map_or(at, |s| s.min(at)));
                }
                if at >= current.at {
                    current.at = at;
                    current.status = if current.stable_at.is_some() {
                        Some("stable".to_owned())
                    } else {
                        u.status.clone().or(current.status.take())
                    };
                    current.request = u.request.clone();
                    current.user = u.user.clone().or(current.user.take());
                    current.karma = u.karma.or(current.karma);
                    current.url = e.url.clone().or(current.url.take());
                    current.nvr = e.nvr.clone().or(current.nvr.take());
                }
                if matches!(current.status.as_deref(), Some("testing" | "stable")) {
                    self.fedora(e.version.as_deref());
                }
                u.user.clone()
            }
            Change::Karma { alias, total } => {
                let update = self.find_update(e.branch.as_deref(), alias)?;
                if let Some(total) = total {
                    update.karma = Some(*total);
                }
                None
            }
            Change::Ci => {
                let branch = self.branch(e.branch.as_deref())?;
                if branch.ci.as_ref().is_none_or(|c| at >= c.at) {
                    branch.ci = Some(Stamp {
                        nvr: e.nvr.clone().unwrap_or_default(),
                        value: e.state.clone().unwrap_or_default(),
                        at,
                    });
                }
                None
            }
            Change::Gating { subject, decision } => {
                let update = self.gated_update(e.branch.as_deref(), subject, e.nvr.as_deref())?;
                match &mut update.gating {
                    None => {
                        update.gating = Some(Gating {
                            decision: *decision,
                            since: at,
                            at,
                        })
                    }
                    Some(g) if at >= g.at => {
                        if g.decision != *decision {
                            g.since = at;
                            g.decision = *decision;
                        }
                        g.at = at;
                    }
                    Some(_) => {}
                }
                None
            }
            Change::Ftbfs { failing } => {
                let key = e.branch.clone().unwrap_or_else(|| "rawhide".to_owned());
                if self.koschei.len() >= BRANCHES_MAX && !self.koschei.contains_key(&key) {
                    return None;
                }
                let entry = self.koschei.entry(key).or_insert(Koschei {
                    failing: *failing,
                    at,
                });
                if at >= entry.at {
                    entry.failing = *failing;
                    entry.at = at;
                }
                None
            }
        }
    }

    fn upstream_version(&mut self, e: &Event, at: i64) {
        let Some(version) = e.version.clone() else {
            return;
        };
        match &mut self.upstream {
            Some(u) => match compare_versions(&version, &u.version) {
                Ordering::Greater => {
                    *u = Upstream {
                        version,
                        since: at,
                        at,
                    }
                }
                Ordering::Equal => {
                    u.since = u.since.min(at);
                    u.at = u.at.max(at);
                }
                Ordering::Less => {}
            },
            None => {
                self.upstream = Some(Upstream {
                    version,
                    since: at,
                    at,
                })
            }
        }
    }

    /// A build tagged where stable builds land is stable in that branch, and so is the
    /// update carrying it (Rawhide's updates say so only this way).
    fn tagged(&mut self, e: &Event, tag: &str, at: i64) {
        if !evr::is_stable_tag(tag) {
            return;
        }
        let version = e.version.clone();
        let Some(branch) = self.branch(e.branch.as_deref()) else {
            return;
        };
        let nvr = e.nvr.clone().unwrap_or_default();
        if branch.stable.as_ref().is_none_or(|s| at >= s.at) {
            branch.stable = Some(Stamp {
                nvr: nvr.clone(),
                value: tag.to_owned(),
                at,
            });
        }
        if let Some(u) = branch
            .update
            .as_mut()
            .filter(|u| u.nvr.as_deref() == Some(&nvr))
        {
            u.stable_at = Some(u.stable_at.map_or(at, |s| s.min(at)));
            u.status = Some("stable".to_owned());
        }
        self.fedora(version.as_deref());
    }

    fn fedora(&mut self, version: Option<&str>) {
        let Some(v) = version.filter(|v| !v.is_empty()) else {
            return;
        };
        if self
            .fedora_version
            .as_deref()
            .is_none_or(|f| compare_versions(v, f) == Ordering::Greater)
        {
            self.fedora_version = Some(v.to_owned());
        }
    }

    fn branch(&mut self, name: Option<&str>) -> Option<&mut BranchState> {
        let name = name?;
        if self.branches.len() >= BRANCHES_MAX && !self.branches.contains_key(name) {
            return None;
        }
        Some(self.branches.entry(name.to_owned()).or_default())
    }

    /// The branch an update belongs to: the event's, or the one already holding the alias.
    fn update_branch(&mut self, name: Option<&str>, alias: &str) -> Option<&mut BranchState> {
        let name = name.map(str::to_owned).or_else(|| {
            self.branches
                .iter()
                .find(|(_, b)| b.update.as_ref().is_some_and(|u| u.alias == alias))
                .map(|(n, _)| n.clone())
        });
        self.branch(name.as_deref())
    }

    fn find_update(&mut self, name: Option<&str>, alias: &str) -> Option<&mut UpdateState> {
        self.branches
            .iter_mut()
            .filter(|(n, _)| name.is_none_or(|b| b == n.as_str()))
            .filter_map(|(_, b)| b.update.as_mut())
            .find(|u| u.alias == alias)
    }

    /// The update a decision is about: by alias, or by the NVR it carries.
    fn gated_update(
        &mut self,
        name: Option<&str>,
        subject: &str,
        nvr: Option<&str>,
    ) -> Option<&mut UpdateState> {
        self.branches
            .iter_mut()
            .filter(|(n, _)| name.is_none_or(|b| b == n.as_str()))
            .filter_map(|(_, b)| b.update.as_mut())
            .find(|u| {
                u.alias == subject
                    || u.nvr.as_deref() == Some(subject)
                    || (nvr.is_some() && u.nvr.as_deref() == nvr)
            })
    }
}
