//! Boots the shell on Tauri's mock runtime and talks to it through the same IPC path the page
//! uses, ACL checks included.

use herald_desktop::{run_app, window};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::Manager;

fn request(cmd: &str) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("valid url"),
        body: InvokeBody::default(),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

#[test]
fn main_window_can_read_app_info_and_nothing_else() {
    let app = run_app(mock_builder()).expect("the app builds on the mock runtime");
    let main = app
        .get_webview_window(window::MAIN)
        .expect("the main window is open at start");

    let info = get_ipc_response(&main, request("app_info"))
        .expect("app_info is granted to the main window")
        .deserialize::<serde_json::Value>()
        .expect("app_info returns JSON");
    let paths = herald_core::config::default_paths().expect("a home directory");
    assert_eq!(
        info,
        serde_json::json!({
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
    ] {
        match get_ipc_response(&main, request(cmd)) {
            Err(serde_json::Value::String(reason)) if reason.contains("not allowed") => {}
            other => panic!("{cmd} should be refused by the ACL, got {other:?}"),
        }
    }
}
