//! Publish → Notify latency: how long after the broker confirms a message the notification
//! server receives Herald's `Notify` call for it. Real broker (a private vhost on the system
//! RabbitMQ at 127.0.0.1:5672), a private `dbus-daemon` with the fake notification server of
//! the end-to-end tests, and the release `herald run` as a child process.
//!
//! Messages are published one at a time, each waiting for its notification, so every figure
//! is one message's way through: delivery, decode and render, the rules, the batch flush
//! interval (50 ms), the SQLite commit (synchronous = FULL), the ack, the attention policy
//! and the D-Bus round trip. Coalescing and the rate limit are off
//! (`digest_window_secs = 0`: the policy opens no burst; `rate_limit_per_minute = 0`: no
//! limit), and every message is a Koji build of its own (its own thread), so each one is
//! shown as a new notification.
//!
//! `cargo bench --workspace --bench notify_latency`; `HERALD_BIN` picks the binary, else the
//! release `herald` is built first (a no-op when up to date).

use herald_core::recorded::Fixture;
use herald_e2e::broker::{unique, wait_for_system_broker};
use herald_e2e::dbus::{FakeNotifications, SessionBus};
use herald_e2e::herald::{
    config_for, confirm_channel, fixture_dirs, output_text, publish_raw, HeraldDir, Vhost,
};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Measured messages.
const N: usize = 200;
/// Messages first sent and not measured (connection set-up, first D-Bus calls).
const WARM_UP: usize = 5;
const WAIT: Duration = Duration::from_secs(20);
const CAPS: &[&str] = &[
    "actions",
    "body",
    "body-markup",
    "icon-static",
    "persistence",
];

fn main() {
    // Cargo passes `--bench` (and filters) to every bench target; nothing here takes arguments.
    let herald = herald_e2e::herald::release_binary();
    // Before any thread starts: `HeraldDir::command` runs `HERALD_BIN`.
    std::env::set_var("HERALD_BIN", &herald);
    println!("notify_latency: {}", herald.display());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(bench());
}

/// The Koji build fixture as build `n`: a message id, build id and NVR of its own.
fn koji_build(template: &Fixture, n: usize) -> (Vec<u8>, lapin::BasicProperties) {
    let mut body = template.body.clone().expect("Koji fixture body");
    body["build_id"] = Value::from(7_000_000 + n);
    body["release"] = Value::from(format!("{n}.fc41"));
    let props = template
        .properties
        .to_amqp(template.header_table())
        .with_message_id(uuid::Uuid::new_v4().to_string().as_str().into());
    (serde_json::to_vec(&body).expect("JSON"), props)
}

fn template() -> Fixture {
    for dir in fixture_dirs() {
        let p = dir.join("koji-build-state-change-complete-chromium.json");
        if p.is_file() {
            return Fixture::load(&p).expect("load the Koji fixture");
        }
    }
    panic!("koji-build-state-change-complete-chromium.json not in the fixture corpus");
}

/// The value at quantile `q` of sorted `v` (nearest rank).
fn quantile(v: &[Duration], q: f64) -> Duration {
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn bench() {
    wait_for_system_broker().await;
    let vhost = Vhost::new();
    let config = config_for(
        &vhost.url(),
        &unique("herald-bench-notify"),
        &[("amq.topic", "topic")],
        "[herald.notifications]\ndigest_window_secs = 0\nrate_limit_per_minute = 0\n\n\
         [[herald.rules]]\nid = \"builds\"\naction = \"notify\"\n\
         topics = [\"org.fedoraproject.prod.buildsys.build.state.change\"]\n",
    );
    let dir = HeraldDir::new(&config);
    let bus = SessionBus::start();
    let fake = FakeNotifications::start(&bus, CAPS);
    let clock = fake.clock();
    let herald = |args: &[&str]| {
        let mut c = dir.command(args);
        c.env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            .env_remove("HERALD_ICON_DIR");
        c
    };
    let declared = herald(&["run", "--until-idle", "0.5", "--no-notify"])
        .output()
        .expect("run herald");
    assert!(declared.status.success(), "{}", output_text(&declared));
    let child = herald(&["run", "--until-idle", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald run");
    let run = tokio::task::spawn_blocking(move || child.wait_with_output());

    let template = template();
    let conn = vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(N);
    for n in 0..WARM_UP + N {
        let (body, props) = koji_build(&template, n);
        publish_raw(&ch, &template.exchange, &template.topic, &body, props).await;
        let confirmed = Instant::now();
        let arrived = {
            let clock = &clock;
            tokio::task::block_in_place(|| clock.arrival(n, WAIT))
        };
        if n >= WARM_UP {
            latencies.push(arrived.saturating_duration_since(confirmed));
        }
    }
    let elapsed = started.elapsed();
    let _ = conn.close(200, "done".into()).await;
    let out = run.await.expect("join").expect("herald run ends when idle");
    assert!(out.status.success(), "herald run: {}", output_text(&out));

    let calls = fake.calls();
    assert_eq!(calls.len(), WARM_UP + N, "one notification per message");
    assert!(
        calls.iter().all(|c| c.replaces_id == 0),
        "every message is a new notification"
    );

    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / N as u32;
    println!(
        "notify_latency: {N} messages (after {WARM_UP} warm-up), publish confirm → Notify \
         received, one at a time, in {:.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "notify_latency: p50 {:.1} ms   p95 {:.1} ms   max {:.1} ms   (min {:.1} ms, mean {:.1} ms)",
        ms(quantile(&latencies, 0.50)),
        ms(quantile(&latencies, 0.95)),
        ms(latencies[N - 1]),
        ms(latencies[0]),
        ms(mean),
    );
}
