//! The `herald-desktop` process: its binary ([`desktop_bin`]), a temporary home to run it in
//! ([`DesktopHome`]), the running app ([`TrayApp`]) and the processes it starts
//! ([`descendants`]).

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::dbus::SessionBus;

/// The `herald-desktop` binary built beside this test binary (`cargo build --workspace
/// --bins` builds it); `HERALD_DESKTOP_BIN` overrides.
pub fn desktop_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("HERALD_DESKTOP_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/herald-desktop
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .join("herald-desktop");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` (the test command \
         in README.md does)",
        bin.display()
    );
    bin
}

/// The app's process name as `/proc/<pid>/comm` shows it: the binary's file name, cut to
/// the kernel's 15 bytes.
pub fn desktop_comm() -> String {
    let bin = desktop_bin();
    let name = bin.file_name().map(|n| n.to_string_lossy().into_owned());
    name.unwrap_or_default()
        .bytes()
        .take(15)
        .map(char::from)
        .collect()
}

/// The `herald-desktop` binary running in a temporary home, on a given display and bus; its
/// output goes to a log file. Killed on drop if still running.
#[derive(Debug)]
pub struct TrayApp {
    child: Option<Child>,
    log: PathBuf,
}

/// A temporary home for the desktop app: `.cache` (gnome-keyring and GTK want it), XDG
/// folders and a private runtime folder inside it.
#[derive(Debug)]
pub struct DesktopHome {
    pub dir: tempfile::TempDir,
}

impl DesktopHome {
    pub fn new() -> DesktopHome {
        let dir = tempfile::tempdir().expect("tempdir for HOME");
        for sub in [".cache", ".config", ".local/share", "runtime"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create home folders");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(
                dir.path().join("runtime"),
                std::fs::Permissions::from_mode(0o700),
            )
            .expect("chmod runtime dir");
        }
        DesktopHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `herald-desktop` command for this home, `display` and `bus`, with only the
    /// environment it needs.
    pub fn command(&self, display: &str, bus: &SessionBus) -> Command {
        self.command_of(&desktop_bin(), display, bus)
    }

    /// [`DesktopHome::command`] running the app binary at `program`.
    pub fn command_of(&self, program: &Path, display: &str, bus: &SessionBus) -> Command {
        let home = self.path();
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", home.join("runtime"))
            .env("DISPLAY", display)
            .env("GDK_BACKEND", "x11")
            .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            // No accessibility bus to find on a private session bus.
            .env("NO_AT_BRIDGE", "1")
            .env("HERALD_LOG", "info,herald_desktop=debug")
            .stdin(Stdio::null());
        c
    }
}

impl Default for DesktopHome {
    fn default() -> Self {
        DesktopHome::new()
    }
}

impl TrayApp {
    /// Starts `command`, its stdout and stderr going to `log`.
    pub fn spawn(mut command: Command, log: PathBuf) -> TrayApp {
        let out = File::create(&log).expect("create the app log");
        let err = out.try_clone().expect("clone the log handle");
        let child = command
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
        TrayApp {
            child: Some(child),
            log,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// Where its output goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What the app wrote so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Its exit status if it has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("poll the app"))
    }

    /// Waits up to `timeout` for it to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TrayApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The processes below `pid` (children, grandchildren, …), as (pid, command name).
pub fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = stat[open + 1..close].to_owned();
            let ppid = stat[close + 1..]
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((p, ppid, comm));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (p, pp, comm) in &parent_of {
            if *pp == parent {
                found.push((*p, comm.clone()));
                frontier.push(*p);
            }
        }
    }
    found
}

/// Whether `pid` is still a running process: present in `/proc` and not a zombie (an orphan
/// whose parent never reaps it has ended all the same).
pub fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // pid (comm) state …; comm may hold spaces and parentheses.
    let state = stat
        .rfind(')')
        .and_then(|close| stat[close + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}
