//! Herald's windows: the history and the settings, opened on demand. Closing one destroys
//! it, so its web view and the processes behind it go away and the app idles in the tray (see
//! [`crate::on_run_event`]); the tray menu builds it again from its `tauri.conf.json` entry.
//!
//! A window shows Herald's own page and nothing else: the history renders what the bus
//! sends, and a page from anywhere else would inherit the window's commands. So every
//! navigation away from the app's origin, every `window.open` and every download is
//! refused; links leave through the `open_link` command, which hands them to the browser.

use serde::{Deserialize, Serialize};
use tauri::webview::NewWindowResponse;
use tauri::{Manager, Runtime, Url, WebviewWindow, WebviewWindowBuilder};

/// Herald's windows. Their labels are declared in `tauri.conf.json`; each is granted its
/// own commands in `capabilities/<label>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    History,
    Settings,
}

impl Window {
    pub const ALL: [Window; 2] = [Window::History, Window::Settings];

    /// The window labelled `label`.
    pub fn from_label(label: &str) -> Option<Window> {
        Window::ALL.into_iter().find(|w| w.label() == label)
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::History => "history",
            Window::Settings => "settings",
        }
    }
}

/// Shows `which`, building it from its `tauri.conf.json` entry if it does not exist (any
/// more), and brings it to the front.
pub fn show<R: Runtime, M: Manager<R>>(app: &M, which: Window) -> tauri::Result<WebviewWindow<R>> {
    let label = which.label();
    let window = match app.get_webview_window(label) {
        Some(window) => window,
        None => {
            let config = app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == label)
                .ok_or(tauri::Error::WindowNotFound)?;
            WebviewWindowBuilder::from_config(app, config)?
                .on_navigation(|url| {
                    let own = is_own_page(url);
                    if !own {
                        tracing::warn!(
                            "a window tried to leave Herald's page for {}: refused",
                            origin(url)
                        );
                    }
                    own
                })
                .on_new_window(|url, _| {
                    tracing::warn!(
                        "a window tried to open {} in a new window: refused",
                        origin(&url)
                    );
                    NewWindowResponse::Deny
                })
                .on_download(|_, _| false)
                .build()?
        }
    };
    window.unminimize()?;
    window.show()?;
    window.set_focus()?;
    Ok(window)
}

/// `scheme://host` of a URL a page asked for, for the log: the rest is the page's choice
/// and says nothing more about who asked.
fn origin(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
}

/// Whether `url` is Herald's own page: the app's custom protocol (`tauri://localhost` on
/// Linux and macOS, `http(s)://tauri.localhost` where the web view cannot register one).
pub fn is_own_page(url: &Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_origin_is_its_page() {
        let url = |s: &str| Url::parse(s).expect("url");
        for own in [
            "tauri://localhost/index.html#/history",
            "tauri://localhost/",
            "http://tauri.localhost/index.html",
            "https://tauri.localhost/",
        ] {
            assert!(is_own_page(&url(own)), "{own}");
        }
        for other in [
            "https://example.org/",
            "http://localhost:1420/",
            "tauri://evil.example/",
            "http://tauri.localhost.evil.example/",
            "file:///etc/passwd",
            "about:blank",
            "data:text/html,<script>alert(1)</script>",
            "javascript:alert(1)",
        ] {
            assert!(!is_own_page(&url(other)), "{other}");
        }
    }
}
