//! "Test connection" against the system RabbitMQ and what stands in for other hosts: connected,
//! unknown vhost, refused, no answer in time, TLS spoken to a plain port, another service
//! answering — each told in words that say no more of the network than refused, timed out or
//! TLS failed — and no password sent over plain `amqp://` to another machine.

use super::{connection, Login, PROBE_TIMEOUT};
use herald_core::bus::{self, Credentials};
use herald_core::secrets::Secret;
use herald_e2e::broker::wait_for_system_broker;
use std::net::TcpListener;
use std::time::{Duration, Instant};

#[tokio::test]
async fn probe_connects_and_names_the_broker() {
    wait_for_system_broker().await;
    let login = Login::system();
    let r = bus::probe(
        &connection(&login.url_with_password("%2F")),
        &Credentials::default(),
        PROBE_TIMEOUT,
    )
    .await;
    assert!(r.ok, "{}", r.message);
    assert!(
        r.message.starts_with(&format!(
            "Connected to {} as {} (RabbitMQ ",
            login.at(),
            login.user
        )),
        "{}",
        r.message
    );
    assert!(r.elapsed_ms < PROBE_TIMEOUT.as_millis() as u64);
}

#[tokio::test]
async fn probe_reports_an_unknown_vhost() {
    wait_for_system_broker().await;
    let vhost = format!("herald-no-such-vhost-{}", uuid::Uuid::new_v4().simple());
    let r = bus::probe(
        &connection(&Login::system().url_with_password(&vhost)),
        &Credentials::default(),
        PROBE_TIMEOUT,
    )
    .await;
    assert!(!r.ok);
    assert!(
        r.message.starts_with("Unknown virtual host"),
        "{}",
        r.message
    );
}

/// Probes a guest login on 127.0.0.1:`port` and checks the answer says only that no broker
/// could be reached there.
async fn assert_answers_only_unreachable(port: u16) {
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2F");
    let r = bus::probe(&connection(&url), &Credentials::default(), PROBE_TIMEOUT).await;
    assert!(!r.ok);
    assert_eq!(
        r.message,
        format!(
            "Cannot connect to 127.0.0.1:{port}: refused or unreachable, or no AMQP broker \
             answers there"
        )
    );
}

#[tokio::test]
async fn probe_reports_a_closed_port() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    assert_answers_only_unreachable(port).await;
}

#[tokio::test]
async fn probe_respects_its_timeout() {
    // Accepts TCP connections (the kernel does, from the backlog) and never says a word:
    // a broker that hangs, without sending anything beyond this machine.
    let silent = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = silent.local_addr().expect("address").port();
    let url = format!("amqp://guest:guest@127.0.0.1:{port}/%2F");
    let started = Instant::now();
    let r = bus::probe(
        &connection(&url),
        &Credentials::default(),
        Duration::from_secs(1),
    )
    .await;
    let took = started.elapsed();
    assert!(!r.ok);
    assert_eq!(
        r.message,
        format!(
            "No answer from 127.0.0.1:{port} within 1 s: is the host reachable, and is the \
             port right?"
        )
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert!((950..3000).contains(&r.elapsed_ms), "{}", r.elapsed_ms);
    drop(silent);
}

#[tokio::test]
async fn probe_reports_tls_spoken_to_a_plain_port() {
    wait_for_system_broker().await;
    let login = Login::system();
    let url = login
        .url_with_password("%2F")
        .replacen("amqp://", "amqps://", 1);
    let r = bus::probe(&connection(&url), &Credentials::default(), PROBE_TIMEOUT).await;
    assert!(!r.ok);
    assert_eq!(
        r.message,
        format!("TLS failed with {} (details in Herald's log)", login.at())
    );
}

/// Whatever answers a port that is not a broker, the page learns only that no broker
/// answered there: the test cannot tell a closed port from an open one of another service.
#[tokio::test]
async fn probe_tells_nothing_of_what_else_answers() {
    let http = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = http.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for mut s in http.incoming().flatten() {
            use std::io::Write as _;
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nServer: secret-internal/1.0\r\n\r\n");
        }
    });
    assert_answers_only_unreachable(port).await;
}

/// A password named for another machine over plain `amqp://` is never sent: refused before
/// any connection, typed or stored.
#[tokio::test]
async fn no_password_goes_to_another_machine_without_tls() {
    // TEST-NET-1: nothing answers there, and the refusal must come before trying.
    let conn = connection("amqp://alice@192.0.2.1:5672/%2F");
    let creds = Credentials {
        password: Some(Secret::new("hunter2".to_owned())),
        ..Credentials::default()
    };
    let r = bus::probe(&conn, &creds, PROBE_TIMEOUT).await;
    assert!(!r.ok);
    assert!(r.message.contains("without TLS"), "{}", r.message);
    assert!(!r.message.contains("hunter2"), "{}", r.message);
    assert!(
        r.elapsed_ms < 1000,
        "refused at once, took {} ms",
        r.elapsed_ms
    );
}
