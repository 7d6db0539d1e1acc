//! Read state: which stored messages the person has not looked at yet. New messages start
//! unread; the history window marks them read. The unread list is a table of its own (see
//! the read-state migration), so marking read never rewrites a message row.

use super::HistoryStore;
use crate::error::HistoryError;
use sqlx::{QueryBuilder, Sqlite};

/// Ids per statement, far below SQLite's limit on bound values.
const IDS_PER_STATEMENT: usize = 500;

impl HistoryStore {
    /// Marks the messages with these ids read, in one transaction. Ids the history does not
    /// have, and messages already read, are skipped. Returns how many messages changed.
    pub async fn mark_read(&self, ids: &[String]) -> Result<u64, HistoryError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(HistoryError::query("begin"))?;
        let mut changed = 0;
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
                "DELETE FROM unread WHERE message IN (SELECT rowid FROM messages WHERE id IN (",
            );
            let mut list = b.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            b.push("))");
            changed += b
                .build()
                .execute(&mut *tx)
                .await
                .map_err(HistoryError::query("mark read"))?
                .rows_affected();
        }
        tx.commit().await.map_err(HistoryError::query("commit"))?;
        Ok(changed)
    }

    /// Marks every message read. Returns how many were unread.
    pub async fn mark_all_read(&self) -> Result<u64, HistoryError> {
        // One statement whatever the backlog: the rows are a few bytes each, and a message
        // stored meanwhile is either wholly before it (and marked) or after it (and unread).
        Ok(sqlx::query("DELETE FROM unread")
            .execute(&self.pool)
            .await
            .map_err(HistoryError::query("mark all read"))?
            .rows_affected())
    }

    /// How many stored messages are unread.
    pub async fn unread_count(&self) -> Result<u64, HistoryError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unread")
            .fetch_one(&self.pool)
            .await
            .map_err(HistoryError::query("count unread"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use crate::history::tests::{entry, envelope, store};
    use crate::history::{Entry, SearchQuery};

    fn batch(n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| {
                entry(envelope(
                    Some(&format!("m{i}")),
                    "org.x.prod.widgets.build",
                    serde_json::json!({"fedora_messaging_rpm_kernel": true}),
                    &format!("{{\"note\": \"widget number {i}\"}}"),
                    1_700_000_000 + i64::try_from(i).expect("small"),
                ))
            })
            .collect()
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn new_messages_are_unread_until_marked() {
        let (_d, s) = store().await;
        s.insert_batch(&batch(5)).await.expect("insert");
        assert_eq!(s.unread_count().await.expect("count"), 5);

        // Unknown ids and repeats are skipped; only real changes count.
        let marked = s
            .mark_read(&ids(&["m1", "m3", "nope", "m3"]))
            .await
            .expect("mark");
        assert_eq!(marked, 2);
        assert_eq!(s.mark_read(&ids(&["m1"])).await.expect("again"), 0);
        assert_eq!(s.mark_read(&[]).await.expect("none"), 0);
        assert_eq!(s.unread_count().await.expect("count"), 3);

        let all = s.search(&SearchQuery::default()).await.expect("search all");
        let read: Vec<(&str, bool)> = all.iter().map(|h| (h.id.as_str(), h.read)).collect();
        assert_eq!(
            read,
            [
                ("m4", false),
                ("m3", true),
                ("m2", false),
                ("m1", true),
                ("m0", false)
            ]
        );
        let unread = s
            .search(&SearchQuery {
                unread_only: true,
                ..SearchQuery::default()
            })
            .await
            .expect("unread only");
        let unread: Vec<&str> = unread.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(unread, ["m4", "m2", "m0"]);

        assert_eq!(s.mark_all_read().await.expect("all"), 3);
        assert_eq!(s.unread_count().await.expect("count"), 0);
        assert_eq!(s.mark_all_read().await.expect("all again"), 0);
        // A redelivery of a message already read does not make it unread again.
        s.insert_batch(&batch(6)).await.expect("insert again");
        assert_eq!(s.unread_count().await.expect("count"), 1, "only m5 is new");
    }

    #[tokio::test]
    async fn long_id_lists_are_split_into_statements() {
        let (_d, s) = store().await;
        s.insert_batch(&batch(1_200)).await.expect("insert");
        let mut list: Vec<String> = (0..1_200).map(|i| format!("m{i}")).collect();
        list.extend((0..2_000).map(|i| format!("missing-{i}")));
        assert_eq!(s.mark_read(&list).await.expect("mark"), 1_200);
        assert_eq!(s.unread_count().await.expect("count"), 0);
    }

    #[tokio::test]
    async fn marking_read_keeps_search_working_and_pruning_drops_read_state() {
        let (_d, s) = store().await;
        s.insert_batch(&batch(10)).await.expect("insert");
        s.mark_read(&ids(&["m9", "m8"])).await.expect("mark");
        let text = |t: &str| SearchQuery {
            text: Some(t.to_owned()),
            ..SearchQuery::default()
        };
        assert_eq!(s.search(&text("widget")).await.expect("text").len(), 10);
        let unread_widgets = s
            .search(&SearchQuery {
                unread_only: true,
                package: Some("kernel".into()),
                ..text("widget")
            })
            .await
            .expect("text and unread");
        assert_eq!(unread_widgets.len(), 8);
        assert!(unread_widgets.iter().all(|h| !h.read));

        // Retention removes the unread mark with the message.
        assert_eq!(s.prune(None, Some(4)).await.expect("prune"), 6);
        assert_eq!(
            s.unread_count().await.expect("count"),
            2,
            "m7 and m6 remain"
        );
    }
}
