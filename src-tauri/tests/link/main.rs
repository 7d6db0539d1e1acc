//! The link between the tray process and the window processes, over a real Unix socket in a
//! temporary folder: what each end is told, the window asked of a process that is still
//! starting, reloads answered, a tray that is not (or no longer) running, stale sockets,
//! and lines that do not parse; and who may talk on it, with real processes of another user
//! and of the same one: peers of another user refused at either end, a private folder, a
//! peer that never reads, a thousand peers, running out of descriptors, and "Open" kept for
//! the window process the tray started. Starting real window processes is
//! `tests/tests/tray.rs`'s.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod load;
mod trust;

use herald_desktop::link::{socket_path, Client, Opened, Server, ToTray, ToWindows, Trust};
use herald_desktop::status::{Focus, LinkState, Status};
use herald_desktop::window::Window;
use herald_desktop::Start;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

fn message(id: &str) -> Focus {
    Focus::Message { id: id.into() }
}

fn package(name: &str) -> Focus {
    Focus::Package { name: name.into() }
}

fn status(unread: u64) -> Status {
    Status {
        connections: vec![herald_desktop::status::ConnectionStatus {
            name: "fedora".into(),
            state: LinkState::Connected,
            detail: None,
        }],
        unread,
        paused: false,
        paused_until: None,
        error: None,
    }
}

/// A tray end serving at `path` on a runtime of its own, so that stopping it closes every
/// link the way a tray process that exits does: it greets with `status(7)`, answers
/// reloads, and records every other line it gets.
struct Tray {
    server: Arc<Server>,
    heard: Arc<Mutex<Vec<ToTray>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Tray {
    fn serve(path: &Path) -> Tray {
        Tray::serve_on(Server::bind(path).expect("bind"), Trust::Started)
    }

    /// Serves on a listener the test bound itself.
    fn serve_on(listener: std::os::unix::net::UnixListener, trust: Trust) -> Tray {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = {
            let _on = rt.enter();
            tokio::net::UnixListener::from_std(listener).expect("tokio listener")
        };
        let server = Arc::new(Server::new(trust));
        let heard = Arc::new(Mutex::new(Vec::new()));
        let recorder = Arc::clone(&heard);
        rt.spawn(Arc::clone(&server).serve(
            listener,
            || ToWindows::Status { status: status(7) },
            move |msg| match msg {
                ToTray::Reload => Some(ToWindows::Reloaded { error: None }),
                other => {
                    recorder.lock().expect("lock").push(other);
                    None
                }
            },
        ));
        Tray {
            server,
            heard,
            rt: Some(rt),
        }
    }

    /// Ends the tray end and every link it holds.
    fn stop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }

    async fn wait_heard(&self, n: usize) -> Vec<ToTray> {
        tokio::time::timeout(WAIT, async {
            loop {
                let heard = self.heard.lock().expect("lock").clone();
                if heard.len() >= n {
                    return heard;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the tray heard the window")
    }

    async fn wait_peers(&self) {
        tokio::time::timeout(WAIT, async {
            while !self.server.has_peers() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("a window process connected");
    }
}

impl Drop for Tray {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A window end connected to `path`, with what it is told.
fn window(path: &Path) -> (Arc<Client>, mpsc::UnboundedReceiver<ToWindows>) {
    let client = Arc::new(Client::default());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(Arc::clone(&client).run(path.to_owned(), move |msg| {
        let _ = tx.send(msg);
    }));
    (client, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<ToWindows>) -> ToWindows {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a message within the wait")
        .expect("the channel is open")
}

fn sock(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("herald").join("desktop.sock")
}

/// A window process just connected is greeted with the status (7 unread), and the next
/// window asked for goes to it.
async fn greeted_then_asked_to_open(tray: &Tray, told: &mut mpsc::UnboundedReceiver<ToWindows>) {
    assert_eq!(next(told).await, ToWindows::Status { status: status(7) });
    let opened = tray
        .server
        .open(Window::Settings, None, |_, _| panic!("one is connected"))
        .expect("open");
    assert_eq!(opened, Opened::Sent);
    assert_eq!(
        next(told).await,
        ToWindows::Open {
            window: Window::Settings,
            show: None
        }
    );
}

/// Has the tray take this test's process for the window process it started, so that what
/// the test connects is heard and asked to open windows.
fn ours(tray: &Tray) {
    let opened = tray
        .server
        .open(Window::History, None, |_, _| Ok(std::process::id()))
        .expect("open");
    assert_eq!(opened, Opened::Started(std::process::id()));
}

#[tokio::test]
async fn a_window_hears_the_status_the_news_and_what_to_open_and_tells_what_was_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    ours(&tray);
    let (client, mut told) = window(&path);

    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );
    assert_eq!(client.status(), status(7));
    tray.wait_peers().await;

    tray.server
        .broadcast(&ToWindows::Stored { id: "m1".into() });
    assert_eq!(next(&mut told).await, ToWindows::Stored { id: "m1".into() });

    let opened = tray
        .server
        .open(Window::Settings, Some(message("m1")), |_, _| {
            panic!("a connected window process is asked, none started")
        })
        .expect("open");
    assert_eq!(opened, Opened::Sent);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Open {
            window: Window::Settings,
            show: Some(message("m1"))
        }
    );

    assert!(client.send(ToTray::Seen {
        ids: vec!["m1".into()]
    }));
    assert!(client.send(ToTray::AllSeen));
    assert_eq!(
        tray.wait_heard(2).await,
        vec![
            ToTray::Seen {
                ids: vec!["m1".into()]
            },
            ToTray::AllSeen
        ]
    );
    assert_eq!(client.reload().await, Ok(true), "applied by the tray");
    // Only the window's own lines reach the tray's handler; the reload was answered.
    assert_eq!(tray.heard.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn windows_asked_of_a_starting_process_reach_it_when_it_connects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    let mut started = Vec::new();
    let first = tray
        .server
        .open(Window::History, Some(package("pkg")), |w, show| {
            started.push((w, show.cloned()));
            // The window process that connects below is this one.
            Ok(std::process::id())
        })
        .expect("open");
    assert_eq!(first, Opened::Started(std::process::id()));
    assert_eq!(started, vec![(Window::History, Some(package("pkg")))]);
    let second = tray
        .server
        .open(Window::Settings, None, |_, _| {
            panic!("one is starting already")
        })
        .expect("open");
    assert_eq!(second, Opened::Queued);

    // Another process ending changes nothing; the window process connects.
    tray.server.exited(1);
    let (_client, mut told) = window(&path);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );
    assert_eq!(
        next(&mut told).await,
        ToWindows::Open {
            window: Window::Settings,
            show: None
        },
        "the window asked while it started (the first was on its command line)"
    );
}

#[tokio::test]
async fn a_window_process_that_ends_before_connecting_is_replaced_by_the_next_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tray = Tray::serve(&sock(&dir));
    let start = |pid| move |_: Window, _: Option<&Focus>| Ok(pid);
    assert_eq!(
        tray.server
            .open(Window::History, None, start(10))
            .expect("open"),
        Opened::Started(10)
    );
    tray.server.exited(10);
    assert_eq!(
        tray.server
            .open(Window::History, None, start(11))
            .expect("open"),
        Opened::Started(11)
    );
    // A start that fails is reported and leaves nothing starting.
    tray.server.exited(11);
    let failed = tray.server.open(Window::History, None, |_, _| {
        Err(std::io::Error::other("no such binary"))
    });
    assert!(failed.is_err());
    assert_eq!(
        tray.server
            .open(Window::History, None, start(12))
            .expect("open"),
        Opened::Started(12)
    );
}

#[tokio::test]
async fn without_a_tray_a_window_says_so_and_picks_it_up_when_it_starts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let (client, mut told) = window(&path);
    let ToWindows::Status { status: down } = next(&mut told).await else {
        panic!("a status first");
    };
    assert_eq!(down, Status::tray_not_running());
    assert!(down
        .error
        .as_deref()
        .is_some_and(|e| e.contains("not running")));
    assert!(!client.send(ToTray::AllSeen), "nobody to tell");
    assert_eq!(client.reload().await, Ok(false), "nothing to apply it");

    let tray = Tray::serve(&path);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );

    // The tray goes away: the window says so again.
    drop(tray);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status {
            status: Status::tray_not_running()
        }
    );
    assert_eq!(client.status(), Status::tray_not_running());
}

#[tokio::test]
async fn a_live_socket_is_never_taken_over_and_a_stale_one_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    let err = Server::bind(&path).expect_err("another tray answers there");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    drop(tray);

    // A socket file nobody answers on (a tray that was killed).
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).expect("bind"));
    assert!(stale.exists());
    let listener = Server::bind(&stale).expect("a stale socket is replaced");
    drop(listener);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path.parent().expect("dir"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "the socket's folder is the user's alone"
        );
    }
}

#[tokio::test]
async fn lines_that_do_not_parse_are_skipped_and_an_endless_line_ends_only_that_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sock(&dir);
    let tray = Tray::serve(&path);
    ours(&tray);
    let mut raw = tokio::net::UnixStream::connect(&path)
        .await
        .expect("connect");
    raw.write_all(b"not json\n{\"kind\":\"nonsense\"}\n{\"kind\":\"all_seen\"}\n")
        .await
        .expect("write");
    assert_eq!(tray.wait_heard(1).await, vec![ToTray::AllSeen]);

    let huge = vec![b'x'; herald_desktop::link::MAX_LINE + 10];
    // The tray may close the link while this is still being written.
    let _ = raw.write_all(&huge).await;
    let _ = raw.write_all(b"\n{\"kind\":\"all_seen\"}\n").await;
    // The tray closes that link (after its greeting)...
    let mut buf = vec![0; 4096];
    tokio::time::timeout(WAIT, async {
        while matches!(raw.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
    .expect("the tray closed the link");
    // ...having read nothing after the endless line, and still serves others.
    assert_eq!(tray.wait_heard(1).await, vec![ToTray::AllSeen]);
    let (client, mut told) = window(&path);
    assert_eq!(
        next(&mut told).await,
        ToWindows::Status { status: status(7) }
    );
    assert!(client.send(ToTray::Seen {
        ids: vec!["after".into()]
    }));
    assert_eq!(
        tray.wait_heard(2).await,
        vec![
            ToTray::AllSeen,
            ToTray::Seen {
                ids: vec!["after".into()]
            }
        ]
    );
}

#[test]
fn the_socket_is_in_the_runtime_folder_or_beside_the_history() {
    // One test changes the environment, so both cases are here, one after the other.
    std::env::set_var("XDG_RUNTIME_DIR", "/run/user/1000");
    assert_eq!(
        socket_path(Path::new("/home/u/.local/share/herald/history.db")),
        Path::new("/run/user/1000/herald/desktop.sock")
    );
    std::env::remove_var("XDG_RUNTIME_DIR");
    assert_eq!(
        socket_path(Path::new("/home/u/.local/share/herald/history.db")),
        Path::new("/home/u/.local/share/herald/run/desktop.sock"),
        "a folder of its own, so making it private leaves the history's alone"
    );
}

#[test]
fn the_command_line_chooses_the_tray_the_history_or_a_window_process() {
    let parse = |args: &[&str]| {
        Start::from_args(
            std::iter::once("herald-desktop")
                .chain(args.iter().copied())
                .map(str::to_owned),
        )
    };
    assert_eq!(parse(&[]), Ok(Start::History));
    assert_eq!(parse(&["--tray"]), Ok(Start::Tray));
    assert_eq!(
        parse(&["--automation"]),
        Ok(Start::History),
        "a launcher's flag"
    );
    assert_eq!(
        parse(&["--window", "settings"]),
        Ok(Start::Window {
            which: Window::Settings,
            show: None
        })
    );
    assert_eq!(
        parse(&["--window", "history", "--show", "--odd-id"]),
        Ok(Start::Window {
            which: Window::History,
            show: Some(message("--odd-id"))
        }),
        "an id is taken whole, whatever it looks like"
    );
    assert_eq!(
        parse(&["--window", "history", "--package", "python-requests"]),
        Ok(Start::Window {
            which: Window::History,
            show: Some(package("python-requests"))
        })
    );
    assert!(parse(&["--window", "about"]).is_err());
    assert!(parse(&["--window"]).is_err());
    assert!(parse(&["--window", "history", "--show"]).is_err());
    assert!(parse(&["--window", "history", "--package"]).is_err());
}
