//! Fedora's gating services, which publish no schema package and so send fedora-messaging's
//! base class: ResultsDB (a test result was recorded), Greenwave (a gating decision about a
//! build or an update changed) and WaiverDB (a failed or missing result was waived). The
//! bodies are the services' own API objects (ResultsDB's API v2 result, Greenwave's decision
//! with its subject and context, WaiverDB's waiver). The base class names no users,
//! packages or agent, so neither does Herald; the summaries and links are Herald's own: the
//! test run for a result, the Bodhi update or Koji build a decision or waiver is about.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, str_at, text, text_at};
use crate::sources::{fedmsg, link, View};
use serde_json::Value;
use std::borrow::Cow;

const BODHI: &str = "https://bodhi.fedoraproject.org";
const KOJI: &str = "https://koji.fedoraproject.org";
/// Requirements listed in the details, of however many a decision has.
const REQUIREMENTS_SHOWN: usize = 20;

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let (source, name) = match topic.split('.').next().unwrap_or_default() {
        "greenwave" => ("greenwave", "Greenwave"),
        "waiverdb" => ("waiverdb", "WaiverDB"),
        _ => ("resultsdb", "ResultsDB"),
    };
    let mut v = View::new(source, source, topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("{name} {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    // Older relays wrapped the body in a fedmsg envelope.
    let body = match at(body, &["msg"]) {
        Some(inner) if inner.is_object() => inner,
        _ => body,
    };
    match source {
        "greenwave" => decision(&mut v, body),
        "waiverdb" => waiver(&mut v, body),
        _ => result(&mut v, body),
    }
    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link {
        v.url = None;
    }
    v
}

/// A first value of ResultsDB's list-valued `data` entries (or a plain value).
fn datum<'a>(body: &'a Value, key: &str) -> Option<Cow<'a, str>> {
    let v = at(body, &["data", key])?;
    match v {
        Value::Array(a) => a.first().and_then(text),
        other => text(other),
    }
}

fn result(v: &mut View, body: &Value) {
    let testcase = str_at(body, &["testcase", "name"]).or_else(|| str_at(body, &["testcase"]));
    let outcome = str_at(body, &["outcome"]);
    let item = datum(body, "item");
    v.summary = format!(
        "ResultsDB: {} {} for {}",
        testcase.unwrap_or("a test"),
        outcome.unwrap_or("(no outcome)"),
        item.as_deref().unwrap_or("(unknown item)")
    );
    v.url = str_at(body, &["ref_url"])
        .or_else(|| str_at(body, &["href"]))
        .map(str::to_owned);
    v.details
        .opt("Test case", testcase)
        .opt("Outcome", outcome)
        .opt("Item", item.as_deref())
        .opt("Type", datum(body, "type"))
        .opt("Scenario", datum(body, "scenario"))
        .opt("Arch", datum(body, "arch"))
        .opt("Result", text_at(body, &["id"]))
        .opt("Submitted", str_at(body, &["submit_time"]))
        .opt("Note", str_at(body, &["note"]))
        .opt("CI", datum(body, "ci_name"))
        .opt("Log", datum(body, "log"))
        .opt("API", str_at(body, &["href"]));
}

/// The subject a decision or waiver is about: its type and identifier, from the current
/// fields or the older `subject` dict (or list of dicts).
fn subject(body: &Value) -> (Option<&str>, Option<&str>) {
    let old = match at(body, &["subject"]) {
        Some(Value::Array(a)) => a.first(),
        other => other,
    }
    .unwrap_or(&Value::Null);
    let kind = str_at(body, &["subject_type"]).or_else(|| str_at(old, &["type"]));
    let id = str_at(body, &["subject_identifier"])
        .or_else(|| str_at(old, &["item"]))
        .or_else(|| str_at(old, &["productmd.compose.id"]));
    (kind, id)
}

/// The page of the Bodhi update or Koji build a subject names.
fn subject_link(kind: Option<&str>, id: Option<&str>) -> Option<String> {
    let id = link::component(id?);
    match kind? {
        "bodhi_update" => Some(format!("{BODHI}/updates/{id}")),
        // Koji's search goes straight to the build on an exact NVR.
        "koji_build" => Some(format!(
            "{KOJI}/koji/search?match=exact&type=build&terms={id}"
        )),
        _ => None,
    }
}

fn decision(v: &mut View, body: &Value) {
    let (kind, id) = subject(body);
    let subject_s = id.unwrap_or("(unknown subject)");
    let context = str_at(body, &["decision_context"]).unwrap_or("(no context)");
    let product = str_at(body, &["product_version"]).unwrap_or("(no product version)");
    let verdict = match at(body, &["policies_satisfied"]).and_then(Value::as_bool) {
        Some(true) => "meets",
        Some(false) => "does not meet",
        None => "has a new decision for",
    };
    let summary = str_at(body, &["summary"]);
    v.summary = format!("Greenwave: {subject_s} {verdict} {context} ({product})");
    if let Some(s) = summary {
        v.summary.push_str(": ");
        v.summary.push_str(s);
    }
    v.url = subject_link(kind, id);
    v.details
        .opt("Subject", id)
        .opt("Subject type", kind)
        .field("Decision context", context)
        .field("Product version", product)
        .opt("Policies satisfied", text_at(body, &["policies_satisfied"]))
        .opt("Summary", summary)
        .opt("Previous", str_at(body, &["previous", "summary"]));
    for (key, title) in [
        ("unsatisfied_requirements", "Unsatisfied"),
        ("satisfied_requirements", "Satisfied"),
    ] {
        let lines: Vec<String> = arr_at(body, &[key])
            .unwrap_or_default()
            .iter()
            .take(REQUIREMENTS_SHOWN)
            .map(|r| {
                format!(
                    "{} ({})",
                    str_at(r, &["testcase"]).unwrap_or("?"),
                    str_at(r, &["type"]).unwrap_or("?")
                )
            })
            .collect();
        if !lines.is_empty() {
            v.details.section(title, &lines.join("\n"));
        }
    }
}

fn waiver(v: &mut View, body: &Value) {
    let (kind, id) = subject(body);
    let who = str_at(body, &["username"]).unwrap_or("someone");
    let testcase = str_at(body, &["testcase"]).unwrap_or("a test");
    let verb = match at(body, &["waived"]).and_then(Value::as_bool) {
        Some(false) => "revoked the waiver of",
        _ => "waived",
    };
    v.summary = format!(
        "WaiverDB: {who} {verb} {testcase} for {}",
        id.unwrap_or("(unknown subject)")
    );
    if let Some(p) = str_at(body, &["product_version"]) {
        v.summary.push_str(&format!(" ({p})"));
    }
    v.url = subject_link(kind, id);
    v.details
        .opt("Subject", id)
        .opt("Subject type", kind)
        .field("Test case", testcase)
        .opt("Scenario", str_at(body, &["scenario"]))
        .opt("Product version", str_at(body, &["product_version"]))
        .opt("By", str_at(body, &["username"]))
        .opt("Through", str_at(body, &["proxied_by"]))
        .opt("Waiver", text_at(body, &["id"]))
        .opt("When", str_at(body, &["timestamp"]));
    if let Some(c) = str_at(body, &["comment"]) {
        v.details.section("Comment", c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::message;
    use crate::sources::{render, RenderContext, Rendered};
    use serde_json::json;

    fn base(topic: &str, body: &Value) -> Rendered {
        let headers = json!({"fedora_messaging_schema": "base.message",
                             "fedora_messaging_severity": 20});
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let msg = message(
            &format!("org.fedoraproject.prod.{topic}"),
            "amq.topic",
            headers,
            &bytes,
        );
        render(&msg, &RenderContext::default())
    }

    #[test]
    fn old_subject_shapes_are_read() {
        let r = base(
            "greenwave.decision.update",
            &json!({"subject": [{"type": "koji_build", "item": "a-1-1.fc44"}],
                    "decision_context": "c", "product_version": "fedora-44"}),
        );
        assert_eq!(r.source, "greenwave");
        assert_eq!(
            r.summary,
            "Greenwave: a-1-1.fc44 has a new decision for c (fedora-44)"
        );
        assert_eq!(
            r.url.as_deref(),
            Some("https://koji.fedoraproject.org/koji/search?match=exact&type=build&terms=a-1-1.fc44")
        );
        let r = base(
            "waiverdb.waiver.new",
            &json!({"subject": {"productmd.compose.id": "Fedora-44-20250909.n.0"},
                    "subject_type": "compose", "username": "u", "testcase": "t",
                    "waived": false}),
        );
        assert_eq!(
            r.summary,
            "WaiverDB: u revoked the waiver of t for Fedora-44-20250909.n.0"
        );
        assert_eq!(r.url, None);
        assert!(r.users.is_empty() && r.agent.is_none());
        let r = base(
            "resultsdb.result.new",
            &json!({"msg": {"testcase": {"name": "t"}, "outcome": "FAILED",
                            "data": {"item": "x-1-1"}, "href": "https://resultsdb.example/1"}}),
        );
        assert_eq!(r.summary, "ResultsDB: t FAILED for x-1-1");
        assert_eq!(r.url.as_deref(), Some("https://resultsdb.example/1"));
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "\u{feff}y".repeat(20_000);
        let reqs: Vec<Value> = (0..5_000)
            .map(|i| json!({"testcase": i, "type": "x"}))
            .collect();
        for topic in [
            "greenwave.decision.update",
            "waiverdb.waiver.new",
            "resultsdb.result.new",
        ] {
            let body = json!({"subject_type": "bodhi_update", "subject_identifier": huge,
                              "subject": 5, "policies_satisfied": "yes", "summary": huge,
                              "satisfied_requirements": reqs, "unsatisfied_requirements": [1],
                              "testcase": [huge], "outcome": {"x": 1},
                              "data": {"item": [null, huge]}, "ref_url": "file:///etc/passwd",
                              "username": huge, "comment": huge, "waived": "no"});
            let r = base(topic, &body);
            assert!(r.summary.chars().count() <= 301, "{topic}");
            assert!(!r.summary.contains('\u{feff}'), "{topic}");
            assert!(r.details.len() <= 17 * 1024, "{topic}");
            assert_eq!(r.url, None, "{topic}");
        }
        assert_eq!(
            base("waiverdb.waiver.new", &json!({"subject": [1]})).summary,
            "WaiverDB: someone waived a test for (unknown subject)"
        );
    }
}
