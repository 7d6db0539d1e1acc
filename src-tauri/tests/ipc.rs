//! Boots the shell on Tauri's mock runtime, with a real history in a temporary directory, and
//! talks to it through the same IPC path the page uses, ACL checks included.

use herald_core::history::HistoryStore;
use herald_core::secrets::SecretStore;
use herald_core::sources::RenderContext;
use herald_desktop::backend::{Backend, Parts};
use herald_desktop::run_app;
use herald_desktop::window::{self, Window};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};

fn request(cmd: &str, args: Value) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("valid url"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

fn call(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(window, request(cmd, args)).map(|body| {
        body.deserialize::<Value>()
            .expect("commands answer with JSON")
    })
}

/// The app with its history window open and a real, empty history behind it.
fn app_with_history(dir: &std::path::Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = run_app(mock_builder()).expect("the app builds on the mock runtime");
    let store = tauri::async_runtime::block_on(HistoryStore::open(
        &dir.join("history.db"),
        &RenderContext::default(),
    ))
    .expect("a history in a temporary directory");
    app.state::<Backend>().set_ready(Parts {
        store,
        config_path: dir.join("config.toml"),
        secrets: SecretStore::new(),
    });
    let history = window::show(&app, Window::History).expect("the history window opens");
    (app, history)
}

#[test]
fn no_window_is_open_until_asked() {
    let app = run_app(mock_builder()).expect("the app builds on the mock runtime");
    assert!(app.webview_windows().is_empty());
}

#[test]
fn the_page_can_read_app_info_and_no_core_plugin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, history) = app_with_history(dir.path());
    let info = call(&history, "app_info", json!({})).expect("app_info is granted");
    let paths = herald_core::config::default_paths().expect("a home directory");
    assert_eq!(
        info,
        json!({
            "name": "Herald",
            "version": env!("CARGO_PKG_VERSION"),
            "config_path": paths.config.display().to_string(),
            "database_path": paths.database.display().to_string(),
        })
    );
    // Core plugins are not granted: the page cannot, say, close windows or listen to events.
    for cmd in [
        "plugin:window|close",
        "plugin:event|listen",
        "plugin:app|version",
        "plugin:webview|create_webview_window",
    ] {
        match call(&history, cmd, json!({})) {
            Err(Value::String(reason)) if reason.contains("not allowed") => {}
            other => panic!("{cmd} should be refused by the ACL, got {other:?}"),
        }
    }
}

#[test]
fn search_pages_an_empty_history_and_reports_bad_queries_as_invalid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, history) = app_with_history(dir.path());
    let page = call(
        &history,
        "search",
        json!({ "query": { "text": "kernel", "unread_only": true, "limit": 10000 } }),
    )
    .expect("search answers");
    assert_eq!(page, json!({ "hits": [], "next_before": null }));

    let err = call(
        &history,
        "search",
        json!({ "query": { "text": "\"unclosed" } }),
    )
    .expect_err("an unbalanced quote is refused");
    assert_eq!(err["kind"], "invalid", "{err}");

    assert_eq!(
        call(&history, "message", json!({ "id": "no-such-id" })).expect("message answers"),
        Value::Null
    );
    assert_eq!(
        call(&history, "mark_all_read", json!({})).expect("mark_all_read answers"),
        json!(0)
    );
    assert_eq!(
        call(
            &history,
            "highlight_terms",
            json!({ "text": "Kernel \"build failed\" py*" })
        )
        .expect("highlight_terms answers"),
        json!(["kernel", "build failed", "py"])
    );
}

#[test]
fn only_http_links_are_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, history) = app_with_history(dir.path());
    for url in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
    ] {
        let err = call(&history, "open_link", json!({ "url": url }))
            .expect_err("a non-http link is refused");
        assert_eq!(err["kind"], "invalid", "{url}: {err}");
    }
}

#[test]
fn status_reports_a_starting_herald_with_nothing_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_app, history) = app_with_history(dir.path());
    assert_eq!(
        call(&history, "status", json!({})).expect("status answers"),
        json!({
            "connections": [],
            "unread": 0,
            "paused": false,
            "paused_until": null,
            "error": null,
        })
    );
}

#[test]
fn open_window_opens_settings_beside_the_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, history) = app_with_history(dir.path());
    call(&history, "open_window", json!({ "which": "settings" })).expect("open_window answers");
    assert!(app.get_webview_window("settings").is_some());
    let err = call(&history, "open_window", json!({ "which": "devtools" }))
        .expect_err("an unknown window is refused");
    assert!(err.to_string().contains("devtools"), "{err}");
}

/// Settings, secrets and autostart are the settings window's alone: the history window,
/// which renders what the bus sends, is refused each of them by the ACL before the command
/// runs; the settings window is granted them (and refused the history's).
#[test]
fn each_window_holds_only_its_own_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, history) = app_with_history(dir.path());
    let connection = json!({
        "name": "default",
        "url": "amqp://127.0.0.1:1/%2F",
        "username": "alice",
        "ca_cert": null, "certfile": null, "keyfile": null,
        "has_password": false, "has_key_passphrase": false,
    });
    let settings_only = [
        ("get_settings", json!({})),
        ("save_settings", json!({ "settings": {} })),
        // An unknown kind: past the ACL, the arguments are refused before any keyring call.
        (
            "set_secret",
            json!({ "connection": connection, "kind": "no-such-kind", "value": "x" }),
        ),
        ("test_connection", json!({ "connection": connection })),
        ("dry_run", json!({ "rulesToml": "", "limit": 1 })),
        ("autostart", json!({})),
        ("set_autostart", json!({ "enabled": true })),
    ];
    let refused = |window: &WebviewWindow<MockRuntime>, cmd: &str, args: &Value| match call(
        window,
        cmd,
        args.clone(),
    ) {
        Err(Value::String(reason)) => reason.contains("not allowed"),
        _ => false,
    };
    for (cmd, args) in &settings_only {
        assert!(
            refused(&history, cmd, args),
            "the history window may not call {cmd}"
        );
    }
    let settings = window::show(&app, Window::Settings).expect("the settings window opens");
    // Granted: whatever the command answers, the ACL let it through.
    for (cmd, args) in &settings_only {
        if *cmd == "set_autostart" {
            continue; // would change this machine's login items
        }
        assert!(
            !refused(&settings, cmd, args),
            "the settings window may call {cmd}"
        );
    }
    for (cmd, args) in [
        ("search", json!({ "query": {} })),
        ("message", json!({ "id": "x" })),
        ("packages", json!({})),
        ("package_timeline", json!({ "name": "x" })),
        ("mark_all_read", json!({})),
        ("open_link", json!({ "url": "https://example.org/" })),
        ("live", json!({})),
    ] {
        assert!(
            refused(&settings, cmd, &args),
            "the settings window may not call {cmd}"
        );
    }
}

/// A stored message about `package`, as Koji sends it when a build completes.
fn build_complete(package: &str, version: &str, sent_at: &str) -> herald_core::history::Entry {
    use herald_core::message::{headers_from_json, Envelope, Message, Properties};
    let mut headers = serde_json::Map::new();
    headers.insert(
        "fedora_messaging_schema".into(),
        "koji_fedoramessaging.build.BuildStateChangeV1".into(),
    );
    headers.insert("sent-at".into(), sent_at.into());
    headers.insert(format!("fedora_messaging_rpm_{package}"), true.into());
    let body = json!({
        "build_id": 1, "name": package, "version": version, "release": "1.fc43", "new": 1,
        "owner": "alice", "instance": "primary", "base_url": "https://koji.fedoraproject.org",
        "request": ["git+https://src.fedoraproject.org/rpms/x.git#0", "f43", {}],
    });
    let env = Envelope {
        exchange: "amq.topic".into(),
        routing_key: "org.fedoraproject.prod.buildsys.build.state.change".into(),
        properties: Properties {
            message_id: Some(format!("{package}-{version}")),
            ..Properties::default()
        },
        headers: Some(headers_from_json(&headers)),
        body: body.to_string().into_bytes(),
        received_at: time::OffsetDateTime::now_utc(),
    };
    herald_core::history::Entry::new(Message::decode(env), &RenderContext::default())
}

#[test]
fn the_history_window_reads_the_package_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (app, history) = app_with_history(dir.path());
    assert_eq!(
        call(&history, "packages", json!({})).expect("packages answers"),
        json!([])
    );
    let store = tauri::async_runtime::block_on(app.state::<Backend>().parts())
        .expect("ready")
        .store;
    tauri::async_runtime::block_on(store.insert_batch(&[
        build_complete("python-requests", "2.32.3", "2025-06-01T10:00:00+00:00"),
        build_complete("python-urllib3", "2.5.0", "2025-06-02T10:00:00+00:00"),
    ]))
    .expect("insert");

    // No profile in the config: every package, the one changed last first.
    let list = call(&history, "packages", json!({})).expect("packages answers");
    let names: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["package"].as_str())
        .collect();
    assert_eq!(names, ["python-urllib3", "python-requests"], "{list}");
    assert_eq!(list[1]["branches"][0]["branch"], "f43", "{list}");
    assert_eq!(
        list[1]["branches"][0]["build"]["state"], "complete",
        "{list}"
    );

    // A profile saved since start-up applies at once.
    std::fs::write(
        dir.path().join("config.toml"),
        "[herald.profile]\npackages = [\"python-requests\"]\n",
    )
    .expect("write the config");
    let list = call(&history, "packages", json!({})).expect("packages answers");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["package"], "python-requests");

    let timeline = call(
        &history,
        "package_timeline",
        json!({ "name": "python-requests" }),
    )
    .expect("package_timeline answers");
    assert_eq!(timeline[0]["id"], "python-requests-2.32.3", "{timeline}");
    assert_eq!(timeline[0]["stage"], "build");
    assert_eq!(timeline[0]["link_host"], "koji.fedoraproject.org");
    assert_eq!(timeline[0]["link_trusted"], true);
    assert_eq!(
        call(&history, "package_timeline", json!({ "name": "nothing" })).expect("answers"),
        json!([])
    );
    for name in [String::new(), "x".repeat(256)] {
        let err = call(&history, "package_timeline", json!({ "name": name }))
            .expect_err("an empty or overlong name is refused");
        assert_eq!(err["kind"], "invalid", "{err}");
    }
}
