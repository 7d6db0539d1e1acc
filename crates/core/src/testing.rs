//! Test support shared by the core's unit tests: fedora-messaging messages as their
//! producers send them (schema header, send time, `fedora_messaging_<mention>` headers),
//! rendered into history entries.

use crate::history::Entry;
use crate::message::{headers_from_json, Envelope, Message, Properties};
use crate::sources::RenderContext;
use serde_json::Value;
use time::OffsetDateTime;

/// A fedora-messaging message sent at `sent` on `topic`, with the schema header `schema`
/// (by default the topic's own name with `.v1`) and a `fedora_messaging_<m>` header for
/// each of `mentions` (`rpm_python-rich`, `user_alice`).
pub(crate) fn fm_entry(
    id: &str,
    topic: &str,
    schema: Option<&str>,
    mentions: &[&str],
    body: &Value,
    sent: OffsetDateTime,
) -> Entry {
    let mut h = serde_json::Map::new();
    let schema = schema.map_or_else(
        || format!("{}.v1", crate::sources::schema_topic(topic)),
        str::to_owned,
    );
    h.insert("fedora_messaging_schema".into(), schema.into());
    h.insert("fedora_messaging_severity".into(), 20.into());
    h.insert(
        "sent-at".into(),
        sent.format(&time::format_description::well_known::Rfc3339)
            .expect("a time that formats")
            .into(),
    );
    for m in mentions {
        h.insert(format!("fedora_messaging_{m}"), true.into());
    }
    let env = Envelope {
        exchange: "amq.topic".into(),
        routing_key: topic.into(),
        properties: Properties {
            message_id: Some(id.to_owned()),
            ..Properties::default()
        },
        headers: Some(headers_from_json(&h)),
        body: body.to_string().into_bytes(),
        received_at: OffsetDateTime::now_utc(),
    };
    Entry::new(Message::decode(env), &RenderContext::default())
}

/// Unix seconds as a time, for tests that count in seconds.
pub(crate) fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("a time in range")
}
