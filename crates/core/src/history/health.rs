//! Whether the history can take writes right now, for `herald stats`. A paused writer cannot
//! write down why (the store is what failed), so the state is measured when asked: the file
//! system's free space and read-only flag, and whether another process holds the write lock.

use super::HistoryStore;
use serde::Serialize;
use std::time::Duration;

/// Free space below which the history counts as full: a commit needs room for its WAL pages
/// and a checkpoint, not just for its rows.
const LOW_SPACE: u64 = 4 * 1024 * 1024;

/// How long the lock probe waits: long enough for a normal commit, far less than a stall.
const LOCK_PROBE: Duration = Duration::from_millis(500);

/// The history's fitness for writing, as `herald stats` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub writable: bool,
    /// Why not, when not; Herald pauses consuming until this clears.
    pub problem: Option<String>,
    /// Free space on the history's file system, when known.
    pub free_bytes: Option<u64>,
}

impl HistoryStore {
    /// Measures [`Health`] now.
    pub async fn health(&self) -> Health {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let vfs = rustix::fs::statvfs(dir).ok();
        let free_bytes = vfs.as_ref().map(|v| v.f_bavail.saturating_mul(v.f_frsize));
        let read_only = vfs
            .as_ref()
            .is_some_and(|v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
        let problem = if read_only {
            Some("its file system is mounted read-only".to_owned())
        } else if free_bytes.is_some_and(|f| f < LOW_SPACE) {
            Some(format!(
                "the disk is full ({} bytes free): free some space",
                free_bytes.unwrap_or(0)
            ))
        } else {
            self.lock_problem().await
        };
        Health {
            writable: problem.is_none(),
            problem,
            free_bytes,
        }
    }

    /// Takes and drops the write lock, waiting briefly: a failure means another process holds
    /// it (a `VACUUM`, a backup, a stuck tool).
    async fn lock_problem(&self) -> Option<String> {
        let mut conn = match self.pool.acquire().await {
            Ok(c) => c,
            Err(e) => return Some(format!("it cannot be opened ({e})")),
        };
        let busy = |ms: u128| format!("PRAGMA busy_timeout = {ms}");
        let probe = async {
            sqlx::query(sqlx::AssertSqlSafe(busy(LOCK_PROBE.as_millis())))
                .execute(&mut *conn)
                .await?;
            let taken = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await;
            if taken.is_ok() {
                sqlx::query("ROLLBACK").execute(&mut *conn).await?;
            }
            taken.map(|_| ())
        }
        .await;
        // Back to the pool's own timeout; a connection that cannot be reset is not reused.
        let reset = sqlx::query(sqlx::AssertSqlSafe(busy(super::BUSY_TIMEOUT.as_millis())))
            .execute(&mut *conn)
            .await;
        if reset.is_err() {
            conn.close_on_drop();
        }
        probe
            .err()
            .map(|e| format!("another process holds its write lock ({e})"))
    }
}
