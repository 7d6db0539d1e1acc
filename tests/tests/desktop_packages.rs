//! The history window's Packages view end to end in its real WebKitGTK web view, on the same
//! harness as `desktop_e2e.rs` (a throw-away X server, session bus, keyring and HOME; the tray
//! process consuming from a private vhost; the window process started by WebKitWebDriver).
//!
//! The history is filled with `herald import` from `tests/fixtures/chains-ui/history/`: three
//! watched packages' chains (Anitya → Koji → Bodhi → Greenwave → feedback → stable, a Koschei
//! failure, a failed build), their send times moved so the newest fixture is "now" (the files
//! are written as if now were 2025-06-30 12:00 UTC), and one more decision is published live
//! through the broker. Every assertion goes through the page's DOM.
//!
//! Checked: the packages are grouped and ordered by what needs the packager (behind upstream
//! first), each branch shows its stage chips, the behind badge says which release Fedora lacks
//! and for how long, FTBFS, gating (settled or settling) and karma show; picking a package
//! opens its timeline newest first with each link offered only for a known host (and its host
//! beside it); a decision published live regroups the package without a reload; a timeline
//! event opens its message in the history and the message's package opens the timeline
//! again; a window asked for a package on its command line (as the tray's "Behind upstream"
//! entries ask) opens on that package's timeline. The first test writes
//! docs/screenshots/packages.png and package-timeline.png.

use std::path::{Path, PathBuf};

use herald_e2e::chains;
use herald_e2e::herald::{confirm_channel, publish_fixture, HeraldDir, TopicWorld, Vhost};
use herald_e2e::webview::{testid, Desktop, Webview, START, WAIT};
use serde_json::json;
use time::OffsetDateTime;

/// The profile: the three packages of the fixtures, and the user who builds two of them.
/// Messages no rule keeps are still stored, so the live one reaches the history.
const PROFILE: &str = "[herald]\nunmatched = \"history\"\n\n[herald.profile]\n\
                       users = [\"alice\"]\n\
                       packages = [\"python-requests\", \"python-urllib3\", \"pytest\"]\n";

const REQUESTS: &str = "python-requests";
const URLLIB3: &str = "python-urllib3";
const PYTEST: &str = "pytest";

/// One test's broker side: a vhost of its own with the queue declared, and the time the
/// fixtures were moved to.
struct World {
    vhost: Vhost,
    rt: tokio::runtime::Runtime,
    now: OffsetDateTime,
    _declared: HeraldDir,
}

impl World {
    /// The world, and a desktop whose history holds the chains.
    fn new() -> (World, Desktop) {
        let TopicWorld {
            rt,
            vhost,
            config,
            dir,
        } = TopicWorld::new("herald-packages", PROFILE);
        dir.declare();
        let desktop = Desktop::start(&config);
        let now = OffsetDateTime::now_utc();
        chains::import_history(desktop.config_path(), desktop.db_path(), now);
        let world = World {
            vhost,
            rt,
            now,
            _declared: dir,
        };
        (world, desktop)
    }

    /// Publishes a fixture of `chains-ui/live/`, its send time moved like the history's.
    fn publish_live(&self, name: &str) {
        let fixture = chains::live(name, self.now);
        self.rt.block_on(async {
            let conn = self.vhost.connect().await;
            let ch = confirm_channel(&conn).await;
            publish_fixture(&ch, &fixture).await;
            let _ = conn.close(200, "published".into()).await;
        });
    }
}

fn row(name: &str) -> String {
    format!("{}[data-package=\"{name}\"]", testid("package-row"))
}

/// The stage chips of `package`'s `branch` as `stage:state`.
fn chips(wv: &Webview, package: &str, branch: &str) -> Vec<String> {
    let sel = format!(
        "{} {}[data-branch=\"{branch}\"]",
        row(package),
        testid("stage-chip")
    );
    let stages = wv.attrs(&sel, "data-stage");
    let states = wv.attrs(&sel, "data-state");
    stages
        .into_iter()
        .zip(states)
        .map(|(s, t)| format!("{}:{}", s.unwrap_or_default(), t.unwrap_or_default()))
        .collect()
}

/// The packages listed, top to bottom.
fn listed(wv: &Webview) -> Vec<String> {
    wv.attrs(&testid("package-row"), "data-package")
        .into_iter()
        .flatten()
        .collect()
}

/// The group `package` is listed in.
fn group_of(wv: &Webview, package: &str) -> Option<String> {
    let found = wv.exec(
        "const row = document.querySelector(arguments[0]); \
         const group = row && row.closest('[data-testid=\"package-group\"]'); \
         return group ? group.getAttribute('data-group') : null;",
        vec![json!(row(package))],
    );
    found.as_str().map(str::to_owned)
}

/// The history window with its list answered and the connection up.
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

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
}

#[test]
fn webview_the_packages_view_shows_each_chain_and_its_timeline() {
    let (world, desktop) = World::new();
    let wv = Webview::start(desktop, &["--window", "history"]);
    wait_history(&wv);
    wv.exec("window.__sameDocument = true;", vec![]);

    wv.click(&testid("view-packages"));
    wv.wait(&row(PYTEST));
    assert_eq!(
        wv.attr(&testid("view-packages"), "aria-selected")
            .as_deref(),
        Some("true")
    );
    // Behind upstream first, then failing to build, then gating failed.
    assert_eq!(listed(&wv), [REQUESTS, PYTEST, URLLIB3], "{}", wv.context());
    for p in [REQUESTS, PYTEST, URLLIB3] {
        assert_eq!(group_of(&wv, p).as_deref(), Some("attention"), "{p}");
    }
    assert_eq!(wv.text(&testid("package-count")).trim(), "3 packages");

    // python-requests: 2.33.0 has waited five days; 2.32.3 went all the way to stable.
    assert_eq!(
        wv.text(&format!("{} {}", row(REQUESTS), testid("behind-badge"))),
        "behind 2.33.0 for 5 days"
    );
    assert_eq!(
        wv.attr(
            &format!("{} [data-stage=\"upstream\"]", row(REQUESTS)),
            "data-state"
        )
        .as_deref(),
        Some("waiting")
    );
    assert_eq!(
        chips(&wv, REQUESTS, "rawhide"),
        ["build:done", "testing:none", "stable:done"]
    );
    assert_eq!(
        chips(&wv, REQUESTS, "f43"),
        ["build:done", "testing:done", "stable:done"]
    );
    let branches = wv.attrs(
        &format!("{} {}", row(REQUESTS), testid("package-branch")),
        "data-branch",
    );
    assert_eq!(
        branches,
        [Some("rawhide".to_owned()), Some("f43".to_owned())],
        "Rawhide first"
    );
    assert_eq!(
        wv.text(&format!(
            "{} [data-branch=\"f43\"] {}",
            row(REQUESTS),
            testid("gating")
        )),
        "gating passed"
    );
    assert_eq!(
        wv.text(&format!(
            "{} [data-branch=\"f43\"] {}",
            row(REQUESTS),
            testid("karma")
        )),
        "karma +1"
    );

    // pytest: Koschei says it fails to build, and its F43 build failed.
    assert_eq!(
        wv.text(&format!("{} {}", row(PYTEST), testid("ftbfs-badge"))),
        "FTBFS"
    );
    assert_eq!(
        chips(&wv, PYTEST, "f43"),
        ["build:failed", "testing:none", "stable:none"]
    );
    assert_eq!(
        wv.count(&format!("{} {}", row(PYTEST), testid("behind-badge"))),
        0
    );

    // python-urllib3: in testing, gating failed long enough ago to count, one negative karma.
    assert_eq!(
        chips(&wv, URLLIB3, "f43"),
        ["build:done", "testing:active", "stable:none"]
    );
    let gating = format!(
        "{} [data-branch=\"f43\"] {}",
        row(URLLIB3),
        testid("gating")
    );
    assert_eq!(wv.text(&gating), "gating failed");
    assert_eq!(wv.attr(&gating, "data-settled").as_deref(), Some("true"));
    assert_eq!(
        wv.text(&format!(
            "{} [data-branch=\"f43\"] {}",
            row(URLLIB3),
            testid("karma")
        )),
        "karma -1"
    );
    wv.screenshot(&screenshots().join("packages.png"));

    // The timeline, newest first: the bug Hotness filed for 2.33.0 on top.
    wv.click(&row(REQUESTS));
    wv.wait(&format!(
        "{}[data-package=\"{REQUESTS}\"] {}",
        testid("timeline-pane"),
        testid("timeline-event")
    ));
    let stages: Vec<String> = wv
        .attrs(&testid("timeline-event"), "data-stage")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        stages,
        [
            "hotness", "upstream", "tag", "update", "feedback", "gating", "update", "update",
            "build", "tag", "build", "upstream"
        ],
        "{}",
        wv.context()
    );
    let states = wv.texts(&testid("timeline-state"));
    assert_eq!(states[0], "bug 2371234 filed", "{states:?}");
    assert!(
        states.contains(&"pushed to stable".to_owned()),
        "{states:?}"
    );
    // The stable push's link goes to Bodhi, a known host: offered, its host beside it.
    let stable = wv.exec(
        "const e = [...document.querySelectorAll('[data-testid=\"timeline-event\"]')] \
           .find(e => e.querySelector('[data-testid=\"timeline-state\"]')?.textContent === 'pushed to stable'); \
         const q = s => e.querySelector(s)?.textContent ?? null; \
         return { link: q('[data-testid=\"timeline-link\"]'), host: q('[data-testid=\"timeline-host\"]'), \
                  tag: e.querySelector('[data-testid=\"timeline-link\"]')?.tagName ?? null };",
        vec![],
    );
    assert_eq!(
        stable,
        json!({
            "link": "https://bodhi.fedoraproject.org/updates/FEDORA-2025-4f1a2b3c4d",
            "host": "bodhi.fedoraproject.org",
            "tag": "BUTTON",
        })
    );
    // Every event of this chain has a link to a known host (Hotness's to the bug it filed,
    // Greenwave's to the update); nothing is an <a>.
    let events = wv.count(&testid("timeline-event"));
    let hosts = wv.texts(&testid("timeline-host"));
    assert_eq!(events, 12);
    assert_eq!(hosts.len(), 12, "{}", wv.context());
    assert_eq!(hosts[0], "bugzilla.redhat.com", "{hosts:?}");
    assert_eq!(
        wv.count(&format!("{} a", testid("timeline-pane"))),
        0,
        "links leave only through the shell"
    );
    wv.screenshot(&screenshots().join("package-timeline.png"));

    // A decision published live: urllib3's gating passes, settling, and the update is in
    // flight again; no reload.
    world.publish_live("greenwave-python-urllib3-passed.json");
    wv.wait_text(&gating, "the live decision", |t| {
        t == "gating passed (settling)"
    });
    assert_eq!(wv.attr(&gating, "data-settled").as_deref(), Some("false"));
    wv.wait_until("urllib3 in flight", WAIT, |w| {
        (group_of(w, URLLIB3).as_deref() == Some("in_flight")).then_some(())
    });
    assert_eq!(listed(&wv), [REQUESTS, PYTEST, URLLIB3]);
    assert_eq!(
        wv.exec("return window.__sameDocument === true;", vec![]),
        json!(true)
    );

    // A timeline event opens its message in the history; the message's package leads back.
    wv.click(&format!(
        "{}[data-stage=\"hotness\"] {}",
        testid("timeline-event"),
        testid("timeline-message")
    ));
    wv.wait_text(&testid("detail-summary"), "the Hotness message", |t| {
        t.contains("hotness")
    });
    assert_eq!(
        wv.attr(&testid("view-messages"), "aria-selected")
            .as_deref(),
        Some("true")
    );
    wv.click(&testid("detail-package"));
    wv.wait(&format!(
        "{}[data-package=\"{REQUESTS}\"]",
        testid("timeline-pane")
    ));
    assert_eq!(
        wv.attr(&testid("view-packages"), "aria-selected")
            .as_deref(),
        Some("true")
    );
    wv.shutdown();
}

#[test]
fn webview_a_window_asked_for_a_package_opens_on_its_timeline() {
    let (_world, desktop) = World::new();
    let wv = Webview::start(desktop, &["--window", "history", "--package", PYTEST]);
    wv.wait_for(
        &format!("{}[data-package=\"{PYTEST}\"]", testid("timeline-pane")),
        START,
    );
    assert_eq!(
        wv.attr(&testid("view-packages"), "aria-selected")
            .as_deref(),
        Some("true")
    );
    wv.wait(&format!(
        "{} {}",
        testid("timeline-pane"),
        testid("timeline-event")
    ));
    let states = wv.texts(&testid("timeline-state"));
    assert_eq!(
        states,
        ["failing", "failed", "complete"],
        "Koschei's failure, the failed build, the Rawhide build\n{}",
        wv.context()
    );
    assert_eq!(
        wv.attr(
            &format!("{} [aria-selected=\"true\"]", testid("package-list")),
            "data-package"
        )
        .as_deref(),
        Some(PYTEST),
        "its row is the selected one"
    );
    wv.shutdown();
}
