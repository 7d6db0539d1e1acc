//! The history's side of the package model: rebuilding it from the stored messages when
//! its rules changed (or the renderings it reads did), and reading it.

use super::{entry, HistoryStore, Stored};
use crate::error::HistoryError;
use crate::packages::{self, PackageSummary, Selection, TimelineEvent};
use sqlx::{QueryBuilder, Row, Sqlite};
use time::OffsetDateTime;

/// Row ids looked at per step of a rebuild.
const REBUILD_STEP: i64 = 5000;

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
        let ctx = self.ctx.clone();
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
        if !wanted.is_empty() {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT rowid, id, exchange, topic, received_at, properties, headers, \
                 has_headers, body FROM messages WHERE rowid IN (",
            );
            let mut list = b.separated(", ");
            for id in &wanted {
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
                stored.push((Stored::new(msg, &ctx), rowid));
            }
            let rows: Vec<(&Stored, i64)> = stored.iter().map(|(s, r)| (s, *r)).collect();
            packages::record(&mut tx, &rows).await?;
        }
        packages::set_rebuild_cursor(&mut tx, Some(last)).await?;
        tx.commit().await.map_err(HistoryError::query("commit"))?;
        Ok(true)
    }

    /// Summaries of the selected packages, by name.
    pub async fn package_summaries(
        &self,
        sel: &Selection,
        now: OffsetDateTime,
        settle: time::Duration,
    ) -> Result<Vec<PackageSummary>, HistoryError> {
        packages::summaries(&self.pool, sel, now, settle).await
    }

    /// One package's timeline in time order.
    pub async fn package_timeline(
        &self,
        package: &str,
    ) -> Result<Vec<TimelineEvent>, HistoryError> {
        packages::timeline(&self.pool, package).await
    }
}
