//! Herald under a broker that misbehaves: connections closed from the broker side while
//! messages flow, a consumer killed between commit and ack, TLS with client certificates and a
//! wrong CA, and missing Fedora certificates.

use herald_core::history::HistoryStore;
use herald_core::sources::RenderContext;
use herald_e2e::broker::{wait_for_system_broker, PrivateBroker};
use herald_e2e::certs::Certs;

use herald_e2e::herald::{config_for, confirm_channel, output_text, publish_raw, HeraldDir, Vhost};
use lapin::BasicProperties;
use std::process::Stdio;
use std::time::{Duration, Instant};

const TOPIC_EXCHANGE: &str = "amq.topic";

fn props(with_id: bool) -> BasicProperties {
    let mut p = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2);
    if with_id {
        p = p.with_message_id(uuid::Uuid::new_v4().to_string().into());
    }
    p
}

fn body(i: usize, run: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"n": i, "run": run, "name": format!("pkg{i}")}))
        .expect("json")
}

/// Publishes test message `i` of `run` as persistent JSON, with or without a message id.
async fn publish_numbered(ch: &lapin::Channel, topic: &str, i: usize, run: &str, with_id: bool) {
    publish_raw(ch, TOPIC_EXCHANGE, topic, &body(i, run), props(with_id)).await;
}

async fn count_rows(dir: &HeraldDir) -> i64 {
    let store = HistoryStore::open(&dir.db(), &RenderContext::default())
        .await
        .expect("open history");
    let s = store.stats(1).await.expect("stats");
    s.messages + s.quarantined
}

/// Waits (up to 90 s) until `expected` messages are stored, then stops Herald with SIGTERM
/// and checks that it exits cleanly. Returns its stderr.
async fn drain_then_stop(dir: &HeraldDir, child: std::process::Child, expected: usize) -> String {
    let start = Instant::now();
    while count_rows(dir).await < expected as i64 && start.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let pid = child.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let out = child.wait_with_output().expect("herald exits");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "clean exit after SIGTERM: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_closed_by_the_broker_lose_nothing_and_duplicate_nothing() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let marker = uuid::Uuid::new_v4().simple().to_string();
    let dir = HeraldDir::new(&config_for(
        &vhost.url(),
        "reconnect",
        &[(TOPIC_EXCHANGE, "topic")],
        "[herald]\nbatch_size = 50\n",
    ));
    // The marker goes into the client properties so the test can find Herald's connection.
    let cfg = std::fs::read_to_string(dir.config())
        .expect("config")
        .replace(
            "app = \"herald-e2e\"",
            &format!("app = \"herald-e2e\"\nmarker = \"{marker}\""),
        );
    std::fs::write(dir.config(), cfg).expect("config");

    let child = dir
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald");
    let conn = vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    // Wait until Herald's queue exists and is bound, i.e. Herald is consuming.
    let start = Instant::now();
    while !herald_e2e::herald::rabbitmqctl(&["list_consumers", "-p", &vhost.name, "queue_name"])
        .contains("reconnect")
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Herald did not start consuming"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let total = 3000;
    let run = uuid::Uuid::new_v4().to_string();
    let mut closed = 0;
    for i in 0..total {
        // Some producers send no message_id: those are kept exactly once by content hash.
        publish_numbered(&ch, "org.example.prod.test.reconnect", i, &run, i % 3 != 0).await;
        if i % 1000 == 500 {
            closed += vhost.close_connections_marked(&marker);
        }
    }
    assert!(closed >= 2, "Herald's connection was closed {closed} times");

    let stderr = drain_then_stop(&dir, child, total).await;
    assert!(
        stderr.contains("retrying in"),
        "Herald noticed the drops: {stderr}"
    );
    assert_eq!(count_rows(&dir).await, total as i64, "{stderr}");
    let _ = conn.close(200, "done".into()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_between_commit_and_ack_no_duplicate_rows() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let dir = HeraldDir::new(&config_for(
        &vhost.url(),
        "redelivery",
        &[(TOPIC_EXCHANGE, "topic")],
        "[herald]\nbatch_size = 40\n",
    ));
    dir.declare();
    let conn = vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    let total = 200;
    let run = uuid::Uuid::new_v4().to_string();
    for i in 0..total {
        publish_numbered(&ch, "org.example.prod.test.redelivery", i, &run, i % 2 == 0).await;
    }
    // The fault point aborts the process right after the first commit, before the ack.
    let out = dir
        .command(&["run", "--until-idle", "5"])
        .env("HERALD_FAULT_ABORT_AFTER_COMMIT", "1")
        .output()
        .expect("run herald");
    assert!(
        !out.status.success(),
        "the process died: {}",
        output_text(&out)
    );
    let after_crash = count_rows(&dir).await;
    assert!(
        after_crash > 0,
        "the first batch was committed before the crash"
    );

    let out = dir.run(&["run", "--until-idle", "1.5"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The committed-but-unacked batch came back and was recognised, not stored twice.
    let known: i64 = stderr
        .split("already known ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {stderr}"));
    assert_eq!(known, after_crash, "{stderr}");
    assert_eq!(count_rows(&dir).await, total as i64);
    let _ = conn.close(200, "done".into()).await;
}

fn tls_config(url: &str, ca: &std::path::Path, certs: &Certs) -> String {
    format!(
        "amqp_url = \"{url}\"\n\n[tls]\nca_cert = \"{}\"\ncertfile = \"{}\"\nkeyfile = \"{}\"\n\n\
         [queues.tls-queue]\ndurable = true\nauto_delete = false\nexclusive = false\n\n\
         [[bindings]]\nqueue = \"tls-queue\"\nexchange = \"amq.topic\"\nrouting_keys = [\"#\"]\n",
        ca.display(),
        certs.client_cert_path().display(),
        certs.client_key_path().display()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_client_certificate_and_wrong_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = Certs::generate(dir.path());
    let broker = PrivateBroker::with_tls(&certs);
    broker.add_user_for_cert(herald_e2e::certs::CLIENT_CN);
    let url = format!("amqps://localhost:{}/%2f", broker.amqps_port());

    let herald = HeraldDir::new(&tls_config(&url, &certs.ca_path(), &certs));
    let out = herald.run(&["run", "--until-idle", "0.5"]);
    assert!(
        out.status.success(),
        "connects with the client certificate: {}",
        output_text(&out)
    );

    // Publish over the plain listener, consume over TLS with SASL EXTERNAL.
    let conn = lapin::Connection::connect(&broker.amqp_url(), Default::default())
        .await
        .expect("plain connection");
    let ch = confirm_channel(&conn).await;
    publish_raw(
        &ch,
        "amq.topic",
        "org.example.prod.tls",
        br#"{"tls": true}"#,
        props(true),
    )
    .await;
    let out = herald.run(&["run", "--until-idle", "1"]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert_eq!(count_rows(&herald).await, 1);

    // A CA that did not sign the server certificate: refused, with a clear reason.
    let wrong = HeraldDir::new(&tls_config(&url, &certs.wrong_ca_path(), &certs));
    let out = wrong.run(&["run", "--until-idle", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("cannot connect to amqps://localhost"), "{err}");
    assert!(
        err.contains("certificate") || err.contains("issuer"),
        "{err}"
    );
    let _ = conn.close(200, "done".into()).await;
}

#[test]
fn missing_fedora_certificates_say_how_to_get_them() {
    if std::path::Path::new("/etc/fedora-messaging/cacert.pem").exists() {
        // Only meaningful where the fedora-messaging package is not installed.
        return;
    }
    let herald = HeraldDir::new("");
    let out = herald.run(&["run", "--until-idle", "0.5"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/etc/fedora-messaging/cacert.pem"), "{err}");
    assert!(err.contains("dnf install fedora-messaging"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_restart_redeclares_and_stores_everything_once() {
    let mut broker = PrivateBroker::plain();
    let dir = HeraldDir::new(&config_for(
        &broker.amqp_url(),
        "restart",
        &[(TOPIC_EXCHANGE, "topic")],
        "[herald]\nbatch_size = 50\n",
    ));
    dir.declare();
    let child = dir
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald");
    let run = uuid::Uuid::new_v4().to_string();
    let publish = |range: std::ops::Range<usize>, url: String| {
        let run = run.clone();
        async move {
            let conn = lapin::Connection::connect(&url, Default::default())
                .await
                .expect("publisher connects");
            let ch = confirm_channel(&conn).await;
            for i in range {
                publish_numbered(&ch, "org.example.prod.test.restart", i, &run, i % 4 != 0).await;
            }
            let _ = conn.close(200, "done".into()).await;
        }
    };
    publish(0..500, broker.amqp_url()).await;
    // A restart while Herald is connected: persistent messages in the durable queue survive.
    tokio::task::block_in_place(|| {
        broker.stop();
        broker.start();
    });
    publish(500..1000, broker.amqp_url()).await;
    let stderr = drain_then_stop(&dir, child, 1000).await;
    assert!(
        stderr.matches("connected to").count() >= 2,
        "reconnected after the restart: {stderr}"
    );
    assert_eq!(count_rows(&dir).await, 1000, "{stderr}");
}
