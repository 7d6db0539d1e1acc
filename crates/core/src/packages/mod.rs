//! Each package's story from upstream release to stable: the events of the chain (Anitya →
//! hotness → bug → commit → build → tag → update → CI → gating → feedback → stable, with
//! Koschei and Copr beside it) connected per package and per branch.
//!
//! The model is kept as messages are stored: the writer only queues the row of each message
//! that concerns packages, in the batch's own transaction ([`queue`]), and the queue is
//! folded in right after, off the ingest path — by the pipeline after each batch, and by
//! any reader before it looks ([`record`]: every message adds its timeline events and
//! updates the state of the packages it names). Looking at 500 packages reads 500 small
//! rows instead of walking the history. Events may arrive out of order (a catch-up back-fills hours ago), so each
//! part of the state keeps the send time it came from and only a newer event replaces it.
//! When the model's meaning changes, [`MODEL_VERSION`] goes up and the history rebuilds it
//! from the stored messages at the next open.

#[cfg(all(test, feature = "ts"))]
mod contract_tests;
pub mod evr;
mod extract;
mod gating;
mod model;
pub mod notice;
mod query;
mod store;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;

pub use extract::{extract, Change, Decision, Event, Extracted, Update};
pub use model::{BranchState, Build, Gating, PackageState, UpdateState, Upstream};
pub use query::{
    by_attention, event_message, notice_once, set_notice_fates, states, summaries, timeline,
    BranchView, BuildView, PackageSummary, Selection, TimelineEvent, UpdateView, UpstreamView,
    DEFAULT_SETTLE,
};
pub(crate) use store::{
    clear, concerns_packages, dequeue, is_current, mark_current, millis, queue, queued,
    rebuild_cursor, record, set_rebuild_cursor,
};

use serde::{Deserialize, Serialize};

/// Bumped whenever what the model derives from a message changes, so it is rebuilt.
pub const MODEL_VERSION: i64 = 2;

/// Where in the chain an event belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Upstream,
    Hotness,
    Bug,
    Commit,
    Build,
    Tag,
    Update,
    Ci,
    Gating,
    Feedback,
    Ftbfs,
    Copr,
}

impl Stage {
    pub const ALL: [Stage; 12] = [
        Stage::Upstream,
        Stage::Hotness,
        Stage::Bug,
        Stage::Commit,
        Stage::Build,
        Stage::Tag,
        Stage::Update,
        Stage::Ci,
        Stage::Gating,
        Stage::Feedback,
        Stage::Ftbfs,
        Stage::Copr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Upstream => "upstream",
            Stage::Hotness => "hotness",
            Stage::Bug => "bug",
            Stage::Commit => "commit",
            Stage::Build => "build",
            Stage::Tag => "tag",
            Stage::Update => "update",
            Stage::Ci => "ci",
            Stage::Gating => "gating",
            Stage::Feedback => "feedback",
            Stage::Ftbfs => "ftbfs",
            Stage::Copr => "copr",
        }
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }
}
