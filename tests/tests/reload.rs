//! Reloads that change nothing about the broker must not touch the connection. A config with
//! no `[queues]` (the Fedora public default, or any `amqp_url` alone) consumes from a queue
//! Herald generates; its name is kept per install, so a reload — `herald rules add`, a Mute
//! written by the config editor, SIGHUP, or a plain rewrite of the file — neither reconnects
//! nor loses what the old queue held.

use herald_core::config::edit::ConfigEditor;
use herald_core::filter::{Action, Conditions, Names, RuleSpec};
use herald_e2e::herald::{
    confirm_channel, publish_raw, rabbitmqctl, wait_for_messages, HeraldDir, Vhost,
};
use std::process::Stdio;
use std::time::{Duration, Instant};

const MESSAGES: usize = 3_000;

fn queues(vhost: &Vhost) -> Vec<String> {
    rabbitmqctl(&["list_queues", "-p", &vhost.name, "name"])
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty() && l != "name")
        .collect()
}

#[test]
fn reloads_while_messages_flow_keep_the_queue_and_every_message() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let vhost = Vhost::new();
    let config = format!(
        "amqp_url = \"{}\"\n\n[client_properties]\napp = \"herald-e2e-reload\"\n\n\
         [herald]\nunmatched = \"history\"\n",
        vhost.url()
    );
    let dir = HeraldDir::new(&config);
    let mut child = dir
        .command(&["-v", "run", "--no-notify"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald");
    // Read what it says as it goes: -v writes a line per message, and a full pipe would stall it.
    let mut err = child.stderr.take().expect("stderr");
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
        text
    });

    // The generated queue appears once Herald is connected and bound.
    let start = Instant::now();
    let queue = loop {
        if let Some(q) = queues(&vhost).into_iter().next() {
            break q;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "herald never bound a queue"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        uuid::Uuid::parse_str(&queue).is_ok(),
        "UUID-shaped: {queue}"
    );

    let publishing = {
        let url = vhost.url();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let conn = lapin::Connection::connect(&url, Default::default())
                    .await
                    .expect("connect");
                let ch = confirm_channel(&conn).await;
                // A steady ~1,000 messages a second, for about three seconds.
                for i in 0..MESSAGES {
                    let props = lapin::BasicProperties::default()
                        .with_message_id(format!("r-{i}").into())
                        .with_content_type("application/json".into());
                    let body = format!("{{\"n\": {i}}}");
                    publish_raw(&ch, "amq.topic", "org.test.reload", body.as_bytes(), props).await;
                    if i % 50 == 49 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                let _ = conn.close(200, "done".into()).await;
            });
        })
    };

    // Reload in every way a user can while the messages flow.
    let pid = child.id().to_string();
    for round in 0..8 {
        std::thread::sleep(Duration::from_millis(350));
        match round % 4 {
            0 => {
                let out = dir.run(&[
                    "rules",
                    "add",
                    "--id",
                    &format!("quiet-{round}"),
                    "--topic",
                    "org.nothing.here.#",
                    "--action",
                    "drop",
                ]);
                assert!(out.status.success(), "rules add: {:?}", out);
            }
            1 => {
                // What Mute from a notification writes.
                let mut rule = RuleSpec::new(
                    format!("mute-pkg{round}"),
                    Action::Drop,
                    Conditions {
                        packages: Names::any_of([format!("no-such-package-{round}")]),
                        ..Conditions::default()
                    },
                );
                rule.priority = 10;
                let mut editor = ConfigEditor::load(&dir.config()).expect("editor");
                editor.upsert_rule(&rule).expect("upsert");
                editor.save().expect("save");
            }
            2 => {
                std::process::Command::new("kill")
                    .args(["-HUP", &pid])
                    .status()
                    .expect("SIGHUP");
            }
            _ => {
                let text = std::fs::read_to_string(dir.config()).expect("read");
                std::fs::write(dir.config(), text).expect("rewrite unchanged");
            }
        }
        assert_eq!(
            queues(&vhost),
            std::slice::from_ref(&queue),
            "the same queue after reload {round}"
        );
    }
    publishing.join().expect("publisher");

    let stored = rt.block_on(wait_for_messages(
        &dir.db(),
        MESSAGES,
        Duration::from_secs(60),
    ));
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("SIGTERM");
    let status = child.wait().expect("herald exits");
    let stderr = said.join().expect("stderr reader");
    assert!(status.success(), "clean exit: {stderr}");
    assert_eq!(
        stored.messages as usize, MESSAGES,
        "all stored once each: {stderr}"
    );
    assert_eq!(stored.quarantined, 0, "{stderr}");
    let connects = stderr.matches("] connected to").count();
    assert_eq!(connects, 1, "reloads did not reconnect: {stderr}");
    assert!(
        stderr.contains("rules reloaded") || stderr.matches(" rules, ").count() > 1,
        "{stderr}"
    );
}

/// A real change of broker settings reconnects, and what the broker had already routed to
/// the old (exclusive, auto-delete) queue is fetched before that queue goes. The history is
/// held locked meanwhile, so the messages wait in the queue rather than in Herald.
#[test]
fn a_broker_change_reconnects_and_keeps_what_was_already_routed() {
    const ROUTED: usize = 400;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let vhost = Vhost::new();
    let config = format!(
        "amqp_url = \"{}\"\n\n[client_properties]\napp = \"herald-e2e-reload\"\n",
        vhost.url()
    );
    let dir = HeraldDir::new(&config);
    dir.declare();
    let child = dir
        .command(&["run", "--no-notify"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald");
    let start = Instant::now();
    while queues(&vhost).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "never bound");
        std::thread::sleep(Duration::from_millis(100));
    }
    let stored = rt.block_on(async {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", dir.db().display());
        let mut lock = sqlx::SqliteConnection::connect(&url).await.expect("open");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut lock)
            .await
            .expect("lock");
        let conn = vhost.connect().await;
        let ch = confirm_channel(&conn).await;
        for i in 0..ROUTED {
            let props = lapin::BasicProperties::default().with_message_id(format!("b-{i}").into());
            publish_raw(&ch, "amq.topic", "org.test.change", b"{\"a\": 1}", props).await;
        }
        let _ = conn.close(200, "done".into()).await;
        // A broker setting: the connection must be made again.
        let text = std::fs::read_to_string(dir.config()).expect("read");
        std::fs::write(dir.config(), format!("{text}\n[qos]\nprefetch_count = 7\n"))
            .expect("change qos");
        tokio::time::sleep(Duration::from_secs(2)).await;
        sqlx::query("ROLLBACK")
            .execute(&mut lock)
            .await
            .expect("unlock");
        drop(lock);
        wait_for_messages(&dir.db(), ROUTED, Duration::from_secs(60))
            .await
            .messages as usize
    });
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("SIGTERM");
    let out = child.wait_with_output().expect("herald exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "clean exit: {stderr}");
    assert_eq!(
        stored, ROUTED,
        "everything routed before the change: {stderr}"
    );
    assert_eq!(
        stderr.matches("] connected to").count(),
        2,
        "one reconnect: {stderr}"
    );
}
