//! Fault-injecting proxies in front of real services. [`HttpFaults`] stands before the real
//! datagrepper and answers chosen requests itself (a 500, a 502, an HTML 400 page, or no
//! answer at all), passing the rest through; it records every request line and the most
//! requests ever in flight at once. [`TcpBlackhole`] stands before the broker and can stop
//! forwarding on the connections it already carries without closing them, which is what a
//! connection that died while the laptop slept looks like to the client. [`TcpRecorder`]
//! stands before the broker on another port and keeps every byte clients sent through it,
//! to prove what a client did or did not send there.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// An error status with a JSON-free plain body.
    Status(u16),
    /// A 400 with an HTML page, as a proxy or the server's own error page sends.
    Html400,
    /// Reads the request and never answers (until the client gives up).
    Hang,
}

#[derive(Debug, Default)]
struct Shared {
    /// Faults for the next requests, in order; then everything passes.
    plan: Mutex<VecDeque<Fault>>,
    /// Fault for every request whose number (from 1) is in the list.
    at: Mutex<Vec<(usize, Fault)>>,
    lines: Mutex<Vec<String>>,
    heads: Mutex<Vec<String>>,
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// An HTTP/1.1 proxy with faults; see the module documentation.
#[derive(Debug)]
pub struct HttpFaults {
    port: u16,
    shared: Arc<Shared>,
}

impl HttpFaults {
    /// Proxies to the server whose root URL is `upstream` (`http://127.0.0.1:P/`).
    pub fn start(upstream: &str) -> HttpFaults {
        let addr: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("upstream {upstream} is not http://ip:port/: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(client, addr, &s));
            }
        });
        HttpFaults { port, shared }
    }

    /// The proxied root URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The next requests meet these faults, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.shared
            .plan
            .lock()
            .expect("plan")
            .extend(faults.iter().copied());
    }

    /// Request number `n` (from 1, counting every request so far) meets `fault`.
    pub fn fail_at(&self, n: usize, fault: Fault) {
        self.shared.at.lock().expect("at").push((n, fault));
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Every request's header lines, lower-cased, in arrival order.
    pub fn heads(&self) -> Vec<String> {
        self.shared.heads.lock().expect("heads").clone()
    }

    /// Every request's target (`/v2/search?…`), in arrival order.
    pub fn targets(&self) -> Vec<String> {
        self.shared.lines.lock().expect("lines").clone()
    }
}

fn serve(mut client: TcpStream, upstream: SocketAddr, s: &Shared) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(match client.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    });
    // One request per connection: every answer says `Connection: close`.
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let n = s.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let target = head[0].split_whitespace().nth(1).unwrap_or("").to_owned();
    s.lines.lock().expect("lines").push(target);
    s.heads
        .lock()
        .expect("heads")
        .push(head.concat().to_ascii_lowercase());
    let fault = {
        let at = s.at.lock().expect("at");
        at.iter().find(|(i, _)| *i == n).map(|(_, f)| *f)
    }
    .or_else(|| s.plan.lock().expect("plan").pop_front())
    .unwrap_or(Fault::Pass);
    let answered = || s.in_flight.fetch_sub(1, Ordering::SeqCst);
    match fault {
        Fault::Pass => pass(&mut client, upstream, &head, &s.in_flight),
        Fault::Status(code) => {
            answered();
            answer(&mut client, code, "text/plain", "failing on purpose\n");
        }
        Fault::Html400 => {
            answered();
            answer(
                &mut client,
                400,
                "text/html; charset=utf-8",
                "<!doctype html><html><body><h1>Bad Request</h1></body></html>\n",
            );
        }
        Fault::Hang => {
            // Wait for the client to give up (it closes its end) or two minutes.
            let mut buf = [0u8; 64];
            let _ = client.read(&mut buf);
            answered();
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn answer(client: &mut TcpStream, code: u16, kind: &str, body: &str) {
    let _ = write!(
        client,
        "HTTP/1.1 {code} Fault\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Forwards one request and its answer. The whole answer is read from the server first and
/// the request stops counting as in flight before the client gets it, so a request that
/// arrives while another is counted was truly sent before the other was answered.
fn pass(client: &mut TcpStream, upstream: SocketAddr, head: &[String], in_flight: &AtomicUsize) {
    let done = || in_flight.fetch_sub(1, Ordering::SeqCst);
    let Ok(mut up) = TcpStream::connect(upstream) else {
        done();
        answer(client, 502, "text/plain", "upstream down\n");
        return;
    };
    for line in head {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("keep-alive:") {
            continue;
        }
        if line == "\r\n" {
            let _ = up.write_all(b"Connection: close\r\n");
        }
        let _ = up.write_all(line.as_bytes());
    }
    let mut response = Vec::new();
    let _ = up.read_to_end(&mut response);
    done();
    let _ = client.write_all(&response);
}

/// A TCP proxy that can silently stop carrying the connections it has; see the module
/// documentation.
#[derive(Debug)]
pub struct TcpBlackhole {
    port: u16,
    epoch: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl TcpBlackhole {
    pub fn start(upstream: SocketAddr) -> TcpBlackhole {
        let epoch = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let e = epoch.clone();
        let port = proxy(upstream, stop.clone(), move || {
            let (e, born) = (e.clone(), e.load(Ordering::SeqCst));
            // Swallowed, not refused: the other side hears nothing at all, not even a close.
            move |_: &[u8], _: bool| e.load(Ordering::SeqCst) == born
        });
        TcpBlackhole { port, epoch, stop }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every connection carried so far goes silent (open, but nothing passes either way);
    /// new connections pass.
    pub fn silence_existing(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for TcpBlackhole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A TCP proxy to `upstream` that records every byte its clients send; see the module
/// documentation.
#[derive(Debug)]
pub struct TcpRecorder {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl TcpRecorder {
    pub fn start(upstream: SocketAddr) -> TcpRecorder {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (rec, count) = (sent.clone(), connections.clone());
        let port = proxy(upstream, stop.clone(), move || {
            count.fetch_add(1, Ordering::SeqCst);
            let rec = rec.clone();
            move |bytes: &[u8], from_client: bool| {
                if from_client {
                    rec.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(bytes);
                }
                true
            }
        });
        TcpRecorder {
            port,
            sent,
            connections,
            stop,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything clients sent so far, all connections together.
    pub fn sent(&self) -> Vec<u8> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many connections it took.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Whether `needle` is anywhere in what clients sent.
    pub fn saw(&self, needle: &[u8]) -> bool {
        self.sent().windows(needle.len()).any(|w| w == needle)
    }
}

impl Drop for TcpRecorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A TCP proxy on a port of its own to `upstream`, until `stop`; returns the port. For each
/// connection `each_connection` makes the filter its two directions share: it sees every
/// chunk (and whether the client sent it) and says whether the chunk, and in the end the
/// close, are passed on.
fn proxy<F>(
    upstream: SocketAddr,
    stop: Arc<AtomicBool>,
    each_connection: impl Fn() -> F + Send + 'static,
) -> u16
where
    F: Fn(&[u8], bool) -> bool + Clone + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().expect("proxy address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let Ok(up) = TcpStream::connect(upstream) else {
                continue;
            };
            let pass = each_connection();
            for (from, to, from_client) in [
                (client.try_clone(), up.try_clone(), true),
                (up.try_clone(), client.try_clone(), false),
            ] {
                let (Ok(mut from), Ok(mut to)) = (from, to) else {
                    continue;
                };
                let pass = pass.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if pass(&buf[..n], from_client) && to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    if pass(&[], from_client) {
                        let _ = to.shutdown(Shutdown::Write);
                    }
                });
            }
        }
    });
    port
}
