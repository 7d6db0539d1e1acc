//! Driving Herald itself in tests: the `herald` binary, a private vhost per test on the system
//! broker (so exchange names such as `amq.topic` or `koji.events` can be used exactly as
//! producers use them), a config file, and publishing fixtures with their exact headers,
//! properties and body bytes.

use herald_core::recorded::{fixture_paths, Fixture};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `herald` binary built beside this test binary (`cargo build --workspace` builds it).
pub fn herald_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HERALD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/herald
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = dir.join("herald");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace` (the test command in README.md does)",
        bin.display()
    );
    bin
}

/// The shared fixture corpus: `HERALD_FIXTURES`, else the nearest `shared/fixtures/messages`
/// beside this checkout or one of its parent folders (a CI clone may sit deeper than the
/// working copy).
pub fn shared_fixtures() -> PathBuf {
    if let Some(dir) = std::env::var_os("HERALD_FIXTURES") {
        return PathBuf::from(dir);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared/fixtures/messages"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| manifest.join("../../shared/fixtures/messages"))
}

/// The project's own fixtures, beside the shared ones.
pub fn own_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/messages")
}

/// The fixture corpora: the shared one and the project's own.
pub fn fixture_dirs() -> Vec<PathBuf> {
    let shared = shared_fixtures();
    assert!(
        shared.is_dir(),
        "fixture corpus {} not found (set HERALD_FIXTURES)",
        shared.display()
    );
    let mut dirs = vec![shared];
    let own = own_fixtures();
    if own.is_dir() {
        dirs.push(own);
    }
    dirs
}

/// Every fixture of every corpus, with its path.
pub fn all_fixtures() -> Vec<(PathBuf, Fixture)> {
    let mut out = Vec::new();
    for dir in fixture_dirs() {
        for p in fixture_paths(&dir).expect("list fixtures") {
            let f = Fixture::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            out.push((p, f));
        }
    }
    out
}

/// A vhost of its own on the system broker, deleted on drop.
#[derive(Debug)]
pub struct Vhost {
    pub name: String,
}

impl Vhost {
    pub fn new() -> Vhost {
        let name = crate::broker::unique("herald-test");
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        Vhost { name }
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }

    pub async fn connect(&self) -> Connection {
        Connection::connect(&self.url(), ConnectionProperties::default())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to vhost {}: {e}", self.name))
    }

    /// Publishes one JSON `body` to `amq.topic` with routing key `topic` and message id
    /// `id`, confirmed by the broker, on a connection of its own.
    pub async fn publish_json(&self, topic: &str, id: &str, body: &[u8]) {
        let conn = self.connect().await;
        let ch = confirm_channel(&conn).await;
        let props = lapin::BasicProperties::default()
            .with_message_id(id.into())
            .with_content_type("application/json".into());
        publish_raw(&ch, "amq.topic", topic, body, props).await;
        let _ = conn.close(200, "published".into()).await;
    }

    /// Closes every connection in this vhost whose client properties mention `marker`.
    pub fn close_connections_marked(&self, marker: &str) -> usize {
        let out = rabbitmqctl(&["list_connections", "pid", "vhost", "client_properties"]);
        let mut closed = 0;
        for line in out.lines() {
            if line.contains(&self.name) && line.contains(marker) {
                if let Some(pid) = line.split_whitespace().next() {
                    rabbitmqctl(&["close_connection", pid, "closed by test"]);
                    closed += 1;
                }
            }
        }
        closed
    }
}

impl Default for Vhost {
    fn default() -> Self {
        Vhost::new()
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["delete_vhost", &self.name])
            .output();
    }
}

/// Runs `rabbitmqctl` against the system node; panics with its output on failure.
pub fn rabbitmqctl(args: &[&str]) -> String {
    let out = Command::new("rabbitmqctl")
        .args(["-q"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run rabbitmqctl: {e}"));
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temporary home for one Herald: config file and database.
#[derive(Debug)]
pub struct HeraldDir {
    pub dir: tempfile::TempDir,
}

impl HeraldDir {
    pub fn new(config: &str) -> HeraldDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.toml"), config).expect("write config");
        HeraldDir { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("history.db")
    }

    /// A `herald` command with this config and database and a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(herald_bin());
        c.arg("--config")
            .arg(self.config())
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env_remove("HERALD_CONFIG")
            .env_remove("HERALD_DB")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg-config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"));
        c
    }

    /// A short `herald run` that declares the queue and bindings, so that nothing published
    /// afterwards is unroutable; asserts it succeeded.
    pub fn declare(&self) {
        let out = self.run(&["run", "--until-idle", "0.5"]);
        assert!(out.status.success(), "declaring run: {}", output_text(&out));
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run herald")
    }

    /// `herald ARGS`, asserted to succeed.
    pub fn run_ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "herald {args:?}: {}",
            output_text(&out)
        );
        out
    }

    /// `herald search --json ARGS`, parsed.
    pub fn search(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = vec!["search", "--json", "--limit", "10000"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "herald search {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("search --json prints JSON lines"))
            .collect()
    }
}

/// A private vhost on the system broker and a Herald config for it: one unique queue (named
/// after `queue_prefix`) bound to everything on `amq.topic`, with `herald` (extra TOML)
/// appended, written to a temporary [`HeraldDir`]. Nothing is declared yet.
#[derive(Debug)]
pub struct TopicWorld {
    pub rt: tokio::runtime::Runtime,
    pub vhost: Vhost,
    pub config: String,
    pub dir: HeraldDir,
}

impl TopicWorld {
    pub fn new(queue_prefix: &str, herald: &str) -> TopicWorld {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        rt.block_on(crate::broker::wait_for_system_broker());
        let vhost = Vhost::new();
        let config = config_for(
            &vhost.url(),
            &crate::broker::unique(queue_prefix),
            &[("amq.topic", "topic")],
            herald,
        );
        let dir = HeraldDir::new(&config);
        TopicWorld {
            rt,
            vhost,
            config,
            dir,
        }
    }
}

/// A config for a queue in `vhost` bound to the given exchanges (`#` on topic exchanges,
/// everything on headers exchanges).
pub fn config_for(url: &str, queue: &str, exchanges: &[(&str, &str)], extra: &str) -> String {
    let mut s = format!(
        "amqp_url = \"{url}\"\n\n[client_properties]\napp = \"herald-e2e\"\n\n\
         [queues.\"{queue}\"]\ndurable = true\nauto_delete = false\nexclusive = false\n\n[qos]\nprefetch_count = 200\n\n"
    );
    for (name, kind) in exchanges {
        if !name.starts_with("amq.") {
            s.push_str(&format!(
                "[exchanges.\"{name}\"]\ntype = \"{kind}\"\ndurable = true\n\n"
            ));
        }
        if *kind == "headers" {
            s.push_str(&format!(
                "[[bindings]]\nqueue = \"{queue}\"\nexchange = \"{name}\"\nrouting_keys = []\narguments = {{ \"x-match\" = \"all\" }}\n\n"
            ));
        } else {
            s.push_str(&format!(
                "[[bindings]]\nqueue = \"{queue}\"\nexchange = \"{name}\"\nrouting_keys = [\"#\"]\n\n"
            ));
        }
    }
    s.push_str(extra);
    s
}

/// The exchanges the corpus publishes to, with their types.
pub fn fixture_exchanges(fixtures: &[(PathBuf, Fixture)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fixtures
        .iter()
        .map(|(_, f)| {
            (
                f.exchange.clone(),
                f.exchange_type.clone().unwrap_or_else(|| "topic".into()),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Declares `exchanges` (except `amq.*`) so publishing to them works before Herald starts.
pub async fn declare_exchanges(ch: &Channel, exchanges: &[(String, String)]) {
    for (name, kind) in exchanges {
        if name.starts_with("amq.") {
            continue;
        }
        let kind = if kind == "headers" {
            ExchangeKind::Headers
        } else {
            ExchangeKind::Topic
        };
        ch.exchange_declare(
            name.as_str().into(),
            kind,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare exchange");
    }
}

/// Publishes one fixture exactly: its exchange, routing key, header table, properties and
/// body bytes, and waits for the broker's confirm.
pub async fn publish_fixture(ch: &Channel, f: &Fixture) {
    let body = f.body_bytes().expect("fixture body");
    publish_raw(
        ch,
        &f.exchange,
        &f.topic,
        &body,
        f.properties.to_amqp(f.header_table()),
    )
    .await;
}

pub async fn publish_raw(
    ch: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    props: lapin::BasicProperties,
) {
    ch.basic_publish(
        exchange.into(),
        routing_key.into(),
        BasicPublishOptions::default(),
        body,
        props,
    )
    .await
    .expect("publish")
    .await
    .expect("publisher confirm");
}

/// A channel with publisher confirms on.
pub async fn confirm_channel(conn: &Connection) -> Channel {
    let ch = conn.create_channel().await.expect("channel");
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirm mode");
    ch
}

/// Stderr and stdout of a finished command, for assertion messages.
pub fn output_text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Opens the history at `db` until it holds at least `messages` messages or `within` has
/// passed, and returns its last stats.
pub async fn wait_for_messages(
    db: &Path,
    messages: usize,
    within: std::time::Duration,
) -> herald_core::history::Stats {
    let store = herald_core::history::HistoryStore::open(
        db,
        &herald_core::sources::RenderContext::default(),
    )
    .await
    .expect("open history");
    let start = std::time::Instant::now();
    loop {
        let s = store.stats(1).await.expect("stats");
        if s.messages as usize >= messages || start.elapsed() > within {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// For benchmarks: `HERALD_BIN`, else the release `herald` beside the running bench binary,
/// built now if needed (a no-op when up to date).
pub fn release_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HERALD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("bench binary path");
    // target/<profile>/deps/<bench> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("bench binary lives in target/<profile>/deps")
        .to_owned();
    let target_dir = profile_dir.parent().expect("target dir").to_owned();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "herald-cli", "--bin", "herald"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("run cargo build for the herald binary");
    assert!(status.success(), "building the release herald failed");
    let bin = target_dir.join("release/herald");
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}
