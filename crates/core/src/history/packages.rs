//! The history's side of the package model: rebuilding it from the stored messages when
//! its rules changed (or the renderings it reads did), and reading it.

use super::{entry, HistoryStore, Stored};
use crate::config::HeraldSettings;
use crate::error::HistoryError;
use crate::packages::{self, PackageSummary, Selection, TimelineEvent};
use sqlx::{QueryBuilder, Row, Sqlite};
use time::OffsetDateTime;

/// Row ids looked at per step of a rebuild.
const REBUILD_STEP: i64 = 5000;
/// Queued messages folded per step of a catch-up: the write lock is held while they are
/// decoded, so a step stays in the tens of milliseconds.
const FOLD_STEP: i64 = 2000;

impl HistoryStore {
    /// Rebuilds the package model from every stored message when it was built by other
    /// rules (an upgrade) or `force`d; returns whether it did.
    ///
    /// The walk goes in steps of its own transactions, with its position saved in each, so
    /// the write lock is never held for long (the tray keeps writing meanwhile, and a second
    /// process opening the history helps with the same walk instead of starting over), and
    /// an interrupted rebuild resumes at the next open. A message written while the walk is
    /// on may be applied twice; applying an event is idempotent, so that is harmless.
    pub async fn rebuild_packages(&self, force: bool) -> Result<bool, HistoryError> {
        if !force {
            // Read first, without the write lock: a reader (`herald stats`) must open a
            // history another process is writing to, and a current model needs no lock.
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(HistoryError::query("connect"))?;
            if packages::rebuild_cursor(&mut conn).await?.is_none()
                && packages::is_current(&mut conn).await?
            {
                return Ok(false);
            }
        }
        {
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(HistoryError::query("begin"))?;
            let cursor = packages::rebuild_cursor(&mut tx).await?;
            if !force && cursor.is_none() && packages::is_current(&mut tx).await? {
                return Ok(false);
            }
            if force || cursor.is_none() {
                packages::clear(&mut tx).await?;
                packages::set_rebuild_cursor(&mut tx, Some(i64::MIN)).await?;
            }
            tx.commit().await.map_err(HistoryError::query("commit"))?;
        }
        while self.rebuild_step().await? {}
        Ok(true)
    }

    /// One step of the walk; false once it is done.
    async fn rebuild_step(&self) -> Result<bool, HistoryError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(HistoryError::query("begin"))?;
        let Some(after) = packages::rebuild_cursor(&mut tx).await? else {
            return Ok(false);
        };
        // Topics first: most rows say nothing about packages and are never decoded.
        let rows =
            sqlx::query("SELECT rowid, topic FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?")
                .bind(after)
                .bind(REBUILD_STEP)
                .fetch_all(&mut *tx)
                .await
                .map_err(HistoryError::query("walk the history"))?;
        let Some(last) = rows.last() else {
            packages::set_rebuild_cursor(&mut tx, None).await?;
            packages::mark_current(&mut tx).await?;
            tx.commit().await.map_err(HistoryError::query("commit"))?;
            return Ok(false);
        };
        let last: i64 = last
            .try_get("rowid")
            .map_err(HistoryError::query("walk the history"))?;
        let mut wanted = Vec::new();
        for row in &rows {
            let topic: String = row
                .try_get("topic")
                .map_err(HistoryError::query("walk the history"))?;
            if packages::concerns_packages(&topic) {
                wanted.push(
                    row.try_get::<i64, _>("rowid")
                        .map_err(HistoryError::query("walk the history"))?,
                );
            }
        }
        fold(&mut tx, &self.ctx, &wanted).await?;
        packages::set_rebuild_cursor(&mut tx, Some(last)).await?;
        tx.commit().await.map_err(HistoryError::query("commit"))?;
        Ok(true)
    }

    /// Folds the messages the writer queued into the package model, in steps of their own
    /// transactions; returns how many it folded. With nothing queued it is one read and no
    /// write lock, so every reader of the model calls it before it looks.
    pub async fn catch_up_packages(&self) -> Result<usize, HistoryError> {
        {
            let mut conn = self
                .pool
                .acquire()
                .await
                .map_err(HistoryError::query("connect"))?;
            if packages::queued(&mut conn, 1).await?.is_empty() {
                return Ok(0);
            }
        }
        let mut folded = 0;
        loop {
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(HistoryError::query("begin"))?;
            // Another process may have folded them meanwhile.
            let ids = packages::queued(&mut tx, FOLD_STEP).await?;
            if ids.is_empty() {
                return Ok(folded);
            }
            fold(&mut tx, &self.ctx, &ids).await?;
            packages::dequeue(&mut tx, &ids).await?;
            tx.commit().await.map_err(HistoryError::query("commit"))?;
            folded += ids.len();
        }
    }

    /// [`catch_up_packages`](Self::catch_up_packages) for a reader: one that cannot fold
    /// (the history is read-only, or locked past the busy timeout) reads the model as it is.
    async fn catch_up_for_reading(&self) {
        if let Err(e) = self.catch_up_packages().await {
            tracing::warn!(error = %e, "the package model may lag behind the history");
        }
    }

    /// Summaries of the selected packages, by name.
    pub async fn package_summaries(
        &self,
        sel: &Selection,
        now: OffsetDateTime,
        settle: time::Duration,
    ) -> Result<Vec<PackageSummary>, HistoryError> {
        self.catch_up_for_reading().await;
        packages::summaries(&self.pool, sel, now, settle).await
    }

    /// The packages the user's `[herald.profile]` covers ([`Selection::of_profile`]), the
    /// one most in need of its packager first ([`PackageSummary::attention`]), with gating
    /// settled after `[herald.packages] gating_settle`.
    pub async fn profile_packages(
        &self,
        settings: &HeraldSettings,
        now: OffsetDateTime,
    ) -> Result<Vec<PackageSummary>, HistoryError> {
        let settle = time::Duration::try_from(settings.packages.gating_settle())
            .unwrap_or(packages::DEFAULT_SETTLE);
        let sel = Selection::of_profile(&settings.profile);
        let mut list = self.package_summaries(&sel, now, settle).await?;
        packages::by_attention(&mut list);
        Ok(list)
    }

    /// One package's timeline in time order, each link judged against the hosts this
    /// history was opened with (as the detail pane judges a message's).
    pub async fn package_timeline(
        &self,
        package: &str,
    ) -> Result<Vec<TimelineEvent>, HistoryError> {
        self.catch_up_for_reading().await;
        packages::timeline(&self.pool, package, &self.ctx).await
    }
}

/// Decodes the stored messages with these row ids and folds them into the model.
async fn fold(
    tx: &mut sqlx::SqliteConnection,
    ctx: &crate::sources::RenderContext,
    rowids: &[i64],
) -> Result<(), HistoryError> {
    if rowids.is_empty() {
        return Ok(());
    }
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT rowid, id, exchange, topic, received_at, properties, headers, \
         has_headers, body FROM messages WHERE rowid IN (",
    );
    let mut list = b.separated(", ");
    for id in rowids {
        list.push_bind(*id);
    }
    b.push(") ORDER BY rowid");
    let full = b
        .build()
        .fetch_all(&mut *tx)
        .await
        .map_err(HistoryError::query("read messages for the package model"))?;
    let mut stored = Vec::with_capacity(full.len());
    for row in &full {
        let rowid: i64 = row
            .try_get("rowid")
            .map_err(HistoryError::query("read row"))?;
        let msg = entry::message_from_row(row)?;
        stored.push((Stored::new(msg, ctx), rowid));
    }
    let rows: Vec<(&Stored, i64)> = stored.iter().map(|(s, r)| (s, *r)).collect();
    packages::record(tx, &rows).await
}

#[cfg(test)]
mod tests {
    use super::super::tests::store;
    use crate::config::HeraldSettings;
    use crate::history::Entry;
    use serde_json::{json, Value};
    use time::OffsetDateTime;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_767_225_600; // 2026-01-01

    /// A fedora-messaging message as its producer sends it: schema, send time and the
    /// `fedora_messaging_rpm_*` / `_user_*` mention headers.
    fn message(
        id: &str,
        topic: &str,
        schema: &str,
        mentions: &[&str],
        body: Value,
        at: i64,
    ) -> Entry {
        crate::testing::fm_entry(
            id,
            topic,
            Some(schema),
            mentions,
            &body,
            crate::testing::at(at),
        )
    }

    fn upstream(package: &str, version: &str, at: i64) -> Entry {
        message(
            &format!("up-{package}-{version}"),
            "org.release-monitoring.prod.anitya.project.version.update.v2",
            "anitya.project.version.update.v2",
            &[&format!("rpm_{package}")],
            json!({"message": {
                "project": {"name": package, "version": version},
                "packages": [{"distro": "Fedora", "package_name": package}],
                "upstream_versions": [version], "stable_versions": [version],
            }}),
            at,
        )
    }

    fn build(package: &str, version: &str, owner: &str, base_url: &str, at: i64) -> Entry {
        message(
            &format!("build-{package}-{version}"),
            "org.fedoraproject.prod.buildsys.build.state.change",
            "koji_fedoramessaging.build.BuildStateChangeV1",
            &[&format!("rpm_{package}"), &format!("user_{owner}")],
            json!({
                "build_id": 7, "name": package, "version": version, "release": "1.fc43",
                "owner": owner, "new": 1, "old": 0, "instance": "primary",
                "request": ["git+https://src.fedoraproject.org/rpms/x.git#0", "f43", {}],
                "base_url": base_url,
            }),
            at,
        )
    }

    fn settings(packages: &[&str], users: &[&str]) -> HeraldSettings {
        let mut s = crate::config::Config::fedora_public().herald;
        s.profile.packages = packages.iter().map(|p| (*p).to_owned()).collect();
        s.profile.users = users.iter().map(|u| (*u).to_owned()).collect();
        s
    }

    fn names(list: &[crate::packages::PackageSummary]) -> Vec<&str> {
        list.iter().map(|p| p.package.as_str()).collect()
    }

    #[tokio::test]
    async fn the_profile_s_packages_come_neediest_first() {
        let (_d, s) = store().await;
        let koji = "https://koji.fedoraproject.org";
        s.insert_batch(&[
            // Watched and current.
            upstream("beta", "1.0", NOW - 9 * DAY),
            build("beta", "1.0", "bob", koji, NOW - 8 * DAY),
            // Watched, behind for ten days.
            build("alpha", "1.0", "bob", koji, NOW - 20 * DAY),
            upstream("alpha", "2.0", NOW - 10 * DAY),
            // Built by the user, behind for three days.
            build("gamma", "3.0", "carol", koji, NOW - 5 * DAY),
            upstream("gamma", "3.1", NOW - 3 * DAY),
            // Nobody's.
            build("delta", "1.0", "dave", koji, NOW - DAY),
        ])
        .await
        .expect("insert");
        let now = OffsetDateTime::from_unix_timestamp(NOW).expect("time");

        let mine = s
            .profile_packages(&settings(&["alpha", "beta"], &["carol"]), now)
            .await
            .expect("summaries");
        assert_eq!(names(&mine), ["alpha", "gamma", "beta"]);
        assert_eq!(
            mine[0].behind_for(now),
            Some(time::Duration::days(10)),
            "{:?}",
            mine[0]
        );
        assert_eq!(mine[2].behind_for(now), None);

        // A profile that names nobody and nothing covers every package.
        let all = s
            .profile_packages(&settings(&[], &[]), now)
            .await
            .expect("summaries");
        assert_eq!(names(&all), ["alpha", "gamma", "delta", "beta"]);
    }

    #[tokio::test]
    async fn timeline_links_are_offered_only_to_the_source_s_known_hosts() {
        let (_d, s) = store().await;
        s.insert_batch(&[
            build(
                "pkg",
                "1.0",
                "bob",
                "https://koji.fedoraproject.org",
                NOW - 2 * DAY,
            ),
            build("pkg", "1.1", "bob", "https://koji.evil.example", NOW - DAY),
        ])
        .await
        .expect("insert");
        let events = s.package_timeline("pkg").await.expect("timeline");
        let links: Vec<(Option<&str>, bool, &str)> = events
            .iter()
            .map(|e| (e.link_host.as_deref(), e.link_trusted, e.source.as_str()))
            .collect();
        assert_eq!(
            links,
            [
                (Some("koji.fedoraproject.org"), true, "koji"),
                (Some("koji.evil.example"), false, "koji"),
            ]
        );
    }
}
