//! Reading a stored message back from its row, exactly as it was decoded on arrival.

use crate::error::HistoryError;
use crate::message::{decode_header_table, Envelope, Message, Properties};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// Rebuilds a message from a stored row, exactly as it was decoded on arrival.
pub(crate) fn message_from_row(row: &SqliteRow) -> Result<Message, HistoryError> {
    let get_err = HistoryError::query("read stored message");
    let props: String = row.try_get("properties").map_err(get_err)?;
    let headers: Vec<u8> = row
        .try_get("headers")
        .map_err(HistoryError::query("read headers"))?;
    let has_headers: bool = row
        .try_get("has_headers")
        .map_err(HistoryError::query("read headers"))?;
    let received_ms: i64 = row
        .try_get("received_at")
        .map_err(HistoryError::query("read time"))?;
    let properties: Properties = serde_json::from_str(&props).unwrap_or_default();
    let text = |c: &str| -> Result<String, HistoryError> {
        row.try_get(c)
            .map_err(HistoryError::query("read stored message"))
    };
    let env = Envelope {
        exchange: text("exchange")?,
        routing_key: text("topic")?,
        properties,
        headers: if has_headers {
            decode_header_table(&headers)
        } else {
            None
        },
        body: row
            .try_get("body")
            .map_err(HistoryError::query("read body"))?,
        received_at: time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(received_ms) * 1_000_000,
        )
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    };
    let mut msg = Message::decode(env);
    // The stored id wins: it may have been a derived one under an older scheme.
    msg.id = text("id")?;
    // Quarantine rows have no such column: they are never back-filled.
    msg.backfilled = row.try_get("backfilled").unwrap_or(false);
    Ok(msg)
}
