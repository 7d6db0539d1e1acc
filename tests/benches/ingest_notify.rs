//! Ingest with a notification server attached: `herald bench ingest` three times on the
//! system RabbitMQ (127.0.0.1:5672) — notifications off, then `--notify` to a fake
//! notification server on a private `dbus-daemon` that answers, then to one whose `Notify`
//! never replies. Each run prints the bare lapin drain of the same run beside Herald's rate,
//! so the three Herald figures compare through their baselines; a hung server should cost
//! nothing.
//!
//! `cargo bench --workspace --bench ingest_notify`; `HERALD_BIN` picks the binary, else the
//! release `herald` is built first (a no-op when up to date). `HERALD_BENCH_MESSAGES` sets
//! the messages per run (default 20,000).

use herald_e2e::broker::wait_for_system_broker;
use herald_e2e::dbus::{FakeNotifications, SessionBus};
use herald_e2e::herald::{output_text, release_binary};
use std::process::Command;

const CAPS: &[&str] = &["actions", "body", "body-markup"];

fn main() {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(wait_for_system_broker());
    let herald = release_binary();
    let messages = std::env::var("HERALD_BENCH_MESSAGES").unwrap_or_else(|_| "20000".into());
    let bench = |bus: Option<&SessionBus>| {
        let mut c = Command::new(&herald);
        c.args(["bench", "ingest", "--messages", &messages]);
        match bus {
            Some(bus) => {
                c.arg("--notify")
                    .env("DBUS_SESSION_BUS_ADDRESS", bus.address());
            }
            None => {
                c.env_remove("DBUS_SESSION_BUS_ADDRESS");
            }
        }
        let out = c.output().expect("run herald bench ingest");
        assert!(out.status.success(), "{}", output_text(&out));
        print!("{}", String::from_utf8_lossy(&out.stdout));
    };
    println!("== notifications off");
    bench(None);
    for hung in [false, true] {
        let bus = SessionBus::start();
        let fake = if hung {
            println!("\n== a notification server that never answers");
            FakeNotifications::start_hung(&bus, CAPS)
        } else {
            println!("\n== a notification server that answers");
            FakeNotifications::start(&bus, CAPS)
        };
        bench(Some(&bus));
        println!("Notify calls received:     {}", fake.calls().len());
    }
}
