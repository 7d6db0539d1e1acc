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

    /// A kept value, read as JSON; `None` when absent or no longer readable (a value written
    /// by another version is dropped rather than trusted).
    pub async fn state<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, HistoryError> {
        let text: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(HistoryError::query("read install state"))?;
        Ok(text.and_then(|t| match serde_json::from_str(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(key, error = %e, "install state not readable; starting afresh");
                None
            }
        }))
    }

    /// Keeps `value` (as JSON) under `key`, replacing what was there.
    pub async fn set_state<T: serde::Serialize>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), HistoryError> {
        let text = serde_json::to_string(value).map_err(|e| HistoryError::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO state (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(text)
        .execute(self.pool())
        .await
        .map_err(HistoryError::query("keep install state"))?;
        Ok(())
    }

    /// Keeps `value` under `key` unless the kept value's number at `path` (a JSON path such
    /// as `$.sent_at`) is larger: one statement, as the writer calls it after every batch.
    pub async fn raise_state<T: serde::Serialize>(
        &self,
        key: &str,
        path: &str,
        value: &T,
    ) -> Result<(), HistoryError> {
        let text = serde_json::to_string(value).map_err(|e| HistoryError::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO state (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value \
             WHERE json_extract(excluded.value, ?3) >= coalesce(json_extract(value, ?3), 0)",
        )
        .bind(key)
        .bind(text)
        .bind(path)
        .execute(self.pool())
        .await
        .map_err(HistoryError::query("keep install state"))?;
        Ok(())
    }

    /// Reads, changes and keeps the value under `key` in one write transaction, so two
    /// writers (the session saving a gap, the catch-up saving its cursor, `herald backfill`
    /// in another process) never overwrite each other's change. `f` returning `None` clears
    /// the key.
    pub async fn update_state<T, F>(&self, key: &str, f: F) -> Result<Option<T>, HistoryError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce(Option<T>) -> Option<T>,
    {
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(HistoryError::query("begin"))?;
        // IMMEDIATE takes the write lock before the read, so the value read is the one
        // replaced (a deferred transaction could read, then lose the race to write).
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("begin"))?;
        let done = async {
            let text: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(HistoryError::query("read install state"))?;
            let old = text.and_then(|t| serde_json::from_str(&t).ok());
            let new = f(old);
            match &new {
                Some(v) => {
                    let text = serde_json::to_string(v)
                        .map_err(|e| HistoryError::Encode(e.to_string()))?;
                    sqlx::query(
                        "INSERT INTO state (key, value) VALUES (?, ?) \
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    )
                    .bind(key)
                    .bind(text)
                    .execute(&mut *conn)
                    .await
                    .map_err(HistoryError::query("keep install state"))?;
                }
                None => {
                    sqlx::query("DELETE FROM state WHERE key = ?")
                        .bind(key)
                        .execute(&mut *conn)
                        .await
                        .map_err(HistoryError::query("clear install state"))?;
                }
            }
            Ok::<_, HistoryError>(new)
        }
        .await;
        let end = if done.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = sqlx::query(end).execute(&mut *conn).await;
        if ended.is_err() {
            // A connection left inside its transaction must not go back to the pool.
            conn.close_on_drop();
        }
        let value = done?;
        ended.map_err(HistoryError::query("commit install state"))?;
        Ok(value)
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
