//! Declaring what the config asks for — exchanges, queues, the prefetch window — and binding
//! as narrowly as the rules allow, so the broker sends only what Herald may keep. The
//! planning is pure ([`plan()`]); this module applies a [`Plan`] with lapin, falls back to
//! client-side header filtering when the broker refuses Herald's own exchanges, and
//! [`rebind`]s at run time without losing a message.

mod plan;

pub use plan::{
    exchange_kind, plan, Arguments, Destination, OwnExchange, Plan, PlannedBinding,
    OWN_EXCHANGE_PREFIX,
};

use crate::config::{Connection, ExchangeSpec, QueueSpec};
use crate::error::BusError;
use crate::filter::{Action, RuleSpec};
use crate::message::headers_from_json;
use lapin::options::{
    BasicQosOptions, ExchangeBindOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
    ExchangeUnbindOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::{Channel, ExchangeKind};
use plan::arguments;

/// The `op` of the error when declaring one of Herald's own exchanges fails.
const OWN_EXCHANGE: &str = "declaring Herald's own exchange";

/// A topology in place on a channel.
#[derive(Debug)]
pub struct Applied {
    /// The channel it was declared on, with the connection's prefetch set.
    pub channel: Channel,
    /// What is bound now; pass it to [`rebind`] as the old plan.
    pub plan: Plan,
    /// The queues to consume.
    pub queues: Vec<String>,
    /// False when the broker refused Herald's own exchanges and header conditions are only
    /// checked client-side.
    pub server_side_headers: bool,
}

impl Applied {
    /// The plan for changed rules on this broker, for [`rebind`]: with Herald's own
    /// exchanges only if the broker allowed them at [`setup`].
    pub fn replan(&self, conn: &Connection, rules: &[RuleSpec], unmatched: Action) -> Plan {
        plan(conn, rules, unmatched, self.server_side_headers)
    }
}

/// Opens a channel and declares the narrowest topology `rules` allow. When the broker
/// refuses Herald's own exchanges (the Fedora public broker does), says so once and declares
/// a plan without them on a fresh channel: header conditions are then checked client-side.
pub async fn setup(
    connection: &lapin::Connection,
    conn: &Connection,
    rules: &[RuleSpec],
    unmatched: Action,
) -> Result<Applied, BusError> {
    let channel = open_channel(connection).await?;
    let wanted = plan(conn, rules, unmatched, true);
    match declare_plan(&channel, conn, &wanted).await {
        Ok(queues) => Ok(Applied {
            channel,
            plan: wanted,
            queues,
            server_side_headers: true,
        }),
        Err(BusError::Topology { op, name, source })
            if op == OWN_EXCHANGE && access_refused(&source) =>
        {
            tracing::warn!(
                "the broker does not let Herald declare its own exchange {name}; header \
                 filters are applied client-side"
            );
            // ACCESS_REFUSED closed the channel; nothing was bound on it yet.
            let channel = open_channel(connection).await?;
            let fallback = plan(conn, rules, unmatched, false);
            let queues = declare_plan(&channel, conn, &fallback).await?;
            Ok(Applied {
                channel,
                plan: fallback,
                queues,
                server_side_headers: false,
            })
        }
        Err(e) => Err(e),
    }
}

/// Declares the configured topology unchanged (every configured binding as written) and
/// sets the prefetch. Returns the queue names to consume.
pub async fn declare(channel: &Channel, conn: &Connection) -> Result<Vec<String>, BusError> {
    declare_plan(channel, conn, &plan(conn, &[], Action::History, false)).await
}

/// Declares the configured exchanges and queues, then `p`'s own exchanges and bindings, and
/// sets the prefetch. Returns the queue names to consume.
pub async fn declare_plan(
    channel: &Channel,
    conn: &Connection,
    p: &Plan,
) -> Result<Vec<String>, BusError> {
    channel
        .basic_qos(conn.qos.prefetch_count, BasicQosOptions::default())
        .await
        .map_err(|source| BusError::Channel {
            op: "basic.qos",
            source,
        })?;
    for (name, spec) in &conn.exchanges {
        declare_exchange(channel, name, spec, conn.passive_declares).await?;
    }
    for (name, spec) in &conn.queues {
        declare_queue(channel, name, spec, conn.passive_declares).await?;
    }
    for x in &p.own_exchanges {
        declare_own(channel, x).await?;
    }
    for b in &p.bindings {
        bind(channel, b).await?;
    }
    Ok(conn.queues.keys().cloned().collect())
}

/// Switches from `old` to `new` without losing a message: every new binding is in place
/// (chains from the queue end outward) before any old one goes, and the queue and its
/// consumer are untouched. A message both route reaches the queue once: the broker routes
/// to a set of queues.
pub async fn rebind(channel: &Channel, old: &Plan, new: &Plan) -> Result<(), BusError> {
    for x in &new.own_exchanges {
        declare_own(channel, x).await?;
    }
    for b in new
        .bindings
        .iter()
        .rev()
        .filter(|b| !old.bindings.contains(b))
    {
        bind(channel, b).await?;
    }
    let gone: Vec<&OwnExchange> = old
        .own_exchanges
        .iter()
        .filter(|x| !new.own_exchanges.iter().any(|n| n.name == x.name))
        .collect();
    let is_gone = |name: &str| gone.iter().any(|x| x.name == name);
    for b in old.bindings.iter().filter(|b| !new.bindings.contains(b)) {
        // Deleting the exchange removes its bindings; unbinding first could auto-delete it
        // and make the delete fail.
        if is_gone(&b.source) || is_gone(b.destination.name()) {
            continue;
        }
        unbind(channel, b).await?;
    }
    // Chain order: an exchange goes before those it feeds, so none is auto-deleted early.
    for x in gone {
        channel
            .exchange_delete(
                x.name.as_str().into(),
                ExchangeDeleteOptions {
                    if_unused: false,
                    nowait: false,
                },
            )
            .await
            .map_err(|source| BusError::Topology {
                op: "deleting exchange",
                name: x.name.clone(),
                source,
            })?;
    }
    Ok(())
}

impl std::fmt::Display for PlannedBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}", self.source, self.destination.name())?;
        if !self.routing_key.is_empty() {
            write!(f, " ({})", self.routing_key)?;
        }
        if !self.arguments.is_empty() {
            let args = serde_json::to_string(&self.arguments).unwrap_or_default();
            write!(f, " {args}")?;
        }
        Ok(())
    }
}

async fn open_channel(connection: &lapin::Connection) -> Result<Channel, BusError> {
    connection
        .create_channel()
        .await
        .map_err(|source| BusError::Channel {
            op: "channel.open",
            source,
        })
}

/// Whether the broker refused an operation for who asked (403).
pub fn access_refused(e: &lapin::Error) -> bool {
    matches!(
        e.kind(),
        lapin::ErrorKind::ProtocolError(p)
            if matches!(p.kind(), AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED))
    )
}

async fn declare_own(channel: &Channel, x: &OwnExchange) -> Result<(), BusError> {
    let options = ExchangeDeclareOptions {
        passive: false,
        durable: x.durable,
        // Gone with the last binding out of it, so with the queue it feeds.
        auto_delete: true,
        // Only reachable through bindings: nobody publishes to it directly.
        internal: true,
        nowait: false,
    };
    channel
        .exchange_declare(
            x.name.as_str().into(),
            ExchangeKind::Headers,
            options,
            FieldTable::default(),
        )
        .await
        .map_err(|source| BusError::Topology {
            op: OWN_EXCHANGE,
            name: x.name.clone(),
            source,
        })
}

async fn bind(channel: &Channel, b: &PlannedBinding) -> Result<(), BusError> {
    let args = field_table(&b.arguments);
    let (source, key) = (b.source.as_str().into(), b.routing_key.as_str().into());
    let done = match &b.destination {
        Destination::Queue(q) => {
            channel
                .queue_bind(
                    q.as_str().into(),
                    source,
                    key,
                    QueueBindOptions::default(),
                    args,
                )
                .await
        }
        Destination::Exchange(x) => {
            channel
                .exchange_bind(
                    x.as_str().into(),
                    source,
                    key,
                    ExchangeBindOptions::default(),
                    args,
                )
                .await
        }
    };
    done.map_err(|source| BusError::Topology {
        op: "binding",
        name: b.to_string(),
        source,
    })
}

async fn unbind(channel: &Channel, b: &PlannedBinding) -> Result<(), BusError> {
    let args = field_table(&b.arguments);
    let (source, key) = (b.source.as_str().into(), b.routing_key.as_str().into());
    let done = match &b.destination {
        Destination::Queue(q) => {
            channel
                .queue_unbind(q.as_str().into(), source, key, args)
                .await
        }
        Destination::Exchange(x) => {
            channel
                .exchange_unbind(
                    x.as_str().into(),
                    source,
                    key,
                    ExchangeUnbindOptions::default(),
                    args,
                )
                .await
        }
    };
    done.map_err(|source| BusError::Topology {
        op: "unbinding",
        name: b.to_string(),
        source,
    })
}

async fn declare_exchange(
    channel: &Channel,
    name: &str,
    spec: &ExchangeSpec,
    passive: bool,
) -> Result<(), BusError> {
    let kind = match spec.kind.as_str() {
        "topic" => ExchangeKind::Topic,
        "headers" => ExchangeKind::Headers,
        "fanout" => ExchangeKind::Fanout,
        "direct" => ExchangeKind::Direct,
        other => ExchangeKind::Custom(other.to_owned()),
    };
    let options = ExchangeDeclareOptions {
        // The broker refuses to (re)create `amq.*` exchanges; they always exist.
        passive: passive || name.starts_with("amq."),
        durable: spec.durable,
        auto_delete: spec.auto_delete,
        internal: false,
        nowait: false,
    };
    channel
        .exchange_declare(name.into(), kind, options, table(&spec.arguments))
        .await
        .map_err(|source| BusError::Topology {
            op: "exchange",
            name: name.to_owned(),
            source,
        })
}

async fn declare_queue(
    channel: &Channel,
    name: &str,
    spec: &QueueSpec,
    passive: bool,
) -> Result<(), BusError> {
    let options = QueueDeclareOptions {
        passive,
        durable: spec.durable,
        exclusive: spec.exclusive,
        auto_delete: spec.auto_delete,
        nowait: false,
    };
    channel
        .queue_declare(name.into(), options, table(&spec.arguments))
        .await
        .map(|_| ())
        .map_err(|source| BusError::Topology {
            op: "queue",
            name: name.to_owned(),
            source,
        })
}

/// TOML arguments (`x-match = "any"`, `x-message-ttl = 60000`) as an AMQP table.
fn table(t: &toml::Table) -> FieldTable {
    field_table(&arguments(t))
}

fn field_table(args: &Arguments) -> FieldTable {
    let obj: serde_json::Map<String, serde_json::Value> =
        args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    headers_from_json(&obj)
}

#[cfg(test)]
mod tests;
