//! Notifications end to end: messages published to the real broker are consumed by a real
//! `herald run`, which notifies over a real (private) D-Bus to a fake notification server
//! that records every `Notify` call. Checked: what each fixture's notification says and
//! offers (icon, urgency, escaping, actions), that a flood of one kind makes a handful of
//! notifications while every message is stored, and that the reports of one Pulp task
//! replace each other. The actions and the runs that notify nothing are in `notify_actions`.

use herald_core::recorded::Fixture;
use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::dbus::{FakeNotifications, NotifyCall};
use herald_e2e::herald::{confirm_channel, output_text, publish_raw};
use herald_e2e::notify_world::{
    by_notification, fixture, icons_dir, id_of, severity, strings, unescape, World, ALL_CAPS,
    EACH_ITS_OWN, NOTIFY_ALL, WAIT,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The fixtures of the first test: Koji, Bodhi, Anitya, Copr and Pulp, of several severities,
/// two without an http(s) link (relative Pulp links) and the two hostile ones.
const FIXTURES: &[&str] = &[
    "koji-build-state-change-complete-chromium.json",
    "koji-tag-http-parser.json",
    "bodhi-update-request-testing-gnome-settings-daemon.json",
    "anitya-project-version-update-v2-flatpak.json",
    "copr-build-end-failed-tkn.json",
    "pulp-task-canceled-sync-centos7.json",
    "pulp-task-error-sync-epel7.json",
    "bad-xss-koji-url.json",
    "bad-xss-package-name.json",
];

/// Publishes `FIXTURES`, lets `herald run` notify a server with `caps`, and checks each
/// notification against its fixture. Returns the calls, in publishing order.
async fn fixtures_to(caps: &[&str]) -> Vec<(String, NotifyCall)> {
    wait_for_system_broker().await;
    let world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let fake = FakeNotifications::start(&world.bus, caps);
    let fixtures: Vec<Fixture> = FIXTURES.iter().map(|n| fixture(n)).collect();
    world.publish(&fixtures).await;
    let out = world
        .spawn(&["run", "--until-idle", "2"], None)
        .finish()
        .await;

    let calls = fake.wait_for_calls(fixtures.len(), WAIT);
    assert_eq!(
        calls.len(),
        fixtures.len(),
        "one notification per message: {calls:#?}\n{}",
        output_text(&out)
    );
    let markup = caps.contains(&"body-markup");
    let actions = caps.contains(&"actions");
    let icons = icons_dir();
    for ((name, f), call) in FIXTURES.iter().zip(&fixtures).zip(&calls) {
        let what = format!("{name}: {call:#?}");
        assert_eq!(call.app_name, "Herald", "{what}");
        assert_eq!(call.replaces_id, 0, "nothing replaced: {what}");
        let source = f.expect["source"].as_str().expect("expected source");
        assert_eq!(
            Path::new(&call.app_icon),
            icons.join(format!("source-{source}.png")),
            "{what}"
        );
        let urgency = match severity(f) {
            40.. => 2,
            30..=39 => 1,
            _ => 0,
        };
        assert_eq!(
            call.urgency,
            Some(urgency),
            "severity {}: {what}",
            severity(f)
        );

        let body = if markup {
            unescape(&call.body)
        } else {
            call.body.clone()
        };
        let text = format!("{}\n{body}", call.summary);
        for s in strings(&f.expect["summary_contains"]) {
            assert!(text.contains(&s), "{s:?} missing from {what}");
        }
        for t in [&call.summary, &call.body] {
            assert!(
                !t.chars().any(|c| ('\u{202a}'..='\u{202e}').contains(&c)),
                "bidi controls neutralised: {what}"
            );
        }
        if markup {
            assert!(
                !call.body.contains('<') && !call.body.contains('>'),
                "a markup body is escaped: {what}"
            );
        }

        let keys = call.action_keys();
        if !actions {
            assert!(call.actions.is_empty(), "no actions offered: {what}");
            continue;
        }
        let http = f.expect["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
        // Clicking the notification opens its link; without one, a click does nothing.
        assert_eq!(keys.first() == Some(&"default"), http, "{what}");
        assert_eq!(
            keys.contains(&"open"),
            http,
            "open only for an http(s) link: {what}"
        );
        let packages = strings(&f.expect["packages"]);
        let mutes: Vec<&str> = keys
            .iter()
            .filter_map(|k| k.strip_prefix("mute:"))
            .collect();
        if packages.is_empty() {
            assert!(mutes.is_empty(), "{what}");
        } else {
            assert_eq!(mutes.len(), 1, "{what}");
            assert!(packages.iter().any(|p| p == mutes[0]), "{what}");
        }
        assert_eq!(keys.last(), Some(&"snooze:everything"), "{what}");
    }

    let fates = world.fates().await;
    for f in &fixtures {
        assert_eq!(
            fates.get(&id_of(f)),
            Some(&Some("shown".to_owned())),
            "{fates:?}"
        );
    }
    FIXTURES
        .iter()
        .map(|n| (*n).to_owned())
        .zip(calls)
        .collect()
}

fn call_of<'a>(calls: &'a [(String, NotifyCall)], name: &str) -> &'a NotifyCall {
    &calls.iter().find(|(n, _)| n == name).expect("fixture").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_through_the_broker_notify_with_icons_urgency_actions_and_escaping() {
    let calls = fixtures_to(ALL_CAPS).await;

    let chromium = call_of(&calls, "koji-build-state-change-complete-chromium.json");
    assert_eq!(
        chromium.action_keys(),
        ["default", "open", "mute:chromium", "snooze:everything"]
    );
    assert!(chromium.summary.contains("chromium-80.0.3987.132-1.fc33"));

    // javascript: links are not links; the package name is shown, escaped, never as markup.
    let koji = call_of(&calls, "bad-xss-koji-url.json");
    assert_eq!(
        koji.action_keys(),
        ["mute:<b>bold</b>-pkg", "snooze:everything"]
    );
    assert!(
        koji.body.contains("&lt;b&gt;bold&lt;/b&gt;-pkg"),
        "{:?}",
        koji.body
    );
    // The summary is plain text by the spec: shown as typed, not escaped.
    assert!(
        koji.summary.contains("<b>bold</b>-pkg"),
        "{:?}",
        koji.summary
    );

    let anitya = call_of(&calls, "bad-xss-package-name.json");
    assert!(
        anitya
            .body
            .contains("&lt;script&gt;alert(&apos;anitya&apos;)&lt;/script&gt;"),
        "{:?}",
        anitya.body
    );
    assert!(
        !anitya.body.contains("javascript:"),
        "the homepage is not offered: {:?}",
        anitya.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixtures_to_a_plain_server_get_literal_text_and_no_actions() {
    let calls = fixtures_to(&["body"]).await;
    let koji = call_of(&calls, "bad-xss-koji-url.json");
    assert!(
        koji.body.contains("<b>bold</b>-pkg"),
        "plain text, not escaped, for a server without body-markup: {:?}",
        koji.body
    );
}

/// The Koji build fixture as build number `n`: its headers and properties, a message id, a
/// build id and an NVR of its own.
fn koji_build(template: &Fixture, n: usize) -> (Vec<u8>, lapin::BasicProperties) {
    let mut body = template.body.clone().expect("Koji fixture body");
    body["build_id"] = Value::from(5_000_000 + n);
    body["release"] = Value::from(format!("{n}.fc40"));
    body["url"] = Value::from(format!(
        "https://koji.fedoraproject.org/koji/buildinfo?buildID={}",
        5_000_000 + n
    ));
    let props = template
        .properties
        .to_amqp(template.header_table())
        .with_message_id(uuid::Uuid::new_v4().to_string().as_str().into());
    (serde_json::to_vec(&body).expect("JSON"), props)
}

/// "Koji: 333 builds finished" → 333; a notification about one build → 1.
fn builds_in(summary: &str) -> usize {
    summary
        .strip_prefix("Koji: ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_builds_makes_a_handful_of_notifications_and_stores_every_message() {
    wait_for_system_broker().await;
    // The default rate limit; a digest window short enough to see the digests close.
    let world = World::new(
        "",
        "digest_window_secs = 5\nrate_limit_per_minute = 10\n",
        "[[herald.rules]]\nid = \"builds\"\naction = \"notify\"\n\
         topics = [\"org.fedoraproject.prod.buildsys.build.state.change\"]\n",
    );
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);
    let run = world.spawn(&["run", "--until-idle", "8"], None);

    let template = fixture("koji-build-state-change-complete-chromium.json");
    let total = 1000;
    let conn = world.vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    let started = Instant::now();
    for n in 0..total {
        let (body, props) = koji_build(&template, n);
        publish_raw(&ch, &template.exchange, &template.topic, &body, props).await;
        // 1,000 messages over about ten seconds.
        if n % 20 == 19 {
            let due = started + Duration::from_millis(10 * (n as u64 + 1));
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
    }
    let published_in = started.elapsed();
    let _ = conn.close(200, "published".into()).await;
    let out = run.finish().await;

    let calls = fake.calls();
    let new: Vec<&NotifyCall> = calls.iter().filter(|c| c.replaces_id == 0).collect();
    let what = format!(
        "{} calls for {total} messages published in {published_in:?}: {:#?}\n{}",
        calls.len(),
        calls
            .iter()
            .map(|c| (c.id, c.replaces_id, c.summary.as_str()))
            .collect::<Vec<_>>(),
        output_text(&out)
    );
    assert!(
        !new.is_empty() && new.len() <= 5,
        "a few new notifications: {what}"
    );
    assert!(calls.len() <= 10, "a handful of calls in all: {what}");
    for c in calls.iter().filter(|c| c.replaces_id != 0) {
        assert!(
            new.iter().any(|n| n.id == c.replaces_id),
            "a digest replaces the first notification of its burst: {what}"
        );
        assert!(c.summary.starts_with("Koji: "), "{what}");
        assert!(c.summary.ends_with("builds finished"), "{what}");
    }
    // What is on screen at the end accounts for every build: each burst's digest (or its only
    // notification) counts its builds.
    let on_screen: usize = new
        .iter()
        .map(|n| {
            let last = calls
                .iter()
                .rev()
                .find(|c| c.id == n.id)
                .expect("its calls");
            builds_in(&last.summary)
        })
        .sum();
    assert_eq!(on_screen, total, "{what}");

    let stats = world.stats();
    assert_eq!(stats["messages"], total, "{stats}\n{what}");
    let fates = by_notification(&stats);
    assert_eq!(
        fates.values().sum::<i64>(),
        total as i64,
        "every message has its fate: {fates:?}\n{what}"
    );
    assert_eq!(
        fates,
        BTreeMap::from([
            ("shown".to_owned(), new.len() as i64),
            ("coalesced".to_owned(), (total - new.len()) as i64),
        ]),
        "{what}"
    );
    assert_eq!(
        world.dir.search(&[]).len(),
        total,
        "every message is in the history"
    );
}

/// The task report of `template` in another state: not started, running or done.
fn pulp_report(template: &Fixture, state: &str) -> Fixture {
    let mut f = template.clone();
    let body = f.body.as_mut().expect("Pulp task body");
    body["state"] = Value::from(state);
    if state != "finished" {
        body["finish_time"] = Value::Null;
        body["result"] = Value::Null;
    }
    if state == "waiting" {
        body["start_time"] = Value::Null;
        body["progress_report"] = Value::Object(Default::default());
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_of_one_pulp_task_replace_each_other() {
    wait_for_system_broker().await;
    // Default notification settings: updates of one task replace it rather than coalesce.
    let world = World::new(
        "pulp_base = \"https://pulp.example.com\"\n",
        "",
        "[[herald.rules]]\nid = \"pulp\"\naction = \"notify\"\n\
         topics = [\"tasks.#\", \"pulp.server.#\"]\n",
    );
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);
    let finished = fixture("pulp-task-finished-sync-scenario-test.json");
    let task = finished.body.as_ref().expect("body")["task_id"].clone();
    let start = fixture("pulp-event-repo-sync-start-scenario-test.json");
    let finish = fixture("pulp-event-repo-sync-finish-scenario-test.json");
    for event in [&start, &finish] {
        assert_eq!(
            event.body.as_ref().expect("body")["call_report"]["task_id"],
            task,
            "the events are about the same task"
        );
    }
    let sequence = [
        pulp_report(&finished, "waiting"),
        start,
        pulp_report(&finished, "running"),
        finish,
        finished,
    ];
    world.publish(&sequence).await;
    let out = world
        .spawn(&["run", "--until-idle", "2"], None)
        .finish()
        .await;

    let calls = fake.wait_for_calls(sequence.len(), WAIT);
    let what = format!("{calls:#?}\n{}", output_text(&out));
    assert_eq!(calls.len(), sequence.len(), "{what}");
    let first = &calls[0];
    assert_eq!(first.replaces_id, 0, "{what}");
    for c in &calls[1..] {
        assert_eq!(
            (c.replaces_id, c.id),
            (first.id, first.id),
            "one chain: {what}"
        );
    }
    let text = |c: &NotifyCall| format!("{}\n{}", c.summary, c.body);
    assert!(text(&calls[0]).contains("waiting"), "{what}");
    assert!(text(&calls[2]).contains("running"), "{what}");
    let last = calls.last().expect("calls");
    assert!(last.summary.contains("finished"), "the final state: {what}");
    assert!(last.summary.contains("scenario_test"), "{what}");
    assert!(last.action_keys().contains(&"open"), "{what}");

    let fates = world.fates().await;
    assert_eq!(fates.len(), sequence.len(), "{fates:?}");
    assert!(
        fates.values().all(|f| f.as_deref() == Some("shown")),
        "{fates:?}"
    );
}
