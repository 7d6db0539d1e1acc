//! The world of the catch-up tests (`catch_up`, `catch_up_desktop`): fedora-messaging messages
//! built once and both published to the broker and loaded into the archive, Herald running in
//! the background with its stderr collected as it goes, what the history holds by id, and a
//! way to keep Herald from reconnecting while messages are published.

use crate::archive;
use crate::herald::{confirm_channel, publish_raw, rabbitmqctl, HeraldDir, Vhost};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub const TOPIC: &str = "org.fedoraproject.prod.buildsys.build.state.change";

/// A config for `vhost` with a generated (kept) queue, or a private `exclusive` one, and
/// catch-up from `archive_url` tuned for tests.
pub fn config(vhost: &Vhost, exclusive: bool, archive_url: &str, tuning: &str) -> String {
    let queue = if exclusive {
        let q = crate::broker::unique("catchup-private");
        format!(
            "[queues.\"{q}\"]\ndurable = false\nauto_delete = true\nexclusive = true\n\n\
             [[bindings]]\nqueue = \"{q}\"\nexchange = \"amq.topic\"\nrouting_keys = [\"#\"]\n\n"
        )
    } else {
        String::new()
    };
    format!(
        "amqp_url = \"{}\"\n\n[client_properties]\napp = \"herald-e2e-catchup\"\n\n{queue}\
         [herald]\nunmatched = \"history\"\ndatagrepper_url = \"{archive_url}\"\n\n\
         [herald.catch_up_tuning]\nspacing_ms = 0\nretry_ms = 50\nfirst_live_wait_ms = 1500\n\
         tail_delay_s = 3600\nrequest_timeout_ms = 20000\n{tuning}",
        vhost.url()
    )
}

/// `n` messages sent at `at` (one second for all), ids `prefix-i`.
pub fn batch(prefix: &str, n: usize, at: OffsetDateTime) -> Vec<Value> {
    padded(prefix, n, at, 0)
}

/// [`batch`] with bodies `pad` bytes longer.
pub fn padded(prefix: &str, n: usize, at: OffsetDateTime, pad: usize) -> Vec<Value> {
    let pad = "x".repeat(pad);
    (0..n)
        .map(|i| {
            archive::message(
                &format!("{prefix}-{i}"),
                TOPIC,
                at,
                json!({"name": "pkg", "version": "1", "release": format!("{i}"), "new": 1, "build_id": i, "pad": pad}),
                &[],
            )
        })
        .collect()
}

/// Publishes fedora-messaging messages (as `archive::message` builds them) to `amq.topic`,
/// with their headers and id, confirmed.
pub fn publish(rt: &tokio::runtime::Runtime, vhost: &Vhost, msgs: &[Value]) {
    rt.block_on(async {
        let conn = vhost.connect().await;
        let ch = confirm_channel(&conn).await;
        for m in msgs {
            let headers =
                herald_core::message::headers_from_json(m["headers"].as_object().expect("headers"));
            let props = lapin::BasicProperties::default()
                .with_message_id(m["id"].as_str().expect("id").into())
                .with_content_type("application/json".into())
                .with_headers(headers);
            let body = serde_json::to_vec(&m["body"]).expect("body");
            publish_raw(
                &ch,
                "amq.topic",
                m["topic"].as_str().expect("topic"),
                &body,
                props,
            )
            .await;
        }
        let _ = conn.close(200, "published".into()).await;
    });
}

/// Herald running in the background, its stderr collected as it goes.
#[derive(Debug)]
pub struct Running {
    child: Child,
    said: Arc<Mutex<String>>,
}

impl Running {
    /// `herald -v run --no-notify`, with `extra_env`.
    pub fn start(dir: &HeraldDir, extra_env: &[(&str, &str)]) -> Running {
        Running::start_with(dir, &["--no-notify"], extra_env)
    }

    /// `herald -v run ARGS`, with `extra_env`.
    pub fn start_with(dir: &HeraldDir, args: &[&str], extra_env: &[(&str, &str)]) -> Running {
        let mut all = vec!["-v", "run"];
        all.extend_from_slice(args);
        let mut cmd = dir.command(&all);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start herald");
        let err = child.stderr.take().expect("stderr");
        let said = Arc::new(Mutex::new(String::new()));
        let s = said.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = s.lock().expect("said");
                s.push_str(&line);
                s.push('\n');
            }
        });
        Running { child, said }
    }

    pub fn said(&self) -> String {
        self.said.lock().expect("said").clone()
    }

    /// Waits until stderr holds `text`.
    pub fn wait_for(&self, text: &str, within: Duration) {
        let start = Instant::now();
        while !self.said().contains(text) {
            assert!(
                start.elapsed() < within,
                "herald never said {text:?}; it said:\n{}",
                self.said()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGINT (a clean stop), then the exit.
    pub fn stop(mut self) -> String {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        self.said()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every stored message by id, and whether it is back-filled. The history keeps one row per
/// id (a second is refused), so "stored once" is this map holding the id, and nothing
/// quarantined: see [`assert_clean`].
pub fn stored(dir: &HeraldDir) -> HashMap<String, bool> {
    dir.search(&[])
        .into_iter()
        .map(|hit| {
            let id = hit["id"].as_str().expect("id").to_owned();
            (id, hit["backfilled"].as_bool().expect("backfilled flag"))
        })
        .collect()
}

/// Asserts Herald wrote no row it could not store (a repeat that got past the id check
/// would end as a refused row).
pub fn assert_clean(said: &str) {
    assert!(
        !said.contains("could not be stored") && !said.contains("cannot write to the history"),
        "{said}"
    );
}

/// Waits until every id in `ids` is stored.
pub fn wait_stored(dir: &HeraldDir, ids: &[String], within: Duration, running: Option<&Running>) {
    let start = Instant::now();
    loop {
        let s = stored(dir);
        let missing: Vec<&String> = ids.iter().filter(|i| !s.contains_key(*i)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < within,
            "{} of {} never stored (first {:?}); herald said:\n{}",
            missing.len(),
            ids.len(),
            missing.first(),
            running.map(Running::said).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn ids(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Keeps Herald from reconnecting (it may not configure queues) while messages are published.
#[derive(Debug)]
pub struct Locked<'a>(&'a Vhost);

impl<'a> Locked<'a> {
    pub fn out(vhost: &'a Vhost) -> Locked<'a> {
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &vhost.name,
            "guest",
            "^$",
            ".*",
            ".*",
        ]);
        Locked(vhost)
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        rabbitmqctl(&[
            "set_permissions",
            "-p",
            &self.0.name,
            "guest",
            ".*",
            ".*",
            ".*",
        ]);
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
