//! Arrival times of the fake server's `Notify` calls, for latency measurements.

use super::{FakeNotifications, Shared};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// When each `Notify` call reached a [`FakeNotifications`], for latency measurements: a
/// watcher thread, woken by the fake's condition variable as each call is recorded, stamps it
/// with [`Instant::now`] (microseconds after the server handled it). Calls recorded before
/// [`FakeNotifications::clock`] have no instant. Stops on drop.
#[derive(Debug)]
pub struct CallClock {
    recorded: Shared,
    times: Arc<(Mutex<Vec<Option<Instant>>>, Condvar)>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl FakeNotifications {
    /// Starts stamping the arrival of every `Notify` call from now on.
    pub fn clock(&self) -> CallClock {
        use std::sync::atomic::Ordering;
        let recorded = self.recorded.clone();
        let times: Arc<(Mutex<Vec<Option<Instant>>>, Condvar)> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shared, out, halt) = (recorded.clone(), times.clone(), stop.clone());
        let watcher = std::thread::Builder::new()
            .name("fake-notify-clock".into())
            .spawn(move || {
                let (lock, cvar) = &*shared;
                let mut r = lock.lock().unwrap_or_else(|e| e.into_inner());
                {
                    let mut t = out.0.lock().unwrap_or_else(|e| e.into_inner());
                    t.resize(r.calls.len(), None);
                }
                // Sent while holding the lock: no call can be recorded before the wait below.
                let _ = ready_tx.send(());
                loop {
                    if halt.load(Ordering::SeqCst) {
                        return;
                    }
                    let n = r.calls.len();
                    {
                        let mut t = out.0.lock().unwrap_or_else(|e| e.into_inner());
                        if t.len() < n {
                            let now = Instant::now();
                            t.resize(n, Some(now));
                            out.1.notify_all();
                        }
                    }
                    r = cvar.wait(r).unwrap_or_else(|e| e.into_inner());
                }
            })
            .expect("start the clock thread");
        ready_rx.recv().expect("the clock thread started");
        CallClock {
            recorded,
            times,
            stop,
            watcher: Some(watcher),
        }
    }
}

impl CallClock {
    /// The instant call number `index` (0-based, in [`FakeNotifications::calls`] order)
    /// arrived, waiting up to `timeout` for it; panics after that, or if the call was recorded
    /// before the clock started.
    pub fn arrival(&self, index: usize, timeout: Duration) -> Instant {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.times;
        let mut t = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(at) = t.get(index) {
                return at.unwrap_or_else(|| {
                    panic!("Notify call {index} arrived before the clock started")
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no Notify call {index} within {timeout:?} ({} so far)",
                t.len()
            );
            t = cvar
                .wait_timeout(t, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for CallClock {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        {
            // Under the lock, so the watcher is either before its stop check or waiting.
            let _guard = self.recorded.0.lock().unwrap_or_else(|e| e.into_inner());
            self.recorded.1.notify_all();
        }
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}
