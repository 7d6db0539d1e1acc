//! Starting at login from a Flatpak: `autostart::portal` against a Background portal served on
//! a private `dbus-daemon`. The fake portal records what it was asked and answers on the
//! request object, as xdg-desktop-portal does.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use herald_desktop::autostart::portal::{self, PortalError};
use zbus::message::Header;
use zbus::{Connection, OwnedObjectPath, OwnedVariant, Variant};

/// A private bus, killed on drop.
struct Bus {
    child: Child,
    address: String,
    _stdout: BufReader<ChildStdout>,
    _dir: tempfile::TempDir,
}

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().expect("tempdir");
        let listen = dir.path().join("bus");
        let mut child = Command::new("dbus-daemon")
            // The stock session policy, on a socket of the test's own.
            .args(["--session", "--nofork", "--print-address"])
            .arg(format!("--address=unix:path={}", listen.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon runs (Debian/Fedora package dbus-daemon)");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut address = String::new();
        stdout.read_line(&mut address).expect("the bus address");
        Bus {
            child,
            address: address.trim().to_owned(),
            _stdout: stdout,
            _dir: dir,
        }
    }

    async fn connect(&self) -> Connection {
        zbus::connection::Builder::address(self.address.as_str())
            .build()
            .await
            .expect("connect to the private bus")
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Calls = Arc<Mutex<Vec<HashMap<String, OwnedVariant>>>>;

/// The Background portal: records each request's options and answers `response` with
/// `autostart` in the results.
struct FakeBackground {
    calls: Calls,
    response: u32,
    autostart: bool,
}

#[zbus::interface(name = "org.freedesktop.portal.Background")]
impl FakeBackground {
    async fn request_background(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        _parent_window: String,
        options: HashMap<String, OwnedVariant>,
    ) -> zbus::fdo::Result<OwnedObjectPath> {
        let sender = header
            .sender()
            .map(|s| s.trim_start_matches(':').replace('.', "_"))
            .unwrap_or_default();
        let token = options
            .get("handle_token")
            .and_then(|v| String::try_from(v.clone()).ok())
            .unwrap_or_default();
        self.calls.lock().expect("calls").push(options);
        let path = format!("/org/freedesktop/portal/desktop/request/{sender}/{token}");
        let results: HashMap<&str, Variant<'_>> = HashMap::from([
            ("background", Variant::from(true)),
            ("autostart", Variant::from(self.autostart)),
        ]);
        conn.emit_signal(
            header.sender(),
            path.as_str(),
            "org.freedesktop.portal.Request",
            "Response",
            &(self.response, results),
        )
        .await?;
        OwnedObjectPath::try_from(path).map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }
}

/// Serves the fake portal on `bus`; the connection must be kept for it to stay.
async fn serve(bus: &Bus, response: u32, autostart: bool) -> (Connection, Calls) {
    let calls = Calls::default();
    let portal = FakeBackground {
        calls: calls.clone(),
        response,
        autostart,
    };
    let conn = zbus::connection::Builder::address(bus.address.as_str())
        .serve_at("/org/freedesktop/portal/desktop", portal)
        .name("org.freedesktop.portal.Desktop")
        .build()
        .await
        .expect("the fake portal on the bus");
    (conn, calls)
}

fn text(options: &HashMap<String, OwnedVariant>, key: &str) -> String {
    String::try_from(options[key].clone()).expect("a string")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_the_portal_to_start_herald_in_the_tray_at_login() {
    let bus = Bus::start();
    let (_portal, calls) = serve(&bus, 0, true).await;
    let app = bus.connect().await;

    portal::request_on(&app, true)
        .await
        .expect("the portal agreed");
    portal::request_on(&app, false)
        .await
        .expect("turning it off is agreed too");

    let calls = calls.lock().expect("calls").clone();
    assert_eq!(calls.len(), 2);
    let on = &calls[0];
    assert_eq!(bool::try_from(&on["autostart"]), Ok(true));
    assert_eq!(bool::try_from(&calls[1]["autostart"]), Ok(false));
    assert_eq!(
        <Vec<String>>::try_from(on["commandline"].clone()).expect("a string array"),
        ["herald-desktop", "--tray"]
    );
    assert_eq!(bool::try_from(&on["dbus-activatable"]), Ok(false));
    assert!(text(on, "reason").contains("log in"), "{on:?}");
    // Each request has a token of its own, so each answer reaches the right caller.
    assert_ne!(text(on, "handle_token"), text(&calls[1], "handle_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_or_a_cancelled_dialog_is_an_error() {
    let bus = Bus::start();
    let app = bus.connect().await;
    {
        // The user cancelled the portal's dialog.
        let (_portal, _) = serve(&bus, 1, false).await;
        let err = portal::request_on(&app, true).await.expect_err("cancelled");
        assert!(matches!(err, PortalError::Refused(1)), "{err:?}");
    }
    // Answered, but without starting at login.
    let (_portal, _) = serve(&bus, 0, false).await;
    let err = portal::request_on(&app, true)
        .await
        .expect_err("not allowed");
    assert!(matches!(err, PortalError::Refused(0)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_portal_on_the_bus_the_request_fails_instead_of_waiting() {
    let bus = Bus::start();
    let app = bus.connect().await;
    let err = portal::request_on(&app, true).await.expect_err("no portal");
    assert!(matches!(err, PortalError::Bus(_)), "{err:?}");
}
