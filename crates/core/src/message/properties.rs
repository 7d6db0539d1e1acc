//! The AMQP basic properties of a delivery as Herald keeps them, and which of their short
//! strings (and the routing key and exchange) arrived as bytes that are not UTF-8.

use lapin::types::{FieldTable, ShortString};
use serde::{Deserialize, Serialize};

/// The AMQP basic properties other than headers, as Herald stores and shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Properties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_mode: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The wire fields (`exchange`, `routing_key`, property names) whose bytes were not
    /// UTF-8: their text above shows U+FFFD where the bytes were invalid, except the message
    /// id, which shows them as `\xNN` so that it stays as distinct as the bytes were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_utf8: Vec<String>,
}

impl Properties {
    /// Takes the properties of a delivery; the header table is kept separately.
    pub fn from_amqp(p: &lapin::BasicProperties) -> Self {
        let mut not_utf8 = Vec::new();
        let mut s = |name: &str, v: &Option<ShortString>| {
            v.as_ref().map(|s| {
                if s.is_lossy() {
                    not_utf8.push(name.to_owned());
                }
                s.as_str().to_owned()
            })
        };
        let mut props = Self {
            message_id: None,
            content_type: s("content_type", p.content_type()),
            content_encoding: s("content_encoding", p.content_encoding()),
            timestamp: *p.timestamp(),
            delivery_mode: *p.delivery_mode(),
            priority: *p.priority(),
            correlation_id: s("correlation_id", p.correlation_id()),
            reply_to: s("reply_to", p.reply_to()),
            expiration: s("expiration", p.expiration()),
            kind: s("type", p.kind()),
            user_id: s("user_id", p.user_id()),
            app_id: s("app_id", p.app_id()),
            not_utf8: Vec::new(),
        };
        // The id decides what counts as a redelivery: ids that differ only in invalid bytes
        // must stay different, so those bytes are spelled out rather than replaced.
        props.message_id = p.message_id().as_ref().map(|id| {
            if id.is_lossy() {
                not_utf8.push("message_id".to_owned());
                escape_invalid(id.as_bytes())
            } else {
                id.as_str().to_owned()
            }
        });
        props.not_utf8 = not_utf8;
        props
    }

    /// Builds AMQP properties for publishing (fixtures, benchmarks, tests).
    pub fn to_amqp(&self, headers: Option<FieldTable>) -> lapin::BasicProperties {
        let mut p = lapin::BasicProperties::default();
        let short = |s: &String| ShortString::from(s.as_str());
        if let Some(v) = &self.message_id {
            p = p.with_message_id(short(v));
        }
        if let Some(v) = &self.content_type {
            p = p.with_content_type(short(v));
        }
        if let Some(v) = &self.content_encoding {
            p = p.with_content_encoding(short(v));
        }
        if let Some(v) = self.timestamp {
            p = p.with_timestamp(v);
        }
        if let Some(v) = self.delivery_mode {
            p = p.with_delivery_mode(v);
        }
        if let Some(v) = self.priority {
            p = p.with_priority(v);
        }
        if let Some(v) = &self.correlation_id {
            p = p.with_correlation_id(short(v));
        }
        if let Some(v) = &self.reply_to {
            p = p.with_reply_to(short(v));
        }
        if let Some(v) = &self.expiration {
            p = p.with_expiration(short(v));
        }
        if let Some(v) = &self.kind {
            p = p.with_type(short(v));
        }
        if let Some(v) = &self.user_id {
            p = p.with_user_id(short(v));
        }
        if let Some(v) = &self.app_id {
            p = p.with_app_id(short(v));
        }
        if let Some(h) = headers {
            p = p.with_headers(h);
        }
        p
    }
}

/// Bytes as text, with each byte that is not part of valid UTF-8 written as `\xNN`.
pub fn escape_invalid(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}
