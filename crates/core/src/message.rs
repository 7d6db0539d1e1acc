//! The message model: one AMQP delivery, decoded once into the facts every other part of
//! Herald relies on (id, topic, send time, severity, who and what it names, the body as JSON).
//!
//! Decoding never fails. A delivery whose body Herald cannot use (not UTF-8 JSON, not an
//! object, too large, too deeply nested) still becomes a [`Message`], with
//! [`Message::quarantine`] saying why, so that the store can keep its bytes and the consumer
//! can ack it: nothing is lost and nothing crashes.

use lapin::types::{AMQPValue, FieldTable};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

mod headers;
mod properties;
pub use headers::{decode_header_table, encode_header_table, headers_from_json, headers_to_json};
pub use properties::{escape_invalid, Properties};

/// Bodies above this size are quarantined unparsed: real bus messages are a few KB, and a
/// multi-megabyte body is either a producer bug or an attack on the consumer.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How far ahead of this machine's clock a sender's `sent-at` may be before it is not
/// believed: a skewed clock, not a message from the future.
pub const MAX_CLOCK_AHEAD: time::Duration = time::Duration::minutes(10);

/// The fedora-messaging severity levels.
pub mod severity {
    pub const DEBUG: u8 = 10;
    pub const INFO: u8 = 20;
    pub const WARNING: u8 = 30;
    pub const ERROR: u8 = 40;
}

/// What arrived, before any interpretation: the parts of a delivery Herald keeps.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub exchange: String,
    pub routing_key: String,
    pub properties: Properties,
    /// `None` when the delivery had no header table at all.
    pub headers: Option<FieldTable>,
    pub body: Vec<u8>,
    pub received_at: OffsetDateTime,
}

impl Envelope {
    /// Takes a delivery apart; the body moves, it is not copied.
    pub fn from_delivery(d: lapin::message::Delivery, received_at: OffsetDateTime) -> Self {
        let mut properties = Properties::from_amqp(&d.properties);
        for (name, s) in [("exchange", &d.exchange), ("routing_key", &d.routing_key)] {
            if s.is_lossy() {
                properties.not_utf8.insert(0, name.to_owned());
            }
        }
        Self {
            exchange: d.exchange.as_str().to_owned(),
            routing_key: d.routing_key.as_str().to_owned(),
            properties,
            headers: d.properties.headers().clone(),
            body: d.data,
            received_at,
        }
    }
}

/// Who and what a message is about, from the `fedora_messaging_<kind>_<name>` headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mentions {
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub packages: Vec<String>,
    pub containers: Vec<String>,
    pub modules: Vec<String>,
    pub flatpaks: Vec<String>,
}

impl Mentions {
    fn from_headers(headers: &FieldTable) -> Self {
        let mut m = Mentions::default();
        for (key, value) in headers.inner() {
            // fedora-messaging only ever sets these to true; anything else is not a mention.
            if !matches!(value, AMQPValue::Boolean(true)) {
                continue;
            }
            // A name with replaced bytes names nobody.
            if key.is_lossy() {
                continue;
            }
            let Some(rest) = key.as_str().strip_prefix("fedora_messaging_") else {
                continue;
            };
            let (list, name) = if let Some(n) = rest.strip_prefix("user_") {
                (&mut m.users, n)
            } else if let Some(n) = rest.strip_prefix("group_") {
                (&mut m.groups, n)
            } else if let Some(n) = rest.strip_prefix("rpm_") {
                (&mut m.packages, n)
            } else if let Some(n) = rest.strip_prefix("container_") {
                (&mut m.containers, n)
            } else if let Some(n) = rest.strip_prefix("module_") {
                (&mut m.modules, n)
            } else if let Some(n) = rest.strip_prefix("flatpak_") {
                (&mut m.flatpaks, n)
            } else {
                continue;
            };
            if !name.is_empty() {
                list.push(name.to_owned());
            }
        }
        // The header table is a BTreeMap, so each list is already sorted and unique.
        m
    }
}

/// Where [`Message::id`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdOrigin {
    /// The AMQP `message_id` property.
    Property,
    /// A SHA-256 of topic, header table and body, for producers that set no id.
    Hash,
}

/// A decoded delivery.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub id_origin: IdOrigin,
    pub exchange: String,
    /// The routing key; empty for messages published to a headers exchange.
    pub topic: String,
    pub properties: Properties,
    /// The header table exactly as received (empty when absent).
    pub headers: FieldTable,
    /// Whether the delivery had a header table at all.
    pub had_headers: bool,
    pub body: Vec<u8>,
    /// The body as JSON, when it is a UTF-8 JSON object within the limits.
    pub json: Option<Value>,
    pub sent_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    /// 10/20/30/40, from `fedora_messaging_severity`; 20 when absent or invalid.
    pub severity: u8,
    pub mentions: Mentions,
    /// Things wrong with the message that did not stop Herald from using it.
    pub problems: Vec<String>,
    /// Why the message cannot be used at all; such messages go to quarantine.
    pub quarantine: Option<String>,
    /// Fetched from the bus archive to fill a gap, not delivered by the broker.
    pub backfilled: bool,
}

impl Message {
    /// Interprets a delivery. Never fails: see the module documentation.
    pub fn decode(env: Envelope) -> Message {
        let Envelope {
            exchange,
            routing_key,
            properties,
            headers,
            body,
            received_at,
        } = env;
        let had_headers = headers.is_some();
        let headers = headers.unwrap_or_default();
        let mut problems: Vec<String> = properties
            .not_utf8
            .iter()
            .map(|f| {
                let shown = if f == "message_id" { "\\xNN" } else { "U+FFFD" };
                format!("{f} is not valid UTF-8 (invalid bytes shown as {shown})")
            })
            .collect();
        problems.extend(headers::wire_problems(&headers));

        let (id, id_origin) = match properties.message_id.as_deref() {
            Some(id) if !id.trim().is_empty() => (id.to_owned(), IdOrigin::Property),
            _ => (content_hash(&routing_key, &headers, &body), IdOrigin::Hash),
        };

        // Jenkins' publisher (the CentOS CI messages) writes `sent_at`, in Java's
        // ZonedDateTime form (`…+00:00[UTC]`); fedora-messaging writes `sent-at`.
        let sent_header = headers
            .inner()
            .get("sent-at")
            .map(|v| ("sent-at", v))
            .or_else(|| headers.inner().get("sent_at").map(|v| ("sent_at", v)));
        let sent_at = match sent_header {
            Some((name, v)) => match header_str(v).and_then(parse_sent_time) {
                Some(t) => t,
                None => {
                    problems.push(format!(
                        "{name} header is not an ISO 8601 time: {}",
                        short_debug(v)
                    ));
                    timestamp_or(properties.timestamp, received_at)
                }
            },
            None => timestamp_or(properties.timestamp, received_at),
        };

        // Row ids and retention follow the send time, so a clock far ahead (or a lie) would
        // pin the message at the top of the history and keep it from ever being pruned.
        let sent_at = if sent_at > received_at + MAX_CLOCK_AHEAD {
            problems.push(format!(
                "sent-at {} is in the future; ordered by arrival instead",
                sent_at.format(&Rfc3339).unwrap_or_default()
            ));
            received_at
        } else {
            sent_at
        };

        let severity = match headers.inner().get("fedora_messaging_severity") {
            Some(v) => match header_int(v) {
                Some(n @ (10 | 20 | 30 | 40)) => n as u8,
                _ => {
                    problems.push(format!(
                        "fedora_messaging_severity is not 10, 20, 30 or 40: {}",
                        short_debug(v)
                    ));
                    severity::INFO
                }
            },
            None => {
                if headers.contains_key("fedora_messaging_schema") {
                    problems.push("fedora_messaging_severity header is missing".to_owned());
                }
                severity::INFO
            }
        };

        let (json, quarantine) = match parse_body(&body) {
            Ok(v) => (Some(v), None),
            Err(reason) => (None, Some(reason)),
        };

        Message {
            id,
            id_origin,
            exchange,
            topic: routing_key,
            mentions: Mentions::from_headers(&headers),
            properties,
            headers,
            had_headers,
            body,
            json,
            sent_at,
            received_at,
            severity,
            problems,
            quarantine,
            backfilled: false,
        }
    }

    /// The header table as plain JSON, for display and for renderers.
    pub fn headers_json(&self) -> Value {
        headers_to_json(&self.headers)
    }

    /// The body as text, with invalid UTF-8 shown as U+FFFD.
    pub fn body_text_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

fn timestamp_or(ts: Option<u64>, fallback: OffsetDateTime) -> OffsetDateTime {
    ts.and_then(|s| i64::try_from(s).ok())
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(fallback)
}

/// Parses `sent-at`: RFC 3339 as fedora-messaging writes it, tolerating a missing offset.
/// [`parse_time`], also reading Java's ZonedDateTime form: an ISO 8601 time followed by
/// its zone's name in brackets, which adds nothing the offset does not say.
fn parse_sent_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let s = match s.strip_suffix(']').and_then(|rest| rest.rsplit_once('[')) {
        Some((time, _zone)) => time,
        None => s,
    };
    parse_time(s)
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // Python's isoformat() without tzinfo: treat as UTC, as fedora-messaging does.
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(s, &fmt)
        .ok()
        .map(|t| t.assume_utc())
}

fn header_str(v: &AMQPValue) -> Option<&str> {
    match v {
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok(),
        AMQPValue::ShortString(s) => Some(s.as_str()),
        _ => None,
    }
}

/// An integer header value of any AMQP integer width.
pub(crate) fn header_int(v: &AMQPValue) -> Option<i64> {
    Some(match *v {
        AMQPValue::ShortShortInt(n) => n.into(),
        AMQPValue::ShortShortUInt(n) => n.into(),
        AMQPValue::ShortInt(n) => n.into(),
        AMQPValue::ShortUInt(n) => n.into(),
        AMQPValue::LongInt(n) => n.into(),
        AMQPValue::LongUInt(n) => n.into(),
        AMQPValue::LongLongInt(n) => n,
        _ => return None,
    })
}

fn short_debug(v: &AMQPValue) -> String {
    let mut s = headers::value_to_json(v).to_string();
    if s.len() > 80 {
        let mut cut = 80;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn parse_body(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Err("empty body".to_owned());
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "body of {} bytes exceeds the {} byte limit",
            body.len(),
            MAX_BODY_BYTES
        ));
    }
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not valid UTF-8 ({e})"))?;
    // serde_json stops at 128 levels of nesting, so hostile depth is an error, not a crash.
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(format!(
            "body is JSON {} but must be a JSON object",
            json_kind(&other)
        )),
        Err(e) => Err(format!("body is not JSON ({e})")),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A stable id for messages without `message_id`: the same delivery always hashes the same,
/// so a redelivery or a re-import is recognised.
pub fn content_hash(topic: &str, headers: &FieldTable, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update((topic.len() as u64).to_be_bytes());
    h.update(topic.as_bytes());
    let encoded = encode_header_table(headers);
    h.update((encoded.len() as u64).to_be_bytes());
    h.update(&encoded);
    h.update(body);
    let digest = h.finalize();
    let mut out = String::with_capacity(7 + 32);
    out.push_str("sha256:");
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

#[cfg(test)]
mod tests;
