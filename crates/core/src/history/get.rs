//! Reading one message back whole: rendering plus the raw headers and body, for `show` and
//! the detail view.

use super::entry::message_from_row;
use super::HistoryStore;
use crate::error::HistoryError;
use crate::message::Message;
use crate::sources::Rendered;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// A stored message with everything Herald knows about it.
#[derive(Debug, Clone)]
pub struct Detail {
    pub message: Message,
    pub rendered: Rendered,
    /// Problems recorded on arrival.
    pub problems: Vec<String>,
    /// The rule that kept it (none for imports and when no rule matched).
    pub rule: Option<String>,
    /// `notify` or `history`.
    pub action: String,
}

/// A delivery kept in quarantine.
#[derive(Debug, Clone)]
pub struct QuarantineDetail {
    /// The body holds only the kept prefix when `body_length` is set.
    pub message: Message,
    pub reason: String,
    /// The length of the whole body, when only a prefix was kept.
    pub body_length: Option<u64>,
    /// SHA-256 (hex) of the whole body, when only a prefix was kept.
    pub body_sha256: Option<String>,
}

impl HistoryStore {
    /// The stored message with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Detail>, HistoryError> {
        let Some(row) = sqlx::query("SELECT * FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(HistoryError::query("get message"))?
        else {
            return Ok(None);
        };
        let e = || HistoryError::query("read message");
        Ok(Some(Detail {
            message: message_from_row(&row)?,
            problems: problems_from_row(&row)?,
            rule: row.try_get("rule").map_err(e())?,
            action: row.try_get("action").map_err(e())?,
            rendered: rendered_from_row(&row)?,
        }))
    }

    /// The quarantined delivery with this id, if any.
    pub async fn get_quarantined(
        &self,
        id: &str,
    ) -> Result<Option<QuarantineDetail>, HistoryError> {
        let Some(row) = sqlx::query("SELECT * FROM quarantine WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(HistoryError::query("get quarantined message"))?
        else {
            return Ok(None);
        };
        let e = || HistoryError::query("read quarantine");
        let length: Option<i64> = row.try_get("body_length").map_err(e())?;
        Ok(Some(QuarantineDetail {
            message: message_from_row(&row)?,
            reason: row.try_get("reason").map_err(e())?,
            body_length: length.and_then(|n| u64::try_from(n).ok()),
            body_sha256: row.try_get("body_sha256").map_err(e())?,
        }))
    }
}

/// The problems recorded on arrival for a message row.
pub(super) fn problems_from_row(row: &SqliteRow) -> Result<Vec<String>, HistoryError> {
    let problems: Option<String> = row
        .try_get("problems")
        .map_err(HistoryError::query("read message"))?;
    Ok(problems
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// The rendering stored beside a message row.
pub(super) fn rendered_from_row(row: &SqliteRow) -> Result<Rendered, HistoryError> {
    let e = || HistoryError::query("read message");
    let list = |c: &str| -> Result<Vec<String>, HistoryError> {
        let s: Option<String> = row.try_get(c).map_err(e())?;
        Ok(s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    };
    let severity: i64 = row.try_get("severity").map_err(e())?;
    Ok(Rendered {
        source: row.try_get("source").map_err(e())?,
        kind: row.try_get("kind").map_err(e())?,
        summary: row.try_get("summary").map_err(e())?,
        details: row.try_get("details").map_err(e())?,
        url: row.try_get("url").map_err(e())?,
        users: list("users")?,
        packages: list("packages")?,
        agent: row.try_get("agent").map_err(e())?,
        severity: u8::try_from(severity).unwrap_or(20),
        icon: row.try_get("icon").map_err(e())?,
    })
}
