//! "Test connection" for the settings window: log in the way the pipeline would, open a
//! channel, check passively that `amq.topic` is there, close. The answer is one sentence a
//! person can act on: connected to whom, as whom, which broker version; or why not —
//! refused, TLS, authentication, unknown vhost, no answer in time.
//!
//! The page names the address, so the answer must not make the test a way to look around
//! the network: until a broker has greeted, a failure is only ever "refused or
//! unreachable", "no answer in time" or "TLS failed" (the detail goes to Herald's log),
//! and secrets come only as [`Credentials`] allow.
//!
//! Before logging in, the broker's greeting (AMQP `connection.start`, sent before any
//! credentials) is read on a separate socket: it tells the product and version, which lapin
//! does not expose, and it separates network and TLS trouble from login trouble.

use super::{properties, Credentials, Login, PasswordFrom};
use crate::config;
use futures_util::{AsyncReadExt as _, AsyncWriteExt as _};
use lapin::options::ExchangeDeclareOptions;
use lapin::protocol::{connection, AMQPClass};
use lapin::tcp::AMQPUriTcpExt as _;
use lapin::types::{AMQPValue, FieldTable};
use lapin::uri::SASLMechanism;
use lapin::{Connection, ErrorKind, ExchangeKind};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The outcome of [`probe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TestResult {
    pub ok: bool,
    /// What happened, for a person: never holds a secret.
    pub message: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
}

/// The largest greeting read; RabbitMQ's is well under 1 KiB.
const GREETING_MAX: usize = 64 * 1024;
const AMQP_0_9_1: &[u8; 8] = b"AMQP\x00\x00\x09\x01";

/// Tries `cfg` within `timeout`: connect, log in, open a channel, check `amq.topic`
/// passively, close.
pub async fn probe(
    cfg: &config::Connection,
    creds: &Credentials<'_>,
    timeout: Duration,
) -> TestResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, attempt(cfg, creds)).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (ok, message) = match outcome {
        Ok(Ok(message)) => (true, message),
        Ok(Err(reason)) => (false, reason),
        Err(_) => (
            false,
            format!(
                "No answer from {} within {}: is the host reachable, and is the port right?",
                endpoint(cfg),
                seconds(timeout)
            ),
        ),
    };
    TestResult {
        ok,
        message,
        elapsed_ms,
    }
}

async fn attempt(cfg: &config::Connection, creds: &Credentials<'_>) -> Result<String, String> {
    let login = Login::prepare(cfg, creds)
        .await
        .map_err(|e| crate::error::error_chain(&e))?;
    let at = format!("{}:{}", login.uri.authority.host, login.uri.authority.port);
    let runtime = lapin::runtime::default_runtime().map_err(|e| e.to_string())?;
    let stream = login
        .uri
        .connect_with_config_async(login.tls.as_ref(), &runtime)
        .await
        .map_err(|e| unreachable_or_tls(&at, &e))?;
    let server = greeting(stream, &at).await?;

    let external = login.uri.query.auth_mechanism == Some(SASLMechanism::External);
    let user = if external {
        "the client certificate's user".to_owned()
    } else {
        login.uri.authority.userinfo.username.clone()
    };
    let vhost = login.uri.vhost.clone();
    let password_note = match login.password {
        Some(PasswordFrom::NotStored) => " No password is stored for this connection: set one.",
        Some(PasswordFrom::NotAsked) => {
            " These are not the saved settings, so no stored password was sent: type the \
             password to test them."
        }
        Some(PasswordFrom::Keyring) => " The password stored for this connection was not accepted.",
        Some(PasswordFrom::Typed) => " The password typed was not accepted.",
        None => "",
    };
    let conn = Connection::connect_uri_with_config(login.uri, properties(cfg), login.tls, runtime)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::ProtocolError(amqp) => match amqp.get_id() {
                403 => format!(
                    "Authentication failed: {at} refused the login of {user} \
                     (ACCESS_REFUSED).{password_note}"
                ),
                530 if amqp.get_message().as_str().contains("not found") => format!(
                    "Unknown virtual host {vhost:?} on {at}: check the path of the URL \
                     (\"/\" is written %2F)"
                ),
                530 => format!(
                    "{user} may not use the virtual host {vhost:?} on {at} ({})",
                    amqp.get_message()
                ),
                _ => format!("{at} refused the connection: {}", amqp.get_message()),
            },
            // RabbitMQ closes the socket on a failed login when the client cannot be told.
            ErrorKind::IOError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => format!(
                "Authentication failed: {at} closed the connection while logging in {user}.\
                 {password_note}"
            ),
            _ => {
                tracing::info!("connection test of {at}: the login failed: {e}");
                format!("Cannot log in to {at}: the connection failed (details in Herald's log)")
            }
        })?;
    let checked = check_topic(&conn).await;
    // Best effort: the answer is already known; a failed close changes nothing for it.
    let _ = conn.close(200, "connection test done".into()).await;
    checked.map_err(|reason| format!("Logged in to {at} as {user}, but {reason}"))?;
    Ok(format!("Connected to {at} as {user} ({server})"))
}

/// "Refused or unreachable", or "TLS failed": all a failure before the greeting may tell
/// the page. What actually happened goes to the log.
fn unreachable_or_tls(at: &str, e: &std::io::Error) -> String {
    tracing::info!("connection test of {at}: {e}");
    if is_tls_error(e) {
        format!("TLS failed with {at} (details in Herald's log)")
    } else {
        unreachable(at)
    }
}

fn unreachable(at: &str) -> String {
    format!("Cannot connect to {at}: refused or unreachable, or no AMQP broker answers there")
}

/// Opens a channel and looks for `amq.topic` without creating anything.
async fn check_topic(conn: &Connection) -> Result<(), String> {
    let channel = conn
        .create_channel()
        .await
        .map_err(|e| format!("no channel could be opened ({e})"))?;
    let passive = ExchangeDeclareOptions {
        passive: true,
        ..ExchangeDeclareOptions::default()
    };
    let found = channel
        .exchange_declare(
            "amq.topic".into(),
            ExchangeKind::Topic,
            passive,
            FieldTable::default(),
        )
        .await;
    match found {
        Ok(()) => {
            let _ = channel.close(200, "connection test done".into()).await;
            Ok(())
        }
        Err(e) => Err(format!("the exchange amq.topic cannot be used there ({e})")),
    }
}

/// Reads the broker's `connection.start`: "RabbitMQ 3.13.7", or why there was none, in the
/// coarse words of [`unreachable_or_tls`].
async fn greeting<S>(mut stream: S, at: &str) -> Result<String, String>
where
    S: futures_util::io::AsyncRead + futures_util::io::AsyncWrite + Unpin,
{
    let not_amqp = |why: &str| {
        tracing::info!("connection test of {at}: no AMQP 0-9-1 greeting ({why})");
        unreachable(at)
    };
    stream
        .write_all(AMQP_0_9_1)
        .await
        .map_err(|e| unreachable_or_tls(at, &e))?;
    let mut header = [0u8; 7];
    stream.read_exact(&mut header).await.map_err(|e| {
        if is_tls_error(&e) {
            unreachable_or_tls(at, &e)
        } else {
            not_amqp("it closed the connection without a greeting")
        }
    })?;
    if header[0] != 1 {
        return Err(not_amqp("its first frame is not a method frame"));
    }
    let size = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > GREETING_MAX {
        return Err(not_amqp("its greeting is too large"));
    }
    let mut payload = vec![0u8; size];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(|_| not_amqp("its greeting is cut short"))?;
    let start = match lapin::protocol::parse_class(payload.as_slice()) {
        Ok((_, AMQPClass::Connection(connection::AMQPMethod::Start(start)))) => start,
        _ => return Err(not_amqp("its greeting is not connection.start")),
    };
    let text = |key: &str| match start.server_properties.inner().get(key) {
        Some(AMQPValue::LongString(s)) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        _ => None,
    };
    Ok(match (text("product"), text("version")) {
        (Some(p), Some(v)) => format!("{p} {v}"),
        (Some(p), None) => p,
        _ => format!("AMQP {}-{}", start.version_major, start.version_minor),
    })
}

/// rustls reports handshake and certificate problems as `InvalidData`, but some arrive
/// wrapped as `Other`.
fn is_tls_error(e: &std::io::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    e.kind() == std::io::ErrorKind::InvalidData
        || ["certificate", "tls", "handshake", "alert"]
            .iter()
            .any(|w| text.contains(w))
}

/// `host:port` of a connection, for messages; never the user or password.
fn endpoint(cfg: &config::Connection) -> String {
    match url::Url::parse(&cfg.amqp_url) {
        Ok(u) => {
            let default = if u.scheme() == "amqps" { 5671 } else { 5672 };
            format!(
                "{}:{}",
                u.host_str().unwrap_or("localhost"),
                u.port().unwrap_or(default)
            )
        }
        Err(_) => "the broker".to_owned(),
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}
