//! Catch-up on the desktop side: the machine's sleep, heard from logind's `PrepareForSleep` on
//! a (private) system bus, makes Herald check its connection at once and fill what was lost;
//! and what a catch-up fills that a rule marks notify is told as one "While you were away"
//! digest per source on a (private) session bus, the messages left unread.

use herald_e2e::archive::Archive;
use herald_e2e::catch_up::{batch, now, publish, Running};
use herald_e2e::dbus::{FakeNotifications, SessionBus};
use herald_e2e::fault_proxy::TcpBlackhole;
use herald_e2e::herald::{output_text, HeraldDir, Vhost};
use serde_json::Value;
use std::time::{Duration, Instant};

fn config(amqp_url: &str, archive_url: &str, extra: &str) -> String {
    let q = herald_e2e::broker::unique("catchup-desktop");
    format!(
        "amqp_url = \"{amqp_url}\"\n\n[client_properties]\napp = \"herald-e2e-sleep\"\n\n\
         [queues.\"{q}\"]\ndurable = false\nauto_delete = true\nexclusive = true\n\n\
         [[bindings]]\nqueue = \"{q}\"\nexchange = \"amq.topic\"\nrouting_keys = [\"#\"]\n\n\
         [herald]\nunmatched = \"history\"\ndatagrepper_url = \"{archive_url}\"\n{extra}\n\
         [herald.catch_up_tuning]\nspacing_ms = 0\nretry_ms = 50\nfirst_live_wait_ms = 1000\n\
         tail_delay_s = 3600\nrequest_timeout_ms = 20000\n"
    )
}

/// Says `PrepareForSleep(start)` as logind does, from a connection owning logind's name.
fn prepare_for_sleep(login1: &zbus::Connection, start: bool) {
    zbus::block_on(login1.emit_signal(
        None::<()>,
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
        "PrepareForSleep",
        &(start,),
    ))
    .expect("emit PrepareForSleep");
}

#[test]
fn waking_up_checks_the_connection_at_once_and_fills_what_the_sleep_lost() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let vhost = Vhost::new();
    let system_bus = SessionBus::start();
    let login1 = system_bus.connect();
    zbus::block_on(login1.request_name("org.freedesktop.login1")).expect("own logind's name");
    // Herald reaches the broker through a proxy that can make its connection go silent
    // without closing it, as a connection that died while the laptop slept looks.
    let proxy = TcpBlackhole::start("127.0.0.1:5672".parse().expect("addr"));
    let through_proxy = vhost
        .url()
        .replace("127.0.0.1:5672", &format!("127.0.0.1:{}", proxy.port()));
    let dir = HeraldDir::new(&config(&through_proxy, &archive.url(), ""));
    let running = Running::start(&dir, &[("DBUS_SYSTEM_BUS_ADDRESS", system_bus.address())]);
    running.wait_for("connected to", Duration::from_secs(30));
    let before = batch("before", 2, now());
    archive.load(&before);
    publish(&rt, &vhost, &before);
    let start = Instant::now();
    while !running.said().contains("before-1") {
        let stored = dir.search(&[]).len();
        if stored == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            running.said()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    prepare_for_sleep(&login1, true);
    proxy.silence_existing();
    // While asleep the broker gives up on the connection, and its private queue with it.
    assert!(vhost.close_connections_marked("herald-e2e-sleep") > 0);
    let asleep = batch("asleep", 30, now());
    publish(&rt, &vhost, &asleep);
    archive.load(&asleep);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !running.said().contains("did not survive"),
        "nothing told Herald yet: {}",
        running.said()
    );

    let woke = Instant::now();
    prepare_for_sleep(&login1, false);
    running.wait_for(
        "the connection did not survive the computer's sleep",
        Duration::from_secs(15),
    );
    running.wait_for("caught up", Duration::from_secs(30));
    // The broker's heartbeat (a minute) would have taken far longer to notice.
    assert!(woke.elapsed() < Duration::from_secs(40));
    let said = running.said();
    assert!(said.contains("the computer was asleep"), "{said}");
    let hits = dir.search(&[]);
    for m in &asleep {
        let id = m["id"].as_str().expect("id");
        let rows: Vec<&Value> = hits.iter().filter(|h| h["id"] == id).collect();
        assert_eq!(rows.len(), 1, "{id} once: {said}");
        assert_eq!(rows[0]["backfilled"], true);
    }
}

#[test]
fn a_filled_gap_notifies_once_per_source_and_stays_unread() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let vhost = Vhost::new();
    let bus = SessionBus::start();
    let fake = FakeNotifications::start(&bus, &["actions", "body", "icon-static"]);
    let rules = "[herald.notifications]\ndigest_window_secs = 0\nrate_limit_per_minute = 0\n\n\
                 [[herald.rules]]\nid = \"builds\"\naction = \"notify\"\n\
                 topics = [\"org.fedoraproject.prod.buildsys.#\"]\n";
    let dir = HeraldDir::new(&config(&vhost.url(), &archive.url(), "").replace(
        "[herald.catch_up_tuning]",
        &format!("{rules}\n[herald.catch_up_tuning]"),
    ));
    let env = [("DBUS_SESSION_BUS_ADDRESS", bus.address())];
    let running = Running::start_with(&dir, &[], &env);
    running.wait_for("connected to", Duration::from_secs(30));
    let live = batch("live", 1, now());
    publish(&rt, &vhost, &live);
    let start = Instant::now();
    while fake.calls().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            running.said()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(running);

    let missed = batch("missed", 25, now());
    archive.load(&missed);
    let out = dir
        .command(&["-v", "run", "--until-idle", "3"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .output()
        .expect("run herald");
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("caught up"), "{text}");
    let calls = fake.calls();
    let away: Vec<_> = calls
        .iter()
        .filter(|c| c.summary.starts_with("While you were away"))
        .collect();
    assert_eq!(away.len(), 1, "one digest, not a burst: {calls:#?}");
    assert!(
        away[0].summary.ends_with("25 messages"),
        "{}",
        away[0].summary
    );
    assert_eq!(calls.len(), 2, "the live one and the digest: {calls:#?}");
    let hits = dir.search(&[]);
    let back: Vec<&Value> = hits.iter().filter(|h| h["backfilled"] == true).collect();
    assert_eq!(back.len(), 25);
    assert!(back.iter().all(|h| h["read"] == false), "they stay unread");
}
