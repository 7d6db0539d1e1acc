//! Catch-up throughput: a 12-hour gap holding 20,000 messages in a real datagrepper (over
//! PostgreSQL, on loopback), filled by `herald backfill` with the request spacing at zero,
//! through a counting proxy (one request in flight at most, every request's window and page
//! size recorded). The bare baseline of the same run replays the very same requests with a
//! plain HTTP client: the archive's own time, which Herald's path adds to.
//!
//! The messages are spread over the 12 hours as the bus spreads them: mostly apart, with a
//! burst of 150 within one second every hour (a mass rebuild), which the walk pages through.
//!
//! `cargo bench --workspace --bench catch_up`; `HERALD_BIN` picks the binary, else the
//! release `herald` is built first (a no-op when up to date).

use herald_e2e::archive::{self, Archive};
use herald_e2e::fault_proxy::HttpFaults;
use herald_e2e::herald::{output_text, HeraldDir};
use serde_json::json;
use std::time::Instant;
use time::OffsetDateTime;

const MESSAGES: usize = 20_000;
const HOURS: i64 = 12;
const BURST: usize = 150;

fn main() {
    let herald = herald_e2e::herald::release_binary();
    std::env::set_var("HERALD_BIN", &herald);
    println!("catch_up: {}", herald.display());
    let archive = Archive::start();
    let end = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("second")
        - time::Duration::hours(1);
    let start = end - time::Duration::hours(HOURS);
    let span = (end - start).whole_seconds();
    let mut seconds: Vec<i64> = Vec::with_capacity(MESSAGES);
    let bursts = usize::try_from(HOURS).expect("hours");
    for h in 0..bursts {
        let at = 1_800 + i64::try_from(h).expect("h") * 3_600;
        seconds.extend(std::iter::repeat_n(at, BURST));
    }
    let mut rng = fastrand_like(7);
    while seconds.len() < MESSAGES {
        seconds.push(rng.next() % span);
    }
    seconds.sort_unstable();
    let body = |i: usize| {
        json!({"name": format!("pkg{}", i % 700), "version": "1.0", "release": format!("{i}.fc43"),
               "new": 1, "old": 0, "build_id": 9_000_000 + i, "task_id": 100_000_000 + i,
               "owner": "alice", "instance": "primary", "epoch": null})
    };
    let messages: Vec<_> = seconds
        .iter()
        .enumerate()
        .map(|(i, s)| {
            archive::message(
                &format!("bench-{i}"),
                "org.fedoraproject.prod.buildsys.build.state.change",
                start + time::Duration::seconds(*s),
                body(i),
                &[],
            )
        })
        .collect();
    let t = Instant::now();
    for chunk in messages.chunks(5_000) {
        archive.load(chunk);
    }
    println!(
        "loaded {MESSAGES} messages into the archive in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let proxy = HttpFaults::start(&archive.url());
    let dir = HeraldDir::new("[herald]\nunmatched = \"history\"\n");
    let fmt = time::format_description::well_known::Rfc3339;
    let (since, until) = (
        start.format(&fmt).expect("time"),
        end.format(&fmt).expect("time"),
    );
    let t = Instant::now();
    let out = dir
        .command(&[
            "backfill",
            "--since",
            &since,
            "--until",
            &until,
            "--spacing-ms",
            "0",
            "--datagrepper",
            &proxy.url(),
        ])
        .output()
        .expect("run herald backfill");
    let herald_secs = t.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", output_text(&out));
    println!("{}", String::from_utf8_lossy(&out.stdout).trim());
    let stats = dir.run_ok(&["stats", "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("stats JSON");
    assert_eq!(stats["messages"], MESSAGES, "all stored");
    let targets = proxy.targets();
    for t in &targets {
        let one_page = t.contains("rows_per_page=100&") || t.contains("rows_per_page=1&");
        assert!(one_page, "{t}");
    }
    assert_eq!(proxy.max_in_flight(), 1, "one request in flight at most");

    // The bare baseline: the same requests, replayed with nothing but an HTTP GET each.
    let t = Instant::now();
    for target in &targets {
        let r = archive.get(target.trim_start_matches('/'));
        assert_eq!(r.status, 200, "{target}");
    }
    let bare_secs = t.elapsed().as_secs_f64();
    println!(
        "catch-up: {MESSAGES} messages over {HOURS} h, {} requests (at most {} in flight)",
        targets.len(),
        proxy.max_in_flight()
    );
    println!(
        "  herald backfill: {herald_secs:.2} s = {:.0} messages/s end to end",
        MESSAGES as f64 / herald_secs
    );
    println!(
        "  bare archive (same requests, plain GETs): {bare_secs:.2} s = {:.0} messages/s; Herald's own share {:.0} %",
        MESSAGES as f64 / bare_secs,
        100.0 * (herald_secs - bare_secs).max(0.0) / herald_secs
    );
    println!(
        "  with the default spacing (1 s between request starts) the walk would take about {:.0} s",
        (targets.len() as f64 - 1.0).max(0.0) + bare_secs
    );
}

/// A small deterministic generator (xorshift), so every run spreads the same seconds.
struct Xorshift(u64);

fn fastrand_like(seed: u64) -> Xorshift {
    Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
}

impl Xorshift {
    fn next(&mut self) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        i64::try_from(self.0 >> 1).expect("63 bits")
    }
}
