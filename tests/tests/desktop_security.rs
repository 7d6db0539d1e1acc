//! The desktop app's doors, tried as a hostile page would, in the real WebKitGTK web view
//! (Herald's tray process on a private vhost, its window process started by
//! WebKitWebDriver, a private session bus with gnome-keyring, a throw-away X server and
//! HOME). Script runs in the page through WebDriver, which is what an injected script could
//! do at best.
//!
//! Checked: script in the history window, which renders what the bus sends, is refused every
//! settings, secret and autostart command (and still reads the history); the settings
//! window's connection test, pointed at another loopback port (a recorder in front of the
//! same broker) under the saved connection's name and user, sends no stored password there,
//! while the saved connection itself logs in with it; navigation away from Herald's page —
//! by location, link, form or `window.open` — is refused, and nothing reaches the address
//! it named.

use std::io::Read as _;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use herald_e2e::fault_proxy::TcpRecorder;
use herald_e2e::herald::{config_for, HeraldDir, Vhost};
use herald_e2e::webview::{testid, Desktop, Webview, START, WAIT};
use serde_json::{json, Value};

const HISTORY_WINDOW: &[&str] = &["--window", "history"];

/// The system broker's address, which the recorder forwards to.
const BROKER: &str = "127.0.0.1:5672";

/// A vhost of its own, and a config whose broker URL names the user but no password: the
/// password lives in the keyring, put there through the settings window.
struct World {
    vhost: Vhost,
    config: String,
    _declared: HeraldDir,
}

impl World {
    fn new() -> World {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        rt.block_on(herald_e2e::broker::wait_for_system_broker());
        let vhost = Vhost::new();
        let queue = herald_e2e::broker::unique("herald-security");
        let declared = HeraldDir::new(&config_for(
            &vhost.url(),
            &queue,
            &[("amq.topic", "topic")],
            "",
        ));
        declared.declare();
        let config = config_for(
            &vhost.url().replacen("guest:guest@", "guest@", 1),
            &queue,
            &[("amq.topic", "topic")],
            "",
        );
        World {
            vhost,
            config,
            _declared: declared,
        }
    }

    /// The broker URL as the settings window shows it: no user, no password.
    fn shown_url(&self, at: &str) -> String {
        format!("amqp://{at}/{}", self.vhost.name)
    }
}

/// The history page, loaded (its list answered, empty or not).
fn wait_history(wv: &Webview) {
    wv.wait_until("the history page", START, |w| {
        let listed = w.count(&testid("result-empty")) + w.count(&testid("result-row")) > 0;
        (listed && w.count(&testid("search-input")) == 1).then_some(())
    });
}

/// Calls a command the way page script would; `{"ok": …}` or `{"error": …}`.
fn invoke(wv: &Webview, cmd: &str, args: Value) -> Value {
    wv.exec_async(
        "const done = arguments[arguments.length - 1]; \
         window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1]) \
           .then(ok => done({ ok: ok === undefined ? null : ok }), e => done({ error: e }));",
        vec![json!(cmd), args],
    )
}

fn refused_by_acl(answer: &Value) -> bool {
    answer["error"]
        .as_str()
        .is_some_and(|e| e.contains("not allowed"))
}

/// Opens Settings with the ⚙ button, as a user does, and switches WebDriver to it.
fn open_settings(wv: &Webview) {
    let before = wv.windows();
    wv.click("button[aria-label=\"Settings\"]");
    let settings = wv.wait_until("the settings window under automation", WAIT, |w| {
        w.windows().into_iter().find(|h| !before.contains(h))
    });
    wv.switch_to(&settings);
    wv.wait(&testid("settings-form"));
}

#[test]
fn webview_the_history_window_cannot_change_settings_secrets_or_autostart() {
    let world = World::new();
    let wv = Webview::start(Desktop::start(&world.config), HISTORY_WINDOW);
    wait_history(&wv);
    let connection = json!({
        "name": "default", "url": world.shown_url(BROKER), "username": "guest",
        "ca_cert": null, "certfile": null, "keyfile": null,
        "has_password": false, "has_key_passphrase": false,
    });
    let before = std::fs::read_to_string(wv.desktop().config_path()).expect("config");
    for (cmd, args) in [
        ("get_settings", json!({})),
        ("save_settings", json!({ "settings": {} })),
        (
            "set_secret",
            json!({ "connection": connection, "kind": "password", "value": "mine" }),
        ),
        (
            "test_connection",
            json!({ "connection": connection, "typed": null }),
        ),
        ("dry_run", json!({ "rulesToml": "", "limit": 10 })),
        ("autostart", json!({})),
        ("set_autostart", json!({ "enabled": true })),
    ] {
        let answer = invoke(&wv, cmd, args);
        assert!(
            refused_by_acl(&answer),
            "the history window called {cmd}: {answer}"
        );
    }
    // Its own commands still answer.
    let page = invoke(&wv, "search", json!({ "query": { "limit": 5 } }));
    assert!(page["ok"]["hits"].is_array(), "{page}");
    // Nothing changed behind the refusals: the config, the keyring, the login items.
    let after = std::fs::read_to_string(wv.desktop().config_path()).expect("config");
    assert_eq!(before, after);
    let home = wv.desktop().home();
    assert_eq!(
        herald_e2e::keyring::secret_tool_lookup(
            home,
            &[("service", herald_core::secrets::SERVICE)]
        ),
        None
    );
    assert!(
        home.files_containing(b" --tray").is_empty(),
        "no autostart entry"
    );
    wv.shutdown();
}

#[test]
fn webview_a_connection_test_elsewhere_gets_no_stored_password() {
    let world = World::new();
    let wv = Webview::start(Desktop::start(&world.config), HISTORY_WINDOW);
    wait_history(&wv);
    open_settings(&wv);

    // The password goes into the keyring the way a user puts it there.
    wv.type_text(&testid("conn-password-default"), "guest");
    wv.click(&testid("conn-save-password-default"));
    wv.wait_text(
        &testid("conn-password-state-default"),
        "stored in keyring",
        |t| t == "stored in keyring",
    );

    // The saved connection logs in with it.
    let saved = json!({
        "name": "default", "url": world.shown_url(BROKER), "username": "guest",
        "ca_cert": null, "certfile": null, "keyfile": null,
        "has_password": true, "has_key_passphrase": false,
    });
    let answer = invoke(
        &wv,
        "test_connection",
        json!({ "connection": saved, "typed": null }),
    );
    assert_eq!(answer["ok"]["ok"], json!(true), "{answer}");

    // Same name and user, another loopback port: a recorder in front of the same broker.
    let recorder = TcpRecorder::start(BROKER.parse().expect("broker address"));
    let at = format!("127.0.0.1:{}", recorder.port());
    let mut elsewhere = saved.clone();
    elsewhere["url"] = json!(world.shown_url(&at));
    let answer = invoke(
        &wv,
        "test_connection",
        json!({ "connection": elsewhere, "typed": null }),
    );
    assert_eq!(answer["ok"]["ok"], json!(false), "{answer}");
    assert!(
        recorder.connections() > 0,
        "the test did reach the recorder: {answer}"
    );
    assert!(
        !recorder.saw(b"\0guest\0guest"),
        "the stored password was sent to {at}"
    );
    // A secret goes only under a connection's name: not under any keyring user a page
    // makes up.
    let answer = invoke(
        &wv,
        "set_secret",
        json!({ "connection": { "name": "no/such name", "url": world.shown_url(&at),
                "username": "guest", "ca_cert": null, "certfile": null, "keyfile": null,
                "has_password": false, "has_key_passphrase": false },
                "kind": "password", "value": "x" }),
    );
    assert!(
        answer["error"].is_object(),
        "a bad name is refused: {answer}"
    );
    wv.shutdown();
}

/// A local HTTP listener that records the first line of each request made to it: anything
/// the web view fetched or navigated to there.
struct Bait {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Bait {
    fn start() -> Bait {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let lines = requests.clone();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                if let Ok(mut l) = lines.lock() {
                    l.push(head.lines().next().unwrap_or_default().to_owned());
                }
                use std::io::Write as _;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 33\r\n\r\n\
                      <html><body>bait page</body></html>",
                );
            }
        });
        Bait { port, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

#[test]
fn webview_navigation_away_from_herald_is_refused() {
    let world = World::new();
    let wv = Webview::start(Desktop::start(&world.config), HISTORY_WINDOW);
    wait_history(&wv);
    let bait = Bait::start();
    let own = wv.url();
    assert!(own.starts_with("tauri://localhost/"), "{own}");
    let windows = wv.windows();
    for (how, script) in [
        ("location", "window.location.href = arguments[0];"),
        (
            "link",
            "const a = document.createElement('a'); a.href = arguments[0]; \
             document.body.appendChild(a); a.click();",
        ),
        (
            "form",
            "const f = document.createElement('form'); f.method = 'GET'; \
             f.action = arguments[0]; document.body.appendChild(f); f.submit();",
        ),
        ("window.open", "window.open(arguments[0], '_blank');"),
        ("top", "window.top.location.assign(arguments[0]);"),
    ] {
        wv.exec(script, vec![json!(bait.url(how))]);
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(wv.url(), own, "{how} left Herald's page");
        assert_eq!(wv.windows(), windows, "{how} opened a window");
        assert_eq!(
            wv.count(&testid("search-input")),
            1,
            "{how}: Herald's page is still there"
        );
    }
    // Nor does anything else a page might try to reach it with: a <base> that relative
    // URLs would follow, an <object>, an image, a fetch. The CSP refuses each.
    wv.exec(
        "const b = document.createElement('base'); b.href = arguments[0]; \
         document.head.appendChild(b); \
         const i = document.createElement('img'); i.src = 'relative.png'; \
         document.body.appendChild(i); \
         const o = document.createElement('object'); o.data = arguments[0] + 'object'; \
         document.body.appendChild(o); \
         const j = document.createElement('img'); j.src = arguments[0] + 'img.png'; \
         document.body.appendChild(j); \
         fetch(arguments[0] + 'fetch').catch(() => {});",
        vec![json!(bait.url(""))],
    );
    std::thread::sleep(Duration::from_millis(1500));
    // A link click may open a bare TCP connection ahead of the navigation (WebKit's
    // speculative preconnect, before the policy refuses it); no request is ever sent on it.
    let requests = bait.requests();
    assert!(
        requests.iter().all(String::is_empty),
        "the web view sent requests to the address a page named: {requests:?}"
    );
    wv.shutdown();
}
