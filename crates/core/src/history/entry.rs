//! What gets written for one delivery: a stored message with its rendering and search text,
//! or a quarantined delivery with its bytes and the reason.

use crate::error::HistoryError;
use crate::filter::Action;
use crate::message::{decode_header_table, Envelope, Message, Properties};
use crate::sources::{render, RenderContext, Rendered};
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::sync::Arc;

/// The part of a body that goes into the full-text index. Bodies can be large (Koji task
/// trees, Pulp progress reports); indexing their bounded string content keeps ingest fast
/// while topic, summary, people and packages are always indexed in full.
const BODY_TEXT_LIMIT: usize = 1024;
/// Longer strings are ids, hashes or logs, which nobody searches by words.
const BODY_STRING_LIMIT: usize = 200;

/// One delivery, ready to be written.
#[derive(Debug, Clone)]
pub enum Entry {
    Stored(Box<Stored>),
    Quarantined(Box<Quarantined>),
}

impl Entry {
    /// Decides where a decoded message goes and prepares its row.
    pub fn new(msg: Message, ctx: &RenderContext) -> Entry {
        match msg.quarantine.clone() {
            Some(reason) => Entry::Quarantined(Box::new(Quarantined { msg, reason })),
            None => Entry::Stored(Box::new(Stored::new(msg, ctx))),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Entry::Stored(s) => &s.msg.id,
            Entry::Quarantined(q) => &q.msg.id,
        }
    }

    pub fn message(&self) -> &Message {
        match self {
            Entry::Stored(s) => &s.msg,
            Entry::Quarantined(q) => &q.msg,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub msg: Message,
    pub rendered: Rendered,
    pub body_text: String,
    /// The rule that kept this message, if one did.
    pub rule: Option<Arc<str>>,
    /// Notify or history (what the rule, or the default for unmatched messages, decided).
    pub action: Action,
}

impl Stored {
    pub fn new(msg: Message, ctx: &RenderContext) -> Stored {
        let rendered = render(&msg, ctx);
        let body_text = msg.json.as_ref().map(body_text).unwrap_or_default();
        Stored {
            msg,
            rendered,
            body_text,
            rule: None,
            action: Action::History,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Quarantined {
    pub msg: Message,
    pub reason: String,
}

/// Bounded text of a JSON body: its short string values, in document order.
fn body_text(v: &Value) -> String {
    let mut out = String::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if out.len() >= BODY_TEXT_LIMIT {
            break;
        }
        match v {
            Value::String(s) if s.len() <= BODY_STRING_LIMIT && !s.is_empty() => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(s);
            }
            Value::Array(a) => stack.extend(a.iter().rev()),
            Value::Object(o) => stack.extend(o.values().rev()),
            _ => {}
        }
    }
    if out.len() > BODY_TEXT_LIMIT {
        let mut cut = BODY_TEXT_LIMIT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_text_is_bounded_and_skips_long_strings() {
        let long = "x".repeat(500);
        let v = serde_json::json!({"name": "chromium", "log": long, "n": 5, "list": ["a", "b"]});
        assert_eq!(body_text(&v), "a b chromium");
        let many: Vec<String> = (0..1000).map(|i| format!("word{i}")).collect();
        assert!(body_text(&serde_json::json!(many)).len() <= BODY_TEXT_LIMIT);
    }
}
