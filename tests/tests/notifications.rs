//! Notifications over real D-Bus, no broker needed: a private `dbus-daemon` and a fake
//! `org.freedesktop.Notifications` server record exactly what `herald notify-test` and the
//! [`Freedesktop`] notifier send (app name, icon files, urgency bytes, escaped markup,
//! actions), how invoked actions come back, and that with no server the command fails
//! clearly. `herald open-link` is checked against a fake `xdg-open` on PATH.

use herald_core::notify::{Freedesktop, Notification, Notifier as _, NotifyAction, Urgency};
use herald_core::NotifyError;
use herald_e2e::dbus::{forge_action, FakeNotifications, NotifyCall, SessionBus, SERVER_INFO};
use herald_e2e::herald::{output_text, HeraldDir};
use herald_e2e::notify_world::fake_opener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const ALL_CAPS: &[&str] = &[
    "actions",
    "body",
    "body-markup",
    "icon-static",
    "persistence",
];

/// The repository's icons folder, resolved.
fn icons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../icons")
        .canonicalize()
        .expect("icons/ beside tests/")
}

/// `herald ARGS` on `bus` (or the given address), with a clean home and no icon override.
fn herald_on(address: &str, args: &[&str]) -> Output {
    let dir = HeraldDir::new("");
    dir.command(args)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .env_remove("HERALD_ICON_DIR")
        .output()
        .expect("run herald")
}

fn notify_test(caps: &[&str]) -> (Output, Vec<NotifyCall>) {
    let bus = SessionBus::start();
    let fake = FakeNotifications::start(&bus, caps);
    let out = herald_on(bus.address(), &["notify-test"]);
    assert!(
        out.status.success(),
        "herald notify-test: {}",
        output_text(&out)
    );
    let calls = fake.wait_for_calls(6, WAIT);
    assert_eq!(calls.len(), 6, "one notification per sample: {calls:#?}");
    (out, calls)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn notify_test_sends_herald_notifications_with_icons_urgency_actions_and_escaping() {
    let (out, calls) = notify_test(ALL_CAPS);
    let icons = icons_dir();
    let sources = ["koji", "bodhi", "anitya", "copr", "pulp", "generic"];
    for (call, source) in calls.iter().zip(sources) {
        assert_eq!(call.app_name, "Herald", "{call:#?}");
        assert_eq!(call.replaces_id, 0);
        let icon = Path::new(&call.app_icon);
        assert!(
            icon.is_absolute() && icon.is_file(),
            "icon {} is not a file",
            call.app_icon
        );
        assert_eq!(
            icon,
            icons.join(format!("source-{source}.png")),
            "{call:#?}"
        );
        // Only a link is a default action: clicking never mutes or snoozes.
        let keys = call.action_keys();
        assert_eq!(
            keys.first() == Some(&"default"),
            keys.contains(&"open"),
            "{call:#?}"
        );
    }
    let urgencies: Vec<Option<u8>> = calls.iter().map(|c| c.urgency).collect();
    assert_eq!(
        urgencies,
        [Some(2), Some(1), Some(0), Some(1), Some(1), Some(1)],
        "failed Koji build critical, Anitya release low"
    );

    let koji = &calls[0];
    assert!(koji.summary.contains("FAILED"), "{koji:#?}");
    assert_eq!(
        koji.action_keys(),
        ["default", "open", "mute:chromium", "snooze:koji-failures"]
    );
    assert_eq!(
        koji.action_labels(),
        ["Open", "Open", "Mute chromium", "Snooze 1 h"]
    );
    assert_eq!(calls[4].action_keys(), ["snooze:pulp-tasks"]);

    let hostile = &calls[5];
    assert!(
        hostile.body.contains("&lt;b&gt;x&lt;/b&gt; &amp; friends"),
        "body escaped for a body-markup server: {:?}",
        hostile.body
    );
    assert!(!hostile.body.contains('<'), "{:?}", hostile.body);
    // The summary is plain text by the spec: never escaped, shown as typed.
    assert!(
        hostile.summary.contains("<b>x</b>"),
        "{:?}",
        hostile.summary
    );
    assert_eq!(hostile.action_keys(), ["default", "open", "mute:<b>x</b>"]);
    assert_eq!(hostile.action_labels()[2], "Mute <b>x</b>");

    let text = stdout(&out);
    assert!(
        text.contains(SERVER_INFO.0),
        "prints the server name: {text}"
    );
    assert!(
        text.contains("actions, body, body-markup"),
        "prints capabilities: {text}"
    );
    assert!(
        text.contains("source-koji.png"),
        "prints what it sent: {text}"
    );
}

#[test]
fn notify_test_sends_literal_text_and_no_actions_to_a_plain_server() {
    let (out, calls) = notify_test(&["body"]);
    for call in &calls {
        assert_eq!(call.app_name, "Herald");
        assert!(
            call.actions.is_empty(),
            "no actions without the capability: {call:#?}"
        );
        assert!(call.urgency.is_some());
    }
    let hostile = &calls[5];
    assert!(
        hostile.body.contains("Package <b>x</b> & friends"),
        "plain text, not escaped, for a server without body-markup: {:?}",
        hostile.body
    );
    let text = stdout(&out);
    assert!(text.contains("no \"actions\" capability"), "{text}");
}

#[test]
fn notify_test_without_a_server_fails_clearly() {
    let bus = SessionBus::start();
    let out = herald_on(bus.address(), &["notify-test"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no notification server on the session bus")
            && err.contains("org.freedesktop.Notifications"),
        "{}",
        output_text(&out)
    );
}

#[test]
fn notify_test_without_a_session_bus_fails_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("unix:path={}", dir.path().join("no-bus").display());
    let out = herald_on(&address, &["notify-test"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no notification server on the session bus")
            && err.contains("cannot connect to the session bus"),
        "{}",
        output_text(&out)
    );
}

/// The next action within `timeout`, or `None`.
fn next_action(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<NotifyAction>,
    timeout: Duration,
) -> Option<NotifyAction> {
    let deadline = Instant::now() + timeout;
    loop {
        match rx.try_recv() {
            Ok(a) => return Some(a),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return None,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {}
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sample(actions: Vec<NotifyAction>) -> Notification {
    Notification {
        summary: "Koji build FAILED: chromium-124-1.fc40".into(),
        body: "buildArch failed".into(),
        icon: "koji".into(),
        urgency: Urgency::Critical,
        replaces: None,
        actions,
    }
}

#[test]
fn invoked_actions_map_back_to_what_the_notification_offered() {
    let bus = SessionBus::start();
    let fake = FakeNotifications::start(&bus, ALL_CAPS);
    let notifier = Freedesktop::connect_to(bus.address(), Some(icons_dir())).expect("connect");
    assert!(notifier.supports_actions() && notifier.supports_body_markup());
    assert_eq!(notifier.server().name, SERVER_INFO.0);
    let mut rx = notifier.actions();

    let url = "https://koji.fedoraproject.org/koji/buildinfo?buildID=2456789";
    let open = NotifyAction::Open { url: url.into() };
    let mute = NotifyAction::Mute {
        package: "chromium".into(),
    };
    let id = notifier
        .show(&sample(vec![open.clone(), mute.clone()]))
        .expect("show");
    let call = &fake.wait_for_calls(1, WAIT)[0];
    assert_eq!(call.id, id);
    assert_eq!(
        call.app_icon,
        icons_dir().join("source-koji.png").to_string_lossy()
    );
    assert_eq!(call.action_keys(), ["default", "open", "mute:chromium"]);

    // Clicked as dunst reports it (to the sender only) and as GNOME does (broadcast).
    fake.invoke_action(id, "open");
    assert_eq!(next_action(&mut rx, WAIT), Some(open.clone()));
    fake.broadcast_action(id, "mute:chromium");
    assert_eq!(next_action(&mut rx, WAIT), Some(mute.clone()));

    // Keys the notification did not offer, unknown ids and signals from anyone but the
    // server yield nothing; the next real click still arrives, and comes first.
    fake.invoke_action(id, "snooze:koji-failures");
    fake.invoke_action(id, "mute:firefox");
    fake.broadcast_action(id + 1000, "open");
    let impostor = bus.connect();
    forge_action(&impostor, &call.sender, id, "open");
    fake.invoke_action(id, "default");
    assert_eq!(
        next_action(&mut rx, WAIT),
        Some(open.clone()),
        "default is the first action"
    );
    assert_eq!(next_action(&mut rx, Duration::from_millis(300)), None);

    // A replacement keeps the id and offers its own actions only.
    let snooze = NotifyAction::Snooze {
        rule: "koji-failures".into(),
    };
    let mut update = sample(vec![snooze.clone()]);
    update.replaces = Some(id);
    assert_eq!(notifier.show(&update).expect("replace"), id);
    let calls = fake.wait_for_calls(2, WAIT);
    assert_eq!(calls[1].replaces_id, id);
    fake.invoke_action(id, "open");
    fake.invoke_action(id, "snooze:koji-failures");
    assert_eq!(next_action(&mut rx, WAIT), Some(snooze));

    // Closing is not an action.
    fake.close(id, 2);
    assert_eq!(next_action(&mut rx, Duration::from_millis(300)), None);
}

#[test]
fn no_actions_are_sent_to_a_server_without_them() {
    let bus = SessionBus::start();
    let fake = FakeNotifications::start(&bus, &["body"]);
    let notifier = Freedesktop::connect_to(bus.address(), Some(icons_dir())).expect("connect");
    assert!(!notifier.supports_actions() && !notifier.supports_body_markup());
    let mut rx = notifier.actions();
    let id = notifier
        .show(&sample(vec![NotifyAction::Open {
            url: "https://example.org/".into(),
        }]))
        .expect("show");
    assert!(fake.wait_for_calls(1, WAIT)[0].actions.is_empty());
    fake.invoke_action(id, "open");
    assert_eq!(next_action(&mut rx, Duration::from_millis(300)), None);
}

#[test]
fn a_bus_without_a_server_is_no_server() {
    let bus = SessionBus::start();
    match Freedesktop::connect_to(bus.address(), None) {
        Err(NotifyError::NoServer(reason)) => {
            assert!(reason.contains("org.freedesktop.Notifications"), "{reason}")
        }
        other => panic!("expected NoServer, got {other:?}"),
    }
}

fn open_link(path: &str, url: &str) -> Output {
    let dir = HeraldDir::new("");
    let mut c: Command = dir.command(&["open-link", "--", url]);
    c.env("PATH", path).output().expect("run herald open-link")
}

#[test]
fn open_link_launches_only_http_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("opened.log");
    let path = fake_opener(dir.path(), &log);
    for hostile in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        " https://x",
        "data:text/html,x",
        "https://user:pw@example.org/",
        "java\nscript:alert(1)",
    ] {
        let out = open_link(&path, hostile);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{hostile:?}: {}",
            output_text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot open link: refusing"),
            "{}",
            output_text(&out)
        );
    }
    // Give a wrongly started opener time to write before checking that none ran.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !log.exists(),
        "an opener ran: {:?}",
        std::fs::read_to_string(&log)
    );

    let url = "https://koji.fedoraproject.org/koji/buildinfo?buildID=1";
    let out = open_link(&path, url);
    assert!(out.status.success(), "{}", output_text(&out));
    let deadline = Instant::now() + WAIT;
    while !log.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let opened = std::fs::read_to_string(&log).expect("the fake xdg-open ran");
    assert_eq!(opened, format!("{url}\n"), "exactly one argument, the link");
}
