//! Start-up time and memory footprint of the desktop app, `herald-desktop --tray`, on a
//! throw-away X server (Xvfb) and a private session bus with the fake StatusNotifierWatcher of
//! the tray tests, in a temporary HOME, consuming from a private vhost on the system broker
//! (127.0.0.1:5672, guest/guest).
//!
//! Start-up: [`ROUNDS`] launches, each timed from spawn to the tray item's registration with
//! the watcher (when a panel would show the icon) and to the first menu layout holding
//! "Quit"; each launch quits through its menu before the next. The first round runs a binary
//! the page cache may not hold yet and creates the history database; the others are warm.
//!
//! Memory: one more launch, idle for [`IDLE`]; RSS and PSS from `/proc/<pid>/smaps_rollup`
//! of the app and every process below it (WebKit's web and network processes), per process
//! and summed (see `herald_e2e::footprint`). Then "Open history" from the menu, measured
//! [`SETTLE`] after its web process exists; then the window closed the way a window manager
//! does (`WM_DELETE_WINDOW`), measured again [`SETTLE`] later: which processes remain and how
//! much memory came back. Finally "Quit", which must end the app with status 0. An app that
//! ignores `--tray` and opens its window at start has it closed first; the report says so.
//!
//! The app gets a clean environment except for the variables that choose how WebKit and
//! Mesa render (`WEBKIT_*`, `LIBGL_*`, `MESA_*`, `GALLIUM_*`), which are passed on to compare
//! rendering choices. Xvfb has no GPU: WebKit's GL compositing runs on Mesa's llvmpipe, which
//! maps LLVM into the app and the web process; a desktop with a GPU driver that does not link
//! LLVM (Intel) maps less.
//!
//! Targets (checked and printed, not enforced): every start shows the tray icon within 1 s;
//! tray-only idle under 120 MB RSS over all processes, before a window was opened and after
//! it closed; history open under 300 MB PSS. The window lives in a window process the app
//! starts; it counts among the app's processes while it runs.
//!
//! `cargo bench --workspace --bench desktop_footprint`. The app measured is
//! `HERALD_DESKTOP_BIN`, else the release `herald-desktop` when one was built (`cargo build
//! --release --workspace --features herald-desktop/custom-protocol`: without the feature the
//! page is not embedded), else the debug one. Figures are also written as JSON to
//! `$CARGO_TARGET_DIR/herald-bench/desktop_footprint.json`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use herald_e2e::dbus::SessionBus;
use herald_e2e::footprint::{mb, measure_tree, Spread, TreeMemory};
use herald_e2e::herald::{HeraldDir, TopicWorld, Vhost};
use herald_e2e::tray::{
    descendants, DesktopHome, FakeWatcher, StatusItem, TrayApp, Xvfb, MENU_INTERFACE, X11,
};
use serde_json::{json, Value};
use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, MapState};

const ROUNDS: usize = 5;
/// Idle time before the tray-only measurement.
const IDLE: Duration = Duration::from_secs(10);
/// Settling time after the window opened or closed.
const SETTLE: Duration = Duration::from_secs(5);
/// Generous: GTK, WebKit and a broker session on a busy 2-core machine.
const START: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);
const STARTUP_TARGET: Duration = Duration::from_secs(1);
const TRAY_RSS_TARGET_MB: f64 = 120.0;
const HISTORY_PSS_TARGET_MB: f64 = 300.0;
/// `comm` of WebKit's content process (15 bytes of `WebKitWebProcess`).
const WEB_PROCESS: &str = "WebKitWebProces";

fn main() {
    // Cargo passes `--bench` (and filters) to every bench target; nothing here takes arguments.
    let (bin, build) = desktop_binary();
    // Before any thread starts: `DesktopHome::command` runs `HERALD_DESKTOP_BIN`.
    std::env::set_var("HERALD_DESKTOP_BIN", &bin);
    println!("desktop_footprint: {} ({build} build)", bin.display());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("desktop_footprint: load average {}", load.trim());
    for (k, v) in rendering_env() {
        println!("desktop_footprint: passed to the app: {k}={v}");
    }

    let world = World::new();
    let startup = startup_rounds(&world);
    let memory = memory_phases(&world);

    let report = json!({
        "binary": bin.display().to_string(),
        "build": build,
        "load_average_at_start": load.trim(),
        "rendering_env": rendering_env()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
        "startup": startup,
        "memory": memory,
    });
    print_verdict(&report);
    let out = target_dir().join("herald-bench/desktop_footprint.json");
    let written = std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))
        .and_then(|()| std::fs::write(&out, format!("{report:#}\n")));
    match written {
        Ok(()) => println!("desktop_footprint: figures written to {}", out.display()),
        Err(e) => panic!("cannot write {}: {e}", out.display()),
    }
}

/// The cargo target directory: `CARGO_TARGET_DIR`, else the one this bench was built in.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("bench binary path");
    // target/<profile>/deps/<bench> → target
    exe.ancestors()
        .nth(3)
        .expect("bench binary lives in target/<profile>/deps")
        .to_owned()
}

/// `HERALD_DESKTOP_BIN`, else the release build, else the debug build; with which it is.
fn desktop_binary() -> (PathBuf, &'static str) {
    if let Some(p) = std::env::var_os("HERALD_DESKTOP_BIN") {
        return (PathBuf::from(p), "HERALD_DESKTOP_BIN");
    }
    let target = target_dir();
    for profile in ["release", "debug"] {
        let bin = target.join(profile).join("herald-desktop");
        if bin.is_file() {
            return (bin, profile);
        }
    }
    panic!(
        "no herald-desktop in {}/{{release,debug}}: build it first with `cargo build --release \
         --workspace --features herald-desktop/custom-protocol` (or `cargo build --workspace`)",
        target.display()
    );
}

/// Everything the app runs against; dropped (and removed) at the end.
struct World {
    _vhost: Vhost,
    dir: HeraldDir,
    bus: SessionBus,
    x: Xvfb,
    home: DesktopHome,
    watcher: FakeWatcher,
}

impl World {
    fn new() -> World {
        let TopicWorld { vhost, dir, .. } = TopicWorld::new("herald-bench-desktop", "");
        let bus = SessionBus::start();
        let watcher = FakeWatcher::start(&bus);
        World {
            _vhost: vhost,
            dir,
            x: Xvfb::start(),
            home: DesktopHome::new(),
            watcher,
            bus,
        }
    }

    fn launch(&self, log: &str) -> TrayApp {
        let mut c = self.home.command(self.x.display(), &self.bus);
        c.arg("--tray")
            .env("HERALD_CONFIG", self.dir.config())
            .env("HERALD_DB", self.dir.db())
            .envs(rendering_env());
        TrayApp::spawn(c, self.home.path().join(log))
    }

    fn senders(&self) -> HashSet<String> {
        self.watcher
            .registrations()
            .into_iter()
            .map(|r| r.sender)
            .collect()
    }

    /// Waits for the first registration of a sender not in `known`: the app just launched.
    fn wait_new_item(&self, known: &HashSet<String>, app: &mut TrayApp) -> StatusItem {
        let registration = wait_for(START, "the tray item to register", app, || {
            self.watcher
                .registrations()
                .into_iter()
                .find(|r| !known.contains(&r.sender))
        });
        StatusItem::new(&self.bus, &registration)
    }
}

/// The variables of this process's environment that choose how WebKit and Mesa render
/// (`WEBKIT_*`, `LIBGL_*`, `MESA_*`, `GALLIUM_*`): passed on to the app, which otherwise gets a
/// clean environment, so rendering choices can be compared.
fn rendering_env() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            ["WEBKIT_", "LIBGL_", "MESA_", "GALLIUM_"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect();
    vars.sort();
    vars
}

/// Polls `probe` every 5 ms (fine enough for start-up times) until it returns `Some`; panics
/// after `timeout` or when the app has ended, with its log.
fn wait_for<T>(
    timeout: Duration,
    what: &str,
    app: &mut TrayApp,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if let Some(status) = app.try_status() {
            panic!(
                "the app ended ({status}) while waiting for {what}\n{}",
                app.log()
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            app.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn has_quit(item: &StatusItem) -> bool {
    item.menu().iter().any(|e| e.label() == "Quit")
}

/// Clicks the menu entry shown as `label`. The app rebuilds its menu when its state changes
/// (connected, unread …), and libdbusmenu refuses an id from the layout before: look it up
/// again and retry.
fn click(world: &World, item: &StatusItem, label: &str) {
    let conn = world.bus.connect();
    let path = item.menu_path();
    let mut last = None;
    for _ in 0..20 {
        let entry = item.entry(label);
        let clicked = zbus::block_on(conn.call_method(
            Some(item.bus_name.as_str()),
            path.as_str(),
            Some(MENU_INTERFACE),
            "Event",
            &(entry.id, "clicked", zbus::Variant::I32(0), 0u32),
        ));
        match clicked {
            Ok(_) => return,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("cannot click {label:?}: {last:?}");
}

/// Quits through the menu; the exit status must be 0.
fn quit(world: &World, item: &StatusItem, app: &mut TrayApp) -> i32 {
    click(world, item, "Quit");
    let status = app
        .wait_exit(WAIT)
        .unwrap_or_else(|| panic!("Quit did not end the app\n{}", app.log()));
    assert!(status.success(), "Quit exit status {status}\n{}", app.log());
    status.code().unwrap_or(-1)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn spread_json(samples: &[Duration]) -> Value {
    let s = Spread::of(samples).expect("at least one round");
    json!({
        "rounds_ms": samples.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "min_ms": ms(s.min),
        "median_ms": ms(s.median),
        "max_ms": ms(s.max),
    })
}

fn startup_rounds(world: &World) -> Value {
    let mut to_item = Vec::new();
    let mut to_menu = Vec::new();
    for round in 1..=ROUNDS {
        let known = world.senders();
        let spawned = Instant::now();
        let mut app = world.launch(&format!("startup-{round}.log"));
        let item = world.wait_new_item(&known, &mut app);
        let registered = spawned.elapsed();
        wait_for(START, "the first menu layout", &mut app, || {
            has_quit(&item).then_some(())
        });
        let menu = spawned.elapsed();
        println!(
            "desktop_footprint: start {round}/{ROUNDS}: tray item registered {:.0} ms, menu {:.0} ms",
            ms(registered),
            ms(menu)
        );
        to_item.push(registered);
        to_menu.push(menu);
        quit(world, &item, &mut app);
    }
    let item = Spread::of(&to_item).expect("rounds");
    let menu = Spread::of(&to_menu).expect("rounds");
    println!("\nStart-up, spawn → … ({ROUNDS} launches; the first one also creates the database)");
    println!("  {:<26} {:>8} {:>8} {:>8}", "", "min", "median", "max");
    for (name, s) in [("tray item registered", item), ("first menu layout", menu)] {
        println!(
            "  {:<26} {:>5.0} ms {:>5.0} ms {:>5.0} ms",
            name,
            ms(s.min),
            ms(s.median),
            ms(s.max)
        );
    }
    json!({
        "rounds": ROUNDS,
        "to_tray_item": spread_json(&to_item),
        "to_first_menu": spread_json(&to_menu),
        "target_ms": ms(STARTUP_TARGET),
        "meets_target": item.max < STARTUP_TARGET,
    })
}

/// The app's mapped top-level windows, found by `_NET_WM_PID` (GTK sets it) among the app
/// and the processes it started (its window process), so whatever the window is titled.
struct Windows {
    x11: X11,
    conn: x11rb::rust_connection::RustConnection,
    root: u32,
    net_wm_pid: u32,
}

impl Windows {
    fn connect(display: &str) -> Windows {
        let (conn, screen) = x11rb::connect(Some(display))
            .unwrap_or_else(|e| panic!("cannot connect to X display {display}: {e}"));
        let root = conn.setup().roots[screen].root;
        let net_wm_pid = conn
            .intern_atom(false, b"_NET_WM_PID")
            .map_err(x11rb::errors::ReplyError::from)
            .and_then(|c| c.reply())
            .unwrap_or_else(|e| panic!("intern atom _NET_WM_PID: {e}"))
            .atom;
        Windows {
            x11: X11::connect(display),
            conn,
            root,
            net_wm_pid,
        }
    }

    fn of(&self, pid: u32) -> Vec<u32> {
        let mut owners: HashSet<u32> = descendants(pid).into_iter().map(|(p, _)| p).collect();
        owners.insert(pid);
        let Ok(tree) = self
            .conn
            .query_tree(self.root)
            .map_err(x11rb::errors::ReplyError::from)
            .and_then(|c| c.reply())
        else {
            return Vec::new();
        };
        tree.children
            .into_iter()
            .filter(|&w| {
                let mapped = self
                    .conn
                    .get_window_attributes(w)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .is_some_and(|a| a.map_state == MapState::VIEWABLE);
                let owner = self
                    .conn
                    .get_property(false, w, self.net_wm_pid, AtomEnum::CARDINAL, 0, 1)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .and_then(|p| p.value32().and_then(|mut v| v.next()));
                mapped && owner.is_some_and(|o| owners.contains(&o))
            })
            .collect()
    }
}

fn web_processes(pid: u32) -> usize {
    descendants(pid)
        .iter()
        .filter(|(_, comm)| comm.starts_with(WEB_PROCESS))
        .count()
}

fn measure(pid: u32, phase: &str) -> TreeMemory {
    let tree = measure_tree(pid).unwrap_or_else(|e| panic!("measuring {phase}: {e}"));
    assert!(!tree.processes.is_empty(), "the app is gone before {phase}");
    tree
}

fn tree_json(tree: &TreeMemory) -> Value {
    let total = tree.total();
    json!({
        "rss_kib": total.rss_kib,
        "pss_kib": total.pss_kib,
        "uss_kib": total.uss_kib(),
        "pss_anon_kib": total.pss_anon_kib,
        "swap_kib": total.swap_kib,
        "processes": tree.processes.iter().map(|p| json!({
            "pid": p.pid,
            "comm": p.comm,
            "rss_kib": p.memory.rss_kib,
            "pss_kib": p.memory.pss_kib,
            "uss_kib": p.memory.uss_kib(),
            "pss_anon_kib": p.memory.pss_anon_kib,
            "pss_file_kib": p.memory.pss_file_kib,
            "pss_shmem_kib": p.memory.pss_shmem_kib,
        })).collect::<Vec<_>>(),
    })
}

/// Closes every window of the app and waits until they are gone; then gives its web process
/// up to [`WAIT`] to end. Returns how long that took, or `None` if it stayed.
fn close_windows(windows: &Windows, app: &mut TrayApp) -> Option<Duration> {
    let pid = app.id();
    for w in windows.of(pid) {
        windows.x11.close(w);
    }
    let closing = Instant::now();
    wait_for(WAIT, "the windows to close", app, || {
        windows.of(pid).is_empty().then_some(())
    });
    let deadline = closing + WAIT;
    while Instant::now() < deadline {
        if web_processes(pid) == 0 {
            return Some(closing.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn memory_phases(world: &World) -> Value {
    let known = world.senders();
    let mut app = world.launch("footprint.log");
    let item = world.wait_new_item(&known, &mut app);
    let pid = app.id();
    wait_for(START, "a connected tray", &mut app, || {
        let status = item.labels().into_iter().next().unwrap_or_default();
        status.contains("connected").then_some(())
    });
    let windows = Windows::connect(world.x.display());
    std::thread::sleep(IDLE);
    // Until the app knows `--tray` it opens its window at start: close it to reach the tray.
    let window_at_start = !windows.of(pid).is_empty() || web_processes(pid) > 0;
    if window_at_start {
        println!("\ndesktop_footprint: a window was open at start (--tray ignored); closing it");
        close_windows(&windows, &mut app);
        std::thread::sleep(IDLE);
    }
    let tray = measure(pid, "tray-only idle");

    click(world, &item, "Open history");
    let opening = Instant::now();
    wait_for(
        START,
        "the history window and its web process",
        &mut app,
        || (!windows.of(pid).is_empty() && web_processes(pid) > 0).then_some(()),
    );
    let opened_in = opening.elapsed();
    std::thread::sleep(SETTLE);
    let history = measure(pid, "history open");

    let web_gone_in = close_windows(&windows, &mut app);
    std::thread::sleep(SETTLE);
    let closed = measure(pid, "after closing");
    let exit_code = quit(world, &item, &mut app);

    let tray_total = tray.total();
    let history_total = history.total();
    let closed_total = closed.total();
    let phases = [
        (
            format!(
                "Tray only, idle {} s{}",
                IDLE.as_secs(),
                if window_at_start {
                    " (after closing the window opened at start)"
                } else {
                    ""
                }
            ),
            &tray,
        ),
        (
            format!(
                "History window open ({:.0} ms to its web process, then {} s)",
                ms(opened_in),
                SETTLE.as_secs()
            ),
            &history,
        ),
        (
            format!(
                "History window closed, {} s later (web process {})",
                SETTLE.as_secs(),
                match web_gone_in {
                    Some(d) => format!("ended {:.0} ms after the close", ms(d)),
                    None => format!("still running after {} s", WAIT.as_secs()),
                }
            ),
            &closed,
        ),
    ];
    for (title, tree) in phases {
        println!("\n{title}\n{}", tree.table());
    }
    let remaining: Vec<&str> = closed
        .processes
        .iter()
        .skip(1)
        .map(|p| p.comm.as_str())
        .collect();
    println!(
        "After closing: {:+.1} MB RSS, {:+.1} MB PSS against tray-only; processes left besides \
         the app: {remaining:?}",
        mb(closed_total.rss_kib) - mb(tray_total.rss_kib),
        mb(closed_total.pss_kib) - mb(tray_total.pss_kib),
    );
    json!({
        "window_open_at_start": window_at_start,
        "tray_idle": tree_json(&tray),
        "history_open": tree_json(&history),
        "history_open_ms": ms(opened_in),
        "after_close": tree_json(&closed),
        "web_process_ended_ms": web_gone_in.map(ms),
        "processes_left_after_close": remaining,
        "quit_exit_code": exit_code,
        "targets": {
            "tray_idle_rss_mb": { "target": TRAY_RSS_TARGET_MB, "measured": mb(tray_total.rss_kib),
                                  "met": mb(tray_total.rss_kib) < TRAY_RSS_TARGET_MB },
            "history_open_pss_mb": { "target": HISTORY_PSS_TARGET_MB,
                                     "measured": mb(history_total.pss_kib),
                                     "met": mb(history_total.pss_kib) < HISTORY_PSS_TARGET_MB },
            "after_close_rss_mb": { "target": TRAY_RSS_TARGET_MB,
                                    "measured": mb(closed_total.rss_kib),
                                    "met": mb(closed_total.rss_kib) < TRAY_RSS_TARGET_MB },
        },
    })
}

fn print_verdict(report: &Value) {
    let met = |v: &Value| {
        if v.as_bool() == Some(true) {
            "met"
        } else {
            "MISSED"
        }
    };
    let startup = &report["startup"];
    let targets = &report["memory"]["targets"];
    println!(
        "\nTargets ({} build)",
        report["build"].as_str().unwrap_or("?")
    );
    println!(
        "  tray icon within 1 s of spawn, every start: {:>6.0} ms max   {}",
        startup["to_tray_item"]["max_ms"]
            .as_f64()
            .unwrap_or(f64::NAN),
        met(&startup["meets_target"])
    );
    for (name, key) in [
        (
            "tray-only idle RSS, all processes, < 120 MB",
            "tray_idle_rss_mb",
        ),
        (
            "history open PSS, all processes, < 300 MB  ",
            "history_open_pss_mb",
        ),
        (
            "tray-only RSS after the window closed, < 120 MB",
            "after_close_rss_mb",
        ),
    ] {
        println!(
            "  {name}: {:>6.1} MB       {}",
            targets[key]["measured"].as_f64().unwrap_or(f64::NAN),
            met(&targets[key]["met"])
        );
    }
}
