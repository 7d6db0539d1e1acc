//! Writing batches: one transaction per batch, idempotent by message id.

use super::entry::{Entry, Quarantined, Stored};
use super::{rowid_base, HistoryStore};
use crate::error::HistoryError;
use crate::message::encode_header_table;
use serde::Serialize;
use sqlx::{Sqlite, SqliteConnection, Transaction};

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InsertReport {
    pub stored: usize,
    pub quarantined: usize,
    /// Already present (a redelivery or a re-import): nothing written.
    pub duplicates: usize,
}

impl InsertReport {
    pub fn add(&mut self, other: InsertReport) {
        self.stored += other.stored;
        self.quarantined += other.quarantined;
        self.duplicates += other.duplicates;
    }

    pub fn total(&self) -> usize {
        self.stored + self.quarantined + self.duplicates
    }
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (rowid, id, exchange, topic, sent_at, received_at, \
     severity, source, kind, summary, details, url, agent, icon, users, packages, body_text, \
     properties, headers, has_headers, body, problems, renderer_version) \
     VALUES ((SELECT COALESCE(MAX(rowid) + 1, ?1) FROM messages WHERE rowid >= ?1 AND rowid < ?1 + 1048576), \
     ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) \
     ON CONFLICT (id) DO NOTHING RETURNING rowid";

const INSERT_TAG: &str =
    "INSERT OR IGNORE INTO message_tags (message, kind, name) VALUES (?, ?, ?)";

const INSERT_QUARANTINE: &str =
    "INSERT INTO quarantine (id, exchange, topic, received_at, reason, \
     properties, headers, has_headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (id) DO NOTHING";

impl HistoryStore {
    /// Writes a batch in one transaction. When this returns `Ok`, every entry is durable.
    pub async fn insert_batch(&self, entries: &[Entry]) -> Result<InsertReport, HistoryError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(HistoryError::query("begin"))?;
        let mut report = InsertReport::default();
        for e in entries {
            report.add(insert_one(&mut tx, e).await?);
        }
        tx.commit().await.map_err(HistoryError::query("commit"))?;
        Ok(report)
    }
}

async fn insert_one(
    tx: &mut Transaction<'static, Sqlite>,
    e: &Entry,
) -> Result<InsertReport, HistoryError> {
    let conn: &mut SqliteConnection = tx;
    let mut r = InsertReport::default();
    let new = match e {
        Entry::Stored(s) => insert_stored(conn, s).await?,
        Entry::Quarantined(q) => insert_quarantined(conn, q).await?,
    };
    match (new, e) {
        (false, _) => r.duplicates = 1,
        (true, Entry::Stored(_)) => r.stored = 1,
        (true, Entry::Quarantined(_)) => r.quarantined = 1,
    }
    Ok(r)
}

fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

async fn insert_stored(conn: &mut SqliteConnection, s: &Stored) -> Result<bool, HistoryError> {
    let m = &s.msg;
    let r = &s.rendered;
    let problems = (!m.problems.is_empty()).then(|| json(&m.problems));
    let rowid: Option<i64> = sqlx::query_scalar(INSERT_MESSAGE)
        .bind(rowid_base(m.sent_at.unix_timestamp()))
        .bind(&m.id)
        .bind(&m.exchange)
        .bind(&m.topic)
        .bind(millis(m.sent_at))
        .bind(millis(m.received_at))
        .bind(i64::from(r.severity))
        .bind(&r.source)
        .bind(&r.kind)
        .bind(&r.summary)
        .bind(&r.details)
        .bind(&r.url)
        .bind(&r.agent)
        .bind(&r.icon)
        .bind(json(&r.users))
        .bind(json(&r.packages))
        .bind(&s.body_text)
        .bind(json(&m.properties))
        .bind(encode_header_table(&m.headers))
        .bind(m.had_headers)
        .bind(&m.body)
        .bind(problems)
        .bind(crate::sources::RENDERER_VERSION)
        .fetch_optional(&mut *conn)
        .await
        .map_err(HistoryError::query("insert message"))?;
    let Some(rowid) = rowid else {
        return Ok(false);
    };
    insert_tags(conn, rowid, s).await?;
    Ok(true)
}

async fn insert_tags(
    conn: &mut SqliteConnection,
    rowid: i64,
    s: &Stored,
) -> Result<(), HistoryError> {
    for (kind, name) in &s.tags {
        sqlx::query(INSERT_TAG)
            .bind(rowid)
            .bind(*kind)
            .bind(name)
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("insert tag"))?;
    }
    Ok(())
}

async fn insert_quarantined(
    conn: &mut SqliteConnection,
    q: &Quarantined,
) -> Result<bool, HistoryError> {
    let m = &q.msg;
    let done = sqlx::query(INSERT_QUARANTINE)
        .bind(&m.id)
        .bind(&m.exchange)
        .bind(&m.topic)
        .bind(millis(m.received_at))
        .bind(&q.reason)
        .bind(json(&m.properties))
        .bind(encode_header_table(&m.headers))
        .bind(m.had_headers)
        .bind(&m.body)
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("insert quarantined message"))?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the rendering of one stored row (after a renderer upgrade).
pub(super) async fn update_rendering(
    tx: &mut Transaction<'static, Sqlite>,
    rowid: i64,
    s: &Stored,
) -> Result<(), HistoryError> {
    let conn: &mut SqliteConnection = tx;
    let r = &s.rendered;
    sqlx::query(
        "UPDATE messages SET severity = ?, source = ?, kind = ?, summary = ?, details = ?, \
         url = ?, agent = ?, icon = ?, users = ?, packages = ?, body_text = ?, \
         renderer_version = ? WHERE rowid = ?",
    )
    .bind(i64::from(r.severity))
    .bind(&r.source)
    .bind(&r.kind)
    .bind(&r.summary)
    .bind(&r.details)
    .bind(&r.url)
    .bind(&r.agent)
    .bind(&r.icon)
    .bind(json(&r.users))
    .bind(json(&r.packages))
    .bind(&s.body_text)
    .bind(crate::sources::RENDERER_VERSION)
    .bind(rowid)
    .execute(&mut *conn)
    .await
    .map_err(HistoryError::query("update rendering"))?;
    sqlx::query("DELETE FROM message_tags WHERE message = ?")
        .bind(rowid)
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("update tags"))?;
    insert_tags(conn, rowid, s).await
}
