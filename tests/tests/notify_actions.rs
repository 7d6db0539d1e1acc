//! Notification actions end to end, with a fake notification server on a private D-Bus that
//! clicks actions like a user: Open runs the opener with exactly the link (and only for
//! http(s) links), Mute writes a drop rule that applies at once and Snooze holds a rule's
//! messages; a message committed but not acknowledged when Herald stops is notified on
//! redelivery; and without a notification server or with `--no-notify` every message is
//! still stored, with the fate `disabled`.

use herald_core::config::{Config, PRIMARY};
use herald_core::filter::{Action, Subject};
use herald_core::history::Entry;
use herald_core::message::Message;
use herald_core::recorded::Fixture;
use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::dbus::FakeNotifications;
use herald_e2e::herald::output_text;
use herald_e2e::notify_world::{
    by_notification, eventually, fake_opener, fixture, id_of, stderr, World, ALL_CAPS,
    EACH_ITS_OWN, NOTIFY_ALL, WAIT,
};
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_runs_the_opener_with_the_link_and_mute_drops_the_package_at_once() {
    wait_for_system_broker().await;
    // Pulp tasks have a rule of their own, so that snoozing it holds nothing else back.
    let world = World::new(
        "",
        EACH_ITS_OWN,
        &format!(
            "[[herald.rules]]\nid = \"pulp\"\naction = \"notify\"\npriority = 40\n\
             topics = [\"tasks.#\"]\n\n{NOTIFY_ALL}"
        ),
    );
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);
    let tools = tempfile::tempdir().expect("tempdir");
    let log = tools.path().join("opened.log");
    let path = fake_opener(tools.path(), &log);
    let run = world.spawn(&["-v", "run", "--until-idle", "8"], Some(&path));

    let chromium = fixture("koji-build-state-change-complete-chromium.json");
    let hostile = fixture("bad-xss-koji-url.json");
    // Its link is relative: no pulp_base is configured.
    let pulp = fixture("pulp-task-canceled-sync-centos7.json");
    world
        .publish(&[chromium.clone(), hostile.clone(), pulp.clone()])
        .await;
    let calls = fake.wait_for_calls(3, WAIT);
    // Herald learns what a notification offers from the server's reply, just after the
    // server has recorded the call: clicks count once it has (`-v` says "notified").
    run.wait_for_stderr("notified: ", 3);
    let (c_chromium, c_hostile, c_pulp) = (&calls[0], &calls[1], &calls[2]);
    assert!(c_chromium.summary.contains("chromium"), "{calls:#?}");
    assert!(c_hostile.summary.contains("bold"), "{calls:#?}");
    assert_eq!(c_pulp.action_keys(), ["snooze:pulp"], "{calls:#?}");
    assert!(!c_hostile.action_keys().contains(&"open"), "{calls:#?}");

    // Open is not offered where the link is hostile or absent: clicking it, or clicking the
    // notification itself, does nothing at all (a click must never mute or snooze).
    fake.invoke_action(c_hostile.id, "open");
    fake.invoke_action(c_hostile.id, "default");
    fake.invoke_action(c_pulp.id, "open");
    fake.invoke_action(c_pulp.id, "default");
    // Their own buttons do: mute the hostile build's package, snooze the Pulp rule.
    fake.invoke_action(c_hostile.id, "mute:<b>bold</b>-pkg");
    fake.invoke_action(c_pulp.id, "snooze:pulp");
    // Then the real link, exactly, once.
    let url = "https://koji.fedoraproject.org/koji/buildinfo?buildID=1478312";
    fake.invoke_action(c_chromium.id, "open");
    assert!(
        eventually(WAIT, || log.exists()).await,
        "the opener ran for the chromium link"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let opened = std::fs::read_to_string(&log).expect("read the opener's log");
    assert_eq!(opened, format!("{url}\n"), "exactly one argument, the link");

    // Mute: a drop rule in the config file, in force at once.
    fake.invoke_action(c_chromium.id, "mute:chromium");
    let config = world.dir.config();
    assert!(
        eventually(WAIT, || std::fs::read_to_string(&config)
            .is_ok_and(|t| t.contains("mute-chromium")))
        .await,
        "the mute rule is written"
    );
    let cfg = Config::load(&config, false).expect("the muted config loads");
    let mute_hostile = cfg
        .herald
        .rules
        .iter()
        .find(|r| r.id == "mute-<b>bold</b>-pkg")
        .expect("the hostile build's Mute button muted its package");
    assert_eq!(mute_hostile.action, Action::Drop);
    let rule = cfg
        .herald
        .rules
        .iter()
        .find(|r| r.id == "mute-chromium")
        .expect("mute-chromium rule");
    assert_eq!(rule.action, Action::Drop);
    let building = fixture("koji-build-state-change-building-chromium.json");
    let env = building
        .envelope(time::OffsetDateTime::now_utc())
        .expect("env");
    let Entry::Stored(s) = Entry::new(Message::decode(env), &cfg.render_context()) else {
        panic!("the building fixture is a stored message");
    };
    let decision = cfg
        .rule_set(PRIMARY)
        .expect("rules compile")
        .evaluate(&Subject::of(&s));
    assert_eq!(
        (decision.action, decision.rule.as_deref()),
        (Action::Drop, Some("mute-chromium")),
        "the new rule decides chromium messages"
    );
    // Herald applies it as it writes it: the session reports the fourth rule in force.
    run.wait_for_stderr("[default] 4 rules", 1);
    // The Pulp rule is snoozed: its next task is stored and held, not shown.
    let pulp_error = fixture("pulp-task-error-sync-epel7.json");
    let flatpak = fixture("anitya-project-version-update-v2-flatpak.json");
    world
        .publish(&[building.clone(), pulp_error.clone(), flatpak.clone()])
        .await;
    let calls = fake.wait_for_calls(4, WAIT);
    assert!(
        calls[3].summary.contains("flatpak") || calls[3].body.contains("flatpak"),
        "the message after the muted and the snoozed ones is notified: {calls:#?}"
    );

    let out = run.finish().await;
    let calls = fake.calls();
    assert_eq!(
        calls.len(),
        4,
        "nothing about the muted package or the snoozed rule: {calls:#?}"
    );
    assert!(
        stderr(&out).contains("dropped by rules 1"),
        "{}",
        output_text(&out)
    );
    let fates = world.fates().await;
    assert!(
        !fates.contains_key(&id_of(&building)),
        "the muted package's message is dropped: {fates:?}"
    );
    for f in [&chromium, &hostile, &pulp, &flatpak] {
        assert_eq!(
            fates.get(&id_of(f)),
            Some(&Some("shown".to_owned())),
            "{fates:?}"
        );
    }
    assert_eq!(
        fates.get(&id_of(&pulp_error)),
        Some(&Some("paused".to_owned())),
        "a snoozed rule's message is held: {fates:?}"
    );
    let opened = std::fs::read_to_string(&log).expect("read the opener's log");
    assert_eq!(opened, format!("{url}\n"), "nothing else was opened");
}

/// A few fixtures of different sources, for the runs that notify nothing.
fn a_few() -> Vec<Fixture> {
    [
        "koji-build-state-change-complete-chromium.json",
        "bodhi-update-request-testing-gnome-settings-daemon.json",
        "anitya-project-version-update-v2-flatpak.json",
        "pulp-task-error-sync-epel7.json",
    ]
    .iter()
    .map(|n| fixture(n))
    .collect()
}

async fn all_disabled(world: &World, fixtures: &[Fixture]) {
    let fates = world.fates().await;
    assert_eq!(
        fates.len(),
        fixtures.len(),
        "every message stored: {fates:?}"
    );
    for f in fixtures {
        assert_eq!(
            fates.get(&id_of(f)),
            Some(&Some("disabled".to_owned())),
            "{fates:?}"
        );
    }
    let stats = world.stats();
    assert_eq!(
        by_notification(&stats),
        BTreeMap::from([("disabled".to_owned(), fixtures.len() as i64)]),
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_notification_server_messages_are_stored_as_disabled() {
    wait_for_system_broker().await;
    let world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let fixtures = a_few();
    world.publish(&fixtures).await;
    // The bus has no org.freedesktop.Notifications.
    let out = world
        .spawn(&["run", "--until-idle", "2"], None)
        .finish()
        .await;
    let err = stderr(&out);
    assert!(
        err.contains("no notification server") || err.contains("org.freedesktop.Notifications"),
        "{}",
        output_text(&out)
    );
    assert!(
        err.contains("notifications are off, messages are still stored"),
        "{}",
        output_text(&out)
    );
    assert!(
        err.contains(&format!("stored {}", fixtures.len())),
        "{}",
        output_text(&out)
    );
    all_disabled(&world, &fixtures).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_notify_stores_every_message_as_disabled_and_notifies_nothing() {
    wait_for_system_broker().await;
    let world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);
    let fixtures = a_few();
    world.publish(&fixtures).await;
    let out = world
        .spawn(&["run", "--until-idle", "2", "--no-notify"], None)
        .finish()
        .await;
    assert!(
        !stderr(&out).contains("notifications are off"),
        "--no-notify is asked for, not a failure: {}",
        output_text(&out)
    );
    // Herald has exited: anything it sent has arrived.
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
    all_disabled(&world, &fixtures).await;
}

/// Herald stops between committing a batch and acknowledging it (the fault point of the
/// reliability tests; a broker connection lost at that moment, or a missed heartbeat, does
/// the same to a running Herald): the broker delivers the batch again and Herald recognises
/// its messages as stored. They were never offered to the notification stage — that happens
/// only after the ack — so they must be offered now: notified, and their fate recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_committed_but_not_acked_before_a_crash_is_still_notified() {
    wait_for_system_broker().await;
    let world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);
    let chromium = fixture("koji-build-state-change-complete-chromium.json");
    world.publish(std::slice::from_ref(&chromium)).await;

    let crashed = world
        .herald(&["run", "--until-idle", "5"])
        .env("HERALD_FAULT_ABORT_AFTER_COMMIT", "1")
        .output()
        .expect("run herald");
    assert!(
        !crashed.status.success(),
        "the fault point aborts after the commit: {}",
        output_text(&crashed)
    );
    assert!(fake.calls().is_empty(), "{:#?}", fake.calls());
    assert_eq!(
        world.fates().await,
        BTreeMap::from([(id_of(&chromium), None)]),
        "committed, not yet offered"
    );

    let out = world
        .spawn(&["run", "--until-idle", "2"], None)
        .finish()
        .await;
    assert!(
        stderr(&out).contains("already known 1"),
        "redelivered and recognised: {}",
        output_text(&out)
    );
    let fates = world.fates().await;
    let calls = fake.calls();
    assert_eq!(
        (calls.len(), fates.get(&id_of(&chromium)).cloned().flatten()),
        (1, Some("shown".to_owned())),
        "the redelivered message was never notified and has no fate: {calls:#?}\n{fates:?}\n{}",
        output_text(&out)
    );
}
