//! CI Messages (ci-messages' `ci_messages.CIMessageV1`): test, build and promotion events
//! about an artifact — a Koji build, a Bodhi update, a compose, a dist-git pull request —
//! published by Fedora CI, Testing Farm, openQA and others on `ci.<artifact>.<event>.<status>`
//! (under `org.centos.prod.` for the CentOS CI bus, or the Fedora prefix). The summary and
//! link follow the schema class, which reads the last three words of the topic and names
//! the artifact by its descriptor, NVR, update alias or id, in that order. The schema names
//! no users or packages; the details show who and what was tested.

use crate::message::{severity, Message};
use crate::sources::fields::{at, obj_at, str_at, text_at};
use crate::sources::{fedmsg, View};
use serde_json::Value;
use std::borrow::Cow;

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("ci", "ci", topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("CI {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    v.summary = summary(topic, body);
    v.url = ["run", "artifact"]
        .into_iter()
        .find_map(|key| at(body, &[key, "url"]).filter(|u| truthy(u)))
        .and_then(Value::as_str)
        .map(str::to_owned);

    let artifact = at(body, &["artifact"]).unwrap_or(&Value::Null);
    let test = at(body, &["test"]).unwrap_or(&Value::Null);
    let test_name = ["namespace", "type", "category"]
        .into_iter()
        .filter_map(|k| str_at(test, &[k]))
        .collect::<Vec<_>>()
        .join(".");
    v.details
        .opt("Artifact", str_at(artifact, &["type"]))
        .opt("Identifier", text_at(artifact, &["id"]))
        .opt(
            "Build",
            str_at(artifact, &["nvr"]).or_else(|| str_at(artifact, &["alias"])),
        )
        .opt("Component", str_at(artifact, &["component"]))
        .opt("Issuer", str_at(artifact, &["issuer"]))
        .opt("Scratch", text_at(artifact, &["scratch"]))
        .opt("Test", (!test_name.is_empty()).then_some(test_name))
        .opt("Result", str_at(test, &["result"]))
        .opt("Pipeline", str_at(body, &["pipeline", "name"]))
        .opt("Log", str_at(body, &["run", "log"]))
        .opt("Error", str_at(body, &["error", "reason"]))
        .opt("Note", str_at(test, &["note"]))
        .opt("Contact", str_at(body, &["contact", "name"]))
        .opt("Team", str_at(body, &["contact", "team"]));

    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link {
        v.url = None;
    }
    v
}

/// `CIMessageV1.summary`: `CI: <event> of <artifact> <id> <status>`.
fn summary(topic: &str, body: &Value) -> String {
    let mut words = topic.rsplit('.');
    let (Some(status), Some(event), Some(artifact)) = (words.next(), words.next(), words.next())
    else {
        return format!("CI: {topic}");
    };
    let mut event = Cow::Borrowed(if event == "promote" {
        "promotion"
    } else {
        event
    });
    if event == "test" {
        if let Some(t) = at(body, &["test", "type"]).filter(|t| truthy(t)) {
            event = Cow::Owned(format!("{} test", py_str(t)));
        }
    }
    let status = match status {
        "queued" => "was queued",
        "running" => "started",
        "complete" => "finished",
        "error" => "failed",
        _ => "None",
    };
    format!("CI: {event} of {artifact} {} {status}", artifact_id(body))
}

/// `CIMessageV1.artifact_id`: the first set of descriptor, nvr, alias and id.
fn artifact_id(body: &Value) -> Cow<'_, str> {
    let artifact = obj_at(body, &["artifact"]);
    ["descriptor", "nvr", "alias", "id"]
        .into_iter()
        .find_map(|k| artifact?.get(k).filter(|v| truthy(v)))
        .map_or(Cow::Borrowed("<unknown>"), py_str)
}

/// Python's truth value of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A value as Python's `str()` writes the scalars; containers are not named in a summary.
fn py_str(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(true) => Cow::Borrowed("True"),
        Value::Bool(false) => Cow::Borrowed("False"),
        Value::Null => Cow::Borrowed("None"),
        Value::Number(n) => Cow::Owned(n.to_string()),
        Value::Array(_) | Value::Object(_) => Cow::Borrowed("<unknown>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::message;
    use crate::sources::{render, RenderContext, Rendered};
    use serde_json::json;

    fn ci(topic: &str, body: &Value) -> Rendered {
        let headers = json!({"fedora_messaging_schema": "ci_messages.CIMessageV1",
                             "fedora_messaging_severity": 20});
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        render(
            &message(topic, "amq.topic", headers, &bytes),
            &RenderContext::default(),
        )
    }

    /// The examples ci-messages' own tests check.
    #[test]
    fn summaries_follow_the_schema() {
        let r = ci(
            "org.centos.prod.ci.productmd-compose.test.complete",
            &json!({"artifact": {"id": "RHEL-ALT-7-20180101.n.0"}, "test": {"type": "acceptance"},
                    "run": {"url": "https://rtt.example.com/job/1/"}}),
        );
        assert_eq!(
            r.summary,
            "CI: acceptance test of productmd-compose RHEL-ALT-7-20180101.n.0 finished"
        );
        assert_eq!(r.kind, "ci.productmd-compose.test.complete");
        assert_eq!(r.url.as_deref(), Some("https://rtt.example.com/job/1/"));
        let r = ci(
            "org.centos.prod.ci.brew-build.promote.queued",
            &json!({"artifact": {"nvr": "setup-2.8.71-7.el7_4", "id": 0}}),
        );
        assert_eq!(
            r.summary,
            "CI: promotion of brew-build setup-2.8.71-7.el7_4 was queued"
        );
        assert_eq!(r.url, None);
        let r = ci(
            "org.fedoraproject.prod.ci.fedora-update.test.running",
            &json!({"artifact": {"alias": "FEDORA-2019-6bda4c81f4", "id": "sha256:x"},
                    "test": {"type": ""}}),
        );
        assert_eq!(
            r.summary,
            "CI: test of fedora-update FEDORA-2019-6bda4c81f4 started"
        );
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "\u{0}\u{202a}".repeat(20_000);
        let body = json!({"artifact": {"descriptor": {"a": 1}, "id": huge},
                          "test": {"type": [huge]}, "run": {"url": 17},
                          "error": {"reason": huge}, "contact": "x"});
        let r = ci("org.centos.prod.ci.koji-build.test.exploded", &body);
        assert!(
            r.summary
                .starts_with("CI: <unknown> test of koji-build <unknown> None"),
            "{}",
            r.summary
        );
        assert!(r.details.len() <= 17 * 1024);
        assert_eq!(r.url, None);
        assert!(r.users.is_empty() && r.packages.is_empty());
        let r = ci("ci", &json!({"artifact": [1]}));
        assert_eq!(r.summary, "CI: ci");
        let r = ci(
            "org.centos.prod.ci.koji-build.test.error",
            &json!({"artifact": {"id": huge}}),
        );
        assert!(r.summary.chars().count() <= 301);
        assert!(!r.summary.contains('\u{202a}') && !r.summary.contains('\u{0}'));
    }
}
