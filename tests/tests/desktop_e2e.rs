//! The desktop app end to end in its real WebKitGTK web view: Herald's tray process
//! (`herald-desktop --tray`) consuming from a private vhost on the real broker, and its
//! history window process (`herald-desktop --window history`) started by WebKitWebDriver,
//! on a throw-away X server, with a private session bus, an unlocked gnome-keyring and a
//! temporary HOME. New messages reach the window through the tray process.
//! Every assertion goes through the page's DOM (by `data-testid`), the history database or
//! the keyring. The settings window the app opens itself shows up as a second WebDriver
//! window, so it is driven as a user would reach it (the ⚙ button), not by URL.
//!
//! Checked: the harness itself (the app boots, its page talks to the shell with this test's
//! config and database, the tray process hosts no web view, the window's process tree goes
//! away at the end); a real fixture
//! published to the broker joins the history list live, the package facet narrows the list
//! to it and its detail pane offers the fixture's link; the hostile fixtures render as inert
//! text (no element injected, no script run); a drop rule saved in Settings decides what is
//! kept (page and database agree); a password saved in Settings lands in the keyring and in
//! no file of the HOME; a message `herald backfill` took from a real datagrepper wears the
//! "from archive" badge in the list and the detail pane, a live one does not. The last test writes docs/screenshots/ (history, settings, and the
//! real tray menu, docked in an XEmbed tray and opened with a right click).

use std::path::{Path, PathBuf};
use std::time::Duration;

use herald_core::message::Message;
use herald_core::recorded::Fixture;
use herald_core::secrets::{keyring_user, SecretKind, SERVICE};
use herald_e2e::broker::unique;
use herald_e2e::herald::{
    confirm_channel, publish_fixture, shared_fixtures, HeraldDir, TopicWorld, Vhost,
};
use herald_e2e::keyring::secret_tool_lookup;
use herald_e2e::tray::descendants;
use herald_e2e::webview::screen::{Rect, Screen, TrayHost};
use herald_e2e::webview::{testid, Desktop, Webview, START, WAIT};
use serde_json::json;

/// The window process the tray starts for "Open history"; the tray process itself (the
/// pipeline) runs beside it, started by [`Webview::start`].
const HISTORY_WINDOW: &[&str] = &["--window", "history"];

/// One test's broker side: a vhost of its own, a queue bound to `amq.topic`, and a runtime
/// to publish from.
struct World {
    vhost: Vhost,
    config: String,
    rt: tokio::runtime::Runtime,
    // Kept for the queue declaration it ran; its own database is never used.
    _declared: HeraldDir,
}

impl World {
    fn new() -> World {
        let TopicWorld {
            rt,
            vhost,
            config,
            dir,
        } = TopicWorld::new("herald-webview", "");
        // The queue and its bindings exist before anything is published.
        dir.declare();
        World {
            vhost,
            config,
            rt,
            _declared: dir,
        }
    }

    fn desktop(&self) -> Desktop {
        Desktop::start(&self.config)
    }

    /// Publishes fixtures exactly as recorded (exchange, routing key, headers, properties,
    /// body bytes), in order, each confirmed by the broker.
    fn publish(&self, fixtures: &[&Fixture]) {
        self.rt.block_on(async {
            let conn = self.vhost.connect().await;
            let ch = confirm_channel(&conn).await;
            for f in fixtures {
                publish_fixture(&ch, f).await;
            }
            let _ = conn.close(200, "published".into()).await;
        });
    }

    /// Publishes a small JSON message with routing key `topic` and message id `id` to
    /// `amq.topic`.
    fn publish_json(&self, topic: &str, id: &str) {
        let body = serde_json::to_vec(&json!({ "test": id })).expect("JSON body");
        self.rt.block_on(self.vhost.publish_json(topic, id, &body));
    }

    /// (id, topic) of every message stored in the history at `db`, read with SQLite itself.
    fn stored(&self, db: &Path) -> Vec<(String, String)> {
        self.rt.block_on(async {
            use sqlx::Connection as _;
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(db)
                .read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", db.display()));
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT id, topic FROM messages ORDER BY rowid")
                    .fetch_all(&mut conn)
                    .await
                    .expect("read the messages table");
            let _ = conn.close().await;
            rows
        })
    }
}

/// A fixture of the shared corpus, by file name (`bad/…` for the hostile ones).
fn fixture(name: &str) -> Fixture {
    let path = shared_fixtures().join(name);
    Fixture::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The id Herald gives a fixture (its message_id, or a content hash).
fn id_of(f: &Fixture) -> String {
    let envelope = f
        .envelope(time::OffsetDateTime::now_utc())
        .expect("fixture body");
    Message::decode(envelope).id
}

/// The fixture's expected strings under `expect.key` (an array of strings).
fn expected(f: &Fixture, key: &str) -> Vec<String> {
    f.expect[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The selector of the history row showing message `id`.
fn row(id: &str) -> String {
    format!("{}[data-id=\"{id}\"]", testid("result-row"))
}

/// The ids of the rows in the history list, top to bottom.
fn row_ids(wv: &Webview) -> Vec<String> {
    wv.attrs(&testid("result-row"), "data-id")
        .into_iter()
        .flatten()
        .collect()
}

/// The history page, loaded: its list answered (empty or not) and the live status arrived.
fn wait_history(wv: &Webview) {
    wv.wait_until("the history page", START, |w| {
        let listed = w.count(&testid("result-empty")) + w.count(&testid("result-row")) > 0;
        (listed && w.count(&testid("search-input")) == 1).then_some(())
    });
    wv.wait_until("the connection to be up", WAIT, |w| {
        w.try_text("footer")
            .filter(|t| t.contains("default: connected"))
    });
}

/// Opens Settings the way a user does: the ⚙ button asks the shell for the settings window,
/// whose web view WebKitWebDriver lists as a new window handle; commands go to it from then
/// on. Returns the history window's handle, to come back to.
fn open_settings(wv: &Webview) -> String {
    let before = wv.windows();
    assert_eq!(
        before.len(),
        1,
        "only the history window is open: {before:?}"
    );
    wv.click("button[aria-label=\"Settings\"]");
    let settings = wv.wait_until("the settings window under automation", WAIT, |w| {
        w.windows().into_iter().find(|h| !before.contains(h))
    });
    wv.switch_to(&settings);
    wv.wait(&testid("settings-form"));
    assert_eq!(
        wv.exec("return window.location.hash;", vec![]),
        json!("#/settings")
    );
    before[0].clone()
}

#[test]
fn webview_harness_boots_the_app_and_reads_its_page() {
    let world = World::new();
    let wv = Webview::start(world.desktop(), HISTORY_WINDOW);
    wait_history(&wv);
    assert_eq!(
        wv.text(&testid("result-empty")).trim(),
        "No messages in the history yet."
    );
    assert_eq!(
        wv.exec("return document.title;", vec![]),
        "Herald — History"
    );
    // The page's bridge to the shell answers from this test's config and database.
    let info = wv.exec_async(
        "const done = arguments[arguments.length - 1]; \
         window.__TAURI_INTERNALS__.invoke('app_info').then(done, e => done({ error: e }));",
        vec![],
    );
    assert_eq!(
        info["config_path"],
        json!(wv.desktop().config_path().display().to_string()),
        "{info}"
    );
    assert_eq!(
        info["database_path"],
        json!(wv.desktop().db_path().display().to_string()),
        "{info}"
    );
    // The web view lives in the window process; the tray process, which runs all day,
    // has none.
    let tray = wv.desktop().tray_pid().expect("the tray process runs");
    let under_tray = descendants(tray);
    assert!(
        under_tray.iter().all(|(_, c)| !c.starts_with("WebKit")),
        "the tray process hosts no web view: {under_tray:?}"
    );
    let teardown = wv.shutdown();
    let names: Vec<&str> = teardown.processes.iter().map(|(_, c)| c.as_str()).collect();
    assert!(
        names.iter().any(|c| c.starts_with("WebKitWebProces")),
        "the app's web process was seen and ended: {names:?}"
    );
}

#[test]
fn webview_a_published_message_appears_live_and_the_package_facet_finds_it() {
    let world = World::new();
    let wv = Webview::start(world.desktop(), HISTORY_WINDOW);
    wait_history(&wv);
    wv.wait(&testid("result-empty"));

    let chromium = fixture("koji-build-state-change-complete-chromium.json");
    let flatpak = fixture("anitya-project-version-update-v2-flatpak.json");
    let (chromium_id, flatpak_id) = (id_of(&chromium), id_of(&flatpak));
    // Gone if the page were reloaded to show them.
    wv.exec("window.__sameDocument = true;", vec![]);
    world.publish(&[&chromium, &flatpak]);

    // Both join the open list through the live channel, without a reload.
    wv.wait(&row(&chromium_id));
    wv.wait(&row(&flatpak_id));
    assert_eq!(
        wv.exec("return window.__sameDocument === true;", vec![]),
        json!(true)
    );
    assert_eq!(wv.count(&testid("result-empty")), 0);
    assert_eq!(row_ids(&wv).len(), 2, "{:?}", row_ids(&wv));

    // The package facet narrows the list to the Koji build.
    wv.type_text(&testid("facet-package"), "chromium");
    wv.wait_until("only the chromium row", WAIT, |w| {
        (row_ids(w) == [chromium_id.clone()]).then_some(())
    });
    let summary = wv.text(&format!(
        "{} {}",
        row(&chromium_id),
        testid("result-summary")
    ));
    for part in expected(&chromium, "summary_contains") {
        assert!(summary.contains(&part), "{summary:?} lacks {part:?}");
    }

    // Its detail pane offers the fixture's link.
    wv.click(&row(&chromium_id));
    wv.wait(&testid("detail-link"));
    let link = f_str(&chromium, "url");
    assert_eq!(wv.text(&testid("detail-link")), link);
    let detail = wv.text(&testid("detail-summary"));
    assert!(
        detail.contains("chromium-80.0.3987.132-1.fc33"),
        "{detail:?}"
    );
    assert!(wv
        .text(&testid("detail-headers"))
        .contains("fedora_messaging_rpm_chromium"));
    wv.shutdown();
}

#[test]
fn webview_a_back_filled_message_wears_its_badge_and_a_live_one_does_not() {
    let world = World::new();
    let archive = herald_e2e::archive::Archive::start();
    let sent = time::OffsetDateTime::now_utc() - time::Duration::minutes(30);
    let missed = herald_e2e::archive::message(
        "missed-while-away",
        "org.fedoraproject.prod.buildsys.build.state.change",
        sent,
        json!({"name": "pkg", "version": "1", "release": "1.fc43", "new": 1, "build_id": 1}),
        &[],
    );
    archive.load(&[missed]);
    let desktop = world.desktop();
    // Filled by hand before the app starts, into the very history it will show.
    let out = std::process::Command::new(herald_e2e::herald::herald_bin())
        .arg("--config")
        .arg(desktop.config_path())
        .arg("--db")
        .arg(desktop.db_path())
        .args(["backfill", "--since", "2h", "--datagrepper", &archive.url()])
        .output()
        .expect("run herald backfill");
    assert!(
        out.status.success(),
        "{}",
        herald_e2e::herald::output_text(&out)
    );
    let wv = Webview::start(desktop, HISTORY_WINDOW);
    wait_history(&wv);
    wv.wait(&row("missed-while-away"));
    world.publish_json("org.test.live", "heard-live");
    wv.wait(&row("heard-live"));
    let badge = |id: &str| wv.count(&format!("{} {}", row(id), testid("archive-badge")));
    assert_eq!(badge("missed-while-away"), 1);
    assert_eq!(badge("heard-live"), 0);
    assert_eq!(
        wv.text(&format!(
            "{} {}",
            row("missed-while-away"),
            testid("archive-badge")
        )),
        "from archive"
    );
    wv.click(&row("missed-while-away"));
    wv.wait(&testid("detail-summary"));
    wv.wait_until("the detail pane's badge too", WAIT, |w| {
        (w.count(&testid("archive-badge")) == 2).then_some(())
    });
    wv.shutdown();
}

/// `expect.key` of a fixture, which must be a string.
fn f_str(f: &Fixture, key: &str) -> String {
    f.expect[key]
        .as_str()
        .unwrap_or_else(|| panic!("fixture expect.{key} is not a string: {}", f.expect))
        .to_owned()
}

/// Elements that would mean markup from a message was parsed rather than shown as text.
const INJECTED: &str = "script, img, iframe, object, embed, svg, b, a[href^=\"javascript\"]";

#[test]
fn webview_hostile_fixtures_render_as_inert_text() {
    let world = World::new();
    let wv = Webview::start(world.desktop(), HISTORY_WINDOW);
    wait_history(&wv);
    // Every payload calls alert(): count the calls instead of showing a dialog.
    wv.exec(
        "window.__xss = 0; window.alert = () => { window.__xss += 1; }; \
         window.confirm = window.alert; window.prompt = window.alert; return true;",
        vec![],
    );
    let koji = fixture("bad/bad-xss-koji-url.json");
    let anitya = fixture("bad/bad-xss-package-name.json");
    world.publish(&[&koji, &anitya]);

    for f in [&koji, &anitya] {
        let id = id_of(f);
        wv.wait(&row(&id));
        let summary = wv.text(&format!("{} {}", row(&id), testid("result-summary")));
        for part in expected(f, "summary_contains") {
            assert!(
                summary.contains(&part),
                "{summary:?} lacks {part:?} literally"
            );
        }
        let shown = wv.text(&row(&id));
        for package in expected(f, "packages") {
            assert!(
                shown.contains(&package),
                "{shown:?} lacks {package:?} literally"
            );
        }

        wv.click(&row(&id));
        wv.wait_until("the detail of the hostile message", WAIT, |w| {
            w.try_text(&testid("detail-summary")).filter(|t| {
                expected(f, "summary_contains")
                    .iter()
                    .all(|p| t.contains(p))
            })
        });
        // Only http(s) links are offered; a javascript: URL is never a link.
        match f.expect["url"].as_str() {
            Some(url) => assert_eq!(wv.text(&testid("detail-link")), url),
            None => assert_eq!(wv.count(&testid("detail-link")), 0, "{}", wv.context()),
        }
        assert_eq!(
            wv.count(&format!(
                "{} a[href^=\"javascript\"]",
                testid("detail-pane")
            )),
            0
        );
        for area in ["result-list", "detail-pane"] {
            let sel = INJECTED
                .split(", ")
                .map(|e| format!("{} {e}", testid(area)))
                .collect::<Vec<_>>()
                .join(", ");
            assert_eq!(
                wv.count(&sel),
                0,
                "markup injected into {area}\n{}",
                wv.context()
            );
        }
    }
    // The broken image of one payload would have fired by now.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        wv.exec("return window.__xss;", vec![]),
        json!(0),
        "a payload ran"
    );
    assert_eq!(
        wv.count("script:not([src])"),
        0,
        "an inline script appeared in the document"
    );
    wv.shutdown();
}

#[test]
fn webview_a_drop_rule_saved_in_settings_decides_what_is_kept() {
    let world = World::new();
    let wv = Webview::start(world.desktop(), HISTORY_WINDOW);
    wait_history(&wv);
    let history = open_settings(&wv);

    let base = unique("org.example.webview");
    let rules = format!(
        "[[herald.rules]]\nid = \"drop-noise\"\naction = \"drop\"\ntopics = [\"{base}.noise.#\"]\n"
    );
    wv.type_text(&testid("rules-editor"), &rules);
    assert_eq!(
        wv.value(&testid("rules-editor")).as_deref(),
        Some(rules.as_str()),
        "typed into the rules editor"
    );
    wv.click(&testid("settings-save"));
    let status = wv.wait_text(&testid("settings-status"), "a save report", |t| {
        !t.is_empty()
    });
    assert!(
        status.starts_with("Saved to "),
        "{status}\n{}",
        wv.context()
    );
    let config = std::fs::read_to_string(wv.desktop().config_path()).expect("read the config");
    assert!(
        config.contains("drop-noise"),
        "the rule is in the file:\n{config}"
    );

    wv.switch_to(&history);
    wait_history(&wv);

    // The dropped one first: once the kept one is shown, the other was decided too.
    let (dropped, kept) = (unique("dropped"), unique("kept"));
    world.publish_json(&format!("{base}.noise.x"), &dropped);
    world.publish_json(&format!("{base}.signal.x"), &kept);
    wv.wait(&row(&kept));
    assert_eq!(
        row_ids(&wv),
        std::slice::from_ref(&kept),
        "{}",
        wv.context()
    );
    let stored = world.stored(wv.desktop().db_path());
    assert_eq!(
        stored,
        [(kept.clone(), format!("{base}.signal.x"))],
        "only the message no rule drops is in the history"
    );
    wv.shutdown();
}

#[test]
fn webview_a_password_saved_in_settings_goes_to_the_keyring_only() {
    let world = World::new();
    let wv = Webview::start(world.desktop(), HISTORY_WINDOW);
    wait_history(&wv);
    open_settings(&wv);

    let password = unique("pw");
    wv.type_text(&testid("conn-password-default"), &password);
    wv.click(&testid("conn-save-password-default"));
    wv.wait_text(
        &testid("conn-password-state-default"),
        "stored in keyring",
        |t| t == "stored in keyring",
    );
    assert_eq!(
        wv.value(&testid("conn-password-default")).as_deref(),
        Some("")
    );
    // Saving the rest of the settings afterwards must not carry it into the config.
    wv.click(&testid("settings-save"));
    let status = wv.wait_text(&testid("settings-status"), "a save report", |t| {
        !t.is_empty()
    });
    assert!(status.starts_with("Saved to "), "{status}");

    let home = wv.desktop().home();
    let user = keyring_user("default", SecretKind::Password);
    let stored = secret_tool_lookup(home, &[("service", SERVICE), ("username", &user)]);
    assert_eq!(
        stored.as_deref(),
        Some(password.as_str()),
        "keyring {SERVICE} {user}"
    );
    // Every file of the HOME: config, history, app data and caches, and the app's own log.
    let leaked = home.files_containing(password.as_bytes());
    assert!(leaked.is_empty(), "the password is written in {leaked:?}");
    wv.shutdown();
}

/// docs/screenshots/ of the repository.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
}

/// Real fixtures from several producers, for a history that looks like a real one.
const GALLERY: [&str; 8] = [
    "koji-build-state-change-failed-64tass-s390.json",
    "bodhi-update-request-testing-gnome-settings-daemon.json",
    "anitya-project-map-new-pg-semver.json",
    "copr-build-end-failed-tkn.json",
    "koji-tag-http-parser.json",
    "bodhi-update-comment-abrt-asciinema.json",
    "anitya-project-version-update-v2-flatpak.json",
    "koji-build-state-change-complete-chromium.json",
];

#[test]
fn webview_screenshots_of_history_settings_and_the_tray_menu() {
    let world = World::new();
    let desktop = world.desktop();
    // A classic XEmbed tray: with no StatusNotifierWatcher on the bus the app's icon docks
    // into it as a real window.
    let tray_host = TrayHost::start(desktop.display());
    let screen = Screen::connect(desktop.display());
    screen.wait_for_tray_manager(Duration::from_secs(10));
    let wv = Webview::start(desktop, HISTORY_WINDOW);
    wait_history(&wv);

    let fixtures: Vec<Fixture> = GALLERY.iter().map(|n| fixture(n)).collect();
    world.publish(&fixtures.iter().collect::<Vec<_>>());
    for f in &fixtures {
        wv.wait(&row(&id_of(f)));
    }
    let opened = &fixtures[GALLERY.len() - 1];
    wv.click(&row(&id_of(opened)));
    wv.wait(&testid("detail-link"));
    let history_png = screenshots().join("history.png");
    wv.screenshot(&history_png);

    let history = open_settings(&wv);
    wv.wait(&testid("dry-run-result"));
    let settings_png = screenshots().join("settings.png");
    wv.screenshot(&settings_png);
    wv.switch_to(&history);

    let tray_png = screenshots().join("tray-menu.png");
    let icon = wv.wait_until("the tray icon docked in trayer", WAIT, |_| {
        screen.docked_icon("herald")
    });
    let (x, y) = icon.center();
    screen.click(x, y, 3);
    let menu = wv.wait_until("the tray menu beside the icon", WAIT, |_| {
        screen.menu_beside(&icon)
    });
    std::thread::sleep(Duration::from_millis(400));
    screen.save_png(&tray_png, Rect::around(&[&icon, &menu], 6));
    drop(tray_host);
    wv.shutdown();

    for png in [history_png, settings_png, tray_png] {
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{} is {size} bytes", png.display());
    }
}
