//! Recorded messages on disk: `fedora-messaging record` files (one JSON message per line) and
//! Herald's fixture files (one AMQP message per file, with its exact headers, properties and
//! body bytes). Both turn into [`Envelope`]s, so an imported message is stored exactly like one
//! that came from the broker.

use crate::error::RecordError;
use crate::message::{headers_from_json, Envelope, Properties};
use base64::Engine as _;
use lapin::types::FieldTable;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// One message as a fixture file describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Fixture {
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub exchange: String,
    #[serde(default)]
    pub exchange_type: Option<String>,
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    #[serde(default)]
    pub properties: Properties,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub body_base64: Option<String>,
    #[serde(default)]
    pub body_repeat: Option<BodyRepeat>,
    #[serde(default)]
    pub body_nest: Option<BodyNest>,
    /// What a correct consumer derives; kept as JSON for the conformance tests.
    #[serde(default)]
    pub expect: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BodyRepeat {
    #[serde(default)]
    pub prefix: String,
    pub pattern: String,
    pub times: usize,
    #[serde(default)]
    pub suffix: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BodyNest {
    #[serde(default)]
    pub prefix: String,
    pub open: String,
    pub leaf: String,
    pub close: String,
    pub depth: usize,
    #[serde(default)]
    pub suffix: String,
}

/// Fixture bodies are meant to be hostile, but not to exhaust the machine reading them.
const MAX_GENERATED_BODY: usize = 64 * 1024 * 1024;

impl Fixture {
    /// Reads one fixture file.
    pub fn load(path: &Path) -> Result<Fixture, RecordError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecordError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| RecordError::Parse {
            path: path.to_owned(),
            line: None,
            source,
        })
    }

    /// The exact body bytes, following the fixture format's four body encodings.
    pub fn body_bytes(&self) -> Result<Vec<u8>, String> {
        if let Some(b64) = &self.body_base64 {
            return base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("body_base64 is not base64: {e}"));
        }
        if let Some(r) = &self.body_repeat {
            let len = r.pattern.len().saturating_mul(r.times);
            if len > MAX_GENERATED_BODY {
                return Err(format!("body_repeat would produce {len} bytes"));
            }
            let mut s = String::with_capacity(r.prefix.len() + len + r.suffix.len());
            s.push_str(&r.prefix);
            for _ in 0..r.times {
                s.push_str(&r.pattern);
            }
            s.push_str(&r.suffix);
            return Ok(s.into_bytes());
        }
        if let Some(n) = &self.body_nest {
            let len = (n.open.len() + n.close.len()).saturating_mul(n.depth);
            if len > MAX_GENERATED_BODY {
                return Err(format!("body_nest would produce {len} bytes"));
            }
            let mut s = n.prefix.clone();
            s.push_str(&n.open.repeat(n.depth));
            s.push_str(&n.leaf);
            s.push_str(&n.close.repeat(n.depth));
            s.push_str(&n.suffix);
            return Ok(s.into_bytes());
        }
        Ok(match &self.body {
            Some(Value::String(s)) => s.clone().into_bytes(),
            Some(v) => serde_json::to_vec(v).map_err(|e| e.to_string())?,
            None => Vec::new(),
        })
    }

    /// The header table to publish; `None` when the fixture says the table is absent.
    pub fn header_table(&self) -> Option<FieldTable> {
        self.headers.as_ref().map(headers_from_json)
    }

    pub fn envelope(&self, received_at: OffsetDateTime) -> Result<Envelope, String> {
        Ok(Envelope {
            exchange: self.exchange.clone(),
            routing_key: self.topic.clone(),
            properties: self.properties.clone(),
            headers: self.header_table(),
            body: self.body_bytes()?,
            received_at,
        })
    }
}

/// The fixture folders of the core's own tests: the shared corpus (`HERALD_FIXTURES`, else
/// the nearest `shared/fixtures/messages` above this crate, which must hold `bad/`) and the
/// project's own `tests/fixtures/messages`.
#[cfg(test)]
pub(crate) fn corpus_dirs() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("HERALD_FIXTURES")
        .map(PathBuf::from)
        .or_else(|| {
            manifest
                .ancestors()
                .map(|a| a.join("shared/fixtures/messages"))
                .find(|p| p.is_dir())
        })
        .expect("the shared fixture corpus (set HERALD_FIXTURES)");
    assert!(
        shared.join("bad").is_dir(),
        "no bad/ in {}",
        shared.display()
    );
    let own = manifest.join("../../tests/fixtures/messages");
    assert!(own.is_dir(), "no {}", own.display());
    vec![shared, own]
}

/// Every `*.json` fixture under `dir` (recursively), sorted by path.
pub fn fixture_paths(dir: &Path) -> Result<Vec<PathBuf>, RecordError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| RecordError::Read {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| RecordError::Read {
                    path: d.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a file of recorded messages: a fixture (one JSON object with `expect` or a body
/// key) or a `fedora-messaging record` file (one message per line).
pub fn read_file(path: &Path, received_at: OffsetDateTime) -> Result<Vec<Envelope>, RecordError> {
    let text = std::fs::read_to_string(path).map_err(|source| RecordError::Read {
        path: path.to_owned(),
        source,
    })?;
    let trimmed = text.trim_start();
    // A fixture is one pretty-printed object; a record file has one object per line.
    if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(trimmed) {
        if is_fixture(&obj) {
            let fx: Fixture = serde_json::from_value(Value::Object(obj)).map_err(|source| {
                RecordError::Parse {
                    path: path.to_owned(),
                    line: None,
                    source,
                }
            })?;
            let env = fx
                .envelope(received_at)
                .map_err(|reason| RecordError::Invalid {
                    path: path.to_owned(),
                    line: None,
                    reason,
                })?;
            return Ok(vec![env]);
        }
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|source| RecordError::Parse {
            path: path.to_owned(),
            line: Some(i + 1),
            source,
        })?;
        // `dumps` of a list of messages writes a JSON array on one line.
        let items = match value {
            Value::Array(a) => a,
            other => vec![other],
        };
        for item in items {
            out.push(
                from_record(&item, received_at).map_err(|reason| RecordError::Invalid {
                    path: path.to_owned(),
                    line: Some(i + 1),
                    reason,
                })?,
            );
        }
    }
    Ok(out)
}

fn is_fixture(obj: &Map<String, Value>) -> bool {
    obj.contains_key("expect")
        || obj.contains_key("exchange")
        || obj.contains_key("body_base64")
        || obj.contains_key("body_repeat")
        || obj.contains_key("body_nest")
}

/// One message as `fedora-messaging record` writes it (and as the archive returns it):
/// `{"topic", "headers", "id", "body", "queue", "priority"?}`.
pub fn from_record(v: &Value, received_at: OffsetDateTime) -> Result<Envelope, String> {
    let obj = v
        .as_object()
        .ok_or("a recorded message must be a JSON object")?;
    let topic = obj
        .get("topic")
        .and_then(Value::as_str)
        .ok_or("a recorded message needs a string \"topic\"")?;
    let body = obj
        .get("body")
        .ok_or("a recorded message needs a \"body\"")?;
    let headers = match obj.get("headers") {
        Some(Value::Object(h)) => Some(headers_from_json(h)),
        Some(Value::Null) | None => None,
        Some(_) => return Err("\"headers\" must be an object".to_owned()),
    };
    let properties = Properties {
        message_id: obj.get("id").and_then(Value::as_str).map(str::to_owned),
        content_type: Some("application/json".to_owned()),
        content_encoding: Some("utf-8".to_owned()),
        delivery_mode: Some(2),
        priority: obj
            .get("priority")
            .and_then(Value::as_u64)
            .and_then(|p| u8::try_from(p).ok()),
        ..Properties::default()
    };
    Ok(Envelope {
        exchange: "amq.topic".to_owned(),
        routing_key: topic.to_owned(),
        properties,
        headers,
        body: serde_json::to_vec(body).map_err(|e| e.to_string())?,
        received_at,
    })
}
