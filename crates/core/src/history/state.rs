//! Install state kept in the history database: values chosen once and then kept, which are
//! not settings (the user never writes them) and must survive reloads and restarts.

use super::HistoryStore;
use crate::error::HistoryError;

impl HistoryStore {
    /// The queue name for `connection` when its config names no queue: chosen at random
    /// (UUID-shaped, as the Fedora public broker requires) the first time, then kept.
    pub async fn generated_queue(&self, connection: &str) -> Result<String, HistoryError> {
        let key = format!("queue.{connection}");
        sqlx::query("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(&key)
            .bind(uuid::Uuid::new_v4().to_string())
            .execute(self.pool())
            .await
            .map_err(HistoryError::query("keep the generated queue name"))?;
        sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
            .bind(&key)
            .fetch_one(self.pool())
            .await
            .map_err(HistoryError::query("read the generated queue name"))
    }
}

#[cfg(test)]
mod tests {
    use crate::history::HistoryStore;

    #[tokio::test]
    async fn a_generated_queue_name_is_kept_per_connection_and_across_opens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let ctx = crate::sources::RenderContext::default();
        let store = HistoryStore::open(&path, &ctx).await.expect("open");
        let a = store.generated_queue("default").await.expect("name");
        assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a}");
        assert_eq!(store.generated_queue("default").await.expect("again"), a);
        assert_ne!(store.generated_queue("other").await.expect("other"), a);
        drop(store);
        let reopened = HistoryStore::open(&path, &ctx).await.expect("reopen");
        assert_eq!(reopened.generated_queue("default").await.expect("kept"), a);
    }
}
