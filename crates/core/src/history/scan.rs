//! Walking the stored messages whole, newest first, for questions the indexes cannot answer:
//! "what would these rules have done to my history" (`herald rules test`). Rows come back in
//! pages keyed on the row id, so memory stays flat however large the history is.

use super::entry::message_from_row;
use super::get::rendered_from_row;
use super::{rowid_base, HistoryStore, Stored};
use crate::error::HistoryError;
use crate::record::Action;
use crate::sources::RenderContext;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use std::sync::Arc;
use time::OffsetDateTime;

/// Rows read per query.
const PAGE: i64 = 1000;

impl HistoryStore {
    /// Calls `f` with every stored message sent at or after `since` (all when `None`), newest
    /// first, stopping after `limit` messages. Returns how many were passed to `f`.
    pub async fn scan(
        &self,
        since: Option<OffsetDateTime>,
        limit: Option<usize>,
        mut f: impl FnMut(Stored),
    ) -> Result<usize, HistoryError> {
        let floor = since.map_or(0, |t| rowid_base(t.unix_timestamp()));
        let mut before = i64::MAX;
        let mut seen = 0usize;
        loop {
            let want = match limit {
                Some(l) if seen >= l => return Ok(seen),
                Some(l) => PAGE.min(i64::try_from(l - seen).unwrap_or(PAGE)),
                None => PAGE,
            };
            let rows = sqlx::query(
                "SELECT * FROM messages WHERE rowid < ? AND rowid >= ? \
                 ORDER BY rowid DESC LIMIT ?",
            )
            .bind(before)
            .bind(floor)
            .bind(want)
            .fetch_all(&self.pool)
            .await
            .map_err(HistoryError::query("scan messages"))?;
            let Some(last) = rows.last() else {
                return Ok(seen);
            };
            before = last
                .try_get("rowid")
                .map_err(HistoryError::query("read row id"))?;
            let full = i64::try_from(rows.len()).unwrap_or(0) == want;
            for row in &rows {
                f(stored_from_row(row, &self.ctx)?);
                seen += 1;
            }
            if !full {
                return Ok(seen);
            }
        }
    }
}

/// A stored row as the pipeline had it: message, rendering and the decision recorded.
fn stored_from_row(row: &SqliteRow, ctx: &RenderContext) -> Result<Stored, HistoryError> {
    let e = || HistoryError::query("read stored message");
    let rule: Option<String> = row.try_get("rule").map_err(e())?;
    let action: String = row.try_get("action").map_err(e())?;
    let rendered = rendered_from_row(row)?;
    let link_trusted = (rendered.url.as_deref()).is_some_and(|u| ctx.trusts(&rendered.source, u));
    Ok(Stored {
        msg: message_from_row(row)?,
        rendered,
        link_trusted,
        body_text: row.try_get("body_text").map_err(e())?,
        rule: rule.map(Arc::from),
        action: match action.as_str() {
            "notify" => Action::Notify,
            "drop" => Action::Drop,
            _ => Action::History,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Entry;
    use crate::message::{headers_from_json, Envelope, Message, Properties};
    use crate::sources::RenderContext;

    fn entry(n: i64, action: Action) -> Entry {
        let sent = OffsetDateTime::from_unix_timestamp(1_700_000_000 + n)
            .expect("time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
        let headers = serde_json::json!({
            "sent-at": sent,
            "fedora_messaging_schema": "base.message",
            "fedora_messaging_severity": 20,
            "fedora_messaging_rpm_chromium": true,
        });
        let env = Envelope {
            exchange: "amq.topic".into(),
            routing_key: format!("org.x.prod.thing.{n}"),
            properties: Properties {
                message_id: Some(format!("m-{n}")),
                ..Properties::default()
            },
            headers: headers.as_object().map(headers_from_json),
            body: format!("{{\"n\":{n},\"name\":\"chromium\"}}").into_bytes(),
            received_at: OffsetDateTime::now_utc(),
        };
        let mut e = Entry::new(Message::decode(env), &RenderContext::default());
        if let Entry::Stored(s) = &mut e {
            s.action = action;
            s.rule = (action == Action::Notify).then(|| Arc::from("mine"));
        }
        e
    }

    #[tokio::test]
    async fn scan_walks_every_page_newest_first_with_decisions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = HistoryStore::open(&dir.path().join("h.db"), &RenderContext::default())
            .await
            .expect("open");
        let entries: Vec<Entry> = (0..2_500)
            .map(|n| {
                let a = if n % 10 == 0 {
                    Action::Notify
                } else {
                    Action::History
                };
                entry(n, a)
            })
            .collect();
        store.insert_batch(&entries).await.expect("insert");

        let mut ids = Vec::new();
        let mut notified = 0;
        let n = store
            .scan(None, None, |s| {
                if s.action == Action::Notify {
                    assert_eq!(s.rule.as_deref(), Some("mine"));
                    notified += 1;
                }
                assert_eq!(s.msg.mentions.packages, ["chromium"]);
                assert!(s.body_text.contains("chromium"));
                assert!(!s.rendered.summary.is_empty());
                ids.push(s.msg.id);
            })
            .await
            .expect("scan");
        assert_eq!(n, 2_500);
        assert_eq!(notified, 250);
        assert_eq!(ids.first().map(String::as_str), Some("m-2499"));
        assert_eq!(ids.last().map(String::as_str), Some("m-0"));

        let since = OffsetDateTime::from_unix_timestamp(1_700_000_000 + 2_000).expect("time");
        let recent = store.scan(Some(since), None, |_| {}).await.expect("scan");
        assert_eq!(recent, 500);
        let mut few = Vec::new();
        let limited = store
            .scan(None, Some(3), |s| few.push(s.msg.id))
            .await
            .expect("scan");
        assert_eq!(limited, 3);
        assert_eq!(few, ["m-2499", "m-2498", "m-2497"]);
    }
}
