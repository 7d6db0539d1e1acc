//! What notifications say when messages are hostile, end to end: every `bad/` fixture of the
//! shared corpus, and a twin of each with hostile text planted in every string of its body
//! and in a header name, is published to the real broker and consumed by a real `herald run`,
//! which notifies over a private D-Bus to a fake notification server. In every `Notify` call
//! the server records, nothing is clickable by GNOME Shell's rule, no line but Herald's last
//! starts like one of Herald's own, and no character Herald neutralises is left. Two builds
//! whose links differ only in host show that a link is offered as "Open" only when its host
//! is the one Koji is known to use; the other is named as text.

use herald_core::clean::{gnome_links, is_neutralised};
use herald_core::recorded::Fixture;
use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::dbus::{FakeNotifications, NotifyCall};
use herald_e2e::herald::{all_fixtures, output_text};
use herald_e2e::notify_world::{
    fixture, id_of, unescape, World, ALL_CAPS, EACH_ITS_OWN, EXCHANGES, NOTIFY_ALL, WAIT,
};
use serde_json::Value;

/// Planted into the twins: foreign schemes, schemeless links, fake lines of Herald's after
/// every kind of line break, and the characters Herald neutralises.
const HOSTILE: &str = " smb://evil.com/share file:///etc/passwd www.evil.example evil.com/login \
     \nLink: https://evil.com/a\r\nOpen: evil.com\u{2028}Not opened: x\u{2029}open: y\u{85}\
     \u{202E}\u{2066}\u{200E}\u{200F}\u{061C}\u{200B}\u{200D}\u{2060}\u{FEFF}\u{1B}[2J\u{7}";

/// How Herald's own lines start; only the last line of a body may.
const OWN_LABELS: &[&str] = &["open:", "not opened:", "link:"];

fn looks_own(line: &str) -> bool {
    let l = line.trim_start().to_lowercase();
    OWN_LABELS.iter().any(|o| l.starts_with(o))
}

fn plant(v: &mut Value) {
    match v {
        Value::String(s) => s.push_str(HOSTILE),
        Value::Array(a) => a.iter_mut().for_each(plant),
        Value::Object(o) => o.values_mut().for_each(plant),
        _ => {}
    }
}

/// The hostile `bad/` fixtures this world can route, each followed by its planted twin.
fn hostile_fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for (path, f) in all_fixtures() {
        let routed = EXCHANGES.iter().any(|(e, _)| *e == f.exchange);
        if !path.to_string_lossy().contains("/bad/") || !routed {
            continue;
        }
        let mut twin = f.clone();
        if let Some(body) = twin.body.as_mut() {
            plant(body);
        } else {
            // Repeated and nested bodies are large already; their twin would say nothing new.
            out.push(f);
            continue;
        }
        if let Some(h) = twin.headers.as_mut() {
            h.insert(
                format!("fedora_messaging_rpm_pkg{HOSTILE}"),
                Value::Bool(true),
            );
        }
        if let Some(id) = &f.properties.message_id {
            twin.properties.message_id = Some(format!("{id}-hostile"));
        }
        out.push(f);
        out.push(twin);
    }
    out
}

/// A Koji build of `name` whose web root is `base`.
fn koji_build(name: &str, base: &str) -> Fixture {
    let mut f = fixture("koji-build-state-change-complete-chromium.json");
    let body = f.body.as_mut().expect("a JSON body");
    body["base_url"] = Value::String(base.to_owned());
    body["name"] = Value::String(name.to_owned());
    f.properties.message_id = Some(format!("{name}-1"));
    f
}

/// Checks one text as the server got it (and as it reads it, for a markup body).
fn check_text(what: &str, sent: &str, markup: bool, last_is_own: bool) {
    let read = if markup {
        unescape(sent)
    } else {
        sent.to_owned()
    };
    for t in [sent, read.as_str()] {
        let links = gnome_links(t);
        assert!(links.is_empty(), "{what}: {links:?} clickable in {t:?}");
        assert!(
            !t.chars().any(|c| c != '\n' && is_neutralised(c)),
            "{what}: a neutralised character in {t:?}"
        );
        let lines: Vec<&str> = t.lines().collect();
        let ours = usize::from(last_is_own && lines.last().is_some_and(|l| looks_own(l)));
        for l in &lines[..lines.len() - ours] {
            assert!(!looks_own(l), "{what}: {l:?} is not Herald's line in {t:?}");
        }
    }
}

fn check_call(call: &NotifyCall) {
    let what = format!("{call:#?}");
    check_text(&what, &call.summary, false, false);
    check_text(&what, &call.body, true, true);
    for label in call.action_labels() {
        check_text(&what, label, false, false);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_notify_without_links_fake_lines_or_hidden_characters() {
    wait_for_system_broker().await;
    let world = World::new("", EACH_ITS_OWN, NOTIFY_ALL);
    let fake = FakeNotifications::start(&world.bus, ALL_CAPS);
    let mut fixtures = hostile_fixtures();
    let known = koji_build("knownhost", "https://koji.fedoraproject.org");
    let spoof = koji_build("spoofhost", "https://koji.fedoraproject.org.evil.example");
    fixtures.push(known.clone());
    fixtures.push(spoof.clone());
    world.publish(&fixtures).await;
    let out = world
        .spawn(&["run", "--until-idle", "2"], None)
        .finish()
        .await;

    let fates = world.fates().await;
    let shown = fixtures
        .iter()
        .filter(|f| fates.get(&id_of(f)) == Some(&Some("shown".to_owned())))
        .count();
    // The hostile twins render and notify too: most of the corpus is at stake here.
    assert!(
        shown >= 20,
        "only {shown} of {} shown: {fates:#?}\n{}",
        fixtures.len(),
        output_text(&out)
    );
    let calls = fake.wait_for_calls(shown, WAIT);
    assert_eq!(calls.len(), shown, "{calls:#?}\n{}", output_text(&out));
    for call in &calls {
        check_call(call);
    }
    let planted = calls
        .iter()
        .filter(|c| unescape(&c.body).contains("smb[:]//evil[.]com/share"))
        .count();
    assert!(planted >= 5, "planted text reaches the bodies: {calls:#?}");

    let by_name = |name: &str| {
        calls
            .iter()
            .find(|c| c.summary.contains(name) || c.body.contains(name))
            .unwrap_or_else(|| panic!("no notification of {name}: {calls:#?}"))
    };
    let known = by_name("knownhost");
    assert_eq!(
        known.action_keys(),
        ["default", "open", "mute:knownhost", "snooze:everything"],
        "{known:#?}"
    );
    assert_eq!(
        known.body.lines().last(),
        Some("Open: koji.fedoraproject.org"),
        "{known:#?}"
    );
    let spoof = by_name("spoofhost");
    assert_eq!(
        spoof.action_keys(),
        ["mute:spoofhost", "snooze:everything"],
        "an unknown host is never offered: {spoof:#?}"
    );
    assert_eq!(
        spoof.body.lines().last(),
        Some("Not opened: koji.fedoraproject.org.evil.example is not a known Koji host"),
        "{spoof:#?}"
    );
    assert!(!spoof.body.contains("https://"), "{spoof:#?}");
}
