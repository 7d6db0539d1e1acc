//! Real RabbitMQ brokers for end-to-end tests.
//!
//! Most tests share the system broker ([`system_amqp_url`], [`wait_for_system_broker`]) and
//! stay out of each other's way with [`unique`] queue and exchange names. Tests that need
//! something the system broker cannot give them — a TLS listener with certificate login, a
//! restart, connections killed from the server side — start a [`PrivateBroker`]: a separate
//! RabbitMQ node with its own name, ports, Erlang cookie and data directory, so it never
//! touches the system node or `/var/lib/rabbitmq`.
//!
//! # Blocking
//! [`PrivateBroker`] drives `rabbitmq-server` and `rabbitmqctl` through
//! `std::process::Command` and blocks (a boot takes several seconds). From a
//! `#[tokio::test(flavor = "multi_thread")]` either call it directly before any connection
//! exists, or wrap it in `tokio::task::block_in_place` (or move the broker into
//! `spawn_blocking`) while connections must keep being served.

use std::env;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lapin::{Connection, ConnectionProperties};
use tempfile::TempDir;
use uuid::Uuid;

use crate::certs::Certs;

mod process;
use process::{free_ports, rabbitmq_sbin, run_command, signal, wait_child};

/// The system broker used when `HERALD_TEST_AMQP_URL` is not set.
pub const DEFAULT_SYSTEM_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

const SYSTEM_BROKER_WAIT: Duration = Duration::from_secs(30);
/// Generous because CI machines are small and shared; a normal boot takes 5–10 s.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
const CTL_TIMEOUT: Duration = Duration::from_secs(60);
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);
/// `rabbitmqctl` listens for Erlang distribution in this range (rabbitmq-env defaults);
/// a node port there would make concurrent CLI calls fail.
const CLI_DIST_PORTS: std::ops::RangeInclusive<u16> = 35672..=35682;

/// URL of the shared system broker: `HERALD_TEST_AMQP_URL`, else [`DEFAULT_SYSTEM_AMQP_URL`].
pub fn system_amqp_url() -> String {
    env::var("HERALD_TEST_AMQP_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_SYSTEM_AMQP_URL.to_owned())
}

/// Waits up to ~30 s until the system broker accepts an AMQP connection.
///
/// # Panics
/// When the broker stays unreachable — always, with or without `CI=true`: a test that skips
/// itself when its broker is missing reads as a pass. Under `CI=true` the message blames the
/// CI setup (the entry point must start the broker); elsewhere it says how to provide one.
pub async fn wait_for_system_broker() {
    let url = system_amqp_url();
    let deadline = Instant::now() + SYSTEM_BROKER_WAIT;
    let last_error = loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            Connection::connect(&url, ConnectionProperties::default()),
        )
        .await;
        let error = match attempt {
            Ok(Ok(conn)) => {
                // The broker answered; how this probe ends does not matter.
                let _ = conn.close(200, "probe done".into()).await;
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "connect timed out after 5 s".to_owned(),
        };
        if Instant::now() >= deadline {
            break error;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let shown = redact(&url);
    if env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the system RabbitMQ at {shown} is unreachable after {}s: {last_error}. \
             The CI entry point must start rabbitmq-server before running the tests.",
            SYSTEM_BROKER_WAIT.as_secs()
        );
    }
    panic!(
        "the system RabbitMQ at {shown} is unreachable after {}s: {last_error}. \
         Start one (e.g. `systemctl start rabbitmq-server`) or point HERALD_TEST_AMQP_URL at a \
         broker; these tests fail rather than skip so a missing broker is never read as a pass.",
        SYSTEM_BROKER_WAIT.as_secs()
    );
}

/// A fresh name such as `herald-q-3f2a…` for a queue or exchange, so tests sharing a broker
/// never see each other's messages.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4().simple())
}

/// A private RabbitMQ node owned by one test; stopped and deleted on drop.
///
/// The node runs as the current user from the scripts under `/usr/lib/rabbitmq/bin` (or
/// `HERALD_TEST_RABBITMQ_SBIN`), not through the `/usr/sbin` wrappers: as root those wrappers
/// `su` to the `rabbitmq` user, which resets `HOME` and with it the Erlang cookie the CLI
/// needs. Every node gets its own `HOME` and cookie, so it cannot be confused with the system
/// node even if names collided.
#[derive(Debug)]
pub struct PrivateBroker {
    node: String,
    amqp_port: u16,
    amqps_port: Option<u16>,
    dist_port: u16,
    sbin: PathBuf,
    dir: TempDir,
    server: Option<Child>,
    last_boot: Duration,
}

impl PrivateBroker {
    /// Starts a node with a plain AMQP listener on 127.0.0.1 (user `guest`).
    ///
    /// # Panics
    /// If the node does not boot; the message includes the node's log tail.
    pub fn plain() -> Self {
        Self::launch(None)
    }

    /// Starts a node with a plain listener and a TLS listener that requires a client
    /// certificate signed by `certs`' CA and logs users in by the certificate's common name
    /// (SASL EXTERNAL). Create the user with [`PrivateBroker::add_user_for_cert`].
    ///
    /// # Panics
    /// If the node does not boot; the message includes the node's log tail.
    pub fn with_tls(certs: &Certs) -> Self {
        Self::launch(Some(certs))
    }

    fn launch(certs: Option<&Certs>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("herald-rabbitmq-")
            .tempdir()
            .expect("create a temp dir for the private broker");
        let ports = free_ports(3);
        let mut broker = Self {
            node: format!(
                "herald-test-{}@localhost",
                &Uuid::new_v4().simple().to_string()[..8]
            ),
            amqp_port: ports[0],
            dist_port: ports[1],
            amqps_port: certs.map(|_| ports[2]),
            sbin: rabbitmq_sbin(),
            dir,
            server: None,
            last_boot: Duration::ZERO,
        };
        broker.write_files(certs);
        broker.start();
        broker
    }

    /// The Erlang node name, e.g. `herald-test-1a2b3c4d@localhost`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// `amqp://guest:guest@127.0.0.1:PORT/%2f`.
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    /// Port of the plain AMQP listener.
    pub fn amqp_port(&self) -> u16 {
        self.amqp_port
    }

    /// `amqps://localhost:PORT/%2f?auth_mechanism=external`: the listener only admits
    /// clients with a certificate, so certificate login is the useful default.
    ///
    /// # Panics
    /// If the broker was started without TLS.
    pub fn amqps_url(&self) -> String {
        format!(
            "amqps://localhost:{}/%2f?auth_mechanism=external",
            self.amqps_port()
        )
    }

    /// Port of the TLS listener.
    ///
    /// # Panics
    /// If the broker was started without TLS.
    pub fn amqps_port(&self) -> u16 {
        self.amqps_port
            .expect("this PrivateBroker was started without TLS; use PrivateBroker::with_tls")
    }

    /// How long the last (re)start took until the node accepted work.
    pub fn last_boot_time(&self) -> Duration {
        self.last_boot
    }

    /// Whether this handle currently has a running node.
    pub fn is_running(&self) -> bool {
        self.server.is_some()
    }

    /// Stops the node gracefully, keeping its data: durable queues and persistent messages
    /// survive a later [`PrivateBroker::start`].
    ///
    /// # Panics
    /// If the node does not stop within a minute (it is then killed); the message includes
    /// the node's log tail.
    pub fn stop(&mut self) {
        let Some(mut server) = self.server.take() else {
            return;
        };
        if !self.shut_down(&mut server, SHUTDOWN_TIMEOUT) {
            panic!(
                "{}",
                self.failure(&format!(
                    "private RabbitMQ ignored SIGTERM for {}s and was killed",
                    SHUTDOWN_TIMEOUT.as_secs()
                ))
            );
        }
    }

    /// Starts the node again on the same name, ports and data after [`PrivateBroker::stop`];
    /// does nothing if it is running.
    ///
    /// # Panics
    /// If the node does not boot within two minutes or exits while booting; the message
    /// includes the node's log tail.
    pub fn start(&mut self) {
        if self.server.is_some() {
            return;
        }
        let began = Instant::now();
        let stdout_log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.stdout_log_path())
            .expect("open the broker's stdout log");
        let mut cmd = self.command("rabbitmq-server");
        cmd.env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", self.path("rabbitmq.conf"))
            .env("RABBITMQ_CONFIG_FILES", self.path("conf.d"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                self.path("advanced.config"),
            )
            .env("RABBITMQ_MNESIA_BASE", self.path("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.path("log"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.path("enabled_plugins"),
            )
            .env("RABBITMQ_PID_FILE", self.pid_file())
            // Keeps inter-node traffic off external interfaces, like the listeners.
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .stdin(Stdio::null())
            .stdout(stdout_log.try_clone().expect("clone log handle"))
            .stderr(stdout_log);
        // Not its own process group on purpose: if the test run is interrupted, the signal
        // also reaches the wrapper script, which then stops the node cleanly.
        let server = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}",
                self.sbin.join("rabbitmq-server").display()
            )
        });
        self.server = Some(server);

        let pid_file = self.pid_file().display().to_string();
        let timeout = BOOT_TIMEOUT.as_secs().to_string();
        // `wait` follows the pid file and the OS process, then waits for the rabbit app.
        let wait = self.ctl_command(&["wait", &pid_file, "--timeout", &timeout]);
        let waited = {
            let server = self.server.as_mut().expect("server just spawned");
            let mut exited = || {
                server
                    .try_wait()
                    .ok()
                    .flatten()
                    .map(|status| format!("rabbitmq-server exited while booting ({status})"))
            };
            run_command(wait, BOOT_TIMEOUT + Duration::from_secs(5), &mut exited)
        };
        if let Err(e) = waited {
            let message = self.failure(&format!("private RabbitMQ did not boot: {e}"));
            if let Some(mut server) = self.server.take() {
                self.shut_down(&mut server, Duration::from_secs(10));
            }
            panic!("{message}");
        }
        self.last_boot = began.elapsed();
    }

    /// Closes every client connection on this node (`rabbitmqctl close_all_connections`), as
    /// an operator or a broker restart would.
    ///
    /// # Panics
    /// If `rabbitmqctl` fails.
    pub fn close_all_connections(&self) {
        self.ctl(&[
            "close_all_connections",
            "--global",
            "closed by the test harness",
        ]);
    }

    /// Creates the password-less user `common_name` with full permissions on `/`, which is
    /// what SASL EXTERNAL logs a client certificate in as.
    ///
    /// # Panics
    /// If `rabbitmqctl` fails.
    pub fn add_user_for_cert(&self, common_name: &str) {
        // add_user insists on a password; it is cleared right away so only the certificate
        // can log in.
        let throwaway = Uuid::new_v4().simple().to_string();
        self.ctl(&["add_user", common_name, &throwaway]);
        self.ctl(&["clear_password", common_name]);
        self.ctl(&["set_permissions", "-p", "/", common_name, ".*", ".*", ".*"]);
    }

    /// Runs `rabbitmqctl -n NODE ARGS…` against this node and returns its stdout.
    ///
    /// # Panics
    /// If the command fails or takes over a minute.
    pub fn ctl(&self, args: &[&str]) -> String {
        self.run_ctl(args, CTL_TIMEOUT, || None)
            .unwrap_or_else(|e| panic!("rabbitmqctl {} failed: {e}", args.join(" ")))
    }

    /// The last `lines` lines of the node's log and of its console output.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        let node_log = self.path("log").join(format!("{}.log", self.node));
        for path in [node_log, self.stdout_log_path()] {
            let text = fs::read_to_string(&path).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let _ = writeln!(out, "--- last {lines} lines of {} ---", path.display());
            for line in &all[all.len().saturating_sub(lines)..] {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    fn run_ctl(
        &self,
        args: &[&str],
        timeout: Duration,
        mut abort: impl FnMut() -> Option<String>,
    ) -> Result<String, String> {
        run_command(self.ctl_command(args), timeout, &mut abort)
    }

    fn ctl_command(&self, args: &[&str]) -> Command {
        let mut cmd = self.command("rabbitmqctl");
        cmd.arg("-n").arg(&self.node).args(args);
        cmd
    }

    /// Environment shared by the server and the CLI. Inherited `RABBITMQ_*` variables are
    /// dropped so a developer's or CI's settings for the system node cannot leak in, and the
    /// system `rabbitmq-env.conf` (which names the system node) is replaced by an empty one.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.sbin.join(program));
        for (key, _) in env::vars_os() {
            if key.to_string_lossy().starts_with("RABBITMQ_") {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.dir.path())
            .env("HOME", self.path("home"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_CONF_ENV_FILE", self.path("rabbitmq-env.conf"));
        cmd
    }

    fn write_files(&self, certs: Option<&Certs>) {
        for sub in ["home", "mnesia", "log", "conf.d", "tls"] {
            fs::create_dir_all(self.path(sub)).expect("create broker dir");
        }
        let cookie = self.path("home").join(".erlang.cookie");
        fs::write(&cookie, Uuid::new_v4().simple().to_string().to_uppercase())
            .expect("write erlang cookie");
        // Erlang refuses a cookie file that others can read.
        fs::set_permissions(&cookie, fs::Permissions::from_mode(0o400))
            .expect("restrict erlang cookie");
        fs::write(self.path("rabbitmq-env.conf"), "").expect("write rabbitmq-env.conf");
        fs::write(
            self.path("enabled_plugins"),
            "[rabbitmq_auth_mechanism_ssl].\n",
        )
        .expect("write enabled_plugins");

        let mut conf = format!(
            "listeners.tcp.default = 127.0.0.1:{}\n\
             # A nearly full CI disk must not raise an alarm that blocks publishers mid-test.\n\
             disk_free_limit.absolute = 10MB\n",
            self.amqp_port
        );
        if let (Some(certs), Some(port)) = (certs, self.amqps_port) {
            // Copies, so the node can restart even after the test dropped its cert dir.
            let tls = self.path("tls");
            for (from, name) in [
                (certs.ca_path(), "ca.pem"),
                (certs.server_cert_path(), "server.pem"),
                (certs.server_key_path(), "server-key.pem"),
            ] {
                fs::copy(&from, tls.join(name))
                    .unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
            }
            let _ = write!(
                conf,
                "listeners.ssl.default = 127.0.0.1:{port}\n\
                 ssl_options.cacertfile = {ca}\n\
                 ssl_options.certfile = {cert}\n\
                 ssl_options.keyfile = {key}\n\
                 ssl_options.verify = verify_peer\n\
                 ssl_options.fail_if_no_peer_cert = true\n\
                 auth_mechanisms.1 = PLAIN\n\
                 auth_mechanisms.2 = AMQPLAIN\n\
                 auth_mechanisms.3 = EXTERNAL\n\
                 ssl_cert_login_from = common_name\n",
                ca = tls.join("ca.pem").display(),
                cert = tls.join("server.pem").display(),
                key = tls.join("server-key.pem").display(),
            );
        }
        fs::write(self.path("rabbitmq.conf"), conf).expect("write rabbitmq.conf");
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pid_file(&self) -> PathBuf {
        self.path("node.pid")
    }

    fn stdout_log_path(&self) -> PathBuf {
        self.path("log").join("console.log")
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{what}\nnode {} (amqp port {}, dir {})\n{}",
            self.node,
            self.amqp_port,
            self.dir.path().display(),
            self.log_tail(80)
        )
    }

    /// SIGTERM to the wrapper script, which forwards it to the VM; RabbitMQ treats that as a
    /// graceful shutdown, like `rabbitmqctl shutdown` but without a second of CLI start-up.
    /// A VM still alive after `grace` is killed through the pid from its pid file. Returns
    /// whether the graceful path worked.
    fn shut_down(&self, server: &mut Child, grace: Duration) -> bool {
        signal(server.id(), "TERM");
        if wait_child(server, grace).is_some() {
            return true;
        }
        if let Some(pid) = fs::read_to_string(self.pid_file())
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            signal(pid, "KILL");
        }
        let _ = server.kill();
        let _ = server.wait();
        false
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            self.shut_down(&mut server, Duration::from_secs(20));
        }
        // The TempDir field removes the node's files after this.
    }
}

/// `url` with its password masked, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_only_the_password() {
        assert_eq!(
            redact("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqp://localhost/%2f"), "amqp://localhost/%2f");
    }

    #[test]
    fn unique_names_differ_and_keep_the_prefix() {
        let (a, b) = (unique("herald-q"), unique("herald-q"));
        assert_ne!(a, b);
        assert!(a.starts_with("herald-q-"));
    }
}
