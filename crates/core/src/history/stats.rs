//! Counts and sizes for `herald stats`.

use super::HistoryStore;
use crate::error::HistoryError;
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub messages: i64,
    pub quarantined: i64,
    pub by_source: Vec<Count>,
    /// The most frequent topics.
    pub by_topic: Vec<Count>,
    /// Messages per deciding rule (`-` when none matched or for imports).
    pub by_rule: Vec<Count>,
    /// What became of messages marked notify: shown, coalesced, rate_limited, quiet, …
    pub by_notification: Vec<Count>,
    pub database_bytes: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub newest: Option<OffsetDateTime>,
}

impl HistoryStore {
    /// Records what became of messages marked notify, in one transaction.
    pub async fn set_fates(
        &self,
        fates: &[(String, crate::notify::Fate)],
    ) -> Result<(), HistoryError> {
        if fates.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(HistoryError::query("begin"))?;
        for (id, fate) in fates {
            sqlx::query("UPDATE messages SET notification = ? WHERE id = ?")
                .bind(fate.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(HistoryError::query("record notification"))?;
        }
        tx.commit().await.map_err(HistoryError::query("commit"))
    }

    /// Among `ids`, the stored messages marked notify whose fate was never recorded: a crash
    /// or a failed ack between commit and notification leaves them so, and their redelivery
    /// must still be offered. Back-filled ones are left to the catch-up's digest.
    pub async fn unnotified(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<String>, HistoryError> {
        self.ids_among(
            ids,
            &[
                "SELECT id FROM messages WHERE action = 'notify' AND notification IS NULL \
               AND backfilled = 0 AND id IN (",
            ],
            "find unnotified messages",
        )
        .await
    }

    /// Among `ids`, those already stored (or quarantined).
    pub async fn known_ids(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<String>, HistoryError> {
        self.ids_among(
            ids,
            &[
                "SELECT id FROM messages WHERE id IN (",
                ") UNION SELECT id FROM quarantine WHERE id IN (",
            ],
            "find known messages",
        )
        .await
    }

    /// The ids a query returns when each of `parts` is followed by the list of `ids` (in
    /// chunks, as SQLite bounds the variables of a statement).
    async fn ids_among(
        &self,
        ids: &[&str],
        parts: &[&'static str],
        op: &'static str,
    ) -> Result<std::collections::HashSet<String>, HistoryError> {
        let mut out = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let mut b: sqlx::QueryBuilder<sqlx::Sqlite> = sqlx::QueryBuilder::new("");
            for part in parts {
                b.push(*part);
                let mut list = b.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
            }
            b.push(")");
            let found: Vec<String> = b
                .build_query_scalar()
                .fetch_all(&self.pool)
                .await
                .map_err(HistoryError::query(op))?;
            out.extend(found);
        }
        Ok(out)
    }

    pub async fn stats(&self, top_topics: u32) -> Result<Stats, HistoryError> {
        let e = HistoryError::query;
        let one = |sql: &'static str| async move {
            sqlx::query_scalar::<_, Option<i64>>(sql)
                .fetch_optional(&self.pool)
                .await
                .map(Option::flatten)
                .map_err(HistoryError::query("stats"))
        };
        let counts = |sql: &'static str, limit: i64| async move {
            let rows = sqlx::query(sql)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(HistoryError::query("stats"))?;
            rows.iter()
                .map(|r| {
                    Ok(Count {
                        name: r.try_get(0).map_err(e("stats"))?,
                        count: r.try_get(1).map_err(e("stats"))?,
                    })
                })
                .collect::<Result<Vec<_>, HistoryError>>()
        };
        let time = |ms: Option<i64>| {
            ms.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            })
        };
        Ok(Stats {
            messages: one("SELECT COUNT(*) FROM messages").await?.unwrap_or(0),
            quarantined: one("SELECT COUNT(*) FROM quarantine").await?.unwrap_or(0),
            by_source: counts(
                "SELECT source, COUNT(*) AS n FROM messages GROUP BY source ORDER BY n DESC LIMIT ?",
                1000,
            )
            .await?,
            by_topic: counts(
                "SELECT topic, COUNT(*) AS n FROM messages GROUP BY topic ORDER BY n DESC LIMIT ?",
                i64::from(top_topics),
            )
            .await?,
            by_rule: counts(
                "SELECT COALESCE(rule, '-'), COUNT(*) AS n FROM messages GROUP BY rule \
                 ORDER BY n DESC LIMIT ?",
                1000,
            )
            .await?,
            by_notification: counts(
                "SELECT notification, COUNT(*) AS n FROM messages WHERE notification IS NOT NULL \
                 GROUP BY notification ORDER BY n DESC LIMIT ?",
                100,
            )
            .await?,
            database_bytes: one(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )
            .await?
            .unwrap_or(0),
            // Row ids follow send time, so the ends of the rowid order are the oldest and newest.
            oldest: time(one("SELECT sent_at FROM messages ORDER BY rowid LIMIT 1").await?),
            newest: time(one("SELECT sent_at FROM messages ORDER BY rowid DESC LIMIT 1").await?),
        })
    }
}
