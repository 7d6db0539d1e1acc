//! One broker connection: the fedora-messaging keys (URL, TLS, exchanges, queues, bindings,
//! prefetch), read unchanged, for the top level of the file or a `[herald.connections.<name>]`
//! table.

use super::{
    fedora_cert_dir, redact_url, BindingSpec, CatchUpTuning, ExchangeSpec, Qos, QueueSpec,
    RawConnection, Tls, FEDORA_PUBLIC_URL, PRIMARY,
};
use crate::error::ConfigError;
use std::collections::BTreeMap;

/// One broker: where it is, how to log in, what to declare and bind. The fedora-messaging
/// keys, read unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub name: String,
    pub amqp_url: String,
    pub tls: Tls,
    pub client_properties: BTreeMap<String, String>,
    pub exchanges: BTreeMap<String, ExchangeSpec>,
    pub queues: BTreeMap<String, QueueSpec>,
    pub bindings: Vec<BindingSpec>,
    pub qos: Qos,
    pub passive_declares: bool,
    /// True when the broker settings are the built-in Fedora public profile.
    pub fedora_public_profile: bool,
}

/// The queue a connection uses when its config names none. It stands for a name the history
/// keeps per install ([`HistoryStore::generated_queue`](crate::history::HistoryStore::generated_queue)),
/// put in by [`Connection::with_generated_queue`] before connecting: a name drawn at every
/// load made each reload look like new broker settings. Not UUID-shaped, so a broker that
/// insists on UUID names (the Fedora public one) refuses it if it ever got through.
pub const GENERATED_QUEUE: &str = "herald-generated-queue";

impl Connection {
    /// The Fedora public broker, with a private queue bound to everything.
    pub fn fedora_public(name: &str) -> Connection {
        let queue = GENERATED_QUEUE.to_owned();
        let dir = fedora_cert_dir();
        let cert = |f: &str| Some(dir.join(f));
        Connection {
            name: name.to_owned(),
            amqp_url: FEDORA_PUBLIC_URL.to_owned(),
            tls: Tls {
                ca_cert: cert("cacert.pem"),
                certfile: cert("fedora-cert.pem"),
                keyfile: cert("fedora-key.pem"),
            },
            client_properties: BTreeMap::new(),
            exchanges: BTreeMap::new(),
            queues: BTreeMap::from([(queue.clone(), private_queue())]),
            bindings: vec![BindingSpec {
                queue,
                exchange: "amq.topic".to_owned(),
                routing_keys: vec!["#".to_owned()],
                arguments: toml::Table::new(),
            }],
            qos: Qos::default(),
            passive_declares: false,
            fedora_public_profile: true,
        }
    }

    pub(super) fn from_raw(name: &str, raw: RawConnection) -> Connection {
        let mut c = match raw.amqp_url {
            None => Connection::fedora_public(name),
            Some(url) => Connection {
                amqp_url: url,
                tls: Tls::default(),
                ..Connection::fedora_public(name)
            },
        };
        c.fedora_public_profile = c.amqp_url == FEDORA_PUBLIC_URL;
        if let Some(tls) = raw.tls {
            c.tls = tls;
        }
        c.client_properties = raw
            .client_properties
            .into_iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        if let Some(x) = raw.exchanges {
            c.exchanges = x;
        }
        if let Some(q) = raw.queues {
            c.queues = q;
            // A file that names its queues but no bindings binds nothing, as in fedora-messaging.
            c.bindings = Vec::new();
        }
        if let Some(b) = raw.bindings {
            c.bindings = b;
        }
        if let Some(q) = raw.qos {
            c.qos = q;
        }
        c.passive_declares = raw.passive_declares;
        c
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let prefix = if self.name == PRIMARY {
            String::new()
        } else {
            format!("herald.connections.{}.", self.name)
        };
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: format!("{prefix}{key}"),
            reason,
        };
        let scheme = self.amqp_url.split("://").next().unwrap_or_default();
        if !matches!(scheme, "amqp" | "amqps") || !self.amqp_url.contains("://") {
            return Err(invalid(
                "amqp_url",
                "must start with amqp:// or amqps://".to_owned(),
            ));
        }
        if self.tls.certfile.is_some() != self.tls.keyfile.is_some() {
            return Err(invalid(
                "tls",
                "certfile and keyfile must be given together".to_owned(),
            ));
        }
        for b in &self.bindings {
            if !self.queues.contains_key(&b.queue) {
                return Err(invalid(
                    "bindings",
                    format!(
                        "binding names queue {:?}, which [queues] does not declare",
                        b.queue
                    ),
                ));
            }
        }
        if self.queues.is_empty() {
            return Err(invalid("queues", "at least one queue is needed".to_owned()));
        }
        if self.qos.prefetch_count == 0 {
            return Err(invalid(
                "qos.prefetch_count",
                "0 means unlimited; give a number, e.g. 25".to_owned(),
            ));
        }
        Ok(())
    }

    /// Whether the config names no queue, so Herald uses the one it keeps for this install.
    pub fn uses_generated_queue(&self) -> bool {
        self.queues.contains_key(GENERATED_QUEUE)
    }

    /// This connection with the generated queue's stand-in replaced by `name`. With `kept`,
    /// the queue outlives the connection (durable, neither exclusive nor auto-deleted) so a
    /// restart or a short absence misses nothing, and carries its own expiry and length limit
    /// so an abandoned install never grows it without bound on a broker without a sweeper
    /// policy. Without, it is private to the connection (for a broker that refuses the other).
    pub fn with_generated_queue(mut self, name: &str, kept: Option<&CatchUpTuning>) -> Connection {
        if self.queues.remove(GENERATED_QUEUE).is_some() {
            let spec = match kept {
                Some(t) => kept_queue(t),
                None => private_queue(),
            };
            self.queues.insert(name.to_owned(), spec);
            for b in &mut self.bindings {
                if b.queue == GENERATED_QUEUE {
                    b.queue = name.to_owned();
                }
            }
        }
        self
    }

    /// The broker URL with any password replaced, safe for logs and messages.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.amqp_url)
    }
}

fn kept_queue(t: &CatchUpTuning) -> QueueSpec {
    let mut arguments = toml::Table::new();
    let int = |n: u64| toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    arguments.insert("x-expires".to_owned(), int(t.queue_expires_ms.max(1)));
    arguments.insert("x-max-length-bytes".to_owned(), int(t.queue_max_bytes));
    QueueSpec {
        durable: true,
        auto_delete: false,
        exclusive: false,
        arguments,
    }
}

fn private_queue() -> QueueSpec {
    // The public broker only lets anonymous consumers declare exclusive, auto-deleted queues.
    QueueSpec {
        durable: false,
        auto_delete: true,
        exclusive: true,
        arguments: toml::Table::new(),
    }
}
