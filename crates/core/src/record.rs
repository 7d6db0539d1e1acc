//! The records every layer above the message model shares: what one delivery becomes (a
//! stored message with its rendering and search text, or a quarantined one with its reason)
//! and what a rule decides for it ([`Action`]). They live below the rules, the history and
//! the notifications, which all speak of them, so none of those needs another.

use crate::message::Message;
use crate::sources::{render, RenderContext, Rendered};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// The part of a body that goes into the full-text index. Bodies can be large (Koji task
/// trees, Pulp progress reports); indexing their bounded string content keeps ingest fast
/// while topic, summary, people and packages are always indexed in full.
const BODY_TEXT_LIMIT: usize = 1024;
/// Longer strings are ids, hashes or logs, which nobody searches by words.
const BODY_STRING_LIMIT: usize = 200;

/// One delivery, ready to be written.
#[derive(Debug, Clone)]
pub enum Entry {
    Stored(Box<Stored>),
    Quarantined(Box<Quarantined>),
}

impl Entry {
    /// Decides where a decoded message goes and prepares its row.
    pub fn new(msg: Message, ctx: &RenderContext) -> Entry {
        match msg.quarantine.clone() {
            Some(reason) => Entry::Quarantined(Box::new(Quarantined { msg, reason })),
            None => Entry::Stored(Box::new(Stored::new(msg, ctx))),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Entry::Stored(s) => &s.msg.id,
            Entry::Quarantined(q) => &q.msg.id,
        }
    }

    pub fn message(&self) -> &Message {
        match self {
            Entry::Stored(s) => &s.msg,
            Entry::Quarantined(q) => &q.msg,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub msg: Message,
    pub rendered: Rendered,
    pub body_text: String,
    /// The rule that kept this message, if one did.
    pub rule: Option<Arc<str>>,
    /// Notify or history (what the rule, or the default for unmatched messages, decided).
    pub action: Action,
    /// The link goes to a host its producer is known to use, so it may be offered to open.
    pub link_trusted: bool,
}

impl Stored {
    pub fn new(msg: Message, ctx: &RenderContext) -> Stored {
        let rendered = render(&msg, ctx);
        let body_text = msg.json.as_ref().map(body_text).unwrap_or_default();
        let link_trusted = rendered
            .url
            .as_deref()
            .is_some_and(|u| ctx.trusts(&rendered.source, u));
        Stored {
            msg,
            rendered,
            body_text,
            rule: None,
            action: Action::History,
            link_trusted,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Quarantined {
    pub msg: Message,
    pub reason: String,
}

/// Bounded text of a JSON body: its short string values, in document order.
fn body_text(v: &Value) -> String {
    let mut out = String::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        if out.len() >= BODY_TEXT_LIMIT {
            break;
        }
        match v {
            Value::String(s) if s.len() <= BODY_STRING_LIMIT && !s.is_empty() => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(s);
            }
            Value::Array(a) => stack.extend(a.iter().rev()),
            Value::Object(o) => stack.extend(o.values().rev()),
            _ => {}
        }
    }
    if out.len() > BODY_TEXT_LIMIT {
        let mut cut = BODY_TEXT_LIMIT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// What happens to a message a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Action {
    /// Store it and raise a notification.
    Notify,
    /// Store it silently.
    History,
    /// Do not store it.
    Drop,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Notify => "notify",
            Action::History => "history",
            Action::Drop => "drop",
        }
    }

    /// True when the message is kept.
    pub fn keeps(self) -> bool {
        self != Action::Drop
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_text_is_bounded_and_skips_long_strings() {
        let long = "x".repeat(500);
        let v = serde_json::json!({"name": "chromium", "log": long, "n": 5, "list": ["a", "b"]});
        assert_eq!(body_text(&v), "a b chromium");
        let many: Vec<String> = (0..1000).map(|i| format!("word{i}")).collect();
        assert!(body_text(&serde_json::json!(many)).len() <= BODY_TEXT_LIMIT);
    }
}
