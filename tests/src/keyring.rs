//! A real freedesktop Secret Service for tests: `gnome-keyring-daemon` (secrets component
//! only, its login keyring unlocked with a known password) on a private [`SessionBus`], with a
//! throw-away HOME that holds its keyring files ([`DesktopHome`], [`GnomeKeyring`]), and
//! `secret-tool` to look at what was stored from outside the process under test.
//!
//! gnome-keyring answers nothing (a 2 s `NoReply`) when HOME has no `.cache`, so the HOME
//! here always has one, and every `XDG_*` directory inside it. Processes that should use this
//! keyring are started with [`DesktopHome::command`]: a clean environment, so neither the
//! developer's own session bus nor their keyring can be reached by mistake.
//!
//! Needs `dbus-daemon`, `gnome-keyring-daemon` and `secret-tool` (Debian `dbus
//! gnome-keyring libsecret-tools`, Fedora `dbus-daemon gnome-keyring libsecret`): the tests
//! fail with that advice rather than skip.

use crate::dbus::SessionBus;
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zbus::names::BusName;

/// The bus name a Secret Service owns.
pub const SECRETS_BUS_NAME: &str = "org.freedesktop.secrets";

/// How long gnome-keyring may take to claim its bus name (well under a second normally).
const STARTUP: Duration = Duration::from_secs(20);

const INSTALL: &str = "install gnome-keyring, libsecret-tools and dbus \
                       (apt-get install gnome-keyring libsecret-tools dbus / \
                       dnf install gnome-keyring libsecret dbus-daemon; `./dev setup-test` does it)";

/// A private session bus plus a temporary HOME laid out like a desktop user's: `.cache`,
/// `.config`, `.local/share`, and an `XDG_RUNTIME_DIR` (mode 0700), all removed on drop.
#[derive(Debug)]
pub struct DesktopHome {
    bus: SessionBus,
    dir: tempfile::TempDir,
}

impl DesktopHome {
    pub fn start() -> DesktopHome {
        let dir = tempfile::tempdir().expect("temporary HOME");
        let home = DesktopHome {
            bus: SessionBus::start(),
            dir,
        };
        for d in [
            home.cache_dir(),
            home.config_dir(),
            home.data_dir(),
            home.runtime_dir(),
        ] {
            std::fs::create_dir_all(&d)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", d.display()));
        }
        set_private(&home.runtime_dir());
        home
    }

    pub fn bus(&self) -> &SessionBus {
        &self.bus
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.home().join(".cache")
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home().join(".config")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.home().join(".local/share")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.home().join(".run")
    }

    /// Where gnome-keyring writes its (encrypted) keyrings.
    pub fn keyrings_dir(&self) -> PathBuf {
        self.data_dir().join("keyrings")
    }

    /// The variables that point a process at this bus and HOME.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("HOME", self.home().into()),
            ("XDG_CACHE_HOME", self.cache_dir().into()),
            ("XDG_CONFIG_HOME", self.config_dir().into()),
            ("XDG_DATA_HOME", self.data_dir().into()),
            ("XDG_RUNTIME_DIR", self.runtime_dir().into()),
            ("DBUS_SESSION_BUS_ADDRESS", self.bus.address().into()),
        ]
    }

    /// `program` with a clean environment: [`DesktopHome::env`], plus `PATH`,
    /// `LD_LIBRARY_PATH` and `RUST_BACKTRACE` from this process. No `DISPLAY`, so nothing
    /// can pop up a prompt.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear();
        for var in ["PATH", "LD_LIBRARY_PATH", "RUST_BACKTRACE"] {
            if let Some(value) = std::env::var_os(var) {
                cmd.env(var, value);
            }
        }
        cmd.envs(self.env());
        cmd
    }

    /// Every regular file under HOME whose bytes contain `needle`.
    pub fn files_containing(&self, needle: &[u8]) -> Vec<PathBuf> {
        assert!(!needle.is_empty(), "search for something");
        let mut found = Vec::new();
        let mut pending = vec![self.home().to_owned()];
        while let Some(dir) = pending.pop() {
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
            for entry in entries {
                let entry = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
                let path = entry.path();
                let kind = entry
                    .file_type()
                    .unwrap_or_else(|e| panic!("cannot stat {}: {e}", path.display()));
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() {
                    let bytes = std::fs::read(&path)
                        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        found.push(path);
                    }
                }
            }
        }
        found
    }

    /// Every regular file under HOME, for failure messages.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![self.home().to_owned()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                match entry.file_type() {
                    Ok(t) if t.is_dir() => pending.push(entry.path()),
                    Ok(t) if t.is_file() => files.push(entry.path()),
                    _ => {}
                }
            }
        }
        files.sort();
        files
    }
}

#[cfg(unix)]
fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("cannot chmod 700 {}: {e}", dir.display()));
}

#[cfg(not(unix))]
fn set_private(_dir: &Path) {}

/// `gnome-keyring-daemon --foreground --unlock --components=secrets` on a [`DesktopHome`]:
/// it creates (or opens) the login keyring, unlocked with the given password, and serves
/// `org.freedesktop.secrets` on the home's bus. Killed on drop.
#[derive(Debug)]
pub struct GnomeKeyring {
    child: Child,
}

impl GnomeKeyring {
    pub fn start(home: &DesktopHome, unlock_password: &str) -> GnomeKeyring {
        let mut child = home
            .command("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .current_dir(home.home())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run gnome-keyring-daemon ({e}). The keyring tests need it: {INSTALL}"
                )
            });
        {
            // The password, then end of file: that is how --unlock reads it.
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin
                .write_all(unlock_password.as_bytes())
                .expect("give gnome-keyring-daemon its password");
        }
        let mut keyring = GnomeKeyring { child };
        keyring.wait_for_bus_name(home);
        keyring
    }

    fn wait_for_bus_name(&mut self, home: &DesktopHome) {
        let conn = home.bus().connect();
        let name = BusName::try_from(SECRETS_BUS_NAME).expect("valid bus name");
        let deadline = Instant::now() + STARTUP;
        loop {
            let owned = zbus::block_on(async {
                zbus::fdo::DBusProxy::new(&conn)
                    .await?
                    .name_has_owner(name.clone())
                    .await
            });
            match owned {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => panic!("cannot ask the test bus about {SECRETS_BUS_NAME}: {e}"),
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("gnome-keyring-daemon exited ({status}) before serving {SECRETS_BUS_NAME}");
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not serve {SECRETS_BUS_NAME} within {STARTUP:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for GnomeKeyring {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `secret-tool lookup ATTR VALUE…` on `home`: the secret of the matching item, or `None`
/// when there is none.
pub fn secret_tool_lookup(home: &DesktopHome, attributes: &[(&str, &str)]) -> Option<String> {
    let mut cmd = home.command("secret-tool");
    cmd.arg("lookup");
    for (k, v) in attributes {
        cmd.args([k, v]);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("cannot run secret-tool ({e}). The keyring tests need it: {INSTALL}")
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // Printed as is when stdout is not a terminal.
        Some(String::from_utf8(out.stdout).expect("a UTF-8 secret"))
    } else {
        // Not found: exit 1 and nothing said; anything on stderr is a real failure.
        assert!(
            out.stdout.is_empty() && stderr.trim().is_empty(),
            "secret-tool lookup {attributes:?} failed ({}): {stderr}",
            out.status
        );
        None
    }
}
