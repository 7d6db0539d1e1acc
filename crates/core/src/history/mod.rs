//! The local message history: one SQLite database (WAL, embedded migrations) holding every
//! message Herald received, byte for byte, with its rendering and a full-text index, plus a
//! quarantine for deliveries that could not be used.
//!
//! Row ids encode the send time (`seconds << 20 | n`), so newest-first listings, time ranges,
//! the FTS5 index and the unread list all walk the same order without sorting.

use crate::error::HistoryError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod detail;
mod entry;
mod facets;
mod get;
mod health;
mod insert;
mod packages;
mod page;
mod read;
mod scan;
mod search;
mod state;
mod stats;

pub use crate::record::{Entry, Quarantined, Stored};
pub use detail::{MessageDetail, RawParts};
pub use facets::{FacetCount, Facets, FACET_ROWS, FACET_TOP_NAMES};
pub use get::{Detail, QuarantineDetail};
pub use health::Health;
pub use insert::{InsertReport, QUARANTINE_BODY_PREFIX};
pub use page::PAGE_BUDGET;
pub use search::{highlight_terms, Hit, Page, SearchQuery};
pub use stats::{Count, Stats};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens the pool. Turning a new database to WAL takes a lock that SQLite does not wait for,
/// so a second process opening the same new history at that moment is told "database is
/// locked" at once, busy timeout or not; it tries again after a pause.
async fn connect(options: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    retry_while_racing(
        || {
            SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options.clone())
        },
        |e| matches!(e, sqlx::Error::Database(d) if d.message().contains("database is locked")),
    )
    .await
}

/// Applies the migrations. Two Herald processes opening a new (or older) history at once
/// (the tray and a window, or the tray and the CLI) may both try to apply one; the second
/// then fails on what the first created. Its transaction rolls back, and running the
/// migrator again finds that migration applied, so a few tries settle it. Errors that say
/// the database itself is off (newer than this Herald, or edited) are not retried.
async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
    use sqlx::migrate::MigrateError;
    retry_while_racing(
        || MIGRATOR.run(pool),
        |e| {
            matches!(
                e,
                MigrateError::Execute(_) | MigrateError::ExecuteMigration(..)
            )
        },
    )
    .await
}

/// Runs `op` until it succeeds, fails in a way `racing` does not recognise as another
/// process opening the same history, or has failed five times; pauses longer each time.
async fn retry_while_racing<T, E, F: std::future::Future<Output = Result<T, E>>>(
    mut op: impl FnMut() -> F,
    racing: impl Fn(&E) -> bool,
) -> Result<T, E> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < ATTEMPTS && racing(&e) => {
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// How long a write waits for another process's lock before it counts as a store fault.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The most quarantined deliveries kept (fewer when `retention_max_rows` is lower).
pub const QUARANTINE_MAX_ROWS: u64 = 10_000;

/// Messages per second of send time that get consecutive row ids.
pub(crate) const ROWID_SHIFT: u32 = 20;

/// The history database.
#[derive(Debug, Clone)]
pub struct HistoryStore {
    pool: SqlitePool,
    path: PathBuf,
    /// The rendering context it was opened with; its known hosts decide which stored links
    /// the detail view offers to open.
    ctx: std::sync::Arc<crate::sources::RenderContext>,
    /// Counts the committed batches that queued messages for the package model, for the
    /// pipeline's chain stage to fold them in and look again (shared by the clones of one
    /// opened store).
    package_changes: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl HistoryStore {
    /// Opens (creating if needed) and migrates the database at `path`, then re-renders rows
    /// written by an older renderer.
    pub async fn open(
        path: &Path,
        ctx: &crate::sources::RenderContext,
    ) -> Result<HistoryStore, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a row the consumer acks must survive a power cut, not just a crash.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-16000")
            .with_regexp();
        let damaged = |reason: String| HistoryError::Damaged {
            path: path.to_owned(),
            reason,
        };
        let pool = connect(options).await.map_err(|source| {
            if crate::error::is_damaged(&source) {
                damaged(source.to_string())
            } else {
                HistoryError::Open {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        // A damaged file must not be half-upgraded: read its header and schema before the
        // migrations write. Only those pages: a full integrity check would read the whole
        // history at every start of every command; damage deeper in is a store fault later.
        let check: Result<i64, sqlx::Error> =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_schema")
                .fetch_one(&pool)
                .await;
        match check {
            Ok(_) => {}
            Err(e) if crate::error::is_damaged(&e) => return Err(damaged(e.to_string())),
            Err(source) => {
                return Err(HistoryError::Open {
                    path: path.to_owned(),
                    source,
                })
            }
        }
        migrate(&pool).await.map_err(|source| match source {
            sqlx::migrate::MigrateError::VersionMissing(version) => HistoryError::Newer {
                path: path.to_owned(),
                version,
            },
            sqlx::migrate::MigrateError::Execute(ref e) if crate::error::is_damaged(e) => {
                damaged(e.to_string())
            }
            source => HistoryError::Migrate {
                path: path.to_owned(),
                source,
            },
        })?;
        let store = HistoryStore {
            pool,
            path: path.to_owned(),
            ctx: std::sync::Arc::new(ctx.clone()),
            package_changes: std::sync::Arc::new(tokio::sync::watch::channel(0).0),
        };
        if store.rerender_stale(ctx).await? {
            // The model reads the renderings (which packages a message names).
            store.rebuild_packages(true).await?;
        } else {
            store.rebuild_packages(false).await?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Changes whenever a batch written through this store (or a clone) has queued messages
    /// for the package model.
    pub fn package_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.package_changes.subscribe()
    }

    /// Proves the SQLite build has FTS5, which search depends on.
    pub async fn fts5_available(&self) -> Result<bool, HistoryError> {
        let row = sqlx::query("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
            .fetch_one(&self.pool)
            .await
            .map_err(HistoryError::query("check FTS5"))?;
        Ok(row.try_get::<i64, _>(0).unwrap_or(0) == 1)
    }

    /// Deletes messages received longer than `max_age` ago and all but the newest `max_rows`,
    /// in chunks so the writer is never blocked for long. Age counts from arrival, not from
    /// the send time: an imported year-old message is as new to the history as a live one.
    /// Returns how many messages were removed.
    pub async fn prune(
        &self,
        max_age: Option<Duration>,
        max_rows: Option<u64>,
    ) -> Result<u64, HistoryError> {
        let mut removed = 0;
        if let Some(age) = max_age {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let secs = now.saturating_sub(i64::try_from(age.as_secs()).unwrap_or(i64::MAX));
            let cutoff_ms = secs.saturating_mul(1000);
            sqlx::query("DELETE FROM quarantine WHERE received_at < ?")
                .bind(cutoff_ms)
                .execute(&self.pool)
                .await
                .map_err(HistoryError::query("prune quarantine"))?;
            removed += self
                .delete_chunked(
                    "DELETE FROM messages WHERE rowid IN \
                     (SELECT rowid FROM messages WHERE received_at < ? LIMIT 5000)",
                    cutoff_ms,
                )
                .await?;
        }
        if let Some(n) = max_rows.filter(|n| *n > 0) {
            let keep_from: Option<i64> = sqlx::query_scalar(
                "SELECT rowid FROM messages ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            )
            .bind(i64::try_from(n - 1).unwrap_or(i64::MAX))
            .fetch_optional(&self.pool)
            .await
            .map_err(HistoryError::query("prune by count"))?;
            if let Some(k) = keep_from {
                removed += self
                    .delete_chunked(
                        "DELETE FROM messages WHERE rowid IN \
                         (SELECT rowid FROM messages WHERE rowid < ? ORDER BY rowid LIMIT 5000)",
                        k,
                    )
                    .await?;
            }
            // Quarantine rows count too, on their own budget: a flood of bad deliveries must
            // not grow the file without bound, nor push good messages out of the history.
            let keep = i64::try_from(n.min(QUARANTINE_MAX_ROWS)).unwrap_or(i64::MAX);
            removed += sqlx::query(
                "DELETE FROM quarantine WHERE rowid IN (SELECT rowid FROM quarantine \
                 ORDER BY received_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
            )
            .bind(keep)
            .execute(&self.pool)
            .await
            .map_err(HistoryError::query("prune quarantine by count"))?
            .rows_affected();
        }
        Ok(removed)
    }

    async fn delete_chunked(&self, sql: &'static str, bound: i64) -> Result<u64, HistoryError> {
        let mut removed = 0;
        loop {
            let done = sqlx::query(sql)
                .bind(bound)
                .execute(&self.pool)
                .await
                .map_err(HistoryError::query("prune"))?
                .rows_affected();
            removed += done;
            if done == 0 {
                return Ok(removed);
            }
        }
    }

    /// Re-renders rows whose stored rendering is older than the current renderer; returns
    /// whether there were any.
    async fn rerender_stale(
        &self,
        ctx: &crate::sources::RenderContext,
    ) -> Result<bool, HistoryError> {
        let mut any = false;
        loop {
            let rows = sqlx::query(
                "SELECT rowid, id, exchange, topic, received_at, properties, headers, has_headers, body \
                 FROM messages WHERE renderer_version < ? LIMIT 1000",
            )
            .bind(crate::sources::RENDERER_VERSION)
            .fetch_all(&self.pool)
            .await
            .map_err(HistoryError::query("find stale renderings"))?;
            if rows.is_empty() {
                return Ok(any);
            }
            any = true;
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(HistoryError::query("begin"))?;
            for row in rows {
                let rowid: i64 = row
                    .try_get("rowid")
                    .map_err(HistoryError::query("read row"))?;
                let msg = entry::message_from_row(&row)?;
                let stored = Stored::new(msg, ctx);
                insert::update_rendering(&mut tx, rowid, &stored).await?;
            }
            tx.commit().await.map_err(HistoryError::query("commit"))?;
        }
    }
}

/// The first row id of a send-time second.
pub(crate) fn rowid_base(unix_secs: i64) -> i64 {
    // Clamped so a hostile `sent-at` can neither go negative nor overflow.
    unix_secs.clamp(0, (i64::MAX >> ROWID_SHIFT) - 1) << ROWID_SHIFT
}

#[cfg(test)]
pub(crate) mod tests;
