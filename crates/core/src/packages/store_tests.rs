//! The model as the history keeps it: queued with each batch, folded before each look, read back as summaries and
//! timelines, and rebuilt from the stored messages to the same result.

use crate::history::{Entry, HistoryStore};
use crate::packages::{Selection, Stage};
use crate::sources::RenderContext;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

const T0: i64 = 1_790_000_000;

fn entry(id: &str, topic: &str, package: &str, user: &str, body: Value, sent: i64) -> Entry {
    let mentions = [format!("rpm_{package}"), format!("user_{user}")];
    let mentions: Vec<&str> = mentions.iter().map(String::as_str).collect();
    crate::testing::fm_entry(id, topic, None, &mentions, &body, crate::testing::at(sent))
}

fn build(id: &str, version: &str, release: &str, state: i64, target: &str, sent: i64) -> Entry {
    entry(
        id,
        "org.fedoraproject.prod.buildsys.build.state.change",
        "python-rich",
        "alice",
        json!({"name": "python-rich", "version": version, "release": release, "new": state,
               "old": 0, "owner": "alice", "build_id": 1, "task_id": 2, "attribute": "state",
               "instance": "primary",
               "request": ["git+https://src.fedoraproject.org/rpms/python-rich.git#abc", target, {}]}),
        sent,
    )
}

fn chain() -> Vec<Entry> {
    let update = |status: &str, request: Value| {
        json!({"update": {"alias": "FEDORA-2026-1", "status": status, "request": request,
               "user": {"name": "alice"}, "karma": 1,
               "release": {"name": "F43", "branch": "f43", "dist_tag": "f43"},
               "builds": [{"nvr": "python-rich-14.1.0-1.fc43"}]}, "agent": "alice"})
    };
    vec![
        entry(
            "up",
            "org.release-monitoring.prod.anitya.project.version.update.v2",
            "python-rich",
            "anitya",
            json!({"message": {"project": {"name": "rich", "version": "14.1.0"},
                   "upstream_versions": ["14.1.0"], "stable_versions": ["14.1.0", "14.0.0"],
                   "packages": [{"distro": "Fedora", "package_name": "python-rich"}]}}),
            T0,
        ),
        build("b0", "14.0.0", "1.fc43", 1, "f43-candidate", T0 - 86_400),
        build("b1", "14.1.0", "1.fc43", 0, "f43-candidate", T0 + 60),
        build("b2", "14.1.0", "1.fc43", 1, "f43-candidate", T0 + 120),
        entry(
            "u1",
            "org.fedoraproject.prod.bodhi.update.request.testing",
            "python-rich",
            "alice",
            update("pending", json!("testing")),
            T0 + 180,
        ),
        entry(
            "g1",
            "org.fedoraproject.prod.greenwave.decision.update",
            "python-rich",
            "alice",
            json!({"subject_type": "bodhi_update", "subject_identifier": "FEDORA-2026-1",
                   "product_version": "fedora-43", "policies_satisfied": false,
                   "summary": "1 of 1 required test results missing",
                   "decision_context": "bodhi_update_push_testing"}),
            T0 + 240,
        ),
        entry(
            "g2",
            "org.fedoraproject.prod.greenwave.decision.update",
            "python-rich",
            "alice",
            json!({"subject_type": "bodhi_update", "subject_identifier": "FEDORA-2026-1",
                   "product_version": "fedora-43", "policies_satisfied": true,
                   "summary": "All required tests passed",
                   "decision_context": "bodhi_update_push_testing"}),
            T0 + 300,
        ),
        entry(
            "s1",
            "org.fedoraproject.prod.bodhi.update.complete.stable",
            "python-rich",
            "alice",
            update("stable", Value::Null),
            T0 + 400,
        ),
    ]
}

async fn store() -> (tempfile::TempDir, HistoryStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = HistoryStore::open(&dir.path().join("h.db"), &RenderContext::default())
        .await
        .expect("open");
    (dir, s)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(T0 + 3_600).expect("time")
}

async fn summary_json(s: &HistoryStore) -> Value {
    let sel = Selection::default();
    let all = s
        .package_summaries(&sel, now(), Duration::minutes(15))
        .await
        .expect("summaries");
    serde_json::to_value(all).expect("json")
}

#[tokio::test]
async fn a_chain_written_batch_by_batch_reads_back_as_one_story() {
    let (_d, s) = store().await;
    let entries = chain();
    // The first few one at a time, the rest in one batch, as a live consumer would.
    for e in &entries[..3] {
        s.insert_batch(std::slice::from_ref(e))
            .await
            .expect("insert");
    }
    let mid = summary_json(&s).await;
    assert_eq!(mid[0]["behind_upstream"], json!(true), "{mid}");
    assert_eq!(mid[0]["branches"][0]["build"]["state"], json!("building"));
    s.insert_batch(&entries[3..]).await.expect("insert");

    let all = summary_json(&s).await;
    let p = &all[0];
    assert_eq!(p["package"], json!("python-rich"));
    assert_eq!(p["upstream"]["version"], json!("14.1.0"));
    assert_eq!(p["behind_upstream"], json!(false));
    let f43 = &p["branches"][0];
    assert_eq!(f43["branch"], json!("f43"));
    assert_eq!(f43["build"]["nvr"], json!("python-rich-14.1.0-1.fc43"));
    assert_eq!(f43["build"]["state"], json!("complete"));
    assert_eq!(f43["update"]["alias"], json!("FEDORA-2026-1"));
    assert_eq!(f43["update"]["status"], json!("stable"));
    assert_eq!(f43["update"]["gating"], json!("passed"));
    assert_eq!(f43["update"]["gating_settled"], json!(true));

    let timeline = s.package_timeline("python-rich").await.expect("timeline");
    let stages: Vec<Stage> = timeline.iter().map(|e| e.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Build,
            Stage::Upstream,
            Stage::Build,
            Stage::Build,
            Stage::Update,
            Stage::Gating,
            Stage::Gating,
            Stage::Update
        ]
    );
    assert!(timeline.windows(2).all(|w| w[0].sent_at <= w[1].sent_at));
    assert_eq!(timeline[0].id, "b0");
    assert_eq!(
        timeline[5].state.as_deref(),
        Some("waiting: 1 of 1 required test results missing")
    );

    // A rebuild from the stored messages gives the same model.
    assert!(s.rebuild_packages(true).await.expect("rebuild"));
    assert_eq!(summary_json(&s).await, all);
    assert_eq!(
        s.package_timeline("python-rich").await.expect("timeline"),
        timeline
    );
}

#[tokio::test]
async fn a_backfilled_older_batch_does_not_undo_the_newer_state() {
    let (_d, s) = store().await;
    let entries = chain();
    // The update and what followed it first, then the older upstream release and builds,
    // as a catch-up back-fills them.
    s.insert_batch(&entries[4..]).await.expect("insert");
    s.insert_batch(&entries[..4]).await.expect("insert");
    let all = summary_json(&s).await;
    let f43 = &all[0]["branches"][0];
    assert_eq!(f43["update"]["status"], json!("stable"), "{all}");
    assert_eq!(f43["build"]["state"], json!("complete"));
    assert_eq!(f43["update"]["gating"], json!("passed"));
    assert_eq!(all[0]["behind_upstream"], json!(false));
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "an alias is no package: {all}"
    );
}

#[tokio::test]
async fn selection_by_name_watch_and_builder() {
    let (_d, s) = store().await;
    s.insert_batch(&chain()).await.expect("insert");
    s.insert_batch(&[entry(
        "other",
        "org.fedoraproject.prod.koschei.package.state.change",
        "rust-foo",
        "bob",
        json!({"name": "rust-foo", "collection": "f44", "old": "ok", "new": "failing",
               "koji_instance": "primary", "repo": "f44", "groups": []}),
        T0,
    )])
    .await
    .expect("insert");
    let names = |sel: Selection| {
        let s = &s;
        async move {
            s.package_summaries(&sel, now(), Duration::minutes(15))
                .await
                .expect("summaries")
                .into_iter()
                .map(|p| p.package)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(Selection::default()).await,
        ["python-rich", "rust-foo"]
    );
    let by_user = Selection {
        users: vec!["alice".into()],
        ..Selection::default()
    };
    assert_eq!(names(by_user).await, ["python-rich"]);
    let watched = Selection {
        watched: vec!["rust-foo".into()],
        ..Selection::default()
    };
    assert_eq!(names(watched).await, ["rust-foo"]);
    let named = Selection {
        names: vec!["nothing-here".into()],
        ..Selection::default()
    };
    assert!(names(named).await.is_empty());
}

#[tokio::test]
async fn a_rebuild_cut_short_finishes_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.db");
    let s = HistoryStore::open(&path, &RenderContext::default())
        .await
        .expect("open");
    s.insert_batch(&chain()).await.expect("insert");
    let before = summary_json(&s).await;
    // As a process that died right after starting a rebuild leaves it: model emptied,
    // position saved at the start.
    for sql in [
        "DELETE FROM packages",
        "DELETE FROM package_events",
        "DELETE FROM state WHERE key = 'packages.model'",
        "INSERT INTO state (key, value) VALUES ('packages.rebuild_after', '-9223372036854775808')",
    ] {
        sqlx::query(sql).execute(s.pool()).await.expect("cut short");
    }
    assert_eq!(summary_json(&s).await, json!([]));
    drop(s);
    let s = HistoryStore::open(&path, &RenderContext::default())
        .await
        .expect("reopen");
    assert_eq!(summary_json(&s).await, before);
    assert!(
        !s.rebuild_packages(false).await.expect("current"),
        "nothing left to do"
    );
}

#[tokio::test]
async fn the_writer_only_queues_and_the_first_look_folds_the_queue() {
    let (_d, s) = store().await;
    let entries = chain();
    let mut changes = s.package_changes();
    changes.borrow_and_update();
    s.insert_batch(&entries).await.expect("insert");
    assert!(
        changes.has_changed().expect("open"),
        "the chain stage is told"
    );
    let count = |sql: &'static str| {
        let pool = s.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM packages").await,
        0,
        "nothing is folded on the write path"
    );
    let queued = count("SELECT count(*) FROM package_pending").await;
    assert_eq!(queued, i64::try_from(entries.len()).expect("len"));
    assert_eq!(
        s.catch_up_packages().await.expect("fold"),
        usize::try_from(queued).expect("count")
    );
    assert_eq!(count("SELECT count(*) FROM package_pending").await, 0);
    assert_eq!(
        s.catch_up_packages().await.expect("fold"),
        0,
        "nothing left"
    );
    assert_eq!(summary_json(&s).await[0]["package"], json!("python-rich"));
}

#[tokio::test]
async fn a_queued_message_pruned_before_it_was_folded_is_skipped() {
    let (_d, s) = store().await;
    s.insert_batch(&chain()).await.expect("insert");
    sqlx::query("DELETE FROM messages")
        .execute(s.pool())
        .await
        .expect("prune");
    s.catch_up_packages().await.expect("fold");
    assert_eq!(summary_json(&s).await, json!([]));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM package_pending")
        .fetch_one(s.pool())
        .await
        .expect("count");
    assert_eq!(left, 0);
}
