//! Process plumbing for the private broker: running the RabbitMQ scripts with deadlines,
//! signals, free ports and finding the scripts.

use super::CLI_DIST_PORTS;
use std::env;
use std::fs::File;
use std::io::{Read, Seek};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `cmd` to completion, with a deadline and an `abort` check polled meanwhile.
/// Output goes to anonymous files rather than pipes: a daemon the CLI may spawn (epmd) could
/// otherwise hold a pipe open and hang the reader.
pub(super) fn run_command(
    mut cmd: Command,
    timeout: Duration,
    abort: &mut dyn FnMut() -> Option<String>,
) -> Result<String, String> {
    let mut stdout = tempfile::tempfile().map_err(|e| e.to_string())?;
    let mut stderr = tempfile::tempfile().map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null())
        .stdout(stdout.try_clone().map_err(|e| e.to_string())?)
        .stderr(stderr.try_clone().map_err(|e| e.to_string())?);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let outcome: Result<ExitStatus, String> = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(e.to_string()),
        }
        if let Some(reason) = abort() {
            break Err(reason);
        }
        if Instant::now() >= deadline {
            break Err(format!("timed out after {}s", timeout.as_secs()));
        }
        thread::sleep(Duration::from_millis(100));
    };
    if outcome.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = read_all(&mut stdout);
    let err = read_all(&mut stderr);
    match outcome {
        Ok(status) if status.success() => Ok(out),
        Ok(status) => Err(format!("{status}\nstdout:\n{out}\nstderr:\n{err}")),
        Err(reason) => Err(format!("{reason}\nstdout:\n{out}\nstderr:\n{err}")),
    }
}

pub(super) fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

pub(super) fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

pub(super) fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `n` distinct ports that were free a moment ago. All listeners are held until the end so
/// the kernel cannot hand out the same port twice; the small window before RabbitMQ binds
/// them is accepted.
pub(super) fn free_ports(n: usize) -> Vec<u16> {
    // Below the kernel's ephemeral range: the node binds them seconds after they are chosen,
    // and meanwhile any outgoing connection on the machine may be given an ephemeral port.
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = (
        low.saturating_sub(12_000).max(1024),
        low.saturating_sub(1).max(1025),
    );
    let mut held = Vec::new();
    let mut ports = Vec::new();
    let mut tries = 0;
    while ports.len() < n {
        tries += 1;
        assert!(tries < 10_000, "no free port between {from} and {to}");
        let port = from + u16::try_from(rand_below(u32::from(to - from))).unwrap_or(0);
        if CLI_DIST_PORTS.contains(&port) || ports.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            ports.push(port);
            held.push(listener);
        }
    }
    ports
}

/// A number below `n`, good enough to spread test ports (no crate for it).
fn rand_below(n: u32) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    u32::try_from(h.finish() % u64::from(n.max(1))).unwrap_or(0)
}

/// Directory holding the real `rabbitmq-server` and `rabbitmqctl` scripts.
pub(super) fn rabbitmq_sbin() -> PathBuf {
    if let Some(dir) = env::var_os("HERALD_TEST_RABBITMQ_SBIN").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let packaged = Path::new("/usr/lib/rabbitmq/bin");
    if packaged.join("rabbitmq-server").exists() {
        return packaged.to_path_buf();
    }
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .find(|dir| dir.join("rabbitmq-server").exists())
        .unwrap_or_else(|| {
            panic!(
                "rabbitmq-server not found in /usr/lib/rabbitmq/bin or PATH; install it \
                 (Debian: apt install rabbitmq-server) or set HERALD_TEST_RABBITMQ_SBIN"
            )
        })
}
