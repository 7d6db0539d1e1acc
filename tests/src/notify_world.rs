//! The world of the notification end-to-end tests (`notify_e2e`, `notify_actions`): a vhost,
//! a Herald home and a private session bus per test, a `herald run` in the background, the
//! fixtures and what Herald recorded about them, and a fake opener.

use crate::broker::unique;
use crate::dbus::SessionBus;
use crate::herald::{
    all_fixtures, config_for, confirm_channel, declare_exchanges, output_text, publish_fixture,
    HeraldDir, Vhost,
};
use herald_core::history::HistoryStore;
use herald_core::message::Message;
use herald_core::recorded::Fixture;
use herald_core::sources::RenderContext;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(20);
pub const ALL_CAPS: &[&str] = &[
    "actions",
    "body",
    "body-markup",
    "icon-static",
    "persistence",
];
/// The exchanges the fixtures used here are published to.
pub const EXCHANGES: &[(&str, &str)] = &[("amq.topic", "topic"), ("pulp.api.v2", "topic")];

/// Every message gets a notification of its own: no coalescing, no rate limit.
pub const EACH_ITS_OWN: &str = "digest_window_secs = 0\nrate_limit_per_minute = 0\n";
/// One rule notifying about everything.
pub const NOTIFY_ALL: &str = "[[herald.rules]]\nid = \"everything\"\naction = \"notify\"\n\
                          topics = [\"#\"]\n";

/// The repository's icons folder, resolved.
pub fn icons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../icons")
        .canonicalize()
        .expect("icons/ beside tests/")
}

/// A fixture of the corpus by file name.
pub fn fixture(name: &str) -> Fixture {
    all_fixtures()
        .into_iter()
        .find(|(p, _)| p.file_name().is_some_and(|f| f == name))
        .map(|(_, f)| f)
        .unwrap_or_else(|| panic!("fixture {name} not in the corpus"))
}

/// The id Herald gives a fixture: its message_id, or the content hash.
pub fn id_of(f: &Fixture) -> String {
    Message::decode(f.envelope(time::OffsetDateTime::now_utc()).expect("body")).id
}

/// One test's world: a vhost, a Herald home whose config binds a queue to `EXCHANGES` (plus
/// the `[herald]` settings, notification settings and rules of the test), and a private
/// session bus.
#[derive(Debug)]
pub struct World {
    pub vhost: Vhost,
    pub dir: HeraldDir,
    pub bus: SessionBus,
}

impl World {
    /// `herald`: keys of `[herald]`; `notifications`: the body of `[herald.notifications]`;
    /// `rest`: TOML after it (rules).
    pub fn new(herald: &str, notifications: &str, rest: &str) -> World {
        let vhost = Vhost::new();
        let extra = format!("[herald]\n{herald}\n[herald.notifications]\n{notifications}\n{rest}");
        let config = config_for(&vhost.url(), &unique("herald-notify"), EXCHANGES, &extra);
        let dir = HeraldDir::new(&config);
        let world = World {
            vhost,
            dir,
            bus: SessionBus::start(),
        };
        // Declare the queue and bindings, so nothing published before `run` is unroutable.
        let out = world
            .herald(&["run", "--until-idle", "0.5", "--no-notify"])
            .output()
            .expect("run herald");
        assert!(out.status.success(), "declaring run: {}", output_text(&out));
        world
    }

    /// `herald ARGS` on this world's config, database and session bus, with the icons of
    /// the source tree.
    pub fn herald(&self, args: &[&str]) -> Command {
        let mut c = self.dir.command(args);
        c.env("DBUS_SESSION_BUS_ADDRESS", self.bus.address())
            .env_remove("HERALD_ICON_DIR");
        c
    }

    /// Starts `herald ARGS` (a `run`) in the background; its output is collected as it goes.
    pub fn spawn(&self, args: &[&str], path: Option<&str>) -> Running {
        let mut c = self.herald(args);
        if let Some(path) = path {
            c.env("PATH", path);
        }
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start herald run");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let err = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let lines = err.clone();
        let readers = [
            std::thread::spawn(move || {
                let mut out = Vec::new();
                let _ = stdout.read_to_end(&mut out);
                out
            }),
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut text = lines.0.lock().unwrap_or_else(|e| e.into_inner());
                    text.push_str(&line);
                    text.push('\n');
                    lines.1.notify_all();
                }
                Vec::new()
            }),
        ];
        Running {
            child: tokio::task::spawn_blocking(move || child.wait()),
            readers,
            stderr: err,
        }
    }

    pub async fn publish(&self, fixtures: &[Fixture]) {
        let conn = self.vhost.connect().await;
        let ch = confirm_channel(&conn).await;
        let exchanges: Vec<(String, String)> = EXCHANGES
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        declare_exchanges(&ch, &exchanges).await;
        for f in fixtures {
            publish_fixture(&ch, f).await;
        }
        let _ = conn.close(200, "published".into()).await;
    }

    /// Message id → notification fate (`None`: not marked notify).
    pub async fn fates(&self) -> BTreeMap<String, Option<String>> {
        let store = HistoryStore::open(&self.dir.db(), &RenderContext::default())
            .await
            .expect("open history");
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, notification FROM messages")
                .fetch_all(store.pool())
                .await
                .expect("read notification fates");
        rows.into_iter().collect()
    }

    /// `herald stats --json`, parsed.
    pub fn stats(&self) -> Value {
        let out = self
            .herald(&["stats", "--json"])
            .output()
            .expect("herald stats");
        assert!(out.status.success(), "{}", output_text(&out));
        serde_json::from_slice(&out.stdout).expect("stats --json prints JSON")
    }
}

/// A `herald run` in the background.
#[derive(Debug)]
pub struct Running {
    child: tokio::task::JoinHandle<std::io::Result<std::process::ExitStatus>>,
    /// Reading its stdout (to the end) and its stderr (line by line into `stderr`).
    readers: [std::thread::JoinHandle<Vec<u8>>; 2],
    stderr: Arc<(Mutex<String>, Condvar)>,
}

impl Running {
    /// Waits until its stderr has `n` lines containing `needle`; panics with it after `WAIT`.
    pub fn wait_for_stderr(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        let (lock, cvar) = &*self.stderr;
        let mut text = lock.lock().unwrap_or_else(|e| e.into_inner());
        while text.lines().filter(|l| l.contains(needle)).count() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {n} lines with {needle:?} from herald run within {WAIT:?}:\n{text}"
            );
            text = cvar
                .wait_timeout(text, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for it to exit (it does once idle) and asserts it succeeded.
    pub async fn finish(self) -> Output {
        let status = self
            .child
            .await
            .expect("join")
            .expect("herald run ends when idle");
        let [stdout, stderr] = self.readers;
        let stdout = stdout.join().expect("stdout reader");
        let _ = stderr.join();
        let stderr = self
            .stderr
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .into_bytes();
        let out = Output {
            status,
            stdout,
            stderr,
        };
        assert!(out.status.success(), "herald run: {}", output_text(&out));
        out
    }
}

/// The stderr of a finished command, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `herald stats --json` `by_notification` as fate → count.
pub fn by_notification(stats: &Value) -> BTreeMap<String, i64> {
    stats["by_notification"]
        .as_array()
        .expect("by_notification")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_owned(),
                c["count"].as_i64().expect("count"),
            )
        })
        .collect()
}

/// A body the server reads as markup, back to its text.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The severity the fixture is known to have: its expectation, else its header.
pub fn severity(f: &Fixture) -> u8 {
    f.expect["severity"]
        .as_u64()
        .or_else(|| {
            f.headers
                .as_ref()
                .and_then(|h| h.get("fedora_messaging_severity"))
                .and_then(Value::as_u64)
        })
        .map_or(20, |s| u8::try_from(s).expect("severity fits a byte"))
}

/// The strings of a JSON array (none if it is not one).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A `PATH` whose `xdg-open` writes its arguments to `log`, one a line.
pub fn fake_opener(dir: &Path, log: &Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let script = dir.join("xdg-open");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> '{}'\n",
            log.display()
        ),
    )
    .expect("write fake xdg-open");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Waits until `f` holds, polling; false after `timeout`.
pub async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}
