//! What the history window costs on a large history: the first page (100 rows) for the filters
//! people use, facet counts with and without text, and marking messages read. The target is
//! under 100 ms per first page with 1,000,000 messages. `first_page_worst` records what
//! searches that match (almost) nothing cost for their first answer, which a time budget
//! bounds, and `first_page_worst_to_the_end` the whole walk the list makes, answer after
//! answer, to learn there is nothing.
//!
//! The history is built once (about a month of bus traffic: Koji, Copr, Anitya, Bodhi, Pulp
//! and other messages naming 2,000 users and 5,000 packages) and kept in
//! `$CARGO_TARGET_DIR/herald-bench/` (or `~/.cache/herald/bench/`), under a name that changes
//! with the schema, the renderer and this generator, so later runs start measuring at once.
//! `HERALD_BENCH_ROWS` picks another size.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use herald_core::history::{Entry, HistoryStore, SearchQuery};
use herald_core::message::{headers_from_json, Envelope, Message, Properties};
use herald_core::sources::{RenderContext, RENDERER_VERSION};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Bumped whenever the generated messages change, so a cached history is rebuilt.
const GENERATOR_VERSION: u32 = 1;
const DEFAULT_ROWS: usize = 1_000_000;
const USERS: usize = 2_000;
const PACKAGES: usize = 5_000;
/// Messages per write transaction while building.
const BATCH: usize = 10_000;
/// Unread messages when measuring: the newest ones plus a scattering of older ones.
const UNREAD_NEWEST: usize = 2_000;
const UNREAD_EVERY: usize = 500;

const SYLLABLES: [&str; 16] = [
    "gno", "me", "py", "thon", "lib", "ru", "st", "ko", "ji", "ca", "ir", "gtk", "qt", "xml",
    "ssl", "zip",
];

/// The i-th name of a pool of `size` names, e.g. `python-gtkme-17`.
fn name(i: usize, size: usize, prefix: &str) -> String {
    let k = i % size;
    let a = SYLLABLES[k % 16];
    let b = SYLLABLES[(k / 16) % 16];
    format!("{prefix}{a}{b}-{}", k / 256)
}

/// Names are skewed as on the real bus: a few busy packages and people, a long tail.
fn skewed(i: usize, size: usize, prefix: &str) -> String {
    let r = i.wrapping_mul(2_654_435_761) % 1_000;
    let k = if r < 300 {
        r % 50
    } else {
        i.wrapping_mul(40_503)
    };
    name(k, size, prefix)
}

/// The i-th of `rows` messages, two seconds apart and ending now.
fn envelope(i: usize, rows: usize, now: i64) -> Envelope {
    let user = skewed(i.wrapping_mul(7_919), USERS, "u");
    let pkg = skewed(i.wrapping_mul(104_729), PACKAGES, "");
    let sent = now - 2 * i64::try_from(rows - i).unwrap_or(0);
    let severity = match i % 20 {
        0 => 40,
        1 | 2 => 30,
        3..=5 => 10,
        _ => 20,
    };
    // Koji build states complete, failed and canceled; Bodhi karma +1, 0 and -1.
    let state = [1, 3, 4][i % 3];
    let karma = [1, 0, -1][i % 3];
    let (exchange, topic, schema, body, mention) = match i % 20 {
        0..=5 => (
            "amq.topic",
            "org.fedoraproject.prod.buildsys.build.state.change".to_owned(),
            "koji_fedoramessaging.build.BuildStateChangeV1",
            json!({
                "build_id": 1_000_000 + i, "old": 0, "new": state, "name": pkg,
                "task_id": 40_000_000 + i, "attribute": "state", "instance": "primary",
                "epoch": null, "version": format!("{}.{}.{}", i % 7, i % 13, i % 5),
                "release": "1.fc41", "owner": user,
                "request": [format!("git+https://src.fedoraproject.org/rpms/{pkg}.git#5f8f367e482fe8e30711aea49bf2ecfd163d278f"), "rawhide", {}],
                "creation_time": "2024-05-02T09:00:00+00:00",
                "completion_time": "2024-05-02T10:00:00+00:00",
            }),
            true,
        ),
        6..=9 => (
            "amq.topic",
            "org.fedoraproject.prod.copr.build.end".to_owned(),
            "copr.build.end",
            json!({
                "build": 7_000_000 + i, "owner": user, "copr": format!("{pkg}-devel"),
                "chroot": "fedora-rawhide-x86_64", "pkg": pkg,
                "version": format!("{}.{}-1", i % 9, i % 31), "status": i % 2, "user": user,
                "ip": "2620:52:3:1:dead:beef:cafe:c1d9", "pid": 1234 + i % 1000,
                "who": "backend.worker-rpm_build_worker:7000000-fedora-rawhide-x86_64",
                "what": format!("build end: user:{user} copr:{pkg}-devel pkg:{pkg} status:{}", i % 2),
            }),
            true,
        ),
        10..=12 => (
            "amq.topic",
            "org.release-monitoring.prod.anitya.project.version.update.v2".to_owned(),
            "anitya.project.version.update.v2",
            json!({
                "project": {"id": 10_000 + i % 50_000, "name": pkg,
                    "homepage": format!("https://github.com/{user}/{pkg}"), "backend": "GitHub",
                    "version": format!("{}.{}", i % 9, i % 31),
                    "versions": [format!("{}.{}", i % 9, i % 31), "1.2.0", "1.1.0"]},
                "distro": null,
                "message": {"project": {"id": 10_000 + i % 50_000, "name": pkg}, "agent": "anitya",
                    "upstream_versions": [format!("{}.{}", i % 9, i % 31)], "old_version": "1.2.0",
                    "packages": [{"distro": "Fedora", "package_name": pkg}],
                    "odd_change": false}
            }),
            false,
        ),
        13..=15 => (
            "amq.topic",
            "org.fedoraproject.prod.bodhi.update.comment".to_owned(),
            "bodhi.update.comment.v1",
            json!({"comment": {
                "karma": karma,
                "text": format!("Works for me on rawhide, thanks @{user}. Tested {pkg} with the usual suite."),
                "timestamp": "2024-05-02 16:54:48",
                "update": {"alias": format!("FEDORA-2024-{i:010x}"),
                    "builds": [{"nvr": format!("{pkg}-{}.{}-1.fc41", i % 9, i % 31)}],
                    "status": "testing", "release": {"name": "F41"}, "request": null,
                    "user": {"name": user}},
                "user": {"name": skewed(i + 1, USERS, "u")}}}),
            true,
        ),
        16 => (
            "pulp.api.v2",
            format!("tasks.{}", uuid::Uuid::from_u128(i as u128)),
            "",
            json!({
                "task_id": uuid::Uuid::from_u128(i as u128).to_string(),
                "tags": [format!("pulp:repository:{pkg}-x86_64"), "pulp:action:sync"],
                "state": if i % 40 == 16 { "error" } else { "finished" },
                "error": null, "spawned_tasks": [], "progress_report": {},
                "task_type": "pulp.server.managers.repo.sync.sync",
                "start_time": "2024-05-02T19:40:11Z", "finish_time": "2024-05-02T19:40:14Z",
                "_ns": "task_status",
            }),
            false,
        ),
        _ => (
            "amq.topic",
            "org.fedoraproject.prod.git.receive".to_owned(),
            "pagure.git.receive",
            json!({"commit": {"username": user, "repo": pkg, "namespace": "rpms",
                "branch": "rawhide", "rev": format!("{i:040x}"),
                "summary": format!("Update {pkg} to the latest upstream release"),
                "message": "Update to the latest upstream release\n\nResolves: rhbz#1234567"}}),
            true,
        ),
    };
    let mut headers = json!({"sent-at": rfc3339(sent), "priority": 0});
    if let Some(h) = headers.as_object_mut() {
        if !schema.is_empty() {
            h.insert("fedora_messaging_schema".into(), json!(schema));
            h.insert("fedora_messaging_severity".into(), json!(severity));
        }
        if mention {
            h.insert(format!("fedora_messaging_user_{user}"), json!(true));
            h.insert(format!("fedora_messaging_rpm_{pkg}"), json!(true));
        }
    }
    Envelope {
        exchange: exchange.to_owned(),
        routing_key: topic,
        properties: Properties {
            message_id: Some(uuid::Uuid::from_u128(0xbe_0000_0000 + i as u128).to_string()),
            content_type: Some("application/json".into()),
            content_encoding: Some("utf-8".into()),
            delivery_mode: Some(2),
            ..Properties::default()
        },
        headers: headers.as_object().map(headers_from_json),
        body: serde_json::to_vec(&body).unwrap_or_default(),
        received_at: OffsetDateTime::from_unix_timestamp(sent)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    }
}

fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Where the built history is kept: its name changes with everything that shapes its rows.
fn cache_path(rows: usize) -> PathBuf {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| PathBuf::from(d).join("herald-bench"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/herald/bench")))
        .unwrap_or_else(|| std::env::temp_dir().join("herald-bench"));
    let mut hash = Sha256::new();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&migrations)
        .expect("migrations directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for f in files {
        hash.update(std::fs::read(&f).expect("migration file"));
    }
    hash.update(format!("{GENERATOR_VERSION} {RENDERER_VERSION} {rows}"));
    let digest: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    root.join(format!("history-{rows}-{digest}.db"))
}

/// Opens the cached history, building it first when there is none.
async fn history(rows: usize) -> HistoryStore {
    let path = cache_path(rows);
    let ctx = RenderContext::default();
    if !path.exists() {
        build(&path, rows, &ctx).await;
    }
    HistoryStore::open(&path, &ctx)
        .await
        .expect("open the cached history")
}

async fn build(path: &Path, rows: usize, ctx: &RenderContext) {
    let partial = path.with_extension("partial");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    eprintln!("building a {rows}-row history in {} (once)", path.display());
    let store = HistoryStore::open(&partial, ctx)
        .await
        .expect("create history");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let start = Instant::now();
    // Decoding and rendering on one core while the other writes.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Entry>>(2);
    let producer_ctx = ctx.clone();
    let producer = std::thread::spawn(move || {
        for first in (0..rows).step_by(BATCH) {
            let batch = (first..(first + BATCH).min(rows))
                .map(|i| Entry::new(Message::decode(envelope(i, rows, now)), &producer_ctx))
                .collect();
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    let mut written = 0;
    while let Ok(batch) = rx.recv() {
        let report = store.insert_batch(&batch).await.expect("insert");
        written += report.stored;
        if written % 100_000 < BATCH {
            eprintln!("  {written} rows, {:.0} s", start.elapsed().as_secs_f64());
        }
    }
    producer.join().expect("generator thread");
    assert_eq!(written, rows, "every generated message is new");
    eprintln!(
        "built {rows} rows in {:.0} s ({:.0} rows/s)",
        start.elapsed().as_secs_f64(),
        rows as f64 / start.elapsed().as_secs_f64()
    );
    // Everything is unread after a build: the worst case for marking all read, once.
    let t = Instant::now();
    let marked = store.mark_all_read().await.expect("mark all read");
    eprintln!(
        "mark_all_read of {marked} unread messages: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    store.pool().close().await;
    std::fs::rename(&partial, path).expect("keep the built history");
}

/// The messages to leave unread while measuring: the newest ones plus every
/// `UNREAD_EVERY`-th older one.
async fn unread_set(store: &HistoryStore) -> Vec<i64> {
    let mut all: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM messages")
        .fetch_all(store.pool())
        .await
        .expect("row ids");
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.into_iter()
        .enumerate()
        .filter(|(n, _)| *n < UNREAD_NEWEST || n % UNREAD_EVERY == 0)
        .map(|(_, k)| k)
        .collect()
}

async fn reset_unread(store: &HistoryStore, set: &[i64]) {
    let mut tx = store.pool().begin().await.expect("begin");
    sqlx::query("DELETE FROM unread")
        .execute(&mut *tx)
        .await
        .expect("clear unread");
    for chunk in set.chunks(1_000) {
        let mut b = sqlx::QueryBuilder::new("INSERT INTO unread (message) ");
        b.push_values(chunk, |mut row, k| {
            row.push_bind(*k);
        });
        b.build().execute(&mut *tx).await.expect("mark unread");
    }
    tx.commit().await.expect("commit");
}

fn queries() -> Vec<(&'static str, SearchQuery)> {
    let q = SearchQuery::default;
    let busy_package = skewed(0, PACKAGES, "");
    let tail_package = name(4_321, PACKAGES, "");
    vec![
        ("none", q()),
        (
            "text_common",
            SearchQuery {
                text: Some("build".into()),
                ..q()
            },
        ),
        (
            "text_package",
            SearchQuery {
                text: Some(tail_package.clone()),
                ..q()
            },
        ),
        (
            "text_prefix",
            SearchQuery {
                text: Some("upstr*".into()),
                ..q()
            },
        ),
        (
            "package_busy",
            SearchQuery {
                package: Some(busy_package),
                ..q()
            },
        ),
        (
            "package_tail",
            SearchQuery {
                package: Some(tail_package),
                ..q()
            },
        ),
        (
            "user",
            SearchQuery {
                user: Some(skewed(3, USERS, "u")),
                ..q()
            },
        ),
        (
            "unread_only",
            SearchQuery {
                unread_only: true,
                ..q()
            },
        ),
        (
            "unread_text",
            SearchQuery {
                unread_only: true,
                text: Some("build".into()),
                ..q()
            },
        ),
        (
            "source_severity",
            SearchQuery {
                source: Some("koji".into()),
                severity_min: Some(40),
                ..q()
            },
        ),
        (
            "topic_since",
            SearchQuery {
                topic: Some("org.fedoraproject.*.bodhi.#".into()),
                since: Some(OffsetDateTime::now_utc() - Duration::from_secs(7 * 86_400)),
                ..q()
            },
        ),
    ]
}

/// Asks for pages of `q` the way the history list does, carrying on after each page answered
/// in part, until a page is full or the history ends; returns how many requests that took.
async fn walk(store: &HistoryStore, q: &SearchQuery) -> usize {
    let mut q = q.clone();
    let mut found = 0;
    for requests in 1.. {
        let page = store.page(&q).await.expect("page");
        found += page.hits.len();
        match page.next_before {
            Some(next) if found < q.limit as usize => q.before = Some(next),
            _ => return requests,
        }
    }
    unreachable!("the walk ends with the history")
}

/// Searches that match little or nothing, so nothing stops the walk early: what a first
/// page costs at worst.
fn worst_cases() -> Vec<(&'static str, SearchQuery)> {
    let q = SearchQuery::default;
    vec![
        (
            "topic_nomatch",
            SearchQuery {
                topic: Some("org.fedoraproject.prod.nothing.#".into()),
                ..q()
            },
        ),
        (
            "topic_typing",
            SearchQuery {
                topic: Some("org.fedoraproject.prod.bui".into()),
                ..q()
            },
        ),
        (
            "source_severity_nomatch",
            SearchQuery {
                source: Some("anitya".into()),
                severity_min: Some(40),
                ..q()
            },
        ),
        (
            "text_source_nomatch",
            SearchQuery {
                text: Some("build".into()),
                source: Some("pulp".into()),
                ..q()
            },
        ),
        (
            "package_word_nomatch",
            SearchQuery {
                package: Some("3".into()),
                ..q()
            },
        ),
        (
            "user_nomatch",
            SearchQuery {
                user: Some("nobody-at-all".into()),
                ..q()
            },
        ),
        (
            "unread_source_nomatch",
            SearchQuery {
                unread_only: true,
                source: Some("nothing".into()),
                ..q()
            },
        ),
    ]
}

fn history_window(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let rows = std::env::var("HERALD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let store = rt.block_on(history(rows));
    let unread_set = rt.block_on(unread_set(&store));
    rt.block_on(reset_unread(&store, &unread_set));

    let mut group = c.benchmark_group("first_page");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for (label, q) in queries() {
        let hits = rt.block_on(store.page(&q)).expect("page").hits.len();
        eprintln!("first_page/{label}: {hits} hits");
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(store.page(black_box(&q))).expect("page"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("first_page_worst");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    for (label, q) in worst_cases() {
        let t = Instant::now();
        let hits = rt.block_on(store.page(&q)).expect("page").hits.len();
        eprintln!(
            "first_page_worst/{label}: {hits} hits, {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(store.page(black_box(&q))).expect("page"))
        });
    }
    group.finish();

    // A page answers within its time budget, in part when it must; the list then asks
    // again. This is the whole walk the list makes to learn there is nothing (more).
    let mut group = c.benchmark_group("first_page_worst_to_the_end");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for (label, q) in worst_cases() {
        let t = Instant::now();
        let requests = rt.block_on(walk(&store, &q));
        eprintln!(
            "first_page_worst_to_the_end/{label}: {requests} requests, {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(walk(&store, black_box(&q))))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("facets");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    for (label, q) in queries()
        .into_iter()
        .filter(|(l, _)| ["none", "text_common", "text_package", "unread_only"].contains(l))
    {
        let f = rt.block_on(store.facets(&q)).expect("facets");
        eprintln!(
            "facets/{label}: scanned {} complete {}",
            f.scanned, f.complete
        );
        group.bench_function(label, |b| {
            b.iter(|| rt.block_on(store.facets(black_box(&q))).expect("facets"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("read_state");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("unread_count", |b| {
        b.iter(|| rt.block_on(store.unread_count()).expect("count"))
    });
    let unread = rt.block_on(store.unread_count()).expect("count");
    group.bench_function(format!("mark_all_read_{unread}"), |b| {
        b.iter_batched(
            || rt.block_on(reset_unread(&store, &unread_set)),
            |()| rt.block_on(store.mark_all_read()).expect("mark"),
            BatchSize::PerIteration,
        )
    });
    let page_ids: Vec<String> = rt
        .block_on(store.page(&SearchQuery::default()))
        .expect("page")
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    group.bench_function("mark_read_page", |b| {
        b.iter_batched(
            || rt.block_on(reset_unread(&store, &unread_set)),
            |()| rt.block_on(store.mark_read(&page_ids)).expect("mark"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    rt.block_on(reset_unread(&store, &unread_set));
}

criterion_group!(benches, history_window);
criterion_main!(benches);
