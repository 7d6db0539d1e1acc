//! The tray app end to end, without a visible desktop: the real `herald-desktop` binary on a
//! throw-away X server and a private session bus, consuming from a private vhost on the real
//! broker. Its tray icon registers with a fake StatusNotifierWatcher; the test reads the
//! icon and the menu the way a panel does (StatusNotifierItem properties, dbusmenu
//! `GetLayout`) and clicks menu entries with dbusmenu `Event(id, "clicked")`. Notifications go
//! to a fake notification server that records them; windows are seen and closed over X11.
//!
//! Checked: the menu's fixed entries and which are enabled; closing the history window destroys
//! it (its window process and WebKit's processes end) while the app stays in the tray, and a second launch, a message
//! and Open history bring it back; Settings opens its own window; a second launch exits at
//! once; messages a rule marks `notify` appear in the menu with their summaries, make the
//! icon "unread" and count in the status line; "Pause 1 h" makes the icon "paused" and really holds notifications,
//! "Resume" ends it; clicking a message marks it seen, Open history marks everything seen; a
//! broker that drops the connection and refuses the next ones makes the icon "offline" until
//! it lets Herald back in; Quit (and SIGTERM) exit with status 0 after the pipeline has acked
//! everything it stored; a broken config is shown in the tray instead of ending the app, fixing
//! the file starts the pipeline, and a rule added to the file by hand applies without a
//! restart; a window still opens after an upgrade replaced the running binary.

use std::time::Duration;

use herald_e2e::dbus::{FakeNotifications, SessionBus};
use herald_e2e::herald::{rabbitmqctl, HeraldDir, TopicWorld, Vhost};
use herald_e2e::tray::{
    descendants, desktop_bin, desktop_comm, poll, running, DesktopHome, FakeWatcher, StatusItem,
    TrayApp, TrayIcons, Xvfb, X11,
};

/// Starting GTK, WebKit and the first broker session on a busy 2-core machine.
const START: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);
/// The windows' titles.
const HISTORY: &str = "Herald — History";
const SETTINGS: &str = "Herald — Settings";
const FIXED: [&str; 6] = [
    "Pause 1 h",
    "Pause until resumed",
    "Resume",
    "Open history",
    "Settings",
    "Quit",
];

/// Every message of its own notification, and one rule notifying about the test's topics.
const HERALD: &str = "[herald.notifications]\ndigest_window_secs = 0\nrate_limit_per_minute = 0\n\n\
                      [[herald.rules]]\nid = \"t\"\naction = \"notify\"\ntopics = [\"org.example.#\"]\n";

struct World {
    vhost: Vhost,
    /// The config text in `dir`.
    config: String,
    dir: HeraldDir,
    bus: SessionBus,
    x: Xvfb,
    home: DesktopHome,
    rt: tokio::runtime::Runtime,
}

impl World {
    fn new() -> World {
        let TopicWorld {
            rt,
            vhost,
            dir,
            config,
        } = TopicWorld::new("herald-tray", HERALD);
        // The queue and its bindings exist before anything is published.
        dir.declare();
        World {
            vhost,
            config,
            dir,
            bus: SessionBus::start(),
            x: Xvfb::start(),
            home: DesktopHome::new(),
            rt,
        }
    }

    /// `herald-desktop` on this world's display, bus, config and history.
    fn launch(&self, log: &str) -> TrayApp {
        let mut c = self.home.command(self.x.display(), &self.bus);
        c.env("HERALD_CONFIG", self.dir.config())
            .env("HERALD_DB", self.dir.db());
        TrayApp::spawn(c, self.home.path().join(log))
    }

    /// Publishes one JSON message with routing key `topic` and message id `id` to
    /// `amq.topic`.
    fn publish(&self, topic: &str, id: &str) {
        self.rt
            .block_on(self.vhost.publish_json(topic, id, br#"{"n": 1}"#));
    }

    /// Messages and unacknowledged messages in the vhost's queues.
    fn queued(&self) -> (u64, u64) {
        let out = rabbitmqctl(&[
            "list_queues",
            "-p",
            &self.vhost.name,
            "messages_ready",
            "messages_unacknowledged",
        ]);
        out.lines()
            .filter_map(|l| {
                let mut n = l.split_whitespace().map(|w| w.parse::<u64>().ok());
                Some((n.next()??, n.next()??))
            })
            .fold((0, 0), |(a, b), (r, u)| (a + r, b + u))
    }
}

/// The tray as the test sees it: menu labels, status line and icon, with the app's log for
/// failure messages.
struct Observer {
    item: StatusItem,
    icons: TrayIcons,
    x: X11,
    pid: u32,
    log: std::path::PathBuf,
}

impl Observer {
    fn status(&self) -> String {
        self.item.labels().into_iter().next().unwrap_or_default()
    }

    fn icon(&self) -> Option<&'static str> {
        self.item.icon_pixels().and_then(|p| self.icons.which(&p))
    }

    fn context(&self) -> String {
        format!(
            "menu: {:#?}\nicon: {:?}\nproperties: {:#?}\n--- app log\n{}",
            self.item.menu(),
            self.icon(),
            self.item.properties(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Waits until the status line satisfies `ok`.
    fn wait_status(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        poll(
            WAIT,
            what,
            || Some(self.status()).filter(|s| ok(s)),
            || self.context(),
        )
    }

    fn wait_icon(&self, state: &str) {
        poll(
            WAIT,
            &format!("the {state} icon"),
            || (self.icon() == Some(state)).then_some(()),
            || self.context(),
        );
    }

    fn enabled(&self, label: &str) -> bool {
        self.item.entry(label).enabled
    }

    /// Waits until entry `label` is enabled (or disabled): the icon and the menu are updated
    /// one after the other.
    fn wait_enabled(&self, label: &str, enabled: bool) {
        poll(
            WAIT,
            &format!("{label:?} enabled: {enabled}"),
            || (self.enabled(label) == enabled).then_some(()),
            || self.context(),
        );
    }

    fn click(&self, label: &str) {
        let entry = self.item.entry(label);
        self.item.click(entry.id);
    }

    /// The window processes the app started (`herald-desktop --window …`).
    fn window_processes(&self) -> usize {
        let comm = desktop_comm();
        descendants(self.pid)
            .iter()
            .filter(|(_, c)| *c == comm)
            .count()
    }

    /// The app's web content processes (one per open web view).
    fn web_processes(&self) -> usize {
        descendants(self.pid)
            .iter()
            .filter(|(_, comm)| comm.starts_with("WebKitWebProces"))
            .count()
    }

    /// Waits until the window titled `title` is on screen, with its web view.
    fn wait_window(&self, title: &str, why: &str) {
        poll(
            START,
            &format!("the window {title:?} ({why})"),
            || (self.x.windows(title).len() == 1 && self.web_processes() == 1).then_some(()),
            || format!("windows {:?}\n{}", self.x.windows(title), self.context()),
        );
    }

    /// Closes the window titled `title` as a window manager would, and waits until it is destroyed:
    /// gone from the screen, and every process it took (the window process, WebKit's web
    /// and network processes) ended, the app still running.
    fn close_window(&self, app: &mut TrayApp, title: &str) {
        self.close_windows(app, &[title]);
    }

    /// [`Observer::close_window`] for several windows at once.
    fn close_windows(&self, app: &mut TrayApp, titles: &[&str]) {
        for title in titles {
            for w in self.x.windows(title) {
                self.x.close(w);
            }
        }
        let closed = || titles.iter().all(|t| self.x.windows(t).is_empty());
        poll(
            WAIT,
            "the windows and every process behind them to go away",
            || (closed() && descendants(self.pid).is_empty()).then_some(()),
            || format!("processes {:?}\n{}", descendants(self.pid), self.context()),
        );
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            app.try_status(),
            None,
            "closing the last window ended the app\n{}",
            app.log()
        );
    }
}

#[test]
fn the_tray_shows_state_and_its_menu_drives_the_app() {
    let world = World::new();
    let notifications = FakeNotifications::start(&world.bus, &["actions", "body"]);
    let watcher = FakeWatcher::start(&world.bus);
    let mut app = world.launch("app.log");

    let tray = observe(&world, &watcher, &app);

    // The fixed entries, once connected; nothing to resume yet.
    let status = poll(
        START,
        "a connected tray with every fixed entry",
        || {
            let labels = tray.item.labels();
            let complete = FIXED.iter().all(|f| labels.iter().any(|l| l == f));
            let status = labels.first().cloned().unwrap_or_default();
            (complete && status.contains("connected")).then_some(status)
        },
        || tray.context(),
    );
    assert_eq!(status, "Herald — connected");
    let labels = tray.item.labels();
    assert_eq!(labels[labels.len() - FIXED.len()..], FIXED, "{labels:?}");
    assert!(tray.enabled("Pause 1 h") && tray.enabled("Pause until resumed"));
    assert!(!tray.enabled("Resume"), "nothing to resume");
    assert!(!tray.enabled(&status), "the status line is not clickable");
    tray.wait_icon("normal");

    // Closing the window destroys it (its web process ends) and the app stays in the tray.
    tray.wait_window(HISTORY, "open at start");
    tray.close_window(&mut app, HISTORY);

    // A second launch hands over to the first, which shows its window, and exits.
    let mut second_app = world.launch("second.log");
    let status = second_app
        .wait_exit(WAIT)
        .unwrap_or_else(|| panic!("a second launch keeps running\n{}", second_app.log()));
    assert!(
        status.success(),
        "second launch: {status:?}\n{}",
        second_app.log()
    );
    tray.wait_window(HISTORY, "shown for the second launch");
    tray.close_window(&mut app, HISTORY);

    // Two notified messages: listed newest first, counted, notified, icon unread.
    let first = "org.example.tray.first";
    // Shown as plain text: `&` and `_` are not mnemonic markers.
    let second = "org.example.tray.r&d_second";
    world.publish(first, "msg-first");
    world.publish(second, "msg-second");
    tray.wait_status("2 unread", |s| s == "Herald — connected, 2 unread");
    let labels = tray.item.labels();
    let pos = |topic: &str| {
        labels
            .iter()
            .position(|l| l.contains(topic))
            .unwrap_or_else(|| panic!("no menu entry for {topic} in {labels:?}"))
    };
    assert!(pos(second) < pos(first), "newest first: {labels:?}");
    assert!(pos(first) < labels.len() - FIXED.len(), "{labels:?}");
    tray.wait_icon("unread");
    notifications.wait_for_calls(2, WAIT);

    // Pause 1 h: icon paused, Resume enabled, and notifications really held.
    tray.click("Pause 1 h");
    tray.wait_icon("paused");
    tray.wait_enabled("Pause 1 h", false);
    assert!(tray.status().contains("notifications paused"));
    assert!(tray.enabled("Pause until resumed"));
    assert!(tray.enabled("Resume"));
    let third = "org.example.tray.third";
    world.publish(third, "msg-third");
    tray.wait_status("3 unread while paused", |s| s.ends_with("3 unread"));
    assert!(tray.item.labels().iter().any(|l| l.contains(third)));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        notifications.calls().len(),
        2,
        "notified while paused: {:#?}",
        notifications.calls()
    );
    assert_eq!(tray.icon(), Some("paused"), "paused beats unread");

    // Resume: back to unread.
    tray.click("Resume");
    tray.wait_icon("unread");
    tray.wait_enabled("Resume", false);
    assert!(tray.enabled("Pause 1 h"));

    // Clicking a message marks it seen and opens the window.
    let entry = tray
        .item
        .menu()
        .into_iter()
        .find(|e| e.label().contains(first))
        .expect("the first message is listed");
    tray.item.click(entry.id);
    tray.wait_status("2 unread after a click", |s| {
        s == "Herald — connected, 2 unread"
    });
    tray.wait_window(HISTORY, "opened by a message");

    // Settings, with the history open, opens beside it in the same window process.
    tray.click("Settings");
    poll(
        START,
        "the settings window beside the history, in one window process",
        || {
            let both = tray.x.windows(SETTINGS).len() == 1 && tray.x.windows(HISTORY).len() == 1;
            (both && tray.window_processes() == 1).then_some(())
        },
        || format!("processes {:?}\n{}", descendants(tray.pid), tray.context()),
    );
    tray.close_windows(&mut app, &[SETTINGS, HISTORY]);

    // Settings alone opens the settings window.
    tray.click("Settings");
    tray.wait_window(SETTINGS, "opened by Settings");
    tray.close_window(&mut app, SETTINGS);

    // The broker closes the connection and refuses the next ones: offline until it lets
    // Herald back in.
    rabbitmqctl(&["clear_permissions", "-p", &world.vhost.name, "guest"]);
    assert!(
        world.vhost.close_connections_marked("herald-e2e") > 0,
        "the app's connection is marked by its client properties"
    );
    tray.wait_icon("offline");
    tray.wait_status("offline", |s| s.starts_with("Herald — offline"));
    rabbitmqctl(&[
        "set_permissions",
        "-p",
        &world.vhost.name,
        "guest",
        ".*",
        ".*",
        ".*",
    ]);
    poll(
        Duration::from_secs(40),
        "a reconnect",
        || (tray.status() == "Herald — connected, 2 unread").then_some(()),
        || tray.context(),
    );
    tray.wait_icon("unread");

    // Open history builds the window again, and everything in it counts as seen.
    tray.click("Open history");
    tray.wait_window(HISTORY, "opened by Open history");
    tray.wait_status("nothing unread", |s| s == "Herald — connected");
    tray.wait_icon("normal");

    // libappindicator registers again now and then, but always the same item.
    let registrations = watcher.registrations();
    assert!(
        registrations.iter().all(|r| r == &registrations[0]),
        "one tray icon only: {registrations:#?}"
    );

    // Quit: the pipeline acks what it stored, then the app exits with status 0.
    tray.click("Quit");
    let status = app
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("Quit did not end the app\n{}", app.log()));
    assert!(
        status.success(),
        "Quit exit status {status:?}\n{}",
        app.log()
    );
    assert!(
        app.log().contains("pipeline stopped"),
        "the pipeline was shut down before exiting\n{}",
        app.log()
    );
    assert_eq!(world.queued(), (0, 0), "everything stored was acked");
    let stored = world.dir.search(&["--topic", "org.example.#"]);
    assert_eq!(stored.len(), 3, "{stored:#?}");
}

#[test]
fn a_window_still_opens_after_an_upgrade_replaced_the_running_binary() {
    let world = World::new();
    let watcher = FakeWatcher::start(&world.bus);
    // Run from a path of its own, as an installed app is.
    let installed = world.home.path().join("bin/herald-desktop");
    install(&installed);
    let mut c = world
        .home
        .command_of(&installed, world.x.display(), &world.bus);
    c.env("HERALD_CONFIG", world.dir.config())
        .env("HERALD_DB", world.dir.db())
        .arg("--tray");
    let mut app = TrayApp::spawn(c, world.home.path().join("app.log"));
    let tray = observe(&world, &watcher, &app);
    tray.wait_status("connected", |s| s == "Herald — connected");

    // The package manager replaces the file: the running app's own path is now gone.
    std::fs::remove_file(&installed).expect("remove the installed binary");
    install(&installed);
    tray.click("Open history");
    tray.wait_window(HISTORY, "opened after the upgrade");
    tray.close_window(&mut app, HISTORY);

    tray.click("Quit");
    let status = app
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("Quit did not end the app\n{}", app.log()));
    assert!(status.success(), "exit status {status:?}\n{}", app.log());
}

/// Puts the built app at `path`: a hard link (a new file to the directory, as an upgrade's
/// is), or a copy across filesystems.
fn install(path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create the install folder");
    }
    if std::fs::hard_link(desktop_bin(), path).is_err() {
        std::fs::copy(desktop_bin(), path).expect("copy the app binary");
    }
}

/// The tray of a freshly started app, once its item has registered.
fn observe(world: &World, watcher: &FakeWatcher, app: &TrayApp) -> Observer {
    let registration = watcher.wait_for_item(START, || app.log());
    Observer {
        item: StatusItem::new(&world.bus, &registration),
        icons: TrayIcons::load(),
        x: X11::connect(world.x.display()),
        pid: app.id(),
        log: app.log_path().to_owned(),
    }
}

#[test]
fn sigterm_quits_cleanly_like_the_menu() {
    let world = World::new();
    let watcher = FakeWatcher::start(&world.bus);
    let mut app = world.launch("app.log");
    let tray = observe(&world, &watcher, &app);
    tray.wait_status("connected", |s| s == "Herald — connected");

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &app.id().to_string()])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = app
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("SIGTERM did not end the app\n{}", app.log()));
    assert!(status.success(), "exit status {status:?}\n{}", app.log());
    assert!(
        app.log().contains("pipeline stopped"),
        "the pipeline was shut down before exiting\n{}",
        app.log()
    );
}

#[test]
fn a_broken_config_is_shown_in_the_tray_until_fixed_and_later_edits_apply_without_a_restart() {
    let world = World::new();
    std::fs::write(world.dir.config(), "amqp_url = [\n").expect("break the config");
    let watcher = FakeWatcher::start(&world.bus);
    let mut app = world.launch("app.log");
    let tray = observe(&world, &watcher, &app);

    let status = tray.wait_status("the reason in the status line", |s| {
        s.starts_with("Herald — not running: cannot load config")
    });
    assert!(
        status.contains(&world.dir.config().display().to_string()),
        "{status}"
    );
    tray.wait_icon("offline");
    assert_eq!(
        app.try_status(),
        None,
        "the app stays up to say what is wrong"
    );

    // Fixing the file is enough: the pipeline starts.
    std::fs::write(world.dir.config(), &world.config).expect("fix the config");
    tray.wait_status("connected after the fix", |s| s == "Herald — connected");
    tray.wait_icon("normal");

    // A rule added to the file by hand (or by `herald rules add`) applies at once.
    let edited = format!(
        "{}\n[[herald.rules]]\nid = \"hush\"\naction = \"drop\"\npriority = 1\n\
         topics = [\"org.example.hushed.#\"]\n",
        world.config
    );
    std::fs::write(world.dir.config(), edited).expect("edit the config");
    poll(
        WAIT,
        "the edited config applied",
        || app.log().contains("re-read; applying").then_some(()),
        || app.log(),
    );
    world.publish("org.example.hushed.one", "msg-hushed");
    world.publish("org.example.heard.one", "msg-heard");
    tray.wait_status("the kept message counted", |s| {
        s == "Herald — connected, 1 unread"
    });

    // Quit closes the history window opened at start too: its process ends with the app.
    let comm = desktop_comm();
    let windows: Vec<u32> = descendants(tray.pid)
        .into_iter()
        .filter(|(_, c)| *c == comm)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        windows.len(),
        1,
        "one window process: {:?}",
        descendants(tray.pid)
    );
    tray.click("Quit");
    let status = app
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("Quit did not end the app\n{}", app.log()));
    assert!(status.success(), "exit status {status:?}\n{}", app.log());
    poll(
        WAIT,
        "the window process to end with the app",
        || windows.iter().all(|&p| !running(p)).then_some(()),
        || app.log(),
    );
    assert_eq!(world.queued(), (0, 0), "both were acked");
    let stored: Vec<String> = world
        .dir
        .search(&["--topic", "org.example.#"])
        .iter()
        .filter_map(|m| m["topic"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        stored,
        ["org.example.heard.one"],
        "the hushed one was dropped"
    );
}
