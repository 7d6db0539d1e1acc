//! The package chain's notifications end to end: messages published to the real broker are
//! consumed by a real `herald run`, which builds the package model and notifies over a real
//! (private) D-Bus to a fake notification server that records every `Notify` call.
//! Checked: Greenwave flipping failed → waiting → failed → passed makes exactly one "gating
//! passed" once the decision has held for `gating_settle`; the push to stable makes exactly
//! one "reached stable"; a watched package whose upstream release has waited longer than
//! `no_build_after` with no build makes exactly one "no build" — each with the update's or
//! project's host on its "Open" line and its fate kept; and a restart raises none of them
//! again.

use herald_core::history::HistoryStore;
use herald_core::recorded::Fixture;
use herald_core::sources::RenderContext;
use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::dbus::{FakeNotifications, NotifyCall};
use herald_e2e::herald::output_text;
use herald_e2e::notify_world::{unescape, Running, World, ALL_CAPS, EACH_ITS_OWN, WAIT};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ALIAS: &str = "FEDORA-2026-1a2b3c";
const NVR: &str = "python-rich-14.1.0-1.fc43";
/// How long a decision must hold: long enough that the flip-flop below never settles.
const SETTLE_SECS: u64 = 3;

/// jdoe's profile with python-watched watched, short chain settings, and every message
/// kept (the greenwave topic is in no default rule).
fn world() -> World {
    World::new(
        "catch_up = false",
        EACH_ITS_OWN,
        &format!(
            "[herald.profile]\nusers = [\"jdoe\"]\npackages = [\"python-watched\"]\n\n\
             [herald.packages]\ngating_settle = \"{SETTLE_SECS}s\"\nno_build_after = \"1d\"\n\n\
             [[herald.rules]]\nid = \"keep\"\naction = \"history\"\npriority = 200\n\
             topics = [\"#\"]\n"
        ),
    )
}

/// A message as fedora-messaging sends it, sent at `sent`, naming `package` (and jdoe).
fn message(id: &str, topic: &str, package: &str, body: Value, sent: OffsetDateTime) -> Fixture {
    let schema = topic
        .trim_start_matches("org.fedoraproject.prod.")
        .trim_start_matches("org.release-monitoring.prod.");
    serde_json::from_value(json!({
        "topic": topic,
        "exchange": "amq.topic",
        "headers": {
            "fedora_messaging_schema": format!("{schema}.v1"),
            "fedora_messaging_severity": 20,
            "sent-at": sent.format(&Rfc3339).expect("format"),
            format!("fedora_messaging_rpm_{package}"): true,
            "fedora_messaging_user_jdoe": true,
        },
        "properties": {"message_id": id, "content_type": "application/json"},
        "body": body,
    }))
    .expect("a fixture")
}

fn update(id: &str, push: &str, sent: OffsetDateTime) -> Fixture {
    let body = json!({
        "update": {
            "alias": ALIAS,
            "builds": [{"nvr": NVR}],
            "user": {"name": "jdoe"},
            "status": if push == "complete.stable" { "stable" } else { "pending" },
            "request": if push == "complete.stable" { Value::Null } else { "testing".into() },
            "release": {"name": "F43", "branch": "f43"},
        },
        "agent": "jdoe",
    });
    message(
        id,
        &format!("org.fedoraproject.prod.bodhi.update.{push}"),
        "python-rich",
        body,
        sent,
    )
}

/// Greenwave's decision: passed, or failed, or (`missing`) waiting for results.
fn decision(id: &str, outcome: &str, sent: OffsetDateTime) -> Fixture {
    let summary = match outcome {
        "passed" => "All required tests passed",
        "missing" => "1 of 2 required test results missing",
        _ => "1 of 2 required tests failed",
    };
    let body = json!({
        "subject_identifier": ALIAS,
        "subject_type": "bodhi_update",
        "product_version": "fedora-43",
        "decision_context": "bodhi_update_push_testing",
        "policies_satisfied": outcome == "passed",
        "summary": summary,
        "subject": [{"item": NVR, "type": "koji_build"}, {"item": ALIAS, "type": "bodhi_update"}],
    });
    message(
        id,
        "org.fedoraproject.prod.greenwave.decision.update",
        "python-rich",
        body,
        sent,
    )
}

fn calls_with<'a>(calls: &'a [NotifyCall], needle: &str) -> Vec<&'a NotifyCall> {
    calls
        .iter()
        .filter(|c| c.summary.contains(needle))
        .collect()
}

/// Waits until the fake has a call whose title contains `needle` and returns all calls so
/// far; when none comes, fails with what `run` said.
async fn wait_for(
    fake: &FakeNotifications,
    needle: &str,
    run: Running,
) -> (Vec<NotifyCall>, Running) {
    let deadline = Instant::now() + WAIT;
    loop {
        let calls = fake.calls();
        if !calls_with(&calls, needle).is_empty() {
            return (calls, run);
        }
        if Instant::now() > deadline {
            let out = run.finish().await;
            panic!(
                "no {needle:?} notification: {calls:#?}\n{}",
                output_text(&out)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ago(d: time::Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() - d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gating_settles_once_stable_once_and_a_missing_build_once() {
    wait_for_system_broker().await;
    let world = world();
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);

    // jdoe's update, then Greenwave flipping within the settle window, all in the queue
    // before Herald starts so that they are taken together.
    let ms = time::Duration::milliseconds;
    world
        .publish(&[
            update("u-testing", "request.testing", ago(ms(2000))),
            decision("g1", "failed", ago(ms(1200))),
            decision("g2", "missing", ago(ms(900))),
            decision("g3", "failed", ago(ms(600))),
            decision("g4", "passed", ago(ms(300))),
        ])
        .await;
    let run = world.spawn(&["-v", "run", "--until-idle", "15"], None);
    let (calls, run) = wait_for(&fake, "gating passed", run).await;
    let gating = calls_with(&calls, "gating");
    assert_eq!(gating.len(), 1, "one gating notification: {calls:#?}");
    let passed = gating[0];
    assert_eq!(
        passed.summary,
        format!("python-rich: gating passed ({ALIAS}, f43)")
    );
    let body = unescape(&passed.body);
    assert!(body.contains(&format!("Build: {NVR}")), "{body}");
    assert!(
        body.ends_with("Open: bodhi.fedoraproject.org"),
        "the update's host: {body}"
    );
    assert!(!body.contains("https://"), "no URL in the text: {body}");
    assert_eq!(
        passed.action_keys(),
        ["default", "open", "mute:python-rich", "snooze:chain-gating"],
        "{passed:#?}"
    );
    // Held longer than the settle window again: still the one notification.
    tokio::time::sleep(Duration::from_secs(SETTLE_SECS + 1)).await;
    let calls = fake.calls();
    assert_eq!(calls_with(&calls, "gating").len(), 1, "{calls:#?}");

    world
        .publish(&[update("u-stable", "complete.stable", ago(ms(100)))])
        .await;
    let (calls, run) = wait_for(&fake, "reached stable", run).await;
    let stable = calls_with(&calls, "reached stable");
    assert_eq!(stable.len(), 1, "{calls:#?}");
    assert_eq!(
        stable[0].summary,
        "python-rich 14.1.0 reached stable in f43"
    );
    assert_eq!(
        stable[0].replaces_id, passed.id,
        "it replaces the update's gating notification on screen"
    );

    // A watched package: built ten days ago, a new upstream release two days ago.
    let day = time::Duration::days;
    let build = message(
        "k1",
        "org.fedoraproject.prod.buildsys.build.state.change",
        "python-watched",
        json!({
            "name": "python-watched", "version": "1.0", "release": "1.fc43",
            "new": 1, "old": 0, "build_id": 4242, "owner": "someone",
            "instance": "primary", "request": ["git+https://src/x", "f43-candidate", {}],
        }),
        ago(day(10)),
    );
    let release = message(
        "a1",
        "org.release-monitoring.prod.anitya.project.version.update.v2",
        "python-watched",
        json!({
            "message": {
                "project": {"id": 4242, "name": "watched", "version": "1.1"},
                "upstream_versions": ["1.1"],
                "stable_versions": ["1.1"],
                "packages": [{"distro": "Fedora", "package_name": "python-watched"}],
                "agent": "anitya",
            },
            "distro": null,
        }),
        ago(day(2)),
    );
    world.publish(&[build, release]).await;
    let (calls, run) = wait_for(&fake, "no build", run).await;
    let no_build = calls_with(&calls, "no build");
    assert_eq!(no_build.len(), 1, "{calls:#?}");
    assert_eq!(
        no_build[0].summary,
        "python-watched: upstream 1.1 for 2 days, no build"
    );
    let body = unescape(&no_build[0].body);
    assert!(body.contains("Fedora: 1.0"), "{body}");
    assert!(body.ends_with("Open: release-monitoring.org"), "{body}");
    let out = run.finish().await;
    let text = output_text(&out);
    assert_eq!(
        text.matches("package: ").count(),
        3,
        "-v tells each notice once: {text}"
    );

    let calls = fake.calls();
    for (needle, n) in [("gating", 1), ("reached stable", 1), ("no build", 1)] {
        assert_eq!(calls_with(&calls, needle).len(), n, "{needle}: {calls:#?}");
    }
    let store = HistoryStore::open(&world.dir.db(), &RenderContext::default())
        .await
        .expect("open history");
    let mut notices: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT package, kind, fate FROM package_notices")
            .fetch_all(store.pool())
            .await
            .expect("read the notices");
    notices.sort();
    let shown = Some("shown".to_owned());
    assert_eq!(
        notices,
        [
            ("python-rich".into(), "gating".into(), shown.clone()),
            ("python-rich".into(), "stable".into(), shown.clone()),
            ("python-watched".into(), "no_build".into(), shown),
        ]
    );
    drop(store);

    // A restart finds all three raised already.
    let before = calls.len();
    let out = world
        .spawn(&["-v", "run", "--until-idle", "3"], None)
        .finish()
        .await;
    assert!(
        !output_text(&out).contains("package: "),
        "{}",
        output_text(&out)
    );
    assert_eq!(fake.calls().len(), before, "{:#?}", &fake.calls()[before..]);
}
