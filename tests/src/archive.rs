//! A real bus archive for end-to-end tests: datagrepper 1.1.0 over datanommer.models 1.5.0
//! in a private PostgreSQL cluster on 127.0.0.1, as `tests/archive/setup` (run by
//! `./dev test`) installs it.
//!
//! Herald reads history from datagrepper, and what matters there is datagrepper's own
//! behaviour — inclusive time bounds, `LIMIT`/`OFFSET` paging without a tie-breaker, HTML
//! error pages, a `Content-Type` that echoes `Accept` (see `tests/archive/README.md`) — which
//! a stand-in would only imitate. Each [`Archive`] is a fresh database cloned from a template
//! and its own gunicorn on a free loopback port, so tests running in parallel never see each
//! other's messages; it is filled through datanommer's own `add`, as the real consumer fills
//! the Fedora archive.
//!
//! Everything here blocks (a start takes about a second). From a multi-threaded tokio test,
//! call it before connections must be served or inside `tokio::task::block_in_place`.

use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

const TEMPLATE: &str = "herald_archive_template";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// One datagrepper over a database of its own; stopped and dropped on drop.
#[derive(Debug)]
pub struct Archive {
    cluster: Cluster,
    db: String,
    port: u16,
    server: Option<Child>,
}

/// A finished HTTP request to the archive.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Archive {
    /// Creates an empty archive database and starts datagrepper on it.
    ///
    /// # Panics
    /// When the archive is not set up (with or without `CI=true`: a test that skips itself
    /// reads as a pass), or datagrepper does not answer within 60 s; the message then
    /// includes the server's stderr.
    pub fn start() -> Archive {
        let cluster = Cluster::find();
        let db = unique_db_name();
        cluster.psql(&format!("CREATE DATABASE \"{db}\" TEMPLATE {TEMPLATE}"));
        // From here on a panic drops the database again.
        let mut archive = Archive {
            cluster,
            db,
            port: 0,
            server: None,
        };
        let mut attempt = 1;
        loop {
            match archive.serve() {
                Ok(()) => return archive,
                // Another process took the port between our probe and gunicorn's bind.
                Err(log) if attempt < 3 && log.contains("in use") => attempt += 1,
                Err(log) => panic!(
                    "datagrepper for {} on 127.0.0.1:{} did not come up: {log}",
                    archive.db, archive.port
                ),
            }
        }
    }

    fn serve(&mut self) -> Result<(), String> {
        self.stop_server();
        self.port = free_port();
        let mut log = tempfile::tempfile().expect("temp file for datagrepper's stderr");
        let server = Command::new(archive_dir().join("serve"))
            .args(["--db", &self.db, "--port", &self.port.to_string()])
            .arg("--until-stdin-closes")
            .env("HERALD_ARCHIVE_HOME", &self.cluster.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log.try_clone().expect("clone the stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run tests/archive/serve: {e}"));
        self.server = Some(server);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let exited = self
                .server
                .as_mut()
                .and_then(|s| s.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!("it exited ({status}):\n{}", read_all(&mut log)));
            }
            // Connection in use: gunicorn would retry for 5 s before giving up.
            let text = read_all(&mut log);
            if text.contains("Connection in use") {
                if let Some(server) = self.server.as_mut() {
                    let _ = server.kill();
                }
                return Err(text);
            }
            if let Ok(r) = http_get(self.port, "v2/search?start=1&end=1") {
                if r.status == 200 {
                    return Ok(());
                }
                return Err(format!(
                    "/v2/search answered {}: {}\n{text}",
                    r.status, r.body
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no answer after {}s:\n{text}",
                    START_TIMEOUT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The datagrepper root, `http://127.0.0.1:PORT/` with its slash, so that
    /// `format!("{}v2/search", archive.url())` is the search endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The archive database's name in the private cluster.
    pub fn database(&self) -> &str {
        &self.db
    }

    /// Stores fedora-messaging JSON messages (see [`message`]) through datanommer's `add`, in
    /// order, and returns how many messages the archive holds afterwards (datanommer skips a
    /// repeated id with the same `sent-at`).
    pub fn load(&self, messages: &[Value]) -> usize {
        let mut lines = String::new();
        for m in messages {
            lines.push_str(&m.to_string());
            lines.push('\n');
        }
        let mut child = Command::new(self.cluster.home.join("venv/bin/python"))
            .arg(archive_dir().join("load.py"))
            .args(["--db", &self.db])
            .env("HERALD_ARCHIVE_HOME", &self.cluster.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run tests/archive/load.py: {e}"));
        let mut stdin = child.stdin.take().expect("load.py's stdin");
        // A separate writer: load.py may fill its stderr pipe before it has read everything.
        let writer = std::thread::spawn(move || stdin.write_all(lines.as_bytes()));
        let out = child.wait_with_output().expect("wait for load.py");
        let written = writer.join().expect("stdin writer");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && written.is_ok(),
            "load.py into {} failed ({}, stdin: {written:?}):\n{stderr}",
            self.db,
            out.status
        );
        stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("load.py printed {stdout:?}, not a count:\n{stderr}"))
    }

    /// `GET {url}{path_and_query}` over plain HTTP/1.0 with `Accept: application/json`.
    pub fn get(&self, path_and_query: &str) -> Response {
        http_get(self.port, path_and_query)
            .unwrap_or_else(|e| panic!("GET {}{path_and_query}: {e}", self.url()))
    }

    /// [`Archive::get`], asserted to be a 200 with a JSON body, parsed.
    pub fn get_json(&self, path_and_query: &str) -> Value {
        let r = self.get(path_and_query);
        assert_eq!(r.status, 200, "GET {path_and_query}: {}", r.body);
        serde_json::from_str(&r.body)
            .unwrap_or_else(|e| panic!("GET {path_and_query}: not JSON ({e}): {}", r.body))
    }

    fn stop_server(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        // Closing stdin is serve's signal to stop (and a crashed test closes it too).
        drop(server.stdin.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = server.kill();
        let _ = server.wait();
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        self.stop_server();
        let _ = fs::remove_file(self.cluster.home.join(format!("run/{}.cfg", self.db)));
        if let Err(e) = self.cluster.try_psql(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.db
        )) {
            eprintln!("could not drop the archive database {}: {e}", self.db);
        }
    }
}

/// A message as `fedora_messaging.message.dumps` writes it, with the headers a
/// fedora-messaging 3.9 publisher sets: schema `base.message`, severity 20 (INFO), `priority`
/// 0 and `sent-at` in UTC to the second (`2026-12-07T04:52:58+00:00`; fedora-messaging drops
/// the microseconds). `sent-at` is the time datagrepper's `start`/`end` filter on.
/// `extra_headers` come last and may override any of these; users and packages go in as
/// `fedora_messaging_user_NAME`/`fedora_messaging_rpm_NAME` set to `true`.
pub fn message(
    id: &str,
    topic: &str,
    sent_at: OffsetDateTime,
    body: Value,
    extra_headers: &[(&str, Value)],
) -> Value {
    let mut headers = json!({
        "fedora_messaging_schema": "base.message",
        "fedora_messaging_severity": 20,
        "priority": 0,
        "sent-at": sent_at_header(sent_at),
    });
    for (name, value) in extra_headers {
        headers[*name] = value.clone();
    }
    json!({
        "id": id,
        "topic": topic,
        "headers": headers,
        "body": body,
        "queue": null,
        "priority": 0,
    })
}

/// `sent-at` as fedora-messaging writes it: `datetime.now(timezone.utc).replace(microsecond=0)
/// .isoformat()`.
pub fn sent_at_header(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]+00:00"
    ))
    .expect("format sent-at")
}

/// The private cluster as `setup` wrote it down in `cluster.env`.
#[derive(Debug)]
struct Cluster {
    home: PathBuf,
    host: String,
    port: String,
    user: String,
    pg_bin: PathBuf,
}

impl Cluster {
    fn find() -> Cluster {
        let home = std::env::var_os("HERALD_ARCHIVE_HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let user_home = std::env::var_os("HOME").unwrap_or_default();
                Path::new(&user_home).join(".cache/herald/archive")
            });
        let env_file = home.join("cluster.env");
        let text = fs::read_to_string(&env_file)
            .unwrap_or_else(|e| not_set_up(&format!("cannot read {}: {e}", env_file.display())));
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
                .unwrap_or_else(|| not_set_up(&format!("{} names no {key}", env_file.display())))
        };
        let cluster = Cluster {
            host: get("PGHOST"),
            port: get("PGPORT"),
            user: get("PGUSER"),
            pg_bin: PathBuf::from(get("PG_BIN")),
            home,
        };
        if !cluster.home.join("venv/bin/gunicorn").exists() {
            not_set_up(&format!(
                "{} has no datagrepper venv",
                cluster.home.display()
            ));
        }
        if let Err(e) = cluster.try_psql("SELECT 1") {
            not_set_up(&format!("its PostgreSQL does not answer: {e}"));
        }
        cluster
    }

    fn psql(&self, sql: &str) {
        if let Err(e) = self.try_psql(sql) {
            panic!("psql {sql:?} against the archive cluster failed: {e}");
        }
    }

    fn try_psql(&self, sql: &str) -> Result<(), String> {
        let out = Command::new(self.pg_bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .args(["-h", &self.host, "-p", &self.port, "-U", &self.user])
            .env("PGOPTIONS", "-c client_min_messages=warning")
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}/psql: {e}", self.pg_bin.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }
}

fn not_set_up(reason: &str) -> ! {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the bus archive is not set up ({reason}). The CI entry point \
             (./dev test) must run tests/archive/setup before the tests."
        );
    }
    panic!(
        "the bus archive is not set up ({reason}). Run tests/archive/setup (./dev test does; \
         it needs postgresql, libpq-dev, python3-dev, python3-venv and gcc), with the same \
         HERALD_ARCHIVE_HOME if you set one. These tests fail rather than skip so that a \
         missing archive is never read as a pass."
    );
}

/// `herald_t_<unix time>_<pid>_<n>`: setup drops the ones a killed test left behind by age.
fn unique_db_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("herald_t_{secs}_{}_{n}", std::process::id())
}

fn archive_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("archive")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

fn http_get(port: u16, path_and_query: &str) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(START_TIMEOUT))?;
    write!(
        stream,
        "GET /{} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n",
        path_and_query.trim_start_matches('/')
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{raw:?}"));
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let content_type = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-type")
            .then(|| value.trim().to_owned())
    });
    Ok(Response {
        status,
        content_type,
        body: body.to_owned(),
    })
}
