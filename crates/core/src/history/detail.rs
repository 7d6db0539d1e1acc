//! The detail view of one stored message, as the history window shows it: its search hit,
//! rendering details and problems, and the raw properties, headers and body laid out for
//! reading. [`RawParts`] is the one place that lays the raw parts out; `herald show` prints
//! the same text.

use super::entry::message_from_row;
use super::get::problems_from_row;
use super::search::{hit_from_row, Hit, HIT_COLUMNS};
use super::HistoryStore;
use crate::error::HistoryError;
use crate::message::Message;
use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

/// Everything the detail pane shows about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessageDetail {
    pub hit: Hit,
    /// The rendering's longer text (may be empty).
    pub details: String,
    /// What was wrong with the message but tolerated on arrival.
    pub problems: Vec<String>,
    /// The AMQP basic properties, pretty-printed JSON.
    pub properties_json: String,
    /// The header table, pretty-printed JSON.
    pub headers_json: String,
    /// The body: pretty-printed JSON when it is JSON, else its text (invalid UTF-8 as U+FFFD).
    pub body: String,
    pub body_is_json: bool,
    /// The host the link goes to, shown beside it (cleaned, never the whole URL).
    pub link_host: Option<String>,
    /// The link goes to a host its producer is known to use (`[herald.hosts]`), so the window
    /// offers to open it; any other link is shown as text.
    pub link_trusted: bool,
}

/// A message's properties, headers and body as text for people to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParts {
    pub properties_json: String,
    pub headers_json: String,
    pub body: String,
    pub body_is_json: bool,
}

impl RawParts {
    pub fn of(m: &Message) -> RawParts {
        let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
        // Stored messages have a JSON object body; quarantined ones may still hold other JSON.
        let json = m
            .json
            .clone()
            .or_else(|| serde_json::from_slice::<serde_json::Value>(&m.body).ok());
        let (body, body_is_json) = match json {
            Some(v) => (pretty(&v), true),
            None => (m.body_text_lossy().into_owned(), false),
        };
        RawParts {
            properties_json: serde_json::to_string_pretty(&m.properties).unwrap_or_default(),
            headers_json: pretty(&m.headers_json()),
            body,
            body_is_json,
        }
    }
}

impl HistoryStore {
    /// The search hit of one stored message, without decoding or laying out its raw parts:
    /// what a live list needs for each new message.
    pub async fn hit(&self, id: &str) -> Result<Option<Hit>, HistoryError> {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT ");
        b.push(HIT_COLUMNS);
        b.push(" FROM messages m WHERE m.id = ");
        b.push_bind(id);
        let row = b
            .build()
            .fetch_optional(&self.pool)
            .await
            .map_err(HistoryError::query("get message hit"))?;
        row.as_ref().map(hit_from_row).transpose()
    }

    /// The detail view of the stored message with this id, if any. Reading it marks nothing.
    pub async fn detail(&self, id: &str) -> Result<Option<MessageDetail>, HistoryError> {
        let Some(row) = sqlx::query(
            "SELECT m.*, NOT EXISTS (SELECT 1 FROM unread WHERE unread.message = m.rowid) AS read \
             FROM messages m WHERE m.id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(HistoryError::query("get message detail"))?
        else {
            return Ok(None);
        };
        let raw = RawParts::of(&message_from_row(&row)?);
        let hit = hit_from_row(&row)?;
        let link_host = hit.url.as_deref().and_then(crate::clean::host_of);
        let link_trusted = hit
            .url
            .as_deref()
            .is_some_and(|u| self.ctx.trusts(&hit.source, u));
        Ok(Some(MessageDetail {
            hit,
            details: row
                .try_get("details")
                .map_err(HistoryError::query("read message"))?,
            problems: problems_from_row(&row)?,
            properties_json: raw.properties_json,
            headers_json: raw.headers_json,
            body: raw.body,
            body_is_json: raw.body_is_json,
            link_host,
            link_trusted,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::{envelope, store};
    use crate::history::{Entry, SearchQuery};
    use crate::sources::RenderContext;

    #[tokio::test]
    async fn hit_is_the_detail_s_hit_without_the_raw_parts() {
        let (_d, s) = store().await;
        let env = envelope(
            Some("hit-1"),
            "org.example.prod.widgets.build",
            serde_json::json!({"fedora_messaging_rpm_kernel": true}),
            r#"{"n": 1}"#,
            1_700_000_000,
        );
        s.insert_batch(&[Entry::new(Message::decode(env), &RenderContext::default())])
            .await
            .expect("insert");
        let detail = s.detail("hit-1").await.expect("detail").expect("stored");
        assert_eq!(s.hit("hit-1").await.expect("hit"), Some(detail.hit));
        assert_eq!(s.hit("nope").await.expect("hit"), None);
    }

    #[tokio::test]
    async fn detail_shows_the_hit_rendering_and_raw_parts() {
        let (_d, s) = store().await;
        let body = r#"{"build": {"name": "kernel", "nvr": "kernel-6.9-1"}, "owner": "alice"}"#;
        let env = envelope(
            Some("d-1"),
            "org.example.prod.widgets.build",
            serde_json::json!({"fedora_messaging_severity": 99, "fedora_messaging_user_alice": true}),
            body,
            1_700_000_000,
        );
        let msg = Message::decode(env);
        s.insert_batch(&[Entry::new(msg.clone(), &RenderContext::default())])
            .await
            .expect("insert");

        let d = s.detail("d-1").await.expect("detail").expect("present");
        let listed = s.search(&SearchQuery::default()).await.expect("search");
        assert_eq!(
            listed,
            std::slice::from_ref(&d.hit),
            "the same hit as in the list"
        );
        assert_eq!(d.hit.id, "d-1");
        assert!(!d.hit.read);
        let stored = s.get("d-1").await.expect("get").expect("present");
        assert_eq!(d.details, stored.rendered.details);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(d.problems[0].starts_with("fedora_messaging_severity is not 10, 20, 30 or 40"));
        assert!(d.body_is_json);
        let want: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(d.body, serde_json::to_string_pretty(&want).expect("pretty"));
        assert!(d.body.contains("\n  \"owner\": \"alice\""), "{}", d.body);
        let headers: serde_json::Value = serde_json::from_str(&d.headers_json).expect("json");
        assert_eq!(headers["fedora_messaging_user_alice"], true);
        assert!(d.headers_json.contains('\n'), "pretty-printed");
        let props: serde_json::Value = serde_json::from_str(&d.properties_json).expect("json");
        assert_eq!(props["message_id"], "d-1");
        // The same text `herald show` prints.
        let raw = RawParts::of(&msg);
        assert_eq!(
            (raw.headers_json, raw.properties_json, raw.body),
            (d.headers_json, d.properties_json, d.body)
        );

        s.mark_read(&["d-1".to_owned()]).await.expect("mark");
        let d = s.detail("d-1").await.expect("detail").expect("present");
        assert!(d.hit.read);
        assert_eq!(s.unread_count().await.expect("count"), 0);
        assert!(s.detail("nope").await.expect("detail").is_none());
    }

    #[tokio::test]
    async fn detail_names_the_link_s_host_and_trusts_only_known_ones() {
        let (_d, s) = store().await;
        for (id, base) in [
            ("known", "https://koji.fedoraproject.org"),
            ("spoof", "https://koji.fedoraproject.org.evil.example"),
        ] {
            let body = serde_json::json!({
                "base_url": base, "name": "kernel", "version": "6.9", "release": "1",
                "attribute": "state", "old": 0, "new": 1, "build_id": 7, "owner": "alice",
            });
            let env = envelope(
                Some(id),
                "org.fedoraproject.prod.buildsys.build.state.change",
                serde_json::json!({}),
                &body.to_string(),
                1_700_000_000,
            );
            s.insert_batch(&[Entry::new(Message::decode(env), &RenderContext::default())])
                .await
                .expect("insert");
        }
        let known = s.detail("known").await.expect("detail").expect("present");
        assert_eq!(known.link_host.as_deref(), Some("koji.fedoraproject.org"));
        assert!(known.link_trusted);
        let spoof = s.detail("spoof").await.expect("detail").expect("present");
        assert_eq!(
            spoof.link_host.as_deref(),
            Some("koji.fedoraproject.org.evil.example")
        );
        assert!(!spoof.link_trusted, "{:?}", spoof.hit.url);
    }

    #[test]
    fn raw_parts_of_bodies_that_are_not_json_objects() {
        let raw = |bytes: &[u8]| {
            let mut env = envelope(None, "a.b", serde_json::json!({}), "", 1_700_000_000);
            env.body = bytes.to_vec();
            RawParts::of(&Message::decode(env))
        };
        let text = raw(b"plain \xff text");
        assert!(!text.body_is_json);
        assert_eq!(text.body, "plain \u{fffd} text");
        let list = raw(b"[1,2]");
        assert!(list.body_is_json);
        assert_eq!(list.body, "[\n  1,\n  2\n]");
    }
}
