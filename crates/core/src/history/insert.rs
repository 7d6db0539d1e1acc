//! Writing batches: one transaction per batch, idempotent by message id.

use super::{rowid_base, HistoryStore};
use crate::error::HistoryError;
use crate::message::encode_header_table;
use crate::packages::millis;
use crate::record::{Entry, Quarantined, Stored};
use serde::Serialize;
use sqlx::{Connection as _, QueryBuilder, Sqlite, SqliteConnection, Transaction};
use std::collections::{HashMap, HashSet};

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

/// Rows per multi-row statement: 26 columns each stays far below SQLite's 32766 variables.
const MESSAGE_CHUNK: usize = 400;
/// Values per lookup statement (ids of a batch, seconds of a batch).
const LOOKUP_CHUNK: usize = 3000;
const QUARANTINE_CHUNK: usize = 2000;
const SECOND: i64 = 1 << super::ROWID_SHIFT;
/// Bytes of a quarantined body kept: enough to see what went wrong (the limit for a usable
/// body is far below a broker's maximum, so whole bodies here could fill the disk).
pub const QUARANTINE_BODY_PREFIX: usize = 64 * 1024;

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const MESSAGE_COLUMNS: &str = "INSERT INTO messages (rowid, id, exchange, topic, sent_at, \
     received_at, severity, source, kind, summary, details, url, agent, icon, users, packages, \
     body_text, properties, headers, has_headers, body, problems, renderer_version, rule, \
     action, backfilled) ";

impl HistoryStore {
    /// Writes a batch in one transaction. When this returns `Ok`, every entry is durable.
    ///
    /// Rows are written with multi-row statements: each statement crosses to SQLite's thread
    /// once, which is most of the cost of a small row.
    pub async fn insert_batch(&self, entries: &[Entry]) -> Result<InsertReport, HistoryError> {
        Ok(self.insert_batch_new(entries).await?.0)
    }

    /// [`insert_batch`](Self::insert_batch), also returning the ids of the messages this
    /// batch added (not the ones already known), so that only they raise notifications.
    pub async fn insert_batch_new(
        &self,
        entries: &[Entry],
    ) -> Result<(InsertReport, HashSet<String>), HistoryError> {
        if entries.is_empty() {
            return Ok((InsertReport::default(), HashSet::new()));
        }
        let mut pooled = self
            .pool
            .acquire()
            .await
            .map_err(HistoryError::query("begin"))?;
        let written = write_batch(&mut pooled, entries).await;
        if let Ok((_, _, true)) = &written {
            self.package_changes.send_modify(|n| *n = n.wrapping_add(1));
        }
        if written.is_err() {
            // A COMMIT that failed (disk full) leaves the connection inside its transaction,
            // and the pool would hand it out again, refusing every later write: close it, so
            // that writing resumes on a fresh connection once the fault clears.
            pooled.close_on_drop();
        }
        written.map(|(report, added, _)| (report, added))
    }
}

/// [`HistoryStore::insert_batch_new`] on one connection; also whether it queued messages
/// for the package model.
async fn write_batch(
    pooled: &mut SqliteConnection,
    entries: &[Entry],
) -> Result<(InsertReport, HashSet<String>, bool), HistoryError> {
    {
        // IMMEDIATE: take the write lock before reading the row ids to use.
        let mut tx = pooled
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(HistoryError::query("begin"))?;
        let conn: &mut SqliteConnection = &mut tx;
        let candidates: Vec<&Stored> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Stored(s) => Some(&**s),
                Entry::Quarantined(_) => None,
            })
            .collect();
        // Redeliveries and repeats within the batch are found up front, so the inserts need
        // not report back row by row.
        let existing = existing_ids(conn, &candidates).await?;
        let mut seen = HashSet::new();
        let stored: Vec<&Stored> = candidates
            .into_iter()
            .filter(|s| !existing.contains(&s.msg.id) && seen.insert(s.msg.id.as_str()))
            .collect();
        let quarantined: Vec<&Quarantined> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Quarantined(q) => Some(&**q),
                Entry::Stored(_) => None,
            })
            .collect();
        let mut report = InsertReport::default();
        let rowids = assign_rowids(conn, &stored).await?;
        // Ascending row ids: B-tree appends, and FTS5 keeps its pending terms in memory until
        // commit instead of flushing a segment whenever a row id goes backwards.
        let mut order: Vec<usize> = (0..stored.len()).collect();
        order.sort_by_key(|&i| rowids[i]);
        let stored: Vec<&Stored> = order.iter().map(|&i| stored[i]).collect();
        let rowids: Vec<i64> = order.iter().map(|&i| rowids[i]).collect();
        for (chunk, ids) in stored
            .chunks(MESSAGE_CHUNK)
            .zip(rowids.chunks(MESSAGE_CHUNK))
        {
            insert_messages(conn, chunk, ids).await?;
            report.stored += chunk.len();
        }
        let pending: Vec<i64> = stored
            .iter()
            .zip(&rowids)
            .filter(|(s, _)| crate::packages::concerns_packages(&s.msg.topic))
            .map(|(_, r)| *r)
            .collect();
        crate::packages::queue(conn, &pending).await?;
        for chunk in quarantined.chunks(QUARANTINE_CHUNK) {
            report.quarantined += insert_quarantined(conn, chunk).await?;
        }
        report.duplicates = entries.len() - report.stored - report.quarantined;
        tx.commit().await.map_err(HistoryError::query("commit"))?;
        let added = stored.iter().map(|s| s.msg.id.clone()).collect();
        Ok((report, added, !pending.is_empty()))
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// The ids among `stored` that the history already has.
async fn existing_ids(
    conn: &mut SqliteConnection,
    stored: &[&Stored],
) -> Result<HashSet<String>, HistoryError> {
    let mut out = HashSet::new();
    for chunk in stored.chunks(LOOKUP_CHUNK) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT json_group_array(id) FROM messages WHERE id IN (");
        let mut list = b.separated(", ");
        for s in chunk {
            list.push_bind(s.msg.id.clone());
        }
        b.push(")");
        let found: String = b
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await
            .map_err(HistoryError::query("find known messages"))?;
        out.extend(serde_json::from_str::<Vec<String>>(&found).unwrap_or_default());
    }
    Ok(out)
}

/// Row ids in send-time order: the next free id within each message's send second.
async fn assign_rowids(
    conn: &mut SqliteConnection,
    stored: &[&Stored],
) -> Result<Vec<i64>, HistoryError> {
    let bases: Vec<i64> = stored
        .iter()
        .map(|s| rowid_base(s.msg.sent_at.unix_timestamp()))
        .collect();
    let mut distinct = bases.clone();
    distinct.sort_unstable();
    distinct.dedup();
    // One round trip for all the seconds a batch touches (a backlog spans many).
    let mut next: HashMap<i64, i64> = HashMap::with_capacity(distinct.len());
    for chunk in distinct.chunks(LOOKUP_CHUNK) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new("WITH b(base) AS (");
        b.push_values(chunk, |mut row, base| {
            row.push_bind(*base);
        });
        // One result row, not one per second: every row crosses threads separately.
        b.push(
            ") SELECT json_group_array(json_array(base, (SELECT MAX(rowid) FROM messages \
             WHERE rowid >= base AND rowid < base + ",
        );
        b.push(SECOND.to_string());
        b.push("))) FROM b");
        let found: String = b
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await
            .map_err(HistoryError::query("find row ids"))?;
        let rows: Vec<(i64, Option<i64>)> = serde_json::from_str(&found).unwrap_or_default();
        for (base, max) in rows {
            next.insert(base, max.map_or(base, |m| m + 1));
        }
    }
    let mut out = Vec::with_capacity(stored.len());
    for base in bases {
        let slot = next.entry(base).or_insert(base);
        if *slot >= base + SECOND {
            // A million messages claim the same second: append after everything instead.
            let max: Option<i64> = sqlx::query_scalar("SELECT MAX(rowid) FROM messages")
                .fetch_one(&mut *conn)
                .await
                .map_err(HistoryError::query("find row id"))?;
            let assigned = out.iter().copied().max().unwrap_or(0);
            *slot = max.unwrap_or(0).max(assigned).max(*slot) + 1;
        }
        out.push(*slot);
        *slot += 1;
    }
    Ok(out)
}

/// Inserts one chunk of new messages and indexes them.
async fn insert_messages(
    conn: &mut SqliteConnection,
    chunk: &[&Stored],
    rowids: &[i64],
) -> Result<(), HistoryError> {
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(MESSAGE_COLUMNS);
    b.push_values(chunk.iter().zip(rowids), |mut row, (s, rowid)| {
        let m = &s.msg;
        let r = &s.rendered;
        row.push_bind(*rowid)
            .push_bind(m.id.clone())
            .push_bind(m.exchange.clone())
            .push_bind(m.topic.clone())
            .push_bind(millis(m.sent_at))
            .push_bind(millis(m.received_at))
            .push_bind(i64::from(r.severity))
            .push_bind(r.source.clone())
            .push_bind(r.kind.clone())
            .push_bind(r.summary.clone())
            .push_bind(r.details.clone())
            .push_bind(r.url.clone())
            .push_bind(r.agent.clone())
            .push_bind(r.icon.clone())
            .push_bind(json(&r.users))
            .push_bind(json(&r.packages))
            .push_bind(s.body_text.clone())
            .push_bind(json(&m.properties))
            .push_bind(encode_header_table(&m.headers))
            .push_bind(m.had_headers)
            .push_bind(m.body.clone())
            .push_bind((!m.problems.is_empty()).then(|| json(&m.problems)))
            .push_bind(crate::sources::RENDERER_VERSION)
            .push_bind(s.rule.as_deref().map(str::to_owned))
            .push_bind(s.action.as_str())
            .push_bind(m.backfilled);
    });
    b.build()
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("insert messages"))?;
    index_messages(conn, chunk, rowids).await?;
    mark_unread(conn, rowids).await
}

/// New messages are unread until the person marks them read.
async fn mark_unread(conn: &mut SqliteConnection, rowids: &[i64]) -> Result<(), HistoryError> {
    if rowids.is_empty() {
        return Ok(());
    }
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO unread (message) ");
    b.push_values(rowids, |mut row, rowid| {
        row.push_bind(*rowid);
    });
    b.build()
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("mark new messages unread"))?;
    Ok(())
}

/// Adds the newly written rows to the full-text index (see the second migration for why this
/// is not a trigger).
async fn index_messages(
    conn: &mut SqliteConnection,
    chunk: &[&Stored],
    rowids: &[i64],
) -> Result<(), HistoryError> {
    let rows: Vec<(&&Stored, &i64)> = chunk.iter().zip(rowids).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT INTO messages_fts (rowid, topic, summary, users, packages, body_text) ",
    );
    b.push_values(rows, |mut row, (s, rowid)| {
        row.push_bind(*rowid)
            .push_bind(s.msg.topic.clone())
            .push_bind(s.rendered.summary.clone())
            .push_bind(json(&s.rendered.users))
            .push_bind(json(&s.rendered.packages))
            .push_bind(s.body_text.clone());
    });
    b.build()
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("index messages"))?;
    Ok(())
}

async fn insert_quarantined(
    conn: &mut SqliteConnection,
    chunk: &[&Quarantined],
) -> Result<usize, HistoryError> {
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT INTO quarantine (id, exchange, topic, received_at, reason, properties, headers, \
         has_headers, body, body_length, body_sha256) ",
    );
    b.push_values(chunk, |mut row, q| {
        let m = &q.msg;
        let whole = m.body.len() <= QUARANTINE_BODY_PREFIX;
        let kept = &m.body[..m.body.len().min(QUARANTINE_BODY_PREFIX)];
        row.push_bind(m.id.clone())
            .push_bind(m.exchange.clone())
            .push_bind(m.topic.clone())
            .push_bind(millis(m.received_at))
            .push_bind(q.reason.clone())
            .push_bind(json(&m.properties))
            .push_bind(encode_header_table(&m.headers))
            .push_bind(m.had_headers)
            .push_bind(kept.to_vec())
            .push_bind((!whole).then(|| i64::try_from(m.body.len()).unwrap_or(i64::MAX)))
            .push_bind((!whole).then(|| sha256_hex(&m.body)));
    });
    b.push(" ON CONFLICT (id) DO NOTHING");
    let done = b
        .build()
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("insert quarantined messages"))?;
    Ok(usize::try_from(done.rows_affected()).unwrap_or(0))
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
    Ok(())
}
