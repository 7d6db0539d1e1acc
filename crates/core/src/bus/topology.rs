//! Declaring what the config asks for: exchanges, queues, bindings (routing keys for topic
//! exchanges, `x-match` arguments for headers exchanges) and the prefetch window.

use crate::config::{Config, ExchangeSpec, QueueSpec};
use crate::error::BusError;
use crate::message::headers_from_json;
use lapin::options::{
    BasicQosOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, ExchangeKind};

/// Declares everything on `channel` and sets its prefetch. Returns the queue names to consume.
pub async fn declare(channel: &Channel, cfg: &Config) -> Result<Vec<String>, BusError> {
    channel
        .basic_qos(cfg.qos.prefetch_count, BasicQosOptions::default())
        .await
        .map_err(|source| BusError::Channel {
            op: "basic.qos",
            source,
        })?;
    for (name, spec) in &cfg.exchanges {
        declare_exchange(channel, name, spec, cfg.passive_declares).await?;
    }
    for (name, spec) in &cfg.queues {
        declare_queue(channel, name, spec, cfg.passive_declares).await?;
    }
    for b in &cfg.bindings {
        let args = table(&b.arguments);
        // A headers exchange ignores the routing key; bind once with the arguments.
        let keys: Vec<&str> = if b.routing_keys.is_empty() {
            vec![""]
        } else {
            b.routing_keys.iter().map(String::as_str).collect()
        };
        for key in keys {
            channel
                .queue_bind(
                    b.queue.as_str().into(),
                    b.exchange.as_str().into(),
                    key.into(),
                    QueueBindOptions::default(),
                    args.clone(),
                )
                .await
                .map_err(|source| BusError::Topology {
                    op: "binding",
                    name: format!("{} → {} ({key})", b.exchange, b.queue),
                    source,
                })?;
        }
    }
    Ok(cfg.queues.keys().cloned().collect())
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
    match serde_json::to_value(t) {
        Ok(serde_json::Value::Object(o)) => headers_from_json(&o),
        _ => FieldTable::default(),
    }
}
