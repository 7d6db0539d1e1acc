//! The WebKitWebDriver process (one per test, on a free port of 127.0.0.1) and the processes
//! it starts, seen through `/proc`.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::desktop::Desktop;
use crate::tray::running;

/// How long WebKitWebDriver may take to listen (well under a second normally).
const LISTEN: Duration = Duration::from_secs(15);

const INSTALL: &str = "install the webkit2gtk-driver package (apt-get install webkit2gtk-driver \
                       / dnf install /usr/bin/WebKitWebDriver); \
                       `./dev setup` does it";

/// `WebKitWebDriver --port=P --host=127.0.0.1`, its output appended to the desktop's log.
/// Killed on drop.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// Starts WebKitWebDriver and waits until it listens. A port taken between choosing it
    /// and binding it is retried with another.
    pub fn start(desktop: &Desktop) -> Driver {
        let mut last = String::new();
        for _ in 0..3 {
            match Driver::try_start(desktop) {
                Ok(driver) => return driver,
                Err(why) => last = why,
            }
        }
        panic!(
            "WebKitWebDriver did not start: {last}\n--- log\n{}",
            desktop.log_tail(40)
        );
    }

    fn try_start(desktop: &Desktop) -> Result<Driver, String> {
        let port = free_port();
        let log = File::options()
            .create(true)
            .append(true)
            .open(desktop.log_path())
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", desktop.log_path().display()));
        let err = log.try_clone().expect("clone the log handle");
        let mut command = desktop.home().command("WebKitWebDriver");
        command
            .envs(desktop.env())
            .arg(format!("--port={port}"))
            .arg("--host=127.0.0.1")
            .current_dir(desktop.home().home())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let mut child = command.spawn().unwrap_or_else(|e| {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            panic!(
                "cannot run WebKitWebDriver ({e}). The webview tests need it{}: {INSTALL}",
                if ci { " and CI=true" } else { "" }
            )
        });
        let deadline = Instant::now() + LISTEN;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(Driver { child, port });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("it exited with {status} (port {port})"));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("nothing listened on port {port} within {LISTEN:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills and reaps it.
    pub fn kill(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// Sends `signal` (`TERM`, `KILL`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    // `kill` rather than libc: the workspace forbids unsafe code.
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits up to `timeout` until none of `pids` runs; the ones still running after that.
pub fn wait_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|&p| running(p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
