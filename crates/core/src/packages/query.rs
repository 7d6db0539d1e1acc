//! Reading the model: one summary per package (what `herald packages` prints and the
//! Packages view shows) and one package's timeline in time order.

use super::evr::branch_order;
use super::model::{BranchState, PackageState};
use super::Stage;
use crate::error::HistoryError;
use crate::sources::RenderContext;
use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use time::OffsetDateTime;

/// How long a gating decision must hold before it counts as settled: Greenwave flips while
/// results arrive (bodhi#4219), typically within minutes.
pub const DEFAULT_SETTLE: time::Duration = time::Duration::minutes(15);

/// The most packages one summary request returns.
const SUMMARIES_MAX: usize = 5000;
/// The most events one timeline returns (the newest ones).
const TIMELINE_MAX: i64 = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PackageSummary {
    pub package: String,
    pub upstream: Option<UpstreamView>,
    pub branches: Vec<BranchView>,
    pub ftbfs: Option<bool>,
    pub behind_upstream: Option<bool>,
    /// Since when the newest upstream release has waited for Fedora (when behind).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub behind_since: Option<OffsetDateTime>,
    /// The newest version built or pushed in Fedora.
    pub fedora_version: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub changed_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpstreamView {
    pub version: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub sent_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BranchView {
    pub branch: String,
    pub build: Option<BuildView>,
    pub update: Option<UpdateView>,
    /// The newest build that reached stable in this branch.
    pub stable: Option<String>,
    /// The newest CI result, with its NVR.
    pub ci: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BuildView {
    pub nvr: String,
    pub state: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub sent_at: OffsetDateTime,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateView {
    pub alias: String,
    pub status: Option<String>,
    /// `passed`, `failed` or `waiting`, as Greenwave last decided.
    pub gating: Option<String>,
    /// The decision has held long enough to count (see [`DEFAULT_SETTLE`]).
    pub gating_settled: bool,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub karma: Option<i64>,
    pub url: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimelineEvent {
    /// The message id (`herald show ID`).
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub sent_at: OffsetDateTime,
    pub stage: Stage,
    pub branch: Option<String>,
    pub version: Option<String>,
    pub nvr: Option<String>,
    pub state: Option<String>,
    pub summary: String,
    /// The producer that sent it (`koji`, `bodhi`, …), which decides the hosts its link may
    /// go to.
    pub source: String,
    pub url: Option<String>,
    /// The host the link goes to, shown beside it (cleaned, never the whole URL).
    pub link_host: Option<String>,
    /// The link goes to a host its producer is known to use (`[herald.hosts]`), so it is
    /// offered to open; any other link is shown as text.
    pub link_trusted: bool,
}

/// Which packages a summary covers.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Exactly these, when any are named.
    pub names: Vec<String>,
    /// Otherwise the watched packages…
    pub watched: Vec<String>,
    /// …and those these people built or submitted updates for. With neither, every package.
    pub users: Vec<String>,
}

impl Selection {
    /// What the user's profile covers: the packages they watch and those their FAS names
    /// built or submitted updates for; every package when it names neither.
    pub fn of_profile(profile: &crate::filter::Profile) -> Selection {
        Selection {
            names: Vec::new(),
            watched: profile.packages.clone(),
            users: profile.users.clone(),
        }
    }
}

/// Puts `list` in [`PackageSummary::attention`] order, the package name breaking ties so the
/// order is the same every time.
pub fn by_attention(list: &mut [PackageSummary]) {
    list.sort_by(|a, b| {
        a.attention()
            .cmp(&b.attention())
            .then_with(|| a.package.cmp(&b.package))
    });
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl PackageSummary {
    pub fn new(
        package: String,
        state: &PackageState,
        changed_at: i64,
        now: OffsetDateTime,
        settle: time::Duration,
    ) -> PackageSummary {
        let now_ms = super::millis(now);
        let settle_ms = i64::try_from(settle.whole_milliseconds()).unwrap_or(i64::MAX);
        let mut branches: Vec<BranchView> = state
            .branches
            .iter()
            .map(|(name, b)| branch_view(name, b, now_ms, settle_ms))
            .collect();
        branches.sort_by(|a, b| branch_order(&a.branch, &b.branch));
        let behind = state.behind_upstream();
        PackageSummary {
            package,
            upstream: state.upstream.as_ref().map(|u| UpstreamView {
                version: u.version.clone(),
                sent_at: at(u.since),
            }),
            branches,
            ftbfs: state.ftbfs(),
            behind_upstream: behind,
            behind_since: state
                .upstream
                .as_ref()
                .filter(|_| behind == Some(true))
                .map(|u| at(u.since)),
            fedora_version: state.fedora_version.clone(),
            changed_at: at(changed_at),
        }
    }

    /// How much this package needs its packager, most first: behind upstream (longest
    /// first), failing to build, gating failed, an update in flight, the rest.
    pub fn attention(&self) -> (u8, i64) {
        let since = |t: Option<OffsetDateTime>| t.map_or(0, |t| t.unix_timestamp());
        let failed_build = self
            .branches
            .iter()
            .any(|b| b.build.as_ref().is_some_and(|x| x.state == "failed"));
        let gating_failed = self.branches.iter().any(|b| {
            b.update
                .as_ref()
                .is_some_and(|u| u.gating.as_deref() == Some("failed") && u.gating_settled)
        });
        let in_flight = self.branches.iter().any(|b| {
            b.update
                .as_ref()
                .is_some_and(|u| !matches!(u.status.as_deref(), Some("stable" | "obsolete")))
        });
        if self.behind_upstream == Some(true) {
            (0, since(self.behind_since))
        } else if self.ftbfs == Some(true) || failed_build {
            (1, -self.changed_at.unix_timestamp())
        } else if gating_failed {
            (2, -self.changed_at.unix_timestamp())
        } else if in_flight {
            (3, -self.changed_at.unix_timestamp())
        } else {
            (4, -self.changed_at.unix_timestamp())
        }
    }

    /// How long the newest upstream release has waited for Fedora at `now`, when behind.
    pub fn behind_for(&self, now: OffsetDateTime) -> Option<time::Duration> {
        let since = self
            .behind_since
            .filter(|_| self.behind_upstream == Some(true))?;
        Some((now - since).max(time::Duration::ZERO))
    }
}

fn branch_view(name: &str, b: &BranchState, now_ms: i64, settle_ms: i64) -> BranchView {
    BranchView {
        branch: name.to_owned(),
        build: b.build.as_ref().map(|x| BuildView {
            nvr: x.nvr.clone(),
            state: x.state.clone(),
            sent_at: at(x.at),
            url: x.url.clone(),
        }),
        update: b.update.as_ref().map(|u| UpdateView {
            alias: u.alias.clone(),
            status: u.status.clone(),
            gating: u.gating.as_ref().map(|g| g.decision.as_str().to_owned()),
            gating_settled: u
                .gating
                .as_ref()
                .is_some_and(|g| g.settled(now_ms, settle_ms)),
            karma: u.karma,
            url: u.url.clone(),
            user: u.user.clone(),
        }),
        stable: b.stable.as_ref().map(|s| s.nvr.clone()),
        ci: b.ci.as_ref().map(|c| format!("{} {}", c.value, c.nvr)),
    }
}

/// The states of the selected packages, by name.
pub async fn states(
    pool: &SqlitePool,
    sel: &Selection,
) -> Result<Vec<(String, PackageState, i64)>, HistoryError> {
    let mut b: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT name, state, changed_at FROM packages");
    if !sel.names.is_empty() {
        b.push(" WHERE name IN (");
        let mut list = b.separated(", ");
        for n in sel.names.iter().take(SUMMARIES_MAX) {
            list.push_bind(n.clone());
        }
        b.push(")");
    } else if !sel.watched.is_empty() || !sel.users.is_empty() {
        b.push(" WHERE name IN (SELECT value FROM json_each(");
        b.push_bind(serde_json::to_string(&sel.watched).unwrap_or_default());
        b.push(")) OR name IN (SELECT package FROM package_people WHERE user IN (SELECT value FROM json_each(");
        b.push_bind(serde_json::to_string(&sel.users).unwrap_or_default());
        b.push(")))");
    }
    b.push(" ORDER BY name LIMIT ");
    b.push(SUMMARIES_MAX.to_string());
    let rows = b
        .build()
        .fetch_all(pool)
        .await
        .map_err(HistoryError::query("read packages"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row
            .try_get("name")
            .map_err(HistoryError::query("read package"))?;
        let state: String = row
            .try_get("state")
            .map_err(HistoryError::query("read package"))?;
        let changed: i64 = row
            .try_get("changed_at")
            .map_err(HistoryError::query("read package"))?;
        let state = serde_json::from_str(&state).unwrap_or_default();
        out.push((name, state, changed));
    }
    Ok(out)
}

/// Summaries of the selected packages, by name.
pub async fn summaries(
    pool: &SqlitePool,
    sel: &Selection,
    now: OffsetDateTime,
    settle: time::Duration,
) -> Result<Vec<PackageSummary>, HistoryError> {
    Ok(states(pool, sel)
        .await?
        .into_iter()
        .map(|(name, state, changed)| PackageSummary::new(name, &state, changed, now, settle))
        .collect())
}

/// One package's events in the order they were sent (a catch-up stores this morning's
/// messages after this afternoon's), the last [`TIMELINE_MAX`] stored, each link trusted when
/// `ctx` knows its host for the event's source.
pub async fn timeline(
    pool: &SqlitePool,
    package: &str,
    ctx: &RenderContext,
) -> Result<Vec<TimelineEvent>, HistoryError> {
    let rows = sqlx::query(
        "SELECT * FROM (SELECT m.id, m.sent_at, m.summary, m.source, e.stage, e.branch, \
         e.version, e.nvr, e.state, e.url, e.message FROM package_events e \
         JOIN messages m ON m.rowid = e.message \
         WHERE e.package = ? ORDER BY e.message DESC LIMIT ?) ORDER BY sent_at, message",
    )
    .bind(package)
    .bind(TIMELINE_MAX)
    .fetch_all(pool)
    .await
    .map_err(HistoryError::query("read the package timeline"))?;
    let e = || HistoryError::query("read a timeline event");
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let stage: String = row.try_get("stage").map_err(e())?;
        let Some(stage) = Stage::from_name(&stage) else {
            continue;
        };
        let source: String = row.try_get("source").map_err(e())?;
        let url: Option<String> = row.try_get("url").map_err(e())?;
        out.push(TimelineEvent {
            id: row.try_get("id").map_err(e())?,
            sent_at: at(row.try_get("sent_at").map_err(e())?),
            stage,
            branch: row.try_get("branch").map_err(e())?,
            version: row.try_get("version").map_err(e())?,
            nvr: row.try_get("nvr").map_err(e())?,
            state: row.try_get("state").map_err(e())?,
            summary: row.try_get("summary").map_err(e())?,
            link_host: url.as_deref().and_then(crate::clean::host_of),
            link_trusted: url.as_deref().is_some_and(|u| ctx.trusts(&source, u)),
            source,
            url,
        });
    }
    Ok(out)
}

/// Records that a chain notice (`kind` about `key`) went out for a package; false when it
/// already had, so each is raised once.
pub async fn notice_once(
    pool: &SqlitePool,
    package: &str,
    kind: &str,
    key: &str,
    now: OffsetDateTime,
) -> Result<bool, HistoryError> {
    let done = sqlx::query(
        "INSERT OR IGNORE INTO package_notices (package, kind, key, at) VALUES (?, ?, ?, ?)",
    )
    .bind(package)
    .bind(kind)
    .bind(key)
    .bind(super::millis(now))
    .execute(pool)
    .await
    .map_err(HistoryError::query("record a package notice"))?;
    Ok(done.rows_affected() == 1)
}

/// The stored message behind an event of `package` sent at `at_ms` in one of `stages`
/// (the decision that held, the push to stable, the release), and the link it carries.
pub async fn event_message(
    pool: &SqlitePool,
    package: &str,
    stages: &[Stage],
    at_ms: i64,
) -> Result<Option<(String, Option<String>)>, HistoryError> {
    let stages: Vec<&str> = stages.iter().map(|s| s.as_str()).collect();
    let row = sqlx::query(
        "SELECT m.id, e.url FROM package_events e JOIN messages m ON m.rowid = e.message \
         WHERE e.package = ? AND m.sent_at = ? AND e.stage IN \
         (SELECT value FROM json_each(?)) ORDER BY e.message LIMIT 1",
    )
    .bind(package)
    .bind(at_ms)
    .bind(serde_json::to_string(&stages).unwrap_or_default())
    .fetch_optional(pool)
    .await
    .map_err(HistoryError::query("find a package event's message"))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let e = || HistoryError::query("read a package event's message");
    Ok(Some((
        row.try_get("id").map_err(e())?,
        row.try_get("url").map_err(e())?,
    )))
}

/// Records what became of chain notices: (package, kind, key, fate).
pub async fn set_notice_fates(
    pool: &SqlitePool,
    fates: &[(String, &str, String, crate::notify::Fate)],
) -> Result<(), HistoryError> {
    if fates.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await.map_err(HistoryError::query("begin"))?;
    for (package, kind, key, fate) in fates {
        sqlx::query(
            "UPDATE package_notices SET fate = ? WHERE package = ? AND kind = ? AND key = ?",
        )
        .bind(fate.as_str())
        .bind(package)
        .bind(*kind)
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(HistoryError::query("record a package notice's fate"))?;
    }
    tx.commit().await.map_err(HistoryError::query("commit"))
}
