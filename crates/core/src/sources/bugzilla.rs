//! Bugzilla (bugzilla2fedmsg-schema): bugs filed and changed on bugzilla.redhat.com, as
//! bugzilla2fedmsg relays them — in Fedora with Bugzilla 4 compatibility, where the
//! component, product and assignee are plain strings, otherwise objects with a `name` or
//! `login`. Summaries, the link, the package (the component, unless it is one of the
//! schema's non-package components), users and agent follow the schema classes; the users
//! and agent are the Fedora accounts bugzilla2fedmsg resolved, never the Bugzilla logins.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, str_at, text, text_at};
use crate::sources::{fedmsg, link, View};
use serde_json::Value;
use std::borrow::Cow;

const BUGZILLA: &str = "https://bugzilla.redhat.com";
/// Components that are not Fedora packages (the schema's list).
const NOT_PACKAGES: &[&str] = &[
    "distribution",
    "LiveCD",
    "LiveCD - FEL",
    "LiveCD - Games",
    "LiveCD - KDE",
    "LiveCD - LXDE",
    "LiveCD - Xfce",
    "Package Review",
];
/// The schema cuts a bug title longer than this.
const TITLE_CHARS: usize = 40;
/// Past this many changed fields the summary's bound hides the rest anyway.
const FIELDS_MAX: usize = 100;

/// Both schema entry points publish on `bugzilla.bug.new` and `bugzilla.bug.update`; only
/// the event tells which.
pub(crate) fn topic_for_schema(schema: &str, body: Option<&Value>) -> Option<String> {
    if !matches!(
        schema,
        "bugzilla2fedmsg.messageV1" | "bugzilla2fedmsg.messageV1bz4"
    ) {
        return None;
    }
    let event = body.and_then(|b| at(b, &["event"])).unwrap_or(&Value::Null);
    let new =
        str_at(event, &["target"]) == Some("bug") && str_at(event, &["action"]) == Some("create");
    Some(
        if new {
            "bugzilla.bug.new"
        } else {
            "bugzilla.bug.update"
        }
        .to_owned(),
    )
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("bugzilla", "bugzilla", topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("Bugzilla {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    let bug = at(body, &["bug"]).unwrap_or(&Value::Null);
    let event = at(body, &["event"]).unwrap_or(&Value::Null);
    let agent = str_at(body, &["agent_name"]);
    let user = agent
        .or_else(|| str_at(event, &["user", "login"]))
        .unwrap_or("None");
    let idx = text_at(bug, &["id"]);
    let idx_s = idx.as_deref().unwrap_or("(unknown)");
    let title = title(str_at(bug, &["summary"]).unwrap_or(""));
    let action = str_at(event, &["action"]).unwrap_or("(unknown)");
    let target = str_at(event, &["target"]).unwrap_or("(unknown)");
    let changes = arr_at(event, &["changes"]).unwrap_or_default();
    v.summary = if target == "bug" && action == "create" {
        format!("{user} filed a new bug RHBZ#{idx_s} '{title}'")
    } else if action == "create" {
        format!("{user} added {target} on RHBZ#{idx_s} '{title}'")
    } else {
        let fields: Vec<Cow<'_, str>> = changes
            .iter()
            .take(FIELDS_MAX)
            .map(|c| {
                at(c, &["field"])
                    .and_then(text)
                    .unwrap_or(Cow::Borrowed("None"))
            })
            .collect();
        let fields = comma_join(&fields);
        if target == "bug" {
            format!("{user} updated {fields} on RHBZ#{idx_s} '{title}'")
        } else {
            format!("{user} updated {fields} for {target} on RHBZ#{idx_s} '{title}'")
        }
    };

    let component = str_at(bug, &["component"]).or_else(|| str_at(bug, &["component", "name"]));
    if let Some(c) = component.filter(|c| !NOT_PACKAGES.contains(c)) {
        v.package(Some(c));
    }
    for u in arr_at(body, &["usernames"]).unwrap_or_default() {
        v.user(u.as_str());
    }
    v.agent = agent.map(str::to_owned);
    v.url = idx
        .as_deref()
        .map(|id| format!("{BUGZILLA}/show_bug.cgi?id={}", link::component(id)));

    let named = |key: &str| str_at(bug, &[key]).or_else(|| str_at(bug, &[key, "name"]));
    let d = &mut v.details;
    d.opt("Bug", idx.as_deref())
        .opt("Title", str_at(bug, &["summary"]))
        .opt("Product", named("product"))
        .opt("Component", component)
        .opt("Version", named("version"))
        .opt("Status", named("status"))
        .opt("Resolution", str_at(bug, &["resolution"]))
        .opt(
            "Assignee",
            str_at(bug, &["assigned_to"]).or_else(|| str_at(bug, &["assigned_to", "login"])),
        )
        .opt("Reporter", str_at(bug, &["reporter", "login"]))
        .opt("By", str_at(event, &["user", "login"]));
    for c in changes.iter().take(20) {
        let field = at(c, &["field"]).and_then(text).unwrap_or_default();
        let removed = text_at(c, &["removed"]).unwrap_or_default();
        let added = text_at(c, &["added"]).unwrap_or_default();
        d.field(&format!("Changed {field}"), format!("{removed} → {added}"));
    }
    if let Some(comment) = str_at(body, &["comment", "body"]) {
        d.section("Comment", comment);
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

/// The schema's title: cut at 40 characters with `...` after.
fn title(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(TITLE_CHARS) {
        Some((i, _)) => Cow::Owned(format!("{}...", &s[..i])),
        None => Cow::Borrowed(s),
    }
}

/// The schema's `comma_join`: quoted names joined with an Oxford comma.
fn comma_join(fields: &[Cow<'_, str>]) -> String {
    match fields {
        [] => "something unknown".to_owned(),
        [one] => format!("'{one}'"),
        [a, b] => format!("'{a}' and '{b}'"),
        [rest @ .., last] => {
            let head: Vec<String> = rest.iter().map(|f| format!("'{f}'")).collect();
            format!("{}, and '{last}'", head.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tests::message;
    use crate::sources::{render, RenderContext};
    use serde_json::json;

    fn bz(body: &Value) -> crate::sources::Rendered {
        let headers = json!({"fedora_messaging_schema": "bugzilla2fedmsg.messageV1",
                             "fedora_messaging_severity": 20});
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let msg = message(
            "org.fedoraproject.prod.bugzilla.bug.update",
            "amq.topic",
            headers,
            &bytes,
        );
        render(&msg, &RenderContext::default())
    }

    #[test]
    fn joins_like_the_schema() {
        let f = |v: &[&str]| comma_join(&v.iter().map(|s| Cow::Borrowed(*s)).collect::<Vec<_>>());
        assert_eq!(f(&[]), "something unknown");
        assert_eq!(f(&["a"]), "'a'");
        assert_eq!(f(&["a", "b"]), "'a' and 'b'");
        assert_eq!(f(&["a", "b", "c"]), "'a', 'b', and 'c'");
        assert_eq!(title(&"é".repeat(40)), "é".repeat(40));
        assert_eq!(title(&"é".repeat(41)), format!("{}...", "é".repeat(40)));
    }

    #[test]
    fn bugzilla5_objects_and_other_targets() {
        let body = json!({"bug": {"id": 7, "summary": "s", "component": {"name": "kernel"}},
                          "event": {"action": "modify", "target": "attachment",
                                    "user": {"login": "x@example.com"},
                                    "changes": [{"field": "is_obsolete"}, {"field": "flags"}]}});
        let r = bz(&body);
        assert_eq!(
            r.summary,
            "x@example.com updated 'is_obsolete' and 'flags' for attachment on RHBZ#7 's'"
        );
        assert_eq!(r.packages, ["kernel"]);
        assert!(r.users.is_empty());
        assert_eq!(
            r.url.as_deref(),
            Some("https://bugzilla.redhat.com/show_bug.cgi?id=7")
        );
        assert_eq!(
            topic_for_schema("bugzilla2fedmsg.messageV1", Some(&body)).as_deref(),
            Some("bugzilla.bug.update")
        );
        let new = json!({"event": {"action": "create", "target": "bug"}});
        assert_eq!(
            topic_for_schema("bugzilla2fedmsg.messageV1bz4", Some(&new)).as_deref(),
            Some("bugzilla.bug.new")
        );
        assert_eq!(topic_for_schema("bugzilla.bug.new", None), None);
    }

    #[test]
    fn hostile_values_stay_bounded() {
        let huge = "\u{1b}[31m".repeat(10_000);
        let changes: Vec<Value> = (0..20_000).map(|i| json!({"field": i})).collect();
        let body = json!({"bug": {"id": "1&evil=1", "summary": huge, "component": ["x"],
                                  "status": {"name": 5}},
                          "event": {"action": "modify", "target": "bug", "changes": changes,
                                    "user": {"login": ["not", "a", "string"]}},
                          "usernames": [1, null, "ok", huge],
                          "agent_name": {"no": 1},
                          "comment": {"body": huge}});
        let r = bz(&body);
        assert!(r.summary.chars().count() <= 301);
        assert!(!r.summary.contains('\u{1b}'));
        assert!(r.details.len() <= 17 * 1024);
        assert_eq!(r.users, ["ok"]);
        assert!(r.packages.is_empty());
        assert_eq!(
            r.url.as_deref(),
            Some("https://bugzilla.redhat.com/show_bug.cgi?id=1%26evil%3D1")
        );
        let r = bz(&json!({"bug": [], "event": 3}));
        assert!(
            r.summary.starts_with("None updated something unknown"),
            "{}",
            r.summary
        );
    }
}
