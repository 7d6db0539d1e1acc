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
    pub async fn rebuild_packages(&self, force: bool) -> Result<bool, HistoryError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(HistoryError::query("begin"))?;
        if !force && packages::is_current(&mut conn).await? {
            return Ok(false);
        }
        let ctx = self.ctx.clone();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(HistoryError::query("begin"))?;
        packages::clear(&mut tx).await?;
        let mut after = i64::MIN;
        loop {
            // Topics first: most rows say nothing about packages and are never decoded.
            let rows = sqlx::query(
                "SELECT rowid, topic FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?",
            )
            .bind(after)
            .bind(REBUILD_STEP)
            .fetch_all(&mut *tx)
            .await
            .map_err(HistoryError::query("walk the history"))?;
            let Some(last) = rows.last() else {
                break;
            };
            after = last
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
            if wanted.is_empty() {
                continue;
            }
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
        packages::mark_current(&mut tx).await?;
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
