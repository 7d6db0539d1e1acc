//! No peer can make the tray grow or stop: a peer that never reads is dropped while the
//! tray's memory stays put and a reading window keeps up; a thousand peers at once are held
//! to the limit and the tray serves again when they leave; running out of descriptors in
//! `accept` is waited out. These change or measure the whole process, so each runs in a
//! process of its own ([`alone`]).

use std::io::Read as _;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use herald_desktop::link::{ToWindows, MAX_PEERS};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

use super::{greeted_then_asked_to_open, next, ours, sock, status, window, Tray, WAIT};

/// Whether this test runs in a process of its own, as it must when it changes a limit of the
/// whole process or measures the process. Under nextest every test does; elsewhere (`cargo
/// test`) the test runs itself again, alone, in a child process, and this returns false once
/// that passed.
fn alone(name: &str) -> bool {
    const MARK: &str = "HERALD_LINK_TEST_ALONE";
    if std::env::var("NEXTEST_EXECUTION_MODE").as_deref() == Ok("process-per-test")
        || std::env::var_os(MARK).is_some()
    {
        return true;
    }
    let name = name.split_once("::").map_or(name, |(_, rest)| rest);
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(MARK, "1")
        .output()
        .expect("run the test alone");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("1 passed"),
        "{name}, run alone: {}\n{said}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// The process's resident memory, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// Raises the soft limit of open descriptors to at least `want`.
fn allow_descriptors(want: u64) {
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_none_or(|now| now >= want) {
        return;
    }
    let raised = limit.maximum.map_or(want, |max| max.min(want));
    assert_eq!(
        raised, want,
        "the hard limit of open descriptors is below {want}"
    );
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        },
    )
    .expect("raise the descriptor limit");
}

/// Reads a stream until it closes or a line ends: the line, or `None` when it closed first.
fn first_line(stream: &mut UnixStream) -> Option<String> {
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if let Some(end) = got.iter().position(|b| *b == b'\n') {
                    return Some(String::from_utf8_lossy(&got[..end]).into_owned());
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(err) => panic!("neither greeted nor closed within {WAIT:?}: {err}"),
        }
    }
}

fn hello() -> String {
    serde_json::to_string(&ToWindows::Status { status: status(7) }).expect("json")
}

#[tokio::test]
async fn a_peer_that_never_reads_is_dropped_and_the_tray_does_not_grow() {
    if !alone(concat!(
        module_path!(),
        "::a_peer_that_never_reads_is_dropped_and_the_tray_does_not_grow"
    )) {
        return;
    }
    const MESSAGES: usize = 200_000;
    const ROUND: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    let mut deaf = UnixStream::connect(&path).expect("connect");
    let (_client, mut told) = window(&path);
    // Accepted in order: once the window is greeted, the deaf peer is connected too.
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );

    let before = rss();
    let mut heard = 0;
    for round in 0..MESSAGES / ROUND {
        for i in 0..ROUND {
            let id = format!("{:0>100}", round * ROUND + i);
            tray.server.broadcast(&ToWindows::Stored { id });
        }
        // A window that reads keeps up, and hears every one.
        while heard < (round + 1) * ROUND {
            match next(&mut told).await {
                ToWindows::Stored { id } => {
                    assert_eq!(id, format!("{heard:0>100}"), "in order");
                    heard += 1;
                }
                other => panic!("only news: {other:?}"),
            }
        }
    }
    let grown = rss().saturating_sub(before);
    assert!(
        grown < 16 << 20,
        "the tray grew by {} KiB while a peer did not read",
        grown >> 10
    );

    // The deaf peer was dropped: what the socket held, then the end.
    deaf.set_read_timeout(Some(WAIT)).expect("timeout");
    let mut buf = vec![0; 1 << 16];
    let mut got = 0;
    loop {
        match deaf.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(err) => panic!("the deaf peer's link is still open: {err}"),
        }
    }
    assert!(
        got < MESSAGES * 100,
        "it was dropped long before the end ({got} bytes)"
    );
}

#[tokio::test]
async fn a_thousand_peers_are_held_to_the_limit_and_the_tray_serves_on() {
    const PEERS: usize = 1000;
    allow_descriptors(PEERS as u64 * 2 + 256);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);

    let mut peers: Vec<UnixStream> = (0..PEERS)
        .map(|_| UnixStream::connect(&path).expect("connect"))
        .collect();
    let greeted = peers
        .iter_mut()
        .filter_map(first_line)
        .inspect(|line| assert_eq!(*line, hello()))
        .count();
    assert_eq!(
        greeted, MAX_PEERS,
        "the first {MAX_PEERS} are greeted, the rest closed at once"
    );
    drop(peers);

    // A window process of this tray connects, is greeted, and opens windows.
    ours(&tray);
    let (_client, mut told) = window(&path);
    greeted_then_asked_to_open(&tray, &mut told).await;
}

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> Logs {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("the only subscriber of this process");
        logs
    }

    fn contains(&self, text: &str) -> bool {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).contains(text)
    }
}

#[tokio::test]
async fn running_out_of_descriptors_in_accept_is_waited_out() {
    if !alone(concat!(
        module_path!(),
        "::running_out_of_descriptors_in_accept_is_waited_out"
    )) {
        return;
    }
    let logs = Logs::capture();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    let mut first = UnixStream::connect(&path).expect("connect");
    assert_eq!(first_line(&mut first).as_deref(), Some(hello().as_str()));

    // Every descriptor taken, but for one that a connection takes: the tray cannot accept it.
    let limit = getrlimit(Resource::Nofile);
    let open = std::fs::read_dir("/proc/self/fd").expect("fds").count() as u64;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(open + 16),
            maximum: limit.maximum,
        },
    )
    .expect("lower the descriptor limit");
    let mut filler = Vec::new();
    let full = loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => filler.push(file),
            Err(err) => break err,
        }
        assert!(filler.len() < 1000, "the limit holds");
    };
    assert_eq!(
        full.raw_os_error(),
        Some(rustix::io::Errno::MFILE.raw_os_error())
    );
    filler.pop();
    let mut waiting = UnixStream::connect(&path).expect("connect with the last descriptor");

    let deadline = std::time::Instant::now() + WAIT;
    while !logs.contains("cannot accept a window process") {
        assert!(
            std::time::Instant::now() < deadline,
            "the tray met the limit in accept"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Out of descriptors for a while: the tray keeps trying, and serves what it holds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tray.server.broadcast(&ToWindows::Quit);
    let quit = serde_json::to_string(&ToWindows::Quit).expect("json");
    assert_eq!(first_line(&mut first).as_deref(), Some(quit.as_str()));

    drop(filler);
    setrlimit(Resource::Nofile, limit).expect("restore the descriptor limit");
    assert_eq!(
        first_line(&mut waiting).as_deref(),
        Some(hello().as_str()),
        "the connection that waited is served once descriptors are free"
    );
    let (_client, mut told) = window(&path);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );
}
