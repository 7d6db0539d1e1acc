//! The tray's "Behind upstream" submenu end to end: the real `herald-desktop` on a throw-away
//! X server and a private session bus (its icon registered with a fake StatusNotifierWatcher,
//! its menu read and clicked through `com.canonical.dbusmenu`, as `tray.rs` does), with a
//! history that `herald import` filled from `tests/fixtures/chains-ui/history/` (moved so the
//! newest message is now).
//!
//! Checked: a watched package whose upstream release has waited longer than
//! `[herald.packages] behind_after` is listed with its versions and wait, the others are not;
//! clicking it starts the history window process on that package's timeline
//! (`--window history --package NAME`) and the window appears; a package that falls behind
//! while Herald runs (an upstream release sent days ago, delivered late through the broker)
//! joins the list without a restart.

use std::time::Duration;

use herald_e2e::chains;
use herald_e2e::dbus::SessionBus;
use herald_e2e::herald::{confirm_channel, publish_fixture, HeraldDir, TopicWorld, Vhost};
use herald_e2e::tray::{
    descendants, desktop_comm, poll, DesktopHome, FakeWatcher, MenuEntry, StatusItem, TrayApp,
    Xvfb, X11,
};
use time::OffsetDateTime;

const START: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);
const HISTORY: &str = "Herald — History";

/// The three packages of the chains, listed once behind for three days. Messages no rule
/// keeps are still stored.
const PROFILE: &str = "[herald]\nunmatched = \"history\"\n\n[herald.profile]\n\
                       users = [\"alice\"]\n\
                       packages = [\"python-requests\", \"python-urllib3\", \"pytest\"]\n\n\
                       [herald.packages]\nbehind_after = \"3d\"\n";

struct World {
    vhost: Vhost,
    rt: tokio::runtime::Runtime,
    dir: HeraldDir,
    bus: SessionBus,
    x: Xvfb,
    home: DesktopHome,
    now: OffsetDateTime,
}

impl World {
    fn new() -> World {
        let TopicWorld { rt, vhost, dir, .. } = TopicWorld::new("herald-tray-packages", PROFILE);
        dir.declare();
        let now = OffsetDateTime::now_utc();
        chains::import_history(&dir.config(), &dir.db(), now);
        World {
            vhost,
            rt,
            dir,
            bus: SessionBus::start(),
            x: Xvfb::start(),
            home: DesktopHome::new(),
            now,
        }
    }

    fn launch(&self) -> TrayApp {
        let mut c = self.home.command(self.x.display(), &self.bus);
        c.env("HERALD_CONFIG", self.dir.config())
            .env("HERALD_DB", self.dir.db())
            .arg("--tray");
        TrayApp::spawn(c, self.home.path().join("app.log"))
    }

    fn publish(&self, fixture: &herald_core::recorded::Fixture) {
        self.rt.block_on(async {
            let conn = self.vhost.connect().await;
            let ch = confirm_channel(&conn).await;
            publish_fixture(&ch, fixture).await;
            let _ = conn.close(200, "published".into()).await;
        });
    }
}

/// The entries after the submenu `label`, up to the next separator: its children, as
/// `GetLayout` lists them depth first.
fn submenu(menu: &[MenuEntry], label: &str) -> Option<Vec<MenuEntry>> {
    let at = menu.iter().position(|e| e.label() == label)?;
    Some(
        menu[at + 1..]
            .iter()
            .take_while(|e| !e.is_separator())
            .cloned()
            .collect(),
    )
}

/// The command line of process `pid`.
fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn packages_behind_upstream_are_listed_in_the_tray_and_open_their_timeline() {
    let world = World::new();
    let watcher = FakeWatcher::start(&world.bus);
    let mut app = world.launch();
    let registration = watcher.wait_for_item(START, || app.log());
    let item = StatusItem::new(&world.bus, &registration);
    let context = || format!("menu: {:#?}\n--- app log\n{}", item.menu(), app.log());

    // python-requests: 2.33.0 has waited five days, longer than the three allowed. The
    // others are current.
    let entries = poll(
        START,
        "the Behind upstream submenu",
        || submenu(&item.menu(), "Behind upstream (1)"),
        context,
    );
    let labels: Vec<String> = entries.iter().map(MenuEntry::label).collect();
    assert_eq!(
        labels,
        ["python-requests 2.33.0 (Fedora 2.32.3), 5 days"],
        "{}",
        context()
    );
    assert!(entries[0].enabled);
    let fixed = item.labels();
    let pause = fixed
        .iter()
        .position(|l| l == "Pause 1 h")
        .expect("Pause 1 h");
    let behind = fixed
        .iter()
        .position(|l| l == "Behind upstream (1)")
        .expect("the submenu");
    assert!(behind < pause, "above the fixed entries: {fixed:?}");

    // Clicking it starts the history window process on that package's timeline.
    item.click(entries[0].id);
    let comm = desktop_comm();
    let window = poll(
        START,
        "a window process for the package",
        || {
            descendants(app.id())
                .into_iter()
                .find(|(_, c)| *c == comm)
                .map(|(pid, _)| cmdline(pid))
                .filter(|args| !args.is_empty())
        },
        context,
    );
    assert_eq!(
        window[1..],
        ["--window", "history", "--package", "python-requests"],
        "{window:?}"
    );
    let x = X11::connect(world.x.display());
    poll(
        START,
        "the history window",
        || (x.windows(HISTORY).len() == 1).then_some(()),
        context,
    );

    // A newer upstream release of urllib3, sent four days ago and delivered only now (a
    // catch-up): it has waited longer than three days already, and joins the list, below
    // the one that waited longer.
    world.publish(&chains::live("anitya-python-urllib3-2.6.0.json", world.now));
    let entries = poll(
        WAIT,
        "urllib3 behind upstream too",
        || submenu(&item.menu(), "Behind upstream (2)"),
        context,
    );
    let labels: Vec<String> = entries.iter().map(MenuEntry::label).collect();
    assert_eq!(
        labels,
        [
            "python-requests 2.33.0 (Fedora 2.32.3), 5 days",
            "python-urllib3 2.6.0 (Fedora 2.5.0), 4 days",
        ],
        "{}",
        context()
    );

    item.click(item.entry("Quit").id);
    let status = app
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("Quit did not end the app\n{}", app.log()));
    assert!(status.success(), "exit status {status:?}\n{}", app.log());
}
