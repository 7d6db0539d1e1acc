//! Driving the desktop app's real WebKitGTK web view in tests: WebKitWebDriver (started
//! directly, one per test) launches the `herald-desktop` binary in a throw-away [`Desktop`]
//! (X server, private session bus, unlocked gnome-keyring, temporary HOME, config and
//! database), and [`Webview`] talks W3C WebDriver to it through fantoccini. Tests assert
//! through the DOM, by `data-testid` ([`testid`]).
//!
//! The API blocks: a [`Webview`] owns the Tokio runtime its WebDriver client runs on, so the
//! tests are plain `#[test]` functions, like the tray tests. Reads (text, attributes, counts)
//! go through JavaScript, which sees the DOM as it is now and never trips over an element the
//! page re-rendered a moment ago; clicks and typing go through WebDriver, as real input.
//!
//! `WebKitWebDriver`, `Xvfb`, `dbus-daemon` and `gnome-keyring-daemon` must be installed
//! (Debian `webkit2gtk-driver xvfb dbus gnome-keyring`): the tests fail with that advice
//! rather than skip, with or without `CI=true`.
//!
//! [`Webview::shutdown`] deletes the session, ends WebKitWebDriver, and checks through
//! `/proc` that the app and every process it started (its WebKit web and network processes)
//! are gone. [`screen`] captures the whole X screen and clicks on it, for what lives outside
//! the web view (the tray).

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

mod desktop;
mod driver;
pub mod screen;

pub use desktop::Desktop;
use driver::{signal, wait_gone, Driver};

use crate::tray::{descendants, desktop_bin, desktop_comm, running};

/// Starting GTK, WebKit and the app's first page on a busy 2-core machine.
pub const START: Duration = Duration::from_secs(60);
/// Waiting for the page to show something.
pub const WAIT: Duration = Duration::from_secs(20);
/// Between an action and a screenshot: an immediate WebDriver screenshot can show the
/// previous frame.
const SETTLE: Duration = Duration::from_millis(300);
/// One WebDriver command; WebKit answers in milliseconds unless something is wrong.
const COMMAND: Duration = Duration::from_secs(15);

/// The CSS selector of the element with `data-testid="id"`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// How the app's processes ended at [`Webview::shutdown`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teardown {
    /// The app and what it had started, as (pid, name), when the session was deleted.
    pub processes: Vec<(u32, String)>,
    /// Deleting the WebDriver session ended them all; otherwise the app got SIGTERM.
    pub ended_by_session_delete: bool,
}

/// A WebDriver session on the app's web view, in its own [`Desktop`].
#[derive(Debug)]
pub struct Webview {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Driver,
    app: u32,
    desktop: Desktop,
}

impl Webview {
    /// Starts Herald's tray process in `desktop` (see [`Desktop::start_tray`]), then
    /// WebKitWebDriver, and opens a session on the window process `herald-desktop ARGS`;
    /// returns once its first web view is under automation.
    pub fn start(mut desktop: Desktop, args: &[&str]) -> Webview {
        desktop.start_tray();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime for WebDriver");
        let driver = Driver::start(&desktop);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "webkitgtk:browserOptions".into(),
            json!({ "binary": desktop_bin(), "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let session = rt.block_on(async {
            tokio::time::timeout(
                START,
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&driver.url()),
            )
            .await
        });
        let client = match session {
            Ok(Ok(client)) => client,
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no session within {START:?}"),
                };
                end_tree(driver.pid());
                panic!(
                    "cannot open a WebDriver session on {}: {why}\n--- log\n{}",
                    desktop_bin().display(),
                    desktop.log_tail(60)
                );
            }
        };
        // The session exists once the app's first web view is under automation, so the app
        // has been started by then.
        let comm = desktop_comm();
        let Some((app, _)) = descendants(driver.pid())
            .into_iter()
            .find(|(_, c)| *c == comm)
        else {
            let tree = descendants(driver.pid());
            end_tree(driver.pid());
            panic!(
                "a session but no {comm} process under WebKitWebDriver: {tree:?}\n--- log\n{}",
                desktop.log_tail(60)
            );
        };
        Webview {
            rt,
            client: Some(client),
            driver,
            app,
            desktop,
        }
    }

    pub fn desktop(&self) -> &Desktop {
        &self.desktop
    }

    /// The app's process id.
    pub fn app_pid(&self) -> u32 {
        self.app
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the session is open")
    }

    /// Runs one WebDriver command with a time limit.
    fn run<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> Result<T, String> {
        self.rt
            .block_on(async { tokio::time::timeout(COMMAND, fut).await })
            .map_err(|_| format!("{what}: no answer within {COMMAND:?}"))?
            .map_err(|e| format!("{what}: {e}"))
    }

    /// The log tail and the page source, for failure messages.
    pub fn context(&self) -> String {
        let source = self
            .run("page source", self.client().source())
            .unwrap_or_else(|e| format!("<{e}>"));
        const MAX: usize = 20_000;
        let source = if source.len() > MAX {
            let cut = (0..=MAX)
                .rev()
                .find(|&i| source.is_char_boundary(i))
                .unwrap_or(0);
            format!("{}… ({} bytes in all)", &source[..cut], source.len())
        } else {
            source
        };
        format!(
            "--- log (last lines of {})\n{}\n--- page source\n{source}",
            self.desktop.log_path().display(),
            self.desktop.log_tail(80)
        )
    }

    /// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout`; panics with
    /// `what` and [`Webview::context`] after that.
    pub fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut(&Webview) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = probe(self) {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits up to `timeout` for an element matching the CSS selector `sel`.
    pub fn wait_for(&self, sel: &str, timeout: Duration) {
        self.wait_until(sel, timeout, |w| (w.count(sel) > 0).then_some(()));
    }

    /// Waits up to [`WAIT`] for an element matching `sel`.
    pub fn wait(&self, sel: &str) {
        self.wait_for(sel, WAIT);
    }

    /// Waits up to [`WAIT`] until no element matches `sel`.
    pub fn wait_gone(&self, sel: &str) {
        self.wait_until(&format!("no {sel}"), WAIT, |w| {
            (w.count(sel) == 0).then_some(())
        });
    }

    /// Waits up to [`WAIT`] until the text of the first `sel` satisfies `ok`; returns it.
    pub fn wait_text(&self, sel: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_until(&format!("{sel}: {what}"), WAIT, |w| {
            w.try_text(sel).filter(|t| ok(t))
        })
    }

    /// Runs `script` in the page (`arguments[i]` are `args`) and returns what it returns.
    pub fn exec(&self, script: &str, args: Vec<Value>) -> Value {
        self.run("execute script", self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("{e}\nscript: {script}\n{}", self.context()))
    }

    /// Runs `script` asynchronously: it gets `args` and, last, a callback to call with its
    /// result; returns that result.
    pub fn exec_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.run(
            "execute async script",
            self.client().execute_async(script, args),
        )
        .unwrap_or_else(|e| panic!("{e}\nscript: {script}\n{}", self.context()))
    }

    /// How many elements match `sel`.
    pub fn count(&self, sel: &str) -> usize {
        let n = self.exec(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![json!(sel)],
        );
        n.as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(|| panic!("count of {sel}: {n}"))
    }

    /// The text (`textContent`) of the first `sel`, if there is one.
    pub fn try_text(&self, sel: &str) -> Option<String> {
        let v = self.exec(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            vec![json!(sel)],
        );
        v.as_str().map(str::to_owned)
    }

    /// The text of the first `sel`; panics when there is none.
    pub fn text(&self, sel: &str) -> String {
        self.try_text(sel)
            .unwrap_or_else(|| panic!("no element {sel}\n{}", self.context()))
    }

    /// The texts of every `sel`, in document order.
    pub fn texts(&self, sel: &str) -> Vec<String> {
        let v = self.exec(
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent);",
            vec![json!(sel)],
        );
        serde_json::from_value(v).unwrap_or_else(|e| panic!("texts of {sel}: {e}"))
    }

    /// Attribute `name` of the first `sel` (`None` when the element or the attribute is
    /// missing).
    pub fn attr(&self, sel: &str, name: &str) -> Option<String> {
        let v = self.exec(
            "const e = document.querySelector(arguments[0]); \
             return e ? e.getAttribute(arguments[1]) : null;",
            vec![json!(sel), json!(name)],
        );
        v.as_str().map(str::to_owned)
    }

    /// Attribute `name` of every `sel`, in document order.
    pub fn attrs(&self, sel: &str, name: &str) -> Vec<Option<String>> {
        let v = self.exec(
            "return Array.from(document.querySelectorAll(arguments[0]), \
             e => e.getAttribute(arguments[1]));",
            vec![json!(sel), json!(name)],
        );
        serde_json::from_value(v).unwrap_or_else(|e| panic!("attributes of {sel}: {e}"))
    }

    /// The current `value` of the first `sel` (an input, a textarea or a select).
    pub fn value(&self, sel: &str) -> Option<String> {
        let v = self.exec(
            "const e = document.querySelector(arguments[0]); return e ? String(e.value) : null;",
            vec![json!(sel)],
        );
        v.as_str().map(str::to_owned)
    }

    /// Retries `action` on the first `sel` until it succeeds, for up to [`WAIT`]: the page
    /// may be rendering it, or replace it between the lookup and the action.
    fn on_element(
        &self,
        sel: &str,
        what: &str,
        action: impl Fn(fantoccini::elements::Element) -> ActionFuture,
    ) {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self.run("find", self.client().find(Locator::Css(sel)));
            let Err(last) = found.and_then(|el| self.run(what, action(el))) else {
                return;
            };
            if Instant::now() >= deadline {
                panic!(
                    "cannot {what} {sel} within {WAIT:?}: {last}\n{}",
                    self.context()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the first `sel`, as a user would (WebDriver Element Click).
    pub fn click(&self, sel: &str) {
        self.on_element(sel, "click", |el| Box::pin(async move { el.click().await }));
    }

    /// Empties the first `sel` (an input or textarea) and types `text` into it, key by key;
    /// a line break is the Enter key.
    pub fn type_text(&self, sel: &str, text: &str) {
        let enter = char::from(fantoccini::key::Key::Enter).to_string();
        let text = text.replace('\n', &enter);
        self.on_element(sel, "type into", move |el| {
            let text = text.clone();
            Box::pin(async move {
                el.clear().await?;
                el.send_keys(&text).await
            })
        });
    }

    /// Sets the value of the first `sel` (input, textarea or select) and fires `input` and
    /// `change`, as typing or picking would; for text too long to type key by key.
    pub fn set_value(&self, sel: &str, value: &str) {
        self.wait(sel);
        let done = self.exec(
            "const e = document.querySelector(arguments[0]); if (!e) return false; \
             const proto = Object.getPrototypeOf(e); \
             const setter = Object.getOwnPropertyDescriptor(proto, 'value').set; \
             setter.call(e, arguments[1]); \
             e.dispatchEvent(new Event('input', { bubbles: true })); \
             e.dispatchEvent(new Event('change', { bubbles: true })); \
             return true;",
            vec![json!(sel), json!(value)],
        );
        assert_eq!(done, json!(true), "no element {sel}\n{}", self.context());
    }

    /// The page's HTML as WebDriver serialises it.
    pub fn source(&self) -> String {
        self.run("page source", self.client().source())
            .unwrap_or_else(|e| panic!("{e}\n{}", self.desktop.log_tail(60)))
    }

    /// The current URL of the web view.
    pub fn url(&self) -> String {
        self.run("current url", self.client().current_url())
            .map(|u| u.to_string())
            .unwrap_or_else(|e| panic!("{e}\n{}", self.context()))
    }

    /// Changes the location hash (`#/settings`) in the current web view, as a link would.
    pub fn go_hash(&self, hash: &str) {
        self.exec("window.location.hash = arguments[0];", vec![json!(hash)]);
    }

    /// The handles of the web views under automation (one per window).
    pub fn windows(&self) -> Vec<String> {
        self.run("window handles", self.client().windows())
            .map(|ws| ws.into_iter().map(String::from).collect())
            .unwrap_or_else(|e| panic!("{e}\n{}", self.context()))
    }

    /// Makes the web view with `handle` the one commands go to.
    pub fn switch_to(&self, handle: &str) {
        let handle = fantoccini::wd::WindowHandle::try_from(handle.to_owned())
            .unwrap_or_else(|e| panic!("window handle {handle:?}: {e}"));
        self.run("switch window", self.client().switch_to_window(handle))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.context()));
    }

    /// Saves a PNG of the web view to `path`, after a short settle so the last change is on
    /// screen.
    pub fn screenshot(&self, path: &Path) {
        std::thread::sleep(SETTLE);
        let png = self
            .run("screenshot", self.client().screenshot())
            .unwrap_or_else(|e| panic!("{e}\n{}", self.context()));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "the screenshot is not a PNG ({} bytes)",
            png.len()
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Deletes the session, ends WebKitWebDriver and checks that the app and every process
    /// it started are gone. Should deleting the session leave the app running (it lives in
    /// the tray), the app gets SIGTERM, its own way out.
    pub fn shutdown(mut self) -> Teardown {
        let teardown = self.end();
        let mut pids: Vec<u32> = teardown.processes.iter().map(|(p, _)| *p).collect();
        pids.push(self.driver.pid());
        let left = wait_gone(&pids, Duration::from_secs(5));
        assert!(
            left.is_empty(),
            "still running after shutdown: {:?} (of {:?})\n--- log\n{}",
            left,
            teardown.processes,
            self.desktop.log_tail(60)
        );
        teardown
    }

    /// The teardown behind [`Webview::shutdown`] and drop, which must not panic.
    fn end(&mut self) -> Teardown {
        let mut processes = vec![(self.app, desktop_comm())];
        processes.extend(descendants(self.app));
        let pids: Vec<u32> = processes.iter().map(|(p, _)| *p).collect();
        if let Some(client) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(COMMAND, client.close()).await });
        }
        let ended_by_session_delete = wait_gone(&pids, Duration::from_secs(5)).is_empty();
        if !ended_by_session_delete && running(self.app) {
            signal(self.app, "TERM");
        }
        let left = wait_gone(&pids, Duration::from_secs(15));
        for pid in left {
            signal(pid, "KILL");
        }
        self.driver.kill();
        Teardown {
            processes,
            ended_by_session_delete,
        }
    }
}

impl Drop for Webview {
    fn drop(&mut self) {
        if self.client.is_some() {
            self.end();
        }
    }
}

type ActionFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), fantoccini::error::CmdError>>>>;

/// Ends WebKitWebDriver's process tree after a failed start: the app first (SIGTERM, then
/// SIGKILL), so nothing outlives the test.
fn end_tree(driver: u32) {
    let tree: Vec<u32> = descendants(driver).into_iter().map(|(p, _)| p).collect();
    for &pid in &tree {
        signal(pid, "TERM");
    }
    for pid in wait_gone(&tree, Duration::from_secs(10)) {
        signal(pid, "KILL");
    }
}
