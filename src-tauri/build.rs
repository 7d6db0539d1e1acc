//! Generates the ACL for Herald's own commands so a capability can grant them one by one.

/// Every `#[tauri::command]` the shell registers. A command missing here gets no
/// `allow-*` permission, so the page cannot call it: the list is the allow-list.
const COMMANDS: &[&str] = &[
    "app_info",
    "status",
    "live",
    "open_link",
    "open_window",
    "autostart",
    "set_autostart",
    "search",
    "facets",
    "highlight_terms",
    "message",
    "mark_read",
    "mark_all_read",
    "packages",
    "package_timeline",
    "get_settings",
    "save_settings",
    "set_secret",
    "test_connection",
    "dry_run",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed: check tauri.conf.json and capabilities/");
}
