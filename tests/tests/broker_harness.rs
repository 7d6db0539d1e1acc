//! Proves the broker harness itself with plain lapin, before any Herald code relies on it:
//! certificate login over TLS, rejection of a server the client does not trust, data that
//! survives a node restart, and server-side connection closing.

use std::time::{Duration, Instant};

use herald_e2e::broker::{system_amqp_url, unique, wait_for_system_broker, PrivateBroker};
use herald_e2e::certs::{Certs, CLIENT_CN};
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::tcp::OwnedTLSConfig;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use tokio::task::block_in_place;
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(30);

async fn connect(url: &str, tls: OwnedTLSConfig) -> lapin::Result<Connection> {
    let runtime = lapin::runtime::default_runtime()?;
    timeout(
        STEP,
        Connection::connect_with_config(url, ConnectionProperties::default(), tls, runtime),
    )
    .await
    .expect("connecting took over 30 s")
}

async fn publish_confirmed(channel: &Channel, queue: &str, body: &[u8], persistent: bool) {
    let mut props = BasicProperties::default();
    if persistent {
        props = props.with_delivery_mode(2);
    }
    let confirm = channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            body,
            props,
        )
        .await
        .expect("publish")
        .await
        .expect("publisher confirm");
    assert!(
        matches!(confirm, Confirmation::Ack(_)),
        "not acked: {confirm:?}"
    );
}

async fn get_body(channel: &Channel, queue: &str) -> Option<Vec<u8>> {
    channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic_get")
        .map(|message| message.delivery.data.clone())
}

async fn close(channel: Channel, conn: Connection) {
    // The channel first: closing a connection that still has open channels can fail with
    // InvalidChannelState.
    channel
        .close(200, "done".into())
        .await
        .expect("close channel");
    conn.close(200, "done".into())
        .await
        .expect("close connection");
}

fn report_boot(what: &str, broker: &PrivateBroker) {
    eprintln!(
        "{what}: node {} ready in {:.1}s",
        broker.node(),
        broker.last_boot_time().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_harness_system_broker_round_trip() {
    wait_for_system_broker().await;
    let conn = connect(&system_amqp_url(), OwnedTLSConfig::default())
        .await
        .expect("connect to the system broker");
    let channel = conn.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm_select");
    let queue = unique("herald-harness-system");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare queue");
    publish_confirmed(&channel, &queue, b"shared broker", false).await;
    assert_eq!(
        get_body(&channel, &queue).await.as_deref(),
        Some(&b"shared broker"[..])
    );
    channel
        .queue_delete(queue.as_str().into(), Default::default())
        .await
        .expect("delete queue");
    close(channel, conn).await;
}

/// A private node with a TLS listener and a user for the test client certificate.
fn tls_broker() -> (tempfile::TempDir, Certs, PrivateBroker) {
    let certs_dir = tempfile::tempdir().expect("temp dir");
    let certs = Certs::generate(certs_dir.path());
    let broker = block_in_place(|| {
        let broker = PrivateBroker::with_tls(&certs);
        broker.add_user_for_cert(CLIENT_CN);
        broker
    });
    (certs_dir, certs, broker)
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_harness_tls_certificate_login_publishes_and_gets() {
    let (_certs_dir, certs, broker) = tls_broker();
    report_boot("tls", &broker);

    let conn = connect(&broker.amqps_url(), certs.client_tls_config())
        .await
        .expect("connect with the client certificate");
    let logins = block_in_place(|| broker.ctl(&["list_connections", "user", "auth_mechanism"]));
    assert!(
        logins.contains(&format!("{CLIENT_CN}\tEXTERNAL")),
        "expected a connection authenticated as {CLIENT_CN} via EXTERNAL:\n{logins}"
    );

    let channel = conn.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm_select");
    let queue = unique("herald-harness-tls");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("declare queue");
    publish_confirmed(&channel, &queue, b"over tls", false).await;
    assert_eq!(
        get_body(&channel, &queue).await.as_deref(),
        Some(&b"over tls"[..])
    );
    close(channel, conn).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_harness_tls_rejects_server_signed_by_untrusted_ca() {
    let (_certs_dir, certs, broker) = tls_broker();
    report_boot("tls (wrong CA)", &broker);

    let error = connect(&broker.amqps_url(), certs.wrong_ca_tls_config())
        .await
        .expect_err("a client trusting only the wrong CA must not connect");
    eprintln!("connecting while trusting only the wrong CA failed as expected: {error}");
    eprintln!("  debug form: {error:?}");
    let text = format!("{error} {error:?}").to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("issuer"),
        "expected a certificate verification error, got: {error}"
    );

    // The same client with the right CA works, so the failure above is about trust only.
    let conn = connect(&broker.amqps_url(), certs.client_tls_config())
        .await
        .expect("connect with the right CA");
    conn.close(200, "done".into()).await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_harness_restart_keeps_durable_queue_and_persistent_message() {
    let mut broker = block_in_place(PrivateBroker::plain);
    report_boot("restart, first boot", &broker);
    let queue = unique("herald-harness-durable");

    let conn = connect(&broker.amqp_url(), OwnedTLSConfig::default())
        .await
        .expect("connect");
    let channel = conn.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm_select");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .expect("declare durable queue");
    publish_confirmed(&channel, &queue, b"survives restarts", true).await;
    close(channel, conn).await;

    let port = broker.amqp_port();
    let stopped_at = Instant::now();
    block_in_place(|| {
        broker.stop();
        assert!(!broker.is_running());
        broker.start();
    });
    eprintln!(
        "restart: stop+start took {:.1}s (boot {:.1}s)",
        stopped_at.elapsed().as_secs_f64(),
        broker.last_boot_time().as_secs_f64()
    );
    assert_eq!(broker.amqp_port(), port, "a restart must keep the port");

    let conn = connect(&broker.amqp_url(), OwnedTLSConfig::default())
        .await
        .expect("connect after restart");
    let channel = conn.create_channel().await.expect("channel");
    assert_eq!(
        get_body(&channel, &queue).await.as_deref(),
        Some(&b"survives restarts"[..]),
        "the persistent message must survive the restart"
    );
    close(channel, conn).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn broker_harness_close_all_connections_breaks_open_connection() {
    let broker = block_in_place(PrivateBroker::plain);
    report_boot("close_all_connections", &broker);

    let conn = connect(&broker.amqp_url(), OwnedTLSConfig::default())
        .await
        .expect("connect");
    let _channel = conn.create_channel().await.expect("channel");
    assert!(conn.status().connected());

    block_in_place(|| broker.close_all_connections());

    let deadline = Instant::now() + Duration::from_secs(10);
    while conn.status().connected() {
        assert!(
            Instant::now() < deadline,
            "connection still reports connected 10 s after close_all_connections"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = conn.status();
    eprintln!("after close_all_connections: {status:?}");
    assert!(status.closed() || status.errored() || status.closing());
    let error = conn
        .create_channel()
        .await
        .expect_err("a closed connection must not open channels");
    eprintln!("create_channel after close_all_connections: {error}");
}
