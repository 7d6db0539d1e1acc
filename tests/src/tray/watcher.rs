//! The fake `org.kde.StatusNotifierWatcher` ([`FakeWatcher`]) that the app's tray icon
//! registers with, and what a registration says ([`Registration`]).

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use zbus::message::Header;
use zbus::Connection;

use super::{WATCHER_NAME, WATCHER_PATH};
use crate::dbus::SessionBus;

/// An item as it registered: who called, and what it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The unique bus name of the caller.
    pub sender: String,
    /// A bus name, or (libappindicator) the item's object path.
    pub service: String,
}

impl Registration {
    /// Where the item is: its bus name and object path (the spec's default path when the
    /// service is a bus name).
    pub fn address(&self) -> (String, String) {
        if self.service.starts_with('/') {
            (self.sender.clone(), self.service.clone())
        } else {
            (self.service.clone(), "/StatusNotifierItem".to_owned())
        }
    }
}

type Registry = Arc<(Mutex<Vec<Registration>>, Condvar)>;

/// `org.kde.StatusNotifierWatcher` served from this process on a [`SessionBus`], with a host
/// always registered (so tray libraries do not fall back to the old X11 tray).
#[derive(Debug)]
pub struct FakeWatcher {
    _conn: Connection,
    registry: Registry,
}

struct Watcher {
    registry: Registry,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, #[zbus(header)] header: Header<'_>, service: &str) {
        let (lock, cvar) = &*self.registry;
        lock.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Registration {
                sender: header.sender().map(|s| s.to_string()).unwrap_or_default(),
                service: service.to_owned(),
            });
        cvar.notify_all();
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        let items = self.registry.0.lock().unwrap_or_else(|e| e.into_inner());
        items
            .iter()
            .map(|r| {
                let (name, path) = r.address();
                format!("{name}{path}")
            })
            .collect()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

impl FakeWatcher {
    pub fn start(bus: &SessionBus) -> FakeWatcher {
        let registry: Registry = Arc::default();
        let watcher = Watcher {
            registry: registry.clone(),
        };
        let conn = zbus::block_on(
            zbus::connection::Builder::address(bus.address())
                .serve_at(WATCHER_PATH, watcher)
                .name(WATCHER_NAME)
                .build(),
        )
        .unwrap_or_else(|e| panic!("cannot serve {WATCHER_NAME} on {}: {e}", bus.address()));
        FakeWatcher {
            _conn: conn,
            registry,
        }
    }

    /// Waits for the first item to register; panics after `timeout`, with `context` (the app's
    /// log, say) in the message.
    pub fn wait_for_item(&self, timeout: Duration, context: impl Fn() -> String) -> Registration {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.registry;
        let mut items = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(first) = items.first() {
                return first.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no tray item registered with the watcher within {timeout:?}\n{}",
                context()
            );
            items = cvar
                .wait_timeout(items, left.min(Duration::from_millis(200)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub fn registrations(&self) -> Vec<Registration> {
        self.registry
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
