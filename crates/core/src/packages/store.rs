//! The model in SQLite: [`record`] adds a batch's events and folds them into the package
//! rows inside the batch's own transaction, with a handful of statements per batch rather
//! than per message (each statement crosses to SQLite's thread once, which is most of
//! what a small write costs).

use super::extract::{extract, Change, Event};
use super::model::PackageState;
use super::MODEL_VERSION;
use crate::error::HistoryError;
use crate::record::Stored;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};

const RAWHIDE_KEY: &str = "packages.rawhide";
const VERSION_KEY: &str = "packages.model";
/// Where an unfinished rebuild has got to (the last row id it applied).
const CURSOR_KEY: &str = "packages.rebuild_after";
/// Rows per multi-row statement: 8 values each stays far below SQLite's 32766 variables.
const CHUNK: usize = 1000;

/// Adds the events of newly stored messages (with their row ids) to the model.
pub(crate) async fn record(
    conn: &mut SqliteConnection,
    rows: &[(&Stored, i64)],
) -> Result<(), HistoryError> {
    if rows.is_empty() {
        return Ok(());
    }
    let known = rawhide(conn).await?;
    let mut rawhide = known;
    let mut events: Vec<(Event, i64, i64)> = Vec::new();
    let mut by_alias: Vec<(String, Event, i64, i64)> = Vec::new();
    for (s, rowid) in rows {
        let x = extract(s, rawhide);
        if let Some(n) = x.rawhide {
            rawhide = Some(rawhide.map_or(n, |r| r.max(n)));
        }
        let at = millis(s.msg.sent_at);
        events.extend(x.events.into_iter().map(|e| (e, *rowid, at)));
        by_alias.extend(x.by_alias.into_iter().map(|(a, e)| (a, e, *rowid, at)));
    }
    let updates: BTreeSet<(String, String)> = events
        .iter()
        .filter_map(|(e, ..)| match &e.change {
            Change::Update(u) => Some((u.alias.clone(), e.package.clone())),
            _ => None,
        })
        .collect();
    remember_updates(conn, &updates).await?;
    if !by_alias.is_empty() {
        let aliases: BTreeSet<&str> = by_alias.iter().map(|(a, ..)| a.as_str()).collect();
        let carried = update_packages(conn, &aliases).await?;
        for (alias, e, rowid, at) in by_alias {
            for package in carried.get(&alias).into_iter().flatten() {
                let mut e = e.clone();
                e.package.clone_from(package);
                events.push((e, rowid, at));
            }
        }
        events.sort_by_key(|(_, rowid, _)| *rowid);
    }
    if rawhide != known {
        if let Some(n) = rawhide {
            sqlx::query("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)")
                .bind(RAWHIDE_KEY)
                .bind(n.to_string())
                .execute(&mut *conn)
                .await
                .map_err(HistoryError::query("remember Rawhide's release"))?;
        }
    }
    if events.is_empty() {
        return Ok(());
    }
    insert_events(conn, &events).await?;
    let names: BTreeSet<&str> = events.iter().map(|(e, ..)| e.package.as_str()).collect();
    let mut states = load(conn, &names).await?;
    let mut people: BTreeSet<(String, String)> = BTreeSet::new();
    let mut changed: BTreeMap<String, i64> = BTreeMap::new();
    for (e, _, at) in &events {
        let state = states.entry(e.package.clone()).or_default();
        if let Some(person) = state.apply(e, *at) {
            people.insert((person, e.package.clone()));
        }
        let c = changed.entry(e.package.clone()).or_insert(*at);
        *c = (*c).max(*at);
    }
    save(conn, &states, &changed).await?;
    remember_people(conn, &people).await
}

async fn remember_updates(
    conn: &mut SqliteConnection,
    updates: &BTreeSet<(String, String)>,
) -> Result<(), HistoryError> {
    let updates: Vec<&(String, String)> = updates.iter().collect();
    for chunk in updates.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT OR IGNORE INTO package_updates (alias, package) ");
        b.push_values(chunk, |mut row, (alias, package)| {
            row.push_bind(alias.as_str()).push_bind(package.as_str());
        });
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("remember update packages"))?;
    }
    Ok(())
}

/// The packages each update carries, by alias.
async fn update_packages(
    conn: &mut SqliteConnection,
    aliases: &BTreeSet<&str>,
) -> Result<BTreeMap<String, Vec<String>>, HistoryError> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let aliases: Vec<&str> = aliases.iter().copied().collect();
    for chunk in aliases.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT json_group_array(json_array(alias, package)) FROM package_updates \
             WHERE alias IN (",
        );
        let mut list = b.separated(", ");
        for a in chunk {
            list.push_bind(*a);
        }
        b.push(")");
        let found: String = b
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await
            .map_err(HistoryError::query("find update packages"))?;
        let rows: Vec<(String, String)> = serde_json::from_str(&found).unwrap_or_default();
        for (alias, package) in rows {
            out.entry(alias).or_default().push(package);
        }
    }
    Ok(out)
}

async fn rawhide(conn: &mut SqliteConnection) -> Result<Option<u32>, HistoryError> {
    let v: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
        .bind(RAWHIDE_KEY)
        .fetch_optional(&mut *conn)
        .await
        .map_err(HistoryError::query("read Rawhide's release"))?;
    Ok(v.and_then(|v| v.parse().ok()))
}

async fn insert_events(
    conn: &mut SqliteConnection,
    events: &[(Event, i64, i64)],
) -> Result<(), HistoryError> {
    for chunk in events.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT OR IGNORE INTO package_events \
             (package, message, stage, branch, version, nvr, state, url) ",
        );
        b.push_values(chunk, |mut row, (e, rowid, _)| {
            row.push_bind(e.package.clone())
                .push_bind(*rowid)
                .push_bind(e.stage.as_str())
                .push_bind(e.branch.clone())
                .push_bind(e.version.clone())
                .push_bind(e.nvr.clone())
                .push_bind(e.state.clone())
                .push_bind(e.url.clone());
        });
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("add package events"))?;
    }
    Ok(())
}

/// The current state of each named package (empty for one not seen before). A row this
/// Herald cannot read starts over rather than stopping the writer; a rebuild restores it.
pub(super) async fn load(
    conn: &mut SqliteConnection,
    names: &BTreeSet<&str>,
) -> Result<BTreeMap<String, PackageState>, HistoryError> {
    let mut out = BTreeMap::new();
    let names: Vec<&str> = names.iter().copied().collect();
    for chunk in names.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT json_group_array(json_array(name, state)) FROM packages WHERE name IN (",
        );
        let mut list = b.separated(", ");
        for n in chunk {
            list.push_bind(*n);
        }
        b.push(")");
        let found: String = b
            .build_query_scalar()
            .fetch_one(&mut *conn)
            .await
            .map_err(HistoryError::query("read package states"))?;
        let rows: Vec<(String, String)> = serde_json::from_str(&found).unwrap_or_default();
        for (name, state) in rows {
            let state = serde_json::from_str(&state).unwrap_or_else(|e| {
                tracing::warn!(package = %name, "unreadable package state, starting over: {e}");
                PackageState::default()
            });
            out.insert(name, state);
        }
    }
    Ok(out)
}

async fn save(
    conn: &mut SqliteConnection,
    states: &BTreeMap<String, PackageState>,
    changed: &BTreeMap<String, i64>,
) -> Result<(), HistoryError> {
    let rows: Vec<(&String, String, i64)> = changed
        .iter()
        .filter_map(|(name, at)| {
            let state = states.get(name)?;
            Some((name, serde_json::to_string(state).ok()?, *at))
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO packages (name, state, changed_at) ");
        b.push_values(chunk, |mut row, (name, state, at)| {
            row.push_bind(name.as_str())
                .push_bind(state.as_str())
                .push_bind(*at);
        });
        b.push(
            " ON CONFLICT (name) DO UPDATE SET state = excluded.state, \
             changed_at = max(changed_at, excluded.changed_at)",
        );
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("save package states"))?;
    }
    Ok(())
}

async fn remember_people(
    conn: &mut SqliteConnection,
    people: &BTreeSet<(String, String)>,
) -> Result<(), HistoryError> {
    let people: Vec<&(String, String)> = people.iter().collect();
    for chunk in people.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT OR IGNORE INTO package_people (user, package) ");
        b.push_values(chunk, |mut row, (user, package)| {
            row.push_bind(user.as_str()).push_bind(package.as_str());
        });
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("remember package people"))?;
    }
    Ok(())
}

/// Whether the stored model was built by this Herald's rules.
pub(crate) async fn is_current(conn: &mut SqliteConnection) -> Result<bool, HistoryError> {
    let v: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
        .bind(VERSION_KEY)
        .fetch_optional(&mut *conn)
        .await
        .map_err(HistoryError::query("read the package model's version"))?;
    Ok(v.and_then(|v| v.parse::<i64>().ok()) == Some(MODEL_VERSION))
}

/// Empties the model before a rebuild.
pub(crate) async fn clear(conn: &mut SqliteConnection) -> Result<(), HistoryError> {
    for sql in [
        "DELETE FROM package_events",
        "DELETE FROM packages",
        "DELETE FROM package_people",
        "DELETE FROM package_updates",
        "DELETE FROM state WHERE key IN ('packages.rawhide', 'packages.model')",
    ] {
        sqlx::query(sql)
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("clear the package model"))?;
    }
    Ok(())
}

/// Where an unfinished rebuild has got to, if one is under way.
pub(crate) async fn rebuild_cursor(
    conn: &mut SqliteConnection,
) -> Result<Option<i64>, HistoryError> {
    let v: Option<String> = sqlx::query_scalar("SELECT value FROM state WHERE key = ?")
        .bind(CURSOR_KEY)
        .fetch_optional(&mut *conn)
        .await
        .map_err(HistoryError::query("read the package model's rebuild"))?;
    Ok(v.and_then(|v| v.parse().ok()))
}

/// Saves (or, with `None`, ends) a rebuild's position.
pub(crate) async fn set_rebuild_cursor(
    conn: &mut SqliteConnection,
    after: Option<i64>,
) -> Result<(), HistoryError> {
    let q = match after {
        Some(after) => sqlx::query("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)")
            .bind(CURSOR_KEY)
            .bind(after.to_string()),
        None => sqlx::query("DELETE FROM state WHERE key = ?").bind(CURSOR_KEY),
    };
    q.execute(&mut *conn)
        .await
        .map_err(HistoryError::query("save the package model's rebuild"))?;
    Ok(())
}

/// Marks the model as built by this Herald.
pub(crate) async fn mark_current(conn: &mut SqliteConnection) -> Result<(), HistoryError> {
    sqlx::query("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)")
        .bind(VERSION_KEY)
        .bind(MODEL_VERSION.to_string())
        .execute(&mut *conn)
        .await
        .map_err(HistoryError::query("mark the package model current"))?;
    Ok(())
}

/// Whether a stored topic can add to the model, so a rebuild decodes only those rows.
pub(crate) fn concerns_packages(topic: &str) -> bool {
    super::extract::stage_of(crate::sources::schema_topic(topic)).is_some()
}

/// Unix milliseconds, as the model and the history store times.
pub(crate) fn millis(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// Leaves newly stored messages that concern packages for [`record`] to fold after the
/// batch commits: the writer's whole share of the model.
pub(crate) async fn queue(conn: &mut SqliteConnection, rowids: &[i64]) -> Result<(), HistoryError> {
    for chunk in rowids.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT OR IGNORE INTO package_pending (message) ");
        b.push_values(chunk, |mut row, id| {
            row.push_bind(*id);
        });
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("queue messages for the package model"))?;
    }
    Ok(())
}

/// Up to `limit` queued messages, oldest row first.
pub(crate) async fn queued(
    conn: &mut SqliteConnection,
    limit: i64,
) -> Result<Vec<i64>, HistoryError> {
    sqlx::query_scalar("SELECT message FROM package_pending ORDER BY message LIMIT ?")
        .bind(limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(HistoryError::query("read the package model's queue"))
}

/// Takes folded messages off the queue.
pub(crate) async fn dequeue(
    conn: &mut SqliteConnection,
    rowids: &[i64],
) -> Result<(), HistoryError> {
    for chunk in rowids.chunks(CHUNK) {
        let mut b: QueryBuilder<Sqlite> =
            QueryBuilder::new("DELETE FROM package_pending WHERE message IN (");
        let mut list = b.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        b.push(")");
        b.build()
            .execute(&mut *conn)
            .await
            .map_err(HistoryError::query("clear the package model's queue"))?;
    }
    Ok(())
}
