//! Hearing the machine sleep and wake. logind announces both with `PrepareForSleep` on the
//! system bus; where there is no logind (or no system bus), a jump of the wall clock against
//! the monotonic clock (which stops while the machine sleeps) says the same after the fact.
//! On waking, the pipeline checks each connection at once instead of waiting a minute or more
//! for the broker heartbeat to notice a connection that died in its sleep.

use std::time::{Duration, Instant, SystemTime};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use zbus::{MatchRule, MessageStream};

const LOGIND: &str = "org.freedesktop.login1";
/// How often the clocks are compared.
const CLOCK_CHECK: Duration = Duration::from_secs(5);
/// A wall clock ahead of the monotonic one by more than this means the machine slept (NTP
/// steps are usually far smaller; a false alarm costs only a connection check).
const CLOCK_JUMP: Duration = Duration::from_secs(20);

/// What the watcher hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepEvent {
    /// logind: the machine is about to sleep.
    Sleeping,
    /// The machine woke (logind), or the clock jumped by about `slept`.
    Woke { slept: Option<Duration> },
}

/// Starts watching; events go to every subscriber of the returned sender until `cancel`.
pub fn watch(cancel: CancellationToken) -> broadcast::Sender<SleepEvent> {
    let (tx, _) = broadcast::channel(16);
    tokio::spawn(logind(tx.clone(), cancel.clone()));
    tokio::spawn(clock(tx.clone(), cancel));
    tx
}

async fn logind(tx: broadcast::Sender<SleepEvent>, cancel: CancellationToken) {
    let stream = match subscribe().await {
        Ok(s) => s,
        Err(e) => {
            // No system bus (a container, a test): the clock check still covers suspend.
            tracing::debug!(error = %e, "not listening to logind; relying on the clock");
            return;
        }
    };
    tracing::debug!("listening to logind for suspend and resume");
    use futures_util::StreamExt;
    let mut stream = stream;
    loop {
        let msg = tokio::select! {
            _ = cancel.cancelled() => return,
            m = stream.next() => m,
        };
        let Some(Ok(msg)) = msg else { return };
        let Ok(start) = msg.body().deserialize::<bool>() else {
            continue;
        };
        let _ = tx.send(if start {
            SleepEvent::Sleeping
        } else {
            SleepEvent::Woke { slept: None }
        });
    }
}

async fn subscribe() -> zbus::Result<MessageStream> {
    // `DBUS_SYSTEM_BUS_ADDRESS` is honoured, which is how the tests give it a private bus.
    let conn = zbus::Connection::system().await?;
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(LOGIND)
        .path("/org/freedesktop/login1")
        .interface("org.freedesktop.login1.Manager")
        .member("PrepareForSleep")
        .build()?;
    MessageStream::for_match_rule(rule, &conn, None).await
}

async fn clock(tx: broadcast::Sender<SleepEvent>, cancel: CancellationToken) {
    let mut mono = Instant::now();
    let mut wall = SystemTime::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(CLOCK_CHECK) => {}
        }
        let (m, w) = (Instant::now(), SystemTime::now());
        if let Some(slept) = jumped(m.duration_since(mono), w.duration_since(wall).ok()) {
            let _ = tx.send(SleepEvent::Woke { slept: Some(slept) });
        }
        (mono, wall) = (m, w);
    }
}

/// How long the machine slept, when the wall clock moved on by clearly more than the
/// monotonic clock did.
fn jumped(monotonic: Duration, wall: Option<Duration>) -> Option<Duration> {
    let ahead = wall?.checked_sub(monotonic)?;
    (ahead > CLOCK_JUMP).then_some(ahead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_jump_is_a_sleep_and_small_drifts_are_not() {
        let s = Duration::from_secs;
        assert_eq!(jumped(s(5), Some(s(5))), None);
        assert_eq!(jumped(s(5), Some(s(6))), None, "an NTP step");
        assert_eq!(jumped(s(5), Some(s(3605))), Some(s(3600)));
        assert_eq!(jumped(s(5), None), None, "the wall clock went back");
        assert_eq!(jumped(s(50), Some(s(5))), None);
    }
}
