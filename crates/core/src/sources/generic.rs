//! The fallback for producers Herald has no module for: a readable summary from the topic
//! (`org.fedoraproject.prod.git.receive` → "git receive"), with the agent, users and
//! packages the message names, followed by the full topic so that it can be searched and
//! subscribed to. The details list the body's top-level values; no link is guessed.

use crate::message::Message;
use crate::sources::fields::{at, header_str, str_at, text};
use crate::sources::{fedmsg, View};
use serde_json::Value;

/// How many body fields and names the generic view shows.
const FIELDS_MAX: usize = 30;
const NAMES_IN_SUMMARY: usize = 3;

pub(crate) fn render(msg: &Message) -> View {
    let topic = fedmsg::schema_topic(&msg.topic);
    let kind = if !topic.is_empty() {
        topic.to_owned()
    } else if let Some(t) = header_str(msg, "type") {
        t.into_owned()
    } else if !msg.exchange.is_empty() {
        msg.exchange.clone()
    } else {
        "unknown".to_owned()
    };
    let mut v = View::new("unknown", "generic", kind);
    v.severity = msg.severity;

    let body = msg.json.as_ref();
    v.agent = body
        .and_then(|b| str_at(b, &["agent"]).or_else(|| str_at(b, &["msg", "agent"])))
        .map(str::to_owned);
    if fedmsg::trust(msg).attribute {
        v.users = plausible(&msg.mentions.users);
        v.packages = plausible(&msg.mentions.packages);
    }

    let mut summary = if topic.is_empty() {
        format!(
            "message on {}",
            if msg.exchange.is_empty() {
                "the default exchange"
            } else {
                &msg.exchange
            }
        )
    } else {
        words(topic)
    };
    if let Some(who) = v
        .agent
        .as_deref()
        .or_else(|| v.users.first().map(String::as_str))
    {
        summary.push_str(&format!(" by {who}"));
    }
    if !v.packages.is_empty() {
        let shown: Vec<&str> = v
            .packages
            .iter()
            .take(NAMES_IN_SUMMARY)
            .map(String::as_str)
            .collect();
        summary.push_str(&format!(": {}", shown.join(", ")));
        if v.packages.len() > NAMES_IN_SUMMARY {
            summary.push_str(&format!(
                " and {} more",
                v.packages.len() - NAMES_IN_SUMMARY
            ));
        }
    }
    if !msg.topic.is_empty() {
        summary.push_str(&format!(" ({})", msg.topic));
    }
    v.summary = summary;

    let d = &mut v.details;
    d.field("Topic", &msg.topic)
        .field("Exchange", &msg.exchange)
        .opt("Schema", fedmsg::schema(msg));
    if !v.users.is_empty() {
        d.field("Users", v.users.join(", "));
    }
    if !v.packages.is_empty() {
        d.field("Packages", v.packages.join(", "));
    }
    match (body, &msg.quarantine) {
        (Some(b), _) => fields(d, b),
        (None, Some(reason)) => {
            d.field("Body", reason);
        }
        (None, None) => {}
    }
    v
}

/// `git.receive` → `git receive`.
fn words(topic: &str) -> String {
    topic
        .split(['.', '_'])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Header-derived names that could be real: header names are chosen by whoever publishes,
/// so whitespace, slashes and control characters mark a name as not one.
fn plausible(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| {
            !n.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        })
        .cloned()
        .collect()
}

/// The body's top-level scalars, one per line.
fn fields(d: &mut crate::sources::text::Details, body: &Value) {
    let Some(map) = body.as_object() else { return };
    for (key, value) in map.iter().take(FIELDS_MAX) {
        if let Some(t) = text(value) {
            d.field(key, t);
        } else if let Some(inner) = at(value, &["name"]).and_then(text) {
            d.field(key, inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_words() {
        assert_eq!(words("git.receive"), "git receive");
        assert_eq!(words("pagure.pull-request.new"), "pagure pull-request new");
        assert_eq!(words("a..b_c"), "a b c");
    }

    #[test]
    fn implausible_names_are_dropped() {
        let names = vec![
            "ok".to_owned(),
            "a b".to_owned(),
            "../x".to_owned(),
            "x\0".to_owned(),
        ];
        assert_eq!(plausible(&names), ["ok"]);
    }
}
