//! The notifier survives its notification server: over a real private `dbus-daemon` and the
//! fake server, the [`Freedesktop`] notifier fails fast while the server is gone, comes back
//! to a restarted server (asking it again what it can do, forgetting the old server's ids)
//! and to a restarted bus, and a server that never answers costs one short timeout, not one
//! per notification. The same end to end, with a real broker and `herald run`, is in
//! `notify_outage`.

use herald_core::notify::{Freedesktop, Notification, Notifier as _, NotifyAction, Urgency};
use herald_core::NotifyError;
use herald_e2e::dbus::{FakeNotifications, SessionBus};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);
const ALL_CAPS: &[&str] = &["actions", "body", "body-markup"];

fn note(actions: Vec<NotifyAction>) -> Notification {
    Notification {
        summary: "Koji build FAILED: chromium-124-1.fc40".into(),
        body: "buildArch failed".into(),
        icon: "koji".into(),
        urgency: Urgency::Normal,
        replaces: None,
        actions,
    }
}

fn mute() -> NotifyAction {
    NotifyAction::Mute {
        package: "chromium".into(),
    }
}

/// Shows `n` until it is shown (a lost server is tried again only after a backoff); panics
/// after `WAIT`.
fn show_until_shown(notifier: &Freedesktop, n: &Notification) -> u32 {
    let deadline = Instant::now() + WAIT;
    loop {
        match notifier.show(n) {
            Ok(id) => return id,
            Err(e) => assert!(
                Instant::now() < deadline,
                "not shown again within {WAIT:?}: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn next_action(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<NotifyAction>,
    timeout: Duration,
) -> Option<NotifyAction> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(a) = rx.try_recv() {
            return Some(a);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_notifier_comes_back_after_its_server_and_its_bus() {
    let mut bus = SessionBus::start();
    let first = FakeNotifications::start(&bus, ALL_CAPS);
    let notifier = Freedesktop::connect_to(bus.address(), None).expect("connect");
    let mut rx = notifier.actions();
    let old_id = notifier.show(&note(vec![mute()])).expect("show");
    first.invoke_action(old_id, "mute:chromium");
    assert_eq!(next_action(&mut rx, WAIT), Some(mute()));

    // The server goes away: the next call finds out, and the ones after fail at once.
    drop(first);
    let t = Instant::now();
    match notifier.show(&note(vec![])) {
        Err(NotifyError::NoServer(_)) => {}
        other => panic!("expected NoServer with the server gone, got {other:?}"),
    }
    for _ in 0..50 {
        match notifier.show(&note(vec![])) {
            Err(NotifyError::Unreachable { .. }) => {}
            other => panic!("expected Unreachable while the server is gone, got {other:?}"),
        }
    }
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "51 calls to a gone server took {:?}",
        t.elapsed()
    );

    // Another server, without markup or actions, takes the name: it is asked again what it
    // can do, and an id of the old server is neither replaced nor mapped to its actions.
    let second = FakeNotifications::start(&bus, &["body"]);
    let mut replacing = note(vec![mute()]);
    replacing.replaces = Some(old_id);
    let id = show_until_shown(&notifier, &replacing);
    let call = &second.wait_for_calls(1, WAIT)[0];
    assert_eq!(call.id, id);
    assert_eq!(
        call.replaces_id, 0,
        "an old server's id is not sent: {call:#?}"
    );
    assert!(
        call.actions.is_empty(),
        "the new server has no actions: {call:#?}"
    );
    assert_eq!(notifier.capabilities(), ["body"]);
    assert!(!notifier.supports_body_markup());
    assert_eq!(
        id, old_id,
        "the new server numbers from 1 again, as the old one did"
    );
    second.invoke_action(id, "mute:chromium");
    assert_eq!(next_action(&mut rx, Duration::from_millis(300)), None);
    drop(second);

    // The bus itself restarts: every connection to it breaks. A new connection is made and
    // the listener subscribes again on it: a click arrives.
    bus.restart();
    let third = FakeNotifications::start(&bus, ALL_CAPS);
    let id = show_until_shown(&notifier, &note(vec![mute()]));
    assert_eq!(
        third.wait_for_calls(1, WAIT)[0].action_keys(),
        ["mute:chromium"]
    );
    third.invoke_action(id, "mute:chromium");
    assert_eq!(next_action(&mut rx, WAIT), Some(mute()));
    assert!(notifier.supports_body_markup());
    // And it stays up.
    for _ in 0..5 {
        notifier.show(&note(vec![])).expect("shown");
    }
    assert_eq!(third.calls().len(), 6);
}

#[test]
fn a_server_that_never_answers_costs_one_short_timeout() {
    let bus = SessionBus::start();
    let hung = FakeNotifications::start_hung(&bus, ALL_CAPS);
    let notifier = Freedesktop::connect_to(bus.address(), None).expect("connect");
    let t = Instant::now();
    match notifier.show(&note(vec![])) {
        Err(NotifyError::NoServer(reason)) => {
            assert!(reason.contains("did not answer"), "{reason}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(4),
        "one Notify waits for the call timeout (2 s), waited {waited:?}"
    );
    assert_eq!(hung.wait_for_calls(1, WAIT).len(), 1);
    let t = Instant::now();
    for _ in 0..100 {
        match notifier.show(&note(vec![])) {
            Err(NotifyError::Unreachable { .. }) => {}
            other => panic!("expected Unreachable after the timeout, got {other:?}"),
        }
    }
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "100 calls after the timeout took {:?}",
        t.elapsed()
    );
    assert_eq!(
        hung.calls().len(),
        1,
        "nothing more was sent while backing off"
    );
}
