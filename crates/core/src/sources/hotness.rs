//! the-new-hotness (fedora-messaging-the-new-hotness-schema): a bug filed for a new upstream
//! release, or an update dropped and why. Summaries, packages, link and agent follow the
//! schema classes: the packages come from the Anitya (or Koji) message that triggered
//! hotness, which the body carries whole, and a dropped update names its agent as its only
//! user. Hotness itself sets no agent, so in practice its messages name no one.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, obj_at, str_at, strs_at, text_at};
use crate::sources::text::join;
use crate::sources::{fedmsg, link, View};
use serde_json::Value;

const BUGZILLA: &str = "https://bugzilla.redhat.com";
/// Anitya's name for the distribution whose package names are Fedora packages.
const FEDORA: &str = "Fedora";

/// The schema entry points are named after the topics.
pub(crate) fn topic_for_schema(schema: &str) -> Option<String> {
    matches!(schema, "hotness.update.bug.file" | "hotness.update.drop").then(|| schema.to_owned())
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("hotness", "hotness", topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!(
            "the-new-hotness {} (unreadable body)",
            topic.replace('.', " ")
        );
        return v;
    };
    let trigger = at(body, &["trigger"]).unwrap_or(&Value::Null);
    let original = at(trigger, &["msg"]).unwrap_or(&Value::Null);
    let trigger_topic = str_at(trigger, &["topic"]).unwrap_or("");
    match topic {
        "hotness.update.bug.file" => {
            let packages = filed_packages(original, trigger_topic);
            v.summary = format!(
                "the-new-hotness filed a bug on '{}'",
                join(packages.iter().copied(), ", ")
            );
            for p in packages {
                v.package(Some(p));
            }
            v.url = text_at(body, &["bug", "bug_id"])
                .map(|id| format!("{BUGZILLA}/{}", link::component(&id)));
        }
        _ => {
            let reason = str_at(body, &["reason"]);
            let packages = dropped_packages(reason, original, trigger_topic);
            let named = format!(
                "the-new-hotness saw an update for '{}', ",
                join(packages.iter().copied(), ", ")
            );
            let why = match reason {
                Some("anitya") => "but release-monitoring.org doesn't know what that project is called in Fedora land".to_owned(),
                Some("rawhide") => "but no rawhide version of the package could be found yet".to_owned(),
                Some("pkgdb") => "but pkgdb says the maintainers are not interested in bugs being filed".to_owned(),
                Some("bugzilla") => "but the bugzilla issue couldn't be updated".to_owned(),
                other => format!("but it got dropped for reason: '{}'", other.unwrap_or("None")),
            };
            v.summary = named + &why;
            for p in packages {
                v.package(Some(p));
            }
            // The schema's usernames is `[agent_name]`.
            let agent = str_at(body, &["agent_name"]);
            v.agent = agent.map(str::to_owned);
            v.user(agent);
        }
    }
    details(&mut v, body, original, trigger_topic);
    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link {
        v.url = None;
    }
    v
}

/// `UpdateBugFile.packages`: the new mapping of a `project.map.new` trigger, else the
/// Fedora packages of the Anitya message.
fn filed_packages<'a>(original: &'a Value, trigger_topic: &str) -> Vec<&'a str> {
    if trigger_topic.ends_with(".project.map.new") {
        return str_at(original, &["message", "new"]).into_iter().collect();
    }
    arr_at(original, &["message", "packages"])
        .unwrap_or_default()
        .iter()
        .filter(|p| str_at(p, &["distro"]) == Some(FEDORA))
        .filter_map(|p| str_at(p, &["package_name"]))
        .collect()
}

/// `UpdateDrop.packages`: none when Anitya has no Fedora name for the project, else the one
/// package a pkgdb, Koji or old Anitya trigger names.
fn dropped_packages<'a>(
    reason: Option<&str>,
    original: &'a Value,
    trigger_topic: &str,
) -> Vec<&'a str> {
    if reason == Some("anitya") {
        return Vec::new();
    }
    let has = |key: &str| obj_at(original, &[]).is_some_and(|o| o.contains_key(key));
    let name = if has("package_listing") {
        str_at(original, &["package_listing", "package", "name"])
    } else if trigger_topic.contains("buildsys.build") {
        str_at(original, &["name"])
    } else if has("package") {
        str_at(original, &["package", "name"])
    } else {
        None
    };
    name.into_iter().collect()
}

fn details(v: &mut View, body: &Value, original: &Value, trigger_topic: &str) {
    let m = at(original, &["message"]).unwrap_or(&Value::Null);
    let versions: Vec<&str> = strs_at(m, &["upstream_versions"]).take(20).collect();
    v.details
        .opt("Package", str_at(body, &["package"]))
        .opt("Bug", text_at(body, &["bug", "bug_id"]))
        .opt("Reason", str_at(body, &["reason"]))
        .opt(
            "Project",
            str_at(original, &["project", "name"]).or_else(|| str_at(m, &["project", "name"])),
        )
        .opt(
            "New versions",
            (!versions.is_empty()).then(|| join(versions, ", ")),
        )
        .opt("Previous version", str_at(m, &["old_version"]))
        .opt(
            "Trigger",
            (!trigger_topic.is_empty()).then_some(trigger_topic),
        );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::message;
    use crate::sources::{render, RenderContext};
    use serde_json::json;

    fn hotness(topic: &str, body: &Value) -> crate::sources::Rendered {
        let headers = json!({"fedora_messaging_schema": topic, "fedora_messaging_severity": 20});
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
    fn map_new_trigger_names_the_new_mapping() {
        let body = json!({"trigger": {"topic": "org.release-monitoring.prod.anitya.project.map.new",
                                      "msg": {"message": {"new": "python-x"}}},
                          "bug": {"bug_id": 42}});
        let r = hotness("hotness.update.bug.file", &body);
        assert_eq!(r.summary, "the-new-hotness filed a bug on 'python-x'");
        assert_eq!(r.packages, ["python-x"]);
        assert_eq!(r.url.as_deref(), Some("https://bugzilla.redhat.com/42"));
    }

    #[test]
    fn drop_triggers_follow_the_schema() {
        let koji = json!({"trigger": {"topic": "org.fedoraproject.prod.buildsys.build.state.change",
                                      "msg": {"name": "kernel"}}, "reason": "rawhide",
                          "agent_name": "hotness-bot"});
        let r = hotness("hotness.update.drop", &koji);
        assert_eq!(
            r.summary,
            "the-new-hotness saw an update for 'kernel', but no rawhide version of the package could be found yet"
        );
        assert_eq!(r.packages, ["kernel"]);
        assert_eq!(r.users, ["hotness-bot"]);
        assert_eq!(r.agent.as_deref(), Some("hotness-bot"));
        let listing = json!({"trigger": {"topic": "x", "msg": {"package_listing": {"package": {"name": "p"}}}},
                             "reason": "pkgdb"});
        assert_eq!(hotness("hotness.update.drop", &listing).packages, ["p"]);
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "x".repeat(100_000);
        let packages: Vec<Value> = (0..5_000)
            .map(|i| json!({"distro": "Fedora", "package_name": format!("p{i}\u{202e}")}))
            .collect();
        let body = json!({"trigger": {"topic": 7, "msg": {"message": {"packages": packages,
                                      "upstream_versions": [huge.clone()]}}},
                          "bug": {"bug_id": {"nested": true}}, "reason": ["list"],
                          "agent_name": huge});
        for topic in ["hotness.update.bug.file", "hotness.update.drop"] {
            let r = hotness(topic, &body);
            assert!(r.summary.chars().count() <= 301, "{topic}");
            assert!(!r.summary.contains('\u{202e}'));
            assert!(r.details.len() <= 17 * 1024);
            assert_eq!(r.url, None);
            assert!(r.agent.is_none());
        }
        let r = hotness("hotness.update.drop", &json!({"reason": 5}));
        assert!(
            r.summary.contains("dropped for reason: 'None'"),
            "{}",
            r.summary
        );
    }
}
