//! D-Bus for tests: a private bus ([`SessionBus`], a `dbus-daemon` of its own, so no real
//! notification daemon is reached or started, which can be restarted to break every client's
//! connection) and an in-process fake notification server on it ([`FakeNotifications`]) that
//! records every `Notify` call and can click actions the way a user would, or hang.
//!
//! `dbus-daemon` must be installed (Debian `dbus-daemon`, Fedora `dbus-daemon`): the tests
//! fail with that advice rather than skip.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use zbus::message::Header;
use zbus::names::BusName;
use zbus::{Connection, OwnedVariant};

pub const BUS_NAME: &str = "org.freedesktop.Notifications";
pub const OBJECT_PATH: &str = "/org/freedesktop/Notifications";
pub const INTERFACE: &str = "org.freedesktop.Notifications";

/// The name, vendor, version and spec version the fake server reports.
pub const SERVER_INFO: (&str, &str, &str, &str) =
    ("herald-fake-notifications", "herald-e2e", "1.0", "1.2");

/// A private message bus: `dbus-daemon --nofork --print-address` with a minimal session
/// config (no service directories, so nothing is ever auto-started on it), killed on drop.
#[derive(Debug)]
pub struct SessionBus {
    child: Child,
    address: String,
    // Kept open so the daemon never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    _dir: tempfile::TempDir,
}

impl SessionBus {
    pub fn start() -> SessionBus {
        let dir = tempfile::tempdir().expect("tempdir for the bus");
        let config = dir.path().join("session.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("bus").display()
            ),
        )
        .expect("write bus config");
        let (child, address, stdout) = daemon(&config);
        SessionBus {
            child,
            address,
            _stdout: stdout,
            _dir: dir,
        }
    }

    /// Kills the daemon and starts a new one at the same address: every client connection
    /// breaks, and names owned on the old bus are gone.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self._dir.path().join("bus"));
        let (child, address, stdout) = daemon(&self._dir.path().join("session.conf"));
        assert_eq!(
            address, self.address,
            "the restarted bus listens where the old one did"
        );
        self.child = child;
        self._stdout = stdout;
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A new client connection to this bus.
    pub fn connect(&self) -> Connection {
        zbus::block_on(zbus::connection::Builder::address(self.address()).build())
            .unwrap_or_else(|e| panic!("cannot connect to the test bus {}: {e}", self.address))
    }
}

/// Runs `dbus-daemon` with `config`; its process, address and stdout.
fn daemon(config: &std::path::Path) -> (Child, String, BufReader<ChildStdout>) {
    let mut child = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--print-address"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run dbus-daemon ({e}). The notification tests need it: install the \
                 dbus-daemon package (apt-get install dbus-daemon / dnf install dbus-daemon)"
            )
        });
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut address = String::new();
    let read = stdout.read_line(&mut address);
    // Without the daemon's guid, as a systemd user bus is named: a client reconnecting to a
    // restarted daemon would otherwise refuse its new guid.
    let address = address
        .trim()
        .split(',')
        .filter(|part| !part.starts_with("guid="))
        .collect::<Vec<_>>()
        .join(",");
    if read.is_err() || address.is_empty() {
        let _ = child.kill();
        let status = child.wait();
        panic!("dbus-daemon printed no address ({read:?}, exit {status:?})");
    }
    (child, address, stdout)
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `Notify` call as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyCall {
    /// The id the fake answered with.
    pub id: u32,
    /// The unique bus name of the caller.
    pub sender: String,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    /// Key, label, key, label, …
    pub actions: Vec<String>,
    /// The `urgency` hint (0 low, 1 normal, 2 critical), if sent as a byte.
    pub urgency: Option<u8>,
    /// Every hint, its value in debug form.
    pub hints: BTreeMap<String, String>,
    pub expire_timeout: i32,
}

impl NotifyCall {
    /// The action keys (the even entries of `actions`).
    pub fn action_keys(&self) -> Vec<&str> {
        self.actions.iter().step_by(2).map(String::as_str).collect()
    }

    /// The action labels (the odd entries of `actions`).
    pub fn action_labels(&self) -> Vec<&str> {
        self.actions
            .iter()
            .skip(1)
            .step_by(2)
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Default)]
struct Recorded {
    calls: Vec<NotifyCall>,
    last_id: u32,
    closed: Vec<u32>,
}

type Shared = Arc<(Mutex<Recorded>, Condvar)>;

mod clock;
pub use clock::CallClock;

/// `org.freedesktop.Notifications` served from this process on a [`SessionBus`].
#[derive(Debug)]
pub struct FakeNotifications {
    conn: Connection,
    recorded: Shared,
}

struct Server {
    recorded: Shared,
    capabilities: Vec<String>,
    /// Records each `Notify` call and never replies to it, as a hung server would.
    hung: bool,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        #[zbus(header)] header: Header<'_>,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        let id = self.record(
            &header,
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            actions,
            hints,
            expire_timeout,
        );
        if self.hung {
            std::future::pending::<()>().await;
        }
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        self.capabilities.clone()
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    fn get_server_information(&self) -> (String, String, String, String) {
        let (n, v, ver, spec) = SERVER_INFO;
        (n.into(), v.into(), ver.into(), spec.into())
    }

    async fn close_notification(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        id: u32,
    ) {
        {
            let (lock, cvar) = &*self.recorded;
            lock.lock()
                .unwrap_or_else(|e| e.into_inner())
                .closed
                .push(id);
            cvar.notify_all();
        }
        let dest = header.sender().map(|s| s.to_string());
        // 3: closed by a call to CloseNotification.
        let _ = emit(conn, dest.as_deref(), Signal::NotificationClosed(id, 3)).await;
    }

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

impl Server {
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        header: &Header<'_>,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        let (lock, cvar) = &*self.recorded;
        let mut r = lock.lock().unwrap_or_else(|e| e.into_inner());
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            r.last_id += 1;
            r.last_id
        };
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        r.calls.push(NotifyCall {
            id,
            sender: header.sender().map(|s| s.to_string()).unwrap_or_default(),
            app_name,
            replaces_id,
            app_icon,
            summary,
            body,
            actions,
            urgency,
            hints: hints
                .iter()
                .map(|(k, v)| (k.clone(), format!("{v:?}")))
                .collect(),
            expire_timeout,
        });
        cvar.notify_all();
        id
    }
}

/// What the fake can send: `ActionInvoked(id, key)` or `NotificationClosed(id, reason)`.
#[derive(Debug, Clone, Copy)]
enum Signal<'a> {
    ActionInvoked(u32, &'a str),
    NotificationClosed(u32, u32),
}

async fn emit(conn: &Connection, dest: Option<&str>, signal: Signal<'_>) -> zbus::Result<()> {
    let dest = dest.map(BusName::try_from).transpose()?;
    match signal {
        Signal::ActionInvoked(id, key) => {
            conn.emit_signal(dest, OBJECT_PATH, INTERFACE, "ActionInvoked", &(id, key))
                .await
        }
        Signal::NotificationClosed(id, reason) => {
            conn.emit_signal(
                dest,
                OBJECT_PATH,
                INTERFACE,
                "NotificationClosed",
                &(id, reason),
            )
            .await
        }
    }
}

impl FakeNotifications {
    /// Serves the fake on `bus` with these capabilities (e.g. `["actions", "body",
    /// "body-markup"]`).
    pub fn start(bus: &SessionBus, capabilities: &[&str]) -> FakeNotifications {
        FakeNotifications::serve(bus, capabilities, false)
    }

    /// A server that answers everything but `Notify`: each call is recorded and left
    /// waiting for a reply that never comes.
    pub fn start_hung(bus: &SessionBus, capabilities: &[&str]) -> FakeNotifications {
        FakeNotifications::serve(bus, capabilities, true)
    }

    fn serve(bus: &SessionBus, capabilities: &[&str], hung: bool) -> FakeNotifications {
        let recorded: Shared = Arc::default();
        let server = Server {
            recorded: recorded.clone(),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
            hung,
        };
        let conn = zbus::block_on(
            zbus::connection::Builder::address(bus.address())
                .serve_at(OBJECT_PATH, server)
                .name(BUS_NAME)
                .build(),
        )
        .unwrap_or_else(|e| panic!("cannot serve {BUS_NAME} on {}: {e}", bus.address()));
        FakeNotifications { conn, recorded }
    }

    /// Every `Notify` call so far.
    pub fn calls(&self) -> Vec<NotifyCall> {
        self.recorded
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .calls
            .clone()
    }

    /// The ids `CloseNotification` was called with.
    pub fn closed(&self) -> Vec<u32> {
        self.recorded
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .closed
            .clone()
    }

    /// Waits until at least `n` `Notify` calls are recorded and returns them all; panics with
    /// what was recorded after `timeout`.
    pub fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<NotifyCall> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.recorded;
        let mut r = lock.lock().unwrap_or_else(|e| e.into_inner());
        while r.calls.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "expected {n} Notify calls within {timeout:?}, got {}: {:#?}",
                r.calls.len(),
                r.calls
            );
            r = cvar
                .wait_timeout(r, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        r.calls.clone()
    }

    /// The call that got `id` most recently.
    fn call(&self, id: u32) -> NotifyCall {
        self.calls()
            .into_iter()
            .rev()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no notification {id} was shown"))
    }

    /// Clicks action `key` of notification `id` the way dunst does: `ActionInvoked` sent only
    /// to the connection that showed the notification.
    pub fn invoke_action(&self, id: u32, key: &str) {
        let sender = self.call(id).sender;
        self.signal(Some(&sender), Signal::ActionInvoked(id, key));
    }

    /// Clicks action `key` of notification `id` the way GNOME Shell does: `ActionInvoked`
    /// broadcast to everyone listening.
    pub fn broadcast_action(&self, id: u32, key: &str) {
        self.signal(None, Signal::ActionInvoked(id, key));
    }

    /// Closes notification `id` with `reason` (1 expired, 2 dismissed, 3 closed by call),
    /// telling the connection that showed it.
    pub fn close(&self, id: u32, reason: u32) {
        let sender = self.call(id).sender;
        self.signal(Some(&sender), Signal::NotificationClosed(id, reason));
    }

    fn signal(&self, dest: Option<&str>, signal: Signal<'_>) {
        zbus::block_on(emit(&self.conn, dest, signal))
            .unwrap_or_else(|e| panic!("cannot emit {signal:?}: {e}"));
    }
}

/// Sends `ActionInvoked(id, key)` to `dest` from `conn`, which is not the notification
/// server: a signal any other client on the bus could forge.
pub fn forge_action(conn: &Connection, dest: &str, id: u32, key: &str) {
    zbus::block_on(emit(conn, Some(dest), Signal::ActionInvoked(id, key)))
        .unwrap_or_else(|e| panic!("cannot emit a forged ActionInvoked: {e}"));
}
