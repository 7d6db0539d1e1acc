//! Notifications through an outage of the notification server, end to end: a real broker, a
//! real `herald run`, a private session bus and the fake server. The server killed mid-stream
//! (its name released) and a new one started: notifications fail fast and are recorded as
//! failed while it is gone, and later messages are shown by the new server; the same when the
//! bus itself restarts. A server that never answers does not slow ingestion: the history
//! fills as fast as with notifications off, and no message is recorded as shown.

use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::dbus::FakeNotifications;
use herald_e2e::herald::{confirm_channel, output_text, publish_raw, wait_for_messages};
use herald_e2e::notify_world::{
    eventually, stderr, World, ALL_CAPS, EACH_ITS_OWN, NOTIFY_ALL, WAIT,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Publishes one small message per name, each with message id `<prefix>-<name>`, to
/// `amq.topic` (every one matches the notify-all rule); returns the ids.
async fn publish(
    ch: &lapin::Channel,
    prefix: &str,
    names: impl IntoIterator<Item = usize>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in names {
        let id = format!("{prefix}-{i}");
        let props = lapin::BasicProperties::default()
            .with_message_id(id.as_str().into())
            .with_content_type("application/json".into());
        let body = format!("{{\"n\": {i}, \"prefix\": \"{prefix}\"}}");
        publish_raw(
            ch,
            "amq.topic",
            &format!("org.fedoraproject.prod.herald.outage.{prefix}"),
            body.as_bytes(),
            props,
        )
        .await;
        ids.push(id);
    }
    ids
}

/// Waits until every id in `ids` has a recorded fate; returns them.
async fn fates_of(world: &World, ids: &[String], within: Duration) -> BTreeMap<String, String> {
    let deadline = Instant::now() + within;
    loop {
        let all = world.fates().await;
        let got: BTreeMap<String, String> = ids
            .iter()
            .filter_map(|id| all.get(id).cloned().flatten().map(|f| (id.clone(), f)))
            .collect();
        if got.len() == ids.len() {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "fates of {} of {} messages after {within:?}: {got:?}",
            got.len(),
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Publishes a message every 250 ms until `fake` has been called; the ids published.
async fn publish_until_called(ch: &lapin::Channel, prefix: &str, fake: &FakeNotifications) {
    let deadline = Instant::now() + WAIT;
    for i in 0.. {
        publish(ch, prefix, [i]).await;
        if eventually(Duration::from_millis(250), || !fake.calls().is_empty()).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no notification at the new server within {WAIT:?}"
        );
    }
}

fn assert_all(fates: &BTreeMap<String, String>, want: &str, what: &str) {
    assert!(
        fates.values().all(|f| f == want),
        "{what}: every fate {want:?}, got {fates:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn notifications_come_back_when_the_server_and_the_bus_do() {
    wait_for_system_broker().await;
    let mut world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let first = FakeNotifications::start(&world.bus, ALL_CAPS);
    let run = world.spawn(&["run", "--until-idle", "8"], None);
    let conn = world.vhost.connect().await;
    let ch = confirm_channel(&conn).await;

    let before = publish(&ch, "before", 0..5).await;
    first.wait_for_calls(5, WAIT);
    assert_all(
        &fates_of(&world, &before, WAIT).await,
        "shown",
        "before the outage",
    );

    // Killed: its connection closes and the name is released. Messages go on arriving; their
    // notifications fail at once, nothing waits on the dead server.
    drop(first);
    let t = Instant::now();
    let gap = publish(&ch, "gap", 0..20).await;
    let fates = fates_of(&world, &gap, Duration::from_secs(10)).await;
    assert_all(&fates, "failed", "while the server is gone");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "20 messages during the outage took {:?}",
        t.elapsed()
    );

    // A new server on the same bus: later messages are shown there.
    let second = FakeNotifications::start(&world.bus, ALL_CAPS);
    publish_until_called(&ch, "retry", &second).await;
    let after = publish(&ch, "after", 0..5).await;
    assert_all(
        &fates_of(&world, &after, WAIT).await,
        "shown",
        "after the restart",
    );
    assert!(second.calls().len() >= 6, "{:#?}", second.calls());
    drop(second);

    // The bus restarts: Herald's connection to it breaks, and a new one is made.
    world.bus.restart();
    let third = FakeNotifications::start(&world.bus, ALL_CAPS);
    publish_until_called(&ch, "rebus", &third).await;
    let last = publish(&ch, "last", 0..5).await;
    assert_all(
        &fates_of(&world, &last, WAIT).await,
        "shown",
        "after the bus restart",
    );
    assert!(third.calls().len() >= 6, "{:#?}", third.calls());
    let _ = conn.close(200, "published".into()).await;

    let out = run.finish().await;
    let err = stderr(&out);
    let count = |needle: &str| err.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count("lost the notification server"),
        2,
        "each loss told once: {}",
        output_text(&out)
    );
    assert_eq!(
        count("the notification server is back"),
        2,
        "each return told once: {}",
        output_text(&out)
    );
}

/// Publishes `n` messages, then times `herald run ARGS` from its start until all of them are
/// in the history.
async fn ingest(world: &World, args: &[&str], prefix: &str, n: usize) -> Duration {
    let conn = world.vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    publish(&ch, prefix, 0..n).await;
    let _ = conn.close(200, "published".into()).await;
    let t = Instant::now();
    let run = world.spawn(args, None);
    let stats = wait_for_messages(&world.dir.db(), n, Duration::from_secs(120)).await;
    let took = t.elapsed();
    eprintln!("{prefix}: {} stored in {took:?}", stats.messages);
    assert_eq!(stats.messages as usize, n, "{prefix}: all stored");
    run.finish().await;
    took
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_does_not_slow_ingestion() {
    const N: usize = 2000;
    wait_for_system_broker().await;
    let bare = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let baseline = ingest(
        &bare,
        &["run", "--until-idle", "1", "--no-notify"],
        "bare",
        N,
    )
    .await;

    let world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let hung = FakeNotifications::start_hung(&world.bus, ALL_CAPS);
    let took = ingest(&world, &["run", "--until-idle", "1"], "hung", N).await;
    eprintln!("{N} messages: {baseline:?} without notifications, {took:?} with a hung server");
    assert!(
        took < baseline * 2 + Duration::from_secs(5),
        "{N} messages took {took:?} with a hung notification server, {baseline:?} without"
    );
    assert!(!hung.calls().is_empty(), "the hung server was reached");

    let fates: Vec<String> = world.fates().await.into_values().flatten().collect();
    assert_eq!(fates.len(), N, "every message has a fate");
    let mut counts = BTreeMap::new();
    for f in &fates {
        *counts.entry(f.as_str()).or_insert(0) += 1;
    }
    assert!(
        counts.keys().all(|f| *f == "failed" || *f == "overflow"),
        "nothing shown by a server that never answers: {counts:?}"
    );
}
