//! Who may talk on the link, with real processes: a peer of another user is closed before
//! it hears a word and a tray of another user is not listened to (both proven with sockets
//! anyone may reach, so it is the peer check that refuses, not a folder's mode); the socket's
//! folder is private or refused; a process of the same user that the tray did not start
//! hears the news but is never asked to open a window, and is not heard (but under WebDriver
//! automation, which starts the window processes itself, it is).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use herald_desktop::link::{Opened, Server, ToTray, ToWindows, Trust, MAX_PATH};
use herald_desktop::status::{Focus, Status};
use herald_desktop::window::Window;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use super::{greeted_then_asked_to_open, next, sock, status, window, Tray, WAIT};

/// The user and group `nobody`: another user than the one the tests run as.
const NOBODY: u32 = 65534;

/// Connects to the socket at argv[1], sends the lines argv[4:], and prints `connected`, then
/// `closed` if the other end closes, then what it received: until it saw every text of
/// argv[2] (split at `|`; when not empty), the link closed, or argv[3] seconds passed.
const PEER: &str = r#"
import socket, sys, time
path, wait = sys.argv[1], float(sys.argv[3])
until = [t.encode() for t in sys.argv[2].split("|") if t]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
print("connected", flush=True)
try:
    for line in sys.argv[4:]:
        s.sendall(line.encode() + b"\n")
except OSError:
    pass  # closed already: the reads below tell
s.settimeout(0.1)
data = b""
end = time.monotonic() + wait
while time.monotonic() < end and not (until and all(t in data for t in until)):
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    except ConnectionResetError:
        chunk = b""
    if not chunk:
        print("closed", flush=True)
        break
    data += chunk
sys.stdout.write(data.decode())
"#;

/// Listens at argv[1] (a socket anyone may connect to), prints `listening`, and tells the
/// first process that connects the lines argv[2:], printing `accepted`.
const FAKE_TRAY: &str = r#"
import os, socket, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(8)
print("listening", flush=True)
s.settimeout(20)
c, _ = s.accept()
print("accepted", flush=True)
for line in sys.argv[2:]:
    c.sendall(line.encode() + b"\n")
time.sleep(5)
"#;

/// Whether this test may act as another user (it runs as root); when not it says why, and
/// fails under CI, where it must run.
fn as_root(what: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "{what} needs root to act as another user"
    );
    eprintln!("skipped: {what} needs root to act as another user");
    false
}

/// A Python the user `nobody` can run too (not one in root's home).
fn python3() -> PathBuf {
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("python3 in /usr/bin, /usr/local/bin or /bin")
}

/// `python3 -c script args…`, as `nobody` when `stranger`.
fn python(script: &str, args: &[&str], stranger: bool) -> Command {
    let mut command = Command::new(python3());
    command
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if stranger {
        command.uid(NOBODY).gid(NOBODY);
    }
    command
}

/// A temporary folder in /tmp that anyone may enter (`mode`).
fn open_folder(mode: u32) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("herald-link-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    dir
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

fn json(msg: &ToWindows) -> String {
    serde_json::to_string(msg).expect("json")
}

#[tokio::test]
async fn a_peer_of_another_user_is_closed_before_it_hears_anything() {
    if !as_root("refusing another user's peer") {
        return;
    }
    // Bound by the test in a folder anyone may enter, the socket open to anyone: only the
    // check of who connected stands between another user and the tray.
    let dir = open_folder(0o755);
    let path = dir.path().join("desktop.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let tray = Tray::serve_on(listener, Trust::Started);
    let path_arg = path.to_str().expect("utf-8 path");

    let out = python(PEER, &[path_arg, "", "2", r#"{"kind":"all_seen"}"#], true)
        .output()
        .await
        .expect("run python3 as nobody");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "connected\nclosed\n",
        "connected, then closed with not a byte said; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tray.heard.lock().expect("lock").is_empty(), "nothing heard");

    // The tray still serves its own user.
    let (_client, mut told) = window(&path);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );
}

#[tokio::test]
async fn a_window_does_not_listen_to_a_tray_of_another_user() {
    if !as_root("a tray of another user") {
        return;
    }
    let dir = open_folder(0o777);
    let path = dir.path().join("desktop.sock");
    let path_arg = path.to_str().expect("utf-8 path");
    let lies = [
        json(&ToWindows::Status { status: status(99) }),
        json(&ToWindows::Open {
            window: Window::Settings,
            show: Some(Focus::Message {
                id: "planted".into(),
            }),
        }),
    ];
    let mut fake = python(FAKE_TRAY, &[path_arg, &lies[0], &lies[1]], true)
        .spawn()
        .expect("run python3 as nobody");
    let mut said = BufReader::new(fake.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(WAIT, said.next_line()).await;
    assert!(
        matches!(&first, Ok(Ok(Some(l))) if l == "listening"),
        "the fake tray listens: {first:?}"
    );

    let (client, mut told) = window(&path);
    let accepted = tokio::time::timeout(WAIT, said.next_line()).await;
    assert!(
        matches!(&accepted, Ok(Ok(Some(l))) if l == "accepted"),
        "the window connected to it: {accepted:?}"
    );
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status {
            status: Status::tray_not_running()
        },
        "it is not Herald's tray"
    );
    let more = tokio::time::timeout(Duration::from_secs(3), told.recv()).await;
    assert!(more.is_err(), "nothing it said was passed on: {more:?}");
    assert_eq!(client.status(), Status::tray_not_running());
    assert!(!client.send(ToTray::AllSeen));
}

#[test]
fn a_socket_folder_of_another_user_is_refused() {
    if !as_root("a folder of another user") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let theirs = dir.path().join("herald");
    std::fs::create_dir(&theirs).expect("mkdir");
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).expect("chown");

    let err = Server::bind(&theirs.join("desktop.sock")).expect_err("another user's folder");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(
        err.to_string().contains("belongs to uid 65534"),
        "says whose it is: {err}"
    );
    assert!(!theirs.join("desktop.sock").exists());
    assert_eq!(mode(&theirs), 0o700, "left as it was");
}

#[test]
fn the_socket_folder_is_made_private_and_a_link_or_a_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");

    // Open to others: made private, the socket bound.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    drop(Server::bind(&open.join("desktop.sock")).expect("bind"));
    assert_eq!(mode(&open), 0o700);

    // Missing: made private, every folder made on the way too.
    let deep = dir.path().join("a").join("b");
    drop(Server::bind(&deep.join("desktop.sock")).expect("bind"));
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&deep), 0o700);

    // A symbolic link to a folder, even one's own private one, is refused.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).expect("mkdir");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let err = Server::bind(&link.join("desktop.sock")).expect_err("a symbolic link");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(!real.join("desktop.sock").exists());

    // A file where the folder should be.
    let file = dir.path().join("file");
    std::fs::write(&file, b"data").expect("write");
    let err = Server::bind(&file.join("desktop.sock")).expect_err("a file");
    assert!(err.to_string().contains("not a folder"), "{err}");

    // Something other than a socket at the socket's path is left alone.
    let kept = open.join("kept");
    std::fs::write(&kept, b"data").expect("write");
    let err = Server::bind(&kept).expect_err("not a socket");
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&kept).expect("read"), b"data");

    // A path longer than a socket address holds, said before anything is made.
    let long = dir.path().join("x".repeat(MAX_PATH)).join("desktop.sock");
    let err = Server::bind(&long).expect_err("too long");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("107"), "{err}");
    assert!(!long.parent().expect("folder").exists());
    let longest = dir.path().join("y");
    let name = "s".repeat(MAX_PATH - longest.as_os_str().len() - 1);
    drop(Server::bind(&longest.join(name)).expect("the longest path that fits"));
}

#[tokio::test]
async fn a_process_the_tray_did_not_start_hears_the_news_but_no_open_and_is_not_heard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    let path_arg = path.to_str().expect("utf-8 path");
    // The same user's process, not started by this tray: it marks messages read and asks
    // for a reload, and reports what it hears until Herald quits.
    let peer = python(
        PEER,
        &[
            path_arg,
            r#""kind":"quit"|"kind":"reloaded""#,
            "20",
            r#"{"kind":"seen","ids":["m1"]}"#,
            r#"{"kind":"all_seen"}"#,
            r#"{"kind":"reload"}"#,
        ],
        false,
    )
    .spawn()
    .expect("run python3");
    tray.wait_peers().await;

    let mut started = Vec::new();
    let opened = tray
        .server
        .open(
            Window::History,
            Some(Focus::Message { id: "m1".into() }),
            |w, _| {
                started.push(w);
                Ok(4242)
            },
        )
        .expect("open");
    assert_eq!(opened, Opened::Started(4242), "not asked of that process");
    let queued = tray
        .server
        .open(Window::Settings, None, |_, _| panic!("one is starting"))
        .expect("open");
    assert_eq!(queued, Opened::Queued, "kept for the one starting");
    tray.server
        .broadcast(&ToWindows::Stored { id: "m2".into() });
    tray.server.broadcast(&ToWindows::Quit);

    let out = tokio::time::timeout(Duration::from_secs(30), peer.wait_with_output())
        .await
        .expect("the peer ends")
        .expect("its output");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("connected"), "{text}");
    let heard: Vec<ToWindows> = lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    assert_eq!(
        heard.first(),
        Some(&ToWindows::Status { status: status(7) })
    );
    assert!(heard.contains(&ToWindows::Quit), "{heard:?}");
    assert!(heard.contains(&ToWindows::Stored { id: "m2".into() }));
    assert!(
        !heard.iter().any(|m| matches!(m, ToWindows::Open { .. })),
        "never asked to open a window: {heard:?}"
    );
    // Its reload was answered (with a refusal), so the lines before it were read, and
    // ignored.
    assert!(
        heard
            .iter()
            .any(|m| matches!(m, ToWindows::Reloaded { error: Some(_) })),
        "{heard:?}"
    );
    assert!(tray.heard.lock().expect("lock").is_empty(), "not heard");
    assert_eq!(started, vec![Window::History]);
}

#[tokio::test]
async fn under_automation_every_window_process_of_the_user_is_heard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve_on(Server::bind(&path).expect("bind"), Trust::SameUser);
    // Started by a WebDriver, not by the tray.
    let (client, mut told) = window(&path);
    greeted_then_asked_to_open(&tray, &mut told).await;
    assert!(client.send(ToTray::AllSeen));
    assert_eq!(tray.wait_heard(1).await, vec![ToTray::AllSeen]);
    assert_eq!(client.reload().await, Ok(true), "applied by the tray");
}
