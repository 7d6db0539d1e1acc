use super::*;
use crate::message::{headers_from_json, Envelope, Message, Properties};
use crate::sources::RenderContext;
use time::OffsetDateTime;

pub(super) fn envelope(
    id: Option<&str>,
    topic: &str,
    headers: serde_json::Value,
    body: &str,
    sent: i64,
) -> Envelope {
    let mut h = headers.as_object().cloned().unwrap_or_default();
    let sent_at = OffsetDateTime::from_unix_timestamp(sent)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    h.insert("sent-at".into(), serde_json::Value::String(sent_at));
    // As fedora-messaging sends them: its mention headers count only beside a schema.
    h.insert("fedora_messaging_schema".into(), "base.message".into());
    h.entry("fedora_messaging_severity").or_insert(20.into());
    Envelope {
        exchange: "amq.topic".into(),
        routing_key: topic.into(),
        properties: Properties {
            message_id: id.map(str::to_owned),
            ..Properties::default()
        },
        headers: Some(headers_from_json(&h)),
        body: body.as_bytes().to_vec(),
        received_at: OffsetDateTime::now_utc(),
    }
}

pub(super) fn entry(env: Envelope) -> Entry {
    Entry::new(Message::decode(env), &RenderContext::default())
}

pub(super) async fn store() -> (tempfile::TempDir, HistoryStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = HistoryStore::open(&dir.path().join("h.db"), &RenderContext::default())
        .await
        .expect("open");
    (dir, s)
}

#[tokio::test]
async fn fts5_is_compiled_in() {
    let (_d, s) = store().await;
    assert!(s.fts5_available().await.expect("query"));
}

#[tokio::test]
async fn inserts_are_idempotent_by_id_and_by_content_hash() {
    let (_d, s) = store().await;
    let a = || {
        entry(envelope(
            Some("a-1"),
            "org.x.prod.git.receive",
            serde_json::json!({}),
            "{\"k\":1}",
            1_700_000_000,
        ))
    };
    let b = || {
        entry(envelope(
            None,
            "org.x.prod.git.receive",
            serde_json::json!({}),
            "{\"k\":2}",
            1_700_000_000,
        ))
    };
    let bad = || {
        entry(envelope(
            None,
            "org.x.prod.git.receive",
            serde_json::json!({}),
            "<html>",
            1_700_000_000,
        ))
    };
    let r = s.insert_batch(&[a(), b(), bad()]).await.expect("insert");
    assert_eq!((r.stored, r.quarantined, r.duplicates), (2, 1, 0));
    let r = s
        .insert_batch(&[a(), b(), bad()])
        .await
        .expect("insert again");
    assert_eq!((r.stored, r.quarantined, r.duplicates), (0, 0, 3));
    let st = s.stats(5).await.expect("stats");
    assert_eq!((st.messages, st.quarantined), (2, 1));
}

#[tokio::test]
async fn search_by_text_user_package_time_and_topic_newest_first() {
    let (_d, s) = store().await;
    let mk = |i: i64, user: &str, pkg: &str, topic: &str| {
        entry(envelope(
            Some(&format!("id-{i}")),
            topic,
            serde_json::json!({
                format!("fedora_messaging_user_{user}"): true,
                format!("fedora_messaging_rpm_{pkg}"): true,
            }),
            &format!("{{\"note\": \"release of {pkg} number {i}\"}}"),
            1_700_000_000 + i * 60,
        ))
    };
    let entries = vec![
        mk(0, "alice", "kernel", "org.example.prod.widgets.tag"),
        mk(
            1,
            "bob",
            "kernel",
            "org.example.prod.widgets.build.state.change",
        ),
        mk(
            2,
            "alice",
            "glibc",
            "org.example.prod.gadgets.update.comment",
        ),
        mk(
            3,
            "carol",
            "python-twisted",
            "org.example.prod.widgets.untag",
        ),
    ];
    s.insert_batch(&entries).await.expect("insert");
    let ids = |hits: Vec<Hit>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
    let q = |f: fn(&mut SearchQuery)| {
        let mut q = SearchQuery {
            limit: 50,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    assert_eq!(
        ids(s
            .search(&q(|q| q.user = Some("alice".into())))
            .await
            .expect("user")),
        ["id-2", "id-0"]
    );
    assert_eq!(
        ids(s
            .search(&q(|q| q.package = Some("kernel".into())))
            .await
            .expect("pkg")),
        ["id-1", "id-0"]
    );
    assert_eq!(
        ids(s
            .search(&q(|q| {
                q.user = Some("alice".into());
                q.package = Some("kernel".into())
            }))
            .await
            .expect("both")),
        ["id-0"]
    );
    assert_eq!(
        ids(s
            .search(&q(|q| q.text = Some("twisted".into())))
            .await
            .expect("text")),
        ["id-3"]
    );
    assert_eq!(
        ids(s
            .search(&q(|q| q.text = Some("kern*".into())))
            .await
            .expect("prefix")),
        ["id-1", "id-0"]
    );
    assert_eq!(
        ids(s
            .search(&q(|q| q.topic = Some("org.example.prod.widgets.*".into())))
            .await
            .expect("topic")),
        ["id-3", "id-0"]
    );
    assert_eq!(
        ids(s
            .search(&q(|q| q.topic = Some("org.example.prod.widgets.#".into())))
            .await
            .expect("topic#")),
        ["id-3", "id-1", "id-0"]
    );
    // Matched against every distinct topic, the first and the last included.
    for (pattern, want) in [
        ("org.example.prod.gadgets.#", vec!["id-2"]),
        ("*.*.*.widgets.untag", vec!["id-3"]),
        ("org.example.prod.nothing.#", vec![]),
        ("*.*", vec![]),
    ] {
        assert_eq!(
            ids(s
                .search(&SearchQuery {
                    topic: Some(pattern.into()),
                    limit: 50,
                    ..Default::default()
                })
                .await
                .expect("topic pattern")),
            want,
            "{pattern}"
        );
    }
    // A pattern without wildcards is one whole topic.
    assert_eq!(
        ids(s
            .search(&q(|q| q.topic = Some("org.example.prod.widgets.tag".into())))
            .await
            .expect("exact topic")),
        ["id-0"]
    );
    assert!(s
        .search(&q(|q| q.topic = Some("org.example.prod.widgets".into())))
        .await
        .expect("partial topic")
        .is_empty());
    assert_eq!(
        ids(s
            .search(&q(|q| {
                q.since = Some(OffsetDateTime::from_unix_timestamp(1_700_000_060).expect("t"));
                q.until = Some(OffsetDateTime::from_unix_timestamp(1_700_000_120).expect("t"))
            }))
            .await
            .expect("range")),
        ["id-2", "id-1"]
    );
    // Names are matched exactly, not by their words.
    assert_eq!(
        ids(s
            .search(&q(|q| q.package = Some("python-twisted".into())))
            .await
            .expect("exact")),
        ["id-3"]
    );
    assert!(s
        .search(&q(|q| q.package = Some("twisted".into())))
        .await
        .expect("word")
        .is_empty());
    // Keyset paging: the page after id-2 starts at id-1.
    let first = s.search(&q(|q| q.limit = 2)).await.expect("page 1");
    let mut next = q(|_| {});
    next.before = first.last().map(|h| h.key);
    assert_eq!(
        ids(s.search(&next).await.expect("page 2")),
        ["id-1", "id-0"]
    );
    assert!(matches!(
        s.search(&q(|q| q.text = Some("\"open".into()))).await,
        Err(HistoryError::BadQuery(_))
    ));
}

#[tokio::test]
async fn many_messages_in_one_second_keep_distinct_rows() {
    let (_d, s) = store().await;
    let batch: Vec<Entry> = (0..300)
        .map(|i| {
            entry(envelope(
                Some(&format!("same-second-{i}")),
                "a.b",
                serde_json::json!({}),
                "{}",
                1_700_000_000,
            ))
        })
        .collect();
    let r = s.insert_batch(&batch).await.expect("insert");
    assert_eq!(r.stored, 300);
    let hits = s
        .search(&SearchQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("all");
    assert_eq!(hits.len(), 300);
    assert_eq!(
        hits[0].id, "same-second-299",
        "newest insert first within a second"
    );
}

#[tokio::test]
async fn retention_by_row_count_keeps_the_newest() {
    let (_d, s) = store().await;
    let batch: Vec<Entry> = (0..10)
        .map(|i| {
            entry(envelope(
                Some(&format!("r{i}")),
                "a.b",
                serde_json::json!({"fedora_messaging_user_x": true}),
                "{}",
                1_700_000_000 + i,
            ))
        })
        .collect();
    s.insert_batch(&batch).await.expect("insert");
    assert_eq!(s.prune(None, Some(4)).await.expect("prune"), 6);
    let left: Vec<String> = s
        .search(&SearchQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .expect("rest")
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(left, ["r9", "r8", "r7", "r6"]);
    // Tags of deleted rows go with them.
    let tagged = s
        .search(&SearchQuery {
            user: Some("x".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .expect("tags");
    assert_eq!(tagged.len(), 4);
    assert_eq!(
        s.prune(Some(std::time::Duration::from_secs(3600)), None)
            .await
            .expect("age"),
        0,
        "all arrived just now"
    );
}

#[tokio::test]
async fn stale_renderings_are_redone_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    {
        let s = HistoryStore::open(&path, &RenderContext::default())
            .await
            .expect("open");
        s.insert_batch(&[entry(envelope(
            Some("old"),
            "org.fedoraproject.prod.git.receive",
            serde_json::json!({}),
            "{}",
            1_700_000_000,
        ))])
        .await
        .expect("insert");
        sqlx::query("UPDATE messages SET renderer_version = 0, summary = 'stale'")
            .execute(s.pool())
            .await
            .expect("age the row");
    }
    let s = HistoryStore::open(&path, &RenderContext::default())
        .await
        .expect("reopen");
    let d = s.get("old").await.expect("get").expect("present");
    assert_ne!(d.rendered.summary, "stale");
    let v: i64 = sqlx::query_scalar("SELECT renderer_version FROM messages")
        .fetch_one(s.pool())
        .await
        .expect("version");
    assert_eq!(v, crate::sources::RENDERER_VERSION);
}

#[tokio::test]
async fn every_migration_file_is_embedded_and_applied() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let files = std::fs::read_dir(&dir)
        .expect("migrations dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    assert_eq!(MIGRATOR.iter().count(), files);
    let (_d, s) = store().await;
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(s.pool())
        .await
        .expect("migrations table");
    assert_eq!(applied as usize, files);
    let tags: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'message_tags'")
            .fetch_one(s.pool())
            .await
            .expect("schema");
    assert_eq!(tags, 0, "the tag table is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_openers_of_a_new_history_at_once_both_get_it_migrated() {
    // As the tray and a window process do when both start on a fresh history.
    let ctx = RenderContext::default();
    for round in 0..8 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.db");
        let (a, b) = tokio::join!(
            tokio::spawn({
                let (path, ctx) = (path.clone(), ctx.clone());
                async move { HistoryStore::open(&path, &ctx).await }
            }),
            tokio::spawn({
                let (path, ctx) = (path.clone(), ctx.clone());
                async move { HistoryStore::open(&path, &ctx).await }
            }),
        );
        for opened in [a, b] {
            let store = opened
                .expect("task")
                .unwrap_or_else(|e| panic!("round {round}: {e}: {e:?}"));
            let applied: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                    .fetch_one(store.pool())
                    .await
                    .expect("migrations table");
            assert_eq!(applied as usize, MIGRATOR.iter().count(), "round {round}");
        }
    }
}

#[tokio::test]
async fn pages_carry_the_cursor_of_the_next_page() {
    let (_d, s) = store().await;
    let batch: Vec<Entry> = (0..5)
        .map(|i| {
            entry(envelope(
                Some(&format!("p{i}")),
                "a.b",
                serde_json::json!({}),
                "{}",
                1_700_000_000 + i,
            ))
        })
        .collect();
    s.insert_batch(&batch).await.expect("insert");
    let mut q = SearchQuery {
        limit: 2,
        ..SearchQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = s.page(&q).await.expect("page");
        seen.extend(page.hits.iter().map(|h| h.id.clone()));
        match page.next_before {
            Some(k) => {
                assert_eq!(Some(k), page.hits.last().map(|h| h.key));
                q.before = Some(k);
            }
            None => break,
        }
    }
    assert_eq!(seen, ["p4", "p3", "p2", "p1", "p0"]);
    // A full last page still offers a cursor; the page after it is empty and ends paging.
    q.before = None;
    q.limit = 5;
    let all = s.page(&q).await.expect("page");
    assert!(all.next_before.is_some());
    q.before = all.next_before;
    assert_eq!(
        s.page(&q).await.expect("page"),
        Page {
            hits: vec![],
            next_before: None
        }
    );
    // Empty boxes in the window's form filter nothing.
    let blank = SearchQuery {
        text: Some("  ".into()),
        user: Some(String::new()),
        package: Some(" ".into()),
        source: Some(String::new()),
        topic: Some(String::new()),
        ..SearchQuery::default()
    };
    assert_eq!(s.search(&blank).await.expect("blank").len(), 5);
}

#[tokio::test]
async fn updates_reindex_only_when_indexed_text_changes() {
    let (_d, s) = store().await;
    s.insert_batch(&[entry(envelope(
        Some("u-1"),
        "org.example.prod.widgets.build",
        serde_json::json!({}),
        "{\"note\": \"widget\"}",
        1_700_000_000,
    ))])
    .await
    .expect("insert");
    let segments = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM messages_fts_data")
            .fetch_one(s.pool())
            .await
            .expect("fts data")
    };
    let found = |word: &'static str| {
        let s = s.clone();
        async move {
            s.search(&SearchQuery {
                text: Some(word.into()),
                ..SearchQuery::default()
            })
            .await
            .expect("search")
            .len()
        }
    };
    let before = segments().await;
    s.set_fates(&[("u-1".to_owned(), crate::notify::Fate::Shown)])
        .await
        .expect("fate");
    s.mark_read(&["u-1".to_owned()]).await.expect("read");
    assert_eq!(segments().await, before, "no full-text writes");
    assert_eq!(found("widget").await, 1);

    sqlx::query("UPDATE messages SET summary = 'gizmo overhaul' WHERE id = 'u-1'")
        .execute(s.pool())
        .await
        .expect("update summary");
    assert!(segments().await > before, "the new text was indexed");
    assert_eq!(found("gizmo").await, 1);
    assert_eq!(found("widget").await, 1, "still in topic and body");
}

/// A TypeScript declaration without doc comments and with single spaces.
#[cfg(feature = "ts")]
pub(crate) fn ts_shape(decl: String) -> String {
    let mut out = String::new();
    let mut rest = decl.as_str();
    while let Some(start) = rest.find("/**") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The declarations the desktop app's TypeScript is generated from: field names, `T | null`
/// for options and `number` for keys and counts, as the IPC contract has them.
#[cfg(feature = "ts")]
#[test]
fn typescript_declarations_match_the_ipc_contract() {
    use ts_rs::TS;
    let cfg = ts_rs::Config::default();
    let shape = ts_shape;
    assert_eq!(
        shape(SearchQuery::decl(&cfg)),
        "type HistoryQuery = { text: string | null, topic: string | null, user: string | null, \
         package: string | null, source: string | null, severity_min: number | null, \
         since: string | null, until: string | null, unread_only: boolean, \
         before: number | null, limit: number, };"
    );
    assert_eq!(
        shape(Hit::decl(&cfg)),
        "type Hit = { key: number, id: string, topic: string, exchange: string, \
         sent_at: string, severity: number, source: string, kind: string, summary: string, \
         url: string | null, users: Array<string>, packages: Array<string>, \
         agent: string | null, rule: string | null, action: string, read: boolean, \
         backfilled: boolean, };"
    );
    assert_eq!(
        shape(Page::decl(&cfg)),
        "type Page = { hits: Array<Hit>, next_before: number | null, };"
    );
    assert_eq!(
        shape(FacetCount::decl(&cfg)),
        "type FacetCount = { value: string, count: number, };"
    );
    assert_eq!(
        shape(Facets::decl(&cfg)),
        "type Facets = { sources: Array<FacetCount>, severities: Array<FacetCount>, \
         users: Array<FacetCount>, packages: Array<FacetCount>, scanned: number, \
         complete: boolean, };"
    );
    assert_eq!(
        shape(MessageDetail::decl(&cfg)),
        "type MessageDetail = { hit: Hit, details: string, problems: Array<string>, \
         properties_json: string, headers_json: string, body: string, body_is_json: boolean, \
         link_host: string | null, link_trusted: boolean, };"
    );
}
