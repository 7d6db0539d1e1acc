//! End to end against the real RabbitMQ: every fixture published with its exact headers,
//! properties and bytes is stored by `herald run` (the bad ones in quarantine, intact), and
//! `herald search` finds them by package, user, topic pattern, text and time.

use herald_core::history::HistoryStore;
use herald_core::history::QUARANTINE_BODY_PREFIX;
use herald_core::message::Message;
use herald_core::recorded::Fixture;
use herald_core::sources::RenderContext;
use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::herald::{
    all_fixtures, config_for, confirm_channel, declare_exchanges, fixture_exchanges, output_text,
    publish_fixture, HeraldDir, Vhost,
};
use sha2::Digest as _;
use std::collections::BTreeSet;
use std::path::PathBuf;

type Corpus = Vec<(PathBuf, Fixture)>;

/// Publishes `fixtures` into a fresh vhost and lets `herald run --until-idle` store them into
/// `dir`'s database.
async fn publish_and_run(dir: &HeraldDir, fixtures: &Corpus) -> String {
    let vhost = Vhost::new();
    let exchanges = fixture_exchanges(fixtures);
    let ex_refs: Vec<(&str, &str)> = exchanges
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let config = config_for(
        &vhost.url(),
        "herald-e2e-fixtures",
        &ex_refs,
        "[herald]\nkoji_web_base = \"https://koji.fedoraproject.org/koji\"\n",
    );
    std::fs::write(dir.config(), config).expect("write config");
    // A short first run declares the queue and bindings, so nothing published is unroutable.
    dir.declare();

    let conn = vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    declare_exchanges(&ch, &exchanges).await;
    for (_, f) in fixtures {
        publish_fixture(&ch, f).await;
    }
    let out = dir.run(&["-v", "run", "--until-idle", "2"]);
    assert!(out.status.success(), "herald run: {}", output_text(&out));
    let _ = conn.close(200, "done".into()).await;
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ids(hits: &[serde_json::Value]) -> BTreeSet<String> {
    hits.iter()
        .filter_map(|h| h["id"].as_str().map(str::to_owned))
        .collect()
}

/// The id Herald gives a fixture: its message_id, or the content hash.
fn id_of(f: &Fixture) -> String {
    let env = f
        .envelope(time::OffsetDateTime::now_utc())
        .expect("fixture body");
    Message::decode(env).id
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_is_stored_or_quarantined_and_searchable() {
    wait_for_system_broker().await;
    let fixtures = all_fixtures();
    assert!(
        fixtures.len() >= 87,
        "corpus has {} fixtures",
        fixtures.len()
    );
    // Koji's plugin uses `koji.events` as a topic and as a headers exchange; one vhost each.
    let (headers_ex, others): (Corpus, Corpus) = fixtures
        .iter()
        .cloned()
        .partition(|(_, f)| f.exchange_type.as_deref() == Some("headers"));
    assert!(!headers_ex.is_empty() && !others.is_empty());

    let dir = HeraldDir::new("");
    let log = publish_and_run(&dir, &others).await + &publish_and_run(&dir, &headers_ex).await;

    // Every published message is a row or a quarantine record, exactly once.
    let store = HistoryStore::open(&dir.db(), &RenderContext::default())
        .await
        .expect("open history");
    let stats = store.stats(5).await.expect("stats");
    let published = fixtures.len() as i64;
    assert_eq!(
        stats.messages + stats.quarantined,
        published,
        "rows {} + quarantined {} != published {published}\n{log}",
        stats.messages,
        stats.quarantined
    );
    let mut quarantined = 0;
    for (path, f) in &fixtures {
        let id = id_of(f);
        let body = f.body_bytes().expect("body");
        let decoded = Message::decode(f.envelope(time::OffsetDateTime::now_utc()).expect("env"));
        if decoded.quarantine.is_some() {
            quarantined += 1;
            let q = store
                .get_quarantined(&id)
                .await
                .expect("read quarantine")
                .unwrap_or_else(|| panic!("{} not in quarantine", path.display()));
            // Small bodies are kept whole; large ones as a prefix with the whole one's
            // length and SHA-256.
            let kept = body.len().min(QUARANTINE_BODY_PREFIX);
            assert!(
                q.message.body == body[..kept],
                "{}: the first {kept} bytes kept exactly",
                path.display()
            );
            if body.len() > kept {
                assert_eq!(q.body_length, Some(body.len() as u64), "{}", path.display());
                let sha: String = sha2::Sha256::digest(&body)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(q.body_sha256.as_deref(), Some(sha.as_str()));
            } else {
                assert_eq!((q.body_length, q.body_sha256.clone()), (None, None));
            }
            assert!(!q.reason.is_empty());
            assert!(
                path.to_string_lossy().contains("/bad/"),
                "only bad fixtures are quarantined, not {}",
                path.display()
            );
        } else {
            let d = store
                .get(&id)
                .await
                .expect("read message")
                .unwrap_or_else(|| panic!("{} not stored", path.display()));
            assert_eq!(
                d.message.body,
                body,
                "{}: body kept exactly",
                path.display()
            );
            assert_eq!(d.message.topic, f.topic);
            assert_eq!(d.message.exchange, f.exchange);
            assert_eq!(
                d.message.headers_json(),
                serde_json::Value::Object(
                    f.header_table()
                        .map(|t| herald_core::message::headers_to_json(&t))
                        .and_then(|v| v.as_object().cloned())
                        .unwrap_or_default()
                ),
                "{}: header table kept",
                path.display()
            );
        }
    }
    assert_eq!(stats.quarantined, quarantined);
    assert!(
        quarantined >= 8,
        "the bad corpus has at least 8 unusable bodies"
    );

    // Search by package, user, topic pattern, text and time range.
    let chromium = ids(&dir.search(&["--package", "chromium"]));
    assert!(
        chromium.contains("37370b5b-728c-4fb2-a61f-fbbb3bbcf773"),
        "{chromium:?}"
    );
    assert!(chromium.len() >= 2, "building and complete: {chromium:?}");

    let spot = dir.search(&["--user", "spot"]);
    assert!(!spot.is_empty());
    for h in &spot {
        let users: Vec<&str> = h["users"]
            .as_array()
            .expect("users")
            .iter()
            .filter_map(|u| u.as_str())
            .collect();
        assert!(users.contains(&"spot"), "{h}");
    }

    let buildsys = dir.search(&["--topic", "org.fedoraproject.prod.buildsys.#"]);
    let expected_buildsys = fixtures
        .iter()
        .filter(|(_, f)| f.topic.starts_with("org.fedoraproject.prod.buildsys."))
        .filter(|(_, f)| {
            Message::decode(f.envelope(time::OffsetDateTime::now_utc()).expect("env"))
                .quarantine
                .is_none()
        })
        .count();
    assert_eq!(buildsys.len(), expected_buildsys);
    for h in &buildsys {
        assert!(h["topic"]
            .as_str()
            .expect("topic")
            .starts_with("org.fedoraproject.prod.buildsys."));
    }
    let one_word = dir.search(&["--topic", "org.fedoraproject.prod.buildsys.*"]);
    assert!(one_word
        .iter()
        .all(|h| h["topic"].as_str().expect("t").split('.').count() == 5));
    assert!(one_word
        .iter()
        .any(|h| h["topic"] == "org.fedoraproject.prod.buildsys.tag"));

    let text = ids(&dir.search(&["chromium"]));
    assert!(
        chromium.is_subset(&text),
        "text search finds the package too"
    );
    let phrase = ids(&dir.search(&["\"build state change\""]));
    assert!(chromium.is_subset(&phrase), "a phrase of the topic matches");

    // The chromium build finished 2023-06-09T07:35:15Z.
    let window = ids(&dir.search(&[
        "--since",
        "2023-06-09T07:35:00Z",
        "--until",
        "2023-06-09T07:36:00Z",
    ]));
    assert!(
        window.contains("37370b5b-728c-4fb2-a61f-fbbb3bbcf773"),
        "{window:?}"
    );
    let before = ids(&dir.search(&["--until", "2023-06-09T07:35:00Z", "--package", "chromium"]));
    assert!(!before.contains("37370b5b-728c-4fb2-a61f-fbbb3bbcf773"));

    // Every JSON line carries the documented fields.
    for h in dir.search(&[]).iter().take(5) {
        for key in [
            "id", "topic", "sent_at", "severity", "summary", "url", "users", "packages", "source",
        ] {
            assert!(h.get(key).is_some(), "{key} missing in {h}");
        }
    }

    // Bad search syntax is a clear error with exit code 2.
    let out = dir.run(&["search", "\"unbalanced"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unbalanced quote"));
}

#[tokio::test(flavor = "multi_thread")]
async fn import_is_idempotent_and_matches_live_ingest() {
    let fixtures = all_fixtures();
    let dir = HeraldDir::new("");
    let shared = herald_e2e::herald::fixture_dirs();
    let arg: Vec<&str> = std::iter::once("import")
        .chain(shared.iter().map(|p| p.to_str().expect("utf-8 path")))
        .collect();
    let first = dir.run(&arg);
    assert!(first.status.success(), "{}", output_text(&first));
    let second = dir.run(&arg);
    assert!(second.status.success(), "{}", output_text(&second));
    let text = String::from_utf8_lossy(&second.stdout);
    assert!(
        text.contains(&format!(
            "imported 0 new, 0 quarantined, {} already known",
            fixtures.len()
        )),
        "{text}"
    );

    // A fedora-messaging record file: one message per line.
    let record = dir.dir.path().join("record.jsonl");
    std::fs::write(
        &record,
        concat!(
            r#"{"topic": "org.fedoraproject.prod.pagure.git.receive", "headers": {"fedora_messaging_schema": "base.message", "fedora_messaging_severity": 20, "fedora_messaging_user_alice": true, "fedora_messaging_rpm_kernel": true, "sent-at": "2024-01-01T00:00:00+00:00"}, "id": "3f2e9c39-9b2f-4d4e-9d3c-2d6b1d9f0a11", "body": {"commit": {"repo": "kernel"}}, "queue": null}"#,
            "\n",
            r#"{"topic": "org.fedoraproject.prod.pagure.git.receive", "headers": {}, "id": "5a0c1f3e-52f8-4a53-9c3a-8f1b9f3c2e22", "body": {"x": 1}, "queue": null, "priority": 1}"#,
            "\n"
        ),
    )
    .expect("write record");
    let out = dir.run(&["import", record.to_str().expect("path")]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 new"));
    let alice = dir.search(&["--user", "alice", "--package", "kernel"]);
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0]["id"], "3f2e9c39-9b2f-4d4e-9d3c-2d6b1d9f0a11");

    // A broken line is reported with its file and line, and the exit code says so.
    std::fs::write(&record, "{not json\n").expect("write");
    let out = dir.run(&["import", record.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1"),
        "{}",
        output_text(&out)
    );

    // `show` prints the rendering and the raw message.
    let out = dir.run(&["show", "37370b5b-728c-4fb2-a61f-fbbb3bbcf773"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("fedora_messaging_rpm_chromium"), "{shown}");
    assert!(
        shown.contains("https://koji.fedoraproject.org/koji/buildinfo?buildID=1478312"),
        "{shown}"
    );

    let stats = dir.run(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats json");
    assert_eq!(
        v["messages"].as_i64().unwrap_or(0) + v["quarantined"].as_i64().unwrap_or(0),
        fixtures.len() as i64 + 2
    );
}
